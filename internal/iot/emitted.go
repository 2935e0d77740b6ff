package iot

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot/analytics"
	"github.com/greenlang/greenlang/internal/store"
)

// FlueMaxHold is the longest one emissions-sensor sample stands for: its
// mass rate is held until the next sample, but never beyond this, so a
// sensor that fell silent does not go on emitting on paper.
const FlueMaxHold = 15 * time.Minute

// flueGases are the gases an emissions_sensor measures, with the metric of
// each one's concentration.
var flueGases = []struct {
	gas    analytics.Gas
	metric string
}{{analytics.GasCO2, analytics.MetricCO2PPM}, {analytics.GasCH4, analytics.MetricCH4PPM}}

// Emitted is what an emissions sensor measured over a span.
type Emitted struct {
	// KgByGas is the mass of each gas emitted, kg (gases without a
	// complete sample are absent).
	KgByGas map[analytics.Gas]decimal.Decimal
	// Covered is, per gas, the part of the span its samples stand for.
	Covered map[analytics.Gas]time.Duration
	// Samples counts the complete samples per gas: concentration, flow,
	// temperature and pressure at one time.
	Samples map[analytics.Gas]int
}

// flueMetrics are the metrics an emissions sensor's mass is computed from.
func flueMetrics() []string {
	ms := []string{analytics.MetricFlueFlowM3H, analytics.MetricFlueTemperatureC, analytics.MetricFluePressureKPa}
	for _, g := range flueGases {
		ms = append(ms, g.metric)
	}
	return ms
}

// flueReadings collects an emissions sensor's readings of flueMetrics by
// metric and time, to compute the mass they measured (mass).
type flueReadings map[string]map[time.Time]decimal.Decimal

func newFlueReadings() flueReadings {
	f := flueReadings{}
	for _, m := range flueMetrics() {
		f[m] = map[time.Time]decimal.Decimal{}
	}
	return f
}

// add keeps r if it is one of flueMetrics.
func (f flueReadings) add(r store.SensorReading) {
	if m, ok := f[r.Metric]; ok {
		m[r.Time] = r.Value
	}
}

// EmittedMass is the mass of CO2 and CH4 an emissions sensor (CEMS)
// measured over [from, to), from its stored readings: at each time with a
// gas's concentration and the flue's flow, temperature and pressure, the
// mass rate corrected to standard conditions (analytics.FlueSample.
// MassRate); each rate holds from its sample to the next, at most
// FlueMaxHold (analytics.MassOverInterval), and the last sample before
// from counts for the start of the span. Gaps longer than FlueMaxHold are
// not filled: Covered says how much of the span was measured.
func EmittedMass(ctx context.Context, st *store.Store, org, device uuid.UUID, from, to time.Time) (Emitted, error) {
	f := newFlueReadings()
	if err := f.read(ctx, st, org, device, from.Add(-FlueMaxHold), to); err != nil {
		return Emitted{}, err
	}
	return f.mass(device, from, to)
}

// read adds the device's flueMetrics readings of [from, to).
func (f flueReadings) read(ctx context.Context, st *store.Store, org, device uuid.UUID, from, to time.Time) error {
	for _, metric := range flueMetrics() {
		if err := EachReading(ctx, st, org, device, metric, from, to, func(r store.SensorReading) error {
			f.add(r)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// mass is what EmittedMass computes, from the readings collected: those
// of [from, to) and the FlueMaxHold before it.
func (f flueReadings) mass(device uuid.UUID, from, to time.Time) (Emitted, error) {
	out := Emitted{KgByGas: map[analytics.Gas]decimal.Decimal{}, Covered: map[analytics.Gas]time.Duration{}, Samples: map[analytics.Gas]int{}}
	if !to.After(from) {
		return out, fmt.Errorf("iot: emitted mass: the span %s to %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	flow, temp, pres := f[analytics.MetricFlueFlowM3H], f[analytics.MetricFlueTemperatureC], f[analytics.MetricFluePressureKPa]
	for _, g := range flueGases {
		ppm := f[g.metric]
		molar, err := g.gas.MolarMass()
		if err != nil {
			return out, err
		}
		type sample struct {
			t    time.Time
			rate decimal.Decimal
		}
		var samples []sample
		for _, t := range slices.SortedFunc(maps.Keys(ppm), time.Time.Compare) {
			f, okF := flow[t]
			tc, okT := temp[t]
			p, okP := pres[t]
			if !okF || !okT || !okP {
				continue // not a complete sample: its concentration alone gives no mass
			}
			rate, err := analytics.FlueSample{ConcentrationPPM: ppm[t], FlowM3H: f, TemperatureC: tc, PressureKPa: p, MolarMassGPerMol: molar}.MassRate()
			if err != nil {
				return out, fmt.Errorf("iot: emitted mass of device %s at %s: %w", device, t.Format(time.RFC3339), err)
			}
			samples = append(samples, sample{t, rate})
		}
		// Only the last sample before the span counts for its start.
		for len(samples) > 1 && !samples[1].t.After(from) {
			samples = samples[1:]
		}
		var kg decimal.Decimal
		var covered time.Duration
		n := 0
		for i, s := range samples {
			end := s.t.Add(FlueMaxHold)
			if i+1 < len(samples) && samples[i+1].t.Before(end) {
				end = samples[i+1].t
			}
			start := s.t
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if !s.t.Before(from) {
				n++
			}
			if !end.After(start) {
				continue
			}
			m, err := analytics.MassOverInterval(s.rate, end.Sub(start))
			if err != nil {
				return out, err
			}
			kg, covered = kg.Add(m), covered+end.Sub(start)
		}
		if covered > 0 {
			out.KgByGas[g.gas], out.Covered[g.gas], out.Samples[g.gas] = kg, covered, n
		}
	}
	return out, nil
}
