package calculation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

func TestPublishFactorsSQLite(t *testing.T) {
	publishFactors(t, sqliteStore(t))
}

func TestPublishFactorsPostgres(t *testing.T) {
	publishFactors(t, pgtest.Open(t, pgtest.New(t, "greenlang_factors"), store.Options{}))
}

// A published edition is read back exactly, is used for calculation beside
// the built-in library, cannot be published twice and cannot be changed.
func publishFactors(t *testing.T, st *store.Store) {
	ctx := context.Background()
	units := ghg.NewUnits()
	valid := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ref := ghg.FactorRef{Set: "Utility disclosure", Version: "2026", Edition: 2026, SourceTable: "Table 2 Fuel mix"}
	boiler := ghg.Factor{ID: "utility-2026-steam", Ref: ref, ActivityType: "district_steam", Region: "DE", Per: units.MustParse("MWh"),
		KgPerUnit:            map[string]decimal.Decimal{"CO2": dec("201.5"), "CH4": dec("0.0036"), "N2O": dec("0.00036")},
		BiogenicCO2KgPerUnit: dec("12.25"), UncertaintyPct: dec("7.5"), ValidFrom: valid}
	boiler.Ref.SourceRow = "Steam network Nord (row 12)"
	grid := ghg.Factor{ID: "utility-2026-residual", Ref: ref, ActivityType: ResidualMixType, Region: "DE", Per: units.MustParse("kWh"),
		KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("0.612")}, ValidFrom: valid, ValidTo: valid.AddDate(1, 0, 0)}
	grid.Ref.SourceRow = "Residual mix (row 3)"
	sets, err := PublishFactors(ctx, st, []ghg.Factor{boiler, grid})
	if err != nil || len(sets) != 1 || sets[0].Factors != 2 || sets[0].Values != 5 {
		t.Fatalf("published %+v %v", sets, err)
	}
	got, err := StoredFactors(ctx, st, units)
	if err != nil || len(got) != 2 {
		t.Fatalf("stored factors %v %v", got, err)
	}
	byID := map[string]ghg.Factor{}
	for _, f := range got {
		byID[f.ID] = f
	}
	b := byID["utility-2026-steam"]
	if !b.BiogenicCO2KgPerUnit.Equal(dec("12.25")) || !b.KgPerUnit["CH4"].Equal(dec("0.0036")) || b.Ref != boiler.Ref || !b.UncertaintyPct.Equal(dec("7.5")) {
		t.Errorf("read back %+v", b)
	}
	if g := byID["utility-2026-residual"]; !g.ValidTo.Equal(grid.ValidTo) || !g.KgPerUnit["CO2e"].Equal(dec("0.612")) {
		t.Errorf("read back %+v", g)
	}
	// Published twice: refused whole.
	if _, err := PublishFactors(ctx, st, []ghg.Factor{boiler}); store.CodeOf(err) != store.CodeAlreadyExists {
		t.Errorf("second publication: %v", err)
	}
	// The service uses the stored set: steam in Germany, and the residual mix for market-based scope 2.
	svc, err := NewWithStored(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	in := "id,activity_type,quantity,unit,period_start,region,scope,method\n" +
		"s,district_steam,10,MWh,2026-03-01,DE,,purchased_heat_steam_cooling\n"
	rep, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5"})
	if err != nil || len(rep.Lines) != 1 {
		t.Fatalf("%v %v", rep.Errors, err)
	}
	want := dec("10").Mul(dec("201.5").Add(dec("0.0036").Mul(dec("28"))).Add(dec("0.00036").Mul(dec("265"))))
	if r := rep.Lines[0].Result; !r.CO2eKg.Equal(want) || r.Explanation.FactorID != "utility-2026-steam" || !r.BiogenicCO2Kg.Equal(dec("122.5")) {
		t.Errorf("steam: %s via %s, want %s", r.CO2eKg, r.Explanation.FactorID, want)
	}
	// Immutable: the application cannot change or delete a published value.
	err = st.Engine().SystemTx(ctx, driver.TxOptions{}, func(q driver.Querier) error {
		_, err := q.Exec(ctx, "UPDATE master_data.emission_factors SET value = 0")
		return err
	})
	if err == nil {
		t.Error("a published factor value was changed")
	}
}
