package oracle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
)

// Simulator credentials: what Connection hands out and the simulator
// accepts.
const (
	SimUsername     = "greenlang.integration"
	SimPassword     = "sim-Passw0rd!"
	SimClientID     = "greenlang-sim-client"
	SimClientSecret = "sim-client-secret-9f2c"
	// SimTokenPath is the simulated Oracle Identity Cloud Service (IAM
	// domain) token endpoint.
	SimTokenPath = "/oauth2/v1/token"
	// SimTokenLifetime is how long an issued access token is valid.
	SimTokenLifetime = time.Hour
	simDefaultLimit  = 25
)

// Simulator is an http.Handler speaking the Oracle Fusion REST API for the
// purchaseOrders, suppliers, invoices and ledgerBalances resources, with an
// OAuth 2.0 token endpoint, over a deterministic data set. Its test
// controls are safe for concurrent use with serving.
type Simulator struct {
	now func() time.Time

	mu      sync.RWMutex // guards data, rng, version, last*
	d       *simData
	rng     *rand.Rand
	version uint64
	lastChg []string
	lastDel []string

	cacheMu sync.Mutex
	cache   map[string][]int // filtered index lists by resource, since and version

	ctl        sync.Mutex // guards the controls below
	throttleN  int
	retryAfter time.Duration
	failN      int
	failStatus int
	malformN   int
	delay      time.Duration
	tokens     map[string]time.Time // access token → expiry
	tokenSeq   int

	requests atomic.Int64
}

var _ erp.Simulator = (*Simulator)(nil)

// NewSimulator returns a simulator serving about o.Records purchase-order
// lines (default 5000), with suppliers, invoices and ledger balances
// scaled from it, generated from o.Seed.
func NewSimulator(o erp.SimOptions) *Simulator {
	if o.Records <= 0 {
		o.Records = 5000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	return &Simulator{
		now:    o.Now,
		d:      generate(o.Records, r, o.Now()),
		rng:    r,
		cache:  map[string][]int{},
		tokens: map[string]time.Time{},
	}
}

// Connection returns an OAuth 2.0 client-credentials connection to the
// simulator at baseURL, with ledger balances configured.
func (s *Simulator) Connection(baseURL string) (string, map[string]string, json.RawMessage) {
	base := strings.TrimRight(baseURL, "/")
	settings, _ := json.Marshal(Settings{
		TokenURL:           base + SimTokenPath,
		Scope:              "urn:opc:resource:consumer::all",
		LedgerName:         simLedger,
		AccountingPeriods:  simPeriods[:],
		AccountCombination: "%-%-%-%-%",
		BalanceCurrency:    simLedgerCurrency,
	})
	return "oauth2", map[string]string{"client_id": SimClientID, "client_secret": SimClientSecret}, settings
}

// BasicConnection is Connection with HTTP basic authentication.
func (s *Simulator) BasicConnection(baseURL string) (string, map[string]string, json.RawMessage) {
	_, _, settings := s.Connection(baseURL)
	var st Settings
	_ = json.Unmarshal(settings, &st)
	st.TokenURL, st.Scope = "", ""
	settings, _ = json.Marshal(st)
	return "basic", map[string]string{"username": SimUsername, "password": SimPassword}, settings
}

// Count returns how many records the connector yields for entity on a full
// read (ledger_balances: for the periods Connection configures).
func (s *Simulator) Count(entity string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch entity {
	case EntityPurchaseOrders:
		return s.d.lineCount
	case EntitySuppliers:
		return len(s.d.suppliers)
	case EntityInvoices:
		return s.d.distCount
	case EntityLedgerBalances:
		n := 0
		for _, b := range s.d.balances {
			n += len(b)
		}
		return n
	}
	return 0
}

// Requests returns the number of data requests received (under
// /fscmRestApi/), whatever their answer.
func (s *Simulator) Requests() int64 { return s.requests.Load() }

// Throttle makes the next n requests (data or token) answer 429 with
// Retry-After.
func (s *Simulator) Throttle(n int, retryAfter time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.throttleN, s.retryAfter = n, retryAfter
}

// FailNext makes the next n data requests answer status with an Oracle
// error body.
func (s *Simulator) FailNext(n int, status int) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.failN, s.failStatus = n, status
}

