package dynamics

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
)

// Simulator is a Dynamics 365 Business Central online stand-in: the
// Microsoft Entra ID client-credentials token endpoint and the API v2.0
// (OData v4) endpoints the connector reads, with server-driven paging,
// change tracking (delta links), Business Central error bodies and
// throttling. Its test controls are safe for use while it serves.
type Simulator struct {
	now          func() time.Time
	clientID     string
	clientSecret string
	environment  string

	mu       sync.RWMutex
	d        *simData
	tables   map[string]*simTable // by entity set name
	version  uint64               // last change sequence issued
	minDelta uint64               // delta tokens below this are gone (410)
	orderID  map[string]*simOrder
	lineKey  map[string]*simLine // "<order id>/<sequence>"
	rng      *mrand.Rand

	ctl        sync.Mutex
	throttle   int
	retryAfter time.Duration
	failN      int
	failStatus int
	malformN   int
	delay      time.Duration
	rateN      int
	rateWindow time.Duration
	rateLog    []time.Time

	tokMu  sync.Mutex
	tokens map[string]time.Time // access token → expiry

	requests atomic.Int64
}

// simEntity is one entity of a simulated entity set.
type simEntity interface{ base() *meta }

func (m *meta) base() *meta { return m }

// simTable is an entity set: its entities in key order and its change log
// (entity index by change sequence, ascending in version and in modified
// time), which serves $filter on lastModifiedDateTime and delta links.
type simTable struct {
	set, typ string
	recs     []simEntity
	log      []change
	lastMod  time.Time
	props    map[string]bool // property names, for $select
}

type change struct {
	version  uint64
	idx      int
	modified time.Time
}

// Simulator constants: the defaults a Connection gets.
const (
	simEnvironment = "production"
	simScope       = "https://api.businesscentral.dynamics.com/.default"
	tokenLifetime  = 3599 * time.Second
	maxPageSize    = 20000 // Business Central's cap per page
)

// NewSimulator returns a simulator with opts.Records purchase order lines
// (default 5000) and vendors, items and G/L entries in proportion.
func NewSimulator(opts erp.SimOptions) *Simulator {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	d := generate(opts.Records, opts.Seed)
	r := mrand.New(mrand.NewPCG(opts.Seed^0xd1b54a32d192ed03, opts.Seed+1))
	s := &Simulator{
		now: now, clientID: guid(r), clientSecret: "sim~" + strconv.FormatUint(r.Uint64(), 36) + strconv.FormatUint(r.Uint64(), 36),
		environment: simEnvironment, d: d, tables: map[string]*simTable{}, orderID: map[string]*simOrder{},
		lineKey: map[string]*simLine{}, rng: r, tokens: map[string]time.Time{},
	}
	s.addTable("vendors", "vendor", d.vendors, simVendor{})
	s.addTable("items", "item", d.items, simItem{})
	s.addTable("purchaseOrders", "purchaseOrder", d.orders, simOrder{})
	s.addTable("generalLedgerEntries", "generalLedgerEntry", d.gl, simGLEntry{})
	for _, o := range d.orders {
		s.orderID[o.ID] = o
		for _, l := range o.lines {
			s.lineKey[o.ID+"/"+strconv.Itoa(l.Sequence)] = l
		}
	}
	return s
}

func addEntities[T simEntity](recs []T) []simEntity {
	out := make([]simEntity, len(recs))
	for i, r := range recs {
		out[i] = r
	}
	return out
}

// addTable registers an entity set, numbering its entities' versions in
// the order of their modified times.
func (s *Simulator) addTable(set, typ string, recs any, zero any) {
	var es []simEntity
	switch v := recs.(type) {
	case []*simVendor:
		es = addEntities(v)
	case []*simItem:
		es = addEntities(v)
	case []*simOrder:
		es = addEntities(v)
	case []*simGLEntry:
		es = addEntities(v)
	}
	t := &simTable{set: set, typ: typ, recs: es, props: map[string]bool{}}
	b, _ := json.Marshal(zero)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	for k := range m {
		t.props[k] = true
	}
	order := make([]int, len(es))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return es[a].base().modified.Compare(es[b].base().modified) })
	for _, i := range order {
		s.version++
		m := es[i].base()
		m.modified = m.modified.Truncate(time.Millisecond) // as rendered
		m.version = s.version
		t.log = append(t.log, change{version: s.version, idx: i, modified: m.modified})
		t.lastMod = m.modified
		setETag(es[i])
	}
	s.tables[set] = t
}

