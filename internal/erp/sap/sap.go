// Package sap is GreenLang's connector to SAP S/4HANA (Cloud and on-premise)
// through its OData v2 APIs, and a simulator of those APIs.
//
// It reads purchase order lines (API_PURCHASEORDER_PROCESS_SRV), suppliers
// (API_BUSINESS_PARTNER), products (API_PRODUCT_SRV) and general-ledger
// line items (API_JOURNALENTRYITEMBASIC_SRV) into the erp model, pages with
// $top/$skip or the server's __next link, reads incrementally with
// $filter=LastChangeDateTime ge datetimeoffset'…', authenticates with OAuth
// 2.0 client credentials (SAP BTP) or basic authentication (on-premise),
// and posts carbon-accounting journal entries back with SAP's CSRF token
// handshake. README.md in this directory documents the mapping.
package sap

import (
	"context"
	_ "embed" // sample.json
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// System is the name connections use for SAP S/4HANA.
const System = "sap"

// Auth types of a connection.
const (
	AuthOAuth2 = "oauth2" // client credentials: client_id, client_secret; setting token_url
	AuthBasic  = "basic"  // user, password (communication user on-premise)
)

// Default settings.
const (
	DefaultPageSize       = 1000 // records per page; purchase orders: DefaultPOPageSize
	DefaultPOPageSize     = 200  // purchase orders (≈ 1,000 lines) per $expand page
	MaxPageSize           = 5000 // SAP Gateway's limit on $top in this connector
	DefaultLanguage       = "EN"
	DefaultLedger         = "0L"
	DefaultJournalService = "/sap/opu/odata/sap/ZGL_CARBON_JOURNAL_SRV/JournalEntries"
)

//go:embed sample.json
var sample string

// Factory returns the SAP S/4HANA factory for the registry.
func Factory() erp.Factory {
	return erp.Factory{
		System: System,
		Title:  "SAP S/4HANA",
		New:    func(cfg erp.Config) (erp.Connector, error) { return New(cfg) },
		Sample: sample,
		NewSimulator: func(o erp.SimOptions) erp.Simulator {
			return NewSimulator(o)
		},
	}
}

// Settings are the connection's settings (erp.Config.Settings).
type Settings struct {
	// SAPClient is the sap-client sent with every request ("100"); empty
	// lets the system use its default client.
	SAPClient string `json:"sap_client,omitempty"`
	// TokenURL is the OAuth token endpoint (oauth2), e.g. SAP BTP's
	// https://<subdomain>.authentication.<region>.hana.ondemand.com/oauth/token.
	TokenURL string   `json:"token_url,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	// PageSize is the $top of a page when the sync asks for none: records,
	// or purchase orders for purchase_orders (each with its items).
	PageSize int `json:"page_size,omitempty"`
	// ServerPaging omits $top and follows the gateway's __next links only
	// (for services with server-side paging).
	ServerPaging bool `json:"server_paging,omitempty"`
	// Language picks the product description (to_Description); default EN.
	Language string `json:"language,omitempty"`
	// Ledger filters journal entry items; default "0L" (the leading ledger).
	Ledger string `json:"ledger,omitempty"`
	// JournalService is the entity set PostJournal posts to.
	JournalService string `json:"journal_service,omitempty"`
	// Entities limits what is synced (default: all of Entities()).
	Entities []string `json:"entities,omitempty"`
}

// Connector reads one SAP S/4HANA system. It is safe for concurrent use.
type Connector struct {
	cfg     erp.Config
	set     Settings
	base    *url.URL // BaseURL without a trailing slash
	http    *http.Client
	tokens  *erphttp.TokenSource // nil with basic auth
	ents    []*entity
	csrfMu  sync.Mutex
	csrfTok string // the last CSRF token fetched, "" for none
}

var _ erp.Connector = (*Connector)(nil)
var _ erp.JournalPoster = (*Connector)(nil)

// New builds a connector from a stored connection. It checks the settings
// and that the credentials of the auth type are present; it sends nothing.
func New(cfg erp.Config) (*Connector, error) {
	var s Settings
	if err := cfg.DecodeSettings(&s); err != nil {
		return nil, err
	}
	if s.PageSize < 0 || s.PageSize > MaxPageSize {
		return nil, fmt.Errorf("connection %s: settings: page_size %d is not within 1…%d", cfg.Name, s.PageSize, MaxPageSize)
	}
	if s.Language == "" {
		s.Language = DefaultLanguage
	}
	if s.Ledger == "" {
		s.Ledger = DefaultLedger
	}
	if s.JournalService == "" {
		s.JournalService = DefaultJournalService
	}
	if !strings.HasPrefix(s.JournalService, "/") || !strings.Contains(strings.TrimSuffix(s.JournalService, "/"), "/") {
		return nil, fmt.Errorf("connection %s: settings: journal_service %q must be an absolute path to an entity set", cfg.Name, s.JournalService)
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("connection %s: base_url %q is not an http(s) URL", cfg.Name, cfg.BaseURL)
	}
	if base.User != nil || base.RawQuery != "" {
		return nil, fmt.Errorf("connection %s: base_url must not carry user information or a query", cfg.Name)
	}
	c := &Connector{cfg: cfg, set: s, base: base}
	all := entities(s)
	if len(s.Entities) == 0 {
		c.ents = all
	} else {
		for _, name := range s.Entities {
			e := findEntity(all, name)
			if e == nil {
				return nil, fmt.Errorf("connection %s: settings: entities: unknown entity %q (known: purchase_orders, suppliers, materials, gl_entries)", cfg.Name, name)
			}
			c.ents = append(c.ents, e)
		}
	}

	client := erphttp.New(cfg.Name, cfg.Transport, withLogger(cfg))
	jar, _ := cookiejar.New(nil) // never fails without options
	var rt http.RoundTripper
	switch cfg.AuthType {
	case AuthOAuth2, "oauth2_client_credentials":
		id, err := cfg.Credential("client_id")
		if err != nil {
			return nil, err
		}
		secret, err := cfg.Credential("client_secret")
		if err != nil {
			return nil, err
		}
		if s.TokenURL == "" {
			return nil, fmt.Errorf("connection %s: settings: token_url is required with auth type oauth2", cfg.Name)
		}
		if u, err := url.Parse(s.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("connection %s: settings: token_url is not an http(s) URL", cfg.Name)
		}
		// The token request goes through the same erphttp client (rate
		// limit, breaker, retries on 429/503), not http.DefaultClient.
		tctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: client})
		c.tokens = erphttp.ClientCredentials(tctx, s.TokenURL, id, secret, s.Scopes, nil, time.Minute)
		rt = &erphttp.Transport{Source: c.tokens, Base: client, Logger: cfg.Logger()}
	case AuthBasic:
		user, err := cfg.Credential("user")
		if err != nil {
			return nil, err
		}
		pw, err := cfg.Credential("password")
		if err != nil {
			return nil, err
		}
		rt = &basicTransport{user: user, password: pw, base: client}
	default:
		return nil, fmt.Errorf("connection %s: auth type %q is not supported by SAP (use %s or %s)", cfg.Name, cfg.AuthType, AuthOAuth2, AuthBasic)
	}
	c.http = &http.Client{Transport: rt, Jar: jar}
	return c, nil
}

func withLogger(cfg erp.Config) erphttp.Config {
	h := cfg.HTTP
	if h.Logger == nil {
		h.Logger = cfg.Logger()
	}
	return h
}

// basicTransport adds HTTP basic authentication.
type basicTransport struct {
	user, password string
	base           http.RoundTripper
}

func (t *basicTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.user, t.password)
	return t.base.RoundTrip(r)
}

// Entities lists what the connector syncs.
func (c *Connector) Entities() []erp.Entity {
	out := make([]erp.Entity, len(c.ents))
	for i, e := range c.ents {
		out[i] = erp.Entity{Name: e.name, Kind: e.kind, Incremental: e.modifiedField != ""}
	}
	return out
}

func (c *Connector) entity(name string) (*entity, error) {
	if e := findEntity(c.ents, name); e != nil {
		return e, nil
	}
	names := make([]string, len(c.ents))
	for i, e := range c.ents {
		names[i] = e.name
	}
	return nil, fmt.Errorf("sap: connection %s: unknown entity %q (this connection syncs %s)", c.cfg.Name, name, strings.Join(names, ", "))
}

// requestError is the error of a response that is not a success: the
// status and the vendor's message.
type requestError struct {
	Method, Path string
	Status       string
	Code         int
	Message      string
}

func (e *requestError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %s: %s", e.Method, e.Path, e.Status, e.Message)
}

// cleanErr turns an http.Client error into the erphttp error inside it
// (which names the connection, the redacted URL and the attempts), or the
// error itself.
func cleanErr(err error) error {
	var he *erphttp.Error
	if errors.As(err, &he) {
		return he
	}
	var te *erphttp.TokenError
	if errors.As(err, &te) {
		return te
	}
	var ce *erphttp.CircuitOpenError
	if errors.As(err, &ce) {
		return ce
	}
	return err
}
