// Package erp is GreenLang's ERP integration: the one normalized model every
// connector maps into, the connector contract, tenant mappings from ERP
// records to activity data, and the sync engine that runs a connector
// against a stored connection (docs/erp.md).
//
// A connector (one package each under internal/erp: sap, oracle, workday,
// dynamics, netsuite, spreadsheet) turns a vendor's API into pages of
// [Record]s. It knows nothing of the store: the sync engine keeps the
// watermarks, upserts the records, quarantines the bad ones and turns the
// mapped ones into activity data.
package erp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/text/currency"

	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// Kind is the kind of a normalized record.
type Kind string

// The kinds of the unified model.
const (
	KindSupplier    Kind = "supplier"
	KindPOLine      Kind = "purchase_order_line"
	KindGLEntry     Kind = "gl_entry"
	KindExpenseLine Kind = "expense_line"
	KindMaterial    Kind = "material"
	KindWorker      Kind = "worker"
)

// Kinds lists every kind, in a stable order.
func Kinds() []Kind {
	return []Kind{KindSupplier, KindMaterial, KindPOLine, KindGLEntry, KindExpenseLine, KindWorker}
}

// Record is one normalized record: exactly one of the typed parts is set,
// the one its Kind names. Original keeps what the source sent, for lineage.
type Record struct {
	Kind Kind `json:"kind"`
	// Key identifies the record within its connection and kind, stably
	// across syncs: the source's document id, and for a line of a document
	// "<document>/<line>" (purchase order 4500000123 item 10:
	// "4500000123/10").
	Key string `json:"key"`
	// Modified is when the source last changed the record; zero when the
	// source does not say.
	Modified time.Time `json:"modified,omitzero"`
	// Deleted marks a record the source reports deleted or cancelled. Its
	// activity data, if any, is reversed. A deleted purchase_order_line
	// whose Key is a document id alone (no "/") deletes every line of that
	// document: sources that report a whole order deleted (NetSuite's
	// DeletedRecord, Business Central's @removed) do not list its lines.
	Deleted bool `json:"deleted,omitempty"`

	Supplier *Supplier    `json:"supplier,omitempty"`
	Material *Material    `json:"material,omitempty"`
	POLine   *POLine      `json:"po_line,omitempty"`
	GLEntry  *GLEntry     `json:"gl_entry,omitempty"`
	Expense  *ExpenseLine `json:"expense,omitempty"`
	Worker   *Worker      `json:"worker,omitempty"`

	// Original is the source's record as received: its JSON object, or for
	// XML sources the element as a JSON string.
	Original json.RawMessage `json:"original,omitempty"`
}

// Supplier is a vendor or business partner.
type Supplier struct {
	ID        string `json:"id"` // the source's supplier number
	Name      string `json:"name"`
	LegalName string `json:"legal_name,omitempty"`
	TaxID     string `json:"tax_id,omitempty"` // VAT or tax registration number
	DUNS      string `json:"duns,omitempty"`
	Country   string `json:"country,omitempty"` // ISO 3166-1 alpha-2
	NAICS     string `json:"naics,omitempty"`
	Email     string `json:"email,omitempty"`
	Website   string `json:"website,omitempty"`
	Blocked   bool   `json:"blocked,omitempty"`
}

// Material is an item of the material (product) master.
type Material struct {
	ID            string          `json:"id"`
	Description   string          `json:"description,omitempty"`
	MaterialGroup string          `json:"material_group,omitempty"`
	BaseUnit      string          `json:"base_unit,omitempty"`
	NetWeight     decimal.Decimal `json:"net_weight,omitzero"`
	WeightUnit    string          `json:"weight_unit,omitempty"`
}

// POLine is one line of a purchase order, with the order's header fields it
// needs on its own.
type POLine struct {
	PONumber      string          `json:"po_number"`
	Line          string          `json:"line"`
	OrderDate     time.Time       `json:"order_date"`
	SupplierID    string          `json:"supplier_id,omitempty"`
	SupplierName  string          `json:"supplier_name,omitempty"`
	Material      string          `json:"material,omitempty"`
	MaterialGroup string          `json:"material_group,omitempty"`
	SpendCategory string          `json:"spend_category,omitempty"`
	NAICS         string          `json:"naics,omitempty"`
	Description   string          `json:"description,omitempty"`
	Quantity      decimal.Decimal `json:"quantity"`
	Unit          string          `json:"unit,omitempty"`
	UnitPrice     decimal.Decimal `json:"unit_price,omitzero"`
	Amount        decimal.Decimal `json:"amount"` // net line amount in Currency
	Currency      string          `json:"currency"`
	Site          string          `json:"site,omitempty"` // plant or location code
	Status        string          `json:"status,omitempty"`
}

