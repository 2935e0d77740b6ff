package erphttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "greenlang-client"
	testClientSecret = "cs-SECRET-0f9d"
)

// tokenServer is a client-credentials token endpoint issuing at-SECRET-<n>.
type tokenServer struct {
	srv       *httptest.Server
	fetches   atomic.Int64
	expiresIn int
	// fail, if set, answers instead for the fetch numbered n (from 1).
	fail func(n int64, w http.ResponseWriter) bool
	mu   sync.Mutex
	form url.Values
}

func newTokenServer(t *testing.T, expiresIn int) *tokenServer {
	ts := &tokenServer{expiresIn: expiresIn}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.fetches.Add(1)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		ts.mu.Lock()
		ts.form = r.PostForm
		ts.mu.Unlock()
		if ts.fail != nil && ts.fail(n, w) {
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if r.PostForm.Get("grant_type") != "client_credentials" || id != testClientID || secret != testClientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			_, _ = fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("at-SECRET-%d", n),
			"token_type":   "Bearer",
			"expires_in":   ts.expiresIn,
		})
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

// apiServer accepts the bearer tokens accept allows, answering 401 otherwise.
type apiServer struct {
	srv    *httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	tokens []string
}

func newAPIServer(t *testing.T, accept func(tok string) bool, after http.HandlerFunc) *apiServer {
	a := &apiServer{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		a.mu.Lock()
		a.tokens = append(a.tokens, tok)
		a.mu.Unlock()
		if !ok || !accept(tok) {
			w.WriteHeader(401)
			return
		}
		if after != nil {
			after(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"d":{"results":[]}}`))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *apiServer) Tokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.tokens...)
}

func anyToken(tok string) bool { return strings.HasPrefix(tok, "at-SECRET-") }

func TestClientCredentialsCachesToken(t *testing.T) {
	tsrv := newTokenServer(t, 3600)
	api := newAPIServer(t, anyToken, nil)
	params := url.Values{"resource": {"https://org.crm.dynamics.com"}}
	src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret,
		[]string{"API_PURCHASEORDER_PROCESS_SRV_0001"}, params, time.Minute)
	c := New("sap", &Transport{Source: src}, Config{RatePerSecond: -1})
	for range 20 {
		mustOK(t)(get(t, c, api.srv.URL))
	}
	if n := tsrv.fetches.Load(); n != 1 {
		t.Fatalf("token endpoint called %d times for 20 requests, want 1", n)
	}
	tsrv.mu.Lock()
	form := tsrv.form
	tsrv.mu.Unlock()
	if form.Get("scope") != "API_PURCHASEORDER_PROCESS_SRV_0001" || form.Get("resource") != "https://org.crm.dynamics.com" {
		t.Fatalf("token request form %v", form)
	}
	for _, tok := range api.Tokens() {
		if tok != "at-SECRET-1" {
			t.Fatalf("API saw token %q", tok)
		}
	}
}

func TestClientCredentialsRefreshBeforeExpiry(t *testing.T) {
	// Token lives an hour; refreshBefore leaves it 1 s of use.
	tsrv := newTokenServer(t, 3600)
	api := newAPIServer(t, anyToken, nil)
	src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret, nil, nil, time.Hour-time.Second)
	c := New("d365", &Transport{Source: src}, Config{RatePerSecond: -1})
	for range 5 {
		mustOK(t)(get(t, c, api.srv.URL))
	}
	if n := tsrv.fetches.Load(); n != 1 {
		t.Fatalf("fetches %d before the refresh window, want 1", n)
	}
	time.Sleep(1200 * time.Millisecond) // now within refreshBefore of expiry
	for range 3 {
		mustOK(t)(get(t, c, api.srv.URL))
	}
	if n := tsrv.fetches.Load(); n != 2 {
		t.Fatalf("fetches %d after entering the refresh window, want 2", n)
	}
	toks := api.Tokens()
	if toks[len(toks)-1] != "at-SECRET-2" {
		t.Fatalf("last token %q, want the refreshed one", toks[len(toks)-1])
	}
}

func TestClientCredentialsShortLivedTokens(t *testing.T) {
	// A token living less than refreshBefore is never reused.
	tsrv := newTokenServer(t, 30)
	api := newAPIServer(t, anyToken, nil)
	src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret, nil, nil, time.Minute)
	c := New("c", &Transport{Source: src}, Config{RatePerSecond: -1})
	for range 3 {
		mustOK(t)(get(t, c, api.srv.URL))
	}
	if n := tsrv.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d, want 3", n)
	}
}

func TestTransport401RefreshesOnceAndRetries(t *testing.T) {
	tsrv := newTokenServer(t, 3600)
	// The API has revoked the first token.
	api := newAPIServer(t, func(tok string) bool { return anyToken(tok) && tok != "at-SECRET-1" }, nil)
	src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret, nil, nil, time.Minute)
	c := New("sap", &Transport{Source: src}, Config{RatePerSecond: -1})
	req, _ := http.NewRequest(http.MethodPost, api.srv.URL, strings.NewReader(`{"x":1}`))
	mustOK(t)(c.Do(req))
	if f, h := tsrv.fetches.Load(), api.hits.Load(); f != 2 || h != 2 {
		t.Fatalf("token fetches %d, API hits %d; want 2 and 2", f, h)
	}
	mustOK(t)(get(t, c, api.srv.URL))
	if f := tsrv.fetches.Load(); f != 2 {
		t.Fatalf("token fetches %d after the refresh, want 2", f)
	}
}

func TestTransport401ConcurrentRefreshOnce(t *testing.T) {
	tsrv := newTokenServer(t, 3600)
	api := newAPIServer(t, func(tok string) bool { return anyToken(tok) && tok != "at-SECRET-1" }, nil)
	src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret, nil, nil, time.Minute)
	if _, err := src.Token(); err != nil { // everyone starts with the revoked token
		t.Fatal(err)
	}
	c := New("sap", &Transport{Source: src}, Config{RatePerSecond: -1})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, err := get(t, c, api.srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if f := tsrv.fetches.Load(); f != 2 {
		t.Fatalf("token fetches %d for 8 concurrent 401s, want 2", f)
	}
}

func TestTransportPersistent401NotLooped(t *testing.T) {
	tsrv := newTokenServer(t, 3600)
	api := newAPIServer(t, func(string) bool { return false }, nil)
	src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret, nil, nil, time.Minute)
	fc := newFakeClock()
	c := New("sap", &Transport{Source: src}, fakeConfig(fc, 0.5))
	resp, err := get(t, c, api.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || api.hits.Load() != 2 || tsrv.fetches.Load() != 2 || len(fc.Sleeps()) != 0 {
		t.Fatalf("status %d, API hits %d, fetches %d, sleeps %v; want 401 after one refresh and one retry",
			resp.StatusCode, api.hits.Load(), tsrv.fetches.Load(), fc.Sleeps())
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Run("bad credentials are not retried", func(t *testing.T) {
		tsrv := newTokenServer(t, 3600)
		api := newAPIServer(t, anyToken, nil)
		src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, "wrong-SECRET", nil, nil, time.Minute)
		fc := newFakeClock()
		c := New("sap", &Transport{Source: src}, fakeConfig(fc, 0.5))
		_, err := get(t, c, api.srv.URL)
		var te *TokenError
		if !errors.As(err, &te) || te.Temporary() {
			t.Fatalf("err %v, want a permanent *TokenError", err)
		}
		if api.hits.Load() != 0 || len(fc.Sleeps()) != 0 || c.BreakerState() != "closed" {
			t.Fatalf("API hits %d, sleeps %v, breaker %s", api.hits.Load(), fc.Sleeps(), c.BreakerState())
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("error leaks a secret: %v", err)
		}
	})
	t.Run("an unavailable endpoint is retried", func(t *testing.T) {
		tsrv := newTokenServer(t, 3600)
		tsrv.fail = func(n int64, w http.ResponseWriter) bool {
			if n <= 2 { // both auth styles of the first fetch
				w.WriteHeader(503)
				return true
			}
			return false
		}
		api := newAPIServer(t, anyToken, nil)
		src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret, nil, nil, time.Minute)
		fc := newFakeClock()
		c := New("sap", &Transport{Source: src}, fakeConfig(fc, 0.5))
		mustOK(t)(get(t, c, api.srv.URL))
		if api.hits.Load() != 1 || len(fc.Sleeps()) != 1 {
			t.Fatalf("API hits %d, sleeps %v", api.hits.Load(), fc.Sleeps())
		}
	})
}

func TestSecretsNeverLogged(t *testing.T) {
	logs := &syncBuffer{}
	log := debugLogger(logs)
	tsrv := newTokenServer(t, 3600)
	var n atomic.Int64
	api := newAPIServer(t, func(tok string) bool { return anyToken(tok) && tok != "at-SECRET-1" },
		func(w http.ResponseWriter, r *http.Request) {
			switch n.Add(1) {
			case 1:
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(429)
			case 2:
				w.WriteHeader(503)
			default:
				w.WriteHeader(200)
			}
		})
	src := ClientCredentials(context.Background(), tsrv.srv.URL, testClientID, testClientSecret, nil, nil, time.Minute)
	cfg := fakeConfig(newFakeClock(), 0.5)
	cfg.Logger = log
	cfg.MaxAttempts = 3
	c := New("sap", &Transport{Source: src, Logger: log}, cfg)

	u, _ := url.Parse(api.srv.URL)
	u.User = url.UserPassword("svc-user", "pw-SECRET-user")
	u.Path = "/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_Supplier"
	u.RawQuery = "sap-client=100&password=pw-SECRET-q&api_key=SECRET-key"
	var errs []string

	// 401 → refresh, then 429 (Retry-After), 503, 200.
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.Header.Set("X-Api-Password", "SECRET-header")
	mustOK(t)(c.Do(req))

	// A request that exhausts its attempts.
	n.Store(-100)
	api2 := newScript(t, status(500))
	u2, _ := url.Parse(api2.srv.URL + "/x?client_secret=SECRET-cs&access_token=SECRET-at")
	c2 := New("sap2", &Transport{Source: src, Logger: log}, cfg)
	if _, err := c2.Do(&http.Request{Method: "GET", URL: u2, Header: http.Header{}}); err != nil {
		errs = append(errs, err.Error())
	} else {
		t.Fatal("want an error")
	}

	// Bad credentials at the token endpoint.
	bad := ClientCredentials(context.Background(), tsrv.srv.URL+"?client_secret=SECRET-inurl", testClientID, "bad-SECRET", nil, nil, time.Minute)
	c3 := New("sap3", &Transport{Source: bad, Logger: log}, cfg)
	if _, err := get(t, c3, u.String()); err != nil {
		errs = append(errs, err.Error())
	} else {
		t.Fatal("want an error")
	}

	out := logs.String()
	if !strings.Contains(out, "retrying") || !strings.Contains(out, "401") || !strings.Contains(out, "request failed") {
		t.Fatalf("expected retry, 401 and failure records; logs:\n%s", out)
	}
	for _, s := range append([]string{out}, errs...) {
		for _, secret := range []string{"SECRET", testClientSecret, "Authorization", "Bearer"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaked in:\n%s", secret, s)
			}
		}
	}
}
