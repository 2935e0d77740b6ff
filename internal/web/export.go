package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"

	"github.com/greenlang/greenlang/internal/xlsx"
)

// Table exports (docs/dashboard.md, "Exports"): a page's table as CSV
// (exact text: decimals keep every digit) or XLSX (number cells), chosen
// by ?format=csv|xlsx on the page's own URL with its filters.

// exportTable describes one exported table.
type exportTable struct {
	// Name is the file name without extension and the XLSX sheet's name.
	Name    string
	Header  []string
	Numeric []bool
}

// exportFormat reads ?format=: "" (the page), csv or xlsx; ok is false
// (and the page answered) for another value.
func (s *Site) exportFormat(w http.ResponseWriter, r *http.Request, sess *session) (format string, ok bool) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "csv", "xlsx":
		return f, true
	default:
		s.errorPage(w, r, sess, http.StatusBadRequest, fmt.Sprintf("format %q: export as csv or xlsx.", f))
		return "", false
	}
}

// export writes the rows rows yields as format (csv or xlsx). The XLSX
// workbook is built whole before anything is sent, so a failure is still
// an error page; a CSV streams.
func (s *Site) export(w http.ResponseWriter, format string, t exportTable, rows func(emit func([]string) error) error) error {
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+t.Name+`.csv"`)
		cw := csv.NewWriter(w)
		if err := cw.Write(t.Header); err != nil {
			return err
		}
		if err := rows(cw.Write); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	case "xlsx":
		xw, err := xlsx.NewWriter(t.Name, t.Header, t.Numeric)
		if err != nil {
			return err
		}
		if err := rows(xw.Write); err != nil {
			_ = xw.Close(io.Discard) // frees the workbook
			return err
		}
		var buf bytes.Buffer
		if err := xw.Close(&buf); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", `attachment; filename="`+t.Name+`.xlsx"`)
		_, err = w.Write(buf.Bytes())
		return err
	}
	return fmt.Errorf("web: export format %q", format)
}

// exportLinks are a page's export URLs: its own query with format set.
type exportLinks struct{ CSV, XLSX string }

// exportsOf is the request page's export links, its query changed by
// edits: key, value pairs, an empty value removing the key (a page's
// cursor, say).
func exportsOf(r *http.Request, edits ...string) exportLinks {
	q := r.URL.Query()
	for i := 0; i+1 < len(edits); i += 2 {
		if edits[i+1] == "" {
			q.Del(edits[i])
		} else {
			q.Set(edits[i], edits[i+1])
		}
	}
	link := func(f string) string {
		q.Set("format", f)
		return r.URL.Path + "?" + q.Encode()
	}
	return exportLinks{CSV: link("csv"), XLSX: link("xlsx")}
}
