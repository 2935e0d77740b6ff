package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/observe"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func ok(context.Context) error { return nil }

func TestHealthz(t *testing.T) {
	t.Parallel()
	h := httpapi.NewHandler(httpapi.HandlerOptions{})
	res, body := get(t, h, http.MethodGet, "/healthz")
	if res.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("GET /healthz = %d %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	if res, _ := get(t, h, http.MethodHead, "/healthz"); res.StatusCode != http.StatusOK {
		t.Fatalf("HEAD /healthz = %d", res.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	slow := func(ctx context.Context) error {
		select {
		case <-time.After(300 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tests := []struct {
		name   string
		checks []httpapi.Check
		code   int
		want   string
	}{
		{"no checks", nil, 200, `{"status":"ready","checks":{}}`},
		{"all ok", []httpapi.Check{{Name: "store", Probe: ok}}, 200, `{"status":"ready","checks":{"store":"ok"}}`},
		{"one fails", []httpapi.Check{{Name: "store", Probe: ok}, {Name: "stream", Probe: func(context.Context) error {
			return errors.New("stream: connection refused")
		}}}, 503, `{"status":"unavailable","checks":{"store":"ok","stream":"stream: connection refused"}}`},
		{"checks run at once", []httpapi.Check{{Name: "a", Probe: slow}, {Name: "b", Probe: slow}, {Name: "c", Probe: slow}},
			200, `{"status":"ready","checks":{"a":"ok","b":"ok","c":"ok"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := httpapi.NewHandler(httpapi.HandlerOptions{Checks: tt.checks})
			start := time.Now()
			res, body := get(t, h, http.MethodGet, "/readyz")
			if res.StatusCode != tt.code || strings.TrimSpace(body) != tt.want {
				t.Fatalf("GET /readyz = %d %s\nwant %d %s", res.StatusCode, body, tt.code, tt.want)
			}
			if d := time.Since(start); d > 800*time.Millisecond {
				t.Fatalf("readyz took %v; checks did not run concurrently", d)
			}
		})
	}
}

func TestReadyzTimeout(t *testing.T) {
	t.Parallel()
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	h := httpapi.NewHandler(httpapi.HandlerOptions{Checks: []httpapi.Check{{Name: "store", Probe: hang}}})
	start := time.Now()
	res, body := get(t, h, http.MethodGet, "/readyz")
	if d := time.Since(start); d < httpapi.CheckTimeout || d > httpapi.CheckTimeout+time.Second {
		t.Errorf("hanging check took %v, want about %v", d, httpapi.CheckTimeout)
	}
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"store":"context deadline exceeded"`) {
		t.Fatalf("GET /readyz = %d %s", res.StatusCode, body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := observe.NewRegistry()
	h := httpapi.NewHandler(httpapi.HandlerOptions{Registry: reg, Version: "v1.2.3"})
	get(t, h, http.MethodGet, "/healthz")
	get(t, h, http.MethodGet, "/nope/123")
	res, body := get(t, h, http.MethodGet, "/metrics")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	for _, want := range []string{
		"go_goroutines ",
		`greenlang_build_info{version="v1.2.3"} 1`,
		`greenlang_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`greenlang_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		"greenlang_http_request_duration_seconds_bucket",
		"greenlang_http_requests_in_flight 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// A second handler on the same registry works and shares the series.
	h2 := httpapi.NewHandler(httpapi.HandlerOptions{Registry: reg})
	get(t, h2, http.MethodGet, "/healthz")
	if _, body := get(t, h2, http.MethodGet, "/metrics"); !strings.Contains(body,
		`greenlang_http_requests_total{code="200",method="GET",route="GET /healthz"} 2`) {
		t.Errorf("second handler does not share series:\n%s", body)
	}
}

func TestProblems(t *testing.T) {
	t.Parallel()
	h := httpapi.NewHandler(httpapi.HandlerOptions{})
	tests := []struct {
		method, path string
		code         int
		detail       string
		allow        string
	}{
		{http.MethodGet, "/no/such/route", 404, "no route for GET /no/such/route", ""},
		{http.MethodPost, "/healthz", 405, "method POST is not allowed on /healthz", "GET, HEAD"},
		{http.MethodDelete, "/metrics", 405, "method DELETE is not allowed on /metrics", "GET, HEAD"},
	}
	for _, tt := range tests {
		res, body := get(t, h, tt.method, tt.path)
		if res.StatusCode != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.code)
		}
		if ct := res.Header.Get("Content-Type"); ct != httpapi.ProblemContentType {
			t.Errorf("%s %s Content-Type = %q", tt.method, tt.path, ct)
		}
		if got := res.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
		var p httpapi.Problem
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("%s %s body %q: %v", tt.method, tt.path, body, err)
		}
		want := httpapi.Problem{Type: "about:blank", Title: http.StatusText(tt.code), Status: tt.code, Detail: tt.detail}
		if p != want {
			t.Errorf("%s %s problem = %+v, want %+v", tt.method, tt.path, p, want)
		}
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := httpapi.NewHandler(httpapi.HandlerOptions{Logger: logger})
	get(t, h, http.MethodGet, "/healthz")
	get(t, h, http.MethodGet, "/missing")

	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 2 {
		t.Fatalf("%d log records, want 2: %s", len(recs), buf.String())
	}
	want := []struct {
		level, route string
		status       float64
	}{{"DEBUG", "GET /healthz", 200}, {"INFO", "unmatched", 404}}
	for i, w := range want {
		r := recs[i]
		if r["msg"] != "http request" || r["level"] != w.level || r["method"] != "GET" || r["route"] != w.route || r["status"] != w.status {
			t.Errorf("record %d = %v, want %+v", i, r, w)
		}
		if _, ok := r["duration"]; !ok {
			t.Errorf("record %d has no duration", i)
		}
	}
}
