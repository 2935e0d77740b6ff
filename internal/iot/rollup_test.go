package iot_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// An hour of register readings becomes activity data: the energy meter's
// kWh increase (from its last reading before the hour) as scope 2
// electricity of its site, the vehicle's fuel (through a register reset)
// as scope 1 mobile combustion; rolling the hour up again stores nothing;
// a device at no site is reported, not guessed.
func TestRollupHour(t *testing.T) {
	processortest.Engines(t, "greenlang_iot_rollup", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		org := uuid.New()
		env := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org}, Country: "US"})
		st := env.Store
		site := &store.Site{Code: "PLANT", Name: "Plant", Country: "US", Region: "US-CAMX", Active: true}
		if err := st.Sites().Create(ctx, org, site); err != nil {
			t.Fatal(err)
		}
		meter := &store.Device{DeviceType: "energy_meter", Serial: "EM-1", SiteID: &site.ID}
		truck := &store.Device{DeviceType: "vehicle_tracker", Serial: "VT-1", SiteID: &site.ID}
		stray := &store.Device{DeviceType: "energy_meter", Serial: "EM-2"}
		for _, d := range []*store.Device{meter, truck, stray} {
			if err := st.Devices().Create(ctx, org, d); err != nil {
				t.Fatal(err)
			}
		}
		hour := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
		r := func(d *store.Device, metric string, at time.Duration, v string) store.SensorReading {
			return store.SensorReading{DeviceID: d.ID, Metric: metric, Time: hour.Add(at), Value: decimal.RequireFromString(v)}
		}
		readings := []store.SensorReading{
			r(meter, "energy_kwh_total", -time.Minute, "1000"), // the baseline
			r(meter, "energy_kwh_total", 15*time.Minute, "1010"),
			r(meter, "energy_kwh_total", 45*time.Minute, "1025.5"),
			r(meter, "energy_kwh_total", 61*time.Minute, "1100"), // the next hour's
			r(truck, "fuel_l_total", 5*time.Minute, "500"),       // first ever: counts from here
			r(truck, "fuel_l_total", 20*time.Minute, "512"),
			r(truck, "fuel_l_total", 30*time.Minute, "3"), // reset (tracker replaced): 3 more litres
			r(stray, "energy_kwh_total", -time.Minute, "1"),
			r(stray, "energy_kwh_total", time.Minute, "2"),
		}
		if _, err := st.SensorReadingsInsert(ctx, org, readings); err != nil {
			t.Fatal(err)
		}
		calc, err := calculation.NewBuiltin()
		if err != nil {
			t.Fatal(err)
		}
		ru := iot.NewRollup(st, calc, catalogue(t), processortest.Logger(t))
		res, err := ru.Hour(ctx, org, hour.Add(7*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if res.Activities != 2 || res.AlreadyStored || len(res.Skipped) != 1 || !res.Hour.Equal(hour) {
			t.Fatalf("roll-up %+v", res)
		}
		want := map[string]string{"electricity": "25.5", "mobile/diesel_fuel": "15"}
		n := 0
		if err := st.ActivityRecords().Each(ctx, org, func(a *store.ActivityRecord) error {
			n++
			if q, ok := want[a.ActivityType]; !ok || !a.Quantity.Equal(decimal.RequireFromString(q)) || a.SiteID == nil || *a.SiteID != site.ID {
				t.Errorf("activity %s %s %s at %v", a.ActivityType, a.Quantity, a.Unit, a.SiteID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("%d activity records", n)
		}
		again, err := ru.Hour(ctx, org, hour)
		if err != nil || !again.AlreadyStored || again.Activities != 0 {
			t.Fatalf("second roll-up of the hour: %+v %v", again, err)
		}
		// A late reading changes the hour's input, but a device's hour is
		// stored once: nothing more.
		if _, err := st.SensorReadingsInsert(ctx, org, []store.SensorReading{r(meter, "energy_kwh_total", 50*time.Minute, "1030")}); err != nil {
			t.Fatal(err)
		}
		late, err := ru.Hour(ctx, org, hour)
		if err != nil || !late.AlreadyStored || late.Activities != 0 {
			t.Fatalf("roll-up after a late reading: %+v %v", late, err)
		}
		// An hour without readings stores nothing.
		if res, err := ru.Hour(ctx, org, hour.Add(-5*time.Hour)); err != nil || res.Activities != 0 || res.AlreadyStored {
			t.Fatalf("an empty hour: %+v %v", res, err)
		}
	})
}

// Hourly aggregates come from the stored readings in exact decimals, the
// same on both engines; hours without readings are absent.
func TestHourlyAggregates(t *testing.T) {
	processortest.Engines(t, "greenlang_iot_hourly", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		org := uuid.New()
		st := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org}}).Store
		d := &store.Device{DeviceType: "temp_humidity", Serial: "TH-1"}
		if err := st.Devices().Create(ctx, org, d); err != nil {
			t.Fatal(err)
		}
		h := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
		var rs []store.SensorReading
		for i, v := range []string{"20.1", "20.3", "19.9", "21.05"} { // three in 10:00, one in 12:00
			at := h.Add(time.Duration(i) * 10 * time.Minute)
			if i == 3 {
				at = h.Add(2*time.Hour + time.Minute)
			}
			rs = append(rs, store.SensorReading{DeviceID: d.ID, Metric: "temperature_c", Time: at, Value: decimal.RequireFromString(v)})
		}
		if _, err := st.SensorReadingsInsert(ctx, org, rs); err != nil {
			t.Fatal(err)
		}
		got, err := iot.HourlyAggregates(ctx, st, org, d.ID, "temperature_c", h, h.Add(3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[0].Hour.Equal(h) || got[0].Count != 3 || !got[0].Min.Equal(decimal.RequireFromString("19.9")) ||
			!got[0].Max.Equal(decimal.RequireFromString("20.3")) || !got[0].Mean().Equal(decimal.RequireFromString("20.1")) ||
			!got[1].Hour.Equal(h.Add(2*time.Hour)) || got[1].Count != 1 {
			t.Fatalf("hourly %+v", got)
		}
	})
}

