package calculation

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

func TestPersistRunToTheStore(t *testing.T) {
	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	u := url.URL{Scheme: "sqlite", Path: filepath.Join(t.TempDir(), "g.db")}
	st, err := reg.Open(ctx, u.String(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org := drivertest.NewOrg(t, st)
	rep := calculateExample(t, "AR6")
	now := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	got, err := Persist(ctx, st, org.ID, rep, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Activities != 6 || got.Emissions != 6 || got.Sources != 5 {
		t.Fatalf("stored %+v", got)
	}
	// A second run reuses the sources.
	again, err := Persist(ctx, st, org.ID, rep, now)
	if err != nil || again.Sources != 0 || again.RunID == got.RunID {
		t.Fatalf("second run %+v %v", again, err)
	}
	run, err := st.CalculationRuns().Get(ctx, org.ID, got.RunID)
	if err != nil || run.GWPSet != "AR6" || run.RecordsOut != 6 {
		t.Fatalf("run %+v %v", run, err)
	}
	// The stored results sum, month by month, to the calculation: twice, one per run.
	if sum := storedTotal(t, st, org.ID); !sum.Equal(rep.Total.CO2eKg.Mul(decimal.NewFromInt(2))) {
		t.Errorf("stored monthly total %s, want 2 × %s", sum, rep.Total.CO2eKg)
	}
	rv, err := st.VerifyAudit(ctx, org.ID)
	if err != nil || !rv.OK() {
		t.Errorf("audit after persisting: %+v %v", rv, err)
	}
}

// The same on PostgreSQL as the application role, under row-level security.
func TestPersistRunToPostgres(t *testing.T) {
	st := pgtest.Open(t, pgtest.New(t, "greenlang_calc_test"), store.Options{})
	org := drivertest.NewOrg(t, st)
	rep := calculateExample(t, "AR6")
	got, err := Persist(context.Background(), st, org.ID, rep, time.Now())
	if err != nil || got.Emissions != 6 {
		t.Fatalf("stored %+v %v", got, err)
	}
	if sum := storedTotal(t, st, org.ID); !sum.Equal(rep.Total.CO2eKg) {
		t.Errorf("stored monthly total %s, want %s", sum, rep.Total.CO2eKg)
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
