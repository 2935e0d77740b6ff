package calculation

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

// End-to-end benchmarks: an activity file of benchRows rows is read,
// calculated and stored (activity records and results, with lineage and
// audit entries) as one run, by Ingest, as `greenlang calc --store` does. The baseline beside them is the same
// factor-join-and-multiply done by PostgreSQL itself: the activity rows
// COPYed in and one INSERT … SELECT joining them to a factor table per
// activity type and unit, multiplying and writing the results. Read the
// ratio of rows/s from one run:
//
//	GREENLANG_TEST_POSTGRES_URL=… go test ./internal/calculation -run '^$' -bench 'EndToEnd|SQLBaseline' -benchtime 5x -count 5
const benchRows = 20000

// benchKinds are the rows of the benchmark file, cycled: scope 1 fuel by
// volume through a heat content, scope 1 fuel by volume, scope 3 spend and
// scope 3 air travel, each with the factor the library selects.
var benchKinds = []struct{ typ, qty, unit, region, scope, category, method, date string }{
	{"natural_gas", "50000", "scf", "US", "1", "", "stationary_combustion", "2025-01-01"},
	{"distillate_fuel_oil_no_2", "400", "US gal", "US", "1", "", "stationary_combustion", "2025-02-01"},
	{"naics:331110", "11000", "USD", "US", "3", "1", "spend_based", "2021-06-15"},
	{"desnz:business_travel_air/flights/long_haul_to_from_uk/economy_class/without_rf", "5540", "passenger-km", "UK", "3", "6", "business_travel_air", "2025-01-20"},
}

func benchFile(tag string) []byte {
	var b bytes.Buffer
	b.WriteString("id,activity_type,quantity,unit,period_start,region,scope,category,method,price_year\n")
	for i := range benchRows {
		k := benchKinds[i%len(benchKinds)]
		py := ""
		if k.unit == "USD" {
			py = "2021"
		}
		fmt.Fprintf(&b, "%s-%d,%s,%s.%d,%s,%s,%s,%s,%s,%s,%s\n", tag, i, k.typ, k.qty, i%1000, k.unit, k.date, k.region, k.scope, k.category, k.method, py)
	}
	return b.Bytes()
}

func benchEndToEnd(b *testing.B, st *store.Store) {
	svc, err := NewBuiltin()
	if err != nil {
		b.Fatal(err)
	}
	org := drivertest.NewOrg(b, st)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		b.StopTimer()
		file := benchFile(fmt.Sprintf("run%d", i))
		i++
		b.StartTimer()
		rep, got, err := svc.Ingest(ctx, st, org.ID, bytes.NewReader(file), Options{GWPSet: "AR6"}, time.Now())
		if err != nil || len(rep.Errors) != 0 || got.Emissions != benchRows {
			b.Fatalf("%+v %v %v", got, err, rep.Errors[:min(3, len(rep.Errors))])
		}
	}
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkEndToEndPostgres(b *testing.B) {
	st := pgtest.Open(b, pgtest.New(b, "greenlang_bench"), store.Options{})
	if err := st.Maintain(context.Background()); err != nil {
		b.Fatal(err)
	}
	benchEndToEnd(b, st)
}

func BenchmarkEndToEndSQLite(b *testing.B) {
	benchEndToEnd(b, sqliteStore(b))
}

// BenchmarkSQLBaselinePostgres is the baseline: per iteration the same
// benchRows activities are COPYed into emissions.activity_records and one
// INSERT … SELECT joins them to a factor table (kg CO2e and kg of each gas
// per activity unit, derived from the same library and GWP set) and writes
// the products to emissions.calculated_emissions, in one transaction.
func BenchmarkSQLBaselinePostgres(b *testing.B) { sqlBaseline(b, false) }

// BenchmarkSQLBaselinePostgresAppRole is the same baseline under the
// platform's own constraints: as the application role, under row-level
// security, where PostgreSQL refuses COPY into the tables, so the activity
// rows are staged in a temporary table first, as the store does.
func BenchmarkSQLBaselinePostgresAppRole(b *testing.B) { sqlBaseline(b, true) }

