package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hamba/avro/v2"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/kpi"
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/schemareg"
	"github.com/greenlang/greenlang/internal/stream/schemareg/catalog"
	"github.com/greenlang/greenlang/internal/stream/schemareg/schemaregtest"
)

var (
	org = uuid.MustParse("0190a000-0000-7000-8000-00000000000a")
	run = uuid.MustParse("0190a000-0000-7000-8000-0000000000ff")
	// Microsecond precision, UTC: what the Avro timestamps carry (docs/schemas.md).
	t0 = time.Date(2025, 3, 1, 10, 4, 59, 123456000, time.UTC)
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ptr(s string) *decimal.Decimal { d := dec(s); return &d }

func nullDec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(dec(s)) }

// sample is one representative value per payload type, each field set to
// a value that is not its zero value (checked by TestSamplesSetEveryField)
// so that a field the schema lost would show in the round trip.
type sample struct {
	topic   string
	headers map[string]string
	value   any
}

func samples() []sample {
	market := dec("-0.000000000000000001")
	return []sample{
		{stream.TopicEmissionsRaw, nil, aggregator.Activity{OrgID: org, Site: "PLANT-7", ActivityID: "a-1", ActivityType: "electricity",
			Quantity: dec("123456789012345678901234567890.123456789012345678"), Unit: "kWh", Region: "DE", PeriodStart: t0.Add(-24 * time.Hour),
			PeriodEnd: t0, Scope: 2, Category: 15, Method: "location", OccurredAt: t0}},
		{stream.TopicEmissionsCalculated, map[string]string{aggregator.HeaderEventType: aggregator.EventTypeActivity}, aggregator.Calculated{
			SourceEventID: "0190a000-0000-7000-8000-000000000001", OrgID: org, Site: "PLANT-7", ActivityID: "a-1", ActivityType: "electricity",
			Region: "DE", PeriodStart: t0.Add(-24 * time.Hour), OccurredAt: t0, Scope: 2, Category: 3, Method: "location-based",
			CO2eKg: dec("1234.5678901234567890123"), KgByGas: map[string]decimal.Decimal{"CO2": dec("1200.1"), "CH4": dec("0.0000000001"), "N2O": dec("-3")},
			BiogenicCO2Kg: dec("0.5"), MarketCO2eKg: &market, FactorID: "desnz-2024/electricity/DE", GWPSet: "AR6", Explanation: "123.4 kWh × 0.4 kg/kWh ü"}},
		{stream.TopicEmissionsCalculated, nil, store.CalculatedEvent{RunID: run, OrgID: org, Status: "completed", InputHash: "sha256:abc",
			GWPSet: "AR5", EngineVersion: "1.2.3", Sources: 2, Activities: 1 << 40, Emissions: 3, Superseded: 1,
			TotalsCO2eKg: map[string]decimal.Decimal{"1": dec("10.25"), "2/location": dec("7"), "2/market": dec("6.999999999999999999999"), "3": dec("1e-30")},
			StoredAt:     t0}},
		{stream.TopicEmissionsAggregated, map[string]string{aggregator.HeaderEventType: aggregator.EventTypeWindowTotals}, aggregator.Aggregated{
			OrgID: org, Scope: "2", Window: "tumbling-5m0s", WindowStart: t0.Truncate(5 * time.Minute), WindowEnd: t0.Truncate(5 * time.Minute).Add(5 * time.Minute),
			Activities: 3, CO2eKg: dec("99999999999999999999.000000000000000001"), KgByGas: map[string]decimal.Decimal{"CO2": dec("1")}}},
		{stream.TopicAnalyticsKPIUpdates, nil, kpi.Update{OrgID: org, Window: "hopping-1h0m0s-5m0s", WindowStart: t0.Add(-time.Hour), WindowEnd: t0,
			Source: stream.TopicEmissionsCalculated, Activities: 1<<31 + 7, CO2eKg: dec("42"), ByScope: map[string]decimal.Decimal{"1": dec("40"), "3": dec("2")},
			CO2eKgPerHour: dec("42.000001"), Orders: 3, SpendByCurrency: map[string]decimal.Decimal{"EUR": dec("1200.50"), "USD": dec("99")}}},
		{stream.TopicAnalyticsKPIUpdates, map[string]string{supplychain.HeaderEventType: supplychain.EventTypeOrderKPIs}, supplychain.OrderKPIs{
			OrgID: org, Window: "tumbling-24h0m0s", WindowStart: t0.Truncate(24 * time.Hour), WindowEnd: t0.Truncate(24 * time.Hour).Add(24 * time.Hour),
			Orders: 1<<33 + 1, Suppliers: 2, SpendByCurrency: map[string]decimal.Decimal{"EUR": dec("1234567890123456789.000000000000000001"), "JPY": dec("-5")}}},
		{stream.TopicAnalyticsKPIUpdates, map[string]string{supplychain.HeaderEventType: supplychain.EventTypeShipmentKPIs}, supplychain.ShipmentKPIs{
			OrgID: org, Window: "tumbling-24h0m0s", WindowStart: t0.Truncate(24 * time.Hour), WindowEnd: t0.Truncate(24 * time.Hour).Add(24 * time.Hour),
			Shipments: 3, OnTime: 2, OnTimeRate: dec("0.6667"), TonneKm: dec("630.21"), CO2eKg: dec("61.4585"), KgCO2ePerTonneKm: dec("0.097521")}},
		{stream.TopicIoTSensorReadings, nil, anomaly.Reading{OrgID: org, DeviceID: "em-42", DeviceType: "energy_meter", Metric: "energy_kwh",
			Value: nullDec("-0.000000000000000001"), Unit: "kWh", OccurredAt: t0, Site: "PLANT-7",
			More: []anomaly.Measurement{{Metric: "power_kw", Value: nullDec("12.5"), Unit: "kW", OccurredAt: t0.Add(time.Microsecond)}}}},
		{stream.TopicIoTAlerts, map[string]string{anomaly.HeaderEventType: anomaly.EventTypeAnomaly}, statisticalAlert()},
		{stream.TopicEmissionsAnomalies, map[string]string{anomaly.HeaderEventType: anomaly.EventTypeAnomaly}, statisticalAlert()},
		{stream.TopicSupplyChainOrders, nil, supplychain.Order{OrgID: org, OrderID: "PO-1", SupplierID: "SUP-9", Amount: dec("1234567.891"),
			Currency: "EUR", OrderedAt: t0, ESG: &supplychain.ESG{Environmental: dec("80.5"), Social: dec("12"), Governance: dec("0.000001")}}},
		{stream.TopicSupplyChainShipments, nil, supplychain.Shipment{OrgID: org, ShipmentID: "SH-1", OrderID: "PO-1", SupplierID: "SUP-9", Mode: "road",
			WeightKg: dec("1500.5"), DistanceKm: dec("420"), CO2eKg: nullDec("61.458500000000000001"), PromisedAt: t0.Add(-48 * time.Hour), DeliveredAt: t0}},
		{stream.TopicSupplyChainRiskEvents, map[string]string{supplychain.HeaderEventType: supplychain.EventTypeRisk}, supplychain.RiskEvent{
			OrgID: org, Rule: supplychain.RuleHighRiskSupplier, Severity: supplychain.SeverityCritical, SourceEventID: "0190a000-0000-7000-8000-000000000004",
			SupplierID: "SUP-9", OrderID: "PO-1", ShipmentID: "SH-1", Mode: "air", Currency: "EUR", Observed: dec("39.8000003"), Threshold: dec("30"),
			Unit: "esg-risk-score", ESG: &supplychain.ESG{Environmental: dec("80.5"), Social: dec("12"), Governance: dec("0.000001")}, OccurredAt: t0,
			WindowStart: t0.Truncate(24 * time.Hour), WindowEnd: t0.Truncate(24 * time.Hour).Add(24 * time.Hour), Message: "supplier SUP-9 ü"}},
	}
}

