package observe_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlang/greenlang/internal/observe"
)

func TestNewLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := observe.NewLogger(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %q: %v", buf.String(), err)
	}
	if rec["msg"] != "shown" || rec["k"] != "v" || rec["level"] != "WARN" {
		t.Fatalf("record = %v", rec)
	}

	buf.Reset()
	log, err = observe.NewLogger(&buf, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hello")
	if !strings.Contains(buf.String(), "level=DEBUG msg=hello") {
		t.Fatalf("text output = %q", buf.String())
	}

	for _, bad := range [][2]string{{"trace", "json"}, {"info", "xml"}} {
		if _, err := observe.NewLogger(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("NewLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestNewRegistry(t *testing.T) {
	t.Parallel()
	mfs, err := observe.NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"go_goroutines", "go_build_info", "process_start_time_seconds"} {
		if !names[want] {
			t.Errorf("registry lacks %s", want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := observe.NewHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := -1.0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		inFlight = value(t, reg, "greenlang_http_requests_in_flight", nil)
		if r.PathValue("id") == "missing" {
			http.Error(w, "no", http.StatusNotFound)
		}
	})
	h := m.Middleware(mux)
	for _, path := range []string{"/items/1", "/items/2", "/items/missing", "/nothing/here"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	if inFlight != 1 {
		t.Errorf("in-flight during a request = %v, want 1", inFlight)
	}

	for _, c := range []struct {
		code, route string
		want        float64
	}{
		{"200", "GET /items/{id}", 2},
		{"404", "GET /items/{id}", 1},
		{"404", "unmatched", 1},
	} {
		labels := map[string]string{"method": "GET", "route": c.route, "code": c.code}
		if got := value(t, reg, "greenlang_http_requests_total", labels); got != c.want {
			t.Errorf("requests_total%v = %v, want %v", labels, got, c.want)
		}
	}
	if got := value(t, reg, "greenlang_http_requests_in_flight", nil); got != 0 {
		t.Errorf("in-flight after the requests = %v", got)
	}
	if n := series(t, reg, "greenlang_http_request_duration_seconds"); n != 2 {
		t.Fatalf("duration series = %d, want 2 (one per route)", n)
	}

	// A second handler on the same registry shares the series.
	m2, err := observe.NewHTTPMetrics(reg)
	if err != nil {
		t.Fatalf("second registration: %v", err)
	}
	m2.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/items/3", nil))
	labels := map[string]string{"method": "GET", "route": "GET /items/{id}", "code": "200"}
	if got := value(t, reg, "greenlang_http_requests_total", labels); got != 3 {
		t.Errorf("requests_total after a second handler = %v, want 3", got)
	}
}

// value reads the counter or gauge name{labels} from reg.
func value(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// series counts the series of metric name in reg.
func series(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func TestStatusWriter(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	sw := observe.NewStatusWriter(rec)
	if sw.Status() != http.StatusOK {
		t.Fatalf("status before writing = %d", sw.Status())
	}
	sw.WriteHeader(http.StatusEarlyHints)
	sw.WriteHeader(http.StatusTeapot)
	sw.WriteHeader(http.StatusOK) // superfluous; the first final code counts
	if sw.Status() != http.StatusTeapot {
		t.Fatalf("status = %d, want 418", sw.Status())
	}
	if http.NewResponseController(sw).Flush() != nil {
		t.Fatal("ResponseController cannot reach the recorder's Flush")
	}
}
