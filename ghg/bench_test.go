package ghg

import (
	"testing"

	"github.com/shopspring/decimal"
)

// BenchmarkEngine is the engine's throughput on one core: activity records
// calculated per second, each converted to the factor's unit and turned
// into per-gas masses, CO2e, uncertainty and an explanation.
func BenchmarkEngine(b *testing.B) {
	c := NewUnits()
	// The embedded IPCC table's AR5 set, as the platform calculates with
	// (the tests' hubAR5 stub makes a new decimal at every lookup).
	gwps, err := LoadGWPSets()
	if err != nil {
		b.Fatal(err)
	}
	ar5, err := gwps.Set(AR5)
	if err != nil {
		b.Fatal(err)
	}
	calc := NewCalculator("AR5", ar5)
	// Three fuels, as an inventory mixes them: EPA Hub 2025 Table 1
	// natural gas, distillate fuel oil no. 2 and bituminous coal.
	factors := []Factor{naturalGas(c),
		{ID: "epa-2025-t1-distillate-2", ActivityType: "diesel", Per: c.MustParse("gal"), UncertaintyPct: dec("2"),
			KgPerUnit: map[string]decimal.Decimal{"CO2": dec("10.21"), "CH4": dec("0.00041"), "N2O": dec("0.00008")}},
		{ID: "epa-2025-t1-bituminous", ActivityType: "coal_bituminous", Per: c.MustParse("short ton"), UncertaintyPct: dec("5"),
			KgPerUnit: map[string]decimal.Decimal{"CO2": dec("2328"), "CH4": dec("0.274"), "N2O": dec("0.04")}}}
	acts := make([]Activity, 1023)
	for i := range acts {
		f := factors[i%len(factors)]
		acts[i] = Activity{ID: "a", Type: f.ActivityType, DataQuality: 2, UncertaintyPct: dec("4"),
			Quantity: Quantity{Value: decimal.New(int64(1000+i), -1), Unit: f.Per}}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n := i % len(acts)
		if _, err := calc.StationaryCombustion(acts[n], factors[n%len(factors)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
