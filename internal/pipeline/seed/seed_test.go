package seed_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/backup"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/demo"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/spreadsheet"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/pipeline/seed"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// env is a store with the demo organization and the seed's pipelines as
// serve wires them (app.OpenPipelines: the real ERP syncer, IoT roll-up,
// calculation service, quality suites and backup), with workers running.
type env struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	e   *pipeline.Engine
	org uuid.UUID
	cfg config.Config
	// now is the end of the demo's year: its data covers the 12 months
	// before.
	now time.Time
}

func newEnv(t *testing.T, open processortest.StoreOpener) *env {
	t.Helper()
	ctx := context.Background()
	st := open(t)
	now := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	loaded, err := demo.Load(ctx, st, demo.Options{Password: "demo passphrase 12", Now: now, Hashing: password.Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{Flags: map[string]string{"data_dir": t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := app.OpenPipelines(ctx, cfg, st, nil, pipeline.Options{Poll: 20 * time.Millisecond, NoScheduler: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.Stop(sctx)
	})
	return &env{t: t, ctx: ctx, st: st, e: e, org: loaded.OrgID, cfg: cfg, now: now}
}

// run triggers pipeline for org at logical date at and waits for the run.
func (v *env) run(name string, org uuid.UUID, at time.Time) (store.PipelineRun, map[string]store.TaskInstance) {
	v.t.Helper()
	r, err := v.e.Trigger(v.ctx, name, org, at, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	return v.wait(r.ID)
}

func (v *env) wait(id uuid.UUID) (store.PipelineRun, map[string]store.TaskInstance) {
	v.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := v.st.PipelineRunByID(v.ctx, id)
		if err != nil {
			v.t.Fatal(err)
		}
		if r.State == store.RunSuccess || r.State == store.RunFailed {
			tis, err := v.st.PipelineTasks(v.ctx, id)
			if err != nil {
				v.t.Fatal(err)
			}
			out := map[string]store.TaskInstance{}
			for _, ti := range tis {
				if ti.State != store.TaskSuccess {
					full, _ := v.st.PipelineTask(v.ctx, id, ti.TaskID)
					ti.Log = full.Log
				}
				out[ti.TaskID] = ti
			}
			return r, out
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("run %s still %s", id, r.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustSucceed(t *testing.T, r store.PipelineRun, tis map[string]store.TaskInstance) {
	t.Helper()
	if r.State != store.RunSuccess {
		for id, ti := range tis {
			if ti.State != store.TaskSuccess {
				t.Errorf("task %s: %s: %s\n%s", id, ti.State, ti.Error, ti.Log)
			}
		}
		t.Fatalf("run %s of %s: %s", r.ID, r.Pipeline, r.State)
	}
}

func kpi(t *testing.T, st *store.Store, org uuid.UUID, code string) []store.KPIValue {
	t.Helper()
	vs, err := st.KPIHistory(context.Background(), org, code, 100)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestEmissionsPipeline runs emissions_data_pipeline for a month of demo
// data: the day's totals become KPIs equal to the inventory's totals, a
// re-run (cleared from the first task) changes and adds nothing, and bad
// activity data stops the run at the gate with an alert.
func TestEmissionsPipeline(t *testing.T) {
	processortest.Engines(t, "seedemis", func(t *testing.T, open processortest.StoreOpener) {
		v := newEnv(t, open)
		// The demo's monthly records start on the first of each month.
		day := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		want, err := calculation.EmissionTotals(v.ctx, v.st, v.org, calculation.TotalsQuery{Filter: store.ResultFilter{From: day, To: day.AddDate(0, 0, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		if !want.LocationBased.CO2eKg.IsPositive() {
			t.Fatalf("the demo has no emissions on %s", day)
		}
		r, tis := v.run(seed.Emissions, v.org, day)
		mustSucceed(t, r, tis)
		total := kpi(t, v.st, v.org, "ghg.total_location.daily")
		if len(total) != 1 || !total[0].Value.Equal(want.LocationBased.CO2eKg) || !total[0].PeriodStart.Equal(day) {
			t.Fatalf("daily total KPI %+v, want %s", total, want.LocationBased.CO2eKg)
		}
		mtd := kpi(t, v.st, v.org, "ghg.total_market.month_to_date")
		if len(mtd) != 1 || !mtd[0].Value.Equal(want.MarketBased.CO2eKg) {
			t.Fatalf("month to date %+v, want %s", mtd, want.MarketBased.CO2eKg)
		}
		var gate []seed.GateResult
		if err := json.Unmarshal(tis["validate"].Output, &gate); err != nil || len(gate) != 1 || !gate[0].Passed {
			t.Fatalf("gate output %s: %v", tis["validate"].Output, err)
		}

		// A re-run of the same date replaces, never doubles.
		if _, err := v.e.Clear(v.ctx, r.ID, "extract_erp", true); err != nil {
			t.Fatal(err)
		}
		r2, tis := v.wait(r.ID)
		mustSucceed(t, r2, tis)
		if again := kpi(t, v.st, v.org, "ghg.total_location.daily"); len(again) != 1 || !again[0].Value.Equal(total[0].Value) || again[0].ID != total[0].ID {
			t.Fatalf("after a re-run: %+v (before %+v)", again, total)
		}
		after, err := calculation.EmissionTotals(v.ctx, v.st, v.org, calculation.TotalsQuery{Filter: store.ResultFilter{From: day, To: day.AddDate(0, 0, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		if !after.LocationBased.CO2eKg.Equal(want.LocationBased.CO2eKg) || after.LocationBased.Results != want.LocationBased.Results {
			t.Fatalf("inventory after a re-run: %s (%d results), before %s (%d)", after.LocationBased.CO2eKg, after.LocationBased.Results, want.LocationBased.CO2eKg, want.LocationBased.Results)
		}

		// A negative quantity (as a broken import would write it) fails
		// the gate: nothing downstream runs, and an alert opens.
		srcs, err := v.st.EmissionSources().List(v.ctx, v.org, store.ListOptions{Limit: 1})
		if err != nil || len(srcs) == 0 {
			t.Fatal(srcs, err)
		}
		bad := &store.ActivityRecord{SourceID: srcs[0].ID, ActivityType: "diesel", Quantity: decimal.NewFromInt(-40), Unit: "L",
			PeriodStart: day.AddDate(0, 0, 1), PeriodEnd: day.AddDate(0, 0, 2), DataQuality: 3, Origin: "manual"}
		if err := v.st.ActivityRecords().Create(v.ctx, v.org, bad); err != nil {
			t.Fatal(err)
		}
		r3, tis := v.run(seed.Emissions, v.org, day.AddDate(0, 0, 1))
		if r3.State != store.RunFailed || tis["validate"].State != store.TaskFailed || tis["calculate"].State != store.TaskUpstreamFailed || tis["update_kpis"].State != store.TaskUpstreamFailed {
			t.Fatalf("bad data: run %s, tasks %+v", r3.State, tis)
		}
		if !strings.Contains(tis["validate"].Error, "quality gate on emissions.activity_records failed") || !strings.Contains(tis["validate"].Log, "between(quantity) (1 failing rows)") {
			t.Fatalf("gate error %q, log:\n%s", tis["validate"].Error, tis["validate"].Log)
		}
		alerts, err := v.st.AlertsList(v.ctx, v.org, store.AlertFilter{Status: store.AlertOpen})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range alerts {
			found = found || a.Kind == "data_quality" && a.Rule == "activity-records" && a.Severity == "warning"
		}
		if !found {
			t.Fatalf("no data-quality alert: %+v", alerts)
		}
	})
}

// TestSupplyChainPipeline syncs suppliers from two ERP exports that name
// the same companies differently, merges them by tax id, DUNS and
// normalized name, scores risk with the 0.4/0.3/0.3 weights and flags
// those above 70.
func TestSupplyChainPipeline(t *testing.T) {
	processortest.Engines(t, "seedsupply", func(t *testing.T, open processortest.StoreOpener) {
		v := newEnv(t, open)
		before, err := v.st.Suppliers().List(v.ctx, v.org, store.ListOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		files := []struct{ name, csv string }{
			{"sap", "Id,Name,LegalName,TaxID,DUNS,Country,NAICS,Blocked\n" +
				"S1,Nordic Cement AB,Nordic Cement Aktiebolag,SE556000111101,,SE,327310,false\n" +
				"S2,Kiel Logistik GmbH,,DE811111111,123456789,DE,484121,false\n" +
				"S3,Shadow Trading Ltd,,,,,,true\n"},
			{"oracle", "Id,Name,LegalName,TaxID,DUNS,Country,NAICS,Blocked\n" +
				"O-9,NORDIC CEMENT,,SE 5560-0011 1101,,,,false\n" + // same tax id, other spelling
				"O-10,Kiel Logistics,,,12-345-6789,DE,,false\n" + // same DUNS
				"O-11,Shadow Trading,,,,,,false\n"}, // same normalized name
		}
		for _, f := range files {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "suppliers.csv"), []byte(f.csv), 0o600); err != nil {
				t.Fatal(err)
			}
			settings, _ := json.Marshal(spreadsheet.Settings{Entities: map[string]spreadsheet.EntityConfig{"suppliers": {Kind: erp.KindSupplier, Files: "*.csv",
				Columns: map[string]string{"id": "Id", "name": "Name", "legal_name": "LegalName", "tax_id": "TaxID", "duns": "DUNS", "country": "Country", "naics": "NAICS", "blocked": "Blocked"}}}})
			if err := v.st.ERPConnections().Create(v.ctx, v.org, &store.ERPConnection{Name: f.name, System: "spreadsheet", BaseURL: dir, Settings: settings, Active: true}); err != nil {
				t.Fatal(err)
			}
		}
		r, tis := v.run(seed.SupplyChain, v.org, v.now)
		mustSucceed(t, r, tis)
		var merged map[string]int
		_ = json.Unmarshal(tis["deduplicate"].Output, &merged)
		// The sync stored one supplier per record (six); the pipeline
		// keeps the first of each company and marks the other a duplicate.
		if merged["erp_records"] != 6 || merged["suppliers"] != len(before)+3 || merged["duplicates"] != 3 || merged["created"] != 0 {
			t.Fatalf("deduplicate: %s", tis["deduplicate"].Output)
		}
		all, err := v.st.Suppliers().List(v.ctx, v.org, store.ListOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*store.Supplier{}
		dups := 0
		for _, s := range all {
			if strings.Contains(string(s.ESG), "duplicate_of") {
				dups++
				if s.Active || s.RiskScore.Valid {
					t.Fatalf("duplicate %s is active or scored: %+v", s.Name, s)
				}
				continue
			}
			byName[s.Name] = s
			if !s.RiskScore.Valid {
				t.Fatalf("supplier %s has no risk score", s.Name)
			}
		}
		if dups != 3 || len(all) != len(before)+6 {
			t.Fatalf("%d suppliers, %d duplicates; want %d and 3", len(all), dups, len(before)+6)
		}
		cement, kiel, shadow := byName["Nordic Cement AB"], byName["Kiel Logistik GmbH"], byName["Shadow Trading Ltd"]
		if cement == nil || kiel == nil || shadow == nil {
			t.Fatalf("merged suppliers: %v", byName)
		}
		if cement.LegalName != "Nordic Cement Aktiebolag" || kiel.DUNS != "123456789" {
			t.Fatalf("merged fields: %+v %+v", cement, kiel)
		}
		// Shadow Trading: no NAICS (E 50), no assessment (S 50), no tax
		// id, DUNS, legal name or country and blocked (G 100):
		// 0.4×50 + 0.3×50 + 0.3×100 = 65.
		if !shadow.RiskScore.Decimal.Equal(decimal.NewFromInt(65)) {
			t.Fatalf("Shadow Trading risk %s, want 65: %s", shadow.RiskScore.Decimal, shadow.ESG)
		}
		// Cement: USEEIO intensity of NAICS 327310 scored against 1.5 kg/USD.
		calc, err := calculation.NewBuiltin()
		if err != nil {
			t.Fatal(err)
		}
		var intensity decimal.Decimal
		for _, f := range calc.Factors("naics:327310") {
			if f.ActivityType == "naics:327310" {
				intensity = f.KgPerUnit["CO2e"]
			}
		}
		wantE := decimal.Min(decimal.NewFromInt(100), intensity.Div(decimal.RequireFromString("1.5")).Mul(decimal.NewFromInt(100))).Round(1)
		// G: no DUNS +15 → 15.
		wantRisk := decimal.RequireFromString("0.4").Mul(wantE).Add(decimal.NewFromInt(15)).Add(decimal.RequireFromString("4.5")).Round(1)
		if !cement.RiskScore.Decimal.Equal(wantRisk) {
			t.Fatalf("cement risk %s, want %s (E %s): %s", cement.RiskScore.Decimal, wantRisk, wantE, cement.ESG)
		}
		// An assessment entered by a person overrides the derived scores
		// and can push a supplier over the threshold.
		kiel.ESG = store.JSON(`{"assessment": {"environmental": 90, "social": 80, "governance": 70}}`)
		if err := v.st.Suppliers().Update(v.ctx, v.org, kiel); err != nil {
			t.Fatal(err)
		}
		r, tis = v.run(seed.SupplyChain, v.org, v.now.AddDate(0, 0, 1))
		mustSucceed(t, r, tis)
		var merged2 map[string]int
		_ = json.Unmarshal(tis["deduplicate"].Output, &merged2)
		if merged2["created"] != 0 || merged2["duplicates"] != 3 || merged2["suppliers"] != len(before)+3 {
			t.Fatalf("second run: %s", tis["deduplicate"].Output)
		}
		kiel, err = v.st.Suppliers().Get(v.ctx, v.org, kiel.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !kiel.RiskScore.Decimal.Equal(decimal.NewFromInt(81)) { // 36 + 24 + 21
			t.Fatalf("Kiel risk %s, want 81", kiel.RiskScore.Decimal)
		}
		var flagged map[string]int
		_ = json.Unmarshal(tis["flag_high_risk"].Output, &flagged)
		if flagged["flagged"] < 1 {
			t.Fatalf("flagged: %s", tis["flag_high_risk"].Output)
		}
		alerts, _ := v.st.AlertsList(v.ctx, v.org, store.AlertFilter{Status: store.AlertOpen})
		found := false
		for _, a := range alerts {
			found = found || a.Kind == "supplier_risk" && strings.Contains(a.Message, "Kiel Logistik GmbH")
		}
		if !found {
			t.Fatalf("no supplier-risk alert for Kiel: %+v", alerts)
		}
	})
}

// TestCSRDPipeline computes the month's ESRS E1-6 data points, re-runs
// without duplicates, and never overwrites an approved figure.
func TestCSRDPipeline(t *testing.T) {
	processortest.Engines(t, "seedcsrd", func(t *testing.T, open processortest.StoreOpener) {
		v := newEnv(t, open)
		month := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
		want, err := calculation.EmissionTotals(v.ctx, v.st, v.org, calculation.TotalsQuery{Filter: store.ResultFilter{From: month, To: month.AddDate(0, 1, 0)}})
		if err != nil {
			t.Fatal(err)
		}
		r, tis := v.run(seed.CSRD, v.org, month)
		mustSucceed(t, r, tis)
		dps, err := v.st.DataPoints().List(v.ctx, v.org, store.ListOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]*store.DataPoint{}
		for _, d := range dps {
			by[d.DatapointCode] = d
		}
		tot := by["E1-6_52a"]
		if tot == nil || !tot.ValueNumeric.Decimal.Equal(want.LocationBased.CO2eKg.Div(decimal.NewFromInt(1000)).Round(3)) || tot.Unit != "tCO2e" || tot.Status != "draft" {
			t.Fatalf("total data point %+v, want %s kg", tot, want.LocationBased.CO2eKg)
		}
		if by["E1-6_44a"] == nil || by["E1-6_49b"] == nil || by["E1-6_53a"] == nil {
			t.Fatalf("data points: %v", by)
		}
		// Approve scope 1; then the month is recomputed after a change.
		s1 := by["E1-6_44a"]
		s1.Status = "approved"
		if err := v.st.DataPoints().Update(v.ctx, v.org, s1); err != nil {
			t.Fatal(err)
		}
		if _, err := v.e.Clear(v.ctx, r.ID, "aggregate", true); err != nil {
			t.Fatal(err)
		}
		r, tis = v.wait(r.ID)
		mustSucceed(t, r, tis)
		var res store.UpsertResult
		_ = json.Unmarshal(tis["data_points"].Output, &res)
		if res.Created != 0 || res.Locked != 1 || res.Unchanged != len(by)-1 {
			t.Fatalf("re-run: %+v", res)
		}
		again, _ := v.st.DataPoints().List(v.ctx, v.org, store.ListOptions{Limit: 1000})
		if len(again) != len(dps) {
			t.Fatalf("%d data points after a re-run, %d before", len(again), len(dps))
		}
	})
}

// TestPlatformPipelines: the backup writes a file that verifies; the IoT
// pipeline alerts on a silent device; ml_model_training records its
// backtest error; master_orchestration reports the day once upstream runs
// are done.
func TestPlatformPipelines(t *testing.T) {
	processortest.Engines(t, "seedplat", func(t *testing.T, open processortest.StoreOpener) {
		v := newEnv(t, open)
		r, tis := v.run(seed.Backup, uuid.Nil, v.now)
		mustSucceed(t, r, tis)
		var out map[string]string
		_ = json.Unmarshal(tis["backup_store"].Output, &out)
		f, err := os.Open(out["path"])
		if err != nil {
			t.Fatalf("backup file: %v (%s)", err, tis["backup_store"].Output)
		}
		if _, err := backup.Verify(f); err != nil {
			t.Fatalf("backup does not verify: %v", err)
		}
		f.Close()

		seen := time.Now().UTC().Add(-3 * time.Hour)
		dev := &store.Device{DeviceType: "energy_meter", Serial: "EM-SILENT", Name: "Meter in hall 2", Status: "active", LastSeenAt: &seen}
		if err := v.st.Devices().Create(v.ctx, v.org, dev); err != nil {
			t.Fatal(err)
		}
		r, tis = v.run(seed.IoTStream, v.org, time.Now().UTC().Add(-15*time.Minute))
		mustSucceed(t, r, tis)
		alerts, _ := v.st.AlertsList(v.ctx, v.org, store.AlertFilter{Status: store.AlertOpen})
		found := false
		for _, a := range alerts {
			found = found || a.Kind == "device_silent" && strings.Contains(a.Message, "Meter in hall 2")
		}
		if !found {
			t.Fatalf("no silent-device alert: %+v", alerts)
		}

		r, tis = v.run(seed.MLTraining, v.org, v.now)
		mustSucceed(t, r, tis)
		var b seed.BacktestResult
		_ = json.Unmarshal(tis["train_baseline"].Output, &b)
		if b.Months == 0 || len(kpi(t, v.st, v.org, "ml.baseline.backtest_mape")) != 1 {
			t.Fatalf("baseline: %s", tis["train_baseline"].Output)
		}

		day := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
		for _, p := range []struct {
			name string
			at   time.Time
		}{{seed.Emissions, day}, {seed.SupplyChain, day}, {seed.QualityMonitoring, day.Add(5 * time.Hour)}} {
			r, tis := v.run(p.name, v.org, p.at)
			mustSucceed(t, r, tis)
		}
		r, tis = v.run(seed.MasterOrchestation, uuid.Nil, day.Add(30*time.Minute))
		mustSucceed(t, r, tis)
		var st seed.DayStatus
		_ = json.Unmarshal(tis["publish_status"].Output, &st)
		if st.Date != "2026-11-10" || st.Succeeded != 3 || st.Failed != 0 || st.Missing != 0 {
			t.Fatalf("day status: %s", tis["publish_status"].Output)
		}
		// The next day: the organization ran every upstream pipeline
		// before, so a day without its runs is waited for (and, when the
		// wait runs out, fails); a new organization is not waited for.
		other := &store.Organization{Name: "Newcomer", Slug: "newcomer"}
		if err := v.st.OrganizationCreate(v.ctx, other); err != nil {
			t.Fatal(err)
		}
		next := day.AddDate(0, 0, 1)
		for _, p := range []struct {
			name string
			at   time.Time
		}{{seed.Emissions, next}, {seed.SupplyChain, next}} {
			r, tis := v.run(p.name, v.org, p.at)
			mustSucceed(t, r, tis)
		}
		mr, err := v.e.Trigger(v.ctx, seed.MasterOrchestation, uuid.Nil, next.Add(30*time.Minute), map[string]string{"poll": "100ms"})
		if err != nil {
			t.Fatal(err)
		}
		// It waits for the quality monitoring run of the 11th.
		time.Sleep(time.Second)
		if ti, err := v.st.PipelineTask(v.ctx, mr.ID, "wait_upstream"); err != nil || ti.State != store.TaskRunning {
			t.Fatalf("master is not waiting for the missing run: %+v %v", ti, err)
		}
		r, tis = v.run(seed.QualityMonitoring, v.org, next.Add(5*time.Hour))
		mustSucceed(t, r, tis)
		r, tis = v.wait(mr.ID)
		mustSucceed(t, r, tis)
		_ = json.Unmarshal(tis["publish_status"].Output, &st)
		if st.Date != "2026-11-11" || st.Succeeded != 3 || st.Missing != 0 || st.NotScheduled != 3 {
			t.Fatalf("next day's status: %s", tis["publish_status"].Output)
		}
	})
}

func TestBacktest(t *testing.T) {
	m := func(y int, mo time.Month) time.Time { return time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC) }
	d := decimal.NewFromInt
	series := map[time.Time]decimal.Decimal{
		m(2025, 1): d(100), m(2025, 2): d(200),
		m(2026, 1): d(110), m(2026, 2): d(180), m(2026, 3): d(150),
	}
	b := seed.Backtest(series, m(2026, 4), 3)
	// Jan: |110-100|/110, Feb: |180-200|/180, Mar: no March 2025, so
	// February 2026: |150-180|/150. Mean ×100.
	want := d(10).Div(d(110)).Add(d(20).Div(d(180))).Add(d(30).Div(d(150))).Div(d(3)).Mul(d(100))
	if b.Months != 3 || !b.MAPE.Round(6).Equal(want.Round(6)) || !b.Forecast.Equal(d(150)) {
		t.Fatalf("%+v, want MAPE %s and forecast 150", b, want.Round(6))
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{"ACME Steel GmbH": "acme steel", "Acme-Steel, Inc.": "acme steel", "  Nordic Cement AB ": "nordic cement"} {
		if got := seed.NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
