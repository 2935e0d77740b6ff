package alertsink_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/alertsink"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

var (
	org     = uuid.MustParse("0190a000-0000-7000-8000-0000000000a1")
	unknown = uuid.MustParse("0190a000-0000-7000-8000-0000000000ff")
	t0      = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

func d(s string) *decimal.Decimal { v := decimal.RequireFromString(s); return &v }

func alertMsg(t *testing.T, id string, a anomaly.Alert) *stream.Message {
	t.Helper()
	m, err := stream.Encode(stream.TopicIoTAlerts, a.OrgID.String(), a)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = id
	return m
}

func readingMsg(t *testing.T, dev, metric, v string, at time.Time) *stream.Message {
	t.Helper()
	r := anomaly.Reading{OrgID: org, DeviceID: dev, DeviceType: "air_quality", Metric: metric, Value: decimal.NewNullDecimal(*d(v)),
		Unit: "ug/m3", OccurredAt: at}
	m, err := stream.Encode(stream.TopicIoTSensorReadings, r.Key(), r)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = fmt.Sprintf("reading.%s.%s.%d", dev, metric, at.UnixMicro())
	return m
}

func pm25(dev, v string, at time.Time) anomaly.Alert {
	return anomaly.Alert{OrgID: org, DeviceID: dev, DeviceType: "air_quality", Metric: "pm25", Unit: "ug/m3", OccurredAt: at,
		Value: *d(v), Kind: "threshold", Rule: "pm25-unhealthy", Severity: "warning", Max: d("55.4"), Message: "pm25 high"}
}

func zscore(dev string, at time.Time) anomaly.Alert {
	return anomaly.Alert{OrgID: org, DeviceID: dev, DeviceType: "air_quality", Metric: "pm10", Unit: "ug/m3", OccurredAt: at,
		Value: *d("120"), Kind: "statistical", Rule: "zscore", Severity: "warning", Expected: d("40"), Message: "pm10 spike"}
}

// TestSinkIntegration runs both runners on SQLite (and PostgreSQL with
// GREENLANG_TEST_POSTGRES_URL): three occurrences of one threshold
// condition make one open alert counting 3, a statistical alert beside
// it; bad alerts are dead-lettered with the field; a crash between commit
// and ack and a fresh instance change nothing; readings back in range
// resolve the threshold alert at the third consecutive one (an
// out-of-range reading resets the count), and a reading past the quiet
// period resolves the statistical one.
func TestSinkIntegration(t *testing.T) {
	processortest.Engines(t, "alertsink", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		e := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org}, Country: "DE",
			Topics: []string{stream.TopicIoTAlerts, stream.TopicIoTSensorReadings, stream.TopicIntegrationErrors}})
		dev := &store.Device{DeviceType: "air_quality", Serial: "AQ-1"}
		if err := e.Store.Devices().Create(ctx, org, dev); err != nil {
			t.Fatal(err)
		}
		devRef := dev.ID.String()
		known := func(ctx context.Context, o uuid.UUID) (bool, error) {
			_, err := e.Store.OrganizationGet(ctx, o)
			if store.CodeOf(err) == store.CodeNotFound {
				return false, nil
			}
			return err == nil, err
		}
		h, err := alertsink.New(alertsink.Config{Known: known})
		if err != nil {
			t.Fatal(err)
		}
		badKind := pm25(devRef, "70", t0)
		badKind.Kind = "hunch"
		noOrg := pm25(devRef, "70", t0)
		noOrg.OrgID = uuid.Nil
		otherOrg := pm25(devRef, "70", t0)
		otherOrg.OrgID = unknown
		inputs := []*stream.Message{
			alertMsg(t, "a1", pm25(devRef, "60", t0)),
			alertMsg(t, "z1", zscore("aq-x", t0)),
			{Topic: stream.TopicIoTAlerts, Key: org.String(), Value: []byte("not json"), EventID: "bad1"},
			alertMsg(t, "a2", pm25(devRef, "80", t0.Add(2*time.Minute))),
			alertMsg(t, "bad2", badKind),
			alertMsg(t, "a3", pm25(devRef, "70", t0.Add(time.Minute))), // out of order: counts, not the latest
			alertMsg(t, "bad3", noOrg),
			alertMsg(t, "bad4", otherOrg),
		}
		e.Publish(t, inputs)

		// Batches of 2; the first instance stops after its second commit
		// before acking; a second one finishes.
		cfg := e.RunnerConfig(alertsink.Name, stream.TopicIoTAlerts)
		cfg.BatchSize, cfg.FailoverAfter = 2, 2*time.Second
		cfg.Logger = processortest.Logger(t)
		hooks, crash := processortest.CrashAfterCommit(2)
		cfg.Hooks = hooks
		if err := processortest.RunUntilCrash(t, ctx, processortest.NewRunner(t, cfg, h)); err != crash {
			t.Fatalf("first instance ended with %v, want the crash", err)
		}
		cfg.Hooks = processor.Hooks{}
		r := processortest.NewRunner(t, cfg, h)
		processortest.RunUntilHandled(t, e, r, alertsink.Name, stream.TopicIoTAlerts, 4)

		all, err := e.Store.AlertsList(ctx, org, store.AlertFilter{Status: "all"})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 {
			t.Fatalf("%d alerts, want 2: %+v", len(all), all)
		}
		th, err := e.Store.AlertOpenByKey(ctx, org, alertsink.DedupKey(devRef, "pm25", "threshold", "pm25-unhealthy"))
		if err != nil {
			t.Fatal(err)
		}
		if th.Occurrences != 3 || th.Value.Decimal.String() != "80" || !th.LastRaisedAt.Equal(t0.Add(2*time.Minute)) ||
			!th.RaisedAt.Equal(t0) || th.DeviceID == nil || *th.DeviceID != dev.ID || th.Status != store.AlertOpen ||
			th.Threshold.Decimal.String() != "55.4" || th.Rule != "pm25-unhealthy" {
			t.Fatalf("threshold alert %+v", th)
		}
		st, err := e.Store.AlertOpenByKey(ctx, org, alertsink.DedupKey("aq-x", "pm10", "statistical", "zscore"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Occurrences != 1 || st.DeviceID != nil || st.DeviceRef != "aq-x" {
			t.Fatalf("statistical alert %+v", st)
		}
		want := processortest.NewOutputs()
		want.Count[stream.TopicIntegrationErrors] = 4
		got := processortest.Collect(t, e, []string{stream.TopicIntegrationErrors}, want)
		if len(got.ByID) != 4 {
			t.Errorf("%d distinct dead letters, want 4", len(got.ByID))
		}
		processortest.CheckReasons(t, got.Reasons, "kind", "org_id is required", "does not exist")

		// Acknowledged alerts still absorb repeats and still resolve.
		if _, err := e.Store.AlertAcknowledge(store.WithActor(ctx, store.Actor{Type: "user", ID: "ops"}), org, th.ID); err != nil {
			t.Fatal(err)
		}

		// Readings: in, out (resets), in, in, in -> resolved at the third
		// consecutive; one reading before the latest occurrence does not
		// count; pm10 at +10 min (quiet) and +15 min (resolves).
		readings := []*stream.Message{
			readingMsg(t, devRef, "pm25", "30", t0.Add(time.Minute)), // before the latest occurrence
			readingMsg(t, devRef, "pm25", "50", t0.Add(3*time.Minute)),
			readingMsg(t, devRef, "pm25", "60", t0.Add(4*time.Minute)),
			readingMsg(t, devRef, "pm25", "40", t0.Add(5*time.Minute)),
			{Topic: stream.TopicIoTSensorReadings, Key: org.String() + "/" + devRef, Value: []byte("{"), EventID: "junk"},
			readingMsg(t, devRef, "pm25", "41", t0.Add(6*time.Minute)),
			readingMsg(t, "aq-x", "pm10", "42", t0.Add(10*time.Minute)),
			readingMsg(t, devRef, "pm25", "55.4", t0.Add(7*time.Minute)),
			readingMsg(t, "aq-x", "pm10", "42", t0.Add(15*time.Minute)),
			readingMsg(t, devRef, "pm25", "20", t0.Add(8*time.Minute)), // after resolution: nothing
		}
		e.Publish(t, readings)
		rcfg := e.RunnerConfig(alertsink.ReadingsName, stream.TopicIoTSensorReadings)
		rcfg.BatchSize = 3
		hooks, crash = processortest.CrashAfterCommit(2)
		rcfg.Hooks, rcfg.FailoverAfter = hooks, 2*time.Second
		if err := processortest.RunUntilCrash(t, ctx, processortest.NewRunner(t, rcfg, h)); err != crash {
			t.Fatalf("first readings instance ended with %v, want the crash", err)
		}
		rcfg.Hooks = processor.Hooks{}
		processortest.RunUntilHandled(t, e, processortest.NewRunner(t, rcfg, h), alertsink.ReadingsName, stream.TopicIoTSensorReadings, 4)

		th, err = e.Store.AlertGet(ctx, org, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		if th.Status != store.AlertResolved || th.ResolvedAt == nil || !th.ResolvedAt.Equal(t0.Add(7*time.Minute)) || th.ClearStreak != 3 ||
			th.AcknowledgedBy != "user:ops" || th.Occurrences != 3 {
			t.Fatalf("threshold alert after the readings %+v (resolved at %v)", th, th.ResolvedAt)
		}
		st, err = e.Store.AlertGet(ctx, org, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != store.AlertResolved || !st.ResolvedAt.Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("statistical alert after the readings %+v", st)
		}
		openNow, err := e.Store.AlertsList(ctx, org, store.AlertFilter{Status: store.AlertOpen})
		if err != nil || len(openNow) != 0 {
			t.Fatalf("open alerts %v, %v", openNow, err)
		}

		// A new occurrence after resolution opens a new alert.
		e.Publish(t, []*stream.Message{alertMsg(t, "a4", pm25(devRef, "90", t0.Add(9*time.Minute)))})
		processortest.RunUntilHandled(t, e, processortest.NewRunner(t, cfg, h), alertsink.Name, stream.TopicIoTAlerts, 1)
		openNow, err = e.Store.AlertsList(ctx, org, store.AlertFilter{Status: store.AlertOpen, DeviceID: &dev.ID})
		if err != nil || len(openNow) != 1 || openNow[0].Occurrences != 1 || openNow[0].ID == th.ID {
			t.Fatalf("after a new occurrence: %+v, %v", openNow, err)
		}
		rep, err := e.Store.VerifyAudit(ctx, org)
		if err != nil || !rep.OK() {
			t.Fatalf("audit %+v, %v", rep, err)
		}
	})
}

