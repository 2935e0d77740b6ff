// Package workday is GreenLang's Workday connector: workers, suppliers,
// purchase orders and expense reports read through Workday's REST APIs
// (OAuth 2.0 with a refresh token), or workers only through the SOAP
// Human_Resources Get_Workers operation (WS-Security UsernameToken) for
// tenants without REST access. It also holds a simulator of those APIs for
// tests, benchmarks and demos (see README.md).
package workday

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
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

// System is the name connections use for Workday.
const System = "workday"

// Entity names.
const (
	EntityWorkers        = "workers"
	EntitySuppliers      = "suppliers"
	EntityPurchaseOrders = "purchase_orders"
	EntityExpenseReports = "expense_reports"
)

// API flavours (Settings.API).
const (
	APIREST = "rest"
	APISOAP = "soap"
)

// Auth types (Config.AuthType).
const (
	AuthOAuth2 = "oauth2" // REST: OAuth 2.0 refresh-token grant
	AuthWSS    = "wss"    // SOAP: WS-Security UsernameToken
)

// MaxLimit is the largest page Workday's REST collections serve (limit).
const MaxLimit = 100

// DefaultSOAPCount is the SOAP Response_Filter Count used when the page size
// is not given; Workday allows up to 999.
const (
	DefaultSOAPCount = 100
	MaxSOAPCount     = 999
)

// DefaultHRVersion is the Human_Resources web service version of SOAP calls.
const DefaultHRVersion = "v42.0"

//go:embed sample.json
var sample string