// MalformNext makes the next n data pages truncated JSON.
func (s *Simulator) MalformNext(n int) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.malformN = n
}

// Delay makes every data request wait d (or until the client gives up)
// before it is answered; 0 turns it off.
func (s *Simulator) Delay(d time.Duration) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.delay = d
}

// ExpireTokens invalidates every access token issued so far.
func (s *Simulator) ExpireTokens() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	clear(s.tokens)
}

// Mutate changes the quantity and amount of `changed` purchase-order lines
// and cancels `deleted` others (line status CANCELED; the order too when
// all its lines are), setting their and their orders' LastUpdateDate to
// now. LastMutation returns their keys.
func (s *Simulator) Mutate(changed, deleted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Millisecond)
	picked := map[*simPOLine]bool{}
	pick := func() (*simPO, *simPOLine) {
		for range 1000 {
			po := s.d.pos[s.rng.IntN(len(s.d.pos))]
			l := po.lines[s.rng.IntN(len(po.lines))]
			if !picked[l] && l.StatusCode != "CANCELED" {
				picked[l] = true
				return po, l
			}
		}
		return nil, nil
	}
	s.lastChg, s.lastDel = nil, nil
	for range changed {
		po, l := pick()
		if l == nil {
			break
		}
		l.qty = l.qty.Add(decimalInt(int64(1 + s.rng.IntN(100))))
		l.setAmounts()
		l.LastUpdateDate, po.LastUpdateDate = oraTime(now), oraTime(now)
		po.total()
		s.lastChg = append(s.lastChg, fmt.Sprintf("%d/%d", po.POHeaderId, l.LineNumber))
	}
	for range deleted {
		po, l := pick()
		if l == nil {
			break
		}
		l.Status, l.StatusCode = "Canceled", "CANCELED"
		l.LastUpdateDate, po.LastUpdateDate = oraTime(now), oraTime(now)
		po.total()
		if !slices.ContainsFunc(po.lines, func(l *simPOLine) bool { return l.StatusCode != "CANCELED" }) {
			po.Status, po.StatusCode = "Canceled", "CANCELED"
		}
		s.lastDel = append(s.lastDel, fmt.Sprintf("%d/%d", po.POHeaderId, l.LineNumber))
	}
	s.version++
	s.cacheMu.Lock()
	clear(s.cache)
	s.cacheMu.Unlock()
}

// LastMutation returns the keys of the lines the last Mutate changed and
// cancelled.
func (s *Simulator) LastMutation() (changed, deleted []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.lastChg), slices.Clone(s.lastDel)
}

