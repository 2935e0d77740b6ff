package epahub

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

// table2 reads Table 2, mobile combustion CO2 per unit of fuel (US gallon
// or scf), as "mobile/<fuel>". A fuel Table 1 lists as biomass has its CO2
// biogenic (outside the scopes) and 0 kg fossil CO2.
func (p *parser) table2(start int) ([]ghg.Factor, error) {
	const name = "Table 2"
	h, err := p.header(name, start, "Fuel Type", "kg CO2 per unit", "Unit")
	if err != nil {
		return nil, err
	}
	body, err := p.body(name, h, colE)
	if err != nil {
		return nil, err
	}
	per := map[string]string{"gallon": "US gal", "scf": "scf"}
	var out []ghg.Factor
	for _, r := range body {
		fuel := label(p.rows, r, colC)
		if fuel == "" {
			return nil, fmt.Errorf("epa hub: %s: cell %s: no fuel for the row", name, ref(r, colC))
		}
		co2, err := p.value(name, r, colD)
		if err != nil {
			return nil, err
		}
		unit, ok := per[label(p.rows, r, colE)]
		if !ok {
			return nil, fmt.Errorf("epa hub: %s: cell %s: unit %q is not gallon or scf", name, ref(r, colE), cell(p.rows, r, colE))
		}
		f := p.factor(2, slug(fuel), "mobile/"+slug(fuel), p.units.MustParse(unit), "Table 2 Mobile Combustion CO2",
			fmt.Sprintf("%s (row %d)", fuel, r+1), map[string]decimal.Decimal{"CO2": co2})
		if p.biomass[fuel] {
			f.KgPerUnit["CO2"], f.BiogenicCO2KgPerUnit = decimal.Zero, co2
		}
		if _, dup := p.mobileCO2[fuel]; dup {
			return nil, fmt.Errorf("epa hub: %s: cell %s: %q is listed twice", name, ref(r, colC), fuel)
		}
		p.mobileCO2[fuel] = mobileFuel{f, r}
		out = append(out, f)
	}
	return out, nil
}

// mobileFuel is a Table 2 factor and its row, for Table 5.
type mobileFuel struct {
	ghg.Factor
	row int
}

// nonRoadFuel is the Table 2 fuel whose CO2 each Table 5 fuel takes. EPA
// pairs them so in its non-road guidance: every gasoline engine burns motor
// gasoline, every diesel engine diesel fuel, jet engines kerosene-type jet
// fuel.
var nonRoadFuel = map[string]string{
	"Residual Fuel Oil":        "Residual Fuel Oil",
	"Gasoline":                 "Motor Gasoline",
	"Gasoline (2 stroke)":      "Motor Gasoline",
	"Gasoline (4 stroke)":      "Motor Gasoline",
	"Gasoline Off-Road Trucks": "Motor Gasoline",
	"Diesel":                   "Diesel Fuel",
	"Diesel Equipment":         "Diesel Fuel",
	"Diesel Off-Road Trucks":   "Diesel Fuel",
	"Jet Fuel":                 "Kerosene-Type Jet Fuel",
	"Aviation Gasoline":        "Aviation Gasoline",
	"LPG":                      "Liquefied Petroleum Gases (LPG)",
}

