package ghg

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestScope2BothBases(t *testing.T) {
	c := NewUnits()
	calc := NewCalculator("AR5", hubAR5{})
	kwh := c.MustParse("kWh")
	// EEA, CO2 intensity of electricity generation, Germany 2019: 344 g CO2/kWh.
	grid := Factor{ID: "eea-de-2019", Per: kwh, KgPerUnit: map[string]decimal.Decimal{"CO2": dec("0.344")},
		Ref: FactorRef{Set: "EEA CO2 intensity of electricity generation", Version: "2019", SourceTable: "eea-co2-intensity-electricity-generation", SourceRow: "2019,Germany"}}
	residual := Factor{ID: "residual-de", Per: kwh, KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("0.7")}}
	supplier := Factor{ID: "supplier-green-tariff", Per: kwh, KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("0.1")}}
	jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := jan.AddDate(0, 1, 0)
	year := jan.AddDate(1, 0, 0)
	pool, err := NewCertificatePool([]Certificate{
		{ID: "GO-2", KWh: dec("30000"), PeriodStart: jan, PeriodEnd: year, Market: "EU"},
		{ID: "GO-1", KWh: dec("50000"), PeriodStart: jan, PeriodEnd: year, Market: "EU"},
		{ID: "REC-US", KWh: dec("1000000"), PeriodStart: jan, PeriodEnd: year, Market: "US"},
		{ID: "GO-2024", KWh: dec("1000000"), PeriodStart: jan.AddDate(-1, 0, 0), PeriodEnd: jan, Market: "EU"},
	})
	if err != nil {
		t.Fatal(err)
	}
	act := func(id, mwh string) Activity {
		return Activity{ID: id, Type: "electricity", Quantity: Quantity{Value: dec(mwh), Unit: c.MustParse("MWh")}, PeriodStart: jan, PeriodEnd: feb, DataQuality: 1}
	}
	m := MarketInputs{Market: "EU", Certificates: pool, ResidualMix: residual}

	// 60 MWh: 50 000 kWh from GO-1 (earlier id first among equal periods)
	// and 10 000 from GO-2; nothing left for the residual mix.
	r, err := calc.Scope2(act("a1", "60"), grid, m)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Location.CO2eKg.Equal(dec("20640")) || r.Location.Explanation.Method != MethodScope2Location {
		t.Errorf("location = %s kg, want 60 000 × 0.344 = 20640", r.Location.CO2eKg)
	}
	if !r.Market.CO2eKg.IsZero() || !r.CoveredKWh.Equal(dec("60000")) || len(r.Allocations) != 2 ||
		r.Allocations[0].CertificateID != "GO-1" || !r.Allocations[1].KWh.Equal(dec("10000")) {
		t.Errorf("market = %s kg, covered %s, allocations %+v", r.Market.CO2eKg, r.CoveredKWh, r.Allocations)
	}
	// 40 MWh more: 20 000 kWh left on GO-2, the other 20 000 at the residual mix.
	r, err = calc.Scope2(act("a2", "40"), grid, m)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Market.CO2eKg.Equal(dec("14000")) || !r.CoveredKWh.Equal(dec("20000")) {
		t.Errorf("market = %s kg (want 20 000 × 0.7 = 14000), covered %s", r.Market.CO2eKg, r.CoveredKWh)
	}
	// EU certificates are spent; a supplier rate now covers the rest; the
	// US certificates and last year's never apply.
	m.Supplier = &supplier
	r, err = calc.Scope2(act("a3", "10"), grid, m)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Market.CO2eKg.Equal(dec("1000")) || !r.CoveredKWh.IsZero() || r.Market.Explanation.FactorID != "supplier-green-tariff" {
		t.Errorf("market = %s kg (want 10 000 × 0.1 = 1000), covered %s", r.Market.CO2eKg, r.CoveredKWh)
	}
	rem := pool.Remaining()
	if !rem["GO-1"].IsZero() || !rem["GO-2"].IsZero() || !rem["REC-US"].Equal(dec("1000000")) || !rem["GO-2024"].Equal(dec("1000000")) {
		t.Errorf("remaining %v", rem)
	}
	if _, err := calc.Scope2(Activity{ID: "x", Type: "electricity", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("L")}}, grid, m); err == nil {
		t.Error("litres of electricity accepted")
	}
}

func TestCertificatePoolRefusesBadCertificates(t *testing.T) {
	jan := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, cs := range map[string][]Certificate{
		"duplicate id":    {{ID: "a", KWh: dec("1"), PeriodStart: jan, PeriodEnd: jan.AddDate(1, 0, 0)}, {ID: "a", KWh: dec("1"), PeriodStart: jan, PeriodEnd: jan.AddDate(1, 0, 0)}},
		"zero volume":     {{ID: "a", KWh: dec("0"), PeriodStart: jan, PeriodEnd: jan.AddDate(1, 0, 0)}},
		"backward period": {{ID: "a", KWh: dec("1"), PeriodStart: jan, PeriodEnd: jan.AddDate(-1, 0, 0)}},
		"negative rate":   {{ID: "a", KWh: dec("1"), PeriodStart: jan, PeriodEnd: jan.AddDate(1, 0, 0), KgCO2ePerKWh: dec("-1")}},
	} {
		if _, err := NewCertificatePool(cs); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
