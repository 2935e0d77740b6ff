// Package telemetry knows the IoT device types and reads their telemetry.
//
// It sits between the MQTT ingestion (internal/mqtt), which hands it raw
// payloads from devices, and the stores and processors that take readings.
// The device-type catalogue (devicetypes.json, embedded) lists each device
// type's metrics with their canonical unit, kind (gauge or counter) and
// valid range. Catalogue.Parse turns one payload, native JSON or SenML JSON
// (RFC 8428), into exact decimal readings in those units, refusing bad
// readings one by one with a reason. docs/iot-payloads.md is the user
// documentation of the formats.
package telemetry
