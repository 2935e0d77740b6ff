package oidclogin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/greenlang/greenlang/internal/oidclogin"
	"github.com/greenlang/greenlang/internal/oidclogin/oidctest"
)

const (
	clientID     = "greenlang"
	clientSecret = "s3cret/with+odd&chars"
	redirectURL  = "https://greenlang.example.com/auth/oidc/callback"
)

func testConfig(idp *oidctest.Server) oidclogin.Config {
	return oidclogin.Config{
		Issuer:       idp.URL,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
	}
}

func newProvider(t *testing.T, cfg oidclogin.Config, logger *slog.Logger) *oidclogin.Provider {
	t.Helper()
	p, err := oidclogin.New(t.Context(), cfg, nil, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// authorize GETs authURL with a real HTTP client, following redirects until
// one goes to redirectURL, and returns that callback's query.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	client := &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if isCallback(req.URL) {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("GET %s: %v", authURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		t.Fatalf("GET %s: %s, want a redirect to the callback: %s", authURL, resp.Status, body.String())
	}
	loc, err := resp.Location()
	if err != nil || !isCallback(loc) {
		t.Fatalf("redirected to %v (%v), want %s", loc, err, redirectURL)
	}
	return loc.Query()
}

func isCallback(u *url.URL) bool {
	c := *u
	c.RawQuery = ""
	return c.String() == redirectURL
}

// login starts a login with p, lets the identity provider answer, and
// returns the callback query and the Pending.
func login(t *testing.T, p *oidclogin.Provider) (url.Values, oidclogin.Pending) {
	t.Helper()
	authURL, pend, err := p.Begin("/activity?site=7", time.Now())
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return authorize(t, authURL), pend
}

func TestLoginHappyPath(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	idp.SetUser(oidctest.User{Subject: "248289761001", Email: "jane@acme.example", Name: "Jane Doe", EmailVerified: true})
	var logs bytes.Buffer
	p := newProvider(t, testConfig(idp), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	start := time.Now()
	authURL, pend, err := p.Begin("/activity?site=7", start)
	if err != nil {
		t.Fatal(err)
	}
	q := authorize(t, authURL)
	if q.Get("state") != pend.State || q.Get("code") == "" {
		t.Fatalf("callback query %v, want state %q and a code", q, pend.State)
	}
	// The Pending survives the cookie.
	pend, err = oidclogin.DecodePending(pend.Encode())
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.Finish(t.Context(), q, pend, time.Now())
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := oidclogin.Identity{Issuer: idp.URL, Subject: "248289761001", Email: "jane@acme.example", Name: "Jane Doe", EmailVerified: true}
	if id != want {
		t.Errorf("identity = %+v, want %+v", id, want)
	}
	if pend.Next != "/activity?site=7" {
		t.Errorf("Next = %q", pend.Next)
	}
	if got := idp.LastClientAuth(); got != "client_secret_basic" {
		t.Errorf("client authenticated with %q, want client_secret_basic", got)
	}
	if n := idp.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if !strings.Contains(logs.String(), "oidc: login") || !strings.Contains(logs.String(), "248289761001") {
		t.Errorf("log has no login line: %s", logs.String())
	}
}

func TestClientSecretPost(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	idp.SetAuthMethods("client_secret_post", "private_key_jwt")
	p := newProvider(t, testConfig(idp), nil)
	q, pend := login(t, p)
	if _, err := p.Finish(t.Context(), q, pend, time.Now()); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if got := idp.LastClientAuth(); got != "client_secret_post" {
		t.Errorf("client authenticated with %q, want client_secret_post", got)
	}
}

func TestBeginURL(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	cfg := testConfig(idp)
	cfg.Scopes = []string{"groups", "email", " ", "offline_access"}
	p := newProvider(t, cfg, nil)
	now := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	authURL, pend, err := p.Begin("/factors", now)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != idp.URL+"/authorize" {
		t.Errorf("auth endpoint %s", got)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(pend.Verifier))
	for k, want := range map[string]string{
		"response_type":         "code",
		"client_id":             clientID,
		"redirect_uri":          redirectURL,
		"scope":                 "openid email profile groups offline_access",
		"state":                 pend.State,
		"nonce":                 pend.Nonce,
		"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
		"code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if q.Has("code_verifier") || q.Has("client_secret") {
		t.Errorf("the auth URL leaks a secret: %s", authURL)
	}
	if want := time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC); !pend.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v", pend.Expires, want)
	}
	if pend.Next != "/factors" {
		t.Errorf("Next = %q", pend.Next)
	}
	if len(pend.Verifier) != 43 || len(pend.State) != 43 || len(pend.Nonce) != 43 {
		t.Errorf("state, nonce, verifier lengths %d %d %d, want 43 (32 random bytes)", len(pend.State), len(pend.Nonce), len(pend.Verifier))
	}

	// Every login gets its own random values.
	_, pend2, err := p.Begin("/factors", now)
	if err != nil {
		t.Fatal(err)
	}
	if pend2.State == pend.State || pend2.Nonce == pend.Nonce || pend2.Verifier == pend.Verifier || pend.State == pend.Nonce {
		t.Errorf("random values repeat: %+v %+v", pend, pend2)
	}
}

