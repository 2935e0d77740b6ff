package oidctest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/greenlang/greenlang/internal/oidclogin/oidctest"
)

const (
	clientID     = "app"
	clientSecret = "secret"
	callback     = "https://app.example.com/cb"
	verifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXk2OTQBzK" // 44 chars
)

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authParams() url.Values {
	return url.Values{
		"client_id":             {clientID},
		"redirect_uri":          {callback},
		"response_type":         {"code"},
		"scope":                 {"openid email"},
		"state":                 {"st"},
		"nonce":                 {"nc"},
		"code_challenge":        {challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
}

var noFollow = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// authorize calls /authorize and returns the status and, for a redirect,
// the redirect's query.
func authorize(t *testing.T, s *oidctest.Server, params url.Values) (int, url.Values) {
	t.Helper()
	resp, err := noFollow.Get(s.URL + "/authorize?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, nil
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), callback+"?") {
		t.Fatalf("redirected to %s, want %s", loc, callback)
	}
	return resp.StatusCode, loc.Query()
}

func code(t *testing.T, s *oidctest.Server) string {
	t.Helper()
	_, q := authorize(t, s, authParams())
	if q.Get("code") == "" || q.Get("state") != "st" {
		t.Fatalf("callback query %v", q)
	}
	return q.Get("code")
}

// token posts form to /token, with basic credentials if user is not empty.
func token(t *testing.T, s *oidctest.Server, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func exchangeForm(code string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {callback},
		"code_verifier": {verifier},
	}
}

func TestAuthorizeChecks(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t, clientID, clientSecret)
	for _, tc := range []struct {
		name      string
		edit      func(v url.Values)
		status    int
		wantError string
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "other") }, http.StatusBadRequest, ""},
		{"no redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, http.StatusBadRequest, ""},
		{"implicit flow", func(v url.Values) { v.Set("response_type", "token") }, http.StatusFound, "unsupported_response_type"},
		{"no openid scope", func(v url.Values) { v.Set("scope", "email") }, http.StatusFound, "invalid_scope"},
		{"no PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, http.StatusFound, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, http.StatusFound, "invalid_request"},
	} {
		v := authParams()
		tc.edit(v)
		status, q := authorize(t, s, v)
		if status != tc.status || q.Get("error") != tc.wantError || q.Has("code") {
			t.Errorf("%s: %d %v, want %d error=%q", tc.name, status, q, tc.status, tc.wantError)
		}
	}

	s.Refuse("access_denied", "no")
	if _, q := authorize(t, s, authParams()); q.Get("error") != "access_denied" || q.Get("error_description") != "no" || q.Get("state") != "st" {
		t.Errorf("refused: %v", q)
	}
	s.Refuse("", "")
	code(t, s)
}

func TestTokenChecks(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t, clientID, clientSecret)
	for _, tc := range []struct {
		name       string
		form       func(code string) url.Values
		user, pass string
		status     int
		wantError  string
	}{
		{"wrong grant type", func(c string) url.Values { f := exchangeForm(c); f.Set("grant_type", "password"); return f },
			clientID, clientSecret, 400, "unsupported_grant_type"},
		{"no client authentication", exchangeForm, "", "", 401, "invalid_client"},
		{"wrong secret (basic)", exchangeForm, clientID, "nope", 401, "invalid_client"},
		{"wrong secret (post)", func(c string) url.Values {
			f := exchangeForm(c)
			f.Set("client_id", clientID)
			f.Set("client_secret", "nope")
			return f
		}, "", "", 401, "invalid_client"},
		{"two authentication methods", func(c string) url.Values { f := exchangeForm(c); f.Set("client_secret", clientSecret); return f },
			clientID, clientSecret, 400, "invalid_request"},
		{"other redirect_uri", func(c string) url.Values {
			f := exchangeForm(c)
			f.Set("redirect_uri", "https://evil.example/cb")
			return f
		},
			clientID, clientSecret, 400, "invalid_grant"},
		{"no verifier", func(c string) url.Values { f := exchangeForm(c); f.Del("code_verifier"); return f },
			clientID, clientSecret, 400, "invalid_grant"},
		{"wrong verifier", func(c string) url.Values { f := exchangeForm(c); f.Set("code_verifier", verifier+"x"); return f },
			clientID, clientSecret, 400, "invalid_grant"},
		{"unknown code", func(string) url.Values { return exchangeForm("nope") }, clientID, clientSecret, 400, "invalid_grant"},
		{"ok (post)", func(c string) url.Values {
			f := exchangeForm(c)
			f.Set("client_id", clientID)
			f.Set("client_secret", clientSecret)
			return f
		}, "", "", 200, ""},
	} {
		status, body := token(t, s, tc.form(code(t, s)), tc.user, tc.pass)
		if status != tc.status || (tc.wantError != "" && body["error"] != tc.wantError) {
			t.Errorf("%s: %d %v, want %d %s", tc.name, status, body, tc.status, tc.wantError)
		}
	}

	// A code that failed the PKCE check is burnt.
	c := code(t, s)
	f := exchangeForm(c)
	f.Set("code_verifier", verifier+"x")
	token(t, s, f, clientID, clientSecret)
	if status, body := token(t, s, exchangeForm(c), clientID, clientSecret); status != 400 || body["error_description"] != "authorization code was already used" {
		t.Errorf("reusing a code: %d %v", status, body)
	}
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t, clientID, clientSecret)
	s.SetUser(oidctest.User{Subject: "s-9", Email: "x@example.org", EmailVerified: false})
	status, body := token(t, s, exchangeForm(code(t, s)), clientID, clientSecret)
	if status != 200 || body["token_type"] != "Bearer" || body["access_token"] == "" || body["expires_in"] != float64(300) {
		t.Fatalf("token answer %d %v", status, body)
	}
	raw, _ := body["id_token"].(string)

	resp, err := http.Get(s.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks: %v %+v", err, set)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if kid := jws.Signatures[0].Header.KeyID; kid != set.Keys[0].KeyID {
		t.Errorf("kid %q, jwks has %q", kid, set.Keys[0].KeyID)
	}
	payload, err := jws.Verify(set.Keys[0])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"iss": s.URL, "sub": "s-9", "aud": clientID, "nonce": "nc",
		"email": "x@example.org", "email_verified": false,
	} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if _, ok := claims["name"]; ok {
		t.Errorf("empty name sent: %v", claims)
	}
	exp, _ := claims["exp"].(float64)
	iat, _ := claims["iat"].(float64)
	if exp-iat != 300 {
		t.Errorf("exp - iat = %v, want 300", exp-iat)
	}
}
