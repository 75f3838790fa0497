package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/leadledger/leadledger/adapters/sinks"
	"github.com/leadledger/leadledger/eventstore/eventstoretest"
)

// TestWebUIInChromium drives the UI in headless Chromium, on SQLite and on PostgreSQL: a
// wrong token, an auditor reading a lead's history and proofs, and an operator working the
// sinks, then erasing a lead. Screenshots of each page go to test-artifacts/webui/ (from the
// SQLite run).
func TestWebUIInChromium(t *testing.T) {
	browser := startChromium(t)
	for _, backend := range eventstoretest.Backends {
		t.Run(backend, func(t *testing.T) {
			l := newLedger(t, backend)
			s := l.seed(t)
			shots := backend == "sqlite"
			t.Run("wrong token", func(t *testing.T) { wrongToken(t, newPerson(t, browser, l.url), shots) })
			t.Run("auditor", func(t *testing.T) { auditorReads(t, l, s, newPerson(t, browser, l.url), shots) })
			t.Run("operator", func(t *testing.T) { operatorWorksSinks(t, l, s, newPerson(t, browser, l.url), shots) })
			// Last: it erases Sarah, whom the others read.
			t.Run("erase", func(t *testing.T) { operatorErases(t, l, s, newPerson(t, browser, l.url), shots) })
		})
	}
}

func wrongToken(t *testing.T, p *person, shots bool) {
	p.open("/ui/signin")
	if shots {
		p.screenshot("signin", false)
	}
	if status := p.signIn("not-a-real-token-31337"); status != http.StatusUnauthorized {
		t.Errorf("sign-in with a wrong token answered %d, want 401", status)
	}
	if got := p.text("#signin-error"); got != "That token is not valid." {
		t.Errorf("sign-in error: %q", got)
	}
	if p.cookie("leadledger_session") != nil {
		t.Error("a wrong token got a session cookie")
	}
	if strings.Contains(p.html(), "not-a-real-token-31337") {
		t.Error("the page shows the token that was typed")
	}
	if p.open("/ui/leads"); !strings.HasSuffix(p.location(), "/ui/signin") {
		t.Errorf("without a session the leads page went to %s, want the sign-in page", p.location())
	}
}