// statisticalAlert is an anomaly.Alert with every field set (a statistical
// alert has no threshold bounds and an iot.alerts one no alert_id; they are
// set all the same, so that a field the schema lost would show).
func statisticalAlert() anomaly.Alert {
	return anomaly.Alert{SourceEventID: "0190a000-0000-7000-8000-000000000002", OrgID: org, DeviceID: "em-42", DeviceType: "energy_meter",
		Site: "PLANT-7", Metric: "energy_kwh", Unit: "kWh", OccurredAt: t0, Value: dec("1234.000000000000000001"), Kind: anomaly.KindStatistical,
		Rule: anomaly.RuleZScore, Severity: anomaly.SeverityWarning, Min: ptr("-20"), Max: ptr("55.4"), Expected: ptr("3.141593"),
		StdDev: ptr("0.000001"), ZScore: ptr("-31.283"), ZThreshold: ptr("3"),
		Evidence:          anomaly.Evidence{Readings: 1<<31 + 1, From: t0.Add(-time.Hour), To: t0.Add(-time.Microsecond)},
		EmissionsRelevant: true, AlertID: "0190a000-0000-7000-8000-000000000003", Message: "energy_kwh 1234 kWh is 31.283 standard deviations ü"}
}

// sparseSamples are values with every optional field absent (nil
// pointers, invalid decimal.NullDecimals, omitempty and omitzero fields at
// their zero value; checked by TestSparseSamplesOmitEveryOptionalField), one
// per schema whose Go type has such a field, so that the round trip shows
// an absent field stays absent: not "", "0" or a zero time.
func sparseSamples() []sample {
	return []sample{
		{stream.TopicEmissionsRaw, nil, aggregator.Activity{OrgID: org, ActivityID: "a-1", ActivityType: "electricity", Quantity: dec("1"), Unit: "kWh",
			PeriodStart: t0.Add(-24 * time.Hour), OccurredAt: t0}},
		{stream.TopicEmissionsCalculated, map[string]string{aggregator.HeaderEventType: aggregator.EventTypeActivity}, aggregator.Calculated{
			SourceEventID: "0190a000-0000-7000-8000-000000000001", OrgID: org, ActivityID: "a-1", ActivityType: "electricity",
			PeriodStart: t0.Add(-24 * time.Hour), OccurredAt: t0, Scope: 2, Method: "location-based", CO2eKg: dec("1"),
			KgByGas: map[string]decimal.Decimal{"CO2": dec("1")}, BiogenicCO2Kg: dec("0"), FactorID: "f", GWPSet: "AR6", Explanation: "x"}},
		{stream.TopicEmissionsCalculated, nil, store.CalculatedEvent{RunID: run, OrgID: org, Status: "completed", GWPSet: "AR5", EngineVersion: "1.2.3",
			TotalsCO2eKg: map[string]decimal.Decimal{}, StoredAt: t0}},
		{stream.TopicIoTSensorReadings, nil, anomaly.Reading{OrgID: org, DeviceID: "em-42", DeviceType: "energy_meter", Metric: "energy_kwh",
			Unit: "kWh", OccurredAt: t0}},
		{stream.TopicIoTAlerts, map[string]string{anomaly.HeaderEventType: anomaly.EventTypeAnomaly}, sparseAlert()},
		{stream.TopicEmissionsAnomalies, map[string]string{anomaly.HeaderEventType: anomaly.EventTypeAnomaly}, sparseAlert()},
		{stream.TopicSupplyChainOrders, nil, supplychain.Order{OrgID: org, OrderID: "PO-1", SupplierID: "SUP-9", Amount: dec("0.01"), Currency: "EUR",
			OrderedAt: t0}},
		{stream.TopicSupplyChainShipments, nil, supplychain.Shipment{OrgID: org, ShipmentID: "SH-1", Mode: "sea", WeightKg: dec("1"), DistanceKm: dec("1"),
			PromisedAt: t0, DeliveredAt: t0}},
		{stream.TopicSupplyChainRiskEvents, map[string]string{supplychain.HeaderEventType: supplychain.EventTypeRisk}, supplychain.RiskEvent{
			OrgID: org, Rule: supplychain.RuleLateShipment, Severity: supplychain.SeverityWarning, Observed: dec("25.5"), Threshold: dec("24"),
			Unit: "hours-late", OccurredAt: t0, Message: "late"}},
	}
}

