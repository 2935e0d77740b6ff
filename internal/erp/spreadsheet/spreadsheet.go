// Package spreadsheet is the ERP connector for CSV and XLSX files, the
// format most customers start with: each entity reads the files matching a
// pattern, and a column-mapping file says which column holds which field
// of the unified model (README.md).
package spreadsheet

import (
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/xlsx"
)

// System is the connector's system name.
const System = "spreadsheet"

//go:embed sample.json
var sample string

// Factory returns the connector's factory.
func Factory() erp.Factory {
	return erp.Factory{System: System, Title: "CSV and XLSX files", New: New, Sample: sample}
}

// Settings are a spreadsheet connection's settings.
type Settings struct {
	// MappingFile is a YAML or JSON file of entity mappings (relative paths
	// are relative to the connection's base directory); Entities may be
	// given inline instead.
	MappingFile string                  `json:"mapping_file,omitempty"`
	Entities    map[string]EntityConfig `json:"entities,omitempty"`
}

// EntityConfig says where an entity's files are and how to read them.
type EntityConfig struct {
	// Kind is the unified model's kind the rows are: purchase_order_line,
	// gl_entry, expense_line, supplier, material.
	Kind erp.Kind `json:"kind" yaml:"kind"`
	// Files is a glob of the files, relative to the base directory
	// ("uploads/po-*.csv"). .xlsx files are read from their first sheet
	// (or Sheet), anything else as CSV.
	Files string `json:"files" yaml:"files"`
	// Columns maps each field of the kind to the header of its column
	// ("po_number": "PO No."). Fields not listed are empty.
	Columns map[string]string `json:"columns" yaml:"columns"`
	// DateFormat is a Go layout for date columns; default 2006-01-02
	// (RFC 3339 and 2006-01-02 are always accepted).
	DateFormat string `json:"date_format,omitempty" yaml:"date_format"`
	// DecimalComma reads "1.234,56" as 1234.56.
	DecimalComma bool   `json:"decimal_comma,omitempty" yaml:"decimal_comma"`
	Sheet        string `json:"sheet,omitempty" yaml:"sheet"`
	// Comma is the CSV separator; default ",".
	Comma string `json:"comma,omitempty" yaml:"comma"`
}

// Connector reads spreadsheets.
type Connector struct {
	dir      string
	entities map[string]EntityConfig
	names    []string
}

// New builds a connector: cfg.BaseURL is the directory the files are in
// (a file:// URL or a path).
func New(cfg erp.Config) (erp.Connector, error) {
	dir := strings.TrimPrefix(cfg.BaseURL, "file://")
	if dir == "" {
		return nil, fmt.Errorf("connection %s: base_url must be the directory of the files", cfg.Name)
	}
	var s Settings
	if err := cfg.DecodeSettings(&s); err != nil {
		return nil, err
	}
	ents := s.Entities
	if s.MappingFile != "" {
		p := s.MappingFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("connection %s: mapping file: %w", cfg.Name, err)
		}
		if ents, err = ParseMappingFile(b); err != nil {
			return nil, fmt.Errorf("connection %s: mapping file %s: %w", cfg.Name, p, err)
		}
	}
	if len(ents) == 0 {
		return nil, fmt.Errorf("connection %s: no entities (settings.entities or settings.mapping_file)", cfg.Name)
	}
	c := &Connector{dir: dir, entities: ents}
	for name, e := range ents {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("connection %s: entity %s: %w", cfg.Name, name, err)
		}
		c.names = append(c.names, name)
	}
	slices.Sort(c.names)
	return c, nil
}

// ParseMappingFile reads a column-mapping file: YAML (or JSON) of entity
// name to EntityConfig, refusing unknown keys.
func ParseMappingFile(b []byte) (map[string]EntityConfig, error) {
	var m map[string]EntityConfig
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	for name, e := range m {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("entity %s: %w", name, err)
		}
	}
	return m, nil
}

func (e EntityConfig) validate() error {
	fields, ok := kindFields[e.Kind]
	if !ok {
		return fmt.Errorf("kind %q is not one of purchase_order_line, gl_entry, expense_line, supplier, material", e.Kind)
	}
	if e.Files == "" {
		return errors.New("files (a glob) is required")
	}
	if _, err := filepath.Match(e.Files, ""); err != nil {
		return fmt.Errorf("files %q: %w", e.Files, err)
	}
	for f := range e.Columns {
		if !slices.Contains(fields, f) {
			return fmt.Errorf("columns: %q is not a field of %s (fields: %s)", f, e.Kind, strings.Join(fields, ", "))
		}
	}
	for _, f := range keyFields[e.Kind] {
		if e.Columns[f] == "" {
			return fmt.Errorf("columns: %s is required: it is part of the record's key", f)
		}
	}
	if len([]rune(e.Comma)) > 1 {
		return fmt.Errorf("comma %q is not one character", e.Comma)
	}
	return nil
}

