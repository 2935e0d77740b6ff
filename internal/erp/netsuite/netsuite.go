// Package netsuite is GreenLang's Oracle NetSuite connector: purchase order
// lines and vendors through SuiteQL (POST /services/rest/query/v1/suiteql),
// sustainability custom records through the REST record API
// (GET /services/rest/record/v1/customrecord_…), deletions through SuiteQL's
// DeletedRecord table, all signed with token-based authentication (OAuth
// 1.0a HMAC-SHA256, package oauth1). It also holds a simulator of those
// endpoints (sim.go, simdata.go). README.md documents the mapping.
package netsuite

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
	"github.com/greenlang/greenlang/internal/erp/oauth1"
)

// System is the name connections use for NetSuite.
const System = "netsuite"

// AuthType is the only auth type the connector supports: token-based
// authentication (OAuth 1.0a, HMAC-SHA256).
const AuthType = "tba"

// The entities the connector reads.
const (
	EntityPurchaseOrders = "purchase_orders"
	EntityVendors        = "vendors"
	EntityCustomRecords  = "custom_records"
)

// Paths of the SuiteTalk REST endpoints used.
const (
	suiteQLPath    = "/services/rest/query/v1/suiteql"
	recordPathRoot = "/services/rest/record/v1/"
)

// Paging limits NetSuite documents: at most 1000 rows per page, and one
// SuiteQL query can page through at most 100,000 results.
const (
	maxPageSize         = 1000
	defaultCustomPage   = 100 // the record API costs one GET per record
	suiteQLResultCap    = 100000
	maxResponseBytes    = 64 << 20
	defaultTimeZoneName = "UTC"
)

//go:embed sample.json
var sample string

// Factory returns the NetSuite factory.
func Factory() erp.Factory {
	return erp.Factory{
		System:       System,
		Title:        "Oracle NetSuite",
		New:          func(c erp.Config) (erp.Connector, error) { return New(c) },
		Sample:       sample,
		NewSimulator: func(o erp.SimOptions) erp.Simulator { return NewSimulator(o) },
	}
}

// Settings are the connection's settings (erp.Config.Settings).
type Settings struct {
	// AccountID is the NetSuite account ID, as in the account's domain
	// ("1234567-sb1") or as NetSuite writes it ("1234567_SB1"). It gives the
	// OAuth realm and the default base URL.
	AccountID string `json:"account_id"`
	// CustomRecords are the custom record types read as GL entries
	// (entity custom_records), e.g. ["customrecord_ghg_fuel"].
	CustomRecords []string `json:"custom_records,omitempty"`
	// TimeZone is the IANA time zone of the integration user's NetSuite
	// preferences: SuiteQL renders and compares date-times in it. Default
	// UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// ResultCap is the most results one SuiteQL query may page through
	// before the connector starts a new query after the last key read.
	// Default (and maximum) NetSuite's 100,000.
	ResultCap int `json:"result_cap,omitempty"`
}

// Connector reads one NetSuite account. It is safe for concurrent use.
type Connector struct {
	name    string
	base    *url.URL // scheme://host, no trailing slash
	realm   string
	custom  []string
	loc     *time.Location
	cap     int
	http    *http.Client
	log     *slog.Logger
	secrets []string // to scrub from anything shown (defence in depth)
}

// New builds a connector from a stored connection.
func New(cfg erp.Config) (*Connector, error) {
	var s Settings
	if err := cfg.DecodeSettings(&s); err != nil {
		return nil, err
	}
	if cfg.AuthType != "" && cfg.AuthType != AuthType {
		return nil, fmt.Errorf("connection %s: auth type %q is not supported by NetSuite (use %q: token-based authentication)", cfg.Name, cfg.AuthType, AuthType)
	}
	s.AccountID = strings.TrimSpace(s.AccountID)
	if s.AccountID == "" {
		return nil, fmt.Errorf("connection %s: settings: account_id is required (e.g. \"1234567-sb1\")", cfg.Name)
	}
	for _, c := range s.AccountID {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return nil, fmt.Errorf("connection %s: settings: account_id %q has a character other than letters, digits, '-' and '_'", cfg.Name, s.AccountID)
		}
	}
	for _, t := range s.CustomRecords {
		if !validCustomRecordType(t) {
			return nil, fmt.Errorf("connection %s: settings: custom_records: %q is not a custom record type id (customrecord_ followed by lowercase letters, digits and '_')", cfg.Name, t)
		}
	}
	tz := s.TimeZone
	if tz == "" {
		tz = defaultTimeZoneName
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("connection %s: settings: time_zone %q: %w", cfg.Name, tz, err)
	}
	rc := s.ResultCap
	if rc <= 0 || rc > suiteQLResultCap {
		rc = suiteQLResultCap
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = "https://" + strings.ToLower(strings.ReplaceAll(s.AccountID, "_", "-")) + ".suitetalk.api.netsuite.com"
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("connection %s: base URL %q is not an http(s) URL", cfg.Name, raw)
	}
	if base.Path != "" && base.Path != "/" {
		return nil, fmt.Errorf("connection %s: base URL %q must be the host only (the connector adds /services/rest/…)", cfg.Name, raw)
	}
	base.Path, base.RawQuery, base.Fragment = "", "", ""

	creds := map[string]string{}
	for _, k := range []string{"consumer_key", "consumer_secret", "token_id", "token_secret"} {
		v, err := cfg.Credential(k)
		if err != nil {
			return nil, err
		}
		creds[k] = v
	}
	signer := &oauth1.Signer{
		ConsumerKey:    creds["consumer_key"],
		ConsumerSecret: creds["consumer_secret"],
		Token:          creds["token_id"],
		TokenSecret:    creds["token_secret"],
		Realm:          oauth1.NetSuiteRealm(s.AccountID),
		Method:         oauth1.HMACSHA256,
	}
	// The signer sits below the retrying client so that every attempt gets
	// a fresh nonce and timestamp; resign retries a 401 once, re-signed.
	signed := &resign{next: &oauth1.Transport{Signer: signer, Base: cfg.Transport}, log: cfg.Logger()}
	hc := cfg.HTTP
	if hc.Logger == nil {
		hc.Logger = cfg.Logger()
	}
	client := erphttp.New(cfg.Name, signed, hc)
	return &Connector{
		name:    cfg.Name,
		base:    base,
		realm:   signer.Realm,
		custom:  slices.Clone(s.CustomRecords),
		loc:     loc,
		cap:     rc,
		http:    &http.Client{Transport: client},
		log:     cfg.Logger(),
		secrets: []string{creds["consumer_secret"], creds["token_secret"], creds["consumer_key"], creds["token_id"]},
	}, nil
}

