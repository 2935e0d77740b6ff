// Package oidclogin logs dashboard users in with OpenID Connect: the
// authorization-code flow with PKCE (S256), a nonce bound to the ID token,
// and a verified e-mail address required.
//
// The flow is split in two so the web layer decides where state lives:
//
//	authURL, pend, err := p.Begin(next, time.Now())
//	// keep pend.Encode() in a short-lived HttpOnly cookie, redirect to authURL
//
//	// on the callback:
//	pend, err := oidclogin.DecodePending(cookie.Value)
//	id, err := p.Finish(ctx, r.URL.Query(), pend, time.Now())
//	// match id.Email to a GreenLang user, then go to pend.Next
//
// A Provider is safe for concurrent use. The package keeps no global state.
package oidclogin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// PendingLifetime is how long a started login may take: the Pending made by
// Begin expires this long after the time passed to it.
const PendingLifetime = 10 * time.Minute

// defaultScopes are always asked for, before Config.Scopes.
var defaultScopes = [...]string{oidc.ScopeOpenID, "email", "profile"}

// Sentinel errors. The errors returned by Finish wrap one of them (test with
// errors.Is); their messages add what exactly failed.
var (
	// ErrRefused: the identity provider redirected back with an error (the
	// user cancelled, the client is not allowed, ...). The error is a
	// *RefusedError carrying the provider's code and description.
	ErrRefused = errors.New("oidc: the identity provider refused")
	// ErrStateMismatch: the callback's state is not the one of the login
	// started in this browser (or no login was started). Possibly a forged
	// callback; start again.
	ErrStateMismatch = errors.New("oidc: state does not match the login that was started")
	// ErrExpired: the started login (the Pending) is older than
	// PendingLifetime.
	ErrExpired = errors.New("oidc: the login took too long and has expired")
	// ErrMissingCode: the callback carries neither a code nor an error.
	ErrMissingCode = errors.New("oidc: the callback has no authorization code")
	// ErrTokenExchange: the token endpoint could not be reached or did not
	// accept the code (wrong client secret, code already used, PKCE
	// verifier wrong, ...).
	ErrTokenExchange = errors.New("oidc: token exchange failed")
	// ErrNoIDToken: the token endpoint answered without an id_token.
	ErrNoIDToken = errors.New("oidc: the identity provider returned no id token")
	// ErrInvalidIDToken: the ID token failed verification (signature,
	// issuer, audience, expiry, nonce, claims). go-oidc's own error, such
	// as *oidc.TokenExpiredError, is wrapped too.
	ErrInvalidIDToken = errors.New("oidc: id token")
	// ErrNonceMismatch: the ID token's nonce is not the one of the login
	// started in this browser. It wraps ErrInvalidIDToken.
	ErrNonceMismatch = fmt.Errorf("%w: nonce does not match the login that was started", ErrInvalidIDToken)
	// ErrUnverifiedEmail: the ID token has no e-mail address, or its
	// email_verified claim is not true.
	ErrUnverifiedEmail = errors.New("oidc: the identity provider did not give a verified e-mail address")
)

// Config configures a Provider.
type Config struct {
	// Issuer is the identity provider's issuer URL, exactly as it appears in
	// its discovery document and tokens. Discovery is at
	// Issuer+"/.well-known/openid-configuration". It must be https, or http
	// on a loopback address (for tests).
	Issuer string
	// ClientID is the client (application) id registered at the provider.
	ClientID string
	// ClientSecret is the client's secret.
	ClientSecret string
	// RedirectURL is the absolute callback URL registered at the provider,
	// e.g. https://greenlang.example.com/auth/oidc/callback.
	RedirectURL string
	// Scopes are extra scopes; "openid", "email" and "profile" are always
	// asked for.
	Scopes []string
}

// Identity is who the identity provider says logged in. Email is verified
// (Finish refuses tokens without a verified address).
type Identity struct {
	// Issuer is the ID token's iss claim.
	Issuer string
	// Subject is the ID token's sub claim: the user's stable id at Issuer.
	Subject string
	// Email is the user's e-mail address as the provider gave it (not
	// case-folded).
	Email string
	// Name is the user's display name; it may be empty.
	Name string
	// EmailVerified is always true for an Identity returned by Finish.
	EmailVerified bool
}

// Provider runs logins against one OpenID Connect identity provider. Make it
// with New.
type Provider struct {
	cfg    Config
	client *http.Client
	log    *slog.Logger
	op     *oidc.Provider
	oauth  oauth2.Config
}

// discovery holds the discovery fields go-oidc does not expose.
type discovery struct {
	AuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethod []string `json:"code_challenge_methods_supported"`
	JWKSURI             string   `json:"jwks_uri"`
}

