// Package docs holds the ledger's documentation. Its test checks every relative link of
// README.md and of the Markdown files under docs/.
package docs

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestMarkdownLinks fails on every dead relative link of README.md and docs/**/*.md: a file
// or directory that does not exist, a #fragment that names no heading, a link that leaves the
// repository, or a scheme other than http, https and mailto.
func TestMarkdownLinks(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository root should be the parent of docs/: %v", err)
	}
	files := []string{"README.md"}
	err = filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		links, problems := checkFile(root, file)
		checked += links
		for _, p := range problems {
			t.Error(p)
		}
	}
	t.Logf("%d links checked in %d files", checked, len(files))
}

// TestLinkCheckerFindsDeadLinks runs the checker on a small repository of its own, with one
// link of every kind that must fail and of every kind that must pass.
func TestLinkCheckerFindsDeadLinks(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("outside.md", "# Outside\n")
	write("repo/go.mod", "module example\n")
	write("repo/main.go", "package main\n")
	write("repo/docs/guide.md", "# The guide\n\n## Set-up: step 1 (of 2)\n\n## `leadledger verify`\n\n## Twice\n\n## Twice\n\n"+
		"Setext heading\n--------------\n\n<a id=\"custom\"></a>\n")
	write("repo/README.md", strings.Join([]string{
		"# Read me",
		"",
		"## Good links",
		"",
		"[guide](docs/guide.md), [dir](docs/), [code](main.go), ![img](docs/guide.md 'title')",
		"[a](docs/guide.md#the-guide) [b](docs/guide.md#set-up-step-1-of-2) [c](docs/guide.md#leadledger-verify)",
		"[d](docs/guide.md#twice) [e](docs/guide.md#twice-1) [f](docs/guide.md#setext-heading) [g](docs/guide.md#custom)",
		"[h](#good-links) [i](https://example.com/x) [j](mailto:a@example.com) [k](<docs/guide.md>)",
		"[l](main.go#L1) [m](./docs/../README.md) [ref]",
		"",
		"[ref]: docs/guide.md#twice",
		"[^1]: A footnote, not a link.",
		"",
		"```sh",
		"[in a fence](nowhere.md)",
		"```",
		"",
		"Inline code: `[not a link](nowhere.md)` and ``[nor this](nowhere.md)``.",
		"<!-- [a comment](nowhere.md) -->",
		"",
		"## Bad links",
		"",
		"[1](missing.md) [2](docs/guide.md#no-such-heading) [3](#nowhere) [4](../outside.md)",
		"[5](/etc/passwd) [6](file:///etc/passwd) [7](docs/Guide.md) ![8](missing.png) [9]()",
		"",
		"[bad ref]: missing-too.md",
		"",
	}, "\n"))

	links, problems := checkFile(filepath.Join(root, "repo"), "README.md")
	want := []string{
		`README.md:23: link "missing.md": missing.md does not exist`,
		`README.md:23: link "docs/guide.md#no-such-heading": docs/guide.md has no heading with the anchor #no-such-heading`,
		`README.md:23: link "#nowhere": README.md has no heading with the anchor #nowhere`,
		`README.md:23: link "../outside.md": it leaves the repository (resolves to ../outside.md)`,
		`README.md:24: link "/etc/passwd": an absolute path; write it relative to README.md`,
		`README.md:24: link "file:///etc/passwd": scheme "file": only http, https and mailto may point outside the repository`,
		`README.md:24: link "docs/Guide.md": docs/Guide.md does not exist (the name's case differs: guide.md)`,
		`README.md:24: link "missing.png": missing.png does not exist`,
		`README.md:24: link "": an empty link`,
		`README.md:26: link "missing-too.md": missing-too.md does not exist`,
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if links != 28 {
		t.Errorf("%d links found, want 28", links)
	}
}

func TestAnchors(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"The audit trail", "the-audit-trail"},
		{"Erasure: a person's right to be forgotten", "erasure-a-persons-right-to-be-forgotten"},
		{"`leadledger verify`", "leadledger-verify"},
		{"`POST /v1/ingest/{source}`", "post-v1ingestsource"},
		{"Read-your-writes: `min_position`", "read-your-writes-min_position"},
		{"`_private` code keeps its underscores", "_private-code-keeps-its-underscores"},
		{"[Linked](docs/x.md) heading", "linked-heading"},
		{"_emphasis_ and snake_case", "emphasis-and-snake_case"},
		{"Two  spaces", "two--spaces"},
		{"Ünïcode 2.0", "ünïcode-20"},
	} {
		if got := anchor(c.heading); got != c.want {
			t.Errorf("anchor(%q) = %q, want %q", c.heading, got, c.want)
		}
	}
}

