package desnz

import (
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestPublished2024(t *testing.T) {
	f, err := os.Open("../../../../shared/data/factors/desnz-ghg-conversion-factors-2024-flat-format-v1.1.xlsx")
	if err != nil {
		t.Skipf("the published file is not beside the project (%v)", err)
	}
	defer f.Close()
	ed, err := Read(f, ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	if ed.Year != 2024 || len(ed.Factors) < 1500 {
		t.Fatalf("edition %d, %d factors, skipped %v", ed.Year, len(ed.Factors), ed.Skipped)
	}
	by := map[string]ghg.Factor{}
	for _, f := range ed.Factors {
		by[f.ActivityType+"|"+f.Per.Symbol] = f
	}
	cases := []struct{ key, total string }{
		{"desnz:uk_electricity/electricity_generated/electricity_uk/kwh|kWh", "0.20705"},
		{"desnz:fuels/gaseous_fuels/butane|tonne", "3033.38067"},
		{"desnz:business_travel_air/flights/domestic_to_from_uk/average_passenger/with_rf|passenger-km", "0.27257"},
	}
	for _, c := range cases {
		f, ok := by[c.key]
		if !ok {
			t.Errorf("no factor %s", c.key)
			continue
		}
		// The CO2 part is split out; the published total is kept exactly.
		if sum := f.KgPerUnit["CO2e"].Add(f.KgPerUnit["CO2"]); !sum.Equal(dec(c.total)) || len(f.KgPerUnit) != 2 || !f.KgPerUnit["CO2"].Equal(ed.Parts[f.ID]["CO2"]) {
			t.Errorf("%s: %v, want CO2 %s and the rest of %s as CO2e", c.key, f.KgPerUnit, ed.Parts[f.ID]["CO2"], c.total)
		}
	}
	elec := by["desnz:uk_electricity/electricity_generated/electricity_uk/kwh|kWh"]
	parts := ed.Parts[elec.ID]
	if !parts["CO2"].Equal(dec("0.20493")) || !parts["CH4"].Equal(dec("0.00090")) || !parts["N2O"].Equal(dec("0.00122")) {
		t.Errorf("electricity parts %v", parts)
	}
	// The parts are CO2e already: the engine adds the total as it is, whatever the GWP set.
	calc := ghg.NewCalculator("AR6", co2Only{})
	r, err := calc.ActivityFactor(ghg.Activity{ID: "e", Type: "electricity", Quantity: ghg.Quantity{Value: dec("1000"), Unit: ghg.NewUnits().MustParse("kWh")}}, elec, 2, 0, ghg.MethodActivityFactor)
	if err != nil || !r.CO2eKg.Equal(dec("207.05")) {
		t.Errorf("1000 kWh = %s kg (%v), want 207.05", r.CO2eKg, err)
	}
	// Butane per kWh comes twice, on a gross and a net calorific basis.
	bases := map[ghg.HeatBasis]bool{}
	for _, f := range ed.Factors {
		if f.ActivityType == "desnz:fuels/gaseous_fuels/butane" && f.Per.Symbol == "kWh" {
			bases[f.PerBasis] = true
		}
	}
	if !bases[ghg.HHV] || !bases[ghg.NCV] {
		t.Errorf("butane per kWh bases %v", bases)
	}
	if ed.Skipped["energy use for SECR, not an emission factor"] == 0 {
		t.Errorf("skipped %v", ed.Skipped)
	}
	// Every factor must be accepted by a library: no two cover the same thing.
	regions, _ := ghg.NewRegions(nil)
	if _, err := ghg.NewLibrary(regions, ed.Factors, nil); err != nil {
		t.Errorf("library: %v", err)
	}
}

// co2Only knows CO2 (GWP 1 in every set) and fails for every other gas:
// DESNZ totals never need a GWP beyond the CO2 part's.
type co2Only struct{}

func (co2Only) GWP(gas string) (decimal.Decimal, error) {
	if gas == "CO2" {
		return decimal.NewFromInt(1), nil
	}
	return decimal.Decimal{}, os.ErrInvalid
}

func TestRefusals(t *testing.T) {
	hdr := []string{"ID", "Scope", "Level 1", "Level 2", "Level 3", "Level 4", "Column Text", "UOM", "GHG/Unit", "GHG Conversion Factor 2024"}
	row := func(id, uom, ghgUnit, v string) []string {
		return []string{id, "Scope 1", "Fuels", "Gaseous fuels", "Butane", "", "", uom, ghgUnit, v}
	}
	good := [][]string{hdr, row("1_1_1_1_1", "tonnes", "kg CO2e", "3033.38067"), row("1_1_1_1_2", "tonnes", "kg CO2e of CO2 per unit", "3029.26")}
	if ed, err := Parse(good, ghg.NewUnits()); err != nil || len(ed.Factors) != 1 {
		t.Fatalf("good: %v %v", ed, err)
	}
	for name, tc := range map[string]struct {
		rows [][]string
		want string
	}{
		"bad number":   {append(good[:2:2], row("x", "tonnes", "kg CO2e of CH4 per unit", "2,5x")), "cell J3"},
		"no header":    {good[1:], "no header row"},
		"other header": {[][]string{{"ID", "", "", "", "", "", "", "", "", "Value"}}, "column J"},
		"other gas":    {append(good[:2:2], row("x", "tonnes", "kg SF6", "1")), "GHG/Unit"},
		"two totals":   {append(good[:2:2], row("x", "tonnes", "kg CO2e", "1")), "second kg CO2e total"},
	} {
		_, err := Parse(tc.rows, ghg.NewUnits())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
	ed, err := Parse(append(good[:3:3], row("y", "per FTE Working Hour", "kg CO2e", "1")), ghg.NewUnits())
	if err != nil || ed.Skipped["unit per FTE Working Hour"] != 1 {
		t.Errorf("unknown unit should be skipped and counted: %v %v", ed.Skipped, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("1_1_1_1_1", "tonnes", "kg CO2e", "3033.38067")
	f.Add("x", "kWh (Net CV)", "kWh (Net CV)", "1e3")
	units := ghg.NewUnits()
	f.Fuzz(func(t *testing.T, id, uom, ghgUnit, v string) {
		hdr := []string{"ID", "Scope", "Level 1", "Level 2", "Level 3", "Level 4", "Column Text", "UOM", "GHG/Unit", "GHG Conversion Factor 2024"}
		ed, err := Parse([][]string{hdr, {id, "Scope 1", "Fuels", "x", "y", "", "", uom, ghgUnit, v}}, units)
		if err != nil {
			return
		}
		for _, fa := range ed.Factors {
			if _, ok := fa.KgPerUnit["CO2e"]; !ok || fa.Per.IsZero() {
				t.Fatalf("incomplete factor %+v", fa)
			}
		}
	})
}
