// Package kpi is the real-time-kpi-calculator stream processor
// (docs/processors.md): per-activity results on emissions.calculated (the
// emissions-aggregator's, header event-type=activity-calculated; the
// store's run summaries on the same topic are skipped) and purchase orders
// on supply-chain.orders are summed per organization over event-time
// tumbling 5-minute, hopping 1-hour/5-minute and 30-minute session
// windows, and each closed window's KPIs go to analytics.kpi-updates.
//
// The processor runtime consumes one topic per runner, so the calculator
// is one handler run by two runners (Inputs): each input keeps its own
// windows and its updates say which input they sum (Update.Source).
package kpi

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/processor/supplychain"
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/stream"
)

// Name is the processor's name: the consumer group and checkpoint key of
// its emissions.calculated runner.
const Name = "real-time-kpi-calculator"

// OrdersName is the consumer group and checkpoint key of the runner on
// supply-chain.orders.
const OrdersName = "real-time-kpi-calculator-orders"

// Input is one runner of the calculator: its name and input topic.
type Input struct{ Name, Topic string }

// Inputs lists the calculator's runners.
func Inputs() []Input {
	return []Input{{Name, stream.TopicEmissionsCalculated}, {OrdersName, stream.TopicSupplyChainOrders}}
}

// Update is the payload of an analytics.kpi-updates event: one
// organization's KPIs over one closed window.
type Update struct {
	OrgID       uuid.UUID `json:"org_id"`
	Window      string    `json:"window"` // e.g. "tumbling-5m0s"
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// Source is the input topic the window sums: emissions.calculated
	// (the emission fields are set) or supply-chain.orders (the order
	// fields are).
	Source string `json:"source"`
	// Activities counts the results in the window.
	Activities int `json:"activities"`
	// CO2eKg is their total; ByScope splits it ("1", "2", "3").
	CO2eKg  decimal.Decimal            `json:"co2e_kg"`
	ByScope map[string]decimal.Decimal `json:"co2e_kg_by_scope"`
	// CO2eKgPerHour is CO2eKg over the window's length: the emission rate.
	CO2eKgPerHour decimal.Decimal `json:"co2e_kg_per_hour"`
	// Orders counts the purchase orders in the window; SpendByCurrency
	// sums their amounts per ISO 4217 currency (never converted).
	Orders          int                        `json:"orders"`
	SpendByCurrency map[string]decimal.Decimal `json:"spend_by_currency"`
}

// Acc is a window's running KPIs.
type Acc struct {
	Activities int                        `json:"activities"`
	CO2eKg     decimal.Decimal            `json:"co2e_kg"`
	ByScope    map[string]decimal.Decimal `json:"by_scope,omitempty"`
	Orders     int                        `json:"orders,omitempty"`
	Spend      map[string]decimal.Decimal `json:"spend,omitempty"`
}

func (a *Acc) addOrder(currency string, amount decimal.Decimal) {
	a.Orders++
	if a.Spend == nil {
		a.Spend = map[string]decimal.Decimal{}
	}
	a.Spend[currency] = a.Spend[currency].Add(amount)
}

func (a *Acc) add(scope string, kg decimal.Decimal) {
	a.Activities++
	a.CO2eKg = a.CO2eKg.Add(kg)
	if a.ByScope == nil {
		a.ByScope = map[string]decimal.Decimal{}
	}
	a.ByScope[scope] = a.ByScope[scope].Add(kg)
}

func merge(into *Acc, from Acc) {
	into.Activities += from.Activities
	into.CO2eKg = into.CO2eKg.Add(from.CO2eKg)
	for s, v := range from.ByScope {
		if into.ByScope == nil {
			into.ByScope = map[string]decimal.Decimal{}
		}
		into.ByScope[s] = into.ByScope[s].Add(v)
	}
	into.Orders += from.Orders
	for c, v := range from.Spend {
		if into.Spend == nil {
			into.Spend = map[string]decimal.Decimal{}
		}
		into.Spend[c] = into.Spend[c].Add(v)
	}
}

// State is one partition's open windows, one set per window spec.
type State struct {
	Sets []*window.Set[Acc] `json:"sets"`
}

