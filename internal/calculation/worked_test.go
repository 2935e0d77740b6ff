package calculation

// Worked examples with published answers (issue: "at least 15 worked
// examples with published answers ... each citing its source; exact or
// tolerance ≤ 1e-6 relative"). The EPA Hub Tables 2-10 examples are in
// worked_epa_test.go; these are DESNZ 2024, USEEIO v1.2, EPA Hub 2025 Tables
// 1, 6, 11 and 12, refrigerant leakage, scope 2 on both bases and the choice
// of GWP set.
//
// Each example hard-codes the number the publication prints and, when the
// publication is beside the project (../shared/data/factors), also reads it
// from the publication, so both a wrong importer and a wrong engine are
// caught. The answer is always worked from the printed number: quantity ×
// printed factor (× printed GWP where the publication gives per-gas masses).

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/table"
	"github.com/greenlang/greenlang/internal/xlsx"
)

// workedDataDir is where the publications are, relative to this package (the
// importer tests, one level deeper, use "../../../../shared/data/factors").
const workedDataDir = "../../../shared/data/factors/"

const (
	workedDESNZFile  = "desnz-ghg-conversion-factors-2024-flat-format-v1.1.xlsx"
	workedEPA25File  = "epa-ghg-emission-factors-hub-2025.xlsx"
	workedUSEEIOFile = "useeio-v1.2-supply-chain-factors-naics-2017-usd2021.csv"
	workedIPCCFile   = "ipcc-gwp.csv"
)

// workedRelTol is the tolerance. Every example below is in fact
// exact; the tolerance is there for the comparison the issue asks for.
var workedRelTol = decimal.New(1, -6)

// workedNumber reads a printed cell (" 1,924 ", "0.20705"); ok is false for a
// blank or non-numeric cell.
func workedNumber(s string) (decimal.Decimal, bool) {
	d, err := decimal.NewFromString(strings.ReplaceAll(strings.TrimSpace(s), ",", ""))
	return d, err == nil
}

// workedDec is workedNumber for numbers written in the tests themselves.
func workedDec(s string) decimal.Decimal {
	d, ok := workedNumber(s)
	if !ok {
		panic(fmt.Sprintf("worked example: %q is not a number", s))
	}
	return d
}

// workedCheck compares a result with the published answer: equal, or within
// workedRelTol relative. It returns the relative difference.
func workedCheck(t *testing.T, name string, got, want decimal.Decimal) decimal.Decimal {
	t.Helper()
	diff := got.Sub(want).Abs()
	rel := decimal.Zero
	if !want.IsZero() {
		rel = diff.DivRound(want.Abs(), 12)
	} else if !diff.IsZero() {
		rel = decimal.NewFromInt(1)
	}
	if rel.GreaterThan(workedRelTol) {
		t.Errorf("%s: got %s kg CO2e, published answer %s (relative difference %s > %s)", name, got, want, rel, workedRelTol)
	}
	return rel
}