func sparseAlert() anomaly.Alert {
	return anomaly.Alert{SourceEventID: "0190a000-0000-7000-8000-000000000002", OrgID: org, DeviceID: "em-42", DeviceType: "energy_meter",
		Metric: "energy_kwh", Unit: "kWh", OccurredAt: t0, Value: dec("-1"), Kind: anomaly.KindThreshold, Rule: "negative-energy-delta",
		Severity: anomaly.SeverityCritical, Evidence: anomaly.Evidence{Readings: 1, From: t0, To: t0}, Message: "energy_kwh -1 kWh outside the normal range"}
}

// optional reports whether a payload field may be absent: a pointer, a
// decimal.NullDecimal, or omitempty or omitzero in JSON.
func optional(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	return f.Type.Kind() == reflect.Pointer || f.Type == reflect.TypeFor[decimal.NullDecimal]() ||
		strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
}

// TestSamplesSetEveryField keeps the round trip honest: a sample with a
// zero field would not notice that field being dropped.
func TestSamplesSetEveryField(t *testing.T) {
	for _, s := range samples() {
		for _, f := range zeroFields(reflect.ValueOf(s.value), "") {
			t.Errorf("sample %T on %s: field %s is zero", s.value, s.topic, f)
		}
	}
	if got, want := len(samples()), len(catalog.Schemas()); got != want {
		t.Errorf("%d samples for %d schemas", got, want)
	}
}

