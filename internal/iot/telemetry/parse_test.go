package telemetry_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
)

// now is the receive time of every test payload.
var now = time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC)

// parseCase is one payload and what Parse should make of it: the readings
// as "metric=value unit @time" and the rejections as Rejection.String, or
// an error containing err.
type parseCase struct {
	name     string
	typ      string
	payload  string
	readings []string
	rejected []string
	err      string
	is       error
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	c := mustCatalogue(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			typ := tc.typ
			if typ == "" {
				typ = "air_quality"
			}
			b, err := c.Parse(typ, []byte(tc.payload), now, telemetry.Limits{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("err %v is not %v", err, tc.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := formatReadings(b.Readings); !slices.Equal(got, tc.readings) {
				t.Errorf("readings:\n got %q\nwant %q", got, tc.readings)
			}
			var rej []string
			for _, r := range b.Rejected {
				rej = append(rej, r.String())
			}
			if !slices.Equal(rej, tc.rejected) {
				t.Errorf("rejected:\n got %q\nwant %q", rej, tc.rejected)
			}
		})
	}
}

func formatReadings(rs []telemetry.Reading) []string {
	var out []string
	for _, r := range rs {
		if r.Time.Location() != time.UTC {
			out = append(out, "time not UTC: "+r.Time.String())
		}
		out = append(out, fmt.Sprintf("%s=%s %s @%s", r.Metric, r.Value, r.Unit, r.Time.Format(time.RFC3339Nano)))
	}
	return out
}

func TestParseEnvelope(t *testing.T) {
	t.Parallel()
	runParseCases(t, []parseCase{
		{name: "empty", payload: " \n", err: "byte 2: payload is empty"},
		{name: "not JSON", payload: "pm25=3", err: `byte 0: payload starts with "p": expected '{' (native JSON) or '[' (SenML JSON)`},
		{name: "byte order mark", payload: "\xef\xbb\xbf{}", err: `byte 0: payload starts with "\xef": expected`},
		{name: "unknown device type", typ: "toaster", payload: `{"metrics":{}}`, err: `device type "toaster": unknown device type`, is: telemetry.ErrUnknownDeviceType},
		{name: "too large", payload: `{"metrics":{"pm25":1` + strings.Repeat(" ", 64<<10) + `}}`, err: "more than the limit of 65536", is: telemetry.ErrTooLarge},
	})
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	c := mustCatalogue(t)
	lim := telemetry.Limits{MaxReadings: 2, MaxBytes: 200, MaxFuture: time.Hour, MaxAge: time.Hour}
	if _, err := c.Parse("air_quality", []byte(`{"metrics":{"pm25":1,"pm10":2,"co2_ppm":3}}`), now, lim); !errors.Is(err, telemetry.ErrTooManyReadings) {
		t.Errorf("3 native readings, limit 2: err %v", err)
	}
	if _, err := c.Parse("air_quality", []byte(`[{"n":"pm25","v":1},{"n":"pm10","v":2},{"n":"co2_ppm","v":3}]`), now, lim); !errors.Is(err, telemetry.ErrTooManyReadings) {
		t.Errorf("3 SenML records, limit 2: err %v", err)
	}
	b, err := c.Parse("air_quality", []byte(`[{"n":"pm25","v":1,"t":-3000},{"n":"pm10","v":2,"t":3000}]`), now, lim)
	if err != nil || len(b.Readings) != 2 {
		t.Errorf("times within an hour: %+v, %v", b, err)
	}
	b, err = c.Parse("air_quality", []byte(`[{"n":"pm25","v":1,"t":-3700},{"n":"pm10","v":2,"t":3700}]`), now, lim)
	if err != nil || len(b.Rejected) != 2 {
		t.Errorf("times beyond an hour: %+v, %v", b, err)
	}
	if _, err := c.Parse("air_quality", []byte(`{"metrics":{}}`), now, telemetry.Limits{MaxAge: -1}); err == nil || !strings.Contains(err.Error(), "MaxAge -1ns is negative") {
		t.Errorf("negative limit: err %v", err)
	}
	d := telemetry.Limits{}.WithDefaults()
	if d.MaxBytes != 64<<10 || d.MaxReadings != 1000 || d.MaxFuture != 5*time.Minute || d.MaxAge != 30*24*time.Hour {
		t.Errorf("defaults: %+v", d)
	}
}

func TestPayloadErrorIsTyped(t *testing.T) {
	t.Parallel()
	c := mustCatalogue(t)
	_, err := c.Parse("air_quality", []byte(`[{"bt":"yesterday"}]`), now, telemetry.Limits{})
	var pe *telemetry.PayloadError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v is not a *PayloadError", err)
	}
	if pe.Format != telemetry.FormatSenML || pe.Field != "[0].bt" || pe.Offset != 1 {
		t.Errorf("PayloadError = %+v", pe)
	}
}
