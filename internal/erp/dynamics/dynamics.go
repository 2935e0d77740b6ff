// Package dynamics is GreenLang's connector for Microsoft Dynamics 365
// Business Central online: it reads vendors, items, purchase orders with
// their lines and general ledger entries through the Business Central API
// v2.0 (OData v4), authenticating with Microsoft Entra ID client
// credentials, and follows changes with OData delta links (README.md).
//
// The package also holds a simulator of the service (Simulator) for tests,
// benchmarks and the demo.
package dynamics

import (
	"context"
	_ "embed"
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

// System is the name connections use for this connector.
const System = "dynamics365"

// AuthOAuth2 is the one auth type: OAuth 2.0 client credentials from
// Microsoft Entra ID (credentials client_id and client_secret).
const AuthOAuth2 = "oauth2"

// Defaults of the settings.
const (
	DefaultBaseURL       = "https://api.businesscentral.dynamics.com"
	DefaultEnvironment   = "production"
	DefaultScope         = "https://api.businesscentral.dynamics.com/.default"
	DefaultLocalCurrency = "EUR"
	DefaultPageSize      = 1000
	defaultTokenURL      = "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
)

//go:embed sample.json
var sample string

// Factory returns the Dynamics 365 factory for the registry.
func Factory() erp.Factory {
	return erp.Factory{
		System: System,
		Title:  "Microsoft Dynamics 365",
		New:    func(c erp.Config) (erp.Connector, error) { return New(c) },
		Sample: sample,
		NewSimulator: func(o erp.SimOptions) erp.Simulator {
			return NewSimulator(o)
		},
	}
}

// Settings are a connection's settings (erp.Config.Settings).
type Settings struct {
	// TenantID is the Microsoft Entra tenant (GUID or domain). Required.
	TenantID string `json:"tenant_id"`
	// Environment is the Business Central environment; default "production".
	Environment string `json:"environment,omitempty"`
	// CompanyID is the company's id (GUID, from GET …/api/v2.0/companies). Required.
	CompanyID string `json:"company_id"`
	// TokenURL overrides https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token.
	TokenURL string `json:"token_url,omitempty"`
	// Scope defaults to https://api.businesscentral.dynamics.com/.default.
	Scope string `json:"scope,omitempty"`
	// LocalCurrency is the company's local currency (LCY), which Business
	// Central leaves empty in currencyCode and keeps the G/L in; default EUR.
	LocalCurrency string `json:"local_currency,omitempty"`
	// PageSize is the default odata.maxpagesize; default 1000, at most 20000.
	PageSize int `json:"page_size,omitempty"`
}

// entity is what the connector knows of one entity it reads.
type entity struct {
	erp.Entity
	set   string // API v2.0 entity set
	query string // query options of the first request
	title string // for Check
}

var entities = [...]entity{
	{erp.Entity{Name: "vendors", Kind: erp.KindSupplier, Incremental: true}, "vendors", "", "vendors"},
	{erp.Entity{Name: "items", Kind: erp.KindMaterial, Incremental: true}, "items", "", "items"},
	{erp.Entity{Name: "purchase_orders", Kind: erp.KindPOLine, Incremental: true}, "purchaseOrders", "$expand=purchaseOrderLines", "purchase orders"},
	{erp.Entity{Name: "general_ledger_entries", Kind: erp.KindGLEntry, Incremental: true}, "generalLedgerEntries", "", "general ledger entries"},
}

// Connector reads one Business Central company. It is safe for concurrent
// use.
type Connector struct {
	name     string
	log      *slog.Logger
	settings Settings
	tokenURL string
	company  string // absolute URL of companies({id}), no trailing slash
	client   *http.Client
	ts       *erphttp.TokenSource
	secrets  []string // credential values, scrubbed from every message
}

var _ erp.Connector = (*Connector)(nil)

// New builds a connector from a stored connection.
func New(cfg erp.Config) (*Connector, error) {
	var s Settings
	if err := cfg.DecodeSettings(&s); err != nil {
		return nil, err
	}
	if cfg.AuthType != "" && cfg.AuthType != AuthOAuth2 {
		return nil, fmt.Errorf("connection %s: auth type %q is not supported (use %q: Microsoft Entra ID client credentials)", cfg.Name, cfg.AuthType, AuthOAuth2)
	}
	if err := s.normalize(); err != nil {
		return nil, fmt.Errorf("connection %s: settings: %w", cfg.Name, err)
	}
	id, err := cfg.Credential("client_id")
	if err != nil {
		return nil, err
	}
	secret, err := cfg.Credential("client_secret")
	if err != nil {
		return nil, err
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	bu, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (bu.Scheme != "https" && bu.Scheme != "http") || bu.Host == "" {
		return nil, fmt.Errorf("connection %s: base URL %q is not an http(s) URL", cfg.Name, base)
	}
	tokenURL := s.TokenURL
	if tokenURL == "" {
		tokenURL = fmt.Sprintf(defaultTokenURL, url.PathEscape(s.TenantID))
	}
	log := cfg.Logger().With(slog.String("connection", cfg.Name), slog.String("system", System))
	hc := cfg.HTTP
	if hc.Logger == nil {
		hc.Logger = log
	}
	inner := erphttp.New(cfg.Name, cfg.Transport, hc)
	// The token endpoint is reached through the same resilient client.
	tctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: inner})
	ts := erphttp.ClientCredentials(tctx, tokenURL, id, secret, []string{s.Scope}, nil, 0)
	c := &Connector{
		name: cfg.Name, log: log, settings: s, tokenURL: tokenURL, ts: ts,
		company: bu.String() + "/v2.0/" + url.PathEscape(s.TenantID) + "/" + url.PathEscape(s.Environment) +
			"/api/v2.0/companies(" + s.CompanyID + ")",
		client: &http.Client{Transport: &erphttp.Transport{Source: ts, Base: inner, Logger: log}},
	}
	for _, v := range cfg.Credentials {
		if len(v) >= 4 {
			c.secrets = append(c.secrets, v)
		}
	}
	return c, nil
}

