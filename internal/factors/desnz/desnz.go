// Package desnz imports the UK DESNZ "Greenhouse gas reporting: conversion
// factors" flat file as published (sheet "Factors by Category"). Its per-gas
// rows ("kg CO2e of CH4 per unit") are already CO2-equivalent: the factor
// carries the published "kg CO2e" total as an already-CO2e value, never
// multiplied by a GWP again, and keeps the per-gas parts for reference. The
// CO2 part (kg CO2e of CO2 is kg of CO2) is split out as gas CO2, with the
// rest of the published total as CO2e, so the total stays exactly the
// published one while CO2 is reported by mass and a radiative-forcing uplift
// can apply to it.
// Fuels are published per tonne, litre and kWh (gross and net calorific
// value), each its own factor with its basis. Rows without a value, energy-use
// rows for SECR ("kWh (Net CV)" per vehicle-km, not emission factors) and
// rows in units the engine does not know are skipped and counted; a
// malformed value refuses the whole file, naming the cell.
package desnz

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
const SetName = "UK DESNZ GHG Conversion Factors"

// SheetName holds the factors.
const SheetName = "Factors by Category"

// ActivityPrefix starts every activity type this importer makes.
const ActivityPrefix = "desnz:"

// Edition is one imported edition.
type Edition struct {
	Year    int
	Factors []ghg.Factor
	// Parts are the published already-CO2e contributions by gas, per unit,
	// by factor id.
	Parts map[string]map[string]decimal.Decimal
	// Skipped counts rows not imported, by reason.
	Skipped map[string]int
}

// Read imports the workbook.
func Read(r io.Reader, units *ghg.Units) (Edition, error) {
	rows, err := xlsx.Rows(r, SheetName)
	if err != nil {
		return Edition{}, fmt.Errorf("desnz: %w", err)
	}
	return Parse(rows, units)
}

var (
	valueHeaderRE = regexp.MustCompile(`^GHG Conversion Factor (\d{4})$`)
	partRE        = regexp.MustCompile(`^kg CO2e of (CO2|CH4|N2O) per unit$`)
	nonWord       = regexp.MustCompile(`[^a-z0-9]+`)
)

// uom maps DESNZ units of measure to engine units; a basis is given for
// energy units that state one.
func uom(s string, units *ghg.Units) (ghg.Unit, ghg.HeatBasis, bool) {
	sym, basis := map[string]string{
		"tonnes": "tonne", "litres": "L", "kWh": "kWh", "kWh (Gross CV)": "kWh", "kWh (Net CV)": "kWh", "GJ": "GJ",
		"cubic metres": "m3", "passenger.km": "passenger-km", "tonne.km": "tonne-km", "km": "vehicle-km",
		"miles": "vehicle-mile", "Room per night": "room-night", "kg": "kg",
	}[s], ghg.HeatBasis("")
	switch s {
	case "kWh (Gross CV)":
		basis = ghg.HHV
	case "kWh (Net CV)":
		basis = ghg.NCV
	}
	if sym == "" {
		return ghg.Unit{}, "", false
	}
	return units.MustParse(sym), basis, true
}