func TestBeginNext(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	p := newProvider(t, testConfig(idp), nil)
	for next, want := range map[string]string{
		"/":                             "/",
		"/activity?site=7&x=%2F":        "/activity?site=7&x=%2F",
		"/erp/sap#top":                  "/erp/sap#top",
		"":                              "/",
		"//evil.example.com/":           "/",
		"/\\evil.example.com":           "/",
		"/a\\b":                         "/",
		"https://evil.example":          "/",
		"javascript:alert(1)":           "/",
		"activity":                      "/",
		"/a\r\nSet-Cookie: x=1":         "/",
		"/" + strings.Repeat("a", 2000): "/",
	} {
		_, pend, err := p.Begin(next, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if pend.Next != want {
			t.Errorf("Begin(%q): Next = %q, want %q", next, pend.Next, want)
		}
		if _, err := oidclogin.DecodePending(pend.Encode()); err != nil {
			t.Errorf("Begin(%q): its Pending does not decode: %v", next, err)
		}
	}
}

// TestFinishFailures covers every way a callback must be refused. Each case
// runs a real login against its own test identity provider and changes one
// thing.
func TestFinishFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		idp  func(s *oidctest.Server)                    // misconfigure the identity provider
		cfg  func(c *oidclogin.Config)                   // misconfigure the client
		edit func(q url.Values, pend *oidclogin.Pending) // tamper with the callback
		now  func(pend oidclogin.Pending) time.Time      // when Finish runs (default: now)
		is   []error                                     // errors.Is must hold for each
		as   func(err error) bool                        // and this, if set
		msg  string                                      // the message must contain this
		toks int                                         // token requests expected
	}{
		{
			name: "idp refuses",
			idp:  func(s *oidctest.Server) { s.Refuse("access_denied", "user cancelled") },
			is:   []error{oidclogin.ErrRefused},
			as: func(err error) bool {
				var re *oidclogin.RefusedError
				return errors.As(err, &re) && re.Code == "access_denied" && re.Description == "user cancelled"
			},
			msg: "oidc: the identity provider refused: access_denied: user cancelled",
		},
		{
			name: "idp refuses with control characters",
			idp:  func(s *oidctest.Server) { s.Refuse("access_denied", "line1\nline2\x1b[31m") },
			is:   []error{oidclogin.ErrRefused},
			msg:  "access_denied: line1?line2?[31m",
		},
		{
			name: "state mismatch",
			edit: func(q url.Values, _ *oidclogin.Pending) { q.Set("state", "forged-state-value-0123456789") },
			is:   []error{oidclogin.ErrStateMismatch},
			msg:  "oidc: state does not match the login that was started",
		},
		{
			name: "state missing from callback",
			edit: func(q url.Values, _ *oidclogin.Pending) { q.Del("state") },
			is:   []error{oidclogin.ErrStateMismatch},
		},
		{
			name: "no login started",
			edit: func(q url.Values, pend *oidclogin.Pending) { *pend = oidclogin.Pending{}; q.Del("state") },
			is:   []error{oidclogin.ErrStateMismatch},
			msg:  "no login was started in this browser",
		},
		{
			name: "pending expired",
			now:  func(pend oidclogin.Pending) time.Time { return pend.Expires.Add(time.Second) },
			is:   []error{oidclogin.ErrExpired},
			msg:  "expired",
		},
		{
			name: "pending expires exactly now",
			now:  func(pend oidclogin.Pending) time.Time { return pend.Expires },
			is:   []error{oidclogin.ErrExpired},
		},
		{
			name: "no code",
			edit: func(q url.Values, _ *oidclogin.Pending) { q.Del("code") },
			is:   []error{oidclogin.ErrMissingCode},
		},
		{
			name: "wrong client secret",
			cfg:  func(c *oidclogin.Config) { c.ClientSecret = "wrong" },
			is:   []error{oidclogin.ErrTokenExchange},
			as: func(err error) bool {
				var re *oauth2.RetrieveError
				return errors.As(err, &re) && re.ErrorCode == "invalid_client"
			},
			msg:  "oidc: token exchange failed: invalid_client: client authentication failed",
			toks: 1,
		},
		{
			name: "unknown code",
			edit: func(q url.Values, _ *oidclogin.Pending) { q.Set("code", "made-up") },
			is:   []error{oidclogin.ErrTokenExchange},
			msg:  "invalid_grant: unknown authorization code",
			toks: 1,
		},
		{
			name: "PKCE verifier wrong",
			edit: func(_ url.Values, pend *oidclogin.Pending) { pend.Verifier = oauth2.GenerateVerifier() },
			is:   []error{oidclogin.ErrTokenExchange},
			msg:  "invalid_grant: PKCE verification failed",
			toks: 1,
		},
		{
			name: "no id token",
			idp:  func(s *oidctest.Server) { s.TamperTokenResponse(func(r map[string]any) { delete(r, "id_token") }) },
			is:   []error{oidclogin.ErrNoIDToken},
			toks: 1,
		},
		{
			name: "id token not a JWT",
			idp: func(s *oidctest.Server) {
				s.TamperTokenResponse(func(r map[string]any) { r["id_token"] = "not.a.jwt" })
			},
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  "oidc: id token: malformed jwt",
			toks: 1,
		},
		{
			name: "signed with an unknown key",
			idp:  func(s *oidctest.Server) { s.SignWithUnknownKey(true) },
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  "oidc: id token: failed to verify signature",
			toks: 1,
		},
		{
			name: "nonce mismatch",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { c["nonce"] = "replayed-nonce" }) },
			is:   []error{oidclogin.ErrNonceMismatch, oidclogin.ErrInvalidIDToken},
			msg:  "oidc: id token: nonce does not match the login that was started",
			toks: 1,
		},
		{
			name: "nonce missing",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { delete(c, "nonce") }) },
			is:   []error{oidclogin.ErrNonceMismatch},
			toks: 1,
		},
		{
			name: "wrong audience",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { c["aud"] = "another-app" }) },
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  `oidc: id token: expected audience "greenlang" got ["another-app"]`,
			toks: 1,
		},
		{
			name: "audience includes us but azp is another client",
			idp: func(s *oidctest.Server) {
				s.Tamper(func(c map[string]any) { c["aud"] = []string{"another-app", clientID}; c["azp"] = "another-app" })
			},
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  `azp "another-app" is not this client "greenlang"`,
			toks: 1,
		},
		{
			name: "expired token",
			idp: func(s *oidctest.Server) {
				s.Tamper(func(c map[string]any) {
					c["iat"] = time.Now().Add(-time.Hour).Unix()
					c["exp"] = time.Now().Add(-time.Minute).Unix()
				})
			},
			is: []error{oidclogin.ErrInvalidIDToken},
			as: func(err error) bool {
				var te *oidc.TokenExpiredError
				return errors.As(err, &te)
			},
			msg:  "oidc: id token: token is expired",
			toks: 1,
		},
		{
			name: "token expired at the time passed to Finish",
			now:  func(oidclogin.Pending) time.Time { return time.Now().Add(oidctest.TokenLifetime + time.Minute) },
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  "token is expired",
			toks: 1,
		},
		{
			name: "wrong issuer",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { c["iss"] = "https://evil.example.com" }) },
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  "oidc: id token: id token issued by a different provider",
			toks: 1,
		},
		{
			name: "no subject",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { delete(c, "sub") }) },
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  "no sub claim",
			toks: 1,
		},
		{
			name: "at_hash does not match",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }) },
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  "at_hash does not match",
			toks: 1,
		},
		{
			name: "unverified email",
			idp: func(s *oidctest.Server) {
				s.SetUser(oidctest.User{Subject: "u2", Email: "mallory@example.com", EmailVerified: false})
			},
			is:   []error{oidclogin.ErrUnverifiedEmail},
			msg:  "oidc: the identity provider did not give a verified e-mail address",
			toks: 1,
		},
		{
			name: "email_verified the string false",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { c["email_verified"] = "false" }) },
			is:   []error{oidclogin.ErrUnverifiedEmail},
			toks: 1,
		},
		{
			name: "email_verified missing",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { delete(c, "email_verified") }) },
			is:   []error{oidclogin.ErrUnverifiedEmail},
			toks: 1,
		},
		{
			name: "email_verified not a boolean",
			idp:  func(s *oidctest.Server) { s.Tamper(func(c map[string]any) { c["email_verified"] = 1 }) },
			is:   []error{oidclogin.ErrInvalidIDToken},
			msg:  "email_verified",
			toks: 1,
		},
		{
			name: "missing email",
			idp: func(s *oidctest.Server) {
				s.SetUser(oidctest.User{Subject: "u3", Name: "No Mail", EmailVerified: true})
			},
			is:   []error{oidclogin.ErrUnverifiedEmail},
			msg:  "did not give a verified e-mail address: the id token has no email claim",
			toks: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			idp := oidctest.New(t, clientID, clientSecret)
			if tc.idp != nil {
				tc.idp(idp)
			}
			cfg := testConfig(idp)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			var logs bytes.Buffer
			p := newProvider(t, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			q, pend := login(t, p)
			if tc.edit != nil {
				tc.edit(q, &pend)
			}
			now := time.Now()
			if tc.now != nil {
				now = tc.now(pend)
			}
			id, err := p.Finish(t.Context(), q, pend, now)
			if err == nil {
				t.Fatalf("Finish succeeded with %+v, want an error", id)
			}
			if id != (oidclogin.Identity{}) {
				t.Errorf("Finish returned an identity with its error: %+v", id)
			}
			for _, want := range tc.is {
				if !errors.Is(err, want) {
					t.Errorf("error %q is not %q", err, want)
				}
			}
			if tc.as != nil && !tc.as(err) {
				t.Errorf("error %q (%T) fails the type check", err, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "oidc: ") {
				t.Errorf("error %q does not start with oidc:", err)
			}
			if n := idp.TokenRequests(); n != tc.toks {
				t.Errorf("%d token requests, want %d", n, tc.toks)
			}
			if !strings.Contains(logs.String(), "login failed") {
				t.Errorf("failure not logged: %s", logs.String())
			}
		})
	}
}

