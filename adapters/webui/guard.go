package webui

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/leadledger/leadledger/adapters/config"
)

// formBodyLimit caps a form's body; the largest form is a new sink's.
const formBodyLimit = 64 << 10

// visit is a request of a signed-in person.
type visit struct {
	id string // the session id, to sign out and leave messages
	session
}

// visitOf finds the live session of the request's cookie.
func (h *Handler) visitOf(r *http.Request) (visit, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return visit{}, false
	}
	sess, ok := h.sessions.get(c.Value)
	return visit{id: c.Value, session: sess}, ok
}

type pageHandler func(w http.ResponseWriter, r *http.Request, v visit)

// page guards a page: without a session it sends the person to sign in.
func (h *Handler) page(fn pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := h.visitOf(r)
		if !ok {
			http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
			return
		}
		if problem := queryProblem(r.URL.RawQuery); problem != "" {
			h.fail(w, r, http.StatusBadRequest, problem)
			return
		}
		fn(w, r, v)
	})
}

// action guards a form post: a session, the session's CSRF token and the role, else 403.
func (h *Handler) action(role config.Role, fn pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, formBodyLimit)
		v, ok := h.visitOf(r)
		if !ok {
			h.fail(w, r, http.StatusForbidden, "Your session has ended. Please sign in again.")
			return
		}
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(v.csrf)) != 1 {
			h.cfg.Logger.Warn("ui form refused: missing or wrong CSRF token", "user", v.name, "path", r.URL.Path)
			h.fail(w, r, http.StatusForbidden, "This form did not come from this page. Reload the page and try again.")
			return
		}
		if role == config.RoleOperator && !v.operator() {
			h.cfg.Logger.Warn("ui operator action refused", "user", v.name, "role", string(v.role), "path", r.URL.Path)
			h.fail(w, r, http.StatusForbidden, "Only an operator may do this.")
			return
		}
		fn(w, r, v)
	})
}

// queryProblem refuses what a page's query cannot mean: a NUL byte (PostgreSQL refuses it in
// text, SQLite ends a LIKE pattern at it), invalid UTF-8, a broken escape or a semicolon
// (Go's parser drops such a pair, which would turn a filter off without a word).
func queryProblem(raw string) string {
	if strings.Contains(raw, ";") {
		return "The address holds a semicolon; write it as %3B."
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return "The address has an invalid escape."
	}
	bad := func(s string) bool { return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) }
	for name, list := range values {
		if bad(name) || slices.ContainsFunc(list, bad) {
			return "The search holds a NUL byte or text that is not UTF-8."
		}
	}
	return ""
}