// TestHandle checks what Handle emits and rejects without a runner.
func TestHandle(t *testing.T) {
	t.Parallel()
	h, err := alertsink.New(alertsink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	noMax := pm25("d", "70", t0)
	noMax.Max = nil
	// An event of three values, one of them unusable: two observations.
	multi := anomaly.Reading{OrgID: org, DeviceID: "d", DeviceType: "air_quality", Metric: "pm25", Value: decimal.NewNullDecimal(*d("12")),
		Unit: "ug/m3", OccurredAt: t0, More: []anomaly.Measurement{
			{Metric: "pm10", Value: decimal.NewNullDecimal(*d("30")), Unit: "ug/m3", OccurredAt: t0},
			{Metric: "co2_ppm", Unit: "ppm", OccurredAt: t0}}}
	multiMsg, err := stream.Encode(stream.TopicIoTSensorReadings, multi.Key(), multi)
	if err != nil {
		t.Fatal(err)
	}
	huge := pm25("d", "70", t0)
	huge.Value = *d("1e30")
	for name, tc := range map[string]struct {
		m      *stream.Message
		reject string
		writes int // alert writes emitted when accepted
	}{
		"good":       {m: alertMsg(t, "x", pm25("d", "70", t0)), writes: 1},
		"no range":   {m: alertMsg(t, "x", noMax), reject: "min, max"},
		"huge value": {m: alertMsg(t, "x", huge), reject: "field value"},
		"other topic": {m: &stream.Message{Topic: stream.TopicEmissionsRaw, Value: []byte("{}")},
			reject: "not an input"},
		"bad reading skipped": {m: &stream.Message{Topic: stream.TopicIoTSensorReadings, Value: []byte("[")}},
		"several values":      {m: multiMsg, writes: 2},
	} {
		em := processor.NewEmitter(alertsink.Name)
		err := h.Handle(context.Background(), h.NewState(), tc.m, em)
		if tc.reject == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if len(em.Alerts()) != tc.writes || len(em.Events()) != 0 {
				t.Errorf("%s: emitted %d alert writes and %d events, want %d and 0", name, len(em.Alerts()), len(em.Events()), tc.writes)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.reject) {
			t.Errorf("%s: got %v, want a rejection mentioning %q", name, err, tc.reject)
		}
		if len(em.Events())+len(em.Alerts()) != 0 {
			t.Errorf("%s: emitted %d writes with a rejection", name, len(em.Events())+len(em.Alerts()))
		}
	}
	if _, err := alertsink.New(alertsink.Config{ClearAfter: -1}); err == nil {
		t.Error("ClearAfter -1 accepted")
	}
}
