package ghg

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// MethodDirectMeasurement is scope 1 emissions measured at the source, by
// a continuous emissions monitoring system (CEMS) or a stack test: the
// activity is the mass of one gas emitted, so no emission factor applies
// (GHG Protocol Corporate Standard, chapter 6, "direct measurement").
const MethodDirectMeasurement = "direct_measurement"

// MeasuredPrefix starts the activity type of a measured gas mass:
// "measured/CO2", "measured/CH4", "measured/N2O", "measured/HFC-134a"; any
// gas of the calculator's GWP set.
const MeasuredPrefix = "measured/"

// MeasuredActivityType is the activity type of a measured mass of gas.
func MeasuredActivityType(gas string) string { return MeasuredPrefix + gas }

// DirectMeasurement is scope 1 emissions measured at the source: a mass of
// one gas (activity type MeasuredPrefix + gas, in any mass unit) converted
// to kg and weighted by the gas's GWP. There is no factor, so the result's
// uncertainty is the measurement's alone and its explanation names no
// publication; its factor id is the activity type and its factor values 1
// kg of the gas per kg.
func (c *Calculator) DirectMeasurement(a Activity) (Result, error) {
	if err := a.check(); err != nil {
		return Result{}, err
	}
	gas, ok := strings.CutPrefix(a.Type, MeasuredPrefix)
	if !ok || gas == "" {
		return Result{}, &InputError{a.ID, "activity_type", fmt.Sprintf("%q is not a measured gas; %s takes %q followed by the gas, such as %q", a.Type, MethodDirectMeasurement, MeasuredPrefix, MeasuredActivityType("CO2"))}
	}
	if a.Quantity.Unit.Dim != Mass {
		return Result{}, &InputError{a.ID, "unit", fmt.Sprintf("%s measures %s; %s needs a mass (kg, tonne, lb, short ton)", a.Quantity.Unit.Symbol, a.Quantity.Unit.Dim, MethodDirectMeasurement)}
	}
	g, err := c.gwp.GWP(gas)
	if err != nil {
		return Result{}, &InputError{a.ID, "activity_type", err.Error()}
	}
	kg, step, err := a.Quantity.To(c.units.MustParse("kg"))
	if err != nil {
		return Result{}, &InputError{a.ID, "unit", err.Error()}
	}
	var steps []Step
	if step.From != step.To {
		steps = []Step{step}
	}
	one := decimal.NewFromInt(1)
	return Result{
		ActivityID: a.ID, Scope: 1,
		KgByGas:        map[string]decimal.Decimal{gas: kg.Value},
		CO2eKg:         kg.Value.Mul(g),
		DataQuality:    dataQuality(a.DataQuality),
		UncertaintyPct: a.UncertaintyPct,
		Explanation: Explanation{
			ActivityType: a.Type, Quantity: a.Quantity.Value, Unit: a.Quantity.Unit.Symbol, Conversions: steps, Amount: kg.Value,
			Note:     fmt.Sprintf("%s kg of %s measured at the source; no emission factor applies", kg.Value, gas),
			Factor:   FactorRef{Set: "direct measurement", SourceTable: "no emission factor", SourceRow: gas},
			FactorID: a.Type, FactorValues: map[string]decimal.Decimal{gas: one},
			GWPSet: c.gwpSet, GWPs: map[string]decimal.Decimal{gas: g},
			Method: MethodDirectMeasurement, EngineVersion: EngineVersion,
		},
	}, nil
}
