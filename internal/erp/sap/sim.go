package sap

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

// Simulator is an SAP S/4HANA system as the connector sees it: the OData
// v2 services it reads (JSON format, $top/$skip/$skiptoken paging, __next,
// $inlinecount, $filter on LastChangeDateTime, $expand), an SAP BTP style
// OAuth token endpoint at /oauth/token, basic logon, SAP Gateway error
// bodies, the CSRF token handshake of modifying requests, and test
// controls (throttling, failures, truncated pages, token expiry, bad
// records). It is safe for concurrent use.
type Simulator struct {
	now    func() time.Time
	client string // sap-client

	clientID, clientSecret string
	user, password         string

	mu        sync.RWMutex // guards the data below
	suppliers []simSupplier
	products  []simProduct
	pos       []simPO
	gl        []simGL
	poIdx     modIndex
	prodIdx   modIndex
	glIdx     modIndex
	rnd       *rand.Rand
	changed   []string // keys of the last Mutate
	deleted   []string
	journals  int // documents posted
	nPOLines  int

	ctl        sync.Mutex // guards the controls and sessions below
	throttle   int
	retryAfter time.Duration
	failN      int
	failStatus int
	malformN   int
	delay      time.Duration
	tokens     map[string]time.Time // access token → expiry
	sessions   map[string]string    // session cookie → CSRF token
	seq        uint64

	requests atomic.Int64
}

var _ erp.Simulator = (*Simulator)(nil)

// Simulator constants.
const (
	SimClient         = "100"
	simTokenLifetime  = 12 * time.Hour
	simServerPageSize = 1000 // server-driven page when no $top: entries (orders for A_PurchaseOrder: 200)
	simSessionCookie  = "SAP_SESSIONID_S4H_100"
	simJournalService = DefaultJournalService
)

// NewSimulator builds a simulator with o.Records purchase order lines
// (default 5000), generated from o.Seed.
func NewSimulator(o erp.SimOptions) *Simulator {
	if o.Records <= 0 {
		o.Records = 5000
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	d := generate(o.Records, o.Seed, now())
	s := &Simulator{
		now: now, client: SimClient,
		clientID:     "sb-greenlang-sim!t1001",
		clientSecret: fmt.Sprintf("sim-secret-%x", o.Seed*0x9e3779b97f4a7c15+1),
		user:         "GREENLANG_COMM", password: fmt.Sprintf("Sim-Pass-%x", o.Seed+7),
		suppliers: d.suppliers, products: d.products, pos: d.pos, gl: d.gl,
		rnd:      rand.New(rand.NewPCG(o.Seed+1, 0xc0ffee)),
		tokens:   map[string]time.Time{},
		sessions: map[string]string{},
	}
	for _, p := range s.pos {
		s.nPOLines += len(p.Items)
	}
	s.reindex()
	return s
}

// Connection returns an OAuth 2.0 client-credentials connection to the
// simulator served at baseURL.
func (s *Simulator) Connection(baseURL string) (string, map[string]string, json.RawMessage) {
	baseURL = strings.TrimRight(baseURL, "/")
	set, _ := json.Marshal(Settings{SAPClient: s.client, TokenURL: baseURL + "/oauth/token"})
	return AuthOAuth2, map[string]string{"client_id": s.clientID, "client_secret": s.clientSecret}, set
}

// BasicConnection returns a basic-authentication connection (on-premise
// style) to the simulator.
func (s *Simulator) BasicConnection() (string, map[string]string, json.RawMessage) {
	set, _ := json.Marshal(Settings{SAPClient: s.client})
	return AuthBasic, map[string]string{"user": s.user, "password": s.password}, set
}

// Counts returns how many records each entity serves (purchase_orders:
// lines, gl_entries: items), deleted ones included.
func (s *Simulator) Counts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]int{"purchase_orders": s.nPOLines, "suppliers": len(s.suppliers), "materials": len(s.products), "gl_entries": len(s.gl)}
}

// PurchaseOrderCount returns the number of purchase orders.
func (s *Simulator) PurchaseOrderCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.pos)
}

// Throttle makes the next n OData requests answer 429 with Retry-After.
func (s *Simulator) Throttle(n int, retryAfter time.Duration) {
	s.ctl.Lock()
	s.throttle, s.retryAfter = n, retryAfter
	s.ctl.Unlock()
}

// FailNext makes the next n data requests fail with status (5xx) and an
// SAP Gateway error body.
func (s *Simulator) FailNext(n int, status int) {
	s.ctl.Lock()
	s.failN, s.failStatus = n, status
	s.ctl.Unlock()
}

// MalformNext makes the next n data pages truncated JSON.
func (s *Simulator) MalformNext(n int) {
	s.ctl.Lock()
	s.malformN = n
	s.ctl.Unlock()
}

// Delay makes every data request wait d before answering (0: none).
func (s *Simulator) Delay(d time.Duration) {
	s.ctl.Lock()
	s.delay = d
	s.ctl.Unlock()
}

// ExpireTokens invalidates every access token issued.
func (s *Simulator) ExpireTokens() {
	s.ctl.Lock()
	clear(s.tokens)
	s.ctl.Unlock()
}

// ExpireCSRF ends every session: the CSRF tokens fetched become stale.
func (s *Simulator) ExpireCSRF() {
	s.ctl.Lock()
	clear(s.sessions)
	s.ctl.Unlock()
}

// Requests returns the data requests (GETs of entity sets) received,
// answered or failed.
func (s *Simulator) Requests() int64 { return s.requests.Load() }

// Journals returns the number of journal entries posted.
func (s *Simulator) Journals() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.journals
}

// LastMutation returns the keys the last Mutate changed and deleted.
func (s *Simulator) LastMutation() (changed, deleted []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.changed), slices.Clone(s.deleted)
}

