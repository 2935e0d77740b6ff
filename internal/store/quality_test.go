package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/drivertest"
)

// Data-quality runs on both engines: stored with their results and KPIs,
// counted from the results, listed latest first per suite, audited, kept
// to their organization, and refused when malformed.
func TestQualityRuns(t *testing.T) {
	processortest.Engines(t, "qualityruns", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		st := open(t)
		a, b := drivertest.NewOrg(t, st).ID, drivertest.NewOrg(t, st).ID
		t0 := time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
		mk := func(suite string, at time.Time, failing bool) *store.QualityRun {
			return &store.QualityRun{Suite: suite, Dataset: "emissions.activity_records", StartedAt: at, EndedAt: at.Add(time.Second), Rows: 12,
				// Passed, Expectations, Failed and Warned are computed.
				Passed: true, Failed: 9,
				KPIs: store.QualityKPIs{Completeness: decimal.NewNullDecimal(decimal.RequireFromString("0.916667"))},
				Results: []store.QualityExpectationResult{
					{Index: 1, Name: "not_null(unit)", Kind: "not_null", Columns: store.StringList{"unit"}, Severity: store.QualityFail,
						Passed: !failing, FailingCount: 1, Observed: store.JSON(`{"rows":12,"nulls":1}`),
						Samples: store.JSON(`[{"id":"x","unit":null}]`), Message: "1 of 12 rows have no unit"},
					{Index: 2, Name: "row_count", Kind: "row_count", Severity: store.QualityWarn, Passed: false, Observed: store.JSON(`{"rows":12}`)},
				}}
		}
		r1 := mk("activity-records", t0, true)
		if err := st.QualityRunSave(ctx, a, r1); err != nil {
			t.Fatal(err)
		}
		if r1.ID == uuid.Nil || r1.Passed || r1.Failed != 1 || r1.Warned != 1 || r1.Expectations != 2 || r1.OrgID != a {
			t.Errorf("counted %+v", r1)
		}
		r2 := mk("activity-records", t0.Add(time.Hour), false)
		r3 := mk("suppliers", t0.Add(2*time.Hour), false)
		for _, r := range []*store.QualityRun{r2, r3} {
			if err := st.QualityRunSave(ctx, a, r); err != nil {
				t.Fatal(err)
			}
		}
		if !r2.Passed || r2.Failed != 0 || r2.Warned != 1 {
			t.Errorf("r2 counted %+v", r2)
		}

		runs, err := st.QualityRuns(ctx, a, "activity-records", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || runs[0].ID != r2.ID || runs[1].ID != r1.ID || runs[1].Passed || !runs[0].Passed {
			t.Fatalf("runs %+v", runs)
		}
		got := runs[1]
		if !got.StartedAt.Equal(t0.Truncate(time.Microsecond)) || got.StartedAt.Location() != time.UTC || got.Rows != 12 ||
			got.Failed != 1 || got.Warned != 1 || got.Expectations != 2 || got.Results != nil ||
			got.KPIs.Completeness.Decimal.String() != "0.916667" || got.KPIs.Validity.Valid || got.KPIs.Accuracy.Valid {
			t.Errorf("listed %+v", got)
		}
		if all, err := st.QualityRuns(ctx, a, "", 0); err != nil || len(all) != 3 || all[0].ID != r3.ID {
			t.Errorf("all suites: %v %v", all, err)
		}
		if one, err := st.QualityRuns(ctx, a, "", 1); err != nil || len(one) != 1 {
			t.Errorf("limit 1: %v %v", one, err)
		}

		full, err := st.QualityRunGet(ctx, a, r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Results) != 2 {
			t.Fatalf("results %+v", full.Results)
		}
		e := full.Results[0]
		if e.Index != 1 || e.Name != "not_null(unit)" || e.Kind != "not_null" || strings.Join(e.Columns, ",") != "unit" || e.Severity != "fail" ||
			e.Passed || e.FailingCount != 1 || e.Message != "1 of 12 rows have no unit" ||
			!strings.Contains(string(e.Samples), `"unit"`) || !strings.Contains(string(e.Observed), `"nulls"`) {
			t.Errorf("result 1 %+v (observed %s samples %s)", e, e.Observed, e.Samples)
		}
		if r := full.Results[1]; r.Columns == nil || len(r.Columns) != 0 || strings.TrimSpace(string(r.Samples)) != "[]" {
			t.Errorf("result 2 columns %#v samples %s", r.Columns, r.Samples)
		}

		// Audited, as a summary.
		entries, err := st.AuditEntries(ctx, a, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range entries {
			if en.EntityType == "quality_run" {
				n++
				if strings.Contains(en.NewValues, "samples") {
					t.Errorf("audit entry holds the samples: %s", en.NewValues)
				}
			}
		}
		if n != 3 {
			t.Errorf("%d quality_run audit entries, want 3", n)
		}

		// Another organization sees nothing.
		if runs, err := st.QualityRuns(ctx, b, "", 0); err != nil || len(runs) != 0 {
			t.Errorf("org B lists %v %v", runs, err)
		}
		if _, err := st.QualityRunGet(ctx, b, r1.ID); store.CodeOf(err) != store.CodeNotFound {
			t.Errorf("org B reads A's run: %v", err)
		}

		// Malformed runs are refused before anything is written.
		bad := []func(r *store.QualityRun){
			func(r *store.QualityRun) { r.Suite = "" },
			func(r *store.QualityRun) { r.Dataset = "" },
			func(r *store.QualityRun) { r.EndedAt = r.StartedAt.Add(-time.Second) },
			func(r *store.QualityRun) { r.Results[0].Severity = "error" },
			func(r *store.QualityRun) { r.Results[0].Kind = "exotic" },
			func(r *store.QualityRun) { r.Results[1].Index = 5 },
			func(r *store.QualityRun) { r.Results[0].Samples = store.JSON(`{"not":"a list"}`) },
			func(r *store.QualityRun) { r.Results[0].Observed = store.JSON(`{`) },
			func(r *store.QualityRun) { r.Results[0].FailingCount = -1 },
			func(r *store.QualityRun) { r.KPIs.Validity = decimal.NewNullDecimal(decimal.RequireFromString("1.5")) },
		}
		for i, f := range bad {
			r := mk("bad", t0, false)
			f(r)
			if err := st.QualityRunSave(ctx, a, r); store.CodeOf(err) != store.CodeInvalidArgument {
				t.Errorf("case %d: %v, want invalid argument", i, err)
			}
		}
		if err := st.QualityRunSave(ctx, uuid.New(), mk("x", t0, false)); err == nil {
			t.Error("a run of an organization that does not exist was stored")
		}
		if runs, err := st.QualityRuns(ctx, a, "bad", 0); err != nil || len(runs) != 0 {
			t.Errorf("refused runs stored: %v %v", runs, err)
		}

		// PostgreSQL: both tables are under forced row-level security.
		if st.Driver() == "postgres" {
			err := st.Engine().SystemTx(ctx, driver.TxOptions{ReadOnly: true}, func(q driver.Querier) error {
				for _, table := range []string{"quality.suite_runs", "quality.expectation_results"} {
					var forced bool
					if err := q.QueryRow(ctx, `SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = $1::regclass`, table).Scan(&forced); err != nil {
						return err
					}
					if !forced {
						t.Errorf("%s: row-level security not forced", table)
					}
				}
				// Outside a tenant the application role sees no run.
				var n int64
				if err := q.QueryRow(ctx, `SELECT count(*) FROM quality.suite_runs`).Scan(&n); err != nil {
					return err
				}
				if n != 0 {
					t.Errorf("%d runs visible outside a tenant", n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