// zeroFields lists v's exported fields that are zero, and those of the
// structs in it (nested records, a *ESG, a NullDecimal's Decimal).
func zeroFields(v reflect.Value, prefix string) []string {
	var out []string
	for i := range v.NumField() {
		sf := v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		f := v.Field(i)
		if f.IsZero() {
			out = append(out, prefix+sf.Name)
			continue
		}
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		if f.Kind() == reflect.Struct {
			out = append(out, zeroFields(f, prefix+sf.Name+".")...)
		}
	}
	return out
}

// TestSparseSamplesOmitEveryOptionalField: each schema whose Go type has
// an optional field has a sparse sample, and that sample leaves every
// optional field absent.
func TestSparseSamplesOmitEveryOptionalField(t *testing.T) {
	type key struct {
		topic string
		typ   reflect.Type
	}
	sparse := map[key]bool{}
	for _, s := range sparseSamples() {
		v := reflect.ValueOf(s.value)
		sparse[key{s.topic, v.Type()}] = true
		for i := range v.NumField() {
			if f := v.Type().Field(i); optional(f) && !v.Field(i).IsZero() {
				t.Errorf("sparse sample %T on %s: optional field %s is set", s.value, s.topic, f.Name)
			}
		}
	}
	for _, s := range catalog.Schemas() {
		for i := range s.Type.NumField() {
			if f := s.Type.Field(i); optional(f) && !sparse[key{s.Topic, s.Type}] {
				t.Errorf("%s: field %s is optional, and no sparse sample leaves it absent", s, f.Name)
				break
			}
		}
	}
}

