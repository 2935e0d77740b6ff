package iot

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot/analytics"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/store"
)

// Summary is what one device's stored readings over [From, To) amount to:
// per-metric statistics for every device type, and the derived figures of
// the device's type in Section (docs/iot-analytics.md, "Device summary").
type Summary struct {
	DeviceID   uuid.UUID `json:"device_id"`
	DeviceType string    `json:"device_type"`
	Serial     string    `json:"serial"`
	Name       string    `json:"name,omitempty"`
	// From and To bound the range, [From, To), in UTC.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Readings counts the stored readings in the range over all metrics;
	// First and Last are the earliest and latest of their times (nil when
	// there are none).
	Readings int64      `json:"readings"`
	First    *time.Time `json:"first_reading,omitempty"`
	Last     *time.Time `json:"last_reading,omitempty"`
	// Metrics holds one entry per metric of the device type, in catalogue
	// order, including metrics without readings (count 0). MetricsMethod
	// says how their statistics are computed.
	Metrics       []MetricSummary `json:"metrics"`
	MetricsMethod string          `json:"metrics_method"`
	// Section holds the figures derived for the device's type
	// (*AirQualitySection, *EnergySection, *WaterSection, *VehicleSection,
	// *SolarSection, *WasteSection, *EmissionsSection), each with its units
	// and method. It is nil for temp_humidity, which has no derived figures:
	// its summary is the per-metric statistics. A type's section is added
	// in newSectionBuilder.
	Section Section `json:"section,omitempty"`
	// Notes says what was left out and why: readings an analytic could not
	// take, settings missing for a figure.
	Notes []string `json:"notes,omitempty"`
}

// MetricSummary is one metric's readings in the range: count, minimum,
// maximum and mean (null without readings), first and last reading time.
type MetricSummary struct {
	Metric string              `json:"metric"`
	Unit   string              `json:"unit"`
	Kind   string              `json:"kind"`
	Count  int64               `json:"count"`
	Min    decimal.NullDecimal `json:"min"`
	Max    decimal.NullDecimal `json:"max"`
	Mean   decimal.NullDecimal `json:"mean"`
	First  *time.Time          `json:"first,omitempty"`
	Last   *time.Time          `json:"last,omitempty"`
}

// MetricsMethod is how MetricSummary's statistics are computed.
const MetricsMethod = "minimum, maximum and arithmetic mean of the stored readings in the range, in exact decimals (analytics.Aggregate; the mean rounded to 6 places, half away from zero)"

// Section is the derived figures of one device type. Figures lists them
// one per line (name, value, unit, method) for tabular display; the
// section's own fields are its JSON form.
type Section interface {
	Figures() []Figure
}

// Figure is one derived figure as text: a name, its value, the value's
// unit and how it was derived.
type Figure struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Unit   string `json:"unit,omitempty"`
	Method string `json:"method,omitempty"`
}

// sectionBuilder derives one device type's figures: it is shown every
// stored reading of the range (metric by metric in catalogue order, each
// metric's readings in time order), then asked for its Section.
type sectionBuilder interface {
	observe(r store.SensorReading)
	finish() (Section, error)
}

// sectionBuilder returns the constructor of the builder of a device
// type's derived figures beyond the per-metric statistics. A type without
// one (temp_humidity: the catalogue gives it no comfort band to count time
// outside of) gets the statistics only. To give a type its figures, write
// a Section, a sectionBuilder and its constructor, and add it here.
func newSectionBuilder(deviceType string) func(ctx context.Context, in *sectionInput) (sectionBuilder, error) {
	switch deviceType {
	case "air_quality":
		return newAirQualityBuilder
	case "energy_meter":
		return newEnergyBuilder
	case "water_flow":
		return newWaterBuilder
	case "vehicle_tracker":
		return newVehicleBuilder
	case "solar_panel":
		return newSolarBuilder
	case "waste_bin":
		return newWasteBuilder
	case emissionsSensor:
		return newEmissionsBuilder
	}
	return nil
}

// DeviceSettings are the keys of a device's metadata (store.Device.Metadata,
// a JSON object) that its summary reads; other keys are ignored, and every
// key is optional.
type DeviceSettings struct {
	// Registers configures the device's cumulative registers by metric
	// name (energy_kwh_total, volume_m3_total, odometer_km, fuel_l_total).
	Registers map[string]RegisterSettings `json:"registers,omitempty"`
	// RatedKW is a solar panel's rated (peak) power, for its capacity
	// factor.
	RatedKW decimal.NullDecimal `json:"rated_kw"`
	// CollectionThresholdPct and EmptiedDropPct configure a waste bin
	// (analytics.WasteConfig; zero means the default).
	CollectionThresholdPct decimal.Decimal `json:"collection_threshold_pct"`
	EmptiedDropPct         decimal.Decimal `json:"emptied_drop_pct"`
}

// RegisterSettings configure one cumulative register
// (analytics.RegisterConfig).
type RegisterSettings struct {
	// Max is where the register wraps (it shows values in [0, Max)); zero
	// or absent means it never wraps, so every drop is a reset.
	Max decimal.Decimal `json:"max"`
	// MaxRatePerHour is the highest plausible increase per hour: a drop
	// needing more to be a rollover is a reset. Zero means no limit.
	MaxRatePerHour decimal.Decimal `json:"max_rate_per_hour"`
	// Reset is what a reset counts: "new_value" (the default: the new
	// register counted up from zero) or "zero".
	Reset string `json:"reset,omitempty"`
}

// config returns the analytics configuration of the settings.
func (s RegisterSettings) config() (analytics.RegisterConfig, error) {
	cfg := analytics.RegisterConfig{Max: s.Max, MaxRatePerHour: s.MaxRatePerHour}
	switch s.Reset {
	case "", "new_value":
		cfg.Reset = analytics.ResetCountsNewValue
	case "zero":
		cfg.Reset = analytics.ResetCountsZero
	default:
		return cfg, fmt.Errorf("reset %q: new_value or zero", s.Reset)
	}
	return cfg, cfg.Validate()
}

