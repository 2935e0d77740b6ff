// Package web is GreenLang's dashboard (docs/dashboard.md): server-rendered
// HTML pages embedded in the binary, for people who log in with their
// e-mail and password (in every organization where they open an account)
// or through the installation's OpenID Connect provider. A login is an
// API token issued for the user in each organization (named "web
// session", expiring after Options.SessionTTL) held in an HttpOnly,
// SameSite=Strict cookie, the active organization's first: pages are
// allowed exactly what the user's role allows the API, sessions are listed
// and revoked with the other tokens, and logging out revokes them. Every form carries a CSRF
// token derived from the session; a POST whose Origin is another site is
// refused.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/oidclogin"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/ratelimit"
	"github.com/greenlang/greenlang/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	sessionCookie = "greenlang_session"
	loginCookie   = "greenlang_login" // the login form's CSRF token, before a session exists
)

// SessionName is the name of the API tokens that are dashboard sessions.
const SessionName = "web session"

// Options configure the dashboard.
type Options struct {
	Store *store.Store
	// Logger receives failures the pages cannot show; nil discards them.
	Logger *slog.Logger
	// SessionTTL is how long a login lasts. Default 12 hours.
	SessionTTL time.Duration
	// MaxUploadBytes bounds an uploaded activity file. Default 32 MiB.
	MaxUploadBytes int64
	// Version is shown in the footer.
	Version string
	// LiveInterval is how often the devices page's event stream looks
	// for new readings and alerts. Default 2 seconds.
	LiveInterval time.Duration
	// Totals and Services cache emission totals and organizations'
	// calculation services (share the API's); nil makes fresh ones.
	Totals   *calculation.TotalsCache
	Services *calculation.Services
	// ERP tests and syncs connections; nil makes those buttons answer 503.
	ERP *erp.Syncer
	// Background bounds syncs started from the dashboard; nil: none
	// outlives the process.
	Background context.Context
	// OIDC turns on single sign-on; nil: password logins only.
	OIDC *OIDCOptions
	// Pipelines runs the pipeline buttons; nil: runs are shown, not started.
	Pipelines *pipeline.Engine
}

// OIDCOptions configure single sign-on with an OpenID Connect identity
// provider (docs/oidc.md).
type OIDCOptions struct {
	Config oidclogin.Config
	// ButtonLabel is the login page's button.
	ButtonLabel string
	// Client reaches the provider; nil: http.DefaultClient.
	Client *http.Client
}

// Site serves the dashboard's pages.
type Site struct {
	st        *store.Store
	log       *slog.Logger
	ttl       time.Duration
	maxUpload int64
	version   string
	tpl       *template.Template
	failLimit *ratelimit.Limiters
	// totals caches the overview's totals while the data is unchanged.
	totals *calculation.TotalsCache
	// services caches the organizations' calculation services for uploads.
	services *calculation.Services
	erp      *erp.Syncer
	pipes    *pipeline.Engine
	bg       context.Context
	// catalogue knows each device type's metrics.
	catalogue *telemetry.Catalogue
	// liveEvery is how often the devices page's event stream looks for
	// new readings and alerts.
	liveEvery time.Duration
	// decoy is a hash checked when the login names no user, so a refusal
	// takes as long whatever was wrong.
	decoy string
	// idp is single sign-on, when configured.
	idp *identityProvider
}

