package calculation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/activityfile"
	"github.com/greenlang/greenlang/internal/store"
)

// RecalcOptions say what to recalculate and with what.
type RecalcOptions struct {
	// Options are the calculation's: GWP set, pinned factor set, RF uplift,
	// exchange rates, certificates. Format and Progress are not used.
	Options
	// Filter selects the stored results by period.
	Filter store.ResultFilter
	// Reason is why (a new factor edition, a GWP change, a corrected
	// factor); it is required and recorded with the run and the restatement.
	Reason string
	// ThresholdPct is the significance threshold for a base-year
	// recalculation; zero means the default 5%.
	ThresholdPct decimal.Decimal
	// DryRun computes the restatement without storing anything.
	DryRun bool
}

// RecalcError is a stored activity that could not be recalculated; its
// results stay as they are.
type RecalcError struct {
	ActivityID uuid.UUID `json:"activity_id"`
	Reason     string    `json:"reason"`
}

// Recalculation is what a recalculation did.
type Recalculation struct {
	// RunID is the new run; zero for a dry run or when nothing changed.
	RunID       uuid.UUID       `json:"run_id,omitzero"`
	Checked     int             `json:"results_checked"`
	Changed     int             `json:"results_changed"`
	Superseded  int64           `json:"results_superseded"`
	Errors      []RecalcError   `json:"errors"`
	Restatement ghg.Restatement `json:"restatement"`
}

// storedActivity is one stored activity and its current results (one, or
// one per basis for scope 2).
type storedActivity struct {
	record  store.ActivityRecord
	source  string
	results []store.CalculatedEmission
}

// Recalculate recalculates org's current results in o.Filter with the
// service's library and o's options, and, unless o.DryRun, stores one new
// run in one transaction: results that changed are superseded (never
// deleted) by new ones for the same activity records; unchanged results stay.
// The restatement compares old and new by source, scope and category and
// flags a base-year recalculation above the significance threshold.
func (s *Service) Recalculate(ctx context.Context, st *store.Store, org uuid.UUID, o RecalcOptions, now time.Time) (Recalculation, error) {
	var out Recalculation
	if strings.TrimSpace(o.Reason) == "" {
		return out, errors.New("recalculate: a reason is required (it is recorded with the restatement)")
	}
	calc, err := s.calculator(o.GWPSet)
	if err != nil {
		return out, err
	}
	pool, err := ghg.NewCertificatePool(o.Certificates)
	if err != nil {
		return out, err
	}
	byActivity := map[uuid.UUID]*storedActivity{}
	var order []uuid.UUID
	err = st.CurrentResults(ctx, org, o.Filter, func(r store.CurrentResult) error {
		a := byActivity[r.Activity.ID]
		if a == nil {
			a = &storedActivity{record: r.Activity, source: r.SourceName}
			byActivity[r.Activity.ID] = a
			order = append(order, r.Activity.ID)
		}
		a.results = append(a.results, r.Emission)
		return nil
	})
	if err != nil {
		return out, err
	}
	var (
		oldRs, newRs []ghg.Result
		supersede    []uuid.UUID
		emissions    []store.CalculatedEmission
		sourceOf     = map[string]string{}
		tpl          = newTemplates()
		memo         = selections{}
	)
	for _, id := range order {
		a := byActivity[id]
		out.Checked += len(a.results)
		row, loc, err := s.rowFor(a)
		if err != nil {
			out.Errors = append(out.Errors, RecalcError{ActivityID: id, Reason: err.Error()})
			continue
		}
		line, rerr := s.calculateRow(calc, row, o.Options, pool, memo)
		if rerr != nil {
			out.Errors = append(out.Errors, RecalcError{ActivityID: id, Reason: rerr.Reason})
			continue
		}
		fresh := []ghg.Result{line.Result}
		if line.Market != nil {
			fresh = append(fresh, *line.Market)
		}
		if !changed(a.results, fresh) {
			continue
		}
		sourceOf[id.String()] = a.source
		// The restatement compares scope 2 on the location basis, so that
		// the two bases are not added together.
		for _, e := range a.results {
			if e.Scope2Basis != "market" {
				oldRs = append(oldRs, storedResult(e))
			}
			supersede = append(supersede, e.ID)
		}
		newRs = append(newRs, line.Result)
		out.Changed += len(a.results)
		emissions = append(emissions, emissionRows(line, id, loc.SourceID, a.record.SiteID, tpl)...)
	}
	out.Restatement = ghg.RestateBySource(o.Reason, oldRs, newRs, func(r ghg.Result) string { return sourceOf[r.ActivityID] }, o.ThresholdPct)
	if o.DryRun || len(supersede) == 0 {
		return out, nil
	}
	pj, err := json.Marshal(map[string]any{"reason": o.Reason, "recalculation": true, "restatement": out.Restatement, "errors": len(out.Errors),
		"explanations": tpl.byRef})
	if err != nil {
		return out, err
	}
	finished := now
	run := &store.CalculationRun{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, Status: "succeeded", EngineVersion: ghg.EngineVersion,
		GWPSet: calc.GWPSet(), Parameters: pj, StartedAt: now, FinishedAt: &finished, RecordsIn: int64(out.Checked), RecordsOut: int64(len(emissions))}
	saved, err := st.SaveCalculation(ctx, org, store.CalculationBatch{Run: run, Emissions: emissions, Supersede: supersede})
	if err != nil {
		return out, err
	}
	out.RunID, out.Superseded = saved.RunID, saved.Superseded
	return out, nil
}

