// Package oracle is GreenLang's connector for Oracle ERP Cloud (Fusion
// Applications) and a simulator of its REST API.
//
// The connector reads the Fusion REST resources under
// /fscmRestApi/resources/<version>/: purchaseOrders (expanded with their
// lines) as purchase-order lines, suppliers, invoices (expanded with their
// lines and distributions) as general-ledger entries, and ledgerBalances
// (the AccountBalanceFinder) as one general-ledger entry per account and
// period. It authenticates with HTTP basic or with an OAuth 2.0
// client-credentials bearer token, pages with limit/offset/hasMore, and
// reads incrementally with a q filter on LastUpdateDate. See README.md.
package oracle

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// System is the name connections use for Oracle ERP Cloud.
const System = "oracle"

// DefaultAPIVersion is the Fusion REST API version used when the
// api_version setting is empty.
const DefaultAPIVersion = "11.13.18.05"

// MaxLimit is the largest page (limit) the Fusion REST API accepts.
const MaxLimit = 500

// DefaultPageSize is the limit used when the page request does not say.
const DefaultPageSize = 200

// restFrameworkVersion is sent as REST-Framework-Version: version 2 and later
// interpret q as a row-match expression (LastUpdateDate >= '…').
const restFrameworkVersion = "4"

// Entity names.
const (
	EntityPurchaseOrders = "purchase_orders"
	EntitySuppliers      = "suppliers"
	EntityInvoices       = "invoices"
	EntityLedgerBalances = "ledger_balances"
)

//go:embed sample.json
var sample string

// Factory returns the factory of Oracle ERP Cloud connectors and simulators.
func Factory() erp.Factory {
	return erp.Factory{
		System: System,
		Title:  "Oracle ERP Cloud",
		New:    func(cfg erp.Config) (erp.Connector, error) { return New(cfg) },
		Sample: sample,
		NewSimulator: func(o erp.SimOptions) erp.Simulator {
			return NewSimulator(o)
		},
	}
}

// Settings are the connection settings (erp.Config.Settings).
type Settings struct {
	// APIVersion is the REST API version in the path; default 11.13.18.05.
	APIVersion string `json:"api_version,omitempty"`
	// TokenURL and Scope configure OAuth 2.0 client credentials (auth type
	// "oauth2"), e.g. the Oracle Identity Cloud Service / IAM domain
	// https://idcs-….identity.oraclecloud.com/oauth2/v1/token and the scope
	// urn:opc:resource:fa:instanceid=…urn:opc:resource:consumer::all.
	TokenURL string `json:"token_url,omitempty"`
	Scope    string `json:"scope,omitempty"`
	// SegmentDelimiter separates the segments of an account combination
	// (default "-"); NaturalAccountSegment and CostCenterSegment are the
	// 1-based positions of the natural account (default 3) and cost center
	// (default 4) segments in the chart of accounts.
	SegmentDelimiter      string `json:"segment_delimiter,omitempty"`
	NaturalAccountSegment int    `json:"natural_account_segment,omitempty"`
	CostCenterSegment     int    `json:"cost_center_segment,omitempty"`
	// LedgerName, AccountingPeriods, AccountCombination and BalanceCurrency
	// are the AccountBalanceFinder's variables for ledger_balances, which is
	// offered only when LedgerName is set. AccountCombination may use "%"
	// for a segment ("101-%-%-%-%").
	LedgerName         string   `json:"ledger_name,omitempty"`
	AccountingPeriods  []string `json:"accounting_periods,omitempty"`
	AccountCombination string   `json:"account_combination,omitempty"`
	BalanceCurrency    string   `json:"balance_currency,omitempty"`
	// PageSize is the default limit (documents per page), at most 500.
	PageSize int `json:"page_size,omitempty"`
}

func (s *Settings) defaults() {
	if s.APIVersion == "" {
		s.APIVersion = DefaultAPIVersion
	}
	if s.SegmentDelimiter == "" {
		s.SegmentDelimiter = "-"
	}
	if s.NaturalAccountSegment == 0 {
		s.NaturalAccountSegment = 3
	}
	if s.CostCenterSegment == 0 {
		s.CostCenterSegment = 4
	}
	if s.PageSize == 0 {
		s.PageSize = DefaultPageSize
	}
}

func (s *Settings) validate() error {
	switch {
	case strings.ContainsAny(s.APIVersion, "/?#"):
		return fmt.Errorf("api_version %q is not a version", s.APIVersion)
	case s.NaturalAccountSegment < 1 || s.CostCenterSegment < 1:
		return errors.New("natural_account_segment and cost_center_segment are 1-based positions")
	case s.PageSize < 1 || s.PageSize > MaxLimit:
		return fmt.Errorf("page_size %d is not in 1..%d", s.PageSize, MaxLimit)
	}
	if s.LedgerName != "" {
		switch {
		case len(s.AccountingPeriods) == 0:
			return errors.New("accounting_periods is required with ledger_name")
		case s.AccountCombination == "":
			return errors.New("account_combination is required with ledger_name")
		case s.BalanceCurrency == "":
			return errors.New("balance_currency is required with ledger_name")
		}
	}
	return nil
}

