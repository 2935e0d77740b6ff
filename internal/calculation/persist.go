package calculation

import (
	"context"
	"encoding/json"
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

// Persist stores a report for org as one calculation run: an emission
// source per activity type and scope (created when missing), the activity
// records, and each result as a calculated emission whose lineage holds the
// explanation and the factor-selection trail. The run records the report's
// input hash, GWP set and engine version.
func Persist(ctx context.Context, st *store.Store, org uuid.UUID, rep Report, now time.Time) (Stored, error) {
	var out Stored
	if _, err := st.OrganizationGet(ctx, org); err != nil {
		return out, err
	}
	// Existing sources, by name.
	sources := map[string]uuid.UUID{}
	var after uuid.UUID
	for {
		page, err := st.EmissionSources().List(ctx, org, store.ListOptions{After: after, Limit: 1000})
		if err != nil {
			return out, err
		}
		for _, s := range page {
			sources[s.Name] = s.ID
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
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
		src := &store.EmissionSource{Name: n, Scope: r.Scope, SourceType: types[n], Active: true,
			Description: "created by greenlang calc"}
		if r.Category != 0 {
			src.Category = &r.Category
		}
		if err := st.EmissionSources().Create(ctx, org, src); err != nil {
			return out, err
		}
		sources[n] = src.ID
		out.Sources++
	}
	params, _ := json.Marshal(map[string]any{"input_hash": rep.InputHash, "rows_refused": len(rep.Errors)})
	finished := now
	run := &store.CalculationRun{Status: "succeeded", EngineVersion: ghg.EngineVersion, GWPSet: rep.GWPSet,
		Parameters: params, StartedAt: now, FinishedAt: &finished,
		RecordsIn: int64(len(rep.Lines) + len(rep.Errors)), RecordsOut: int64(len(rep.Lines))}
	if err := st.CalculationRuns().Create(ctx, org, run); err != nil {
		return out, err
	}
	out.RunID = run.ID
	acts := make([]store.ActivityRecord, len(rep.Lines))
	ems := make([]store.CalculatedEmission, len(rep.Lines))
	for i, l := range rep.Lines {
		a, r := l.Activity, l.Result
		src := sources[sourceName(r, a.Type)]
		end := a.PeriodEnd
		if end.Before(a.PeriodStart) {
			end = a.PeriodStart
		}
		dq := a.DataQuality
		if dq == 0 {
			dq = 3
		}
		attrs, _ := json.Marshal(map[string]any{"line": l.Line, "region": a.Region, "uncertainty_pct": a.UncertaintyPct, "correction": a.Correction})
		acts[i] = store.ActivityRecord{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, SourceID: src, ActivityType: a.Type,
			Quantity: a.Quantity.Value, Unit: a.Quantity.Unit.Symbol, PeriodStart: a.PeriodStart, PeriodEnd: end,
			DataQuality: dq, Origin: "file", OriginRef: a.ID, Attributes: attrs}
		others := map[string]decimal.Decimal{}
		for g, kg := range r.KgByGas {
			if g != "CO2" && g != "CH4" && g != "N2O" {
				others[g] = kg
			}
		}
		otherJSON, _ := json.Marshal(others)
		lineage, _ := json.Marshal(map[string]any{"explanation": r.Explanation, "selection": l.Selection, "input_hash": rep.InputHash})
		e := store.CalculatedEmission{RunID: run.ID, ActivityID: acts[i].ID, ActivityPeriodStart: a.PeriodStart, SourceID: src,
			Scope: r.Scope, Method: r.Explanation.Method, GWPSet: r.Explanation.GWPSet,
			CO2Kg: r.KgByGas["CO2"], CH4Kg: r.KgByGas["CH4"], N2OKg: r.KgByGas["N2O"], OtherGases: otherJSON,
			CO2eKg: r.CO2eKg, BiogenicCO2Kg: r.BiogenicCO2Kg, UncertaintyPct: decimal.NewNullDecimal(r.UncertaintyPct),
			DataQuality: decimal.NewNullDecimal(r.DataQuality), PeriodStart: a.PeriodStart, PeriodEnd: end, Lineage: lineage}
		if r.Category != 0 {
			e.Category = &r.Category
		}
		if r.Scope == 2 {
			e.Scope2Basis = "location"
		}
		ems[i] = e
	}
	res, err := st.ActivityRecords().BulkInsert(ctx, org, acts)
	if err != nil {
		return out, err
	}
	out.Activities = res.Inserted
	res, err = st.CalculatedEmissions().BulkInsert(ctx, org, ems)
	if err != nil {
		return out, err
	}
	out.Emissions = res.Inserted
	return out, nil
}