// setETag refreshes an entity's @odata.etag from its version.
func setETag(e simEntity) {
	switch v := e.(type) {
	case *simVendor:
		v.ETag = etag(v.version)
	case *simItem:
		v.ETag = etag(v.version)
	case *simOrder:
		v.ETag = etag(v.version)
		for _, l := range v.lines {
			l.ETag = etag(l.version)
		}
	case *simGLEntry:
		v.ETag = etag(v.version)
	}
}

// touch records a change of entity idx of t: a new version and a
// lastModifiedDateTime that never goes back. Callers hold s.mu.
func (s *Simulator) touch(t *simTable, idx int) *meta {
	s.version++
	m := t.recs[idx].base()
	mod := s.now().UTC().Truncate(time.Millisecond)
	if !mod.After(t.lastMod) {
		mod = t.lastMod.Add(time.Millisecond)
	}
	t.lastMod = mod
	m.version, m.modified = s.version, mod
	m.cache.Store(nil)
	t.log = append(t.log, change{version: s.version, idx: idx, modified: mod})
	switch v := t.recs[idx].(type) {
	case *simVendor:
		v.LastModifiedDateTime = bcTime(mod)
	case *simItem:
		v.LastModifiedDateTime = bcTime(mod)
	case *simOrder:
		v.LastModifiedDateTime = bcTime(mod)
	case *simGLEntry:
		v.LastModifiedDateTime = bcTime(mod)
	}
	return m
}

// Connection returns what a connector needs to use the simulator at
// baseURL: OAuth 2.0 client credentials and the tenant, environment,
// company and token URL settings.
func (s *Simulator) Connection(baseURL string) (string, map[string]string, json.RawMessage) {
	base := strings.TrimRight(baseURL, "/")
	set, _ := json.Marshal(Settings{
		TenantID: s.d.tenant, Environment: s.environment, CompanyID: s.d.companyID,
		TokenURL: base + "/" + s.d.tenant + "/oauth2/v2.0/token",
	})
	return AuthOAuth2, map[string]string{"client_id": s.clientID, "client_secret": s.clientSecret}, set
}

// Counts returns how many live entities each entity set holds, and the
// live purchase order lines under "purchaseOrderLines".
func (s *Simulator) Counts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{}
	for name, t := range s.tables {
		for _, e := range t.recs {
			if !e.base().deleted {
				out[name]++
			}
		}
	}
	for _, o := range s.d.orders {
		for _, l := range o.lines {
			if !l.deleted {
				out["purchaseOrderLines"]++
			}
		}
	}
	return out
}

// Requests returns the number of API (data) requests received, token
// requests excluded.
func (s *Simulator) Requests() int64 { return s.requests.Load() }

// Throttle makes the next n API requests fail with 429 and Retry-After.
func (s *Simulator) Throttle(n int, retryAfter time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.throttle, s.retryAfter = n, retryAfter
}

// FailNext makes the next n API requests fail with status (a 5xx) and a
// Business Central error body.
func (s *Simulator) FailNext(n, status int) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.failN, s.failStatus = n, status
}

// MalformNext makes the next n pages of entities truncated JSON.
func (s *Simulator) MalformNext(n int) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.malformN = n
}

// Delay makes every API response wait d (or until the request is
// cancelled); 0 turns it off.
func (s *Simulator) Delay(d time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.delay = d
}

