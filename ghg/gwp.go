package ghg

import (
	"bytes"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/shopspring/decimal"
)

// GWPRow is one species of the IPCC GWP compilation (ipcc-gwp.csv: SAR to
// AR6, CC0), column for column as published. A value the publication
// leaves blank is not Valid. ghg/gwpimport reads the file into these rows;
// ghg/data/gwp100.csv is derived from them.
type GWPRow struct {
	Line    int    // line of the row in the source file
	Species string // as published: "CH4", "HFC134a", "cC4F8"

	// 100-year GWPs by assessment report; AR5CCFGWP100 is AR5 with
	// climate-carbon feedbacks. AR6GWP100 for CH4 is the combined value
	// (27.9), not the fossil/non-fossil split.
	SARGWP100, TARGWP100, AR4GWP100, AR5GWP100, AR5CCFGWP100, AR6GWP100 decimal.NullDecimal
	// 20- and 500-year GWPs, and the AR6 100-year global temperature change
	// potential.
	TARGWP20, AR6GWP20, TARGWP500, AR6GWP500, AR6GTP100 decimal.NullDecimal
}

// GWP set IDs, as LoadGWPSets' table knows them and as results record them.
//
// Methane is where the sets differ in kind, not only in value. AR6 (WG1
// Table 7.15) gives fossil methane 29.8 and non-fossil methane 27.0; the
// compiled IPCC table gives one combined value, 27.9. So there are two AR6
// sets:
//
//   - AR6: plain "CH4" is fossil methane, 29.8. Non-fossil methane (biogenic:
//     livestock, landfill, wastewater) must be asked for as "CH4-non-fossil",
//     27.0. A wrong choice overstates, never understates.
//   - AR6Combined ("AR6-combined"): plain "CH4" is the combined 27.9, as in
//     the compiled table.
//
// In both AR6 sets "CH4-fossil" is 29.8 and "CH4-non-fossil" is 27.0. AR4
// and AR5 give no split: there "CH4-fossil" and "CH4-non-fossil" are errors
// and "CH4" is 25 (AR4) or 28 (AR5).
const (
	AR4         = "AR4"
	AR5         = "AR5"
	AR6         = "AR6"
	AR6Combined = "AR6-combined"
)

// GWPSetIDs lists the GWP set IDs, oldest first.
func GWPSetIDs() []string { return []string{AR4, AR5, AR6, AR6Combined} }

// Gas names of the AR6 methane split, as in ghg/data/gwp100.csv.
const (
	GasCH4Fossil    = "CH4-fossil"
	GasCH4NonFossil = "CH4-non-fossil"
)

// GasKey is the key gas names are matched by: spaces and hyphens removed,
// upper case. "HFC-134a", "hfc 134a" and "HFC134a" are one gas; "R-134a"
// is not (it is a refrigerant designation, not a gas name).
func GasKey(gas string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return unicode.ToUpper(r)
	}, gas)
}

//go:embed data/gwp100.csv
var gwpData embed.FS

const gwpDataFile = "data/gwp100.csv"

// gwp100Header is the header of data/gwp100.csv; the three value columns
// follow it in GWPTable's column order.
const gwp100Header = "gas,ar4,ar5,ar6,source"

