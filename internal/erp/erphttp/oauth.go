package erphttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultRefreshBefore is the refreshBefore of ClientCredentials when it is
// given as zero or less.
const DefaultRefreshBefore = time.Minute

// TokenSource is an OAuth 2.0 client-credentials token source that caches
// its token and fetches a new one refreshBefore ahead of the token's expiry
// (oauth2.ReuseTokenSourceWithExpiry), or when told with Invalidate that the
// API rejected the token. It is safe for concurrent use.
type TokenSource struct {
	cfg           *clientcredentials.Config
	ctx           context.Context
	refreshBefore time.Duration
	tokenURL      string // redacted

	mu      sync.Mutex
	src     oauth2.TokenSource
	current string // access token of the last fetch, "" after Invalidate
}

// ClientCredentials returns a cached client-credentials token source for
// tokenURL (e.g. SAP BTP's …/oauth/token, or Microsoft Entra ID's
// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token with scope
// https://{org}.operations.dynamics.com/.default). params are extra form
// parameters for the token endpoint (e.g. "resource"). Tokens are refreshed
// refreshBefore ahead of expiry (DefaultRefreshBefore if ≤ 0); keep it well
// under the tokens' lifetime, or every call fetches a new one.
//
// ctx is kept for every later token fetch, so it must outlive the source
// (not a request's context); it may carry an *http.Client under
// oauth2.HTTPClient. Without one, fetches use an http.Client with a 30 s
// timeout.
func ClientCredentials(ctx context.Context, tokenURL, clientID, clientSecret string, scopes []string, params url.Values, refreshBefore time.Duration) *TokenSource {
	if refreshBefore <= 0 {
		refreshBefore = DefaultRefreshBefore
	}
	if ctx.Value(oauth2.HTTPClient) == nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: DefaultTimeout})
	}
	ts := &TokenSource{
		cfg: &clientcredentials.Config{
			ClientID:       clientID,
			ClientSecret:   clientSecret,
			TokenURL:       tokenURL,
			Scopes:         scopes,
			EndpointParams: params,
		},
		ctx:           ctx,
		refreshBefore: refreshBefore,
		tokenURL:      redactString(tokenURL),
	}
	ts.src = ts.newCache()
	return ts
}

func (ts *TokenSource) newCache() oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, fetcher{ts}, ts.refreshBefore)
}

// fetcher gets a new token on every call; the cache around it decides when.
type fetcher struct{ ts *TokenSource }

func (f fetcher) Token() (*oauth2.Token, error) {
	tok, err := f.ts.cfg.Token(f.ts.ctx)
	if err != nil {
		return nil, err
	}
	f.ts.mu.Lock()
	f.ts.current = tok.AccessToken
	f.ts.mu.Unlock()
	return tok, nil
}

// Token returns the cached token, fetching a new one if it is missing,
// within refreshBefore of its expiry, or invalidated. Errors are
// *TokenError.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	ts.mu.Lock()
	src := ts.src
	ts.mu.Unlock()
	tok, err := src.Token()
	if err != nil {
		return nil, &TokenError{TokenURL: ts.tokenURL, Err: sanitizeErr(err)}
	}
	return tok, nil
}

// Invalidate drops the cached token if it is bad (the one the API
// rejected), so the next Token fetches a new one. Several callers
// invalidating the same token cause one fetch.
func (ts *TokenSource) Invalidate(bad *oauth2.Token) {
	if bad == nil {
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.current != "" && ts.current == bad.AccessToken {
		ts.src = ts.newCache()
		ts.current = ""
	}
}

// Invalidator is a token source whose cached token can be dropped, as
// *TokenSource.
type Invalidator interface {
	Invalidate(bad *oauth2.Token)
}

// TokenError is the error of a failed token fetch.
type TokenError struct {
	TokenURL string // redacted
	Err      error
}

func (e *TokenError) Error() string {
	if e.TokenURL == "" {
		return "erphttp: obtaining an OAuth token: " + e.Err.Error()
	}
	return fmt.Sprintf("erphttp: obtaining an OAuth token from %s: %v", e.TokenURL, e.Err)
}

func (e *TokenError) Unwrap() error { return e.Err }

// Temporary reports whether the fetch may succeed if repeated: a transport
// error, or a token endpoint answering 429 or 5xx (not one refusing the
// credentials).
func (e *TokenError) Temporary() bool {
	var re *oauth2.RetrieveError
	if errors.As(e.Err, &re) {
		return re.Response != nil && (re.Response.StatusCode == http.StatusTooManyRequests || re.Response.StatusCode >= 500)
	}
	return true
}

// Transport adds "Authorization: Bearer <token>" from Source to each request
// and, when the API answers 401, invalidates the token (if Source is an
// Invalidator), fetches a new one and retries the request once. A request
// whose body cannot be replayed (GetBody nil) is not retried.
type Transport struct {
	Source oauth2.TokenSource
	// Base sends the requests; http.DefaultTransport if nil.
	Base http.RoundTripper
	// Logger, if set, gets a record when a 401 makes the token refresh.
	Logger *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	tok, err := t.token()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	tok.SetAuthHeader(r)
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	inv, ok := t.Source.(Invalidator)
	if !ok || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, nil
	}
	if t.Logger != nil {
		t.Logger.LogAttrs(req.Context(), slog.LevelInfo, "erphttp: API answered 401; refreshing the OAuth token and retrying once",
			slog.String("method", req.Method), slog.String("url", RedactURL(req.URL)))
	}
	inv.Invalidate(tok)
	tok2, err := t.token()
	if err != nil {
		drain(resp)
		return nil, err
	}
	r2 := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil // keep the 401 rather than invent an error
		}
		r2.Body = body
	}
	drain(resp)
	tok2.SetAuthHeader(r2)
	return base.RoundTrip(r2)
}

func (t *Transport) token() (*oauth2.Token, error) {
	if t.Source == nil {
		return nil, &TokenError{Err: errors.New("erphttp.Transport has no token Source")}
	}
	tok, err := t.Source.Token()
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			return nil, err
		}
		return nil, &TokenError{Err: sanitizeErr(err)}
	}
	return tok, nil
}
