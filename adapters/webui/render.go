package webui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/leadledger/leadledger/eventstore"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// pageNames are the pages, each a template file drawn inside templates/layout.html.
var pageNames = []string{"signin", "leads", "lead", "events", "sinks", "error"}

type pages struct{ byName map[string]*template.Template }

var templateFuncs = template.FuncMap{
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12] + "…"
		}
		return s
	},
	"when": formatTime,
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return formatTime(*t)
	},
	"count": func(n int64) string { return strconv.FormatInt(n, 10) },
}

// formatTime shows a time in UTC, to the second.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(templateFuncs).
			ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("webui: parse the %s page: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page is drawn with: the layout's parts, and the page's own Data.
type view struct {
	Title   string
	Section string // the navigation entry to mark: leads, events or sinks
	User    *user  // nil before sign-in
	CSRF    string // every form's token
	Flash   flash
	Sinks   bool // whether the sinks page exists
	Data    any
}

type user struct {
	Name     string
	Role     string
	Operator bool
}

// render draws a page into a buffer first, so that a template error is a clean 500 rather
// than half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, v view) {
	v.Sinks = h.cfg.Sinks != nil
	var buf bytes.Buffer
	if err := h.pages.byName[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.cfg.Logger.Error("ui: draw page", "page", name, "err", err)
		http.Error(w, "Internal error: drawing the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// show draws a page for a signed-in person, with the message their last action left.
func (h *Handler) show(w http.ResponseWriter, v visit, name, title, section string, data any) {
	h.render(w, http.StatusOK, name, view{Title: title, Section: section, User: v.user(), CSRF: v.csrf,
		Flash: h.sessions.takeFlash(v.id), Data: data})
}

func (v visit) user() *user {
	return &user{Name: v.name, Role: string(v.role), Operator: v.operator()}
}

type errorData struct {
	Status  int
	Message string
}

// fail draws an error page; a signed-in person keeps the navigation.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	vw := view{Title: http.StatusText(status), Data: errorData{Status: status, Message: message}}
	if v, ok := h.visitOf(r); ok {
		vw.User, vw.CSRF = v.user(), v.csrf
	}
	h.render(w, status, "error", vw)
}

// internalError logs what failed and draws a page that names it without the error's text; an
// unavailable database asks the person to retry.
func (h *Handler) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if eventstore.IsUnavailable(err) {
		h.cfg.Logger.Warn("ui: "+what, "err", err)
		w.Header().Set("Retry-After", "1")
		h.fail(w, r, http.StatusServiceUnavailable, "The ledger's database is unavailable. Please retry in a moment.")
		return
	}
	h.cfg.Logger.Error("ui: "+what, "err", err)
	h.fail(w, r, http.StatusInternalServerError, "Internal error: "+what+" failed.")
}

// serveStyle serves the stylesheet, the UI's only asset.
func serveStyle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(styleCSS)
}
