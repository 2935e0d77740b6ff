// Package oidctest is a minimal but real OpenID Connect identity provider
// for tests, served on loopback with net/http/httptest. It implements
// discovery, /jwks, /authorize (no login page: it logs the configured user
// in at once) and /token for the authorization-code flow with PKCE S256,
// and signs ID tokens with RS256.
//
// It checks what a strict provider checks (client id and secret, redirect
// URI, single-use codes, the PKCE verifier) and has hooks to make it
// misbehave: Tamper, TamperTokenResponse, SignWithUnknownKey, Refuse and
// SetDiscoveryIssuer.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// CodeLifetime is how long an authorization code may be exchanged.
const CodeLifetime = time.Minute

// TokenLifetime is the lifetime of issued ID and access tokens.
const TokenLifetime = 5 * time.Minute

// User is the person /authorize logs in.
type User struct {
	// Subject becomes the sub claim.
	Subject string
	// Email becomes the email claim; empty leaves the claim out.
	Email string
	// Name becomes the name claim; empty leaves the claim out.
	Name string
	// EmailVerified becomes the email_verified claim.
	EmailVerified bool
}

// DefaultUser is the user a new Server logs in.
var DefaultUser = User{Subject: "user-1", Email: "ada@example.com", Name: "Ada Lovelace", EmailVerified: true}

// Server is the test identity provider. Its methods are safe to call while
// requests are served.
type Server struct {
	// URL is the issuer URL (http://127.0.0.1:port, no trailing slash).
	URL string

	srv          *httptest.Server
	key          *rsa.PrivateKey
	kid          string
	clientID     string
	clientSecret string

	mu            sync.Mutex
	user          User
	tamper        func(claims map[string]any)
	tamperResp    func(resp map[string]any)
	unknownKey    *rsa.PrivateKey
	refuseCode    string
	refuseDesc    string
	discIssuer    string
	authMethods   []string
	grants        map[string]*grant
	lastAuth      string
	tokenRequests int
}

// grant is an issued authorization code.
type grant struct {
	redirectURI string
	challenge   string
	nonce       string
	user        User
	issued      time.Time
	used        bool
}

// New starts a Server for one client (clientID, clientSecret) with a fresh
// RSA-2048 signing key. It is closed when t's cleanup runs.
func New(t testing.TB, clientID, clientSecret string) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generating key: %v", err)
	}
	s := &Server{
		key:          key,
		kid:          "oidctest-" + randomString(6),
		clientID:     clientID,
		clientSecret: clientSecret,
		user:         DefaultUser,
		authMethods:  []string{"client_secret_basic", "client_secret_post"},
		grants:       make(map[string]*grant),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns an HTTP client for the server (plain http on loopback).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// SetUser sets the user later /authorize requests log in.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// Tamper makes later ID tokens go through f before they are signed: f may
// change, add or delete claims (iss, sub, aud, exp, iat, nonce, email,
// email_verified, name, at_hash). nil stops tampering.
func (s *Server) Tamper(f func(claims map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper = f
}

// TamperTokenResponse makes later successful /token answers go through f
// before they are sent (e.g. delete "id_token"). nil stops tampering.
func (s *Server) TamperTokenResponse(f func(resp map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamperResp = f
}

// SignWithUnknownKey makes later ID tokens (on) be signed with another RSA
// key that /jwks does not publish, under the published key id.
func (s *Server) SignWithUnknownKey(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !on {
		s.unknownKey = nil
		return
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("oidctest: generating key: " + err.Error())
	}
	s.unknownKey = key
}

// Refuse makes later /authorize requests redirect back with
// error=errCode and error_description=description instead of a code. An
// empty errCode stops refusing.
func (s *Server) Refuse(errCode, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseCode, s.refuseDesc = errCode, description
}

// SetDiscoveryIssuer makes the discovery document advertise issuer instead
// of s.URL (to test issuer mismatches). Empty restores s.URL.
func (s *Server) SetDiscoveryIssuer(issuer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discIssuer = issuer
}

// SetAuthMethods sets token_endpoint_auth_methods_supported in the
// discovery document (default client_secret_basic and client_secret_post).
// /token itself keeps accepting both.
func (s *Server) SetAuthMethods(methods ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authMethods = slices.Clone(methods)
}

// LastClientAuth returns how the client authenticated at the last /token
// request that got as far as client authentication: "client_secret_basic",
// "client_secret_post" or "" (none).
func (s *Server) LastClientAuth() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuth
}

// TokenRequests returns how many requests /token has received.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	issuer := s.URL
	if s.discIssuer != "" {
		issuer = s.discIssuer
	}
	methods := slices.Clone(s.authMethods)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                s.URL + "/authorize",
		"token_endpoint":                        s.URL + "/token",
		"jwks_uri":                              s.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": methods,
		"grant_types_supported":                 []string{"authorization_code"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"},
	})
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &s.key.PublicKey,
		KeyID:     s.kid,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}})
}

