package ghg

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/shopspring/decimal"
)

// MethodSpendBased is scope 3 categories 1 and 2 by spend.
const MethodSpendBased = "spend_based"

// ExchangeRates are annual average rates: Rate(year, from, to) is how many
// units of currency to buy one unit of from, in that year.
type ExchangeRates struct {
	rates map[string]decimal.Decimal // "2023 EUR USD"
}

// NewExchangeRates returns an empty table.
func NewExchangeRates() *ExchangeRates { return &ExchangeRates{rates: map[string]decimal.Decimal{}} }

// Set records that one unit of from bought rate units of to in year; the
// inverse is derived.
func (x *ExchangeRates) Set(year int, from, to string, rate decimal.Decimal) error {
	if !rate.IsPositive() {
		return fmt.Errorf("exchange rate %s %s→%s is not positive", strconv.Itoa(year), from, to)
	}
	x.rates[fmt.Sprint(year, " ", from, " ", to)] = rate
	x.rates[fmt.Sprint(year, " ", to, " ", from)] = decimal.NewFromInt(1).DivRound(rate, divScale)
	return nil
}

// Rate looks up a rate; it is an error when the table has none for the year.
func (x *ExchangeRates) Rate(year int, from, to string) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	if r, ok := x.rates[fmt.Sprint(year, " ", from, " ", to)]; ok {
		return r, nil
	}
	return decimal.Decimal{}, fmt.Errorf("no %d exchange rate from %s to %s", year, from, to)
}

// PriceIndex is a price index by year in one currency (for USD, for example,
// the BEA GDP price deflator) used to move spend to a factor's price year.
type PriceIndex struct {
	Currency string
	Name     string
	ByYear   map[int]decimal.Decimal
}

func (p PriceIndex) at(year int) (decimal.Decimal, error) {
	v, ok := p.ByYear[year]
	if !ok || !v.IsPositive() {
		years := make([]int, 0, len(p.ByYear))
		for y := range p.ByYear {
			years = append(years, y)
		}
		sort.Ints(years)
		return decimal.Decimal{}, fmt.Errorf("price index %s has no value for %d (has %v)", p.Name, year, years)
	}
	return v, nil
}

// SpendBased calculates purchased goods and services (category 1) or
// capital goods (category 2) from spend: the amount is converted to the
// factor's currency at the average rate of its price year, deflated (or
// inflated) to the factor's price year with the index, then multiplied by
// the factor (USEEIO: kg CO2e per 2021 USD, purchaser price).
func (c *Calculator) SpendBased(a Activity, f Factor, category int, fx *ExchangeRates, index PriceIndex) (Result, error) {
	if category != 1 && category != 2 {
		return Result{}, &InputError{a.ID, "category", fmt.Sprintf("spend-based applies to categories 1 and 2, not %d", category)}
	}
	if a.Quantity.Unit.Dim != Currency || f.Per.Dim != Currency {
		return Result{}, &InputError{a.ID, "unit", fmt.Sprintf("spend-based needs an amount of money and a factor per currency, got %s and per %s", a.Quantity.Unit.Symbol, f.Per.Symbol)}
	}
	year := a.Quantity.PriceYear
	if year == 0 {
		year = a.PeriodStart.Year()
	}
	if year <= 1 || f.PriceYear == 0 {
		return Result{}, &InputError{a.ID, "price_year", "the spend's price year and the factor's are both needed"}
	}
	if index.Currency != f.Per.Symbol {
		return Result{}, &InputError{a.ID, "price_index", fmt.Sprintf("index %s is in %s, the factor in %s", index.Name, index.Currency, f.Per.Symbol)}
	}
	rate, err := fx.Rate(year, a.Quantity.Unit.Symbol, f.Per.Symbol)
	if err != nil {
		return Result{}, &InputError{a.ID, "currency", err.Error()}
	}
	from, err := index.at(year)
	if err != nil {
		return Result{}, &InputError{a.ID, "price_year", err.Error()}
	}
	to, err := index.at(f.PriceYear)
	if err != nil {
		return Result{}, &InputError{a.ID, "price_year", err.Error()}
	}
	deflate := to.DivRound(from, divScale)
	spent := a.Quantity.Value.Mul(rate)
	inFactorYear := spent.Mul(deflate)
	conv := a
	conv.Quantity = Quantity{Value: inFactorYear, Unit: f.Per, PriceYear: f.PriceYear}
	r, err := c.ActivityFactor(conv, f, 3, category, MethodSpendBased)
	if err != nil {
		return Result{}, err
	}
	r.Explanation.Quantity, r.Explanation.Unit = a.Quantity.Value, a.Quantity.Unit.Symbol
	r.Explanation.Note = fmt.Sprintf("%d prices", year)
	r.Explanation.Conversions = []Step{
		{From: fmt.Sprintf("%s %d", a.Quantity.Unit.Symbol, year), To: fmt.Sprintf("%s %d", f.Per.Symbol, year), Factor: rate, Note: "annual average exchange rate"},
		{From: fmt.Sprintf("%s %d", f.Per.Symbol, year), To: fmt.Sprintf("%s %d", f.Per.Symbol, f.PriceYear), Factor: deflate,
			Note: fmt.Sprintf("%s %d/%d = %s/%s", index.Name, f.PriceYear, year, to, from)},
	}
	return r, nil
}
