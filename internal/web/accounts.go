package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/oidclogin"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/ratelimit"
	"github.com/greenlang/greenlang/internal/store"
)

// Logins (docs/dashboard.md, "Logging in"). A person may hold accounts
// (users) in several organizations under one e-mail address. A login
// checks the password against each of them and starts a session in every
// organization it opens; the session cookie holds those sessions, the
// active one first, and the organization switcher moves another to the
// front. Single sign-on starts a session in every organization where the
// identity provider's verified e-mail address has an enabled account.

// oidcCookie keeps a started single sign-on (oidclogin.Pending) until the
// identity provider sends the browser back.
const oidcCookie = "greenlang_oidc"

// splitSessions reads the session cookie: session secrets separated by
// dots (a secret never holds one), at most store.MaxAccounts.
func splitSessions(v string) []string {
	out := strings.Split(v, ".")
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	return out[:min(len(out), store.MaxAccounts)]
}

// setSessionCookie sets the session cookie to secrets, the active first.
func setSessionCookie(w http.ResponseWriter, r *http.Request, secrets []string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: strings.Join(secrets, "."), Path: "/", HttpOnly: true,
		Secure: secureCookies(r), SameSite: http.SameSiteStrictMode, Expires: expires})
}

// orgChoice is an organization the switcher offers.
type orgChoice struct {
	ID   uuid.UUID
	Name string
}

// otherOrgs resolves the person's other sessions to their organizations,
// leaving out those that ended.
func (s *Site) otherOrgs(ctx context.Context, sess *session) []orgChoice {
	var out []orgChoice
	for _, secret := range sess.others {
		tok, _, err := s.sessionPrincipal(ctx, secret)
		if err != nil {
			continue
		}
		org, err := s.st.OrganizationGet(ctx, tok.OrgID)
		if err != nil {
			continue
		}
		out = append(out, orgChoice{ID: org.ID, Name: org.Name})
	}
	return out
}

