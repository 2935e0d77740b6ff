package calculation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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

// lineage is what a stored result keeps of its explanation.
type lineage struct {
	Explanation ghg.Explanation `json:"explanation"`
	Selection   []string        `json:"selection"`
	InputHash   string          `json:"input_hash"`
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
	params, _ := json.Marshal(map[string]any{"input_hash": rep.InputHash, "rows_refused": len(rep.Errors)})
	finished := now
	batch.Run = &store.CalculationRun{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, Status: "succeeded", EngineVersion: ghg.EngineVersion,
		GWPSet: rep.GWPSet, Parameters: params, StartedAt: now, FinishedAt: &finished,
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
		batch.Emissions = append(batch.Emissions, emissionRows(l, batch.Activities[i].ID, src, rep.InputHash)...)
	}
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
func emissionRows(l Line, activity, source uuid.UUID, inputHash string) []store.CalculatedEmission {
	out := []store.CalculatedEmission{emissionRow(l.Activity, l.Result, l.Selection, activity, source, inputHash)}
	if l.Result.Scope == 2 {
		out[0].Scope2Basis = "location"
		if l.Market != nil {
			m := emissionRow(l.Activity, *l.Market, l.MarketSelection, activity, source, inputHash)
			m.Scope2Basis = "market"
			out = append(out, m)
		}
	}
	return out
}

func emissionRow(a ghg.Activity, r ghg.Result, selection []string, activity, source uuid.UUID, inputHash string) store.CalculatedEmission {
	others := map[string]decimal.Decimal{}
	for g, kg := range r.KgByGas {
		if g != "CO2" && g != "CH4" && g != "N2O" {
			others[g] = kg
		}
	}
	otherJSON, _ := json.Marshal(others)
	lin, _ := json.Marshal(lineage{Explanation: r.Explanation, Selection: selection, InputHash: inputHash})
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