func TestEmailVerifiedString(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	idp.Tamper(func(c map[string]any) { c["email_verified"] = "true" })
	p := newProvider(t, testConfig(idp), nil)
	q, pend := login(t, p)
	id, err := p.Finish(t.Context(), q, pend, time.Now())
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if id.Email != oidctest.DefaultUser.Email || !id.EmailVerified {
		t.Errorf("identity %+v", id)
	}
}

func TestCodeReused(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	p := newProvider(t, testConfig(idp), nil)
	q, pend := login(t, p)
	if _, err := p.Finish(t.Context(), q, pend, time.Now()); err != nil {
		t.Fatalf("first Finish: %v", err)
	}
	_, err := p.Finish(t.Context(), q, pend, time.Now())
	if !errors.Is(err, oidclogin.ErrTokenExchange) || !strings.Contains(err.Error(), "invalid_grant: authorization code was already used") {
		t.Fatalf("second Finish with the same code: %v, want invalid_grant (already used)", err)
	}
	if n := idp.TokenRequests(); n != 2 {
		t.Errorf("%d token requests, want 2 (no retry with another auth style)", n)
	}
}

func TestFinishCancelledContext(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	p := newProvider(t, testConfig(idp), nil)
	q, pend := login(t, p)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := p.Finish(ctx, q, pend, time.Now())
	if !errors.Is(err, oidclogin.ErrTokenExchange) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Finish with a cancelled context: %v", err)
	}
}