// ParsePlainDecimal reads a plain non-negative decimal as publications and
// the project's data files write GWPs: digits, optionally a point and more
// digits, at most maxDigits either side; no sign, exponent or separators.
func ParsePlainDecimal(s string, maxDigits int) (decimal.Decimal, bool) {
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(p string) bool {
		if p == "" || len(p) > maxDigits {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	if !digits(whole) || (dot && !digits(frac)) {
		return decimal.Zero, false
	}
	return decimal.RequireFromString(s), true
}

// GWPTable holds the 100-year GWPs of every gas in the embedded table
// (ghg/data/gwp100.csv) under AR4, AR5 and AR6; Set picks one GWP set.
type GWPTable struct {
	entries []gwpEntry
}

type gwpEntry struct {
	gas    string
	key    string
	values [3]decimal.NullDecimal // AR4, AR5, AR6
	source string
}

// LoadGWPSets parses the embedded GWP table, derived from the IPCC
// compilation by ghg/gwpimport/cmd/gwpgen. An error names the line and
// column at fault.
func LoadGWPSets() (*GWPTable, error) {
	b, err := gwpData.ReadFile(gwpDataFile)
	if err != nil {
		return nil, fmt.Errorf("ghg: %w", err)
	}
	return parseGWPTable(bytes.NewReader(b))
}

func parseGWPTable(r io.Reader) (*GWPTable, error) {
	header := strings.Split(gwp100Header, ",")
	fail := func(line int, col, format string, args ...any) error {
		return fmt.Errorf("ghg: %s line %d, column %s: %s", gwpDataFile, line, col, fmt.Sprintf(format, args...))
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	got, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("ghg: %s is empty", gwpDataFile)
	}
	if err != nil {
		return nil, fmt.Errorf("ghg: %s header: %w", gwpDataFile, err)
	}
	for i, h := range header {
		if i >= len(got) || got[i] != h {
			return nil, fail(1, h, "header is %q, want %q", strings.Join(got, ","), gwp100Header)
		}
	}
	if len(got) != len(header) {
		return nil, fail(1, got[len(header)], "header is %q, want %q", strings.Join(got, ","), gwp100Header)
	}
	t := &GWPTable{}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ghg: %s: %w", gwpDataFile, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < len(header) {
			return nil, fail(line, header[len(rec)], "missing (%d columns, want %d)", len(rec), len(header))
		}
		if len(rec) > len(header) {
			return nil, fmt.Errorf("ghg: %s line %d: %d columns, want %d", gwpDataFile, line, len(rec), len(header))
		}
		e := gwpEntry{gas: rec[0], key: GasKey(rec[0]), source: rec[4]}
		if e.key == "" {
			return nil, fail(line, header[0], "no gas name")
		}
		if prev, dup := seen[e.key]; dup {
			return nil, fail(line, header[0], "gas %q is already on line %d", e.gas, prev)
		}
		seen[e.key] = line
		hasValue := false
		for i := range e.values {
			s := rec[1+i]
			if s == "" {
				continue
			}
			v, ok := ParsePlainDecimal(s, 9)
			if !ok {
				return nil, fail(line, header[1+i], "%q is not a GWP (a non-negative decimal number)", s)
			}
			e.values[i] = decimal.NewNullDecimal(v)
			hasValue = true
		}
		if !hasValue {
			return nil, fail(line, header[1], "gas %q has no value in any set", e.gas)
		}
		if e.source == "" {
			return nil, fail(line, header[4], "no source for gas %q", e.gas)
		}
		t.entries = append(t.entries, e)
	}
	if len(t.entries) == 0 {
		return nil, fmt.Errorf("ghg: %s has no rows", gwpDataFile)
	}
	return t, nil
}

// Set returns the GWP set with the given ID (see AR4, AR5, AR6,
// AR6Combined; matched without regard to case).
func (t *GWPTable) Set(id string) (GWPSet, error) {
	var canon string
	for _, k := range GWPSetIDs() {
		if strings.EqualFold(id, k) {
			canon = k
		}
	}
	col := map[string]int{AR4: 0, AR5: 1, AR6: 2, AR6Combined: 2}
	c, ok := col[canon]
	if !ok {
		return GWPSet{}, fmt.Errorf("ghg: unknown GWP set %q; known: %s", id, strings.Join(GWPSetIDs(), ", "))
	}
	s := GWPSet{id: canon, gwp: map[string]decimal.Decimal{}, source: map[string]string{}, known: map[string]bool{}}
	for _, e := range t.entries {
		s.known[e.key] = true
		if v := e.values[c]; v.Valid {
			s.gwp[e.key] = v.Decimal
			s.source[e.key] = e.source
		}
	}
	if canon == AR6 {
		ch4, fossil := GasKey("CH4"), GasKey(GasCH4Fossil)
		if v, ok := s.gwp[fossil]; ok {
			s.gwp[ch4], s.source[ch4] = v, s.source[fossil]
		} else {
			// Never fall back to the combined value silently.
			delete(s.gwp, ch4)
			delete(s.source, ch4)
		}
	}
	return s, nil
}

// GWPSet is one set of 100-year GWPs (kg CO2e per kg of gas), got from
// GWPTable.Set. It implements GWPSource. See AR6 and AR6Combined for how
// methane differs between the AR6 sets.
type GWPSet struct {
	id     string
	gwp    map[string]decimal.Decimal // by GasKey
	source map[string]string          // by GasKey
	known  map[string]bool            // every gas of the table, by GasKey
}

