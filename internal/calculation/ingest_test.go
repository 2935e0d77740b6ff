package calculation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

func TestIngestSQLite(t *testing.T) { testIngest(t, sqliteStore(t)) }

func TestIngestPostgres(t *testing.T) {
	testIngest(t, pgtest.Open(t, pgtest.New(t, "greenlang_ingest_test"), store.Options{}))
}

// Ingest stores what CalculateFile and Persist store together, over several
// chunks, in one run: the same report, the same results and explanations,
// one audit entry per kind of record, and the same refusal of a file
// stored before.
func testIngest(t *testing.T, st *store.Store) {
	ctx := context.Background()
	rows := 2*ingestChunk + 17
	lines := strings.SplitAfter(string(benchFile("ingest")), "\n")
	file := strings.Join(lines[:rows+1], "") + "bad-1,natural_gas,lots,scf,2025-01-01,US,1,,stationary_combustion,\n"
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	want, err := svc.CalculateFile(strings.NewReader(file), Options{GWPSet: "AR6"})
	if err != nil || len(want.Lines) != rows || len(want.Errors) != 1 {
		t.Fatalf("%d lines, %v, %v", len(want.Lines), want.Errors, err)
	}
	org := drivertest.NewOrg(t, st)
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	progress := 0
	rep, got, err := svc.Ingest(ctx, st, org.ID, strings.NewReader(file), Options{GWPSet: "AR6", Progress: func(n int) { progress = n }}, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.InputHash != want.InputHash || len(rep.Lines) != rows || len(rep.Errors) != 1 || rep.Errors[0].Line != rows+2 ||
		!rep.Total.CO2eKg.Equal(want.Total.CO2eKg) || progress != rows {
		t.Errorf("report: hash %s (want %s), %d lines, errors %v, total %s (want %s), progress %d",
			rep.InputHash, want.InputHash, len(rep.Lines), rep.Errors, rep.Total.CO2eKg, want.Total.CO2eKg, progress)
	}
	if got.Activities != int64(rows) || got.Emissions != int64(rows) || got.Sources != len(benchKinds) {
		t.Errorf("stored %+v", got)
	}
	run, err := st.CalculationRuns().Get(ctx, org.ID, got.RunID)
	if err != nil || run.Status != "succeeded" || run.RecordsIn != int64(rows+1) || run.RecordsOut != int64(rows) || run.GWPSet != "AR6" ||
		!strings.Contains(string(run.Parameters), want.InputHash) {
		t.Errorf("run %+v %v", run, err)
	}
	tot, err := EmissionTotals(ctx, st, org.ID, TotalsQuery{})
	if err != nil || !tot.LocationBased.CO2eKg.Equal(want.Total.CO2eKg) || tot.LocationBased.Results != rows {
		t.Errorf("stored totals %s over %d results (want %s over %d) %v", tot.LocationBased.CO2eKg, tot.LocationBased.Results, want.Total.CO2eKg, rows, err)
	}
	checkExplanations(t, st, org.ID, rep)
	// One bulk entry per kind of record, whatever the number of chunks.
	entries, err := st.AuditEntries(ctx, org.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	bulks := map[string]int{}
	for _, e := range entries {
		if e.Action == "bulk_insert" {
			bulks[e.EntityType]++
		}
	}
	if len(bulks) != 2 || bulks["activity_record"] != 1 || bulks["calculated_emission"] != 1 {
		t.Errorf("bulk audit entries %v", bulks)
	}
	// The same file again is refused, and nothing of it is stored.
	_, _, err = svc.Ingest(ctx, st, org.ID, strings.NewReader(file), Options{GWPSet: "AR6"}, now)
	if !errors.Is(err, ErrAlreadyStored) || !strings.Contains(err.Error(), got.RunID.String()) {
		t.Fatalf("second ingest of the same file: %v", err)
	}
	tot, err = EmissionTotals(ctx, st, org.ID, TotalsQuery{})
	if err != nil || tot.LocationBased.Results != rows {
		t.Errorf("after the refused ingest: %d results %v", tot.LocationBased.Results, err)
	}
	if rv, err := st.VerifyAudit(ctx, org.ID); err != nil || !rv.OK() {
		t.Errorf("audit: %+v %v", rv, err)
	}
	// Stopped in the middle (the context ends while the second chunk is
	// calculated), nothing of the run is stored.
	other := strings.ReplaceAll(file, "ingest-", "other-")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, _, err = svc.Ingest(cctx, st, org.ID, strings.NewReader(other), Options{GWPSet: "AR6", Progress: func(n int) {
		if n == ingestChunk+10 {
			cancel()
		}
	}}, now)
	if err == nil {
		t.Fatal("an ingest whose context ended was stored")
	}
	tot, err = EmissionTotals(ctx, st, org.ID, TotalsQuery{})
	if err != nil || tot.LocationBased.Results != rows {
		t.Errorf("after the stopped ingest: %d results %v", tot.LocationBased.Results, err)
	}
	if runs, err := st.CalculationRuns().List(ctx, org.ID, store.ListOptions{}); err != nil || len(runs) != 1 {
		t.Errorf("%d runs after the stopped ingest %v", len(runs), err)
	}
	// A file that cannot be read is an error before anything is stored.
	if _, _, err := svc.Ingest(ctx, st, org.ID, bytes.NewReader([]byte("not,an,activity,file\n")), Options{}, now); err == nil {
		t.Error("a file without the activity columns was ingested")
	}
	// A file of several chunks none of whose rows can be calculated
	// stores nothing, not even an empty run.
	var bad strings.Builder
	bad.WriteString("id,activity_type,quantity,unit,period_start,region,scope,method\n")
	for i := range firstChunk + ingestChunk + 3 {
		fmt.Fprintf(&bad, "u-%d,unobtainium,%d,kg,2025-01-01,US,1,stationary_combustion\n", i, i+1)
	}
	rep, _, err = svc.Ingest(ctx, st, org.ID, strings.NewReader(bad.String()), Options{GWPSet: "AR6"}, now)
	if !errors.Is(err, ErrNothingToStore) || len(rep.Errors) != firstChunk+ingestChunk+3 {
		t.Errorf("a file of %d rows that cannot be calculated: %v, %d errors", firstChunk+ingestChunk+3, err, len(rep.Errors))
	}
	if runs, err := st.CalculationRuns().List(ctx, org.ID, store.ListOptions{}); err != nil || len(runs) != 1 {
		t.Errorf("%d runs after a file with nothing to store %v", len(runs), err)
	}
}

func TestIngestSitesSQLite(t *testing.T) { testIngestSites(t, sqliteStore(t)) }

func TestIngestSitesPostgres(t *testing.T) {
	testIngestSites(t, pgtest.Open(t, pgtest.New(t, "greenlang_ingest_test"), store.Options{}))
}

// A row's site is checked against the organization's, gives the row its
// region when it has none, and is kept with its results for totals.
func testIngestSites(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := drivertest.NewOrg(t, st)
	site := &store.Site{Code: "PLANT-TX", Name: "Houston plant", Country: "US", Active: true}
	if err := st.Sites().Create(ctx, org.ID, site); err != nil {
		t.Fatal(err)
	}
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	file := "id,activity_type,quantity,unit,period_start,site,scope,method\n" +
		"a,natural_gas,50000,scf,2025-01-01,PLANT-TX,1,stationary_combustion\n" +
		"b,natural_gas,50000,scf,2025-01-01,,1,stationary_combustion\n" +
		"c,natural_gas,50000,scf,2025-01-01,PLANT-XX,1,stationary_combustion\n"
	rep, got, err := svc.Ingest(ctx, st, org.ID, strings.NewReader(file), Options{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// b has neither region nor site: no factor for natural gas everywhere.
	if got.Activities != 1 || len(rep.Errors) != 2 || rep.Errors[1].Column != "site" || rep.Errors[1].Value != "PLANT-XX" {
		t.Fatalf("stored %+v, errors %+v", got, rep.Errors)
	}
	if l := rep.Lines[0]; l.Activity.Region != "US" || l.Result.Explanation.FactorID != "epa-hub-2025-t1-natural_gas" {
		t.Errorf("row a: region %q, factor %s", l.Activity.Region, l.Result.Explanation.FactorID)
	}
	tot, err := EmissionTotals(ctx, st, org.ID, TotalsQuery{By: []string{BySite}})
	if err != nil || len(tot.Rows) != 1 || tot.Rows[0].Site != "PLANT-TX" || tot.Rows[0].SiteName != "Houston plant" ||
		!tot.Rows[0].CO2eKg.Equal(rep.Total.CO2eKg) {
		t.Errorf("totals by site %+v %v", tot.Rows, err)
	}
}