// workedPublication is the missing-publication policy: the publications are
// not shipped with the project, so without them an example checks the
// engine against the hard-coded printed values only.
func workedPublication(t *testing.T, err error) bool {
	t.Helper()
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("publication not beside the project (%v): checking against the hard-coded printed values only", err)
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

var workedBuiltin = sync.OnceValues(func() (*Service, error) { return NewBuiltin() })

func workedService(t *testing.T) *Service {
	t.Helper()
	svc, err := workedBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// workedCalculate runs an activity file through the service and refuses any
// row error.
func workedCalculate(t *testing.T, svc *Service, in string, o Options) map[string]Line {
	t.Helper()
	rep, err := svc.CalculateFile(strings.NewReader(in), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Errors {
		t.Errorf("row refused: %v", e)
	}
	out := map[string]Line{}
	for _, l := range rep.Lines {
		out[l.Result.ActivityID] = l
	}
	return out
}

// workedDESNZRow is one row of the DESNZ flat file's "Factors by Category".
type workedDESNZRow struct {
	Row   int      // sheet row, as DESNZ numbers them
	Cells []string // ID, Scope, Level 1-4, Column Text, UOM, GHG/Unit, value (as printed)
}

var workedDESNZ = sync.OnceValues(func() (map[string]workedDESNZRow, error) {
	f, err := os.Open(workedDataDir + workedDESNZFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := xlsx.Rows(f, "Factors by Category")
	if err != nil {
		return nil, err
	}
	out := map[string]workedDESNZRow{}
	for i, r := range rows {
		if len(r) >= 10 && strings.Count(r[0], "_") >= 3 {
			out[strings.TrimSpace(r[0])] = workedDESNZRow{Row: i + 1, Cells: r}
		}
	}
	return out, nil
})

var workedEPA2025 = sync.OnceValues(func() ([][]string, error) {
	f, err := os.Open(workedDataDir + workedEPA25File)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return xlsx.Rows(f, "Emission Factors Hub")
})

func workedCell(r []string, c int) string {
	if c < len(r) {
		return strings.TrimSpace(r[c])
	}
	return ""
}

// workedEPATable returns the rows of one EPA Hub table: from its title in
// column B to the next table's title.
func workedEPATable(rows [][]string, name string) [][]string {
	start := -1
	for i, r := range rows {
		c := workedCell(r, 1)
		if start < 0 && c == name {
			start = i
			continue
		}
		if start >= 0 && strings.HasPrefix(c, "Table ") {
			return rows[start:i]
		}
	}
	if start < 0 {
		return nil
	}
	return rows[start:]
}

// DESNZ 2024 ("Greenhouse gas reporting: conversion factors 2024", flat
// file v1.1, sheet "Factors by Category"): the published answer is quantity ×
// the printed "kg CO2e" total of the activity, calculated through the
// service with the built-in library.
//
// The kg CO2e total is what DESNZ intends a reporter to use: DESNZ computes
// it from unrounded per-gas values and rounds it to five decimals, and
// prints each per-gas row rounded on its own. Where the printed per-gas rows
// do not add up to the printed total (84 activities in the 2024 flat file,
// among them every diesel car and van per km, taxis and sea tankers; here the
// regular taxi) the examples compare against the printed total.
func TestWorkedDESNZ2024(t *testing.T) {
	cases := []struct {
		line, activity, qty, unit, scope, category, method string
		desnzID                                            string // the flat file's ID of the kg CO2e row
		sheetRow                                           int
		printed                                            string // kg CO2e per unit, as printed
		partsSum                                           string // Σ printed per-gas rows; "" when DESNZ prints none
		factorID                                           string
		wantScope, wantCategory                            int
		answer                                             string // quantity × printed
	}{
		// Scope 1 mobile (fuel): Fuels / Liquid fuels / Diesel (average biofuel
		// blend), litres, ID 1_101_1011_8_1, row 187: 2.51279 kg CO2e per litre
		// (CO2 2.47960 + CH4 0.00029 + N2O 0.03290). 1000 L × 2.51279.
		{"diesel-van-fleet", "desnz:fuels/liquid_fuels/diesel_average_biofuel_blend", "1000", "L", "1", "", "mobile_combustion_fuel",
			"1_101_1011_8_1", 187, "2.51279", "2.51279", "desnz-2024-1_101_1011_8", 1, 0, "2512.79"},
		// Scope 1 fugitive: Refrigerant & other / Blends / R410A / Emissions
		// including only Kyoto products, kg, ID 3_201_2156_3_1, row 686: 1924 kg
		// CO2e per kg leaked. 12 kg × 1924.
		{"r410a-topup", "desnz:refrigerant_other/blends/r410a/emissions_including_only_kyoto_products", "12", "kg", "1", "", "",
			"3_201_2156_3_1", 686, "1924", "", "desnz-2024-3_201_2156_3", 1, 0, "23088"},
		// Scope 2 location: UK electricity / Electricity generated /
		// Electricity: UK / kWh, ID 7_400_4000_5_1, row 3066: 0.20705 kg CO2e
		// per kWh (CO2 0.20493 + CH4 0.00090 + N2O 0.00122). 12 500 kWh × 0.20705.
		{"grid-uk", "desnz:uk_electricity/electricity_generated/electricity_uk/kwh", "12500", "kWh", "2", "", "",
			"7_400_4000_5_1", 3066, "0.20705", "0.20705", "desnz-2024-7_400_4000_5", 2, 0, "2588.125"},
		// Scope 3 category 6: Business travel- air / Flights / Long-haul,
		// to/from UK / Economy class / Without RF, passenger.km, ID
		// 21_316_3171_11_1, row 4454: 0.11812 (CO2 0.11712 + CH4 0.00001 + N2O
		// 0.00099). 5540 passenger-km (LHR-JFK) × 0.11812.
		{"flight-lhr-jfk", "desnz:business_travel_air/flights/long_haul_to_from_uk/economy_class/without_rf", "5540", "passenger-km", "3", "6", "business_travel_air",
			"21_316_3171_11_1", 4454, "0.11812", "0.11812", "desnz-2024-21_316_3171_11", 3, 6, "654.3848"},
		// The same flight With RF, ID 21_316_3170_11_1, row 4450: 0.20011 (CO2
		// 0.19911 + CH4 0.00001 + N2O 0.00099). 5540 × 0.20011. How this
		// relates to the without-RF factor: TestWorkedDESNZRadiativeForcing.
		{"flight-lhr-jfk-rf", "desnz:business_travel_air/flights/long_haul_to_from_uk/economy_class/with_rf", "5540", "passenger-km", "3", "6", "business_travel_air",
			"21_316_3170_11_1", 4450, "0.20011", "0.20011", "desnz-2024-21_316_3170_11", 3, 6, "1108.6094"},
		// Scope 3 category 6: Business travel- land / Rail / National rail,
		// passenger.km, ID 25_315_3147_11_1, row 5461: 0.03546 (CO2 0.03510 +
		// CH4 0.00008 + N2O 0.00028). 1200 passenger-km × 0.03546.
		{"rail-london-leeds", "desnz:business_travel_land/rail/national_rail", "1200", "passenger-km", "3", "6", "business_travel_ground",
			"25_315_3147_11_1", 5461, "0.03546", "0.03546", "desnz-2024-25_315_3147_11", 3, 6, "42.552"},
		// Scope 3 category 6: Business travel- land / Taxis / Regular taxi,
		// passenger.km, ID 25_313_3141_11_1, row 5429: 0.14861 kg CO2e per
		// passenger-km. The per-gas rows print CO2 0.14742 + CH4 0.000003 + N2O
		// 0.00119 = 0.148613, three units of the sixth decimal above the total
		// (the CH4 cell holds 3.3152E-6, shown rounded; DESNZ totals the
		// unrounded gases and rounds the total to five decimals): compared
		// against the printed total 0.14861, which DESNZ intends. 350
		// passenger-km × 0.14861.
		{"taxi-client-visits", "desnz:business_travel_land/taxis/regular_taxi", "350", "passenger-km", "3", "6", "business_travel_ground",
			"25_313_3141_11_1", 5429, "0.14861", "0.148613", "desnz-2024-25_313_3141_11", 3, 6, "52.0135"},
		// Scope 3 category 6: Hotel stay / Hotel stay / UK, Room per night, ID
		// 29_600_4000_13_1, row 7395: 10.4 kg CO2e per room-night (no per-gas
		// rows). 14 nights × 10.4.
		{"hotel-uk", "desnz:hotel_stay/hotel_stay/uk", "14", "room-night", "3", "6", "business_travel_hotel",
			"29_600_4000_13_1", 7395, "10.4", "", "desnz-2024-29_600_4000_13", 3, 6, "145.6"},
		// Scope 3 category 4: Freighting goods / HGV (all diesel) / All HGVs /
		// Average laden, tonne.km, ID 27_304_3140_14_1, row 6389: 0.09752 (CO2
		// 0.09601 + CH4 0.00002 + N2O 0.00149). 20 t × 1250 km = 25 000
		// tonne-km × 0.09752.
		{"inbound-hgv", "desnz:freighting_goods/hgv_all_diesel/all_hgvs/average_laden", "25000", "tonne-km", "3", "4", "freight_distance",
			"27_304_3140_14_1", 6389, "0.09752", "0.09752", "desnz-2024-27_304_3140_14", 3, 4, "2438"},
	}

	pub, err := workedDESNZ()
	have := workedPublication(t, err)
	var in strings.Builder
	in.WriteString("id,activity_type,quantity,unit,period_start,region,scope,category,method\n")
	for _, c := range cases {
		// The answer is worked from the printed factor, not taken on trust.
		if a := workedDec(c.qty).Mul(workedDec(c.printed)); !a.Equal(workedDec(c.answer)) {
			t.Fatalf("%s: %s × %s = %s, not the stated answer %s", c.line, c.qty, c.printed, a, c.answer)
		}
		if have {
			r, ok := pub[c.desnzID]
			if !ok {
				t.Errorf("%s: DESNZ 2024 has no row %s", c.line, c.desnzID)
				continue
			}
			if r.Row != c.sheetRow || workedCell(r.Cells, 8) != "kg CO2e" {
				t.Errorf("%s: %s is on row %d as %q, want row %d, kg CO2e", c.line, c.desnzID, r.Row, workedCell(r.Cells, 8), c.sheetRow)
			}
			if v, ok := workedNumber(workedCell(r.Cells, 9)); !ok || !v.Equal(workedDec(c.printed)) {
				t.Errorf("%s: DESNZ prints %q on row %d, the example says %s", c.line, workedCell(r.Cells, 9), r.Row, c.printed)
			}
			stem := strings.TrimSuffix(c.desnzID, "_1")
			sum, parts := decimal.Zero, 0
			for i := 2; i <= 4; i++ {
				p, ok := pub[fmt.Sprintf("%s_%d", stem, i)]
				if !ok {
					continue
				}
				v, ok := workedNumber(workedCell(p.Cells, 9))
				if !ok || !strings.HasPrefix(workedCell(p.Cells, 8), "kg CO2e of ") {
					t.Errorf("%s: per-gas row %d is %q %q", c.line, p.Row, workedCell(p.Cells, 8), workedCell(p.Cells, 9))
					continue
				}
				sum, parts = sum.Add(v), parts+1
			}
			switch {
			case c.partsSum == "" && parts != 0:
				t.Errorf("%s: DESNZ prints %d per-gas rows, the example says none", c.line, parts)
			case c.partsSum != "" && (parts != 3 || !sum.Equal(workedDec(c.partsSum))):
				t.Errorf("%s: printed per-gas rows (%d) add up to %s, the example says %s", c.line, parts, sum, c.partsSum)
			}
		}
		fmt.Fprintf(&in, "%s,%s,%s,%s,2024-06-01,UK,%s,%s,%s\n", c.line, c.activity, c.qty, c.unit, c.scope, c.category, c.method)
	}

	svc := workedService(t)
	for _, gwp := range ghg.GWPSetIDs() {
		// DESNZ totals are CO2e already: the GWP set must not change them.
		lines := workedCalculate(t, svc, in.String(), Options{GWPSet: gwp})
		for _, c := range cases {
			l, ok := lines[c.line]
			if !ok {
				t.Errorf("%s (%s): no result", c.line, gwp)
				continue
			}
			r := l.Result
			rel := workedCheck(t, c.line+" under "+gwp, r.CO2eKg, workedDec(c.answer))
			if r.Explanation.FactorID != c.factorID || !strings.Contains(r.Explanation.Factor.SourceRow, fmt.Sprintf("%s (", c.desnzID)) ||
				!strings.Contains(r.Explanation.Factor.SourceRow, fmt.Sprintf("row %d)", c.sheetRow)) {
				t.Errorf("%s: factor %s cites %q, want %s citing %s row %d", c.line, r.Explanation.FactorID, r.Explanation.Factor.SourceRow, c.factorID, c.desnzID, c.sheetRow)
			}
			if r.Scope != c.wantScope || r.Category != c.wantCategory {
				t.Errorf("%s: scope %d category %d, want %d %d", c.line, r.Scope, r.Category, c.wantScope, c.wantCategory)
			}
			if gwp == ghg.AR5 {
				t.Logf("%-18s %s %s × %s (DESNZ 2024 %s, row %d) = %s; engine %s (rel. diff %s)", c.line, c.qty, c.unit, c.printed, c.desnzID, c.sheetRow, c.answer, r.CO2eKg, rel)
			}
		}
	}
}

// DESNZ 2024, natural gas per kWh on a gross calorific basis: Fuels /
// Gaseous fuels / Natural gas, kWh (Gross CV), ID 1_100_1004_6_1, row 83:
// 0.18290 kg CO2e per kWh (CO2 0.18253 + CH4 0.00028 + N2O 0.00009). 100 000
// kWh × 0.18290 = 18 290 kg CO2e.
//
// DESNZ prints Gross CV 0.18290 and Net CV 0.20264 for the same kWh, so the
// row states its basis (heat_basis); without one it is refused as
// ambiguous. The example runs through the ghg package and the service.
func TestWorkedDESNZNaturalGasGrossCV(t *testing.T) {
	const printed, answer = "0.18290", "18290"
	if pub, err := workedDESNZ(); workedPublication(t, err) {
		r := pub["1_100_1004_6_1"]
		if r.Row != 83 || workedCell(r.Cells, 7) != "kWh (Gross CV)" || workedCell(r.Cells, 9) != printed {
			t.Errorf("DESNZ 2024 row %d: %q per %q, want %s per kWh (Gross CV) on row 83", r.Row, workedCell(r.Cells, 9), workedCell(r.Cells, 7), printed)
		}
	}
	svc := workedService(t)
	f, ok := svc.Factor("desnz-2024-1_100_1004_6-hhv")
	if !ok || f.PerBasis != ghg.HHV {
		t.Fatalf("no Gross CV natural gas factor: %+v", f)
	}
	set, err := svc.gwps.Set(ghg.AR5)
	if err != nil {
		t.Fatal(err)
	}
	a := ghg.Activity{ID: "boiler-uk", Type: f.ActivityType, Region: "UK", Quantity: ghg.Quantity{Value: workedDec("100000"), Unit: svc.Units().MustParse("kWh")},
		PeriodStart: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	r, err := ghg.NewCalculator(set.ID(), set).StationaryCombustion(a, f)
	if err != nil {
		t.Fatal(err)
	}
	rel := workedCheck(t, "natural gas 100 000 kWh (Gross CV)", r.CO2eKg, workedDec(answer))
	t.Logf("100000 kWh (Gross CV) × %s = %s; engine %s (rel. diff %s)", printed, answer, r.CO2eKg, rel)

	// Through the service: with the basis stated the answer is the same;
	// without it the row is refused, naming the missing basis.
	rep, err := svc.CalculateFile(strings.NewReader("id,activity_type,quantity,unit,period_start,region,scope,method,heat_basis\n"+
		"boiler-uk,desnz:fuels/gaseous_fuels/natural_gas,100000,kWh,2024-06-01,UK,1,stationary_combustion,gross\n"+
		"boiler-uk-2,desnz:fuels/gaseous_fuels/natural_gas,100000,kWh,2024-06-01,UK,1,stationary_combustion,\n"), Options{GWPSet: "AR5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lines) != 1 || !rep.Lines[0].Result.CO2eKg.Equal(workedDec(answer)) {
		t.Errorf("service with heat_basis gross: %+v", rep.Lines)
	}
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Reason, "calorific basis") {
		t.Errorf("service: %d results, errors %v; want the row without a basis refused for want of a calorific basis", len(rep.Lines), rep.Errors)
	}
}

// DESNZ 2024, scope 1 mobile by distance: Passenger vehicles / Cars (by
// size) / Average car / Diesel, km, ID 4_301_3069_4_1, row 1796: 0.16984 kg
// CO2e per km (per-gas rows CO2 0.16817 + CH4 0.000005 + N2O 0.00167 =
// 0.169845: the CH4 cell holds 4.6368E-6, shown rounded, so the printed total
// 0.16984 is what DESNZ intends and what is compared). 800 km × 0.16984 =
// 135.872 kg CO2e.
//
// DESNZ prints the car per km (4_301_3069_4) and per mile (4_301_3069_9),
// both of dimension vehicle distance and the same edition: selection takes
// the factor per the activity's own unit (ghg.Query.Unit).
func TestWorkedDESNZDieselCarPerKm(t *testing.T) {
	const printed, answer = "0.16984", "135.872"
	if pub, err := workedDESNZ(); workedPublication(t, err) {
		r := pub["4_301_3069_4_1"]
		if r.Row != 1796 || workedCell(r.Cells, 7) != "km" || workedCell(r.Cells, 9) != printed {
			t.Errorf("DESNZ 2024 row %d: %q per %q, want %s per km on row 1796", r.Row, workedCell(r.Cells, 9), workedCell(r.Cells, 7), printed)
		}
	}
	svc := workedService(t)
	// The factor itself is right: through the ghg package the answer is exact.
	f, ok := svc.Factor("desnz-2024-4_301_3069_4")
	if !ok {
		t.Fatal("no DESNZ 2024 average diesel car per km factor")
	}
	set, err := svc.gwps.Set(ghg.AR5)
	if err != nil {
		t.Fatal(err)
	}
	a := ghg.Activity{ID: "pool-car-diesel", Type: f.ActivityType, Region: "UK", Quantity: ghg.Quantity{Value: workedDec("800"), Unit: svc.Units().MustParse("vehicle-km")},
		PeriodStart: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
	r, err := ghg.NewCalculator(set.ID(), set).Apply(ghg.MethodMobileDistance, a, f, 0)
	if err != nil {
		t.Fatal(err)
	}
	workedCheck(t, "average diesel car 800 km (ghg package)", r.CO2eKg, workedDec(answer))

	rep, err := svc.CalculateFile(strings.NewReader("id,activity_type,quantity,unit,period_start,region,scope,method\n"+
		"pool-car-diesel,desnz:passenger_vehicles/cars_by_size/average_car/diesel,800,vehicle-km,2024-06-01,UK,1,mobile_combustion_distance\n"), Options{GWPSet: "AR5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 || len(rep.Lines) != 1 {
		t.Fatalf("the service refuses a car journey in km: %v", rep.Errors)
	}
	workedCheck(t, "average diesel car 800 km (service)", rep.Lines[0].Result.CO2eKg, workedDec(answer))
	if id := rep.Lines[0].Result.Explanation.FactorID; id != f.ID {
		t.Errorf("factor %s, want %s", id, f.ID)
	}
}

// DESNZ 2024 prints each flight both "With RF" and "Without RF". From the
// printed numbers, for every one of the 14 flight classes on "Business
// travel- air / Flights":
//
//   - the CH4 and N2O rows are the same with and without RF;
//   - the with-RF CO2 row is 1.7 × the without-RF CO2 row computed before
//     rounding: |CO2_with − 1.7 × CO2_without| ≤ 0.000005 + 1.7 × 0.000005 =
//     0.0000135 (the largest seen is 0.000013, short-haul average passenger;
//     long-haul economy 0.19911 vs 1.7 × 0.11712 = 0.199104);
//   - the printed totals differ by exactly the difference of the printed CO2
//     rows (long-haul economy: 0.20011 − 0.11812 = 0.19911 − 0.11712 = 0.08199).
//
// So DESNZ's relation is "total with RF = total without RF + 0.7 × CO2
// without RF", in unrounded numbers. An uplift of 1.7 on the printed CO2 part
// therefore does not reproduce the printed with-RF factor exactly: for
// long-haul economy it gives 0.11812 + 0.7 × 0.11712 = 0.200104 per
// passenger-km against the printed 0.20011 (3.0e-5 relative, above the
// issue's 1e-6, and 0.20010 ≠ 0.20011 even at the printed precision). Only
// the relation within DESNZ's rounding is tested here; the with-RF answer
// itself is tested through DESNZ's own with-RF factor (TestWorkedDESNZ2024).
func TestWorkedDESNZRadiativeForcing(t *testing.T) {
	// Long-haul, to/from UK, economy class, rows 4450-4457.
	co2With, co2Without := workedDec("0.19911"), workedDec("0.11712")
	totWith, totWithout := workedDec("0.20011"), workedDec("0.11812")
	uplift := workedDec("1.7")
	bound := workedDec("0.0000135")
	if d := co2With.Sub(co2Without.Mul(uplift)).Abs(); d.GreaterThan(bound) {
		t.Errorf("long-haul economy: |%s − 1.7 × %s| = %s > %s", co2With, co2Without, d, bound)
	}
	if !totWith.Sub(totWithout).Equal(co2With.Sub(co2Without)) {
		t.Errorf("long-haul economy: totals differ by %s, CO2 rows by %s", totWith.Sub(totWithout), co2With.Sub(co2Without))
	}
	pub, err := workedDESNZ()
	if !workedPublication(t, err) {
		return
	}
	type key struct{ haul, class, rf, gas string }
	v := map[key]decimal.Decimal{}
	classes := map[[2]string]bool{}
	for _, r := range pub {
		c := r.Cells
		if workedCell(c, 2) != "Business travel- air" || workedCell(c, 3) != "Flights" {
			continue
		}
		x, ok := workedNumber(workedCell(c, 9))
		if !ok {
			continue
		}
		v[key{workedCell(c, 4), workedCell(c, 5), workedCell(c, 6), workedCell(c, 8)}] = x
		classes[[2]string{workedCell(c, 4), workedCell(c, 5)}] = true
	}
	if len(classes) != 14 {
		t.Errorf("%d flight classes, want 14", len(classes))
	}
	const tot, co2, ch4, n2o = "kg CO2e", "kg CO2e of CO2 per unit", "kg CO2e of CH4 per unit", "kg CO2e of N2O per unit"
	for _, hc := range slices.SortedFunc(maps.Keys(classes), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) }) {
		get := func(rf, gas string) decimal.Decimal {
			x, ok := v[key{hc[0], hc[1], rf, gas}]
			if !ok {
				t.Errorf("%s %s: no %s %s row", hc[0], hc[1], rf, gas)
			}
			return x
		}
		w, wo := get("With RF", co2), get("Without RF", co2)
		if d := w.Sub(wo.Mul(uplift)).Abs(); d.GreaterThan(bound) {
			t.Errorf("%s %s: CO2 with RF %s, 1.7 × %s = %s: off by %s, more than rounding allows", hc[0], hc[1], w, wo, wo.Mul(uplift), d)
		}
		for _, g := range []string{ch4, n2o} {
			if !get("With RF", g).Equal(get("Without RF", g)) {
				t.Errorf("%s %s: %s differs with RF", hc[0], hc[1], g)
			}
		}
		if !get("With RF", tot).Sub(get("Without RF", tot)).Equal(w.Sub(wo)) {
			t.Errorf("%s %s: totals and CO2 rows differ by different amounts", hc[0], hc[1])
		}
	}
}

// The engine's own radiative-forcing uplift (Options.RFUplift, documented
// as "multiplies the CO2 part") applied to DESNZ's without-RF long-haul
// economy factor. DESNZ prints that factor's CO2 part as 0.11712, so with an
// uplift of 1.7 the documented semantics give 5540 × (0.11812 + 0.7 ×
// 0.11712) = 1108.57616 kg CO2e (DESNZ's own with-RF factor gives 1108.6094;
// see TestWorkedDESNZRadiativeForcing for why they differ).
// The DESNZ importer splits the printed CO2 part out of the total (gas CO2,
// the rest as CO2e), so the uplift applies to it.
func TestWorkedDESNZRFUpliftOnCO2Part(t *testing.T) {
	svc := workedService(t)
	in := "id,activity_type,quantity,unit,period_start,region,scope,category,method\n" +
		"flight-lhr-jfk,desnz:business_travel_air/flights/long_haul_to_from_uk/economy_class/without_rf,5540,passenger-km,2024-06-01,UK,3,6,business_travel_air\n"
	lines := workedCalculate(t, svc, in, Options{GWPSet: "AR5", RFUplift: workedDec("1.7")})
	got := lines["flight-lhr-jfk"].Result.CO2eKg
	without := workedDec("5540").Mul(workedDec("0.11812"))
	want := workedDec("5540").Mul(workedDec("0.11812").Add(workedDec("0.7").Mul(workedDec("0.11712"))))
	if !want.Equal(workedDec("1108.57616")) {
		t.Fatalf("worked answer %s", want)
	}
	if got.Equal(without) {
		t.Errorf("RF uplift 1.7 had no effect: %s kg CO2e, the same as without RF; want %s (uplift on DESNZ's printed CO2 part 0.11712)", got, want)
	} else {
		workedCheck(t, "flight with rf_uplift 1.7", got, want)
	}
}

// USEEIO v1.2 supply chain GHG emission factors (US EPA, NAICS 2017, kg CO2e
// per 2021 USD, purchaser price), the CSV as published: spend-based scope 3
// category 1, answer = spend × the printed "Supply Chain Emission Factors
// with Margins" (which the file prints as without margins + margins).
func TestWorkedUSEEIOSpendBased(t *testing.T) {
	cases := []struct {
		naics, title, without, margins, with, spend, answer string
		line                                                int
	}{
		// 327310 Cement Manufacturing (file line 3): 3.768 + 0.09 = 3.858.
		// 25 000 USD (2021) × 3.858.
		{"327310", "Cement Manufacturing", "3.768", "0.09", "3.858", "25000", "96450", 3},
		// 541511 Custom Computer Programming Services (line 885): 0.097.
		// 120 000 USD (2021) × 0.097.
		{"541511", "Custom Computer Programming Services", "", "", "0.097", "120000", "11640", 885},
	}
	if f, err := os.Open(workedDataDir + workedUSEEIOFile); workedPublication(t, err) {
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		hdr := recs[0]
		col := func(name string) int {
			i := slices.Index(hdr, name)
			if i < 0 {
				t.Fatalf("no column %q in %v", name, hdr)
			}
			return i
		}
		cCode, cWithout, cMargins, cWith := col("2017 NAICS Code"), col("Supply Chain Emission Factors without Margins"), col("Margins of Supply Chain Emission Factors"), col("Supply Chain Emission Factors with Margins")
		for _, c := range cases {
			var found []string
			line := 0
			for i, r := range recs {
				if r[cCode] == c.naics {
					found, line = r, i+1
				}
			}
			if found == nil {
				t.Errorf("NAICS %s not in USEEIO v1.2", c.naics)
				continue
			}
			if line != c.line || workedDec(found[cWith]).Cmp(workedDec(c.with)) != 0 || !strings.Contains(found[1], c.title) {
				t.Errorf("NAICS %s: line %d %q with margins %s, want line %d %q %s", c.naics, line, found[1], found[cWith], c.line, c.title, c.with)
			}
			if !workedDec(found[cWithout]).Add(workedDec(found[cMargins])).Equal(workedDec(found[cWith])) {
				t.Errorf("NAICS %s: %s + %s ≠ %s", c.naics, found[cWithout], found[cMargins], found[cWith])
			}
			if c.without != "" && (!workedDec(found[cWithout]).Equal(workedDec(c.without)) || !workedDec(found[cMargins]).Equal(workedDec(c.margins))) {
				t.Errorf("NAICS %s: without margins %s, margins %s", c.naics, found[cWithout], found[cMargins])
			}
		}
	}
	var in strings.Builder
	in.WriteString("id,activity_type,quantity,unit,period_start,region,price_year,scope,category,method\n")
	for _, c := range cases {
		if !workedDec(c.spend).Mul(workedDec(c.with)).Equal(workedDec(c.answer)) {
			t.Fatalf("%s: worked answer", c.naics)
		}
		fmt.Fprintf(&in, "po-%s,naics:%s,%s,USD,2024-06-01,US,2021,3,1,spend_based\n", c.naics, c.naics, c.spend)
	}
	lines := workedCalculate(t, workedService(t), in.String(), Options{GWPSet: "AR5"})
	for _, c := range cases {
		r := lines["po-"+c.naics].Result
		rel := workedCheck(t, "NAICS "+c.naics, r.CO2eKg, workedDec(c.answer))
		if r.Explanation.FactorID != "useeio-v1.2-"+c.naics || r.Scope != 3 || r.Category != 1 || r.Explanation.Method != ghg.MethodSpendBased {
			t.Errorf("NAICS %s: %s scope %d category %d %s", c.naics, r.Explanation.FactorID, r.Scope, r.Category, r.Explanation.Method)
		}
		t.Logf("NAICS %s: %s USD (2021) × %s = %s; engine %s (rel. diff %s)", c.naics, c.spend, c.with, c.answer, r.CO2eKg, rel)
	}
}

// EPA GHG Emission Factors Hub 2025 (last modified January 15, 2025):
// the GWPs printed at the top of the sheet (IPCC AR5: CH4 28, N2O 265) and
// Table 1 Stationary Combustion, Natural Gas (sheet row 38): heat content
// 0.001026 mmBtu per scf, 53.06 kg CO2, 1.0 g CH4 and 0.10 g N2O per mmBtu,
// and per scf 0.05444 kg CO2, 0.00103 g CH4, 0.00010 g N2O.
//
// 1000 mmBtu: 1000 × (53.06 + 0.0010 × 28 + 0.00010 × 265) = 53 114.5 kg CO2e.
// 250 Mscf = 250 000 scf × 0.001026 = 256.5 mmBtu: 256.5 × 53.1145 =
// 13 623.86925 kg CO2e. The per-scf factors the Hub prints are the per-mmBtu
// ones × 0.001026 rounded (53.06 × 0.001026 = 0.05443956 → 0.05444), so the
// engine's per-scf values are compared with them at the printed precision.
func TestWorkedEPAHub2025Table1NaturalGas(t *testing.T) {
	printed := map[string]string{"GWP CH4": "28", "GWP N2O": "265", "HHV": "0.001026", "CO2": "53.06", "CH4 g": "1.0", "N2O g": "0.10",
		"CO2/scf": "0.05444", "CH4 g/scf": "0.00103", "N2O g/scf": "0.00010"}
	if rows, err := workedEPA2025(); workedPublication(t, err) {
		got := map[string]string{}
		for _, r := range rows[:12] {
			if g := workedCell(r, 2); g == "CH4" || g == "N2O" {
				got["GWP "+g] = workedCell(r, 3)
			}
		}
		for _, r := range workedEPATable(rows, "Table 1") {
			if workedCell(r, 2) == "Natural Gas" && workedCell(r, 3) != "" {
				for i, k := range []string{"HHV", "CO2", "CH4 g", "N2O g", "CO2/scf", "CH4 g/scf", "N2O g/scf"} {
					got[k] = workedCell(r, 3+i)
				}
				break
			}
		}
		for k, want := range printed {
			if got[k] != want {
				t.Errorf("EPA Hub 2025 prints %s %q, the example says %s", k, got[k], want)
			}
		}
	}
	perMMBtu := workedDec(printed["CO2"]).
		Add(workedDec(printed["CH4 g"]).Div(workedDec("1000")).Mul(workedDec(printed["GWP CH4"]))).
		Add(workedDec(printed["N2O g"]).Div(workedDec("1000")).Mul(workedDec(printed["GWP N2O"])))
	if !perMMBtu.Equal(workedDec("53.1145")) {
		t.Fatalf("per mmBtu %s", perMMBtu)
	}
	in := "id,activity_type,quantity,unit,period_start,region,scope,method\n" +
		"boiler-mmbtu,natural_gas,1000,mmBtu,2025-03-01,US,1,stationary_combustion\n" +
		"boiler-scf,natural_gas,250,Mscf,2025-03-01,US,1,stationary_combustion\n"
	lines := workedCalculate(t, workedService(t), in, Options{GWPSet: "AR5"})
	for id, answer := range map[string]string{"boiler-mmbtu": "53114.5", "boiler-scf": "13623.86925"} {
		r := lines[id].Result
		rel := workedCheck(t, id, r.CO2eKg, workedDec(answer))
		if r.Explanation.FactorID != "epa-hub-2025-t1-natural_gas" || r.Scope != 1 {
			t.Errorf("%s: factor %s scope %d", id, r.Explanation.FactorID, r.Scope)
		}
		t.Logf("%s: published %s kg CO2e; engine %s (rel. diff %s)", id, answer, r.CO2eKg, rel)
	}
	// Per scf at the Hub's printed precision (it rounds).
	scf := lines["boiler-scf"].Result
	n := workedDec("250000")
	for gas, want := range map[string]struct {
		printed string
		scale   string
		places  int32
	}{"CO2": {printed["CO2/scf"], "1", 5}, "CH4": {printed["CH4 g/scf"], "1000", 5}, "N2O": {printed["N2O g/scf"], "1000", 5}} {
		per := scf.KgByGas[gas].Mul(workedDec(want.scale)).Div(n)
		if !per.Round(want.places).Equal(workedDec(want.printed)) {
			t.Errorf("per scf %s: engine %s rounds to %s, the Hub prints %s", gas, per, per.Round(want.places), want.printed)
		}
	}
}

// EPA GHG Emission Factors Hub 2025, Table 6 Electricity (eGRID2023), row
// RFCW "RFC West" (sheet row 357), total output: 911.3 lb CO2, 0.071 lb CH4,
// 0.010 lb N2O per MWh; GWPs as printed at the top of the sheet (AR5, 28 and
// 265). Location-based scope 2 for 250 MWh:
// 250 × (911.3 + 0.071 × 28 + 0.010 × 265) lb × 0.45359237 kg/lb
// = 250 × 915.938 × 0.45359237 = 103 865.62 kg CO2e (exactly
// 103865.622048265).
func TestWorkedEPAHub2025Table6Grid(t *testing.T) {
	co2, ch4, n2o := "911.3", "0.071", "0.010"
	if rows, err := workedEPA2025(); workedPublication(t, err) {
		found := false
		for _, r := range workedEPATable(rows, "Table 6") {
			if workedCell(r, 2) == "RFCW" {
				found = true
				if workedCell(r, 3) != "RFC West" || workedCell(r, 4) != co2 || workedCell(r, 5) != ch4 || workedCell(r, 6) != n2o {
					t.Errorf("EPA Hub 2025 Table 6 RFCW prints %q", r[2:7])
				}
			}
		}
		if !found {
			t.Error("no RFCW row in Table 6")
		}
	}
	answer := workedDec("250").Mul(workedDec("0.45359237")).
		Mul(workedDec(co2).Add(workedDec(ch4).Mul(workedDec("28"))).Add(workedDec(n2o).Mul(workedDec("265"))))
	if !answer.Equal(workedDec("103865.622048265")) {
		t.Fatalf("worked answer %s", answer)
	}
	in := "id,activity_type,quantity,unit,period_start,region,scope\n" +
		"plant-pittsburgh,electricity,250,MWh,2025-03-01,US-RFCW,2\n"
	r := workedCalculate(t, workedService(t), in, Options{GWPSet: "AR5"})["plant-pittsburgh"].Result
	rel := workedCheck(t, "RFCW 250 MWh", r.CO2eKg, answer)
	if r.Explanation.FactorID != "epa-hub-2025-t6-rfcw" || r.Scope != 2 {
		t.Errorf("factor %s scope %d", r.Explanation.FactorID, r.Scope)
	}
	t.Logf("RFCW 250 MWh: published %s kg CO2e; engine %s (rel. diff %s)", answer, r.CO2eKg, rel)
}

// workedEPAGas maps EPA's designation of a gas to the engine's name where
// they differ: EPA Hub Table 11 lists PFC-116 as C2F6 and PFC-218 as C3F8,
// the names the IPCC compilation (and so the engine) uses.
func workedEPAGas(s string) string {
	if g, ok := map[string]string{"PFC-116": "C2F6", "PFC-218": "C3F8"}[s]; ok {
		return g
	}
	return s
}

var workedPct = regexp.MustCompile(`^([0-9.]+)%\s+(\S+)$`)

// EPA GHG Emission Factors Hub 2025, Table 12 Global Warming Potential (GWP)
// for Blended Refrigerants (AR5, IPCC 2013, Ch. 8 Table 8.A.1): each blend's
// 100-year GWP and its composition. Blend GWPs are computed with the engine
// (GWPSet.BlendGWP, AR5) from the printed composition and compared with the
// printed GWP after rounding half up to an integer: the comparison is at the
// publication's printed precision, because the publication rounds (R-410A is
// exactly 0.5 × 677 + 0.5 × 3170 = 1923.5, printed 1,924).
//
// Table 12 counts only the HFCs and PFCs of a blend: R-402A (38% HCFC-22,
// 60% HFC-125, 2% propane) is printed 1,902 = 0.60 × 3170, and R-406A, R-409A,
// R-414A/B (HCFCs and hydrocarbons only) are printed 0. Blends with an HCFC
// or a hydrocarbon are therefore not compared with the engine, whose blend
// GWP counts every component.
//
// With the publication beside the project, every HFC/PFC-only blend of Table
// 12 (10 of them) is compared, the compositions of ghg.KnownBlends are checked
// against Table 12, and the AR5 GWPs of Table 11 (32 gases) against the
// engine's AR5 set.
func TestWorkedEPAHub2025Table12Blends(t *testing.T) {
	gwpTable, err := ghg.LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	ar5, err := gwpTable.Set(ghg.AR5)
	if err != nil {
		t.Fatal(err)
	}
	pct := func(p string) decimal.Decimal { return workedDec(p).Div(workedDec("100")) }
	known := map[string]ghg.Blend{}
	for _, b := range ghg.KnownBlends() {
		known[b.Name] = b
	}
	cases := []struct {
		name, printed, exact string
		blend                ghg.Blend
	}{
		// Row 575: R-410A 1,924, 50% HFC-32, 50% HFC-125: 338.5 + 1585 = 1923.5.
		{"R-410A", "1924", "1923.5", known["R-410A"]},
		// Row 567: R-404A 3,943, 44% HFC-125, 4% HFC-134a, 52% HFC-143a:
		// 1394.8 + 52 + 2496 = 3942.8.
		{"R-404A", "3943", "3942.8", known["R-404A"]},
		// Row 571: R-407C 1,624, 23% HFC-32, 25% HFC-125, 52% HFC-134a:
		// 155.71 + 792.5 + 676 = 1624.21.
		{"R-407C", "1624", "1624.21", known["R-407C"]},
		// Row 588: R-507A 3,985, 50% HFC-125, 50% HFC-143a: 1585 + 2400 = 3985
		// (not among ghg.KnownBlends; composition as printed).
		{"R-507A", "3985", "3985", ghg.Blend{Name: "R-507A", Components: map[string]decimal.Decimal{"HFC-125": pct("50"), "HFC-143a": pct("50")}}},
	}
	for _, c := range cases {
		if c.blend.Name == "" {
			t.Errorf("%s: not among ghg.KnownBlends", c.name)
			continue
		}
		g, err := ar5.BlendGWP(c.blend)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !g.Equal(workedDec(c.exact)) || !g.Round(0).Equal(workedDec(c.printed)) {
			t.Errorf("%s: engine AR5 GWP %s (rounds to %s), want %s, printed %s", c.name, g, g.Round(0), c.exact, c.printed)
		}
		t.Logf("%s: engine AR5 GWP %s, rounded half up %s; EPA Hub 2025 Table 12 prints %s", c.name, g, g.Round(0), c.printed)
	}

	rows, err := workedEPA2025()
	if !workedPublication(t, err) {
		return
	}
	// Table 11 (AR5 GWPs) as printed must be the engine's AR5 GWPs.
	t11 := 0
	for _, r := range workedEPATable(rows, "Table 11") {
		// Columns: industrial designation or common name, chemical formula, GWP.
		name, formula := workedCell(r, 2), workedCell(r, 3)
		v, ok := workedNumber(workedCell(r, 4))
		if !ok {
			continue
		}
		g, err := ar5.GWP(workedEPAGas(name))
		if err != nil { // the engine names CO2, CH4, N2O, SF6, NF3 and PFCs by formula
			g, err = ar5.GWP(formula)
		}
		if err != nil {
			t.Errorf("Table 11 %s (%s): %v", name, formula, err)
			continue
		}
		if !g.Equal(v) {
			t.Errorf("Table 11 %s: EPA prints %s, the engine's AR5 is %s", name, v, g)
		}
		t11++
	}
	if t11 < 30 {
		t.Errorf("%d Table 11 rows read", t11)
	}
	compared, printedBlends := 0, map[string]bool{}
	for _, r := range workedEPATable(rows, "Table 12") {
		name := workedCell(r, 2)
		want, ok := workedNumber(workedCell(r, 3))
		if !strings.HasPrefix(name, "R-") || !ok {
			continue
		}
		printedBlends[name] = true
		b := ghg.Blend{Name: name, Components: map[string]decimal.Decimal{}}
		kyoto := true
		for _, p := range strings.Split(workedCell(r, 4), ",") {
			m := workedPct.FindStringSubmatch(strings.TrimSpace(p))
			if m == nil {
				t.Errorf("%s: composition %q", name, workedCell(r, 4))
				kyoto = false
				break
			}
			if !strings.HasPrefix(m[2], "HFC-") && !strings.HasPrefix(m[2], "PFC-") {
				kyoto = false
			}
			b.Components[workedEPAGas(m[2])] = pct(m[1])
		}
		if k, ok := known[name]; ok && !maps.EqualFunc(k.Components, b.Components, decimal.Decimal.Equal) {
			t.Errorf("%s: ghg.KnownBlends composition %v, EPA Table 12 prints %v", name, k.Components, b.Components)
		}
		for _, c := range cases {
			if c.name == name && !want.Equal(workedDec(c.printed)) {
				t.Errorf("%s: EPA Hub 2025 Table 12 prints %s, the example says %s", name, want, c.printed)
			}
		}
		if !kyoto {
			continue
		}
		g, err := ar5.BlendGWP(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !g.Round(0).Equal(want) {
			t.Errorf("%s: engine AR5 GWP %s rounds to %s, EPA Hub 2025 Table 12 prints %s", name, g, g.Round(0), want)
		}
		compared++
	}
	for _, c := range cases {
		if !printedBlends[c.name] {
			t.Errorf("%s not in Table 12", c.name)
		}
	}
	t.Logf("%d HFC/PFC-only blends of Table 12 match at the printed precision", compared)
	if compared < 10 {
		t.Errorf("only %d blends compared", compared)
	}
}

// Refrigerant leakage in kg CO2e with the engine's blend support and AR5
// GWPs (the GHG Protocol / EPA mass balance and screening methods), compared
// with the per-kg factors the publications print: EPA Hub 2025 Table 12 and
// DESNZ 2024 (Refrigerant & other / Blends, ID 3_201_2156_3_1, row 686) both
// print R-410A as 1,924 kg CO2e per kg, EPA Table 12 prints R-404A as 3,943.
// The engine keeps the unrounded AR5 blend GWP, so the result per kg is
// compared with the printed factor at its printed precision (an integer);
// quantity × printed factor (the DESNZ path) is tested in TestWorkedDESNZ2024.
func TestWorkedRefrigerantLeakage(t *testing.T) {
	gwpTable, err := ghg.LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	ar5, err := gwpTable.Set(ghg.AR5)
	if err != nil {
		t.Fatal(err)
	}
	calc := ghg.NewCalculator(ar5.ID(), ar5)
	blends := map[string]ghg.Blend{}
	for _, b := range ghg.KnownBlends() {
		blends[b.Name] = b
	}

	// Mass balance, R-410A rooftop units over a year: inventory 120 kg at
	// the start, 95 at the end; 40 kg bought, 5 kg returned to the supplier;
	// no unit retired, 50 kg charged into new units.
	// (120 − 95) + 40 − 5 + (0 − 50) = 10 kg; 5 kg HFC-32 × 677 + 5 kg
	// HFC-125 × 3170 = 19 235 kg CO2e (1923.5 per kg; printed 1,924).
	mb, err := calc.RefrigerantMassBalance("rooftop-r410a", blends["R-410A"], ghg.MassBalanceInput{
		InventoryStartKg: workedDec("120"), InventoryEndKg: workedDec("95"), PurchasedKg: workedDec("40"), SoldKg: workedDec("5"),
		RetiredChargeKg: workedDec("0"), NewChargeKg: workedDec("50")})
	if err != nil {
		t.Fatal(err)
	}
	// Screening, R-404A supermarket rack: 200 kg charge, 15% a year, run for
	// half the year: 15 kg × 3942.8 = 59 142 kg CO2e (printed 3,943 per kg).
	sc, err := calc.RefrigerantScreening("rack-r404a", blends["R-404A"], ghg.ScreeningInput{
		ChargeKg: workedDec("200"), AnnualLeakRatePct: workedDec("15"), YearFraction: workedDec("0.5")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r                     ghg.Result
		kg, answer, printed   string
		gas                   string
		gasKg                 string
		wantMethod, wantBlend string
	}{
		{mb, "10", "19235", "1924", "HFC-32", "5", ghg.MethodRefrigerantMassBalance, "refrigerant R-410A"},
		{sc, "15", "59142", "3943", "HFC-143a", "7.8", ghg.MethodRefrigerantScreening, "refrigerant R-404A"},
	} {
		rel := workedCheck(t, c.r.ActivityID, c.r.CO2eKg, workedDec(c.answer))
		perKg := c.r.CO2eKg.Div(workedDec(c.kg))
		if !perKg.Round(0).Equal(workedDec(c.printed)) {
			t.Errorf("%s: %s kg CO2e per kg rounds to %s, printed %s", c.r.ActivityID, perKg, perKg.Round(0), c.printed)
		}
		if c.r.Scope != 1 || c.r.Explanation.Method != c.wantMethod || c.r.Explanation.ActivityType != c.wantBlend || !c.r.KgByGas[c.gas].Equal(workedDec(c.gasKg)) {
			t.Errorf("%s: scope %d, %s, %s, %v", c.r.ActivityID, c.r.Scope, c.r.Explanation.Method, c.r.Explanation.ActivityType, c.r.KgByGas)
		}
		t.Logf("%s: %s kg leaked = %s kg CO2e (%s per kg, printed %s); engine %s (rel. diff %s)", c.r.ActivityID, c.kg, c.answer, perKg, c.printed, c.r.CO2eKg, rel)
	}
}

// Scope 2, location- and market-based side by side (GHG Protocol Scope 2
// Guidance, 2015: dual reporting, and the market-based emission factor
// hierarchy of the Scope 2 Quality Criteria: energy attribute certificates
// and contracts first, then a supplier-specific emission rate, then the
// residual mix, the grid average only where no residual mix exists).
//
// Location-based: DESNZ 2024 UK electricity, ID 7_400_4000_5_1, row 3066,
// 0.20705 kg CO2e per kWh: 100 000 kWh × 0.20705 = 20 705 kg CO2e.
//
// Market-based (stated inputs, not published factors): REGOs for 60 000 kWh
// of January 2025 generation in the UK at 0 kg/kWh cover 60 000 kWh; the
// remaining 40 000 kWh take a stated UK residual mix of 0.38 kg CO2e/kWh:
// 15 200 kg CO2e. A US REC in the pool is outside the market boundary and
// is not claimed.
func TestWorkedScope2LocationAndMarket(t *testing.T) {
	residual := strings.Join(table.Header(), ",") + "\n" +
		"worked-uk-residual-2025,Stated residual mix (worked example),2025,2025,worked example input,UK residual mix as stated,electricity_residual_mix,UK,kWh,,,CO2e=0.38,,,,,,,2025-01-01,\n"
	svc, err := NewBuiltin(strings.NewReader(residual))
	if err != nil {
		t.Fatal(err)
	}
	jan, feb, y26 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certs := []ghg.Certificate{
		{ID: "REGO-wind-01", KWh: workedDec("45000"), PeriodStart: jan, PeriodEnd: feb, Market: "UK", KgCO2ePerKWh: decimal.Zero},
		{ID: "REGO-solar-02", KWh: workedDec("15000"), PeriodStart: jan, PeriodEnd: y26, Market: "UK", KgCO2ePerKWh: decimal.Zero},
		{ID: "REC-us-03", KWh: workedDec("100000"), PeriodStart: jan, PeriodEnd: y26, Market: "US", KgCO2ePerKWh: decimal.Zero},
	}
	in := "id,activity_type,quantity,unit,period_start,period_end,region,scope\n" +
		"office-london-2025-01,desnz:uk_electricity/electricity_generated/electricity_uk/kwh,100000,kWh,2025-01-01,2025-01-31,UK,2\n"
	rep, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5", Certificates: certs})
	if err != nil || len(rep.Errors) != 0 || len(rep.Lines) != 1 {
		t.Fatalf("%v %v", rep.Errors, err)
	}
	l := rep.Lines[0]
	loc, mkt := workedDec("20705"), workedDec("40000").Mul(workedDec("0.38"))
	relL := workedCheck(t, "location-based", l.Result.CO2eKg, loc)
	if l.Market == nil {
		t.Fatal("no market-based result")
	}
	relM := workedCheck(t, "market-based", l.Market.CO2eKg, mkt)
	workedCheck(t, "report scope 2 location", rep.ByScope["scope 2"].CO2eKg, loc)
	workedCheck(t, "report scope 2 market", rep.Scope2Market.CO2eKg, mkt)
	claimed := map[string]string{}
	for _, a := range l.Allocations {
		claimed[a.CertificateID] = a.KWh.String()
	}
	if len(claimed) != 2 || claimed["REGO-wind-01"] != "45000" || claimed["REGO-solar-02"] != "15000" {
		t.Errorf("claimed %v, want both REGOs in full and no US REC", claimed)
	}
	// The service records the location line as activity_factor (the basis is
	// told by position: Result location, Market market).
	if l.Result.Explanation.FactorID != "desnz-2024-7_400_4000_5" || l.Market.Explanation.Method != ghg.MethodScope2Market || l.Market.Explanation.FactorID != "worked-uk-residual-2025" {
		t.Errorf("location factor %s, market %s via %s", l.Result.Explanation.FactorID, l.Market.Explanation.Method, l.Market.Explanation.FactorID)
	}
	t.Logf("location %s kg (published %s, rel. diff %s); market %s kg (worked %s, rel. diff %s); %s", l.Result.CO2eKg, loc, relL, l.Market.CO2eKg, mkt, relM, l.Market.Explanation.Note)
}

// The same 100 000 kWh through ghg.Calculator.Scope2 with a supplier-specific
// rate: certificates first (60 000 kWh at 0), then the supplier's stated
// rate of 0.25 kg CO2e/kWh for the remaining 40 000 kWh (10 000 kg CO2e),
// which ranks above the residual mix (0.38, given but not used). Location:
// 20 705 kg CO2e as above.
func TestWorkedScope2SupplierRate(t *testing.T) {
	svc := workedService(t)
	grid, ok := svc.Factor("desnz-2024-7_400_4000_5")
	if !ok {
		t.Fatal("no DESNZ 2024 UK grid factor")
	}
	kwh := svc.Units().MustParse("kWh")
	rate := func(id, v string) ghg.Factor {
		return ghg.Factor{ID: id, Ref: ghg.FactorRef{Set: "stated (worked example)"}, ActivityType: "electricity", Region: "UK", Per: kwh,
			KgPerUnit: map[string]decimal.Decimal{"CO2e": workedDec(v)}}
	}
	supplier, resid := rate("supplier-green-tariff-2025", "0.25"), rate("uk-residual-2025", "0.38")
	jan, y26 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pool, err := ghg.NewCertificatePool([]ghg.Certificate{{ID: "REGO-1", KWh: workedDec("60000"), PeriodStart: jan, PeriodEnd: y26, Market: "UK"}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := svc.gwps.Set(ghg.AR5)
	if err != nil {
		t.Fatal(err)
	}
	a := ghg.Activity{ID: "office-london-2025-01", Type: grid.ActivityType, Region: "UK", Quantity: ghg.Quantity{Value: workedDec("100"), Unit: svc.Units().MustParse("MWh")},
		PeriodStart: jan, PeriodEnd: time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)}
	r, err := ghg.NewCalculator(set.ID(), set).Scope2(a, grid, ghg.MarketInputs{Market: "UK", Certificates: pool, Supplier: &supplier, ResidualMix: resid})
	if err != nil {
		t.Fatal(err)
	}
	relL := workedCheck(t, "location-based", r.Location.CO2eKg, workedDec("20705"))
	relM := workedCheck(t, "market-based", r.Market.CO2eKg, workedDec("10000"))
	if !r.CoveredKWh.Equal(workedDec("60000")) || r.Market.Explanation.FactorID != supplier.ID {
		t.Errorf("covered %s kWh, remainder at %s", r.CoveredKWh, r.Market.Explanation.FactorID)
	}
	t.Logf("location %s kg (rel. diff %s); market %s kg (rel. diff %s): %s", r.Location.CO2eKg, relL, r.Market.CO2eKg, relM, r.Market.Explanation.Note)
}

// One combustion under each GWP set: 1000 mmBtu of natural gas, EPA Hub 2025
// Table 1 (53.06 kg CO2, 1.0 g CH4, 0.10 g N2O per mmBtu, so 53 060 kg CO2,
// 1 kg CH4, 0.1 kg N2O), with the IPCC 100-year GWPs of ipcc-gwp.csv (IPCC
// SAR-AR6 compilation, rows CH4 and N2O: AR4 25/298, AR5 28/265, AR6 27.9
// combined/273) and AR6 fossil methane 29.8 (AR6 WG1 Table 7.15, which the
// compilation does not list):
//
//	AR4           53 060 + 25   + 29.8 = 53 114.8
//	AR5           53 060 + 28   + 26.5 = 53 114.5
//	AR6 (fossil)  53 060 + 29.8 + 27.3 = 53 117.1
//	AR6-combined  53 060 + 27.9 + 27.3 = 53 115.2
func TestWorkedGWPChoice(t *testing.T) {
	gwps := map[string][2]string{ghg.AR4: {"25", "298"}, ghg.AR5: {"28", "265"}, ghg.AR6: {"29.8", "273"}, ghg.AR6Combined: {"27.9", "273"}}
	answers := map[string]string{ghg.AR4: "53114.8", ghg.AR5: "53114.5", ghg.AR6: "53117.1", ghg.AR6Combined: "53115.2"}
	if f, err := os.Open(workedDataDir + workedIPCCFile); workedPublication(t, err) {
		r := csv.NewReader(f)
		r.Comment, r.FieldsPerRecord = '#', -1
		recs, err := r.ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, rec := range recs[1:] {
			gas := rec[0]
			if gas != "CH4" && gas != "N2O" {
				continue
			}
			i := map[string]int{"CH4": 0, "N2O": 1}[gas]
			for set, c := range map[string]string{ghg.AR4: "AR4GWP100", ghg.AR5: "AR5GWP100", ghg.AR6Combined: "AR6GWP100"} {
				if rec[col[c]] != gwps[set][i] {
					t.Errorf("ipcc-gwp.csv %s %s = %s, the example says %s", gas, c, rec[col[c]], gwps[set][i])
				}
			}
			if gas == "N2O" && rec[col["AR6GWP100"]] != gwps[ghg.AR6][1] {
				t.Errorf("ipcc-gwp.csv N2O AR6 %s", rec[col["AR6GWP100"]])
			}
		}
	}
	svc := workedService(t)
	in := "id,activity_type,quantity,unit,period_start,region,scope,method\n" +
		"boiler,natural_gas,1000,mmBtu,2025-03-01,US,1,stationary_combustion\n"
	for _, set := range ghg.GWPSetIDs() {
		want := workedDec("53060").Add(workedDec(gwps[set][0])).Add(workedDec("0.1").Mul(workedDec(gwps[set][1])))
		if !want.Equal(workedDec(answers[set])) {
			t.Fatalf("%s: worked %s, stated %s", set, want, answers[set])
		}
		r := workedCalculate(t, svc, in, Options{GWPSet: set})["boiler"].Result
		rel := workedCheck(t, "natural gas under "+set, r.CO2eKg, want)
		if r.Explanation.GWPSet != set || !r.Explanation.GWPs["CH4"].Equal(workedDec(gwps[set][0])) || !r.Explanation.GWPs["N2O"].Equal(workedDec(gwps[set][1])) ||
			!r.KgByGas["CH4"].Equal(workedDec("1")) || !r.KgByGas["N2O"].Equal(workedDec("0.1")) || !r.KgByGas["CO2"].Equal(workedDec("53060")) {
			t.Errorf("%s: GWPs %v, gases %v", set, r.Explanation.GWPs, r.KgByGas)
		}
		t.Logf("%-12s CH4 %-4s N2O %s: %s kg CO2e; engine %s (rel. diff %s)", set, gwps[set][0], gwps[set][1], want, r.CO2eKg, rel)
	}
}
