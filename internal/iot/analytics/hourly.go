package analytics

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// MeanScale is the number of decimal places Aggregate.Mean rounds to.
const MeanScale = 6

// Aggregate summarises a set of values: count, exact sum, minimum and
// maximum. The zero Aggregate is empty. Aggregates merge, so partial
// aggregates (per worker, per partition) combine into the aggregate of all.
type Aggregate struct {
	Count int64
	Sum   decimal.Decimal
	Min   decimal.Decimal
	Max   decimal.Decimal
}

// Add returns a with v added.
func (a Aggregate) Add(v decimal.Decimal) Aggregate {
	if a.Count == 0 {
		return Aggregate{Count: 1, Sum: v, Min: v, Max: v}
	}
	a.Count++
	a.Sum = a.Sum.Add(v)
	a.Min = decimal.Min(a.Min, v)
	a.Max = decimal.Max(a.Max, v)
	return a
}

// Merge returns the aggregate of the values of a and b together.
func (a Aggregate) Merge(b Aggregate) Aggregate {
	switch {
	case b.Count == 0:
		return a
	case a.Count == 0:
		return b
	}
	return Aggregate{
		Count: a.Count + b.Count,
		Sum:   a.Sum.Add(b.Sum),
		Min:   decimal.Min(a.Min, b.Min),
		Max:   decimal.Max(a.Max, b.Max),
	}
}

// Mean returns Sum / Count rounded to MeanScale places (half away from
// zero), and zero for an empty aggregate.
func (a Aggregate) Mean() decimal.Decimal {
	if a.Count == 0 {
		return decimal.Zero
	}
	return a.Sum.DivRound(decimal.NewFromInt(a.Count), MeanScale)
}

// Equal reports whether a and b hold the same count, sum, min and max
// (by value: 1.0 equals 1).
func (a Aggregate) Equal(b Aggregate) bool {
	return a.Count == b.Count && a.Sum.Equal(b.Sum) && a.Min.Equal(b.Min) && a.Max.Equal(b.Max)
}

// HourKey names one hourly bucket: a metric of a device in the hour that
// starts at Hour (UTC, on the hour).
type HourKey struct {
	Device string
	Metric string
	Hour   time.Time
}

// HourOf returns the UTC hour that t falls in, [Hour, Hour+1h).
func HourOf(t time.Time) time.Time {
	return t.UTC().Truncate(time.Hour)
}

// HourlyAggregate is one bucket of a HourlyAccumulator.
type HourlyAggregate struct {
	HourKey
	Aggregate
}

// HourlyAccumulator aggregates readings per (device, metric, UTC hour). It
// is safe for concurrent use. Accumulators merge, so readings can be split
// across accumulators (by worker or partition) and combined later.
type HourlyAccumulator struct {
	mu      sync.Mutex
	buckets map[HourKey]Aggregate
}

// NewHourlyAccumulator returns an empty accumulator.
func NewHourlyAccumulator() *HourlyAccumulator {
	return &HourlyAccumulator{buckets: make(map[HourKey]Aggregate)}
}

// Add adds a reading to its bucket.
func (h *HourlyAccumulator) Add(r Reading) {
	k := HourKey{Device: r.Device, Metric: r.Metric, Hour: HourOf(r.Time)}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buckets[k] = h.buckets[k].Add(r.Value)
}

// Merge adds every bucket of other into h. other is read through
// Snapshot, under its own lock, and left unchanged.
func (h *HourlyAccumulator) Merge(other *HourlyAccumulator) {
	snap := other.Snapshot()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range snap {
		h.buckets[b.HourKey] = h.buckets[b.HourKey].Merge(b.Aggregate)
	}
}

// Get returns the aggregate of one bucket, empty when it has no readings.
func (h *HourlyAccumulator) Get(device, metric string, hour time.Time) Aggregate {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buckets[HourKey{Device: device, Metric: metric, Hour: HourOf(hour)}]
}

// Snapshot returns every bucket, sorted by device, metric and hour.
func (h *HourlyAccumulator) Snapshot() []HourlyAggregate {
	h.mu.Lock()
	out := make([]HourlyAggregate, 0, len(h.buckets))
	for k, a := range h.buckets {
		out = append(out, HourlyAggregate{HourKey: k, Aggregate: a})
	}
	h.mu.Unlock()
	slices.SortFunc(out, func(a, b HourlyAggregate) int {
		return cmp.Or(
			cmp.Compare(a.Device, b.Device),
			cmp.Compare(a.Metric, b.Metric),
			a.Hour.Compare(b.Hour),
		)
	})
	return out
}