// table5 reads Table 5, CH4 and N2O of non-road vehicles per gallon, into
// combined factors "mobile/<vehicle type>/<fuel>" with the CO2 of the
// Table 2 fuel nonRoadFuel names.
func (p *parser) table5(start int) ([]ghg.Factor, error) {
	const name = "Table 5"
	h, err := p.header(name, start, "Vehicle Type", "Fuel Type", "CH4 Factor (g CH4 / gallon)", "N2O Factor (g N2O / gallon)")
	if err != nil {
		return nil, err
	}
	body, err := p.body(name, h, colF)
	if err != nil {
		return nil, err
	}
	gal := p.units.MustParse("US gal")
	var (
		vehicle string
		out     []ghg.Factor
	)
	for _, r := range body {
		if v := label(p.rows, r, colC); v != "" {
			vehicle = v
		}
		fuel := label(p.rows, r, colD)
		switch {
		case vehicle == "":
			return nil, fmt.Errorf("epa hub: %s: cell %s: no vehicle type for the row", name, ref(r, colC))
		case fuel == "":
			return nil, fmt.Errorf("epa hub: %s: cell %s: no fuel for the row", name, ref(r, colD))
		}
		t2, ok := nonRoadFuel[fuel]
		if !ok {
			return nil, fmt.Errorf("epa hub: %s: cell %s: fuel %q has no Table 2 fuel to take its CO2 from (add it to nonRoadFuel)", name, ref(r, colD), fuel)
		}
		co2, ok := p.mobileCO2[t2]
		if !ok || co2.Per.Symbol != gal.Symbol {
			return nil, fmt.Errorf("epa hub: %s: cell %s: fuel %q takes its CO2 from %q, which Table 2 does not give per gallon", name, ref(r, colD), fuel, t2)
		}
		kg, err := p.gases(name, r, -1, colE, colF)
		if err != nil {
			return nil, err
		}
		kg["CO2"] = co2.KgPerUnit["CO2"]
		f := p.factor(5, slug(vehicle)+"-"+slug(fuel), "mobile/"+slug(vehicle)+"/"+slug(fuel), gal,
			"Table 2 + Table 5 Mobile Combustion, Non-Road Vehicles (CO2 from Table 2; CH4 and N2O from Table 5)",
			fmt.Sprintf("%s, %s (Table 5 row %d) + %s (Table 2 row %d)", vehicle, fuel, r+1, t2, co2.row+1), kg)
		f.BiogenicCO2KgPerUnit = co2.BiogenicCO2KgPerUnit
		out = append(out, f)
	}
	return out, nil
}

// firstModelYear is where a model-year range open below ("≤1980") starts:
// the earliest model year Tables 3 and 4 publish (motorcycles, diesel
// vehicles: "1960-…").
const firstModelYear = 1960

var modelYearRE = regexp.MustCompile(`^(?:(\d{4})|(\d{4}) ?- ?(\d{4})|≤ ?(\d{4}))$`)

// modelYears reads a published model year or range: "2015", "1984-1993",
// "≤1980" (from firstModelYear). Years before firstModelYear or after the
// edition's next year refuse the file.
func (p *parser) modelYears(table string, r, c int) (from, to int, err error) {
	s := label(p.rows, r, c)
	m := modelYearRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, fmt.Errorf("epa hub: %s: cell %s: %q is not a model year or range", table, ref(r, c), cell(p.rows, r, c))
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	switch {
	case m[1] != "":
		from, to = atoi(m[1]), atoi(m[1])
	case m[2] != "":
		from, to = atoi(m[2]), atoi(m[3])
	default:
		from, to = firstModelYear, atoi(m[4])
	}
	if from < firstModelYear || to < from || to > p.ed.Year+1 {
		return 0, 0, fmt.Errorf("epa hub: %s: cell %s: model years %q are not within %d to %d", table, ref(r, c), s, firstModelYear, p.ed.Year+1)
	}
	return from, to, nil
}