// SetRateLimit enforces at most n API requests per sliding window (Business
// Central online allows 6000 per 5 minutes per user); excess requests get
// 429 with Retry-After. n ≤ 0 turns it off.
func (s *Simulator) SetRateLimit(n int, window time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.rateN, s.rateWindow, s.rateLog = n, window, nil
}

// ExpireTokens invalidates every access token issued so far.
func (s *Simulator) ExpireTokens() {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	clear(s.tokens)
}

// ExpireDeltaLinks makes every delta link issued so far answer 410 Gone,
// as Business Central does when change tracking data has been cleaned up.
func (s *Simulator) ExpireDeltaLinks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++ // a clean-up point: links issued from now on stay valid
	s.minDelta = s.version
}

// Mutate changes the quantity and amounts of changed purchase order lines
// and deletes deleted others; see MutateKeys.
func (s *Simulator) Mutate(changed, deleted int) { s.MutateKeys(changed, deleted) }

// MutateKeys changes changed purchase order lines (quantity, amounts) and
// deletes deleted others, each a distinct live line, and returns their
// keys ("<order id>/<sequence>"). Every order touched gets a new
// lastModifiedDateTime, so a delta link then returns it with the changed
// lines and the removed ones (as @removed entries).
func (s *Simulator) MutateKeys(changed, deleted int) (changedKeys, deletedKeys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables["purchaseOrders"]
	live := 0
	for _, o := range s.d.orders {
		for _, l := range o.lines {
			if !l.deleted {
				live++
			}
		}
	}
	seen := map[*simLine]bool{}
	pick := func() (int, *simOrder, *simLine) {
		for {
			i := s.rng.IntN(len(s.d.orders))
			o := s.d.orders[i]
			l := o.lines[s.rng.IntN(len(o.lines))]
			if !l.deleted && !seen[l] {
				seen[l] = true
				return i, o, l
			}
		}
	}
	for n := 0; n < changed+deleted && len(seen) < live; n++ {
		i, o, l := pick()
		m := s.touch(t, i)
		l.version, l.modified = m.version, m.modified
		key := o.ID + "/" + strconv.Itoa(l.Sequence)
		if n < changed {
			places := int32(2)
			if o.CurrencyCode == "JPY" {
				places = 0
			}
			factor := decimal.New(int64(50+s.rng.IntN(101)), -2) // 0.50 … 1.50
			qty := l.Quantity.d.Mul(factor).Round(2)
			if qty.IsZero() {
				qty = decimal.NewFromInt(1)
			}
			setLineAmounts(l, qty, l.DirectUnitCost.d, places)
			changedKeys = append(changedKeys, key)
		} else {
			l.deleted = true
			deletedKeys = append(deletedKeys, key)
		}
		setOrderTotals(o)
		setETag(o)
	}
	return changedKeys, deletedKeys
}

// DeleteOrder deletes the purchase order with number, as Business Central
// does once an order is fully received and invoiced: a delta link then
// returns it as an @removed entry naming only its id, which it returns.
func (s *Simulator) DeleteOrder(number string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables["purchaseOrders"]
	for i, o := range s.d.orders {
		if o.Number != number {
			continue
		}
		if o.deleted {
			return "", fmt.Errorf("purchase order %s is deleted already", number)
		}
		s.touch(t, i)
		o.deleted = true
		for _, l := range o.lines {
			l.deleted = true
		}
		return o.ID, nil
	}
	return "", fmt.Errorf("no purchase order %s", number)
}