// ParseDeviceSettings reads the summary's settings from a device's
// metadata. Empty metadata gives no settings.
func ParseDeviceSettings(metadata store.JSON) (DeviceSettings, error) {
	var s DeviceSettings
	if len(metadata) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(metadata, &s); err != nil {
		return s, fmt.Errorf("device metadata: %w", err)
	}
	if s.RatedKW.Valid && !s.RatedKW.Decimal.IsPositive() {
		return s, fmt.Errorf("device metadata: rated_kw %s is not positive", s.RatedKW.Decimal)
	}
	for m, r := range s.Registers {
		if !analytics.IsCumulative(m) {
			return s, fmt.Errorf("device metadata: registers: %q is not a cumulative register", m)
		}
		if _, err := r.config(); err != nil {
			return s, fmt.Errorf("device metadata: registers: %s: %w", m, err)
		}
	}
	return s, nil
}

// sectionInput is what a section builder may use: the device, its type
// and settings, the range, and the store (at construction only, to read
// the last readings before the range).
type sectionInput struct {
	st       *store.Store
	org      uuid.UUID
	device   *store.Device
	typ      telemetry.DeviceType
	from, to time.Time
	settings DeviceSettings
	notes    []string
}

// newSectionInput is the input of device d's figures over [from, to): its
// catalogue type and its settings (ParseDeviceSettings).
func newSectionInput(st *store.Store, cat *telemetry.Catalogue, org uuid.UUID, d *store.Device, from, to time.Time) (*sectionInput, error) {
	typ, ok := cat.Type(d.DeviceType)
	if !ok {
		return nil, fmt.Errorf("device %s has type %q, which the catalogue does not know", d.ID, d.DeviceType)
	}
	settings, err := ParseDeviceSettings(d.Metadata)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", d.ID, err)
	}
	return &sectionInput{st: st, org: org, device: d, typ: typ, from: from, to: to, settings: settings}, nil
}

func (in *sectionInput) notef(format string, args ...any) {
	in.notes = append(in.notes, fmt.Sprintf(format, args...))
}

// unit is the catalogue unit of one of the device type's metrics.
func (in *sectionInput) unit(metric string) string {
	m, _ := in.typ.Metric(metric)
	return m.Unit
}

// reading turns a stored reading into an analytics reading.
func (in *sectionInput) reading(r store.SensorReading) analytics.Reading {
	return analytics.Reading{Device: in.device.ID.String(), Metric: r.Metric, Value: r.Value, Time: r.Time}
}