func validCustomRecordType(t string) bool {
	rest, ok := strings.CutPrefix(t, "customrecord")
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// Entities lists purchase_orders, vendors and, when custom record types are
// configured, custom_records.
func (c *Connector) Entities() []erp.Entity {
	es := []erp.Entity{
		{Name: EntityPurchaseOrders, Kind: erp.KindPOLine, Incremental: true},
		{Name: EntityVendors, Kind: erp.KindSupplier, Incremental: true},
	}
	if len(c.custom) > 0 {
		es = append(es, erp.Entity{Name: EntityCustomRecords, Kind: erp.KindGLEntry, Incremental: true})
	}
	return es
}

// resign retries a request answered 401 once, through next, which signs it
// again with a fresh nonce and timestamp. NetSuite TBA tokens do not expire,
// but NetSuite answers INVALID_LOGIN to a request it cannot accept at that
// moment (a nonce it has seen, a timestamp at the edge of its window, a
// session it has dropped); a revoked token fails again and the 401 stands.
type resign struct {
	next http.RoundTripper
	log  *slog.Logger
}

func (t *resign) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	r2 := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		r2.Body = body
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	t.log.LogAttrs(req.Context(), slog.LevelInfo, "netsuite: 401 INVALID_LOGIN; signing again and retrying once",
		slog.String("method", req.Method), slog.String("path", req.URL.Path))
	return t.next.RoundTrip(r2)
}

// APIError is a NetSuite error response: the HTTP status and the
// o:errorDetails of its RFC 9457-style body.
type APIError struct {
	Method, Path string
	StatusCode   int
	Title        string
	Code         string // first o:errorCode
	Detail       string // first detail
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("netsuite: %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Title != "" {
		s += " " + e.Title
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// errorBody is NetSuite's error document.
type errorBody struct {
	Type         string        `json:"type"`
	Title        string        `json:"title"`
	Status       int           `json:"status"`
	ErrorDetails []errorDetail `json:"o:errorDetails"`
}

type errorDetail struct {
	Detail    string `json:"detail"`
	ErrorCode string `json:"o:errorCode"`
}

// do sends req and returns the body of a 2xx response, its Date header and
// an *APIError for any other status.
func (c *Connector) do(req *http.Request) ([]byte, time.Time, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("netsuite: %s %s: %w", req.Method, req.URL.Path, c.scrubErr(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("netsuite: %s %s: reading the response: %w", req.Method, req.URL.Path, err)
	}
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	if resp.StatusCode/100 != 2 {
		e := &APIError{Method: req.Method, Path: req.URL.Path, StatusCode: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		var eb errorBody
		if jsonUnmarshal(body, &eb) == nil {
			if eb.Title != "" {
				e.Title = eb.Title
			}
			if len(eb.ErrorDetails) > 0 {
				e.Code, e.Detail = eb.ErrorDetails[0].ErrorCode, c.scrub(eb.ErrorDetails[0].Detail)
			}
		}
		return nil, date, e
	}
	return body, date, nil
}

// scrub removes any credential from s (NetSuite never echoes them, but a
// proxy might).
func (c *Connector) scrub(s string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}

func (c *Connector) scrubErr(err error) error {
	if m := c.scrub(err.Error()); m != err.Error() {
		return errors.New(m)
	}
	return err
}

// url returns the absolute URL of path with query q.
func (c *Connector) url(path string, q url.Values) string {
	u := *c.base
	u.Path = path
	u.RawQuery = q.Encode()
	return u.String()
}

// suiteQL runs one page of query.
func (c *Connector) suiteQL(ctx context.Context, query string, limit, offset int) (*collection, time.Time, error) {
	q := url.Values{"limit": {fmt.Sprint(limit)}, "offset": {fmt.Sprint(offset)}}
	body, err := jsonMarshal(map[string]string{"q": query})
	if err != nil {
		return nil, time.Time{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(suiteQLPath, q), strings.NewReader(string(body)))
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Prefer", "transient")
	raw, date, err := c.do(erphttp.Idempotent(req))
	if err != nil {
		return nil, date, err
	}
	col, err := decodeCollection(raw)
	if err != nil {
		return nil, date, fmt.Errorf("netsuite: POST %s: decoding the response: %w", suiteQLPath, err)
	}
	return col, date, nil
}

// get fetches path (with query q) from the record API.
func (c *Connector) get(ctx context.Context, path string, q url.Values) ([]byte, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path, q), nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Accept", "application/json")
	return c.do(req)
}
