package ghg

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestInputHashIsStableAndSensitive(t *testing.T) {
	c := NewUnits()
	a := Activity{ID: "1", Type: "natural_gas", Quantity: Quantity{Value: dec("10"), Unit: c.MustParse("mmBtu")},
		PeriodStart: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), DataQuality: 2}
	in := RunInput{Activities: []Activity{a}, FactorSets: []string{"EPA 2025", "DESNZ 2024"}, GWPSet: "AR6"}
	h := InputHash(in)
	if len(h) != 64 || InputHash(in) != h {
		t.Fatal("hash not stable")
	}
	swapped := in
	swapped.FactorSets = []string{"DESNZ 2024", "EPA 2025"}
	if InputHash(swapped) != h {
		t.Error("factor set order changed the hash")
	}
	// Same instant in another zone is the same input.
	b := a
	b.PeriodStart = a.PeriodStart.In(time.FixedZone("CET", 3600))
	if InputHash(RunInput{Activities: []Activity{b}, FactorSets: in.FactorSets, GWPSet: "AR6"}) != h {
		t.Error("time zone changed the hash")
	}
	for name, mut := range map[string]func(*RunInput){
		"gwp set": func(r *RunInput) { r.GWPSet = "AR5" },
		"quantity": func(r *RunInput) {
			r.Activities = []Activity{{ID: "1", Type: "natural_gas", Quantity: Quantity{Value: dec("10.0001"), Unit: a.Quantity.Unit}, PeriodStart: a.PeriodStart, DataQuality: 2}}
		},
		"factor set": func(r *RunInput) { r.FactorSets = []string{"EPA 2024", "DESNZ 2024"} },
	} {
		m := in
		mut(&m)
		if InputHash(m) == h {
			t.Errorf("changing the %s kept the hash", name)
		}
	}
}

func TestRestate(t *testing.T) {
	old := []Result{{Scope: 1, CO2eKg: dec("1000")}, {Scope: 2, CO2eKg: dec("500")}, {Scope: 3, Category: 1, CO2eKg: dec("500")}}
	new := []Result{{Scope: 1, CO2eKg: dec("1000")}, {Scope: 2, CO2eKg: dec("560")}, {Scope: 3, Category: 1, CO2eKg: dec("500")}}
	r := Restate("grid factor EPA 2024 → 2025", old, new, decimal.Zero)
	// +60 on 2000 = 3%: below the default 5%.
	if !r.ChangePct.Equal(dec("3")) || r.BaseYearRecalc || len(r.Lines) != 3 || !r.Lines[1].ChangePct.Equal(dec("12")) {
		t.Errorf("restatement %+v", r)
	}
	r = Restate("GWP AR5 → AR6", old, new, dec("2.5"))
	if !r.BaseYearRecalc || !r.ThresholdPct.Equal(dec("2.5")) {
		t.Errorf("with a 2.5%% threshold: %+v", r)
	}
}

func TestRestateBySource(t *testing.T) {
	r := func(id string, scope int, kg string) Result {
		return Result{ActivityID: id, Scope: scope, CO2eKg: decimal.RequireFromString(kg)}
	}
	src := map[string]string{"a": "Boiler", "b": "Boiler", "c": "Grid"}
	old := []Result{r("a", 1, "100"), r("b", 1, "50"), r("c", 2, "200")}
	new := []Result{r("a", 1, "110"), r("b", 1, "50"), r("c", 2, "180")}
	rep := RestateBySource("EPA Hub 2025", old, new, func(x Result) string { return src[x.ActivityID] }, decimal.Zero)
	if len(rep.BySource) != 2 || rep.BySource[0].Source != "Boiler" || !rep.BySource[0].ChangeKg.Equal(decimal.NewFromInt(10)) ||
		!rep.BySource[1].ChangePct.Equal(decimal.NewFromInt(-10)) {
		t.Fatalf("by source %+v", rep.BySource)
	}
	// 350 → 340 is −2.857%: under the 5% default, no base-year recalculation.
	if rep.BaseYearRecalc || len(rep.Lines) != 2 || !rep.NewTotalKg.Equal(decimal.NewFromInt(340)) {
		t.Errorf("restatement %+v", rep)
	}
}
