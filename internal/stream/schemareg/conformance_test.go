package schemareg_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/schemareg"
	"github.com/greenlang/greenlang/internal/stream/schemareg/schemaregtest"
)

// Test payloads: four releases of one reading type on iot.sensor-readings.
const topic = stream.TopicIoTSensorReadings

// ReadingV1 is the first release.
type ReadingV1 struct {
	ID     uuid.UUID       `json:"id"`
	Device string          `json:"device"`
	Value  decimal.Decimal `json:"value"`
	At     time.Time       `json:"at"`
}

const readingV1 = `{"type": "record", "name": "Reading", "namespace": "greenlang.test", "fields": [
  {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "device", "type": "string"},
  {"name": "value", "type": "string"},
  {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}}]}`

// ReadingV2 adds a field with a default: a compatible change.
type ReadingV2 struct {
	ID     uuid.UUID       `json:"id"`
	Device string          `json:"device"`
	Value  decimal.Decimal `json:"value"`
	At     time.Time       `json:"at"`
	Unit   string          `json:"unit"`
}

const readingV2 = `{"type": "record", "name": "Reading", "namespace": "greenlang.test", "fields": [
  {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "device", "type": "string"},
  {"name": "value", "type": "string"},
  {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
  {"name": "unit", "type": "string", "default": "kWh"}]}`

// ReadingNoDefault adds a field without a default: data written with V1
// has no value for it, so the registry refuses it under BACKWARD.
type ReadingNoDefault struct {
	ID     uuid.UUID       `json:"id"`
	Device string          `json:"device"`
	Value  decimal.Decimal `json:"value"`
	At     time.Time       `json:"at"`
	Site   string          `json:"site"`
}

const readingNoDefault = `{"type": "record", "name": "Reading", "namespace": "greenlang.test", "fields": [
  {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "device", "type": "string"},
  {"name": "value", "type": "string"},
  {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
  {"name": "site", "type": "string"}]}`

// ReadingRetyped changes device from string to long: refused.
type ReadingRetyped struct {
	ID     uuid.UUID       `json:"id"`
	Device int64           `json:"device"`
	Value  decimal.Decimal `json:"value"`
	At     time.Time       `json:"at"`
}

const readingRetyped = `{"type": "record", "name": "Reading", "namespace": "greenlang.test", "fields": [
  {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "device", "type": "long"},
  {"name": "value", "type": "string"},
  {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}}]}`

var (
	id1 = uuid.MustParse("0190a000-0000-7000-8000-000000000001")
	at  = time.Date(2025, 3, 1, 10, 4, 59, 123456000, time.UTC)
	r1  = ReadingV1{ID: id1, Device: "meter-7", Value: decimal.RequireFromString("123456789012345678901234.000000000000000001"), At: at}
)

// namespace isolates a test's subjects on a shared registry.
func namespace(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "gltest" + hex.EncodeToString(b)
}

