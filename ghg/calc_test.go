package ghg

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// hubAR5 are the GWPs the EPA GHG Emission Factors Hub prints in its Table 11
// (IPCC AR5): CH4 28, N2O 265.
type hubAR5 struct{}

func (hubAR5) GWP(gas string) (decimal.Decimal, error) {
	switch gas {
	case "CO2":
		return decimal.NewFromInt(1), nil
	case "CH4":
		return decimal.NewFromInt(28), nil
	case "N2O":
		return decimal.NewFromInt(265), nil
	}
	return decimal.Decimal{}, fmt.Errorf("no GWP for %s", gas)
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// naturalGas is EPA Hub 2025 Table 1, natural gas: 53.06 kg CO2, 1 g CH4 and
// 0.1 g N2O per mmBtu; heat content 1.026 mmBtu per Mscf (HHV).
func naturalGas(c *Units) Factor {
	return Factor{
		ID: "epa-2025-t1-natural-gas", ActivityType: "natural_gas", Per: c.MustParse("mmBtu"),
		Ref:            FactorRef{Set: "EPA GHG Emission Factors Hub", Version: "2025", SourceTable: "Table 1 Stationary Combustion", SourceRow: "Natural Gas"},
		KgPerUnit:      map[string]decimal.Decimal{"CO2": dec("53.06"), "CH4": dec("0.001"), "N2O": dec("0.0001")},
		HeatContent:    &HeatContent{Energy: Quantity{Value: dec("1.026"), Unit: c.MustParse("mmBtu")}, Per: c.MustParse("Mscf"), Basis: HHV},
		UncertaintyPct: dec("3"),
	}
}

func TestStationaryCombustionNaturalGas(t *testing.T) {
	c := NewUnits()
	calc := NewCalculator("AR5", hubAR5{})
	a := Activity{ID: "row-2", Type: "natural_gas", Quantity: Quantity{Value: dec("50000"), Unit: c.MustParse("scf")}, DataQuality: 2, UncertaintyPct: dec("4")}
	r, err := calc.StationaryCombustion(a, naturalGas(c))
	if err != nil {
		t.Fatal(err)
	}
	// 50 000 scf = 50 Mscf × 1.026 = 51.3 mmBtu.
	want := map[string]string{"CO2": "2721.978", "CH4": "0.0513", "N2O": "0.00513"}
	for gas, kg := range want {
		if !r.KgByGas[gas].Equal(dec(kg)) {
			t.Errorf("%s = %s kg, want %s", gas, r.KgByGas[gas], kg)
		}
	}
	// AR5: 2721.978 + 0.0513×28 + 0.00513×265 = 2721.978 + 1.4364 + 1.35945.
	if !r.CO2eKg.Equal(dec("2724.77385")) {
		t.Errorf("CO2e = %s, want 2724.77385", r.CO2eKg)
	}
	if r.Scope != 1 || r.Explanation.Method != MethodStationaryCombustion || r.Explanation.EngineVersion != EngineVersion {
		t.Errorf("result %+v", r)
	}
	if !r.Explanation.Amount.Equal(dec("51.3")) || len(r.Explanation.Conversions) != 2 || r.Explanation.Conversions[0].From != "scf" || r.Explanation.Conversions[1].To != "mmBtu" || !strings.Contains(r.Explanation.Factor.String(), "Table 1") {
		t.Errorf("explanation %+v", r.Explanation)
	}
	// sqrt(4² + 3²) = 5.
	if !r.UncertaintyPct.Equal(dec("5")) {
		t.Errorf("uncertainty %s, want 5", r.UncertaintyPct)
	}
	// The same activity in mmBtu needs no heat content.
	a.Quantity = Quantity{Value: dec("51.3"), Unit: c.MustParse("mmBtu")}
	r2, err := calc.StationaryCombustion(a, naturalGas(c))
	if err != nil || !r2.CO2eKg.Equal(r.CO2eKg) {
		t.Errorf("energy input: %s %v", r2.CO2eKg, err)
	}
}

func TestActivityFactorRefusals(t *testing.T) {
	c := NewUnits()
	calc := NewCalculator("AR5", hubAR5{})
	ng := naturalGas(c)
	cases := []struct {
		name  string
		a     Activity
		f     Factor
		field string
		want  string
	}{
		{"mass for a gas measured by volume", Activity{ID: "r1", Type: "natural_gas", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("kg")}}, ng, "unit", "no heat content"},
		{"kWh for a per-litre factor", Activity{ID: "r2", Type: "diesel", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("kWh")}},
			Factor{ID: "diesel", Per: c.MustParse("L"), KgPerUnit: map[string]decimal.Decimal{"CO2": dec("2.7")}}, "unit", "per L"},
		{"negative quantity", Activity{ID: "r3", Type: "natural_gas", Quantity: Quantity{Value: dec("-5"), Unit: c.MustParse("mmBtu")}}, ng, "quantity", "correction"},
		{"no type", Activity{ID: "r4", Quantity: Quantity{Value: dec("5"), Unit: c.MustParse("mmBtu")}}, ng, "activity_type", "required"},
		{"gas without a GWP", Activity{ID: "r5", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("kg")}},
			Factor{ID: "sf6", Per: c.MustParse("kg"), KgPerUnit: map[string]decimal.Decimal{"SF6": dec("1")}}, "factor", "SF6"},
	}
	for _, tc := range cases {
		_, err := calc.StationaryCombustion(tc.a, tc.f)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tc.field || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.a.ID) {
			t.Errorf("%s: got %v, want field %s mentioning %q", tc.name, err, tc.field, tc.want)
		}
	}
	// A negative quantity marked as a correction is calculated.
	r, err := calc.StationaryCombustion(Activity{ID: "r6", Type: "natural_gas", Correction: true, Quantity: Quantity{Value: dec("-1"), Unit: c.MustParse("mmBtu")}}, ng)
	if err != nil || !r.KgByGas["CO2"].Equal(dec("-53.06")) {
		t.Errorf("correction: %v %v", r.KgByGas, err)
	}
}