// New parses the templates and returns the dashboard.
func New(o Options) (*Site, error) {
	s := &Site{st: o.Store, log: o.Logger, ttl: o.SessionTTL, maxUpload: o.MaxUploadBytes, version: o.Version,
		failLimit: ratelimit.New(rate.Every(6*time.Second), 10), totals: o.Totals, services: o.Services}
	if s.totals == nil {
		s.totals = calculation.NewTotalsCache(0)
	}
	if s.services == nil {
		s.services = calculation.NewServices(0)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ttl <= 0 {
		s.ttl = 12 * time.Hour
	}
	if s.maxUpload <= 0 {
		s.maxUpload = 32 << 20
	}
	s.erp, s.bg, s.pipes = o.ERP, o.Background, o.Pipelines
	if o.OIDC != nil {
		s.idp = &identityProvider{opts: *o.OIDC, log: s.log}
	}
	s.liveEvery = o.LiveInterval
	if s.liveEvery <= 0 {
		s.liveEvery = 2 * time.Second
	}
	cat, err := telemetry.LoadCatalogue()
	if err != nil {
		return nil, err
	}
	s.catalogue = cat
	tpl, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s.tpl = tpl
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	if s.decoy, err = password.Hash(base64.RawURLEncoding.EncodeToString(b), password.Default); err != nil {
		return nil, err
	}
	return s, nil
}

// Mount adds the dashboard's routes to mux.
func (s *Site) Mount(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.Handle("POST /logout", s.page("", s.logout))
	mux.Handle("POST /switch", s.page("", s.switchOrganization))
	mux.HandleFunc("GET /auth/oidc/login", s.oidcLogin)
	mux.HandleFunc("GET /auth/oidc/callback", s.oidcCallback)
	mux.Handle("GET /{$}", s.page(store.ScopeInventoryRead, s.overview))
	mux.Handle("GET /activity", s.page(store.ScopeInventoryRead, s.activity))
	mux.Handle("POST /activity/upload", s.page(store.ScopeInventoryWrite, s.activityUpload))
	mux.Handle("GET /activity/{id}/explain", s.page(store.ScopeInventoryRead, s.explain))
	mux.Handle("GET /factors", s.page(store.ScopeFactorsRead, s.factors))
	mux.Handle("GET /factors/{id}", s.page(store.ScopeFactorsRead, s.factor))
	mux.Handle("GET /suppliers", s.page(store.ScopeSuppliersRead, s.suppliers))
	mux.Handle("GET /devices", s.page(store.ScopeDevicesRead, s.devices))
	mux.Handle("GET /devices/events", s.page(store.ScopeDevicesRead, s.devicesEvents))
	mux.Handle("GET /erp", s.page(store.ScopeERPRead, s.erpConnections))
	mux.Handle("GET /erp/{name}", s.page(store.ScopeERPRead, s.erpConnection))
	mux.Handle("POST /erp/{name}/test", s.page(store.ScopeERPWrite, s.erpTest))
	mux.Handle("POST /erp/{name}/sync", s.page(store.ScopeERPWrite, s.erpSync))
	mux.Handle("GET /audit", s.page(store.ScopeAuditRead, s.auditLog))
	mux.Handle("GET /pipelines", s.page(store.ScopePipelinesRead, s.pipelines))
	mux.Handle("GET /pipelines/runs/{id}/tasks/{task}", s.page(store.ScopePipelinesRead, s.pipelineTask))
	mux.Handle("POST /pipelines/{name}/run", s.page(store.ScopePipelinesWrite, s.pipelineTrigger))
	mux.Handle("POST /pipelines/runs/{id}/clear", s.page(store.ScopePipelinesWrite, s.pipelineClear))
}

// staticHandler serves the embedded CSS and script, cached for an hour.
func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// session is a logged-in request: the user, their organization and the
// token that is the session.
type session struct {
	tok  *store.APIToken
	user *store.User
	org  *store.Organization
	csrf string
	// secret is the session's token; others are the person's sessions in
	// their other organizations (the switcher's), as the cookie holds them.
	secret string
	others []string
	// orgs are the other organizations, for the switcher (GET pages only).
	orgs []orgChoice
}

// may reports whether the session's user may do what scope allows.
func (sess *session) may(scope string) bool {
	return sess.tok.Allows(scope) && store.RoleAllows(sess.user.Role, scope)
}

// pageFunc renders one page for a session; an error becomes an error page.
type pageFunc func(w http.ResponseWriter, r *http.Request, sess *session) error

// page serves fn to logged-in users whose role grants scope ("" any);
// others are sent to the login page (GET) or refused (POST). A POST must
// carry the session's CSRF token and come from this site.
func (s *Site) page(scope string, fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w)
		sess, err := s.session(r)
		if err != nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, nil, http.StatusUnauthorized, "Your session has ended: log in again.")
			return
		}
		if r.Method == http.MethodPost {
			// The body is bounded before the form is read (the CSRF field
			// is in it): at most an upload and its form fields.
			r.Body = http.MaxBytesReader(w, r.Body, s.maxUpload+1<<20)
			if err := parseForm(r); err != nil {
				var big *http.MaxBytesError
				if errors.As(err, &big) {
					s.errorPage(w, r, sess, http.StatusRequestEntityTooLarge, fmt.Sprintf("The upload is larger than %d MiB.", s.maxUpload>>20))
					return
				}
				s.errorPage(w, r, sess, http.StatusBadRequest, "The form cannot be read: "+err.Error())
				return
			}
			if !sameOrigin(r) {
				s.errorPage(w, r, sess, http.StatusForbidden, "This form was sent from another site.")
				return
			}
			if !equalTokens(r.PostFormValue("csrf"), sess.csrf) && !equalTokens(r.Header.Get("X-CSRF-Token"), sess.csrf) {
				s.errorPage(w, r, sess, http.StatusForbidden, "This form has expired: reload the page and send it again.")
				return
			}
		}
		if r.Method == http.MethodGet && len(sess.others) > 0 {
			sess.orgs = s.otherOrgs(r.Context(), sess)
		}
		if scope != "" && !sess.may(scope) {
			s.errorPage(w, r, sess, http.StatusForbidden, "Your role ("+sess.user.Role+") does not allow this page.")
			return
		}
		if err := fn(w, r, sess); err != nil {
			s.fail(w, r, sess, err)
		}
	})
}