// TestSchemas: every schema file parses, is one of the table, fits its Go
// type and names a topic of the catalogue.
func TestSchemas(t *testing.T) {
	entries, err := os.ReadDir("avsc")
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	for _, s := range catalog.Schemas() {
		inTable[s.Avro] = true
	}
	for _, e := range entries {
		text, err := catalog.File(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if !inTable[text] {
			t.Errorf("%s is not in catalog.Schemas()", e.Name())
		}
		sch, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		rs := sch.(*avro.RecordSchema)
		// The file is named <topic>.<record name>.avsc.
		if want := strings.TrimSuffix(e.Name(), ".avsc"); !strings.HasSuffix(want, "."+rs.Name()) {
			t.Errorf("%s holds record %s", e.Name(), rs.FullName())
		}
	}
	if err := schemareg.Validate(schemareg.Options{}, catalog.Schemas()...); err != nil {
		t.Fatal(err)
	}
}

// TestRoundTrip registers the catalogue with the test registry, then
// encodes each sample as Avro (Encode, and TranscodeJSON from the JSON the
// producers write today) and decodes it (Decode, DecodeAny), expecting the
// value exactly: the same JSON as the original, so Avro carries every
// decimal digit, uuid and microsecond JSON does.
func TestRoundTrip(t *testing.T) {
	reg := schemaregtest.New()
	defer reg.Close()
	s, err := schemareg.New(context.Background(), reg.URL(), catalog.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Registrations() {
		t.Logf("%s %s: subject %s id %d", r.Topic, r.Type, r.Subject, r.ID)
	}
	type named struct {
		name string
		sample
	}
	var all []named
	for _, smp := range samples() {
		all = append(all, named{smp.topic + "/" + reflect.TypeOf(smp.value).String(), smp})
	}
	for _, smp := range sparseSamples() {
		all = append(all, named{smp.topic + "/" + reflect.TypeOf(smp.value).String() + "/sparse", smp})
	}
	for _, smp := range all {
		t.Run(smp.name, func(t *testing.T) {
			want, err := json.Marshal(smp.value)
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Encode(smp.topic, org.String(), smp.value)
			if err != nil {
				t.Fatal(err)
			}
			js, err := stream.Encode(smp.topic, org.String(), smp.value)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range smp.headers {
				js.Headers[k] = v
			}
			tm, err := s.TranscodeJSON(js)
			if err != nil {
				t.Fatal(err)
			}
			// Map entries are written in Go's map order, so only the
			// prefix (same schema id) compares byte for byte.
			if tm.Headers[stream.HeaderContentType] != schemareg.ContentTypeAvro || string(tm.Value[:schemareg.HeaderSize]) != string(m.Value[:schemareg.HeaderSize]) {
				t.Fatalf("TranscodeJSON gave %v %x, Encode %x", tm.Headers, tm.Value, m.Value)
			}
			for name, msg := range map[string]*stream.Message{"encoded": m, "transcoded": tm} {
				got := decodeAs(t, s, smp.value, msg)
				b, err := json.Marshal(got)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != string(want) {
					t.Errorf("%s: round trip changed the value:\n got %s\nwant %s", name, b, want)
				}
			}
		})
	}
}

// decodeAs decodes m into a value of like's type with DecodeAny.
func decodeAs(t *testing.T, s *schemareg.Serde, like any, m *stream.Message) any {
	t.Helper()
	v, err := decodeAsErr(s, like, m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func decodeAsErr(s *schemareg.Serde, like any, m *stream.Message) (v any, err error) {
	switch like.(type) {
	case aggregator.Activity:
		v, err = schemareg.DecodeAny[aggregator.Activity](s, m)
	case aggregator.Calculated:
		v, err = schemareg.DecodeAny[aggregator.Calculated](s, m)
	case store.CalculatedEvent:
		v, err = schemareg.DecodeAny[store.CalculatedEvent](s, m)
	case aggregator.Aggregated:
		v, err = schemareg.DecodeAny[aggregator.Aggregated](s, m)
	case kpi.Update:
		v, err = schemareg.DecodeAny[kpi.Update](s, m)
	case supplychain.OrderKPIs:
		v, err = schemareg.DecodeAny[supplychain.OrderKPIs](s, m)
	case supplychain.ShipmentKPIs:
		v, err = schemareg.DecodeAny[supplychain.ShipmentKPIs](s, m)
	case anomaly.Reading:
		v, err = schemareg.DecodeAny[anomaly.Reading](s, m)
	case anomaly.Alert:
		v, err = schemareg.DecodeAny[anomaly.Alert](s, m)
	case supplychain.Order:
		v, err = schemareg.DecodeAny[supplychain.Order](s, m)
	case supplychain.Shipment:
		v, err = schemareg.DecodeAny[supplychain.Shipment](s, m)
	case supplychain.RiskEvent:
		v, err = schemareg.DecodeAny[supplychain.RiskEvent](s, m)
	default:
		return nil, fmt.Errorf("no decoder for %T", like)
	}
	return v, err
}

// TestCalculatedTopicTypes: the two payload types of emissions.calculated
// have their own subjects, and one read as the other is a DecodeError
// (what the kpi processor would dead-letter), not a wrong value.
func TestCalculatedTopicTypes(t *testing.T) {
	reg := schemaregtest.New()
	defer reg.Close()
	s, err := schemareg.New(context.Background(), reg.URL(), catalog.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]bool{}
	for _, r := range s.Registrations() {
		subjects[r.Subject] = true
	}
	for _, want := range []string{"emissions.raw-value", "emissions.calculated-greenlang.emissions.ActivityCalculated",
		"emissions.calculated-greenlang.emissions.CalculationRunSummary", "emissions.aggregated-value", "analytics.kpi-updates-value"} {
		if !subjects[want] {
			t.Errorf("no subject %s in %v", want, subjects)
		}
	}
	summary := samples()[2]
	m, err := s.Encode(summary.topic, org.String(), summary.value)
	if err != nil {
		t.Fatal(err)
	}
	_, err = schemareg.Decode[aggregator.Calculated](s, m)
	var de *stream.DecodeError
	if !errors.As(err, &de) || !strings.Contains(de.Reason, "cannot be read as aggregator.Calculated") {
		t.Fatalf("a run summary read as a per-activity result: %v", err)
	}
}

// TestKPIUpdatesTopicTypes: analytics.kpi-updates carries three payload
// types. kpi.Update keeps the subject it was released with
// (TopicNameStrategy), the supply-chain KPIs have TopicRecordNameStrategy
// subjects; TranscodeJSON picks the type by the event-type header, and one
// type read as another is a DecodeError, not a wrong value.
func TestKPIUpdatesTopicTypes(t *testing.T) {
	reg := schemaregtest.New()
	defer reg.Close()
	s, err := schemareg.New(context.Background(), reg.URL(), catalog.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[reflect.Type]string{
		reflect.TypeFor[kpi.Update]():               "analytics.kpi-updates-value",
		reflect.TypeFor[supplychain.OrderKPIs]():    "analytics.kpi-updates-greenlang.supplychain.OrderKPIs",
		reflect.TypeFor[supplychain.ShipmentKPIs](): "analytics.kpi-updates-greenlang.supplychain.ShipmentKPIs",
	}
	for _, r := range s.Registrations() {
		if r.Topic != stream.TopicAnalyticsKPIUpdates {
			continue
		}
		if r.Subject != want[r.Type] {
			t.Errorf("%s: subject %s, want %q", r.Type, r.Subject, want[r.Type])
		}
		delete(want, r.Type)
	}
	if len(want) != 0 {
		t.Errorf("not registered on %s: %v", stream.TopicAnalyticsKPIUpdates, want)
	}
	var kpis []sample
	for _, smp := range samples() {
		if smp.topic == stream.TopicAnalyticsKPIUpdates {
			kpis = append(kpis, smp)
		}
	}
	if len(kpis) != 3 {
		t.Fatalf("%d samples on %s, want 3", len(kpis), stream.TopicAnalyticsKPIUpdates)
	}
	for _, smp := range kpis {
		js, err := stream.Encode(smp.topic, org.String(), smp.value)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range smp.headers {
			js.Headers[k] = v
		}
		m, err := s.TranscodeJSON(js)
		if err != nil {
			t.Fatalf("%T: %v", smp.value, err)
		}
		for _, other := range kpis {
			got := reflect.TypeOf(other.value)
			if got == reflect.TypeOf(smp.value) {
				if _, err := decodeAsErr(s, other.value, m); err != nil {
					t.Errorf("%T transcoded by its header does not decode: %v", smp.value, err)
				}
				continue
			}
			_, err := decodeAsErr(s, other.value, m)
			var de *stream.DecodeError
			if !errors.As(err, &de) || !strings.Contains(de.Reason, "cannot be read as "+got.String()) {
				t.Errorf("%T read as %s: %v", smp.value, got, err)
			}
		}
	}
}

// TestReleasedSubjectsStay: the subject of a released schema
// (testdata/released/subjects.txt) stays in the catalogue. Moving a type
// to another subject (a changed SubjectStrategy, a renamed record under
// SubjectTopicRecord) is no schema change TestSchemasStayCompatible would
// see, yet an existing registry would keep the old subject, with its
// versions and compatibility level, and start the type afresh under the
// new one. When a release ships a new schema, add its subject.
func TestReleasedSubjectsStay(t *testing.T) {
	b, err := os.ReadFile("testdata/released/subjects.txt")
	if err != nil {
		t.Fatal(err)
	}
	current := map[string]bool{}
	for _, s := range catalog.Schemas() {
		subject, err := s.Subject("")
		if err != nil {
			t.Fatal(err)
		}
		current[subject] = true
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		subject := strings.TrimSpace(line)
		if subject == "" || strings.HasPrefix(subject, "#") {
			continue
		}
		n++
		if !current[subject] {
			t.Errorf("subject %s was released and is no longer the catalogue's: a registered type may not change subject", subject)
		}
	}
	if n == 0 {
		t.Fatal("no released subjects")
	}
}

// TestSchemasStayCompatible checks each schema file against its released
// version (testdata/released/<file>) the way the registry will at
// start-up with BACKWARD compatibility: the new schema must read data
// written with the released one. When a release ships a changed schema,
// copy it to testdata/released/.
func TestSchemasStayCompatible(t *testing.T) {
	released, err := filepath.Glob("testdata/released/*.avsc")
	if err != nil || len(released) == 0 {
		t.Fatalf("no released schemas: %v", err)
	}
	for _, path := range released {
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := catalog.File(filepath.Base(path))
		if err != nil {
			t.Errorf("%s was released and is gone: a topic's schema may not be deleted", filepath.Base(path))
			continue
		}
		if err := backward(cur, string(old)); err != nil {
			t.Errorf("%s is not BACKWARD compatible with its released version: %v", filepath.Base(path), err)
		}
	}
	// The check itself refuses what the registry refuses.
	cur, err := catalog.File("emissions.raw.Activity.avsc")
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(cur, `{"name": "unit", "type": "string"},`, `{"name": "unit", "type": "string"}, {"name": "batch", "type": "string"},`, 1)
	retyped := strings.Replace(cur, `{"name": "unit", "type": "string"}`, `{"name": "unit", "type": "long"}`, 1)
	for name, next := range map[string]string{"a field added without a default": added, "a field's type changed": retyped} {
		if next == cur {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if backward(next, cur) == nil {
			t.Errorf("%s passed the check", name)
		}
	}
}

func backward(reader, writer string) error {
	r, err := avro.ParseWithCache(reader, "", &avro.SchemaCache{})
	if err != nil {
		return err
	}
	w, err := avro.ParseWithCache(writer, "", &avro.SchemaCache{})
	if err != nil {
		return err
	}
	return avro.NewSchemaCompatibility().Compatible(r, w)
}

// BenchmarkActivity encodes and decodes an emissions.raw payload as Avro
// and, as the baseline, as the port's JSON.
//
//	go test ./internal/stream/schemareg/catalog -run XXX -bench Activity
func BenchmarkActivity(b *testing.B) {
	reg := schemaregtest.New()
	defer reg.Close()
	s, err := schemareg.New(context.Background(), reg.URL(), catalog.Schemas()...)
	if err != nil {
		b.Fatal(err)
	}
	v := samples()[0].value.(aggregator.Activity)
	b.Run("Avro", func(b *testing.B) {
		var size int
		for b.Loop() {
			m, err := s.Encode(stream.TopicEmissionsRaw, org.String(), v)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := schemareg.Decode[aggregator.Activity](s, m); err != nil {
				b.Fatal(err)
			}
			size = len(m.Value)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(size), "bytes/msg")
	})
	b.Run("JSON", func(b *testing.B) {
		var size int
		for b.Loop() {
			m, err := stream.Encode(stream.TopicEmissionsRaw, org.String(), v)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := stream.Decode[aggregator.Activity](m); err != nil {
				b.Fatal(err)
			}
			size = len(m.Value)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(size), "bytes/msg")
	})
}
