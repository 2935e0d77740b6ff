package epahub

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

// perDistance reads Table 8 or Table 10: per vehicle type, kg CO2, g CH4 and
// g N2O per the unit in column G (mapped to the engine's by units), as
// "<prefix>/<vehicle type>". The id ends with the unit when a table gives
// one vehicle type in two units (Table 8's truck).
func (p *parser) perDistance(n, start int, prefix, sourceTable string, units map[string]string, dropParens bool, check func(r int, vehicle string) error) ([]ghg.Factor, error) {
	name := fmt.Sprintf("Table %d", n)
	h, err := p.header(name, start, "Vehicle Type", "CO2 Factor (kg CO2 / unit)", "CH4 Factor (g CH4 / unit)", "N2O Factor (g N2O / unit)", "Units")
	if err != nil {
		return nil, err
	}
	body, err := p.body(name, h, colG)
	if err != nil {
		return nil, err
	}
	var out []ghg.Factor
	for _, r := range body {
		vehicle := label(p.rows, r, colC)
		if vehicle == "" {
			return nil, fmt.Errorf("epa hub: %s: cell %s: no vehicle type for the row", name, ref(r, colC))
		}
		if err := check(r, vehicle); err != nil {
			return nil, err
		}
		unit, ok := units[label(p.rows, r, colG)]
		if !ok {
			known := slices.Sorted(maps.Keys(units))
			return nil, fmt.Errorf("epa hub: %s: cell %s: unit %q is not one of %q", name, ref(r, colG), cell(p.rows, r, colG), known)
		}
		kg, err := p.gases(name, r, colD, colE, colF)
		if err != nil {
			return nil, err
		}
		s := vehicle
		if dropParens {
			s = parens.ReplaceAllString(s, "")
		}
		id := slug(s)
		if n == 8 {
			id += "-" + slug(unit)
		}
		out = append(out, p.factor(n, id, prefix+slug(s), p.units.MustParse(unit), sourceTable, fmt.Sprintf("%s, per %s (row %d)", vehicle, label(p.rows, r, colG), r+1),
			kg))
	}
	return out, nil
}

// table8 reads Table 8, scope 3 categories 4 and 9, upstream and downstream
// transportation: "freight/<vehicle type>" per vehicle-mile (the vehicle is
// the company's alone) or per short ton-mile (shared).
func (p *parser) table8(start int) ([]ghg.Factor, error) {
	return p.perDistance(8, start, "freight/", "Table 8 Scope 3 Categories 4 and 9: Upstream and Downstream Transportation and Distribution",
		map[string]string{"vehicle-mile": "vehicle-mile", "short ton-mile": "ton-mile"}, false,
		func(int, string) error { return nil })
}

// airHauls are Table 10's air travel rows as EPA defines the hauls; the
// activity types say only "short", "medium" and "long", so other
// definitions refuse the file.
var airHauls = map[string]bool{
	"Air Travel - Short Haul (< 300 miles)":                 true,
	"Air Travel - Medium Haul (>= 300 miles, < 2300 miles)": true,
	"Air Travel - Long Haul (>= 2300 miles)":                true,
}

// table10 reads Table 10, scope 3 categories 6 and 7, business travel and
// employee commuting: "travel/<vehicle type>" per vehicle-mile or
// passenger-mile, parenthesised definitions left to the source row.
func (p *parser) table10(start int) ([]ghg.Factor, error) {
	return p.perDistance(10, start, "travel/", "Table 10 Scope 3 Categories 6 and 7: Business Travel and Employee Commuting",
		map[string]string{"vehicle-mile": "vehicle-mile", "passenger-mile": "passenger-mile"}, true,
		func(r int, vehicle string) error {
			if strings.HasPrefix(vehicle, "Air") && !airHauls[vehicle] {
				return fmt.Errorf("epa hub: Table 10: cell %s: %q is not one of the air travel hauls this importer knows (short < 300, medium, long >= 2300 miles)", ref(r, colC), vehicle)
			}
			return nil
		})
}

// wasteTreatments are Table 9's columns D to I: the heading and the
// treatment in activity types.
var wasteTreatments = []struct{ heading, slug string }{
	{"Recycled", "recycled"},
	{"Landfilled", "landfilled"},
	{"Combusted", "combusted"},
	{"Composted", "composted"},
	{"Anaerobically Digested (Dry Digestate with Curing)", "anaerobically_digested_dry"},
	{"Anaerobically Digested (Wet Digestate with Curing)", "anaerobically_digested_wet"},
}

// wasteUnit is Table 9's unit heading, above the treatments.
const wasteUnit = "Metric Tons CO2e / Short Ton Material"

// table9 reads Table 9, scope 3 categories 5 and 12, waste by material and
// treatment: metric tons CO2e per short ton, as kg CO2e ("CO2e", never
// multiplied by a GWP again) per short ton, "waste/<material>/<treatment>".
// EPA converted with AR4 GWPs; the table's notes must still say so.
func (p *parser) table9(start int) ([]ghg.Factor, error) {
	const name = "Table 9"
	want := []string{"Material"}
	for _, t := range wasteTreatments {
		want = append(want, t.heading)
	}
	h, err := p.header(name, start, want...)
	if err != nil {
		return nil, err
	}
	if got := label(p.rows, h-1, colD); got != wasteUnit {
		return nil, fmt.Errorf("epa hub: %s: cell %s is %q, want %q: the table's units changed", name, ref(h-1, colD), got, wasteUnit)
	}
	ar4 := false
	for r := h + 1; r < len(p.rows) && !strings.HasPrefix(cell(p.rows, r, colB), "Table "); r++ {
		ar4 = ar4 || strings.Contains(cell(p.rows, r, colC), "AR4 GWP")
	}
	if !ar4 {
		return nil, fmt.Errorf("epa hub: %s (row %d): its notes no longer say the CO2e uses AR4 GWPs: check the GWP basis before importing", name, start+1)
	}
	last := colC + len(wasteTreatments)
	body, err := p.body(name, h, last)
	if err != nil {
		return nil, err
	}
	ton := p.units.MustParse("short ton")
	var out []ghg.Factor
	for _, r := range body {
		material := label(p.rows, r, colC)
		if material == "" {
			return nil, fmt.Errorf("epa hub: %s: cell %s: no material for the row", name, ref(r, colC))
		}
		for i, t := range wasteTreatments {
			c := colD + i
			if cell(p.rows, r, c) == "NA" {
				continue
			}
			v, err := p.value(name, r, c)
			if err != nil {
				return nil, err
			}
			out = append(out, p.factor(9, slug(material)+"-"+t.slug, "waste/"+slug(material)+"/"+t.slug, ton,
				"Table 9 Scope 3 Categories 5 and 12: Waste (metric tons CO2e per short ton, with IPCC AR4 GWPs)",
				fmt.Sprintf("%s, %s (row %d, cell %s)", material, t.heading, r+1, ref(r, c)),
				map[string]decimal.Decimal{"CO2e": v.Shift(3)}))
		}
	}
	return out, nil
}
