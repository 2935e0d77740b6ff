// Package epahub imports the US EPA GHG Emission Factors Hub workbook as
// published (one sheet, "Emission Factors Hub", with numbered tables) into
// engine factors, region "US" unless said otherwise, each citing the
// edition, table and row (with its row number in the sheet). Gram values
// become kilograms exactly (÷ 1000). Tables 1 to 10 must all be there, with
// the column headings and units this package knows; any cell it cannot read,
// a missing table or a heading whose units changed refuses the whole file,
// naming the cell: a partial edition is never published.
//
// Activity types, by table (the row's published labels, slugged, in the
// table's column order; footnote letters such as "Passenger Car A" dropped):
//
//   - Table 1, stationary combustion: the fuel ("natural_gas"), per mmBtu
//     with the fuel's heat content (HHV), so activity in scf, gallons, short
//     tons or mmBtu all meet the same factor. Biomass CO2 is biogenic,
//     reported outside the scopes.
//   - Table 2, mobile combustion CO2: "mobile/<fuel>" ("mobile/diesel_fuel"),
//     CO2 only, per US gal or scf as published. A fuel Table 1 lists as
//     biomass (biodiesel, ethanol) has its CO2 biogenic and 0 fossil CO2.
//   - Table 5, non-road vehicles: "mobile/<vehicle type>/<fuel>"
//     ("mobile/construction_mining_equipment/diesel_equipment"), per US gal,
//     combining the CO2 of the Table 2 fuel it burns with the row's CH4 and
//     N2O; the Table 5 → Table 2 fuel mapping is written out in nonRoadFuel,
//     and a fuel missing from it refuses the file.
//   - Tables 3 and 4, on-road CH4 and N2O per vehicle-mile (no CO2: EPA's
//     method takes CO2 from the fuel, Table 2, and CH4 and N2O from the
//     distance): "mobile_distance/<vehicle type>[/<fuel>]/<model year>",
//     one factor for each model year a published row covers
//     ("mobile_distance/gasoline_passenger_cars/2015" from the row
//     "1984-1993" for 1984 to 1993, its source row naming the range), and
//     without a model year for Table 4's alternative fuels
//     ("mobile_distance/light_duty_cars/cng"). A range open below ("≤1980")
//     starts at 1960, the earliest model year the tables publish; a model
//     year before 1960 refuses the file. Model years after the last
//     published one have no factor.
//   - Table 6, electricity: the eGRID subregion total output rates, lb per
//     MWh converted exactly to kg (1 lb = 0.45359237 kg), as "electricity"
//     (location-based scope 2), region "US-<acronym>", the US average region
//     "US". Where the edition publishes a "Grid Gross Loss (%)" (2025 on), the
//     scope 3 category 3 transmission-and-distribution loss factor per MWh
//     consumed, "electricity_td_losses", per gas = loss rate × the row's total
//     output rate (kg/MWh); rows without a loss rate (PRMS) have none.
//     Non-baseload rates are for avoided emissions, not inventories, and are
//     not imported.
//   - Table 7, purchased steam and heat: "steam_and_heat", per mmBtu.
//   - Table 8, scope 3 categories 4 and 9: "freight/<vehicle type>", per
//     vehicle-mile or per short ton-mile (engine unit "ton-mile"); the truck
//     has both under one activity type, chosen by the activity's unit.
//   - Table 9, scope 3 categories 5 and 12: "waste/<material>/<treatment>"
//     (recycled, landfilled, combusted, composted, anaerobically_digested_dry,
//     anaerobically_digested_wet), per short ton, gas "CO2e" in kg: EPA
//     publishes metric tons CO2e converted with IPCC AR4 GWPs, so the value is
//     never multiplied by a GWP again. "NA" means no factor.
//   - Table 10, scope 3 categories 6 and 7: "travel/<vehicle type>"
//     ("travel/bus", "travel/air_travel_long_haul"; parenthesised
//     definitions are left to the source row), per vehicle-mile or
//     passenger-mile. Air travel is by haul as EPA defines it: short below
//     300 miles, medium 300 to 2300, long 2300 and more; other haul
//     definitions refuse the file.
package epahub

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/xlsx"
)