// Fields of each kind a column may fill; "deleted" marks a row deleted.
var kindFields = map[erp.Kind][]string{
	erp.KindPOLine: {"po_number", "line", "order_date", "supplier_id", "supplier_name", "material", "material_group",
		"spend_category", "naics", "description", "quantity", "unit", "unit_price", "amount", "currency", "site", "status", "modified", "deleted"},
	erp.KindGLEntry: {"document_id", "line", "posting_date", "account", "account_name", "amount", "currency", "quantity", "unit",
		"cost_center", "site", "description", "modified", "deleted"},
	erp.KindExpenseLine: {"report_id", "line", "date", "employee", "expense_type", "amount", "currency", "quantity", "unit",
		"origin", "destination", "travel_class", "description", "modified", "deleted"},
	erp.KindSupplier: {"id", "name", "legal_name", "tax_id", "duns", "country", "naics", "email", "website", "blocked", "modified", "deleted"},
	erp.KindMaterial: {"id", "description", "material_group", "base_unit", "net_weight", "weight_unit", "modified", "deleted"},
}

var keyFields = map[erp.Kind][]string{
	erp.KindPOLine:      {"po_number", "line"},
	erp.KindGLEntry:     {"document_id", "line"},
	erp.KindExpenseLine: {"report_id", "line"},
	erp.KindSupplier:    {"id"},
	erp.KindMaterial:    {"id"},
}

// Entities implements erp.Connector.
func (c *Connector) Entities() []erp.Entity {
	out := make([]erp.Entity, len(c.names))
	for i, n := range c.names {
		out[i] = erp.Entity{Name: n, Kind: c.entities[n].Kind, Incremental: true}
	}
	return out
}

// Check implements erp.Connector: the directory exists and each entity's
// files have every mapped column.
func (c *Connector) Check(ctx context.Context) []erp.Step {
	var steps []erp.Step
	start := time.Now()
	st, err := os.Stat(c.dir)
	if err != nil || !st.IsDir() {
		detail := "not a directory"
		if err != nil {
			detail = err.Error()
		}
		return append(steps, erp.Step{Name: "open directory " + c.dir, Detail: detail, Elapsed: time.Since(start)})
	}
	steps = append(steps, erp.Step{Name: "open directory " + c.dir, OK: true, Elapsed: time.Since(start)})
	for _, n := range c.names {
		start := time.Now()
		files, err := c.files(n)
		step := erp.Step{Name: "read " + n}
		switch {
		case err != nil:
			step.Detail = err.Error()
		case len(files) == 0:
			step.OK, step.Detail = true, fmt.Sprintf("no file matches %s yet", c.entities[n].Files)
		default:
			_, err := c.readFile(n, files[0].path)
			if err != nil {
				step.Detail = err.Error()
			} else {
				step.OK, step.Detail = true, fmt.Sprintf("%d files; %s reads", len(files), filepath.Base(files[0].path))
			}
		}
		step.Elapsed = time.Since(start)
		steps = append(steps, step)
		if !step.OK {
			break
		}
	}
	return steps
}

type file struct {
	path string
	mod  time.Time
}

// files lists an entity's files, oldest first (then by name).
func (c *Connector) files(entity string) ([]file, error) {
	matches, err := filepath.Glob(filepath.Join(c.dir, c.entities[entity].Files))
	if err != nil {
		return nil, err
	}
	var out []file
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if st.Mode().IsRegular() {
			out = append(out, file{path: m, mod: st.ModTime().UTC()})
		}
	}
	slices.SortFunc(out, func(a, b file) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	return out, nil
}

// cursor is a page position: the files of a run are those modified after
// Since and at or before Until (the run's start), read one per page.
type cursor struct {
	Until time.Time `json:"until"`
	Next  string    `json:"next"` // path of the next file to read
}