// An emissions sensor's hour becomes scope 1 by direct measurement: each
// complete sample's mass rate (corrected to standard conditions) holds
// until the next one, at most iot.FlueMaxHold, the last sample before the
// hour counting for its start; a gap is not filled and is named.
func TestRollupEmissionsSensor(t *testing.T) {
	processortest.Engines(t, "greenlang_iot_rollup_cems", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		org := uuid.New()
		st := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org}, Country: "US"}).Store
		site := &store.Site{Code: "BOILERS", Name: "Boiler house", Country: "US", Active: true}
		if err := st.Sites().Create(ctx, org, site); err != nil {
			t.Fatal(err)
		}
		stack := &store.Device{DeviceType: "emissions_sensor", Serial: "CEMS-1", SiteID: &site.ID}
		if err := st.Devices().Create(ctx, org, stack); err != nil {
			t.Fatal(err)
		}
		hour := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
		var rs []store.SensorReading
		sample := func(at time.Duration, values map[string]string) {
			for m, v := range values {
				rs = append(rs, store.SensorReading{DeviceID: stack.ID, Metric: m, Time: hour.Add(at), Value: decimal.RequireFromString(v)})
			}
		}
		// 22,413.96954 m³/h at 0 °C and 101.325 kPa is 1,000 kmol/h: 10%
		// CO2 is 4,400.95 kg/h, 1000 ppm CH4 16.0425 kg/h.
		flue := func(co2, tempC string, extra map[string]string) map[string]string {
			m := map[string]string{"co2_ppm": co2, "flue_flow_m3h": "22413.96954", "flue_temperature_c": tempC, "flue_pressure_kpa": "101.325"}
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		sample(-5*time.Minute, flue("100000", "0", nil))                                  // holds 10:00-10:10
		sample(10*time.Minute, flue("100000", "273.15", nil))                             // twice the absolute temperature: half the mass, 10:10-10:20
		sample(20*time.Minute, flue("100000", "0", nil))                                  // 10:20-10:35 (at most 15 minutes)
		sample(40*time.Minute, flue("100000", "0", map[string]string{"ch4_ppm": "1000"})) // 10:40-10:55
		sample(50*time.Minute, map[string]string{"co2_ppm": "999999"})                    // no flow: not a sample
		if _, err := st.SensorReadingsInsert(ctx, org, rs); err != nil {
			t.Fatal(err)
		}
		em, err := iot.EmittedMass(ctx, st, org, stack.ID, hour, hour.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// CO2: 4400.95 × (10+15+15)/60 + 2200.475 × 10/60, each segment to 1 mg.
		if !em.KgByGas["CO2"].Equal(decimal.RequireFromString("3300.7125")) || em.Covered["CO2"] != 50*time.Minute || em.Samples["CO2"] != 3 ||
			!em.KgByGas["CH4"].Equal(decimal.RequireFromString("4.010625")) || em.Covered["CH4"] != 15*time.Minute {
			t.Fatalf("emitted %+v", em)
		}
		calc, err := calculation.NewBuiltin()
		if err != nil {
			t.Fatal(err)
		}
		res, err := iot.NewRollup(st, calc, catalogue(t), processortest.Logger(t)).Hour(ctx, org, hour)
		if err != nil {
			t.Fatal(err)
		}
		if res.Activities != 2 || len(res.Skipped) != 0 || len(res.Notes) != 2 {
			t.Fatalf("roll-up %+v", res)
		}
		byType := map[string]decimal.Decimal{}
		if err := st.CalculatedEmissions().Each(ctx, org, func(e *store.CalculatedEmission) error {
			if e.Scope != 1 || e.Method != "direct_measurement" || e.SiteID == nil || *e.SiteID != site.ID {
				t.Errorf("emission scope %d method %q site %v", e.Scope, e.Method, e.SiteID)
			}
			byType["CO2"] = byType["CO2"].Add(e.CO2Kg)
			byType["CH4"] = byType["CH4"].Add(e.CH4Kg)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !byType["CO2"].Equal(em.KgByGas["CO2"]) || !byType["CH4"].Equal(em.KgByGas["CH4"]) {
			t.Errorf("stored emissions %v, want %v", byType, em.KgByGas)
		}
	})
}

// The roll-up reads a register with the device's settings, as the device
// summary does: a meter that wraps at 10,000 kWh and goes from 9,990 to 5
// used 15 kWh (a rollover), where a register without a wrap point would
// take it as a reset and count 5.
func TestRollupRegisterSettings(t *testing.T) {
	processortest.Engines(t, "greenlang_iot_rollup_wrap", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		org := uuid.New()
		st := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org}, Country: "US"}).Store
		site := &store.Site{Code: "PLANT", Name: "Plant", Country: "US", Region: "US-CAMX", Active: true}
		if err := st.Sites().Create(ctx, org, site); err != nil {
			t.Fatal(err)
		}
		meter := &store.Device{DeviceType: "energy_meter", Serial: "EM-W", SiteID: &site.ID,
			Metadata: store.JSON(`{"registers": {"energy_kwh_total": {"max": "10000"}}}`)}
		if err := st.Devices().Create(ctx, org, meter); err != nil {
			t.Fatal(err)
		}
		hour := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
		if _, err := st.SensorReadingsInsert(ctx, org, []store.SensorReading{
			{DeviceID: meter.ID, Metric: "energy_kwh_total", Time: hour.Add(-time.Minute), Value: decimal.RequireFromString("9990")},
			{DeviceID: meter.ID, Metric: "energy_kwh_total", Time: hour.Add(30 * time.Minute), Value: decimal.RequireFromString("5")},
		}); err != nil {
			t.Fatal(err)
		}
		calc, err := calculation.NewBuiltin()
		if err != nil {
			t.Fatal(err)
		}
		res, err := iot.NewRollup(st, calc, catalogue(t), processortest.Logger(t)).Hour(ctx, org, hour)
		if err != nil || res.Activities != 1 {
			t.Fatalf("roll-up %+v %v", res, err)
		}
		if err := st.ActivityRecords().Each(ctx, org, func(a *store.ActivityRecord) error {
			if !a.Quantity.Equal(decimal.RequireFromString("15")) {
				t.Errorf("activity %s %s %s, want 15 kWh", a.ActivityType, a.Quantity, a.Unit)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}
