// Package aggregator is the emissions-aggregator stream processor
// (docs/processors.md): activity events from emissions.raw are calculated
// with the GHG engine (internal/calculation) into per-activity results on
// emissions.calculated, and summed per organization and scope in 5-minute
// event-time tumbling windows on emissions.aggregated. Bad payloads and
// events too late for their window go to the dead-letter topic.
package aggregator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/activityfile"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/stream"
)

// Name is the processor's name: consumer group and checkpoint key.
const Name = "emissions-aggregator"

// HeaderEventType tells the per-activity results on emissions.calculated
// from the store's run summaries (store.CalculatedEvent) on the same topic.
const (
	HeaderEventType       = "event-type"
	EventTypeActivity     = "activity-calculated"
	EventTypeWindowTotals = "window-totals"
)

// Activity is the payload of an emissions.raw event (JSON, schema 1). The
// message key must be the organization id, so an organization's windows
// live in one partition.
type Activity struct {
	OrgID        uuid.UUID       `json:"org_id"`
	Site         string          `json:"site,omitempty"` // the organization's site code
	ActivityID   string          `json:"activity_id"`
	ActivityType string          `json:"activity_type"`
	Quantity     decimal.Decimal `json:"quantity"`
	Unit         string          `json:"unit"`
	Region       string          `json:"region,omitempty"`
	PeriodStart  time.Time       `json:"period_start"`
	PeriodEnd    time.Time       `json:"period_end,omitzero"`
	Scope        int             `json:"scope,omitempty"`
	Category     int             `json:"category,omitempty"`
	Method       string          `json:"method,omitempty"`
	// OccurredAt is the event time the windows use.
	OccurredAt time.Time `json:"occurred_at"`
}

// Calculated is the payload of a per-activity emissions.calculated event.
type Calculated struct {
	SourceEventID string                     `json:"source_event_id"`
	OrgID         uuid.UUID                  `json:"org_id"`
	Site          string                     `json:"site,omitempty"`
	ActivityID    string                     `json:"activity_id"`
	ActivityType  string                     `json:"activity_type"`
	Region        string                     `json:"region,omitempty"`
	PeriodStart   time.Time                  `json:"period_start"`
	OccurredAt    time.Time                  `json:"occurred_at"`
	Scope         int                        `json:"scope"`
	Category      int                        `json:"category,omitempty"`
	Method        string                     `json:"method"`
	CO2eKg        decimal.Decimal            `json:"co2e_kg"`
	KgByGas       map[string]decimal.Decimal `json:"kg_by_gas"`
	BiogenicCO2Kg decimal.Decimal            `json:"biogenic_co2_kg"`
	// MarketCO2eKg is the scope 2 market-based result, when there is one.
	MarketCO2eKg *decimal.Decimal `json:"market_co2e_kg,omitempty"`
	FactorID     string           `json:"factor_id"`
	GWPSet       string           `json:"gwp_set"`
	Explanation  string           `json:"explanation"`
}

// Aggregated is the payload of an emissions.aggregated event: the final
// total of one organization and scope over one window.
type Aggregated struct {
	OrgID       uuid.UUID                  `json:"org_id"`
	Scope       string                     `json:"scope"`
	Window      string                     `json:"window"`
	WindowStart time.Time                  `json:"window_start"`
	WindowEnd   time.Time                  `json:"window_end"`
	Activities  int                        `json:"activities"`
	CO2eKg      decimal.Decimal            `json:"co2e_kg"`
	KgByGas     map[string]decimal.Decimal `json:"kg_by_gas"`
}

// Acc is a window's running total.
type Acc struct {
	Activities int                        `json:"activities"`
	CO2eKg     decimal.Decimal            `json:"co2e_kg"`
	KgByGas    map[string]decimal.Decimal `json:"kg_by_gas,omitempty"`
}