// Fetch implements erp.Connector: one file per page. The watermark is the
// modification time of the newest file read; an incremental sync reads
// the files modified after it.
func (c *Connector) Fetch(ctx context.Context, entity string, req erp.PageRequest) (erp.Page, error) {
	if _, ok := c.entities[entity]; !ok {
		return erp.Page{}, fmt.Errorf("spreadsheet: no entity %q", entity)
	}
	var since time.Time
	if req.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, req.Since)
		if err != nil {
			return erp.Page{}, fmt.Errorf("spreadsheet: watermark %q: %w", req.Since, err)
		}
		since = t
	}
	cur := cursor{Until: time.Now().UTC()}
	if req.Cursor != "" {
		if err := json.Unmarshal([]byte(req.Cursor), &cur); err != nil {
			return erp.Page{}, fmt.Errorf("spreadsheet: cursor: %w", err)
		}
	}
	all, err := c.files(entity)
	if err != nil {
		return erp.Page{}, err
	}
	var todo []file
	for _, f := range all {
		if f.mod.After(since) && !f.mod.After(cur.Until) {
			todo = append(todo, f)
		}
	}
	start := 0
	if cur.Next != "" {
		start = slices.IndexFunc(todo, func(f file) bool { return f.path == cur.Next })
		if start < 0 {
			return erp.Page{}, fmt.Errorf("spreadsheet: file %s, where the sync stopped, is gone or changed", cur.Next)
		}
	}
	if start >= len(todo) {
		return erp.Page{Watermark: req.Since}, nil
	}
	f := todo[start]
	page, err := c.readFile(entity, f.path)
	if err != nil {
		return erp.Page{}, err
	}
	if start+1 < len(todo) {
		b, _ := json.Marshal(cursor{Until: cur.Until, Next: todo[start+1].path})
		page.Next = string(b)
	} else {
		page.Watermark = f.mod.Format(time.RFC3339Nano)
	}
	return page, nil
}

// readFile reads one file of an entity into a page: a row that cannot be
// read is rejected naming its file, line and column.
func (c *Connector) readFile(entity, path string) (erp.Page, error) {
	page, err := c.parseFile(entity, path, filepath.Base(path))
	if err != nil {
		return erp.Page{}, fmt.Errorf("spreadsheet: %s: %w", filepath.Base(path), err)
	}
	return page, nil
}

// parseFile reads the file at path as one of entity's files, called name
// in the reasons of the rows it rejects (an upload is read under a
// temporary path).
func (c *Connector) parseFile(entity, path, name string) (erp.Page, error) {
	e := c.entities[entity]
	rows, err := readRows(path, e)
	if err != nil {
		return erp.Page{}, err
	}
	if len(rows) == 0 {
		return erp.Page{}, errors.New("no header row")
	}
	header := map[string]int{}
	for i, h := range rows[0] {
		header[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	col := map[string]int{}
	for _, field := range kindFields[e.Kind] {
		column, mapped := e.Columns[field]
		if !mapped {
			continue
		}
		i, ok := header[strings.ToLower(strings.TrimSpace(column))]
		if !ok {
			return erp.Page{}, fmt.Errorf("no column %q (mapped to %s)", column, field)
		}
		col[field] = i
	}
	var page erp.Page
	for n, rec := range rows[1:] {
		line := n + 2
		if isBlank(rec) {
			continue
		}
		vals := map[string]string{}
		for f, i := range col {
			if i < len(rec) {
				vals[f] = strings.TrimSpace(rec[i])
			}
		}
		raw, _ := json.Marshal(vals)
		r, err := buildRecord(e, vals)
		if err == nil {
			err = r.Validate()
		}
		if err != nil {
			page.Rejected = append(page.Rejected, erp.Rejected{Key: keyOf(e.Kind, vals),
				Reason: fmt.Sprintf("%s line %d: %v", name, line, err), Raw: raw})
			continue
		}
		r.Original = raw
		page.Records = append(page.Records, r)
	}
	return page, nil
}

func isBlank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func readRows(path string, e EntityConfig) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strings.EqualFold(filepath.Ext(path), ".xlsx") {
		return xlsx.Rows(f, e.Sheet)
	}
	r := csv.NewReader(io.LimitReader(f, 1<<30))
	r.FieldsPerRecord = -1
	if e.Comma != "" {
		r.Comma = []rune(e.Comma)[0]
	}
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func keyOf(k erp.Kind, vals map[string]string) string {
	var parts []string
	for _, f := range keyFields[k] {
		parts = append(parts, vals[f])
	}
	return strings.Join(parts, "/")
}

// fieldError names the column's field and value.
func fieldError(field, value, reason string) error {
	return &erp.FieldError{Field: field, Value: value, Reason: reason}
}

type reader struct {
	e    EntityConfig
	vals map[string]string
	err  error
}

func (r *reader) str(f string) string { return r.vals[f] }

func (r *reader) dec(f string) decimal.Decimal {
	d, _ := r.nullDec(f)
	return d
}

func (r *reader) nullDec(f string) (decimal.Decimal, bool) {
	v := r.vals[f]
	if v == "" || r.err != nil {
		return decimal.Zero, false
	}
	s := v
	if r.e.DecimalComma {
		s = strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ",", ".")
	} else {
		s = strings.ReplaceAll(s, ",", "")
	}
	d, err := decimal.NewFromString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		r.err = fieldError(f, v, "is not a number")
		return decimal.Zero, false
	}
	return d, true
}