// Already-CO2e factor parts (DESNZ per-gas rows) are added as they are.
func TestCO2eFactorIsNotMultipliedAgain(t *testing.T) {
	c := NewUnits()
	calc := NewCalculator("AR5", hubAR5{})
	f := Factor{ID: "desnz", Per: c.MustParse("kWh"), KgPerUnit: map[string]decimal.Decimal{"CO2": dec("0.2"), "CO2e": dec("0.001")}}
	r, err := calc.ActivityFactor(Activity{ID: "e", Type: "electricity", Quantity: Quantity{Value: dec("1000"), Unit: c.MustParse("MWh")}}, f, 2, 0, MethodActivityFactor)
	if err != nil || !r.CO2eKg.Equal(dec("201000")) {
		t.Errorf("CO2e = %s, %v; want 201000", r.CO2eKg, err)
	}
	if _, err := calc.ActivityFactor(Activity{ID: "e", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("kWh")}}, f, 1, 4, ""); err == nil {
		t.Error("a category outside scope 3 was accepted")
	}
}

func TestSumUncertaintyAndQuality(t *testing.T) {
	rs := []Result{
		{CO2eKg: dec("100"), UncertaintyPct: dec("10"), DataQuality: dec("1"), KgByGas: map[string]decimal.Decimal{"CO2": dec("100")}},
		{CO2eKg: dec("300"), UncertaintyPct: dec("20"), DataQuality: dec("4"), KgByGas: map[string]decimal.Decimal{"CO2": dec("300")}, BiogenicCO2Kg: dec("7")},
	}
	tot := Sum(rs)
	if !tot.CO2eKg.Equal(dec("400")) || !tot.KgByGas["CO2"].Equal(dec("400")) || !tot.BiogenicCO2Kg.Equal(dec("7")) {
		t.Errorf("total %+v", tot)
	}
	// sqrt((10·100)² + (20·300)²) / 400 = sqrt(37 000 000) / 400 = 15.20690632574555…
	if !tot.UncertaintyPct.Equal(dec("15.206906")) {
		t.Errorf("uncertainty %s", tot.UncertaintyPct)
	}
	// (1·100 + 4·300) / 400.
	if !tot.DataQuality.Equal(dec("3.25")) {
		t.Errorf("data quality %s", tot.DataQuality)
	}
	if got := ProductUncertainty(dec("5"), dec("3")); !got.Equal(dec("5.830952")) {
		t.Errorf("sqrt(34) = %s", got)
	}
}

// The same combustion under AR5 and AR6 with the project's GWP table: a
// report can show both side by side.
func TestAR5AndAR6SideBySide(t *testing.T) {
	c := NewUnits()
	table, err := LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	a := Activity{ID: "1", Type: "natural_gas", Quantity: Quantity{Value: dec("51.3"), Unit: c.MustParse("mmBtu")}}
	want := map[string]string{
		AR5:         "2724.77385", // 2721.978 + 0.0513×28 + 0.00513×265
		AR6:         "2724.90723", // 2721.978 + 0.0513×29.8 (fossil) + 0.00513×273
		AR6Combined: "2724.80976", // 2721.978 + 0.0513×27.9 + 0.00513×273
	}
	for id, w := range want {
		set, err := table.Set(id)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewCalculator(set.ID(), set).StationaryCombustion(a, naturalGas(c))
		if err != nil || !r.CO2eKg.Equal(dec(w)) || r.Explanation.GWPSet != id {
			t.Errorf("%s: %s (%v), want %s", id, r.CO2eKg, err, w)
		}
		if !r.KgByGas["CH4"].Equal(dec("0.0513")) {
			t.Errorf("%s: per-gas mass changed with the GWP set: %v", id, r.KgByGas)
		}
	}
}

