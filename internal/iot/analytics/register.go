package analytics

import (
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// RegisterEvent says what a register reading meant for its series.
type RegisterEvent string

// The events a RegisterTracker reports.
const (
	// EventFirst: the first accepted reading of a series; no delta.
	EventFirst RegisterEvent = "first"
	// EventNormal: the register rose or stayed; delta = new − previous.
	EventNormal RegisterEvent = "normal"
	// EventRollover: the register wrapped at Max; delta = Max − previous + new.
	EventRollover RegisterEvent = "rollover"
	// EventReset: the register dropped and the drop is not a plausible
	// rollover (meter replaced or reset); delta per ResetPolicy.
	EventReset RegisterEvent = "reset"
	// EventStale: the reading's time is not after the last accepted reading
	// (out of order or duplicate); no delta, and the series is unchanged.
	EventStale RegisterEvent = "stale"
)

// ResetPolicy says what delta a reset gives.
type ResetPolicy int

const (
	// ResetCountsNewValue (the default): after a reset the delta is the new
	// value itself, on the reading that the new or zeroed register counted
	// up from zero within the interval. It undercounts by whatever the old
	// register counted after its last reading, which cannot be known.
	ResetCountsNewValue ResetPolicy = iota
	// ResetCountsZero: after a reset the delta is zero, and counting starts
	// again from the new value: use it when a reset register may not have
	// started from zero (a replacement meter with an unknown start reading).
	ResetCountsZero
)

// RegisterConfig describes one cumulative register.
type RegisterConfig struct {
	// Max is where the register wraps: it counts modulo Max, showing values
	// in [0, Max), so a reading of Max − 0.1 followed by 0.3 means an
	// increase of 0.4. Zero (the default) means the register never wraps,
	// and every drop is a reset.
	Max decimal.Decimal
	// MaxRatePerHour is the highest plausible increase per hour, in register
	// units (kWh, m³, km, L). A drop whose rollover delta, Max − previous +
	// new, exceeds MaxRatePerHour × hours elapsed is a reset, not a
	// rollover. Zero (the default) means no limit: with Max set, every drop
	// is a rollover. Normal increases are not checked against it.
	MaxRatePerHour decimal.Decimal
	// Reset says what delta a reset gives; default ResetCountsNewValue.
	Reset ResetPolicy
}

// Validate reports a configuration that cannot work: a negative Max or
// MaxRatePerHour, or an unknown Reset policy.
func (c RegisterConfig) Validate() error {
	if c.Max.IsNegative() {
		return fmt.Errorf("analytics: register config: Max %s is negative: %w", c.Max, ErrInvalidInput)
	}
	if c.MaxRatePerHour.IsNegative() {
		return fmt.Errorf("analytics: register config: MaxRatePerHour %s is negative: %w", c.MaxRatePerHour, ErrInvalidInput)
	}
	if c.Reset != ResetCountsNewValue && c.Reset != ResetCountsZero {
		return fmt.Errorf("analytics: register config: unknown reset policy %d: %w", c.Reset, ErrInvalidInput)
	}
	return nil
}

// Delta is what one register reading contributes: the increase of the
// register over the interval [From, To).
type Delta struct {
	Device string
	Metric string
	// From and To bound the interval: From is the previous accepted
	// reading's time and To this reading's. For EventFirst both are this
	// reading's time. For EventStale From is the last accepted time and To
	// this reading's, so To ≤ From.
	From, To time.Time
	// Value is the increase over [From, To), never negative; zero for
	// EventFirst and EventStale, and for EventReset under ResetCountsZero.
	Value decimal.Decimal
	// Event says which case applied.
	Event RegisterEvent
	// Previous is the last accepted register value (zero for EventFirst)
	// and Current this reading's value.
	Previous, Current decimal.Decimal
}

// HasDelta reports whether the delta covers an interval that should be
// counted: true for normal, rollover and reset, false for first and stale.
func (d Delta) HasDelta() bool {
	return d.Event == EventNormal || d.Event == EventRollover || d.Event == EventReset
}

// SeriesKey names one series: a metric of a device.
type SeriesKey struct {
	Device string
	Metric string
}

type registerState struct {
	value decimal.Decimal
	time  time.Time
}

// RegisterTracker turns successive readings of cumulative registers into
// deltas, keeping the last accepted reading per (device, metric). It is safe
// for concurrent use; readings of one series must be observed in the order
// they should be judged (a later-arriving earlier reading is stale).
type RegisterTracker struct {
	mu       sync.Mutex
	defaults RegisterConfig
	configs  map[SeriesKey]RegisterConfig
	last     map[SeriesKey]registerState
}

// NewRegisterTracker returns a tracker whose series use defaults unless
// Configure gives them their own configuration.
func NewRegisterTracker(defaults RegisterConfig) (*RegisterTracker, error) {
	if err := defaults.Validate(); err != nil {
		return nil, err
	}
	return &RegisterTracker{
		defaults: defaults,
		configs:  make(map[SeriesKey]RegisterConfig),
		last:     make(map[SeriesKey]registerState),
	}, nil
}

// Configure sets the configuration of one device's metric (its register's
// Max and plausible rate). It applies to readings observed afterwards.
func (t *RegisterTracker) Configure(device, metric string, cfg RegisterConfig) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("analytics: register %s/%s: %w", device, metric, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.configs[SeriesKey{device, metric}] = cfg
	return nil
}

// Observe takes one register reading and returns its delta. A negative value,
// or one at or above the series' Max, is an error and leaves the series
// unchanged. A reading not after the last accepted one gives EventStale.
func (t *RegisterTracker) Observe(r Reading) (Delta, error) {
	key := SeriesKey{r.Device, r.Metric}
	t.mu.Lock()
	defer t.mu.Unlock()
	cfg, ok := t.configs[key]
	if !ok {
		cfg = t.defaults
	}
	if r.Value.IsNegative() {
		return Delta{}, fmt.Errorf("analytics: register %s/%s at %s: value %s is negative: %w",
			r.Device, r.Metric, r.Time.Format(time.RFC3339), r.Value, ErrInvalidInput)
	}
	if cfg.Max.IsPositive() && r.Value.GreaterThanOrEqual(cfg.Max) {
		return Delta{}, fmt.Errorf("analytics: register %s/%s at %s: value %s is not below the register maximum %s: %w",
			r.Device, r.Metric, r.Time.Format(time.RFC3339), r.Value, cfg.Max, ErrInvalidInput)
	}
	d := Delta{Device: r.Device, Metric: r.Metric, To: r.Time, Current: r.Value}
	prev, seen := t.last[key]
	if !seen {
		d.From, d.Event = r.Time, EventFirst
		t.last[key] = registerState{r.Value, r.Time}
		return d, nil
	}
	d.From, d.Previous = prev.time, prev.value
	if !r.Time.After(prev.time) {
		d.Event = EventStale
		return d, nil
	}
	switch {
	case r.Value.GreaterThanOrEqual(prev.value):
		d.Event, d.Value = EventNormal, r.Value.Sub(prev.value)
	case cfg.Max.IsPositive() && plausible(cfg, cfg.Max.Sub(prev.value).Add(r.Value), r.Time.Sub(prev.time)):
		d.Event, d.Value = EventRollover, cfg.Max.Sub(prev.value).Add(r.Value)
	default:
		d.Event = EventReset
		if cfg.Reset == ResetCountsNewValue {
			d.Value = r.Value
		}
	}
	t.last[key] = registerState{r.Value, r.Time}
	return d, nil
}

// plausible reports whether an increase of delta over elapsed is within the
// configured rate limit: delta ≤ MaxRatePerHour × hours, compared exactly as
// delta × 3.6e12 ≤ MaxRatePerHour × nanoseconds.
func plausible(cfg RegisterConfig, delta decimal.Decimal, elapsed time.Duration) bool {
	if cfg.MaxRatePerHour.IsZero() {
		return true
	}
	lhs := delta.Mul(decimal.NewFromInt(int64(time.Hour)))
	rhs := cfg.MaxRatePerHour.Mul(decimal.NewFromInt(elapsed.Nanoseconds()))
	return lhs.LessThanOrEqual(rhs)
}

// Last returns the last accepted reading of a series, and false when the
// series has none.
func (t *RegisterTracker) Last(device, metric string) (decimal.Decimal, time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.last[SeriesKey{device, metric}]
	return s.value, s.time, ok
}
