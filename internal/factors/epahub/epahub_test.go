package epahub

import (
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

func open(t *testing.T, name string) Edition {
	t.Helper()
	path := "../../../../shared/data/factors/" + name
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("the published file is not beside the project (%v)", err)
	}
	defer f.Close()
	ed, err := Read(f, ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	return ed
}

func find(t *testing.T, ed Edition, activity string) ghg.Factor {
	t.Helper()
	for _, f := range ed.Factors {
		if f.ActivityType == activity {
			return f
		}
	}
	t.Fatalf("no factor for %s in edition %d", activity, ed.Year)
	return ghg.Factor{}
}

func find6(t *testing.T, ed Edition, region string) ghg.Factor {
	t.Helper()
	for _, f := range ed.Factors {
		if f.ActivityType == "electricity" && f.Region == region {
			return f
		}
	}
	t.Fatalf("no grid factor for %s in %d", region, ed.Year)
	return ghg.Factor{}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Known values from the data README: EPA 2024 and 2025, Table 1, natural gas:
// 53.06 kg CO2, 1 g CH4, 0.1 g N2O per mmBtu; 0.05444 kg CO2 per scf.
func TestPublishedEditions(t *testing.T) {
	for _, tc := range []struct {
		file string
		year int
	}{{"epa-ghg-emission-factors-hub-2024.xlsx", 2024}, {"epa-ghg-emission-factors-hub-2025.xlsx", 2025}} {
		ed := open(t, tc.file)
		if ed.Year != tc.year || len(ed.Factors) < 60 {
			t.Fatalf("%s: edition %d with %d factors", tc.file, ed.Year, len(ed.Factors))
		}
		ng := find(t, ed, "natural_gas")
		if !ng.KgPerUnit["CO2"].Equal(dec("53.06")) || !ng.KgPerUnit["CH4"].Equal(dec("0.001")) || !ng.KgPerUnit["N2O"].Equal(dec("0.0001")) {
			t.Errorf("%d natural gas: %v", tc.year, ng.KgPerUnit)
		}
		if ng.HeatContent == nil || !ng.HeatContent.Energy.Value.Equal(dec("0.001026")) || ng.HeatContent.Per.Symbol != "scf" || ng.HeatContent.Basis != ghg.HHV {
			t.Fatalf("%d natural gas heat content: %+v", tc.year, ng.HeatContent)
		}
		if !strings.Contains(ng.Ref.SourceRow, "Natural Gas") || ng.Ref.Edition != tc.year {
			t.Errorf("reference %+v", ng.Ref)
		}
		// 1 scf through the heat content: 0.001026 × 53.06 = 0.05443956, published as 0.05444.
		calc := ghg.NewCalculator("AR5", gwp{})
		r, err := calc.StationaryCombustion(ghg.Activity{ID: "1", Type: "natural_gas", Quantity: ghg.Quantity{Value: dec("1"), Unit: ghg.NewUnits().MustParse("scf")}}, ng)
		if err != nil || !r.KgByGas["CO2"].Round(5).Equal(dec("0.05444")) {
			t.Errorf("%d: kg CO2 per scf = %s (%v), published 0.05444", tc.year, r.KgByGas["CO2"], err)
		}
		// Biomass: CO2 is biogenic, outside the scopes.
		wood := find(t, ed, "wood_and_wood_residuals")
		if _, ok := wood.KgPerUnit["CO2"]; ok || !wood.BiogenicCO2KgPerUnit.Equal(dec("93.80")) || wood.HeatContent.Per.Symbol != "short ton" {
			t.Errorf("wood: %v biogenic %s", wood.KgPerUnit, wood.BiogenicCO2KgPerUnit)
		}
		// Table 6: eGRID grid factors in lb/MWh, imported in kg/MWh.
		camx, us := find6(t, ed, "US-CAMX"), find6(t, ed, "US")
		want := map[int][2]string{2024: {"497.4", "823.1"}, 2025: {"436.7", "771.5"}}[tc.year]
		lb := dec("0.45359237")
		if !camx.KgPerUnit["CO2"].Equal(dec(want[0]).Mul(lb)) || !us.KgPerUnit["CO2"].Equal(dec(want[1]).Mul(lb)) || camx.Per.Symbol != "MWh" {
			t.Errorf("%d grid: CAMX %v, US %v", tc.year, camx.KgPerUnit, us.KgPerUnit)
		}
		// Diesel is per US gallon.
		d2 := find(t, ed, "distillate_fuel_oil_no_2")
		if d2.HeatContent.Per.Symbol != "US gal" || !d2.KgPerUnit["CO2"].Equal(dec("73.96")) {
			t.Errorf("distillate no. 2: %+v %v", d2.HeatContent, d2.KgPerUnit)
		}
	}
}

type gwp struct{}

func (gwp) GWP(gas string) (decimal.Decimal, error) {
	return map[string]decimal.Decimal{"CO2": dec("1"), "CH4": dec("28"), "N2O": dec("265")}[gas], nil
}

func TestRefusesWholeFileOnABadCell(t *testing.T) {
	rows := [][]string{
		{"", "", "", "", "", "Last Modified: January 15, 2025"},
		{"", "Table 1", "Stationary Combustion"},
		{"", "", "", "mmBtu per scf"},
		{"", "", "Natural Gas", "0.001026", "53.06", "1.0", "0.10"},
		{"", "", "Propane Gas", "0.002516", "61,4x6", "3.0", "0.60"},
	}
	_, err := Parse(rows, ghg.NewUnits())
	if err == nil || !strings.Contains(err.Error(), "cell E5") {
		t.Fatalf("got %v, want an error naming cell E5", err)
	}
	rows[4][4] = "61.46"
	ed, err := Parse(rows, ghg.NewUnits())
	if err != nil || len(ed.Factors) != 2 {
		t.Fatalf("fixed: %v %v", ed.Factors, err)
	}
	for name, rs := range map[string][][]string{
		"no date":     rows[1:],
		"no table":    {rows[0]},
		"no unit row": {rows[0], rows[1], rows[3]},
		"duplicate":   {rows[0], rows[1], rows[2], rows[3], rows[3]},
		"no factors":  {rows[0], rows[1], rows[2]},
	} {
		if _, err := Parse(rs, ghg.NewUnits()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Read(strings.NewReader("not a zip"), ghg.NewUnits()); err == nil || !strings.Contains(err.Error(), "xlsx") {
		t.Errorf("not a workbook: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("Last Modified: January 15, 2025", "Table 1", "mmBtu per scf", "Natural Gas", "0.001026", "53.06", "1.0")
	f.Add("Last Modified: May 1, 2024", "Table 1", "mmBtu per gallon", "X", "", "1e5", "x")
	units := ghg.NewUnits()
	f.Fuzz(func(t *testing.T, date, table, per, fuel, heat, co2, ch4 string) {
		rows := [][]string{{"", "", "", "", "", date}, {"", table}, {"", "", "", per}, {"", "", fuel, heat, co2, ch4, "0.1"}}
		ed, err := Parse(rows, units)
		if err != nil {
			return
		}
		for _, fa := range ed.Factors {
			if fa.ID == "" || fa.Per.IsZero() || fa.Ref.Edition != ed.Year {
				t.Fatalf("incomplete factor %+v", fa)
			}
		}
	})
}