// InjectBad makes the record with key (an erp.Record key: "<order id>/<sequence>"
// for a purchase order line, the vendor or item id or number, or
// "<document>/<entry number>" for a G/L entry) carry a bad value in field:
//
//   - lines: quantity, directUnitCost, netAmount ("12,5", a string) or the
//     order's currencyCode ("XXQ"), orderDate ("2025-02-30"), number ("");
//   - vendors: number, displayName ("");
//   - items: number ("");
//   - G/L entries: postingDate ("31.12.2025"), debitAmount ("n/a"),
//     accountNumber ("").
//
// The change gets a new version, so a delta read sees it too.
func (s *Simulator) InjectBad(key, field string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	badNum := num{bad: `"12,5"`}
	if l, ok := s.lineKey[key]; ok {
		o := s.orderID[key[:strings.LastIndex(key, "/")]]
		switch field {
		case "quantity":
			l.Quantity = badNum
		case "directUnitCost":
			l.DirectUnitCost = badNum
		case "netAmount":
			l.NetAmount = badNum
		case "currencyCode":
			o.CurrencyCode = "XXQ"
		case "orderDate":
			o.OrderDate = "2025-02-30"
		case "number":
			o.Number = ""
		default:
			return fmt.Errorf("dynamics simulator: cannot make field %q of a purchase order line bad", field)
		}
		t := s.tables["purchaseOrders"]
		for i, e := range t.recs {
			if e == simEntity(o) {
				m := s.touch(t, i)
				l.version, l.modified = m.version, m.modified
			}
		}
		setETag(o)
		return nil
	}
	for _, set := range []string{"vendors", "items", "generalLedgerEntries"} {
		t := s.tables[set]
		for i, e := range t.recs {
			ok := false
			switch v := e.(type) {
			case *simVendor:
				if ok = v.ID == key || v.Number == key; ok {
					switch field {
					case "number":
						v.Number = ""
					case "displayName":
						v.DisplayName = ""
					default:
						return fmt.Errorf("dynamics simulator: cannot make field %q of a vendor bad", field)
					}
				}
			case *simItem:
				if ok = v.ID == key || v.Number == key; ok {
					if field != "number" {
						return fmt.Errorf("dynamics simulator: cannot make field %q of an item bad", field)
					}
					v.Number = ""
				}
			case *simGLEntry:
				if ok = v.DocumentNumber+"/"+strconv.Itoa(v.EntryNumber) == key || v.ID == key; ok {
					switch field {
					case "postingDate":
						v.PostingDate = "31.12.2025"
					case "debitAmount":
						v.DebitAmount = num{bad: `"n/a"`}
					case "accountNumber":
						v.AccountNumber = ""
					default:
						return fmt.Errorf("dynamics simulator: cannot make field %q of a G/L entry bad", field)
					}
				}
			}
			if ok {
				s.touch(t, i)
				setETag(e)
				return nil
			}
		}
	}
	return fmt.Errorf("dynamics simulator: no record %q", key)
}

// ServeHTTP serves the token endpoint (POST /{tenant}/oauth2/v2.0/token)
// and the API (GET /v2.0/{tenant}/{environment}/api/v2.0/companies…).
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		s.serveToken(w, r)
		return
	}
	s.requests.Add(1)
	if !s.admit(w, r) {
		return
	}
	if r.Method != http.MethodGet {
		bcError(w, http.StatusMethodNotAllowed, "BadRequest_MethodNotAllowed", "The simulator serves GET requests only.")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/`+s.d.tenant+`/oauth2/authorize", resource_id="https://api.businesscentral.dynamics.com"`)
		bcError(w, http.StatusUnauthorized, "Authentication_InvalidCredentials", "The server has rejected the client credentials.")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	// v2.0 {tenant} {environment} api v2.0 companies(…) [set]
	if len(parts) < 6 || len(parts) > 7 || parts[0] != "v2.0" || parts[3] != "api" || parts[4] != "v2.0" {
		bcError(w, http.StatusNotFound, "BadRequest_NotFound", "No HTTP resource was found that matches the request URI '"+r.URL.Path+"'.")
		return
	}
	if parts[1] != s.d.tenant {
		bcError(w, http.StatusUnauthorized, "Authentication_InvalidCredentials", "The server has rejected the client credentials.")
		return
	}
	if parts[2] != s.environment {
		bcError(w, http.StatusNotFound, "NoEnvironment", "Environment '"+parts[2]+"' does not exist in tenant '"+s.d.tenant+"'.")
		return
	}
	if len(parts) == 6 && parts[5] == "companies" {
		s.serveCompanies(w, r, true)
		return
	}
	if parts[5] != "companies("+s.d.companyID+")" {
		bcError(w, http.StatusNotFound, "BadRequest_NotFound", "The company '"+strings.TrimSuffix(strings.TrimPrefix(parts[5], "companies("), ")")+"' does not exist.")
		return
	}
	if len(parts) == 6 {
		s.serveCompanies(w, r, false)
		return
	}
	t := s.tables[parts[6]]
	if t == nil {
		bcError(w, http.StatusNotFound, "BadRequest_NotFound", "Resource not found for the segment '"+parts[6]+"'.")
		return
	}
	s.serveSet(w, r, t)
}