// TestWebFlow wires Begin and Finish the way the dashboard does: a login
// handler keeps the Pending in a cookie and redirects; the callback handler
// reads it back. A browser-like client with a cookie jar follows every
// redirect, through the identity provider, back to the page it asked for.
func TestWebFlow(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	app := httptest.NewServer(nil)
	t.Cleanup(app.Close)
	cfg := testConfig(idp)
	cfg.RedirectURL = app.URL + "/auth/oidc/callback"
	p := newProvider(t, cfg, nil)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/oidc/login", func(w http.ResponseWriter, r *http.Request) {
		authURL, pend, err := p.Begin(r.URL.Query().Get("next"), time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "gl_oidc", Value: pend.Encode(), Path: "/auth/oidc/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Expires: pend.Expires})
		http.Redirect(w, r, authURL, http.StatusFound)
	})
	mux.HandleFunc("GET /auth/oidc/callback", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("gl_oidc")
		if err != nil {
			http.Error(w, "no login cookie", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "gl_oidc", Path: "/auth/oidc/", MaxAge: -1})
		pend, err := oidclogin.DecodePending(c.Value)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id, err := p.Finish(r.Context(), r.URL.Query(), pend, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: id.Email, Path: "/"})
		http.Redirect(w, r, pend.Next, http.StatusFound)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s at %s", c.Value, r.URL.RequestURI())
	})
	app.Config.Handler = mux

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(app.URL + "/auth/oidc/login?next=" + url.QueryEscape("/suppliers?page=2"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || body.String() != "ada@example.com at /suppliers?page=2" {
		t.Fatalf("%s %q, want ada@example.com back at /suppliers?page=2", resp.Status, body.String())
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)

	t.Run("config", func(t *testing.T) {
		for _, tc := range []struct {
			edit func(c *oidclogin.Config)
			msg  string
		}{
			{func(c *oidclogin.Config) { c.Issuer = "" }, "issuer is required"},
			{func(c *oidclogin.Config) { c.Issuer = "login.example.com" }, "not an absolute URL"},
			{func(c *oidclogin.Config) { c.Issuer = "http://login.example.com" }, "must use https"},
			{func(c *oidclogin.Config) { c.Issuer = "https://login.example.com?x=1" }, "without query"},
			{func(c *oidclogin.Config) { c.ClientID = "" }, "client_id is required"},
			{func(c *oidclogin.Config) { c.ClientSecret = "" }, "client_secret is required"},
			{func(c *oidclogin.Config) { c.RedirectURL = "" }, "redirect_url is required"},
			{func(c *oidclogin.Config) { c.RedirectURL = "/auth/oidc/callback" }, "not an absolute http(s) URL"},
		} {
			cfg := testConfig(idp)
			tc.edit(&cfg)
			_, err := oidclogin.New(t.Context(), cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("New(%+v) = %v, want an error containing %q", cfg, err, tc.msg)
			}
		}
	})

	t.Run("issuer unreachable", func(t *testing.T) {
		dead := httptest.NewServer(nil)
		issuer := dead.URL
		dead.Close()
		cfg := testConfig(idp)
		cfg.Issuer = issuer
		_, err := oidclogin.New(t.Context(), cfg, nil, nil)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("discovery for issuer %q failed", issuer)) {
			t.Fatalf("New = %v, want a discovery error naming %s", err, issuer)
		}
	})

	t.Run("no discovery document", func(t *testing.T) {
		cfg := testConfig(idp)
		cfg.Issuer = idp.URL + "/realms/missing"
		_, err := oidclogin.New(t.Context(), cfg, nil, nil)
		if err == nil || !strings.Contains(err.Error(), cfg.Issuer) || !strings.Contains(err.Error(), "404") {
			t.Fatalf("New = %v, want a 404 naming %s", err, cfg.Issuer)
		}
	})

	t.Run("trailing slash", func(t *testing.T) {
		cfg := testConfig(idp)
		cfg.Issuer = idp.URL + "/"
		_, err := oidclogin.New(t.Context(), cfg, nil, nil)
		var mismatch *oidc.IssuerMismatchError
		if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), cfg.Issuer) {
			t.Fatalf("New = %v, want an issuer mismatch naming %s", err, cfg.Issuer)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := oidclogin.New(ctx, testConfig(idp), nil, nil)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), idp.URL) {
			t.Fatalf("New = %v, want context.Canceled naming the issuer", err)
		}
	})

	t.Run("custom client", func(t *testing.T) {
		var calls atomic.Int32
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return http.DefaultTransport.RoundTrip(r)
		})}
		p, err := oidclogin.New(t.Context(), testConfig(idp), client, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, pend := login(t, p)
		if _, err := p.Finish(t.Context(), q, pend, time.Now()); err != nil {
			t.Fatal(err)
		}
		if n := calls.Load(); n != 3 { // discovery, token, jwks
			t.Errorf("client made %d requests, want 3 (discovery, token, jwks)", n)
		}
	})
}

