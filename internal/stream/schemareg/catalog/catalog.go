// Package catalog is the table of the event stream's Avro payload schemas
// (docs/schemas.md): one .avsc file per topic and payload type, embedded
// from avsc/ and bound to the Go types that flow today. It imports the
// processors and the store for their payload types, so only the
// composition root (internal/app) imports it, passing Schemas() to
// schemareg.New; the stream port and schemareg know no payload type.
//
// A schema change must stay BACKWARD compatible (the registry refuses it
// at start-up otherwise): TestSchemasStayCompatible checks every file
// against its released version in testdata/released/ before that.
package catalog

import (
	"embed"
	"fmt"
	"reflect"

	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/kpi"
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/schemareg"
)

//go:embed avsc/*.avsc
var files embed.FS

// File returns the text of the embedded schema file name
// ("emissions.raw.Activity.avsc").
func File(name string) (string, error) {
	b, err := files.ReadFile("avsc/" + name)
	if err != nil {
		return "", fmt.Errorf("catalog: no schema file %s: %w", name, err)
	}
	return string(b), nil
}

func mustFile(name string) string {
	s, err := File(name)
	if err != nil {
		panic(err) // the files are embedded at build time; TestSchemas reads every one
	}
	return s
}

// Schemas returns the payload schemas of every topic that has one.
//
// A topic with several payload types tells them apart by the event-type
// header (Match), as their consumers do. Both types of
// emissions.calculated have TopicRecordNameStrategy subjects. Of the three
// on analytics.kpi-updates, kpi.Update keeps the subject
// analytics.kpi-updates-value it was released with (moving it would leave
// an existing registry's subject, with its history and compatibility
// level, behind: docs/schemas.md), and the supply-chain analyzer's KPIs
// have TopicRecordNameStrategy subjects beside it.
func Schemas() []schemareg.Schema {
	activityCalculated := func(h map[string]string) bool {
		return h[aggregator.HeaderEventType] == aggregator.EventTypeActivity
	}
	untyped := func(h map[string]string) bool { return h[aggregator.HeaderEventType] == "" } // the store's run summaries; the KPI calculator's updates
	// header(key, want) matches the messages whose header key is want: the
	// processors mark their outputs, so a message of another producer
	// without the mark stays JSON rather than being read as theirs.
	header := func(key, want string) func(map[string]string) bool {
		return func(h map[string]string) bool { return h[key] == want }
	}
	return []schemareg.Schema{
		schemareg.For[aggregator.Activity](stream.TopicEmissionsRaw, mustFile("emissions.raw.Activity.avsc")),
		{Topic: stream.TopicEmissionsCalculated, Type: reflect.TypeFor[aggregator.Calculated](),
			Avro: mustFile("emissions.calculated.ActivityCalculated.avsc"), Strategy: schemareg.SubjectTopicRecord, Match: activityCalculated},
		{Topic: stream.TopicEmissionsCalculated, Type: reflect.TypeFor[store.CalculatedEvent](),
			Avro: mustFile("emissions.calculated.CalculationRunSummary.avsc"), Strategy: schemareg.SubjectTopicRecord, Match: untyped},
		schemareg.For[aggregator.Aggregated](stream.TopicEmissionsAggregated, mustFile("emissions.aggregated.WindowTotals.avsc")),
		{Topic: stream.TopicAnalyticsKPIUpdates, Type: reflect.TypeFor[kpi.Update](),
			Avro: mustFile("analytics.kpi-updates.KPIUpdate.avsc"), Match: untyped},
		{Topic: stream.TopicAnalyticsKPIUpdates, Type: reflect.TypeFor[supplychain.OrderKPIs](),
			Avro: mustFile("analytics.kpi-updates.OrderKPIs.avsc"), Strategy: schemareg.SubjectTopicRecord, Match: header(supplychain.HeaderEventType, supplychain.EventTypeOrderKPIs)},
		{Topic: stream.TopicAnalyticsKPIUpdates, Type: reflect.TypeFor[supplychain.ShipmentKPIs](),
			Avro: mustFile("analytics.kpi-updates.ShipmentKPIs.avsc"), Strategy: schemareg.SubjectTopicRecord, Match: header(supplychain.HeaderEventType, supplychain.EventTypeShipmentKPIs)},
		schemareg.For[anomaly.Reading](stream.TopicIoTSensorReadings, mustFile("iot.sensor-readings.Reading.avsc")),
		{Topic: stream.TopicIoTAlerts, Type: reflect.TypeFor[anomaly.Alert](),
			Avro: mustFile("iot.alerts.Alert.avsc"), Match: header(anomaly.HeaderEventType, anomaly.EventTypeAnomaly)},
		{Topic: stream.TopicEmissionsAnomalies, Type: reflect.TypeFor[anomaly.Alert](),
			Avro: mustFile("emissions.anomalies.Alert.avsc"), Match: header(anomaly.HeaderEventType, anomaly.EventTypeAnomaly)},
		schemareg.For[supplychain.Order](stream.TopicSupplyChainOrders, mustFile("supply-chain.orders.Order.avsc")),
		schemareg.For[supplychain.Shipment](stream.TopicSupplyChainShipments, mustFile("supply-chain.shipments.Shipment.avsc")),
		{Topic: stream.TopicSupplyChainRiskEvents, Type: reflect.TypeFor[supplychain.RiskEvent](),
			Avro: mustFile("supply-chain.risk-events.RiskEvent.avsc"), Match: header(supplychain.HeaderEventType, supplychain.EventTypeRisk)},
	}
}
