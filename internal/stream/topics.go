package stream

import (
	"fmt"
	"regexp"
	"time"
)

// Compression is a topic's storage/wire compression.
type Compression string

// Compression codecs. JetStream stores with s2 for every codec but None.
const (
	CompressionNone   Compression = "none"
	CompressionGzip   Compression = "gzip"
	CompressionSnappy Compression = "snappy"
	CompressionLZ4    Compression = "lz4"
	CompressionZstd   Compression = "zstd"
)

// Topic is one topic of the catalogue.
type Topic struct {
	// Name is the topic's name, e.g. "emissions.raw".
	Name string
	// Partitions bounds parallelism: messages with the same key go to the
	// same partition and keep their order. It may grow, never shrink.
	Partitions int32
	// Retention is how long messages are kept; 0 keeps them forever.
	Retention time.Duration
	// Compacted topics keep at least the latest message per key (state
	// topics: inventory levels, device status).
	Compacted bool
	// Compression of stored batches.
	Compression Compression
}

// Topic names: the seed's catalogue (section 4 of the seed, ARCHITECTURE.md "Events").
const (
	TopicEmissionsRaw        = "emissions.raw"
	TopicEmissionsCalculated = "emissions.calculated"
	TopicEmissionsAggregated = "emissions.aggregated"
	TopicEmissionsAlerts     = "emissions.alerts"
	TopicEmissionsAnomalies  = "emissions.anomalies"

	TopicSupplyChainOrders          = "supply-chain.orders"
	TopicSupplyChainShipments       = "supply-chain.shipments"
	TopicSupplyChainInventory       = "supply-chain.inventory"
	TopicSupplyChainSupplierUpdates = "supply-chain.supplier-updates"
	TopicSupplyChainRiskEvents      = "supply-chain.risk-events"

	TopicIoTSensorReadings = "iot.sensor-readings"
	TopicIoTDeviceStatus   = "iot.device-status"
	TopicIoTAlerts         = "iot.alerts"
	TopicIoTCommands       = "iot.commands"

	TopicCSRDDataCollection = "csrd.data-collection"
	TopicCSRDValidations    = "csrd.validations"
	TopicCSRDApprovals      = "csrd.approvals"
	TopicCSRDPublications   = "csrd.publications"

	TopicAuditEvents          = "audit.events"
	TopicAuditChanges         = "audit.changes"
	TopicComplianceViolations = "compliance.violations"

	TopicIntegrationSAP     = "integration.sap"
	TopicIntegrationOracle  = "integration.oracle"
	TopicIntegrationWorkday = "integration.workday"
	// The seed names SAP, Oracle and Workday; the other connectors' records
	// get topics of their own alike (docs/erp.md).
	TopicIntegrationDynamics365 = "integration.dynamics365"
	TopicIntegrationNetSuite    = "integration.netsuite"
	TopicIntegrationSpreadsheet = "integration.spreadsheet"
	// TopicIntegrationErrors is the dead-letter topic (see DeadLetter).
	TopicIntegrationErrors = "integration.errors"

	TopicAnalyticsKPIUpdates    = "analytics.kpi-updates"
	TopicAnalyticsBenchmarks    = "analytics.benchmarks"
	TopicAnalyticsMLPredictions = "analytics.ml-predictions"
)

const day = 24 * time.Hour