func (r *reader) date(f string) time.Time {
	v := r.vals[f]
	if v == "" || r.err != nil {
		return time.Time{}
	}
	layouts := []string{time.RFC3339, time.DateOnly}
	if r.e.DateFormat != "" {
		layouts = append([]string{r.e.DateFormat}, layouts...)
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC()
		}
	}
	r.err = fieldError(f, v, "is not a date ("+strings.Join(layouts, ", ")+")")
	return time.Time{}
}

func (r *reader) bool(f string) bool {
	v := strings.ToLower(r.vals[f])
	switch v {
	case "", "0", "false", "no", "n":
		return false
	case "1", "true", "yes", "y", "x":
		return true
	}
	if r.err == nil {
		r.err = fieldError(f, r.vals[f], "is not true or false")
	}
	return false
}

func (r *reader) currency(f string) string { return strings.ToUpper(r.vals[f]) }

func (r *reader) nullable(f string) decimal.NullDecimal {
	d, ok := r.nullDec(f)
	return decimal.NullDecimal{Decimal: d, Valid: ok}
}

func buildRecord(e EntityConfig, vals map[string]string) (erp.Record, error) {
	r := &reader{e: e, vals: vals}
	rec := erp.Record{Kind: e.Kind, Key: keyOf(e.Kind, vals), Modified: r.date("modified"), Deleted: r.bool("deleted")}
	switch e.Kind {
	case erp.KindPOLine:
		rec.POLine = &erp.POLine{PONumber: r.str("po_number"), Line: r.str("line"), OrderDate: r.date("order_date"),
			SupplierID: r.str("supplier_id"), SupplierName: r.str("supplier_name"), Material: r.str("material"),
			MaterialGroup: r.str("material_group"), SpendCategory: r.str("spend_category"), NAICS: r.str("naics"),
			Description: r.str("description"), Quantity: r.dec("quantity"), Unit: r.str("unit"), UnitPrice: r.dec("unit_price"),
			Amount: r.dec("amount"), Currency: r.currency("currency"), Site: r.str("site"), Status: r.str("status")}
	case erp.KindGLEntry:
		rec.GLEntry = &erp.GLEntry{DocumentID: r.str("document_id"), Line: r.str("line"), PostingDate: r.date("posting_date"),
			Account: r.str("account"), AccountName: r.str("account_name"), Amount: r.dec("amount"), Currency: r.currency("currency"),
			Quantity: r.nullable("quantity"), Unit: r.str("unit"), CostCenter: r.str("cost_center"), Site: r.str("site"),
			Description: r.str("description")}
	case erp.KindExpenseLine:
		rec.Expense = &erp.ExpenseLine{ReportID: r.str("report_id"), Line: r.str("line"), Date: r.date("date"),
			Employee: r.str("employee"), ExpenseType: r.str("expense_type"), Amount: r.dec("amount"), Currency: r.currency("currency"),
			Quantity: r.nullable("quantity"), Unit: r.str("unit"), Origin: r.str("origin"), Destination: r.str("destination"),
			TravelClass: r.str("travel_class"), Description: r.str("description")}
	case erp.KindSupplier:
		rec.Supplier = &erp.Supplier{ID: r.str("id"), Name: r.str("name"), LegalName: r.str("legal_name"), TaxID: r.str("tax_id"),
			DUNS: r.str("duns"), Country: strings.ToUpper(r.str("country")), NAICS: r.str("naics"), Email: r.str("email"),
			Website: r.str("website"), Blocked: r.bool("blocked")}
	case erp.KindMaterial:
		rec.Material = &erp.Material{ID: r.str("id"), Description: r.str("description"), MaterialGroup: r.str("material_group"),
			BaseUnit: r.str("base_unit"), NetWeight: r.dec("net_weight"), WeightUnit: r.str("weight_unit")}
	}
	if r.err != nil {
		return rec, r.err
	}
	if rec.Deleted {
		// A deletion needs only its key.
		rec.Supplier, rec.Material, rec.POLine, rec.GLEntry, rec.Expense = nil, nil, nil, nil, nil
	}
	return rec, nil
}