// TestNewDiscoveryIssuerMismatch has its own identity provider: it changes
// what discovery says.
func TestNewDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	idp.SetDiscoveryIssuer("https://login.example.com/realms/other")
	_, err := oidclogin.New(t.Context(), testConfig(idp), nil, nil)
	var mismatch *oidc.IssuerMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("New = %v, want *oidc.IssuerMismatchError", err)
	}
	for _, want := range []string{fmt.Sprintf("discovery for issuer %q failed", idp.URL), "https://login.example.com/realms/other"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var cookieSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestPendingRoundTrip(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, clientID, clientSecret)
	p := newProvider(t, testConfig(idp), nil)
	_, pend, err := p.Begin("/audit?page=3&q=a%20b", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	enc := pend.Encode()
	if !cookieSafe.MatchString(enc) {
		t.Errorf("encoded Pending %q has characters a cookie would need quoted", enc)
	}
	if len(enc) > 400 {
		t.Errorf("encoded Pending is %d bytes", len(enc))
	}
	got, err := oidclogin.DecodePending(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got != pend {
		t.Errorf("round trip: %+v, want %+v", got, pend)
	}
}

func encodeRaw(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func validPendingJSON() map[string]any {
	return map[string]any{
		"s": "state-0123456789abcdef",
		"n": "nonce-0123456789abcdef",
		"v": strings.Repeat("v", 43),
		"r": "/",
		"e": 1767225600,
	}
}

func TestDecodePendingErrors(t *testing.T) {
	t.Parallel()
	with := func(k string, v any) string {
		m := validPendingJSON()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return encodeRaw(m)
	}
	if _, err := oidclogin.DecodePending(encodeRaw(validPendingJSON())); err != nil {
		t.Fatalf("the valid base case does not decode: %v", err)
	}
	for _, tc := range []struct {
		name, in, msg string
	}{
		{"empty", "", "empty"},
		{"too long", strings.Repeat("A", oidclogin.MaxEncodedPending+1), "more than"},
		{"not base64", "!!!!", "not base64url"},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(`{"s":"xy"}`)), "not base64url"},
		{"standard base64", base64.RawStdEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe}), "not base64url"},
		{"not JSON", base64.RawURLEncoding.EncodeToString([]byte("hello")), "not the expected JSON"},
		{"JSON array", base64.RawURLEncoding.EncodeToString([]byte("[1]")), "not the expected JSON"},
		{"trailing data", base64.RawURLEncoding.EncodeToString([]byte(`{"s":"x"} {}`)), "data after the object"},
		{"unknown field", with("x", "y"), "unknown field"},
		{"wrong type", with("e", "soon"), "not the expected JSON"},
		{"no state", with("s", nil), "state has 0 characters"},
		{"short state", with("s", "abc"), "state has 3 characters"},
		{"state with odd characters", with("s", "state-0123456789abcdef;"), "state has a character outside"},
		{"no nonce", with("n", nil), "nonce has 0 characters"},
		{"short verifier", with("v", strings.Repeat("v", 42)), "verifier has 42 characters, want 43 to 128"},
		{"long verifier", with("v", strings.Repeat("v", 129)), "verifier has 129 characters"},
		{"verifier with odd characters", with("v", strings.Repeat("v", 42)+"+"), "verifier has a character outside"},
		{"no next", with("r", nil), "is not a local path"},
		{"next to another host", with("r", "//evil.example.com"), "is not a local path"},
		{"next to another host, three slashes", with("r", "///evil.example.com"), "is not a local path"},
		{"next absolute", with("r", "https://evil.example.com/"), "is not a local path"},
		{"no expiry", with("e", nil), "no expiry"},
		{"negative expiry", with("e", -5), "no expiry"},
	} {
		_, err := oidclogin.DecodePending(tc.in)
		if !errors.Is(err, oidclogin.ErrInvalidPending) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: DecodePending = %v, want ErrInvalidPending containing %q", tc.name, err, tc.msg)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "oidc: pending login: ") {
			t.Errorf("%s: error %q lacks the oidc: pending login: prefix", tc.name, err)
		}
	}
}