func (a *Acc) add(r ghg.Result) {
	a.Activities++
	a.CO2eKg = a.CO2eKg.Add(r.CO2eKg)
	if a.KgByGas == nil {
		a.KgByGas = map[string]decimal.Decimal{}
	}
	for g, v := range r.KgByGas {
		a.KgByGas[g] = a.KgByGas[g].Add(v)
	}
}

// State is one partition's state: the open windows.
type State struct {
	Windows *window.Set[Acc] `json:"windows"`
}

// Config configures the aggregator.
type Config struct {
	// Window is the totals' window; default tumbling 5 minutes.
	Window window.Spec
	// Lateness is the allowed lateness; default 1 minute.
	Lateness time.Duration
	// Options are the calculation options (GWP set, ...).
	Options calculation.Options
	// Known, when set, says whether an organization exists: an activity of
	// an unknown one is dead-lettered (its outputs could never be stored,
	// and retrying them would hold up the partition). An error is retried.
	Known func(ctx context.Context, org uuid.UUID) (bool, error)
}

// Handler is the aggregator's processor.Handler. Build it with New; it is
// safe to share one calculation service between handlers.
type Handler struct {
	svc *calculation.Service
	cfg Config
}

// New returns the handler over an already built calculation service.
func New(svc *calculation.Service, cfg Config) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("aggregator: a calculation service is required")
	}
	if cfg.Window.Kind == "" {
		cfg.Window = window.Tumbling(5 * time.Minute)
	}
	if cfg.Lateness == 0 {
		cfg.Lateness = time.Minute
	}
	if _, err := window.NewSet[Acc](cfg.Window, cfg.Lateness); err != nil {
		return nil, err
	}
	return &Handler{svc: svc, cfg: cfg}, nil
}

// NewState implements processor.Handler.
func (h *Handler) NewState() *State {
	s, _ := window.NewSet[Acc](h.cfg.Window, h.cfg.Lateness) // validated in New
	return &State{Windows: s}
}

func scopeKey(r ghg.Result) string { return strconv.Itoa(r.Scope) }

// Handle implements processor.Handler.
func (h *Handler) Handle(ctx context.Context, st *State, m *stream.Message, out *processor.Emitter) error {
	a, err := processor.Decode[Activity](m)
	if err != nil {
		return err // a rejection when the payload is bad
	}
	if err := validate(a, m); err != nil {
		return processor.Reject(err)
	}
	if h.cfg.Known != nil {
		ok, err := h.cfg.Known(ctx, a.OrgID)
		if err != nil {
			return err
		}
		if !ok {
			return processor.Rejectf("org_id %s: no such organization", a.OrgID)
		}
	}
	unit, err := h.svc.Units().Parse(a.Unit)
	if err != nil {
		return processor.Rejectf("unit %q: %v", a.Unit, err)
	}
	row := activityfile.Row{Activity: ghg.Activity{ID: a.ActivityID, Type: a.ActivityType, Quantity: ghg.Quantity{Value: a.Quantity, Unit: unit},
		Region: a.Region, PeriodStart: a.PeriodStart.UTC(), PeriodEnd: a.PeriodEnd.UTC(), Site: a.Site}, Scope: a.Scope, Category: a.Category, Method: a.Method}
	if a.PeriodEnd.IsZero() {
		row.Activity.PeriodEnd = time.Time{}
	}
	line, err := h.svc.Explain(row, h.cfg.Options)
	if err != nil {
		return processor.Rejectf("calculating activity %s: %v", a.ActivityID, err)
	}
	res := line.Result
	// Windows first: a late event is rejected before anything is emitted.
	key := a.OrgID.String() + "|" + scopeKey(res)
	if err := st.Windows.Add(key, a.OccurredAt, func(acc *Acc) { acc.add(res) }, nil); err != nil {
		var le *window.LateError
		if errors.As(err, &le) {
			return processor.Reject(err)
		}
		return err
	}
	c := Calculated{SourceEventID: m.EventID, OrgID: a.OrgID, Site: a.Site, ActivityID: a.ActivityID, ActivityType: a.ActivityType,
		Region: line.Activity.Region, PeriodStart: a.PeriodStart.UTC(), OccurredAt: a.OccurredAt.UTC(), Scope: res.Scope, Category: res.Category,
		Method: res.Explanation.Method, CO2eKg: res.CO2eKg, KgByGas: res.KgByGas, BiogenicCO2Kg: res.BiogenicCO2Kg,
		FactorID: res.Explanation.FactorID, GWPSet: res.Explanation.GWPSet, Explanation: res.Explanation.String()}
	if line.Market != nil {
		v := line.Market.CO2eKg
		c.MarketCO2eKg = &v
	}
	if err := out.Emit(processor.Output{OrgID: a.OrgID, Topic: stream.TopicEmissionsCalculated, Key: a.OrgID.String(),
		ID: out.ID("calculated", m.EventID), Payload: c, Headers: map[string]string{HeaderEventType: EventTypeActivity}}); err != nil {
		return err
	}
	return h.emitClosed(st, out)
}