// admit applies the test controls and the rate limit; false: answered.
func (s *Simulator) admit(w http.ResponseWriter, r *http.Request) bool {
	s.ctl.Lock()
	delay := s.delay
	var status int
	var retry time.Duration
	switch {
	case s.throttle > 0:
		s.throttle--
		status, retry = http.StatusTooManyRequests, s.retryAfter
	case s.failN > 0:
		s.failN--
		status = s.failStatus
	case s.rateN > 0:
		now := s.now()
		cut := 0
		for cut < len(s.rateLog) && now.Sub(s.rateLog[cut]) >= s.rateWindow {
			cut++
		}
		s.rateLog = s.rateLog[cut:]
		if len(s.rateLog) >= s.rateN {
			status, retry = http.StatusTooManyRequests, s.rateWindow-now.Sub(s.rateLog[0])
		} else {
			s.rateLog = append(s.rateLog, now)
		}
	}
	s.ctl.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return false
		case <-t.C:
		}
	}
	switch {
	case status == http.StatusTooManyRequests:
		secs := int((retry + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 0)))
		bcError(w, status, "Application_TooManyRequests", "Too many requests: the rate limit of the environment has been exceeded. Retry later.")
		return false
	case status >= 500:
		code := map[int]string{500: "Internal_ServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}[status]
		if code == "" {
			code = "Internal_ServerError"
		}
		bcError(w, status, code, "The service is temporarily unavailable: "+http.StatusText(status)+".")
		return false
	}
	return true
}

// bcError writes a Business Central (OData v4) error body.
func bcError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]map[string]string{"error": {"code": code, "message": message + "  CorrelationId:  " + rand.Text() + "."}})
	_, _ = w.Write(b)
}

// serveToken is Microsoft Entra ID's v2.0 token endpoint for the client
// credentials grant (secret in the form or in HTTP Basic auth).
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request) {
	tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	if r.Method != http.MethodPost {
		entraError(w, http.StatusBadRequest, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a "+r.Method+" request.")
		return
	}
	if err := r.ParseForm(); err != nil {
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	scope := r.PostForm.Get("scope")
	switch {
	case tenant != s.d.tenant:
		entraError(w, http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
	case r.PostForm.Get("grant_type") != "client_credentials":
		entraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+r.PostForm.Get("grant_type")+"'.")
	case id != s.clientID:
		entraError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+id+"' was not found in the directory '"+tenant+"'. This can happen if the application has not been installed by the administrator of the tenant.")
	case secret != s.clientSecret:
		entraError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+id+"'.")
	case !strings.HasSuffix(scope, "/.default"):
		entraError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+scope+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
	case scope != simScope:
		entraError(w, http.StatusBadRequest, "invalid_resource", 500011, "The resource principal named "+strings.TrimSuffix(scope, "/.default")+" was not found in the tenant named "+tenant+".")
	default:
		tok := rand.Text() + rand.Text()
		s.tokMu.Lock()
		s.tokens[tok] = s.now().Add(tokenLifetime)
		s.tokMu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store, no-cache")
		secs := int(tokenLifetime / time.Second)
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
	}
}

// entraError writes a Microsoft Entra ID OAuth error body.
func entraError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	trace, corr := rand.Text(), rand.Text()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, trace, corr, ts),
		"error_codes":       []int{aadsts}, "timestamp": ts, "trace_id": trace, "correlation_id": corr,
		"error_uri": fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts),
	})
}