// Connector reads one Oracle ERP Cloud connection. It is safe for
// concurrent use.
type Connector struct {
	name     string
	baseURL  string // scheme://host[/prefix], no trailing slash
	root     string // baseURL + /fscmRestApi/resources/<version>
	authType string
	s        Settings
	hc       *http.Client
	ts       *erphttp.TokenSource // oauth2 only
	log      *slog.Logger
	now      func() time.Time
	// cfgErr is a configuration error found by New: Check reports it as
	// its first step and Fetch returns it.
	cfgErr error
}

// New builds a connector for cfg. A bad configuration (unknown setting,
// missing credential, unknown auth type) does not fail New: it is the
// failing first step of Check and the error of every Fetch, so that a
// connection test can say what is wrong.
func New(cfg erp.Config) (*Connector, error) {
	c := &Connector{
		name:     cfg.Name,
		baseURL:  strings.TrimRight(cfg.BaseURL, "/"),
		authType: cfg.AuthType,
		log:      cfg.Logger().With(slog.String("connector", System), slog.String("connection", cfg.Name)),
		now:      time.Now,
	}
	if cfg.HTTP.Now != nil {
		c.now = cfg.HTTP.Now
	}
	c.cfgErr = c.configure(cfg)
	return c, nil
}

func (c *Connector) configure(cfg erp.Config) error {
	if err := cfg.DecodeSettings(&c.s); err != nil {
		return err
	}
	c.s.defaults()
	if err := c.s.validate(); err != nil {
		return fmt.Errorf("connection %s: settings: %w", cfg.Name, err)
	}
	u, err := url.Parse(c.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("connection %s: base URL %q is not an http(s) URL", cfg.Name, erphttp.RedactURL(u))
	}
	if u.User != nil {
		return fmt.Errorf("connection %s: base URL must not carry user information; use credentials", cfg.Name)
	}
	c.root = c.baseURL + "/fscmRestApi/resources/" + c.s.APIVersion

	client := erphttp.New(cfg.Name, cfg.Transport, cfg.HTTP)
	switch cfg.AuthType {
	case "basic", "":
		c.authType = "basic"
		user, err := cfg.Credential("username")
		if err != nil {
			return err
		}
		pass, err := cfg.Credential("password")
		if err != nil {
			return err
		}
		c.hc = &http.Client{Transport: &basicAuth{user: user, pass: pass, base: client}}
	case "oauth2":
		id, err := cfg.Credential("client_id")
		if err != nil {
			return err
		}
		secret, err := cfg.Credential("client_secret")
		if err != nil {
			return err
		}
		if c.s.TokenURL == "" {
			return fmt.Errorf("connection %s: settings: token_url is required for auth type oauth2", cfg.Name)
		}
		// The token endpoint is reached through the same erphttp client:
		// rate limit, retries on 429/503 and the breaker apply to it too.
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: client})
		c.ts = erphttp.ClientCredentials(ctx, c.s.TokenURL, id, secret, strings.Fields(c.s.Scope), nil, 0)
		c.hc = &http.Client{Transport: &erphttp.Transport{Source: c.ts, Base: client, Logger: c.log}}
	default:
		return fmt.Errorf("connection %s: auth type %q is not supported (basic or oauth2)", cfg.Name, cfg.AuthType)
	}
	return nil
}

// basicAuth adds HTTP basic authentication to each request.
type basicAuth struct {
	user, pass string
	base       http.RoundTripper
}

func (b *basicAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.SetBasicAuth(b.user, b.pass)
	return b.base.RoundTrip(r)
}

// Entities lists what the connector syncs; ledger_balances only when the
// ledger_name setting is set.
func (c *Connector) Entities() []erp.Entity {
	es := []erp.Entity{
		{Name: EntitySuppliers, Kind: erp.KindSupplier, Incremental: true},
		{Name: EntityPurchaseOrders, Kind: erp.KindPOLine, Incremental: true},
		{Name: EntityInvoices, Kind: erp.KindGLEntry, Incremental: true},
	}
	if c.s.LedgerName != "" {
		es = append(es, erp.Entity{Name: EntityLedgerBalances, Kind: erp.KindGLEntry, Incremental: false})
	}
	return es
}

// resource describes one incremental Fusion collection.
type resource struct {
	path   string // collection path under the root
	idAttr string // immutable id, the stable ordering of offset paging
	expand string
	parse  func(c *Connector, items []json.RawMessage, p *erp.Page)
}

