package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/greenlang/greenlang/internal/store"
)

// authRealm is the realm of the WWW-Authenticate challenges (RFC 6750).
const authRealm = "greenlang"

// apiHandler serves one /api/v1 route for an authenticated token: it
// writes its success response itself, or returns the error that
// (*api).fail turns into a problem response.
type apiHandler func(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error

// authenticate serves h to requests with a bearer token (RFC 6750) that
// grants scope (any valid token when scope is empty). The token's organization is the one h acts in; the store
// writes h makes are attributed to the token (actor "token:<id>").
//
// A token issued for a user acts with the scopes both the token and the
// user's role grant (store.RoleAllows), and not at all once the user is
// disabled.
//
// Without a token, or with one that is unknown, revoked or expired, or of a
// disabled user, the answer is 401; with a token lacking scope, 403. Each
// carries a WWW-Authenticate challenge saying why.
func (a *api) authenticate(scope string, h apiHandler, secret bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuseAuth := func() bool { // a failed authentication counts against the address
			if ok, wait := a.failLimit.Allow(clientAddr(r), time.Now()); !ok {
				tooMany(w, wait, "too many failed authentications from this address; try again later")
				return true
			}
			return false
		}
		raw, ok := bearerToken(r)
		if !ok {
			if refuseAuth() {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+authRealm+`"`)
			writeProblemOf(w, Problem{Type: ProblemUnauthorized, Status: http.StatusUnauthorized,
				Detail: "this route needs an API token: send Authorization: Bearer <token> (greenlang token create)"})
			return
		}
		tok, user, err := a.st.APITokenPrincipal(r.Context(), raw)
		if err != nil {
			switch store.CodeOf(err) {
			case store.CodeNotFound, store.CodeFailedPrecondition:
				if refuseAuth() {
					return
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+authRealm+`", error="invalid_token"`)
				writeProblemOf(w, Problem{Type: ProblemUnauthorized, Status: http.StatusUnauthorized, Detail: storeMessage(err)})
			default:
				a.fail(w, r, err)
			}
			return
		}
		if a.tokenLimit != nil {
			if ok, wait := a.tokenLimit.Allow(tok.ID.String(), time.Now()); !ok {
				tooMany(w, wait, "API token "+tok.ID.String()+" sent more requests than its rate limit allows")
				return
			}
		}
		if scope != "" && !tok.Allows(scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+authRealm+`", error="insufficient_scope", scope="`+scope+`"`)
			writeProblemOf(w, Problem{Type: ProblemForbidden, Status: http.StatusForbidden,
				Detail: "API token " + tok.ID.String() + " lacks the scope " + scope + " this route needs"})
			return
		}
		if scope != "" && user != nil && !store.RoleAllows(user.Role, scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+authRealm+`", error="insufficient_scope", scope="`+scope+`"`)
			writeProblemOf(w, Problem{Type: ProblemForbidden, Status: http.StatusForbidden,
				Detail: "API token " + tok.ID.String() + " acts for " + user.Email + ", whose role " + user.Role + " does not grant the scope " + scope + " this route needs"})
			return
		}
		ctx := store.WithActor(r.Context(), store.Actor{Type: "token", ID: tok.ID.String()})
		if r.Method == http.MethodGet {
			ew := &etagWriter{ResponseWriter: w}
			defer ew.finish(r)
			w = ew
		}
		r = r.WithContext(ctx)
		serve := func(w http.ResponseWriter, r *http.Request) {
			if err := h(w, r, tok); err != nil {
				a.fail(w, r, err)
			}
		}
		if key := r.Header.Get("Idempotency-Key"); key != "" && r.Method == http.MethodPost {
			a.idempotent(w, r, tok, key, secret, serve)
			return
		}
		serve(w, r)
	})
}

// bearerToken reads the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
