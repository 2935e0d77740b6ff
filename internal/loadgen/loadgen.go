// Package loadgen sends HTTP requests over a fixed number of concurrent
// connections for a while and measures throughput and latency
// (docs/api.md, "Performance"): what `greenlang loadtest` runs from a
// second process against a running server. Latencies are kept exactly
// (one duration per request) and percentiles read from the sorted list.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one load test.
type Config struct {
	URL         string
	Method      string // default GET
	Header      http.Header
	Body        []byte // {{n}} in it is replaced by the request's number, so each write differs
	Conns       int    // concurrent connections (and workers); default 200
	Duration    time.Duration
	Timeout     time.Duration // per request; default 30 s
	ExpectCodes []int         // statuses that count as success; default any 2xx
	// Rate, when positive, sends requests on a fixed schedule of Rate a
	// second (open loop) over at most Conns connections, and measures each
	// request's latency from the moment the schedule said to send it, so
	// time spent waiting for a free connection counts (no coordinated
	// omission). Zero: each connection sends its next request as soon as
	// the last is answered (closed loop), the most the server can take.
	Rate float64
}

// Result is what a load test measured.
type Result struct {
	Requests   int64
	Errors     int64         // transport errors and unexpected statuses
	ByStatus   map[int]int64 // answers by status
	FirstError string        // the first error, to say why
	Elapsed    time.Duration // from the first request to the last answer
	Throughput float64       // requests a second
	Rate       float64       // the offered rate; 0 for a closed loop
	P50        time.Duration // latency percentiles over every request
	P95        time.Duration
	P99        time.Duration
	Max        time.Duration
}

func (r Result) String() string {
	codes := make([]string, 0, len(r.ByStatus))
	for c, n := range r.ByStatus {
		codes = append(codes, fmt.Sprintf("%d×%d", n, c))
	}
	slices.Sort(codes)
	offered := ""
	if r.Rate > 0 {
		offered = fmt.Sprintf(" (%.1f req/s offered)", r.Rate)
	}
	s := fmt.Sprintf("%d requests in %s: %.1f req/s%s; latency p50 %s p95 %s p99 %s max %s; %d errors; statuses %s",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.Throughput, offered, r.P50.Round(time.Microsecond*100), r.P95.Round(time.Microsecond*100),
		r.P99.Round(time.Microsecond*100), r.Max.Round(time.Millisecond), r.Errors, strings.Join(codes, " "))
	if r.FirstError != "" {
		s += "; first error: " + r.FirstError
	}
	return s
}

// Run runs c until its duration passes or ctx ends.
func Run(ctx context.Context, c Config) (Result, error) {
	if c.Conns <= 0 {
		c.Conns = 200
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Duration <= 0 {
		return Result{}, fmt.Errorf("loadgen: duration must be positive")
	}
	tr := &http.Transport{MaxIdleConns: c.Conns, MaxIdleConnsPerHost: c.Conns, MaxConnsPerHost: c.Conns, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: c.Timeout}
	ok := func(code int) bool {
		if len(c.ExpectCodes) == 0 {
			return code >= 200 && code < 300
		}
		return slices.Contains(c.ExpectCodes, code)
	}
	var (
		seq      atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		res      = Result{ByStatus: map[int]int64{}}
		firstErr string
	)
	templated := bytes.Contains(c.Body, []byte("{{n}}"))
	if c.Rate < 0 {
		return Result{}, fmt.Errorf("loadgen: rate must not be negative")
	}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()
	start := time.Now()
	// next is when a worker's next request is due: now (closed loop), or
	// the schedule's next slot (open loop); false when the test is over.
	next := func() (time.Time, bool) { return time.Now(), ctx.Err() == nil }
	if c.Rate > 0 {
		sched := make(chan time.Time, int(c.Rate*c.Duration.Seconds())+1)
		go func() {
			defer close(sched)
			every := time.Duration(float64(time.Second) / c.Rate)
			for i := 0; ; i++ {
				due := start.Add(time.Duration(i) * every)
				if !due.Before(start.Add(c.Duration)) {
					return
				}
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				}
				sched <- due
			}
		}()
		next = func() (time.Time, bool) {
			t, ok := <-sched
			return t, ok
		}
	}
	var wg sync.WaitGroup
	for range c.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			codes := map[int]int64{}
			var errs int64
			var first string
			for {
				t0, more := next()
				if !more {
					break
				}
				n := seq.Add(1)
				body := c.Body
				if templated {
					body = bytes.ReplaceAll(c.Body, []byte("{{n}}"), []byte(strconv.FormatInt(n, 10)))
				}
				req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), c.Method, c.URL, bytes.NewReader(body))
				if err != nil {
					errs++
					first = err.Error()
					break
				}
				for k, v := range c.Header {
					req.Header[k] = v
				}
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				local = append(local, d)
				switch {
				case err != nil:
					errs++
					if first == "" {
						first = err.Error()
					}
				default:
					codes[resp.StatusCode]++
					if !ok(resp.StatusCode) {
						errs++
						if first == "" {
							first = "status " + strconv.Itoa(resp.StatusCode)
						}
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			res.Errors += errs
			for k, v := range codes {
				res.ByStatus[k] += v
			}
			if firstErr == "" {
				firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.FirstError = firstErr
	res.Requests = int64(len(lat))
	if res.Requests == 0 {
		return res, fmt.Errorf("loadgen: no request was sent")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	res.P50, res.P95, res.P99, res.Max = pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1]
	res.Throughput = float64(res.Requests) / res.Elapsed.Seconds()
	res.Rate = c.Rate
	return res, nil
}