// SetName is the publication's name in factor references.
const SetName = "EPA GHG Emission Factors Hub"

// SheetName is the workbook sheet that holds the publication.
const SheetName = "Emission Factors Hub"

// Edition is one imported edition.
type Edition struct {
	Year         int
	LastModified time.Time
	Factors      []ghg.Factor
}

// Read imports a workbook. The reader is read whole (an .xlsx is a zip).
func Read(r io.Reader, units *ghg.Units) (Edition, error) {
	rows, err := xlsx.Rows(r, SheetName)
	if err != nil {
		return Edition{}, fmt.Errorf("epa hub: %w", err)
	}
	return Parse(rows, units)
}

var (
	lastModifiedRE = regexp.MustCompile(`Last Modified:\s*([A-Z][a-z]+ \d{1,2}, \d{4})`)
	updateFromRE   = regexp.MustCompile(`update from the (\d{4}) version`)
	releaseOfRE    = regexp.MustCompile(`release of the (\d{4}) version`)
)

// Columns (0-based).
const (
	colB = 1 + iota
	colC
	colD
	colE
	colF
	colG
	colH
	colI
	colJ
	colK
)

// parser reads one sheet.
type parser struct {
	rows  [][]string
	ed    Edition
	units *ghg.Units
	valid time.Time // the first day of the edition's year
	// biomass holds Table 1's biomass fuels, by name: their CO2 is biogenic
	// wherever they appear (Table 2 lists biodiesel and ethanol again).
	biomass map[string]bool
	// mobileCO2 holds Table 2's factors by fuel, for Table 5.
	mobileCO2 map[string]mobileFuel
}

// Parse reads the sheet's rows (as excelize returns them: row-major, column
// A first). It is separate from Read so it can be fuzzed without zip files.
func Parse(rows [][]string, units *ghg.Units) (Edition, error) {
	ed, err := edition(rows)
	if err != nil {
		return Edition{}, err
	}
	p := &parser{rows: rows, ed: ed, units: units, valid: time.Date(ed.Year, 1, 1, 0, 0, 0, 0, time.UTC),
		biomass: map[string]bool{}, mobileCO2: map[string]mobileFuel{}}
	// In this order: Table 5 uses Table 2's CO2, Table 2 Table 1's biomass.
	for i, read := range []func(int) ([]ghg.Factor, error){
		p.table1, p.table2, p.table3, p.table4, p.table5, p.table6, p.table7, p.table8, p.table9, p.table10,
	} {
		name := fmt.Sprintf("Table %d", i+1)
		start := findTable(rows, name)
		if start < 0 {
			return Edition{}, fmt.Errorf("epa hub: %q not found in column B", name)
		}
		fs, err := read(start)
		if err != nil {
			return Edition{}, err
		}
		if len(fs) == 0 {
			return Edition{}, fmt.Errorf("epa hub: %s (row %d) has no factor rows", name, start+1)
		}
		p.ed.Factors = append(p.ed.Factors, fs...)
	}
	if err := unique(p.ed.Factors); err != nil {
		return Edition{}, err
	}
	return p.ed, nil
}

// unique refuses two factors with one id, or for one activity type, region
// and unit: the choice between them would be arbitrary.
func unique(fs []ghg.Factor) error {
	seen := map[string]ghg.FactorRef{}
	for _, f := range fs {
		for _, k := range []string{"id " + f.ID, fmt.Sprintf("%s in %s per %s", f.ActivityType, f.Region, f.Per.Symbol)} {
			if prev, dup := seen[k]; dup {
				return fmt.Errorf("epa hub: %s, %s and %s, %s both give %s", prev.SourceTable, prev.SourceRow, f.Ref.SourceTable, f.Ref.SourceRow, k)
			}
			seen[k] = f.Ref
		}
	}
	return nil
}

