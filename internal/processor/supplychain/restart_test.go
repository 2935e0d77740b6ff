package supplychain_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/stream"
)

// The restart test follows internal/processor/aggregator/restart_test.go,
// with both runners of the analyzer: the same inputs run uninterrupted,
// killed mid-batch and killed between commit and ack must give the same
// outputs, delivered once, equal to the handler applied directly to each
// topic's inputs partition by partition.

var orgB = uuid.MustParse("0190a000-0000-7000-8000-00000000000b")

var outputTopics = []string{stream.TopicSupplyChainRiskEvents, stream.TopicAnalyticsKPIUpdates, stream.TopicIntegrationErrors}

// newEnv is one store and one embedded JetStream with inputs published.
func newEnv(t *testing.T, open processortest.StoreOpener, inputs []*stream.Message) *processortest.Env {
	t.Helper()
	e := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org, orgB}, Country: "DE",
		Topics: append([]string{stream.TopicSupplyChainOrders, stream.TopicSupplyChainShipments}, outputTopics...)})
	e.Publish(t, processortest.CloneMessages(inputs))
	return e
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
func reference(t *testing.T, inputs []*stream.Message) processortest.Outputs {
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
	o := processortest.NewOutputs()
	for _, m := range inputs {
		k := pk{m.Topic, stream.PartitionFor([]byte(m.Key), parts[m.Topic])}
		if states[k] == nil {
			states[k] = h.NewState()
		}
		em := processor.NewEmitter(nameOf(m.Topic))
		o.Record(t, nameOf(m.Topic), m, em, h.Handle(context.Background(), states[k], m, em))
	}
	return o
}

type runner = processor.Runner[*supplychain.State]

func newRunner(t *testing.T, e *processortest.Env, in supplychain.Input, h processor.Handler[*supplychain.State], hooks processor.Hooks) *runner {
	cfg := e.RunnerConfig(in.Name, in.Topic)
	cfg.Hooks = hooks
	return processortest.NewRunner(t, cfg, h)
}

// runUntilDrained runs r until it has applied at least minApplied inputs
// and its group has acked every input of its topic
// (processortest.RunUntilApplied).
func runUntilDrained(t *testing.T, e *processortest.Env, in supplychain.Input, r *runner, minApplied int64) {
	t.Helper()
	processortest.RunUntilApplied(t, e, r, in.Name, in.Topic, minApplied)
}

// flushAndCollect publishes the flush inputs once the others are drained,
// runs new instances over them, relays the outbox and reads every output
// topic.
func flushAndCollect(t *testing.T, e *processortest.Env, want processortest.Outputs) processortest.Outputs {
	t.Helper()
	e.Publish(t, flushInputs(t))
	for _, in := range supplychain.Inputs() {
		r := newRunner(t, e, in, restartHandler(t), processor.Hooks{})
		runUntilDrained(t, e, in, r, 2)
		if s := r.Stats(); s.Applied != 2 {
			t.Fatalf("%s flush: stats %+v", in.Name, s)
		}
	}
	return processortest.Collect(t, e, outputTopics, want)
}

// compare requires got to hold want's outputs, byte for byte, and the
// dead letters to say why.
func compare(t *testing.T, got, want processortest.Outputs) {
	t.Helper()
	processortest.CompareByID(t, got.ByID, want.ByID)
	processortest.CheckReasons(t, got.Reasons, "decoding", `currency "euro"`, `mode "teleport"`, "late event")
}

var validInputs = map[string]int64{supplychain.OrdersName: validOrders, supplychain.ShipmentsName: validShipments}

func TestRestartMatchesUninterrupted(t *testing.T) {
	inputs := restartInputs(t)
	want := reference(t, append(processortest.CloneMessages(inputs), flushInputs(t)...))
	// The reference itself: every rule fired, both KPI kinds were emitted.
	for _, w := range []string{supplychain.RuleLateShipment, supplychain.RuleHighRiskSupplier, supplychain.RuleEmissionsIntensity, supplychain.RuleSupplyConcentration,
		`"spend_by_currency"`, `"on_time_rate"`} {
		n := 0
		for _, v := range want.ByID {
			if strings.Contains(v, w) {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("reference: no output with %s", w)
		}
	}
	if want.Count[stream.TopicIntegrationErrors] != 6 {
		t.Fatalf("reference: %d dead letters, want 6", want.Count[stream.TopicIntegrationErrors])
	}
	t.Logf("reference: per topic %v", want.Count)
	processortest.Engines(t, "greenlang_supplychain", func(t *testing.T, open processortest.StoreOpener) {
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
				r1 := newRunner(t, e, in, &processortest.CrashingHandler[*supplychain.State]{Handler: restartHandler(t), At: 13, Cancel: cancel}, processor.Hooks{})
				err := processortest.RunUntilCrash(t, ctx, r1)
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%s: crashed runner ended with %v", in.Name, err)
				}
				if cps, err := e.Store.ProcessorCheckpoints(context.Background(), in.Name); err != nil || len(cps) == 0 {
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
				hooks, crash := processortest.CrashAfterCommit(2)
				r1 := newRunner(t, e, in, restartHandler(t), hooks)
				if err := processortest.RunUntilCrash(t, context.Background(), r1); !errors.Is(err, crash) {
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
