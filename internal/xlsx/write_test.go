package xlsx_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/greenlang/greenlang/internal/xlsx"
)

func TestWriterRoundTrip(t *testing.T) {
	w, err := xlsx.NewWriter("Activity", []string{"id", "quantity", "unit"}, []bool{false, true})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]string{{"a1", "1234.5", "kWh"}, {"a2", "", "l"}, {"a3", "n/a", "kg"}, {"007", "0.000001", "t"}}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := w.Close(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := xlsx.Rows(bytes.NewReader(buf.Bytes()), "Activity")
	if err != nil {
		t.Fatal(err)
	}
	want := append([][]string{{"id", "quantity", "unit"}}, rows...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows:\n got %q\nwant %q", got, want)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	isNumber := func(t excelize.CellType) bool { return t == excelize.CellTypeNumber || t == excelize.CellTypeUnset }
	for cell, number := range map[string]bool{"B2": true, "B5": true, "B4": false, "A5": false, "C2": false} {
		got, err := f.GetCellType("Activity", cell)
		if err != nil {
			t.Fatal(err)
		}
		if isNumber(got) != number {
			t.Errorf("%s is of type %v; want a number cell: %v", cell, got, number)
		}
	}
}
