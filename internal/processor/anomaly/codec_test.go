package anomaly_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor/anomaly"
)

// A device's baselines survive the compact encoding exactly: window,
// watermarks and pending readings, including one whose unit differs from
// the series' ref (stored whole) and ids that need escaping.
func TestDeviceCompactRoundTrip(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 12, 1, 10, 0, s, 123456789, time.UTC) }
	org := uuid.MustParse("0190a000-0000-7000-8000-000000000001")
	r := func(sec int, v, unit string) anomaly.Reading {
		return anomaly.Reading{OrgID: org, DeviceID: "em-1", DeviceType: "energy_meter", Metric: "energy_kwh", Unit: unit, Site: "plant-1",
			Value: decimal.NewNullDecimal(decimal.RequireFromString(v)), OccurredAt: at(sec)}
	}
	d := &anomaly.Device{Series: map[string]*anomaly.Series{
		"energy_kwh": {
			Window: []anomaly.Point{{At: at(1), Value: decimal.RequireFromString("10.25")}, {At: at(2), Value: decimal.RequireFromString("-3")}},
			LastAt: at(2), LastID: `r-"quoted"\id`, MaxAt: at(9),
			Pending: []anomaly.Pending{{EventID: "r-a", Reading: r(5, "11", "kWh")}, {EventID: "r-b", Reading: r(7, "12.5", "Wh")},
				{EventID: "r-c<&>", Reading: r(9, "0.000001", "kWh")}},
		},
		"power_kw": {},
	}}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) || !strings.Contains(string(b), `["r-a","2026-12-01T10:00:05.123456789Z","11"]`) || !strings.Contains(string(b), `"event_id":"r-b"`) {
		t.Fatalf("encoding %s", b)
	}
	var back anomaly.Device
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Series["energy_kwh"], back.Series["energy_kwh"]) || back.Series["power_kw"] == nil {
		t.Fatalf("round trip\n got %+v\nwant %+v", back.Series["energy_kwh"], d.Series["energy_kwh"])
	}
	for _, bad := range []string{
		`{"series":{"m":{"p":[["r-a","2026-12-01T10:00:00Z","1"]]}}}`, // no ref
		`{"series":{"m":{"w":[["yesterday","1"]]}}}`,
		`{"series":{"m":{"w":[["2026-12-01T10:00:00Z","x"]]}}}`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}
