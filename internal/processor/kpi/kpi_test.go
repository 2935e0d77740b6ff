package kpi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/processor/kpi"
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/stream"
)

var (
	org = uuid.MustParse("0190a000-0000-7000-8000-00000000000a")
	t0  = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

func msg(t *testing.T, n int, minutes float64, kg string, scope int) *stream.Message {
	c := aggregator.Calculated{SourceEventID: fmt.Sprint(n), OrgID: org, ActivityID: fmt.Sprint(n), Scope: scope,
		OccurredAt: t0.Add(time.Duration(minutes * float64(time.Minute))), CO2eKg: decimal.RequireFromString(kg)}
	m, err := stream.Encode(stream.TopicEmissionsCalculated, org.String(), c)
	if err != nil {
		t.Fatal(err)
	}
	m.Headers[aggregator.HeaderEventType] = aggregator.EventTypeActivity
	m.EventID = fmt.Sprint(n)
	return m
}

// Exact outputs over all three window kinds with out-of-order and late
// events (lateness 2 minutes; hopping shortened to 10 min every 5 to keep
// the expected list short).
func TestKPIWindows(t *testing.T) {
	h, err := kpi.New(kpi.Config{Lateness: 2 * time.Minute, Windows: []window.Spec{
		window.Tumbling(5 * time.Minute), window.Hopping(10*time.Minute, 5*time.Minute), window.Session(30 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	st := h.NewState()
	var got []string
	var rejected []int
	in := []*stream.Message{
		msg(t, 0, 1, "10", 1),
		msg(t, 1, 4, "5", 2),
		msg(t, 2, 6, "1", 1),    // wm 4
		msg(t, 3, 3, "2", 1),    // out of order, on time
		msg(t, 4, 8, "4", 3),    // wm 6: tumbling [0,5) and hopping [-5,5) close
		msg(t, 5, 2, "100", 1),  // late for tumbling [0,5) and hopping [-5,5), on time for hopping [0,10) and the session
		msg(t, 6, 50, "7", 1),   // wm 48: everything before closes, session [1,38) too
		msg(t, 7, 9, "1000", 1), // late everywhere: rejected
	}
	summary := &stream.Message{Topic: stream.TopicEmissionsCalculated, Value: []byte(`{"run_id":"x"}`), Headers: map[string]string{}}
	if err := h.Handle(context.Background(), st, summary, processor.NewEmitter(kpi.Name)); err != nil {
		t.Fatalf("a store run summary: %v", err)
	}
	for i, m := range in {
		em := processor.NewEmitter(kpi.Name)
		err := h.Handle(context.Background(), st, m, em)
		if err != nil {
			rejected = append(rejected, i)
			continue
		}
		for _, e := range em.Events() {
			var u kpi.Update
			if err := json.Unmarshal(e.Event.Payload, &u); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s [%v,%v) n=%d kg=%s s1=%s rate=%s", u.Window, u.WindowStart.Sub(t0).Minutes(), u.WindowEnd.Sub(t0).Minutes(),
				u.Activities, u.CO2eKg, u.ByScope["1"].String(), u.CO2eKgPerHour))
		}
	}
	want := []string{
		"tumbling-5m0s [0,5) n=3 kg=17 s1=12 rate=204",
		"hopping-10m0s-5m0s [-5,5) n=3 kg=17 s1=12 rate=102",
		"tumbling-5m0s [5,10) n=2 kg=5 s1=1 rate=60",
		"hopping-10m0s-5m0s [0,10) n=6 kg=122 s1=113 rate=732",
		"hopping-10m0s-5m0s [5,15) n=2 kg=5 s1=1 rate=30",
		"session-30m0s [1,38) n=6 kg=122 s1=113 rate=197.837838",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if !reflect.DeepEqual(rejected, []int{7}) {
		t.Fatalf("rejected %v, want [7]", rejected)
	}
}

func order(t *testing.T, n int, minutes float64, amount, currency string) *stream.Message {
	o := supplychain.Order{OrgID: org, OrderID: fmt.Sprint("po-", n), SupplierID: "s1", Amount: decimal.RequireFromString(amount), Currency: currency,
		OrderedAt: t0.Add(time.Duration(minutes * float64(time.Minute)))}
	m, err := stream.Encode(stream.TopicSupplyChainOrders, org.String(), o)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = fmt.Sprint("o", n)
	return m
}

// The orders runner sums orders and spend per currency over the same
// windows; late orders and orders without a usable currency or amount are
// rejected with the field named.
func TestKPIOrders(t *testing.T) {
	h, err := kpi.New(kpi.Config{Lateness: time.Minute, Windows: []window.Spec{window.Tumbling(5 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	st := h.NewState()
	var got []string
	var rejected []string
	for _, m := range []*stream.Message{
		order(t, 0, 1, "100.50", "EUR"),
		order(t, 1, 3, "20", "USD"),
		order(t, 2, 4, "0.25", "EUR"),
		order(t, 3, 9, "7", "EUR"),    // wm 8: [0,5) closes
		order(t, 4, 2, "1000", "EUR"), // late
		order(t, 5, 9, "7", "eur"),
		order(t, 6, 9, "-1", "EUR"),
		order(t, 7, 20, "1", "EUR"), // wm 19: [5,10) closes
	} {
		em := processor.NewEmitter(kpi.OrdersName)
		if err := h.Handle(context.Background(), st, m, em); err != nil {
			var re *processor.RejectError
			if !errors.As(err, &re) {
				t.Fatalf("%s: %v is not a rejection", m.EventID, err)
			}
			rejected = append(rejected, m.EventID+": "+err.Error())
			continue
		}
		for _, e := range em.Events() {
			var u kpi.Update
			if err := json.Unmarshal(e.Event.Payload, &u); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s [%v,%v) orders=%d eur=%s usd=%s n=%d", u.Source, u.Window, u.WindowStart.Sub(t0).Minutes(), u.WindowEnd.Sub(t0).Minutes(),
				u.Orders, u.SpendByCurrency["EUR"], u.SpendByCurrency["USD"], u.Activities))
		}
	}
	want := []string{
		"supply-chain.orders tumbling-5m0s [0,5) orders=3 eur=100.75 usd=20 n=0",
		"supply-chain.orders tumbling-5m0s [5,10) orders=1 eur=7 usd=0 n=0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("updates:\n got %q\nwant %q", got, want)
	}
	if len(rejected) != 3 || !strings.Contains(rejected[0], "o4: late event") || !strings.Contains(rejected[1], `currency "eur" is not an ISO 4217 code`) || !strings.Contains(rejected[2], "amount -1 must be positive") {
		t.Errorf("rejected %q", rejected)
	}
}
