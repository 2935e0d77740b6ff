package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// TestActivityRecordsAndRecalculation creates activity records over JSON
// (refused ones named by index and field, nothing stored twice) and
// recalculates them with another GWP set through POST
// /api/v1/calculation-runs.
func TestActivityRecordsAndRecalculation(t *testing.T) {
	processortest.Engines(t, "httpapirecords", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		tok := e.token(e.orgA, store.ScopeInventoryRead, store.ScopeInventoryWrite)
		reader := e.token(e.orgA, store.ScopeInventoryRead)

		batch := map[string]any{"records": []map[string]any{
			{"activity_type": "natural_gas", "quantity": 10, "unit": "mmBtu", "period_start": "2025-01-01", "region": "US", "scope": 1},
			{"activity_type": "natural_gas", "quantity": "10", "unit": "ton", "period_start": "2025-01-01", "region": "US", "scope": 1},
			{"activity_type": "natural_gas", "quantity": "20.125", "unit": "mmBtu", "period_start": "2025-02-01", "region": "US", "scope": 1, "site": nil},
		}}
		var out struct {
			RunID      *uuid.UUID `json:"run_id"`
			Rows       int        `json:"rows"`
			Calculated int        `json:"calculated"`
			Activities int64      `json:"activities"`
			Errors     []struct {
				Line   int    `json:"line"`
				Index  *int   `json:"index"`
				Field  string `json:"field"`
				Reason string `json:"reason"`
			} `json:"errors"`
		}
		e.do("POST", "/api/v1/activity-records", reader, batch).wantProblem(t, 403, httpapi.ProblemForbidden, "")
		e.do("POST", "/api/v1/activity-records", tok, batch).must(t, 201, &out)
		if out.RunID == nil || out.Rows != 3 || out.Calculated != 2 || out.Activities != 2 || len(out.Errors) != 1 ||
			out.Errors[0].Index == nil || *out.Errors[0].Index != 1 || out.Errors[0].Line != 0 || out.Errors[0].Reason == "" {
			t.Fatalf("batch answer %+v", out)
		}
		var acts list[store.ActivityRecord]
		e.do("GET", "/api/v1/activity-records?sort=period_start&order=desc", tok, nil).must(t, 200, &acts)
		if len(acts.Items) != 2 || acts.Items[0].Quantity.String() != "20.125" || acts.Items[1].Quantity.String() != "10" {
			t.Fatalf("stored records, newest period first: %+v", acts.Items)
		}
		// The same batch again is refused: nothing is stored twice.
		e.do("POST", "/api/v1/activity-records", tok, batch).wantProblem(t, 409, httpapi.ProblemConflict, "")

		// Bad input names the record and field; nothing is stored.
		one := func(rec map[string]any) map[string]any { return map[string]any{"records": []map[string]any{rec}} }
		good := func() map[string]any {
			return map[string]any{"activity_type": "diesel", "quantity": 5, "unit": "l", "period_start": "2025-03-01", "scope": 1}
		}
		withKey := func(k string, v any) map[string]any { r := good(); r[k] = v; return r }
		e.do("POST", "/api/v1/activity-records", tok, one(withKey("colour", "red"))).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "records[0].colour")
		e.do("POST", "/api/v1/activity-records", tok, one(withKey("quantity", true))).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "records[0].quantity")
		e.do("POST", "/api/v1/activity-records", tok, one(withKey("unit", "l\nx"))).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "records[0].unit")
		e.do("POST", "/api/v1/activity-records", tok, map[string]any{"records": []any{}}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "records")
		if r := e.do("POST", "/api/v1/activity-records", tok, one(withKey("Unit", "kg"))); r.status != 400 {
			t.Fatalf("a key given twice: %d %s", r.status, r.body)
		} else if p := r.problem(t); !strings.EqualFold(p.Field, "records[0].unit") || !strings.Contains(p.Detail, "given twice") {
			t.Fatalf("a key given twice: %+v", p)
		}
		e.do("POST", "/api/v1/activity-records", tok, map[string]any{"records": []any{good()}, "gwp": "AR9"}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "gwp")
		e.do("POST", "/api/v1/activity-records", tok, map[string]any{"rows": []any{good()}}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "rows")
		p := e.do("POST", "/api/v1/activity-records", tok, one(withKey("quantity", "ten"))).wantProblem(t, 422, httpapi.ProblemValidation, "")
		if errs, _ := p.Errors.([]any); len(errs) != 1 {
			t.Fatalf("a batch with no good record: errors %v", p.Errors)
		} else if m, _ := errs[0].(map[string]any); m["field"] != "records[0].quantity" || m["index"] != float64(0) {
			t.Fatalf("the refused record: %v", m)
		}
		e.do("GET", "/api/v1/activity-records", tok, nil).must(t, 200, &acts)
		if len(acts.Items) != 2 {
			t.Fatalf("after refused batches: %d records, want 2", len(acts.Items))
		}

		// Recalculation with AR5: natural gas's CH4 and N2O weigh differently,
		// so every result is superseded by the new run.
		var before calculation.Totals
		e.do("GET", "/api/v1/emissions/totals", tok, nil).must(t, 200, &before)
		e.do("POST", "/api/v1/calculation-runs", tok, map[string]any{"gwp": "AR5"}).wantProblem(t, 422, httpapi.ProblemValidation, "reason")
		e.do("POST", "/api/v1/calculation-runs", tok, map[string]any{"reason": "x", "gwp": "AR9"}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "gwp")
		e.do("POST", "/api/v1/calculation-runs", tok, map[string]any{"reason": "x", "from": "March"}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "from")
		e.do("POST", "/api/v1/calculation-runs", tok, map[string]any{"reason": "x", "threshold_pct": "-1"}).wantProblem(t, 422, httpapi.ProblemValidation, "threshold_pct")
		var dry calculation.Recalculation
		e.do("POST", "/api/v1/calculation-runs", tok, map[string]any{"reason": "what would AR5 do", "gwp": "AR5", "dry_run": true}).must(t, 200, &dry)
		if dry.RunID != uuid.Nil || dry.Checked != 2 || dry.Changed != 2 {
			t.Fatalf("dry run %+v", dry)
		}
		var rc calculation.Recalculation
		e.do("POST", "/api/v1/calculation-runs", tok, map[string]any{"reason": "restated with AR5", "gwp": "AR5", "from": "2025-01-01"}).must(t, 201, &rc)
		if rc.RunID == uuid.Nil || rc.Changed != 2 || rc.Superseded != 2 {
			t.Fatalf("recalculation %+v", rc)
		}
		var run store.CalculationRun
		e.do("GET", "/api/v1/calculation-runs/"+rc.RunID.String(), tok, nil).must(t, 200, &run)
		if run.GWPSet != "AR5" {
			t.Fatalf("the recalculation's run %+v", run)
		}
		var after calculation.Totals
		e.do("GET", "/api/v1/emissions/totals", tok, nil).must(t, 200, &after)
		if after.LocationBased.CO2eKg.Equal(before.LocationBased.CO2eKg) {
			t.Fatalf("totals unchanged by the AR5 recalculation: %s", after.LocationBased.CO2eKg)
		}
		var again calculation.Recalculation
		e.do("POST", "/api/v1/calculation-runs", tok, map[string]any{"reason": "again", "gwp": "AR5"}).must(t, 200, &again)
		if again.RunID != uuid.Nil || again.Changed != 0 {
			t.Fatalf("recalculating again with AR5 %+v", again)
		}
	})
}
