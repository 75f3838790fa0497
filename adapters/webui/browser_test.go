package webui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// artifacts is where the screenshots go, at the repository's root.
const artifacts = "../../test-artifacts/webui"

// startChromium starts one headless Debian chromium for a test; each person in it gets a
// browser context of their own (their own cookies). A missing chromium fails the test, in CI
// and out of it: the UI's tests are never skipped.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the web UI is tested in Debian's chromium, which is missing (apt-get install chromium; scripts/test.sh installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root, where chromium's sandbox refuses to start
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return browser
}

// person is someone using the UI in a browser context of their own.
type person struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newPerson(t *testing.T, browser context.Context, base string) *person {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	p := &person{t: t, ctx: ctx, base: base}
	p.viewport(1280, 900, false)
	return p
}

// open goes to a page of the UI and returns the status of its answer.
func (p *person) open(path string) int64 {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Navigate(p.base+path))
	if err != nil {
		p.t.Fatalf("open %s: %v", path, err)
	}
	p.noSecrets()
	return resp.Status
}

// click clicks an element that loads a page, and returns the status of that page.
func (p *person) click(sel string) int64 {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("click %s: %v", sel, err)
	}
	p.noSecrets()
	return resp.Status
}

func (p *person) typeInto(sel, text string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible)); err != nil {
		p.t.Fatalf("type into %s: %v", sel, err)
	}
}

// text is the text of the first element a selector finds.
func (p *person) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// count is how many elements a selector finds.
func (p *person) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int]("document.querySelectorAll("+strconv.Quote(sel)+").length"))
	if err != nil {
		p.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func (p *person) html() string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		p.t.Fatalf("read the page: %v", err)
	}
	return s
}

func (p *person) location() string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("read the location: %v", err)
	}
	return s
}

// cookies are the browser's cookies for the UI, HttpOnly ones included.
func (p *person) cookies() []*network.Cookie {
	p.t.Helper()
	r, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base + "/ui/leads"}})
	if err != nil {
		p.t.Fatalf("read cookies: %v", err)
	}
	return r.Cookies
}

func (p *person) cookie(name string) *network.Cookie {
	for _, c := range p.cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// noSecrets checks the page, its address and the cookies for every token and secret.
func (p *person) noSecrets() {
	p.t.Helper()
	seen := p.html() + "\n" + p.location()
	for _, c := range p.cookies() {
		seen += "\n" + c.Name + "=" + c.Value
	}
	for _, s := range secrets {
		if strings.Contains(seen, s) {
			p.t.Errorf("a secret is in the page, its address or a cookie at %s: %q", p.location(), s)
		}
	}
}

// signIn signs in with a token through the form, and returns the status of the page after.
func (p *person) signIn(token string) int64 {
	p.t.Helper()
	if status := p.open("/ui/signin"); status != 200 {
		p.t.Fatalf("sign-in page: %d", status)
	}
	p.typeInto("#token", token)
	return p.click("form[action='/ui/signin'] button[type=submit]")
}

func (p *person) viewport(width, height int64, phone bool) {
	p.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if phone {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2), chromedp.EmulatePortrait)
	}
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(width, height, opts...)); err != nil {
		p.t.Fatalf("set the viewport: %v", err)
	}
}

// screenshot saves the whole current page as test-artifacts/webui/<name>.png, at a laptop's
// width or a phone's: the viewport is stretched to the page's height, at most 6000 px.
func (p *person) screenshot(name string, phone bool) {
	p.t.Helper()
	width := int64(1280)
	if phone {
		width = 390
	}
	p.viewport(width, 900, phone)
	height, err := chromedp.Run(p.ctx, chromedp.Evaluate[int64]("document.documentElement.scrollHeight"))
	if err != nil {
		p.t.Fatalf("measure the page: %v", err)
	}
	p.viewport(width, min(max(height, 600), 6000), phone)
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	p.viewport(1280, 900, false)
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifacts, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}
