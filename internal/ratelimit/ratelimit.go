// Package ratelimit keeps a token bucket (golang.org/x/time/rate) per
// key — an API token, a client address — in one process, forgetting the
// buckets of keys that have gone quiet so memory follows the active set.
package ratelimit

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiters holds one bucket per key, dropping the ones idle for longer
// than it takes to refill, so the map stays as large as the active set.
type Limiters struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*limiterEntry
	swept time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns buckets of every requests a second with bursts of burst.
func New(every rate.Limit, burst int) *Limiters {
	return &Limiters{every: every, burst: burst, m: map[string]*limiterEntry{}}
}

// Allow takes one request from key's bucket; when it is empty it returns
// false and how long until the next request would be allowed.
func (l *Limiters) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		idle := time.Duration(float64(l.burst)/float64(l.every)*float64(time.Second)) + time.Minute
		for k, e := range l.m {
			if now.Sub(e.seen) > idle {
				delete(l.m, k)
			}
		}
		l.swept = now
	}
	e, ok := l.m[key]
	if !ok {
		e = &limiterEntry{lim: rate.NewLimiter(l.every, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Forgive drops key's bucket: after a successful login, say, its earlier
// failures no longer count.
func (l *Limiters) Forgive(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, key)
}

// ClientAddr is a request's remote address without its port: the key of
// the per-address limits (failed logins).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
