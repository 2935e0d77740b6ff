package app_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/kpi"
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/stream"
)

// serve opens the embedded event stream under the data directory and runs
// the outbox relay: an event a store write emits reaches the stream, and
// the relay's counters are metrics.
func TestServeRelaysTheOutbox(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	if !strings.HasPrefix(cfg.Stream.URL, "nats+embedded://") || !strings.HasSuffix(cfg.Stream.URL, "/data/jetstream") {
		t.Fatalf("default stream URL %q", cfg.Stream.URL)
	}
	a := startApp(t, cfg, app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	org := drivertest.NewOrg(t, a.Store())
	ev := store.OutboxEvent{Topic: "emissions.calculated", Key: org.ID.String(), Payload: []byte(`{"test":true}`)}
	if _, err := a.Store().OutboxAppend(ctx, org.ID, ev); err != nil {
		t.Fatal(err)
	}
	sub := replay(t, ctx, a, "emissions.calculated")
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("the outbox event did not reach the stream: %v", err)
	}
	if string(m.Value) != `{"test":true}` || m.Key != org.ID.String() || m.EventID == "" {
		t.Errorf("received %+v", m)
	}
	// The relay marks the event after publishing it: wait for the count.
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, body = fetch(t, http.DefaultClient, "http://"+a.Addr()+"/metrics"); strings.Contains(body, "greenlang_outbox_published_total 1\n") {
			return
		}
	}
	t.Errorf("metrics lack the relay's count:\n%s", grepLines(body, "greenlang_outbox"))
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// serve runs the emissions aggregator: an activity published on
// emissions.raw comes back calculated on emissions.calculated, with the
// same CO2e as a file calculation of the same activity.
func TestServeCalculatesStreamedActivity(t *testing.T) {
	t.Parallel()
	a := startApp(t, testConfig(t), app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	org := drivertest.NewOrg(t, a.Store()).ID
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	act := aggregator.Activity{OrgID: org, ActivityID: "boiler-1", ActivityType: "natural_gas", Quantity: decimal.RequireFromString("50000"),
		Unit: "scf", Region: "US", PeriodStart: day, Scope: 1, Method: "stationary_combustion", OccurredAt: day}
	// First an activity of an organization the store does not have: it is
	// dead-lettered and does not hold up the next.
	stranger := act
	stranger.ActivityID = "stranger-1"
	var raw stream.Topic
	for _, t := range stream.Catalogue() {
		if t.Name == stream.TopicEmissionsRaw {
			raw = t
		}
	}
	for stranger.OrgID == org || stream.PartitionFor([]byte(stranger.OrgID.String()), raw.Partitions) != stream.PartitionFor([]byte(org.String()), raw.Partitions) {
		stranger.OrgID = uuid.Must(uuid.NewV7()) // in the same partition, ahead of the good one
	}
	bad, err := stream.Encode(stream.TopicEmissionsRaw, stranger.OrgID.String(), stranger)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.Encode(stream.TopicEmissionsRaw, org.String(), act)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Stream().PublishBatch(ctx, []*stream.Message{bad, m}); err != nil {
		t.Fatal(err)
	}
	wantKg := boilerCO2e(t)
	sub := replay(t, ctx, a, stream.TopicEmissionsCalculated)
	for {
		got, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("no calculated activity on %s: %v", stream.TopicEmissionsCalculated, err)
		}
		if got.Headers[aggregator.HeaderEventType] != aggregator.EventTypeActivity {
			continue
		}
		c, err := stream.Decode[aggregator.Calculated](got)
		if err != nil {
			t.Fatal(err)
		}
		if c.ActivityID != "boiler-1" || c.OrgID != org || !c.CO2eKg.Equal(wantKg) {
			t.Errorf("calculated %+v, want %s kg CO2e", c, wantKg)
		}
		break
	}
	// Both inputs are handled: the group's lag on emissions.raw drains to 0.
	want0 := `greenlang_stream_consumer_lag{group="emissions-aggregator",topic="emissions.raw"} 0` + "\n"
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !strings.Contains(body, want0); time.Sleep(100 * time.Millisecond) {
		_, body = fetch(t, http.DefaultClient, "http://"+a.Addr()+"/metrics")
	}
	if !strings.Contains(body, want0) || !strings.Contains(body, `greenlang_processor_dead_lettered_total{processor="emissions-aggregator"} 1`) {
		t.Errorf("metrics:\n%s", grepLines(body, "greenlang_"+"stream")+"\n"+grepLines(body, "greenlang_processor"))
	}
	dead := replay(t, ctx, a, stream.TopicIntegrationErrors)
	dl, err := dead.Receive(ctx)
	if err != nil {
		t.Fatalf("no dead letter for the unknown organization: %v", err)
	}
	if r := dl.Headers[stream.HeaderDLQReason]; !strings.Contains(r, "no such organization") || !strings.Contains(string(dl.Value), "stranger-1") {
		t.Errorf("dead letter %q: %s", r, dl.Value)
	}
}

