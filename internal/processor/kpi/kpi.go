// Package kpi is the real-time-kpi-calculator stream processor
// (docs/processors.md): per-activity results on emissions.calculated (the
// emissions-aggregator's, header event-type=activity-calculated; the
// store's run summaries on the same topic are skipped) are summed per
// organization over event-time tumbling 5-minute, hopping 1-hour/5-minute
// and 30-minute session windows, and each closed window's KPIs go to
// analytics.kpi-updates. supply-chain.orders is not consumed yet.
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
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/stream"
)

// Name is the processor's name: consumer group and checkpoint key.
const Name = "real-time-kpi-calculator"

// Update is the payload of an analytics.kpi-updates event: one
// organization's KPIs over one closed window.
type Update struct {
	OrgID       uuid.UUID `json:"org_id"`
	Window      string    `json:"window"` // e.g. "tumbling-5m0s"
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// Activities counts the results in the window.
	Activities int `json:"activities"`
	// CO2eKg is their total; ByScope splits it ("1", "2", "3").
	CO2eKg  decimal.Decimal            `json:"co2e_kg"`
	ByScope map[string]decimal.Decimal `json:"co2e_kg_by_scope"`
	// CO2eKgPerHour is CO2eKg over the window's length: the emission rate.
	CO2eKgPerHour decimal.Decimal `json:"co2e_kg_per_hour"`
}

// Acc is a window's running KPIs.
type Acc struct {
	Activities int                        `json:"activities"`
	CO2eKg     decimal.Decimal            `json:"co2e_kg"`
	ByScope    map[string]decimal.Decimal `json:"by_scope,omitempty"`
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
	key := c.OrgID.String()
	scope := strconv.Itoa(c.Scope)
	var late error
	counted := 0
	for _, s := range st.Sets {
		err := s.Add(key, c.OccurredAt, func(a *Acc) { a.add(scope, c.CO2eKg) }, merge)
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
			u := Update{OrgID: org, Window: s.Spec.Name(), WindowStart: e.Window.Start, WindowEnd: e.Window.End,
				Activities: e.Acc.Activities, CO2eKg: e.Acc.CO2eKg, ByScope: e.Acc.ByScope, CO2eKgPerHour: e.Acc.CO2eKg.Div(hours).Round(6)}
			if u.ByScope == nil {
				u.ByScope = map[string]decimal.Decimal{}
			}
			id := out.ID("kpi", s.Spec.Name(), e.Key, e.Window.Start.Format(time.RFC3339Nano))
			if err := out.Emit(processor.Output{OrgID: org, Topic: stream.TopicAnalyticsKPIUpdates, Key: key, ID: id, Payload: u}); err != nil {
				return err
			}
		}
	}
	return nil
}
