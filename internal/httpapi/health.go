package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Check is one readiness probe: a dependency the platform needs to serve.
type Check struct {
	// Name labels the probe in /readyz output, such as "store".
	Name string
	// Probe returns nil when the dependency is usable.
	Probe func(context.Context) error
}

// CheckTimeout bounds each readiness probe.
const CheckTimeout = 2 * time.Second

type readyResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// handleHealthz answers liveness probes: the process is up.
func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyHandler answers readiness probes by running every check at once.
func readyHandler(checks []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		results := make([]string, len(checks))
		var wg sync.WaitGroup
		for i, c := range checks {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), CheckTimeout)
				defer cancel()
				if err := c.Probe(ctx); err != nil {
					results[i] = err.Error()
				} else {
					results[i] = "ok"
				}
			})
		}
		wg.Wait()

		resp := readyResponse{Status: "ready", Checks: make(map[string]string, len(checks))}
		code := http.StatusOK
		for i, c := range checks {
			resp.Checks[c.Name] = results[i]
			if results[i] != "ok" {
				resp.Status, code = "unavailable", http.StatusServiceUnavailable
			}
		}
		writeJSON(w, code, resp)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}
