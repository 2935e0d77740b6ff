// Package activityfile reads the activity-data file analysts upload or pass
// to `greenlang calc`: CSV with a header row (docs/activity-file.md). Each
// bad row is reported with its row number, column and reason, and every
// good row is kept.
package activityfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/xlsx"
)

// Columns of the file. Required ones must be present in the header; the
// order is free and header names are case-insensitive.
const (
	ColID             = "id"
	ColActivityType   = "activity_type"
	ColQuantity       = "quantity"
	ColUnit           = "unit"
	ColPeriodStart    = "period_start"
	ColPeriodEnd      = "period_end"
	ColRegion         = "region"
	ColDataQuality    = "data_quality"
	ColUncertaintyPct = "uncertainty_pct"
	ColCorrection     = "correction"
	ColPriceYear      = "price_year"
	ColScope          = "scope"
	ColCategory       = "category"
	ColMethod         = "method"
	ColHeatBasis      = "heat_basis"
	ColSite           = "site"
)

func required() []string {
	return []string{ColActivityType, ColQuantity, ColUnit, ColPeriodStart}
}

// Columns lists every column a file may have, in the documented order.
func Columns() []string { return known() }

// Required lists the columns every file must have.
func Required() []string { return required() }

func known() []string {
	return []string{ColID, ColActivityType, ColQuantity, ColUnit, ColPeriodStart, ColPeriodEnd, ColRegion, ColDataQuality,
		ColUncertaintyPct, ColCorrection, ColPriceYear, ColScope, ColCategory, ColMethod, ColHeatBasis, ColSite}
}

// Row is one accepted row.
type Row struct {
	Line     int // 1-based line of the file (the header is line 1)
	Activity ghg.Activity
	Scope    int    // 0 when the file does not say
	Category int    // 0 when the file does not say
	Method   string // empty when the file does not say
}

