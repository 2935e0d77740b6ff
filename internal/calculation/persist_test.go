package calculation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

func TestPersistRecalculateTotalsSQLite(t *testing.T) {
	persistRecalculateTotals(t, sqliteStore(t))
}

// sqliteStore opens a migrated SQLite store in a temporary directory,
// closed when the test ends.
func sqliteStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	u := url.URL{Scheme: "sqlite", Path: filepath.Join(t.TempDir(), "g.db")}
	st, err := reg.Open(ctx, u.String(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// The same on PostgreSQL as the application role, under row-level security.
func TestPersistRecalculateTotalsPostgres(t *testing.T) {
	st := pgtest.Open(t, pgtest.New(t, "greenlang_calc_test"), store.Options{})
	persistRecalculateTotals(t, st)
}

func persistRecalculateTotals(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := drivertest.NewOrg(t, st)
	rep := calculateExample(t, "AR6")
	now := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	got, err := Persist(ctx, st, org.ID, rep, now)
	if err != nil {
		t.Fatal(err)
	}
	// Six activities; seven results, because UK electricity has a market-based one too.
	if got.Activities != 6 || got.Emissions != 7 || got.Sources != 5 {
		t.Fatalf("stored %+v", got)
	}
	run, err := st.CalculationRuns().Get(ctx, org.ID, got.RunID)
	if err != nil || run.GWPSet != "AR6" || run.RecordsOut != 6 {
		t.Fatalf("run %+v %v", run, err)
	}
	checkExplanations(t, st, org.ID, rep)
	// Storing the same activities again would count them twice.
	if _, err := Persist(ctx, st, org.ID, rep, now); !errors.Is(err, ErrAlreadyStored) || !strings.Contains(err.Error(), got.RunID.String()) {
		t.Fatalf("second store of the same file: %v", err)
	}
	// Totals: the inventory on each basis, and the stored monthly report.
	tot, err := EmissionTotals(ctx, st, org.ID, TotalsQuery{By: []string{ByCategory, BySource, ByMonth}})
	if err != nil {
		t.Fatal(err)
	}
	market := rep.Total.CO2eKg.Sub(rep.ByScope["scope 2"].CO2eKg).Add(rep.Scope2Market.CO2eKg)
	if !tot.LocationBased.CO2eKg.Equal(rep.Total.CO2eKg) || !tot.MarketBased.CO2eKg.Equal(market) || tot.LocationBased.Results != 6 {
		t.Errorf("totals: location %s (want %s), market %s (want %s)", tot.LocationBased.CO2eKg, rep.Total.CO2eKg, tot.MarketBased.CO2eKg, market)
	}
	if !tot.LocationBased.UncertaintyPct.Equal(rep.Total.UncertaintyPct) || !tot.LocationBased.DataQuality.Equal(rep.Total.DataQuality) {
		t.Errorf("stored totals' uncertainty %s and quality %s differ from the report's %s and %s", tot.LocationBased.UncertaintyPct,
			tot.LocationBased.DataQuality, rep.Total.UncertaintyPct, rep.Total.DataQuality)
	}
	if len(tot.Rows) != 7 || tot.Rows[0].Month != "2021-06" || tot.Rows[0].Source != "naics:331110 (scope 3, category 1)" {
		t.Errorf("breakdown: %+v", tot.Rows)
	}
	if sum := storedTotal(t, st, org.ID); !sum.Equal(rep.Total.CO2eKg.Add(rep.Scope2Market.CO2eKg)) {
		t.Errorf("stored monthly total %s, want %s + %s", sum, rep.Total.CO2eKg, rep.Scope2Market.CO2eKg)
	}

	// Recalculating under AR5 supersedes every result (the GWP set of each changes).
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	ar5 := calculateExample(t, "AR5")
	dry, err := svc.Recalculate(ctx, st, org.ID, RecalcOptions{Options: Options{GWPSet: "AR5"}, Reason: "GWP set AR6 → AR5", DryRun: true}, now)
	if err != nil || dry.RunID != uuid.Nil || dry.Changed != 7 {
		t.Fatalf("dry run %+v %v", dry, err)
	}
	rc, err := svc.Recalculate(ctx, st, org.ID, RecalcOptions{Options: Options{GWPSet: "AR5"}, Reason: "GWP set AR6 → AR5"}, now)
	if err != nil {
		t.Fatal(err)
	}
	rs := rc.Restatement
	if rc.Checked != 7 || rc.Changed != 7 || rc.Superseded != 7 || len(rc.Errors) != 0 || rc.RunID == uuid.Nil {
		t.Fatalf("recalculation %+v", rc)
	}
	if !rs.OldTotalKg.Equal(rep.Total.CO2eKg) || !rs.NewTotalKg.Equal(ar5.Total.CO2eKg) || rs.Reason != "GWP set AR6 → AR5" || len(rs.BySource) != 5 {
		t.Errorf("restatement old %s (want %s) new %s (want %s), %d sources", rs.OldTotalKg, rep.Total.CO2eKg, rs.NewTotalKg, ar5.Total.CO2eKg, len(rs.BySource))
	}
	// AR5's lower CH4 and N2O GWPs move the total by far less than 5%.
	if rs.BaseYearRecalc || !rs.ThresholdPct.Equal(decimal.NewFromInt(5)) {
		t.Errorf("base-year flag %v at %s%%", rs.BaseYearRecalc, rs.ThresholdPct)
	}
	tot, err = EmissionTotals(ctx, st, org.ID, TotalsQuery{})
	if err != nil || !tot.LocationBased.CO2eKg.Equal(ar5.Total.CO2eKg) || tot.LocationBased.Results != 6 {
		t.Errorf("totals after recalculation: %s (want %s) %v", tot.LocationBased.CO2eKg, ar5.Total.CO2eKg, err)
	}
	if sum := storedTotal(t, st, org.ID); !sum.Equal(ar5.Total.CO2eKg.Add(ar5.Scope2Market.CO2eKg)) {
		t.Errorf("monthly report after recalculation: %s", sum)
	}
	// Superseded results are kept, marked with the run that replaced them.
	var superseded int
	for after := uuid.Nil; ; {
		page, err := st.CalculatedEmissions().List(ctx, org.ID, store.ListOptions{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.SupersededBy != nil && *e.SupersededBy == rc.RunID {
				superseded++
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	if superseded != 7 {
		t.Errorf("%d results marked superseded, want 7", superseded)
	}
	checkExplanations(t, st, org.ID, ar5)
	// Nothing changes a second time: no new run.
	again, err := svc.Recalculate(ctx, st, org.ID, RecalcOptions{Options: Options{GWPSet: "AR5"}, Reason: "again"}, now)
	if err != nil || again.RunID != uuid.Nil || again.Changed != 0 || again.Checked != 7 {
		t.Errorf("second recalculation %+v %v", again, err)
	}
	if _, err := svc.Recalculate(ctx, st, org.ID, RecalcOptions{}, now); err == nil {
		t.Error("a recalculation without a reason was accepted")
	}
	rv, err := st.VerifyAudit(ctx, org.ID)
	if err != nil || !rv.OK() {
		t.Errorf("audit after persisting: %+v %v", rv, err)
	}
}

// checkExplanations asserts that org's current results explain themselves
// exactly as the report's lines do: each result's lineage and its run's
// explanation templates give back the explanation and the selection trail.
func checkExplanations(t *testing.T, st *store.Store, org uuid.UUID, rep Report) {
	t.Helper()
	ctx := context.Background()
	show := func(e ghg.Explanation, sel []string) string {
		b, err := json.Marshal(map[string]any{"e": e, "s": sel})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var want, got []string
	for _, l := range rep.Lines {
		want = append(want, show(l.Result.Explanation, l.Selection))
		if l.Market != nil {
			want = append(want, show(l.Market.Explanation, l.MarketSelection))
		}
	}
	runs := map[uuid.UUID]*store.CalculationRun{}
	templates := 0
	var current []store.CalculatedEmission
	if err := st.CurrentResults(ctx, org, store.ResultFilter{}, func(r store.CurrentResult) error {
		current = append(current, r.Emission)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range current {
		run := runs[e.RunID]
		if run == nil {
			var err error
			if run, err = st.CalculationRuns().Get(ctx, org, e.RunID); err != nil {
				t.Fatal(err)
			}
			runs[e.RunID] = run
			var p runParams
			if err := json.Unmarshal(run.Parameters, &p); err != nil {
				t.Fatal(err)
			}
			templates += len(p.Explanations)
		}
		x, sel, err := StoredExplanation(run, e)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, show(x, sel))
		if _, _, err := StoredExplanation(nil, e); err == nil {
			t.Error("an explanation without its run was put together")
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("stored explanations differ from the calculated ones:\n got %q\nwant %q", got, want)
	}
	if templates == 0 || templates > len(want) {
		t.Errorf("%d explanation templates for %d results", templates, len(want))
	}
}

// calculateExample calculates the documented example file.
func calculateExample(t *testing.T, gwp string) Report {
	t.Helper()
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("../../docs/examples/activities.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := svc.CalculateFile(f, Options{GWPSet: gwp})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// storedTotal refreshes the reporting aggregates and sums org's monthly emissions.
func storedTotal(t *testing.T, st *store.Store, org uuid.UUID) decimal.Decimal {
	t.Helper()
	ctx := context.Background()
	if err := st.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	months, err := st.MonthlyEmissions(ctx, org, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, m := range months {
		sum = sum.Add(m.CO2eKg)
	}
	return sum
}

// The calorific basis a row states is stored with its activity, so the
// activity recalculates with the same factor, and it is part of the input
// hash (the same kWh on the other basis is another calculation).
func TestRecalculateKeepsTheHeatBasis(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	org := drivertest.NewOrg(t, st)
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	file := func(basis string) string {
		return "id,activity_type,quantity,unit,period_start,region,scope,method,heat_basis\n" +
			"boiler-uk,desnz:fuels/gaseous_fuels/natural_gas,100000,kWh,2024-06-01,UK,1,stationary_combustion," + basis + "\n"
	}
	gross, err := svc.CalculateFile(strings.NewReader(file("gross")), Options{GWPSet: "AR6"})
	if err != nil || len(gross.Lines) != 1 {
		t.Fatalf("%v %v", gross.Errors, err)
	}
	net, err := svc.CalculateFile(strings.NewReader(file("net")), Options{GWPSet: "AR6"})
	if err != nil || len(net.Lines) != 1 || net.InputHash == gross.InputHash {
		t.Fatalf("net: %v %v, hash %s (gross %s)", net.Errors, err, net.InputHash, gross.InputHash)
	}
	if _, err := Persist(ctx, st, org.ID, gross, time.Now()); err != nil {
		t.Fatal(err)
	}
	rc, err := svc.Recalculate(ctx, st, org.ID, RecalcOptions{Options: Options{GWPSet: "AR5"}, Reason: "AR5"}, time.Now())
	if err != nil || len(rc.Errors) != 0 || rc.Changed != 1 || !rc.Restatement.NewTotalKg.Equal(gross.Total.CO2eKg) {
		t.Fatalf("recalculation %+v %v", rc, err)
	}
}

// Results share an explanation template exactly when everything but their
// quantity and amount is equal: a change to any other part of an
// explanation makes another template.
func TestExplanationTemplatesShareOnlyEqualParts(t *testing.T) {
	d := decimal.RequireFromString
	base := func() ghg.Explanation {
		return ghg.Explanation{ActivityType: "natural_gas", Quantity: d("50000"), Unit: "scf", Note: "n",
			Conversions: []ghg.Step{{From: "scf", To: "mmBtu", Factor: d("0.001026"), Note: "HHV"}}, Amount: d("51.3"),
			Factor:   ghg.FactorRef{Set: "EPA", Version: "2025", SourceTable: "Table 1", SourceRow: "row 38", Edition: 2025},
			FactorID: "f1", FactorValues: map[string]decimal.Decimal{"CO2": d("53.06")}, GWPSet: "AR6",
			GWPs: map[string]decimal.Decimal{"CO2": d("1")}, Method: "stationary_combustion", EngineVersion: "ghg/0.1.0"}
	}
	changes := map[string]func(*ghg.Explanation){
		"ActivityType": func(e *ghg.Explanation) { e.ActivityType = "diesel" },
		"Unit":         func(e *ghg.Explanation) { e.Unit = "ccf" },
		"Note":         func(e *ghg.Explanation) { e.Note = "m" },
		"Conversions":  func(e *ghg.Explanation) { e.Conversions[0].Factor = d("0.00103") },
		"Factor":       func(e *ghg.Explanation) { e.Factor.SourceRow = "row 39" },
		"FactorID":     func(e *ghg.Explanation) { e.FactorID = "f2" },
		"FactorValues": func(e *ghg.Explanation) { e.FactorValues["CH4"] = d("0.001") },
		"GWPSet":       func(e *ghg.Explanation) { e.GWPSet = "AR5" },
		"GWPs":         func(e *ghg.Explanation) { e.GWPs["CO2"] = d("1.0001") },
		"Method":       func(e *ghg.Explanation) { e.Method = "mobile_combustion" },
		"EngineVersion": func(e *ghg.Explanation) {
			e.EngineVersion = "ghg/0.2.0"
		},
	}
	// Every field but the two a result keeps itself must be in the key.
	if n := reflect.TypeFor[ghg.Explanation]().NumField() - 2; len(changes) != n {
		t.Fatalf("the test changes %d parts of an explanation, which has %d besides quantity and amount: cover the new one in templates.keyOf", len(changes), n)
	}
	tpl := newTemplates()
	first := tpl.lineage(base(), []string{"US: f1"})
	other := base()
	other.Quantity, other.Amount = d("7"), d("0.00718")
	if l := tpl.lineage(other, []string{"US: f1"}); l.Ref != first.Ref || !l.Amount.Equal(d("0.00718")) {
		t.Errorf("a result differing only in quantity and amount got template %s, not %s", l.Ref, first.Ref)
	}
	if l := tpl.lineage(base(), []string{"US: f1", "global"}); l.Ref == first.Ref {
		t.Error("a result with another selection trail shares a template")
	}
	for name, change := range changes {
		e := base()
		change(&e)
		if l := tpl.lineage(e, []string{"US: f1"}); l.Ref == first.Ref {
			t.Errorf("a result with another %s shares a template", name)
		}
	}
	if len(tpl.byRef) != 2+len(changes) {
		t.Errorf("%d templates, want %d", len(tpl.byRef), 2+len(changes))
	}
}

// TestLineageJSONMatchesEncodingJSON: the lineage a result stores is the
// bytes encoding/json writes for it, whatever its factor id holds.
func TestLineageJSONMatchesEncodingJSON(t *testing.T) {
	tpl := newTemplates()
	for i, c := range []struct{ factor, q, a string }{
		{"epa-hub-2025/table-1/natural_gas", "50000.123", "2.7"},
		{`odd "factor" <&> \ naïve ` + "\u2028", "-0.0001", "0"},
		{"", "1E+3", "123456789012345678901234567890.000001"},
		{"f1", "50000.123", "999"}, // the first template again
	} {
		e := ghg.Explanation{FactorID: c.factor, Quantity: decimal.RequireFromString(c.q), Amount: decimal.RequireFromString(c.a)}
		got := tpl.lineageJSON(e, nil)
		want, err := json.Marshal(tpl.lineage(e, nil))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("case %d: got %s want %s (%v)", i, got, want, err)
		}
	}
}
