package iot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

// fixture is an ingest over a fresh store and embedded JetStream, with one
// organization and one registered energy meter.
type fixture struct {
	env    *processortest.Env
	org    uuid.UUID
	meter  *store.Device
	ingest *iot.Ingest
	reg    *prometheus.Registry
	now    time.Time
}

func newFixture(t *testing.T, open processortest.StoreOpener, cfg iot.Config) *fixture {
	t.Helper()
	org := uuid.New()
	env := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org}, Country: "DE",
		Topics: []string{stream.TopicIoTSensorReadings, stream.TopicIntegrationErrors}})
	meter := &store.Device{DeviceType: "energy_meter", Serial: "EM-1"}
	if err := env.Store.Devices().Create(context.Background(), org, meter); err != nil {
		t.Fatal(err)
	}
	cat, err := telemetry.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	in, err := iot.New(env.Store, env.Stream, cat, processortest.Logger(t), reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, org: org, meter: meter, ingest: in, reg: reg, now: time.Now().UTC().Truncate(time.Second)}
}

func (f *fixture) msg(device, payload string) mqtt.Message {
	return mqtt.Message{Org: f.org.String(), Device: device, Kind: mqtt.KindTelemetry, Payload: []byte(payload),
		Topic: "greenlang/v1/" + f.org.String() + "/" + device + "/telemetry", Received: f.now}
}

// run runs the ingest until the test ends.
func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ingest.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// acker counts acknowledgements and lets a test wait for them.
type acker struct{ n atomic.Int64 }

func (a *acker) ack() { a.n.Add(1) }

