// Package analytics holds the per-device-type analytics of the IoT pipeline:
// the US EPA Air Quality Index from particulate readings, deltas from
// cumulative registers (energy, water, odometer, fuel, solar generation),
// power factor, mass emission rates from stack gas sensors, great-circle
// distance between GPS fixes, waste bin collection flags and fill rates,
// hourly aggregates and a robust anomaly score.
//
// It sits after telemetry decoding and before storage: every function is
// pure Go with no I/O, takes decimal quantities (github.com/shopspring/decimal)
// and returns decimal results. Where a division is needed the result is
// rounded with DivRound at a scale named beside the function. The stateful
// helpers (RegisterTracker, HourlyAccumulator) keep their
// state per (device, metric) and are safe for concurrent use.
//
// docs/iot-analytics.md describes each analytic, its formula, its constants
// and their sources, and what the caller must supply.
package analytics
