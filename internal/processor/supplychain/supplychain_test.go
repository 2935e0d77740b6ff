package supplychain_test

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
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/stream"
)

var (
	org = uuid.MustParse("0190a000-0000-7000-8000-00000000000a")
	t0  = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func encode[T any](t testing.TB, topic, id string, v T) *stream.Message {
	t.Helper()
	m, err := stream.Encode(topic, org.String(), v)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = id
	return m
}

func order(t testing.TB, id string, minutes int, supplier, amount, currency string, esg *supplychain.ESG) *stream.Message {
	return encode(t, stream.TopicSupplyChainOrders, id, supplychain.Order{OrgID: org, OrderID: "po-" + id, SupplierID: supplier,
		Amount: d(amount), Currency: currency, OrderedAt: at(minutes), ESG: esg})
}

func shipment(t testing.TB, id string, delivered, promised int, mode, kg, km, co2e string) *stream.Message {
	return encode(t, stream.TopicSupplyChainShipments, id, supplychain.Shipment{OrgID: org, ShipmentID: "sh-" + id, SupplierID: "sup-a",
		Mode: mode, WeightKg: d(kg), DistanceKm: d(km), CO2eKg: decimal.NewNullDecimal(d(co2e)), PromisedAt: at(promised), DeliveredAt: at(delivered)})
}

// run handles msgs on one state, round-tripping it through JSON after
// every input, and describes each output in one line.
func run(t *testing.T, h *supplychain.Handler, name string, msgs []*stream.Message) ([]string, map[int]string) {
	t.Helper()
	st := h.NewState()
	var got []string
	rejected := map[int]string{}
	for i, m := range msgs {
		em := processor.NewEmitter(name)
		err := h.Handle(context.Background(), st, m, em)
		var rej *processor.RejectError
		switch {
		case errors.As(err, &rej):
			rejected[i] = err.Error()
			continue
		case err != nil:
			t.Fatalf("input %d: %v", i, err)
		}
		for _, e := range em.Events() {
			if e.OrgID != org || e.Event.Key != org.String() {
				t.Fatalf("output %+v: want org %s as key", e, org)
			}
			got = append(got, fmt.Sprintf("in=%d %s", i, describe(t, e.Event.Topic, e.Event.Headers[supplychain.HeaderEventType], e.Event.Payload)))
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st = h.NewState()
		if err := json.Unmarshal(b, st); err != nil {
			t.Fatal(err)
		}
	}
	return got, rejected
}

func describe(t testing.TB, topic, typ string, payload []byte) string {
	dec := func(v any) {
		if err := json.Unmarshal(payload, v); err != nil {
			t.Fatal(err)
		}
	}
	mins := func(tm time.Time) float64 { return tm.Sub(t0).Minutes() }
	switch {
	case topic == stream.TopicSupplyChainRiskEvents && typ == supplychain.EventTypeRisk:
		var r supplychain.RiskEvent
		dec(&r)
		s := fmt.Sprintf("risk %s %s src=%s supplier=%s observed=%s threshold=%s %s at=%v", r.Rule, r.Severity, r.SourceEventID, r.SupplierID,
			r.Observed, r.Threshold, r.Unit, mins(r.OccurredAt))
		if r.Currency != "" {
			s += " " + r.Currency
		}
		if !r.WindowStart.IsZero() {
			s += fmt.Sprintf(" window=[%v,%v)", mins(r.WindowStart), mins(r.WindowEnd))
		}
		return s
	case topic == stream.TopicAnalyticsKPIUpdates && typ == supplychain.EventTypeOrderKPIs:
		var k supplychain.OrderKPIs
		dec(&k)
		b, _ := json.Marshal(k.SpendByCurrency)
		return fmt.Sprintf("kpi orders %s [%v,%v) orders=%d suppliers=%d spend=%s", k.Window, mins(k.WindowStart), mins(k.WindowEnd), k.Orders, k.Suppliers, b)
	case topic == stream.TopicAnalyticsKPIUpdates && typ == supplychain.EventTypeShipmentKPIs:
		var k supplychain.ShipmentKPIs
		dec(&k)
		return fmt.Sprintf("kpi shipments %s [%v,%v) shipments=%d on_time=%d rate=%s tkm=%s co2e=%s intensity=%s", k.Window, mins(k.WindowStart), mins(k.WindowEnd),
			k.Shipments, k.OnTime, k.OnTimeRate, k.TonneKm, k.CO2eKg, k.KgCO2ePerTonneKm)
	}
	t.Fatalf("unexpected output on %s (event-type %q): %s", topic, typ, payload)
	return ""
}

func newHandler(t *testing.T, cfg supplychain.Config) *supplychain.Handler {
	t.Helper()
	h, err := supplychain.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func check(t *testing.T, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	h := newHandler(t, supplychain.Config{Window: window.Tumbling(time.Hour), Lateness: 30 * time.Minute, ConcentrationMinOrders: 3,
		Suppliers: map[string]supplychain.ESG{"sup-risky": {Environmental: d("80"), Social: d("70"), Governance: d("60")}}})
	in := []*stream.Message{
		order(t, "o1", 5, "sup-a", "100", "EUR", nil),
		order(t, "o2", 10, "sup-b", "50", "EUR", nil),
		order(t, "o3", 20, "sup-risky", "30", "EUR", nil), // score 0.4·80 + 0.3·70 + 0.3·60 = 71 > 70
		order(t, "o4", 40, "sup-edge", "200", "USD", &supplychain.ESG{Environmental: d("70"), Social: d("70"), Governance: d("70")}), // 70: not above
		order(t, "o5", 50, "sup-a", "60", "EUR", nil),
		order(t, "o6", 15, "sup-risky", "5", "EUR", &supplychain.ESG{Environmental: d("10"), Social: d("10"), Governance: d("10")}), // carried scores win; out of order
		order(t, "o7", 80, "sup-b", "10", "EUR", nil),  // watermark 10:50: [10:00,11:00) still open
		order(t, "o8", 95, "sup-c", "1", "EUR", nil),   // watermark 11:05: it closes
		order(t, "o9", -60, "sup-a", "1", "EUR", nil),  // its window closed: late
		order(t, "o10", 70, "sup-a", "1", "EUR", nil),  // on time for [11:00,12:00)
		order(t, "o11", 200, "sup-a", "1", "EUR", nil), // closes [11:00,12:00): sup-b holds 10 of 12 EUR
	}
	got, rejected := run(t, h, supplychain.OrdersName, in)
	check(t, got, []string{
		"in=2 risk supplier-high-risk critical src=o3 supplier=sup-risky observed=71 threshold=70 esg-risk-score at=20 EUR",
		`in=7 kpi orders tumbling-1h0m0s [0,60) orders=6 suppliers=4 spend={"EUR":"245","USD":"200"}`,
		// sup-a: 160 of 245 EUR over 5 orders; USD has one order (< 3).
		"in=7 risk supplier-concentration warning src= supplier=sup-a observed=0.6531 threshold=0.5 share-of-spend at=60 EUR window=[0,60)",
		`in=10 kpi orders tumbling-1h0m0s [60,120) orders=3 suppliers=3 spend={"EUR":"12"}`,
		"in=10 risk supplier-concentration warning src= supplier=sup-b observed=0.8333 threshold=0.5 share-of-spend at=120 EUR window=[60,120)",
	})
	if len(rejected) != 1 || !strings.Contains(rejected[8], "late event") {
		t.Fatalf("rejected %v, want o9 as a late event", rejected)
	}
	// Ids: per input and rule; per window.
	em := processor.NewEmitter(supplychain.OrdersName)
	if err := h.Handle(context.Background(), h.NewState(), in[2], em); err != nil || len(em.Events()) != 1 {
		t.Fatalf("%v %v", err, em.Events())
	}
	if id := em.Events()[0].Event.ID; id != processor.EventID(supplychain.OrdersName, "risk", "o3", supplychain.RuleHighRiskSupplier) {
		t.Errorf("risk id %s is not derived from the input event id and the rule", id)
	}
}

func TestShipments(t *testing.T) {
	t.Parallel()
	h := newHandler(t, supplychain.Config{Window: window.Tumbling(time.Hour), Lateness: 30 * time.Minute, LateTolerance: 2 * time.Hour})
	in := []*stream.Message{
		shipment(t, "s1", 5, 0, "road", "10000", "100", "97.52"),    // 1000 t-km at the road norm; on time
		shipment(t, "s2", 10, -180, "rail", "20000", "500", "600"),  // 0.06 kg/t-km > 2 × 0.02779; 3 h 10 min late
		shipment(t, "s3", 30, -90, "air", "500", "8000", "5190"),    // 1.2975 = exactly 2 × the norm; exactly 2 h late is on time
		shipment(t, "s4", 100, 120, "sea", "1000000", "10000", "1"), // watermark 11:10 closes [10:00,11:00)
		shipment(t, "s5", 0, 0, "teleport", "1", "1", "1"),          // unknown mode
		shipment(t, "s6", -61, 0, "road", "1", "1", "0"),            // late for its window
	}
	got, rejected := run(t, h, supplychain.ShipmentsName, in)
	check(t, got, []string{
		"in=1 risk late-shipment warning src=s2 supplier=sup-a observed=3.17 threshold=2 hours-late at=10",
		"in=1 risk emissions-intensity warning src=s2 supplier=sup-a observed=0.06 threshold=0.05558 kg-co2e-per-tonne-km at=10",
		"in=3 kpi shipments tumbling-1h0m0s [0,60) shipments=3 on_time=2 rate=0.6667 tkm=15000 co2e=5887.52 intensity=0.392501",
	})
	if len(rejected) != 2 || !strings.Contains(rejected[4], `mode "teleport"`) || !strings.Contains(rejected[5], "late event") {
		t.Fatalf("rejected %v", rejected)
	}
}

func TestRejects(t *testing.T) {
	t.Parallel()
	h := newHandler(t, supplychain.Config{})
	goodOrder := supplychain.Order{OrgID: org, OrderID: "po-1", SupplierID: "sup-a", Amount: d("10"), Currency: "EUR", OrderedAt: t0}
	goodShip := supplychain.Shipment{OrgID: org, ShipmentID: "sh-1", Mode: "road", WeightKg: d("1"), DistanceKm: d("1"),
		CO2eKg: decimal.NewNullDecimal(d("0")), PromisedAt: t0, DeliveredAt: t0}
	enc := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	o := func(f func(*supplychain.Order)) []byte { v := goodOrder; f(&v); return enc(v) }
	s := func(f func(*supplychain.Shipment)) []byte { v := goodShip; f(&v); return enc(v) }
	ordersT, shipsT := stream.TopicSupplyChainOrders, stream.TopicSupplyChainShipments
	cases := []struct {
		name, topic, key string
		value            []byte
		field            string // the reason must name it
	}{
		{"order not json", ordersT, "", []byte("{not json"), "decoding"},
		{"order unknown field", ordersT, "", []byte(`{"vendor":"x"}`), "field vendor"},
		{"order amount not a number", ordersT, "", []byte(`{"org_id":"` + org.String() + `","amount":"ten"}`), "field amount"},
		{"order no org", ordersT, "", o(func(v *supplychain.Order) { v.OrgID = uuid.Nil }), "org_id"},
		{"order keyed otherwise", ordersT, "sup-a", enc(goodOrder), "key"},
		{"order no id", ordersT, "", o(func(v *supplychain.Order) { v.OrderID = "" }), "order_id"},
		{"order no supplier", ordersT, "", o(func(v *supplychain.Order) { v.SupplierID = "" }), "supplier_id"},
		{"order no amount", ordersT, "", o(func(v *supplychain.Order) { v.Amount = decimal.Zero }), "amount"},
		{"order negative amount", ordersT, "", o(func(v *supplychain.Order) { v.Amount = d("-5") }), "amount"},
		{"order bad currency", ordersT, "", o(func(v *supplychain.Order) { v.Currency = "eur" }), "currency"},
		{"order no time", ordersT, "", o(func(v *supplychain.Order) { v.OrderedAt = time.Time{} }), "ordered_at"},
		{"order esg out of range", ordersT, "", o(func(v *supplychain.Order) { v.ESG = &supplychain.ESG{Environmental: d("120")} }), "esg.environmental"},
		{"shipment not json", shipsT, "", []byte("[]"), "decoding"},
		{"shipment weight not a number", shipsT, "", []byte(`{"weight_kg":true}`), "weight_kg"},
		{"shipment no org", shipsT, "", s(func(v *supplychain.Shipment) { v.OrgID = uuid.Nil }), "org_id"},
		{"shipment keyed otherwise", shipsT, "sh-1", enc(goodShip), "key"},
		{"shipment no id", shipsT, "", s(func(v *supplychain.Shipment) { v.ShipmentID = "" }), "shipment_id"},
		{"shipment no mode", shipsT, "", s(func(v *supplychain.Shipment) { v.Mode = "" }), "mode"},
		{"shipment unknown mode", shipsT, "", s(func(v *supplychain.Shipment) { v.Mode = "pipeline" }), `mode "pipeline"`},
		{"shipment no weight", shipsT, "", s(func(v *supplychain.Shipment) { v.WeightKg = decimal.Zero }), "weight_kg"},
		{"shipment no distance", shipsT, "", s(func(v *supplychain.Shipment) { v.DistanceKm = d("-1") }), "distance_km"},
		{"shipment no co2e", shipsT, "", s(func(v *supplychain.Shipment) { v.CO2eKg = decimal.NullDecimal{} }), "co2e_kg"},
		{"shipment negative co2e", shipsT, "", s(func(v *supplychain.Shipment) { v.CO2eKg = decimal.NewNullDecimal(d("-1")) }), "co2e_kg"},
		{"shipment no promise", shipsT, "", s(func(v *supplychain.Shipment) { v.PromisedAt = time.Time{} }), "promised_at"},
		{"shipment no delivery", shipsT, "", s(func(v *supplychain.Shipment) { v.DeliveredAt = time.Time{} }), "delivered_at"},
		{"another topic", stream.TopicSupplyChainInventory, "", enc(goodOrder), "topic supply-chain.inventory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := h.NewState()
			before, _ := json.Marshal(st)
			key := c.key
			if key == "" {
				key = org.String()
			}
			err := h.Handle(context.Background(), st, &stream.Message{Topic: c.topic, Key: key, Value: c.value, EventID: "bad"}, processor.NewEmitter(supplychain.OrdersName))
			var rej *processor.RejectError
			if !errors.As(err, &rej) {
				t.Fatalf("want a rejection, got %v", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("reason %q does not name %q", err, c.field)
			}
			if after, _ := json.Marshal(st); string(before) != string(after) {
				t.Fatalf("a rejected input changed the state: %s", after)
			}
		})
	}
	// The good inputs themselves are accepted.
	for _, m := range []*stream.Message{encode(t, ordersT, "ok-o", goodOrder), encode(t, shipsT, "ok-s", goodShip)} {
		if err := h.Handle(context.Background(), h.NewState(), m, processor.NewEmitter(supplychain.OrdersName)); err != nil {
			t.Fatalf("good %s: %v", m.Topic, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := []supplychain.Config{
		{Window: window.Hopping(time.Hour, time.Minute)},
		{Lateness: -time.Second},
		{LateTolerance: -time.Second},
		{HighRiskScore: d("101")},
		{ModeNorms: map[string]decimal.Decimal{}},
		{ModeNorms: map[string]decimal.Decimal{"road": d("0")}},
		{IntensityFactor: d("-1")},
		{ConcentrationShare: d("1.5")},
		{ConcentrationMinOrders: -1},
		{Suppliers: map[string]supplychain.ESG{"s": {Governance: d("-1")}}},
	}
	for i, c := range bad {
		if _, err := supplychain.New(c); err == nil {
			t.Errorf("config %d %+v accepted", i, c)
		}
	}
	if _, err := supplychain.New(supplychain.Config{}); err != nil {
		t.Fatalf("the default config: %v", err)
	}
	ins := supplychain.Inputs()
	if len(ins) != 2 || ins[0] != (supplychain.Input{Name: "supply-chain-analyzer-orders", Topic: "supply-chain.orders"}) ||
		ins[1] != (supplychain.Input{Name: "supply-chain-analyzer-shipments", Topic: "supply-chain.shipments"}) {
		t.Fatalf("inputs %+v", ins)
	}
}

func TestESGScore(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ e, s, g, want string }{{"80", "70", "60", "71"}, {"100", "0", "0", "40"}, {"55.5", "72.25", "90", "70.875"}} {
		if got := (supplychain.ESG{Environmental: d(c.e), Social: d(c.s), Governance: d(c.g)}).Score(); !got.Equal(d(c.want)) {
			t.Errorf("score(%s, %s, %s) = %s, want %s", c.e, c.s, c.g, got, c.want)
		}
	}
}

// FuzzHandle: any payload on either topic is rejected or handled, never a
// panic or another error.
func FuzzHandle(f *testing.F) {
	f.Add(true, []byte(`{"org_id":"0190a000-0000-7000-8000-00000000000a","order_id":"1","supplier_id":"s","amount":"5","currency":"EUR","ordered_at":"2025-03-01T10:00:00Z"}`))
	f.Add(false, []byte(`{"org_id":"0190a000-0000-7000-8000-00000000000a","shipment_id":"1","mode":"road","weight_kg":1,"distance_km":"1e-30","co2e_kg":"1","promised_at":"2025-03-01T10:00:00Z","delivered_at":"2025-03-01T10:00:00Z"}`))
	f.Add(true, []byte(`{"esg":{}}`))
	h, err := supplychain.New(supplychain.Config{})
	if err != nil {
		f.Fatal(err)
	}
	st := h.NewState()
	f.Fuzz(func(t *testing.T, orders bool, b []byte) {
		topic := stream.TopicSupplyChainShipments
		if orders {
			topic = stream.TopicSupplyChainOrders
		}
		err := h.Handle(context.Background(), st, &stream.Message{Topic: topic, Key: org.String(), Value: b, EventID: "x"}, processor.NewEmitter(supplychain.Name))
		var rej *processor.RejectError
		if err != nil && !errors.As(err, &rej) {
			t.Fatalf("not a rejection: %v", err)
		}
	})
}