// ID is the set's ID: "AR5", "AR6-combined".
func (s GWPSet) ID() string { return s.id }

// GWP is the 100-year GWP of gas in the set. Gas names are matched by
// GasKey: "HFC-134a" finds the table's "HFC134a". An unknown gas, or one
// the set gives no value for, is an error naming the gas and the set.
func (s GWPSet) GWP(gas string) (decimal.Decimal, error) {
	v, err := s.lookup(gas)
	if err != nil {
		return decimal.Zero, fmt.Errorf("ghg: %w", err)
	}
	return v, nil
}

func (s GWPSet) lookup(gas string) (decimal.Decimal, error) {
	if s.gwp == nil {
		return decimal.Zero, errors.New("empty GWPSet; get one from GWPTable.Set")
	}
	k := GasKey(gas)
	if v, ok := s.gwp[k]; ok {
		return v, nil
	}
	if s.known[k] {
		return decimal.Zero, fmt.Errorf("GWP set %s gives no GWP for gas %q", s.id, gas)
	}
	return decimal.Zero, fmt.Errorf("unknown gas %q in GWP set %s", gas, s.id)
}

// Source cites where the set's GWP of gas comes from.
func (s GWPSet) Source(gas string) (string, error) {
	if _, err := s.GWP(gas); err != nil {
		return "", err
	}
	return s.source[GasKey(gas)], nil
}

// CO2e is Σ mass × GWP over masses (gas → mass), in decimal and in the unit
// of the masses: kg of gases give kg CO2e. Any gas without a GWP in the set
// makes it an error.
func (s GWPSet) CO2e(masses map[string]decimal.Decimal) (decimal.Decimal, error) {
	sum := decimal.Zero
	for _, gas := range slices.Sorted(maps.Keys(masses)) {
		g, err := s.GWP(gas)
		if err != nil {
			return decimal.Zero, err
		}
		sum = sum.Add(masses[gas].Mul(g))
	}
	return sum, nil
}

// Blend is a refrigerant blend by composition: each gas's mass fraction,
// the fractions summing to 1.
type Blend struct {
	Name       string
	Components map[string]decimal.Decimal // gas → mass fraction
}

// BlendGWP is the blend's GWP in the set: Σ fraction × GWP, exactly as the
// fractions are given (they are not rescaled). Every fraction must be
// positive and they must sum to 1 within 1e-9.
func (s GWPSet) BlendGWP(b Blend) (decimal.Decimal, error) {
	if err := b.Validate(); err != nil {
		return decimal.Zero, err
	}
	gwp := decimal.Zero
	for gas, f := range b.Components {
		g, err := s.lookup(gas)
		if err != nil {
			return decimal.Zero, fmt.Errorf("ghg: blend %q: %w", b.Name, err)
		}
		gwp = gwp.Add(f.Mul(g))
	}
	return gwp, nil
}

// Validate checks that a blend's composition is positive mass fractions
// summing to 1 (within 1e-9).
func (b Blend) Validate() error {
	if len(b.Components) == 0 {
		return fmt.Errorf("ghg: blend %q has no components", b.Name)
	}
	sum := decimal.Zero
	for _, gas := range slices.Sorted(maps.Keys(b.Components)) {
		f := b.Components[gas]
		if !f.IsPositive() {
			return fmt.Errorf("ghg: blend %q: mass fraction of %s is %s, not positive", b.Name, gas, f)
		}
		sum = sum.Add(f)
	}
	if sum.Sub(decimal.NewFromInt(1)).Abs().GreaterThan(decimal.New(1, -9)) {
		return fmt.Errorf("ghg: blend %q: mass fractions sum to %s, not 1", b.Name, sum)
	}
	return nil
}

// KnownBlends are common refrigerant blends with their compositions as
// ASHRAE Standard 34 gives them (mass fractions).
func KnownBlends() []Blend {
	pct := func(p int64) decimal.Decimal { return decimal.New(p, -2) }
	return []Blend{
		{Name: "R-404A", Components: map[string]decimal.Decimal{"HFC-125": pct(44), "HFC-143a": pct(52), "HFC-134a": pct(4)}},
		{Name: "R-407C", Components: map[string]decimal.Decimal{"HFC-32": pct(23), "HFC-125": pct(25), "HFC-134a": pct(52)}},
		{Name: "R-410A", Components: map[string]decimal.Decimal{"HFC-32": pct(50), "HFC-125": pct(50)}},
	}
}