// authorize validates the request and, with no login page, redirects
// straight back to redirect_uri with a code (or an error).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Errors about the client or the redirect URI must not redirect.
	if q.Get("client_id") != s.clientID {
		http.Error(w, "oidctest: unknown client_id", http.StatusBadRequest)
		return
	}
	redirectURI := q.Get("redirect_uri")
	back, err := url.Parse(redirectURI)
	if redirectURI == "" || err != nil || !back.IsAbs() {
		http.Error(w, "oidctest: redirect_uri missing or not absolute", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		v := back.Query()
		v.Set("error", code)
		if desc != "" {
			v.Set("error_description", desc)
		}
		if state != "" {
			v.Set("state", state)
		}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "the openid scope is required")
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	}

	s.mu.Lock()
	refuseCode, refuseDesc := s.refuseCode, s.refuseDesc
	user := s.user
	s.mu.Unlock()
	if refuseCode != "" {
		fail(refuseCode, refuseDesc)
		return
	}

	code := randomString(32)
	s.mu.Lock()
	s.grants[code] = &grant{
		redirectURI: redirectURI,
		challenge:   q.Get("code_challenge"),
		nonce:       q.Get("nonce"),
		user:        user,
		issued:      time.Now(),
	}
	s.mu.Unlock()
	v := back.Query()
	v.Set("code", code)
	if state != "" {
		v.Set("state", state)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges an authorization code, checking client authentication
// (client_secret_basic or client_secret_post), the code, the redirect URI
// and the PKCE verifier.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	oauthError := func(status int, code, desc string) {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		oauthError(http.StatusBadRequest, "invalid_request", "cannot parse the form")
		return
	}
	form := r.PostForm
	if gt := form.Get("grant_type"); gt != "authorization_code" {
		oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type "+gt+" is not supported")
		return
	}

	// Client authentication: exactly one method (RFC 6749 §2.3).
	var id, secret, method string
	basicID, basicSecret, hasBasic := r.BasicAuth()
	_, hasPostSecret := form["client_secret"]
	switch {
	case hasBasic && hasPostSecret:
		oauthError(http.StatusBadRequest, "invalid_request", "more than one client authentication method")
		return
	case hasBasic:
		// client_secret_basic form-encodes id and secret (RFC 6749 §2.3.1).
		var err1, err2 error
		id, err1 = url.QueryUnescape(basicID)
		secret, err2 = url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			oauthError(http.StatusUnauthorized, "invalid_client", "bad encoding in the Authorization header")
			return
		}
		method = "client_secret_basic"
		if fid := form.Get("client_id"); fid != "" && fid != id {
			oauthError(http.StatusBadRequest, "invalid_request", "client_id differs from the authenticated client")
			return
		}
	case hasPostSecret:
		id, secret, method = form.Get("client_id"), form.Get("client_secret"), "client_secret_post"
	default:
		oauthError(http.StatusUnauthorized, "invalid_client", "client authentication is required")
		return
	}
	s.mu.Lock()
	s.lastAuth = method
	s.mu.Unlock()
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.clientSecret)) != 1 {
		oauthError(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}

	code := form.Get("code")
	s.mu.Lock()
	g := s.grants[code]
	var used bool
	if g != nil {
		used = g.used
		g.used = true // a code is burnt the first time it is presented
	}
	s.mu.Unlock()
	switch {
	case code == "" || g == nil:
		oauthError(http.StatusBadRequest, "invalid_grant", "unknown authorization code")
		return
	case used:
		oauthError(http.StatusBadRequest, "invalid_grant", "authorization code was already used")
		return
	case time.Since(g.issued) > CodeLifetime:
		oauthError(http.StatusBadRequest, "invalid_grant", "authorization code expired")
		return
	case form.Get("redirect_uri") != g.redirectURI:
		oauthError(http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the one at /authorize")
		return
	}
	verifier := form.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if verifier == "" || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		oauthError(http.StatusBadRequest, "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge")
		return
	}

	accessToken := randomString(32)
	idToken, err := s.idToken(g, accessToken)
	if err != nil {
		oauthError(http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	resp := map[string]any{
		"access_token": accessToken,
		"token_type":   "Bearer",
		"expires_in":   int(TokenLifetime / time.Second),
		"id_token":     idToken,
	}
	s.mu.Lock()
	tamper := s.tamperResp
	s.mu.Unlock()
	if tamper != nil {
		tamper(resp)
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// idToken makes and signs the ID token for g.
func (s *Server) idToken(g *grant, accessToken string) (string, error) {
	now := time.Now()
	atHash := sha256.Sum256([]byte(accessToken))
	claims := map[string]any{
		"iss":            s.URL,
		"sub":            g.user.Subject,
		"aud":            s.clientID,
		"exp":            now.Add(TokenLifetime).Unix(),
		"iat":            now.Unix(),
		"email_verified": g.user.EmailVerified,
		"at_hash":        base64.RawURLEncoding.EncodeToString(atHash[:16]),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if g.user.Email != "" {
		claims["email"] = g.user.Email
	}
	if g.user.Name != "" {
		claims["name"] = g.user.Name
	}
	s.mu.Lock()
	tamper, key := s.tamper, s.key
	if s.unknownKey != nil {
		key = s.unknownKey
	}
	s.mu.Unlock()
	if tamper != nil {
		tamper(claims)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: s.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
