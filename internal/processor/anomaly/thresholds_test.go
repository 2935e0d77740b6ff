package anomaly_test

import (
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/processor/anomaly"
)

func TestParseThresholds(t *testing.T) {
	got, err := anomaly.ParseThresholds([]byte(`[
		{"rule": "boiler-hot", "device_type": "temp_humidity", "metric": "temperature_c", "max": 85, "severity": "critical"},
		{"rule": "low-flow", "metric": "flow_lpm", "min": "0.5", "severity": "warning"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Rule != "boiler-hot" || !got[0].Max.Valid || got[0].Max.Decimal.String() != "85" || got[0].Min.Valid ||
		got[1].DeviceType != "" || got[1].Min.Decimal.String() != "0.5" {
		t.Fatalf("%+v", got)
	}
	if none, err := anomaly.ParseThresholds([]byte(`[]`)); err != nil || len(none) != 0 {
		t.Fatalf("an empty array: %v %v", none, err)
	}
	for _, c := range []struct{ in, want string }{
		{`{"rule": "x"}`, "want a JSON array"},
		{`[{"rule": "x", "metric": "m", "max": 1, "severity": "warning", "colour": "red"}]`, `rule 0: json: unknown field "colour"`},
		{`[{"rule": "x", "metric": "m", "max": "lots", "severity": "warning"}]`, "rule 0"},
		{`[{"rule": "x", "metric": "m", "severity": "warning"}]`, "threshold x: a minimum or a maximum is required"},
		{`[{"rule": "x", "metric": "m", "min": 5, "max": 1, "severity": "warning"}]`, "minimum 5 above maximum 1"},
		{`[{"rule": "x", "metric": "m", "max": 1, "severity": "loud"}]`, `severity "loud"`},
		{`[{"rule": "x", "device_type": "toaster", "metric": "m", "max": 1, "severity": "info"}]`, `device type "toaster"`},
		{`[{"rule": "x", "metric": "m", "max": 1, "severity": "info"}, {"rule": "x", "metric": "n", "max": 1, "severity": "info"}]`, `"x" is empty or used twice`},
		{`[{"rule": "x", "metric": "m", "max": 1e30, "severity": "info"}]`, "out of range"},
		{`[] []`, "data after the array"},
	} {
		_, err := anomaly.ParseThresholds([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.in, err, c.want)
		}
	}
}

func FuzzParseThresholds(f *testing.F) {
	f.Add([]byte(`[{"rule": "a", "metric": "m", "min": "1", "max": 2, "severity": "info"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"rule": "a", "metric": "m", "max": 1e-30, "severity": "critical", "device_type": "energy_meter"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := anomaly.ParseThresholds(data)
		if err != nil {
			return
		}
		// Whatever parses is a valid configuration.
		if _, err := anomaly.New(anomaly.Config{Thresholds: ts}); err != nil {
			t.Fatalf("parsed rules refused by New: %v", err)
		}
	})
}