func (a *acker) waitFor(t *testing.T, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); a.n.Load() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages acknowledged", a.n.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) readings(t *testing.T, metric string) []store.SensorReading {
	t.Helper()
	rs, err := f.env.Store.SensorReadings(context.Background(), f.org, store.SensorReadingsQuery{DeviceID: f.meter.ID, Metric: metric,
		From: f.now.Add(-time.Hour), To: f.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// Good readings are stored and acknowledged, a bad reading in the same
// message is dead-lettered with its reason while the others are kept, a
// message delivered again is stored once, unknown devices and unreadable
// payloads are dead-lettered whole; the device becomes active.
func TestIngestStoresAndRejects(t *testing.T) {
	processortest.Engines(t, "greenlang_iot", func(t *testing.T, open processortest.StoreOpener) {
		f := newFixture(t, open, iot.Config{FlushInterval: 10 * time.Millisecond})
		f.run(t)
		ctx := context.Background()
		var a acker
		ts := f.now.Add(-time.Minute).Format(time.RFC3339)
		good := `{"time":"` + ts + `","metrics":{"energy_kwh_total":1234.5,"power_kw":42.1,"power_factor":7}}`
		aside := &store.Device{DeviceType: "energy_meter", Serial: "EM-OFF", Status: store.DeviceInactive}
		if err := f.env.Store.Devices().Create(ctx, f.org, aside); err != nil {
			t.Fatal(err)
		}
		for _, m := range []mqtt.Message{
			f.msg(f.meter.ID.String(), good),
			f.msg(f.meter.ID.String(), good), // delivered again: stored once
			f.msg(uuid.NewString(), good),    // not registered
			f.msg(f.meter.ID.String(), `{"time":`),
			f.msg(aside.ID.String(), good), // set aside: refused
		} {
			if err := f.ingest.Submit(ctx, m, a.ack); err != nil {
				t.Fatal(err)
			}
		}
		a.waitFor(t, 5)
		if rs := f.readings(t, "energy_kwh_total"); len(rs) != 1 || !rs[0].Value.Equal(dec("1234.5")) || rs[0].Unit != "kWh" {
			t.Fatalf("energy readings %+v", rs)
		}
		if rs := f.readings(t, "power_kw"); len(rs) != 1 {
			t.Fatalf("power readings %+v", rs)
		}
		if rs := f.readings(t, "power_factor"); len(rs) != 0 {
			t.Fatalf("an out-of-range power factor was stored: %+v", rs)
		}
		if got := metricValue(t, f.reg, "greenlang_iot_readings_stored_total"); got != 2 {
			t.Errorf("stored %v, want 2", got)
		}
		if got := metricValue(t, f.reg, "greenlang_iot_readings_duplicate_total"); got != 2 {
			t.Errorf("duplicates %v, want 2", got)
		}
		// Dead letters: the power factor (twice delivered, one letter),
		// the unknown device, the broken payload, the inactive device.
		sub, err := f.env.Stream.Replay(ctx, stream.TopicIntegrationErrors, stream.Position{})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		var reasons []string
		for range 4 {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			m, err := sub.Receive(rctx)
			cancel()
			if err != nil {
				t.Fatalf("dead letters so far %q: %v", reasons, err)
			}
			reasons = append(reasons, m.Headers[stream.HeaderDLQReason])
			if !strings.HasPrefix(m.Headers[stream.HeaderDLQTopic], "mqtt:greenlang/v1/"+f.org.String()+"/") {
				t.Errorf("dead letter origin %q", m.Headers[stream.HeaderDLQTopic])
			}
		}
		processortest.CheckReasons(t, reasons, "power_factor", "not registered", "payload", "inactive")
		d, err := f.env.Store.Devices().Get(ctx, f.org, f.meter.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != store.DeviceActive || d.LastSeenAt == nil || !d.LastSeenAt.Equal(f.now) {
			t.Errorf("device after ingest: status %s, last seen %v", d.Status, d.LastSeenAt)
		}
		// The stored readings went on to the stream processors.
		evs, err := f.env.Stream.Replay(ctx, stream.TopicIoTSensorReadings, stream.Position{})
		if err != nil {
			t.Fatal(err)
		}
		defer evs.Close()
		// One event for the message, its two kept readings in it.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := evs.Receive(rctx)
		cancel()
		if err != nil {
			t.Fatalf("readings event: %v", err)
		}
		ev, err := stream.Decode[anomaly.Reading](m)
		if err != nil {
			t.Fatal(err)
		}
		if rs, ids := ev.Readings(m.EventID); len(rs) != 2 || rs[0].Metric == rs[1].Metric || ids[1] != m.EventID+"#1" ||
			!strings.HasPrefix(m.EventID, "r-") || ev.Key() != m.Key {
			t.Fatalf("readings event %s: %+v", m.EventID, ev)
		}
	})
}

// A full queue holds Submit back (back-pressure) instead of growing, and
// a message refused that way is not acknowledged.
func TestIngestBackPressure(t *testing.T) {
	processortest.Engines(t, "greenlang_iot", func(t *testing.T, open processortest.StoreOpener) {
		if t.Name() != "TestIngestBackPressure/sqlite" {
			t.Skip("the queue does not depend on the engine")
		}
		f := newFixture(t, open, iot.Config{QueueDepth: 2})
		var a acker
		payload := func(i int) string {
			return `{"time":"` + f.now.Add(time.Duration(i)*time.Second).Format(time.RFC3339) + `","metrics":{"power_kw":1}}`
		}
		for i := range 2 {
			if err := f.ingest.Submit(context.Background(), f.msg(f.meter.ID.String(), payload(i)), a.ack); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := f.ingest.Submit(ctx, f.msg(f.meter.ID.String(), payload(2)), a.ack)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("third message into a queue of 2: %v", err)
		}
		if got := metricValue(t, f.reg, "greenlang_iot_queue_depth"); got != 2 {
			t.Errorf("queue depth %v, want 2", got)
		}
		// Once the ingest runs, the queue drains and both are acknowledged.
		f.run(t)
		a.waitFor(t, 2)
		if n := a.n.Load(); n != 2 {
			t.Fatalf("%d acknowledged, want 2 (the refused one must not be)", n)
		}
	})
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// metricValue is the sum of a metric family's values in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		v := 0.0
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		return v
	}
	t.Fatalf("no metric %s", name)
	return 0
}