// Config configures the calculator.
type Config struct {
	// Windows default to tumbling 5 min, hopping 1 h every 5 min and
	// sessions with a 30-minute gap.
	Windows []window.Spec
	// Lateness is the allowed lateness; default 1 minute.
	Lateness time.Duration
}

// Handler is the calculator's processor.Handler.
type Handler struct{ cfg Config }

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	if len(cfg.Windows) == 0 {
		cfg.Windows = []window.Spec{window.Tumbling(5 * time.Minute), window.Hopping(time.Hour, 5*time.Minute), window.Session(30 * time.Minute)}
	}
	if cfg.Lateness == 0 {
		cfg.Lateness = time.Minute
	}
	for _, w := range cfg.Windows {
		if _, err := window.NewSet[Acc](w, cfg.Lateness); err != nil {
			return nil, err
		}
	}
	return &Handler{cfg: cfg}, nil
}

// NewState implements processor.Handler.
func (h *Handler) NewState() *State {
	st := &State{}
	for _, w := range h.cfg.Windows {
		s, _ := window.NewSet[Acc](w, h.cfg.Lateness) // validated in New
		st.Sets = append(st.Sets, s)
	}
	return st
}

// Handle implements processor.Handler. An event late for every window
// spec is dead-lettered; one still on time for some spec counts there.
func (h *Handler) Handle(_ context.Context, st *State, m *stream.Message, out *processor.Emitter) error {
	var (
		org uuid.UUID
		at  time.Time
		add func(*Acc)
	)
	switch m.Topic {
	case stream.TopicSupplyChainOrders:
		o, err := processor.Decode[supplychain.Order](m)
		if err != nil {
			return err // a rejection when the payload is bad
		}
		if err := o.Validate(m.Key); err != nil {
			return processor.Reject(err)
		}
		org, at = o.OrgID, o.OrderedAt
		add = func(a *Acc) { a.addOrder(o.Currency, o.Amount) }
	default:
		if m.Headers[aggregator.HeaderEventType] != aggregator.EventTypeActivity {
			return nil // a run summary from the store, or another producer's event: not ours
		}
		c, err := processor.Decode[aggregator.Calculated](m)
		if err != nil {
			return err // a rejection when the payload is bad
		}
		if c.OrgID == uuid.Nil || c.OccurredAt.IsZero() {
			return processor.Rejectf("org_id and occurred_at are required")
		}
		scope := strconv.Itoa(c.Scope)
		org, at = c.OrgID, c.OccurredAt
		add = func(a *Acc) { a.add(scope, c.CO2eKg) }
	}
	key := org.String()
	var late error
	counted := 0
	for _, s := range st.Sets {
		err := s.Add(key, at, add, merge)
		var le *window.LateError
		switch {
		case errors.As(err, &le):
			late = err
		case err != nil:
			return err
		default:
			counted++
		}
	}
	if counted == 0 && late != nil {
		return processor.Reject(late)
	}
	for _, s := range st.Sets {
		for _, e := range s.Close() {
			org, err := uuid.Parse(e.Key)
			if err != nil {
				return err
			}
			hours := decimal.NewFromInt(int64(e.Window.End.Sub(e.Window.Start))).Div(decimal.NewFromInt(int64(time.Hour)))
			u := Update{OrgID: org, Window: s.Spec.Name(), WindowStart: e.Window.Start, WindowEnd: e.Window.End, Source: m.Topic,
				Activities: e.Acc.Activities, CO2eKg: e.Acc.CO2eKg, ByScope: e.Acc.ByScope, CO2eKgPerHour: e.Acc.CO2eKg.Div(hours).Round(6),
				Orders: e.Acc.Orders, SpendByCurrency: e.Acc.Spend}
			if u.ByScope == nil {
				u.ByScope = map[string]decimal.Decimal{}
			}
			if u.SpendByCurrency == nil {
				u.SpendByCurrency = map[string]decimal.Decimal{}
			}
			id := out.ID("kpi", s.Spec.Name(), e.Key, e.Window.Start.Format(time.RFC3339Nano))
			if err := out.Emit(processor.Output{OrgID: org, Topic: stream.TopicAnalyticsKPIUpdates, Key: key, ID: id, Payload: u}); err != nil {
				return err
			}
		}
	}
	return nil
}
