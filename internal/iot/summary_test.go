package iot_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

func wantDec(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func wantNull(t *testing.T, what string, got decimal.NullDecimal, want string) {
	t.Helper()
	switch {
	case want == "" && got.Valid:
		t.Errorf("%s = %s, want null", what, got.Decimal)
	case want != "" && !got.Valid:
		t.Errorf("%s is null, want %s", what, want)
	case want != "":
		wantDec(t, what, got.Decimal, want)
	}
}

func metric(t *testing.T, s *iot.Summary, name string) iot.MetricSummary {
	t.Helper()
	for _, m := range s.Metrics {
		if m.Metric == name {
			return m
		}
	}
	t.Fatalf("no metric %s in the summary", name)
	return iot.MetricSummary{}
}

// The summary of each of the eight device types, on stored readings, checked
// against figures worked out by hand.
func TestSummarize(t *testing.T) {
	processortest.Engines(t, "greenlang_iot_summary", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		st := open(t)
		org := uuid.New()
		if err := st.OrganizationCreate(ctx, &store.Organization{ID: org, Name: "Acme", Slug: "acme-summary", Country: "US"}); err != nil {
			t.Fatal(err)
		}
		device := func(typ, serial, metadata string) *store.Device {
			t.Helper()
			d := &store.Device{DeviceType: typ, Serial: serial, Status: store.DeviceRegistered, Metadata: store.JSON(metadata)}
			if err := st.Devices().Create(ctx, org, d); err != nil {
				t.Fatal(err)
			}
			return d
		}
		day := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		var rs []store.SensorReading
		add := func(d *store.Device, m string, at time.Duration, v string) {
			rs = append(rs, store.SensorReading{DeviceID: d.ID, Metric: m, Time: day.Add(at), Value: dec(v)})
		}
		summarize := func(d *store.Device, from, to time.Time) *iot.Summary {
			t.Helper()
			s, err := iot.Summarize(ctx, st, org, d.ID, from, to)
			if err != nil {
				t.Fatalf("%s: %v", d.DeviceType, err)
			}
			return s
		}
		h := time.Hour

		// air_quality. 1 June: PM2.5 35.8 and 36.0 in each of the 24 hours
		// (hourly mean 35.9: AQI 102, Unhealthy for Sensitive Groups), PM10
		// 100 in 20 hours (AQI 51 + 49/99 × 45 = 73.27 → 73): complete,
		// PM2.5 responsible. 2 June: PM2.5 50 in 17 hours only: incomplete,
		// no AQI. 3 June: PM2.5 10.0 in 18 hours (51 + 49/26.3 × 0.9 =
		// 52.68 → 53, Moderate); PM10 300 in 5 hours is incomplete and
		// left out, so the day is partial.
		aq := device("air_quality", "AQ-1", "")
		for i := range 24 {
			add(aq, "pm25", time.Duration(i)*h+10*time.Minute, "35.8")
			add(aq, "pm25", time.Duration(i)*h+40*time.Minute, "36.0")
			if i < 20 {
				add(aq, "pm10", time.Duration(i)*h+10*time.Minute, "100")
			}
			if i < 17 {
				add(aq, "pm25", 24*h+time.Duration(i)*h, "50")
			}
			if i < 18 {
				add(aq, "pm25", 48*h+time.Duration(i)*h, "10.0")
			}
			if i < 5 {
				add(aq, "pm10", 48*h+time.Duration(i)*h, "300")
			}
		}
		add(aq, "co2_ppm", 5*h, "400")
		add(aq, "co2_ppm", 6*h, "500")

		// energy_meter: a 5-digit register (wraps at 100000) that cannot
		// plausibly gain more than 100 kWh an hour. From the reading before
		// the range (99990): +5, +4.9, rollover to 0.3 (+0.4), +50, a drop
		// to 2 that would need 99951.7 kWh in an hour, so a reset (+2),
		// +8: 70.3 kWh. Power factor: 0.9 measured, 8/10 = 0.8 computed,
		// 12 kW on 10 kVA rejected, a lone kW reading unused: mean 0.85.
		em := device("energy_meter", "EM-1", `{"registers": {"energy_kwh_total": {"max": "100000", "max_rate_per_hour": 100}}, "other": true}`)
		for i, v := range []string{"99990", "99995", "99999.9", "0.3", "50.3", "2", "10"} {
			add(em, "energy_kwh_total", time.Duration(i-1)*h, v)
		}
		add(em, "power_factor", 0, "0.9")
		add(em, "power_kw", h, "8")
		add(em, "apparent_power_kva", h, "10")
		add(em, "power_kw", 2*h, "12")
		add(em, "apparent_power_kva", 2*h, "10")
		add(em, "power_kw", 3*h, "5")

		// water_flow, no settings: a drop is a reset counting the new
		// value. 1.75 + 0 + 3 + 1 = 5.75 m³.
		wf := device("water_flow", "WF-1", "")
		for i, v := range []string{"10.5", "12.25", "12.25", "3", "4"} {
			add(wf, "volume_m3_total", time.Duration(i)*h, v)
		}

		// temp_humidity: statistics only.
		th := device("temp_humidity", "TH-1", "")
		for i, v := range []string{"20", "22.5", "19"} {
			add(th, "temperature_c", time.Duration(i)*h, v)
		}
		add(th, "humidity_pct", 0, "40")
		add(th, "humidity_pct", h, "45")

		// vehicle_tracker: from Nashville BNA (the last fix before the
		// range) to Los Angeles LAX, 2886.448 km by GPS, then parked; a
		// latitude without its longitude is left out. The odometer rose
		// 2900 km and 290 L were used: 10 L/100 km on the odometer.
		vt := device("vehicle_tracker", "VT-1", "")
		add(vt, "latitude", -h, "36.12")
		add(vt, "longitude", -h, "-86.67")
		add(vt, "odometer_km", -h, "10000")
		add(vt, "fuel_l_total", -h, "1000")
		for _, at := range []time.Duration{20 * h, 21 * h} {
			add(vt, "latitude", at, "33.94")
			add(vt, "longitude", at, "-118.40")
		}
		add(vt, "latitude", 22*h, "33.95")
		add(vt, "odometer_km", 20*h, "12900")
		add(vt, "fuel_l_total", 20*h, "1290")
		// A second vehicle without odometer: 1° of longitude on the
		// equator, 111.195 km by GPS, on 10 L: 1000 / 111.195 = 8.993.
		vt2 := device("vehicle_tracker", "VT-2", "")
		for i, lon := range []string{"0", "1"} {
			add(vt2, "latitude", time.Duration(i)*h, "0")
			add(vt2, "longitude", time.Duration(i)*h, lon)
			add(vt2, "fuel_l_total", time.Duration(i)*h, []string{"50", "60"}[i])
		}

		// solar_panel rated 10 kW: 48 kWh over the 24 hours of the range,
		// CF = 48 / (10 × 24) = 0.2; peak 7.5 kW at 12:00.
		sp := device("solar_panel", "SP-1", `{"rated_kw": "10"}`)
		for i, v := range []string{"3520.0", "3560.5", "3568.0"} {
			add(sp, "energy_kwh_total", time.Duration(i)*11*h, v)
		}
		for i, v := range []string{"0.1", "7.5", "6.2"} {
			add(sp, "power_kw", time.Duration(i+11)*h, v)
		}

		// waste_bin: emptied at 07:00 (85 → 5), then 5 → 35 in 12 hours:
		// 2.5 %/h, full (100 %) in 65 / 2.5 = 26 h, at the 80 % threshold
		// in 45 / 2.5 = 18 h.
		wb := device("waste_bin", "WB-1", "")
		for _, x := range []struct {
			at time.Duration
			v  string
		}{{0, "70"}, {6 * h, "85"}, {7 * h, "5"}, {13 * h, "20"}, {14 * h, "19"}, {19 * h, "35"}} {
			add(wb, "fill_level_pct", x.at, x.v)
		}
		add(wb, "weight_kg", 19*h, "12.5")

		// emissions_sensor: one complete sample (1,000 kmol/h of flue gas
		// at standard conditions, 10% CO2: 4,400.95 kg/h) held 15 minutes;
		// the second concentration has no flue conditions.
		es := device("emissions_sensor", "ES-1", "")
		add(es, "co2_ppm", 0, "100000")
		add(es, "co2_ppm", h, "120000")
		add(es, "flue_flow_m3h", 0, "22413.96954")
		add(es, "flue_temperature_c", 0, "0")
		add(es, "flue_pressure_kpa", 0, "101.325")

		if _, err := st.SensorReadingsInsert(ctx, org, rs); err != nil {
			t.Fatal(err)
		}

		t.Run("air_quality", func(t *testing.T) {
			s := summarize(aq, day, day.Add(72*h))
			if s.Readings != 48+20+17+18+5+2 || !s.First.Equal(day.Add(10*time.Minute)) || !s.Last.Equal(day.Add(65*h)) {
				t.Errorf("readings %d, first %v, last %v", s.Readings, s.First, s.Last)
			}
			co2 := metric(t, s, "co2_ppm")
			if co2.Count != 2 || co2.Unit != "ppm" {
				t.Errorf("co2 %+v", co2)
			}
			wantNull(t, "co2 mean", co2.Mean, "450")
			wantNull(t, "co2 min", co2.Min, "400")
			wantNull(t, "co2 max", co2.Max, "500")
			if m := metric(t, s, "humidity_pct"); m.Count != 0 || m.Mean.Valid {
				t.Errorf("humidity without readings: %+v", m)
			}
			sec, ok := s.Section.(*iot.AirQualitySection)
			if !ok || len(sec.Days) != 3 {
				t.Fatalf("section %#v", s.Section)
			}
			d1, d2, d3 := sec.Days[0], sec.Days[1], sec.Days[2]
			if d1.Date != "2025-06-01" || d1.Status != "complete" || d1.AQI == nil || *d1.AQI != 102 ||
				d1.Category != "Unhealthy for Sensitive Groups" || d1.Responsible != "PM2.5" || d1.PM25.Hours != 24 || d1.PM10.Hours != 20 {
				t.Errorf("1 June: %+v", d1)
			}
			wantNull(t, "1 June PM2.5", d1.PM25.Mean, "35.9")
			wantNull(t, "1 June PM10", d1.PM10.Mean, "100")
			if d2.Status != "incomplete" || d2.AQI != nil || d2.PM25.Hours != 17 || d2.PM25.Complete || d2.PM10.Hours != 0 {
				t.Errorf("2 June: %+v", d2)
			}
			wantNull(t, "2 June PM2.5", d2.PM25.Mean, "50")
			if d3.Status != "partial" || d3.AQI == nil || *d3.AQI != 53 || d3.Category != "Moderate" || d3.Responsible != "PM2.5" || d3.PM10.Complete {
				t.Errorf("3 June: %+v", d3)
			}
			if sec.Worst == nil || sec.Worst.Date != "2025-06-01" {
				t.Errorf("worst %+v", sec.Worst)
			}
			js, err := json.Marshal(s)
			if err != nil || !strings.Contains(string(js), `"aqi":102`) || !strings.Contains(string(js), `"date":"2025-06-02","pm25":{"hours":17,"mean_ugm3":"50","complete":false}`) {
				t.Errorf("JSON %v %s", err, js)
			}
			figs := strings.Join(figureLines(s.Section), "\n")
			for _, want := range []string{"aqi 2025-06-01\t102 Unhealthy for Sensitive Groups (PM2.5)", "aqi 2025-06-02\tincomplete", "EPA-454/B-24-002 Table 6",
				"pm25_24h_mean 2025-06-02\t50 (incomplete) [17 of 24 h]"} {
				if !strings.Contains(figs, want) {
					t.Errorf("figures lack %q:\n%s", want, figs)
				}
			}
		})

		t.Run("energy_meter", func(t *testing.T) {
			s := summarize(em, day, day.Add(6*h))
			sec := s.Section.(*iot.EnergySection)
			e := sec.Energy
			wantDec(t, "kWh", e.Increase, "70.3")
			if e.Intervals != 6 || e.Rollovers != 1 || e.Resets != 1 || e.Rejected != 0 || e.Baseline == nil || !e.Baseline.Equal(day.Add(-h)) || e.Unit != "kWh" {
				t.Errorf("energy %+v", e)
			}
			wantNull(t, "max", e.Max, "100000")
			pf := sec.PowerFactor
			if pf == nil || pf.Samples != 2 || pf.Measured != 1 || pf.Computed != 1 || pf.Rejected != 1 {
				t.Fatalf("power factor %+v", pf)
			}
			wantDec(t, "PF mean", pf.Mean, "0.85")
			if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "power factor at 2025-06-01T02:00:00Z") {
				t.Errorf("notes %q", s.Notes)
			}
			// Consecutive ranges add up: 10.3 + 60 = 70.3.
			a, b := summarize(em, day, day.Add(3*h)), summarize(em, day.Add(3*h), day.Add(6*h))
			wantDec(t, "first half", a.Section.(*iot.EnergySection).Energy.Increase, "10.3")
			wantDec(t, "second half", b.Section.(*iot.EnergySection).Energy.Increase, "60")
		})

		t.Run("water_flow", func(t *testing.T) {
			s := summarize(wf, day, day.Add(24*h))
			v := s.Section.(*iot.WaterSection).Volume
			wantDec(t, "m³", v.Increase, "5.75")
			if v.Resets != 1 || v.Rollovers != 0 || v.Baseline != nil || v.Unit != "m³" || v.ResetPolicy != "new_value" {
				t.Errorf("volume %+v", v)
			}
		})

		t.Run("temp_humidity", func(t *testing.T) {
			s := summarize(th, day, day.Add(24*h))
			if s.Section != nil || s.Readings != 5 {
				t.Errorf("section %#v, readings %d", s.Section, s.Readings)
			}
			temp := metric(t, s, "temperature_c")
			wantNull(t, "mean", temp.Mean, "20.5")
			wantNull(t, "min", temp.Min, "19")
			wantNull(t, "max", temp.Max, "22.5")
			if temp.Unit != "°C" || !temp.First.Equal(day) || !temp.Last.Equal(day.Add(2*h)) {
				t.Errorf("temperature %+v", temp)
			}
			wantNull(t, "humidity mean", metric(t, s, "humidity_pct").Mean, "42.5")
		})

		t.Run("vehicle_tracker", func(t *testing.T) {
			s := summarize(vt, day, day.Add(24*h))
			v := s.Section.(*iot.VehicleSection)
			wantDec(t, "GPS km", v.GPSDistanceKM, "2886.448")
			wantDec(t, "odometer km", v.Odometer.Increase, "2900")
			wantDec(t, "fuel L", v.Fuel.Increase, "290")
			wantNull(t, "L/100 km", v.FuelEconomy, "10")
			if v.Fixes != 3 || v.UnpairedReadings != 1 || v.FuelEconomyBasis != "odometer" {
				t.Errorf("vehicle %+v", v)
			}
			s = summarize(vt2, day, day.Add(24*h))
			v = s.Section.(*iot.VehicleSection)
			wantDec(t, "GPS km", v.GPSDistanceKM, "111.195")
			wantNull(t, "L/100 km", v.FuelEconomy, "8.993")
			if v.FuelEconomyBasis != "gps" || v.Odometer.Intervals != 0 {
				t.Errorf("vehicle 2 %+v", v)
			}
		})

		t.Run("solar_panel", func(t *testing.T) {
			s := summarize(sp, day, day.Add(24*h))
			sec := s.Section.(*iot.SolarSection)
			wantDec(t, "kWh", sec.Generation.Increase, "48")
			wantNull(t, "CF", sec.CapacityFactor, "0.2")
			wantNull(t, "peak", sec.PeakPowerKW, "7.5")
			if sec.PeakAt == nil || !sec.PeakAt.Equal(day.Add(12*h)) {
				t.Errorf("peak at %v", sec.PeakAt)
			}
		})

		t.Run("waste_bin", func(t *testing.T) {
			s := summarize(wb, day, day.Add(24*h))
			w := s.Section.(*iot.WasteSection)
			wantNull(t, "latest", w.LatestFillPct, "35")
			wantNull(t, "rate", w.FillRatePctPerHour, "2.5")
			wantNull(t, "hours to full", w.HoursToFull, "26")
			wantNull(t, "hours to threshold", w.HoursToThreshold, "18")
			if w.NeedsCollection || w.Emptyings != 1 || !w.CycleStart.Equal(day.Add(7*h)) || !w.FullAt.Equal(day.Add(45*h)) || !w.ThresholdAt.Equal(day.Add(37*h)) {
				t.Errorf("waste %+v", w)
			}
			wantNull(t, "weight", metric(t, s, "weight_kg").Max, "12.5")
		})

		t.Run("emissions_sensor", func(t *testing.T) {
			s := summarize(es, day, day.Add(24*h))
			wantNull(t, "CO2 mean", metric(t, s, "co2_ppm").Mean, "110000")
			if s.Readings != 5 || len(s.Metrics) != 6 {
				t.Errorf("readings %d, metrics %d", s.Readings, len(s.Metrics))
			}
			sec, ok := s.Section.(*iot.EmissionsSection)
			if !ok || len(sec.Gases) != 1 || sec.Gases[0].Gas != "CO2" || sec.Gases[0].Samples != 1 || sec.Gases[0].Covered != iot.FlueMaxHold {
				t.Fatalf("section %#v", s.Section)
			}
			wantDec(t, "CO2 emitted", sec.Gases[0].MassKg, "1100.2375")
			if notes := strings.Join(s.Notes, "|"); !strings.Contains(notes, "no CH4 mass") || !strings.Contains(notes, "CO2 measured over 15m0s") {
				t.Errorf("notes %q", notes)
			}
		})

		t.Run("errors", func(t *testing.T) {
			if _, err := iot.Summarize(ctx, st, org, uuid.New(), day, day.Add(h)); store.CodeOf(err) != store.CodeNotFound {
				t.Errorf("unknown device: %v", err)
			}
			if _, err := iot.Summarize(ctx, st, org, aq.ID, day, day); err == nil {
				t.Error("empty range: no error")
			}
			bad := device("energy_meter", "EM-BAD", `{"registers": {"energy_kwh_total": {"max": "-1"}}}`)
			if _, err := iot.Summarize(ctx, st, org, bad.ID, day, day.Add(h)); err == nil || !strings.Contains(err.Error(), "Max -1 is negative") {
				t.Errorf("bad metadata: %v", err)
			}
		})
	})
}

// figureLines renders a section's figures as "name\tvalue\tunit\tmethod".
func figureLines(s iot.Section) []string {
	var out []string
	for _, f := range s.Figures() {
		out = append(out, strings.Join([]string{f.Name, f.Value, f.Unit, f.Method}, "\t"))
	}
	return out
}

func TestParseDeviceSettings(t *testing.T) {
	t.Parallel()
	s, err := iot.ParseDeviceSettings(store.JSON(`{"registers": {"odometer_km": {"max": 1000000, "reset": "zero"}}, "rated_kw": 4.5}`))
	if err != nil || !s.Registers["odometer_km"].Max.Equal(dec("1000000")) || !s.RatedKW.Decimal.Equal(dec("4.5")) {
		t.Errorf("%+v %v", s, err)
	}
	for _, bad := range []string{`{"registers": {"pm25": {}}}`, `{"registers": {"odometer_km": {"reset": "sometimes"}}}`, `[1]`, `{"rated_kw": "x"}`, `{"rated_kw": 0}`} {
		if _, err := iot.ParseDeviceSettings(store.JSON(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