// Mutate changes the order quantity of `changed` purchase order lines and
// deletes `deleted` others (deletion code "L", as SAP marks a deleted
// item), setting their orders' LastChangeDateTime to now.
func (s *Simulator) Mutate(changed, deleted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	seen := map[[2]int]bool{}
	s.changed, s.deleted = nil, nil
	pick := func() (int, int, bool) {
		for range 1000 {
			p := s.rnd.IntN(len(s.pos))
			i := s.rnd.IntN(len(s.pos[p].Items))
			if !seen[[2]int{p, i}] && s.pos[p].Items[i].DeletionCode != deletionCodeDeleted && s.pos[p].DeletionCode != deletionCodeDeleted {
				seen[[2]int{p, i}] = true
				return p, i, true
			}
		}
		return 0, 0, false
	}
	for range changed {
		p, i, ok := pick()
		if !ok {
			break
		}
		it := &s.pos[p].Items[i]
		it.Qty = it.Qty.Add(decimal.NewFromInt(int64(1 + s.rnd.IntN(100))))
		s.pos[p].Modified = now
		s.changed = append(s.changed, lineKey(s.pos[p].ID, it.Item))
	}
	for range deleted {
		p, i, ok := pick()
		if !ok {
			break
		}
		it := &s.pos[p].Items[i]
		it.DeletionCode = deletionCodeDeleted
		s.pos[p].Modified = now
		s.deleted = append(s.deleted, lineKey(s.pos[p].ID, it.Item))
	}
	s.poIdx.build(len(s.pos), func(i int) int64 { return s.pos[i].Modified.UnixMilli() })
}

// InjectBad spoils one property of the record with key (as the connector
// keys it) so that the connector must reject it: an unknown currency
// ("XXQ") for DocumentCurrency or CompanyCodeCurrency, an unreadable
// number for OrderQuantity, NetPriceAmount, NetWeight or
// AmountInCompanyCodeCurrency, an unreadable date for PurchaseOrderDate
// (all lines of the order) or PostingDate, an empty SupplierName.
func (s *Simulator) InjectBad(key, field string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if po, item, ok := strings.Cut(key, "/"); ok && !strings.Contains(po, "-") {
		i, found := slices.BinarySearchFunc(s.pos, po, func(p simPO, id string) int { return cmp.Compare(p.ID, id) })
		if !found {
			return fmt.Errorf("no purchase order %s", po)
		}
		switch field {
		case "PurchaseOrderDate":
			s.pos[i].badHeader = field
			return nil
		case "DocumentCurrency", "OrderQuantity", "NetPriceAmount":
		default:
			return fmt.Errorf("InjectBad: property %q of purchase order items is not supported", field)
		}
		for j := range s.pos[i].Items {
			if s.pos[i].Items[j].Item == item {
				s.pos[i].Items[j].bad = field
				return nil
			}
		}
		return fmt.Errorf("no item %s in purchase order %s", item, po)
	}
	if strings.Contains(key, "/") {
		for i := range s.gl {
			if s.gl[i].key() == key {
				switch field {
				case "CompanyCodeCurrency", "AmountInCompanyCodeCurrency", "PostingDate":
					s.gl[i].bad = field
					return nil
				}
				return fmt.Errorf("InjectBad: property %q of journal entry items is not supported", field)
			}
		}
		return fmt.Errorf("no journal entry item %s", key)
	}
	if i, ok := slices.BinarySearchFunc(s.suppliers, key, func(p simSupplier, id string) int { return cmp.Compare(p.ID, id) }); ok {
		if field != "SupplierName" {
			return fmt.Errorf("InjectBad: property %q of suppliers is not supported", field)
		}
		s.suppliers[i].bad = field
		return nil
	}
	if i, ok := slices.BinarySearchFunc(s.products, key, func(p simProduct, id string) int { return cmp.Compare(p.ID, id) }); ok {
		if field != "NetWeight" {
			return fmt.Errorf("InjectBad: property %q of products is not supported", field)
		}
		s.products[i].bad = field
		return nil
	}
	return fmt.Errorf("no record with key %q", key)
}

func (s *Simulator) reindex() {
	s.poIdx.build(len(s.pos), func(i int) int64 { return s.pos[i].Modified.UnixMilli() })
	s.prodIdx.build(len(s.products), func(i int) int64 { return s.products[i].Modified.UnixMilli() })
	s.glIdx.build(len(s.gl), func(i int) int64 { return s.gl[i].Modified.UnixMilli() })
}

// modIndex finds the records changed since a time: the record indices
// sorted by change time, and a cache of the last answer (paging asks the
// same question page after page).
type modIndex struct {
	mods  []int64 // change time (ms) by record index
	byMod []int32 // record indices sorted by change time
	ver   uint64

	mu     sync.Mutex
	cSince int64
	cVer   uint64
	cList  []int32
}

// build indexes n records; call with the simulator's write lock held.
func (m *modIndex) build(n int, mod func(int) int64) {
	m.mods = make([]int64, n)
	m.byMod = make([]int32, n)
	for i := range n {
		m.mods[i] = mod(i)
		m.byMod[i] = int32(i)
	}
	slices.SortFunc(m.byMod, func(a, b int32) int { return cmp.Or(cmp.Compare(m.mods[a], m.mods[b]), cmp.Compare(a, b)) })
	m.mu.Lock()
	m.ver++
	m.cList = nil
	m.mu.Unlock()
}

// since returns, in key order, the records changed at or after ms; call
// with the simulator's read lock held.
func (m *modIndex) since(ms int64) []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cList != nil && m.cSince == ms && m.cVer == m.ver {
		return m.cList
	}
	at := sort.Search(len(m.byMod), func(i int) bool { return m.mods[m.byMod[i]] >= ms })
	list := slices.Clone(m.byMod[at:])
	slices.Sort(list)
	m.cSince, m.cVer, m.cList = ms, m.ver, list
	return list
}