// Summarize summarizes the stored readings of one device of org over
// [from, to): per-metric statistics, and the figures derived for its
// device type (see Summary). Register increases and the GPS path count
// from the last reading before from, as the hourly roll-up does, so the
// summaries of consecutive ranges add up to the summary of their union.
func Summarize(ctx context.Context, st *store.Store, org, device uuid.UUID, from, to time.Time) (*Summary, error) {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) {
		return nil, fmt.Errorf("iot: summary: the range start %s is not before its end %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	cat, err := telemetry.LoadCatalogue()
	if err != nil {
		return nil, err
	}
	d, err := st.Devices().Get(ctx, org, device)
	if err != nil {
		return nil, err
	}
	in, err := newSectionInput(st, cat, org, d, from, to)
	if err != nil {
		return nil, fmt.Errorf("iot: summary: %w", err)
	}
	typ := in.typ
	var b sectionBuilder
	if newBuilder := newSectionBuilder(d.DeviceType); newBuilder != nil {
		if b, err = newBuilder(ctx, in); err != nil {
			return nil, fmt.Errorf("iot: summary of device %s: %w", d.ID, err)
		}
	}
	sum := &Summary{DeviceID: d.ID, DeviceType: d.DeviceType, Serial: d.Serial, Name: d.Name, From: from, To: to, MetricsMethod: MetricsMethod}
	for _, m := range typ.Metrics() {
		var agg analytics.Aggregate
		var first, last time.Time
		err := EachReading(ctx, st, org, d.ID, m.Name, from, to, func(r store.SensorReading) error {
			if agg.Count == 0 {
				first = r.Time.UTC()
			}
			last = r.Time.UTC()
			agg = agg.Add(r.Value)
			if b != nil {
				b.observe(r)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("iot: summary of device %s: %s readings: %w", d.ID, m.Name, err)
		}
		ms := MetricSummary{Metric: m.Name, Unit: m.Unit, Kind: string(m.Kind), Count: agg.Count}
		if agg.Count > 0 {
			ms.Min, ms.Max, ms.Mean = decimal.NewNullDecimal(agg.Min), decimal.NewNullDecimal(agg.Max), decimal.NewNullDecimal(agg.Mean())
			ms.First, ms.Last = &first, &last
			sum.Readings += agg.Count
			if sum.First == nil || first.Before(*sum.First) {
				sum.First = &first
			}
			if sum.Last == nil || last.After(*sum.Last) {
				sum.Last = &last
			}
		}
		sum.Metrics = append(sum.Metrics, ms)
	}
	if b != nil {
		if sum.Section, err = b.finish(); err != nil {
			return nil, fmt.Errorf("iot: summary of device %s: %w", d.ID, err)
		}
	}
	sum.Notes = in.notes
	return sum, nil
}

// ---- Cumulative registers ----

// RegisterSummary is a cumulative register's increase over the range.
type RegisterSummary struct {
	Metric string `json:"metric"`
	Unit   string `json:"unit"`
	// Increase is the sum of the deltas (never negative); Intervals is how
	// many intervals between successive readings it sums.
	Increase  decimal.Decimal `json:"increase"`
	Intervals int             `json:"intervals"`
	// Baseline is the time of the last reading before the range, which
	// the first interval counts from; nil when there is none (counting
	// then starts at the first reading in the range).
	Baseline *time.Time `json:"baseline,omitempty"`
	// Rollovers and Resets count the drops of the register, judged by the
	// configuration (Max, MaxRatePerHour, ResetPolicy); Rejected counts
	// readings the register could not take (negative, or not below Max).
	Rollovers      int                 `json:"rollovers"`
	Resets         int                 `json:"resets"`
	Rejected       int                 `json:"rejected"`
	Max            decimal.NullDecimal `json:"max"`
	MaxRatePerHour decimal.NullDecimal `json:"max_rate_per_hour"`
	ResetPolicy    string              `json:"reset_policy"`
	Method         string              `json:"method"`
}

// registerMethod is how RegisterSummary.Increase is computed.
const registerMethod = "sum of the deltas of successive register readings from the last reading before the range (analytics.RegisterTracker): " +
	"a rise counts as it is; a drop is a rollover (Max − previous + new) when Max is set and the wrap is plausible at MaxRatePerHour, otherwise a reset (per reset_policy)"

func (r RegisterSummary) figures(name string) []Figure {
	ev := fmt.Sprintf("%d intervals, %d rollovers, %d resets", r.Intervals, r.Rollovers, r.Resets)
	if r.Rejected > 0 {
		ev += fmt.Sprintf(", %d readings rejected", r.Rejected)
	}
	cfg := "no wrap (every drop is a reset)"
	if r.Max.Valid {
		cfg = "wraps at " + r.Max.Decimal.String()
		if r.MaxRatePerHour.Valid {
			cfg += ", at most " + r.MaxRatePerHour.Decimal.String() + " " + r.Unit + "/h"
		}
	}
	return []Figure{
		{Name: name, Value: r.Increase.String(), Unit: r.Unit, Method: "register " + r.Metric + ": " + registerMethod},
		{Name: name + "_register", Value: ev, Method: cfg + "; a reset counts " + r.ResetPolicy},
	}
}

// register follows one cumulative register of the device.
type register struct {
	in *sectionInput
	tr *analytics.RegisterTracker
	s  RegisterSummary
}

// newRegister returns the register of metric, configured from the
// device's settings and primed with its last reading before the range.
func (in *sectionInput) newRegister(ctx context.Context, metric string) (*register, error) {
	cfg, err := in.settings.Registers[metric].config()
	if err != nil {
		return nil, err
	}
	tr, err := analytics.NewRegisterTracker(cfg)
	if err != nil {
		return nil, err
	}
	r := &register{in: in, tr: tr, s: RegisterSummary{Metric: metric, Unit: in.unit(metric), Method: registerMethod, ResetPolicy: "new_value"}}
	if cfg.Max.IsPositive() {
		r.s.Max = decimal.NewNullDecimal(cfg.Max)
	}
	if cfg.MaxRatePerHour.IsPositive() {
		r.s.MaxRatePerHour = decimal.NewNullDecimal(cfg.MaxRatePerHour)
	}
	if cfg.Reset == analytics.ResetCountsZero {
		r.s.ResetPolicy = "zero"
	}
	base, err := in.st.SensorReadingLast(ctx, in.org, in.device.ID, metric, in.from)
	switch {
	case store.CodeOf(err) == store.CodeNotFound:
	case err != nil:
		return nil, err
	default:
		if _, err := tr.Observe(in.reading(base)); err != nil {
			in.notef("%s: the last reading before the range could not be taken as the baseline: %v", metric, err)
		} else {
			t := base.Time.UTC()
			r.s.Baseline = &t
		}
	}
	return r, nil
}

// increase is metric's register over the input's range on its own: the
// register primed with the last reading before the range and fed the
// range's readings (what the hourly roll-up stores).
func (in *sectionInput) increase(ctx context.Context, metric string) (RegisterSummary, error) {
	r, err := in.newRegister(ctx, metric)
	if err != nil {
		return RegisterSummary{}, err
	}
	err = EachReading(ctx, in.st, in.org, in.device.ID, metric, in.from, in.to, func(x store.SensorReading) error {
		r.observe(x)
		return nil
	})
	return r.s, err
}

func (r *register) observe(x store.SensorReading) {
	d, err := r.tr.Observe(r.in.reading(x))
	if err != nil {
		if r.s.Rejected == 0 {
			r.in.notef("%s: reading rejected by the register (later ones not listed): %v", r.s.Metric, err)
		}
		r.s.Rejected++
		return
	}
	switch d.Event {
	case analytics.EventRollover:
		r.s.Rollovers++
	case analytics.EventReset:
		r.s.Resets++
	}
	if d.HasDelta() {
		r.s.Increase = r.s.Increase.Add(d.Value)
		r.s.Intervals++
	}
}

// ---- air_quality ----

// AQIMinHours is how many of a UTC day's 24 hours must have a reading of
// a pollutant for its 24-hour mean to count (EPA's 75 % completeness rule
// for a daily average, 18 of 24 hours).
const AQIMinHours = 18

const (
	dailyMeanMethod = "24-hour mean: the mean of the UTC day's hourly means (analytics.HourlyAccumulator, 6 places); " +
		"it counts when at least 18 of the 24 hours have a reading (EPA's 75 % completeness rule)"
	aqiMethod = "US EPA AQI, EPA-454/B-24-002 Table 6, on the complete 24-hour means of the UTC day; " +
		"the larger sub-index is the AQI and its pollutant responsible (analytics.OverallAQI)"
)

// AirQualitySection is an air-quality monitor's daily AQI.
type AirQualitySection struct {
	// Days lists each UTC day with a PM2.5 or PM10 reading in the range.
	Days []AQIDay `json:"days"`
	// Worst is the complete or partial day with the highest AQI (nil when
	// no day has one).
	Worst *AQIDay `json:"worst,omitempty"`
	// MinHours is AQIMinHours.
	MinHours        int    `json:"min_hours"`
	DailyMeanMethod string `json:"daily_mean_method"`
	AQIMethod       string `json:"aqi_method"`
}

// AQIDay is one UTC day's 24-hour means and AQI.
type AQIDay struct {
	Date string       `json:"date"`
	PM25 PollutantDay `json:"pm25"`
	PM10 PollutantDay `json:"pm10"`
	// Status is "complete" (every pollutant with readings that day has a
	// complete 24-hour mean), "partial" (the AQI is from the complete one
	// alone) or "incomplete" (no complete mean: no AQI).
	Status string `json:"status"`
	// AQI, Category, Responsible and BeyondAQI are analytics.OverallAQI's
	// result on the complete means; null/empty when Status is incomplete.
	AQI         *int64 `json:"aqi"`
	Category    string `json:"category,omitempty"`
	Responsible string `json:"responsible,omitempty"`
	BeyondAQI   bool   `json:"beyond_aqi,omitempty"`
}

// PollutantDay is one pollutant's hours with readings on a UTC day and the
// mean of its hourly means (given even when incomplete; Complete says
// whether it counts for the AQI).
type PollutantDay struct {
	Hours    int                 `json:"hours"`
	Mean     decimal.NullDecimal `json:"mean_ugm3"`
	Complete bool                `json:"complete"`
}

type airQualityBuilder struct {
	in  *sectionInput
	acc *analytics.HourlyAccumulator
}

func newAirQualityBuilder(_ context.Context, in *sectionInput) (sectionBuilder, error) {
	return &airQualityBuilder{in: in, acc: analytics.NewHourlyAccumulator()}, nil
}

func (b *airQualityBuilder) observe(r store.SensorReading) {
	if r.Metric == analytics.MetricPM25 || r.Metric == analytics.MetricPM10 {
		b.acc.Add(b.in.reading(r))
	}
}

func (b *airQualityBuilder) finish() (Section, error) {
	type key struct{ day, metric string }
	daily := map[key]analytics.Aggregate{}
	days := map[string]bool{}
	for _, h := range b.acc.Snapshot() {
		k := key{h.Hour.Format(time.DateOnly), h.Metric}
		daily[k] = daily[k].Add(h.Mean())
		days[k.day] = true
	}
	sec := &AirQualitySection{Days: []AQIDay{}, MinHours: AQIMinHours, DailyMeanMethod: dailyMeanMethod, AQIMethod: aqiMethod}
	for _, day := range slices.Sorted(maps.Keys(days)) {
		d := AQIDay{Date: day, Status: "incomplete"}
		var pm25, pm10 decimal.NullDecimal
		withData, complete := 0, 0
		for _, p := range []struct {
			metric string
			out    *PollutantDay
			mean   *decimal.NullDecimal
		}{{analytics.MetricPM25, &d.PM25, &pm25}, {analytics.MetricPM10, &d.PM10, &pm10}} {
			a := daily[key{day, p.metric}]
			p.out.Hours = int(a.Count)
			if a.Count == 0 {
				continue
			}
			withData++
			p.out.Mean = decimal.NewNullDecimal(a.Mean())
			if a.Count >= AQIMinHours {
				p.out.Complete = true
				*p.mean = p.out.Mean
				complete++
			}
		}
		if complete > 0 {
			res, err := analytics.OverallAQI(pm25, pm10)
			if err != nil {
				return nil, fmt.Errorf("AQI of %s: %w", day, err)
			}
			aqi := res.AQI
			d.AQI, d.Category, d.Responsible, d.BeyondAQI = &aqi, string(res.Category), string(res.Responsible), res.BeyondAQI
			d.Status = "complete"
			if complete < withData {
				d.Status = "partial"
			}
			if sec.Worst == nil || aqi > *sec.Worst.AQI {
				w := d
				sec.Worst = &w
			}
		}
		sec.Days = append(sec.Days, d)
	}
	return sec, nil
}

// Figures implements Section.
func (s *AirQualitySection) Figures() []Figure {
	var out []Figure
	for _, d := range s.Days {
		for _, p := range []struct {
			name string
			pd   PollutantDay
		}{{"pm25_24h_mean", d.PM25}, {"pm10_24h_mean", d.PM10}} {
			if p.pd.Hours == 0 {
				continue
			}
			v := p.pd.Mean.Decimal.String()
			if !p.pd.Complete {
				v += " (incomplete)"
			}
			out = append(out, Figure{Name: p.name + " " + d.Date, Value: v + fmt.Sprintf(" [%d of 24 h]", p.pd.Hours), Unit: "µg/m³", Method: s.DailyMeanMethod})
		}
		v := "incomplete"
		if d.AQI != nil {
			v = fmt.Sprintf("%d %s (%s)", *d.AQI, d.Category, d.Responsible)
			if d.BeyondAQI {
				v += ", beyond the AQI"
			}
			if d.Status == "partial" {
				v += ", partial"
			}
		}
		out = append(out, Figure{Name: "aqi " + d.Date, Value: v, Method: s.AQIMethod})
	}
	if s.Worst != nil {
		out = append(out, Figure{Name: "aqi_worst_day", Value: fmt.Sprintf("%s: %d %s (%s)", s.Worst.Date, *s.Worst.AQI, s.Worst.Category, s.Worst.Responsible), Method: s.AQIMethod})
	}
	return out
}

// ---- energy_meter ----

// EnergySection is an energy meter's consumption and power factor.
type EnergySection struct {
	Energy RegisterSummary `json:"energy"`
	// PowerFactor is nil when no instant had a power_factor reading or
	// both power_kw and apparent_power_kva.
	PowerFactor *PowerFactorSummary `json:"power_factor,omitempty"`
}

// PowerFactorSummary is the mean of the instantaneous power factors of
// the range.
type PowerFactorSummary struct {
	// Samples is the number of instants with a power factor: Measured of
	// them from the meter's power_factor reading, Computed from power_kw /
	// apparent_power_kva at the same instant. Rejected counts instants
	// whose readings were inconsistent (|PF| > 1, kVA not positive).
	Samples  int             `json:"samples"`
	Measured int             `json:"measured"`
	Computed int             `json:"computed"`
	Rejected int             `json:"rejected"`
	Mean     decimal.Decimal `json:"mean"`
	Min      decimal.Decimal `json:"min"`
	Max      decimal.Decimal `json:"max"`
	Method   string          `json:"method"`
}

const powerFactorMethod = "arithmetic mean of the instantaneous power factors (6 places): at each instant the meter's power_factor reading, " +
	"or else power_kw / apparent_power_kva at the same instant (analytics.ResolvePowerFactor, 4 places)"

// pfSample is what a meter reported at one instant.
type pfSample struct{ pf, kw, kva decimal.NullDecimal }

type energyBuilder struct {
	in      *sectionInput
	energy  *register
	samples map[time.Time]*pfSample
}

func newEnergyBuilder(ctx context.Context, in *sectionInput) (sectionBuilder, error) {
	r, err := in.newRegister(ctx, analytics.MetricEnergyKWhTotal)
	if err != nil {
		return nil, err
	}
	return &energyBuilder{in: in, energy: r, samples: map[time.Time]*pfSample{}}, nil
}

func (b *energyBuilder) sample(t time.Time) *pfSample {
	t = t.UTC()
	s, ok := b.samples[t]
	if !ok {
		s = &pfSample{}
		b.samples[t] = s
	}
	return s
}

func (b *energyBuilder) observe(r store.SensorReading) {
	switch r.Metric {
	case analytics.MetricEnergyKWhTotal:
		b.energy.observe(r)
	case analytics.MetricPowerFactor:
		b.sample(r.Time).pf = decimal.NewNullDecimal(r.Value)
	case analytics.MetricPowerKW:
		b.sample(r.Time).kw = decimal.NewNullDecimal(r.Value)
	case analytics.MetricApparentPowerKVA:
		b.sample(r.Time).kva = decimal.NewNullDecimal(r.Value)
	}
}

func (b *energyBuilder) finish() (Section, error) {
	sec := &EnergySection{Energy: b.energy.s}
	times := make([]time.Time, 0, len(b.samples))
	for t := range b.samples {
		times = append(times, t)
	}
	slices.SortFunc(times, time.Time.Compare)
	pf := PowerFactorSummary{Method: powerFactorMethod}
	var agg analytics.Aggregate
	for _, t := range times {
		s := b.samples[t]
		if !s.pf.Valid && (!s.kw.Valid || !s.kva.Valid) {
			continue // not enough at this instant
		}
		v, src, err := analytics.ResolvePowerFactor(s.pf, s.kw, s.kva)
		if err != nil {
			if pf.Rejected == 0 {
				b.in.notef("power factor at %s left out (later ones not listed): %v", t.Format(time.RFC3339), err)
			}
			pf.Rejected++
			continue
		}
		agg = agg.Add(v)
		if src == analytics.PowerFactorMeasured {
			pf.Measured++
		} else {
			pf.Computed++
		}
	}
	if agg.Count > 0 {
		pf.Samples, pf.Mean, pf.Min, pf.Max = int(agg.Count), agg.Mean(), agg.Min, agg.Max
		sec.PowerFactor = &pf
	} else if pf.Rejected > 0 {
		sec.PowerFactor = &pf
	}
	return sec, nil
}

// Figures implements Section.
func (s *EnergySection) Figures() []Figure {
	out := s.Energy.figures("energy_consumed")
	if p := s.PowerFactor; p != nil && p.Samples > 0 {
		out = append(out, Figure{Name: "power_factor_mean", Value: p.Mean.String(), Unit: "1",
			Method: fmt.Sprintf("%s; %d instants (%d measured, %d computed, %d rejected), min %s, max %s", p.Method, p.Samples, p.Measured, p.Computed, p.Rejected, p.Min, p.Max)})
	}
	return out
}

// ---- water_flow ----

// WaterSection is a water meter's volume used.
type WaterSection struct {
	Volume RegisterSummary `json:"volume"`
}

type waterBuilder struct{ volume *register }

func newWaterBuilder(ctx context.Context, in *sectionInput) (sectionBuilder, error) {
	r, err := in.newRegister(ctx, analytics.MetricVolumeM3Total)
	if err != nil {
		return nil, err
	}
	return &waterBuilder{volume: r}, nil
}

func (b *waterBuilder) observe(r store.SensorReading) {
	if r.Metric == analytics.MetricVolumeM3Total {
		b.volume.observe(r)
	}
}

func (b *waterBuilder) finish() (Section, error) { return &WaterSection{Volume: b.volume.s}, nil }

// Figures implements Section.
func (s *WaterSection) Figures() []Figure { return s.Volume.figures("water_used") }

// ---- vehicle_tracker ----

// VehicleSection is a vehicle's distance and fuel.
type VehicleSection struct {
	// GPSDistanceKM is the length of the GPS track: the haversine distance
	// between successive fixes (a latitude and a longitude reading at the
	// same instant), from the last fix before the range when there is one.
	GPSDistanceKM decimal.Decimal `json:"gps_distance_km"`
	// Fixes counts the fixes used (the one before the range included);
	// UnpairedReadings the latitude or longitude readings without their
	// partner at the same instant, which are left out.
	Fixes            int    `json:"fixes"`
	UnpairedReadings int    `json:"unpaired_readings"`
	GPSMethod        string `json:"gps_method"`
	// Odometer is the odometer_km register's increase, Fuel the
	// fuel_l_total register's.
	Odometer RegisterSummary `json:"odometer"`
	Fuel     RegisterSummary `json:"fuel"`
	// FuelEconomy is litres per 100 km on FuelEconomyBasis: the odometer's
	// distance when it rose, else the GPS distance; null when neither is
	// positive.
	FuelEconomy       decimal.NullDecimal `json:"fuel_economy_l_per_100km"`
	FuelEconomyBasis  string              `json:"fuel_economy_basis,omitempty"`
	FuelEconomyMethod string              `json:"fuel_economy_method"`
}

const (
	gpsMethod = "great-circle (haversine) distance between successive GPS fixes on a sphere of radius 6371.0088 km, " +
		"each leg rounded to metres (analytics.PathKM), from the last fix before the range"
	fuelEconomyMethod = "fuel used × 100 / distance (analytics.FuelEconomyLPer100KM, 3 places), on the odometer's distance when it rose, else the GPS distance"
)

// coord is one latitude or longitude reading.
type coord struct {
	t time.Time
	v decimal.Decimal
}

type vehicleBuilder struct {
	in             *sectionInput
	odometer, fuel *register
	lat, lon       []coord
	base           *analytics.Fix
}

func newVehicleBuilder(ctx context.Context, in *sectionInput) (sectionBuilder, error) {
	b := &vehicleBuilder{in: in}
	var err error
	if b.odometer, err = in.newRegister(ctx, analytics.MetricOdometerKM); err != nil {
		return nil, err
	}
	if b.fuel, err = in.newRegister(ctx, analytics.MetricFuelLTotal); err != nil {
		return nil, err
	}
	// The last fix before the range: the last latitude and longitude
	// readings before it, when they are of the same instant.
	var last [2]store.SensorReading
	for i, m := range []string{analytics.MetricLatitude, analytics.MetricLongitude} {
		r, err := in.st.SensorReadingLast(ctx, in.org, in.device.ID, m, in.from)
		switch {
		case store.CodeOf(err) == store.CodeNotFound:
			return b, nil
		case err != nil:
			return nil, err
		}
		last[i] = r
	}
	if last[0].Time.Equal(last[1].Time) {
		b.base = &analytics.Fix{Latitude: last[0].Value.InexactFloat64(), Longitude: last[1].Value.InexactFloat64(), Time: last[0].Time.UTC()}
	}
	return b, nil
}

func (b *vehicleBuilder) observe(r store.SensorReading) {
	switch r.Metric {
	case analytics.MetricOdometerKM:
		b.odometer.observe(r)
	case analytics.MetricFuelLTotal:
		b.fuel.observe(r)
	case analytics.MetricLatitude:
		b.lat = append(b.lat, coord{r.Time.UTC(), r.Value})
	case analytics.MetricLongitude:
		b.lon = append(b.lon, coord{r.Time.UTC(), r.Value})
	}
}

func (b *vehicleBuilder) finish() (Section, error) {
	sec := &VehicleSection{Odometer: b.odometer.s, Fuel: b.fuel.s, GPSMethod: gpsMethod, FuelEconomyMethod: fuelEconomyMethod}
	var fixes []analytics.Fix
	if b.base != nil {
		fixes = append(fixes, *b.base)
	}
	// Pair latitudes and longitudes of the same instant: both are in time
	// order, one reading per metric and instant.
	i, j := 0, 0
	for i < len(b.lat) && j < len(b.lon) {
		switch c := b.lat[i].t.Compare(b.lon[j].t); {
		case c < 0:
			i++
			sec.UnpairedReadings++
		case c > 0:
			j++
			sec.UnpairedReadings++
		default:
			fixes = append(fixes, analytics.Fix{Latitude: b.lat[i].v.InexactFloat64(), Longitude: b.lon[j].v.InexactFloat64(), Time: b.lat[i].t})
			i++
			j++
		}
	}
	sec.UnpairedReadings += len(b.lat) - i + len(b.lon) - j
	km, err := analytics.PathKM(fixes)
	if err != nil {
		return nil, err
	}
	sec.GPSDistanceKM, sec.Fixes = km, len(fixes)
	dist, basis := sec.Odometer.Increase, "odometer"
	if !dist.IsPositive() {
		dist, basis = km, "gps"
	}
	if dist.IsPositive() && sec.Fuel.Intervals > 0 {
		l100, err := analytics.FuelEconomyLPer100KM(sec.Fuel.Increase, dist)
		if err != nil {
			return nil, err
		}
		sec.FuelEconomy, sec.FuelEconomyBasis = decimal.NewNullDecimal(l100), basis
	}
	return sec, nil
}

// Figures implements Section.
func (s *VehicleSection) Figures() []Figure {
	out := []Figure{{Name: "distance_gps", Value: s.GPSDistanceKM.String(), Unit: "km",
		Method: fmt.Sprintf("%s; %d fixes, %d unpaired readings left out", s.GPSMethod, s.Fixes, s.UnpairedReadings)}}
	out = append(out, s.Odometer.figures("distance_odometer")...)
	out = append(out, s.Fuel.figures("fuel_used")...)
	if s.FuelEconomy.Valid {
		out = append(out, Figure{Name: "fuel_economy", Value: s.FuelEconomy.Decimal.String(), Unit: "L/100 km", Method: s.FuelEconomyMethod + "; here on the " + s.FuelEconomyBasis + " distance"})
	}
	return out
}

// ---- solar_panel ----

// SolarSection is a solar array's generation.
type SolarSection struct {
	Generation RegisterSummary `json:"generation"`
	// PeakPowerKW is the highest power_kw reading and PeakAt its (first)
	// time; null without power readings.
	PeakPowerKW decimal.NullDecimal `json:"peak_power_kw"`
	PeakAt      *time.Time          `json:"peak_at,omitempty"`
	// RatedKW is the device's rated_kw setting; CapacityFactor is the
	// generation over the rated power through the whole range, null
	// without a rating.
	RatedKW              decimal.NullDecimal `json:"rated_kw"`
	CapacityFactor       decimal.NullDecimal `json:"capacity_factor"`
	CapacityFactorMethod string              `json:"capacity_factor_method"`
}

const capacityFactorMethod = "generation (kWh) / (rated_kw × hours of the range) (analytics.CapacityFactor, 6 places)"

type solarBuilder struct {
	in   *sectionInput
	gen  *register
	peak decimal.NullDecimal
	at   time.Time
}

func newSolarBuilder(ctx context.Context, in *sectionInput) (sectionBuilder, error) {
	r, err := in.newRegister(ctx, analytics.MetricEnergyKWhTotal)
	if err != nil {
		return nil, err
	}
	return &solarBuilder{in: in, gen: r}, nil
}

func (b *solarBuilder) observe(r store.SensorReading) {
	switch r.Metric {
	case analytics.MetricEnergyKWhTotal:
		b.gen.observe(r)
	case analytics.MetricPowerKW:
		if !b.peak.Valid || r.Value.GreaterThan(b.peak.Decimal) {
			b.peak, b.at = decimal.NewNullDecimal(r.Value), r.Time.UTC()
		}
	}
}

func (b *solarBuilder) finish() (Section, error) {
	sec := &SolarSection{Generation: b.gen.s, PeakPowerKW: b.peak, RatedKW: b.in.settings.RatedKW, CapacityFactorMethod: capacityFactorMethod}
	if b.peak.Valid {
		sec.PeakAt = &b.at
	}
	if sec.RatedKW.Valid {
		cf, err := analytics.CapacityFactor(sec.Generation.Increase, sec.RatedKW.Decimal, b.in.to.Sub(b.in.from))
		if err != nil {
			return nil, fmt.Errorf("device metadata rated_kw: %w", err)
		}
		sec.CapacityFactor = decimal.NewNullDecimal(cf)
	} else {
		b.in.notef("no capacity factor: the device's metadata gives no rated_kw")
	}
	return sec, nil
}

// Figures implements Section.
func (s *SolarSection) Figures() []Figure {
	out := s.Generation.figures("energy_generated")
	if s.PeakPowerKW.Valid {
		out = append(out, Figure{Name: "peak_power", Value: s.PeakPowerKW.Decimal.String(), Unit: "kW", Method: "highest power_kw reading, at " + s.PeakAt.Format(time.RFC3339)})
	}
	if s.CapacityFactor.Valid {
		out = append(out, Figure{Name: "capacity_factor", Value: s.CapacityFactor.Decimal.String(), Unit: "1", Method: s.CapacityFactorMethod + "; rated " + s.RatedKW.Decimal.String() + " kW"})
	}
	return out
}

// ---- waste_bin ----

// WasteSection is a waste bin's fill level and when it will be full.
type WasteSection struct {
	// LatestFillPct is the latest fill_level_pct reading, at LatestAt;
	// NeedsCollection says whether it is at or above ThresholdPct.
	LatestFillPct   decimal.NullDecimal `json:"latest_fill_pct"`
	LatestAt        *time.Time          `json:"latest_at,omitempty"`
	NeedsCollection bool                `json:"needs_collection"`
	ThresholdPct    decimal.Decimal     `json:"collection_threshold_pct"`
	// CycleStart is the first reading since the bin was last emptied;
	// Emptyings counts the emptyings seen in the range.
	CycleStart *time.Time `json:"cycle_start,omitempty"`
	Emptyings  int        `json:"emptyings"`
	// FillRatePctPerHour is the fill rate over the current cycle;
	// HoursToFull and HoursToThreshold the hours from LatestAt until the
	// bin is full (100 %) or at the threshold at that rate, and FullAt and
	// ThresholdAt those times. Null when the cycle has one reading or the
	// bin is not filling.
	FillRatePctPerHour decimal.NullDecimal `json:"fill_rate_pct_per_hour"`
	HoursToFull        decimal.NullDecimal `json:"hours_to_full"`
	FullAt             *time.Time          `json:"full_at,omitempty"`
	HoursToThreshold   decimal.NullDecimal `json:"hours_to_threshold"`
	ThresholdAt        *time.Time          `json:"threshold_at,omitempty"`
	Rejected           int                 `json:"rejected"`
	Method             string              `json:"method"`
}

const wasteMethod = "fill rate = (latest − first fill level of the current cycle) / hours between them; a fall of at least the emptied drop " +
	"between two readings is an emptying and starts a new cycle; hours to a level = (level − latest) / rate (analytics.FillCycle)"

type wasteBuilder struct {
	in       *sectionInput
	cycle    *analytics.FillCycle
	cfg      analytics.WasteConfig
	rejected int
}

func newWasteBuilder(_ context.Context, in *sectionInput) (sectionBuilder, error) {
	cfg := analytics.WasteConfig{CollectionThresholdPct: in.settings.CollectionThresholdPct, EmptiedDropPct: in.settings.EmptiedDropPct}.WithDefaults()
	c, err := analytics.NewFillCycle(cfg)
	if err != nil {
		return nil, fmt.Errorf("device metadata: %w", err)
	}
	return &wasteBuilder{in: in, cycle: c, cfg: cfg}, nil
}

func (b *wasteBuilder) observe(r store.SensorReading) {
	if r.Metric != analytics.MetricFillLevelPct {
		return
	}
	if err := b.cycle.Observe(analytics.BinLevel{FillLevelPct: r.Value, Time: r.Time.UTC()}); err != nil {
		if b.rejected == 0 {
			b.in.notef("fill level left out (later ones not listed): %v", err)
		}
		b.rejected++
	}
}

func (b *wasteBuilder) finish() (Section, error) {
	sec := &WasteSection{ThresholdPct: b.cfg.CollectionThresholdPct, Rejected: b.rejected,
		Method: wasteMethod + "; emptied drop " + b.cfg.EmptiedDropPct.String() + " points"}
	tr, ok := b.cycle.Trend()
	if !ok {
		return sec, nil
	}
	latest, start := tr.LatestAt, tr.CycleStart.Time
	sec.LatestFillPct, sec.LatestAt, sec.NeedsCollection = decimal.NewNullDecimal(tr.Latest.FillLevelPct), &latest, tr.Latest.NeedsCollection
	sec.CycleStart, sec.Emptyings = &start, tr.Emptyings
	sec.FillRatePctPerHour, sec.HoursToFull, sec.HoursToThreshold = tr.RatePctPerHour, tr.HoursToFull, tr.HoursToThreshold
	sec.FullAt, sec.ThresholdAt = after(latest, tr.HoursToFull), after(latest, tr.HoursToThreshold)
	return sec, nil
}

// after is t plus h hours (to the second), nil when h is null.
func after(t time.Time, h decimal.NullDecimal) *time.Time {
	if !h.Valid {
		return nil
	}
	s := h.Decimal.Mul(decimal.NewFromInt(3600)).Round(0).IntPart()
	x := t.Add(time.Duration(s) * time.Second)
	return &x
}

// Figures implements Section.
func (s *WasteSection) Figures() []Figure {
	if !s.LatestFillPct.Valid {
		return nil
	}
	out := []Figure{{Name: "fill_level_latest", Value: s.LatestFillPct.Decimal.String(), Unit: "%",
		Method: fmt.Sprintf("latest fill_level_pct reading, at %s; needs collection: %t (threshold %s %%)", s.LatestAt.Format(time.RFC3339), s.NeedsCollection, s.ThresholdPct)}}
	if s.FillRatePctPerHour.Valid {
		out = append(out, Figure{Name: "fill_rate", Value: s.FillRatePctPerHour.Decimal.String(), Unit: "%/h",
			Method: fmt.Sprintf("%s; cycle since %s, %d emptyings in the range", s.Method, s.CycleStart.Format(time.RFC3339), s.Emptyings)})
	}
	for _, f := range []struct {
		name string
		h    decimal.NullDecimal
		at   *time.Time
	}{{"hours_to_full", s.HoursToFull, s.FullAt}, {"hours_to_threshold", s.HoursToThreshold, s.ThresholdAt}} {
		if f.h.Valid {
			out = append(out, Figure{Name: f.name, Value: f.h.Decimal.String(), Unit: "h", Method: "at the current fill rate, from the latest reading: " + f.at.Format(time.RFC3339)})
		}
	}
	return out
}

// Compile-time checks that the sections are Sections.
var (
	_ Section = (*AirQualitySection)(nil)
	_ Section = (*EnergySection)(nil)
	_ Section = (*WaterSection)(nil)
	_ Section = (*VehicleSection)(nil)
	_ Section = (*SolarSection)(nil)
	_ Section = (*WasteSection)(nil)
	_ Section = (*EmissionsSection)(nil)
)

// ---- emissions_sensor ----

// EmissionsSection is the mass of each gas an emissions sensor measured
// (EmittedMass): what the hourly roll-up stores as scope 1 by direct
// measurement, hour by hour.
type EmissionsSection struct {
	Gases  []EmittedGas `json:"gases"`
	Method string       `json:"method"`
}

// EmittedGas is one gas's measured mass over the range.
type EmittedGas struct {
	Gas    string          `json:"gas"`
	MassKg decimal.Decimal `json:"mass_kg"`
	// Samples counts the complete samples in the range; Covered is the part
	// of the range they stand for.
	Samples int           `json:"samples"`
	Covered time.Duration `json:"covered_ns"`
}

// emittedMethod says how EmittedMass works.
func emittedMethod() string {
	return fmt.Sprintf("ppm × 10⁻⁶ × flow corrected to 0 °C and 101.325 kPa × molar mass / %s L/mol at each complete sample "+
		"(analytics.FlueSample.MassRate), each rate held until the next sample and at most %s (iot.EmittedMass)", analytics.MolarVolumeLPerMol, FlueMaxHold)
}

type emissionsBuilder struct {
	in       *sectionInput
	readings flueReadings
}

// newEmissionsBuilder reads the samples of the FlueMaxHold before the
// range (the last one counts for its start); the range's own come through
// observe, read once with the statistics.
func newEmissionsBuilder(ctx context.Context, in *sectionInput) (sectionBuilder, error) {
	b := &emissionsBuilder{in: in, readings: newFlueReadings()}
	if err := b.readings.read(ctx, in.st, in.org, in.device.ID, in.from.Add(-FlueMaxHold), in.from); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *emissionsBuilder) observe(r store.SensorReading) { b.readings.add(r) }

func (b *emissionsBuilder) finish() (Section, error) {
	in := b.in
	em, err := b.readings.mass(in.device.ID, in.from, in.to)
	if err != nil {
		return nil, err
	}
	sec := &EmissionsSection{Method: emittedMethod()}
	for _, g := range flueGases {
		kg, ok := em.KgByGas[g.gas]
		if !ok {
			in.notef("no %s mass: no time in the range with %s and the flue's flow, temperature and pressure", g.gas, g.metric)
			continue
		}
		sec.Gases = append(sec.Gases, EmittedGas{Gas: string(g.gas), MassKg: kg, Samples: em.Samples[g.gas], Covered: em.Covered[g.gas]})
		if span := in.to.Sub(in.from); em.Covered[g.gas] < span {
			in.notef("%s measured over %s of the %s range (gaps over %s are not filled)", g.gas, em.Covered[g.gas], span, FlueMaxHold)
		}
	}
	return sec, nil
}

// Figures implements Section.
func (s *EmissionsSection) Figures() []Figure {
	out := make([]Figure, 0, len(s.Gases))
	for _, g := range s.Gases {
		out = append(out, Figure{Name: g.Gas + "_emitted", Value: g.MassKg.String(), Unit: "kg",
			Method: fmt.Sprintf("%s; %d samples covering %s", s.Method, g.Samples, g.Covered)})
	}
	return out
}