// emitClosed emits the final totals of the windows the watermark closed.
func (h *Handler) emitClosed(st *State, out *processor.Emitter) error {
	for _, e := range st.Windows.Close() {
		org, scope, err := splitKey(e.Key)
		if err != nil {
			return err
		}
		gases := e.Acc.KgByGas
		if gases == nil {
			gases = map[string]decimal.Decimal{}
		}
		p := Aggregated{OrgID: org, Scope: scope, Window: h.cfg.Window.Name(), WindowStart: e.Window.Start, WindowEnd: e.Window.End,
			Activities: e.Acc.Activities, CO2eKg: e.Acc.CO2eKg, KgByGas: gases}
		id := out.ID("window", h.cfg.Window.Name(), e.Key, e.Window.Start.Format(time.RFC3339Nano))
		if err := out.Emit(processor.Output{OrgID: org, Topic: stream.TopicEmissionsAggregated, Key: org.String(), ID: id, Payload: p,
			Headers: map[string]string{HeaderEventType: EventTypeWindowTotals}}); err != nil {
			return err
		}
	}
	return nil
}

func splitKey(k string) (uuid.UUID, string, error) {
	for i := range len(k) {
		if k[i] == '|' {
			org, err := uuid.Parse(k[:i])
			return org, k[i+1:], err
		}
	}
	return uuid.Nil, "", fmt.Errorf("aggregator: bad window key %q", k)
}

func validate(a Activity, m *stream.Message) error {
	switch {
	case a.OrgID == uuid.Nil:
		return errors.New("org_id is required")
	case m.Key != a.OrgID.String():
		return fmt.Errorf("the message key %q must be the organization id %s (an organization's windows live in one partition)", m.Key, a.OrgID)
	case a.ActivityID == "":
		return errors.New("activity_id is required")
	case a.ActivityType == "":
		return errors.New("activity_type is required")
	case a.Unit == "":
		return errors.New("unit is required")
	case a.PeriodStart.IsZero():
		return errors.New("period_start is required")
	case a.OccurredAt.IsZero():
		return errors.New("occurred_at (the event time) is required")
	case a.Scope < 0 || a.Scope > 3:
		return fmt.Errorf("scope %d is not 1, 2 or 3", a.Scope)
	}
	return nil
}

// Totals sums closed-window events by organization and scope (tests, tools).
func Totals(evs []Aggregated) map[string]decimal.Decimal {
	out := map[string]decimal.Decimal{}
	for _, e := range evs {
		k := e.OrgID.String() + "|" + e.Scope
		out[k] = out[k].Add(e.CO2eKg)
	}
	return out
}

// SortAggregated orders events by window end, organization and scope.
func SortAggregated(evs []Aggregated) {
	sort.Slice(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if !a.WindowEnd.Equal(b.WindowEnd) {
			return a.WindowEnd.Before(b.WindowEnd)
		}
		if a.OrgID != b.OrgID {
			return a.OrgID.String() < b.OrgID.String()
		}
		return a.Scope < b.Scope
	})
}
