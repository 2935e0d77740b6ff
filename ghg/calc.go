package ghg

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sync"

	"github.com/shopspring/decimal"
)

// EngineVersion is recorded with every result; it changes whenever a method
// changes what it computes.
const EngineVersion = "ghg/0.1.0"

// GWPSource gives the 100-year global warming potential of a gas in one GWP
// set (GWPSet implements it).
type GWPSource interface {
	GWP(gas string) (decimal.Decimal, error)
}

// Method names, as recorded in results.
const (
	MethodStationaryCombustion = "stationary_combustion"
	MethodActivityFactor       = "activity_factor"
)

// Explanation is how a result was reached, step by step.
type Explanation struct {
	ActivityType  string                     `json:"activity_type"`
	Quantity      decimal.Decimal            `json:"quantity"` // as given, in Unit
	Unit          string                     `json:"unit"`
	Note          string                     `json:"note,omitempty"` // what a method adds: certificates used, formula
	Conversions   []Step                     `json:"conversions"`    // unit conversions applied
	Amount        decimal.Decimal            `json:"amount"`         // activity in the factor's unit
	Factor        FactorRef                  `json:"factor"`         // publication, table and row
	FactorID      string                     `json:"factor_id"`      // the factor used
	FactorValues  map[string]decimal.Decimal `json:"factor_values"`  // kg of each gas per unit
	GWPSet        string                     `json:"gwp_set"`
	GWPs          map[string]decimal.Decimal `json:"gwps"` // the GWP applied to each gas
	Method        string                     `json:"method"`
	EngineVersion string                     `json:"engine_version"`
}

// String is the explanation in one line, for people.
func (e Explanation) String() string {
	s := fmt.Sprintf("%s %s %s → %s in the factor's unit × %s (%s) with %s GWPs, %s, %s", e.Quantity, e.Unit, e.ActivityType,
		e.Amount, e.FactorID, e.Factor, e.GWPSet, e.Method, e.EngineVersion)
	if e.Note != "" {
		s += "; " + e.Note
	}
	return s
}

// Result is the emissions of one activity.
type Result struct {
	ActivityID string `json:"activity_id"`
	Scope      int    `json:"scope"`
	Category   int    `json:"category,omitempty"` // scope 3 category, 0 otherwise
	// KgByGas is the mass of each gas emitted; "CO2e" holds any part the
	// factor gave already as CO2-equivalent.
	KgByGas map[string]decimal.Decimal `json:"kg_by_gas"`
	// CO2eKg is the total for the GWP set of the calculation.
	CO2eKg decimal.Decimal `json:"co2e_kg"`
	// BiogenicCO2Kg is reported separately, outside the scopes.
	BiogenicCO2Kg  decimal.Decimal `json:"biogenic_co2_kg"`
	UncertaintyPct decimal.Decimal `json:"uncertainty_pct"`
	DataQuality    decimal.Decimal `json:"data_quality"`
	Explanation    Explanation     `json:"explanation"`
}

// Calculator applies factors and a GWP set to activities. It is immutable
// and safe for concurrent use.
type Calculator struct {
	gwpSet string
	gwp    GWPSource
	units  *Units
	kWh    Unit
	specs  map[string]methodSpec
	// derived holds each factor's GWPs and CO2e per unit by factor id.
	derived sync.Map
}

// NewCalculator returns a calculator for one GWP set.
func NewCalculator(gwpSetName string, gwp GWPSource) *Calculator {
	u := NewUnits()
	return &Calculator{gwpSet: gwpSetName, gwp: gwp, units: u, kWh: u.MustParse("kWh"), specs: methodSpecs()}
}

// GWPSet is the id of the calculator's GWP set.
func (c *Calculator) GWPSet() string { return c.gwpSet }

