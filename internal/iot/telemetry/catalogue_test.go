package telemetry_test

import (
	"slices"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/store"
)

// deviceTypes are the device types the store registers devices as: the
// catalogue must cover exactly those, or a registered device's every
// payload would be refused.
var deviceTypes = store.DeviceTypes()

func mustCatalogue(t testing.TB) *telemetry.Catalogue {
	t.Helper()
	c, err := telemetry.LoadCatalogue()
	if err != nil {
		t.Fatalf("LoadCatalogue: %v", err)
	}
	return c
}

func TestEmbeddedCatalogueCoversDeviceTypes(t *testing.T) {
	t.Parallel()
	c := mustCatalogue(t)
	if got := c.Types(); !slices.Equal(got, deviceTypes) {
		t.Fatalf("Types() = %v, want %v", got, deviceTypes)
	}
	required := map[string][]string{
		"air_quality":      {"pm25", "pm10", "co2_ppm", "temperature_c", "humidity_pct"},
		"energy_meter":     {"energy_kwh_total", "power_kw", "apparent_power_kva", "power_factor", "voltage_v", "current_a"},
		"water_flow":       {"volume_m3_total", "flow_lpm"},
		"emissions_sensor": {"co2_ppm", "ch4_ppm", "flue_flow_m3h", "flue_temperature_c", "flue_pressure_kpa"},
		"temp_humidity":    {"temperature_c", "humidity_pct"},
		"vehicle_tracker":  {"latitude", "longitude", "speed_kmh", "odometer_km", "fuel_l_total"},
		"solar_panel":      {"energy_kwh_total", "power_kw", "irradiance_wm2"},
		"waste_bin":        {"fill_level_pct", "weight_kg"},
	}
	counters := []string{"energy_kwh_total", "volume_m3_total", "odometer_km", "fuel_l_total"}
	for _, name := range deviceTypes {
		typ, ok := c.Type(name)
		if !ok {
			t.Fatalf("Type(%q) missing", name)
		}
		if typ.Description == "" {
			t.Errorf("%s: no description", name)
		}
		for _, mn := range required[name] {
			m, ok := typ.Metric(mn)
			if !ok {
				t.Errorf("%s: metric %s missing", name, mn)
				continue
			}
			wantKind := telemetry.KindGauge
			if slices.Contains(counters, mn) {
				wantKind = telemetry.KindCounter
			}
			if m.Kind != wantKind {
				t.Errorf("%s.%s: kind %s, want %s", name, mn, m.Kind, wantKind)
			}
		}
		for _, m := range typ.Metrics() {
			if m.Unit == "" || m.Description == "" || m.Min.GreaterThan(m.Max) {
				t.Errorf("%s.%s: incomplete: %+v", name, m.Name, m)
			}
			if got := m.AcceptedUnits(); len(got) == 0 || got[0] != m.Unit {
				t.Errorf("%s.%s: AcceptedUnits %v does not start with %s", name, m.Name, got, m.Unit)
			}
		}
	}
	if _, ok := c.Type("toaster"); ok {
		t.Error(`Type("toaster") found`)
	}
	aq, _ := c.Type("air_quality")
	if _, ok := aq.Metric("energy_kwh_total"); ok {
		t.Error("air_quality has energy_kwh_total")
	}
}

func TestSpecificRanges(t *testing.T) {
	t.Parallel()
	c := mustCatalogue(t)
	for _, tc := range []struct{ typ, metric, unit, min, max string }{
		{"air_quality", "pm25", "µg/m³", "0", "1000"},
		{"energy_meter", "power_factor", "1", "-1", "1"},
		{"waste_bin", "fill_level_pct", "%", "0", "100"},
		{"vehicle_tracker", "latitude", "°", "-90", "90"},
		{"vehicle_tracker", "longitude", "°", "-180", "180"},
		{"water_flow", "flow_lpm", "L/min", "-1000000", "1000000"},
		{"emissions_sensor", "flue_flow_m3h", "m³/h", "0", "10000000"},
	} {
		typ, _ := c.Type(tc.typ)
		m, ok := typ.Metric(tc.metric)
		if !ok {
			t.Fatalf("%s.%s missing", tc.typ, tc.metric)
		}
		if m.Unit != tc.unit || m.Min.String() != tc.min || m.Max.String() != tc.max {
			t.Errorf("%s.%s = %s %s..%s, want %s %s..%s", tc.typ, tc.metric, m.Unit, m.Min, m.Max, tc.unit, tc.min, tc.max)
		}
	}
}

func TestMetricConvert(t *testing.T) {
	t.Parallel()
	c := mustCatalogue(t)
	for _, tc := range []struct{ typ, metric, value, unit, want, err string }{
		{"energy_meter", "energy_kwh_total", "1500", "Wh", "1.5", ""},
		{"energy_meter", "energy_kwh_total", "2", "MWh", "2000", ""},
		{"energy_meter", "energy_kwh_total", "2", "", "2", ""},
		{"energy_meter", "energy_kwh_total", "2", "kWh", "2", ""},
		{"energy_meter", "energy_kwh_total", "2", "J", "", `unit "J" is not accepted for energy_kwh_total (accepted: kWh, Wh, MWh)`},
		{"water_flow", "flow_lpm", "2.5", "l/s", "150", ""},
		{"water_flow", "flow_lpm", "0.001", "m3/s", "60", ""},
		{"water_flow", "volume_m3_total", "1234", "l", "1.234", ""},
		{"temp_humidity", "temperature_c", "293.15", "K", "20", ""},
		{"temp_humidity", "temperature_c", "21.5", "Cel", "21.5", ""},
		{"temp_humidity", "humidity_pct", "40", "%RH", "40", ""},
		{"waste_bin", "fill_level_pct", "0.5", "/", "50", ""},
		{"waste_bin", "fill_level_pct", "40", "%RH", "", `unit "%RH" is not accepted for fill_level_pct (accepted: %, /)`},
		{"vehicle_tracker", "speed_kmh", "10", "m/s", "36", ""},
		{"vehicle_tracker", "latitude", "51.5", "lat", "51.5", ""},
		{"vehicle_tracker", "longitude", "51.5", "lat", "", `unit "lat" is not accepted for longitude (accepted: °, deg, lon)`},
		{"emissions_sensor", "flue_pressure_kpa", "1013.25", "hPa", "101.325", ""},
	} {
		typ, _ := c.Type(tc.typ)
		m, _ := typ.Metric(tc.metric)
		got, err := m.Convert(decimal.RequireFromString(tc.value), tc.unit)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s %s %s: err %v, want %s", tc.metric, tc.value, tc.unit, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s %s %s: %v", tc.metric, tc.value, tc.unit, err)
		case !got.Equal(decimal.RequireFromString(tc.want)):
			t.Errorf("%s %s %s = %s, want %s", tc.metric, tc.value, tc.unit, got, tc.want)
		}
	}
}
