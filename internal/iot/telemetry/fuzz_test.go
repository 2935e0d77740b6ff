package telemetry_test

import (
	"errors"
	"testing"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
)

// fuzzLimits are small so the fuzzer reaches the limits.
var fuzzLimits = telemetry.Limits{MaxBytes: 4 << 10, MaxReadings: 16}

var nativeSeeds = []string{
	`{"time":"2026-12-01T10:00:00Z","metrics":{"pm25":12.5,"pm10":30}}`,
	`{"time":1796119200000,"metrics":{"energy_kwh_total":123.456,"power_kw":-1.5,"power_factor":0.97}}`,
	`{"seq":1,"device":"x","metrics":{"fill_level_pct":100,"weight_kg":1e2}}`,
	`{"metrics":{"pm25":"NaN","pm10":true,"co2_ppm":null,"x":{},"y":[1e1000000]}}`,
	`{"time":"yesterday","metrics":{"pm25":1,"pm25":1}}`,
	`{"time":null,"metrics":{"latitude":91,"longitude":-180}}`,
	`{"metrics":[1]}`,
	`{"metrics":{}} x`,
	`{"foo":1}`,
	`{"metrics":{"pm25":0.00000000000000000000000000000000000000001}}`,
}

var senmlSeeds = []string{
	`[{"bn":"urn:dev:mac:0024befffe804ff1:","bt":1796119200,"bu":"ug/m3","n":"pm25","v":12.5},{"n":"pm10","v":30,"t":1}]`,
	`[{"bn":"m/","bv":1000,"bs":5,"n":"energy_kwh_total","u":"Wh","v":0.5},{"n":"energy_kwh_total","s":1}]`,
	`[{"n":"flow_lpm","u":"l/s","v":2.5},{"n":"volume_m3_total","u":"l","s":1234,"t":-60}]`,
	`[{"n":"temperature_c","u":"K","v":293.15},{"n":"humidity_pct","u":"%RH","v":40}]`,
	`[{"n":"pm25","vs":"1"},{"n":"pm25","vb":true},{"n":"pm25","vd":"AQ"},{"n":"pm25","v":"Infinity"}]`,
	`[{"bver":10},{"bver":11},{"bt":"x"}]`,
	`[3,[],{},{"foo_":1,"n":"pm25","v":1},{"n":"pm25","v":1,"v":2}]`,
	`[{"n":"pm25","v":1,"t":-1e20},{"n":"pm25","v":1,"t":1e20},{"n":"pm25","v":1,"t":268435455}]`,
	`[{"n":"latitude","u":"lat","v":51.5},{"n":"speed_kmh","u":"m/s","v":10}]`,
	`[{"n":"pm25","v":1}`,
}

func FuzzParseNative(f *testing.F) {
	for i, s := range nativeSeeds {
		f.Add(uint8(i), []byte(s))
	}
	fuzzParse(f)
}

func FuzzParseSenML(f *testing.F) {
	for i, s := range senmlSeeds {
		f.Add(uint8(i), []byte(s))
	}
	fuzzParse(f)
}

// fuzzParse checks Parse's properties on any payload: no panic; an error
// is a *PayloadError; each reading is a catalogue metric, in its canonical
// unit and range, at a UTC time within the limits; readings plus
// rejections never exceed MaxReadings.
func fuzzParse(f *testing.F) {
	c := mustCatalogue(f)
	types := c.Types()
	lim := fuzzLimits.WithDefaults()
	f.Fuzz(func(t *testing.T, typeIndex uint8, payload []byte) {
		typeName := types[int(typeIndex)%len(types)]
		b, err := c.Parse(typeName, payload, now, fuzzLimits)
		if err != nil {
			var pe *telemetry.PayloadError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *PayloadError", err)
			}
			if pe.Offset < 0 || pe.Offset > int64(len(payload)) && !errors.Is(err, telemetry.ErrTooLarge) {
				t.Fatalf("error offset %d outside the %d-byte payload: %v", pe.Offset, len(payload), err)
			}
			return
		}
		if n := len(b.Readings) + len(b.Rejected); n > lim.MaxReadings {
			t.Fatalf("%d readings and rejections, more than %d", n, lim.MaxReadings)
		}
		typ, _ := c.Type(typeName)
		for _, r := range b.Readings {
			m, ok := typ.Metric(r.Metric)
			if !ok {
				t.Fatalf("reading of unknown metric %q", r.Metric)
			}
			if !m.InRange(r.Value) || r.Unit != m.Unit {
				t.Fatalf("reading %+v outside %s..%s %s", r, m.Min, m.Max, m.Unit)
			}
			if r.Time.Location() != now.Location() || r.Time.After(now.Add(lim.MaxFuture)) || r.Time.Before(now.Add(-lim.MaxAge)) {
				t.Fatalf("reading time %s outside the window", r.Time)
			}
		}
		for _, r := range b.Rejected {
			if r.Reason == "" || r.Field == "" || r.Index < 0 {
				t.Fatalf("incomplete rejection %+v", r)
			}
		}
	})
}
