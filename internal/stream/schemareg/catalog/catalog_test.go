package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/greenlang/greenlang/internal/processor/kpi"
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
	}
}

// TestSamplesSetEveryField keeps the round trip honest: a sample with a
// zero field would not notice that field being dropped.
func TestSamplesSetEveryField(t *testing.T) {
	for _, s := range samples() {
		v := reflect.ValueOf(s.value)
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Errorf("sample %T: field %s is zero", s.value, v.Type().Field(i).Name)
			}
		}
	}
	if got, want := len(samples()), len(catalog.Schemas()); got != want {
		t.Errorf("%d samples for %d schemas", got, want)
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
	for _, smp := range samples() {
		t.Run(reflect.TypeOf(smp.value).String(), func(t *testing.T) {
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
	var (
		v   any
		err error
	)
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
	default:
		t.Fatalf("no decoder for %T", like)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
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
