package analytics

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

// Breakpoints: EPA, Technical Assistance Document for the Reporting of Daily
// Air Quality – the Air Quality Index (AQI), EPA-454/B-24-002, May 2024,
// Table 6. Equation and truncation (PM2.5 to 0.1 µg/m³, PM10 to 1 µg/m³, AQI
// rounded to the nearest integer): same document, section IV, and AirNow's
// "The AQI Equation (2024 – valid beginning May 6th, 2024)".
func TestPM25AQI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, conc string
		trunc      string
		aqi        int64
		cat        AQICategory
		beyond     bool
	}{
		// 35.9 is in 35.5–55.4 → 101–150:
		// (150−101)/(55.4−35.5) × (35.9−35.5) + 101 = 49/19.9 × 0.4 + 101
		// = 0.98492… + 101 = 101.98492… → 102.
		{"worked 35.9", "35.9", "35.9", 102, AQIUnhealthyForSensitiveGroups, false},
		// 35.94 truncates to 35.9 (not rounded to 36.0): same 102.
		{"truncated 35.94", "35.94", "35.9", 102, AQIUnhealthyForSensitiveGroups, false},
		{"zero", "0", "0.0", 0, AQIGood, false},
		// 9.0 is the top of Good under the 2024 revision (was 12.0).
		{"good top", "9.0", "9.0", 50, AQIGood, false},
		// 9.09 truncates to 9.0, so still Good (rounding would give 9.1).
		{"good top truncated", "9.09", "9.0", 50, AQIGood, false},
		{"moderate bottom", "9.1", "9.1", 51, AQIModerate, false},
		// 12.0 (old Good top) is Moderate now:
		// 49/26.3 × (12.0−9.1) + 51 = 49/26.3 × 2.9 + 51 = 5.4030… + 51 → 56.
		{"old good top", "12.0", "12.0", 56, AQIModerate, false},
		{"unhealthy top", "125.4", "125.4", 200, AQIUnhealthy, false},
		{"very unhealthy bottom", "125.5", "125.5", 201, AQIVeryUnhealthy, false},
		{"hazardous bottom", "225.5", "225.5", 301, AQIHazardous, false},
		{"hazardous top", "325.4", "325.4", 500, AQIHazardous, false},
		// Beyond the AQI: extrapolated on the Hazardous row,
		// 199/99.9 × (400−225.5) + 301 = 347.6026… + 301 = 648.6026… → 649.
		{"beyond", "400", "400.0", 649, AQIHazardous, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := PM25AQI(dec(c.conc))
			if err != nil {
				t.Fatal(err)
			}
			if got.AQI != c.aqi || got.Category != c.cat || got.BeyondAQI != c.beyond || got.Pollutant != PollutantPM25 {
				t.Errorf("PM25AQI(%s) = %+v, want AQI %d %q beyond %v", c.conc, got, c.aqi, c.cat, c.beyond)
			}
			requireDec(t, "truncated concentration", got.Concentration, c.trunc)
		})
	}
}

func TestPM10AQI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		conc string
		aqi  int64
		cat  AQICategory
	}{
		// Good: 50/54 × 27 = 25 exactly.
		{"27", 25, AQIGood},
		{"54", 50, AQIGood},
		// 54.9 truncates to 54: Good, not Moderate.
		{"54.9", 50, AQIGood},
		{"55", 51, AQIModerate},
		// 49/99 × (80−55) + 51 = 12.3737… + 51 = 63.37… → 63.
		{"80", 63, AQIModerate},
		{"154.9", 100, AQIModerate},
		{"155", 101, AQIUnhealthyForSensitiveGroups},
		// 49/99 × (300−255) + 151 = 22.2727… + 151 → 173.
		{"300", 173, AQIUnhealthy},
		{"424", 300, AQIVeryUnhealthy},
		{"604", 500, AQIHazardous},
	}
	for _, c := range cases {
		got, err := PM10AQI(dec(c.conc))
		if err != nil {
			t.Fatal(err)
		}
		if got.AQI != c.aqi || got.Category != c.cat || got.BeyondAQI {
			t.Errorf("PM10AQI(%s) = %+v, want %d %q", c.conc, got, c.aqi, c.cat)
		}
	}
	got, err := PM10AQI(dec("605"))
	if err != nil || !got.BeyondAQI || got.AQI <= 500 {
		t.Errorf("PM10AQI(605) = %+v, %v; want beyond the AQI above 500", got, err)
	}
}

func TestAQINegative(t *testing.T) {
	t.Parallel()
	// -0.05 would truncate to 0.0: the sign is checked first.
	for _, f := range []func(decimal.Decimal) (SubIndex, error){PM25AQI, PM10AQI} {
		if _, err := f(dec("-0.05")); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("negative concentration: err = %v, want ErrInvalidInput", err)
		}
	}
}

func TestOverallAQI(t *testing.T) {
	t.Parallel()
	// PM2.5 35.9 → 102, PM10 80 → 63 (worked above): overall 102, PM2.5.
	r, err := OverallAQI(some("35.9"), some("80"))
	if err != nil {
		t.Fatal(err)
	}
	if r.AQI != 102 || r.Responsible != PollutantPM25 || r.Category != AQIUnhealthyForSensitiveGroups || len(r.SubIndices) != 2 {
		t.Errorf("OverallAQI(35.9, 80) = %+v", r)
	}
	// PM2.5 20 → 49/26.3 × 10.9 + 51 = 71.3… → 71; PM10 300 → 173: PM10.
	r, err = OverallAQI(some("20"), some("300"))
	if err != nil {
		t.Fatal(err)
	}
	if r.AQI != 173 || r.Responsible != PollutantPM10 || r.Category != AQIUnhealthy {
		t.Errorf("OverallAQI(20, 300) = %+v", r)
	}
	// Only PM10 given.
	r, err = OverallAQI(decimal.NullDecimal{}, some("155"))
	if err != nil || r.AQI != 101 || r.Responsible != PollutantPM10 || len(r.SubIndices) != 1 {
		t.Errorf("OverallAQI(-, 155) = %+v, %v", r, err)
	}
	if _, err := OverallAQI(decimal.NullDecimal{}, decimal.NullDecimal{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("no pollutants: err = %v", err)
	}
	if _, err := OverallAQI(some("10"), some("-1")); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("negative PM10: err = %v", err)
	}
}
