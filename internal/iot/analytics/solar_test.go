package analytics

import (
	"errors"
	"testing"
	"time"
)

func TestSolarGenerationAndCapacityFactor(t *testing.T) {
	t.Parallel()
	// A 10 kW array's generation register over a day: 48 kWh.
	tr := newTracker(t, RegisterConfig{})
	runSteps(t, tr, "pv1", MetricEnergyKWhTotal, []step{
		{"2025-06-01T00:00:00Z", "3520.0", EventFirst, "0"},
		{"2025-06-01T12:00:00Z", "3560.5", EventNormal, "40.5"},
		{"2025-06-02T00:00:00Z", "3568.0", EventNormal, "7.5"},
	})
	// CF = 48 / (10 × 24) = 0.2.
	cf, err := CapacityFactor(dec("48"), dec("10"), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "CF", cf, "0.2")
	// 1 kWh from 3 kW over 1 h: 1/3 = 0.333333 (6 places).
	cf, _ = CapacityFactor(dec("1"), dec("3"), time.Hour)
	requireDec(t, "CF 1/3", cf, "0.333333")
	for _, c := range []struct {
		e, p string
		d    time.Duration
	}{{"-1", "10", time.Hour}, {"1", "0", time.Hour}, {"1", "10", 0}} {
		if _, err := CapacityFactor(dec(c.e), dec(c.p), c.d); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("CapacityFactor(%s, %s, %s): err = %v", c.e, c.p, c.d, err)
		}
	}
}

func TestWaterVolumeFromRegister(t *testing.T) {
	t.Parallel()
	// A 5-digit water register (m³, three decimals) wraps at 100000.000:
	// 99999.870 → 0.250 is 100000 − 99999.870 + 0.250 = 0.380 m³.
	tr := newTracker(t, RegisterConfig{Max: dec("100000")})
	runSteps(t, tr, "wf1", MetricVolumeM3Total, []step{
		{"2025-06-01T00:00:00Z", "99999.870", EventFirst, "0"},
		{"2025-06-01T00:10:00Z", "0.250", EventRollover, "0.38"},
	})
}