// ActivityFactor is the general method: activity × factor, per gas, for any
// scope and category. Stationary combustion is this method with scope 1.
func (c *Calculator) ActivityFactor(a Activity, f Factor, scope, category int, method string) (Result, error) {
	if err := a.check(); err != nil {
		return Result{}, err
	}
	if scope < 1 || scope > 3 || (category != 0 && (scope != 3 || category < 1 || category > 15)) {
		return Result{}, &InputError{a.ID, "scope", fmt.Sprintf("scope %d category %d is not a GHG Protocol scope and category", scope, category)}
	}
	if len(f.KgPerUnit) == 0 {
		return Result{}, &InputError{a.ID, "factor", fmt.Sprintf("factor %q has no gas values", f.ID)}
	}
	amount, steps, err := amountIn(a, f)
	if err != nil {
		return Result{}, err
	}
	r := Result{
		ActivityID: a.ID, Scope: scope, Category: category,
		KgByGas:        make(map[string]decimal.Decimal, len(f.KgPerUnit)),
		BiogenicCO2Kg:  amount.Mul(f.BiogenicCO2KgPerUnit),
		DataQuality:    dataQuality(a.DataQuality),
		UncertaintyPct: ProductUncertainty(a.UncertaintyPct, f.UncertaintyPct),
		Explanation: Explanation{
			ActivityType: a.Type, Quantity: a.Quantity.Value, Unit: a.Quantity.Unit.Symbol, Conversions: steps, Amount: amount,
			Factor: f.Ref, FactorID: f.ID, FactorValues: f.KgPerUnit, GWPSet: c.gwpSet,
			Method: method, EngineVersion: EngineVersion,
		},
	}
	d, err := c.derive(f)
	if err != nil {
		return Result{}, &InputError{a.ID, "factor", err.Error()}
	}
	r.Explanation.GWPs = d.gwps
	for gas, perUnit := range f.KgPerUnit {
		r.KgByGas[gas] = amount.Mul(perUnit)
	}
	// amount × Σ(kg per unit × GWP) is Σ(amount × kg per unit × GWP)
	// exactly, exponent included: decimal products and sums are exact, a
	// product's exponent is the sum of its factors' and a sum's the least
	// of its terms'.
	co2e := amount.Mul(d.co2ePerUnit)
	// A sum from zero would have exponent at most 0: so does this.
	if co2e.Exponent() > 0 {
		co2e = decimal.Decimal{}.Add(co2e)
	}
	r.CO2eKg = co2e
	return r, nil
}

// derived is what a calculator works out once per factor: the GWP of each
// of its gases and its CO2e per unit in the calculator's GWP set.
type derived struct {
	kgPerUnit   map[string]decimal.Decimal // the factor's, to tell a factor reusing an id
	gwps        map[string]decimal.Decimal // shared by results: never changed
	co2ePerUnit decimal.Decimal
}

// derive returns f's GWPs and CO2e per unit, worked out on first use and
// kept: factors are immutable once published, and a calculator meets the
// same few factors for millions of activities.
func (c *Calculator) derive(f Factor) (*derived, error) {
	if v, ok := c.derived.Load(f.ID); ok {
		d := v.(*derived)
		if sameMap(d.kgPerUnit, f.KgPerUnit) {
			return d, nil
		}
	}
	d := &derived{kgPerUnit: f.KgPerUnit, gwps: make(map[string]decimal.Decimal, len(f.KgPerUnit))}
	// Gases in name order, so the sum is built the same way every time
	// (the value would not differ, being exact).
	gases := slices.Sorted(maps.Keys(f.KgPerUnit))
	for i, gas := range gases {
		term := f.KgPerUnit[gas]
		if gas != "CO2e" {
			g, err := c.gwp.GWP(gas)
			if err != nil {
				return nil, fmt.Errorf("factor %q: %w", f.ID, err)
			}
			d.gwps[gas] = g
			if g.Exponent() != 0 || !g.Equal(one) { // CO2's GWP is 1: kg×1 is kg
				term = term.Mul(g)
			}
		}
		// The sum starts at the first term rather than at zero, so its
		// exponent is the least of the terms' alone.
		if i == 0 {
			d.co2ePerUnit = term
		} else {
			d.co2ePerUnit = d.co2ePerUnit.Add(term)
		}
	}
	c.derived.Store(f.ID, d)
	return d, nil
}

// sameMap reports whether a and b are the same map (not merely equal).
func sameMap(a, b map[string]decimal.Decimal) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// dataQualities are the data quality scores 0-5 as decimals, made once:
// decimals are immutable, so results share them.
var dataQualities = [...]decimal.Decimal{decimal.NewFromInt(0), decimal.NewFromInt(1), decimal.NewFromInt(2),
	decimal.NewFromInt(3), decimal.NewFromInt(4), decimal.NewFromInt(5)}

