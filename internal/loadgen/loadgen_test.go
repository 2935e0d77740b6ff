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
