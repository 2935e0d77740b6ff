package calculation

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/builtin"
)

// Scope 2 is reported on both bases: certificates cover part of the
// consumption (each kWh once, in file order), the residual mix the rest;
// without a residual mix the location factor stands in, and says so.
func TestScope2MarketBased(t *testing.T) {
	units := ghg.NewUnits()
	fs, err := builtin.Factors(units)
	if err != nil {
		t.Fatal(err)
	}
	resid := ghg.Factor{ID: "test-residual-us-2025", ActivityType: ResidualMixType, Region: "US", Per: units.MustParse("kWh"),
		KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("0.5")}, ValidFrom: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Ref: ghg.FactorRef{Set: "Test residual mix", Version: "2025", Edition: 2025, SourceTable: "illustrative", SourceRow: "US"}}
	withResid, err := New(units, append(fs, resid), DefaultRegions())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	certs := []ghg.Certificate{{ID: "REC-1", KWh: dec("40000"), PeriodStart: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		PeriodEnd: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Market: "US"}}
	in := "id,activity_type,quantity,unit,period_start,period_end,region,scope\n" +
		"jan,electricity,100,MWh,2025-01-01,2025-01-31,US-CAMX,2\n" +
		"feb,electricity,100,MWh,2025-02-01,2025-02-28,US-CAMX,2\n"
	lb := dec("0.45359237")
	camxPerMWh := lb.Mul(dec("436.7").Add(dec("0.025").Mul(dec("28"))).Add(dec("0.003").Mul(dec("265"))))
	location := dec("100").Mul(camxPerMWh)

	rep, err := withResid.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5", Certificates: certs})
	if err != nil || len(rep.Lines) != 2 {
		t.Fatalf("%v %v", rep.Errors, err)
	}
	jan, feb := rep.Lines[0], rep.Lines[1]
	if !jan.Result.CO2eKg.Equal(location) || jan.Market == nil {
		t.Fatalf("january location %s, market %v", jan.Result.CO2eKg, jan.Market)
	}
	// January: 40 000 kWh from the REC at 0, 60 000 kWh at the residual mix.
	if !jan.Market.CO2eKg.Equal(dec("30000")) || len(jan.Allocations) != 1 || !jan.Allocations[0].KWh.Equal(dec("40000")) {
		t.Errorf("january market %s, allocations %+v", jan.Market.CO2eKg, jan.Allocations)
	}
	// February: the certificate is used up.
	if !feb.Market.CO2eKg.Equal(dec("50000")) || len(feb.Allocations) != 0 {
		t.Errorf("february market %s, allocations %+v", feb.Market.CO2eKg, feb.Allocations)
	}
	if !rep.Scope2Market.CO2eKg.Equal(dec("80000")) || !rep.ByScope["scope 2"].CO2eKg.Equal(location.Mul(dec("2"))) {
		t.Errorf("scope 2: market %s, location %s", rep.Scope2Market.CO2eKg, rep.ByScope["scope 2"].CO2eKg)
	}
	// Without a residual mix the location factor covers the remainder, and the trail says so.
	rep, err = plain.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5", Certificates: certs})
	if err != nil {
		t.Fatal(err)
	}
	jan = rep.Lines[0]
	if want := dec("60").Mul(camxPerMWh); !jan.Market.CO2eKg.Equal(want) || !strings.Contains(strings.Join(jan.MarketSelection, " "), "stands in") {
		t.Errorf("market without residual mix: %s (want %s), trail %v", jan.Market.CO2eKg, want, jan.MarketSelection)
	}
	// A certificate for another market is not claimed.
	certs[0].Market = "UK"
	rep, _ = withResid.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5", Certificates: certs})
	if len(rep.Lines[0].Allocations) != 0 || !rep.Lines[0].Market.CO2eKg.Equal(dec("50000")) {
		t.Errorf("a UK certificate was claimed for US electricity: %+v", rep.Lines[0].Allocations)
	}
}
