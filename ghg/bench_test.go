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
	f := naturalGas(c)
	acts := make([]Activity, 1024)
	for i := range acts {
		acts[i] = Activity{ID: "a", Type: "natural_gas", DataQuality: 2, UncertaintyPct: dec("4"),
			Quantity: Quantity{Value: decimal.New(int64(1000+i), -1), Unit: c.MustParse("mmBtu")}}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := calc.StationaryCombustion(acts[i%len(acts)], f); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