func (c *Connector) resourceOf(entity string) (resource, bool) {
	switch entity {
	case EntityPurchaseOrders:
		return resource{path: "purchaseOrders", idAttr: "POHeaderId", expand: "lines", parse: (*Connector).parsePurchaseOrders}, true
	case EntitySuppliers:
		return resource{path: "suppliers", idAttr: "SupplierId", parse: (*Connector).parseSuppliers}, true
	case EntityInvoices:
		return resource{path: "invoices", idAttr: "InvoiceId", expand: "invoiceLines.invoiceDistributions", parse: (*Connector).parseInvoices}, true
	}
	return resource{}, false
}

// cursor is the self-contained state of a run between pages, encoded in
// Page.Next.
type cursor struct {
	Entity string `json:"e"`
	Since  string `json:"s,omitempty"` // the watermark the run started from
	Offset int    `json:"o"`
	Start  string `json:"t,omitempty"` // server time (Date header) of the run's first page
	Max    string `json:"m,omitempty"` // latest LastUpdateDate seen, fallback watermark
	Period int    `json:"p,omitempty"` // ledger_balances: index in accounting_periods
}

const cursorPrefix = "oracle1."

func (k cursor) encode() string {
	b, _ := json.Marshal(k)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, entity string) (cursor, error) {
	var k cursor
	raw, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok {
		return k, fmt.Errorf("cursor %q is not an Oracle connector cursor", s)
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err == nil {
		err = json.Unmarshal(b, &k)
	}
	if err != nil {
		return k, fmt.Errorf("cursor %q: %w", s, err)
	}
	if k.Entity != entity || k.Offset < 0 || k.Period < 0 {
		return k, fmt.Errorf("cursor %q is not a cursor of %s", s, entity)
	}
	return k, nil
}

// Fetch reads one page of entity.
func (c *Connector) Fetch(ctx context.Context, entity string, req erp.PageRequest) (erp.Page, error) {
	if c.cfgErr != nil {
		return erp.Page{}, c.cfgErr
	}
	k := cursor{Entity: entity, Since: req.Since}
	if req.Cursor != "" {
		var err error
		if k, err = decodeCursor(req.Cursor, entity); err != nil {
			return erp.Page{}, fmt.Errorf("oracle: connection %s: %w", c.name, err)
		}
	}
	limit := req.PageSize
	if limit <= 0 {
		limit = c.s.PageSize
	}
	limit = min(limit, MaxLimit)
	if entity == EntityLedgerBalances && c.s.LedgerName != "" {
		return c.fetchBalances(ctx, k, limit)
	}
	r, ok := c.resourceOf(entity)
	if !ok {
		return erp.Page{}, fmt.Errorf("oracle: connection %s: unknown entity %q", c.name, entity)
	}
	return c.fetchIncremental(ctx, r, k, limit)
}

// fetchIncremental reads one page of an incremental resource: ordered by
// its immutable id (so that records changed during the run do not shift
// the offsets), filtered with LastUpdateDate >= since.
func (c *Connector) fetchIncremental(ctx context.Context, r resource, k cursor, limit int) (erp.Page, error) {
	q := url.Values{}
	q.Set("onlyData", "true")
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(k.Offset))
	q.Set("orderBy", r.idAttr+":asc")
	if r.expand != "" {
		q.Set("expand", r.expand)
	}
	if k.Offset == 0 {
		q.Set("totalResults", "true")
	}
	if k.Since != "" {
		since, err := parseTime(k.Since)
		if err != nil {
			return erp.Page{}, fmt.Errorf("oracle: connection %s: watermark %q: %w", c.name, k.Since, err)
		}
		q.Set("q", "LastUpdateDate >= '"+formatQueryTime(since)+"'")
	}
	coll, date, err := c.get(ctx, r.path, q)
	if err != nil {
		return erp.Page{}, err
	}
	if k.Start == "" && !date.IsZero() {
		k.Start = date.UTC().Format(time.RFC3339)
	}
	if coll.TotalResults != nil {
		c.log.DebugContext(ctx, "oracle: reading", slog.String("resource", r.path), slog.Int("total", *coll.TotalResults))
	}
	var page erp.Page
	r.parse(c, coll.Items, &page)
	latest, _ := parseTime(k.Max)
	for _, rec := range page.Records {
		if rec.Modified.After(latest) {
			latest = rec.Modified
		}
	}
	if !latest.IsZero() {
		k.Max = latest.UTC().Format(time.RFC3339Nano)
	}
	if coll.HasMore && len(coll.Items) > 0 {
		k.Offset += len(coll.Items)
		page.Next = k.encode()
		return page, nil
	}
	// The last page: the next run starts where this one started, by the
	// server's clock; without a Date header, at the latest change seen.
	switch {
	case k.Start != "":
		page.Watermark = k.Start
	case k.Max != "":
		page.Watermark = k.Max
	default:
		page.Watermark = k.Since
	}
	return page, nil
}