// edition finds the edition year: from "Last Modified: <date>" (2025) or,
// failing that, from the notes on what changed ("an update from the 2023
// version", "the original release of the 2024 version": 2024).
func edition(rows [][]string) (Edition, error) {
	year := 0
	for _, r := range rows[:min(len(rows), 20)] {
		for _, c := range r {
			if m := lastModifiedRE.FindStringSubmatch(c); m != nil {
				t, err := time.Parse("January 2, 2006", m[1])
				if err != nil {
					return Edition{}, fmt.Errorf("epa hub: reading %q: %w", m[0], err)
				}
				return Edition{Year: t.Year(), LastModified: t}, nil
			}
			if m := updateFromRE.FindStringSubmatch(c); m != nil {
				y, _ := strconv.Atoi(m[1])
				year = max(year, y+1)
			}
			if m := releaseOfRE.FindStringSubmatch(c); m != nil {
				y, _ := strconv.Atoi(m[1])
				year = max(year, y)
			}
		}
	}
	if year == 0 {
		return Edition{}, errors.New(`epa hub: no edition found ("Last Modified:" date or "update from the YYYY version"): not an EPA Hub sheet, or its layout changed`)
	}
	return Edition{Year: year}, nil
}

func cell(rows [][]string, r, c int) string {
	if r < len(rows) && c < len(rows[r]) {
		return strings.TrimSpace(rows[r][c])
	}
	return ""
}

// footnoteRE matches a footnote letter after a label: "Passenger Car A",
// "Medium- and Heavy-Duty TruckC", "RecycledA", "(… with Curing)E".
var footnoteRE = regexp.MustCompile(`^(.*[a-z)])\s?[A-Z]$`)