func (s *Simulator) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.now().Before(exp)
}

func (s *Simulator) serveCompanies(w http.ResponseWriter, r *http.Request, list bool) {
	c := map[string]any{
		"id": s.d.companyID, "systemVersion": "25.3.28755.29999", "timestamp": 1234, "name": s.d.companyName,
		"displayName": s.d.companyName, "businessProfileId": "", "systemCreatedAt": "2024-11-02T08:15:00Z",
		"systemCreatedBy": zeroGUID, "systemModifiedAt": "2024-11-02T08:15:00Z", "systemModifiedBy": zeroGUID,
	}
	ctx := apiRoot(r, s.d.tenant, s.environment) + "/$metadata#companies"
	var body any
	if list {
		body = map[string]any{"@odata.context": ctx, "value": []any{c}}
	} else {
		c["@odata.context"] = ctx + "/$entity"
		body = c
	}
	writeJSON(w, body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true")
	w.Header().Set("OData-Version", "4.0")
	_ = json.NewEncoder(w).Encode(v)
}

// apiRoot is the absolute URL of the API root the request came to.
func apiRoot(r *http.Request, tenant, env string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/v2.0/" + tenant + "/" + env + "/api/v2.0"
}

// skip is the state a $skiptoken carries: what kind of read, the change
// sequence it reads up to, where it is, and (delta) where it started.
type skip struct {
	mode byte   // 'f' full read in key order, 'm' $filter on lastModifiedDateTime, 'd' delta
	snap uint64 // the read includes changes up to this sequence
	pos  int    // next entity index ('f') or change log position ('m', 'd')
	from uint64 // delta: changes after this sequence
}

func (k skip) encode() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%c.%d.%d.%d", k.mode, k.snap, k.pos, k.from))
}

func decodeSkip(s string) (skip, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return skip{}, false
	}
	var k skip
	if _, err := fmt.Sscanf(string(b), "%c.%d.%d.%d", &k.mode, &k.snap, &k.pos, &k.from); err != nil || !strings.ContainsRune("fmd", rune(k.mode)) || k.pos < 0 {
		return skip{}, false
	}
	return k, true
}

func deltaToken(v uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("CT." + strconv.FormatUint(v, 10)))
}

func decodeDelta(s string) (uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	v, ok := strings.CutPrefix(string(b), "CT.")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

// preferences parses the Prefer header: odata.maxpagesize and
// odata.track-changes.
func preferences(r *http.Request) (size int, sizeAsked, track bool) {
	size = maxPageSize
	for _, h := range r.Header.Values("Prefer") {
		for p := range strings.SplitSeq(h, ",") {
			p = strings.TrimSpace(p)
			if v, ok := strings.CutPrefix(p, "odata.maxpagesize="); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					size, sizeAsked = min(n, maxPageSize), true
				}
			} else if p == "odata.track-changes" {
				track = true
			}
		}
	}
	return size, sizeAsked, track
}