func sqlBaseline(b *testing.B, asApp bool) {
	ctx := context.Background()
	db := pgtest.New(b, "greenlang_bench")
	st := pgtest.Open(b, db, store.Options{})
	if err := st.Maintain(ctx); err != nil {
		b.Fatal(err)
	}
	org := drivertest.NewOrg(b, st)
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	load := conn // the connection the timed work runs on
	if asApp {
		if load, err = pgx.Connect(ctx, db.AppURL); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { load.Close(context.Background()) })
	}
	svc, err := NewBuiltin()
	if err != nil {
		b.Fatal(err)
	}
	// The factor table: one calculated row of each kind gives kg per unit.
	if _, err := conn.Exec(ctx, `CREATE TABLE bench_factors (activity_type text, unit text, scope smallint, category smallint,
		co2 numeric, ch4 numeric, n2o numeric, co2e numeric, PRIMARY KEY (activity_type, unit));
		GRANT SELECT ON bench_factors TO greenlang_app`); err != nil {
		b.Fatal(err)
	}
	var sample strings.Builder
	sample.WriteString("id,activity_type,quantity,unit,period_start,region,scope,category,method,price_year\n")
	for i, k := range benchKinds {
		py := ""
		if k.unit == "USD" {
			py = "2021"
		}
		fmt.Fprintf(&sample, "s%d,%s,1,%s,%s,%s,%s,%s,%s,%s\n", i, k.typ, k.unit, k.date, k.region, k.scope, k.category, k.method, py)
	}
	rep, err := svc.CalculateFile(strings.NewReader(sample.String()), Options{GWPSet: "AR6"})
	if err != nil || len(rep.Lines) != len(benchKinds) {
		b.Fatalf("%v %v", err, rep.Errors)
	}
	for _, l := range rep.Lines {
		r := l.Result
		var cat *int
		if r.Category != 0 {
			cat = &r.Category
		}
		if _, err := conn.Exec(ctx, `INSERT INTO bench_factors VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, l.Activity.Type, l.Activity.Quantity.Unit.Symbol,
			r.Scope, cat, r.KgByGas["CO2"], r.KgByGas["CH4"], r.KgByGas["N2O"], r.CO2eKg); err != nil {
			b.Fatal(err)
		}
	}
	src, run := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	now := time.Now().UTC()
	if _, err := conn.Exec(ctx, `INSERT INTO emissions.emission_sources (id, org_id, name, scope, created_at, updated_at) VALUES ($1, $2, 'bench', 1, $3, $3)`, src, org.ID, now); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO emissions.calculation_runs (id, org_id, started_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)`, run, org.ID, now); err != nil {
		b.Fatal(err)
	}
	cols := []string{"id", "org_id", "created_at", "updated_at", "source_id", "activity_type", "quantity", "unit",
		"period_start", "period_end", "data_quality", "origin", "origin_ref", "batch_id", "attributes"}
	for b.Loop() {
		b.StopTimer()
		batch := uuid.Must(uuid.NewV7())
		rows := make([][]any, benchRows)
		for i := range rows {
			k := benchKinds[i%len(benchKinds)]
			d, _ := time.Parse(time.DateOnly, k.date)
			q := decimal.RequireFromString(fmt.Sprintf("%s.%d", k.qty, i%1000))
			rows[i] = []any{uuid.Must(uuid.NewV7()), org.ID, now, now, src, k.typ, q, k.unit, d, d, 3, "file", fmt.Sprint(i), batch, "{}"}
		}
		b.StartTimer()
		tx, err := load.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		// The plan setting the store's bulk loads use (see pgstore): without
		// it PostgreSQL re-plans the foreign-key checks for every row, and
		// the baseline would be slower than the SQL it stands for.
		if _, err := tx.Exec(ctx, "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"); err != nil {
			b.Fatal(err)
		}
		if asApp {
			if _, err := tx.Exec(ctx, "SELECT set_config('greenlang.org_id', $1, true)", org.ID.String()); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "CREATE TEMP TABLE stage (LIKE emissions.activity_records INCLUDING DEFAULTS) ON COMMIT DROP"); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage"}, cols, pgx.CopyFromRows(rows)); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO emissions.activity_records SELECT * FROM stage"); err != nil {
				b.Fatal(err)
			}
		} else if _, err := tx.CopyFrom(ctx, pgx.Identifier{"emissions", "activity_records"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO emissions.calculated_emissions (id, org_id, run_id, activity_id, activity_period_start, source_id,
			scope, category, method, gwp_set, co2_kg, ch4_kg, n2o_kg, co2e_kg, period_start, period_end, created_at, updated_at)
			SELECT gen_random_uuid(), a.org_id, $1, a.id, a.period_start, a.source_id, f.scope, f.category, 'sql', 'AR6',
			       a.quantity * f.co2, a.quantity * f.ch4, a.quantity * f.n2o, a.quantity * f.co2e, a.period_start, a.period_end, now(), now()
			FROM emissions.activity_records a JOIN bench_factors f ON f.activity_type = a.activity_type AND f.unit = a.unit
			WHERE a.batch_id = $2`, run, batch)
		if err != nil || tag.RowsAffected() != benchRows {
			b.Fatalf("%v %v", tag, err)
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchRows)/b.Elapsed().Seconds(), "rows/s")
}
