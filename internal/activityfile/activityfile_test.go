package activityfile

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/greenlang/greenlang/ghg"
)

const sample = "\ufeffid,Activity_Type,quantity,unit,period_start,period_end,region,data_quality,uncertainty_pct,correction,price_year,scope,category,method\n" +
	"gas-1,natural_gas,50000,scf,2025-01-01,2025-01-31,US,2,5,,,1,,stationary_combustion\n" +
	"el-1,electricity,12.5,MWh,2025-01,2025-01-31,US-CAMX,1,,,,2,,\n" +
	"bad-unit,diesel,10,furlongs,2025-01-01,,,,,,,,,\n" +
	"neg,diesel,-10,L,2025-01-01,,,,,,,,,\n" +
	"corr,diesel,-10,L,2025-01-01,,,,,true,,,,\n" +
	"spend,purchased_goods,1000.50,EUR,2024-06-01,,,4,,,2024,3,1,spend_based\n" +
	"bad-date,diesel,1,L,01/02/2025,,,,,,,,,\n" +
	"short,diesel,1\n" +
	"\n" +
	"dq,diesel,1,L,2025-01-01,,,9,,,,,,\n" +
	"year-on-kg,diesel,1,kg,2025-01-01,,,,,,2024,,,\n" +
	"ton,coal,3,ton,2025-01-01,,,,,,,,,\n"

func TestRead(t *testing.T) {
	rows, bad, err := Read(strings.NewReader(sample), ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.Activity.ID)
	}
	if strings.Join(ids, ",") != "gas-1,el-1,corr,spend" {
		t.Errorf("accepted %v", ids)
	}
	if rows[0].Scope != 1 || rows[0].Method != "stationary_combustion" || rows[0].Activity.DataQuality != 2 || rows[0].Line != 2 {
		t.Errorf("row 1: %+v", rows[0])
	}
	if rows[3].Activity.Quantity.PriceYear != 2024 || rows[3].Category != 1 || rows[3].Activity.Quantity.Unit.Symbol != "EUR" {
		t.Errorf("spend row: %+v", rows[3])
	}
	want := []string{
		`line 4, column unit ("furlongs")`,
		`line 5, column quantity ("-10"): is negative`,
		`line 8, column period_start ("01/02/2025")`,
		`line 9: has 3 fields`,
		`line 11, column data_quality ("9")`,
		`line 12, column price_year ("2024")`,
		`line 13, column unit ("ton"): unit "ton": "ton" is ambiguous`,
	}
	if len(bad) != len(want) {
		t.Fatalf("refused %d rows, want %d: %v", len(bad), len(want), bad)
	}
	for i, w := range want {
		if !strings.Contains(bad[i].Error(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, bad[i], w)
		}
	}
}

func TestReadRefusesBadHeaders(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "empty",
		"activity_type,quantity,unit\n": `required column "period_start"`,
		"activity_type,quantity,unit,period_start,colour\n": `unknown column "colour"`,
		"activity_type,quantity,unit,period_start,unit\n":   "appears twice",
	} {
		_, _, err := Read(strings.NewReader(in), ghg.NewUnits())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(sample)
	f.Add("activity_type,quantity,unit,period_start\nx,\"1,unit\n")
	f.Add("activity_type,quantity,unit,period_start\nx,1e99999,kWh,2025-01-01\n")
	units := ghg.NewUnits()
	f.Fuzz(func(t *testing.T, in string) {
		rows, bad, err := Read(strings.NewReader(in), units)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Activity.Type == "" || r.Activity.Quantity.Unit.IsZero() || r.Line < 2 {
				t.Fatalf("accepted a row without type, unit or line: %+v", r)
			}
			if r.Activity.Quantity.Value.IsNegative() && !r.Activity.Correction {
				t.Fatalf("accepted a negative quantity not marked as a correction")
			}
		}
		for _, b := range bad {
			if b.Line < 1 || b.Reason == "" {
				t.Fatalf("row error without line or reason: %+v", b)
			}
		}
	})
}

// The documented example must stay readable.
func TestDocumentedExample(t *testing.T) {
	f, err := os.Open("../../docs/examples/activities.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, bad, err := Read(f, ghg.NewUnits())
	if err != nil || len(bad) != 0 || len(rows) != 6 {
		t.Fatalf("example: %d rows, errors %v, %v", len(rows), bad, err)
	}
}

func TestReadXLSX(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows := [][]any{
		{"activity_type", "quantity", "unit", "period_start", "region", "scope", "method"},
		{"natural_gas", "51.3", "mmBtu", "2025-01-01", "US", "1", "stationary_combustion"},
		{},
		{"natural_gas", "10", "furlong", "2025-01-01"},
		{"diesel", "400", "US gal", "2025-01-01"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, bad, err := ReadXLSX(&buf, ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Line != 2 || got[1].Line != 5 || got[1].Activity.Quantity.Unit.Symbol != "US gal" {
		t.Errorf("rows %+v", got)
	}
	if len(bad) != 1 || !strings.Contains(bad[0].Error(), `line 4, column unit ("furlong")`) {
		t.Errorf("errors %v", bad)
	}
	if _, _, err := ReadXLSX(strings.NewReader("not a workbook"), ghg.NewUnits()); err == nil || !strings.Contains(err.Error(), "xlsx") {
		t.Errorf("not a workbook: %v", err)
	}
}
