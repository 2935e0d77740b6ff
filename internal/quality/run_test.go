package quality_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/quality"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
)

// supplierSuite exercises every kind on supply_chain.suppliers, whose
// rows the test controls completely.
const supplierSuite = `suite: supplier-test
dataset: supply_chain.suppliers
expectations:
  - kind: not_null
    column: risk_score
  - kind: unique
    columns: [name, country]
    severity: warn
  - kind: between
    column: risk_score
    min: 0
    max: 50
  - kind: in_set
    column: country
    values: [DE, FR]
  - kind: regex
    column: tax_id
    pattern: '^T[0-9]+$'
  - kind: row_count
    min: 1
    max: 3
  - kind: freshness
    column: created_at
    max_age: 1h
  - kind: referential
    name: named_after_a_site
    column: name
    ref_table: core.sites
    ref_column: name
  - kind: custom_sql
    name: naics_given
    sql: |
      SELECT id, name FROM supply_chain.suppliers
      WHERE org_id = $1 AND naics = '' -- a comment at the end
    columns: [id, name]
    kpi: accuracy
  - kind: drift
    metric: row_count
    max_change: 0.5
    severity: warn
  - kind: drift
    metric: mean
    column: risk_score
    max_change: 10
`

func ndec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Every expectation kind on both engines: counts, observed values,
// samples, KPIs, the stored run and its trend, drift against the previous
// run, and another organization's rows never counted.
func TestRunAllKinds(t *testing.T) {
	processortest.Engines(t, "quality_kinds", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		st := open(t)
		a, b := drivertest.NewOrg(t, st).ID, drivertest.NewOrg(t, st).ID
		sup := func(org uuid.UUID, name, country, tax, naics string, risk decimal.NullDecimal) *store.Supplier {
			s := &store.Supplier{Name: name, Country: country, TaxID: tax, NAICS: naics, RiskScore: risk, Active: true}
			mustDo(t, st.Suppliers().Create(ctx, org, s))
			return s
		}
		sup(a, "Acme", "DE", "T1", "331110", ndec("10"))
		sup(a, "Acme", "DE", "T2", "", decimal.NullDecimal{})
		beta := sup(a, "Beta", "de", "T3", "331110", ndec("75"))
		gamma := sup(a, "Gamma", "FR", "X9", "331110", ndec("30"))
		// Organization B: rows that would fail every expectation if counted.
		for range 3 {
			sup(b, "Acme", "XX", "bad", "", ndec("99"))
		}
		mustDo(t, st.Sites().Create(ctx, a, &store.Site{Name: "Acme", Active: true}))
		mustDo(t, st.Sites().Create(ctx, b, &store.Site{Name: "Beta", Active: true}))

		s, err := quality.Parse("supplier.yaml", []byte(supplierSuite))
		mustDo(t, err)
		now := time.Now()
		res, err := quality.Run(ctx, st, a, s, now)
		mustDo(t, err)

		type want struct {
			passed  bool
			failing int64
			obs     map[string]any
		}
		wants := []want{
			{false, 1, map[string]any{"rows": 4.0, "nulls": 1.0}},
			{false, 2, map[string]any{"rows": 4.0, "duplicate_rows": 2.0, "duplicate_keys": 1.0}},
			{false, 1, map[string]any{"rows": 3.0, "min": "10", "max": "75", "not_numbers": 0.0}},
			{false, 1, map[string]any{"rows": 4.0, "unexpected_values": []any{"de"}}},
			{false, 1, map[string]any{"rows": 4.0}},
			{false, 0, map[string]any{"rows": 4.0}},
			{true, 0, map[string]any{"max_age": "1h0m0s"}},
			{false, 2, map[string]any{"rows": 4.0, "orphans": 2.0, "references": "core.sites.name"}},
			{false, 1, map[string]any{"failing_rows": 1.0}},
			{true, 0, map[string]any{"value": "4", "previous": nil}},
			{true, 0, map[string]any{"value": "38.33333333", "previous": nil, "rows": 3.0}},
		}
		if len(res.Results) != len(wants) {
			t.Fatalf("%d results", len(res.Results))
		}
		for i, w := range wants {
			r := res.Results[i]
			if r.Index != i+1 || r.Passed != w.passed || r.FailingCount != w.failing {
				t.Errorf("%d %s: passed %v failing %d, want %v %d (%s)", r.Index, r.Name, r.Passed, r.FailingCount, w.passed, w.failing, r.Message)
			}
			var obs map[string]any
			mustDo(t, json.Unmarshal(r.Observed, &obs))
			for k, v := range w.obs {
				if got, _ := json.Marshal(obs[k]); string(got) != mustJSON(v) {
					t.Errorf("%d %s: observed %s = %s, want %s", r.Index, r.Name, k, got, mustJSON(v))
				}
			}
		}
		// Samples: the failing rows with their id and the involved columns.
		samples := func(i int) []map[string]any {
			var out []map[string]any
			mustDo(t, json.Unmarshal(res.Results[i].Samples, &out))
			return out
		}
		if got := samples(2); len(got) != 1 || got[0]["id"] != beta.ID.String() || got[0]["risk_score"] != "75" {
			t.Errorf("between samples %v", got)
		}
		if got := samples(4); len(got) != 1 || got[0]["id"] != gamma.ID.String() || got[0]["tax_id"] != "X9" {
			t.Errorf("regex samples %v", got)
		}
		if got := samples(1); len(got) != 2 || got[0]["name"] != "Acme" || got[1]["country"] != "DE" {
			t.Errorf("unique samples %v", got)
		}
		if got := samples(7); len(got) != 2 || got[0]["name"] == "Acme" || got[1]["name"] == "Acme" {
			t.Errorf("referential samples %v (the site named Beta is another organization's)", got)
		}
		if got := samples(8); len(got) != 1 || got[0]["name"] != "Acme" || got[0]["id"] == nil {
			t.Errorf("custom samples %v", got)
		}
		if res.Results[0].Severity != "fail" || res.Results[1].Severity != "warn" || res.Results[1].Name != "unique(name,country)" {
			t.Errorf("result 2: %+v", res.Results[1])
		}

		if res.Passed || res.Failed != 7 || res.Warned != 1 || res.Rows != 4 || res.Expectations != 11 {
			t.Errorf("run passed %v failed %d warned %d rows %d", res.Passed, res.Failed, res.Warned, res.Rows)
		}
		kpis := map[string]decimal.NullDecimal{"completeness": res.KPIs.Completeness, "validity": res.KPIs.Validity,
			"uniqueness": res.KPIs.Uniqueness, "timeliness": res.KPIs.Timeliness, "consistency": res.KPIs.Consistency,
			"accuracy": res.KPIs.Accuracy}
		for k, v := range map[string]string{"completeness": "0.75", "validity": "0.727273", "uniqueness": "0.5",
			"timeliness": "1", "consistency": "0.5", "accuracy": "0.75"} {
			if !kpis[k].Valid || !kpis[k].Decimal.Equal(decimal.RequireFromString(v)) {
				t.Errorf("KPI %s = %v, want %s", k, kpis[k], v)
			}
		}
		err = res.Err()
		if err == nil || !strings.Contains(err.Error(), "7 expectation(s)") || !strings.Contains(err.Error(), "1 not_null(risk_score)") ||
			strings.Contains(err.Error(), "unique(") {
			t.Errorf("Err() = %v", err)
		}

		// Stored: the trend lists it, the run reads back equal.
		runs, err := st.QualityRuns(ctx, a, "supplier-test", 10)
		mustDo(t, err)
		if len(runs) != 1 || runs[0].ID != res.ID || runs[0].Passed || !runs[0].KPIs.Validity.Decimal.Equal(res.KPIs.Validity.Decimal) || runs[0].Results != nil {
			t.Fatalf("runs %+v", runs)
		}
		got, err := st.QualityRunGet(ctx, a, res.ID)
		mustDo(t, err)
		if canonical(t, got) != canonical(t, res.QualityRun) {
			t.Errorf("stored run differs:\n%s\n%s", canonical(t, got), canonical(t, res.QualityRun))
		}
		if runs, err := st.QualityRuns(ctx, b, "", 10); err != nil || len(runs) != 0 {
			t.Errorf("organization B sees runs %v %v", runs, err)
		}
		if _, err := st.QualityRunGet(ctx, b, res.ID); store.CodeOf(err) != store.CodeNotFound {
			t.Errorf("organization B reads A's run: %v", err)
		}

		// Drift against the previous run: 4 → 7 rows is +75%, the mean
		// 38.3 → 35.1 is within 1000%. Two hours later the data is stale.
		for range 3 {
			sup(a, "Delta", "FR", "T9", "1", ndec("30"))
		}
		res2, err := quality.Run(ctx, st, a, s, now.Add(2*time.Hour))
		mustDo(t, err)
		d := res2.Results[9]
		if d.Passed || !strings.Contains(string(d.Observed), `"previous":"4"`) || !strings.Contains(string(d.Observed), `"change":"0.75"`) {
			t.Errorf("row-count drift %v %s %s", d.Passed, d.Observed, d.Message)
		}
		if m := res2.Results[10]; !m.Passed || !strings.Contains(string(m.Observed), `"previous":"38.33333333"`) {
			t.Errorf("mean drift %v %s", m.Passed, m.Observed)
		}
		if f := res2.Results[6]; f.Passed || !strings.Contains(f.Message, "old, more than 1h0m0s") {
			t.Errorf("freshness two hours later: %v %s", f.Passed, f.Message)
		}
		if !res2.KPIs.Timeliness.Decimal.IsZero() || res2.Warned != 2 {
			t.Errorf("second run timeliness %v warned %d", res2.KPIs.Timeliness, res2.Warned)
		}
		runs, err = st.QualityRuns(ctx, a, "supplier-test", 10)
		mustDo(t, err)
		if len(runs) != 2 || runs[0].ID != res2.ID || runs[1].ID != res.ID {
			t.Errorf("trend order %v", runs)
		}
	})
}