// Catalogue returns every topic of the platform, declared once. The seed
// gives only emissions.raw's settings (12 partitions, retention.ms
// 2592000000 = 30 days), names the two compacted topics, and bounds
// retention to "7-90 days per topic"; every other number is our choice:
//   - partitions: 12 for the high-volume ingest paths (raw and calculated
//     emissions, sensor readings), 6 for medium-volume ones, 3 for the rest;
//   - retention: 7 days for replayable feeds (sensor readings, ERP extracts,
//     commands, KPI updates), 90 days (the seed's maximum) for compliance,
//     audit and CSRD workflow, 30 days otherwise; compacted topics keep
//     their latest value per key forever;
//   - compression: zstd for bulky high-volume topics, lz4 (cheap on CPU)
//     elsewhere. The seed is silent on compression.
//
// The returned slice is a fresh copy; callers may change it (tests do).
func Catalogue() []Topic {
	t := func(name string, partitions int32, retention time.Duration, c Compression) Topic {
		return Topic{Name: name, Partitions: partitions, Retention: retention, Compression: c}
	}
	compacted := func(name string, partitions int32) Topic {
		return Topic{Name: name, Partitions: partitions, Compacted: true, Compression: CompressionLZ4}
	}
	return []Topic{
		t(TopicEmissionsRaw, 12, 30*day, CompressionZstd),
		t(TopicEmissionsCalculated, 12, 30*day, CompressionZstd),
		t(TopicEmissionsAggregated, 6, 90*day, CompressionLZ4),
		t(TopicEmissionsAlerts, 3, 30*day, CompressionLZ4),
		t(TopicEmissionsAnomalies, 3, 30*day, CompressionLZ4),

		t(TopicSupplyChainOrders, 6, 30*day, CompressionLZ4),
		t(TopicSupplyChainShipments, 6, 30*day, CompressionLZ4),
		compacted(TopicSupplyChainInventory, 6),
		t(TopicSupplyChainSupplierUpdates, 3, 30*day, CompressionLZ4),
		t(TopicSupplyChainRiskEvents, 3, 90*day, CompressionLZ4),

		t(TopicIoTSensorReadings, 12, 7*day, CompressionZstd),
		compacted(TopicIoTDeviceStatus, 6),
		t(TopicIoTAlerts, 3, 30*day, CompressionLZ4),
		t(TopicIoTCommands, 3, 7*day, CompressionLZ4),

		t(TopicCSRDDataCollection, 3, 90*day, CompressionLZ4),
		t(TopicCSRDValidations, 3, 90*day, CompressionLZ4),
		t(TopicCSRDApprovals, 3, 90*day, CompressionLZ4),
		t(TopicCSRDPublications, 3, 90*day, CompressionLZ4),

		t(TopicAuditEvents, 6, 90*day, CompressionLZ4),
		t(TopicAuditChanges, 6, 90*day, CompressionLZ4),
		t(TopicComplianceViolations, 3, 90*day, CompressionLZ4),

		t(TopicIntegrationSAP, 6, 7*day, CompressionZstd),
		t(TopicIntegrationOracle, 6, 7*day, CompressionZstd),
		t(TopicIntegrationWorkday, 3, 7*day, CompressionZstd),
		t(TopicIntegrationDynamics365, 3, 7*day, CompressionZstd),
		t(TopicIntegrationNetSuite, 3, 7*day, CompressionZstd),
		t(TopicIntegrationSpreadsheet, 3, 7*day, CompressionZstd),
		t(TopicIntegrationErrors, 3, 30*day, CompressionLZ4),

		t(TopicAnalyticsKPIUpdates, 6, 7*day, CompressionLZ4),
		t(TopicAnalyticsBenchmarks, 3, 30*day, CompressionLZ4),
		t(TopicAnalyticsMLPredictions, 3, 30*day, CompressionLZ4),
	}
}

var topicName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$`)

// Validate checks one topic declaration.
func (t Topic) Validate() error {
	switch {
	case !topicName.MatchString(t.Name):
		return fmt.Errorf("topic name %q: want lowercase dot-separated words of [a-z0-9-]", t.Name)
	case t.Partitions < 1 || t.Partitions > 1024:
		return fmt.Errorf("topic %s: partitions %d out of range 1..1024", t.Name, t.Partitions)
	case t.Retention < 0:
		return fmt.Errorf("topic %s: negative retention", t.Name)
	}
	switch t.Compression {
	case CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd:
	default:
		return fmt.Errorf("topic %s: unknown compression %q", t.Name, t.Compression)
	}
	return nil
}
