// Package xlsx reads one sheet of an .xlsx workbook as rows of cell text,
// for the importers and the activity-file reader, which all parse rows and
// never need more of the workbook.
package xlsx

import (
	"errors"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// MaxBytes bounds the workbook read: an .xlsx is a zip, read whole.
const MaxBytes = 256 << 20

// Rows returns the rows of sheet, or of the first sheet when sheet is "".
// Errors say whether the file is not a workbook or lacks the sheet, and list
// the sheets it has.
func Rows(r io.Reader, sheet string) ([][]string, error) {
	f, err := excelize.OpenReader(io.LimitReader(r, MaxBytes))
	if err != nil {
		return nil, fmt.Errorf("not a readable .xlsx workbook: %w", err)
	}
	defer f.Close()
	if sheet == "" {
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, errors.New("the workbook has no sheet")
		}
		sheet = sheets[0]
	}
	rows, err := f.GetRows(sheet)
	if err != nil {
		return nil, fmt.Errorf("sheet %q: %w (sheets: %v)", sheet, err, f.GetSheetList())
	}
	return rows, nil
}
