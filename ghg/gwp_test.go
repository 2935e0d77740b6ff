package ghg

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

var _ GWPSource = GWPSet{}

func loadSet(t *testing.T, id string) GWPSet {
	t.Helper()
	tab, err := LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	s, err := tab.Set(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func gwpOf(t *testing.T, s GWPSet, gas string) decimal.Decimal {
	t.Helper()
	g, err := s.GWP(gas)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGWPValues(t *testing.T) {
	// As ipcc-gwp.csv gives them (and AR6 WG1 Table 7.15 for the methane split).
	for _, c := range []struct{ set, gas, want string }{
		{AR4, "CO2", "1"}, {AR4, "CH4", "25"}, {AR4, "N2O", "298"}, {AR4, "SF6", "22800"}, {AR4, "HFC-134a", "1430"},
		{AR5, "CO2", "1"}, {AR5, "CH4", "28"}, {AR5, "N2O", "265"}, {AR5, "SF6", "23500"}, {AR5, "NF3", "16100"},
		{AR5, "HFC-32", "677"}, {AR5, "HFC-125", "3170"},
		{AR6, "CO2", "1"}, {AR6, "CH4", "29.8"}, {AR6, "CH4-fossil", "29.8"}, {AR6, "CH4-non-fossil", "27"},
		{AR6, "N2O", "273"}, {AR6, "SF6", "25200"}, {AR6, "HFC-134a", "1530"},
		{AR6Combined, "CH4", "27.9"}, {AR6Combined, "CH4-fossil", "29.8"}, {AR6Combined, "CH4-non-fossil", "27"},
		{AR6Combined, "N2O", "273"},
	} {
		if got := gwpOf(t, loadSet(t, c.set), c.gas); !got.Equal(dec(c.want)) {
			t.Errorf("%s %s = %s, want %s", c.set, c.gas, got, c.want)
		}
	}
}

func TestGasNamesAndSetIDs(t *testing.T) {
	ar5 := loadSet(t, "ar5")
	if ar5.ID() != AR5 {
		t.Errorf("ID = %q", ar5.ID())
	}
	for _, name := range []string{"HFC134a", "HFC-134a", "hfc 134a", "HFC-134A", " HFC134a "} {
		if g := gwpOf(t, ar5, name); !g.Equal(dec("1300")) {
			t.Errorf("AR5 %q = %s", name, g)
		}
	}
	// HFC-134 is a different gas from HFC-134a.
	if g := gwpOf(t, ar5, "HFC-134"); !g.Equal(dec("1120")) {
		t.Errorf("AR5 HFC-134 = %s", g)
	}
	for _, name := range []string{"R-134a", "HFC_134a", "HFC-134a.", "CH₄"} {
		if _, err := ar5.GWP(name); err == nil {
			t.Errorf("AR5 %q was matched", name)
		}
	}
	src, err := loadSet(t, AR6).Source("ch4")
	if err != nil || src != "IPCC AR6 WG1 Table 7.15" {
		t.Errorf("AR6 CH4 source = %q, %v", src, err)
	}
	src, err = loadSet(t, AR6Combined).Source("CH4")
	if err != nil || !strings.HasPrefix(src, "ipcc-gwp.csv") {
		t.Errorf("AR6-combined CH4 source = %q, %v", src, err)
	}
}

func TestGWPErrors(t *testing.T) {
	tab, err := LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tab.Set("AR3")
	if err == nil || !strings.Contains(err.Error(), `"AR3"`) || !strings.Contains(err.Error(), "AR4, AR5, AR6, AR6-combined") {
		t.Errorf("unknown set: %v", err)
	}
	for _, c := range []struct{ set, gas, says string }{
		{AR5, "Unobtainium", "unknown gas"},
		{AR5, "CH4-fossil", "gives no GWP"}, // no split in AR5
		{AR4, "CH4-non-fossil", "gives no GWP"},
		{AR4, "HFC-134", "gives no GWP"}, // blank in the file's AR4 column
		{AR6, "cC3F6", "gives no GWP"},   // AR5 only
		{AR6, "", "unknown gas"},
	} {
		_, err := loadSet(t, c.set).GWP(c.gas)
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.gas)) || !strings.Contains(err.Error(), c.set) {
			t.Errorf("%s %q: %v, want an error naming gas and set, saying %q", c.set, c.gas, err, c.says)
		}
	}
	if _, err := (GWPSet{}).GWP("CO2"); err == nil {
		t.Error("the zero GWPSet gave a GWP")
	}
	_, err = loadSet(t, AR5).CO2e(map[string]decimal.Decimal{"CO2": dec("1"), "XYZ": dec("1")})
	if err == nil || !strings.Contains(err.Error(), `"XYZ"`) {
		t.Errorf("CO2e with an unknown gas: %v", err)
	}
}

func TestCO2e(t *testing.T) {
	masses := map[string]decimal.Decimal{"CO2": dec("1000"), "CH4": dec("1"), "N2O": dec("0.1")}
	for set, want := range map[string]string{
		AR5:         "1054.5", // 1000 + 28 + 26.5
		AR6:         "1057.1", // 1000 + 29.8 (fossil) + 27.3
		AR6Combined: "1055.2", // 1000 + 27.9 + 27.3
		AR4:         "1054.8", // 1000 + 25 + 29.8
	} {
		got, err := loadSet(t, set).CO2e(masses)
		if err != nil || !got.Equal(dec(want)) {
			t.Errorf("%s CO2e = %s, %v, want %s", set, got, err, want)
		}
	}
	// Biogenic methane under AR6 is asked for by name.
	got, err := loadSet(t, AR6).CO2e(map[string]decimal.Decimal{"CH4-non-fossil": dec("2")})
	if err != nil || !got.Equal(dec("54")) {
		t.Errorf("AR6 2 kg non-fossil CH4 = %s, %v, want 54", got, err)
	}
	if got, err := loadSet(t, AR5).CO2e(nil); err != nil || !got.IsZero() {
		t.Errorf("CO2e of nothing = %s, %v", got, err)
	}
}

func knownBlend(t *testing.T, name string) Blend {
	t.Helper()
	for _, b := range KnownBlends() {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no known blend %s", name)
	return Blend{}
}

func TestBlendGWP(t *testing.T) {
	ar4, ar5 := loadSet(t, AR4), loadSet(t, AR5)
	// Expected values computed from the sets' own GWPs (checked against the
	// file in TestGWPValues and gwpimport's tests).
	want410A := dec("0.5").Mul(gwpOf(t, ar5, "HFC-32")).Add(dec("0.5").Mul(gwpOf(t, ar5, "HFC-125")))
	if !want410A.Equal(dec("1923.5")) {
		t.Fatalf("0.5×HFC-32 + 0.5×HFC-125 in AR5 = %s", want410A)
	}
	if got, err := ar5.BlendGWP(knownBlend(t, "R-410A")); err != nil || !got.Equal(want410A) {
		t.Errorf("AR5 R-410A = %s, %v, want %s", got, err, want410A)
	}
	// 0.44×3500 + 0.52×4470 + 0.04×1430; often quoted rounded as 3922.
	if got, err := ar4.BlendGWP(knownBlend(t, "R-404A")); err != nil || !got.Equal(dec("3921.6")) {
		t.Errorf("AR4 R-404A = %s, %v, want 3921.6", got, err)
	}
	// 0.23×675 + 0.25×3500 + 0.52×1430
	if got, err := ar4.BlendGWP(knownBlend(t, "R-407C")); err != nil || !got.Equal(dec("1773.85")) {
		t.Errorf("AR4 R-407C = %s, %v, want 1773.85", got, err)
	}
	for _, b := range KnownBlends() {
		sum := decimal.Zero
		for _, f := range b.Components {
			sum = sum.Add(f)
		}
		if !sum.Equal(decimal.NewFromInt(1)) {
			t.Errorf("%s fractions sum to %s", b.Name, sum)
		}
		for _, id := range GWPSetIDs() {
			if _, err := loadSet(t, id).BlendGWP(b); err != nil {
				t.Errorf("%s in %s: %v", b.Name, id, err)
			}
		}
	}
	// KnownBlends hands out fresh values.
	KnownBlends()[0].Components["HFC-125"] = dec("9")
	if !KnownBlends()[0].Components["HFC-125"].Equal(dec("0.44")) {
		t.Error("KnownBlends shares its maps")
	}
	// Within 1e-9 of 1 is accepted, as given.
	third := dec("0.3333333333")
	b := Blend{Name: "thirds", Components: map[string]decimal.Decimal{"HFC-32": third, "HFC-125": third, "HFC-134a": third}}
	if got, err := ar5.BlendGWP(b); err != nil || !got.Equal(third.Mul(dec("5147"))) {
		t.Errorf("thirds = %s, %v", got, err)
	}
}

func TestBlendGWPRefusals(t *testing.T) {
	ar5 := loadSet(t, AR5)
	for name, c := range map[string]struct {
		b    Blend
		says string
	}{
		"sum under 1":   {Blend{"short", map[string]decimal.Decimal{"HFC-32": dec("0.5"), "HFC-125": dec("0.49")}}, "sum to 0.99"},
		"sum over 1":    {Blend{"long", map[string]decimal.Decimal{"HFC-32": dec("0.5"), "HFC-125": dec("0.500000002")}}, "not 1"},
		"negative":      {Blend{"neg", map[string]decimal.Decimal{"HFC-32": dec("1.5"), "HFC-125": dec("-0.5")}}, "not positive"},
		"zero fraction": {Blend{"zero", map[string]decimal.Decimal{"HFC-32": dec("1"), "HFC-125": dec("0")}}, "not positive"},
		"empty":         {Blend{"none", nil}, "no components"},
		"unknown gas":   {Blend{"odd", map[string]decimal.Decimal{"HFC-32": dec("0.5"), "HFO-9999": dec("0.5")}}, `unknown gas "HFO-9999" in GWP set AR5`},
	} {
		_, err := ar5.BlendGWP(c.b)
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), c.b.Name) {
			t.Errorf("%s: %v, want an error naming the blend, saying %q", name, err, c.says)
		}
	}
}

