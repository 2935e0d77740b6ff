// Package supplychain is the supply-chain-analyzer stream processor
// (docs/processors.md): purchase orders on supply-chain.orders and
// delivered shipments on supply-chain.shipments are checked for supply
// risks — a delivery later than promised beyond a tolerance, an order from
// a supplier with a high ESG risk score, freight emissions per tonne-km far
// above the transport mode's norm, one supplier holding too large a share
// of an organization's spend in a window — which go to
// supply-chain.risk-events; and they are summed per organization in
// event-time tumbling windows whose KPIs go to analytics.kpi-updates when
// the window closes.
//
// The runtime's Runner consumes one topic, and no rule needs an order and
// a shipment together, so the analyzer is one Handler run by two runners:
// OrdersName on supply-chain.orders and ShipmentsName on
// supply-chain.shipments (Inputs lists both). Each runner has its own
// consumer group, checkpoints and state; Handle dispatches on the
// message's topic. Both topics are keyed by organization id, so an
// organization's windows live in one partition.
package supplychain

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/window"
	"github.com/greenlang/greenlang/internal/stream"
)

// Name is the processor's name; its two runners are OrdersName and
// ShipmentsName (consumer groups and checkpoint keys).
const (
	Name          = "supply-chain-analyzer"
	OrdersName    = Name + "-orders"
	ShipmentsName = Name + "-shipments"
)

// Input is one runner of the analyzer: its name and input topic.
type Input struct {
	Name  string
	Topic string
}

// Inputs are the analyzer's runners, one per input topic; give each the
// same Handler.
func Inputs() []Input {
	return []Input{{OrdersName, stream.TopicSupplyChainOrders}, {ShipmentsName, stream.TopicSupplyChainShipments}}
}

// HeaderEventType tells this processor's outputs apart from other
// producers' on the same topics (analytics.kpi-updates is shared with the
// real-time-kpi-calculator).
const (
	HeaderEventType       = "event-type"
	EventTypeRisk         = "supply-chain-risk"
	EventTypeOrderKPIs    = "supply-chain-order-kpis"
	EventTypeShipmentKPIs = "supply-chain-shipment-kpis"
)

// Risk rules.
const (
	RuleLateShipment        = "late-shipment"
	RuleHighRiskSupplier    = "supplier-high-risk"
	RuleEmissionsIntensity  = "emissions-intensity"
	RuleSupplyConcentration = "supplier-concentration"
)

// Severities (those of the platform's alerts).
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// ESG is a supplier's environmental, social and governance risk scores,
// each 0–100, higher is riskier.
type ESG struct {
	Environmental decimal.Decimal `json:"environmental"`
	Social        decimal.Decimal `json:"social"`
	Governance    decimal.Decimal `json:"governance"`
}

var (
	weightE = decimal.RequireFromString("0.4")
	weightS = decimal.RequireFromString("0.3")
	weightG = decimal.RequireFromString("0.3")
)

// Score is the seed's ESG risk score: 0.4·environmental + 0.3·social +
// 0.3·governance.
func (e ESG) Score() decimal.Decimal {
	return e.Environmental.Mul(weightE).Add(e.Social.Mul(weightS)).Add(e.Governance.Mul(weightG))
}

func (e ESG) validate(field string) error {
	hundred := decimal.NewFromInt(100)
	for _, c := range []struct {
		name string
		v    decimal.Decimal
	}{{"environmental", e.Environmental}, {"social", e.Social}, {"governance", e.Governance}} {
		if c.v.IsNegative() || c.v.GreaterThan(hundred) {
			return fmt.Errorf("%s.%s %s is not within 0–100", field, c.name, c.v)
		}
	}
	return nil
}

// Order is the payload of a supply-chain.orders event (JSON, schema 1): a
// purchase order. The message key must be the organization id.
type Order struct {
	OrgID      uuid.UUID `json:"org_id"`
	OrderID    string    `json:"order_id"`
	SupplierID string    `json:"supplier_id"`
	// Amount is the order's total, positive, in Currency (ISO 4217).
	Amount   decimal.Decimal `json:"amount"`
	Currency string          `json:"currency"`
	// OrderedAt is the event time.
	OrderedAt time.Time `json:"ordered_at"`
	// ESG is the supplier's scores when the producer knows them; else
	// Config.Suppliers is looked up.
	ESG *ESG `json:"esg,omitempty"`
}