// ServeHTTP serves the simulated system.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if r.URL.Path == "/oauth/token" {
		s.serveToken(w, r)
		return
	}
	const prefix = "/sap/opu/odata/sap/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		odataErr(w, http.StatusNotFound, "/IWFND/MED/170", "No service found for "+r.URL.Path)
		return
	}
	if n, after := s.takeThrottle(); n {
		w.Header().Set("Retry-After", strconv.Itoa(int((after+time.Second-1)/time.Second)))
		odataErr(w, http.StatusTooManyRequests, "/IWFND/CM_CONSUMER/429", "Too many requests: the rate limit of the communication arrangement is exceeded")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if c := r.URL.Query().Get("sap-client"); c != "" && c != s.client {
		w.Header().Set("WWW-Authenticate", `Basic realm="SAP NetWeaver Application Server [S4H/`+c+`]"`)
		http.Error(w, "Logon failed: client "+c+" does not exist in the system", http.StatusUnauthorized)
		return
	}
	service, set, _ := strings.Cut(rest, "/")
	if r.Method == http.MethodGet && r.Header.Get("X-CSRF-Token") != "" && strings.EqualFold(r.Header.Get("X-CSRF-Token"), "Fetch") {
		s.issueCSRF(w, r)
	}
	switch {
	case set == "" || set == "$metadata":
		if r.Method != http.MethodGet {
			odataErr(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021", "Method "+r.Method+" is not allowed on the service document")
			return
		}
		s.serveServiceDoc(w, service)
	case r.Method == http.MethodPost && "/sap/opu/odata/sap/"+service+"/"+set == simJournalService:
		s.serveJournalPost(w, r)
	case r.Method == http.MethodGet:
		s.serveSet(w, r, service, set)
	default:
		odataErr(w, http.StatusMethodNotAllowed, "/IWBEP/CM_MGW_RT/021", "Method "+r.Method+" is not allowed on "+set)
	}
}

func (s *Simulator) takeThrottle() (bool, time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.throttle > 0 {
		s.throttle--
		return true, s.retryAfter
	}
	return false, 0
}

// odataErr writes an SAP Gateway error body.
func odataErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("DataServiceVersion", "1.0")
	w.WriteHeader(status)
	body := map[string]any{"error": map[string]any{
		"code":    code,
		"message": map[string]string{"lang": "en", "value": msg},
		"innererror": map[string]any{
			"application":   map[string]string{"component_id": "MM-PUR-PO", "service_namespace": "/SAP/", "service_version": "0001"},
			"transactionid": "5A3F1C2B7D9E4F60A1B2C3D4E5F60718",
			"timestamp":     time.Now().UTC().Format("20060102150405") + ".0000000",
			"Error_Resolution": map[string]string{
				"SAP_Transaction": "For backend administrators: use ADT feed reader \"SAP Gateway Error Log\" or run transaction /IWFND/ERROR_LOG on SAP Gateway hub system and search for entries with the timestamp above for more details",
				"SAP_Note":        "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)",
			},
			"errordetails": []any{},
		},
	}}
	_ = json.NewEncoder(w).Encode(body)
}

