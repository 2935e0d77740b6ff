package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
)

// rollupGrace is how long after an hour ends its readings are final for
// the roll-up (the same grace serve's hourly roll-up keeps).
const rollupGrace = 5 * time.Minute

// emissions is the seed's Emissions Data Pipeline: extract (ERP syncs and
// the IoT roll-up) → validate (quality gate) → calculate → aggregate by
// scope → load the day's totals → update KPIs.
func emissions(d Deps) pipeline.Pipeline {
	return pipeline.Pipeline{
		Name:        Emissions,
		Description: "Daily: sync every active ERP connection and roll up IoT meter readings, gate the activity data on its quality suite, recalculate the day with the current factors, aggregate by scope and store the day's totals as KPIs.",
		Schedule:    "@daily",
		Tasks: []pipeline.Task{
			{ID: "extract_erp", Group: "extract", Retries: 2, RetryDelay: 30 * time.Second, Timeout: 2 * time.Hour, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return syncERP(ctx, d, tc, nil)
			}},
			{ID: "extract_iot", Group: "extract", Retries: 2, Timeout: time.Hour, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return rollUp(ctx, d, tc, tc.LogicalDate, tc.IntervalEnd)
			}},
			{ID: "validate", Group: "validate", Deps: []string{"extract_erp", "extract_iot"}, Run: gate(d, "emissions.activity_records")},
			{ID: "calculate", Group: "transform", Deps: []string{"validate"}, Retries: 1, Timeout: time.Hour, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				rc, err := d.Calc.Recalculate(ctx, d.Store, tc.OrgID, calculation.RecalcOptions{
					Filter: store.ResultFilter{From: tc.LogicalDate, To: tc.IntervalEnd},
					Reason: fmt.Sprintf("%s for %s: current factors", Emissions, tc.LogicalDate.Format(time.DateOnly)),
				}, d.Now())
				if err != nil {
					return nil, err
				}
				for _, e := range rc.Errors {
					tc.Log.Warn("result not recalculated", "error", fmt.Sprint(e))
				}
				return map[string]any{"checked": rc.Checked, "changed": rc.Changed, "superseded": rc.Superseded, "errors": len(rc.Errors), "run_id": rc.RunID}, nil
			}},
			{ID: "aggregate", Group: "transform", Deps: []string{"calculate"}, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return scopeTotals(ctx, d, tc.OrgID, tc.LogicalDate, tc.IntervalEnd)
			}},
			{ID: "load", Group: "load", Deps: []string{"aggregate"}, Retries: 2, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				var t ScopeTotals
				if err := tc.Output("aggregate", &t); err != nil {
					return nil, err
				}
				return d.Store.UpsertKPIValues(ctx, tc.OrgID, t.kpis("daily", tc.LogicalDate, tc.IntervalEnd))
			}},
			{ID: "update_kpis", Group: "load", Deps: []string{"load"}, Retries: 2, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				// Month to date, through the end of this logical day.
				month := time.Date(tc.LogicalDate.Year(), tc.LogicalDate.Month(), 1, 0, 0, 0, 0, time.UTC)
				t, err := scopeTotals(ctx, d, tc.OrgID, month, tc.IntervalEnd)
				if err != nil {
					return nil, err
				}
				return d.Store.UpsertKPIValues(ctx, tc.OrgID, t.kpis("month_to_date", month, tc.IntervalEnd))
			}},
		},
	}
}