// normalize applies defaults and checks the settings.
func (s *Settings) normalize() error {
	if s.Environment == "" {
		s.Environment = DefaultEnvironment
	}
	if s.Scope == "" {
		s.Scope = DefaultScope
	}
	if s.LocalCurrency == "" {
		s.LocalCurrency = DefaultLocalCurrency
	}
	if s.PageSize == 0 {
		s.PageSize = DefaultPageSize
	}
	switch {
	case strings.TrimSpace(s.TenantID) == "":
		return errors.New(`"tenant_id" is required (the Microsoft Entra tenant id or domain)`)
	case strings.TrimSpace(s.CompanyID) == "":
		return errors.New(`"company_id" is required (the company's id from GET …/api/v2.0/companies)`)
	case strings.ContainsAny(s.CompanyID, "()/?#& "):
		return fmt.Errorf(`"company_id" %q is not a company id`, s.CompanyID)
	case s.PageSize < 0 || s.PageSize > maxPageSize:
		return fmt.Errorf(`"page_size" %d is not between 1 and %d`, s.PageSize, maxPageSize)
	}
	if err := (&erp.Record{Kind: erp.KindGLEntry, Key: "x", GLEntry: &erp.GLEntry{DocumentID: "x", Line: "1", Account: "x",
		PostingDate: time.Unix(0, 0), Currency: s.LocalCurrency}}).Validate(); err != nil {
		return fmt.Errorf(`"local_currency" %q is not an ISO 4217 currency code`, s.LocalCurrency)
	}
	if s.TokenURL != "" {
		u, err := url.Parse(s.TokenURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf(`"token_url" %q is not an http(s) URL`, s.TokenURL)
		}
	}
	return nil
}

// Entities lists what the connector reads.
func (c *Connector) Entities() []erp.Entity {
	out := make([]erp.Entity, len(entities))
	for i, e := range entities {
		out[i] = e.Entity
	}
	return out
}

