package ghg

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseUnits(t *testing.T) {
	c := NewUnits()
	for in, want := range map[string]string{
		"kWh": "kWh", "kwh": "kWh", "MWh": "MWh", "MMBtu": "mmBtu", "therms": "therm", "GJ": "GJ",
		"litres": "L", "l": "L", "m³": "m3", "US gallons": "US gal", "gal (UK)": "imp gal", "scf": "scf", "CCF": "ccf",
		"kg": "kg", "t": "tonne", "metric ton": "tonne", "short tons": "short ton", "lbs": "lb",
		"km": "km", "miles": "mile", "nautical mile": "nmi", "tkm": "tonne-km", "ton-mile": "ton-mile",
		"passenger-km": "passenger-km", "pmi": "passenger-mile", "room nights": "room-night", "vehicle-km": "vehicle-km",
		"EUR": "EUR", "USD": "USD",
	} {
		u, err := c.Parse(in)
		if err != nil || u.Symbol != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, u.Symbol, err, want)
		}
	}
	for in, why := range map[string]string{"ton": "ambiguous", "Tons": "ambiguous", "btu": "mmBtu", "furlongs": "unknown unit", "": "no unit", "eur": "unknown unit"} {
		_, err := c.Parse(in)
		var ue *UnitError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), why) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", in, err, why)
		}
	}
}

func q(v string, u Unit) Quantity { return Quantity{Value: decimal.RequireFromString(v), Unit: u} }

func TestKnownConversions(t *testing.T) {
	c := NewUnits()
	cases := []struct {
		v, from, to, want string
	}{
		{"1", "MWh", "kWh", "1000"},
		{"1", "kWh", "MJ", "3.6"},
		{"1", "mmBtu", "kWh", "293.07107017222222222222222222222"}, // 1055.05585262 / 3.6
		{"10", "therm", "mmBtu", "1"},
		{"1", "m3", "L", "1000"},
		{"1", "US gal", "L", "3.785411784"},
		{"1", "imp gal", "L", "4.54609"},
		{"1000", "scf", "Mscf", "1"},
		{"1", "ccf", "scf", "100"},
		{"1", "short ton", "lb", "2000"},
		{"1", "tonne", "kg", "1000"},
		{"1", "mile", "km", "1.609344"},
		{"1", "ton-mile", "tonne-km", "1.45997231821056"},
		{"1", "passenger-mile", "passenger-km", "1.609344"},
		{"1", "nmi", "km", "1.852"},
	}
	for _, tc := range cases {
		got, step, err := q(tc.v, c.MustParse(tc.from)).To(c.MustParse(tc.to))
		if err != nil {
			t.Fatalf("%s %s -> %s: %v", tc.v, tc.from, tc.to, err)
		}
		want := decimal.RequireFromString(tc.want)
		if got.Value.Sub(want).Abs().GreaterThan(decimal.New(1, -25)) {
			t.Errorf("%s %s -> %s = %s, want %s", tc.v, tc.from, tc.to, got.Value, tc.want)
		}
		if step.From != tc.from && c.MustParse(tc.from).Symbol != step.From {
			t.Errorf("step %+v", step)
		}
	}
}

// Every unit converts to every other unit of its dimension and back to the
// value it started from (to 1e-20 relative), and refuses every other dimension.
func TestConversionProperties(t *testing.T) {
	c := NewUnits()
	var all []Unit
	for _, s := range c.Symbols() {
		all = append(all, c.MustParse(s))
	}
	all = append(all, CurrencyUnit("EUR"), CurrencyUnit("USD"))
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a, b := all[r.IntN(len(all))], all[r.IntN(len(all))]
		v := decimal.New(r.Int64N(1_000_000_000_000), -int32(r.IntN(9)))
		there, _, err := Quantity{Value: v, Unit: a}.To(b)
		switch {
		case a.Dim != b.Dim:
			var de *DimensionError
			if !errors.As(err, &de) {
				t.Fatalf("%s -> %s: got %v, want a dimension error", a, b, err)
			}
			continue
		case a.Dim == Currency && a.Symbol != b.Symbol:
			if err == nil || !strings.Contains(err.Error(), "exchange rate") {
				t.Fatalf("%s -> %s: got %v", a, b, err)
			}
			continue
		case err != nil:
			t.Fatalf("%s -> %s: %v", a, b, err)
		}
		back, _, err := there.To(a)
		if err != nil {
			t.Fatal(err)
		}
		if !v.IsZero() && back.Value.Sub(v).Abs().Div(v.Abs()).GreaterThan(decimal.New(1, -20)) {
			t.Fatalf("%s %s -> %s -> %s = %s", v, a, b, a, back.Value)
		}
		if a.Symbol == b.Symbol && !back.Value.Equal(v) {
			t.Fatalf("identity conversion changed %s to %s", v, back.Value)
		}
	}
}

func TestHeatContent(t *testing.T) {
	c := NewUnits()
	// EPA Hub Table 1: natural gas 1.026 mmBtu per Mscf (HHV).
	ng := HeatContent{Energy: q("1.026", c.MustParse("mmBtu")), Per: c.MustParse("Mscf"), Basis: HHV}
	got, steps, err := ng.Convert(q("50000", c.MustParse("scf")), c.MustParse("mmBtu"))
	if err != nil || !got.Value.Equal(decimal.RequireFromString("51.3")) || len(steps) != 3 {
		t.Fatalf("50000 scf = %s mmBtu (%v), %d steps", got.Value, err, len(steps))
	}
	if !strings.Contains(steps[1].Note, "HHV") {
		t.Errorf("step does not state the basis: %+v", steps[1])
	}
	back, _, err := ng.Convert(got, c.MustParse("scf"))
	if err != nil || back.Value.Sub(decimal.NewFromInt(50000)).Abs().GreaterThan(decimal.New(1, -20)) {
		t.Errorf("back to scf: %s %v", back.Value, err)
	}
	// Energy given for a fuel measured by mass: refused, not guessed.
	if _, _, err := ng.Convert(q("1", c.MustParse("kg")), c.MustParse("mmBtu")); err == nil {
		t.Error("kg of a fuel whose heat content is per volume converted")
	}
	if _, _, err := (HeatContent{Energy: q("1", c.MustParse("mmBtu")), Per: c.MustParse("Mscf")}).Convert(q("1", c.MustParse("Mscf")), c.MustParse("mmBtu")); err == nil {
		t.Error("heat content without HHV/NCV accepted")
	}
}

func FuzzParseUnit(f *testing.F) {
	c := NewUnits()
	for _, s := range []string{"kWh", "US gal", "ton", "m³", "EUR", " tkm "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := c.Parse(s)
		if err == nil && (u.Symbol == "" || u.Dim == "") {
			t.Fatalf("Parse(%q) returned an empty unit without an error", s)
		}
		if err != nil && !strings.Contains(err.Error(), "unit") {
			t.Fatalf("error %q does not say it is about a unit", err)
		}
	})
}