// Parse reads the sheet's rows; separate from Read so it can be fuzzed.
func Parse(rows [][]string, units *ghg.Units) (Edition, error) {
	hdr := -1
	ed := Edition{Parts: map[string]map[string]decimal.Decimal{}, Skipped: map[string]int{}}
	for i, r := range rows {
		if len(r) >= 10 && strings.TrimSpace(r[0]) == "ID" {
			m := valueHeaderRE.FindStringSubmatch(strings.TrimSpace(r[9]))
			if m == nil {
				return Edition{}, fmt.Errorf("desnz: header row %d: column J is %q, want \"GHG Conversion Factor YYYY\"", i+1, r[9])
			}
			ed.Year, _ = strconv.Atoi(m[1])
			hdr = i
			break
		}
	}
	if hdr < 0 {
		return Edition{}, errors.New(`desnz: no header row starting with "ID": not the flat file, or its layout changed`)
	}
	byKey := map[string]int{} // factor key -> index in ed.Factors
	valid := time.Date(ed.Year, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := hdr + 1; i < len(rows); i++ {
		r := rows[i]
		if len(r) < 10 || strings.TrimSpace(r[9]) == "" {
			ed.Skipped["no value published"]++
			continue
		}
		id := strings.TrimSpace(r[0])
		cellRef, _ := excelize.CoordinatesToCellName(10, i+1)
		v, err := decimal.NewFromString(strings.ReplaceAll(strings.TrimSpace(r[9]), ",", ""))
		if err != nil || len(r[9]) > 40 || v.Exponent() < -20 || v.Exponent() > 20 {
			return Edition{}, fmt.Errorf("desnz: cell %s (factor %s): %q is not a number", cellRef, id, r[9])
		}
		unit, basis, ok := uom(strings.TrimSpace(r[7]), units)
		if !ok {
			ed.Skipped["unit "+strings.TrimSpace(r[7])]++
			continue
		}
		levels := []string{r[2], r[3], r[4], r[5], r[6]}
		var parts []string
		for _, l := range levels {
			if l = strings.Trim(nonWord.ReplaceAllString(strings.ToLower(l), "_"), "_"); l != "" {
				parts = append(parts, l)
			}
		}
		activity := ActivityPrefix + strings.Join(parts, "/")
		key := activity + "|" + unit.Symbol + "|" + string(basis)
		ghgUnit := strings.TrimSpace(r[8])
		switch {
		case ghgUnit == "kWh (Net CV)" || ghgUnit == "kWh (net)":
			ed.Skipped["energy use for SECR, not an emission factor"]++
			continue
		case ghgUnit != "kg CO2e" && !partRE.MatchString(ghgUnit):
			return Edition{}, fmt.Errorf("desnz: row %d (factor %s): GHG/Unit %q is not one the flat file uses", i+1, id, ghgUnit)
		}
		idx, ok := byKey[key]
		if !ok {
			fid := fmt.Sprintf("desnz-%d-%s", ed.Year, strings.Join(strings.Split(id, "_")[:max(1, len(strings.Split(id, "_"))-1)], "_"))
			if basis != "" {
				fid += "-" + strings.ToLower(string(basis))
			}
			ed.Factors = append(ed.Factors, ghg.Factor{
				ID: fid, ActivityType: activity, Region: "UK", Per: unit, PerBasis: basis, KgPerUnit: map[string]decimal.Decimal{},
				Ref: ghg.FactorRef{Set: SetName, Version: strconv.Itoa(ed.Year), Edition: ed.Year, SourceTable: SheetName,
					SourceRow: fmt.Sprintf("%s (%s; row %d)", id, strings.Join(nonEmpty(levels), " / "), i+1)},
				ValidFrom: valid,
			})
			idx = len(ed.Factors) - 1
			byKey[key] = idx
		}
		f := &ed.Factors[idx]
		if ghgUnit == "kg CO2e" {
			if _, dup := f.KgPerUnit["CO2e"]; dup {
				return Edition{}, fmt.Errorf("desnz: row %d (factor %s): a second kg CO2e total for %s per %s", i+1, id, activity, unit.Symbol)
			}
			f.KgPerUnit["CO2e"] = v
			continue
		}
		gas := partRE.FindStringSubmatch(ghgUnit)[1]
		if ed.Parts[f.ID] == nil {
			ed.Parts[f.ID] = map[string]decimal.Decimal{}
		}
		ed.Parts[f.ID][gas] = v
	}
	out := ed.Factors[:0]
	for _, f := range ed.Factors {
		total, ok := f.KgPerUnit["CO2e"]
		if !ok {
			ed.Skipped["per-gas parts without a total"]++
			delete(ed.Parts, f.ID)
			continue
		}
		if co2, ok := ed.Parts[f.ID]["CO2"]; ok && !co2.IsNegative() && co2.LessThanOrEqual(total) {
			f.KgPerUnit["CO2"] = co2
			f.KgPerUnit["CO2e"] = total.Sub(co2)
		}
		out = append(out, f)
	}
	ed.Factors = out
	if len(ed.Factors) == 0 {
		return Edition{}, errors.New("desnz: no factor rows")
	}
	return ed, nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