func lookup(name string) (entity, bool) {
	for _, e := range entities {
		if e.Name == name {
			return e, true
		}
	}
	return entity{}, false
}

// scrub removes credential values from a message.
func (c *Connector) scrub(s string) string {
	for _, v := range c.secrets {
		s = strings.ReplaceAll(s, v, "[REDACTED]")
		if q := url.QueryEscape(v); q != v {
			s = strings.ReplaceAll(s, q, "[REDACTED]")
		}
	}
	return s
}

// scrubErr is err with credential values removed from its text.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (c *Connector) wrap(err error) error {
	if err == nil {
		return nil
	}
	if m := c.scrub(err.Error()); m != err.Error() {
		return &scrubbedError{msg: m, err: err}
	}
	return err
}

// APIError is a non-success answer of the Business Central API.
type APIError struct {
	Conn    string
	Path    string // URL path of the request
	Status  string // HTTP status line
	Code    string // OData error code, e.g. "BadRequest_NotFound"
	Message string // OData error message
}

func (e *APIError) Error() string {
	if e.Code == "" && e.Message == "" {
		return fmt.Sprintf("connection %s: GET %s: %s", e.Conn, e.Path, e.Status)
	}
	return fmt.Sprintf("connection %s: GET %s: %s: %s: %s", e.Conn, e.Path, e.Status, e.Code, e.Message)
}

// odataError is the OData v4 JSON error body.
type odataError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// get sends GET link and returns the body of a 200 response. Other answers
// are *APIError (the body's OData error), or the HTTP layer's error.
func (c *Connector) get(ctx context.Context, link string, pageSize int, track bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", c.name, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-Version", "4.0")
	prefer := []string{}
	if pageSize > 0 {
		prefer = append(prefer, "odata.maxpagesize="+strconv.Itoa(pageSize))
	}
	if track {
		prefer = append(prefer, "odata.track-changes")
	}
	if len(prefer) > 0 {
		req.Header.Set("Prefer", strings.Join(prefer, ", "))
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.wrap(fmt.Errorf("connection %s: GET %s: %w", c.name, req.URL.Path, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.wrap(fmt.Errorf("connection %s: GET %s: reading the response: %w", c.name, req.URL.Path, err))
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Conn: c.name, Path: req.URL.Path, Status: resp.Status}
		var oe odataError
		if json.Unmarshal(body, &oe) == nil {
			e.Code, e.Message = oe.Error.Code, c.scrub(oe.Error.Message)
		}
		return nil, e
	}
	return body, nil
}

// link checks that a cursor or watermark is a link to this connection's
// host and to e's entity set of its company, so that the bearer token is
// never sent elsewhere. (The tenant segment is not compared: Business
// Central may write it as the tenant's id where the settings name its
// domain.)
func (c *Connector) link(kind, s string, e entity) (string, error) {
	base := mustParse(c.company)
	u, err := url.Parse(s)
	if err == nil && u.Scheme == base.Scheme && u.Host == base.Host &&
		strings.HasSuffix(strings.ToLower(u.Path), strings.ToLower("/companies("+c.settings.CompanyID+")/"+e.set)) {
		return s, nil
	}
	return "", fmt.Errorf("connection %s: %s %q is not an OData link of %s in this connection's company", c.name, kind, erphttp.RedactURL(u), e.set)
}

