package ghg

import (
	"math"

	"github.com/shopspring/decimal"
)

// Uncertainty follows IPCC Approach 1 (2006 Guidelines, Vol. 1, Ch. 3,
// equations 3.1 and 3.2): uncertainties are half-widths of 95% confidence
// intervals in percent; a product of uncorrelated terms combines them in
// quadrature, and a sum combines the absolute uncertainties in quadrature.

// ProductUncertainty is equation 3.1: U = sqrt(U1² + U2² + …).
func ProductUncertainty(pcts ...decimal.Decimal) decimal.Decimal {
	sum := decimal.Zero
	for _, u := range pcts {
		sum = sum.Add(u.Mul(u))
	}
	return sqrt(sum)
}

// SumUncertainty is equation 3.2 for quantities x_i with uncertainties U_i:
// U = sqrt(Σ (U_i·x_i)²) / |Σ x_i|. It returns zero when the sum is zero.
func SumUncertainty(xs, pcts []decimal.Decimal) decimal.Decimal {
	num, total := decimal.Zero, decimal.Zero
	for i, x := range xs {
		ux := pcts[i].Mul(x)
		num = num.Add(ux.Mul(ux))
		total = total.Add(x)
	}
	if total.IsZero() {
		return decimal.Zero
	}
	return sqrt(num).DivRound(total.Abs(), divScale)
}

// sqrt is Newton's method in decimal to divScale places: uncertainties are
// stored with results, so they are decimal like everything else stored.
func sqrt(x decimal.Decimal) decimal.Decimal {
	if !x.IsPositive() {
		return decimal.Zero
	}
	f, _ := x.Float64()
	g := decimal.NewFromFloat(math.Sqrt(f)) // Newton's starting point
	if !g.IsPositive() {
		g = x
	}
	two := decimal.NewFromInt(2)
	for range 100 {
		next := g.Add(x.DivRound(g, divScale)).DivRound(two, divScale)
		if next.Equal(g) {
			break
		}
		g = next
	}
	return g.Round(divScale - 2)
}