// rowFor rebuilds the activity-file row a stored activity came from, and
// returns the location-basis (or only) result to take the method from.
func (s *Service) rowFor(a *storedActivity) (activityfile.Row, store.CalculatedEmission, error) {
	loc := a.results[0]
	for _, e := range a.results {
		if e.Scope2Basis != "market" {
			loc = e
		}
	}
	rec := a.record
	var attrs activityAttrs
	if len(rec.Attributes) > 0 {
		if err := json.Unmarshal(rec.Attributes, &attrs); err != nil {
			return activityfile.Row{}, loc, fmt.Errorf("activity attributes: %w", err)
		}
	}
	unit, err := s.units.Parse(rec.Unit)
	if err != nil {
		return activityfile.Row{}, loc, err
	}
	act := ghg.Activity{ID: rec.ID.String(), Type: rec.ActivityType,
		Quantity: ghg.Quantity{Value: rec.Quantity, Unit: unit, PriceYear: attrs.PriceYear},
		Region:   attrs.Region, PeriodStart: rec.PeriodStart, PeriodEnd: rec.PeriodEnd,
		UncertaintyPct: attrs.UncertaintyPct, DataQuality: rec.DataQuality, Correction: attrs.Correction, HeatBasis: attrs.HeatBasis}
	row := activityfile.Row{Line: attrs.Line, Activity: act, Scope: loc.Scope, Method: loc.Method}
	if loc.Category != nil {
		row.Category = *loc.Category
	}
	switch row.Method {
	case ghg.MethodActivityFactor, ghg.MethodScope2Location, ghg.MethodScope2Market:
		row.Method = ""
	}
	return row, loc, nil
}

// changed reports whether fresh results differ from the stored ones in
// anything a report shows: per-gas masses, CO2e, GWP set or factor.
func changed(old []store.CalculatedEmission, fresh []ghg.Result) bool {
	if len(old) != len(fresh) {
		return true
	}
	byBasis := map[string]ghg.Result{}
	for _, r := range fresh {
		basis := ""
		switch {
		case r.Explanation.Method == ghg.MethodScope2Market:
			basis = "market"
		case r.Scope == 2:
			basis = "location"
		}
		byBasis[basis] = r
	}
	for _, e := range old {
		r, ok := byBasis[e.Scope2Basis]
		if !ok {
			return true
		}
		o := storedResult(e)
		if !o.CO2eKg.Equal(r.CO2eKg) || !o.BiogenicCO2Kg.Equal(r.BiogenicCO2Kg) || e.GWPSet != r.Explanation.GWPSet {
			return true
		}
		for g, kg := range r.KgByGas {
			if !o.KgByGas[g].Equal(kg) {
				return true
			}
		}
		var lin lineage
		if json.Unmarshal(e.Lineage, &lin) != nil {
			return true
		}
		if lin.Explanation != nil { // stored before explanation templates
			lin.FactorID = lin.Explanation.FactorID
		}
		if lin.FactorID != r.Explanation.FactorID {
			return true
		}
	}
	return false
}
