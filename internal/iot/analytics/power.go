package analytics

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// PowerFactorScale is the number of decimal places PowerFactor rounds to
// (half away from zero).
const PowerFactorScale = 4

// PowerFactorSource says where a power factor came from.
type PowerFactorSource string

// Where ResolvePowerFactor took the power factor from.
const (
	PowerFactorMeasured PowerFactorSource = "measured"
	PowerFactorComputed PowerFactorSource = "computed"
)

// PowerFactor returns real power over apparent power, PF = P / S, from kW
// and kVA, rounded to PowerFactorScale places. S must be positive; P may be
// negative (power exported), giving a negative PF. |PF| > 1 means the two
// readings are inconsistent and is an error.
func PowerFactor(kw, kva decimal.Decimal) (decimal.Decimal, error) {
	if !kva.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("analytics: power factor: apparent power %s kVA is not positive: %w", kva, ErrInvalidInput)
	}
	if kw.Abs().GreaterThan(kva) {
		return decimal.Decimal{}, fmt.Errorf("analytics: power factor: |real power| %s kW exceeds apparent power %s kVA: %w", kw.Abs(), kva, ErrInvalidInput)
	}
	return kw.DivRound(kva, PowerFactorScale), nil
}

// ResolvePowerFactor returns the meter's own power_factor reading when it
// is given (Valid), after checking |PF| ≤ 1, and otherwise computes it from
// power_kw and apparent_power_kva with PowerFactor. It says which it did.
func ResolvePowerFactor(measured, kw, kva decimal.NullDecimal) (decimal.Decimal, PowerFactorSource, error) {
	if measured.Valid {
		if measured.Decimal.Abs().GreaterThan(decimal.NewFromInt(1)) {
			return decimal.Decimal{}, "", fmt.Errorf("analytics: power factor: measured value %s is outside [-1, 1]: %w", measured.Decimal, ErrInvalidInput)
		}
		return measured.Decimal, PowerFactorMeasured, nil
	}
	if !kw.Valid || !kva.Valid {
		return decimal.Decimal{}, "", fmt.Errorf("analytics: power factor: no measured value and not both kW and kVA given: %w", ErrInvalidInput)
	}
	pf, err := PowerFactor(kw.Decimal, kva.Decimal)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	return pf, PowerFactorComputed, nil
}
