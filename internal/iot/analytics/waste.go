package analytics

import (
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// DefaultCollectionThresholdPct is the fill level at or above which a bin
// needs collection when WasteConfig leaves it unset.
const DefaultCollectionThresholdPct = 80

// DefaultEmptiedDropPct is the fall in fill level, in percentage points
// between two successive readings, at or above which a FillCycle takes the
// bin to have been emptied, when WasteConfig leaves it unset.
const DefaultEmptiedDropPct = 20

// WasteConfig configures the waste bin analytic.
type WasteConfig struct {
	// CollectionThresholdPct is the fill level (%) at or above which a bin
	// needs collection. Default DefaultCollectionThresholdPct (80).
	CollectionThresholdPct decimal.Decimal
	// EmptiedDropPct is the fall in fill level (percentage points) between
	// two successive readings at or above which FillCycle takes the bin to
	// have been emptied and starts a new fill cycle. Smaller falls (the
	// contents settling, sensor noise) stay in the cycle. Default
	// DefaultEmptiedDropPct (20).
	EmptiedDropPct decimal.Decimal
}

// WithDefaults returns c with unset fields set to their defaults.
func (c WasteConfig) WithDefaults() WasteConfig {
	if c.CollectionThresholdPct.IsZero() {
		c.CollectionThresholdPct = decimal.NewFromInt(DefaultCollectionThresholdPct)
	}
	if c.EmptiedDropPct.IsZero() {
		c.EmptiedDropPct = decimal.NewFromInt(DefaultEmptiedDropPct)
	}
	return c
}

// Validate reports a threshold outside (0, 100], or an emptied drop that is
// set and outside (0, 100].
func (c WasteConfig) Validate() error {
	hundred := decimal.NewFromInt(100)
	if !c.CollectionThresholdPct.IsPositive() || c.CollectionThresholdPct.GreaterThan(hundred) {
		return fmt.Errorf("analytics: waste config: collection threshold %s %% is outside (0, 100]: %w", c.CollectionThresholdPct, ErrInvalidInput)
	}
	if c.EmptiedDropPct.IsNegative() || c.EmptiedDropPct.GreaterThan(hundred) {
		return fmt.Errorf("analytics: waste config: emptied drop %s percentage points is outside (0, 100]: %w", c.EmptiedDropPct, ErrInvalidInput)
	}
	return nil
}

// BinStatus is the state of a waste bin from one fill_level_pct reading.
type BinStatus struct {
	FillLevelPct decimal.Decimal
	// NeedsCollection is true when the fill level is at or above the
	// configured threshold.
	NeedsCollection bool
}

// BinFill judges one fill_level_pct reading. A fill level outside
// [0, 100] % is not a valid reading and is an error (a sensor reporting
// an overfull bin as 103 % must be clamped by its decoder, knowingly).
// cfg is taken WithDefaults.
func BinFill(fillPct decimal.Decimal, cfg WasteConfig) (BinStatus, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return BinStatus{}, err
	}
	return binStatus(fillPct, cfg)
}

// binStatus is BinFill for a configuration already defaulted and checked.
func binStatus(fillPct decimal.Decimal, cfg WasteConfig) (BinStatus, error) {
	if fillPct.IsNegative() || fillPct.GreaterThan(decimal.NewFromInt(100)) {
		return BinStatus{}, fmt.Errorf("analytics: waste bin: fill level %s %% is outside [0, 100]: %w", fillPct, ErrInvalidInput)
	}
	return BinStatus{
		FillLevelPct:    fillPct,
		NeedsCollection: fillPct.GreaterThanOrEqual(cfg.CollectionThresholdPct),
	}, nil
}

// FillRateScale is the number of decimal places (percentage points per
// hour) FillTrend.RatePctPerHour is rounded to.
const FillRateScale = 4

// HoursScale is the number of decimal places the hours until full or until
// the collection threshold are rounded to.
const HoursScale = 2

// BinLevel is one fill_level_pct reading of a bin.
type BinLevel struct {
	FillLevelPct decimal.Decimal
	Time         time.Time
}