// serveToken is the OAuth 2.0 token endpoint (client credentials; the
// client authenticates with HTTP basic or form parameters), XSUAA style.
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		oauthErr(http.StatusMethodNotAllowed, "invalid_request", "Request method '"+r.Method+"' is not supported")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.clientID || secret != s.clientSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="UAA/client", error="unauthorized", error_description="Bad credentials"`)
		oauthErr(http.StatusUnauthorized, "unauthorized", "Bad credentials")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+g)
		return
	}
	s.ctl.Lock()
	s.seq++
	tok := fmt.Sprintf("eyJhbGciOiJSUzI1NiJ9.sim-%d-%016x", s.seq, s.rndUint64())
	s.tokens[tok] = s.now().Add(simTokenLifetime)
	s.ctl.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "bearer", "expires_in": int(simTokenLifetime/time.Second) - 1,
		"scope": "uaa.resource", "jti": fmt.Sprintf("%032x", s.seq),
	})
}

// rndUint64 draws from the data generator's source; it takes the data
// lock, so call it without holding it.
func (s *Simulator) rndUint64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rnd.Uint64()
}

// authorized checks the bearer token or the basic logon, answering 401 if
// neither is valid.
func (s *Simulator) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		s.ctl.Lock()
		exp, known := s.tokens[tok]
		s.ctl.Unlock()
		if known && s.now().Before(exp) {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token expired or is not valid"`)
		odataErr(w, http.StatusUnauthorized, "/IWFND/CM_CONSUMER/401", "Unauthorized: the access token expired or is not valid")
		return false
	}
	if u, p, ok := r.BasicAuth(); ok && u == s.user && p == s.password {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="SAP NetWeaver Application Server [S4H/100]"`)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = fmt.Fprint(w, `<html><head><title>Logon Error Message</title></head><body><p class="errorTextHeader">Logon failed</p><p>Note: the user name or password is not correct</p></body></html>`)
	return false
}

// issueCSRF answers "X-CSRF-Token: Fetch": the session's token, starting
// a session (cookie) when the request has none that is live.
func (s *Simulator) issueCSRF(w http.ResponseWriter, r *http.Request) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if c, err := r.Cookie(simSessionCookie); err == nil {
		if tok, ok := s.sessions[c.Value]; ok {
			w.Header().Set("X-CSRF-Token", tok)
			return
		}
	}
	s.seq++
	sid := fmt.Sprintf("sid-%d-%x", s.seq, s.seq*0x9e3779b97f4a7c15)
	tok := fmt.Sprintf("csrf%06dQm9ndXM%x==", s.seq, s.seq*0x51ed270b)
	s.sessions[sid] = tok
	http.SetCookie(w, &http.Cookie{Name: simSessionCookie, Value: sid, Path: "/", HttpOnly: true})
	http.SetCookie(w, &http.Cookie{Name: "sap-usercontext", Value: "sap-client=" + s.client, Path: "/"})
	w.Header().Set("X-CSRF-Token", tok)
}

// simServices are the entity sets of the simulated services.
var simServices = map[string][]string{
	"API_PURCHASEORDER_PROCESS_SRV": {"A_PurchaseOrder", "A_PurchaseOrderItem", "A_PurchaseOrderNote", "A_PurOrdAccountAssignment", "A_PurOrdPricingElement"},
	"API_BUSINESS_PARTNER":          {"A_BusinessPartner", "A_BusinessPartnerAddress", "A_Supplier", "A_SupplierCompany", "A_SupplierPurchasingOrg"},
	"API_PRODUCT_SRV":               {"A_Product", "A_ProductDescription", "A_ProductPlant"},
	"API_JOURNALENTRYITEMBASIC_SRV": {"A_JournalEntryItemBasic"},
	"ZGL_CARBON_JOURNAL_SRV":        {"JournalEntries", "JournalEntryItems"},
}

func (s *Simulator) serveServiceDoc(w http.ResponseWriter, service string) {
	sets, ok := simServices[service]
	if !ok {
		odataErr(w, http.StatusNotFound, "/IWFND/MED/170", "No service found for namespace '/SAP/', name '"+service+"', version '0001'")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("DataServiceVersion", "2.0")
	_ = json.NewEncoder(w).Encode(map[string]any{"d": map[string]any{"EntitySets": sets}})
}

// simQuery is a parsed entity set request.
type simQuery struct {
	top, skip  int
	hasTop     bool
	since      int64 // ms; -1 for no filter on the change time
	ledger     string
	count      bool
	expand     bool
	serverPage int
}

// simSets describes the served entity sets: key, change time field,
// navigation property and properties ($select is checked against them).
var simSets = map[string]struct {
	service, orderBy, modified, nav string
	props, navProps                 string
}{
	"A_PurchaseOrder": {"API_PURCHASEORDER_PROCESS_SRV", "PurchaseOrder", "LastChangeDateTime", "to_PurchaseOrderItem",
		",PurchaseOrder,CompanyCode,PurchaseOrderType,PurchasingDocumentDeletionCode,PurchasingProcessingStatus,CreationDate,LastChangeDateTime,Supplier,PurchasingOrganization,PurchasingGroup,PurchaseOrderDate,DocumentCurrency,",
		",PurchaseOrder,PurchaseOrderItem,PurchasingDocumentDeletionCode,PurchaseOrderItemText,Plant,MaterialGroup,OrderQuantity,PurchaseOrderQuantityUnit,OrderPriceUnit,DocumentCurrency,NetPriceAmount,NetPriceQuantity,Material,PurchaseOrderItemCategory,"},
	"A_Supplier": {"API_BUSINESS_PARTNER", "Supplier", "", "",
		",Supplier,SupplierName,SupplierFullName,SupplierAccountGroup,CreationDate,VATRegistration,TaxNumber1,PostingIsBlocked,PurchasingIsBlocked,PaymentIsBlockedForSupplier,DeletionIndicator,Industry,", ""},
	"A_Product": {"API_PRODUCT_SRV", "Product", "LastChangeDateTime", "to_Description",
		",Product,ProductType,CreationDate,LastChangeDate,LastChangeDateTime,IsMarkedForDeletion,ProductGroup,BaseUnit,GrossWeight,NetWeight,WeightUnit,",
		",Product,Language,ProductDescription,"},
	"A_JournalEntryItemBasic": {"API_JOURNALENTRYITEMBASIC_SRV", "CompanyCode,FiscalYear,AccountingDocument,LedgerGLLineItem", "LastChangeDateTime", "",
		",CompanyCode,FiscalYear,AccountingDocument,LedgerGLLineItem,Ledger,SourceLedger,GLAccount,PostingDate,DocumentDate,AccountingDocumentType,AmountInCompanyCodeCurrency,CompanyCodeCurrency,AmountInTransactionCurrency,TransactionCurrency,Quantity,BaseUnit,CostCenter,ProfitCenter,Plant,DocumentItemText,DebitCreditCode,LastChangeDateTime,", ""},
}

// parseQuery reads and checks the system query options, as SAP Gateway
// does: an unknown property, a $top over MaxPageSize or a filter it does
// not support is a 400.
func (s *Simulator) parseQuery(r *http.Request, set string) (simQuery, int, string) {
	def := simSets[set]
	v := r.URL.Query()
	q := simQuery{since: -1, serverPage: simServerPageSize}
	if set == "A_PurchaseOrder" {
		q.serverPage = simServerPageSize / 5
	}
	if f := v.Get("$format"); f != "json" && !strings.Contains(r.Header.Get("Accept"), "application/json") {
		return q, http.StatusNotAcceptable, "The simulator serves JSON only ($format=json or Accept: application/json)"
	}
	num := func(name string) (int, bool, string) {
		s := v.Get(name)
		if s == "" {
			return 0, false, ""
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, false, "Invalid system query option value " + name + "=" + s
		}
		return n, true, ""
	}
	var msg string
	if q.top, q.hasTop, msg = num("$top"); msg != "" {
		return q, http.StatusBadRequest, msg
	}
	if q.hasTop && q.top > MaxPageSize {
		return q, http.StatusBadRequest, fmt.Sprintf("The value of $top (%d) exceeds the maximum page size %d of the service", q.top, MaxPageSize)
	}
	if q.skip, _, msg = num("$skip"); msg != "" {
		return q, http.StatusBadRequest, msg
	}
	tok, _, msg := num("$skiptoken")
	if msg != "" {
		return q, http.StatusBadRequest, msg
	}
	q.skip += tok
	switch v.Get("$inlinecount") {
	case "allpages":
		q.count = true
	case "", "none":
	default:
		return q, http.StatusBadRequest, "Invalid value of $inlinecount: " + v.Get("$inlinecount")
	}
	if e := v.Get("$expand"); e != "" {
		if e != def.nav || def.nav == "" {
			return q, http.StatusBadRequest, "Property '" + e + "' is not a navigation property of " + set
		}
		q.expand = true
	}
	if sel := v.Get("$select"); sel != "" {
		for p := range strings.SplitSeq(sel, ",") {
			p = strings.TrimSpace(p)
			props := def.props
			if nav, sub, ok := strings.Cut(p, "/"); ok {
				if nav != def.nav || !q.expand {
					return q, http.StatusBadRequest, "Navigation property '" + nav + "' in $select is not expanded"
				}
				p, props = sub, def.navProps
			}
			if p != "*" && !strings.Contains(props, ","+p+",") {
				return q, http.StatusBadRequest, "Property '" + p + "' not found in type " + set + "Type"
			}
		}
	}
	if ob := v.Get("$orderby"); ob != "" && strings.ReplaceAll(strings.ReplaceAll(ob, " asc", ""), " ", "") != def.orderBy {
		return q, http.StatusBadRequest, "The simulator orders " + set + " by its key (" + def.orderBy + ") only"
	}
	if f := strings.TrimSpace(v.Get("$filter")); f != "" {
		for clause := range strings.SplitSeq(f, " and ") {
			parts := strings.SplitN(strings.TrimSpace(clause), " ", 3)
			if len(parts) != 3 {
				return q, http.StatusBadRequest, "Invalid filter expression: '" + clause + "'"
			}
			switch {
			case def.modified != "" && parts[0] == def.modified && (parts[1] == "ge" || parts[1] == "gt"):
				t, err := parseDatetimeOffsetLiteral(parts[2])
				if err != nil {
					return q, http.StatusBadRequest, "Invalid filter expression: " + err.Error()
				}
				q.since = t.UnixMilli()
				if parts[1] == "gt" {
					q.since++
				}
			case set == "A_JournalEntryItemBasic" && parts[0] == "Ledger" && parts[1] == "eq":
				q.ledger = strings.Trim(parts[2], "'")
			default:
				return q, http.StatusBadRequest, "Invalid filter expression: '" + clause + "' (the simulator filters on " + cmp.Or(def.modified, "nothing") + " ge datetimeoffset'…')"
			}
		}
	}
	return q, 0, ""
}

// takeDataFault applies the FailNext and MalformNext controls to one data
// request: the status to fail with (0: none) and whether to truncate.
func (s *Simulator) takeDataFault() (int, bool, time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.failN > 0 {
		s.failN--
		return s.failStatus, false, s.delay
	}
	if s.malformN > 0 {
		s.malformN--
		return 0, true, s.delay
	}
	return 0, false, s.delay
}

// simResponse is an OData v2 JSON collection.
type simResponse struct {
	D simCollection `json:"d"`
}

type simCollection struct {
	Count   string `json:"__count,omitempty"`
	Results any    `json:"results"`
	Next    string `json:"__next,omitempty"`
}

type simMeta struct {
	ID   string `json:"id"`
	URI  string `json:"uri"`
	Type string `json:"type"`
}

type simDeferred struct {
	Deferred struct {
		URI string `json:"uri"`
	} `json:"__deferred"`
}

func deferred(uri string) simDeferred {
	var d simDeferred
	d.Deferred.URI = uri
	return d
}

// serveSet serves a GET of an entity set.
func (s *Simulator) serveSet(w http.ResponseWriter, r *http.Request, service, set string) {
	def, ok := simSets[set]
	if !ok || def.service != service {
		if _, known := simServices[service]; !known {
			odataErr(w, http.StatusNotFound, "/IWFND/MED/170", "No service found for namespace '/SAP/', name '"+service+"', version '0001'")
			return
		}
		odataErr(w, http.StatusNotFound, "/IWBEP/CM_MGW_RT/021", "Resource not found for segment '"+set+"'")
		return
	}
	s.requests.Add(1)
	status, malform, delay := s.takeDataFault()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if status != 0 {
		msg := "In the context of Data Services an unknown internal server error occurred"
		if status == http.StatusServiceUnavailable {
			msg = "Service unavailable: the backend system is not reachable"
		}
		odataErr(w, status, "/IWBEP/CM_MGW_RT/004", msg)
		return
	}
	q, code, msg := s.parseQuery(r, set)
	if code != 0 {
		odataErr(w, code, "/IWBEP/CM_MGW_RT/022", msg)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	root := scheme + "://" + r.Host + "/sap/opu/odata/sap/" + service + "/"

	s.mu.RLock()
	var (
		total   int
		list    []int32
		results any
	)
	idx := func(n int, m *modIndex) {
		total = n
		if q.since >= 0 {
			list = m.since(q.since)
			total = len(list)
		}
	}
	switch set {
	case "A_PurchaseOrder":
		idx(len(s.pos), &s.poIdx)
	case "A_Supplier":
		total = len(s.suppliers)
	case "A_Product":
		idx(len(s.products), &s.prodIdx)
	case "A_JournalEntryItemBasic":
		idx(len(s.gl), &s.glIdx)
		if q.ledger != "" && q.ledger != "0L" {
			total, list = 0, []int32{}
		}
	}
	limit := q.top
	if !q.hasTop {
		limit = q.serverPage
	}
	from := min(q.skip, total)
	to := min(from+limit, total)
	at := func(k int) int {
		if list != nil {
			return int(list[k])
		}
		return k
	}
	switch set {
	case "A_PurchaseOrder":
		out := make([]simPORow, 0, to-from)
		for k := from; k < to; k++ {
			out = append(out, s.renderPO(at(k), root, q.expand))
		}
		results = out
	case "A_Supplier":
		out := make([]simSupplierRow, 0, to-from)
		for k := from; k < to; k++ {
			out = append(out, s.renderSupplier(at(k), root))
		}
		results = out
	case "A_Product":
		out := make([]simProductRow, 0, to-from)
		for k := from; k < to; k++ {
			out = append(out, s.renderProduct(at(k), root, q.expand))
		}
		results = out
	case "A_JournalEntryItemBasic":
		out := make([]simGLRow, 0, to-from)
		for k := from; k < to; k++ {
			out = append(out, s.renderGL(at(k), root))
		}
		results = out
	}
	s.mu.RUnlock()

	resp := simResponse{D: simCollection{Results: results}}
	if q.count {
		resp.D.Count = strconv.Itoa(total)
	}
	if !q.hasTop && to < total {
		// Server-driven paging: the same request with a skip token.
		v := r.URL.Query()
		v.Del("$skip")
		v.Set("$skiptoken", strconv.Itoa(to))
		resp.D.Next = root + set + "?" + v.Encode()
	}
	body, err := json.Marshal(resp)
	if err != nil {
		odataErr(w, http.StatusInternalServerError, "/IWBEP/CM_MGW_RT/004", "rendering failed: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("DataServiceVersion", "2.0")
	if malform {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// The rendered rows. Decimals are strings, dates /Date(ms)/ as SAP sends
// them.

type simPORow struct {
	Metadata                       simMeta `json:"__metadata"`
	PurchaseOrder                  string  `json:"PurchaseOrder"`
	CompanyCode                    string  `json:"CompanyCode"`
	PurchaseOrderType              string  `json:"PurchaseOrderType"`
	PurchasingDocumentDeletionCode string  `json:"PurchasingDocumentDeletionCode"`
	PurchasingProcessingStatus     string  `json:"PurchasingProcessingStatus"`
	CreationDate                   string  `json:"CreationDate"`
	LastChangeDateTime             string  `json:"LastChangeDateTime"`
	Supplier                       string  `json:"Supplier"`
	PurchasingOrganization         string  `json:"PurchasingOrganization"`
	PurchasingGroup                string  `json:"PurchasingGroup"`
	PurchaseOrderDate              string  `json:"PurchaseOrderDate"`
	DocumentCurrency               string  `json:"DocumentCurrency"`
	Items                          any     `json:"to_PurchaseOrderItem"`
}

type simItemRow struct {
	Metadata                       simMeta `json:"__metadata"`
	PurchaseOrder                  string  `json:"PurchaseOrder"`
	PurchaseOrderItem              string  `json:"PurchaseOrderItem"`
	PurchasingDocumentDeletionCode string  `json:"PurchasingDocumentDeletionCode"`
	PurchaseOrderItemText          string  `json:"PurchaseOrderItemText"`
	Plant                          string  `json:"Plant"`
	MaterialGroup                  string  `json:"MaterialGroup"`
	OrderQuantity                  string  `json:"OrderQuantity"`
	PurchaseOrderQuantityUnit      string  `json:"PurchaseOrderQuantityUnit"`
	OrderPriceUnit                 string  `json:"OrderPriceUnit"`
	DocumentCurrency               string  `json:"DocumentCurrency"`
	NetPriceAmount                 string  `json:"NetPriceAmount"`
	NetPriceQuantity               string  `json:"NetPriceQuantity"`
	Material                       string  `json:"Material"`
	PurchaseOrderItemCategory      string  `json:"PurchaseOrderItemCategory"`
}

func (s *Simulator) renderPO(i int, root string, expand bool) simPORow {
	p := &s.pos[i]
	uri := root + "A_PurchaseOrder('" + p.ID + "')"
	row := simPORow{
		Metadata:      simMeta{ID: uri, URI: uri, Type: "API_PURCHASEORDER_PROCESS_SRV.A_PurchaseOrderType"},
		PurchaseOrder: p.ID, CompanyCode: p.CompanyCode, PurchaseOrderType: "NB",
		PurchasingDocumentDeletionCode: p.DeletionCode, PurchasingProcessingStatus: "05",
		CreationDate:           formatEdmDateTime(p.Created.Truncate(24 * time.Hour)),
		LastChangeDateTime:     formatEdmDateTimeOffset(p.Modified),
		Supplier:               s.suppliers[p.Supplier].ID,
		PurchasingOrganization: p.PurchasingOrg, PurchasingGroup: p.PurchasingGroup,
		PurchaseOrderDate: formatEdmDateTime(p.Date),
		DocumentCurrency:  p.Currency,
	}
	if p.badHeader == "PurchaseOrderDate" {
		row.PurchaseOrderDate = "/Date(yesterday)/"
	}
	if !expand {
		row.Items = deferred(uri + "/to_PurchaseOrderItem")
		return row
	}
	places := int32(3)
	items := make([]simItemRow, len(p.Items))
	for j := range p.Items {
		it := &p.Items[j]
		iuri := root + "A_PurchaseOrderItem(PurchaseOrder='" + p.ID + "',PurchaseOrderItem='" + it.Item + "')"
		row := simItemRow{
			Metadata:      simMeta{ID: iuri, URI: iuri, Type: "API_PURCHASEORDER_PROCESS_SRV.A_PurchaseOrderItemType"},
			PurchaseOrder: p.ID, PurchaseOrderItem: it.Item, PurchasingDocumentDeletionCode: it.DeletionCode,
			PurchaseOrderItemText: it.Text, Plant: it.Plant, MaterialGroup: it.Group,
			OrderQuantity: it.Qty.StringFixed(3), PurchaseOrderQuantityUnit: it.Unit, OrderPriceUnit: it.Unit,
			DocumentCurrency: p.Currency, NetPriceAmount: it.Price.StringFixed(places), NetPriceQuantity: "1",
			Material: s.products[it.Product].ID, PurchaseOrderItemCategory: "0",
		}
		switch it.bad {
		case "DocumentCurrency":
			row.DocumentCurrency = "XXQ"
		case "OrderQuantity":
			row.OrderQuantity = "12,5O"
		case "NetPriceAmount":
			row.NetPriceAmount = "n/a"
		}
		items[j] = row
	}
	row.Items = struct {
		Results []simItemRow `json:"results"`
	}{items}
	return row
}

type simSupplierRow struct {
	Metadata                    simMeta `json:"__metadata"`
	Supplier                    string  `json:"Supplier"`
	SupplierAccountGroup        string  `json:"SupplierAccountGroup"`
	SupplierName                string  `json:"SupplierName"`
	SupplierFullName            string  `json:"SupplierFullName"`
	CreationDate                string  `json:"CreationDate"`
	VATRegistration             string  `json:"VATRegistration"`
	TaxNumber1                  string  `json:"TaxNumber1"`
	PostingIsBlocked            bool    `json:"PostingIsBlocked"`
	PurchasingIsBlocked         bool    `json:"PurchasingIsBlocked"`
	PaymentIsBlockedForSupplier bool    `json:"PaymentIsBlockedForSupplier"`
	DeletionIndicator           bool    `json:"DeletionIndicator"`
	Industry                    string  `json:"Industry"`
}

func (s *Simulator) renderSupplier(i int, root string) simSupplierRow {
	p := &s.suppliers[i]
	uri := root + "A_Supplier('" + p.ID + "')"
	row := simSupplierRow{
		Metadata: simMeta{ID: uri, URI: uri, Type: "API_BUSINESS_PARTNER.A_SupplierType"},
		Supplier: p.ID, SupplierAccountGroup: "SUPL", SupplierName: p.Name, SupplierFullName: p.FullName,
		CreationDate: formatEdmDateTime(p.Created), VATRegistration: p.VAT, TaxNumber1: p.Tax1,
		PostingIsBlocked: p.PostingBlocked, PurchasingIsBlocked: p.PurchBlocked, DeletionIndicator: p.Deleted,
	}
	if p.bad == "SupplierName" {
		row.SupplierName, row.SupplierFullName = "", ""
	}
	return row
}

type simProductRow struct {
	Metadata            simMeta `json:"__metadata"`
	Product             string  `json:"Product"`
	ProductType         string  `json:"ProductType"`
	CreationDate        string  `json:"CreationDate"`
	LastChangeDate      string  `json:"LastChangeDate"`
	LastChangeDateTime  string  `json:"LastChangeDateTime"`
	IsMarkedForDeletion bool    `json:"IsMarkedForDeletion"`
	ProductGroup        string  `json:"ProductGroup"`
	BaseUnit            string  `json:"BaseUnit"`
	GrossWeight         string  `json:"GrossWeight"`
	NetWeight           string  `json:"NetWeight"`
	WeightUnit          string  `json:"WeightUnit"`
	Description         any     `json:"to_Description"`
}

type simDescRow struct {
	Metadata           simMeta `json:"__metadata"`
	Product            string  `json:"Product"`
	Language           string  `json:"Language"`
	ProductDescription string  `json:"ProductDescription"`
}

func (s *Simulator) renderProduct(i int, root string, expand bool) simProductRow {
	p := &s.products[i]
	uri := root + "A_Product('" + url.PathEscape(p.ID) + "')"
	row := simProductRow{
		Metadata: simMeta{ID: uri, URI: uri, Type: "API_PRODUCT_SRV.A_ProductType"},
		Product:  p.ID, ProductType: p.Type, CreationDate: formatEdmDateTime(p.Created.Truncate(24 * time.Hour)),
		LastChangeDate:      formatEdmDateTime(p.Modified.Truncate(24 * time.Hour)),
		LastChangeDateTime:  formatEdmDateTimeOffset(p.Modified),
		IsMarkedForDeletion: p.Deleted, ProductGroup: p.Group, BaseUnit: p.Unit,
		GrossWeight: "0.000", NetWeight: "0.000", WeightUnit: p.WeightUnit,
	}
	if p.HasWeight {
		row.NetWeight = p.NetWeight.StringFixed(3)
		row.GrossWeight = p.NetWeight.Mul(decimal.RequireFromString("1.05")).StringFixed(3)
	}
	if p.bad == "NetWeight" {
		row.NetWeight = "heavy"
	}
	if !expand {
		row.Description = deferred(uri + "/to_Description")
		return row
	}
	desc := func(lang, text string) simDescRow {
		u := root + "A_ProductDescription(Product='" + url.PathEscape(p.ID) + "',Language='" + lang + "')"
		return simDescRow{Metadata: simMeta{ID: u, URI: u, Type: "API_PRODUCT_SRV.A_ProductDescriptionType"},
			Product: p.ID, Language: lang, ProductDescription: text}
	}
	row.Description = struct {
		Results []simDescRow `json:"results"`
	}{[]simDescRow{desc("DE", p.DescDE), desc("EN", p.Desc)}}
	return row
}

type simGLRow struct {
	Metadata                    simMeta `json:"__metadata"`
	CompanyCode                 string  `json:"CompanyCode"`
	FiscalYear                  string  `json:"FiscalYear"`
	AccountingDocument          string  `json:"AccountingDocument"`
	LedgerGLLineItem            string  `json:"LedgerGLLineItem"`
	Ledger                      string  `json:"Ledger"`
	SourceLedger                string  `json:"SourceLedger"`
	GLAccount                   string  `json:"GLAccount"`
	PostingDate                 string  `json:"PostingDate"`
	DocumentDate                string  `json:"DocumentDate"`
	AccountingDocumentType      string  `json:"AccountingDocumentType"`
	DebitCreditCode             string  `json:"DebitCreditCode"`
	AmountInCompanyCodeCurrency string  `json:"AmountInCompanyCodeCurrency"`
	CompanyCodeCurrency         string  `json:"CompanyCodeCurrency"`
	AmountInTransactionCurrency string  `json:"AmountInTransactionCurrency"`
	TransactionCurrency         string  `json:"TransactionCurrency"`
	Quantity                    string  `json:"Quantity"`
	BaseUnit                    string  `json:"BaseUnit"`
	CostCenter                  string  `json:"CostCenter"`
	ProfitCenter                string  `json:"ProfitCenter"`
	Plant                       string  `json:"Plant"`
	DocumentItemText            string  `json:"DocumentItemText"`
	LastChangeDateTime          string  `json:"LastChangeDateTime"`
}

func (s *Simulator) renderGL(i int, root string) simGLRow {
	g := &s.gl[i]
	uri := root + "A_JournalEntryItemBasic(SourceLedger='0L',CompanyCode='" + g.CompanyCode + "',FiscalYear='" + g.FiscalYear +
		"',AccountingDocument='" + g.Doc + "',LedgerGLLineItem='" + g.Line + "',Ledger='0L')"
	dc := "S"
	if g.Amount.IsNegative() {
		dc = "H"
	}
	amount := g.Amount.StringFixed(2)
	row := simGLRow{
		Metadata:    simMeta{ID: uri, URI: uri, Type: "API_JOURNALENTRYITEMBASIC_SRV.A_JournalEntryItemBasicType"},
		CompanyCode: g.CompanyCode, FiscalYear: g.FiscalYear, AccountingDocument: g.Doc, LedgerGLLineItem: g.Line,
		Ledger: "0L", SourceLedger: "0L", GLAccount: g.Account,
		PostingDate: formatEdmDateTime(g.Posting), DocumentDate: formatEdmDateTime(g.Posting),
		AccountingDocumentType: "KR", DebitCreditCode: dc,
		AmountInCompanyCodeCurrency: amount, CompanyCodeCurrency: g.Currency,
		AmountInTransactionCurrency: amount, TransactionCurrency: g.Currency,
		Quantity: g.Qty.StringFixed(3), BaseUnit: g.Unit, CostCenter: g.CostCenter, Plant: g.Plant,
		DocumentItemText: g.Text, LastChangeDateTime: formatEdmDateTimeOffset(g.Modified),
	}
	switch g.bad {
	case "CompanyCodeCurrency":
		row.CompanyCodeCurrency = "XXQ"
	case "AmountInCompanyCodeCurrency":
		row.AmountInCompanyCodeCurrency = "1.234,56"
	case "PostingDate":
		row.PostingDate = ""
	}
	return row
}

// serveJournalPost creates a journal entry in the customer's Z service,
// after the CSRF check SAP Gateway makes on every modifying request.
func (s *Simulator) serveJournalPost(w http.ResponseWriter, r *http.Request) {
	s.ctl.Lock()
	valid := false
	if c, err := r.Cookie(simSessionCookie); err == nil {
		tok, ok := s.sessions[c.Value]
		valid = ok && tok != "" && r.Header.Get("X-CSRF-Token") == tok
	}
	s.ctl.Unlock()
	if !valid {
		w.Header().Set("X-CSRF-Token", "Required")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprint(w, "CSRF token validation failed")
		return
	}
	var p journalPayload
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		odataErr(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/001", "The request body is not a valid JournalEntry: "+err.Error())
		return
	}
	known := false
	for _, c := range simCompanies {
		known = known || c.code == p.CompanyCode
	}
	if !known {
		odataErr(w, http.StatusBadRequest, "F5/165", "Company code "+p.CompanyCode+" is not defined")
		return
	}
	posting, err := parseEdmDate(p.PostingDate)
	if err != nil || posting.IsZero() {
		odataErr(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/001", "PostingDate is not a valid Edm.DateTime")
		return
	}
	if len(p.Items) == 0 {
		odataErr(w, http.StatusBadRequest, "F5/702", "The document has no line items")
		return
	}
	sums := map[string]decimal.Decimal{}
	for _, it := range p.Items {
		a, err := decimal.NewFromString(it.AmountInTransactionCurrency)
		if err != nil || it.GLAccount == "" {
			odataErr(w, http.StatusBadRequest, "F5/808", "Line item with G/L account '"+it.GLAccount+"' has no valid amount")
			return
		}
		sums[it.TransactionCurrency] = sums[it.TransactionCurrency].Add(a)
	}
	for cur, sum := range sums {
		if !sum.IsZero() {
			odataErr(w, http.StatusBadRequest, "F5/702", "Balance in transaction currency "+cur+" is not zero: "+sum.StringFixed(2))
			return
		}
	}
	s.mu.Lock()
	s.journals++
	doc := fmt.Sprintf("%010d", 5100000000+s.journals)
	s.mu.Unlock()
	fy := strconv.Itoa(posting.Year())
	uri := "/sap/opu/odata/sap/ZGL_CARBON_JOURNAL_SRV/JournalEntries(CompanyCode='" + p.CompanyCode + "',FiscalYear='" + fy + "',AccountingDocument='" + doc + "')"
	w.Header().Set("Location", uri)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"d": map[string]any{
		"__metadata":          simMeta{ID: uri, URI: uri, Type: "ZGL_CARBON_JOURNAL_SRV.JournalEntryType"},
		"CompanyCode":         p.CompanyCode,
		"FiscalYear":          fy,
		"AccountingDocument":  doc,
		"DocumentReferenceID": p.DocumentReferenceID,
		"PostingDate":         p.PostingDate,
	}})
}
