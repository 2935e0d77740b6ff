package calculation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/store"
)

// Stored says what Persist wrote.
type Stored struct {
	RunID      uuid.UUID `json:"run_id"`
	Sources    int       `json:"sources_created"`
	Activities int64     `json:"activity_records"`
	Emissions  int64     `json:"calculated_emissions"`
}

func sourceName(r ghg.Result, activityType string) string {
	if r.Category != 0 {
		return fmt.Sprintf("%s (scope %d, category %d)", activityType, r.Scope, r.Category)
	}
	return fmt.Sprintf("%s (scope %d)", activityType, r.Scope)
}

// activityAttrs is what an activity record keeps of the file row beyond its
// columns, so a recalculation can rebuild the activity exactly.
type activityAttrs struct {
	Line           int             `json:"line"`
	Region         string          `json:"region"`
	UncertaintyPct decimal.Decimal `json:"uncertainty_pct"`
	Correction     bool            `json:"correction"`
	PriceYear      int             `json:"price_year,omitempty"`
	HeatBasis      ghg.HeatBasis   `json:"heat_basis,omitempty"`
}

// lineage is what a stored result keeps of its explanation: a reference
// to the explanation template its run's parameters hold (the part every
// result calculated with the same factor, units, method and GWP set shares,
// with the selection trail) and what is its own. A run of many thousand
// rows stores each factor's explanation once, not once per row, so results
// stay small and quick to write; StoredExplanation puts them together.
// Results stored before templates existed hold the whole explanation.
type lineage struct {
	Ref      string          `json:"explanation_ref,omitempty"`
	FactorID string          `json:"factor_id"`
	Quantity decimal.Decimal `json:"quantity"`
	Amount   decimal.Decimal `json:"amount"`

	Explanation *ghg.Explanation `json:"explanation,omitempty"`
	Selection   []string         `json:"selection,omitempty"`
}

// template is the shared part of results' explanations: the explanation
// with a zero quantity and amount, which each result's lineage supplies.
type template struct {
	Explanation ghg.Explanation `json:"explanation"`
	Selection   []string        `json:"selection"`
}

// runParams are a calculation run's parameters.
type runParams struct {
	InputHash    string              `json:"input_hash,omitempty"`
	RowsRefused  *int                `json:"rows_refused,omitempty"`
	Explanations map[string]template `json:"explanations,omitempty"`
}

// templates collects a run's explanation templates, naming them e1, e2, …
// in the order results first use them, so the same input stores the same
// parameters.
type templates struct {
	refs  map[string]string
	byRef map[string]template
	key   strings.Builder
}

func newTemplates() *templates {
	return &templates{refs: map[string]string{}, byRef: map[string]template{}}
}

// lineage returns a result's lineage, adding its template when new.
func (t *templates) lineage(e ghg.Explanation, selection []string) lineage {
	k := t.keyOf(e, selection)
	ref, ok := t.refs[k]
	if !ok {
		ref = "e" + strconv.Itoa(len(t.refs)+1)
		t.refs[k] = ref
		shared := e
		shared.Quantity, shared.Amount = decimal.Decimal{}, decimal.Decimal{}
		t.byRef[ref] = template{Explanation: shared, Selection: selection}
	}
	return lineage{Ref: ref, FactorID: e.FactorID, Quantity: e.Quantity, Amount: e.Amount}
}

// keyOf encodes every part of an explanation but its quantity and amount,
// each length-prefixed, so that two explanations share a template exactly
// when those parts are equal.
func (t *templates) keyOf(e ghg.Explanation, selection []string) string {
	b := &t.key
	b.Reset()
	put := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	putMap := func(m map[string]decimal.Decimal) {
		put(strconv.Itoa(len(m)))
		for _, g := range slices.Sorted(maps.Keys(m)) {
			put(g)
			put(m[g].String())
		}
	}
	put(e.ActivityType)
	put(e.Unit)
	put(e.Note)
	put(strconv.Itoa(len(e.Conversions)))
	for _, c := range e.Conversions {
		put(c.From)
		put(c.To)
		put(c.Factor.String())
		put(c.Note)
	}
	put(e.Factor.Set)
	put(e.Factor.Version)
	put(e.Factor.SourceTable)
	put(e.Factor.SourceRow)
	put(strconv.Itoa(e.Factor.Edition))
	put(e.FactorID)
	putMap(e.FactorValues)
	put(e.GWPSet)
	putMap(e.GWPs)
	put(e.Method)
	put(e.EngineVersion)
	put(strconv.Itoa(len(selection)))
	for _, s := range selection {
		put(s)
	}
	return b.String()
}