// syncERP syncs every active ERP connection of the run's organization
// incrementally (by each connection's watermarks, so a re-run reads only
// what changed).
func syncERP(ctx context.Context, d Deps, tc *pipeline.TaskContext, entities []string) (any, error) {
	if d.ERP == nil {
		return map[string]string{"skipped": "no ERP syncer in this process"}, nil
	}
	conns, err := d.Store.ERPConnections().List(ctx, tc.OrgID, store.ListOptions{Where: map[string]any{"active": true}, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var reports []erp.SyncReport
	var failed []string
	for _, c := range conns {
		rep, err := d.ERP.Sync(ctx, tc.OrgID, c.Name, erp.SyncOptions{Entities: entities})
		if err != nil {
			tc.Log.Error("sync failed", "connection", c.Name, "err", err)
			failed = append(failed, fmt.Sprintf("%s: %v", c.Name, err))
			continue
		}
		for _, j := range rep.Jobs {
			tc.Log.Info("synced", "connection", c.Name, "entity", j.Entity, "status", j.Status, "read", j.Read, "written", j.Written, "quarantined", j.Quarantined)
			if j.Status == "failed" {
				failed = append(failed, fmt.Sprintf("%s/%s: %s", c.Name, j.Entity, j.Error))
			}
		}
		reports = append(reports, rep)
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("ERP sync failed: %v", failed)
	}
	tc.Log.Info("ERP connections synced", "connections", len(conns))
	return map[string]any{"connections": len(conns), "reports": reports}, nil
}

// rollUp rolls the organization's meter readings of every hour of
// [from, to) that has ended (with its grace) into activity data. A device's
// hour is stored once, so a re-run stores nothing new.
func rollUp(ctx context.Context, d Deps, tc *pipeline.TaskContext, from, to time.Time) (any, error) {
	if d.Rollup == nil {
		return map[string]string{"skipped": "no IoT roll-up in this process"}, nil
	}
	now := d.Now()
	hours, stored, skipped := 0, 0, 0
	for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		if h.Add(time.Hour + rollupGrace).After(now) {
			skipped++
			continue
		}
		r, err := d.Rollup.Hour(ctx, tc.OrgID, h)
		if err != nil {
			return nil, fmt.Errorf("rolling up %s: %w", h.Format(time.RFC3339), err)
		}
		hours++
		stored += r.Activities
	}
	tc.Log.Info("IoT roll-up", "hours", hours, "activities_stored", stored, "hours_not_yet_complete", skipped)
	return map[string]int{"hours": hours, "activities_stored": stored, "hours_not_yet_complete": skipped}, nil
}

// ScopeTotals are an organization's current emissions over a period by
// scope, in kg CO2e.
type ScopeTotals struct {
	From          time.Time                  `json:"from"`
	To            time.Time                  `json:"to"`
	Scope1        decimal.Decimal            `json:"scope1_kg"`
	Scope2Loc     decimal.Decimal            `json:"scope2_location_kg"`
	Scope2Mkt     decimal.Decimal            `json:"scope2_market_kg"`
	Scope3        decimal.Decimal            `json:"scope3_kg"`
	Scope3ByCat   map[string]decimal.Decimal `json:"scope3_by_category_kg"`
	TotalLocation decimal.Decimal            `json:"total_location_kg"`
	TotalMarket   decimal.Decimal            `json:"total_market_kg"`
	Biogenic      decimal.Decimal            `json:"biogenic_co2_kg"`
	Results       int                        `json:"results"`
	DataQuality   decimal.Decimal            `json:"data_quality"`
}

func scopeTotals(ctx context.Context, d Deps, org uuid.UUID, from, to time.Time) (ScopeTotals, error) {
	t, err := calculation.EmissionTotals(ctx, d.Store, org, calculation.TotalsQuery{Filter: store.ResultFilter{From: from, To: to}, By: []string{calculation.ByCategory}})
	if err != nil {
		return ScopeTotals{}, err
	}
	out := ScopeTotals{From: from, To: to, Scope3ByCat: map[string]decimal.Decimal{},
		TotalLocation: t.LocationBased.CO2eKg, TotalMarket: t.MarketBased.CO2eKg, Biogenic: t.LocationBased.BiogenicCO2Kg,
		Results: t.LocationBased.Results, DataQuality: t.LocationBased.DataQuality}
	for _, r := range t.Rows {
		switch {
		case r.Scope == 1:
			out.Scope1 = out.Scope1.Add(r.CO2eKg)
		case r.Scope == 2 && r.Scope2Basis == "market":
			out.Scope2Mkt = out.Scope2Mkt.Add(r.CO2eKg)
		case r.Scope == 2:
			out.Scope2Loc = out.Scope2Loc.Add(r.CO2eKg)
		case r.Scope == 3:
			out.Scope3 = out.Scope3.Add(r.CO2eKg)
			k := fmt.Sprint(r.Category)
			out.Scope3ByCat[k] = out.Scope3ByCat[k].Add(r.CO2eKg)
		}
	}
	return out, nil
}

// kpis are the totals as KPI values named ghg.<figure>.<period>.
func (t ScopeTotals) kpis(period string, from, to time.Time) []store.KPIPoint {
	p := func(code, name string, v decimal.Decimal) store.KPIPoint {
		return store.KPIPoint{Code: "ghg." + code + "." + period, Name: name + " (" + period + ")", Unit: "kg CO2e", PeriodStart: from, PeriodEnd: to, Value: v,
			Description: "Computed by " + Emissions + " from the current calculated emissions."}
	}
	return []store.KPIPoint{
		p("scope1", "Gross scope 1 emissions", t.Scope1),
		p("scope2_location", "Gross scope 2 emissions, location-based", t.Scope2Loc),
		p("scope2_market", "Gross scope 2 emissions, market-based", t.Scope2Mkt),
		p("scope3", "Gross scope 3 emissions", t.Scope3),
		p("total_location", "Total emissions, location-based", t.TotalLocation),
		p("total_market", "Total emissions, market-based", t.TotalMarket),
	}
}
