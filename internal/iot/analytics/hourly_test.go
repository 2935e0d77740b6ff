package analytics

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestHourlyAccumulator(t *testing.T) {
	t.Parallel()
	h := NewHourlyAccumulator()
	for _, r := range []Reading{
		{"aq1", MetricPM25, dec("1.5"), at("2025-01-01T10:00:00Z")},
		{"aq1", MetricPM25, dec("3"), at("2025-01-01T10:59:59.999Z")},
		// 12:30 at +02:00 is 10:30 UTC: the same hour.
		{"aq1", MetricPM25, dec("2.5"), at("2025-01-01T12:30:00+02:00")},
		{"aq1", MetricPM25, dec("9"), at("2025-01-01T11:00:00Z")},
		{"aq1", MetricPM10, dec("20"), at("2025-01-01T10:15:00Z")},
	} {
		h.Add(r)
	}
	a := h.Get("aq1", MetricPM25, at("2025-01-01T10:20:00Z"))
	// Count 3, sum 1.5 + 3 + 2.5 = 7, min 1.5, max 3,
	// mean 7/3 = 2.3333333… → 2.333333 (6 places).
	if a.Count != 3 {
		t.Fatalf("count %d, want 3", a.Count)
	}
	requireDec(t, "sum", a.Sum, "7")
	requireDec(t, "min", a.Min, "1.5")
	requireDec(t, "max", a.Max, "3")
	requireDec(t, "mean", a.Mean(), "2.333333")
	snap := h.Snapshot()
	if len(snap) != 3 {
		t.Fatalf("%d buckets, want 3", len(snap))
	}
	// Sorted by device, metric, hour: pm10 before pm25, 10:00 before 11:00.
	if snap[0].Metric != MetricPM10 || !snap[1].Hour.Equal(at("2025-01-01T10:00:00Z")) || !snap[2].Hour.Equal(at("2025-01-01T11:00:00Z")) {
		t.Errorf("snapshot order: %+v", snap)
	}
	if snap[1].Hour.Location() != time.UTC {
		t.Errorf("hour not in UTC: %v", snap[1].Hour)
	}
	if e := h.Get("nobody", MetricPM25, at("2025-01-01T10:00:00Z")); e.Count != 0 || !e.Mean().IsZero() {
		t.Errorf("empty bucket: %+v", e)
	}
	// Negative values (temperatures) aggregate too; mean rounds half away
	// from zero: (−1 + −2)/2 = −1.5 exactly; −1/6 → −0.166667.
	var neg Aggregate
	neg = neg.Add(dec("-1")).Add(dec("-2"))
	requireDec(t, "negative mean", neg.Mean(), "-1.5")
	requireDec(t, "min", neg.Min, "-2")
	var sixth Aggregate
	for _, v := range []string{"-1", "0", "0", "0", "0", "0"} {
		sixth = sixth.Add(dec(v))
	}
	requireDec(t, "−1/6", sixth.Mean(), "-0.166667")
}

// Property: splitting readings at random across accumulators and merging
// them gives exactly the aggregates of one accumulator fed everything.
func TestHourlyMergeProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	base := at("2025-01-01T00:00:00Z")
	for range 50 {
		all := NewHourlyAccumulator()
		parts := []*HourlyAccumulator{NewHourlyAccumulator(), NewHourlyAccumulator(), NewHourlyAccumulator()}
		for range 500 {
			r := Reading{
				Device: []string{"a", "b"}[rng.IntN(2)],
				Metric: []string{MetricPM25, MetricCO2PPM}[rng.IntN(2)],
				Value:  decimal.New(rng.Int64N(200001)-100000, -int32(rng.IntN(4))),
				Time:   base.Add(time.Duration(rng.IntN(6*3600)) * time.Second),
			}
			all.Add(r)
			parts[rng.IntN(len(parts))].Add(r)
		}
		merged := NewHourlyAccumulator()
		for _, p := range parts {
			merged.Merge(p)
		}
		want, got := all.Snapshot(), merged.Snapshot()
		if len(want) != len(got) {
			t.Fatalf("%d merged buckets, want %d", len(got), len(want))
		}
		for i := range want {
			if want[i].HourKey != got[i].HourKey || !want[i].Equal(got[i].Aggregate) || !want[i].Mean().Equal(got[i].Mean()) {
				t.Fatalf("bucket %d: merged %+v, want %+v", i, got[i], want[i])
			}
		}
		// Aggregate.Merge is also associative and commutative with empties.
		var empty Aggregate
		if !empty.Merge(want[0].Aggregate).Equal(want[0].Aggregate) || !want[0].Merge(empty).Equal(want[0].Aggregate) {
			t.Fatal("merging an empty aggregate changed it")
		}
	}
}
