package simulate

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// Every type's payloads are native JSON with all its metrics, times
// strictly increasing and registers that never go down.
func TestGeneratorPayloads(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, typ := range Types() {
		g := newGenerator(typ, 1, start)
		var last time.Time
		prev := map[string]float64{}
		for i := range 500 {
			var p struct {
				Time    time.Time          `json:"time"`
				Metrics map[string]float64 `json:"metrics"`
			}
			if err := json.Unmarshal(g.next(), &p); err != nil {
				t.Fatalf("%s payload %d: %v", typ, i, err)
			}
			if !p.Time.After(last) {
				t.Fatalf("%s payload %d: time %v not after %v", typ, i, p.Time, last)
			}
			last = p.Time
			keys := make([]string, 0, len(p.Metrics))
			for k := range p.Metrics {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			want := slices.Sorted(slices.Values(order(typ)))
			if !slices.Equal(keys, want) {
				t.Fatalf("%s metrics %v, want %v", typ, keys, want)
			}
			for _, k := range []string{"energy_kwh_total", "volume_m3_total", "odometer_km", "fuel_l_total"} {
				if v, ok := p.Metrics[k]; ok && v < prev[k] {
					t.Fatalf("%s %s went down: %v after %v", typ, k, v, prev[k])
				}
			}
			prev = p.Metrics
		}
	}
}
