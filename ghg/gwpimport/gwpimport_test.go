package gwpimport

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

const published = "../../../shared/data/factors/ipcc-gwp.csv"

func openPublished(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(published)
	if err != nil {
		t.Skipf("the published file is not beside the project (%v)", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// good is the published layout, cut down: the comment block padded with
// commas as in the file, the header, three species.
const good = `# Global warming potentials of greenhouse gases.,,,,,,,,,,,
# Sources:,,,,,,,,,,,
Species,SARGWP100,TARGWP100,AR4GWP100,AR5GWP100,AR5CCFGWP100,AR6GWP100,TARGWP20,AR6GWP20,TARGWP500,AR6GWP500,AR6GTP100
CH4,21,23,25,28,34,27.9,62,81.2,7,7.95,5.38
HFC134a,1300,1300,1430,1300,1549,1530,3300,4140,400,436,306
CH2Br2,,1,,,,,5,,,,
`

func TestReadPublishedFile(t *testing.T) {
	rows, err := ReadIPCC(openPublished(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 105 {
		t.Errorf("%d species, the file's README says 105", len(rows))
	}
	by := map[string]ghg.GWPRow{}
	for _, r := range rows {
		by[r.Species] = r
	}
	// Values as the file gives them (each checked against the file by eye).
	for _, c := range []struct {
		species string
		get     func(ghg.GWPRow) decimal.NullDecimal
		set     string
		want    string
	}{
		{"CH4", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR4GWP100 }, "AR4", "25"},
		{"N2O", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR4GWP100 }, "AR4", "298"},
		{"SF6", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR4GWP100 }, "AR4", "22800"},
		{"CH4", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR5GWP100 }, "AR5", "28"},
		{"N2O", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR5GWP100 }, "AR5", "265"},
		{"SF6", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR5GWP100 }, "AR5", "23500"},
		{"NF3", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR5GWP100 }, "AR5", "16100"},
		{"CH4", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR6GWP100 }, "AR6", "27.9"},
		{"N2O", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR6GWP100 }, "AR6", "273"},
		{"SF6", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR6GWP100 }, "AR6", "25200"},
		{"HFC134a", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR6GWP100 }, "AR6", "1530"},
		{"CH4", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR6GWP20 }, "AR6 20-year", "81.2"},
		{"CH3Br", func(r ghg.GWPRow) decimal.NullDecimal { return r.AR6GWP500 }, "AR6 500-year", "0.692"},
	} {
		r, ok := by[c.species]
		if !ok {
			t.Errorf("no %s row", c.species)
			continue
		}
		if got := c.get(r); !got.Valid || !got.Decimal.Equal(decimal.RequireFromString(c.want)) {
			t.Errorf("%s %s = %v, want %s", c.set, c.species, got, c.want)
		}
	}
	// A blank cell is not a zero.
	if r := by["HFC134"]; r.AR4GWP100.Valid || !r.AR5GWP100.Valid {
		t.Errorf("HFC134: AR4 %v (blank in the file), AR5 %v", r.AR4GWP100, r.AR5GWP100)
	}
	if r := by["CH4"]; r.Line != 12 {
		t.Errorf("CH4 is on line %d, want 12", r.Line)
	}
}

