// Package anomaly is the iot-anomaly-detector stream processor
// (docs/processors.md): sensor readings on iot.sensor-readings are checked
// against static thresholds per device type and metric, and against a
// rolling baseline per device and metric (z-score over the latest
// readings, in event-time order). Anomalies go to iot.alerts; those of
// emissions-relevant metrics (energy, fuel, CO2e) also go to
// emissions.anomalies. Bad readings go to the dead-letter topic.
//
// Readings are keyed "<org_id>/<device_id>", so a device's baselines live
// in one partition's state.
package anomaly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot/analytics"
	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

// Name is the processor's name: consumer group and checkpoint key.
const Name = "iot-anomaly-detector"

// HeaderEventType marks this processor's outputs ("event-type: iot-anomaly").
const (
	HeaderEventType  = "event-type"
	EventTypeAnomaly = "iot-anomaly"
)

// Alert severities (those of the store's iot.alerts).
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Alert kinds and the statistical rule's name.
const (
	KindThreshold   = "threshold"
	KindStatistical = "statistical"
	RuleZScore      = "zscore"
	// RuleRobustZScore is the statistical rule with Config.Robust: the
	// modified z-score 0.6745·(x − median)/MAD (Iglewicz and Hoaglin).
	RuleRobustZScore = "robust-zscore"
)

// Reading is the payload of an iot.sensor-readings event (JSON, schema 1):
// one value of one metric of one device, and in More any other values the
// same device sent in the same message (the IoT ingest publishes one
// event per device message, not per value). The message key must be
// Reading.Key(): "<org_id>/<device_id>".
type Reading struct {
	OrgID    uuid.UUID `json:"org_id"`
	DeviceID string    `json:"device_id"`
	// DeviceType is one of store.DeviceTypes() (air_quality, energy_meter,
	// water_flow, emissions_sensor, temp_humidity, vehicle_tracker,
	// solar_panel, waste_bin); "temperature_humidity" is taken as
	// temp_humidity.
	DeviceType string `json:"device_type"`
	// Metric names what is measured, unit included where it is not
	// implied: pm25, pm10 (µg/m³), temperature_c, humidity_pct,
	// energy_kwh (the register's delta), fuel_l, co2e_kg, fill_level_pct.
	Metric string              `json:"metric"`
	Value  decimal.NullDecimal `json:"value"`
	Unit   string              `json:"unit"`
	// OccurredAt is the event time: when the value was measured.
	OccurredAt time.Time `json:"occurred_at"`
	Site       string    `json:"site,omitempty"`
	// More are further values of the same device (and organization, type
	// and site): each is checked and scored as a reading of its own.
	More []Measurement `json:"more,omitempty"`
}

// Measurement is one more value of a Reading's device.
type Measurement struct {
	Metric     string              `json:"metric"`
	Value      decimal.NullDecimal `json:"value"`
	Unit       string              `json:"unit"`
	OccurredAt time.Time           `json:"occurred_at"`
}

// Readings returns r's values as readings, r's own first: the i-th has
// source id src, then src#i. More is left out of each.
func (r Reading) Readings(src string) ([]Reading, []string) {
	first := r
	first.More = nil
	out, ids := []Reading{first}, []string{src}
	for i, m := range r.More {
		x := first
		x.Metric, x.Value, x.Unit, x.OccurredAt = m.Metric, m.Value, m.Unit, m.OccurredAt
		out, ids = append(out, x), append(ids, src+"#"+strconv.Itoa(i+1))
	}
	return out, ids
}

// Key is the message key r must be published with.
func (r Reading) Key() string { return r.OrgID.String() + "/" + r.DeviceID }

