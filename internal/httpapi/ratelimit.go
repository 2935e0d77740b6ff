package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate limits (docs/api.md, "Rate limits"): each API token has a token
// bucket (golang.org/x/time/rate) of RateLimit.PerSecond requests a
// second with bursts of RateLimit.Burst; a request over it is answered
// 429 with Retry-After, before the handler runs. Failed authentications
// are limited the same way per client address (FailedPerMinute), so
// guessing tokens is slow. Buckets live in the process: with several
// processes behind a balancer each allows its share.

// RateLimit configures the limits; zero fields take the defaults.
type RateLimit struct {
	// PerSecond is a token's sustained rate. Default 50; negative turns
	// per-token limiting off.
	PerSecond float64
	// Burst is how many requests a token may send at once. Default 100.
	Burst int
	// FailedPerMinute is how many failed authentications one client
	// address may make a minute (bursts of 10). Default 60.
	FailedPerMinute float64
}

func (l RateLimit) withDefaults() RateLimit {
	if l.PerSecond == 0 {
		l.PerSecond = 50
	}
	if l.Burst <= 0 {
		l.Burst = 100
	}
	if l.FailedPerMinute <= 0 {
		l.FailedPerMinute = 60
	}
	return l
}

// limiters holds one bucket per key, dropping the ones idle for longer
// than it takes to refill, so the map stays as large as the active set.
type limiters struct {
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

func newLimiters(every rate.Limit, burst int) *limiters {
	return &limiters{every: every, burst: burst, m: map[string]*limiterEntry{}}
}

// allow takes one request from key's bucket; when it is empty it returns
// false and how long until the next request would be allowed.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
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

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
	writeProblemOf(w, Problem{Type: ProblemRateLimited, Status: http.StatusTooManyRequests, Detail: detail})
}

// clientAddr is the request's remote address without its port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
