// Package gwpimport reads the IPCC GWP compilation (ipcc-gwp.csv: SAR to
// AR6 100-year GWPs and TAR/AR6 20- and 500-year GWPs, CC0, from
// openclimatedata/globalwarmingpotentials) as published, and derives from it
// the compact table ghg embeds (ghg/data/gwp100.csv). A bad row refuses the
// whole file.
package gwpimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

// Columns is the published header of ipcc-gwp.csv, in order.
func Columns() []string {
	return []string{"Species", "SARGWP100", "TARGWP100", "AR4GWP100", "AR5GWP100", "AR5CCFGWP100",
		"AR6GWP100", "TARGWP20", "AR6GWP20", "TARGWP500", "AR6GWP500", "AR6GTP100"}
}

// valueFields are the row's value fields in the order of Columns()[1:].
func valueFields(r *ghg.GWPRow) []*decimal.NullDecimal {
	return []*decimal.NullDecimal{&r.SARGWP100, &r.TARGWP100, &r.AR4GWP100, &r.AR5GWP100, &r.AR5CCFGWP100,
		&r.AR6GWP100, &r.TARGWP20, &r.AR6GWP20, &r.TARGWP500, &r.AR6GWP500, &r.AR6GTP100}
}

// Error is a refused line of the file.
type Error struct {
	Line   int
	Column string // empty when the fault is the whole line
	Reason string
}

func (e *Error) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("ipcc-gwp: line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("ipcc-gwp: line %d, column %s: %s", e.Line, e.Column, e.Reason)
}

// maxBytes bounds the input; the published file is under 10 kB.
const maxBytes = 16 << 20

// ReadIPCC parses ipcc-gwp.csv as published: lines starting with '#' are
// comments (the file's sources block, padded with commas), then the header
// (Columns, exactly), then one row per species. A value is blank or a
// non-negative decimal number. Missing or extra fields, a value that is not
// a number, and a species given twice (by ghg.GasKey, so "HFC-134a" and
// "HFC134a" are one species) are errors naming the line and column.
func ReadIPCC(r io.Reader) ([]ghg.GWPRow, error) {
	br := bufio.NewReader(io.LimitReader(r, maxBytes))
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\ufeff")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cols := Columns()
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("ipcc-gwp: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("ipcc-gwp: header: %w", err)
	}
	hline, _ := cr.FieldPos(0)
	for i, want := range cols {
		if i >= len(header) {
			return nil, &Error{hline, want, "missing from the header: not the published layout"}
		}
		if got := strings.TrimSpace(header[i]); got != want {
			return nil, &Error{hline, want, fmt.Sprintf("header has %q in its place: not the published layout", got)}
		}
	}
	if len(header) > len(cols) {
		return nil, &Error{hline, "", fmt.Sprintf("header has %d columns, want %d: not the published layout", len(header), len(cols))}
	}
	var rows []ghg.GWPRow
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &Error{pe.Line, "", fmt.Sprintf("%v (at character %d)", pe.Err, pe.Column)}
			}
			return nil, fmt.Errorf("ipcc-gwp: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < len(cols) {
			return nil, &Error{line, cols[len(rec)], fmt.Sprintf("missing (%d fields, want %d)", len(rec), len(cols))}
		}
		if len(rec) > len(cols) {
			return nil, &Error{line, "", fmt.Sprintf("%d fields, want %d", len(rec), len(cols))}
		}
		row := ghg.GWPRow{Line: line, Species: strings.TrimSpace(rec[0])}
		key := ghg.GasKey(row.Species)
		if key == "" {
			return nil, &Error{line, cols[0], "no species name"}
		}
		if prev, dup := seen[key]; dup {
			return nil, &Error{line, cols[0], fmt.Sprintf("species %q is already on line %d", row.Species, prev)}
		}
		seen[key] = line
		for i, f := range valueFields(&row) {
			s := strings.TrimSpace(rec[1+i])
			if s == "" {
				continue
			}
			v, ok := ghg.ParsePlainDecimal(s, 12)
			if !ok {
				return nil, &Error{line, cols[1+i], fmt.Sprintf("%q is not a non-negative decimal number", rec[1+i])}
			}
			*f = decimal.NewNullDecimal(v)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("ipcc-gwp: no species rows")
	}
	return rows, nil
}

// Sources cited in the derived table.
const (
	SourceCompilation = "ipcc-gwp.csv (IPCC SAR–AR6 compilation, CC0)"
	SourceAR6Table715 = "IPCC AR6 WG1 Table 7.15"
	SourceCO2         = "definition: CO2 is the reference gas"
)

// AR6 WG1 Table 7.15 100-year GWPs of methane by origin, which the
// compilation does not carry (it has the combined 27.9).
const (
	AR6CH4Fossil    = "29.8"
	AR6CH4NonFossil = "27.0"
)

// WriteGWP100 writes the compact 100-year table ghg embeds
// (ghg/data/gwp100.csv): header gas,ar4,ar5,ar6,source; first CO2 (1 in
// every set, by definition; the compilation has no CO2 row); then, in file
// order, every species with an AR4, AR5 or AR6 100-year value (a blank cell
// where a set has none), with the AR6 methane split (CH4-fossil 29.8,
// CH4-non-fossil 27.0, Table 7.15) right after CH4. Gas names are the
// file's. The output depends on rows alone, byte for byte.
func WriteGWP100(w io.Writer, rows []ghg.GWPRow) error {
	cell := func(v decimal.NullDecimal) string {
		if !v.Valid {
			return ""
		}
		return v.Decimal.String()
	}
	out := [][]string{{"gas", "ar4", "ar5", "ar6", "source"}, {"CO2", "1", "1", "1", SourceCO2}}
	seen := map[string]bool{ghg.GasKey("CO2"): true}
	ch4 := false
	for _, r := range rows {
		if !r.AR4GWP100.Valid && !r.AR5GWP100.Valid && !r.AR6GWP100.Valid {
			continue
		}
		k := ghg.GasKey(r.Species)
		if seen[k] {
			return fmt.Errorf("gwp100: species %q (line %d) is given twice or clashes with a row the table adds", r.Species, r.Line)
		}
		seen[k] = true
		out = append(out, []string{r.Species, cell(r.AR4GWP100), cell(r.AR5GWP100), cell(r.AR6GWP100), SourceCompilation})
		if k == "CH4" {
			ch4 = true
			out = append(out,
				[]string{ghg.GasCH4Fossil, "", "", AR6CH4Fossil, SourceAR6Table715},
				[]string{ghg.GasCH4NonFossil, "", "", AR6CH4NonFossil, SourceAR6Table715})
			seen[ghg.GasKey(ghg.GasCH4Fossil)], seen[ghg.GasKey(ghg.GasCH4NonFossil)] = true, true
		}
	}
	if !ch4 {
		return errors.New("gwp100: no CH4 row with an AR4, AR5 or AR6 value")
	}
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(out); err != nil {
		return fmt.Errorf("gwp100: %w", err)
	}
	return nil
}
