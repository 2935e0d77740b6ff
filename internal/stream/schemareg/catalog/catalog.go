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
	"github.com/greenlang/greenlang/internal/processor/kpi"
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

// Schemas returns the payload schemas of every topic that has one. Both
// payload types of emissions.calculated are registered under
// TopicRecordNameStrategy subjects and told apart by the event-type
// header (aggregator.HeaderEventType), as the kpi processor does.
func Schemas() []schemareg.Schema {
	activityCalculated := func(h map[string]string) bool {
		return h[aggregator.HeaderEventType] == aggregator.EventTypeActivity
	}
	untyped := func(h map[string]string) bool { return h[aggregator.HeaderEventType] == "" } // the store's run summaries; the KPI calculator's updates
	return []schemareg.Schema{
		schemareg.For[aggregator.Activity](stream.TopicEmissionsRaw, mustFile("emissions.raw.Activity.avsc")),
		{Topic: stream.TopicEmissionsCalculated, Type: reflect.TypeFor[aggregator.Calculated](),
			Avro: mustFile("emissions.calculated.ActivityCalculated.avsc"), Strategy: schemareg.SubjectTopicRecord, Match: activityCalculated},
		{Topic: stream.TopicEmissionsCalculated, Type: reflect.TypeFor[store.CalculatedEvent](),
			Avro: mustFile("emissions.calculated.CalculationRunSummary.avsc"), Strategy: schemareg.SubjectTopicRecord, Match: untyped},
		schemareg.For[aggregator.Aggregated](stream.TopicEmissionsAggregated, mustFile("emissions.aggregated.WindowTotals.avsc")),
		// The supply-chain analyzer's KPIs share the topic, marked by an
		// event-type header; they have no Avro schema yet and stay JSON.
		{Topic: stream.TopicAnalyticsKPIUpdates, Type: reflect.TypeFor[kpi.Update](),
			Avro: mustFile("analytics.kpi-updates.KPIUpdate.avsc"), Match: untyped},
	}
}
