package analytics

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// CapacityFactorScale is the number of decimal places CapacityFactor
// rounds to.
const CapacityFactorScale = 6

// CapacityFactor returns a generator's energy over a period divided by what
// it would have produced at its rated power throughout,
// CF = E (kWh) / (P_rated (kW) × hours), rounded to CapacityFactorScale
// places. Take energyKWh from the solar panel's energy_kwh_total deltas
// (RegisterTracker). ratedKW and period must be positive. A result above 1
// is returned as it is: it means the rating or the register is wrong.
func CapacityFactor(energyKWh, ratedKW decimal.Decimal, period time.Duration) (decimal.Decimal, error) {
	if energyKWh.IsNegative() {
		return decimal.Decimal{}, fmt.Errorf("analytics: capacity factor: energy %s kWh is negative: %w", energyKWh, ErrInvalidInput)
	}
	if !ratedKW.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("analytics: capacity factor: rated power %s kW is not positive: %w", ratedKW, ErrInvalidInput)
	}
	if period <= 0 {
		return decimal.Decimal{}, fmt.Errorf("analytics: capacity factor: period %s is not positive: %w", period, ErrInvalidInput)
	}
	// E / (P × ns/3.6e12) = E × 3.6e12 / (P × ns): one division.
	num := energyKWh.Mul(decimal.NewFromInt(int64(time.Hour)))
	den := ratedKW.Mul(decimal.NewFromInt(period.Nanoseconds()))
	return num.DivRound(den, CapacityFactorScale), nil
}
