package ghg

import (
	"math"

	"github.com/shopspring/decimal"
)

// Uncertainty follows IPCC Approach 1 (2006 Guidelines, Vol. 1, Ch. 3,
// equations 3.1 and 3.2): uncertainties are half-widths of 95% confidence
// intervals in percent; a product of uncorrelated terms combines them in
// quadrature, and a sum combines the absolute uncertainties in quadrature.
//
// Uncertainties are estimates, so they are computed with float64 square
// roots (correctly rounded by IEEE 754, hence the same on every run and
// machine) and kept as decimals rounded to UncertaintyScale places.

// UncertaintyScale is the number of decimal places of a percentage uncertainty.
const UncertaintyScale = 6

// ProductUncertainty is equation 3.1: U = sqrt(U1² + U2² + …).
func ProductUncertainty(pcts ...decimal.Decimal) decimal.Decimal {
	sum, nonZero, last := 0.0, 0, decimal.Zero
	for _, u := range pcts {
		if u.IsZero() {
			continue
		}
		nonZero++
		last = u
		f, _ := u.Float64()
		sum += f * f
	}
	switch nonZero {
	case 0:
		return decimal.Zero
	case 1:
		return last.Abs().Round(UncertaintyScale)
	}
	return decimal.NewFromFloat(math.Sqrt(sum)).Round(UncertaintyScale)
}

// Sums follow equation 3.2, U = sqrt(Σ (U_i·x_i)²) / |Σ x_i|: see
// Accumulator.