// serve runs the real-time KPI calculator on the aggregator's results and
// on purchase orders: once a later event moves event time past the first
// one's windows, their KPIs appear on analytics.kpi-updates, one update per
// input and window kind.
func TestServeComputesKPIs(t *testing.T) {
	t.Parallel()
	a := startApp(t, testConfig(t), app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	org := drivertest.NewOrg(t, a.Store()).ID
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var msgs []*stream.Message
	for i, at := range []time.Time{day, day.Add(3 * time.Hour)} {
		act := aggregator.Activity{OrgID: org, ActivityID: "boiler-" + strconv.Itoa(i), ActivityType: "natural_gas", Quantity: decimal.RequireFromString("50000"),
			Unit: "scf", Region: "US", PeriodStart: day, Scope: 1, Method: "stationary_combustion", OccurredAt: at}
		m, err := stream.Encode(stream.TopicEmissionsRaw, org.String(), act)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	// Two purchase orders, the second one three hours later.
	for i, at := range []time.Time{day, day.Add(3 * time.Hour)} {
		o := supplychain.Order{OrgID: org, OrderID: "po-" + strconv.Itoa(i), SupplierID: "acme", Amount: decimal.RequireFromString("1250.40"), Currency: "EUR", OrderedAt: at}
		m, err := stream.Encode(stream.TopicSupplyChainOrders, org.String(), o)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := a.Stream().PublishBatch(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	wantKg := boilerCO2e(t)
	sub := replay(t, ctx, a, stream.TopicAnalyticsKPIUpdates)
	got := map[string]kpi.Update{} // source and window -> update
	for len(got) < 6 {
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("KPI updates so far %v: %v", got, err)
		}
		u, err := stream.Decode[kpi.Update](m)
		if err != nil {
			t.Fatal(err)
		}
		if u.OrgID != org || !u.WindowStart.Before(day.Add(time.Hour)) {
			continue
		}
		if u.Window == "hopping-1h0m0s-5m0s" && !u.WindowStart.Equal(day.Add(-55*time.Minute)) {
			continue // one of the twelve hopping windows holding the activity
		}
		got[u.Source+" "+u.Window] = u
	}
	for name, u := range got {
		switch u.Source {
		case stream.TopicEmissionsCalculated:
			if u.Activities != 1 || !u.CO2eKg.Equal(wantKg) {
				t.Errorf("%s: %d activities, %s kg CO2e; want 1 and %s", name, u.Activities, u.CO2eKg, wantKg)
			}
		case stream.TopicSupplyChainOrders:
			if u.Orders != 1 || !u.SpendByCurrency["EUR"].Equal(decimal.RequireFromString("1250.40")) {
				t.Errorf("%s: %d orders, spend %v; want 1 and EUR 1250.40", name, u.Orders, u.SpendByCurrency)
			}
		default:
			t.Errorf("%s: unknown source", name)
		}
	}
}

// serve runs the IoT anomaly detector: a PM2.5 reading above the EPA
// "unhealthy" breakpoint becomes an alert on iot.alerts.
func TestServeRaisesIoTAlert(t *testing.T) {
	t.Parallel()
	a := startApp(t, testConfig(t), app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	org := drivertest.NewOrg(t, a.Store()).ID
	r := anomaly.Reading{OrgID: org, DeviceID: "aq-7", DeviceType: "air_quality", Metric: "pm25",
		Value: decimal.NewNullDecimal(decimal.RequireFromString("180.5")), Unit: "ug/m3", OccurredAt: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
	if _, err := stream.Publish(ctx, a.Stream(), stream.TopicIoTSensorReadings, r.Key(), r); err != nil {
		t.Fatal(err)
	}
	sub := replay(t, ctx, a, stream.TopicIoTAlerts)
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("no alert on %s: %v", stream.TopicIoTAlerts, err)
	}
	al, err := stream.Decode[anomaly.Alert](m)
	if err != nil {
		t.Fatal(err)
	}
	if al.OrgID != org || al.DeviceID != "aq-7" || al.Metric != "pm25" || al.Kind != "threshold" || !al.Value.Equal(decimal.RequireFromString("180.5")) {
		t.Fatalf("alert %+v", al)
	}
}

// boilerCO2e is what a file calculation gives for the boiler activity the
// stream tests publish (50000 scf of natural gas in the US, 2025-01-01).
func boilerCO2e(t *testing.T) decimal.Decimal {
	t.Helper()
	svc, err := calculation.NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	want, err := svc.CalculateFile(strings.NewReader("id,activity_type,quantity,unit,period_start,region,scope,method\n"+
		"boiler,natural_gas,50000,scf,2025-01-01,US,1,stationary_combustion\n"), calculation.Options{})
	if err != nil || len(want.Lines) != 1 {
		t.Fatal(err, want.Errors)
	}
	return want.Lines[0].Result.CO2eKg
}

// replay reads topic from its start until the test ends.
func replay(t *testing.T, ctx context.Context, a *app.App, topic string) *stream.Subscription {
	t.Helper()
	sub, err := a.Stream().Replay(ctx, topic, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}
