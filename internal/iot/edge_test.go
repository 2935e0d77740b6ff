package iot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/processor/processortest"
)

func catalogue(t *testing.T) *telemetry.Catalogue {
	t.Helper()
	cat, err := telemetry.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// Filters drop, transformations change values, downsampling keeps one
// reading per interval and device; rules run in order and only on the
// device type and metric they name.
func TestEdgeRules(t *testing.T) {
	rules, err := iot.ParseEdgeRules([]byte(`[
		{"name": "no-standby", "device_type": "energy_meter", "metric": "power_kw", "when": {"op": "<", "value": "0.05"}, "action": "drop"},
		{"name": "w-to-kw-fix", "device_type": "energy_meter", "metric": "power_kw", "when": {"op": ">", "value": "10000"}, "action": "scale", "factor": "0.001"},
		{"name": "pf-tidy", "metric": "power_factor", "action": "round", "places": 2},
		{"name": "calibration", "device_type": "temp_humidity", "metric": "temperature_c", "action": "offset", "offset": "-0.4"},
		{"name": "rh-cap", "metric": "humidity_pct", "action": "clamp", "max": "99"},
		{"name": "one-a-minute", "device_type": "air_quality", "metric": "pm25", "action": "downsample", "interval": "1m"}
	]`), catalogue(t))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := func(metric, v string, at time.Duration) telemetry.Reading {
		return telemetry.Reading{Metric: metric, Value: decimal.RequireFromString(v), Time: t0.Add(at)}
	}
	got, dropped := rules.Apply("energy_meter", "em-1", []telemetry.Reading{
		r("power_kw", "0.01", 0), r("power_kw", "12500", 0), r("power_factor", "0.9351", 0), r("energy_kwh_total", "5", 0)})
	want := []string{"power_kw=12.5", "power_factor=0.94", "energy_kwh_total=5"}
	check(t, got, want)
	if dropped["no-standby"] != 1 || len(dropped) != 1 {
		t.Errorf("dropped %v", dropped)
	}
	got, _ = rules.Apply("temp_humidity", "th-1", []telemetry.Reading{r("temperature_c", "21.3", 0), r("humidity_pct", "100", 0)})
	check(t, got, []string{"temperature_c=20.9", "humidity_pct=99"})
	got, dropped = rules.Apply("air_quality", "aq-1", []telemetry.Reading{r("pm25", "10", 0), r("pm25", "11", 30*time.Second), r("pm25", "12", 61*time.Second)})
	check(t, got, []string{"pm25=10", "pm25=12"})
	if dropped["one-a-minute"] != 1 {
		t.Errorf("downsampled %v", dropped)
	}
	// Another device has its own interval.
	got, _ = rules.Apply("air_quality", "aq-2", []telemetry.Reading{r("pm25", "9", 30*time.Second)})
	check(t, got, []string{"pm25=9"})
	// The same metric of another type is untouched.
	got, _ = rules.Apply("air_quality", "aq-1", []telemetry.Reading{r("temperature_c", "21.3", 0)})
	check(t, got, []string{"temperature_c=21.3"})
}

func check(t *testing.T, got []telemetry.Reading, want []string) {
	t.Helper()
	var s []string
	for _, r := range got {
		s = append(s, r.Metric+"="+r.Value.String())
	}
	if strings.Join(s, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", s, want)
	}
}

// A rule file that cannot work is refused whole, naming the rule and the
// field.
func TestEdgeRulesRefused(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"name": "x"}`, "not a JSON array"},
		{`[{"action": "drop"}]`, "edge rule 1: name is required"},
		{`[{"name": "a", "action": "drop", "colour": "red"}]`, `unknown field "colour"`},
		{`[{"name": "a", "device_type": "toaster", "action": "drop"}]`, `edge rule 1 ("a"): device_type "toaster"`},
		{`[{"name": "a", "device_type": "waste_bin", "metric": "pm25", "action": "drop"}]`, `metric "pm25" is not a metric of waste_bin`},
		{`[{"name": "a", "when": {"op": "~", "value": "1"}, "action": "drop"}]`, `when.op "~"`},
		{`[{"name": "a", "action": "scale"}]`, "scale needs a non-zero factor"},
		{`[{"name": "a", "action": "clamp", "min": "5", "max": "1"}]`, "clamp needs"},
		{`[{"name": "a", "action": "downsample", "interval": "soon"}]`, "downsample needs a positive interval"},
		{`[{"name": "ok", "action": "drop"}, {"name": "b", "action": "explode"}]`, `edge rule 2 ("b"): action "explode"`},
	} {
		_, err := iot.ParseEdgeRules([]byte(c.json), catalogue(t))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.json, err, c.want)
		}
	}
}

// The ingest applies edge rules before storing: a filtered reading is not
// stored and is counted by rule, a transformed one is stored transformed.
func TestIngestAppliesEdgeRules(t *testing.T) {
	processortest.Engines(t, "greenlang_iot_edge", func(t *testing.T, open processortest.StoreOpener) {
		rules, err := iot.ParseEdgeRules([]byte(`[
			{"name": "no-standby", "metric": "power_kw", "when": {"op": "<", "value": "0.05"}, "action": "drop"},
			{"name": "pf-tidy", "metric": "power_factor", "action": "round", "places": 2}]`), catalogue(t))
		if err != nil {
			t.Fatal(err)
		}
		f := newFixture(t, open, iot.Config{FlushInterval: 10 * time.Millisecond, EdgeRules: rules})
		f.run(t)
		var a acker
		ts := f.now.Add(-time.Minute).Format(time.RFC3339)
		if err := f.ingest.Submit(context.Background(), f.msg(f.meter.ID.String(),
			`{"time":"`+ts+`","metrics":{"power_kw":0.01,"power_factor":0.9351}}`), a.ack); err != nil {
			t.Fatal(err)
		}
		a.waitFor(t, 1)
		if rs := f.readings(t, "power_kw"); len(rs) != 0 {
			t.Errorf("a filtered reading was stored: %+v", rs)
		}
		if rs := f.readings(t, "power_factor"); len(rs) != 1 || rs[0].Value.String() != "0.94" {
			t.Errorf("power factor stored as %+v", rs)
		}
		if got := metricValue(t, f.reg, "greenlang_iot_edge_filtered_total"); got != 1 {
			t.Errorf("edge filtered %v, want 1", got)
		}
	})
}