func auditorReads(t *testing.T, l *ledger, s story, p *person, shots bool) {
	if status := p.signIn(auditorToken); status != http.StatusOK || !strings.HasSuffix(p.location(), "/ui/leads") {
		t.Fatalf("auditor sign-in: %d at %s", status, p.location())
	}
	checkSessionCookie(t, p)
	if shots {
		p.screenshot("leads", false)
		p.screenshot("leads-phone", true)
	}

	// Search by email, as typed by a person: the view matches it normalised.
	p.typeInto("#email", "  SARAH@example.COM ")
	p.click("#lead-search button[type=submit]")
	if n := p.count("#leads tbody tr"); n != 1 {
		t.Fatalf("search by email found %d leads, want Sarah alone", n)
	}
	if got := p.text(".lead-link"); got != "Sarah Connor" {
		t.Errorf("search result: %q", got)
	}
	p.click(".lead-link")
	if got := p.text("#lead-name"); got != "Sarah Connor" {
		t.Errorf("lead page of %q", got)
	}
	if view := p.text("#current-view"); !strings.Contains(view, "+1 555 0199") || !strings.Contains(view, "Cyberdyne") {
		t.Errorf("the current view misses the update's phone or the company: %q", view)
	}
	if n := p.count("#timeline > li.event"); n != 3 {
		t.Errorf("the timeline shows %d events, want 3", n)
	}
	inCheckpoint := fmt.Sprintf("in checkpoint %d ✓", s.checkpoint.TreeSize)
	wants := []struct{ outcome, proof string }{{"applied", inCheckpoint}, {"applied", inCheckpoint}, {"skipped: duplicate", "not yet in a checkpoint"}}
	for i, e := range s.sarah {
		sel := "#event-" + e.ID.String()
		if got := p.text(sel + " .chain-hash"); got != e.Hash {
			t.Errorf("event %d shows hash %q, want %q", e.Position, got, e.Hash)
		}
		if got := p.text(sel + " .raw-sha"); got != e.RawSHA256+" matches the body" {
			t.Errorf("event %d shows raw_sha256 %q", e.Position, got)
		}
		if got := p.text(sel + " .raw-body"); got != strings.Join(strings.Fields(string(e.Raw)), " ") {
			t.Errorf("event %d shows raw body %q", e.Position, got)
		}
		if got := p.text(sel + " .outcome"); got != wants[i].outcome {
			t.Errorf("event %d outcome %q, want %q", e.Position, got, wants[i].outcome)
		}
		if got := p.text(sel + " .proof"); got != wants[i].proof {
			t.Errorf("event %d proof %q, want %q", e.Position, got, wants[i].proof)
		}
		if got := p.text(sel + " .chain-check"); !strings.HasPrefix(got, "recomputed ✓") {
			t.Errorf("event %d chain check %q", e.Position, got)
		}
	}
	if got, want := p.text("#event-"+s.sarah[1].ID.String()+" .changes"), "What it changed in the lead phone: +1 555 0100 → +1 555 0199"; got != want {
		t.Errorf("the update's changes: %q, want %q", got, want)
	}
	if got := p.text("#checkpoint-state"); got != "signature and root verified ✓" {
		t.Errorf("checkpoint: %q", got)
	}
	if got := p.text("#destinations"); !strings.Contains(got, "hubspot") || !strings.Contains(got, "sarah@example.com") {
		t.Errorf("destinations: %q", got)
	}
	if got := p.text("#event-sinks"); !strings.Contains(got, "crm-webhook") || !strings.Contains(got, "3 of 3") {
		t.Errorf("event sinks: %q", got)
	}
	noOperatorButtons(t, p)
	if shots {
		p.screenshot("lead", false)
		p.screenshot("lead-phone", true)
	}

	// A name that is markup is shown as text: no element made of it, and no script at all.
	p.open("/ui/leads?q=evil")
	p.click(".lead-link")
	if got, want := p.text("#lead-name"), "<img src=x onerror=alert(1)> <script>alert(2)</script>"; got != want {
		t.Errorf("a lead named with markup is shown as %q, want %q", got, want)
	}
	if n := p.count("script, img, b"); n != 0 {
		t.Errorf("the lead's markup made %d elements", n)
	}

	p.click("a[href='/ui/events']")
	head, _ := l.store.Head(context.Background())
	if n := p.count("#events tbody tr"); n != int(head) {
		t.Errorf("the event log lists %d events, want %d", n, head)
	}
	if got := p.text("#events tbody tr td.pos"); got != fmt.Sprint(head) {
		t.Errorf("the event log starts at position %s, want the newest, %d", got, head)
	}
	if shots {
		p.screenshot("events", false)
	}

	p.open("/ui/sinks")
	if n := p.count("section.sink"); n != 2 {
		t.Errorf("the sinks page shows %d sinks, want 2", n)
	}
	noOperatorButtons(t, p)
	if shots {
		p.screenshot("sinks-auditor", false)
	}

	// The auditor's own session and CSRF token, posted by hand: still not an operator.
	csrf := p.formToken()
	session := p.cookie("leadledger_session").Value
	if status := post(t, l.url+"/ui/sinks/"+s.webhook.ID.String()+"/pause", session, url.Values{"csrf": {csrf}}); status != http.StatusForbidden {
		t.Errorf("an auditor's pause answered %d, want 403", status)
	}
	if st := l.sinkStatus(t, s.webhook.ID); st != sinks.StatusActive {
		t.Errorf("after an auditor's pause the sink is %s", st)
	}
	sarah := s.sarah[0].LeadID.String()
	if status := post(t, l.url+"/ui/leads/"+sarah+"/erase", session, url.Values{"csrf": {csrf}, "confirm": {sarah}}); status != http.StatusForbidden {
		t.Errorf("an auditor's erasure answered %d, want 403", status)
	}
	if erased(t, l, s.sarah[0].LeadID) {
		t.Error("an auditor's forged post erased Sarah")
	}

	p.click(".signout button")
	if !strings.HasSuffix(p.location(), "/ui/signin") || p.cookie("leadledger_session") != nil {
		t.Errorf("after sign-out: at %s with cookies %v", p.location(), p.cookies())
	}
	if status := get(t, l.url+"/ui/leads", session); status != http.StatusSeeOther {
		t.Errorf("the signed-out session still opens the leads page: %d", status)
	}
}