func FuzzDecodePending(f *testing.F) {
	pend := oidclogin.Pending{
		State:    "state-0123456789abcdef",
		Nonce:    "nonce-0123456789abcdef",
		Verifier: oauth2.GenerateVerifier(),
		Next:     "/activity?site=7",
		Expires:  time.Unix(1767225600, 0),
	}
	f.Add(pend.Encode())
	f.Add(encodeRaw(validPendingJSON()))
	f.Add("")
	f.Add("e30")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"s":"x","n":"y","v":"z","r":"//a","e":1}`)))
	f.Add(strings.Repeat("A", 100))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := oidclogin.DecodePending(s)
		if err != nil {
			if !errors.Is(err, oidclogin.ErrInvalidPending) {
				t.Fatalf("error %v does not wrap ErrInvalidPending", err)
			}
			if p != (oidclogin.Pending{}) {
				t.Fatalf("error with a non-zero Pending %+v", p)
			}
			return
		}
		enc := p.Encode()
		if !cookieSafe.MatchString(enc) {
			t.Fatalf("Encode = %q is not cookie-safe", enc)
		}
		p2, err := oidclogin.DecodePending(enc)
		if err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", p, err)
		}
		if p2 != p {
			t.Fatalf("round trip: %+v, then %+v", p, p2)
		}
		if !strings.HasPrefix(p.Next, "/") || strings.HasPrefix(p.Next, "//") || strings.Contains(p.Next, `\`) {
			t.Fatalf("decoded an unsafe Next %q", p.Next)
		}
		if slices.ContainsFunc([]string{p.State, p.Nonce, p.Verifier}, func(s string) bool { return s == "" }) {
			t.Fatalf("decoded an empty field: %+v", p)
		}
	})
}
