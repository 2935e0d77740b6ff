package ghg

import (
	"fmt"
	"maps"
	"slices"

	"github.com/shopspring/decimal"
)

// Refrigerant methods.
const (
	MethodRefrigerantScreening   = "refrigerant_screening"
	MethodRefrigerantMassBalance = "refrigerant_mass_balance"
)

// A refrigerant is given by composition as a Blend (a pure one has a single
// gas at fraction 1); its release is reported per constituent gas, so any
// GWP set applies to it without blend tables.

// ScreeningInput estimates leakage from equipment charge and a typical
// annual leak rate for its type (GHG Protocol screening method).
type ScreeningInput struct {
	ChargeKg          decimal.Decimal
	AnnualLeakRatePct decimal.Decimal
	// YearFraction is the part of the year the equipment ran; zero means 1.
	YearFraction decimal.Decimal
	// UncertaintyPct applies to the result as a whole; screening is coarse.
	UncertaintyPct decimal.Decimal
}

// MassBalanceInput is the EPA/GHG Protocol mass balance over a period:
// emissions = (inventory at start − inventory at end) + purchased − sold or
// returned + (charge of equipment retired − charge of equipment installed).
type MassBalanceInput struct {
	InventoryStartKg, InventoryEndKg decimal.Decimal
	PurchasedKg, SoldKg              decimal.Decimal
	RetiredChargeKg, NewChargeKg     decimal.Decimal
	UncertaintyPct                   decimal.Decimal
}

// RefrigerantScreening is scope 1 fugitive emissions by the screening method.
func (c *Calculator) RefrigerantScreening(id string, r Blend, in ScreeningInput) (Result, error) {
	if in.ChargeKg.IsNegative() || in.AnnualLeakRatePct.IsNegative() || in.AnnualLeakRatePct.GreaterThan(decimal.NewFromInt(100)) {
		return Result{}, &InputError{id, "charge_kg/annual_leak_rate_pct", "charge must be ≥ 0 and the leak rate 0-100%"}
	}
	frac := in.YearFraction
	if frac.IsZero() {
		frac = decimal.NewFromInt(1)
	}
	if frac.IsNegative() || frac.GreaterThan(decimal.NewFromInt(1)) {
		return Result{}, &InputError{id, "year_fraction", fmt.Sprintf("%s is not in (0, 1]", frac)}
	}
	kg := in.ChargeKg.Mul(in.AnnualLeakRatePct).Div(decimal.NewFromInt(100)).Mul(frac)
	formula := fmt.Sprintf("%s kg charge × %s%% leak rate × %s of a year", in.ChargeKg, in.AnnualLeakRatePct, frac)
	return c.refrigerantResult(id, r, kg, MethodRefrigerantScreening, formula, in.UncertaintyPct)
}

// RefrigerantMassBalance is scope 1 fugitive emissions by mass balance. A
// negative balance means the figures do not add up and is refused.
func (c *Calculator) RefrigerantMassBalance(id string, r Blend, in MassBalanceInput) (Result, error) {
	kg := in.InventoryStartKg.Sub(in.InventoryEndKg).Add(in.PurchasedKg).Sub(in.SoldKg).Add(in.RetiredChargeKg).Sub(in.NewChargeKg)
	if kg.IsNegative() {
		return Result{}, &InputError{id, "mass_balance", fmt.Sprintf("gives %s kg, a negative leak: check inventories, purchases and equipment charges", kg)}
	}
	formula := fmt.Sprintf("(%s − %s) + %s − %s + (%s − %s) kg", in.InventoryStartKg, in.InventoryEndKg, in.PurchasedKg, in.SoldKg, in.RetiredChargeKg, in.NewChargeKg)
	return c.refrigerantResult(id, r, kg, MethodRefrigerantMassBalance, formula, in.UncertaintyPct)
}

func (c *Calculator) refrigerantResult(id string, r Blend, kg decimal.Decimal, method, formula string, unc decimal.Decimal) (Result, error) {
	if err := r.Validate(); err != nil {
		return Result{}, &InputError{id, "refrigerant", err.Error()}
	}
	res := Result{ActivityID: id, Scope: 1, KgByGas: map[string]decimal.Decimal{}, UncertaintyPct: unc,
		Explanation: Explanation{ActivityType: "refrigerant " + r.Name, Quantity: kg, Unit: "kg", Note: formula, Amount: kg,
			FactorID: r.Name, FactorValues: r.Components, GWPSet: c.gwpSet, GWPs: map[string]decimal.Decimal{},
			Method: method, EngineVersion: EngineVersion}}
	for _, gas := range slices.Sorted(maps.Keys(r.Components)) {
		g, err := c.gwp.GWP(gas)
		if err != nil {
			return Result{}, &InputError{id, "refrigerant", err.Error()}
		}
		m := kg.Mul(r.Components[gas])
		res.KgByGas[gas] = m
		res.Explanation.GWPs[gas] = g
		res.CO2eKg = res.CO2eKg.Add(m.Mul(g))
	}
	return res, nil
}