// Factory returns the Workday factory.
func Factory() erp.Factory {
	return erp.Factory{
		System: System,
		Title:  "Workday",
		New: func(cfg erp.Config) (erp.Connector, error) {
			c, err := New(cfg)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		Sample: sample,
		NewSimulator: func(o erp.SimOptions) erp.Simulator {
			return NewSimulator(o)
		},
	}
}

// Settings are the connection settings (Config.Settings).
type Settings struct {
	// Tenant is the Workday tenant name, as in /ccx/api/v1/{tenant}/…
	Tenant string `json:"tenant"`
	// TokenURL overrides the token endpoint; default
	// {base_url}/ccx/oauth2/{tenant}/token.
	TokenURL string `json:"token_url,omitempty"`
	// API is "rest" (default) or "soap" (workers only, through Get_Workers).
	API string `json:"api,omitempty"`
	// HRVersion is the Human_Resources service version of SOAP calls
	// (default v42.0).
	HRVersion string `json:"hr_version,omitempty"`
}

// entityDef is one entity of the REST API.
type entityDef struct {
	erp.Entity
	path  func(tenant string) string // URL path of the collection
	parse func(raw []byte) ([]erp.Record, []erp.Rejected)
}

// restEntities are the REST collections, in sync order (masters first).
func restEntities() []entityDef {
	return []entityDef{
		{Entity: erp.Entity{Name: EntityWorkers, Kind: erp.KindWorker},
			path:  func(t string) string { return "/ccx/api/v1/" + url.PathEscape(t) + "/workers" },
			parse: parseWorker},
		{Entity: erp.Entity{Name: EntitySuppliers, Kind: erp.KindSupplier},
			path:  func(t string) string { return "/ccx/api/procurement/v5/" + url.PathEscape(t) + "/suppliers" },
			parse: parseSupplier},
		{Entity: erp.Entity{Name: EntityPurchaseOrders, Kind: erp.KindPOLine, Incremental: true},
			path:  func(t string) string { return "/ccx/api/procurement/v5/" + url.PathEscape(t) + "/purchaseOrders" },
			parse: parsePurchaseOrder},
		{Entity: erp.Entity{Name: EntityExpenseReports, Kind: erp.KindExpenseLine},
			path:  func(t string) string { return "/ccx/api/expense/v1/" + url.PathEscape(t) + "/reports" },
			parse: parseExpenseReport},
	}
}

// Connector reads one Workday tenant. It is safe for concurrent use.
type Connector struct {
	name     string
	base     *url.URL
	settings Settings
	log      *slog.Logger
	http     *http.Client // data requests (REST: with the bearer token)
	tokens   *refreshTokenSource
	soap     *soapAuth
	entities []entityDef
}

// soapAuth is the WS-Security UsernameToken of SOAP calls.
type soapAuth struct{ username, password string }

// New builds a connector for one connection.
func New(cfg erp.Config) (*Connector, error) {
	var s Settings
	if err := cfg.DecodeSettings(&s); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s.Tenant) == "" {
		return nil, fmt.Errorf("connection %s: settings: tenant is required", cfg.Name)
	}
	if s.API == "" {
		s.API = APIREST
	}
	if s.HRVersion == "" {
		s.HRVersion = DefaultHRVersion
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("connection %s: base URL %q is not an http(s) URL", cfg.Name, cfg.BaseURL)
	}
	httpCfg := cfg.HTTP
	if httpCfg.Logger == nil {
		httpCfg.Logger = cfg.Logger()
	}
	c := &Connector{name: cfg.Name, base: base, settings: s, log: cfg.Logger()}
	switch s.API {
	case APIREST:
		if cfg.AuthType != "" && cfg.AuthType != AuthOAuth2 {
			return nil, fmt.Errorf("connection %s: auth type %q: the REST API takes %q", cfg.Name, cfg.AuthType, AuthOAuth2)
		}
		id, err := cfg.Credential("client_id")
		if err != nil {
			return nil, err
		}
		secret, err := cfg.Credential("client_secret")
		if err != nil {
			return nil, err
		}
		refresh, err := cfg.Credential("refresh_token")
		if err != nil {
			return nil, err
		}
		tokenURL := s.TokenURL
		if tokenURL == "" {
			tokenURL = base.String() + "/ccx/oauth2/" + url.PathEscape(s.Tenant) + "/token"
		}
		client := erphttp.New(cfg.Name, cfg.Transport, httpCfg)
		// The token endpoint goes through the same erphttp client (rate
		// limit, breaker, 429/503 retries); the context outlives requests.
		tctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: client})
		c.tokens = newRefreshTokenSource(tctx, &oauth2.Config{
			ClientID:     id,
			ClientSecret: secret,
			Endpoint:     oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		}, refresh, erphttp.DefaultRefreshBefore, cfg.SaveCredentials, cfg.Logger())
		c.http = &http.Client{Transport: &erphttp.Transport{Source: c.tokens, Base: client, Logger: cfg.Logger()}}
		c.entities = restEntities()
	case APISOAP:
		if cfg.AuthType != "" && cfg.AuthType != AuthWSS {
			return nil, fmt.Errorf("connection %s: auth type %q: the SOAP API takes %q", cfg.Name, cfg.AuthType, AuthWSS)
		}
		user, err := cfg.Credential("username")
		if err != nil {
			return nil, err
		}
		pass, err := cfg.Credential("password")
		if err != nil {
			return nil, err
		}
		c.soap = &soapAuth{username: user, password: pass}
		client := erphttp.New(cfg.Name, &soapFaultClassifier{base: cfg.Transport}, httpCfg)
		c.http = &http.Client{Transport: client}
		c.entities = []entityDef{{Entity: erp.Entity{Name: EntityWorkers, Kind: erp.KindWorker}}}
	default:
		return nil, fmt.Errorf("connection %s: settings: api %q is neither %q nor %q", cfg.Name, s.API, APIREST, APISOAP)
	}
	return c, nil
}

// Entities lists what the connector can sync: with the REST API workers,
// suppliers, purchase orders and expense reports; with SOAP workers only.
func (c *Connector) Entities() []erp.Entity {
	out := make([]erp.Entity, len(c.entities))
	for i, e := range c.entities {
		out[i] = e.Entity
	}
	return out
}