// switchOrganization makes the person's session in another organization
// the active one (POST /switch, org=ID).
func (s *Site) switchOrganization(w http.ResponseWriter, r *http.Request, sess *session) error {
	want, err := uuid.Parse(r.PostFormValue("org"))
	if err != nil {
		s.errorPage(w, r, sess, http.StatusBadRequest, "Choose an organization from the list.")
		return nil
	}
	if want == sess.org.ID {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	for i, secret := range sess.others {
		tok, _, err := s.sessionPrincipal(r.Context(), secret)
		if err != nil || tok.OrgID != want {
			continue
		}
		secrets := append([]string{secret, sess.secret}, slices.Delete(slices.Clone(sess.others), i, i+1)...)
		expires := time.Now().Add(s.ttl)
		if tok.ExpiresAt != nil {
			expires = *tok.ExpiresAt
		}
		setSessionCookie(w, r, secrets, expires)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	s.errorPage(w, r, sess, http.StatusNotFound, "You are not logged in to that organization: log out and in again to reach it.")
	return nil
}

// ---- password login -----------------------------------------------------------

type loginData struct {
	Next, Org, Email, Error, CSRF string
	// SSO is the single sign-on button's label; empty: none.
	SSO string
}

func (s *Site) loginForm(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	s.renderLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// renderLogin shows the login form with a fresh login CSRF token in a
// cookie and in the form (double submit).
func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	d.CSRF = base64.RawURLEncoding.EncodeToString(b)
	if s.idp != nil {
		d.SSO = s.idp.opts.ButtonLabel
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: d.CSRF, Path: "/login", HttpOnly: true, Secure: secureCookies(r),
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	s.render(w, status, "login.html", map[string]any{"Title": "Log in", "Login": d, "Version": s.version})
}

// login checks e-mail and password (and the organization, when named) and
// starts a session in every organization they open. Every refusal says
// the same, so it tells nothing of which part was wrong; failures are
// limited per client address.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	d := loginData{Next: safeNext(r.PostFormValue("next")), Org: strings.TrimSpace(r.PostFormValue("organization")),
		Email: strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equalTokens(r.PostFormValue("csrf"), c.Value) || !sameOrigin(r) {
		d.Error = "The login form expired: send it again."
		s.renderLogin(w, r, http.StatusForbidden, d)
		return
	}
	host := ratelimit.ClientAddr(r)
	if ok, _ := s.failLimit.Allow(host, time.Now()); !ok {
		d.Error = "Too many failed logins from this address: wait a minute and try again."
		s.renderLogin(w, r, http.StatusTooManyRequests, d)
		return
	}
	users, err := s.checkLogin(r.Context(), d.Org, d.Email, r.PostFormValue("password"))
	if err != nil {
		if !errors.Is(err, errBadLogin) {
			s.log.Error("web: login failed", slog.Any("err", err))
			d.Error = "The store did not answer: try again in a moment."
			s.renderLogin(w, r, http.StatusServiceUnavailable, d)
			return
		}
		d.Error = "Wrong organization, e-mail or password."
		s.renderLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	s.failLimit.Forgive(host)
	if !s.startSessions(w, r, users, "password") {
		d.Error = "The session could not be started: try again in a moment."
		s.renderLogin(w, r, http.StatusServiceUnavailable, d)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1})
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

var errBadLogin = errors.New("web: wrong organization, e-mail or password")

// checkLogin returns the users, one per organization, whose e-mail is
// email and whose password is pw: the named organization's first, which
// must be among them when orgSlug is given. A password shared by several
// accounts (an organization created over the API copies its founder's) is
// checked once. An e-mail with no account still costs a password hash, so
// timing does not tell it from a wrong password.
func (s *Site) checkLogin(ctx context.Context, orgSlug, email, pw string) ([]*store.User, error) {
	accounts, err := s.st.AccountsByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if orgSlug != "" {
		i := slices.IndexFunc(accounts, func(a store.Account) bool { return a.OrgSlug == orgSlug })
		if i < 0 {
			accounts = nil
		} else {
			accounts[0], accounts[i] = accounts[i], accounts[0]
		}
	}
	checked := map[string]bool{} // password hash → pw matches
	var out []*store.User
	for i, a := range accounts {
		u, err := s.loginUser(ctx, a)
		if err != nil {
			return nil, err
		}
		if u == nil || u.PasswordHash == "" {
			continue
		}
		ok, seen := checked[u.PasswordHash]
		if !seen {
			ok = password.Verify(pw, u.PasswordHash) == nil
			checked[u.PasswordHash] = ok
		}
		if ok {
			out = append(out, u)
		} else if i == 0 && orgSlug != "" {
			return nil, errBadLogin // the organization asked for refused it
		}
	}
	if len(checked) == 0 {
		_ = password.Verify(pw, s.decoy)
	}
	if len(out) == 0 {
		return nil, errBadLogin
	}
	return out, nil
}

// loginUser reads an account's user when it may log in: enabled, and not
// a device's; nil otherwise.
func (s *Site) loginUser(ctx context.Context, a store.Account) (*store.User, error) {
	u, err := s.st.Users().Get(ctx, a.OrgID, a.UserID)
	if store.CodeOf(err) == store.CodeNotFound {
		return nil, nil // disabled or removed since the directory was read
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.Role == store.RoleDevice {
		return nil, nil
	}
	return u, nil
}

// startSessions issues a session (an API token of the user, expiring after
// the session lifetime) for each user, records their login and sets the
// session cookie, the first user's session active. It reports false, with
// the failure logged, when not one session could be started.
func (s *Site) startSessions(w http.ResponseWriter, r *http.Request, users []*store.User, method string) bool {
	expires := time.Now().Add(s.ttl).UTC().Truncate(time.Second)
	var secrets []string
	for _, u := range users {
		ctx := store.WithActor(r.Context(), store.Actor{Type: "user", ID: u.ID.String()})
		secret, _, err := s.st.APITokenIssue(ctx, u.OrgID, store.APITokenIssueParams{Name: SessionName, Scopes: []string{store.ScopeAll},
			UserID: &u.ID, ExpiresAt: &expires})
		if err != nil {
			s.log.Error("web: starting a session", slog.String("org", u.OrgID.String()), slog.Any("err", err))
			continue
		}
		secrets = append(secrets, secret)
		now := time.Now().UTC()
		u.LastLoginAt = &now
		if err := s.st.Users().Update(ctx, u.OrgID, u); err != nil {
			s.log.Warn("web: recording a login", slog.Any("err", err))
		}
	}
	if len(secrets) == 0 {
		return false
	}
	s.log.Info("web: login", slog.String("method", method), slog.String("user", users[0].ID.String()), slog.Int("organizations", len(secrets)))
	setSessionCookie(w, r, secrets, expires)
	return true
}

// safeNext keeps a post-login destination on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// logout revokes the person's sessions in every organization.
func (s *Site) logout(w http.ResponseWriter, r *http.Request, sess *session) error {
	if _, err := s.st.APITokenRevoke(r.Context(), sess.tok.OrgID, sess.tok.ID); err != nil {
		return err
	}
	for _, secret := range sess.others {
		if tok, _, err := s.sessionPrincipal(r.Context(), secret); err == nil {
			if _, err := s.st.APITokenRevoke(r.Context(), tok.OrgID, tok.ID); err != nil {
				s.log.Warn("web: ending a session", slog.Any("err", err))
			}
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secureCookies(r),
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// ---- single sign-on -------------------------------------------------------------

// identityProvider is the configured OpenID Connect provider, discovered
// on first use (and again after a failed discovery), so that a provider
// that is down does not stop the platform from starting.
type identityProvider struct {
	opts OIDCOptions
	log  *slog.Logger

	mu sync.Mutex
	p  *oidclogin.Provider
}

// provider returns the discovered provider.
func (ip *identityProvider) provider(ctx context.Context) (*oidclogin.Provider, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if ip.p != nil {
		return ip.p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidclogin.New(ctx, ip.opts.Config, ip.opts.Client, ip.log)
	if err != nil {
		return nil, err
	}
	ip.p = p
	return p, nil
}

// oidcLogin starts single sign-on: the browser goes to the identity
// provider, with the started login kept in a cookie for ten minutes.
func (s *Site) oidcLogin(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	if s.idp == nil {
		http.NotFound(w, r)
		return
	}
	p, err := s.idp.provider(r.Context())
	if err != nil {
		s.log.Error("web: single sign-on unavailable", slog.Any("err", err))
		s.renderLogin(w, r, http.StatusServiceUnavailable, loginData{Next: safeNext(r.URL.Query().Get("next")),
			Error: "Single sign-on is unavailable: the identity provider did not answer. Try again, or log in with your password."})
		return
	}
	authURL, pend, err := p.Begin(safeNext(r.URL.Query().Get("next")), time.Now())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	// Lax, not Strict: the identity provider sends the browser back from
	// another site.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: pend.Encode(), Path: "/auth/oidc", HttpOnly: true,
		Secure: secureCookies(r), SameSite: http.SameSiteLaxMode, MaxAge: int(oidclogin.PendingLifetime / time.Second)})
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// oidcCallback finishes single sign-on: the identity provider's verified
// e-mail address opens a session in every organization where it has an
// enabled account. Nobody is created: an admin adds people first.
func (s *Site) oidcCallback(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	if s.idp == nil {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/auth/oidc", MaxAge: -1, HttpOnly: true, Secure: secureCookies(r)})
	refuse := func(status int, msg string) { s.renderLogin(w, r, status, loginData{Error: msg}) }
	host := ratelimit.ClientAddr(r)
	if ok, _ := s.failLimit.Allow(host, time.Now()); !ok {
		refuse(http.StatusTooManyRequests, "Too many failed logins from this address: wait a minute and try again.")
		return
	}
	c, err := r.Cookie(oidcCookie)
	if err != nil {
		refuse(http.StatusBadRequest, "This sign-in was not started here, or took longer than ten minutes: start it again.")
		return
	}
	pend, err := oidclogin.DecodePending(c.Value)
	if err != nil {
		refuse(http.StatusBadRequest, "This sign-in was not started here, or took longer than ten minutes: start it again.")
		return
	}
	p, err := s.idp.provider(r.Context())
	if err != nil {
		s.log.Error("web: single sign-on unavailable", slog.Any("err", err))
		refuse(http.StatusServiceUnavailable, "Single sign-on is unavailable: the identity provider did not answer.")
		return
	}
	id, err := p.Finish(r.Context(), r.URL.Query(), pend, time.Now())
	if err != nil {
		var refused *oidclogin.RefusedError
		switch {
		case errors.As(err, &refused):
			refuse(http.StatusUnauthorized, "The identity provider refused the sign-in ("+refused.Code+").")
		case errors.Is(err, oidclogin.ErrUnverifiedEmail):
			refuse(http.StatusUnauthorized, "The identity provider did not confirm your e-mail address, so it cannot be matched to an account.")
		case errors.Is(err, oidclogin.ErrStateMismatch), errors.Is(err, oidclogin.ErrExpired):
			refuse(http.StatusBadRequest, "This sign-in was not started here, or took longer than ten minutes: start it again.")
		default:
			refuse(http.StatusUnauthorized, "The sign-in could not be verified: try again, or log in with your password.")
		}
		return
	}
	accounts, err := s.st.AccountsByEmail(r.Context(), id.Email)
	if err != nil {
		s.log.Error("web: single sign-on", slog.Any("err", err))
		refuse(http.StatusServiceUnavailable, "The store did not answer: try again in a moment.")
		return
	}
	var users []*store.User
	for _, a := range accounts {
		u, err := s.loginUser(r.Context(), a)
		if err != nil {
			s.log.Error("web: single sign-on", slog.Any("err", err))
			refuse(http.StatusServiceUnavailable, "The store did not answer: try again in a moment.")
			return
		}
		if u != nil {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		s.log.Info("web: single sign-on for an e-mail address without an account", slog.String("subject", id.Subject))
		refuse(http.StatusForbidden, "No GreenLang account uses the e-mail address "+strings.ToLower(id.Email)+": ask an admin of your organization to add you.")
		return
	}
	s.failLimit.Forgive(host)
	if !s.startSessions(w, r, users, "oidc") {
		refuse(http.StatusServiceUnavailable, "The session could not be started: try again in a moment.")
		return
	}
	// The session cookie is SameSite=Strict and this response ends a
	// redirect chain that began at the identity provider: browsers would
	// not send the cookie on a redirect from here, so the page moves on by
	// itself (a navigation of this site).
	s.render(w, http.StatusOK, "signed_in.html", map[string]any{"Title": "Signed in", "Next": pend.Next, "Version": s.version})
}