// New checks cfg and runs discovery at cfg.Issuer with ctx and client (nil
// means http.DefaultClient), which is also used for the token endpoint and
// the provider's keys later. A nil logger discards. A discovery failure is
// an error naming the issuer.
func New(ctx context.Context, cfg Config, client *http.Client, logger *slog.Logger) (*Provider, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if client == nil {
		client = http.DefaultClient
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery for issuer %q failed: %w", cfg.Issuer, err)
	}
	ep := op.Endpoint()
	var disc discovery
	if err := op.Claims(&disc); err != nil {
		return nil, fmt.Errorf("oidc: discovery for issuer %q failed: %w", cfg.Issuer, err)
	}
	switch {
	case ep.AuthURL == "":
		return nil, fmt.Errorf("oidc: discovery for issuer %q failed: no authorization_endpoint", cfg.Issuer)
	case ep.TokenURL == "":
		return nil, fmt.Errorf("oidc: discovery for issuer %q failed: no token_endpoint", cfg.Issuer)
	case disc.JWKSURI == "":
		return nil, fmt.Errorf("oidc: discovery for issuer %q failed: no jwks_uri", cfg.Issuer)
	}
	// The RFC 8414 default for token_endpoint_auth_methods_supported is
	// client_secret_basic. Choosing the style up front avoids the oauth2
	// package's probing, which would present the code twice.
	switch {
	case len(disc.AuthMethods) == 0 || slices.Contains(disc.AuthMethods, "client_secret_basic"):
		ep.AuthStyle = oauth2.AuthStyleInHeader
	case slices.Contains(disc.AuthMethods, "client_secret_post"):
		ep.AuthStyle = oauth2.AuthStyleInParams
	default:
		logger.Warn("oidc: the identity provider advertises neither client_secret_basic nor client_secret_post; trying both",
			"issuer", cfg.Issuer, "methods", disc.AuthMethods)
		ep.AuthStyle = oauth2.AuthStyleAutoDetect
	}
	if len(disc.CodeChallengeMethod) > 0 && !slices.Contains(disc.CodeChallengeMethod, "S256") {
		logger.Warn("oidc: the identity provider does not advertise PKCE S256; logins may fail",
			"issuer", cfg.Issuer, "methods", disc.CodeChallengeMethod)
	}
	scopes := append([]string(nil), defaultScopes[:]...)
	for _, s := range cfg.Scopes {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	p := &Provider{
		cfg:    cfg,
		client: client,
		log:    logger,
		op:     op,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     ep,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
		},
	}
	logger.Debug("oidc: discovered identity provider", "issuer", cfg.Issuer,
		"authorization_endpoint", ep.AuthURL, "token_endpoint", ep.TokenURL)
	return p, nil
}

func (c Config) check() error {
	if c.Issuer == "" {
		return errors.New("oidc: config: issuer is required")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidc: config: issuer %q is not an absolute URL without query or fragment", c.Issuer)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return fmt.Errorf("oidc: config: issuer %q must use https (http only on a loopback address)", c.Issuer)
	}
	if c.ClientID == "" {
		return errors.New("oidc: config: client_id is required")
	}
	if c.ClientSecret == "" {
		return errors.New("oidc: config: client_secret is required")
	}
	if c.RedirectURL == "" {
		return errors.New("oidc: config: redirect_url is required")
	}
	r, err := url.Parse(c.RedirectURL)
	if err != nil || (r.Scheme != "https" && r.Scheme != "http") || r.Host == "" || r.Fragment != "" {
		return fmt.Errorf("oidc: config: redirect_url %q is not an absolute http(s) URL without fragment", c.RedirectURL)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Begin starts a login: it returns the identity provider's URL to redirect
// the browser to and the Pending to keep until the callback. next is the
// local page to go to afterwards; anything but a path on this site ("/x",
// not "//host" or "https://...") becomes "/". The Pending expires
// PendingLifetime after now (to the second).
func (p *Provider) Begin(next string, now time.Time) (authURL string, pend Pending, err error) {
	state, err := randomToken()
	if err != nil {
		return "", Pending{}, err
	}
	nonce, err := randomToken()
	if err != nil {
		return "", Pending{}, err
	}
	if !isLocalPath(next) {
		if next != "" {
			p.log.Debug("oidc: ignoring a return page that is not a local path", "next", next)
		}
		next = "/"
	}
	pend = Pending{
		State:    state,
		Nonce:    nonce,
		Verifier: oauth2.GenerateVerifier(),
		Next:     next,
		Expires:  now.Add(PendingLifetime).Truncate(time.Second).UTC(),
	}
	authURL = p.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pend.Verifier))
	return authURL, pend, nil
}

// randomToken returns 32 random bytes from crypto/rand, base64url-encoded.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("oidc: reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Finish completes a login from the callback's query and the Pending kept
// since Begin, at time now:
//
//   - an error from the identity provider is a *RefusedError (ErrRefused);
//   - the state must match pend.State (ErrStateMismatch);
//   - pend must not have expired (ErrExpired);
//   - the code is exchanged with pend.Verifier (ErrTokenExchange);
//   - an id_token is required (ErrNoIDToken) and verified: signature,
//     issuer, audience = ClientID, expiry against now, azp if present,
//     at_hash if present, and nonce = pend.Nonce (ErrInvalidIDToken,
//     ErrNonceMismatch);
//   - it must carry an e-mail address with email_verified true
//     (ErrUnverifiedEmail).
func (p *Provider) Finish(ctx context.Context, query url.Values, pend Pending, now time.Time) (Identity, error) {
	id, err := p.finish(ctx, query, pend, now)
	if err != nil {
		p.log.Warn("oidc: login failed", "issuer", p.cfg.Issuer, "error", err)
		return Identity{}, err
	}
	p.log.Info("oidc: login", "issuer", id.Issuer, "subject", id.Subject)
	return id, nil
}

