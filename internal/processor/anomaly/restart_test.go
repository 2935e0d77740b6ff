package anomaly_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/outbox"
	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

// The restart test follows internal/processor/aggregator/restart_test.go:
// the same inputs run uninterrupted, killed mid-batch and killed between
// commit and ack must give the same outputs, delivered once, equal to the
// handler applied directly to the inputs partition by partition.

var orgB = uuid.MustParse("0190a000-0000-7000-8000-00000000000b")

type storeOpener func(t *testing.T) *store.Store

func engines(t *testing.T, fn func(t *testing.T, open storeOpener)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) *store.Store {
			reg := store.NewRegistry()
			sqlitestore.Register(reg)
			s, err := reg.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "greenlang.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pgtest.New(t, "greenlang_anomaly") // skips when no server is configured
		fn(t, func(t *testing.T) *store.Store {
			return pgtest.Open(t, pgtest.New(t, "greenlang_anomaly"), store.Options{})
		})
	})
}

var restartTopics = []string{stream.TopicIoTSensorReadings, stream.TopicIoTAlerts, stream.TopicEmissionsAnomalies, stream.TopicIntegrationErrors}

type env struct {
	st   *store.Store
	strm *stream.Stream
}

func newEnv(t *testing.T, open storeOpener, inputs []*stream.Message) *env {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	for _, id := range []uuid.UUID{org, orgB} {
		o := &store.Organization{ID: id, Name: "Org " + id.String()[:8], Slug: "org-" + strings.ReplaceAll(id.String(), "-", "")[12:], Country: "US"}
		if err := s.OrganizationCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	var topics []stream.Topic
	for _, tp := range stream.Catalogue() {
		for _, n := range restartTopics {
			if tp.Name == n {
				topics = append(topics, tp)
			}
		}
	}
	reg := stream.NewRegistry()
	natsstream.Register(reg)
	strm, err := reg.Open(ctx, "nats+embedded://"+filepath.Join(t.TempDir(), "nats"), stream.Options{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { strm.Close() })
	if err := strm.PublishBatch(ctx, clone(inputs)); err != nil {
		t.Fatal(err)
	}
	return &env{st: s, strm: strm}
}

func clone(ms []*stream.Message) []*stream.Message {
	out := make([]*stream.Message, len(ms))
	for i, m := range ms {
		c := *m
		c.Headers = map[string]string{}
		for k, v := range m.Headers {
			c.Headers[k] = v
		}
		out[i] = &c
	}
	return out
}

// series of the restart inputs: 16 readings each, 90 s apart, with
// threshold breaches and spikes.
type series struct {
	org          uuid.UUID
	device, typ  string
	metric, unit string
	value        func(i int) string
	spikes       map[int]string
}

func restartSeries() []series {
	return []series{
		{org: org, device: "em-1", typ: "energy_meter", metric: "energy_kwh", unit: "kWh",
			value: func(i int) string { return fmt.Sprint(10 + (i*7)%5) }, spikes: map[int]string{12: "60", 14: "-2"}},
		{org: org, device: "aq-1", typ: "air_quality", metric: "pm25", unit: "ug/m3",
			value: func(i int) string { return fmt.Sprintf("%d.%d", 20+(i*3)%7, i%10) }, spikes: map[int]string{5: "80", 13: "70.5"}},
		{org: orgB, device: "th-1", typ: "temp_humidity", metric: "temperature_c", unit: "C",
			value: func(i int) string { return fmt.Sprint(21 + i%3) }, spikes: map[int]string{11: "55"}},
		{org: orgB, device: "es-1", typ: "emissions_sensor", metric: "co2e_kg", unit: "kg",
			value: func(i int) string { return fmt.Sprintf("3.%d", (i*5)%9) }, spikes: map[int]string{9: "-1", 15: "9.9"}},
	}
}

func encodeReading(t *testing.T, id string, r anomaly.Reading) *stream.Message {
	m, err := stream.Encode(stream.TopicIoTSensorReadings, r.Key(), r)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = id
	return m
}

const restartValid = 64

// restartInputs are 64 readings of four series over 24 minutes of event
// time, interleaved, plus a payload that is not JSON, an unknown device
// type and a reading keyed by its organization only.
func restartInputs(t *testing.T) []*stream.Message {
	var msgs []*stream.Message
	for i := range 16 {
		for n, s := range restartSeries() {
			v := s.value(i)
			if sv, ok := s.spikes[i]; ok {
				v = sv
			}
			r := anomaly.Reading{OrgID: s.org, DeviceID: s.device, DeviceType: s.typ, Metric: s.metric, Unit: s.unit, Site: "plant-1",
				Value: decimal.NewNullDecimal(decimal.RequireFromString(v)), OccurredAt: t0.Add(time.Duration(i*90) * time.Second)}
			msgs = append(msgs, encodeReading(t, fmt.Sprintf("reading-%d-%02d", n, i), r))
		}
		switch i {
		case 4:
			msgs = append(msgs, &stream.Message{Topic: stream.TopicIoTSensorReadings, Key: org.String() + "/em-1", Value: []byte("{not json"), EventID: "bad-json"})
		case 8:
			r := anomaly.Reading{OrgID: org, DeviceID: "x-1", DeviceType: "toaster", Metric: "m", Unit: "u", Value: decimal.NewNullDecimal(decimal.NewFromInt(1)), OccurredAt: t0}
			msgs = append(msgs, encodeReading(t, "bad-type", r))
		case 10:
			r := anomaly.Reading{OrgID: orgB, DeviceID: "th-1", DeviceType: "temp_humidity", Metric: "temperature_c", Unit: "C", Value: decimal.NewNullDecimal(decimal.NewFromInt(1)), OccurredAt: t0}
			m := encodeReading(t, "bad-key", r)
			m.Key = orgB.String()
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// flushInputs are one ordinary reading per series three hours later: past
// the lateness, they release every earlier reading into the baselines.
func flushInputs(t *testing.T) []*stream.Message {
	var msgs []*stream.Message
	for n, s := range restartSeries() {
		r := anomaly.Reading{OrgID: s.org, DeviceID: s.device, DeviceType: s.typ, Metric: s.metric, Unit: s.unit, Site: "plant-1",
			Value: decimal.NewNullDecimal(decimal.RequireFromString(s.value(0))), OccurredAt: t0.Add(3 * time.Hour)}
		msgs = append(msgs, encodeReading(t, fmt.Sprintf("flush-%d", n), r))
	}
	return msgs
}

func restartHandler(t *testing.T) *anomaly.Handler {
	// An hour of lateness: a restarted processor may get its unacked
	// inputs after newer ones (docs/processors.md); within the lateness
	// the baselines do not depend on arrival order.
	return newHandler(t, anomaly.Config{Window: 10, WarmUp: 8, Lateness: time.Hour})
}

// outputs are events by id: topic and payload bytes (dead letters: topic
// and the input's payload), and dead-letter reasons.
type outputs struct {
	byID    map[string]string
	count   map[string]int // per topic
	reasons []string
}

// reference applies the handler directly, one state per input partition,
// in publish order: what every run must produce.
func reference(t *testing.T, inputs []*stream.Message) outputs {
	h := restartHandler(t)
	var parts int32
	for _, tp := range stream.Catalogue() {
		if tp.Name == stream.TopicIoTSensorReadings {
			parts = tp.Partitions
		}
	}
	states := map[int32]*anomaly.State{}
	o := outputs{byID: map[string]string{}, count: map[string]int{}}
	for _, m := range inputs {
		p := stream.PartitionFor([]byte(m.Key), parts)
		if states[p] == nil {
			states[p] = h.NewState()
		}
		em := processor.NewEmitter(anomaly.Name)
		err := h.Handle(context.Background(), states[p], m, em)
		var rej *processor.RejectError
		switch {
		case errors.As(err, &rej):
			o.byID[processor.EventID(anomaly.Name, "dead-letter", m.EventID).String()] = stream.TopicIntegrationErrors + " " + string(m.Value)
			o.count[stream.TopicIntegrationErrors]++
			o.reasons = append(o.reasons, err.Error())
		case err != nil:
			t.Fatal(err)
		default:
			for _, e := range em.Events() {
				o.byID[e.Event.ID.String()] = e.Event.Topic + " " + string(e.Event.Payload)
				o.count[e.Event.Topic]++
			}
		}
	}
	return o
}

type crashingHandler struct {
	*anomaly.Handler
	n, count int
	cancel   func()
}

func (h *crashingHandler) Handle(ctx context.Context, st *anomaly.State, m *stream.Message, out *processor.Emitter) error {
	h.count++
	if h.count == h.n {
		h.cancel()
	}
	return h.Handler.Handle(ctx, st, m, out)
}

func newRunner(t *testing.T, e *env, h processor.Handler[*anomaly.State], hooks processor.Hooks) *processor.Runner[*anomaly.State] {
	r, err := processor.New(processor.Config{Name: anomaly.Name, Topic: stream.TopicIoTSensorReadings, Store: e.st, Stream: e.strm,
		BatchSize: 8, FailoverAfter: 5 * time.Second, Hooks: hooks}, h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runUntilDrained runs r until it has applied at least minApplied inputs
// and the group has acked every input, then stops it. (The lag alone is
// not enough right after a publish: JetStream's consumer info may not
// count the new messages yet.)
func runUntilDrained(t *testing.T, e *env, r *processor.Runner[*anomaly.State], minApplied int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("runner stopped early: %v", err)
		default:
		}
		lag, err := e.strm.Lag(context.Background(), anomaly.Name, stream.TopicIoTSensorReadings)
		if err == nil && lag == 0 && r.Stats().Applied >= minApplied {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("inputs not drained (lag %d, %v); stats %+v", lag, err, r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("runner ended with %v", err)
	}
}

func runUntilCrash(t *testing.T, r *processor.Runner[*anomaly.State], ctx context.Context) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("the runner never reached the crash point")
		return nil
	}
}

// flushAndCollect publishes the flush readings once the first inputs are
// drained (a flush overtaking redelivered inputs would make them late),
// runs a new instance over them, relays the outbox and reads every
// output topic.
func flushAndCollect(t *testing.T, e *env, want outputs) outputs {
	t.Helper()
	ctx := context.Background()
	if err := e.strm.PublishBatch(ctx, flushInputs(t)); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, e, restartHandler(t), processor.Hooks{})
	runUntilDrained(t, e, r, 4)
	if s := r.Stats(); s.Applied != 4 {
		t.Fatalf("flush: stats %+v", s)
	}
	relay := &outbox.Relay{Store: e.st, Stream: e.strm, BatchSize: 50}
	for {
		n, err := relay.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	got := outputs{byID: map[string]string{}, count: map[string]int{}}
	for _, topic := range restartTopics[1:] {
		sub, err := e.strm.Replay(ctx, topic, stream.Position{})
		if err != nil {
			t.Fatal(err)
		}
		for got.count[topic] < want.count[topic] {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := sub.Receive(rctx)
			cancel()
			if err != nil {
				t.Fatalf("reading %s: %v after %d of %d", topic, err, got.count[topic], want.count[topic])
			}
			got.count[topic]++ // every delivery: a duplicate leaves a wanted event unread
			v := topic + " " + string(m.Value)
			got.byID[m.EventID] = v
			if topic == stream.TopicIntegrationErrors {
				got.reasons = append(got.reasons, m.Headers[stream.HeaderDLQReason])
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		if m, err := sub.Receive(rctx); err == nil {
			t.Errorf("%s: an extra delivery %s %s", topic, m.EventID, m.Value)
		}
		cancel()
		sub.Close()
	}
	return got
}

func compare(t *testing.T, got, want outputs) {
	t.Helper()
	if len(got.byID) != len(want.byID) {
		t.Errorf("%d distinct outputs, want %d", len(got.byID), len(want.byID))
	}
	for id, w := range want.byID {
		if g, ok := got.byID[id]; !ok {
			t.Errorf("output %s missing: %s", id, w)
		} else if g != w {
			t.Errorf("output %s differs:\n got %s\nwant %s", id, g, w)
		}
	}
	joined := strings.Join(got.reasons, "\n")
	for _, w := range []string{"decoding", `device_type "toaster"`, "key"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no dead letter mentions %q:\n%s", w, joined)
		}
	}
}

func TestRestartMatchesUninterrupted(t *testing.T) {
	inputs := restartInputs(t)
	want := reference(t, append(clone(inputs), flushInputs(t)...))
	// The reference itself: both kinds of rules fired, on both topics.
	var stats, thresholds int
	for _, v := range want.byID {
		if strings.Contains(v, `"kind":"statistical"`) {
			stats++
		}
		if strings.Contains(v, `"kind":"threshold"`) {
			thresholds++
		}
	}
	if stats == 0 || thresholds == 0 || want.count[stream.TopicEmissionsAnomalies] == 0 || want.count[stream.TopicIntegrationErrors] != 3 {
		t.Fatalf("reference: %d statistical and %d threshold outputs, counts %v", stats, thresholds, want.count)
	}
	t.Logf("reference: %d statistical and %d threshold outputs, per topic %v", stats, thresholds, want.count)
	engines(t, func(t *testing.T, open storeOpener) {
		t.Run("uninterrupted", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			r := newRunner(t, e, restartHandler(t), processor.Hooks{})
			runUntilDrained(t, e, r, restartValid)
			if s := r.Stats(); s.Applied != restartValid || s.DeadLettered != 3 {
				t.Fatalf("stats %+v", s)
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
		t.Run("crash mid-batch", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r1 := newRunner(t, e, &crashingHandler{Handler: restartHandler(t), n: 21, cancel: cancel}, processor.Hooks{})
			if err := runUntilCrash(t, r1, ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			if cps, err := e.st.ProcessorCheckpoints(context.Background(), anomaly.Name); err != nil || len(cps) == 0 {
				t.Fatalf("no checkpoint after the first batches: %v %v", cps, err)
			}
			r2 := newRunner(t, e, restartHandler(t), processor.Hooks{})
			runUntilDrained(t, e, r2, restartValid-r1.Stats().Applied)
			if a := r1.Stats().Applied + r2.Stats().Applied; a != restartValid {
				t.Fatalf("inputs applied %d times in all, want %d: first %+v second %+v", a, restartValid, r1.Stats(), r2.Stats())
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
		t.Run("crash between commit and ack", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			var commits atomic.Int32
			crash := errors.New("crash after commit")
			r1 := newRunner(t, e, restartHandler(t), processor.Hooks{AfterCommit: func() error {
				if commits.Add(1) == 3 {
					return crash
				}
				return nil
			}})
			if err := runUntilCrash(t, r1, context.Background()); !errors.Is(err, crash) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			r2 := newRunner(t, e, restartHandler(t), processor.Hooks{})
			runUntilDrained(t, e, r2, restartValid-r1.Stats().Applied)
			if a := r1.Stats().Applied + r2.Stats().Applied; a != restartValid {
				t.Fatalf("inputs applied %d times in all, want %d: first %+v second %+v", a, restartValid, r1.Stats(), r2.Stats())
			}
			if s := r2.Stats(); s.Skipped == 0 {
				t.Fatalf("the restarted runner skipped nothing: the committed but unacked batch was not redelivered? %+v", s)
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
	})
}
