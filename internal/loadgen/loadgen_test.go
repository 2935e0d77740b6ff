package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		dup := bodies[string(b)]
		bodies[string(b)] = true
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer t" || dup {
			w.WriteHeader(http.StatusConflict)
			return
		}
		time.Sleep(time.Millisecond)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Method: "POST", Body: []byte("row {{n}}"), Conns: 8,
		Duration: 300 * time.Millisecond, Header: http.Header{"Authorization": {"Bearer t"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 50 || res.Errors != 0 || res.ByStatus[201] != res.Requests || res.P50 < time.Millisecond || res.P95 < res.P50 || res.Max < res.P99 {
		t.Fatalf("result %s", res)
	}
	// Without the template every write after the first is a conflict: errors.
	res, err = Run(context.Background(), Config{URL: srv.URL, Method: "POST", Body: []byte("same"), Conns: 2,
		Duration: 100 * time.Millisecond, Header: http.Header{"Authorization": {"Bearer t"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors == 0 || !strings.Contains(res.FirstError, "409") {
		t.Fatalf("conflicts not counted: %s", res)
	}
}

// TestRunAtRate: an open loop sends on schedule, and counts the wait for
// a busy connection in the latency (no coordinated omission).
func TestRunAtRate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("sleep"))
		time.Sleep(d)
	}))
	defer srv.Close()
	// 40 a second, each answered in 2 ms: latency stays near the service time.
	res, err := Run(context.Background(), Config{URL: srv.URL + "?sleep=2ms", Conns: 4, Rate: 40, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 38 || res.Requests > 41 || res.Errors != 0 || res.P50 > 50*time.Millisecond || res.Rate != 40 {
		t.Fatalf("under capacity: %s", res)
	}
	// 100 a second on one connection answering in 20 ms (50 a second): the
	// queue grows, and so does the latency counted from each slot.
	res, err = Run(context.Background(), Config{URL: srv.URL + "?sleep=20ms", Conns: 1, Rate: 100, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 95 || res.P95 < 500*time.Millisecond {
		t.Fatalf("over capacity, the wait must count: %s", res)
	}
	if _, err := Run(context.Background(), Config{URL: srv.URL, Rate: -1, Duration: time.Second}); err == nil {
		t.Fatal("a negative rate was accepted")
	}
}