func (p *Provider) finish(ctx context.Context, query url.Values, pend Pending, now time.Time) (Identity, error) {
	if code := query.Get("error"); code != "" {
		return Identity{}, &RefusedError{
			Code:        clean(code, 100),
			Description: clean(query.Get("error_description"), 300),
		}
	}
	if pend.State == "" {
		return Identity{}, &detailError{kind: ErrStateMismatch, detail: "no login was started in this browser"}
	}
	if subtle.ConstantTimeCompare([]byte(query.Get("state")), []byte(pend.State)) != 1 {
		return Identity{}, ErrStateMismatch
	}
	if !now.Before(pend.Expires) {
		return Identity{}, ErrExpired
	}
	code := query.Get("code")
	if code == "" {
		return Identity{}, ErrMissingCode
	}
	if pend.Nonce == "" || pend.Verifier == "" {
		return Identity{}, &detailError{kind: ErrStateMismatch, detail: "the started login has no nonce or verifier"}
	}

	ctx = oidc.ClientContext(ctx, p.client)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		return Identity{}, exchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, ErrNoIDToken
	}

	verifier := p.op.Verifier(&oidc.Config{
		ClientID: p.cfg.ClientID,
		Now:      func() time.Time { return now },
	})
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, idTokenError(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pend.Nonce)) != 1 {
		return Identity{}, ErrNonceMismatch
	}
	if idt.Subject == "" {
		return Identity{}, idTokenError(errors.New("no sub claim"))
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return Identity{}, idTokenError(fmt.Errorf("at_hash does not match the access token: %w", err))
		}
	}
	var claims struct {
		AuthorizedParty string   `json:"azp"`
		Email           string   `json:"email"`
		EmailVerified   flexBool `json:"email_verified"`
		Name            string   `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, idTokenError(fmt.Errorf("reading claims: %w", err))
	}
	if claims.AuthorizedParty != "" && claims.AuthorizedParty != p.cfg.ClientID {
		return Identity{}, idTokenError(fmt.Errorf("azp %q is not this client %q", claims.AuthorizedParty, p.cfg.ClientID))
	}
	if strings.TrimSpace(claims.Email) == "" {
		return Identity{}, &detailError{kind: ErrUnverifiedEmail,
			detail: `the id token has no email claim (may this client ask for the "email" scope?)`}
	}
	if !claims.EmailVerified {
		return Identity{}, &detailError{kind: ErrUnverifiedEmail, detail: "email_verified is not true"}
	}
	return Identity{
		Issuer:        idt.Issuer,
		Subject:       idt.Subject,
		Email:         claims.Email,
		Name:          claims.Name,
		EmailVerified: true,
	}, nil
}

// RefusedError is the error Finish returns when the identity provider
// redirected back with an error instead of a code. It wraps ErrRefused.
type RefusedError struct {
	// Code is the OAuth error code, e.g. access_denied.
	Code string
	// Description is the provider's error_description (may be empty).
	// Control characters are replaced and it is cut to 300 characters.
	Description string
}

// Error reads "oidc: the identity provider refused: CODE: DESCRIPTION".
func (e *RefusedError) Error() string {
	if e.Description == "" {
		return ErrRefused.Error() + ": " + e.Code
	}
	return ErrRefused.Error() + ": " + e.Code + ": " + e.Description
}

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// detailError is a sentinel (kind) with details, optionally wrapping the
// underlying cause as well.
type detailError struct {
	kind   error
	detail string
	cause  error
}

func (e *detailError) Error() string {
	if e.detail == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.detail
}

func (e *detailError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func idTokenError(err error) error {
	return &detailError{kind: ErrInvalidIDToken, detail: strings.TrimPrefix(err.Error(), "oidc: "), cause: err}
}

func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		detail := clean(re.ErrorCode, 100)
		if d := clean(re.ErrorDescription, 300); d != "" {
			detail += ": " + d
		}
		if detail == "" && re.Response != nil {
			detail = "HTTP " + re.Response.Status
		}
		return &detailError{kind: ErrTokenExchange, detail: detail, cause: err}
	}
	return &detailError{kind: ErrTokenExchange, detail: err.Error(), cause: err}
}

// clean makes text from the network safe to log and show: control and other
// non-printing characters become '?', and it is cut to at most limit runes.
func clean(s string, limit int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == limit {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// flexBool reads a JSON boolean, or the strings "true"/"false" some
// providers send for email_verified.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*b = false
	case bool:
		*b = flexBool(v)
	case string:
		switch strings.ToLower(v) {
		case "true":
			*b = true
		case "false", "":
			*b = false
		default:
			return fmt.Errorf("email_verified: %q is not a boolean", v)
		}
	default:
		return fmt.Errorf("email_verified: %s is not a boolean", data)
	}
	return nil
}