// onRoad makes the factors of one row of Table 3 or 4: CH4 and N2O per
// vehicle-mile, for each model year the row covers ("mobile_distance/
// <labels>/<year>"), or for the labels alone when a Table 4 row has no
// model year (alternative fuels).
func (p *parser) onRoad(n int, sourceTable string, r int, labels []string, yearCol, ch4Col, n2oCol int) ([]ghg.Factor, error) {
	table := fmt.Sprintf("Table %d", n)
	kg, err := p.gases(table, r, -1, ch4Col, n2oCol)
	if err != nil {
		return nil, err
	}
	slugs := make([]string, len(labels))
	for i, l := range labels {
		slugs[i] = slug(l)
	}
	vmi := p.units.MustParse("vehicle-mile")
	make1 := func(suffix, row string) ghg.Factor {
		ids, act := strings.Join(slugs, "-"), "mobile_distance/"+strings.Join(slugs, "/")
		if suffix != "" {
			ids, act = ids+"-"+suffix, act+"/"+suffix
		}
		return p.factor(n, ids, act, vmi, sourceTable, row, maps.Clone(kg))
	}
	what := strings.Join(labels, ", ")
	if label(p.rows, r, yearCol) == "" && n == 4 {
		return []ghg.Factor{make1("", fmt.Sprintf("%s (row %d)", what, r+1))}, nil
	}
	from, to, err := p.modelYears(table, r, yearCol)
	if err != nil {
		return nil, err
	}
	years := "model year " + label(p.rows, r, yearCol)
	if from != to {
		years = "model years " + label(p.rows, r, yearCol)
	}
	var out []ghg.Factor
	for y := from; y <= to; y++ {
		out = append(out, make1(strconv.Itoa(y), fmt.Sprintf("%s, %s (row %d)", what, years, r+1)))
	}
	return out, nil
}

// table3 reads Table 3, CH4 and N2O of on-road gasoline vehicles per
// vehicle-mile by model year. A vehicle type in parentheses below another
// ("(Vans, Pickup Trucks, SUVs)") describes it and starts no new type.
func (p *parser) table3(start int) ([]ghg.Factor, error) {
	const name = "Table 3"
	h, err := p.header(name, start, "Vehicle Type", "Model Year", "CH4 Factor (g CH4 / vehicle-mile)", "N2O Factor (g N2O / vehicle-mile)")
	if err != nil {
		return nil, err
	}
	body, err := p.body(name, h, colF)
	if err != nil {
		return nil, err
	}
	var (
		vehicle string
		out     []ghg.Factor
	)
	for _, r := range body {
		if v := label(p.rows, r, colC); v != "" && !strings.HasPrefix(v, "(") {
			vehicle = v
		}
		if vehicle == "" {
			return nil, fmt.Errorf("epa hub: %s: cell %s: no vehicle type for the row", name, ref(r, colC))
		}
		fs, err := p.onRoad(3, "Table 3 Mobile Combustion CH4 and N2O, On-Road Gasoline Vehicles", r, []string{vehicle}, colD, colE, colF)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// table4 reads Table 4, CH4 and N2O of on-road diesel vehicles by model
// year and of alternative fuel vehicles (no model year), per vehicle-mile.
// The vehicle type and the fuel carry down to the rows below them.
func (p *parser) table4(start int) ([]ghg.Factor, error) {
	const name = "Table 4"
	h, err := p.header(name, start, "Vehicle Type", "Fuel Type", "Model Year", "CH4 Factor (g CH4 / vehicle-mile)", "N2O Factor (g N2O / vehicle-mile)")
	if err != nil {
		return nil, err
	}
	body, err := p.body(name, h, colG)
	if err != nil {
		return nil, err
	}
	var (
		vehicle, fuel string
		out           []ghg.Factor
	)
	for _, r := range body {
		if v := label(p.rows, r, colC); v != "" {
			vehicle, fuel = v, ""
		}
		if f := label(p.rows, r, colD); f != "" {
			fuel = f
		}
		switch {
		case vehicle == "":
			return nil, fmt.Errorf("epa hub: %s: cell %s: no vehicle type for the row", name, ref(r, colC))
		case fuel == "":
			return nil, fmt.Errorf("epa hub: %s: cell %s: no fuel for the row", name, ref(r, colD))
		}
		fs, err := p.onRoad(4, "Table 4 Mobile Combustion CH4 and N2O, On-Road Diesel and Alternative Fuel Vehicles", r, []string{vehicle, fuel}, colE, colF, colG)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}