// RowError is one refused row.
type RowError struct {
	Line   int    `json:"line"`
	Column string `json:"column"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d, column %s (%q): %s", e.Line, e.Column, e.Value, e.Reason)
}

// MaxLineBytes bounds one line, so a file without newlines cannot exhaust memory.
const MaxLineBytes = 64 << 10

// Read parses a CSV activity file. It returns the accepted rows and the
// refused ones; err is only for a file that cannot be read at all (no
// header, a missing required column, an unknown column).
func Read(r io.Reader, units *ghg.Units) ([]Row, []RowError, error) {
	cr := csv.NewReader(io.LimitReader(r, 1<<30))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return read(func() ([]string, int, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, pe.Line, &RowError{Line: pe.Line, Reason: pe.Err.Error()}
			}
			return nil, 0, err
		}
		line, _ := cr.FieldPos(0)
		return rec, line, nil
	}, units)
}

// ReadXLSX parses the first sheet of an .xlsx workbook laid out like the
// CSV file: a header row, then one activity per row.
func ReadXLSX(r io.Reader, units *ghg.Units) ([]Row, []RowError, error) {
	rows, err := xlsx.Rows(r, "")
	if err != nil {
		return nil, nil, fmt.Errorf("activity workbook: %w", err)
	}
	width := 0
	if len(rows) > 0 {
		width = len(rows[0])
	}
	i := 0
	return read(func() ([]string, int, error) {
		for i < len(rows) {
			i++
			rec := rows[i-1]
			if i > 1 && len(rec) == 0 {
				continue // a blank row
			}
			// excelize drops a row's trailing empty cells: give them back.
			if len(rec) < width {
				rec = append(append([]string(nil), rec...), make([]string, width-len(rec))...)
			}
			return rec, i, nil
		}
		return nil, 0, io.EOF
	}, units)
}

// read is the format-independent part: next returns each record with its
// line number, io.EOF at the end, or a *RowError for a record it could not read.
func read(next func() ([]string, int, error), units *ghg.Units) ([]Row, []RowError, error) {
	header, _, err := next()
	if err == io.EOF {
		return nil, nil, errors.New("activity file is empty: it needs a header row")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("activity file header: %w", err)
	}
	header = append([]string(nil), header...)
	col := map[string]int{}
	isKnown := map[string]bool{}
	for _, k := range known() {
		isKnown[k] = true
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !isKnown[name] {
			return nil, nil, fmt.Errorf("activity file header, column %d: unknown column %q (known: %s)", i+1, h, strings.Join(known(), ", "))
		}
		if _, dup := col[name]; dup {
			return nil, nil, fmt.Errorf("activity file header: column %q appears twice", name)
		}
		col[name] = i
	}
	for _, req := range required() {
		if _, ok := col[req]; !ok {
			return nil, nil, fmt.Errorf("activity file header: required column %q is missing", req)
		}
	}
	var rows []Row
	var bad []RowError
	for {
		rec, line, err := next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			bad = append(bad, *re)
			continue
		}
		if err != nil {
			return rows, bad, fmt.Errorf("reading activity file: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			bad = append(bad, RowError{Line: line, Reason: fmt.Sprintf("has %d fields, the header %d", len(rec), len(header))})
			continue
		}
		row, rerr := parseRow(rec, col, line, units)
		if rerr != nil {
			bad = append(bad, *rerr)
			continue
		}
		rows = append(rows, row)
	}
	return rows, bad, nil
}

func parseRow(rec []string, col map[string]int, line int, units *ghg.Units) (Row, *RowError) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	fail := func(name, reason string) (Row, *RowError) {
		return Row{}, &RowError{Line: line, Column: name, Value: get(name), Reason: reason}
	}
	r := Row{Line: line, Activity: ghg.Activity{ID: get(ColID), Type: get(ColActivityType), Region: get(ColRegion), DataQuality: 3}}
	if r.Activity.ID == "" {
		r.Activity.ID = "line-" + strconv.Itoa(line)
	}
	if r.Activity.Type == "" {
		return fail(ColActivityType, "is required")
	}
	q, err := parseQuantity(get(ColQuantity))
	if err != nil {
		return fail(ColQuantity, err.Error())
	}
	u, err := units.Parse(get(ColUnit))
	if err != nil {
		return fail(ColUnit, err.Error())
	}
	r.Activity.Quantity = ghg.Quantity{Value: q, Unit: u}
	if r.Activity.PeriodStart, err = parseDate(get(ColPeriodStart)); err != nil {
		return fail(ColPeriodStart, err.Error())
	}
	r.Activity.PeriodEnd = r.Activity.PeriodStart
	if s := get(ColPeriodEnd); s != "" {
		if r.Activity.PeriodEnd, err = parseDate(s); err != nil {
			return fail(ColPeriodEnd, err.Error())
		}
		if r.Activity.PeriodEnd.Before(r.Activity.PeriodStart) {
			return fail(ColPeriodEnd, "is before period_start")
		}
	}
	if s := get(ColCorrection); s != "" {
		if r.Activity.Correction, err = strconv.ParseBool(s); err != nil {
			return fail(ColCorrection, "is not true or false")
		}
	}
	if q.IsNegative() && !r.Activity.Correction {
		return fail(ColQuantity, "is negative; mark the row correction=true if it corrects an earlier one")
	}
	if s := get(ColDataQuality); s != "" {
		if r.Activity.DataQuality, err = strconv.Atoi(s); err != nil || r.Activity.DataQuality < 1 || r.Activity.DataQuality > 5 {
			return fail(ColDataQuality, "is not a whole number from 1 (best) to 5")
		}
	}
	if s := get(ColUncertaintyPct); s != "" {
		if r.Activity.UncertaintyPct, err = decimal.NewFromString(s); err != nil || r.Activity.UncertaintyPct.IsNegative() {
			return fail(ColUncertaintyPct, "is not a non-negative percentage")
		}
	}
	if s := get(ColPriceYear); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil || y < 1900 || y > 2200 || u.Dim != ghg.Currency {
			return fail(ColPriceYear, "is a year between 1900 and 2200, and only for amounts of money")
		}
		r.Activity.Quantity.PriceYear = y
	}
	if s := get(ColHeatBasis); s != "" {
		switch strings.ToLower(s) {
		case "hhv", "gross", "gross cv":
			r.Activity.HeatBasis = ghg.HHV
		case "ncv", "net", "net cv":
			r.Activity.HeatBasis = ghg.NCV
		default:
			return fail(ColHeatBasis, "is not HHV (gross) or NCV (net)")
		}
	}
	if s := get(ColScope); s != "" {
		if r.Scope, err = strconv.Atoi(s); err != nil || r.Scope < 1 || r.Scope > 3 {
			return fail(ColScope, "is not 1, 2 or 3")
		}
	}
	if s := get(ColCategory); s != "" {
		if r.Category, err = strconv.Atoi(s); err != nil || r.Category < 1 || r.Category > 15 || (r.Scope != 0 && r.Scope != 3) {
			return fail(ColCategory, "is a scope 3 category from 1 to 15")
		}
	}
	r.Method = get(ColMethod)
	r.Activity.Site = get(ColSite)
	return r, nil
}

// parseQuantity reads a decimal of at most 40 significant digits and
// magnitude below 1e30: enough for any real activity, and it keeps a value
// like 1e999999999 from turning into a billion digits later.
func parseQuantity(s string) (decimal.Decimal, error) {
	if len(s) > 64 {
		return decimal.Decimal{}, errors.New("is too long for a quantity")
	}
	q, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errors.New("is not a decimal number")
	}
	if q.Exponent() < -30 || q.Exponent() > 30 || len(q.Coefficient().String()) > 41 ||
		q.Abs().GreaterThanOrEqual(decimal.New(1, 30)) {
		return decimal.Decimal{}, errors.New("is out of range (at most 40 digits, below 1e30)")
	}
	return q, nil
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", time.RFC3339, "2006-01"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if s == "" {
		return time.Time{}, errors.New("is required")
	}
	return time.Time{}, errors.New("is not a date (YYYY-MM-DD, YYYY-MM or RFC 3339)")
}
