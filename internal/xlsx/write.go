package xlsx

import (
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

// Writer writes one sheet of a table into an .xlsx workbook, a row at a
// time through excelize's stream writer (rows are not kept as cells in
// memory), for the dashboard's table exports. The header row is bold and
// frozen. Columns marked numeric hold number cells when the text is a
// number (a spreadsheet keeps 15 significant digits; the CSV export keeps
// every digit), text cells otherwise.
type Writer struct {
	f       *excelize.File
	sw      *excelize.StreamWriter
	numeric []bool
	row     int
}

// NewWriter starts a workbook with one sheet named sheet whose first row
// is header; numeric[i] marks column i numeric (it may be shorter than
// header).
func NewWriter(sheet string, header []string, numeric []bool) (*Writer, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: naming the sheet %q: %w", sheet, err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", cells); err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: %w", err)
	}
	return &Writer{f: f, sw: sw, numeric: numeric, row: 1}, nil
}

// Write adds a row.
func (w *Writer) Write(rec []string) error {
	w.row++
	cells := make([]any, len(rec))
	for i, v := range rec {
		cells[i] = v
		if i < len(w.numeric) && w.numeric[i] && v != "" {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				cells[i] = n
			}
		}
	}
	cell, err := excelize.CoordinatesToCellName(1, w.row)
	if err != nil {
		return fmt.Errorf("xlsx: row %d: %w", w.row, err)
	}
	if err := w.sw.SetRow(cell, cells); err != nil {
		return fmt.Errorf("xlsx: row %d: %w", w.row, err)
	}
	return nil
}

// Close finishes the workbook, writes it to out and frees it.
func (w *Writer) Close(out io.Writer) error {
	defer w.f.Close()
	if err := w.sw.Flush(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	if _, err := w.f.WriteTo(out); err != nil {
		return fmt.Errorf("xlsx: writing the workbook: %w", err)
	}
	return nil
}