// StoredExplanation is a stored result's explanation and factor-selection
// trail, from its lineage and the parameters of the run that stored it.
func StoredExplanation(run *store.CalculationRun, e store.CalculatedEmission) (ghg.Explanation, []string, error) {
	var lin lineage
	if err := json.Unmarshal(e.Lineage, &lin); err != nil {
		return ghg.Explanation{}, nil, fmt.Errorf("result %s: reading its lineage: %w", e.ID, err)
	}
	if lin.Explanation != nil {
		return *lin.Explanation, lin.Selection, nil
	}
	if run == nil || run.ID != e.RunID {
		return ghg.Explanation{}, nil, fmt.Errorf("result %s: its explanation is in run %s", e.ID, e.RunID)
	}
	var p runParams
	if err := json.Unmarshal(run.Parameters, &p); err != nil {
		return ghg.Explanation{}, nil, fmt.Errorf("run %s: reading its parameters: %w", run.ID, err)
	}
	t, ok := p.Explanations[lin.Ref]
	if !ok {
		return ghg.Explanation{}, nil, fmt.Errorf("result %s: run %s has no explanation %q", e.ID, run.ID, lin.Ref)
	}
	x := t.Explanation
	x.Quantity, x.Amount = lin.Quantity, lin.Amount
	return x, t.Selection, nil
}

// ErrAlreadyStored is returned (wrapped) by Persist for a report whose
// input hash a stored run already has.
var ErrAlreadyStored = errors.New("these activities are already stored")

// Persist stores a report for org as one calculation run, in one
// transaction: an emission source per activity type and scope (created when
// missing), the activity records, and each result as a calculated emission
// whose lineage holds the explanation and the factor-selection trail. The
// run records the report's input hash, GWP set and engine version. A report
// whose input hash is already stored is refused (ErrAlreadyStored): storing
// the same activities twice would count them twice; recalculate instead.
func Persist(ctx context.Context, st *store.Store, org uuid.UUID, rep Report, now time.Time) (Stored, error) {
	var out Stored
	if _, err := st.OrganizationGet(ctx, org); err != nil {
		return out, err
	}
	sources, err := sourcesByName(ctx, st, org)
	if err != nil {
		return out, err
	}
	batch := store.CalculationBatch{}
	names := map[string]ghg.Result{}
	types := map[string]string{}
	for _, l := range rep.Lines {
		n := sourceName(l.Result, l.Activity.Type)
		names[n], types[n] = l.Result, l.Activity.Type
	}
	keys := make([]string, 0, len(names))
	for n := range names {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		if _, ok := sources[n]; ok {
			continue
		}
		r := names[n]
		src := &store.EmissionSource{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, Name: n, Scope: r.Scope, SourceType: types[n], Active: true,
			Description: "created by greenlang calc"}
		if r.Category != 0 {
			src.Category = &r.Category
		}
		batch.Sources = append(batch.Sources, src)
		sources[n] = src.ID
	}
	refused := len(rep.Errors)
	params := runParams{InputHash: rep.InputHash, RowsRefused: &refused, Explanations: map[string]template{}}
	tpl := newTemplates()
	finished := now
	batch.Run = &store.CalculationRun{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, Status: "succeeded", EngineVersion: ghg.EngineVersion,
		GWPSet: rep.GWPSet, StartedAt: now, FinishedAt: &finished,
		RecordsIn: int64(len(rep.Lines) + len(rep.Errors)), RecordsOut: int64(len(rep.Lines))}
	batch.Activities = make([]store.ActivityRecord, len(rep.Lines))
	batch.Emissions = make([]store.CalculatedEmission, 0, len(rep.Lines))
	for i, l := range rep.Lines {
		a := l.Activity
		src := sources[sourceName(l.Result, a.Type)]
		dq := a.DataQuality
		if dq == 0 {
			dq = 3
		}
		attrs, _ := json.Marshal(activityAttrs{Line: l.Line, Region: a.Region, UncertaintyPct: a.UncertaintyPct,
			Correction: a.Correction, PriceYear: a.Quantity.PriceYear, HeatBasis: a.HeatBasis})
		batch.Activities[i] = store.ActivityRecord{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, SourceID: src, ActivityType: a.Type,
			Quantity: a.Quantity.Value, Unit: a.Quantity.Unit.Symbol, PeriodStart: a.PeriodStart, PeriodEnd: periodEnd(a),
			DataQuality: dq, Origin: "file", OriginRef: a.ID, Attributes: attrs}
		batch.Emissions = append(batch.Emissions, emissionRows(l, batch.Activities[i].ID, src, tpl)...)
	}
	params.Explanations = tpl.byRef
	batch.Run.Parameters, _ = json.Marshal(params)
	saved, err := st.SaveCalculation(ctx, org, batch)
	if store.CodeOf(err) == store.CodeAlreadyExists {
		// The engine keeps one run per input hash and organization.
		if run, rerr := st.RunByInputHash(ctx, org, rep.InputHash); rerr == nil {
			return out, fmt.Errorf("%w as run %s (input hash %s); use `greenlang recalc` to recalculate them", ErrAlreadyStored, run.ID, rep.InputHash)
		}
	}
	if err != nil {
		return out, err
	}
	return Stored{RunID: saved.RunID, Sources: saved.Sources, Activities: saved.Activities.Inserted, Emissions: saved.Emissions.Inserted}, nil
}

