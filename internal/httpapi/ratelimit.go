package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/greenlang/greenlang/internal/ratelimit"
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

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration, detail string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
	writeProblemOf(w, Problem{Type: ProblemRateLimited, Status: http.StatusTooManyRequests, Detail: detail})
}

// clientAddr is the request's remote address without its port.
func clientAddr(r *http.Request) string { return ratelimit.ClientAddr(r) }
