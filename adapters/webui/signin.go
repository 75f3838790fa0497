package webui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/leadledger/leadledger/adapters/config"
)

const (
	// sessionCookie holds the session id: never the token.
	sessionCookie = "leadledger_session"
	// signinCookie holds the nonce the sign-in form's CSRF token is made from.
	signinCookie = "leadledger_signin"
)

// signinGuard protects the sign-in form from cross-site posts (which would sign a victim in
// as the attacker) before there is a session: the form carries an HMAC, under a key of this
// process, of a nonce kept in a cookie. An attacker who can plant the cookie still cannot
// make the matching token.
type signinGuard struct{ key []byte }

func (g *signinGuard) token(nonce string) string {
	mac := hmac.New(sha256.New, g.key)
	mac.Write([]byte("leadledger ui sign-in\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (g *signinGuard) valid(nonce, given string) bool {
	return nonce != "" && hmac.Equal([]byte(g.token(nonce)), []byte(given))
}

type signinData struct {
	Error string
}

// signinPage is GET /ui/signin.
func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.visitOf(r); ok {
		http.Redirect(w, r, "/ui/leads", http.StatusSeeOther)
		return
	}
	h.showSignin(w, r, http.StatusOK, "")
}

// showSignin renders the sign-in form. The browser's nonce is kept when it has one, so that
// two tabs' forms both work.
func (h *Handler) showSignin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	var nonce string
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) == 43 {
		nonce = c.Value
	} else if nonce, err = randomToken(); err != nil {
		h.internalError(w, r, "make the sign-in form", err)
		return
	}
	setCookie(w, r, signinCookie, nonce, 3600)
	h.render(w, status, "signin", view{Title: "Sign in", CSRF: h.signin.token(nonce), Data: signinData{Error: problem}})
}

// signIn is POST /ui/signin: a token of the configuration starts a session.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, formBodyLimit)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	nonce := ""
	if c, err := r.Cookie(signinCookie); err == nil {
		nonce = c.Value
	}
	if !h.signin.valid(nonce, r.PostFormValue("csrf")) {
		h.showSignin(w, r, http.StatusForbidden, "The sign-in form had expired. Please sign in again.")
		return
	}
	tok, ok := config.TokenOf(h.cfg.Tokens, strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		h.cfg.Logger.Warn("ui sign-in refused: unknown token", "remote", r.RemoteAddr)
		h.showSignin(w, r, http.StatusUnauthorized, "That token is not valid.")
		return
	}
	if old, ok := h.visitOf(r); ok {
		h.sessions.end(old.id) // one browser, one session: the new sign-in replaces it
	}
	id, sess, err := h.sessions.start(tok.Name, tok.Role)
	if err != nil {
		h.internalError(w, r, "start a session", err)
		return
	}
	setCookie(w, r, signinCookie, "", -1)
	setCookie(w, r, sessionCookie, id, int(h.cfg.SessionTTL.Seconds()))
	h.cfg.Logger.Info("ui sign-in", "user", sess.name, "role", string(sess.role), "remote", r.RemoteAddr)
	http.Redirect(w, r, "/ui/leads", http.StatusSeeOther)
}

// signOut is POST /ui/signout.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, v visit) {
	h.sessions.end(v.id)
	setCookie(w, r, sessionCookie, "", -1)
	h.cfg.Logger.Info("ui sign-out", "user", v.name)
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
}

// setCookie sets one of the UI's cookies: never readable by scripts, never sent from another
// site, only to /ui, and only over TLS when the UI is served over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/ui", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}