func periodEnd(a ghg.Activity) time.Time {
	if a.PeriodEnd.Before(a.PeriodStart) {
		return a.PeriodStart
	}
	return a.PeriodEnd
}

func sourcesByName(ctx context.Context, st *store.Store, org uuid.UUID) (map[string]uuid.UUID, error) {
	sources := map[string]uuid.UUID{}
	var after uuid.UUID
	for {
		page, err := st.EmissionSources().List(ctx, org, store.ListOptions{After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, s := range page {
			sources[s.Name] = s.ID
		}
		if len(page) < 1000 {
			return sources, nil
		}
		after = page[len(page)-1].ID
	}
}

// emissionRows are the stored results of one line: one row, or for scope 2
// with a market-based result, one row per basis.
func emissionRows(l Line, activity, source uuid.UUID, tpl *templates) []store.CalculatedEmission {
	out := []store.CalculatedEmission{emissionRow(l.Activity, l.Result, l.Selection, activity, source, tpl)}
	if l.Result.Scope == 2 {
		out[0].Scope2Basis = "location"
		if l.Market != nil {
			m := emissionRow(l.Activity, *l.Market, l.MarketSelection, activity, source, tpl)
			m.Scope2Basis = "market"
			out = append(out, m)
		}
	}
	return out
}

func emissionRow(a ghg.Activity, r ghg.Result, selection []string, activity, source uuid.UUID, tpl *templates) store.CalculatedEmission {
	others := map[string]decimal.Decimal{}
	for g, kg := range r.KgByGas {
		if g != "CO2" && g != "CH4" && g != "N2O" {
			others[g] = kg
		}
	}
	otherJSON := store.JSON("{}")
	if len(others) > 0 {
		otherJSON, _ = json.Marshal(others)
	}
	lin, _ := json.Marshal(tpl.lineage(r.Explanation, selection))
	e := store.CalculatedEmission{ActivityID: activity, ActivityPeriodStart: a.PeriodStart, SourceID: source,
		Scope: r.Scope, Method: r.Explanation.Method, GWPSet: r.Explanation.GWPSet,
		CO2Kg: r.KgByGas["CO2"], CH4Kg: r.KgByGas["CH4"], N2OKg: r.KgByGas["N2O"], OtherGases: otherJSON,
		CO2eKg: r.CO2eKg, BiogenicCO2Kg: r.BiogenicCO2Kg, UncertaintyPct: decimal.NewNullDecimal(r.UncertaintyPct),
		DataQuality: decimal.NewNullDecimal(r.DataQuality), PeriodStart: a.PeriodStart, PeriodEnd: periodEnd(a), Lineage: lin}
	if r.Category != 0 {
		e.Category = &r.Category
	}
	return e
}

// storedResult rebuilds the engine result a stored emission holds, enough
// to total and restate it.
func storedResult(e store.CalculatedEmission) ghg.Result {
	r := ghg.Result{ActivityID: e.ActivityID.String(), Scope: e.Scope, KgByGas: map[string]decimal.Decimal{},
		CO2eKg: e.CO2eKg, BiogenicCO2Kg: e.BiogenicCO2Kg, UncertaintyPct: e.UncertaintyPct.Decimal, DataQuality: e.DataQuality.Decimal}
	if e.Category != nil {
		r.Category = *e.Category
	}
	for g, kg := range map[string]decimal.Decimal{"CO2": e.CO2Kg, "CH4": e.CH4Kg, "N2O": e.N2OKg} {
		if !kg.IsZero() {
			r.KgByGas[g] = kg
		}
	}
	var others map[string]decimal.Decimal
	if json.Unmarshal(e.OtherGases, &others) == nil {
		for g, kg := range others {
			r.KgByGas[g] = kg
		}
	}
	return r
}
