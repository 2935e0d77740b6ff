package ghg

import (
	"errors"
	"strings"
	"testing"
)

func TestDirectMeasurement(t *testing.T) {
	c := NewUnits()
	table, err := LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		set, typ, qty, unit string
		gas, kg, co2e       string
	}{
		{AR6, "measured/CO2", "1234.5", "kg", "CO2", "1234.5", "1234.5"},
		{AR6, "measured/CH4", "2", "kg", "CH4", "2", "59.6"},         // fossil 29.8
		{AR6Combined, "measured/CH4", "2", "kg", "CH4", "2", "55.8"}, // 27.9
		{AR5, "measured/CH4", "2", "kg", "CH4", "2", "56"},           // 28
		{AR6, "measured/N2O", "0.5", "tonne", "N2O", "500", "136500"},
	}
	for _, tc := range cases {
		set, err := table.Set(tc.set)
		if err != nil {
			t.Fatal(err)
		}
		a := Activity{ID: "m1", Type: tc.typ, Quantity: Quantity{Value: dec(tc.qty), Unit: c.MustParse(tc.unit)}, DataQuality: 1, UncertaintyPct: dec("2.5")}
		r, err := NewCalculator(set.ID(), set).DirectMeasurement(a)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.set, tc.typ, err)
		}
		if r.Scope != 1 || len(r.KgByGas) != 1 || !r.KgByGas[tc.gas].Equal(dec(tc.kg)) || !r.CO2eKg.Equal(dec(tc.co2e)) {
			t.Errorf("%s %s %s %s: scope %d, gases %v, CO2e %s; want %s kg %s, %s kg CO2e", tc.set, tc.qty, tc.unit, tc.typ, r.Scope, r.KgByGas, r.CO2eKg, tc.kg, tc.gas, tc.co2e)
		}
		if !r.UncertaintyPct.Equal(dec("2.5")) || r.Explanation.Method != MethodDirectMeasurement || r.Explanation.FactorID != tc.typ {
			t.Errorf("%s: uncertainty %s, method %q, factor %q", tc.typ, r.UncertaintyPct, r.Explanation.Method, r.Explanation.FactorID)
		}
		if tc.unit != "kg" && len(r.Explanation.Conversions) != 1 {
			t.Errorf("%s: the conversion from %s is not in the explanation: %v", tc.typ, tc.unit, r.Explanation.Conversions)
		}
		if !strings.Contains(r.Explanation.String(), "direct measurement") {
			t.Errorf("explanation %q does not say the mass was measured", r.Explanation.String())
		}
	}
}

func TestDirectMeasurementRefuses(t *testing.T) {
	c := NewUnits()
	table, err := LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	set, _ := table.Set(AR6)
	calc := NewCalculator(set.ID(), set)
	cases := []struct {
		name, typ, unit, field, reason string
	}{
		{"not a measured type", "natural_gas", "kg", "activity_type", "not a measured gas"},
		{"no gas", "measured/", "kg", "activity_type", "not a measured gas"},
		{"unknown gas", "measured/XYZ", "kg", "activity_type", "unknown gas"},
		{"a volume", "measured/CO2", "m3", "unit", "needs a mass"},
		{"energy", "measured/CH4", "kWh", "unit", "needs a mass"},
	}
	for _, tc := range cases {
		a := Activity{ID: "bad", Type: tc.typ, Quantity: Quantity{Value: dec("1"), Unit: c.MustParse(tc.unit)}}
		_, err := calc.DirectMeasurement(a)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tc.field || !strings.Contains(ie.Reason, tc.reason) {
			t.Errorf("%s: %v, want an input error on %s saying %q", tc.name, err, tc.field, tc.reason)
		}
	}
}
