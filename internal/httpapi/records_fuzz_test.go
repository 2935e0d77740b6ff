package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzRecordsCSV feeds arbitrary JSON to the activity-records reader: it
// never panics, and a batch it accepts becomes a CSV file with one line
// per record that reads back to exactly the values given.
func FuzzRecordsCSV(f *testing.F) {
	f.Add(`{"records":[{"activity_type":"diesel","quantity":12.5,"unit":"l","period_start":"2025-01-01"}]}`)
	f.Add(`{"records":[{"ACTIVITY_TYPE":"x","quantity":"1e3","unit":"kg","period_start":"2025-01-01","site":null},{"activity_type":"y, \"z\"","quantity":-0,"unit":"t","period_start":"x"}]}`)
	f.Add(`{"records":[{"colour":"red"}]}`)
	f.Add(`{"records":[{"quantity":true}]}`)
	f.Add(`{"records":[{"quantity":"1\n2"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req activityRecordsRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			return
		}
		out, err := recordsCSV(req.Records)
		if err != nil {
			return
		}
		rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV made of %s does not read: %v\n%s", body, err, out)
		}
		if len(rows) != len(req.Records)+1 {
			t.Fatalf("%d records became %d lines (header included)", len(req.Records), len(rows))
		}
		for i, rec := range req.Records {
			for key, raw := range rec {
				want, err := recordValue(raw)
				if err != nil {
					t.Fatalf("accepted a value it cannot read: %s", raw)
				}
				col := -1
				for j, h := range rows[0] {
					if h == strings.ToLower(key) {
						col = j
					}
				}
				if col < 0 || rows[i+1][col] != want {
					t.Fatalf("record %d, %s: the CSV holds %q, want %q", i, key, rows[i+1], want)
				}
			}
		}
	})
}
