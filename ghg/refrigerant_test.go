package ghg

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// ar5HFC has the IPCC AR5 100-year GWPs of the gases below (AR5 WG1 Ch. 8,
// Table 8.A.1): HFC-32 677, HFC-125 3170, HFC-134a 1300.
type ar5HFC struct{}

func (ar5HFC) GWP(gas string) (decimal.Decimal, error) {
	v, ok := map[string]int64{"HFC-32": 677, "HFC-125": 3170, "HFC-134a": 1300}[gas]
	if !ok {
		return decimal.Decimal{}, fmt.Errorf("no GWP for %s", gas)
	}
	return decimal.NewFromInt(v), nil
}

var r410A = Blend{Name: "R-410A", Components: map[string]decimal.Decimal{"HFC-32": dec("0.5"), "HFC-125": dec("0.5")}}

func TestRefrigerantScreening(t *testing.T) {
	calc := NewCalculator("AR5", ar5HFC{})
	// 50 kg charge, 10% a year, half a year: 2.5 kg R-410A = 1.25 kg each gas.
	r, err := calc.RefrigerantScreening("chiller-1", r410A, ScreeningInput{ChargeKg: dec("50"), AnnualLeakRatePct: dec("10"), YearFraction: dec("0.5")})
	if err != nil {
		t.Fatal(err)
	}
	// 1.25 × 677 + 1.25 × 3170 = 4808.75 kg CO2e (R-410A's AR5 GWP is 1923.5).
	if !r.CO2eKg.Equal(dec("4808.75")) || !r.KgByGas["HFC-32"].Equal(dec("1.25")) || r.Scope != 1 {
		t.Errorf("result %+v", r)
	}
	if !strings.Contains(r.Explanation.String(), "50 kg charge") {
		t.Errorf("explanation %q", r.Explanation)
	}
}

func TestRefrigerantMassBalance(t *testing.T) {
	calc := NewCalculator("AR5", ar5HFC{})
	pure := Blend{Name: "R-134a", Components: map[string]decimal.Decimal{"HFC-134a": dec("1")}}
	in := MassBalanceInput{InventoryStartKg: dec("100"), InventoryEndKg: dec("80"), PurchasedKg: dec("30"), SoldKg: dec("5"), RetiredChargeKg: dec("10"), NewChargeKg: dec("25")}
	r, err := calc.RefrigerantMassBalance("site-9", pure, in)
	// (100 − 80) + 30 − 5 + (10 − 25) = 30 kg × 1300.
	if err != nil || !r.CO2eKg.Equal(dec("39000")) {
		t.Errorf("mass balance %s %v", r.CO2eKg, err)
	}
	in.PurchasedKg = dec("0") // 20 + 0 − 5 − 15 = 0: nothing leaked
	if r, err := calc.RefrigerantMassBalance("site-9", pure, in); err != nil || !r.CO2eKg.IsZero() {
		t.Errorf("zero balance: %s %v", r.CO2eKg, err)
	}
	in.SoldKg = dec("20")
	if _, err := calc.RefrigerantMassBalance("site-9", pure, in); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative balance: %v", err)
	}
	bad := Blend{Name: "R-404A?", Components: map[string]decimal.Decimal{"HFC-125": dec("0.44"), "HFC-134a": dec("0.04")}}
	if _, err := calc.RefrigerantScreening("x", bad, ScreeningInput{ChargeKg: dec("1"), AnnualLeakRatePct: dec("1")}); err == nil || !strings.Contains(err.Error(), "sum to") {
		t.Errorf("bad composition: %v", err)
	}
	if _, err := calc.RefrigerantScreening("x", r410A, ScreeningInput{ChargeKg: dec("1"), AnnualLeakRatePct: dec("120")}); err == nil {
		t.Error("leak rate over 100% accepted")
	}
}