func TestTotalsByScope(t *testing.T) {
	rs := []Result{{Scope: 1, CO2eKg: dec("1")}, {Scope: 1, CO2eKg: dec("2")}, {Scope: 3, Category: 6, CO2eKg: dec("5")}, {Scope: 3, CO2eKg: dec("7")}}
	got := TotalsBy(rs, ScopeKey)
	if len(got) != 3 || !got["scope 1"].CO2eKg.Equal(dec("3")) || !got["scope 3 category 6"].CO2eKg.Equal(dec("5")) || !got["scope 3"].CO2eKg.Equal(dec("7")) {
		t.Errorf("totals %v", got)
	}
}

// TestCO2ePerUnitIsExact checks the CO2e a calculator works out once per
// factor against the sum of each activity's per-gas terms: the same value
// with the same exponent (so the same text and run hash), for quantities of
// different exponents, a DESNZ-style CO2e part and a GWP of 1.
func TestCO2ePerUnitIsExact(t *testing.T) {
	c := NewUnits()
	gwps, err := LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	factors := []Factor{naturalGas(c),
		{ID: "mixed", ActivityType: "diesel", Per: c.MustParse("L"), KgPerUnit: map[string]decimal.Decimal{
			"CO2": dec("2.51279"), "CH4": dec("0.00026"), "N2O": dec("0.0311"), "CO2e": dec("0.5")}},
		{ID: "whole", ActivityType: "x", Per: c.MustParse("kg"), KgPerUnit: map[string]decimal.Decimal{"CO2": dec("3E2")}}}
	for _, set := range GWPSetIDs() {
		g, err := gwps.Set(set)
		if err != nil {
			t.Fatal(err)
		}
		calc := NewCalculator(set, g)
		for _, f := range factors {
			for _, q := range []string{"1", "12.5", "0.000301", "7E3", "123456789.987654321"} {
				a := Activity{ID: "a", Type: f.ActivityType, Quantity: Quantity{Value: dec(q), Unit: f.Per}}
				r, err := calc.ActivityFactor(a, f, 1, 0, MethodActivityFactor)
				if err != nil {
					t.Fatal(err)
				}
				want := decimal.Decimal{}
				for gas, kg := range r.KgByGas {
					if gas != "CO2e" {
						kg = kg.Mul(r.Explanation.GWPs[gas])
					}
					want = want.Add(kg)
				}
				if !r.CO2eKg.Equal(want) || r.CO2eKg.String() != want.String() || r.CO2eKg.Exponent() != want.Exponent() {
					t.Errorf("%s %s × %s: CO2e %s (exponent %d), term by term %s (exponent %d)",
						set, q, f.ID, r.CO2eKg, r.CO2eKg.Exponent(), want, want.Exponent())
				}
			}
		}
	}
	// A different factor under an id the calculator has seen is worked
	// out afresh, not taken for the one it met first.
	calc := NewCalculator("AR5", hubAR5{})
	f := factors[2]
	a := Activity{ID: "a", Type: "x", Quantity: Quantity{Value: dec("2"), Unit: f.Per}}
	if r, err := calc.ActivityFactor(a, f, 1, 0, MethodActivityFactor); err != nil || !r.CO2eKg.Equal(dec("600")) {
		t.Fatalf("first: %s %v", r.CO2eKg, err)
	}
	f.KgPerUnit = map[string]decimal.Decimal{"CO2": dec("1"), "CH4": dec("1")}
	if r, err := calc.ActivityFactor(a, f, 1, 0, MethodActivityFactor); err != nil || !r.CO2eKg.Equal(dec("58")) {
		t.Fatalf("same id, new values: %s %v, want 58", r.CO2eKg, err)
	}
	// A gas without a GWP is refused every time, naming the factor.
	f.KgPerUnit = map[string]decimal.Decimal{"XYZ": dec("1")}
	for range 2 {
		if _, err := calc.ActivityFactor(a, f, 1, 0, MethodActivityFactor); err == nil || !strings.Contains(err.Error(), `factor "whole"`) {
			t.Fatalf("unknown gas: %v", err)
		}
	}
}
