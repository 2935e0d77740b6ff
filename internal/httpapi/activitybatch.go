package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/activityfile"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/store"
)

// MaxActivityRecords is how many records one POST /api/v1/activity-records
// may carry; larger sets go as an activity file.
const MaxActivityRecords = 10000

// activityRecordsRequest is a batch of activity records over JSON: each
// record has the activity file's columns (docs/activity-file.md) as keys,
// with strings or numbers as values.
type activityRecordsRequest struct {
	// GWP is the GWP set (default AR6).
	GWP     string                       `json:"gwp,omitempty"`
	Records []map[string]json.RawMessage `json:"records" jsonschema:"minItems=1,maxItems=10000"`
}

// activityRecordsCreate answers POST /api/v1/activity-records: one record
// or a batch, calculated with the organization's factors and stored as one
// calculation run exactly as an activity file is (201); records refused are
// listed by index with a field path (records[2].unit) and not stored. A
// batch with nothing to store is 422 and stores nothing; the same batch
// again is 409 (its input hash is stored).
func (a *api) activityRecordsCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req activityRecordsRequest
	if err := decodeBodyMax(w, r, &req, a.maxUpload); err != nil {
		return err
	}
	gwp, err := gwpSet(req.GWP)
	if err != nil {
		return err
	}
	opts := calculation.Options{GWPSet: gwp, Format: calculation.FormatCSV}
	body, err := recordsCSV(req.Records)
	if err != nil {
		return err
	}
	return a.ingest(w, r, tok, body, opts, "record", func(e activityRowError) activityRowError {
		// The CSV has a header line and one line per record, in order.
		i := e.Line - 2
		e.Index, e.Line = &i, 0
		if e.Column != "" {
			e.Field = fmt.Sprintf("records[%d].%s", i, e.Column)
		}
		return e
	})
}

// recordsCSV writes JSON activity records as an activity file: a header of
// the columns the records use, in the documented order, then one line per
// record. A key that is not a column, or a value that is not a string or a
// number, is a 400 naming the record and key.
func recordsCSV(records []map[string]json.RawMessage) ([]byte, error) {
	switch {
	case len(records) == 0:
		return nil, badRequest("records", "records is empty: send at least one activity record")
	case len(records) > MaxActivityRecords:
		return nil, badRequest("records", "%d records: at most %d in one request; send more as an activity file (POST /api/v1/activity-files)", len(records), MaxActivityRecords)
	}
	columns := activityfile.Columns()
	used := map[string]bool{}
	for _, c := range activityfile.Required() {
		used[c] = true // a record lacking one is refused by name, not the batch
	}
	values := make([]map[string]string, len(records))
	for i, rec := range records {
		values[i] = make(map[string]string, len(rec))
		for key, raw := range rec {
			field := fmt.Sprintf("records[%d].%s", i, key)
			col := strings.ToLower(key)
			if !slices.Contains(columns, col) {
				return nil, badRequest(field, "unknown field %q: an activity record has %s", key, strings.Join(columns, ", "))
			}
			v, err := recordValue(raw)
			if err != nil {
				return nil, badRequest(field, "%s: %v", field, err)
			}
			if strings.ContainsAny(v, "\r\n") {
				return nil, badRequest(field, "%s: a value must not contain a line break", field)
			}
			if _, dup := values[i][col]; dup {
				return nil, badRequest(field, "%s: %s is given twice (keys are case-insensitive)", field, col)
			}
			values[i][col] = v
			used[col] = true
		}
	}
	header := slices.DeleteFunc(slices.Clone(columns), func(c string) bool { return !used[c] })
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write(header)
	row := make([]string, len(header))
	for _, vs := range values {
		for j, c := range header {
			row[j] = vs[c]
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return b.Bytes(), cw.Error()
}

// recordValue is a JSON value as activity-file text: a string as it is, a
// number as written (exact: never through a float), null as empty.
func recordValue(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case bytes.Equal(raw, []byte("null")):
		return "", nil
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'):
		if _, err := decimal.NewFromString(string(raw)); err != nil {
			return "", fmt.Errorf("the number %s cannot be read exactly", raw)
		}
		return string(raw), nil
	}
	return "", fmt.Errorf("want a string or a number, not %s", raw)
}

// recalcRequest starts a recalculation of the organization's stored
// results (POST /api/v1/calculation-runs).
type recalcRequest struct {
	// Reason is why (a new factor edition, a GWP change, a corrected
	// factor); required, recorded with the run and the restatement.
	Reason string `json:"reason"`
	// GWP is the GWP set to recalculate with (default AR6).
	GWP string `json:"gwp,omitempty"`
	// From and To bound the results recalculated by period start (dates or
	// RFC 3339 times); absent: all.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// ThresholdPct is the base-year significance threshold (default 5).
	ThresholdPct *decimal.Decimal `json:"threshold_pct,omitempty"`
	// DryRun computes the restatement without storing anything.
	DryRun bool `json:"dry_run,omitempty"`
}

// runCreate answers POST /api/v1/calculation-runs: the organization's
// current results recalculated with its factors (pinned set and overrides)
// and the GWP set asked for. Results that changed are superseded by a new
// run (201, with run_id); a dry run, or a recalculation that changed
// nothing, stores nothing (200). The answer carries the restatement.
func (a *api) runCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req recalcRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return invalid("reason", "reason is required: it is recorded with the run and the restatement")
	}
	gwp, err := gwpSet(req.GWP)
	if err != nil {
		return err
	}
	o := calculation.RecalcOptions{Options: calculation.Options{GWPSet: gwp}, Reason: req.Reason, DryRun: req.DryRun}
	if req.From != "" {
		if o.Filter.From, err = parseInstant("from", req.From); err != nil {
			return err
		}
	}
	if req.To != "" {
		if o.Filter.To, err = parseInstant("to", req.To); err != nil {
			return err
		}
	}
	if !o.Filter.From.IsZero() && !o.Filter.To.IsZero() && !o.Filter.To.After(o.Filter.From) {
		return invalid("to", "to must be after from")
	}
	if req.ThresholdPct != nil {
		if !req.ThresholdPct.IsPositive() {
			return invalid("threshold_pct", "threshold_pct must be a positive percentage, not %s", req.ThresholdPct)
		}
		o.ThresholdPct = *req.ThresholdPct
	}
	svc, of, err := a.services.ForOrganization(r.Context(), a.st, tok.OrgID)
	if err != nil {
		return err
	}
	of.ApplyPin(&o.Options)
	rc, err := svc.Recalculate(r.Context(), a.st, tok.OrgID, o, time.Now())
	if err != nil {
		return err
	}
	if rc.Errors == nil {
		rc.Errors = []calculation.RecalcError{}
	}
	status := http.StatusOK
	if rc.RunID != uuid.Nil {
		status = http.StatusCreated
	}
	writeJSON(w, status, rc)
	return nil
}
