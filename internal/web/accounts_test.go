package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/oidclogin"
	"github.com/greenlang/greenlang/internal/oidclogin/oidctest"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/web"
)

// orgWith creates another organization with a user of email and pw.
func (e *env) orgWith(name, slug, email, role, pw string) *store.Organization {
	e.t.Helper()
	o := &store.Organization{ID: uuid.New(), Name: name, Slug: slug}
	if err := e.st.OrganizationCreate(context.Background(), o); err != nil {
		e.t.Fatal(err)
	}
	home := e.org
	e.org = o
	e.user(email, role, pw)
	e.org = home
	return o
}

// sessions lists the live dashboard sessions of org.
func (e *env) sessions(org uuid.UUID) int {
	e.t.Helper()
	toks, err := e.st.APITokensList(context.Background(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, t := range toks {
		if t.Name == web.SessionName && t.RevokedAt == nil {
			n++
		}
	}
	return n
}

func TestOrganizationSwitcher(t *testing.T) {
	processortest.Engines(t, "webswitch", func(t *testing.T, open processortest.StoreOpener) {
		e := newEnv(t, open)
		const pw = "correct horse battery"
		e.user("ana@example.com", store.RoleAnalyst, pw)
		beta := e.orgWith("Beta Werke", "beta", "ana@example.com", store.RoleViewer, pw)
		gamma := e.orgWith("Gamma Ltd", "gamma", "ana@example.com", store.RoleAdmin, "another passphrase 1")
		e.orgWith("Delta SA", "delta", "someone@example.com", store.RoleAdmin, pw)

		// No organization named: every one this password opens, the first
		// by name active; the switcher offers the others.
		b := e.browser()
		ov := b.login("", "ana@example.com", pw)
		if ov.status != http.StatusOK || !strings.Contains(ov.body, `<option value="`+e.org.ID.String()+`" selected>Acme Industrie</option>`) ||
			!strings.Contains(ov.body, `<option value="`+beta.ID.String()+`">Beta Werke</option>`) {
			t.Fatalf("overview after a login to every organization: %d %.1500s", ov.status, ov.body)
		}
		if strings.Contains(ov.body, "Gamma Ltd") || strings.Contains(ov.body, "Delta SA") {
			t.Fatalf("the switcher offers an organization the password does not open")
		}
		csrf := csrfOf(t, ov)
		if r := b.post("/switch", url.Values{"org": {beta.ID.String()}}); r.status != http.StatusForbidden {
			t.Fatalf("switch without CSRF: %d", r.status)
		}
		if r := b.post("/switch", url.Values{"csrf": {csrf}, "org": {gamma.ID.String()}}); r.status != http.StatusNotFound {
			t.Fatalf("switch to an organization without a session: %d %.300s", r.status, r.body)
		}
		if r := b.post("/switch", url.Values{"csrf": {csrf}, "org": {"beta"}}); r.status != http.StatusBadRequest {
			t.Fatalf("switch to a slug: %d", r.status)
		}
		r := b.post("/switch", url.Values{"csrf": {csrf}, "org": {beta.ID.String()}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("switch: %d %v", r.status, r.header)
		}
		ov = b.get("/")
		if !strings.Contains(ov.body, `<option value="`+beta.ID.String()+`" selected>Beta Werke</option>`) || !strings.Contains(ov.body, "(viewer)") {
			t.Fatalf("after switching to Beta: %.1500s", ov.body)
		}
		// The viewer in Beta may not upload, whatever the analyst in Acme may.
		if r := b.post("/activity/upload", url.Values{"csrf": {csrfOf(t, ov)}}); r.status != http.StatusForbidden {
			t.Fatalf("upload as Beta's viewer: %d", r.status)
		}
		// Logging out ends the sessions in both organizations.
		if e.sessions(e.org.ID) != 1 || e.sessions(beta.ID) != 1 {
			t.Fatalf("sessions before logout: %d in Acme, %d in Beta", e.sessions(e.org.ID), e.sessions(beta.ID))
		}
		if r := b.post("/logout", url.Values{"csrf": {csrfOf(t, ov)}}); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		if e.sessions(e.org.ID) != 0 || e.sessions(beta.ID) != 0 {
			t.Fatalf("sessions after logout: %d in Acme, %d in Beta", e.sessions(e.org.ID), e.sessions(beta.ID))
		}

		// Naming an organization starts there; its own password decides.
		b = e.browser()
		if ov := b.login("gamma", "ana@example.com", "another passphrase 1"); ov.status != http.StatusOK ||
			!strings.Contains(ov.body, "Gamma Ltd") || strings.Contains(ov.body, "<select") {
			t.Fatalf("login to gamma: %d %.800s", ov.status, ov.body)
		}
		for _, c := range [][3]string{{"gamma", "ana@example.com", pw}, {"delta", "ana@example.com", pw}, {"", "ana@example.com", "wrong passphrase 1"}} {
			if r := e.browser().login(c[0], c[1], c[2]); r.status != http.StatusUnauthorized {
				t.Fatalf("login %v: %d", c, r.status)
			}
		}
		ov = e.browser().login("beta", "ana@example.com", pw)
		if !strings.Contains(ov.body, `<option value="`+beta.ID.String()+`" selected>Beta Werke</option>`) || !strings.Contains(ov.body, "Acme Industrie</option>") {
			t.Fatalf("login to beta: %.1500s", ov.body)
		}
	})
}

// ssoEnv is a dashboard with single sign-on through a test identity
// provider that logs in ada@example.com.
type ssoEnv struct {
	*env
	idp *oidctest.Server
	// other is set by orgWith's callers that need it.
	other *store.Organization
}

func newSSOEnv(t *testing.T, open processortest.StoreOpener) *ssoEnv {
	t.Helper()
	idp := oidctest.New(t, "greenlang", "client secret")
	e := newEnvWith(t, open, func(o *web.Options, url string) {
		o.OIDC = &web.OIDCOptions{ButtonLabel: "Sign in with Acme SSO", Config: oidclogin.Config{Issuer: idp.URL, ClientID: "greenlang",
			ClientSecret: "client secret", RedirectURL: url + "/auth/oidc/callback"}}
	})
	return &ssoEnv{env: e, idp: idp}
}

// orgWith is env.orgWith, remembering the organization as other.
func (e *ssoEnv) orgWith(name, slug, email, role, pw string) *store.Organization {
	e.other = e.env.orgWith(name, slug, email, role, pw)
	return e.other
}

func TestSingleSignOn(t *testing.T) {
	processortest.Engines(t, "websso", func(t *testing.T, open processortest.StoreOpener) {
		se := newSSOEnv(t, open)
		e, idp, org := se.env, se.idp, se.org
		e.user("ada@example.com", store.RoleAnalyst, "password of ada 1")
		beta := e.orgWith("Beta Werke", "beta", "ada@example.com", store.RoleAuditor, "another passphrase 1")

		b := e.browser()
		if p := b.get("/login"); !strings.Contains(p.body, `href="/auth/oidc/login?next=%2f">Sign in with Acme SSO</a>`) {
			t.Fatalf("login page without the SSO button: %.1000s", p.body)
		}
		// sso runs the flow: our redirect to the provider, the provider's
		// redirect back (no login page: it logs in its user), the callback.
		sso := func(b *browser, next string) page {
			t.Helper()
			start := b.get("/auth/oidc/login?next=" + url.QueryEscape(next))
			if start.status != http.StatusSeeOther || !strings.HasPrefix(start.header.Get("Location"), idp.URL) {
				t.Fatalf("start: %d %v", start.status, start.header)
			}
			c := idp.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			res, err := c.Get(start.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			back := res.Header.Get("Location")
			if !strings.HasPrefix(back, e.url+"/auth/oidc/callback?") {
				t.Fatalf("the provider sent the browser to %q", back)
			}
			return b.get(strings.TrimPrefix(back, e.url))
		}
		idp.SetUser(oidctest.User{Subject: "u-1", Email: "Ada@Example.com", Name: "Ada", EmailVerified: true})
		done := sso(b, "/activity")
		if done.status != http.StatusOK || !strings.Contains(done.body, `content="0;url=/activity"`) {
			t.Fatalf("callback: %d %.500s", done.status, done.body)
		}
		act := b.get("/activity")
		if act.status != http.StatusOK || !strings.Contains(act.body, "ada@example.com (analyst)") ||
			!strings.Contains(act.body, `<option value="`+beta.ID.String()+`">Beta Werke</option>`) {
			t.Fatalf("activity after single sign-on: %d %.1500s", act.status, act.body)
		}
		if e.sessions(org.ID) != 1 || e.sessions(beta.ID) != 1 {
			t.Fatalf("sessions: %d in Acme, %d in Beta", e.sessions(org.ID), e.sessions(beta.ID))
		}

		for _, tc := range []struct {
			name   string
			setup  func()
			status int
			msg    string
		}{
			{"no account", func() { idp.SetUser(oidctest.User{Subject: "u-2", Email: "nobody@example.com", EmailVerified: true}) },
				http.StatusForbidden, "No GreenLang account uses the e-mail address nobody@example.com"},
			{"unverified e-mail", func() { idp.SetUser(oidctest.User{Subject: "u-1", Email: "ada@example.com"}) },
				http.StatusUnauthorized, "did not confirm your e-mail address"},
			{"refused", func() { idp.Refuse("access_denied", "the user said no") }, http.StatusUnauthorized, "refused the sign-in (access_denied)"},
		} {
			tc.setup()
			fresh := e.browser()
			if p := sso(fresh, "/"); p.status != tc.status || !strings.Contains(p.body, tc.msg) {
				t.Fatalf("%s: %d %.600s", tc.name, p.status, p.body)
			}
			if r := fresh.get("/"); r.status != http.StatusSeeOther {
				t.Fatalf("%s: a session was started: %d", tc.name, r.status)
			}
		}
		// A callback this browser did not start is refused.
		if p := e.browser().get("/auth/oidc/callback?code=x&state=y"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not started here") {
			t.Fatalf("a callback without a started sign-in: %d %.300s", p.status, p.body)
		}
	})
}