// checkFile checks every link of the Markdown file at rel (slash-separated, relative to root)
// and returns how many it found and what is wrong with them.
func checkFile(root, rel string) (links int, problems []string) {
	text, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return 0, []string{fmt.Sprintf("%s: %v", rel, err)}
	}
	doc, fenceErr := parseMarkdown(string(text))
	if fenceErr != "" {
		problems = append(problems, rel+":"+fenceErr)
	}
	for _, l := range doc.links {
		if why := checkLink(root, rel, l.target); why != "" {
			problems = append(problems, fmt.Sprintf("%s:%d: link %q: %s", rel, l.line, l.target, why))
		}
	}
	return len(doc.links), problems
}

// externalScheme is a link to the web or to a mailbox, not checked.
var externalScheme = regexp.MustCompile(`(?i)^(https?|mailto):`)

// anyScheme is a URL scheme (RFC 3986): a letter, then letters, digits, + . or -.
var anyScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):`)

// checkLink says what is wrong with one link target of the file at from, or "".
func checkLink(root, from, target string) string {
	if strings.TrimSpace(target) == "" {
		return "an empty link"
	}
	if externalScheme.MatchString(target) {
		return ""
	}
	if m := anyScheme.FindStringSubmatch(target); m != nil {
		return fmt.Sprintf("scheme %q: only http, https and mailto may point outside the repository", m[1])
	}
	if strings.HasPrefix(target, "//") {
		return "a link to another host without a scheme: write https://"
	}
	path, fragment, _ := strings.Cut(target, "#")
	path, _, _ = strings.Cut(path, "?")
	if strings.HasPrefix(path, "/") {
		return "an absolute path; write it relative to " + from
	}
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		return "the path is not correctly percent-encoded"
	}
	doc := from // a bare #fragment is a heading of the linking file
	if unescaped != "" {
		doc = filepath.ToSlash(filepath.Join(filepath.Dir(from), filepath.FromSlash(unescaped)))
		if doc == ".." || strings.HasPrefix(doc, "../") {
			return "it leaves the repository (resolves to " + doc + ")"
		}
		if why := exists(root, doc); why != "" {
			return why
		}
	}
	if fragment == "" || !strings.HasSuffix(doc, ".md") {
		return "" // a fragment of another kind of file (say #L10 of a source file) is not checked
	}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(doc)))
	if err != nil {
		return err.Error()
	}
	linked, _ := parseMarkdown(string(data))
	if fragment, err = url.PathUnescape(fragment); err != nil || !slices.Contains(linked.anchors, fragment) {
		return fmt.Sprintf("%s has no heading with the anchor #%s", doc, fragment)
	}
	return ""
}

// exists says why the file or directory at rel (inside root) is not there, or "". Every part of
// the path must match a directory entry exactly: a name whose case differs works on some file
// systems only. A symbolic link must not lead out of the repository.
func exists(root, rel string) string {
	dir := root
	for _, part := range strings.Split(rel, "/") {
		if part == "." {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return rel + " does not exist"
		}
		found, folded := false, ""
		for _, e := range entries {
			if e.Name() == part {
				found = true
			} else if strings.EqualFold(e.Name(), part) {
				folded = e.Name()
			}
		}
		if !found && folded != "" {
			return fmt.Sprintf("%s does not exist (the name's case differs: %s)", rel, folded)
		}
		if !found {
			return rel + " does not exist"
		}
		dir = filepath.Join(dir, part)
	}
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return rel + ": " + err.Error()
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err.Error()
	}
	if inside, err := filepath.Rel(realRoot, resolved); err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) {
		return rel + " is a symbolic link that leaves the repository"
	}
	return ""
}

// link is one link target and the line it is on.
type link struct {
	target string
	line   int
}

// document is what the checker needs of a Markdown file.
type document struct {
	links   []link
	anchors []string // in order, duplicates numbered as GitHub numbers them
}

var (
	fenceOpen = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})(.*)$")
	atx       = regexp.MustCompile(`^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setext    = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	// A reference definition: [label]: target. A label starting with ^ is a footnote.
	refDef     = regexp.MustCompile(`^ {0,3}\[((?:[^\]\\]|\\.)+)\]:[ \t]*(?:<([^>]*)>|(\S+))`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// parseMarkdown finds the links and headings of a Markdown text, outside fenced code blocks,
// inline code and HTML comments. Its second result describes a code fence left open.
func parseMarkdown(text string) (document, string) {
	var doc document
	lines := strings.Split(text, "\n")
	visible := make([]string, len(lines)) // the lines with code blanked out
	var fence string
	fenceLine := 0
	for i, line := range lines {
		if fence != "" {
			trimmed := strings.TrimRight(strings.TrimLeft(line, " "), " \t")
			if len(line)-len(strings.TrimLeft(line, " ")) <= 3 && strings.Trim(trimmed, fence[:1]) == "" && len(trimmed) >= len(fence) {
				fence = ""
			}
			continue
		}
		if m := fenceOpen.FindStringSubmatch(line); m != nil && !(m[1][0] == '`' && strings.Contains(m[2], "`")) {
			fence, fenceLine = m[1], i+1
			continue
		}
		visible[i] = line
	}
	fenceErr := ""
	if fence != "" {
		fenceErr = fmt.Sprintf("%d: a code fence (%s) is never closed", fenceLine, fence)
	}
	body := blankCode(strings.Join(visible, "\n"))
	lines = strings.Split(body, "\n")

	seen := map[string]int{}
	addAnchor := func(heading string) {
		a := anchor(heading)
		if n, dup := seen[a]; dup {
			seen[a] = n + 1
			a = fmt.Sprintf("%s-%d", a, n+1)
		} else {
			seen[a] = 0
		}
		doc.anchors = append(doc.anchors, a)
	}
	for i, line := range lines {
		// Headings are read before code was blanked: a heading may be `code`.
		switch {
		case atx.MatchString(visible[i]):
			addAnchor(atx.FindStringSubmatch(visible[i])[1])
		case i > 0 && setext.MatchString(visible[i]) && paragraphLine(visible[i-1]) && (i < 2 || !paragraphLine(visible[i-2])):
			addAnchor(strings.TrimSpace(visible[i-1]))
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			doc.anchors = append(doc.anchors, m[1])
		}
		if m := refDef.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "^") {
			doc.links = append(doc.links, link{target: m[2] + m[3], line: i + 1})
		}
	}
	doc.links = append(doc.links, inlineLinks(body)...)
	slices.SortStableFunc(doc.links, func(a, b link) int { return a.line - b.line })
	return doc, fenceErr
}

