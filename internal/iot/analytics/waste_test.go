package analytics

import (
	"errors"
	"testing"
	"time"
)

func TestBinFill(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fill, threshold string
		needs           bool
	}{
		{"79.9", "", false},
		{"80", "", true}, // default threshold 80 %, inclusive
		{"100", "", true},
		{"0", "", false},
		{"65", "60", true},
		{"59.99", "60", false},
	}
	for _, c := range cases {
		cfg := WasteConfig{}
		if c.threshold != "" {
			cfg.CollectionThresholdPct = dec(c.threshold)
		}
		s, err := BinFill(dec(c.fill), cfg)
		if err != nil {
			t.Fatalf("BinFill(%s): %v", c.fill, err)
		}
		if s.NeedsCollection != c.needs {
			t.Errorf("BinFill(%s, threshold %q) needs collection = %v, want %v", c.fill, c.threshold, s.NeedsCollection, c.needs)
		}
	}
	for _, f := range []string{"-0.1", "100.1"} {
		if _, err := BinFill(dec(f), WasteConfig{}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("fill %s: err = %v", f, err)
		}
	}
	if _, err := BinFill(dec("50"), WasteConfig{CollectionThresholdPct: dec("120")}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("threshold 120: err = %v", err)
	}
}

func TestFillCycle(t *testing.T) {
	t.Parallel()
	c, err := NewFillCycle(WasteConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Trend(); ok {
		t.Fatal("trend before any reading")
	}
	for _, l := range []struct{ time, pct string }{
		{"2025-06-01T00:00:00Z", "70"},
		{"2025-06-01T06:00:00Z", "85"},
		{"2025-06-01T07:00:00Z", "5"},  // emptied: a fall of 80 points
		{"2025-06-01T13:00:00Z", "20"}, // the new cycle: 15 points in 6 h
		{"2025-06-01T14:00:00Z", "19"}, // settling: a fall of 1 point stays in the cycle
		{"2025-06-01T19:00:00Z", "35"}, // 30 points in 12 h = 2.5 %/h
	} {
		if err := c.Observe(BinLevel{FillLevelPct: dec(l.pct), Time: at(l.time)}); err != nil {
			t.Fatal(err)
		}
	}
	tr, ok := c.Trend()
	if !ok || tr.Emptyings != 1 || tr.CycleReadings != 4 || !tr.CycleStart.Time.Equal(at("2025-06-01T07:00:00Z")) ||
		!tr.LatestAt.Equal(at("2025-06-01T19:00:00Z")) || tr.Latest.NeedsCollection {
		t.Fatalf("trend %+v", tr)
	}
	requireDec(t, "rate", tr.RatePctPerHour.Decimal, "2.5")
	requireDec(t, "hours to full", tr.HoursToFull.Decimal, "26")      // 65 / 2.5
	requireDec(t, "hours to 80 %", tr.HoursToThreshold.Decimal, "18") // 45 / 2.5
	// Exact quotients, rounded once: 10 points in 3 h from 0 → 3.3333 %/h;
	// 90 points more take 27 h.
	c, _ = NewFillCycle(WasteConfig{CollectionThresholdPct: dec("90")})
	for i, pct := range []string{"0", "10"} {
		if err := c.Observe(BinLevel{FillLevelPct: dec(pct), Time: at("2025-06-01T00:00:00Z").Add(time.Duration(i) * 3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	tr, _ = c.Trend()
	requireDec(t, "rate", tr.RatePctPerHour.Decimal, "3.3333")
	requireDec(t, "hours to full", tr.HoursToFull.Decimal, "27")
	requireDec(t, "hours to 90 %", tr.HoursToThreshold.Decimal, "24")
	// Not filling: a rate but no estimate. One reading: no rate.
	c, _ = NewFillCycle(WasteConfig{})
	_ = c.Observe(BinLevel{FillLevelPct: dec("50"), Time: at("2025-06-01T00:00:00Z")})
	if tr, _ := c.Trend(); tr.RatePctPerHour.Valid || tr.HoursToFull.Valid {
		t.Errorf("one reading: %+v", tr)
	}
	_ = c.Observe(BinLevel{FillLevelPct: dec("45"), Time: at("2025-06-01T01:00:00Z")})
	if tr, _ := c.Trend(); !tr.RatePctPerHour.Valid || !tr.RatePctPerHour.Decimal.Equal(dec("-5")) || tr.HoursToFull.Valid || tr.HoursToThreshold.Valid {
		t.Errorf("falling: %+v", tr)
	}
	// Already above the threshold: zero hours to it.
	_ = c.Observe(BinLevel{FillLevelPct: dec("85"), Time: at("2025-06-01T02:00:00Z")})
	if tr, _ := c.Trend(); !tr.HoursToThreshold.Valid || !tr.HoursToThreshold.Decimal.IsZero() || !tr.Latest.NeedsCollection {
		t.Errorf("above threshold: %+v", tr)
	}
	for _, bad := range []BinLevel{{dec("101"), at("2025-06-01T03:00:00Z")}, {dec("90"), at("2025-06-01T02:00:00Z")}} {
		if err := c.Observe(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Observe(%+v): err = %v", bad, err)
		}
	}
	if _, err := NewFillCycle(WasteConfig{EmptiedDropPct: dec("-1")}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("emptied drop -1: err = %v", err)
	}
}
