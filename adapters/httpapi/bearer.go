package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/leadledger/leadledger/adapters/config"
)

// requireRole lets a request through only with a bearer token of the given role or above
// (an operator may do everything an auditor may). No token or a wrong one is 401; a known
// token without the role is 403.
func (s *Server) requireRole(role config.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || token == "" {
				writeError(w, http.StatusUnauthorized, "Missing bearer token")
				return
			}
			t, ok := config.TokenOf(s.cfg.Tokens, token)
			granted := t.Role
			if !ok {
				writeError(w, http.StatusUnauthorized, "Invalid bearer token")
				return
			}
			if role == config.RoleOperator && granted != config.RoleOperator {
				writeError(w, http.StatusForbidden, "This call needs an operator token")
				return
			}
			if !s.limits.allow(w, "token", t.Name) {
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenNameKey{}, t.Name)))
		})
	}
}

type tokenNameKey struct{}

// tokenName is the name of the token a request was let through with: who did it.
func tokenName(r *http.Request) string {
	name, _ := r.Context().Value(tokenNameKey{}).(string)
	return name
}