func TestParseGWPTableRefusals(t *testing.T) {
	const h = "gas,ar4,ar5,ar6,source\n"
	for name, c := range map[string]struct{ in, says string }{
		"empty":          {"", "empty"},
		"wrong header":   {"gas,ar4,ar6,ar5,source\nCO2,1,1,1,x\n", "line 1, column ar5"},
		"extra column":   {"gas,ar4,ar5,ar6,source,note\n", "line 1, column note"},
		"missing column": {h + "CO2,1,1,1,x\nCH4,25,28\n", "line 3, column ar6: missing"},
		"extra field":    {h + "CO2,1,1,1,x,y\n", "line 2: 6 columns"},
		"not a number":   {h + "CO2,1,1,1,x\nCH4,25,2 8,27.9,x\n", "line 3, column ar5"},
		"exponent":       {h + "CH4,2.5e1,,,x\n", "line 2, column ar4"},
		"negative":       {h + "CH4,,,-1,x\n", "line 2, column ar6"},
		"duplicate":      {h + "HFC134a,1,,,x\nHFC-134a,1,,,x\n", "line 3, column gas: gas \"HFC-134a\" is already on line 2"},
		"no gas":         {h + "-,1,,,x\n", "line 2, column gas"},
		"no value":       {h + "CO2,,,,x\n", "line 2, column ar4"},
		"no source":      {h + "CO2,1,1,1,\n", "line 2, column source"},
		"no rows":        {h, "no rows"},
	} {
		_, err := parseGWPTable(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.says)
		}
	}
}

// The same emissions under AR5 and AR6: methane and N2O weigh differently,
// and in AR6 the origin of methane matters.
func ExampleGWPSet_CO2e() {
	tab, err := LoadGWPSets()
	if err != nil {
		panic(err)
	}
	kg := map[string]decimal.Decimal{
		"CO2": decimal.NewFromInt(1000),
		"CH4": decimal.NewFromInt(1),
		"N2O": decimal.RequireFromString("0.1"),
	}
	for _, id := range []string{AR5, AR6, AR6Combined} {
		set, err := tab.Set(id)
		if err != nil {
			panic(err)
		}
		ch4, _ := set.GWP("CH4")
		n2o, _ := set.GWP("N2O")
		total, err := set.CO2e(kg)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-12s CH4 %-4s N2O %s  →  %s kg CO2e\n", id, ch4, n2o, total)
	}
	// Output:
	// AR5          CH4 28   N2O 265  →  1054.5 kg CO2e
	// AR6          CH4 29.8 N2O 273  →  1057.1 kg CO2e
	// AR6-combined CH4 27.9 N2O 273  →  1055.2 kg CO2e
}
