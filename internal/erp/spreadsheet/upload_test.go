package spreadsheet

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/greenlang/greenlang/internal/erp"
)

const poHeader = "PO Number,Item,Order Date,Vendor,Material Group,NAICS,Text,Qty,UoM,Net Value,Currency,Plant,Deleted\n"

// dirFiles lists the directory's files (not the upload area).
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	if left, _ := os.ReadDir(filepath.Join(dir, uploadDir)); len(left) != 0 {
		t.Fatalf("upload area not cleaned: %v", left)
	}
	return out
}

func TestUpload(t *testing.T) {
	dir := t.TempDir()
	c := newConnector(t, dir).(*Connector)
	csv := poHeader + "4500000001,10,2025-02-03,V100,DIESEL,,Diesel,1000,LTR,1500.00,EUR,1000,\n" +
		"4500000001,20,03.02.2025,V100,STEEL,331110,Coil,2,TO,2000,EUR,1000,\n"
	res, err := c.Upload("po-2025-02.csv", strings.NewReader(csv), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replaced || res.Records != 1 || res.RejectedRows != 1 || len(res.Rejected) != 1 || res.Bytes != int64(len(csv)) ||
		!slices.Equal(res.Entities, []string{"purchase_orders"}) ||
		!strings.Contains(res.Rejected[0], `purchase_orders: po-2025-02.csv line 3: order_date "03.02.2025": is not a date`) {
		t.Fatalf("upload: %+v", res)
	}
	page, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{})
	if err != nil || len(page.Records) != 1 || page.Records[0].Key != "4500000001/10" {
		t.Fatalf("the sync does not read the upload: %+v %v", page, err)
	}
	if res, err := c.Upload("po-2025-02.csv", strings.NewReader(csv), 1<<20); err != nil || !res.Replaced {
		t.Fatalf("second upload: %+v %v", res, err)
	}

	// XLSX for the GL entity.
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	for i, r := range [][]any{
		{"Document", "Line", "Posting Date", "G/L Account", "Amount", "Currency", "Quantity", "Unit", "Plant"},
		{"100000001", "1", "2025-01-31", "610000", "1234.50", "EUR", "8200", "kWh", "1000"},
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var xb bytes.Buffer
	if err := f.Write(&xb); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if res, err := c.Upload("gl-2025-01.xlsx", &xb, 1<<20); err != nil || res.Records != 1 || res.Entities[0] != "fuel_and_power" {
		t.Fatalf("xlsx upload: %+v %v", res, err)
	}
	before := dirFiles(t, dir)

	// Refused uploads name the problem and leave the directory as it was.
	for _, tc := range []struct {
		name, body string
		limit      int64
		want       string
	}{
		{"../po-1.csv", csv, 1 << 20, "is not a plain file name"},
		{"sub/po-1.csv", csv, 1 << 20, "is not a plain file name"},
		{".po-1.csv", csv, 1 << 20, "is not a plain file name"},
		{"po-1.txt", csv, 1 << 20, "is not a .csv or .xlsx file"},
		{"invoices.csv", csv, 1 << 20, "no entity reads it (their files: gl-*.xlsx, po-*.csv)"},
		{"po-3.csv", "", 1 << 20, "is empty"},
		{"po-3.csv", csv, 10, "is larger than 10 bytes"},
		{"po-3.csv", "PO Number,Item\n1,10\n", 1 << 20, `entity purchase_orders: no column "Order Date"`},
		{"gl-3.xlsx", "not a zip", 1 << 20, "entity fuel_and_power"},
		{"po-3.csv", "a,\"b\n", 1 << 20, "entity purchase_orders"},
	} {
		_, err := c.Upload(tc.name, strings.NewReader(tc.body), tc.limit)
		var fe *erp.FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != "file" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a file error containing %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "upload-") {
			t.Errorf("%s: error names the temporary file: %v", tc.name, err)
		}
	}
	if after := dirFiles(t, dir); !slices.Equal(before, after) {
		t.Fatalf("refused uploads changed the directory: %v -> %v", before, after)
	}
}

// FuzzUpload: whatever the name and content, an upload either stores
// exactly one file, named as asked, in the directory, or refuses with a
// file error and leaves the directory (and everything around it) alone.
func FuzzUpload(f *testing.F) {
	f.Add("po-1.csv", poHeader+"4500000001,10,2025-02-03,V100,DIESEL,,Diesel,1000,LTR,1500.00,EUR,1000,\n")
	f.Add("../po-1.csv", "x")
	f.Add("po-1.csv", "PO Number\n\"")
	f.Add("gl-1.xlsx", "PK\x03\x04")
	f.Fuzz(func(t *testing.T, name, body string) {
		root := t.TempDir()
		dir := filepath.Join(root, "files")
		if err := os.Mkdir(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		c := newConnector(t, dir).(*Connector)
		before := dirFiles(t, dir)
		res, err := c.Upload(name, strings.NewReader(body), 1<<16)
		after := dirFiles(t, dir)
		if err != nil {
			var fe *erp.FieldError
			if !errors.As(err, &fe) || fe.Field != "file" {
				t.Fatalf("%q: not a file error: %v", name, err)
			}
			if !slices.Equal(before, after) {
				t.Fatalf("%q refused but the directory changed: %v -> %v", name, before, after)
			}
		} else if res.File != name || !slices.Contains(after, name) || len(after) != len(before)+1 {
			t.Fatalf("%q stored as %v (before %v)", name, after, before)
		}
		if es, _ := os.ReadDir(root); len(es) != 1 {
			t.Fatalf("%q: something was written beside the directory: %v", name, es)
		}
	})
}