// serveSet serves one page of an entity set.
func (s *Simulator) serveSet(w http.ResponseWriter, r *http.Request, t *simTable) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "$expand", "$select", "$filter", "$skiptoken", "$deltatoken":
		default:
			if strings.HasPrefix(k, "$") {
				bcError(w, http.StatusBadRequest, "BadRequest", "The query parameter '"+k+"' is not supported.")
				return
			}
		}
	}
	expand := false
	if e := q.Get("$expand"); e != "" {
		if t.set != "purchaseOrders" || e != "purchaseOrderLines" {
			bcError(w, http.StatusBadRequest, "BadRequest", "Could not find a property named '"+e+"' on type 'Microsoft.NAV."+t.typ+"'.")
			return
		}
		expand = true
	}
	var sel []string
	if v := q.Get("$select"); v != "" {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			if !t.props[p] {
				bcError(w, http.StatusBadRequest, "BadRequest", "Could not find a property named '"+p+"' on type 'Microsoft.NAV."+t.typ+"'.")
				return
			}
			sel = append(sel, p)
		}
	}
	size, sizeAsked, track := preferences(r)

	s.mu.RLock()
	defer s.mu.RUnlock()
	var k skip
	switch {
	case q.Get("$skiptoken") != "":
		var ok bool
		if k, ok = decodeSkip(q.Get("$skiptoken")); !ok || k.snap > s.version {
			bcError(w, http.StatusBadRequest, "BadRequest", "The skip token is not valid.")
			return
		}
	case q.Get("$deltatoken") != "":
		from, ok := decodeDelta(q.Get("$deltatoken"))
		if !ok || from < s.minDelta || from > s.version {
			full := *r.URL
			fq := r.URL.Query()
			fq.Del("$deltatoken")
			full.RawQuery = fq.Encode()
			w.Header().Set("Location", full.String())
			bcError(w, http.StatusGone, "BadRequest_ResourceGone", "The delta token is no longer valid. Request the resource again without a delta token to get a new baseline.")
			return
		}
		k = skip{mode: 'd', snap: s.version, from: from}
		k.pos = sort.Search(len(t.log), func(i int) bool { return t.log[i].version > from })
	case q.Get("$filter") != "":
		since, ge, err := parseModifiedFilter(q.Get("$filter"))
		if err != nil {
			bcError(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		k = skip{mode: 'm', snap: s.version}
		k.pos = sort.Search(len(t.log), func(i int) bool {
			return t.log[i].modified.After(since) || (ge && t.log[i].modified.Equal(since))
		})
	default:
		k = skip{mode: 'f', snap: s.version}
	}

	root := apiRoot(r, s.d.tenant, s.environment)
	context := root + "/$metadata#companies(" + s.d.companyID + ")/" + t.set
	if k.mode == 'd' {
		context += "/$delta"
	}
	buf := make([]byte, 0, 1024*min(size, 500))
	buf = append(buf, `{"@odata.context":`...)
	buf = strconv.AppendQuote(buf, context)
	buf = append(buf, `,"value":[`...)
	n := 0
	add := func(e simEntity) {
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		buf = s.render(buf, t, e, k, expand, sel)
	}
	done := false
	if k.mode == 'f' {
		for ; k.pos < len(t.recs) && n < size; k.pos++ {
			if e := t.recs[k.pos]; !e.base().deleted {
				add(e)
			}
		}
		done = k.pos >= len(t.recs)
	} else {
		for ; k.pos < len(t.log) && n < size; k.pos++ {
			c := t.log[k.pos]
			if c.version > k.snap {
				break
			}
			e := t.recs[c.idx]
			if e.base().version != c.version || (k.mode == 'm' && e.base().deleted) {
				continue // superseded by a later change
			}
			add(e)
		}
		done = k.pos >= len(t.log) || t.log[k.pos].version > k.snap
	}
	buf = append(buf, ']')
	link := *r.URL
	link.Scheme, link.Host = "", ""
	lq := r.URL.Query()
	lq.Del("$skiptoken")
	lq.Del("$deltatoken")
	if done {
		lq.Del("$filter")
		lq.Set("$deltatoken", deltaToken(k.snap))
		buf = append(buf, `,"@odata.deltaLink":`...)
	} else {
		lq.Set("$skiptoken", k.encode())
		buf = append(buf, `,"@odata.nextLink":`...)
	}
	link.RawQuery = lq.Encode()
	buf = strconv.AppendQuote(buf, strings.TrimSuffix(root, "/v2.0/"+s.d.tenant+"/"+s.environment+"/api/v2.0")+link.String())
	buf = append(buf, '}')

	var applied []string
	if sizeAsked {
		applied = append(applied, "odata.maxpagesize="+strconv.Itoa(size))
	}
	if track {
		applied = append(applied, "odata.track-changes")
	}
	if len(applied) > 0 {
		w.Header().Set("Preference-Applied", strings.Join(applied, ","))
	}
	s.ctl.Lock()
	malform := s.malformN > 0
	if malform {
		s.malformN--
	}
	s.ctl.Unlock()
	if malform {
		buf = buf[:len(buf)/2]
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true")
	w.Header().Set("OData-Version", "4.0")
	_, _ = w.Write(buf)
}

// parseModifiedFilter reads "lastModifiedDateTime gt|ge <DateTimeOffset>",
// the one $filter the simulator supports.
func parseModifiedFilter(f string) (time.Time, bool, error) {
	fields := strings.Fields(f)
	if len(fields) != 3 || fields[0] != "lastModifiedDateTime" || (fields[1] != "gt" && fields[1] != "ge") {
		return time.Time{}, false, fmt.Errorf("the simulator supports only $filter=lastModifiedDateTime gt|ge <DateTimeOffset>, not %q", f)
	}
	t, err := time.Parse(time.RFC3339Nano, fields[2])
	if err != nil {
		return time.Time{}, false, fmt.Errorf("the query specified in the URI is not valid: %q is not a DateTimeOffset", fields[2])
	}
	return t, fields[1] == "ge", nil
}

// render appends one entity: a removed entry if deleted (delta reads), else
// its properties, with the order's lines when expanded (in a delta read
// only the lines changed since the delta token, deleted ones as @removed
// entries in purchaseOrderLines@delta).
func (s *Simulator) render(buf []byte, t *simTable, e simEntity, k skip, expand bool, sel []string) []byte {
	var id string
	switch v := e.(type) {
	case *simVendor:
		id = v.ID
	case *simItem:
		id = v.ID
	case *simOrder:
		id = v.ID
	case *simGLEntry:
		id = v.ID
	}
	m := e.base()
	if m.deleted {
		return fmt.Appendf(buf, `{"@removed":{"reason":"deleted"},"@id":"%s(%s)","id":"%s"}`, t.set, id, id)
	}
	_, isOrder := e.(*simOrder)
	cacheable := sel == nil && k.mode != 'd' && (expand || !isOrder)
	if cacheable {
		if c := m.cache.Load(); c != nil {
			return append(buf, *c...)
		}
		start := len(buf)
		buf = s.renderFresh(buf, e, k, expand, nil)
		c := slices.Clone(buf[start:])
		m.cache.Store(&c)
		return buf
	}
	return s.renderFresh(buf, e, k, expand, sel)
}

// renderFresh renders a live entity (see render) without the cache.
func (s *Simulator) renderFresh(buf []byte, e simEntity, k skip, expand bool, sel []string) []byte {
	b, _ := json.Marshal(e)
	if sel != nil {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(b, &m)
		out := []byte(`{"@odata.etag":`)
		out = append(out, m["@odata.etag"]...)
		for _, p := range sel {
			out = append(out, ',')
			out = strconv.AppendQuote(out, p)
			out = append(out, ':')
			out = append(out, m[p]...)
		}
		b = append(out, '}')
	}
	o, isOrder := e.(*simOrder)
	if !isOrder || !expand {
		return append(buf, b...)
	}
	buf = append(buf, b[:len(b)-1]...)
	if k.mode == 'd' {
		buf = append(buf, `,"purchaseOrderLines@delta":[`...)
	} else {
		buf = append(buf, `,"purchaseOrderLines":[`...)
	}
	n := 0
	for _, l := range o.lines {
		if k.mode == 'd' && l.version <= k.from || k.mode != 'd' && l.deleted {
			continue
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
		if l.deleted {
			buf = fmt.Appendf(buf, `{"@removed":{"reason":"deleted"},"@id":"purchaseOrderLines(%s)","id":"%s","sequence":%d}`, l.ID, l.ID, l.Sequence)
			continue
		}
		lb, _ := json.Marshal(l)
		buf = append(buf, lb...)
	}
	return append(buf, "]}"...)
}

// Compile-time check: the simulator is an erp.Simulator.
var _ erp.Simulator = (*Simulator)(nil)
