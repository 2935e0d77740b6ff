package table

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

func TestRoundTrip(t *testing.T) {
	u := ghg.NewUnits()
	fs := []ghg.Factor{
		{ID: "b", ActivityType: "natural_gas", Region: "US", Per: u.MustParse("mmBtu"),
			Ref:         ghg.FactorRef{Set: "EPA Hub", Version: "2025", Edition: 2025, SourceTable: "Table 1", SourceRow: "Natural Gas (row 38)"},
			KgPerUnit:   map[string]decimal.Decimal{"CO2": decimal.RequireFromString("53.06"), "CH4": decimal.RequireFromString("0.001")},
			HeatContent: &ghg.HeatContent{Energy: ghg.Quantity{Value: decimal.RequireFromString("0.001026"), Unit: u.MustParse("mmBtu")}, Per: u.MustParse("scf"), Basis: ghg.HHV},
			ValidFrom:   time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: "a", ActivityType: "naics:331110", Per: ghg.CurrencyUnit("USD"), PriceYear: 2021, PerBasis: "",
			Ref: ghg.FactorRef{Set: "USEEIO", Version: "v1.2", Edition: 2021}, KgPerUnit: map[string]decimal.Decimal{"CO2e": decimal.RequireFromString("0.979")},
			BiogenicCO2KgPerUnit: decimal.RequireFromString("0.5"), UncertaintyPct: decimal.RequireFromString("30")},
	}
	var buf bytes.Buffer
	if err := Write(&buf, fs); err != nil {
		t.Fatal(err)
	}
	got, err := Read(bytes.NewReader(buf.Bytes()), u)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || got[1].HeatContent == nil || !got[1].KgPerUnit["CO2"].Equal(fs[0].KgPerUnit["CO2"]) ||
		got[0].PriceYear != 2021 || !got[0].BiogenicCO2KgPerUnit.Equal(decimal.RequireFromString("0.5")) || got[1].Ref.SourceRow != "Natural Gas (row 38)" {
		t.Fatalf("read back %+v", got)
	}
	var again bytes.Buffer
	if err := Write(&again, got); err != nil || again.String() != buf.String() {
		t.Errorf("write → read → write changed the bytes:\n%s\n%s", buf.String(), again.String())
	}
}

func TestReadRefusesWholeTable(t *testing.T) {
	h := strings.Join(header, ",") + "\n"
	row := "x,S,1,2025,T,R,gas,US,kWh,,,CO2=1,,,,,,,2025-01-01,\n"
	for name, tc := range map[string]struct{ in, want string }{
		"bad unit":   {h + strings.Replace(row, "kWh", "furlong", 1), "line 2, column per"},
		"bad gas":    {h + strings.Replace(row, "CO2=1", "CO2", 1), "column kg_per_unit"},
		"bad date":   {h + strings.Replace(row, "2025-01-01", "01/01/2025", 1), "column valid_from"},
		"duplicate":  {h + row + row, "lines 2 and 3"},
		"bad header": {"id,set\n", "header"},
	} {
		_, err := Read(strings.NewReader(tc.in), ghg.NewUnits())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(strings.Join(header, ",") + "\nx,S,1,2025,T,R,gas,US,kWh,,,CO2=1,,,,,,,2025-01-01,\n")
	u := ghg.NewUnits()
	f.Fuzz(func(t *testing.T, in string) {
		fs, err := Read(strings.NewReader(in), u)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, fs); err != nil {
			t.Fatal(err)
		}
		again, err := Read(&buf, u)
		if err != nil || len(again) != len(fs) {
			t.Fatalf("a table that read once did not read again: %v", err)
		}
	})
}