func open(t *testing.T, url, ns string, schemas ...schemareg.Schema) *schemareg.Serde {
	t.Helper()
	s, err := schemareg.NewWithOptions(context.Background(), url, schemareg.Options{Namespace: ns}, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the registry behaviour the Serde relies on
// against the in-process test registry; TestIntegrationRegistry runs the
// same against a real one.
func TestConformance(t *testing.T) {
	t.Parallel()
	reg := schemaregtest.New()
	defer reg.Close()
	conformance(t, reg.URL())
}

// TestIntegrationRegistry runs the conformance cases against the registry
// at GREENLANG_TEST_SCHEMA_REGISTRY_URL (subjects gltest<random>.iot.…,
// left behind).
func TestIntegrationRegistry(t *testing.T) {
	url := os.Getenv("GREENLANG_TEST_SCHEMA_REGISTRY_URL")
	if url == "" {
		t.Skip("set GREENLANG_TEST_SCHEMA_REGISTRY_URL to a Confluent-compatible schema registry (http[s]://[user:password@]host:port) to run")
	}
	conformance(t, url)
}

func conformance(t *testing.T, url string) {
	ctx := context.Background()
	t.Run("RegisterOnStartup", func(t *testing.T) {
		ns := namespace(t)
		s := open(t, url, ns, schemareg.For[ReadingV1](topic, readingV1))
		regs := s.Registrations()
		if len(regs) != 1 || regs[0].ID < 0 || regs[0].Subject != ns+"."+topic+"-value" || regs[0].Topic != topic {
			t.Fatalf("registrations %+v", regs)
		}
		c, err := schemareg.NewClient(url, schemareg.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		text, err := c.SchemaByID(ctx, regs[0].ID)
		if err != nil || !strings.Contains(text, "greenlang.test") {
			t.Fatalf("schema %d: %q %v", regs[0].ID, text, err)
		}
		level, _, err := c.CompatibilityLevel(ctx, regs[0].Subject)
		if err != nil || (level != schemareg.LevelBackward && level != schemareg.LevelBackwardTransitive && level != schemareg.LevelFull && level != schemareg.LevelFullTransitive) {
			t.Fatalf("level %q %v", level, err)
		}
	})
	t.Run("SameSchemaSameID", func(t *testing.T) {
		ns := namespace(t)
		a := open(t, url, ns, schemareg.For[ReadingV1](topic, readingV1))
		// Another instance, with the schema spelled differently.
		b := open(t, url, ns, schemareg.For[ReadingV1](topic, strings.Join(strings.Fields(readingV1), " ")))
		if a.Registrations()[0].ID != b.Registrations()[0].ID {
			t.Fatalf("ids %d and %d for one schema", a.Registrations()[0].ID, b.Registrations()[0].ID)
		}
		// Ids are global: the same schema under another subject keeps its id.
		c := open(t, url, namespace(t), schemareg.For[ReadingV1](topic, readingV1))
		if c.Registrations()[0].ID != a.Registrations()[0].ID {
			t.Fatalf("id %d under another subject, %d before", c.Registrations()[0].ID, a.Registrations()[0].ID)
		}
	})
	t.Run("CompatibleEvolution", func(t *testing.T) {
		ns := namespace(t)
		v1 := open(t, url, ns, schemareg.For[ReadingV1](topic, readingV1))
		m1, err := v1.Encode(topic, "meter-7", r1)
		if err != nil {
			t.Fatal(err)
		}
		v2 := open(t, url, ns, schemareg.For[ReadingV2](topic, readingV2))
		if v2.Registrations()[0].ID == v1.Registrations()[0].ID {
			t.Fatal("the evolved schema has the old id")
		}
		// Older writer, newer reader: the new field takes its default.
		got, err := schemareg.Decode[ReadingV2](v2, m1)
		if err != nil {
			t.Fatal(err)
		}
		if want := (ReadingV2{ID: r1.ID, Device: r1.Device, Value: r1.Value, At: r1.At, Unit: "kWh"}); !equalV2(got, want) {
			t.Fatalf("v1 data read as v2: %+v", got)
		}
		// Newer writer, older reader (a rolling deploy): the new field is skipped.
		m2, err := v2.Encode(topic, "meter-7", ReadingV2{ID: r1.ID, Device: r1.Device, Value: r1.Value, At: r1.At, Unit: "MWh"})
		if err != nil {
			t.Fatal(err)
		}
		old, err := schemareg.Decode[ReadingV1](v1, m2)
		if err != nil || !equalV1(old, r1) {
			t.Fatalf("v2 data read as v1: %+v %v", old, err)
		}
		// The old release restarting re-registers nothing new.
		again := open(t, url, ns, schemareg.For[ReadingV1](topic, readingV1))
		if again.Registrations()[0].ID != v1.Registrations()[0].ID {
			t.Fatal("the old schema got a new id")
		}
	})
	for name, bad := range map[string]schemareg.Schema{
		"FieldWithoutDefaultRefused": schemareg.For[ReadingNoDefault](topic, readingNoDefault),
		"TypeChangeRefused":          schemareg.For[ReadingRetyped](topic, readingRetyped),
	} {
		t.Run(name, func(t *testing.T) {
			ns := namespace(t)
			open(t, url, ns, schemareg.For[ReadingV1](topic, readingV1))
			_, err := schemareg.NewWithOptions(ctx, url, schemareg.Options{Namespace: ns}, bad)
			var ie *schemareg.IncompatibleError
			if !errors.Is(err, stream.ErrFailedPrecondition) || !errors.As(err, &ie) {
				t.Fatalf("an incompatible schema: %v", err)
			}
			subject := ns + "." + topic + "-value"
			if ie.Topic != topic || ie.Subject != subject || len(ie.Messages) == 0 {
				t.Fatalf("error %+v", ie)
			}
			reason := ie.Messages[0]
			if strings.HasPrefix(reason, "{oldSchema: ") && len(ie.Messages) > 1 {
				reason = ie.Messages[1] // left out of the error text
			}
			for _, want := range []string{topic, subject, "BACKWARD", reason} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q: %v", want, err)
				}
			}
			t.Log(err)
		})
	}
	t.Run("StricterLevelKept", func(t *testing.T) {
		ns := namespace(t)
		subject := ns + "." + topic + "-value"
		c, err := schemareg.NewClient(url, schemareg.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetCompatibilityLevel(ctx, subject, schemareg.LevelBackwardTransitive); err != nil {
			t.Fatal(err)
		}
		open(t, url, ns, schemareg.For[ReadingV1](topic, readingV1))
		if level, own, err := c.CompatibilityLevel(ctx, subject); err != nil || !own || level != schemareg.LevelBackwardTransitive {
			t.Fatalf("level %q (own %v) %v", level, own, err)
		}
	})
	t.Run("WeakerLevelRaised", func(t *testing.T) {
		ns := namespace(t)
		subject := ns + "." + topic + "-value"
		c, err := schemareg.NewClient(url, schemareg.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetCompatibilityLevel(ctx, subject, schemareg.LevelNone); err != nil {
			t.Fatal(err)
		}
		open(t, url, ns, schemareg.For[ReadingV1](topic, readingV1))
		if level, _, err := c.CompatibilityLevel(ctx, subject); err != nil || level != schemareg.LevelBackward {
			t.Fatalf("level %q %v", level, err)
		}
		// And it is enforced.
		if _, err := schemareg.NewWithOptions(ctx, url, schemareg.Options{Namespace: ns}, schemareg.For[ReadingRetyped](topic, readingRetyped)); !errors.Is(err, stream.ErrFailedPrecondition) {
			t.Fatalf("an incompatible schema after NONE was raised: %v", err)
		}
	})
	t.Run("UnknownID", func(t *testing.T) {
		s := open(t, url, namespace(t), schemareg.For[ReadingV1](topic, readingV1))
		m := &stream.Message{Topic: topic, Offset: 9, Value: schemareg.AppendHeader(nil, 2_000_000_000),
			Headers: map[string]string{stream.HeaderContentType: schemareg.ContentTypeAvro}}
		_, err := schemareg.Decode[ReadingV1](s, m)
		var de *stream.DecodeError
		if !errors.As(err, &de) || de.Topic != topic || de.Offset != 9 || !strings.Contains(de.Reason, "2000000000 is not in the registry") {
			t.Fatalf("unknown id: %v", err)
		}
	})
}

func equalV1(a, b ReadingV1) bool {
	return a.ID == b.ID && a.Device == b.Device && a.Value.String() == b.Value.String() && a.At.Equal(b.At) && a.At.Location() == time.UTC
}

func equalV2(a, b ReadingV2) bool {
	return equalV1(ReadingV1{a.ID, a.Device, a.Value, a.At}, ReadingV1{b.ID, b.Device, b.Value, b.At}) && a.Unit == b.Unit
}