// canonical is v's JSON with every object's keys sorted and no spaces
// (PostgreSQL's jsonb keeps neither the order nor the spacing).
func canonical(t *testing.T, v any) string {
	var x any
	mustDo(t, json.Unmarshal([]byte(mustJSON(v)), &x))
	return mustJSON(x)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// A suite that cannot run is an error naming the file, the line and what
// is wrong; nothing is stored.
func TestRunErrors(t *testing.T) {
	processortest.Engines(t, "quality_errors", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		st := open(t)
		org := drivertest.NewOrg(t, st).ID
		cases := []struct{ in, want string }{
			{"suite: x\ndataset: supply_chain.suppliers\nexpectations:\n  - kind: not_null\n    column: nmae\n",
				`quality: suite x: s.yaml:4: expectation 1 (not_null): dataset supply_chain.suppliers has no column "nmae"`},
			{"suite: x\ndataset: supply_chain.nothing\nexpectations:\n  - kind: row_count\n    min: 1\n",
				`s.yaml: dataset supply_chain.nothing does not exist`},
			{"suite: x\ndataset: csrd.esrs_standards\nexpectations:\n  - kind: row_count\n    min: 1\n",
				`s.yaml: dataset csrd.esrs_standards has no org_id column`},
			{"suite: x\ndataset: supply_chain.suppliers\nexpectations:\n  - kind: referential\n    column: name\n    ref_table: core.nothing\n",
				`s.yaml:4: expectation 1 (referential): referenced table core.nothing does not exist`},
			{"suite: x\ndataset: supply_chain.suppliers\nexpectations:\n  - kind: referential\n    column: name\n    ref_table: core.sites\n    ref_column: nmae\n",
				`s.yaml:4: expectation 1 (referential): referenced table core.sites has no column "nmae"`},
			{"suite: x\ndataset: supply_chain.suppliers\nexpectations:\n  - kind: row_count\n    min: 1\n  - kind: custom_sql\n    sql: SELECT nope FROM supply_chain.suppliers WHERE org_id = $1\n",
				`s.yaml:6: expectation 2 (custom_sql): `},
		}
		for _, c := range cases {
			s, err := quality.Parse("s.yaml", []byte(c.in))
			mustDo(t, err)
			_, err = quality.Run(ctx, st, org, s, time.Now())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("run:\n%s\nerror %v\nwant %q", c.in, err, c.want)
			}
		}
		// A suite built in Go is held to the parser's rules.
		s := quality.Suite{Name: "x", Dataset: "supply_chain.suppliers", Source: "go",
			Expectations: []quality.Expectation{{Kind: quality.NotNull, Name: "n", Severity: quality.Fail, Columns: []string{`name" IS NULL OR 1=1 --`}}}}
		if _, err := quality.Run(ctx, st, org, s, time.Now()); err == nil || !strings.Contains(err.Error(), "is not a valid column name") {
			t.Errorf("unsafe column: %v", err)
		}
		if runs, err := st.QualityRuns(ctx, org, "", 0); err != nil || len(runs) != 0 {
			t.Errorf("failed runs stored: %v %v", runs, err)
		}
	})
}