// GLEntry is one line of a general-ledger (journal) entry.
type GLEntry struct {
	DocumentID  string              `json:"document_id"`
	Line        string              `json:"line"`
	PostingDate time.Time           `json:"posting_date"`
	Account     string              `json:"account"`
	AccountName string              `json:"account_name,omitempty"`
	Amount      decimal.Decimal     `json:"amount"` // debit positive
	Currency    string              `json:"currency"`
	Quantity    decimal.NullDecimal `json:"quantity,omitzero"` // consumption, when the ledger keeps it
	Unit        string              `json:"unit,omitempty"`
	CostCenter  string              `json:"cost_center,omitempty"`
	Site        string              `json:"site,omitempty"`
	Description string              `json:"description,omitempty"`
}

// ExpenseLine is one line of an employee expense report.
type ExpenseLine struct {
	ReportID    string              `json:"report_id"`
	Line        string              `json:"line"`
	Date        time.Time           `json:"date"`
	Employee    string              `json:"employee,omitempty"`
	ExpenseType string              `json:"expense_type"` // the source's item: AIRFARE, HOTEL, …
	Amount      decimal.Decimal     `json:"amount"`
	Currency    string              `json:"currency"`
	Quantity    decimal.NullDecimal `json:"quantity,omitzero"` // distance, nights, …
	Unit        string              `json:"unit,omitempty"`
	Origin      string              `json:"origin,omitempty"`      // IATA airport or place
	Destination string              `json:"destination,omitempty"` // IATA airport or place
	TravelClass string              `json:"travel_class,omitempty"`
	Description string              `json:"description,omitempty"`
}

// Worker is an employee (headcount for intensity metrics; commuting).
type Worker struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Location string `json:"location,omitempty"`
	Country  string `json:"country,omitempty"`
	Active   bool   `json:"active"`
}

// FieldError is a record refused for one field.
type FieldError struct {
	Field  string
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// Validate checks that the record has what its kind needs. A deleted record
// needs only its kind and key.
func (r *Record) Validate() error {
	if r.Key == "" {
		return &FieldError{Field: "key", Reason: "is empty"}
	}
	parts := 0
	for _, set := range []bool{r.Supplier != nil, r.Material != nil, r.POLine != nil, r.GLEntry != nil, r.Expense != nil, r.Worker != nil} {
		if set {
			parts++
		}
	}
	if r.Deleted && parts == 0 {
		return nil
	}
	if parts != 1 {
		return &FieldError{Field: "kind", Value: string(r.Kind), Reason: fmt.Sprintf("a record has exactly one part, this one %d", parts)}
	}
	switch r.Kind {
	case KindSupplier:
		if r.Supplier == nil {
			break
		}
		return firstErr(required("supplier.id", r.Supplier.ID), required("supplier.name", r.Supplier.Name))
	case KindMaterial:
		if r.Material == nil {
			break
		}
		return required("material.id", r.Material.ID)
	case KindPOLine:
		l := r.POLine
		if l == nil {
			break
		}
		return firstErr(required("po_line.po_number", l.PONumber), required("po_line.line", l.Line),
			date("po_line.order_date", l.OrderDate), checkCurrency("po_line.currency", l.Currency))
	case KindGLEntry:
		g := r.GLEntry
		if g == nil {
			break
		}
		return firstErr(required("gl_entry.document_id", g.DocumentID), required("gl_entry.account", g.Account),
			date("gl_entry.posting_date", g.PostingDate), checkCurrency("gl_entry.currency", g.Currency))
	case KindExpenseLine:
		e := r.Expense
		if e == nil {
			break
		}
		return firstErr(required("expense.report_id", e.ReportID), required("expense.expense_type", e.ExpenseType),
			date("expense.date", e.Date), checkCurrency("expense.currency", e.Currency))
	case KindWorker:
		if r.Worker == nil {
			break
		}
		return required("worker.id", r.Worker.ID)
	default:
		return &FieldError{Field: "kind", Value: string(r.Kind), Reason: "is not a kind of the unified model"}
	}
	return &FieldError{Field: "kind", Value: string(r.Kind), Reason: "does not match the part the record carries"}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return &FieldError{Field: field, Reason: "is required"}
	}
	return nil
}

func date(field string, t time.Time) error {
	if t.IsZero() {
		return &FieldError{Field: field, Reason: "is required"}
	}
	return nil
}

// checkCurrency refuses what is not an ISO 4217 code.
func checkCurrency(field, code string) error {
	if code == "" {
		return &FieldError{Field: field, Reason: "is required"}
	}
	if _, err := currency.ParseISO(code); err != nil || len(code) != 3 || strings.ToUpper(code) != code {
		return &FieldError{Field: field, Value: code, Reason: "is not an ISO 4217 currency code"}
	}
	return nil
}

