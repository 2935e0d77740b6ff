package spreadsheet

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/greenlang/greenlang/internal/erp"
)

func newConnector(t *testing.T, dir string) erp.Connector {
	t.Helper()
	b, err := os.ReadFile("testdata/columns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "columns.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(erp.Config{Name: "uploads", BaseURL: dir, Settings: json.RawMessage(`{"mapping_file": "columns.yaml"}`)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeAt(t *testing.T, path string, b []byte, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestCSVAndXLSX(t *testing.T) {
	dir := t.TempDir()
	c := newConnector(t, dir)
	t0 := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	writeAt(t, filepath.Join(dir, "po-1.csv"), []byte("\ufeffPO Number,Item,Order Date,Vendor,Material Group,NAICS,Text,Qty,UoM,Net Value,Currency,Plant,Deleted\n"+
		"4500000001,10,2025-02-03,V100,DIESEL,,Diesel,\"1,000\",LTR,\"1,500.00\",eur,1000,\n"+
		",,,,,,,,,,,,\n"+
		"4500000001,20,03.02.2025,V100,STEEL,331110,Coil,2,TO,2000,EUR,1000,\n"), t0)

	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	for i, r := range [][]any{
		{"Document", "Line", "Posting Date", "G/L Account", "Amount", "Currency", "Quantity", "Unit", "Plant"},
		{"100000001", "1", "2025-01-31", "610000", "1234.50", "EUR", "8200", "kWh", "1000"},
		{"100000001", "2", "2025-01-31", "620000", "99", "EUR", "", "", ""},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "gl-2025-01.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, t0, t0); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	page, err := c.Fetch(ctx, "purchase_orders", erp.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || len(page.Rejected) != 1 || page.Next != "" || page.Watermark != t0.Format(time.RFC3339Nano) {
		t.Fatalf("page: %+v", page)
	}
	l := page.Records[0].POLine
	if page.Records[0].Key != "4500000001/10" || l.Quantity.String() != "1000" || l.Amount.String() != "1500" || l.Currency != "EUR" ||
		l.SupplierID != "V100" || l.Site != "1000" || !l.OrderDate.Equal(time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("record: %+v", l)
	}
	if r := page.Rejected[0]; r.Key != "4500000001/20" || !strings.Contains(r.Reason, `po-1.csv line 4: order_date "03.02.2025": is not a date`) {
		t.Fatalf("rejected: %+v", r)
	}

	page, err = c.Fetch(ctx, "fuel_and_power", erp.PageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 2 || len(page.Rejected) != 0 {
		t.Fatalf("xlsx page: %+v", page)
	}
	g := page.Records[0].GLEntry
	if g.Account != "610000" || !g.Quantity.Valid || g.Quantity.Decimal.String() != "8200" || g.Unit != "kWh" {
		t.Fatalf("gl entry: %+v", g)
	}
	if page.Records[1].GLEntry.Quantity.Valid {
		t.Fatalf("an empty quantity must stay absent: %+v", page.Records[1].GLEntry)
	}

	// Incremental: only files modified after the watermark, one per page.
	writeAt(t, filepath.Join(dir, "po-2.csv"), []byte("PO Number,Item,Order Date,Vendor,Material Group,NAICS,Text,Qty,UoM,Net Value,Currency,Plant,Deleted\n"+
		"4500000002,10,2025-02-04,V100,DIESEL,,Diesel,5,LTR,7,EUR,1000,\n"), t0.Add(time.Hour))
	writeAt(t, filepath.Join(dir, "po-3.csv"), []byte("PO Number,Item,Order Date,Vendor,Material Group,NAICS,Text,Qty,UoM,Net Value,Currency,Plant,Deleted\n"+
		"4500000001,10,,,,,,,,,,,yes\n"), t0.Add(2*time.Hour))
	page, err = c.Fetch(ctx, "purchase_orders", erp.PageRequest{Since: t0.Format(time.RFC3339Nano)})
	if err != nil || len(page.Records) != 1 || page.Records[0].Key != "4500000002/10" || page.Next == "" {
		t.Fatalf("first incremental page: %+v %v", page, err)
	}
	// A new connector resumes from the cursor.
	page, err = newConnector(t, dir).Fetch(ctx, "purchase_orders", erp.PageRequest{Since: t0.Format(time.RFC3339Nano), Cursor: page.Next})
	if err != nil || len(page.Records) != 1 || !page.Records[0].Deleted || page.Next != "" || page.Watermark != t0.Add(2*time.Hour).Format(time.RFC3339Nano) {
		t.Fatalf("second incremental page: %+v %v", page, err)
	}

	steps := c.Check(ctx)
	for _, s := range steps {
		if !s.OK {
			t.Fatalf("check: %+v", steps)
		}
	}
}

func TestBadConfiguration(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"po:\n  kind: purchase_order_line\n  files: x.csv\n  columns: {po_number: A}\n", "columns: line is required"},
		{"po:\n  kind: invoice\n  files: x.csv\n", `kind "invoice" is not one of`},
		{"po:\n  kind: gl_entry\n  files: x.csv\n  columns: {document_id: A, line: B, colour: C}\n", `columns: "colour" is not a field of gl_entry`},
		{"po:\n  kind: gl_entry\n  files: x.csv\n  colums: {}\n", "field colums not found"},
		{"po:\n  kind: gl_entry\n  files: \"[\"\n  columns: {document_id: A, line: B}\n", "syntax error in pattern"},
	} {
		_, err := ParseMappingFile([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
	_, err := New(erp.Config{Name: "x", BaseURL: t.TempDir(), Settings: json.RawMessage(`{"mapping": "a.yaml"}`)})
	if err == nil || !strings.Contains(err.Error(), `unknown field "mapping"`) {
		t.Errorf("unknown setting: %v", err)
	}
	c, err := New(erp.Config{Name: "x", BaseURL: filepath.Join(t.TempDir(), "missing"), Settings: json.RawMessage(
		`{"entities": {"po": {"kind": "supplier", "files": "*.csv", "columns": {"id": "Id"}}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if steps := c.Check(context.Background()); len(steps) != 1 || steps[0].OK || !strings.Contains(steps[0].Detail, "no such file") {
		t.Errorf("check of a missing directory: %+v", steps)
	}
}

// FuzzReadFile feeds arbitrary CSV to the reader: it never panics, and every
// record it accepts validates.
func FuzzReadFile(f *testing.F) {
	f.Add("PO Number,Item,Order Date,Vendor,Material Group,NAICS,Text,Qty,UoM,Net Value,Currency,Plant,Deleted\n1,10,2025-01-01,V,G,,T,1,L,2,EUR,P,\n")
	f.Add("PO Number,Item\n\"unterminated\n")
	f.Add("PO Number,Item,Order Date,Vendor,Material Group,NAICS,Text,Qty,UoM,Net Value,Currency,Plant,Deleted\n1,,,,,,,1e999999,,NaN,€,,maybe\n")
	dir := f.TempDir()
	b, err := os.ReadFile("testdata/columns.yaml")
	if err != nil {
		f.Fatal(err)
	}
	m, err := ParseMappingFile(b)
	if err != nil {
		f.Fatal(err)
	}
	c := &Connector{dir: dir, entities: m}
	path := filepath.Join(dir, "po-x.csv")
	f.Fuzz(func(t *testing.T, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		page, err := c.readFile("purchase_orders", path)
		if err != nil {
			return
		}
		for _, r := range page.Records {
			if err := r.Validate(); err != nil {
				t.Fatalf("accepted an invalid record %+v: %v", r, err)
			}
		}
		for _, r := range page.Rejected {
			if !strings.Contains(r.Reason, "po-x.csv line ") {
				t.Fatalf("a rejection must name file and line: %q", r.Reason)
			}
		}
	})
}