// The shipped suites run on both engines' schemas (every column they name
// exists) and pass on good data.
func TestBuiltinSuitesRun(t *testing.T) {
	processortest.Engines(t, "quality_builtin", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		st := open(t)
		org := drivertest.NewOrg(t, st).ID
		now := time.Now().UTC()
		site := &store.Site{Name: "Plant", Country: "DE", Active: true}
		mustDo(t, st.Sites().Create(ctx, org, site))
		src := &store.EmissionSource{SiteID: &site.ID, Name: "Boiler", Scope: 1, Active: true}
		mustDo(t, st.EmissionSources().Create(ctx, org, src))
		day := now.Truncate(24 * time.Hour).Add(-24 * time.Hour)
		act := &store.ActivityRecord{SourceID: src.ID, SiteID: &site.ID, ActivityType: "natural_gas", Quantity: decimal.RequireFromString("1200.5"),
			Unit: "m3", PeriodStart: day, PeriodEnd: day.Add(24 * time.Hour), DataQuality: 2, Origin: "manual"}
		mustDo(t, st.ActivityRecords().Create(ctx, org, act))
		run := &store.CalculationRun{Status: "succeeded", EngineVersion: "test", GWPSet: "AR6", StartedAt: now, RecordsIn: 1, RecordsOut: 1}
		mustDo(t, st.CalculationRuns().Create(ctx, org, run))
		mustDo(t, st.CalculatedEmissions().Create(ctx, org, &store.CalculatedEmission{RunID: run.ID, ActivityID: act.ID, ActivityPeriodStart: day,
			SourceID: src.ID, SiteID: &site.ID, Scope: 1, Method: "stationary_combustion", GWPSet: "AR6", CO2eKg: decimal.RequireFromString("2250.1"),
			UncertaintyPct: ndec("5"), PeriodStart: day, PeriodEnd: day.Add(24 * time.Hour)}))
		mustDo(t, st.Suppliers().Create(ctx, org, &store.Supplier{Name: "Acme Steel", Country: "DE", DUNS: "123456789", RiskScore: ndec("20"), Active: true}))
		dev := &store.Device{SiteID: &site.ID, DeviceType: "energy_meter", Serial: "EM-1", Status: "active"}
		mustDo(t, st.Devices().Create(ctx, org, dev))
		_, err := st.SensorReadingsInsert(ctx, org, drivertest.Readings(dev.ID, now.Add(-10*time.Minute).Truncate(time.Second), 5))
		mustDo(t, err)

		suites, err := quality.Builtin()
		mustDo(t, err)
		for _, s := range suites {
			res, err := quality.Run(ctx, st, org, s, now)
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
				continue
			}
			for _, r := range res.Results {
				if !r.Passed {
					t.Errorf("%s: %d %s failed: %s %s", s.Name, r.Index, r.Name, r.Message, r.Observed)
				}
			}
			if !res.Passed || res.Rows == 0 || !res.KPIs.Completeness.Valid {
				t.Errorf("%s: passed %v rows %d completeness %v", s.Name, res.Passed, res.Rows, res.KPIs.Completeness)
			}
		}
	})
}
