package supplychain_test

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
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

// The restart test follows internal/processor/aggregator/restart_test.go,
// with both runners of the analyzer: the same inputs run uninterrupted,
// killed mid-batch and killed between commit and ack must give the same
// outputs, delivered once, equal to the handler applied directly to each
// topic's inputs partition by partition.

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
		pgtest.New(t, "greenlang_supplychain") // skips when no server is configured
		fn(t, func(t *testing.T) *store.Store {
			return pgtest.Open(t, pgtest.New(t, "greenlang_supplychain"), store.Options{})
		})
	})
}

var outputTopics = []string{stream.TopicSupplyChainRiskEvents, stream.TopicAnalyticsKPIUpdates, stream.TopicIntegrationErrors}

type env struct {
	st   *store.Store
	strm *stream.Stream
}

func newEnv(t *testing.T, open storeOpener, inputs []*stream.Message) *env {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	for _, id := range []uuid.UUID{org, orgB} {
		o := &store.Organization{ID: id, Name: "Org " + id.String()[:8], Slug: "org-" + strings.ReplaceAll(id.String(), "-", "")[12:], Country: "DE"}
		if err := s.OrganizationCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{stream.TopicSupplyChainOrders: true, stream.TopicSupplyChainShipments: true}
	for _, n := range outputTopics {
		want[n] = true
	}
	var topics []stream.Topic
	for _, tp := range stream.Catalogue() {
		if want[tp.Name] {
			topics = append(topics, tp)
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

func keyed[T any](t *testing.T, topic, id string, o uuid.UUID, v T) *stream.Message {
	m, err := stream.Encode(topic, o.String(), v)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = id
	return m
}

const (
	validOrders    = 30
	validShipments = 24
)

// restartInputs: 30 orders and 24 delivered shipments of two
// organizations over four hours of event time, some out of order, with
// high-risk suppliers, concentrated spend, late deliveries and
// intensities above the norm; plus, per topic, a payload that is not JSON,
// a field the handler refuses and an input a day behind the others (late).
func restartInputs(t *testing.T) []*stream.Message {
	var msgs []*stream.Message
	suppliers := []string{"sup-a", "sup-a", "sup-b", "sup-risky", "sup-a", "sup-c"}
	for i := range validOrders {
		o := org
		if i%3 == 2 {
			o = orgB
		}
		when := t0.Add(time.Duration(i*8) * time.Minute)
		if i%5 == 4 {
			when = when.Add(-20 * time.Minute) // out of order, within the lateness
		}
		cur := "EUR"
		if i%4 == 3 {
			cur = "USD"
		}
		ord := supplychain.Order{OrgID: o, OrderID: fmt.Sprintf("po-%d", i), SupplierID: suppliers[i%len(suppliers)],
			Amount: decimal.New(int64(1000+i*137), -2), Currency: cur, OrderedAt: when}
		if i%7 == 6 {
			ord.ESG = &supplychain.ESG{Environmental: d("90"), Social: d("75"), Governance: d("50")} // 73.5
		}
		msgs = append(msgs, keyed(t, stream.TopicSupplyChainOrders, fmt.Sprintf("order-%02d", i), o, ord))
	}
	modes := []string{"road", "rail", "sea", "air"}
	for i := range validShipments {
		o := org
		if i%2 == 1 {
			o = orgB
		}
		delivered := t0.Add(time.Duration(i*10) * time.Minute)
		if i%6 == 5 {
			delivered = delivered.Add(-25 * time.Minute)
		}
		promised := delivered.Add(-time.Duration(i%7) * time.Hour) // 0–6 hours before: late from 5 on
		mode := modes[i%len(modes)]
		kg, km := decimal.NewFromInt(int64(1000+i*250)), decimal.NewFromInt(int64(100+i*40))
		norm := supplychain.DefaultModeNorms()[mode]
		factor := d("1.5")
		if i%5 == 2 {
			factor = d("2.4") // above twice the norm
		}
		co2e := kg.Mul(km).Shift(-3).Mul(norm).Mul(factor).Round(3)
		s := supplychain.Shipment{OrgID: o, ShipmentID: fmt.Sprintf("sh-%d", i), SupplierID: suppliers[i%len(suppliers)], Mode: mode,
			WeightKg: kg, DistanceKm: km, CO2eKg: decimal.NewNullDecimal(co2e), PromisedAt: promised, DeliveredAt: delivered}
		msgs = append(msgs, keyed(t, stream.TopicSupplyChainShipments, fmt.Sprintf("shipment-%02d", i), o, s))
	}
	msgs = append(msgs,
		&stream.Message{Topic: stream.TopicSupplyChainOrders, Key: org.String(), Value: []byte("{not json"), EventID: "bad-order-json"},
		keyed(t, stream.TopicSupplyChainOrders, "bad-currency", org, supplychain.Order{OrgID: org, OrderID: "x", SupplierID: "sup-a", Amount: d("1"), Currency: "euro", OrderedAt: t0}),
		keyed(t, stream.TopicSupplyChainOrders, "late-order", org, supplychain.Order{OrgID: org, OrderID: "late", SupplierID: "sup-a", Amount: d("1"), Currency: "EUR", OrderedAt: t0.Add(-48 * time.Hour)}),
		&stream.Message{Topic: stream.TopicSupplyChainShipments, Key: orgB.String(), Value: []byte("[]"), EventID: "bad-shipment-json"},
		keyed(t, stream.TopicSupplyChainShipments, "bad-mode", orgB, supplychain.Shipment{OrgID: orgB, ShipmentID: "x", Mode: "teleport", WeightKg: d("1"), DistanceKm: d("1"),
			CO2eKg: decimal.NewNullDecimal(d("1")), PromisedAt: t0, DeliveredAt: t0}),
		keyed(t, stream.TopicSupplyChainShipments, "late-shipment", orgB, supplychain.Shipment{OrgID: orgB, ShipmentID: "late", Mode: "road", WeightKg: d("1"), DistanceKm: d("1"),
			CO2eKg: decimal.NewNullDecimal(d("0.1")), PromisedAt: t0.Add(-48 * time.Hour), DeliveredAt: t0.Add(-48 * time.Hour)}),
	)
	return msgs
}

// flushInputs are one order and one shipment per organization a day
// later: past the lateness, they close every earlier window.
func flushInputs(t *testing.T) []*stream.Message {
	var msgs []*stream.Message
	for n, o := range []uuid.UUID{org, orgB} {
		when := t0.Add(24 * time.Hour)
		msgs = append(msgs,
			keyed(t, stream.TopicSupplyChainOrders, fmt.Sprintf("flush-order-%d", n), o, supplychain.Order{OrgID: o, OrderID: "flush", SupplierID: "sup-z",
				Amount: d("1"), Currency: "EUR", OrderedAt: when}),
			keyed(t, stream.TopicSupplyChainShipments, fmt.Sprintf("flush-shipment-%d", n), o, supplychain.Shipment{OrgID: o, ShipmentID: "flush", Mode: "road",
				WeightKg: d("1"), DistanceKm: d("1"), CO2eKg: decimal.NewNullDecimal(d("0")), PromisedAt: when, DeliveredAt: when}))
	}
	return msgs
}

func restartHandler(t *testing.T) *supplychain.Handler {
	// Six hours of lateness cover the inputs' four: a restarted runner may
	// get its unacked inputs after newer ones (docs/processors.md); within
	// the lateness the windows do not depend on arrival order.
	return newHandler(t, supplychain.Config{Window: window.Tumbling(time.Hour), Lateness: 6 * time.Hour, LateTolerance: 4 * time.Hour,
		ConcentrationMinOrders: 3, Suppliers: map[string]supplychain.ESG{"sup-risky": {Environmental: d("80"), Social: d("80"), Governance: d("40")}}})
}

// outputs are events by id: topic and payload bytes (dead letters: topic
// and the input's payload), and dead-letter reasons.
type outputs struct {
	byID    map[string]string
	count   map[string]int // per topic
	reasons []string
}

func nameOf(topic string) string {
	for _, in := range supplychain.Inputs() {
		if in.Topic == topic {
			return in.Name
		}
	}
	return ""
}

// reference applies the handler directly, one state per runner and input
// partition, in publish order: what every run must produce.
func reference(t *testing.T, inputs []*stream.Message) outputs {
	h := restartHandler(t)
	parts := map[string]int32{}
	for _, tp := range stream.Catalogue() {
		parts[tp.Name] = tp.Partitions
	}
	type pk struct {
		topic string
		p     int32
	}
	states := map[pk]*supplychain.State{}
	o := outputs{byID: map[string]string{}, count: map[string]int{}}
	for _, m := range inputs {
		k := pk{m.Topic, stream.PartitionFor([]byte(m.Key), parts[m.Topic])}
		if states[k] == nil {
			states[k] = h.NewState()
		}
		em := processor.NewEmitter(nameOf(m.Topic))
		err := h.Handle(context.Background(), states[k], m, em)
		var rej *processor.RejectError
		switch {
		case errors.As(err, &rej):
			o.byID[processor.EventID(nameOf(m.Topic), "dead-letter", m.EventID).String()] = stream.TopicIntegrationErrors + " " + string(m.Value)
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
	*supplychain.Handler
	n, count int
	cancel   func()
}

func (h *crashingHandler) Handle(ctx context.Context, st *supplychain.State, m *stream.Message, out *processor.Emitter) error {
	h.count++
	if h.count == h.n {
		h.cancel()
	}
	return h.Handler.Handle(ctx, st, m, out)
}

type runner = processor.Runner[*supplychain.State]

func newRunner(t *testing.T, e *env, in supplychain.Input, h processor.Handler[*supplychain.State], hooks processor.Hooks) *runner {
	r, err := processor.New(processor.Config{Name: in.Name, Topic: in.Topic, Store: e.st, Stream: e.strm,
		BatchSize: 8, FailoverAfter: 5 * time.Second, Hooks: hooks}, h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runUntilDrained runs r until it has applied at least minApplied inputs
// and its group has acked every input of its topic, then stops it.
func runUntilDrained(t *testing.T, e *env, in supplychain.Input, r *runner, minApplied int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("%s stopped early: %v", in.Name, err)
		default:
		}
		lag, err := e.strm.Lag(context.Background(), in.Name, in.Topic)
		if err == nil && lag == 0 && r.Stats().Applied >= minApplied {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%s: inputs not drained (lag %d, %v); stats %+v", in.Name, lag, err, r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("%s ended with %v", in.Name, err)
	}
}

func runUntilCrash(t *testing.T, r *runner, ctx context.Context) error {
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

// flushAndCollect publishes the flush inputs once the others are drained,
// runs new instances over them, relays the outbox and reads every output
// topic.
func flushAndCollect(t *testing.T, e *env, want outputs) outputs {
	t.Helper()
	ctx := context.Background()
	if err := e.strm.PublishBatch(ctx, flushInputs(t)); err != nil {
		t.Fatal(err)
	}
	for _, in := range supplychain.Inputs() {
		r := newRunner(t, e, in, restartHandler(t), processor.Hooks{})
		runUntilDrained(t, e, in, r, 2)
		if s := r.Stats(); s.Applied != 2 {
			t.Fatalf("%s flush: stats %+v", in.Name, s)
		}
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
	for _, topic := range outputTopics {
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
			got.byID[m.EventID] = topic + " " + string(m.Value)
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
	for _, w := range []string{"decoding", `currency "euro"`, `mode "teleport"`, "late event"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no dead letter mentions %q:\n%s", w, joined)
		}
	}
}

var validInputs = map[string]int64{supplychain.OrdersName: validOrders, supplychain.ShipmentsName: validShipments}

func TestRestartMatchesUninterrupted(t *testing.T) {
	inputs := restartInputs(t)
	want := reference(t, append(clone(inputs), flushInputs(t)...))
	// The reference itself: every rule fired, both KPI kinds were emitted.
	for _, w := range []string{supplychain.RuleLateShipment, supplychain.RuleHighRiskSupplier, supplychain.RuleEmissionsIntensity, supplychain.RuleSupplyConcentration,
		`"spend_by_currency"`, `"on_time_rate"`} {
		n := 0
		for _, v := range want.byID {
			if strings.Contains(v, w) {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("reference: no output with %s", w)
		}
	}
	if want.count[stream.TopicIntegrationErrors] != 6 {
		t.Fatalf("reference: %d dead letters, want 6", want.count[stream.TopicIntegrationErrors])
	}
	t.Logf("reference: per topic %v", want.count)
	engines(t, func(t *testing.T, open storeOpener) {
		t.Run("uninterrupted", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			for _, in := range supplychain.Inputs() {
				r := newRunner(t, e, in, restartHandler(t), processor.Hooks{})
				runUntilDrained(t, e, in, r, validInputs[in.Name])
				if s := r.Stats(); s.Applied != validInputs[in.Name] || s.DeadLettered != 3 {
					t.Fatalf("%s: stats %+v", in.Name, s)
				}
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
		t.Run("crash mid-batch", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			for _, in := range supplychain.Inputs() {
				ctx, cancel := context.WithCancel(context.Background())
				r1 := newRunner(t, e, in, &crashingHandler{Handler: restartHandler(t), n: 13, cancel: cancel}, processor.Hooks{})
				err := runUntilCrash(t, r1, ctx)
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%s: crashed runner ended with %v", in.Name, err)
				}
				if cps, err := e.st.ProcessorCheckpoints(context.Background(), in.Name); err != nil || len(cps) == 0 {
					t.Fatalf("%s: no checkpoint after the first batch: %v %v", in.Name, cps, err)
				}
				r2 := newRunner(t, e, in, restartHandler(t), processor.Hooks{})
				runUntilDrained(t, e, in, r2, validInputs[in.Name]-r1.Stats().Applied)
				if a := r1.Stats().Applied + r2.Stats().Applied; a != validInputs[in.Name] {
					t.Fatalf("%s: inputs applied %d times in all, want %d: first %+v second %+v", in.Name, a, validInputs[in.Name], r1.Stats(), r2.Stats())
				}
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
		t.Run("crash between commit and ack", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			for _, in := range supplychain.Inputs() {
				var commits atomic.Int32
				crash := errors.New("crash after commit")
				r1 := newRunner(t, e, in, restartHandler(t), processor.Hooks{AfterCommit: func() error {
					if commits.Add(1) == 2 {
						return crash
					}
					return nil
				}})
				if err := runUntilCrash(t, r1, context.Background()); !errors.Is(err, crash) {
					t.Fatalf("%s: crashed runner ended with %v", in.Name, err)
				}
				r2 := newRunner(t, e, in, restartHandler(t), processor.Hooks{})
				runUntilDrained(t, e, in, r2, validInputs[in.Name]-r1.Stats().Applied)
				if a := r1.Stats().Applied + r2.Stats().Applied; a != validInputs[in.Name] {
					t.Fatalf("%s: inputs applied %d times in all, want %d: first %+v second %+v", in.Name, a, validInputs[in.Name], r1.Stats(), r2.Stats())
				}
				if s := r2.Stats(); s.Skipped == 0 {
					t.Fatalf("%s: the restarted runner skipped nothing: the committed but unacked batch was not redelivered? %+v", in.Name, s)
				}
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
	})
}