// paragraphLine reports whether a line may be the text of a setext heading: not blank, not a
// heading, list item, quote, table row or HTML.
func paragraphLine(line string) bool {
	t := strings.TrimSpace(line)
	if t == "" || len(line)-len(strings.TrimLeft(line, " ")) > 3 {
		return false
	}
	for _, p := range []string{"#", "- ", "* ", "+ ", ">", "|", "<"} {
		if strings.HasPrefix(t, p) {
			return false
		}
	}
	return !setext.MatchString(line)
}

// blankCode replaces inline code spans and HTML comments with spaces, keeping line breaks,
// so that positions still give line numbers. A code span does not cross a blank line.
func blankCode(text string) string {
	b := []byte(text)
	blank := func(from, to int) {
		for k := from; k < to; k++ {
			if b[k] != '\n' {
				b[k] = ' '
			}
		}
	}
	for i := 0; i < len(b); {
		if bytes.HasPrefix(b[i:], []byte("<!--")) {
			end := bytes.Index(b[i:], []byte("-->"))
			if end < 0 {
				end = len(b) - i - 3
			}
			blank(i, i+end+3)
			i += end + 3
			continue
		}
		if b[i] != '`' || (i > 0 && b[i-1] == '\\') {
			i++
			continue
		}
		n := 0
		for i+n < len(b) && b[i+n] == '`' {
			n++
		}
		end := closingRun(b, i+n, n)
		if end < 0 {
			i += n // literal backticks
			continue
		}
		blank(i, end+n)
		i = end + n
	}
	return string(b)
}

