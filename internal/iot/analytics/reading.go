package analytics

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// ErrInvalidInput is wrapped by every error this package returns for an
// input outside its domain (a negative concentration, a power factor above
// one, a latitude beyond ±90, …). Test for it with errors.Is.
var ErrInvalidInput = errors.New("invalid input")

// Reading is one telemetry value: which device sent it, which metric it is
// (one of the Metric… constants), its value and when it was measured.
type Reading struct {
	Device string
	Metric string
	Value  decimal.Decimal
	Time   time.Time
}

// Metric names, by device type, as they arrive from the telemetry decoder.
const (
	// air_quality (and temp_humidity for temperature and humidity)
	MetricPM25         = "pm25"          // µg/m³
	MetricPM10         = "pm10"          // µg/m³
	MetricCO2PPM       = "co2_ppm"       // ppm by volume
	MetricTemperatureC = "temperature_c" // °C
	MetricHumidityPct  = "humidity_pct"  // % relative humidity

	// energy_meter (MetricEnergyKWhTotal also for solar_panel)
	MetricEnergyKWhTotal   = "energy_kwh_total"   // cumulative register, kWh
	MetricPowerKW          = "power_kw"           // kW
	MetricApparentPowerKVA = "apparent_power_kva" // kVA
	MetricPowerFactor      = "power_factor"       // dimensionless, |PF| ≤ 1
	MetricVoltageV         = "voltage_v"          // V
	MetricCurrentA         = "current_a"          // A

	// water_flow
	MetricVolumeM3Total = "volume_m3_total" // cumulative register, m³
	MetricFlowLPM       = "flow_lpm"        // L/min

	// emissions_sensor (with MetricCO2PPM)
	MetricCH4PPM           = "ch4_ppm"            // ppm by volume
	MetricFlueFlowM3H      = "flue_flow_m3h"      // actual m³/h at flue conditions
	MetricFlueTemperatureC = "flue_temperature_c" // °C
	MetricFluePressureKPa  = "flue_pressure_kpa"  // kPa absolute

	// vehicle_tracker
	MetricLatitude   = "latitude"     // degrees, WGS-84
	MetricLongitude  = "longitude"    // degrees, WGS-84
	MetricSpeedKMH   = "speed_kmh"    // km/h
	MetricOdometerKM = "odometer_km"  // cumulative register, km
	MetricFuelLTotal = "fuel_l_total" // cumulative register, litres

	// solar_panel (with MetricEnergyKWhTotal and MetricPowerKW)
	MetricIrradianceWM2 = "irradiance_wm2" // W/m²

	// waste_bin
	MetricFillLevelPct = "fill_level_pct" // % of capacity
	MetricWeightKG     = "weight_kg"      // kg
)

// IsCumulative reports whether metric is a cumulative register, whose
// readings must go through a RegisterTracker to become consumption or
// generation over an interval: energy_kwh_total, volume_m3_total,
// odometer_km and fuel_l_total.
func IsCumulative(metric string) bool {
	switch metric {
	case MetricEnergyKWhTotal, MetricVolumeM3Total, MetricOdometerKM, MetricFuelLTotal:
		return true
	}
	return false
}