// Entity is one collection a connector reads (purchase orders, suppliers, …).
type Entity struct {
	Name string // the connector's name for it, used in CLI and watermarks: "purchase_orders"
	Kind Kind   // the kind of records it yields
	// Incremental is true when the source can filter by change time or
	// delta token; otherwise every sync reads everything.
	Incremental bool
}

// PageRequest asks a connector for one page.
type PageRequest struct {
	// Since is the watermark of the last successful sync of the entity, as
	// a page's Watermark returned it; "" reads everything (a full sync).
	Since string
	// Cursor is the Next of the page before; "" asks for the first page.
	Cursor string
	// PageSize is the records wanted per page; 0 lets the connector choose.
	PageSize int
}

// Page is one page of an entity.
type Page struct {
	Records []Record
	// Rejected are the page's records the connector could not normalize
	// (a missing field, a value it cannot read). The sync engine
	// quarantines them with their reason; the rest of the page is kept.
	Rejected []Rejected
	// Next is the cursor of the next page, "" on the last page. It must let
	// a later process resume: it is stored after the page is.
	Next string
	// Watermark, on the last page, is where the next incremental sync of
	// the entity starts. Empty: the engine uses the latest Modified of the
	// run's records (RFC 3339), or keeps the previous watermark.
	Watermark string
}

// Rejected is a record a connector or the engine could not use.
type Rejected struct {
	Key    string          // the record's key when known
	Reason string          // what is wrong, naming the field
	Raw    json.RawMessage // what the source sent (JSON; XML as a JSON string)
}

// Step is one step of a connection test.
type Step struct {
	Name    string        `json:"name"` // "resolve base URL", "fetch OAuth token", "read purchase orders", …
	OK      bool          `json:"ok"`
	Detail  string        `json:"detail,omitempty"` // what was found, or why the step failed
	Elapsed time.Duration `json:"elapsed"`
}

// Connector reads one ERP system. Implementations are safe for concurrent
// use by different entities.
type Connector interface {
	// Entities lists what the connector can sync.
	Entities() []Entity
	// Check tests the connection step by step (reach the server,
	// authenticate, read one record of each entity), stopping at the first
	// step that fails, which names what went wrong. It never returns or
	// logs credentials.
	Check(ctx context.Context) []Step
	// Fetch reads one page of an entity. An error means the page could not
	// be read at all (after the HTTP layer's retries); records the page
	// holds but cannot normalize are Rejected instead.
	Fetch(ctx context.Context, entity string, req PageRequest) (Page, error)
}

// JournalEntry is a carbon-accounting entry posted back to an ERP.
type JournalEntry struct {
	CompanyCode string
	PostingDate time.Time
	Reference   string // the GreenLang run or period it books
	Lines       []JournalLine
}

// JournalLine is one line of a JournalEntry.
type JournalLine struct {
	Account    string
	CostCenter string
	Amount     decimal.Decimal // signed: debit positive
	Currency   string
	Quantity   decimal.Decimal // kg CO2e
	Text       string
}

// Validate refuses an entry no ledger would take, naming the field: a
// missing company code, reference or posting date, a line without an
// account or with a currency that is not ISO 4217, amounts that do not
// balance per currency, fewer than two lines.
func (e JournalEntry) Validate() error {
	switch {
	case strings.TrimSpace(e.CompanyCode) == "":
		return &FieldError{Field: "company_code", Reason: "is required"}
	case strings.TrimSpace(e.Reference) == "":
		return &FieldError{Field: "reference", Reason: "is required (it keeps the entry from being posted twice)"}
	case len(e.Reference) > 64:
		return &FieldError{Field: "reference", Reason: "is longer than 64 characters"}
	case e.PostingDate.IsZero():
		return &FieldError{Field: "posting_date", Reason: "is required"}
	}
	sums := map[string]decimal.Decimal{}
	var currencies []string
	for i, l := range e.Lines {
		where := fmt.Sprintf("lines[%d]", i)
		if strings.TrimSpace(l.Account) == "" {
			return &FieldError{Field: where + ".account", Reason: "is required"}
		}
		if err := checkCurrency(where+".currency", l.Currency); err != nil {
			return err
		}
		if _, ok := sums[l.Currency]; !ok {
			currencies = append(currencies, l.Currency)
		}
		sums[l.Currency] = sums[l.Currency].Add(l.Amount)
	}
	for _, cur := range currencies {
		if !sums[cur].IsZero() {
			return &FieldError{Field: "lines", Reason: fmt.Sprintf("the amounts in %s do not balance: debits and credits sum to %s", cur, sums[cur])}
		}
	}
	if len(e.Lines) < 2 {
		return &FieldError{Field: "lines", Reason: fmt.Sprintf("an entry needs at least two lines (a debit and a credit); it has %d", len(e.Lines))}
	}
	return nil
}