// RefreshToken returns the refresh token the connector holds now. Workday
// may rotate refresh tokens on use; the connector keeps the newest in memory,
// and whoever stores the connection should save it (an old one is refused
// once a new one was issued). "" for SOAP connections.
func (c *Connector) RefreshToken() string {
	if c.tokens == nil {
		return ""
	}
	return c.tokens.RefreshToken()
}

// Fetch reads one page of an entity.
func (c *Connector) Fetch(ctx context.Context, entity string, req erp.PageRequest) (erp.Page, error) {
	for _, e := range c.entities {
		if e.Name != entity {
			continue
		}
		if c.soap != nil {
			return c.fetchSOAPWorkers(ctx, req)
		}
		return c.fetchREST(ctx, e, req)
	}
	names := make([]string, len(c.entities))
	for i, e := range c.entities {
		names[i] = e.Name
	}
	return erp.Page{}, fmt.Errorf("workday %s: no entity %q (known: %s)", c.name, entity, strings.Join(names, ", "))
}

// cursor is the state of a paged read, self-contained so that another
// process can resume from it.
type cursor struct {
	Offset int    // REST offset of the next page
	Page   int    // SOAP page number of the next page
	Since  string // the watermark the read filters by ("" = full read)
	Start  string // RFC 3339: when the server says the read started
	Max    string // RFC 3339: latest modification seen so far
	AsOf   string // SOAP As_Of_Entry_DateTime pinned by the first page
}

func (k cursor) encode() string {
	v := url.Values{}
	if k.Page > 0 {
		v.Set("page", strconv.Itoa(k.Page))
	} else {
		v.Set("offset", strconv.Itoa(k.Offset))
	}
	for _, kv := range [][2]string{{"since", k.Since}, {"start", k.Start}, {"max", k.Max}, {"asof", k.AsOf}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v.Encode()
}

// readCursor returns the cursor of req: decoded from req.Cursor, or a fresh
// one starting at the first page.
func readCursor(req erp.PageRequest) (cursor, error) {
	if req.Cursor == "" {
		return cursor{Since: req.Since, Page: 0}, nil
	}
	v, err := url.ParseQuery(req.Cursor)
	if err != nil {
		return cursor{}, fmt.Errorf("cursor %q: %w", req.Cursor, err)
	}
	k := cursor{Since: v.Get("since"), Start: v.Get("start"), Max: v.Get("max"), AsOf: v.Get("asof")}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"offset", &k.Offset}, {"page", &k.Page}} {
		if s := v.Get(f.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return cursor{}, fmt.Errorf("cursor %q: %s is not a non-negative number", req.Cursor, f.name)
			}
			*f.dst = n
		}
	}
	return k, nil
}

// noteModified raises k.Max to t.
func (k *cursor) noteModified(t time.Time) {
	if t.IsZero() {
		return
	}
	if m, err := time.Parse(time.RFC3339Nano, k.Max); err != nil || t.After(m) {
		k.Max = t.UTC().Format(time.RFC3339Nano)
	}
}

// watermark is the Watermark of the last page of a read that found total
// records: the time the server says the read started, else the latest
// modification seen, else the read's own Since.
func (k cursor) watermark(total int) string {
	switch {
	case total == 0:
		return k.Since
	case k.Start != "":
		return k.Start
	case k.Max != "":
		return k.Max
	}
	return k.Since
}

// serverTime reads the Date header of resp as RFC 3339, "" if absent.
func serverTime(resp *http.Response) string {
	t, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// errorf is an error of connection c.
func (c *Connector) errorf(format string, args ...any) error {
	return fmt.Errorf("workday %s: "+format, append([]any{c.name}, args...)...)
}

// tokenDetail describes a token error without credentials.
func tokenDetail(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := ""
		if re.Response != nil {
			status = "HTTP " + re.Response.Status + ": "
		}
		if re.ErrorCode != "" {
			s := status + re.ErrorCode
			if re.ErrorDescription != "" {
				s += ": " + re.ErrorDescription
			}
			return s
		}
		return status + strings.TrimSpace(string(re.Body))
	}
	return err.Error()
}