// parseForm reads a POST's form, multipart (an upload, kept in memory up
// to 8 MiB, the rest in temporary files) or URL-encoded.
func parseForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return r.ParseMultipartForm(8 << 20)
	}
	return r.ParseForm()
}

// session reads the request's session cookie and checks it as an API
// token of an enabled user.
func (s *Site) session(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, err
	}
	secrets := splitSessions(c.Value)
	if len(secrets) == 0 {
		return nil, errors.New("web: an empty session cookie")
	}
	tok, user, err := s.sessionPrincipal(r.Context(), secrets[0])
	if err != nil {
		return nil, err
	}
	org, err := s.st.OrganizationGet(r.Context(), tok.OrgID)
	if err != nil {
		return nil, err
	}
	return &session{tok: tok, user: user, org: org, csrf: csrfToken(secrets[0]), secret: secrets[0], others: secrets[1:]}, nil
}

// sessionPrincipal checks secret as a dashboard session: an API token
// named SessionName, of an enabled user.
func (s *Site) sessionPrincipal(ctx context.Context, secret string) (*store.APIToken, *store.User, error) {
	tok, user, err := s.st.APITokenPrincipal(ctx, secret)
	if err != nil {
		return nil, nil, err
	}
	if user == nil || tok.Name != SessionName {
		return nil, nil, errors.New("web: the cookie holds a token that is not a session")
	}
	return tok, user, nil
}

// csrfToken derives a session's CSRF token from its secret: forms carry
// it, a page of another site cannot read it.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("greenlang csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equalTokens(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses a request whose Origin (or, without one, Referer)
// names another host than the one it was sent to.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" || src == "null" {
		return src == "" // a browser sends Origin on every cross-site POST
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host
}

// securityHeaders are sent with every page.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// secureCookies reports whether cookies must be Secure: the request came
// over TLS, here or at a proxy in front.
func secureCookies(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// ---- rendering ----------------------------------------------------------------------

// layout is what every page's frame shows.
type layout struct {
	Title   string
	Active  string
	User    *store.User
	Org     *store.Organization
	CSRF    string
	Version string
	Nav     []navItem
	// Orgs are the other organizations the person is logged in to.
	Orgs []orgChoice
}

type navItem struct {
	Href, Label, Key string
}

func (s *Site) frame(sess *session, title, active string) layout {
	l := layout{Title: title, Active: active, Version: s.version}
	if sess == nil {
		return l
	}
	l.User, l.Org, l.CSRF, l.Orgs = sess.user, sess.org, sess.csrf, sess.orgs
	if sess.may(store.ScopeInventoryRead) {
		l.Nav = append(l.Nav, navItem{"/", "Overview", "overview"}, navItem{"/activity", "Activity data", "activity"})
	}
	if sess.may(store.ScopeFactorsRead) {
		l.Nav = append(l.Nav, navItem{"/factors", "Factor library", "factors"})
	}
	if sess.may(store.ScopeSuppliersRead) {
		l.Nav = append(l.Nav, navItem{"/suppliers", "Suppliers", "suppliers"})
	}
	if sess.may(store.ScopeERPRead) {
		l.Nav = append(l.Nav, navItem{"/erp", "ERP connections", "erp"})
	}
	if sess.may(store.ScopeDevicesRead) {
		l.Nav = append(l.Nav, navItem{"/devices", "IoT devices", "devices"})
	}
	if sess.may(store.ScopePipelinesRead) {
		l.Nav = append(l.Nav, navItem{"/pipelines", "Pipelines", "pipelines"})
	}
	if sess.may(store.ScopeAuditRead) {
		l.Nav = append(l.Nav, navItem{"/audit", "Audit log", "audit"})
	}
	return l
}

// render executes a page template; a failure is logged (the page is
// half-sent by then).
func (s *Site) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.tpl.ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("web: rendering", slog.String("template", name), slog.Any("err", err))
	}
}

// errorPage shows a message with status.
func (s *Site) errorPage(w http.ResponseWriter, _ *http.Request, sess *session, status int, msg string) {
	s.render(w, status, "error.html", map[string]any{"Layout": s.frame(sess, http.StatusText(status), ""), "Status": status, "Message": msg})
}

// fail shows a handler's error: the store's message for what the user
// can fix, a logged internal error otherwise.
func (s *Site) fail(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	switch store.CodeOf(err) {
	case store.CodeNotFound:
		s.errorPage(w, r, sess, http.StatusNotFound, "Not found.")
	case store.CodeInvalidArgument:
		s.errorPage(w, r, sess, http.StatusUnprocessableEntity, err.Error())
	case store.CodeUnavailable:
		s.errorPage(w, r, sess, http.StatusServiceUnavailable, "The store did not answer: try again in a moment.")
	default:
		s.log.Error("web: page failed", slog.String("path", r.URL.Path), slog.Any("err", err))
		s.errorPage(w, r, sess, http.StatusInternalServerError, "Something went wrong; it is logged.")
	}
}