// FillTrend is how fast a bin is filling in its current fill cycle (since
// it was last emptied) and when it will be full at that rate.
type FillTrend struct {
	// Latest is the status of the latest reading and LatestAt its time.
	Latest   BinStatus
	LatestAt time.Time
	// CycleStart is the first reading of the current fill cycle: the first
	// reading observed, or the first after the latest emptying.
	CycleStart BinLevel
	// CycleReadings is the number of readings in the current cycle, and
	// Emptyings the number of emptyings observed.
	CycleReadings int
	Emptyings     int
	// RatePctPerHour is the fill rate over the cycle, (latest − start) /
	// hours, in percentage points per hour, rounded to FillRateScale
	// places. It is null when the cycle has fewer than two readings.
	RatePctPerHour decimal.NullDecimal
	// HoursToFull is (100 − latest) / rate, and HoursToThreshold
	// (threshold − latest) / rate (zero when the bin is already at or above
	// the threshold), both rounded to HoursScale places from the exact
	// quotient. They are null when the rate is null or not positive (the
	// bin is not filling).
	HoursToFull      decimal.NullDecimal
	HoursToThreshold decimal.NullDecimal
}

// FillCycle follows one bin's fill level, reading by reading, to estimate
// its fill rate since it was last emptied: a fall of at least
// WasteConfig.EmptiedDropPct between two successive readings is an
// emptying and starts a new cycle. It keeps only the cycle's first and
// latest reading, so any number of readings can be observed. It is safe
// for concurrent use; readings must be observed in time order.
type FillCycle struct {
	mu            sync.Mutex
	cfg           WasteConfig
	start, last   BinLevel
	seen          bool
	cycleReadings int
	emptyings     int
}

// NewFillCycle returns an empty FillCycle; cfg is taken WithDefaults.
func NewFillCycle(cfg WasteConfig) (*FillCycle, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &FillCycle{cfg: cfg}, nil
}

// Observe takes the next reading. A fill level outside [0, 100] % or a
// time not after the previous reading's is an error, and the reading is
// not taken.
func (c *FillCycle) Observe(l BinLevel) error {
	if _, err := binStatus(l.FillLevelPct, c.cfg); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.seen:
		c.start, c.seen, c.cycleReadings = l, true, 1
	case !l.Time.After(c.last.Time):
		return fmt.Errorf("analytics: waste bin: reading at %s is not after the previous one at %s: %w",
			l.Time.Format(time.RFC3339), c.last.Time.Format(time.RFC3339), ErrInvalidInput)
	case c.last.FillLevelPct.Sub(l.FillLevelPct).GreaterThanOrEqual(c.cfg.EmptiedDropPct):
		c.start, c.cycleReadings = l, 1
		c.emptyings++
	default:
		c.cycleReadings++
	}
	c.last = l
	return nil
}

// Trend returns the bin's current fill trend, and false when no reading
// has been observed.
func (c *FillCycle) Trend() (FillTrend, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seen {
		return FillTrend{}, false
	}
	latest, _ := binStatus(c.last.FillLevelPct, c.cfg) // checked by Observe
	tr := FillTrend{Latest: latest, LatestAt: c.last.Time, CycleStart: c.start, CycleReadings: c.cycleReadings, Emptyings: c.emptyings}
	if c.cycleReadings < 2 {
		return tr, true
	}
	// rate = rise / hours = rise × 3.6e12 / ns: one division. The hours
	// to a level are (level − latest) / rate = (level − latest) × ns /
	// (rise × 3.6e12), computed from the exact rate.
	rise := c.last.FillLevelPct.Sub(c.start.FillLevelPct)
	ns := decimal.NewFromInt(c.last.Time.Sub(c.start.Time).Nanoseconds())
	hourNS := decimal.NewFromInt(int64(time.Hour))
	tr.RatePctPerHour = decimal.NewNullDecimal(rise.Mul(hourNS).DivRound(ns, FillRateScale))
	if !rise.IsPositive() {
		return tr, true
	}
	hoursTo := func(level decimal.Decimal) decimal.Decimal {
		gap := level.Sub(c.last.FillLevelPct)
		if !gap.IsPositive() {
			return decimal.Zero
		}
		return gap.Mul(ns).DivRound(rise.Mul(hourNS), HoursScale)
	}
	tr.HoursToFull = decimal.NewNullDecimal(hoursTo(decimal.NewFromInt(100)))
	tr.HoursToThreshold = decimal.NewNullDecimal(hoursTo(c.cfg.CollectionThresholdPct))
	return tr, true
}