// Shipment is the payload of a supply-chain.shipments event (JSON, schema
// 1): one delivered shipment (leg). The message key must be the
// organization id.
type Shipment struct {
	OrgID      uuid.UUID `json:"org_id"`
	ShipmentID string    `json:"shipment_id"`
	OrderID    string    `json:"order_id,omitempty"`
	SupplierID string    `json:"supplier_id,omitempty"`
	// Mode is a transport mode with a norm in Config.ModeNorms (by
	// default road, rail, sea, air).
	Mode       string          `json:"mode"`
	WeightKg   decimal.Decimal `json:"weight_kg"`
	DistanceKm decimal.Decimal `json:"distance_km"`
	// CO2eKg is the leg's emissions (carrier-reported or calculated).
	CO2eKg     decimal.NullDecimal `json:"co2e_kg"`
	PromisedAt time.Time           `json:"promised_at"`
	// DeliveredAt is the event time.
	DeliveredAt time.Time `json:"delivered_at"`
}

// TonneKm is the shipment's transport work: weight in tonnes × distance.
func (s Shipment) TonneKm() decimal.Decimal { return s.WeightKg.Mul(s.DistanceKm).Shift(-3) }

// RiskEvent is the payload of a supply-chain.risk-events event.
type RiskEvent struct {
	OrgID    uuid.UUID `json:"org_id"`
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	// SourceEventID is the input's event id (none for a window's rule).
	SourceEventID string `json:"source_event_id,omitempty"`
	SupplierID    string `json:"supplier_id,omitempty"`
	OrderID       string `json:"order_id,omitempty"`
	ShipmentID    string `json:"shipment_id,omitempty"`
	Mode          string `json:"mode,omitempty"`
	Currency      string `json:"currency,omitempty"`
	// Observed passed Threshold (both in Unit): hours late, ESG score,
	// kg CO2e per tonne-km, or share of spend.
	Observed  decimal.Decimal `json:"observed"`
	Threshold decimal.Decimal `json:"threshold"`
	Unit      string          `json:"unit"`
	ESG       *ESG            `json:"esg,omitempty"`
	// OccurredAt is the input's event time, or the window's end.
	OccurredAt  time.Time `json:"occurred_at"`
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	Message     string    `json:"message"`
}

// OrderKPIs is the payload of an analytics.kpi-updates event (header
// event-type: supply-chain-order-kpis): one organization's orders over one
// closed window.
type OrderKPIs struct {
	OrgID           uuid.UUID                  `json:"org_id"`
	Window          string                     `json:"window"`
	WindowStart     time.Time                  `json:"window_start"`
	WindowEnd       time.Time                  `json:"window_end"`
	Orders          int                        `json:"orders"`
	Suppliers       int                        `json:"suppliers"`
	SpendByCurrency map[string]decimal.Decimal `json:"spend_by_currency"`
}

