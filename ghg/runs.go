package ghg

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// RunInput is everything a calculation run's results depend on.
type RunInput struct {
	Activities []Activity
	// FactorSets names each factor set and edition used ("EPA GHG Emission
	// Factors Hub 2025"); order does not matter.
	FactorSets []string
	GWPSet     string
}

// InputHash is the SHA-256 of a canonical encoding of the run's inputs and
// the engine version: the same inputs give the same hash on every machine,
// and a run can be checked to reproduce its recorded results.
func InputHash(in RunInput) string {
	h := sha256.New()
	put := func(s string) {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	put("greenlang-run-v1")
	put(EngineVersion)
	put(in.GWPSet)
	sets := append([]string(nil), in.FactorSets...)
	sort.Strings(sets)
	put(fmt.Sprint(len(sets)))
	for _, s := range sets {
		put(s)
	}
	put(fmt.Sprint(len(in.Activities)))
	for _, a := range in.Activities {
		put(a.ID)
		put(a.Type)
		put(a.Quantity.Value.String())
		put(a.Quantity.Unit.Symbol)
		put(fmt.Sprint(a.Quantity.PriceYear))
		put(a.Region)
		put(a.PeriodStart.UTC().Format(time.RFC3339Nano))
		put(a.PeriodEnd.UTC().Format(time.RFC3339Nano))
		put(a.UncertaintyPct.String())
		put(fmt.Sprint(a.DataQuality, a.Correction))
		if a.HeatBasis != "" { // only when stated, so earlier hashes stand
			put(string(a.HeatBasis))
		}
		if a.Site != "" {
			put("site=" + a.Site)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DefaultSignificancePct is the change in base-year emissions above which
// the GHG Protocol expects the base year to be recalculated: 5%.
func DefaultSignificancePct() decimal.Decimal { return decimal.NewFromInt(5) }

// RestatementLine compares one scope and category before and after.
type RestatementLine struct {
	Source    string          `json:"source,omitempty"` // in BySource lines only
	Scope     int             `json:"scope"`
	Category  int             `json:"category,omitempty"`
	OldCO2eKg decimal.Decimal `json:"old_co2e_kg"`
	NewCO2eKg decimal.Decimal `json:"new_co2e_kg"`
	ChangeKg  decimal.Decimal `json:"change_kg"`
	ChangePct decimal.Decimal `json:"change_pct"` // zero when the old value was zero
}

// Restatement reports what a recalculation changed and why.
type Restatement struct {
	Reason string            `json:"reason"`
	Lines  []RestatementLine `json:"lines"`
	// BySource breaks the lines down by emission source (RestateBySource).
	BySource       []RestatementLine `json:"by_source,omitempty"`
	OldTotalKg     decimal.Decimal   `json:"old_total_kg"`
	NewTotalKg     decimal.Decimal   `json:"new_total_kg"`
	ChangePct      decimal.Decimal   `json:"change_pct"`
	ThresholdPct   decimal.Decimal   `json:"threshold_pct"`
	BaseYearRecalc bool              `json:"base_year_recalculation"`
}

// Restate compares results a recalculation supersedes with their
// replacements, by scope and category, and flags a base-year recalculation
// when the total changes by more than thresholdPct (zero: the default 5%).
func Restate(reason string, old, new []Result, thresholdPct decimal.Decimal) Restatement {
	if thresholdPct.IsZero() {
		thresholdPct = DefaultSignificancePct()
	}
	rep := Restatement{Reason: reason, ThresholdPct: thresholdPct, Lines: restateLines(old, new, nil)}
	for _, r := range old {
		rep.OldTotalKg = rep.OldTotalKg.Add(r.CO2eKg)
	}
	for _, r := range new {
		rep.NewTotalKg = rep.NewTotalKg.Add(r.CO2eKg)
	}
	rep.ChangePct = pct(rep.NewTotalKg.Sub(rep.OldTotalKg), rep.OldTotalKg)
	rep.BaseYearRecalc = rep.ChangePct.Abs().GreaterThan(thresholdPct) ||
		(rep.OldTotalKg.IsZero() && !rep.NewTotalKg.IsZero())
	return rep
}

// RestateBySource is Restate with the lines also broken down by emission
// source, named for each result by source.
func RestateBySource(reason string, old, new []Result, source func(Result) string, thresholdPct decimal.Decimal) Restatement {
	rep := Restate(reason, old, new, thresholdPct)
	rep.BySource = restateLines(old, new, source)
	return rep
}

// restateLines sums old and new CO2e by scope and category and, when source
// is given, by source too, sorted by source, scope and category.
func restateLines(old, new []Result, source func(Result) string) []RestatementLine {
	type key struct {
		src        string
		scope, cat int
	}
	lines := map[key]*RestatementLine{}
	get := func(r Result) *RestatementLine {
		k := key{scope: r.Scope, cat: r.Category}
		if source != nil {
			k.src = source(r)
		}
		if lines[k] == nil {
			lines[k] = &RestatementLine{Source: k.src, Scope: r.Scope, Category: r.Category}
		}
		return lines[k]
	}
	for _, r := range old {
		l := get(r)
		l.OldCO2eKg = l.OldCO2eKg.Add(r.CO2eKg)
	}
	for _, r := range new {
		l := get(r)
		l.NewCO2eKg = l.NewCO2eKg.Add(r.CO2eKg)
	}
	out := make([]RestatementLine, 0, len(lines))
	for _, l := range lines {
		l.ChangeKg = l.NewCO2eKg.Sub(l.OldCO2eKg)
		l.ChangePct = pct(l.ChangeKg, l.OldCO2eKg)
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b RestatementLine) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Category, b.Category))
	})
	return out
}

func pct(change, base decimal.Decimal) decimal.Decimal {
	if base.IsZero() {
		return decimal.Zero
	}
	return change.Mul(decimal.NewFromInt(100)).DivRound(base.Abs(), 6)
}
