// Package epahub imports the US EPA GHG Emission Factors Hub workbook as
// published (one sheet, "Emission Factors Hub", with numbered tables). It
// reads Table 1, stationary combustion, into engine factors per mmBtu with
// each fuel's heat content (HHV), so activity in scf, gallons, short tons or
// mmBtu all meet the same factor; and Table 6, the eGRID subregion grid
// factors for location-based scope 2. Any cell it cannot read refuses the whole
// file, naming the cell: a partial edition is never published.
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

// Parse reads the sheet's rows (as excelize returns them: row-major, column
// A first). It is separate from Read so it can be fuzzed without zip files.
func Parse(rows [][]string, units *ghg.Units) (Edition, error) {
	ed, err := edition(rows)
	if err != nil {
		return Edition{}, err
	}
	start := findTable(rows, "Table 1")
	if start < 0 {
		return Edition{}, errors.New(`epa hub: "Table 1" not found in column B`)
	}
	fs, err := parseTable1(rows, start, ed, units)
	if err != nil {
		return Edition{}, err
	}
	ed.Factors = fs
	if t6 := findTable(rows, "Table 6"); t6 >= 0 {
		grid, err := parseTable6(rows, t6, ed, units)
		if err != nil {
			return Edition{}, err
		}
		ed.Factors = append(ed.Factors, grid...)
	}
	return ed, nil
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

func ref(r, c int) string {
	name, _ := excelize.CoordinatesToCellName(c+1, r+1)
	return name
}

func findTable(rows [][]string, name string) int {
	for i := range rows {
		if cell(rows, i, 1) == name {
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

var perRE = regexp.MustCompile(`^mmBtu per (short ton|scf|gallon)$`)

// Columns of Table 1 (0-based): C fuel, D heat content, E-G per mmBtu.
const (
	colFuel = 2
	colHeat = 3
	colCO2  = 4
	colCH4  = 5
	colN2O  = 6
)

func parseTable1(rows [][]string, start int, ed Edition, units *ghg.Units) ([]ghg.Factor, error) {
	mmBtu := units.MustParse("mmBtu")
	perName := map[string]string{"short ton": "short ton", "scf": "scf", "gallon": "US gal"}
	var (
		per      ghg.Unit
		group    string
		out      []ghg.Factor
		seen     = map[string]int{}
		thousand = decimal.NewFromInt(1000)
	)
	valid := time.Date(ed.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	for r := start + 1; r < len(rows); r++ {
		fuel := cell(rows, r, colFuel)
		if strings.HasPrefix(fuel, "Source") || strings.HasPrefix(cell(rows, r, 1), "Table ") {
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
		f := ghg.Factor{
			ID:           fmt.Sprintf("epa-hub-%d-t1-%s", ed.Year, id),
			ActivityType: id, Region: "US", Per: mmBtu,
			Ref: ghg.FactorRef{Set: SetName, Version: strconv.Itoa(ed.Year), Edition: ed.Year,
				SourceTable: "Table 1 Stationary Combustion", SourceRow: fmt.Sprintf("%s (row %d)", fuel, r+1)},
			KgPerUnit: map[string]decimal.Decimal{"CH4": ch4.Div(thousand), "N2O": n2o.Div(thousand)},
			ValidFrom: valid,
		}
		// Biomass CO2 is biogenic: reported outside the scopes.
		if strings.Contains(strings.ToLower(group), "biomass") {
			f.BiogenicCO2KgPerUnit = co2
		} else {
			f.KgPerUnit["CO2"] = co2
		}
		if hasHeat {
			f.HeatContent = &ghg.HeatContent{Energy: ghg.Quantity{Value: heat, Unit: mmBtu}, Per: per, Basis: ghg.HHV}
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("epa hub: Table 1 has no factor rows")
	}
	return out, nil
}

// parseTable6 reads Table 6, electricity: eGRID subregion total output
// emission rates in lb per MWh, as location-based scope 2 grid factors per
// MWh in kg (1 lb = 0.45359237 kg exactly). Region "US-<acronym>"; the US
// average is region "US". Non-baseload rates are for estimating avoided
// emissions, not inventories, and are not imported.
func parseTable6(rows [][]string, start int, ed Edition, units *ghg.Units) ([]ghg.Factor, error) {
	const (
		colAcronym = 2
		colName    = 3
		colCO2     = 4
		colCH4     = 5
		colN2O     = 6
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
	lb := decimal.RequireFromString("0.45359237")
	mwh := units.MustParse("MWh")
	valid := time.Date(ed.Year, 1, 1, 0, 0, 0, 0, time.UTC)
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
		out = append(out, ghg.Factor{
			ID: fmt.Sprintf("epa-hub-%d-t6-%s", ed.Year, id), ActivityType: "electricity", Region: region, Per: mwh,
			KgPerUnit: vals, ValidFrom: valid,
			Ref: ghg.FactorRef{Set: SetName, Version: strconv.Itoa(ed.Year), Edition: ed.Year, SourceTable: "Table 6 Electricity (total output)",
				SourceRow: fmt.Sprintf("%s %s (row %d)", acr, cell(rows, r, colName), r+1)},
		})
	}
	if len(out) == 0 {
		return nil, errors.New("epa hub: Table 6 has no subregion rows")
	}
	return out, nil
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// slug turns a fuel name into an activity type: "Distillate Fuel Oil No. 2"
// becomes "distillate_fuel_oil_no_2".
func slug(s string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(s), "_"), "_")
}