// ShipmentKPIs is the payload of an analytics.kpi-updates event (header
// event-type: supply-chain-shipment-kpis): one organization's delivered
// shipments over one closed window.
type ShipmentKPIs struct {
	OrgID       uuid.UUID `json:"org_id"`
	Window      string    `json:"window"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Shipments   int       `json:"shipments"`
	OnTime      int       `json:"on_time"`
	// OnTimeRate is OnTime/Shipments, 4 places.
	OnTimeRate decimal.Decimal `json:"on_time_rate"`
	TonneKm    decimal.Decimal `json:"tonne_km"`
	CO2eKg     decimal.Decimal `json:"co2e_kg"`
	// KgCO2ePerTonneKm is CO2eKg/TonneKm, 6 places.
	KgCO2ePerTonneKm decimal.Decimal `json:"kg_co2e_per_tonne_km"`
}

// OrderAcc is a window's running order totals.
type OrderAcc struct {
	Orders int                        `json:"orders"`
	Spend  map[string]decimal.Decimal `json:"spend,omitempty"`  // by currency
	Counts map[string]int             `json:"counts,omitempty"` // orders by currency
	// BySupplier is spend by currency, then supplier.
	BySupplier map[string]map[string]decimal.Decimal `json:"by_supplier,omitempty"`
}

func (a *OrderAcc) add(o Order) {
	if a.Spend == nil {
		a.Spend, a.Counts, a.BySupplier = map[string]decimal.Decimal{}, map[string]int{}, map[string]map[string]decimal.Decimal{}
	}
	a.Orders++
	a.Spend[o.Currency] = a.Spend[o.Currency].Add(o.Amount)
	a.Counts[o.Currency]++
	if a.BySupplier[o.Currency] == nil {
		a.BySupplier[o.Currency] = map[string]decimal.Decimal{}
	}
	a.BySupplier[o.Currency][o.SupplierID] = a.BySupplier[o.Currency][o.SupplierID].Add(o.Amount)
}

// ShipmentAcc is a window's running shipment totals.
type ShipmentAcc struct {
	Shipments int             `json:"shipments"`
	OnTime    int             `json:"on_time"`
	TonneKm   decimal.Decimal `json:"tonne_km"`
	CO2eKg    decimal.Decimal `json:"co2e_kg"`
}

// State is one partition's open windows (each runner uses one of the two).
type State struct {
	Orders    *window.Set[OrderAcc]    `json:"orders"`
	Shipments *window.Set[ShipmentAcc] `json:"shipments"`
}

// DefaultModeNorms are kg CO2e per tonne-km by transport mode: the UK
// DESNZ 2024 "Freighting goods" totals in the built-in factor library
// (internal/factors/builtin): road = HGV (all diesel), all HGVs, average
// laden; rail = freight train; sea = container ship, average; air =
// freight flight, international, without radiative forcing.
func DefaultModeNorms() map[string]decimal.Decimal {
	return map[string]decimal.Decimal{
		"road": decimal.RequireFromString("0.09752"),
		"rail": decimal.RequireFromString("0.02779"),
		"sea":  decimal.RequireFromString("0.01612"),
		"air":  decimal.RequireFromString("0.64875"),
	}
}

// Config configures the analyzer. New applies WithDefaults and Validate.
type Config struct {
	// Window is the KPI and concentration window, tumbling. Default 24
	// hours (UTC days).
	Window window.Spec
	// Lateness is the windows' allowed lateness. Default 24 hours (a
	// day's orders synced from an ERP arrive in any order).
	Lateness time.Duration
	// LateTolerance: a shipment delivered more than this after its
	// promised time is late. Default 24 hours.
	LateTolerance time.Duration
	// HighRiskScore: an order from a supplier whose ESG risk score is
	// above it is a risk. Default 70.
	HighRiskScore decimal.Decimal
	// Suppliers are ESG scores by supplier id, for orders that carry none.
	Suppliers map[string]ESG
	// ModeNorms are kg CO2e per tonne-km by transport mode; a shipment's
	// mode must be one of them. nil means DefaultModeNorms().
	ModeNorms map[string]decimal.Decimal
	// IntensityFactor: a shipment whose kg CO2e per tonne-km is above
	// IntensityFactor × its mode's norm is a risk. Default 2.
	IntensityFactor decimal.Decimal
	// ConcentrationShare: a supplier with more than this share of an
	// organization's spend in one currency over a window is a risk.
	// Default 0.5.
	ConcentrationShare decimal.Decimal
	// ConcentrationMinOrders: the concentration rule looks at a currency's
	// spend in a window only from this many orders on. Default 5.
	ConcentrationMinOrders int
}

// WithDefaults returns c with every unset field at its default (maps
// copied).
func (c Config) WithDefaults() Config {
	if c.Window.Kind == "" {
		c.Window = window.Tumbling(24 * time.Hour)
	}
	if c.Lateness == 0 {
		c.Lateness = 24 * time.Hour
	}
	if c.LateTolerance == 0 {
		c.LateTolerance = 24 * time.Hour
	}
	if c.HighRiskScore.IsZero() {
		c.HighRiskScore = decimal.NewFromInt(70)
	}
	c.Suppliers = maps.Clone(c.Suppliers)
	if c.ModeNorms == nil {
		c.ModeNorms = DefaultModeNorms()
	} else {
		c.ModeNorms = maps.Clone(c.ModeNorms)
	}
	if c.IntensityFactor.IsZero() {
		c.IntensityFactor = decimal.NewFromInt(2)
	}
	if c.ConcentrationShare.IsZero() {
		c.ConcentrationShare = decimal.RequireFromString("0.5")
	}
	if c.ConcentrationMinOrders == 0 {
		c.ConcentrationMinOrders = 5
	}
	return c
}

// Validate checks c (after WithDefaults).
func (c Config) Validate() error {
	if c.Window.Kind != window.KindTumbling {
		return fmt.Errorf("supplychain: the window must be tumbling, not %q", c.Window.Kind)
	}
	if _, err := window.NewSet[OrderAcc](c.Window, c.Lateness); err != nil {
		return fmt.Errorf("supplychain: %w", err)
	}
	switch {
	case c.LateTolerance < 0:
		return fmt.Errorf("supplychain: negative late tolerance %s", c.LateTolerance)
	case c.HighRiskScore.IsNegative() || c.HighRiskScore.GreaterThan(decimal.NewFromInt(100)):
		return fmt.Errorf("supplychain: high-risk score %s is not within 0–100", c.HighRiskScore)
	case len(c.ModeNorms) == 0:
		return errors.New("supplychain: at least one transport mode norm is required")
	case !c.IntensityFactor.IsPositive():
		return fmt.Errorf("supplychain: intensity factor %s must be positive", c.IntensityFactor)
	case !c.ConcentrationShare.IsPositive() || c.ConcentrationShare.GreaterThan(decimal.NewFromInt(1)):
		return fmt.Errorf("supplychain: concentration share %s is not within (0, 1]", c.ConcentrationShare)
	case c.ConcentrationMinOrders < 1:
		return fmt.Errorf("supplychain: concentration minimum of %d orders must be positive", c.ConcentrationMinOrders)
	}
	for mode, n := range c.ModeNorms {
		if !n.IsPositive() {
			return fmt.Errorf("supplychain: mode %s: norm %s kg CO2e per tonne-km must be positive", mode, n)
		}
	}
	for id, e := range c.Suppliers {
		if err := e.validate("supplier " + id + " esg"); err != nil {
			return fmt.Errorf("supplychain: %w", err)
		}
	}
	return nil
}

// Handler is the analyzer's processor.Handler, for both runners.
type Handler struct{ cfg Config }

var _ processor.Handler[*State] = (*Handler)(nil)

// New returns the handler for cfg (defaults applied, then validated).
func New(cfg Config) (*Handler, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg}, nil
}

// NewState implements processor.Handler.
func (h *Handler) NewState() *State {
	o, _ := window.NewSet[OrderAcc](h.cfg.Window, h.cfg.Lateness) // validated in New
	s, _ := window.NewSet[ShipmentAcc](h.cfg.Window, h.cfg.Lateness)
	return &State{Orders: o, Shipments: s}
}

// Handle implements processor.Handler for orders and shipments. An input
// too late for its window is dead-lettered, with its risk events: the
// KPIs either count an input or say it was refused.
func (h *Handler) Handle(_ context.Context, st *State, m *stream.Message, out *processor.Emitter) error {
	switch m.Topic {
	case stream.TopicSupplyChainOrders:
		return h.order(st, m, out)
	case stream.TopicSupplyChainShipments:
		return h.shipment(st, m, out)
	}
	return processor.Rejectf("topic %s is not an input of %s", m.Topic, Name)
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func (h *Handler) order(st *State, m *stream.Message, out *processor.Emitter) error {
	o, err := processor.Decode[Order](m)
	if err != nil {
		return err // a rejection naming the field when the payload is bad
	}
	if err := o.Validate(m.Key); err != nil {
		return processor.Reject(err)
	}
	key := o.OrgID.String()
	if err := st.Orders.Add(key, o.OrderedAt, func(a *OrderAcc) { a.add(o) }, nil); err != nil {
		return reject(err)
	}
	esg := o.ESG
	if esg == nil {
		if e, ok := h.cfg.Suppliers[o.SupplierID]; ok {
			esg = &e
		}
	}
	if esg != nil {
		if score := esg.Score(); score.GreaterThan(h.cfg.HighRiskScore) {
			r := RiskEvent{OrgID: o.OrgID, Rule: RuleHighRiskSupplier, Severity: SeverityCritical, SourceEventID: processor.SourceID(m),
				SupplierID: o.SupplierID, OrderID: o.OrderID, Currency: o.Currency, Observed: score, Threshold: h.cfg.HighRiskScore,
				Unit: "esg-risk-score", ESG: esg, OccurredAt: o.OrderedAt,
				Message: fmt.Sprintf("order %s (%s %s) from supplier %s, whose ESG risk score %s is above %s", o.OrderID, o.Amount, o.Currency, o.SupplierID, score, h.cfg.HighRiskScore)}
			if err := emitRisk(out, r, out.ID("risk", r.SourceEventID, r.Rule)); err != nil {
				return err
			}
		}
	}
	for _, e := range st.Orders.Close() {
		if err := h.closeOrders(e, out); err != nil {
			return err
		}
	}
	return nil
}

// closeOrders emits a closed window's order KPIs, then its concentration
// risks (by currency, then supplier).
func (h *Handler) closeOrders(e window.Entry[OrderAcc], out *processor.Emitter) error {
	org, err := uuid.Parse(e.Key)
	if err != nil {
		return err
	}
	spec, start := h.cfg.Window.Name(), e.Window.Start.Format(time.RFC3339Nano)
	suppliers := map[string]bool{}
	for _, bs := range e.Acc.BySupplier {
		for s := range bs {
			suppliers[s] = true
		}
	}
	spend := e.Acc.Spend
	if spend == nil {
		spend = map[string]decimal.Decimal{}
	}
	k := OrderKPIs{OrgID: org, Window: spec, WindowStart: e.Window.Start, WindowEnd: e.Window.End, Orders: e.Acc.Orders,
		Suppliers: len(suppliers), SpendByCurrency: spend}
	if err := out.Emit(processor.Output{OrgID: org, Topic: stream.TopicAnalyticsKPIUpdates, Key: e.Key, ID: out.ID("kpi", "orders", spec, e.Key, start),
		Payload: k, Headers: map[string]string{HeaderEventType: EventTypeOrderKPIs}}); err != nil {
		return err
	}
	for _, cur := range slices.Sorted(maps.Keys(e.Acc.BySupplier)) {
		if e.Acc.Counts[cur] < h.cfg.ConcentrationMinOrders {
			continue
		}
		total := e.Acc.Spend[cur]
		bs := e.Acc.BySupplier[cur]
		for _, sup := range slices.Sorted(maps.Keys(bs)) {
			if !bs[sup].GreaterThan(h.cfg.ConcentrationShare.Mul(total)) {
				continue
			}
			share := bs[sup].DivRound(total, 4)
			r := RiskEvent{OrgID: org, Rule: RuleSupplyConcentration, Severity: SeverityWarning, SupplierID: sup, Currency: cur,
				Observed: share, Threshold: h.cfg.ConcentrationShare, Unit: "share-of-spend", OccurredAt: e.Window.End,
				WindowStart: e.Window.Start, WindowEnd: e.Window.End,
				Message: fmt.Sprintf("supplier %s holds %s of %s %s spend over %d orders in %s from %s (limit %s)", sup, share, total, cur,
					e.Acc.Counts[cur], spec, start, h.cfg.ConcentrationShare)}
			if err := emitRisk(out, r, out.ID("risk", r.Rule, spec, e.Key, start, cur, sup)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *Handler) shipment(st *State, m *stream.Message, out *processor.Emitter) error {
	s, err := processor.Decode[Shipment](m)
	if err != nil {
		return err // a rejection naming the field when the payload is bad
	}
	if err := validateShipment(&s, m); err != nil {
		return processor.Reject(err)
	}
	norm, ok := h.cfg.ModeNorms[s.Mode]
	if !ok {
		return processor.Rejectf("mode %q is not one of %v", s.Mode, slices.Sorted(maps.Keys(h.cfg.ModeNorms)))
	}
	due := s.PromisedAt.Add(h.cfg.LateTolerance)
	late := s.DeliveredAt.After(due)
	tkm := s.TonneKm()
	key := s.OrgID.String()
	if err := st.Shipments.Add(key, s.DeliveredAt, func(a *ShipmentAcc) {
		a.Shipments++
		if !late {
			a.OnTime++
		}
		a.TonneKm = a.TonneKm.Add(tkm)
		a.CO2eKg = a.CO2eKg.Add(s.CO2eKg.Decimal)
	}, nil); err != nil {
		return reject(err)
	}
	src := processor.SourceID(m)
	if late {
		hours := hoursOf(s.DeliveredAt.Sub(s.PromisedAt))
		r := RiskEvent{OrgID: s.OrgID, Rule: RuleLateShipment, Severity: SeverityWarning, SourceEventID: src, SupplierID: s.SupplierID,
			OrderID: s.OrderID, ShipmentID: s.ShipmentID, Mode: s.Mode, Observed: hours, Threshold: hoursOf(h.cfg.LateTolerance), Unit: "hours-late",
			OccurredAt: s.DeliveredAt,
			Message: fmt.Sprintf("shipment %s delivered %s hours after its promised time %s (tolerance %s hours)", s.ShipmentID, hours,
				s.PromisedAt.Format(time.RFC3339), hoursOf(h.cfg.LateTolerance))}
		if err := emitRisk(out, r, out.ID("risk", src, r.Rule)); err != nil {
			return err
		}
	}
	// Intensity above factor × norm, exactly: co2e > factor × norm × tkm.
	limit := h.cfg.IntensityFactor.Mul(norm)
	if s.CO2eKg.Decimal.GreaterThan(limit.Mul(tkm)) {
		intensity := s.CO2eKg.Decimal.DivRound(tkm, 6)
		r := RiskEvent{OrgID: s.OrgID, Rule: RuleEmissionsIntensity, Severity: SeverityWarning, SourceEventID: src, SupplierID: s.SupplierID,
			OrderID: s.OrderID, ShipmentID: s.ShipmentID, Mode: s.Mode, Observed: intensity, Threshold: limit, Unit: "kg-co2e-per-tonne-km",
			OccurredAt: s.DeliveredAt,
			Message: fmt.Sprintf("shipment %s by %s emitted %s kg CO2e per tonne-km, above %s × the mode's norm %s", s.ShipmentID, s.Mode,
				intensity, h.cfg.IntensityFactor, norm)}
		if err := emitRisk(out, r, out.ID("risk", src, r.Rule)); err != nil {
			return err
		}
	}
	for _, e := range st.Shipments.Close() {
		org, err := uuid.Parse(e.Key)
		if err != nil {
			return err
		}
		spec, start := h.cfg.Window.Name(), e.Window.Start.Format(time.RFC3339Nano)
		n := decimal.NewFromInt(int64(e.Acc.Shipments))
		k := ShipmentKPIs{OrgID: org, Window: spec, WindowStart: e.Window.Start, WindowEnd: e.Window.End, Shipments: e.Acc.Shipments,
			OnTime: e.Acc.OnTime, OnTimeRate: decimal.NewFromInt(int64(e.Acc.OnTime)).DivRound(n, 4), TonneKm: e.Acc.TonneKm,
			CO2eKg: e.Acc.CO2eKg, KgCO2ePerTonneKm: e.Acc.CO2eKg.DivRound(e.Acc.TonneKm, 6)}
		if err := out.Emit(processor.Output{OrgID: org, Topic: stream.TopicAnalyticsKPIUpdates, Key: e.Key, ID: out.ID("kpi", "shipments", spec, e.Key, start),
			Payload: k, Headers: map[string]string{HeaderEventType: EventTypeShipmentKPIs}}); err != nil {
			return err
		}
	}
	return nil
}

// hoursOf is d in hours, 2 places.
func hoursOf(d time.Duration) decimal.Decimal {
	return decimal.NewFromInt(int64(d)).DivRound(decimal.NewFromInt(int64(time.Hour)), 2)
}

func emitRisk(out *processor.Emitter, r RiskEvent, id uuid.UUID) error {
	return out.Emit(processor.Output{OrgID: r.OrgID, Topic: stream.TopicSupplyChainRiskEvents, Key: r.OrgID.String(), ID: id, Payload: r,
		Headers: map[string]string{HeaderEventType: EventTypeRisk}})
}

// reject dead-letters a late input; any other window error is a failure.
func reject(err error) error {
	var le *window.LateError
	if errors.As(err, &le) {
		return processor.Reject(err)
	}
	return err
}

// Validate checks an order received with message key: the key must be the
// organization id, ids, a positive amount in an ISO 4217 currency, the
// event time and any ESG scores must be usable. The error names the field.
// It normalizes times to UTC. The real-time KPI calculator checks orders
// with it too.
func (o *Order) Validate(key string) error {
	if err := processor.CheckDecimal("amount", o.Amount); err != nil {
		return err
	}
	if o.ESG != nil {
		for _, c := range []struct {
			f string
			v decimal.Decimal
		}{{"esg.environmental", o.ESG.Environmental}, {"esg.social", o.ESG.Social}, {"esg.governance", o.ESG.Governance}} {
			if err := processor.CheckDecimal(c.f, c.v); err != nil {
				return err
			}
		}
	}
	switch {
	case o.OrgID == uuid.Nil:
		return errors.New("org_id is required")
	case key != o.OrgID.String():
		return fmt.Errorf("key %q must be the organization id %s (an organization's windows live in one partition)", key, o.OrgID)
	case o.OrderID == "":
		return errors.New("order_id is required")
	case o.SupplierID == "":
		return errors.New("supplier_id is required")
	case !o.Amount.IsPositive():
		return fmt.Errorf("amount %s must be positive", o.Amount)
	case !currencyRE.MatchString(o.Currency):
		return fmt.Errorf("currency %q is not an ISO 4217 code (three capital letters)", o.Currency)
	case o.OrderedAt.IsZero():
		return errors.New("ordered_at (the event time) is required")
	}
	if o.ESG != nil {
		if err := o.ESG.validate("esg"); err != nil {
			return err
		}
	}
	o.OrderedAt = o.OrderedAt.UTC()
	return nil
}

func validateShipment(s *Shipment, m *stream.Message) error {
	for _, c := range []struct {
		f string
		v decimal.Decimal
	}{{"weight_kg", s.WeightKg}, {"distance_km", s.DistanceKm}, {"co2e_kg", s.CO2eKg.Decimal}} {
		if err := processor.CheckDecimal(c.f, c.v); err != nil {
			return err
		}
	}
	switch {
	case s.OrgID == uuid.Nil:
		return errors.New("org_id is required")
	case m.Key != s.OrgID.String():
		return fmt.Errorf("key %q must be the organization id %s (an organization's windows live in one partition)", m.Key, s.OrgID)
	case s.ShipmentID == "":
		return errors.New("shipment_id is required")
	case s.Mode == "":
		return errors.New("mode is required")
	case !s.WeightKg.IsPositive():
		return fmt.Errorf("weight_kg %s must be positive", s.WeightKg)
	case !s.DistanceKm.IsPositive():
		return fmt.Errorf("distance_km %s must be positive", s.DistanceKm)
	case !s.CO2eKg.Valid:
		return errors.New("co2e_kg is required")
	case s.CO2eKg.Decimal.IsNegative():
		return fmt.Errorf("co2e_kg %s must not be negative", s.CO2eKg.Decimal)
	case s.PromisedAt.IsZero():
		return errors.New("promised_at is required")
	case s.DeliveredAt.IsZero():
		return errors.New("delivered_at (the event time) is required")
	}
	s.PromisedAt, s.DeliveredAt = s.PromisedAt.UTC(), s.DeliveredAt.UTC()
	return nil
}
