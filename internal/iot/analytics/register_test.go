package analytics

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func newTracker(t *testing.T, cfg RegisterConfig) *RegisterTracker {
	t.Helper()
	tr, err := NewRegisterTracker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

type step struct {
	time, value string
	event       RegisterEvent
	delta       string
}

func runSteps(t *testing.T, tr *RegisterTracker, device, metric string, steps []step) {
	t.Helper()
	for i, s := range steps {
		d, err := tr.Observe(Reading{Device: device, Metric: metric, Value: dec(s.value), Time: at(s.time)})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.Event != s.event || !d.Value.Equal(dec(s.delta)) {
			t.Errorf("step %d (%s at %s): got %s %s, want %s %s", i, s.value, s.time, d.Event, d.Value, s.event, s.delta)
		}
		if d.Value.IsNegative() {
			t.Errorf("step %d: negative delta %s", i, d.Value)
		}
	}
}

func TestRegisterNormalAndFirst(t *testing.T) {
	t.Parallel()
	tr := newTracker(t, RegisterConfig{})
	d, err := tr.Observe(Reading{"m1", MetricEnergyKWhTotal, dec("1200.5"), at("2025-01-01T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Event != EventFirst || !d.Value.IsZero() || d.HasDelta() || !d.From.Equal(d.To) {
		t.Errorf("first reading: %+v", d)
	}
	d, err = tr.Observe(Reading{"m1", MetricEnergyKWhTotal, dec("1203.25"), at("2025-01-01T00:15:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Event != EventNormal || !d.Value.Equal(dec("2.75")) || !d.HasDelta() ||
		!d.From.Equal(at("2025-01-01T00:00:00Z")) || !d.To.Equal(at("2025-01-01T00:15:00Z")) ||
		!d.Previous.Equal(dec("1200.5")) || !d.Current.Equal(dec("1203.25")) {
		t.Errorf("normal reading: %+v", d)
	}
	// Another device's series is independent.
	d, _ = tr.Observe(Reading{"m2", MetricEnergyKWhTotal, dec("5"), at("2025-01-01T00:15:00Z")})
	if d.Event != EventFirst {
		t.Errorf("second device: %+v", d)
	}
}

func TestRegisterRollover(t *testing.T) {
	t.Parallel()
	// A 6-digit register with one decimal counts modulo 100000.0:
	// 99999.9 → 0.3 is 100000.0 − 99999.9 + 0.3 = 0.4.
	tr := newTracker(t, RegisterConfig{Max: dec("100000.0")})
	runSteps(t, tr, "m1", MetricEnergyKWhTotal, []step{
		{"2025-01-01T00:00:00Z", "99999.9", EventFirst, "0"},
		{"2025-01-01T01:00:00Z", "0.3", EventRollover, "0.4"},
		{"2025-01-01T02:00:00Z", "10.3", EventNormal, "10"},
	})
	// Unchanged register: a zero normal delta.
	runSteps(t, tr, "m1", MetricEnergyKWhTotal, []step{{"2025-01-01T03:00:00Z", "10.3", EventNormal, "0"}})
}

func TestRegisterReset(t *testing.T) {
	t.Parallel()
	// With Max 100000 and a plausible 50 kWh/h, a drop 5000 → 12 over one
	// hour would imply 100000 − 5000 + 12 = 95012 kWh in an hour: a reset.
	cfg := RegisterConfig{Max: dec("100000"), MaxRatePerHour: dec("50")}
	tr := newTracker(t, cfg)
	runSteps(t, tr, "m1", MetricEnergyKWhTotal, []step{
		{"2025-01-01T00:00:00Z", "5000", EventFirst, "0"},
		{"2025-01-01T01:00:00Z", "12", EventReset, "12"}, // ResetCountsNewValue
		{"2025-01-01T02:00:00Z", "20", EventNormal, "8"},
		// 99990 → 30 over one hour: 100000 − 99990 + 30 = 40 ≤ 50: rollover.
		{"2025-01-01T03:00:00Z", "99990", EventNormal, "99970"},
		{"2025-01-01T04:00:00Z", "30", EventRollover, "40"},
		// 99990 → 30 over 30 minutes: 40 > 50 × 0.5 = 25: reset.
		{"2025-01-01T05:00:00Z", "99990", EventNormal, "99960"},
		{"2025-01-01T05:30:00Z", "30", EventReset, "30"},
	})

	cfg.Reset = ResetCountsZero
	tr = newTracker(t, cfg)
	runSteps(t, tr, "m1", MetricEnergyKWhTotal, []step{
		{"2025-01-01T00:00:00Z", "5000", EventFirst, "0"},
		{"2025-01-01T01:00:00Z", "12", EventReset, "0"},
		{"2025-01-01T02:00:00Z", "20", EventNormal, "8"},
	})

	// No Max: every drop is a reset.
	tr = newTracker(t, RegisterConfig{})
	runSteps(t, tr, "v1", MetricOdometerKM, []step{
		{"2025-01-01T00:00:00Z", "500", EventFirst, "0"},
		{"2025-01-01T01:00:00Z", "3", EventReset, "3"},
	})
}

func TestRegisterStale(t *testing.T) {
	t.Parallel()
	tr := newTracker(t, RegisterConfig{})
	runSteps(t, tr, "w1", MetricVolumeM3Total, []step{
		{"2025-01-01T00:00:00Z", "10", EventFirst, "0"},
		{"2025-01-01T01:00:00Z", "12", EventNormal, "2"},
		// Duplicate (same time), even with another value: stale.
		{"2025-01-01T01:00:00Z", "12", EventStale, "0"},
		{"2025-01-01T01:00:00Z", "13", EventStale, "0"},
		// Out of order: an earlier, lower reading is stale, not a reset.
		{"2025-01-01T00:30:00Z", "11", EventStale, "0"},
		// The next reading counts from the last accepted one (12 at 01:00).
		{"2025-01-01T02:00:00Z", "15", EventNormal, "3"},
	})
	d, _ := tr.Observe(Reading{"w1", MetricVolumeM3Total, dec("14"), at("2025-01-01T01:30:00Z")})
	if d.Event != EventStale || d.HasDelta() || !d.From.Equal(at("2025-01-01T02:00:00Z")) || !d.To.Equal(at("2025-01-01T01:30:00Z")) {
		t.Errorf("stale delta: %+v", d)
	}
	v, tm, ok := tr.Last("w1", MetricVolumeM3Total)
	if !ok || !v.Equal(dec("15")) || !tm.Equal(at("2025-01-01T02:00:00Z")) {
		t.Errorf("Last = %s %s %v", v, tm, ok)
	}
}

func TestRegisterConfigure(t *testing.T) {
	t.Parallel()
	tr := newTracker(t, RegisterConfig{})
	if err := tr.Configure("v1", MetricFuelLTotal, RegisterConfig{Max: dec("10000")}); err != nil {
		t.Fatal(err)
	}
	runSteps(t, tr, "v1", MetricFuelLTotal, []step{
		{"2025-01-01T00:00:00Z", "9990", EventFirst, "0"},
		{"2025-01-01T01:00:00Z", "5", EventRollover, "15"},
	})
	// The default (no Max) still applies to other series.
	runSteps(t, tr, "v2", MetricFuelLTotal, []step{
		{"2025-01-01T00:00:00Z", "9990", EventFirst, "0"},
		{"2025-01-01T01:00:00Z", "5", EventReset, "5"},
	})
	if err := tr.Configure("v1", MetricFuelLTotal, RegisterConfig{Max: dec("-1")}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("negative Max: err = %v", err)
	}
	if _, err := NewRegisterTracker(RegisterConfig{Reset: 7}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("bad policy: err = %v", err)
	}
}

func TestRegisterInvalidValues(t *testing.T) {
	t.Parallel()
	tr := newTracker(t, RegisterConfig{Max: dec("1000")})
	for _, v := range []string{"-0.1", "1000", "1000.5"} {
		if _, err := tr.Observe(Reading{"m1", MetricEnergyKWhTotal, dec(v), at("2025-01-01T00:00:00Z")}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("value %s: err = %v, want ErrInvalidInput", v, err)
		}
	}
	if _, _, ok := tr.Last("m1", MetricEnergyKWhTotal); ok {
		t.Error("an invalid reading was accepted")
	}
}

// Property: a register counting modulo Max, read at increasing times with
// increases below Max between reads and no rate limit, gives deltas that
// are never negative and add up to the true total; shuffled duplicates and
// late readings mixed in change nothing.
func TestRegisterPropertyReconstructsTotal(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	modulus := dec("1000.0")
	for trial := range 200 {
		tr := newTracker(t, RegisterConfig{Max: modulus})
		start := at("2025-01-01T00:00:00Z")
		value := decimal.New(rng.Int64N(10000), -1) // [0, 1000.0)
		total := decimal.Zero
		sum := decimal.Zero
		var history []Reading
		now := start
		for i := range 50 {
			if i > 0 {
				inc := decimal.New(rng.Int64N(9999), -1) // < Max
				total = total.Add(inc)
				value = value.Add(inc).Mod(modulus)
				now = now.Add(time.Duration(1+rng.IntN(3600)) * time.Second)
			}
			r := Reading{"d", MetricEnergyKWhTotal, value, now}
			history = append(history, r)
			d, err := tr.Observe(r)
			if err != nil {
				t.Fatal(err)
			}
			sum = sum.Add(d.Value)
			if d.Value.IsNegative() {
				t.Fatalf("trial %d: negative delta %+v", trial, d)
			}
			// Replay an old reading now and then: always stale.
			if len(history) > 1 && rng.IntN(4) == 0 {
				old := history[rng.IntN(len(history))]
				d, err := tr.Observe(old)
				if err != nil || d.Event != EventStale || !d.Value.IsZero() {
					t.Fatalf("trial %d: replay gave %+v, %v", trial, d, err)
				}
			}
		}
		if !sum.Equal(total) {
			t.Fatalf("trial %d: deltas sum to %s, true total %s", trial, sum, total)
		}
	}
}

// Property: whatever the readings (any values, any times, resets and
// rollovers), no delta is negative.
func TestRegisterPropertyNeverNegative(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cfg := range []RegisterConfig{{}, {Max: dec("100")}, {Max: dec("100"), MaxRatePerHour: dec("10"), Reset: ResetCountsZero}} {
		tr := newTracker(t, cfg)
		base := at("2025-01-01T00:00:00Z")
		for range 2000 {
			r := Reading{"d", MetricVolumeM3Total, decimal.New(rng.Int64N(1000), -1), base.Add(time.Duration(rng.IntN(100000)) * time.Second)}
			d, err := tr.Observe(r)
			if err != nil {
				t.Fatal(err)
			}
			if d.Value.IsNegative() {
				t.Fatalf("negative delta %+v", d)
			}
		}
	}
}