// Evidence is what an alert rests on: the readings, and their event-time
// span.
type Evidence struct {
	Readings int       `json:"readings"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
}

// Alert is the payload of an iot.alerts event, and of an
// emissions.anomalies event for an emissions-relevant metric (with AlertID
// set).
type Alert struct {
	// SourceEventID is the event id of the reading.
	SourceEventID string          `json:"source_event_id"`
	OrgID         uuid.UUID       `json:"org_id"`
	DeviceID      string          `json:"device_id"`
	DeviceType    string          `json:"device_type"`
	Site          string          `json:"site,omitempty"`
	Metric        string          `json:"metric"`
	Unit          string          `json:"unit"`
	OccurredAt    time.Time       `json:"occurred_at"`
	Value         decimal.Decimal `json:"value"`
	Kind          string          `json:"kind"` // threshold or statistical
	Rule          string          `json:"rule"` // the threshold's rule, or zscore
	Severity      string          `json:"severity"`
	// Min and Max are a threshold rule's normal range (inclusive).
	Min *decimal.Decimal `json:"min,omitempty"`
	Max *decimal.Decimal `json:"max,omitempty"`
	// Expected is the statistical rule's baseline mean, StdDev its
	// (population) standard deviation, ZScore the reading's distance from
	// the mean in standard deviations and ZThreshold the limit it passed.
	Expected   *decimal.Decimal `json:"expected,omitempty"`
	StdDev     *decimal.Decimal `json:"std_dev,omitempty"`
	ZScore     *decimal.Decimal `json:"z_score,omitempty"`
	ZThreshold *decimal.Decimal `json:"z_threshold,omitempty"`
	// Evidence is the reading itself for a threshold rule, the baseline
	// readings for the statistical rule.
	Evidence          Evidence `json:"evidence"`
	EmissionsRelevant bool     `json:"emissions_relevant"`
	// AlertID, on emissions.anomalies, is the id of the same anomaly's
	// iot.alerts event.
	AlertID string `json:"alert_id,omitempty"`
	Message string `json:"message"`
}

// Threshold is a static rule: readings of Metric from devices of
// DeviceType outside [Min, Max] are anomalous.
type Threshold struct {
	// Rule names the rule in alerts, e.g. "pm25-unhealthy".
	Rule string `json:"rule"`
	// DeviceType selects the devices; empty matches every type.
	DeviceType string `json:"device_type,omitempty"`
	Metric     string `json:"metric"`
	// Min and Max bound the normal range, both inclusive; at least one is
	// set.
	Min decimal.NullDecimal `json:"min"`
	Max decimal.NullDecimal `json:"max"`
	// Severity is info, warning or critical.
	Severity string `json:"severity"`
}

// ParseThresholds reads threshold rules from a JSON array (the
// anomaly.thresholds_file setting, docs/processors.md): each rule an
// object with rule, device_type (optional), metric, min and/or max
// (numbers or decimal strings) and severity. Unknown fields are refused; a
// rule's error names its index and rule. An empty array means no rule.
// The rules are then checked by Config.Validate.
func ParseThresholds(data []byte) ([]Threshold, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("anomaly: thresholds: want a JSON array of rules: %w", err)
	}
	if dec.More() {
		return nil, errors.New("anomaly: thresholds: data after the array")
	}
	out := make([]Threshold, 0, len(raw))
	for i, r := range raw {
		var t Threshold
		d := json.NewDecoder(bytes.NewReader(r))
		d.DisallowUnknownFields()
		if err := d.Decode(&t); err != nil {
			return nil, fmt.Errorf("anomaly: thresholds: rule %d: %w", i, err)
		}
		out = append(out, t)
	}
	cfg := Config{Thresholds: out}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for i, t := range out {
		for _, b := range []decimal.NullDecimal{t.Min, t.Max} {
			if b.Valid {
				if err := processor.CheckDecimal(fmt.Sprintf("anomaly: thresholds: rule %d (%s): a bound", i, t.Rule), b.Decimal); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

func (t Threshold) fires(v decimal.Decimal) bool {
	return (t.Min.Valid && v.LessThan(t.Min.Decimal)) || (t.Max.Valid && v.GreaterThan(t.Max.Decimal))
}

func limit(s string) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
}

// DefaultThresholds are the built-in static rules (docs/processors.md).
// The particulate limits are the US EPA AQI breakpoints (24-hour
// averages) applied to single readings: PM2.5 at or above 55.5 µg/m³ and
// PM10 at or above 255 µg/m³ are "unhealthy".
func DefaultThresholds() []Threshold {
	return []Threshold{
		{Rule: "pm25-unhealthy", DeviceType: "air_quality", Metric: "pm25", Max: limit("55.4"), Severity: SeverityWarning},
		{Rule: "pm10-unhealthy", DeviceType: "air_quality", Metric: "pm10", Max: limit("254"), Severity: SeverityWarning},
		{Rule: "temperature-out-of-range", DeviceType: "temp_humidity", Metric: "temperature_c", Min: limit("-20"), Max: limit("50"), Severity: SeverityWarning},
		{Rule: "humidity-impossible", DeviceType: "temp_humidity", Metric: "humidity_pct", Min: limit("0"), Max: limit("100"), Severity: SeverityCritical},
		{Rule: "negative-energy-delta", DeviceType: "energy_meter", Metric: "energy_kwh", Min: limit("0"), Severity: SeverityCritical},
		{Rule: "negative-emissions", DeviceType: "emissions_sensor", Metric: "co2e_kg", Min: limit("0"), Severity: SeverityCritical},
		{Rule: "waste-bin-full", DeviceType: "waste_bin", Metric: "fill_level_pct", Max: limit("90"), Severity: SeverityInfo},
	}
}

// Config configures the detector. New applies WithDefaults and Validate.
type Config struct {
	// Thresholds are the static rules; nil means DefaultThresholds(), an
	// empty non-nil slice none.
	Thresholds []Threshold
	// Window is how many of a series' latest readings its baseline holds.
	// Default 30.
	Window int
	// WarmUp is how many readings a baseline needs before the statistical
	// rule applies. Default 10; at least 2 and at most Window.
	WarmUp int
	// ZScore is the z-score a reading must exceed (in absolute value) to be
	// anomalous. Default 3, or 3.5 with Robust.
	ZScore decimal.Decimal
	// Robust scores with the modified z-score over the window's median and
	// median absolute deviation (analytics.RobustScore) instead of its mean
	// and standard deviation: one wild reading in the window does not
	// blind the rule. A window whose values are all equal scores nothing.
	Robust bool
	// Lateness is how long a reading waits for older ones of its series:
	// a series' readings enter the baseline in event-time order once one
	// Lateness newer has arrived. Default 1 minute.
	Lateness time.Duration
	// EmissionsMetrics are the metrics whose anomalies also go to
	// emissions.anomalies. nil means energy_kwh, fuel_l and co2e_kg.
	EmissionsMetrics []string
	// Unscored are metrics the statistical rule skips (positions move
	// without being anomalous). nil means latitude and longitude.
	Unscored []string
}

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Thresholds == nil {
		c.Thresholds = DefaultThresholds()
	}
	if c.Window == 0 {
		c.Window = 30
	}
	if c.WarmUp == 0 {
		c.WarmUp = min(10, c.Window)
	}
	if c.ZScore.IsZero() {
		c.ZScore = decimal.NewFromInt(3)
		if c.Robust {
			c.ZScore = decimal.RequireFromString("3.5")
		}
	}
	if c.Lateness == 0 {
		c.Lateness = time.Minute
	}
	if c.EmissionsMetrics == nil {
		c.EmissionsMetrics = []string{"energy_kwh", "fuel_l", "co2e_kg"}
	}
	if c.Unscored == nil {
		c.Unscored = []string{"latitude", "longitude"}
	}
	return c
}

// Validate checks c (after WithDefaults).
func (c Config) Validate() error {
	if c.Window < 2 || c.WarmUp < 2 || c.WarmUp > c.Window {
		return fmt.Errorf("anomaly: window %d and warm-up %d: want 2 <= warm-up <= window", c.Window, c.WarmUp)
	}
	if !c.ZScore.IsPositive() {
		return fmt.Errorf("anomaly: z-score threshold %s must be positive", c.ZScore)
	}
	if c.Lateness < 0 {
		return fmt.Errorf("anomaly: negative lateness %s", c.Lateness)
	}
	rules := map[string]bool{}
	for _, t := range c.Thresholds {
		switch {
		case t.Rule == "" || rules[t.Rule]:
			return fmt.Errorf("anomaly: threshold rule name %q is empty or used twice", t.Rule)
		case t.Metric == "":
			return fmt.Errorf("anomaly: threshold %s: a metric is required", t.Rule)
		case t.DeviceType != "" && canonicalType(t.DeviceType) == "":
			return fmt.Errorf("anomaly: threshold %s: device type %q is not one of %v", t.Rule, t.DeviceType, store.DeviceTypes())
		case !t.Min.Valid && !t.Max.Valid:
			return fmt.Errorf("anomaly: threshold %s: a minimum or a maximum is required", t.Rule)
		case t.Min.Valid && t.Max.Valid && t.Min.Decimal.GreaterThan(t.Max.Decimal):
			return fmt.Errorf("anomaly: threshold %s: minimum %s above maximum %s", t.Rule, t.Min.Decimal, t.Max.Decimal)
		case !slices.Contains([]string{SeverityInfo, SeverityWarning, SeverityCritical}, t.Severity):
			return fmt.Errorf("anomaly: threshold %s: severity %q is not info, warning or critical", t.Rule, t.Severity)
		}
		rules[t.Rule] = true
	}
	return nil
}

// canonicalType returns the store's name of device type t, or "" when t is
// not a device type.
func canonicalType(t string) string {
	if t == "temperature_humidity" {
		t = "temp_humidity"
	}
	if slices.Contains(store.DeviceTypes(), t) {
		return t
	}
	return ""
}

// State is one partition's baselines, by message key ("<org>/<device>").
// It is a processor.KeyedState: each device's baselines are checkpointed
// as one entry, and a commit writes only the devices its batch changed.
// Its own JSON form is empty; a state checkpointed whole before (with a
// "devices" object) is read, and written as entries at the next commit.
type State struct {
	Devices map[string]*Device `json:"-"`
	// changed are the devices changed since the last TakeChanges.
	changed map[string]bool
}

var _ processor.KeyedState = (*State)(nil)

// touch marks device key's baselines changed.
func (s *State) touch(key string) {
	if s.changed == nil {
		s.changed = map[string]bool{}
	}
	s.changed[key] = true
}

// TakeChanges implements processor.KeyedState: the changed devices'
// baselines as JSON, in key order.
func (s *State) TakeChanges() ([]store.ProcessorStateEntry, error) {
	out := make([]store.ProcessorStateEntry, 0, len(s.changed))
	for _, k := range slices.Sorted(maps.Keys(s.changed)) {
		e := store.ProcessorStateEntry{Key: k}
		if d := s.Devices[k]; d != nil {
			b, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("anomaly: encoding the baselines of %s: %w", k, err)
			}
			e.Value = b
		}
		out = append(out, e)
	}
	clear(s.changed)
	return out, nil
}

// RestoreEntry implements processor.KeyedState.
func (s *State) RestoreEntry(key string, value []byte) error {
	d := &Device{}
	if err := json.Unmarshal(value, d); err != nil {
		return err
	}
	if s.Devices == nil {
		s.Devices = map[string]*Device{}
	}
	s.Devices[key] = d
	return nil
}

// MarshalJSON encodes the state's own part: nothing, the baselines being
// entries.
func (s *State) MarshalJSON() ([]byte, error) { return []byte("{}"), nil }

// UnmarshalJSON reads the state's own part, and the baselines of a state
// checkpointed whole before keyed state (marked changed, so the next
// commit writes them as entries).
func (s *State) UnmarshalJSON(b []byte) error {
	var whole struct {
		Devices map[string]*Device `json:"devices"`
	}
	if err := json.Unmarshal(b, &whole); err != nil {
		return err
	}
	for k, d := range whole.Devices {
		if s.Devices == nil {
			s.Devices = map[string]*Device{}
		}
		s.Devices[k] = d
		s.touch(k)
	}
	return nil
}

// Device is one device's baselines, by metric.
type Device struct {
	Series map[string]*Series `json:"series"`
}

// Series is the baseline of one device and metric. Values are decimals
// (JSON strings), so the state round-trips exactly.
type Series struct {
	// Window is the latest readings that entered the baseline, oldest
	// first.
	Window []Point `json:"window,omitempty"`
	// LastAt and LastID are the event time and event id of the latest
	// reading that entered the baseline: one at or before them is late.
	LastAt time.Time `json:"last_at,omitzero"`
	LastID string    `json:"last_id,omitempty"`
	// MaxAt is the greatest event time seen.
	MaxAt time.Time `json:"max_at,omitzero"`
	// Pending are readings waiting for the lateness to pass, by event
	// time and event id.
	Pending []Pending `json:"pending,omitempty"`
}

// Point is one reading in a baseline.
type Point struct {
	At    time.Time       `json:"at"`
	Value decimal.Decimal `json:"v"`
}

// Pending is a reading not yet scored.
type Pending struct {
	EventID string  `json:"event_id"`
	Reading Reading `json:"reading"`
}

// order compares readings by event time, then event id.
func order(at time.Time, id string, at2 time.Time, id2 string) int {
	if c := at.Compare(at2); c != 0 {
		return c
	}
	return strings.Compare(id, id2)
}

// Handler is the detector's processor.Handler.
type Handler struct {
	cfg       Config
	emissions map[string]bool
	unscored  map[string]bool
}

var _ processor.Handler[*State] = (*Handler)(nil)

// New returns the handler for cfg (defaults applied, then validated).
func New(cfg Config) (*Handler, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ts := make([]Threshold, len(cfg.Thresholds))
	for i, t := range cfg.Thresholds {
		if t.DeviceType != "" {
			t.DeviceType = canonicalType(t.DeviceType)
		}
		ts[i] = t
	}
	cfg.Thresholds = ts
	h := &Handler{cfg: cfg, emissions: map[string]bool{}, unscored: map[string]bool{}}
	for _, m := range cfg.EmissionsMetrics {
		h.emissions[m] = true
	}
	for _, m := range cfg.Unscored {
		h.unscored[m] = true
	}
	return h, nil
}

// NewState implements processor.Handler.
func (h *Handler) NewState() *State { return &State{Devices: map[string]*Device{}} }

// Handle implements processor.Handler: it checks the reading against the
// thresholds at once, then queues it for its series' baseline and scores
// the readings the lateness has released, oldest first. A reading older
// than one already in the baseline (beyond the lateness) is still checked
// against the thresholds but skips the baseline.
func (h *Handler) Handle(_ context.Context, st *State, m *stream.Message, out *processor.Emitter) error {
	ev, err := processor.Decode[Reading](m)
	if err != nil {
		return err // a rejection naming the field when the payload is bad
	}
	rs, srcs := ev.Readings(processor.SourceID(m))
	// Every value is checked before any changes the state: a bad one
	// rejects the event whole.
	for i := range rs {
		if err := validate(&rs[i], m); err != nil {
			if i > 0 {
				err = fmt.Errorf("more[%d]: %w", i-1, err)
			}
			return processor.Reject(err)
		}
	}
	for i := range rs {
		if err := h.handle(st, m.Key, rs[i], srcs[i], out); err != nil {
			return err
		}
	}
	return nil
}

// handle checks one validated reading with source id src against the
// thresholds and queues it for its series' baseline.
func (h *Handler) handle(st *State, key string, r Reading, src string, out *processor.Emitter) error {
	v := r.Value.Decimal
	for _, t := range h.cfg.Thresholds {
		if (t.DeviceType != "" && t.DeviceType != r.DeviceType) || t.Metric != r.Metric || !t.fires(v) {
			continue
		}
		a := h.alert(src, r, KindThreshold, t.Rule, t.Severity)
		a.Evidence = Evidence{Readings: 1, From: r.OccurredAt, To: r.OccurredAt}
		bound := "normal range"
		if t.Min.Valid {
			a.Min = &t.Min.Decimal
			bound = fmt.Sprintf("%s from %s", bound, t.Min.Decimal)
		}
		if t.Max.Valid {
			a.Max = &t.Max.Decimal
			bound = fmt.Sprintf("%s up to %s", bound, t.Max.Decimal)
		}
		a.Message = fmt.Sprintf("%s %s %s outside the %s (rule %s)", r.Metric, v, r.Unit, bound, t.Rule)
		if err := h.emit(out, a); err != nil {
			return err
		}
	}
	if h.unscored[r.Metric] {
		return nil
	}
	if st.Devices == nil {
		st.Devices = map[string]*Device{}
	}
	st.touch(key)
	dev := st.Devices[key]
	if dev == nil {
		dev = &Device{Series: map[string]*Series{}}
		st.Devices[key] = dev
	}
	s := dev.Series[r.Metric]
	if s == nil {
		s = &Series{}
		dev.Series[r.Metric] = s
	}
	if s.LastID != "" && order(r.OccurredAt, src, s.LastAt, s.LastID) <= 0 {
		return nil // late for the baseline
	}
	p := Pending{EventID: src, Reading: r}
	i, _ := slices.BinarySearchFunc(s.Pending, p, func(a, b Pending) int {
		return order(a.Reading.OccurredAt, a.EventID, b.Reading.OccurredAt, b.EventID)
	})
	s.Pending = slices.Insert(s.Pending, i, p)
	if r.OccurredAt.After(s.MaxAt) {
		s.MaxAt = r.OccurredAt
	}
	wm := s.MaxAt.Add(-h.cfg.Lateness)
	for len(s.Pending) > 0 && !s.Pending[0].Reading.OccurredAt.After(wm) {
		p := s.Pending[0]
		s.Pending = slices.Delete(s.Pending, 0, 1)
		if a, ok := h.score(s, p); ok {
			if err := h.emit(out, a); err != nil {
				return err
			}
		}
		s.Window = append(s.Window, Point{At: p.Reading.OccurredAt, Value: p.Reading.Value.Decimal})
		if n := len(s.Window) - h.cfg.Window; n > 0 {
			s.Window = slices.Delete(s.Window, 0, n)
		}
		s.LastAt, s.LastID = p.Reading.OccurredAt, p.EventID
	}
	return nil
}

// score applies the statistical rule to p against s's baseline. With n
// readings of sum S and sum of squares Q, the population variance is
// (nQ − S²)/n², so |x − mean| > k·σ is exactly (nx − S)² > k²(nQ − S²):
// decimal arithmetic, no division. A baseline with no variance scores
// nothing.
func (h *Handler) score(s *Series, p Pending) (Alert, bool) {
	n := len(s.Window)
	if n < h.cfg.WarmUp {
		return Alert{}, false
	}
	if h.cfg.Robust {
		return h.robustScore(s, p)
	}
	var sum, sq decimal.Decimal
	for _, pt := range s.Window {
		sum = sum.Add(pt.Value)
		sq = sq.Add(pt.Value.Mul(pt.Value))
	}
	dn := decimal.NewFromInt(int64(n))
	x := p.Reading.Value.Decimal
	d := dn.Mul(x).Sub(sum)
	variance := dn.Mul(sq).Sub(sum.Mul(sum)) // n² times the variance
	k := h.cfg.ZScore
	if !variance.IsPositive() || !d.Mul(d).GreaterThan(k.Mul(k).Mul(variance)) {
		return Alert{}, false
	}
	root := sqrt(variance)
	mean := sum.DivRound(dn, 6)
	sd := root.DivRound(dn, 6)
	z := d.DivRound(root, 3)
	a := h.alert(p.EventID, p.Reading, KindStatistical, RuleZScore, SeverityWarning)
	a.Expected, a.StdDev, a.ZScore, a.ZThreshold = &mean, &sd, &z, &k
	a.Evidence = Evidence{Readings: n, From: s.Window[0].At, To: s.Window[n-1].At}
	a.Message = fmt.Sprintf("%s %s %s is %s standard deviations from the mean %s of the last %d readings (limit %s)",
		p.Reading.Metric, x, p.Reading.Unit, z.Abs(), mean, n, k)
	return a, true
}

// robustScore is score with the modified z-score (Config.Robust). The
// alert's Expected is the window's median and StdDev its MAD (or, when
// the MAD is zero, 1.253314 × the mean absolute deviation, the fallback
// analytics.RobustScore documents).
func (h *Handler) robustScore(s *Series, p Pending) (Alert, bool) {
	n := len(s.Window)
	w := make([]decimal.Decimal, n)
	for i, pt := range s.Window {
		w[i] = pt.Value
	}
	x := p.Reading.Value.Decimal
	k := h.cfg.ZScore
	res := analytics.RobustScore(w, x, k)
	if !res.Anomalous || res.Method == analytics.ScoreConstant {
		return Alert{}, false
	}
	med, z, spread := res.Median, res.Score.Round(3), res.Spread
	a := h.alert(p.EventID, p.Reading, KindStatistical, RuleRobustZScore, SeverityWarning)
	a.Expected, a.StdDev, a.ZScore, a.ZThreshold = &med, &spread, &z, &k
	a.Evidence = Evidence{Readings: n, From: s.Window[0].At, To: s.Window[n-1].At}
	a.Message = fmt.Sprintf("%s %s %s has a robust z-score of %s against the median %s of the last %d readings (limit %s)",
		p.Reading.Metric, x, p.Reading.Unit, z.Abs(), med, n, k)
	return a, true
}

// sqrt is the square root of a positive d to 20 places: Newton's method
// in decimal arithmetic from the power of ten nearest half d's magnitude.
func sqrt(d decimal.Decimal) decimal.Decimal {
	x := decimal.New(1, (int32(d.NumDigits())+d.Exponent())/2)
	two := decimal.NewFromInt(2)
	for range 200 {
		next := x.Add(d.DivRound(x, 24)).DivRound(two, 24)
		if next.Sub(x).Abs().LessThan(decimal.New(1, -21)) {
			x = next
			break
		}
		x = next
	}
	return x.Round(20)
}

func (h *Handler) alert(src string, r Reading, kind, rule, severity string) Alert {
	return Alert{SourceEventID: src, OrgID: r.OrgID, DeviceID: r.DeviceID, DeviceType: r.DeviceType, Site: r.Site, Metric: r.Metric,
		Unit: r.Unit, OccurredAt: r.OccurredAt, Value: r.Value.Decimal, Kind: kind, Rule: rule, Severity: severity,
		EmissionsRelevant: h.emissions[r.Metric]}
}

// emit queues a on iot.alerts, and on emissions.anomalies when its metric
// is emissions-relevant. Ids derive from the reading's event id and the
// rule.
func (h *Handler) emit(out *processor.Emitter, a Alert) error {
	hdr := map[string]string{HeaderEventType: EventTypeAnomaly}
	id := out.ID("alert", a.SourceEventID, a.Rule)
	key := a.OrgID.String()
	if err := out.Emit(processor.Output{OrgID: a.OrgID, Topic: stream.TopicIoTAlerts, Key: key, ID: id, Payload: a, Headers: hdr}); err != nil {
		return err
	}
	if !a.EmissionsRelevant {
		return nil
	}
	a.AlertID = id.String()
	return out.Emit(processor.Output{OrgID: a.OrgID, Topic: stream.TopicEmissionsAnomalies, Key: key,
		ID: out.ID("emissions-anomaly", a.SourceEventID, a.Rule), Payload: a, Headers: hdr})
}

// validate checks r and m's key, naming the offending field, and
// normalizes r (canonical device type, UTC event time).
func validate(r *Reading, m *stream.Message) error {
	typ := canonicalType(r.DeviceType)
	switch {
	case r.OrgID == uuid.Nil:
		return errors.New("org_id is required")
	case r.DeviceID == "":
		return errors.New("device_id is required")
	case r.DeviceType == "":
		return errors.New("device_type is required")
	case typ == "":
		return fmt.Errorf("device_type %q is not one of %v", r.DeviceType, store.DeviceTypes())
	case r.Metric == "":
		return errors.New("metric is required")
	case !r.Value.Valid:
		return errors.New("value is required")
	case r.Unit == "":
		return errors.New("unit is required")
	case r.OccurredAt.IsZero():
		return errors.New("occurred_at (the event time) is required")
	case r.OccurredAt.UTC().Year() < 1 || r.OccurredAt.UTC().Year() > 9999:
		return fmt.Errorf("occurred_at %s is outside the years 1 to 9999", r.OccurredAt.UTC().Format(time.RFC3339))
	case m.Key != r.Key():
		return fmt.Errorf("key %q must be %q (<org_id>/<device_id>): a device's baselines live in one partition", m.Key, r.Key())
	}
	if err := processor.CheckDecimal("value", r.Value.Decimal); err != nil {
		return err
	}
	r.DeviceType = typ
	r.OccurredAt = r.OccurredAt.UTC()
	return nil
}