// label is a cell's text with runs of white space (line breaks, no-break
// spaces) made one space and a trailing footnote letter dropped.
func label(rows [][]string, r, c int) string {
	s := strings.Join(strings.Fields(cell(rows, r, c)), " ")
	if m := footnoteRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

func ref(r, c int) string {
	name, _ := excelize.CoordinatesToCellName(c+1, r+1)
	return name
}

func findTable(rows [][]string, name string) int {
	for i := range rows {
		if cell(rows, i, colB) == name {
			return i
		}
	}
	return -1
}

// number reads a published number: spaces and thousands separators go.
func number(rows [][]string, r, c int) (decimal.Decimal, bool, error) {
	s := strings.ReplaceAll(cell(rows, r, c), ",", "")
	if s == "" {
		return decimal.Decimal{}, false, nil
	}
	if len(s) > 40 {
		return decimal.Decimal{}, false, fmt.Errorf("epa hub: cell %s: %q is too long for a number", ref(r, c), s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.IsNegative() || d.Exponent() < -20 || d.Exponent() > 20 {
		return decimal.Decimal{}, false, fmt.Errorf("epa hub: cell %s: %q is not a factor value", ref(r, c), cell(rows, r, c))
	}
	return d, true, nil
}

// value reads a number the row must have.
func (p *parser) value(table string, r, c int) (decimal.Decimal, error) {
	v, ok, err := number(p.rows, r, c)
	if err == nil && !ok {
		err = fmt.Errorf("epa hub: %s: cell %s: no value", table, ref(r, c))
	}
	return v, err
}

// grams reads a value in grams as kilograms, exactly.
func (p *parser) grams(table string, r, c int) (decimal.Decimal, error) {
	v, err := p.value(table, r, c)
	return v.Shift(-3), err
}

// gases reads a row's per-gas factor: CO2 in kg at column co2 (none when
// co2 is negative), CH4 and N2O in grams at ch4 and n2o, all as kg.
func (p *parser) gases(table string, r, co2, ch4, n2o int) (map[string]decimal.Decimal, error) {
	kg := map[string]decimal.Decimal{}
	var err error
	if co2 >= 0 {
		if kg["CO2"], err = p.value(table, r, co2); err != nil {
			return nil, err
		}
	}
	if kg["CH4"], err = p.grams(table, r, ch4); err != nil {
		return nil, err
	}
	if kg["N2O"], err = p.grams(table, r, n2o); err != nil {
		return nil, err
	}
	return kg, nil
}

// header finds a table's row of column headings, from column C on: the
// first row within six of the title whose first heading (the text before
// any parenthesis) reads as want's, and checks every heading, units
// included. "" wants an empty cell.
func (p *parser) header(table string, start int, want ...string) (int, error) {
	first := 0
	for first < len(want)-1 && want[first] == "" {
		first++
	}
	key := func(s string) string { before, _, _ := strings.Cut(s, "("); return strings.TrimSpace(before) }
	for r := start + 1; r < len(p.rows) && r <= start+6; r++ {
		if key(label(p.rows, r, colC+first)) != key(want[first]) {
			continue
		}
		for i, w := range want {
			if got := label(p.rows, r, colC+i); got != w {
				return -1, fmt.Errorf("epa hub: %s: cell %s is %q, want %q: the table's columns or units changed", table, ref(r, colC+i), got, w)
			}
		}
		return r, nil
	}
	column, _ := excelize.ColumnNumberToName(colC + first + 1)
	return -1, fmt.Errorf("epa hub: %s (row %d) has no %q heading in column %s within six rows", table, start+1, want[first], column)
}

// body lists the rows of a table's body: from below its headings to the
// first blank row (columns C to last), its "Source" or "Notes" line or the
// next table. Values below a blank row, before the next "Source", "Notes"
// or table, refuse the file: a table is read whole or not at all.
func (p *parser) body(table string, h, last int) ([]int, error) {
	stop := func(r int) bool {
		c := label(p.rows, r, colC)
		return strings.HasPrefix(cell(p.rows, r, colB), "Table ") || strings.HasPrefix(c, "Source") || strings.HasPrefix(c, "Notes")
	}
	blank := func(r, from int) (int, bool) {
		for c := from; c <= last; c++ {
			if cell(p.rows, r, c) != "" {
				return c, false
			}
		}
		return 0, true
	}
	var out []int
	r := h + 1
	for ; r < len(p.rows) && !stop(r); r++ {
		if _, ok := blank(r, colC); ok {
			break
		}
		out = append(out, r)
	}
	for after := r; r < len(p.rows) && !stop(r); r++ {
		if c, ok := blank(r, colD); !ok {
			return nil, fmt.Errorf("epa hub: %s: cell %s has a value below the blank row %d that ends the table", table, ref(r, c), after+1)
		}
	}
	return out, nil
}

// factor is a factor of the edition for the US.
func (p *parser) factor(table int, id, activity string, per ghg.Unit, sourceTable, sourceRow string, kg map[string]decimal.Decimal) ghg.Factor {
	return ghg.Factor{
		ID:           fmt.Sprintf("epa-hub-%d-t%d-%s", p.ed.Year, table, id),
		ActivityType: activity, Region: "US", Per: per, KgPerUnit: kg, ValidFrom: p.valid,
		Ref: ghg.FactorRef{Set: SetName, Version: strconv.Itoa(p.ed.Year), Edition: p.ed.Year, SourceTable: sourceTable, SourceRow: sourceRow},
	}
}

var perRE = regexp.MustCompile(`^mmBtu per (short ton|scf|gallon)$`)

// Columns of Table 1 (0-based): C fuel, D heat content, E-G per mmBtu.
const (
	colFuel = colC
	colHeat = colD
	colCO2  = colE
	colCH4  = colF
	colN2O  = colG
)

func (p *parser) table1(start int) ([]ghg.Factor, error) {
	rows, units := p.rows, p.units
	mmBtu := units.MustParse("mmBtu")
	perName := map[string]string{"short ton": "short ton", "scf": "scf", "gallon": "US gal"}
	var (
		per      ghg.Unit
		group    string
		out      []ghg.Factor
		seen     = map[string]int{}
		thousand = decimal.NewFromInt(1000)
	)
	for r := start + 1; r < len(rows); r++ {
		fuel := cell(rows, r, colFuel)
		if strings.HasPrefix(fuel, "Source") || strings.HasPrefix(cell(rows, r, colB), "Table ") {
			break
		}
		if m := perRE.FindStringSubmatch(cell(rows, r, colHeat)); m != nil {
			per = units.MustParse(perName[m[1]])
			continue
		}
		if fuel == "" || cell(rows, r, colHeat) == "Heat Content (HHV)" {
			continue
		}
		co2, hasCO2, err := number(rows, r, colCO2)
		if err != nil {
			return nil, err
		}
		if !hasCO2 {
			group = fuel // a group heading: "Coal and Coke", "Biomass Fuels - Solid"
			continue
		}
		if per.IsZero() {
			return nil, fmt.Errorf("epa hub: row %d (%s): a factor before any \"mmBtu per …\" unit row", r+1, fuel)
		}
		ch4, _, err := number(rows, r, colCH4)
		if err != nil {
			return nil, err
		}
		n2o, _, err := number(rows, r, colN2O)
		if err != nil {
			return nil, err
		}
		heat, hasHeat, err := number(rows, r, colHeat)
		if err != nil {
			return nil, err
		}
		id := slug(fuel)
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("epa hub: rows %d and %d both give %q", prev, r+1, fuel)
		}
		seen[id] = r + 1
		f := p.factor(1, id, id, mmBtu, "Table 1 Stationary Combustion", fmt.Sprintf("%s (row %d)", fuel, r+1),
			map[string]decimal.Decimal{"CH4": ch4.Div(thousand), "N2O": n2o.Div(thousand)})
		// Biomass CO2 is biogenic: reported outside the scopes.
		if strings.Contains(strings.ToLower(group), "biomass") {
			f.BiogenicCO2KgPerUnit = co2
			p.biomass[label(rows, r, colFuel)] = true
		} else {
			f.KgPerUnit["CO2"] = co2
		}
		if hasHeat {
			f.HeatContent = &ghg.HeatContent{Energy: ghg.Quantity{Value: heat, Unit: mmBtu}, Per: per, Basis: ghg.HHV}
		}
		out = append(out, f)
	}
	return out, nil
}

// lb is the pound in kilograms, exactly.
var lb = decimal.RequireFromString("0.45359237")

// gridLossHeading is Table 6's column of transmission and distribution
// loss rates (2025 on; the 2024 edition has none).
const gridLossHeading = "Grid Gross Loss (%)"

// table6 reads Table 6, electricity: eGRID subregion total output emission
// rates in lb per MWh, as location-based scope 2 grid factors per MWh in kg.
// Region "US-<acronym>"; the US average is region "US". Non-baseload rates
// are for estimating avoided emissions, not inventories, and are not
// imported. With the grid gross loss rate L of a row, the scope 3 category 3
// transmission and distribution loss factor per MWh consumed is, per gas,
// L × the row's total output rate: the emissions of generating the
// electricity lost on the way to the MWh consumed.
func (p *parser) table6(start int) ([]ghg.Factor, error) {
	rows := p.rows
	const (
		colAcronym = colC
		colName    = colD
		colCO2     = colE
		colCH4     = colF
		colN2O     = colG
		colLoss    = colK
	)
	header := -1
	for r := start + 1; r < len(rows) && r < start+8; r++ {
		if cell(rows, r, colAcronym) == "eGRID Subregion Acronym" {
			header = r
		}
	}
	if header < 0 {
		return nil, fmt.Errorf("epa hub: Table 6 (row %d) has no \"eGRID Subregion Acronym\" header", start+1)
	}
	for c, want := range map[int]string{colCO2: "(lb CO2 / MWh)", colCH4: "(lb CH4 / MWh)", colN2O: "(lb N2O / MWh)"} {
		if got := cell(rows, header+1, c); got != want {
			return nil, fmt.Errorf("epa hub: cell %s is %q, want %q: Table 6's units changed", ref(header+1, c), got, want)
		}
	}
	withLoss := false
	switch got := label(rows, header, colLoss); got {
	case gridLossHeading:
		withLoss = true
	case "":
	default:
		return nil, fmt.Errorf("epa hub: cell %s is %q, want %q or nothing: Table 6's columns changed", ref(header, colLoss), got, gridLossHeading)
	}
	mwh := p.units.MustParse("MWh")
	var out []ghg.Factor
	for r := header + 2; r < len(rows); r++ {
		acr := cell(rows, r, colAcronym)
		if acr == "" || strings.HasPrefix(acr, "Source") {
			break
		}
		vals := map[string]decimal.Decimal{}
		for gas, c := range map[string]int{"CO2": colCO2, "CH4": colCH4, "N2O": colN2O} {
			v, ok, err := number(rows, r, c)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("epa hub: cell %s: no %s rate for %s", ref(r, c), gas, acr)
			}
			vals[gas] = v.Mul(lb)
		}
		region, id := "US-"+acr, strings.ToLower(acr)
		if acr == "US Average" {
			region, id = "US", "us_average"
		}
		name := cell(rows, r, colName)
		f := p.factor(6, id, "electricity", mwh, "Table 6 Electricity (total output)", fmt.Sprintf("%s %s (row %d)", acr, name, r+1), vals)
		f.Region = region
		out = append(out, f)
		if !withLoss || cell(rows, r, colLoss) == "" {
			continue // PRMS: no loss rate published
		}
		loss, err := percent(rows, r, colLoss)
		if err != nil {
			return nil, err
		}
		lost := make(map[string]decimal.Decimal, len(vals))
		for gas, v := range vals {
			lost[gas] = loss.Mul(v)
		}
		td := p.factor(6, "td_losses-"+id, "electricity_td_losses", mwh, "Table 6 Electricity (grid gross loss × total output)",
			fmt.Sprintf("%s %s: %s loss × total output rates (row %d)", acr, name, cell(rows, r, colLoss), r+1), lost)
		td.Region = region
		out = append(out, td)
	}
	return out, nil
}

// percent reads a published percentage ("4.1%") as a fraction (0.041).
func percent(rows [][]string, r, c int) (decimal.Decimal, error) {
	s, ok := strings.CutSuffix(cell(rows, r, c), "%")
	if !ok {
		return decimal.Decimal{}, fmt.Errorf("epa hub: cell %s: %q is not a percentage", ref(r, c), cell(rows, r, c))
	}
	v, ok, err := number([][]string{{strings.TrimSpace(s)}}, 0, 0)
	if err != nil || !ok || v.GreaterThan(decimal.NewFromInt(100)) {
		return decimal.Decimal{}, fmt.Errorf("epa hub: cell %s: %q is not a percentage", ref(r, c), cell(rows, r, c))
	}
	return v.Shift(-2), nil
}

// table7 reads Table 7, purchased steam and heat per mmBtu (EPA assumes
// natural gas burnt at 80% efficiency), for scope 2.
func (p *parser) table7(start int) ([]ghg.Factor, error) {
	const name = "Table 7"
	h, err := p.header(name, start, "", "CO2 Factor (kg CO2 / mmBtu)", "CH4 Factor (g CH4 / mmBtu)", "N2O Factor (g N2O / mmBtu)")
	if err != nil {
		return nil, err
	}
	body, err := p.body(name, h, colF)
	if err != nil {
		return nil, err
	}
	mmBtu := p.units.MustParse("mmBtu")
	var out []ghg.Factor
	for _, r := range body {
		what := label(p.rows, r, colC)
		if what == "" {
			return nil, fmt.Errorf("epa hub: %s: cell %s: no label for the row", name, ref(r, colC))
		}
		kg, err := p.gases(name, r, colD, colE, colF)
		if err != nil {
			return nil, err
		}
		out = append(out, p.factor(7, slug(what), slug(what), mmBtu, "Table 7 Steam and Heat", fmt.Sprintf("%s (row %d)", what, r+1), kg))
	}
	return out, nil
}

var (
	nonWord = regexp.MustCompile(`[^a-z0-9]+`)
	parens  = regexp.MustCompile(`\([^)]*\)`)
)

// slug turns a fuel name into an activity type: "Distillate Fuel Oil No. 2"
// becomes "distillate_fuel_oil_no_2".
func slug(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "_"), "_")
}