// fetchBalances reads one page of ledgerBalances for one accounting period
// of the settings; the cursor moves through the periods in turn.
func (c *Connector) fetchBalances(ctx context.Context, k cursor, limit int) (erp.Page, error) {
	if k.Period >= len(c.s.AccountingPeriods) {
		return erp.Page{}, fmt.Errorf("oracle: connection %s: cursor period %d out of range", c.name, k.Period)
	}
	period := c.s.AccountingPeriods[k.Period]
	q := url.Values{}
	q.Set("onlyData", "true")
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(k.Offset))
	q.Set("finder", "AccountBalanceFinder;"+strings.Join([]string{
		"accountCombination=" + finderValue(c.s.AccountCombination),
		"accountingPeriod=" + finderValue(period),
		"currency=" + finderValue(c.s.BalanceCurrency),
		"ledgerName=" + finderValue(c.s.LedgerName),
		"mode=Detail",
	}, ","))
	coll, _, err := c.get(ctx, "ledgerBalances", q)
	if err != nil {
		return erp.Page{}, err
	}
	var page erp.Page
	c.parseBalances(coll.Items, &page)
	switch {
	case coll.HasMore && len(coll.Items) > 0:
		k.Offset += len(coll.Items)
		page.Next = k.encode()
	case k.Period+1 < len(c.s.AccountingPeriods):
		k.Period++
		k.Offset = 0
		page.Next = k.encode()
	}
	// Not incremental: no watermark.
	return page, nil
}

// finderValue quotes a finder variable value that holds the finder's
// separators (, ; =) in double quotes.
func finderValue(v string) string {
	if strings.ContainsAny(v, ",;=\"") {
		return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
	}
	return v
}

// formatQueryTime formats t for a q filter: Fusion's date-time form with
// milliseconds and a numeric offset (2025-01-01T00:00:00.000+00:00).
// Truncating to the millisecond only widens a >= filter.
func formatQueryTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000-07:00")
}

// collection is a Fusion REST collection response.
type collection struct {
	Items        []json.RawMessage `json:"items"`
	TotalResults *int              `json:"totalResults"`
	Count        int               `json:"count"`
	HasMore      bool              `json:"hasMore"`
	Limit        int               `json:"limit"`
	Offset       int               `json:"offset"`
}

// adfError is Oracle's REST error body (application/vnd.oracle.adf.error+json).
type adfError struct {
	Title        string `json:"title"`
	Detail       string `json:"detail"`
	ErrorDetails []struct {
		Detail    string `json:"detail"`
		ErrorCode string `json:"o:errorCode"`
	} `json:"o:errorDetails"`
}

// APIError is an error answer of the Fusion REST API.
type APIError struct {
	Conn       string
	Path       string // URL path of the request
	StatusCode int
	Status     string
	Message    string // from the vendor's error body: title, details and error codes
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("oracle: connection %s: GET %s: %s", e.Conn, e.Path, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errorMessage extracts the vendor's message from an error body.
func errorMessage(body []byte) string {
	var ae adfError
	if json.Unmarshal(body, &ae) != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		return s
	}
	parts := []string{}
	if ae.Title != "" {
		parts = append(parts, ae.Title)
	}
	if ae.Detail != "" {
		parts = append(parts, ae.Detail)
	}
	for _, d := range ae.ErrorDetails {
		m := d.Detail
		if d.ErrorCode != "" {
			m += " (" + d.ErrorCode + ")"
		}
		parts = append(parts, m)
	}
	return strings.Join(parts, ": ")
}

// get sends GET root/path?q and decodes the collection; the time is the
// response's Date header (zero if absent).
func (c *Connector) get(ctx context.Context, path string, q url.Values) (collection, time.Time, error) {
	var coll collection
	u := c.root + "/" + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return coll, time.Time{}, fmt.Errorf("oracle: connection %s: %w", c.name, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("REST-Framework-Version", restFrameworkVersion)
	urlPath := req.URL.Path
	resp, err := c.hc.Do(req)
	if err != nil {
		return coll, time.Time{}, fmt.Errorf("oracle: connection %s: GET %s: %w", c.name, urlPath, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return coll, time.Time{}, fmt.Errorf("oracle: connection %s: GET %s: reading the body: %w", c.name, urlPath, err)
	}
	if resp.StatusCode != http.StatusOK {
		return coll, time.Time{}, &APIError{Conn: c.name, Path: urlPath, StatusCode: resp.StatusCode, Status: resp.Status, Message: errorMessage(body)}
	}
	if err := json.Unmarshal(body, &coll); err != nil {
		return coll, time.Time{}, fmt.Errorf("oracle: connection %s: GET %s: malformed response body (%d bytes): %w", c.name, urlPath, len(body), err)
	}
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	return coll, date, nil
}
