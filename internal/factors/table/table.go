// Package table is the project's compact factor-table format: one CSV row
// per factor with every value the engine uses and the publication, table and
// row it comes from. The built-in library ships in this format, derived by
// the importers from the official files; users can export and load it.
package table

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

// Header is the table's header row.
var header = []string{"id", "set", "version", "edition", "source_table", "source_row", "activity_type", "region",
	"per", "per_basis", "price_year", "kg_per_unit", "biogenic_co2_kg_per_unit", "heat_content", "heat_unit", "heat_per", "heat_basis",
	"uncertainty_pct", "valid_from", "valid_to"}

// Header returns the header row.
func Header() []string { return append([]string(nil), header...) }

// Write writes factors sorted by id, so the same factors give the same bytes.
func Write(w io.Writer, fs []ghg.Factor) error {
	sorted := append([]ghg.Factor(nil), fs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, f := range sorted {
		gases := make([]string, 0, len(f.KgPerUnit))
		for g, v := range f.KgPerUnit {
			gases = append(gases, g+"="+v.String())
		}
		sort.Strings(gases)
		var hv, hu, hp, hb string
		if h := f.HeatContent; h != nil {
			hv, hu, hp, hb = h.Energy.Value.String(), h.Energy.Unit.Symbol, h.Per.Symbol, string(h.Basis)
		}
		rec := []string{f.ID, f.Ref.Set, f.Ref.Version, itoa(f.Ref.Edition), f.Ref.SourceTable, f.Ref.SourceRow, f.ActivityType, f.Region,
			f.Per.Symbol, string(f.PerBasis), itoa(f.PriceYear), strings.Join(gases, ";"), zeroEmpty(f.BiogenicCO2KgPerUnit),
			hv, hu, hp, hb, zeroEmpty(f.UncertaintyPct), date(f.ValidFrom), date(f.ValidTo)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(i int) string {
	if i == 0 {
		return ""
	}
	return strconv.Itoa(i)
}

func zeroEmpty(d decimal.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// Read reads a table. Any bad cell refuses the whole table, naming line and
// column: a factor table is loaded whole or not at all.
func Read(r io.Reader, units *ghg.Units) ([]ghg.Factor, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(header)
	got, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("factor table: header: %w", err)
	}
	for i := range header {
		if got[i] != header[i] {
			return nil, fmt.Errorf("factor table: header column %d is %q, want %q", i+1, got[i], header[i])
		}
	}
	var out []ghg.Factor
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("factor table: %w", err)
		}
		line, _ := cr.FieldPos(0)
		f, col, err := parse(rec, units)
		if err != nil {
			return nil, fmt.Errorf("factor table: line %d, column %s: %w", line, col, err)
		}
		if prev, dup := seen[f.ID]; dup {
			return nil, fmt.Errorf("factor table: lines %d and %d have id %q", prev, line, f.ID)
		}
		seen[f.ID] = line
		out = append(out, f)
	}
}

func parse(rec []string, units *ghg.Units) (ghg.Factor, string, error) {
	f := ghg.Factor{ID: rec[0], Ref: ghg.FactorRef{Set: rec[1], Version: rec[2], SourceTable: rec[4], SourceRow: rec[5]},
		ActivityType: rec[6], Region: rec[7], PerBasis: ghg.HeatBasis(rec[9]), KgPerUnit: map[string]decimal.Decimal{}}
	if f.ID == "" || f.ActivityType == "" || f.Ref.Set == "" {
		return f, "id", errors.New("id, set and activity_type are required")
	}
	var err error
	if f.Ref.Edition, err = optInt(rec[3]); err != nil {
		return f, "edition", err
	}
	if f.Per, err = units.Parse(rec[8]); err != nil {
		return f, "per", err
	}
	if f.PerBasis != "" && f.PerBasis != ghg.HHV && f.PerBasis != ghg.NCV {
		return f, "per_basis", fmt.Errorf("%q is not HHV or NCV", rec[9])
	}
	if f.PriceYear, err = optInt(rec[10]); err != nil {
		return f, "price_year", err
	}
	for _, kv := range strings.Split(rec[11], ";") {
		gas, v, ok := strings.Cut(kv, "=")
		if !ok || gas == "" {
			return f, "kg_per_unit", fmt.Errorf("%q is not gas=value", kv)
		}
		d, err := number(v)
		if err != nil {
			return f, "kg_per_unit", err
		}
		if _, dup := f.KgPerUnit[gas]; dup {
			return f, "kg_per_unit", fmt.Errorf("gas %s twice", gas)
		}
		f.KgPerUnit[gas] = d
	}
	if rec[12] != "" {
		if f.BiogenicCO2KgPerUnit, err = number(rec[12]); err != nil {
			return f, "biogenic_co2_kg_per_unit", err
		}
	}
	if rec[13] != "" {
		h := ghg.HeatContent{Basis: ghg.HeatBasis(rec[16])}
		if h.Energy.Value, err = number(rec[13]); err != nil {
			return f, "heat_content", err
		}
		if h.Energy.Unit, err = units.Parse(rec[14]); err != nil || h.Energy.Unit.Dim != ghg.Energy {
			return f, "heat_unit", fmt.Errorf("%q is not an energy unit", rec[14])
		}
		if h.Per, err = units.Parse(rec[15]); err != nil {
			return f, "heat_per", err
		}
		if h.Basis != ghg.HHV && h.Basis != ghg.NCV {
			return f, "heat_basis", fmt.Errorf("%q is not HHV or NCV", rec[16])
		}
		f.HeatContent = &h
	}
	if rec[17] != "" {
		if f.UncertaintyPct, err = number(rec[17]); err != nil {
			return f, "uncertainty_pct", err
		}
	}
	if f.ValidFrom, err = optDate(rec[18]); err != nil {
		return f, "valid_from", err
	}
	if f.ValidTo, err = optDate(rec[19]); err != nil {
		return f, "valid_to", err
	}
	return f, "", nil
}

func optInt(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1900 || v > 2200 {
		return 0, fmt.Errorf("%q is not a year", s)
	}
	return v, nil
}

func optDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	return t, nil
}

func number(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil || len(s) > 40 || d.Exponent() < -30 || d.Exponent() > 30 {
		return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
	}
	return d, nil
}

// Encode is one factor as a row of the table (CSV, no header): the store
// keeps it beside the factor's per-gas rows so a stored set is read back
// exactly.
func Encode(f ghg.Factor) (string, error) {
	var b strings.Builder
	if err := Write(&b, []ghg.Factor{f}); err != nil {
		return "", err
	}
	_, row, _ := strings.Cut(b.String(), "\n")
	return strings.TrimSuffix(row, "\n"), nil
}

// Decode reads a row written by Encode.
func Decode(row string, units *ghg.Units) (ghg.Factor, error) {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	w.Flush()
	fs, err := Read(strings.NewReader(b.String()+row+"\n"), units)
	if err != nil {
		return ghg.Factor{}, err
	}
	if len(fs) != 1 {
		return ghg.Factor{}, fmt.Errorf("factor table row: %d factors, want 1", len(fs))
	}
	return fs[0], nil
}