// JournalPoster is implemented by connectors that can post journal entries
// back to their system (SAP).
type JournalPoster interface {
	PostJournal(ctx context.Context, e JournalEntry) (documentID string, err error)
}

// Uploader is implemented by connectors whose source is files handed to
// the platform (spreadsheet): Upload checks a file and stores it where the
// next sync reads it.
type Uploader interface {
	Upload(name string, r io.Reader, limit int64) (UploadResult, error)
}

// UploadResult is what an upload stored.
type UploadResult struct {
	File         string   `json:"file"`
	Entities     []string `json:"entities"` // the entities that read it
	Replaced     bool     `json:"replaced"` // a file of that name was there before
	Bytes        int64    `json:"bytes"`
	Records      int      `json:"records"`  // rows that read as records
	Rejected     []string `json:"rejected"` // rows that will be quarantined, with the reason (the first 100)
	RejectedRows int      `json:"rejected_rows"`
}

// Config is what a connector is built from: one stored connection.
type Config struct {
	Name        string            // connection name, for errors, logs and metrics
	BaseURL     string            // the API's root (for the spreadsheet connector: a directory or file)
	AuthType    string            // connector-specific: oauth2, basic, tba, …
	Credentials map[string]string // connector-specific keys; never logged
	Settings    json.RawMessage   // connector-specific settings (JSON object), nil for none
	// HTTP tunes retries, timeouts, breaker and rate limit.
	HTTP erphttp.Config
	// Transport sends the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	Log       *slog.Logger
	// SaveCredentials stores credentials the system changed under the
	// connector (Workday's token endpoint rotating the refresh token and
	// revoking the old one), so the next run starts from them; nil keeps
	// the change for this connector's life only.
	SaveCredentials func(ctx context.Context, changes map[string]string) error
}

// Logger returns c.Log or a logger that discards.
func (c Config) Logger() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// DecodeSettings decodes c.Settings into v, refusing unknown keys so a typo
// in a configuration is an error, not a silently ignored setting.
func (c Config) DecodeSettings(v any) error {
	if len(c.Settings) == 0 || string(c.Settings) == "null" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(c.Settings)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("connection %s: settings: %w", c.Name, err)
	}
	return nil
}

// Credential returns the credential key, or an error naming it when absent.
func (c Config) Credential(key string) (string, error) {
	v := c.Credentials[key]
	if v == "" {
		return "", fmt.Errorf("connection %s: credential %q is required", c.Name, key)
	}
	return v, nil
}

// Simulator is a local server speaking a vendor's protocol, for tests,
// benchmarks, the demo and `greenlang erp simulate`.
type Simulator interface {
	http.Handler
	// Connection returns what a connection to the simulator served at
	// baseURL needs: its auth type, credentials and settings.
	Connection(baseURL string) (authType string, credentials map[string]string, settings json.RawMessage)
}

// SimOptions size a simulator's data set.
type SimOptions struct {
	// Records is roughly how many records of its main entity (purchase
	// order lines) the simulator serves; others scale from it.
	Records int
	// Seed makes the data set reproducible.
	Seed uint64
	// Now is the simulator's clock; nil means time.Now.
	Now func() time.Time
}

// Factory builds one system's connectors and simulators.
type Factory struct {
	System string // the name connections use: sap, oracle, workday, dynamics365, netsuite, spreadsheet
	Title  string // "SAP S/4HANA"
	// New builds a connector for one connection.
	New func(Config) (Connector, error)
	// Sample is a sample configuration (JSON) for `greenlang erp connection add`.
	Sample string
	// NewSimulator, when set, builds a simulator of the system.
	NewSimulator func(SimOptions) Simulator
}

// Registry holds the factories by system name. The composition root builds
// it; there is no package-level registry.
type Registry struct{ m map[string]Factory }

// NewRegistry returns a registry of fs; a system named twice is a programming
// error and panics.
func NewRegistry(fs ...Factory) *Registry {
	r := &Registry{m: map[string]Factory{}}
	for _, f := range fs {
		if _, dup := r.m[f.System]; dup || f.System == "" || f.New == nil {
			panic(fmt.Sprintf("erp: factory %q registered twice or incomplete", f.System))
		}
		r.m[f.System] = f
	}
	return r
}

// Get returns the factory of system.
func (r *Registry) Get(system string) (Factory, error) {
	f, ok := r.m[system]
	if !ok {
		return Factory{}, fmt.Errorf("erp: no connector for system %q (known: %s)", system, strings.Join(r.Systems(), ", "))
	}
	return f, nil
}

// Systems lists the registered systems, sorted.
func (r *Registry) Systems() []string {
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