// InjectBad gives one record a bad value so that the connector rejects
// it. key is a purchase-order line key ("<POHeaderId>/<LineNumber>") with
// field CurrencyCode (becomes "XXQ"), Quantity, Price or Amount (become the
// string "n/a"), or CreationDate (of the order: becomes null); or a
// supplier key (SupplierId) with field Supplier (the name becomes empty).
// It reports whether the record and field were found.
func (s *Simulator) InjectBad(key, field string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, line, isLine := strings.Cut(key, "/")
	id, err := strconv.ParseInt(doc, 10, 64)
	if err != nil {
		return false
	}
	if !isLine {
		i, ok := slices.BinarySearchFunc(s.d.suppliers, id, func(x *simSupplier, id int64) int { return cmpInt(x.SupplierId, id) })
		if !ok || field != "Supplier" {
			return false
		}
		s.d.suppliers[i].Supplier = ""
		return true
	}
	i, ok := slices.BinarySearchFunc(s.d.pos, id, func(x *simPO, id int64) int { return cmpInt(x.POHeaderId, id) })
	if !ok {
		return false
	}
	po := s.d.pos[i]
	for _, l := range po.lines {
		if strconv.Itoa(l.LineNumber) != line {
			continue
		}
		switch field {
		case "CurrencyCode":
			l.CurrencyCode = "XXQ"
		case "Quantity":
			l.Quantity = "n/a"
		case "Price":
			l.Price = "n/a"
		case "Amount":
			l.Amount = "n/a"
		case "CreationDate":
			po.CreationDate = oraTime{}
		default:
			return false
		}
		return true
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	// The server's clock, which the connector uses as its watermark.
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	if r.URL.Path == SimTokenPath {
		if s.throttled(w) {
			return
		}
		s.serveToken(w, r, now)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/fscmRestApi/resources/")
	if !ok {
		writeADF(w, http.StatusNotFound, "Not Found", "The requested URL "+r.URL.Path+" was not found on this server.", "")
		return
	}
	s.requests.Add(1)
	if d := s.control(func() time.Duration { return s.delay }); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if s.throttled(w) {
		return
	}
	if !s.authorized(w, r, now) {
		return
	}
	if st := s.take(&s.failN, &s.failStatus); st != 0 {
		writeADF(w, st, http.StatusText(st), "The server encountered an unexpected condition (simulated failure).", "")
		return
	}
	if r.Method != http.MethodGet {
		writeADF(w, http.StatusMethodNotAllowed, "Method Not Allowed", "The simulator serves GET only.", "")
		return
	}
	version, res, _ := strings.Cut(rest, "/")
	if version != DefaultAPIVersion && version != "latest" {
		writeADF(w, http.StatusNotFound, "Not Found", fmt.Sprintf("The requested resource version %s does not exist.", version), "")
		return
	}
	body, e := s.collection(r, res)
	if e != nil {
		writeADF(w, e.status, http.StatusText(e.status), e.detail, e.code)
		return
	}
	if n := 1; s.take(&s.malformN, &n) != 0 {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/vnd.oracle.adf.resourcecollection+json")
	_, _ = w.Write(body)
}

func (s *Simulator) control(f func() time.Duration) time.Duration {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return f()
}

// take decrements *n if positive and returns *v, else 0.
func (s *Simulator) take(n, v *int) int {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if *n <= 0 {
		return 0
	}
	*n--
	return *v
}

func (s *Simulator) throttled(w http.ResponseWriter) bool {
	s.ctl.Lock()
	n, ra := s.throttleN, s.retryAfter
	if n > 0 {
		s.throttleN--
	}
	s.ctl.Unlock()
	if n <= 0 {
		return false
	}
	secs := int((ra + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeADF(w, http.StatusTooManyRequests, "Too Many Requests", "The request was throttled because the rate limit was exceeded. Retry later.", "")
	return true
}

// authorized checks basic credentials or a bearer token, answering 401
// with Oracle's error body when they are wrong.
func (s *Simulator) authorized(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	auth := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
		s.ctl.Lock()
		exp, known := s.tokens[tok]
		s.ctl.Unlock()
		if known && now.Before(exp) {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeADF(w, http.StatusUnauthorized, "Unauthorized", "The access token is invalid or has expired.", "")
		return false
	}
	if u, p, ok := r.BasicAuth(); ok && u == SimUsername && p == SimPassword {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="Oracle Fusion Applications"`)
	writeADF(w, http.StatusUnauthorized, "Unauthorized", "Authentication failed: the user name or password is not valid.", "")
	return false
}

// serveToken is the client-credentials token endpoint, accepting the
// client's credentials in a basic Authorization header or in the form.
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request, now time.Time) {
	oauthErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		oauthErr(http.StatusMethodNotAllowed, "invalid_request", "Use POST.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(http.StatusBadRequest, "invalid_request", "The request body is not a form.")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != SimClientID || secret != SimClientSecret {
		oauthErr(http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "The grant type "+gt+" is not supported.")
		return
	}
	s.ctl.Lock()
	s.tokenSeq++
	tok := fmt.Sprintf("simtok.%d.%016x", s.tokenSeq, rand.Uint64())
	s.tokens[tok] = now.Add(SimTokenLifetime)
	s.ctl.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int(SimTokenLifetime / time.Second),
	})
}

// adfErrorBody is Oracle's REST error payload.
type adfErrorBody struct {
	Type    string         `json:"type"`
	Title   string         `json:"title"`
	Status  string         `json:"status"`
	Details []adfErrDetail `json:"o:errorDetails"`
}

type adfErrDetail struct {
	Detail    string `json:"detail"`
	ErrorCode string `json:"o:errorCode"`
}

func writeADF(w http.ResponseWriter, status int, title, detail, code string) {
	w.Header().Set("Content-Type", "application/vnd.oracle.adf.error+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(adfErrorBody{
		Type:    "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html",
		Title:   title,
		Status:  strconv.Itoa(status),
		Details: []adfErrDetail{{Detail: detail, ErrorCode: code}},
	})
}

type simError struct {
	status       int
	detail, code string
}

func badRequest(detail string) *simError {
	return &simError{status: http.StatusBadRequest, detail: detail, code: "27023"}
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type collectionOut struct {
	Items        []any  `json:"items"`
	TotalResults *int   `json:"totalResults,omitempty"`
	Count        int    `json:"count"`
	HasMore      bool   `json:"hasMore"`
	Limit        int    `json:"limit"`
	Offset       int    `json:"offset"`
	Links        []link `json:"links"`
}

type poOut struct {
	*simPO
	Lines []*simPOLine `json:"lines,omitempty"`
	Links []link       `json:"links,omitempty"`
}

type supplierOut struct {
	*simSupplier
	Links []link `json:"links,omitempty"`
}

type invoiceOut struct {
	*simInvoice
	InvoiceLines []invoiceLineOut `json:"invoiceLines,omitempty"`
	Links        []link           `json:"links,omitempty"`
}

type invoiceLineOut struct {
	*simInvoiceLine
	InvoiceDistributions []*simDistribution `json:"invoiceDistributions,omitempty"`
}

// query is the parsed collection query string.
type query struct {
	limit, offset int
	onlyData      bool
	total         bool
	since         time.Time // zero: no filter
	strict        bool      // > rather than >=
	expand        map[string]bool
}

// queryValues parses a query string like url.ParseQuery but keeps
// semicolons, which Fusion's finder syntax puts in a value unescaped
// (finder=AccountBalanceFinder;ledgerName=…).
func queryValues(raw string) url.Values {
	v := url.Values{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(val)
		if err1 == nil && err2 == nil {
			v.Add(k, val)
		}
	}
	return v
}

func parseQuery(r *http.Request, idAttr string, children ...string) (query, *simError) {
	v := queryValues(r.URL.RawQuery)
	q := query{limit: simDefaultLimit, expand: map[string]bool{}}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, badRequest(fmt.Sprintf("The value %q of the limit query parameter is not valid.", s))
		}
		if n > MaxLimit {
			return q, badRequest(fmt.Sprintf("The limit query parameter value %d exceeds the maximum of %d.", n, MaxLimit))
		}
		q.limit = n
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, badRequest(fmt.Sprintf("The value %q of the offset query parameter is not valid.", s))
		}
		q.offset = n
	}
	q.onlyData = v.Get("onlyData") == "true"
	q.total = v.Get("totalResults") == "true"
	if s := v.Get("orderBy"); s != "" && s != idAttr && s != idAttr+":asc" {
		return q, badRequest(fmt.Sprintf("The orderBy value %q is not supported by the simulator (only %s:asc).", s, idAttr))
	}
	if s := v.Get("expand"); s != "" {
		for _, c := range strings.Split(s, ",") {
			if c == "all" {
				for _, ch := range children {
					q.expand[ch] = true
				}
				continue
			}
			if !slices.Contains(children, c) {
				return q, badRequest(fmt.Sprintf("The child %q in the expand query parameter does not exist.", c))
			}
			q.expand[c] = true
			if parent, _, nested := strings.Cut(c, "."); nested {
				q.expand[parent] = true
			}
		}
	}
	if s := v.Get("q"); s != "" {
		since, strict, err := parseQ(s)
		if err != nil {
			return q, badRequest(fmt.Sprintf("URL request parameter q with value %q is not valid: %v.", s, err))
		}
		q.since, q.strict = since, strict
	}
	return q, nil
}

// parseQ reads the filters the simulator supports: conditions on
// LastUpdateDate with >= or >, joined by " and " (row-match, framework
// version 2+) or ";" (query by example, version 1), the value in single or
// double quotes or bare.
func parseQ(s string) (time.Time, bool, error) {
	var since time.Time
	strict := false
	for _, cond := range strings.FieldsFunc(strings.ReplaceAll(s, " and ", ";"), func(r rune) bool { return r == ';' }) {
		cond = strings.TrimSpace(cond)
		attr, val, ok := strings.Cut(cond, ">")
		if !ok || strings.TrimSpace(attr) != "LastUpdateDate" {
			return since, false, fmt.Errorf("only LastUpdateDate >= or > conditions are supported")
		}
		st := true
		if v, ok := strings.CutPrefix(val, "="); ok {
			val, st = v, false
		}
		val = strings.Trim(strings.TrimSpace(val), `'"`)
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return since, false, fmt.Errorf("%q is not a date-time", val)
		}
		if t.After(since) || (t.Equal(since) && st) {
			since, strict = t, st
		}
	}
	return since, strict, nil
}

func (q query) match(t oraTime) bool {
	if q.since.IsZero() {
		return true
	}
	if q.strict {
		return time.Time(t).After(q.since)
	}
	return !time.Time(t).Before(q.since)
}

// filtered returns the indexes (into a slice sorted by id) of the n items
// whose modified time matches q, cached per query and data version so
// that paging through a filtered collection costs one scan.
func (s *Simulator) filtered(res string, q query, n int, modified func(i int) oraTime) []int {
	key := fmt.Sprintf("%s|%d|%t|%d", res, q.since.UnixNano(), q.strict, s.version)
	s.cacheMu.Lock()
	idx, ok := s.cache[key]
	s.cacheMu.Unlock()
	if ok {
		return idx
	}
	idx = []int{}
	for i := range n {
		if q.match(modified(i)) {
			idx = append(idx, i)
		}
	}
	s.cacheMu.Lock()
	if len(s.cache) > 64 {
		clear(s.cache)
	}
	s.cache[key] = idx
	s.cacheMu.Unlock()
	return idx
}

// collection renders one page of a resource.
func (s *Simulator) collection(r *http.Request, res string) ([]byte, *simError) {
	self := "http://" + r.Host + r.URL.Path
	s.mu.RLock()
	defer s.mu.RUnlock()
	var (
		out   collectionOut
		total int
		q     query
		e     *simError
	)
	itemLinks := func(id int64) []link {
		if q.onlyData {
			return nil
		}
		return []link{{Rel: "self", Href: fmt.Sprintf("%s/%d", self, id), Name: res, Kind: "item"}}
	}
	switch res {
	case "purchaseOrders":
		if q, e = parseQuery(r, "POHeaderId", "lines"); e != nil {
			return nil, e
		}
		idx := s.filtered(res, q, len(s.d.pos), func(i int) oraTime { return s.d.pos[i].LastUpdateDate })
		total = len(idx)
		for _, i := range window(idx, q) {
			po := s.d.pos[i]
			o := poOut{simPO: po, Links: itemLinks(po.POHeaderId)}
			if q.expand["lines"] {
				o.Lines = po.lines
			}
			out.Items = append(out.Items, o)
		}
	case "suppliers":
		if q, e = parseQuery(r, "SupplierId"); e != nil {
			return nil, e
		}
		idx := s.filtered(res, q, len(s.d.suppliers), func(i int) oraTime { return s.d.suppliers[i].LastUpdateDate })
		total = len(idx)
		for _, i := range window(idx, q) {
			sup := s.d.suppliers[i]
			out.Items = append(out.Items, supplierOut{simSupplier: sup, Links: itemLinks(sup.SupplierId)})
		}
	case "invoices":
		if q, e = parseQuery(r, "InvoiceId", "invoiceLines", "invoiceLines.invoiceDistributions"); e != nil {
			return nil, e
		}
		idx := s.filtered(res, q, len(s.d.invoices), func(i int) oraTime { return s.d.invoices[i].LastUpdateDate })
		total = len(idx)
		for _, i := range window(idx, q) {
			inv := s.d.invoices[i]
			o := invoiceOut{simInvoice: inv, Links: itemLinks(inv.InvoiceId)}
			if q.expand["invoiceLines"] {
				for _, l := range inv.lines {
					lo := invoiceLineOut{simInvoiceLine: l}
					if q.expand["invoiceLines.invoiceDistributions"] {
						lo.InvoiceDistributions = l.dists
					}
					o.InvoiceLines = append(o.InvoiceLines, lo)
				}
			}
			out.Items = append(out.Items, o)
		}
	case "ledgerBalances":
		if q, e = parseQuery(r, ""); e != nil {
			return nil, e
		}
		if !q.since.IsZero() {
			return nil, badRequest("The ledgerBalances resource is queried with the AccountBalanceFinder finder, not q.")
		}
		rows, e := s.balances(queryValues(r.URL.RawQuery).Get("finder"))
		if e != nil {
			return nil, e
		}
		total = len(rows)
		lo, hi := min(q.offset, len(rows)), min(q.offset+q.limit, len(rows))
		for _, b := range rows[lo:hi] {
			out.Items = append(out.Items, b)
		}
	default:
		return nil, &simError{status: http.StatusNotFound, detail: fmt.Sprintf("The requested resource %s does not exist.", res)}
	}
	if out.Items == nil {
		out.Items = []any{}
	}
	out.Count = len(out.Items)
	out.HasMore = q.offset+out.Count < total
	out.Limit, out.Offset = q.limit, q.offset
	if q.total {
		out.TotalResults = &total
	}
	out.Links = []link{{Rel: "self", Href: self, Name: res, Kind: "collection"}}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(out); err != nil {
		return nil, &simError{status: http.StatusInternalServerError, detail: err.Error()}
	}
	return buf.Bytes(), nil
}

func window(idx []int, q query) []int {
	lo := min(q.offset, len(idx))
	hi := min(q.offset+q.limit, len(idx))
	return idx[lo:hi]
}

// balances answers the AccountBalanceFinder (mode Detail).
func (s *Simulator) balances(finder string) ([]*simBalance, *simError) {
	name, vars, ok := strings.Cut(finder, ";")
	if name != "AccountBalanceFinder" || !ok {
		return nil, badRequest("The ledgerBalances resource requires the finder AccountBalanceFinder.")
	}
	v := map[string]string{}
	for _, kv := range splitFinder(vars) {
		k, val, _ := strings.Cut(kv, "=")
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		v[k] = val
	}
	for _, req := range []string{"accountCombination", "accountingPeriod", "currency", "ledgerName"} {
		if v[req] == "" {
			return nil, badRequest(fmt.Sprintf("The finder variable %s of AccountBalanceFinder is required.", req))
		}
	}
	if v["ledgerName"] != simLedger || v["currency"] != simLedgerCurrency {
		return nil, nil
	}
	pattern := strings.Split(v["accountCombination"], "-")
	var rows []*simBalance
	for _, b := range s.d.balances[v["accountingPeriod"]] {
		segs := strings.Split(b.DetailAccountCombination, "-")
		if v["accountCombination"] != "%" && !matchSegments(pattern, segs) {
			continue
		}
		rows = append(rows, b)
	}
	return rows, nil
}

func matchSegments(pattern, segs []string) bool {
	if len(pattern) != len(segs) {
		return false
	}
	for i, p := range pattern {
		if p != "%" && p != segs[i] {
			return false
		}
	}
	return true
}

// splitFinder splits finder variables on commas outside double quotes.
func splitFinder(s string) []string {
	var out []string
	inQ, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQ = !inQ
		case ',':
			if !inQ {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
