package ghg

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// steelUSEEIO is USEEIO v1.2 (NAICS 2017, 2021 USD), 331110 Iron and Steel
// Mills and Ferroalloy Manufacturing: 0.979 kg CO2e per USD with margins.
func steelUSEEIO() Factor {
	return Factor{ID: "useeio-331110", Per: CurrencyUnit("USD"), PriceYear: 2021,
		KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("0.979")},
		Ref:       FactorRef{Set: "USEEIO Supply Chain GHG Emission Factors", Version: "v1.2", SourceTable: "NAICS-6 with margins", SourceRow: "331110"}}
}

func TestSpendBased(t *testing.T) {
	calc := NewCalculator("AR5", hubAR5{})
	fx := NewExchangeRates()
	if err := fx.Set(2023, "EUR", "USD", dec("1.08")); err != nil {
		t.Fatal(err)
	}
	// An index where 2023 prices are 1.1 times 2021's (a test index, not a publication).
	idx := PriceIndex{Currency: "USD", Name: "test deflator", ByYear: map[int]decimal.Decimal{2021: dec("100"), 2023: dec("110")}}
	a := Activity{ID: "po-7", Type: "purchased_goods", Quantity: Quantity{Value: dec("11000"), Unit: CurrencyUnit("EUR"), PriceYear: 2023},
		PeriodStart: time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC), DataQuality: 4}
	r, err := calc.SpendBased(a, steelUSEEIO(), 1, fx, idx)
	if err != nil {
		t.Fatal(err)
	}
	// 11 000 EUR × 1.08 = 11 880 USD(2023) × 100/110 = 10 800 USD(2021) × 0.979 = 10 573.2 kg.
	if !r.CO2eKg.Round(20).Equal(dec("10573.2")) || r.Scope != 3 || r.Category != 1 {
		t.Errorf("CO2e = %s kg (scope %d cat %d), want 10573.2", r.CO2eKg, r.Scope, r.Category)
	}
	if len(r.Explanation.Conversions) != 2 || !strings.Contains(r.Explanation.Conversions[1].Note, "test deflator 2021/2023") {
		t.Errorf("explanation %+v", r.Explanation.Conversions)
	}
	// USD spend in the factor's own year needs neither rate nor deflation.
	a.Quantity = Quantity{Value: dec("1000"), Unit: CurrencyUnit("USD"), PriceYear: 2021}
	idx.ByYear[2021] = dec("100")
	r, err = calc.SpendBased(a, steelUSEEIO(), 2, fx, idx)
	if err != nil || !r.CO2eKg.Equal(dec("979")) || r.Category != 2 {
		t.Errorf("2021 USD: %s %v", r.CO2eKg, err)
	}
	for name, tc := range map[string]struct {
		a    Activity
		cat  int
		want string
	}{
		"no rate for the year":  {Activity{ID: "p", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: CurrencyUnit("GBP"), PriceYear: 2023}}, 1, "no 2023 exchange rate from GBP"},
		"no index for the year": {Activity{ID: "p", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: CurrencyUnit("USD"), PriceYear: 2019}}, 1, "no value for 2019"},
		"not money":             {Activity{ID: "p", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: NewUnits().MustParse("kg"), PriceYear: 2023}}, 1, "amount of money"},
		"wrong category":        {Activity{ID: "p", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: CurrencyUnit("USD"), PriceYear: 2021}}, 4, "categories 1 and 2"},
	} {
		_, err := calc.SpendBased(tc.a, steelUSEEIO(), tc.cat, fx, idx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}
