package workday

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// refreshTokenSource gets access tokens from Workday's token endpoint with
// the refresh-token grant (client id and secret in HTTP basic auth). It
// caches the access token until refreshBefore ahead of its expiry
// (oauth2.ReuseTokenSourceWithExpiry), drops it when the API refuses it
// (Invalidate, used by erphttp.Transport on a 401), and keeps the newest
// refresh token when the endpoint rotates it, handing it to save (the
// old one is revoked: a process that restarted from it could not sign in).
// Safe for concurrent use.
type refreshTokenSource struct {
	ctx           context.Context
	conf          *oauth2.Config
	refreshBefore time.Duration
	tokenURL      string                                                     // for errors; holds no credentials
	save          func(ctx context.Context, changes map[string]string) error // nil: keep rotations in memory
	log           *slog.Logger

	mu      sync.Mutex
	refresh string             // the newest refresh token
	src     oauth2.TokenSource // cache around fetcher
	current string             // access token of the last fetch, "" after Invalidate
}

func newRefreshTokenSource(ctx context.Context, conf *oauth2.Config, refresh string, refreshBefore time.Duration,
	save func(context.Context, map[string]string) error, log *slog.Logger) *refreshTokenSource {
	ts := &refreshTokenSource{ctx: ctx, conf: conf, refreshBefore: refreshBefore, refresh: refresh,
		tokenURL: redactedURL(conf.Endpoint.TokenURL), save: save, log: log}
	ts.src = ts.newCache()
	return ts
}

func (ts *refreshTokenSource) newCache() oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, refreshFetcher{ts}, ts.refreshBefore)
}

// refreshFetcher redeems the refresh token on every call; the cache around
// it decides when.
type refreshFetcher struct{ ts *refreshTokenSource }

func (f refreshFetcher) Token() (*oauth2.Token, error) {
	ts := f.ts
	ts.mu.Lock()
	rt := ts.refresh
	ts.mu.Unlock()
	// A token with only a refresh token is invalid, so the source refreshes
	// at once; it returns the rotated refresh token, or the one it was given.
	tok, err := ts.conf.TokenSource(ts.ctx, &oauth2.Token{RefreshToken: rt}).Token()
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	rotated := tok.RefreshToken != "" && tok.RefreshToken != rt
	if rotated {
		ts.refresh = tok.RefreshToken
	}
	ts.current = tok.AccessToken
	ts.mu.Unlock()
	if rotated && ts.save != nil {
		// The new token works for this run either way; failing to store it
		// only hurts the next run, so it is logged, not returned.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ts.ctx), 30*time.Second)
		defer cancel()
		if err := ts.save(ctx, map[string]string{"refresh_token": tok.RefreshToken}); err != nil {
			ts.log.ErrorContext(ctx, "workday: the token endpoint rotated the refresh token and storing the new one failed; the next run may not sign in",
				"token_url", ts.tokenURL, "error", err)
		} else {
			ts.log.InfoContext(ctx, "workday: stored the rotated refresh token", "token_url", ts.tokenURL)
		}
	}
	return tok, nil
}

// Token returns the cached access token, fetching a new one when needed.
// Errors are *erphttp.TokenError.
func (ts *refreshTokenSource) Token() (*oauth2.Token, error) {
	ts.mu.Lock()
	src := ts.src
	ts.mu.Unlock()
	tok, err := src.Token()
	if err != nil {
		return nil, &erphttp.TokenError{TokenURL: ts.tokenURL, Err: err}
	}
	return tok, nil
}

// Invalidate drops the cached token if it is bad, so that the next Token
// fetches a new one.
func (ts *refreshTokenSource) Invalidate(bad *oauth2.Token) {
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

// RefreshToken returns the newest refresh token.
func (ts *refreshTokenSource) RefreshToken() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.refresh
}