func operatorWorksSinks(t *testing.T, l *ledger, s story, p *person, shots bool) {
	if status := p.signIn(operatorToken); status != http.StatusOK {
		t.Fatalf("operator sign-in: %d", status)
	}
	checkSessionCookie(t, p)
	p.open("/ui/sinks")
	card := "#sink-" + s.webhook.ID.String()

	p.click(card + " button.op-pause")
	if got := p.text(".flash"); got != "crm-webhook is paused." {
		t.Errorf("after pause: %q", got)
	}
	if st := l.sinkStatus(t, s.webhook.ID); st != sinks.StatusPaused {
		t.Errorf("after pause the registry shows the sink %s", st)
	}
	if got := p.text(card + " .status"); got != "paused" {
		t.Errorf("after pause the page shows %q", got)
	}
	p.click(card + " button.op-resume")
	if st := l.sinkStatus(t, s.webhook.ID); st != sinks.StatusActive {
		t.Errorf("after resume the registry shows the sink %s", st)
	}
	if got := p.text(card + " .status"); got != "active" {
		t.Errorf("after resume the page shows %q", got)
	}

	head, _ := l.store.Head(context.Background())
	p.click(card + " button.op-replay")
	if got, want := p.text(".flash"), fmt.Sprintf("A replay of the log from the beginning started: %d events", head); !strings.HasPrefix(got, want) {
		t.Errorf("after replay: %q, want %q…", got, want)
	}
	waitUntil(t, "the replay to complete", func() bool {
		list, err := l.registry.Replays(context.Background(), s.webhook.ID)
		return err == nil && len(list) == 1 && list[0].Status == sinks.ReplayCompleted
	})
	p.open("/ui/sinks")
	if got := p.text(card + " .replay"); !strings.Contains(got, "completed") || !strings.Contains(got, fmt.Sprintf("%d of %d done", head, head)) {
		t.Errorf("the replay shows %q", got)
	}
	p.click(card + " button.op-retry")
	if got := p.text(".flash"); got != "0 failures will be tried again." {
		t.Errorf("after retry: %q", got)
	}

	p.typeInto("#sink-name", "audit-copy")
	p.typeInto("#sink-url", "ftp://nowhere.example")
	p.typeInto("#sink-secret", sinkSecret)
	p.click("#new-sink button[type=submit]")
	if got := p.text(".flash.error"); !strings.HasPrefix(got, "Invalid url") {
		t.Errorf("creating a sink with an ftp URL: %q", got)
	}
	p.typeInto("#sink-name", "audit-copy")
	p.typeInto("#sink-url", l.receiverURL)
	p.typeInto("#sink-secret", sinkSecret)
	if err := chromedp.Do(p.ctx, chromedp.SetValue(chromedp.CSS("#sink-start"), "beginning")); err != nil {
		t.Fatal(err)
	}
	p.click("#new-sink button[type=submit]")
	if got := p.text(".flash"); got != "Sink audit-copy was created." {
		t.Errorf("creating a sink: %q", got)
	}
	list, _ := l.registry.Sinks(context.Background())
	if len(list) != 3 || list[2].Name != "audit-copy" || list[2].Type != sinks.TypeWebhook || list[2].Secret != sinkSecret {
		t.Fatalf("after creating a sink the registry holds %d sinks", len(list))
	}
	waitUntil(t, "the new sink to deliver the log from the beginning", func() bool {
		s, err := l.registry.Sink(context.Background(), list[2].ID)
		return err == nil && s.Position == head && s.Delivered == head
	})
	if shots {
		p.screenshot("sinks", false)
		p.screenshot("sinks-phone", true)
	}

	// A post without the CSRF token, with the operator's own session: refused.
	session := p.cookie("leadledger_session").Value
	if status := post(t, l.url+"/ui/sinks/"+s.webhook.ID.String()+"/pause", session, url.Values{}); status != http.StatusForbidden {
		t.Errorf("a pause without a CSRF token answered %d, want 403", status)
	}
	if status := post(t, l.url+"/ui/sinks/"+s.webhook.ID.String()+"/pause", session, url.Values{"csrf": {"forged"}}); status != http.StatusForbidden {
		t.Errorf("a pause with a wrong CSRF token answered %d, want 403", status)
	}
	if st := l.sinkStatus(t, s.webhook.ID); st != sinks.StatusActive {
		t.Errorf("after posts without the CSRF token the sink is %s", st)
	}
}

// checkSessionCookie checks the session cookie as the browser keeps it: HttpOnly (no script
// reads it), SameSite=Strict, for /ui only, not Secure over plain HTTP, and random.
func checkSessionCookie(t *testing.T, p *person) {
	t.Helper()
	c := p.cookie("leadledger_session")
	if c == nil {
		t.Fatal("no session cookie after sign-in")
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/ui" || c.Secure || len(c.Value) < 43 {
		t.Errorf("session cookie: HttpOnly %v, SameSite %q, Path %q, Secure %v, %d characters", c.HTTPOnly, c.SameSite, c.Path, c.Secure, len(c.Value))
	}
	seen, err := chromedp.Run(p.ctx, chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(seen, "leadledger_session") {
		t.Errorf("a script reads the session cookie: %q", seen)
	}
}

func noOperatorButtons(t *testing.T, p *person) {
	t.Helper()
	if n := p.count(".operator, button.op-pause, button.op-resume, button.op-replay, button.op-retry, button.op-erase, form[action^='/ui/sinks'], form[action$='/erase']"); n != 0 {
		t.Errorf("an auditor sees %d operator controls at %s", n, p.location())
	}
}

// formToken is the CSRF token the page's forms carry.
func (p *person) formToken() string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS("input[name=csrf]")))
	if err != nil || v == "" {
		p.t.Fatalf("read the form's CSRF token: %q, %v", v, err)
	}
	return v
}