// closingRun finds the next run of exactly n backticks from start, before a blank line; -1 if none.
func closingRun(b []byte, start, n int) int {
	for j := start; j < len(b); {
		if b[j] == '\n' && j+1 < len(b) && strings.TrimSpace(lineAt(b, j+1)) == "" {
			return -1
		}
		if b[j] != '`' {
			j++
			continue
		}
		k := j
		for k < len(b) && b[k] == '`' {
			k++
		}
		if k-j == n {
			return j
		}
		j = k
	}
	return -1
}

func lineAt(b []byte, i int) string {
	end := i
	for end < len(b) && b[end] != '\n' {
		end++
	}
	return string(b[i:end])
}

// inlineLinks finds [text](target) and ![alt](target): a "](" whose "]" closes a "[" and whose
// "(" opens a destination, an optional title, and a ")".
func inlineLinks(text string) []link {
	var links []link
	for i := 0; i+1 < len(text); i++ {
		if text[i] != ']' || text[i+1] != '(' || escaped(text, i) || !opened(text, i) {
			continue
		}
		target, ok := destination(text[i+2:])
		if !ok {
			continue
		}
		links = append(links, link{target: target, line: 1 + strings.Count(text[:i], "\n")})
	}
	return links
}

// escaped reports whether the byte at i follows an odd number of backslashes.
func escaped(text string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && text[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// opened reports whether the "]" at i closes a "[" of the same paragraph.
func opened(text string, i int) bool {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		switch {
		case text[j] == '\n' && j > 0 && text[j-1] == '\n':
			return false
		case escaped(text, j):
		case text[j] == ']':
			depth++
		case text[j] == '[' && depth == 0:
			return true
		case text[j] == '[':
			depth--
		}
	}
	return false
}

// destination reads a link's destination and optional title up to its ")".
func destination(s string) (string, bool) {
	i := skipSpace(s, 0)
	var target string
	if i < len(s) && s[i] == '<' {
		end := strings.IndexAny(s[i+1:], ">\n")
		if end < 0 || s[i+1+end] != '>' {
			return "", false
		}
		target, i = s[i+1:i+1+end], i+end+2
	} else {
		start, depth := i, 0
	scan:
		for ; i < len(s); i++ {
			switch c := s[i]; {
			case c == '\\' && i+1 < len(s):
				i++
			case c == '(':
				depth++
			case c == ')' && depth == 0:
				break scan
			case c == ')':
				depth--
			case c == ' ' || c == '\t' || c == '\n' || c < 0x20:
				break scan
			}
		}
		target = s[start:i]
	}
	i = skipSpace(s, i)
	if i < len(s) && (s[i] == '"' || s[i] == '\'' || s[i] == '(') {
		closer := map[byte]byte{'"': '"', '\'': '\'', '(': ')'}[s[i]]
		end := strings.IndexByte(s[i+1:], closer)
		if end < 0 {
			return "", false
		}
		i = skipSpace(s, i+end+2)
	}
	if i >= len(s) || s[i] != ')' {
		return "", false
	}
	return target, true
}

// skipSpace skips spaces, tabs and at most one line break.
func skipSpace(s string, i int) int {
	newline := false
	for ; i < len(s); i++ {
		switch {
		case s[i] == ' ' || s[i] == '\t':
		case s[i] == '\n' && !newline:
			newline = true
		default:
			return i
		}
	}
	return i
}

var (
	inlineLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag    = regexp.MustCompile(`<[^>]+>`)
	// Underscores of emphasis (at a word's edge), not those inside a word such as snake_case.
	emphasis = regexp.MustCompile(`(^|[^\p{L}\p{N}])_+|_+([^\p{L}\p{N}]|$)`)
)

// anchor is the id GitHub gives a heading: its text as rendered (links by their text, code
// without its backticks, emphasis without its marks), lower-cased, with every character but
// letters, digits, spaces, hyphens and underscores dropped, and each space made a hyphen.
func anchor(heading string) string {
	parts := strings.Split(heading, "`")
	for i := 0; i < len(parts); i += 2 { // the even parts are outside code spans
		text := inlineLink.ReplaceAllString(parts[i], "$1")
		text = htmlTag.ReplaceAllString(text, "")
		parts[i] = emphasis.ReplaceAllString(text, "$1$2")
	}
	text := strings.ToLower(strings.TrimSpace(strings.Join(parts, "")))
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || unicode.Is(unicode.Pc, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