func TestReadIPCCRefusals(t *testing.T) {
	header := "Species,SARGWP100,TARGWP100,AR4GWP100,AR5GWP100,AR5CCFGWP100,AR6GWP100,TARGWP20,AR6GWP20,TARGWP500,AR6GWP500,AR6GTP100\n"
	row := "CH4,21,23,25,28,34,27.9,62,81.2,7,7.95,5.38\n"
	for name, c := range map[string]struct {
		in     string
		line   int
		column string
	}{
		"missing column in a row": {"# c\n" + header + "CH4,21,23,25\n", 3, "AR5GWP100"},
		"extra field":             {header + strings.TrimSuffix(row, "\n") + ",1\n", 2, ""},
		"not a number":            {header + row + "N2O,310,296,298,abc,298,273,275,273,156,130,233\n", 3, "AR5GWP100"},
		"negative":                {header + "N2O,310,296,-298,265,298,273,275,273,156,130,233\n", 2, "AR4GWP100"},
		"exponent":                {header + "N2O,310,296,2.98e2,265,298,273,275,273,156,130,233\n", 2, "AR4GWP100"},
		"thousands separator":     {header + "SF6,\"23,900\",22200,22800,23500,26087,25200,15100,18300,32400,34100,30600\n", 2, "SARGWP100"},
		"duplicate species":       {header + row + "N2O,,,,,,,,,,,\n" + row, 4, "Species"},
		"duplicate by gas key":    {header + "HFC134a,,,1430,,,,,,,,\nHFC-134A,,,1430,,,,,,,,\n", 3, "Species"},
		"no species name":         {header + " ,1,,,,,,,,,,\n", 2, "Species"},
		"header column missing":   {"# c\n" + strings.Replace(header, ",AR5CCFGWP100", "", 1) + row, 2, "AR5CCFGWP100"},
		"header renamed":          {strings.Replace(header, "AR6GWP100", "AR6GWP100 (combined)", 1) + row, 1, "AR6GWP100"},
		"header extra column":     {strings.TrimSuffix(header, "\n") + ",AR7GWP100\n" + row, 1, ""},
		"bad quoting":             {header + "CH4,\"21,23\"x,25,28,34,27.9,62,81.2,7,7.95,5.38\n", 2, ""},
	} {
		_, err := ReadIPCC(strings.NewReader(c.in))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: err = %v, want an *Error", name, err)
			continue
		}
		if e.Line != c.line || e.Column != c.column {
			t.Errorf("%s: line %d, column %q (%v), want line %d, column %q", name, e.Line, e.Column, err, c.line, c.column)
		}
	}
	for name, in := range map[string]string{
		"empty":          "",
		"only comments":  "# a,,,\n# b\n",
		"no species":     header,
		"comments, none": "# a\n" + header + "# b\n",
	} {
		if _, err := ReadIPCC(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadIPCCAcceptsCutDownLayout(t *testing.T) {
	rows, err := ReadIPCC(strings.NewReader("\ufeff" + good))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Species != "CH4" || rows[0].Line != 4 || rows[2].AR4GWP100.Valid || !rows[2].TARGWP100.Decimal.Equal(decimal.NewFromInt(1)) {
		t.Errorf("rows = %+v", rows)
	}
}

func TestWriteGWP100(t *testing.T) {
	rows, err := ReadIPCC(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteGWP100(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `gas,ar4,ar5,ar6,source
CO2,1,1,1,definition: CO2 is the reference gas
CH4,25,28,27.9,"ipcc-gwp.csv (IPCC SAR–AR6 compilation, CC0)"
CH4-fossil,,,29.8,IPCC AR6 WG1 Table 7.15
CH4-non-fossil,,,27.0,IPCC AR6 WG1 Table 7.15
HFC134a,1430,1300,1530,"ipcc-gwp.csv (IPCC SAR–AR6 compilation, CC0)"
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	// A species clashing with a row the table adds, and a file without CH4.
	clash := append(rows[:len(rows):len(rows)], ghg.GWPRow{Species: "CH4 fossil", AR6GWP100: decimal.NewNullDecimal(decimal.NewFromInt(30))})
	if err := WriteGWP100(&b, clash); err == nil {
		t.Error("a CH4 fossil row clashing with the added one was accepted")
	}
	if err := WriteGWP100(&b, rows[1:]); err == nil {
		t.Error("rows without CH4 were accepted")
	}
}

// TestDerivedTableIsCurrent keeps ghg/data/gwp100.csv from drifting from
// its source: regenerate it with
//
//	go run ./ghg/gwpimport/cmd/gwpgen ../shared/data/factors/ipcc-gwp.csv > ghg/data/gwp100.csv
func TestDerivedTableIsCurrent(t *testing.T) {
	rows, err := ReadIPCC(openPublished(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteGWP100(&b, rows); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("../data/gwp100.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), committed) {
		t.Fatal("ghg/data/gwp100.csv differs from what gwpgen derives from ipcc-gwp.csv; regenerate it (see this test's comment)")
	}
	// And ghg loads what was derived.
	tab, err := ghg.LoadGWPSets()
	if err != nil {
		t.Fatal(err)
	}
	ar5, err := tab.Set(ghg.AR5)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if !r.AR5GWP100.Valid {
			continue
		}
		if g, err := ar5.GWP(r.Species); err != nil || !g.Equal(r.AR5GWP100.Decimal) {
			t.Errorf("AR5 %s: ghg gives %v, %v; the file %v", r.Species, g, err, r.AR5GWP100.Decimal)
		}
	}
}

func FuzzReadIPCC(f *testing.F) {
	f.Add(good)
	f.Add("# x\n" + strings.SplitN(good, "\n", 4)[2] + "\nA,1,2,3,4,5,6,7,8,9,10,11\nA,,,,,,,,,,,\n")
	if b, err := os.ReadFile(published); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadIPCC(strings.NewReader(in))
		if err != nil {
			if rows != nil {
				t.Fatal("rows with an error")
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			k := ghg.GasKey(r.Species)
			if k == "" || seen[k] || r.Line < 2 {
				t.Fatalf("row %+v: empty, repeated or before a header", r)
			}
			seen[k] = true
			for _, v := range valueFields(&r) {
				if v.Valid && v.Decimal.IsNegative() {
					t.Fatalf("row %+v: negative value", r)
				}
			}
		}
		// Whatever is read derives a table or a clean refusal.
		var b bytes.Buffer
		if err := WriteGWP100(&b, rows); err == nil && !strings.HasPrefix(b.String(), "gas,ar4,ar5,ar6,source\nCO2,") {
			t.Fatalf("derived table starts %.40q", b.String())
		}
	})
}
