package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/schemareg"
	"github.com/greenlang/greenlang/internal/stream/schemareg/catalog"
	"github.com/greenlang/greenlang/internal/stream/schemareg/schemaregtest"
)

// With stream.schema_registry_url set, serve registers the payload schemas,
// reads Avro input and publishes what the outbox holds as Avro in the
// Confluent wire format. (schemaregtest stands in for the registry: see
// docs/schemas.md for what that does and does not prove.)
func TestServeWithSchemaRegistry(t *testing.T) {
	t.Parallel()
	reg := schemaregtest.New()
	t.Cleanup(reg.Close)
	cfg := testConfig(t)
	cfg.Stream.SchemaRegistryURL = reg.URL()
	a := startApp(t, cfg, app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if v := reg.Versions("emissions.raw-value"); len(v) != 1 {
		t.Fatalf("emissions.raw-value versions %v, want one registered at start-up", v)
	}

	// A producer outside the platform publishes Avro with the same schemas.
	producer, err := schemareg.New(ctx, reg.URL(), catalog.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	org := drivertest.NewOrg(t, a.Store()).ID
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	act := aggregator.Activity{OrgID: org, ActivityID: "boiler-1", ActivityType: "natural_gas", Quantity: decimal.RequireFromString("50000"),
		Unit: "scf", Region: "US", PeriodStart: day, Scope: 1, Method: "stationary_combustion", OccurredAt: day}
	m, err := producer.Encode(stream.TopicEmissionsRaw, org.String(), act)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Stream().Publish(ctx, m); err != nil {
		t.Fatal(err)
	}

	sub := replay(t, ctx, a, stream.TopicEmissionsCalculated)
	for {
		got, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("no calculated activity: %v", err)
		}
		if got.Headers[aggregator.HeaderEventType] != aggregator.EventTypeActivity {
			continue
		}
		if ct := got.Headers[stream.HeaderContentType]; ct != schemareg.ContentTypeAvro || len(got.Value) < 5 || got.Value[0] != 0 {
			t.Fatalf("emissions.calculated event: content type %q, first bytes %x; want Avro in the wire format", ct, got.Value[:min(5, len(got.Value))])
		}
		c, err := stream.Decode[aggregator.Calculated](got) // through the stream's Avro decoder
		if err != nil {
			t.Fatal(err)
		}
		if c.ActivityID != "boiler-1" || c.OrgID != org || !c.CO2eKg.IsPositive() {
			t.Fatalf("calculated %+v", c)
		}
		break
	}
}

// A schema the registry refuses as backward-incompatible with the subject's
// latest version stops serve at start-up with a clear error.
func TestServeRefusesIncompatibleSchema(t *testing.T) {
	t.Parallel()
	reg := schemaregtest.New()
	t.Cleanup(reg.Close)
	c, err := schemareg.NewClient(reg.URL(), schemareg.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// An earlier producer registered an Activity with only an org id: the
	// platform's schema adds required fields without defaults, so it could
	// not read that producer's events.
	old := `{"type":"record","name":"Activity","namespace":"greenlang.emissions","fields":[{"name":"org_id","type":"string"}]}`
	if _, err := c.Register(t.Context(), "emissions.raw-value", old); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Stream.SchemaRegistryURL = reg.URL()
	a, err := app.New(cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Stop(context.Background()) }()
	err = a.Start(t.Context())
	if err == nil {
		t.Fatal("serve started with a schema the registry refuses")
	}
	for _, want := range []string{"emissions.raw", "emissions.raw-value", "not BACKWARD compatible", "activity_id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start-up error %q does not mention %q", err, want)
		}
	}
}