// dataQuality is score q as a decimal.
func dataQuality(q int) decimal.Decimal {
	if q >= 0 && q < len(dataQualities) {
		return dataQualities[q]
	}
	return decimal.NewFromInt(int64(q))
}

// StationaryCombustion is scope 1 fuel combustion in boilers, furnaces and
// generators: fuel amount × per-gas factor (EPA Hub Table 1, DESNZ "Fuels"),
// converting between fuel volume or mass and energy through the factor's
// heat content when the activity and the factor differ.
func (c *Calculator) StationaryCombustion(a Activity, f Factor) (Result, error) {
	return c.Apply(MethodStationaryCombustion, a, f, 0)
}

// Total sums results: per gas, CO2e and biogenic CO2 exactly; uncertainty by
// IPCC Approach 1 for sums; data quality as the emissions-weighted mean.
type Total struct {
	Results        int                        `json:"results"`
	KgByGas        map[string]decimal.Decimal `json:"kg_by_gas"`
	CO2eKg         decimal.Decimal            `json:"co2e_kg"`
	BiogenicCO2Kg  decimal.Decimal            `json:"biogenic_co2_kg"`
	UncertaintyPct decimal.Decimal            `json:"uncertainty_pct"`
	DataQuality    decimal.Decimal            `json:"data_quality"`
}

// Sum totals results.
func Sum(rs []Result) Total {
	var a Accumulator
	for _, r := range rs {
		a.Add(r)
	}
	return a.Total()
}

// Accumulator sums results one at a time, like Sum, without holding them:
// totals over millions of stored results stream through it.
type Accumulator struct {
	n        int
	byGas    map[string]decimal.Decimal
	co2e     decimal.Decimal
	biogenic decimal.Decimal
	dq       decimal.Decimal
	sq       float64 // Σ (U_i·x_i)², for IPCC Approach 1
}

// Add adds one result.
func (a *Accumulator) Add(r Result) {
	if a.byGas == nil {
		a.byGas = map[string]decimal.Decimal{}
	}
	a.n++
	for g, kg := range r.KgByGas {
		a.byGas[g] = a.byGas[g].Add(kg)
	}
	a.co2e = a.co2e.Add(r.CO2eKg)
	a.biogenic = a.biogenic.Add(r.BiogenicCO2Kg)
	a.dq = a.dq.Add(r.DataQuality.Mul(r.CO2eKg))
	ux, _ := r.UncertaintyPct.Mul(r.CO2eKg).Float64()
	a.sq += ux * ux
}

// Total is the sum so far: per gas, CO2e and biogenic CO2 exactly;
// uncertainty by IPCC Approach 1 for sums; data quality as the
// emissions-weighted mean.
func (a *Accumulator) Total() Total {
	t := Total{Results: a.n, KgByGas: make(map[string]decimal.Decimal, len(a.byGas)), CO2eKg: a.co2e, BiogenicCO2Kg: a.biogenic}
	for g, kg := range a.byGas {
		t.KgByGas[g] = kg
	}
	// IPCC Approach 1, equation 3.2: U = sqrt(Σ (U_i·x_i)²) / |Σ x_i|.
	if total, _ := a.co2e.Abs().Float64(); total != 0 {
		t.UncertaintyPct = decimal.NewFromFloat(math.Sqrt(a.sq) / total).Round(UncertaintyScale)
	}
	if !a.co2e.IsZero() {
		t.DataQuality = a.dq.DivRound(a.co2e, 6)
	}
	return t
}

// TotalsBy groups results by key and sums each group like Sum.
func TotalsBy(rs []Result, key func(Result) string) map[string]Total {
	groups := map[string]*Accumulator{}
	for _, r := range rs {
		k := key(r)
		if groups[k] == nil {
			groups[k] = &Accumulator{}
		}
		groups[k].Add(r)
	}
	out := make(map[string]Total, len(groups))
	for k, a := range groups {
		out[k] = a.Total()
	}
	return out
}

// ScopeKey names a result's scope and, for scope 3, its category:
// "scope 1", "scope 3 category 6".
func ScopeKey(r Result) string {
	if r.Scope == 3 && r.Category != 0 {
		return fmt.Sprintf("scope 3 category %d", r.Category)
	}
	return fmt.Sprintf("scope %d", r.Scope)
}