// Fetch reads one page of entity. req.Since is a delta link (a previous
// run's Watermark); req.Cursor a next link. A delta link the service no
// longer honours (410 Gone) restarts with a full read.
func (c *Connector) Fetch(ctx context.Context, name string, req erp.PageRequest) (erp.Page, error) {
	e, ok := lookup(name)
	if !ok {
		return erp.Page{}, fmt.Errorf("connection %s: no entity %q (have vendors, items, purchase_orders, general_ledger_entries)", c.name, name)
	}
	size := req.PageSize
	if size <= 0 {
		size = c.settings.PageSize
	}
	size = min(size, maxPageSize)
	var link string
	var err error
	switch {
	case req.Cursor != "":
		link, err = c.link("cursor", req.Cursor, e)
	case req.Since != "":
		link, err = c.link("watermark", req.Since, e)
	default:
		link = c.first(e)
	}
	if err != nil {
		return erp.Page{}, err
	}
	body, err := c.get(ctx, link, size, true)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status != "" && strings.HasPrefix(ae.Status, "410") && req.Cursor == "" && req.Since != "" {
		c.log.LogAttrs(ctx, slog.LevelWarn, "dynamics365: delta link expired (410 Gone); reading everything again",
			slog.String("entity", name), slog.String("message", ae.Message))
		body, err = c.get(ctx, c.first(e), size, true)
	}
	if err != nil {
		return erp.Page{}, err
	}
	path := link
	if u, perr := url.Parse(link); perr == nil {
		path = u.Path
	}
	p, err := parsePage(e, body, c.settings.LocalCurrency)
	if err != nil {
		return erp.Page{}, fmt.Errorf("connection %s: GET %s: malformed page: %w", c.name, path, err)
	}
	page := erp.Page{Records: p.records, Rejected: p.rejected}
	if p.next != "" {
		if page.Next, err = c.link("next link", p.next, e); err != nil {
			return erp.Page{}, err
		}
		return page, nil
	}
	page.Watermark = req.Since
	if p.delta != "" {
		if page.Watermark, err = c.link("delta link", p.delta, e); err != nil {
			return erp.Page{}, err
		}
	}
	return page, nil
}

// first is the link of an entity's first page.
func (c *Connector) first(e entity) string {
	if e.query == "" {
		return c.company + "/" + e.set
	}
	return c.company + "/" + e.set + "?" + e.query
}

// Check tests the connection: settings, token, company, then one record
// of each entity, stopping at the first failure.
func (c *Connector) Check(ctx context.Context) []erp.Step {
	var steps []erp.Step
	step := func(name string, f func() (string, error)) bool {
		start := time.Now()
		detail, err := f()
		st := erp.Step{Name: name, OK: err == nil, Detail: detail, Elapsed: time.Since(start)}
		if err != nil {
			st.Detail = err.Error()
		}
		st.Detail = c.scrub(st.Detail)
		steps = append(steps, st)
		return err == nil
	}
	ok := step("parse settings", func() (string, error) {
		return fmt.Sprintf("tenant %s, environment %s, company %s, token URL %s, scope %s",
			c.settings.TenantID, c.settings.Environment, c.settings.CompanyID, erphttp.RedactURL(mustParse(c.tokenURL)), c.settings.Scope), nil
	}) && step("fetch OAuth token", func() (string, error) {
		tok, err := c.ts.Token()
		if err != nil {
			return "", c.wrap(err)
		}
		return "Microsoft Entra ID issued a token valid until " + tok.Expiry.UTC().Format(time.RFC3339), nil
	}) && step("read company", func() (string, error) {
		body, err := c.get(ctx, c.company, 0, false)
		if err != nil {
			return "", err
		}
		var co struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		}
		if err := json.Unmarshal(body, &co); err != nil {
			return "", fmt.Errorf("GET %s: malformed company: %w", mustParse(c.company).Path, err)
		}
		return fmt.Sprintf("company %q (%s)", co.Name, co.ID), nil
	})
	for _, e := range entities {
		if !ok {
			break
		}
		ok = step("read "+e.title, func() (string, error) {
			body, err := c.get(ctx, c.first(e), 1, false)
			if err != nil {
				return "", err
			}
			p, err := parsePage(e, body, c.settings.LocalCurrency)
			if err != nil {
				return "", fmt.Errorf("GET %s: malformed page: %w", mustParse(c.company).Path+"/"+e.set, err)
			}
			switch {
			case len(p.rejected) > 0:
				return fmt.Sprintf("read, but a record was refused: %s", p.rejected[0].Reason), nil
			case len(p.records) == 0:
				return "read; the company has none", nil
			}
			return fmt.Sprintf("read %s %s", e.Kind, p.records[0].Key), nil
		})
	}
	return steps
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return &url.URL{}
	}
	return u
}
