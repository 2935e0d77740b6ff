package workday

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
)

// The simulator's tenant and credentials (see Connection).
const (
	SimTenant       = "gms"
	simClientID     = "greenlang-sim-client"
	simClientSecret = "sim-client-secret-7f3a"
	simRefreshToken = "sim-refresh-token-0"
	simSOAPUser     = "isu_greenlang@gms"
	simSOAPPassword = "sim-soap-password-91c2"
	simTokenTTL     = time.Hour
)

// Simulator is an in-memory Workday tenant speaking the REST APIs
// (workers, suppliers, purchase orders, expense reports), the OAuth 2.0
// token endpoint (refresh-token grant) and the SOAP Human_Resources
// Get_Workers operation. Its data set is generated deterministically from
// the options' Seed. Its test controls are safe to call while it serves.
type Simulator struct {
	now func() time.Time

	mu          sync.RWMutex // data
	d           *simData
	activeIdx   []int // indexes of active workers (REST lists only those)
	poByNumber  map[string]int
	repByNumber map[string]int
	supByID     map[string]int
	workerByID  map[string]int
	version     uint64 // bumped by every data change
	lastMutate  time.Time
	rng         *rand.Rand

	cacheMu sync.Mutex // the updatedFrom filter of the last request
	cache   struct {
		since   time.Time
		version uint64
		idx     []int
		ok      bool
	}

	ctl        sync.Mutex // controls and tokens
	throttleN  int
	retryAfter time.Duration
	failN      int
	failStatus int
	malformN   int
	delay      time.Duration
	rotate     bool
	tokens     map[string]time.Time // access token → expiry
	refresh    map[string]bool      // valid refresh tokens
	tokenSeq   uint64
	tokRng     *rand.Rand // token values (ctl held)

	requests atomic.Int64
}

// NewSimulator generates a simulator's data set: o.Records purchase order
// lines (default 5000) and, scaled from it, workers, suppliers and expense
// reports.
func NewSimulator(o erp.SimOptions) *Simulator {
	if o.Records <= 0 {
		o.Records = 5000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Simulator{
		now:         o.Now,
		d:           generate(o.Records, o.Seed),
		poByNumber:  map[string]int{},
		repByNumber: map[string]int{},
		supByID:     map[string]int{},
		workerByID:  map[string]int{},
		rng:         rand.New(rand.NewPCG(o.Seed+1, o.Seed^0x5bd1e995)),
		tokens:      map[string]time.Time{},
		refresh:     map[string]bool{simRefreshToken: true},
		tokRng:      rand.New(rand.NewPCG(o.Seed+2, o.Seed^0x2545f491)),
	}
	for i, w := range s.d.workers {
		s.workerByID[w.WorkerID] = i
		if w.active {
			s.activeIdx = append(s.activeIdx, i)
		}
	}
	for i, p := range s.d.suppliers {
		s.supByID[p.SupplierID] = i
	}
	for i, p := range s.d.pos {
		s.poByNumber[p.Number] = i
	}
	for i, r := range s.d.reports {
		s.repByNumber[r.ReportNumber] = i
	}
	return s
}

// Connection returns what a REST connection to the simulator at baseURL
// needs.
func (s *Simulator) Connection(baseURL string) (string, map[string]string, json.RawMessage) {
	return AuthOAuth2, map[string]string{
		"client_id": simClientID, "client_secret": simClientSecret, "refresh_token": simRefreshToken,
	}, json.RawMessage(`{"tenant":"` + SimTenant + `"}`)
}

// SOAPConnection returns what a SOAP (Get_Workers) connection to the
// simulator at baseURL needs.
func (s *Simulator) SOAPConnection(baseURL string) (string, map[string]string, json.RawMessage) {
	return AuthWSS, map[string]string{"username": simSOAPUser, "password": simSOAPPassword},
		json.RawMessage(`{"tenant":"` + SimTenant + `","api":"soap"}`)
}

// ---- test controls ----

// Throttle makes the next n requests (token endpoint included) answer 429
// with Retry-After.
func (s *Simulator) Throttle(n int, retryAfter time.Duration) {
	s.ctl.Lock()
	s.throttleN, s.retryAfter = n, retryAfter
	s.ctl.Unlock()
}

// FailNext makes the next n data requests fail with status and a Workday
// error body (a SOAP Server fault on the SOAP endpoint).
func (s *Simulator) FailNext(n, status int) {
	s.ctl.Lock()
	s.failN, s.failStatus = n, status
	s.ctl.Unlock()
}

// MalformNext truncates the next n data responses mid-body.
func (s *Simulator) MalformNext(n int) {
	s.ctl.Lock()
	s.malformN = n
	s.ctl.Unlock()
}

// Delay makes every data request wait d (or until the client gives up).
func (s *Simulator) Delay(d time.Duration) {
	s.ctl.Lock()
	s.delay = d
	s.ctl.Unlock()
}

// ExpireTokens invalidates every access token issued so far.
func (s *Simulator) ExpireTokens() {
	s.ctl.Lock()
	clear(s.tokens)
	s.ctl.Unlock()
}

// RotateRefreshTokens makes the token endpoint issue a new refresh token
// with every access token and refuse the one redeemed.
func (s *Simulator) RotateRefreshTokens(on bool) {
	s.ctl.Lock()
	s.rotate = on
	s.ctl.Unlock()
}

// Requests returns the number of data requests received (REST collections
// and SOAP calls; not token requests, not throttled ones).
func (s *Simulator) Requests() int64 { return s.requests.Load() }

// Count returns how many records a full REST read of entity yields:
// active workers, suppliers, purchase order lines, expense report lines.
func (s *Simulator) Count(entity string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch entity {
	case EntityWorkers:
		return len(s.activeIdx)
	case EntitySuppliers:
		return len(s.d.suppliers)
	case EntityPurchaseOrders:
		return len(s.d.lineRefs)
	case EntityExpenseReports:
		n := 0
		for _, r := range s.d.reports {
			n += len(r.Lines)
		}
		return n
	}
	return 0
}

// SOAPWorkerCount returns how many workers Get_Workers lists (terminated
// ones included).
func (s *Simulator) SOAPWorkerCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.d.workers)
}

// Mutate changes changed purchase order lines (quantity and amount) and
// cancels deleted ones (line status Canceled), setting their orders'
// lastUpdated to now.
func (s *Simulator) Mutate(changed, deleted int) { s.MutateKeys(changed, deleted) }

// MutateKeys is Mutate returning the keys ("<PO number>/<line>") changed
// and cancelled.
func (s *Simulator) MutateKeys(changed, deleted int) (changedKeys, deletedKeys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.now().UTC().Truncate(time.Millisecond)
	if !t.After(s.lastMutate) {
		t = s.lastMutate.Add(time.Millisecond)
	}
	s.lastMutate = t
	used := map[int]bool{}
	pick := func() (int, bool) {
		for range 100 * (changed + deleted + 1) {
			i := s.rng.IntN(len(s.d.lineRefs))
			ref := s.d.lineRefs[i]
			if used[i] || s.d.pos[ref[0]].Lines[ref[1]].Status.Descriptor == "Canceled" {
				continue
			}
			used[i] = true
			return i, true
		}
		return 0, false
	}
	touch := func(i int) (*simPO, *simPOLine, string) {
		ref := s.d.lineRefs[i]
		po := &s.d.pos[ref[0]]
		po.modified, po.LastUpdated = t, stamp(t)
		l := &po.Lines[ref[1]]
		return po, l, po.Number + "/" + strconv.Itoa(l.LineNumber)
	}
	for range changed {
		i, ok := pick()
		if !ok {
			break
		}
		po, l, key := touch(i)
		qty, err := decimal.NewFromString(string(l.Quantity))
		if err != nil {
			qty = decimal.Zero
		}
		qty = qty.Add(decimal.NewFromInt(int64(1 + s.rng.IntN(10))))
		price, err := decimal.NewFromString(string(l.UnitCost.Value))
		if err != nil {
			price = decimal.Zero
		}
		l.Quantity = simNum(qty.String())
		l.ExtendedAmount.Value = simNum(qty.Mul(price).Round(2).StringFixed(2))
		po.TotalAmount = poTotal(*po)
		changedKeys = append(changedKeys, key)
	}
	for range deleted {
		i, ok := pick()
		if !ok {
			break
		}
		po, l, key := touch(i)
		l.Status = simRef{statusWID("Canceled"), "Canceled"}
		po.TotalAmount = poTotal(*po)
		deletedKeys = append(deletedKeys, key)
	}
	s.version++
	return changedKeys, deletedKeys
}

// InjectBad gives one record a bad value. key is a PO line key
// ("PO-0000001/1"), an expense line key ("EXP-0000001/2"), a supplier id or
// a worker id; field is, for PO lines: currency (→ "XXQ"), quantity
// (→ "abc"), orderDate (removed, for the whole order); for expense lines:
// currency, date, amount (→ "12,50"); for suppliers: supplierId (removed);
// for workers: workerId (removed).
func (s *Simulator) InjectBad(key, field string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	doc, line, hasLine := strings.Cut(key, "/")
	ln, _ := strconv.Atoi(line)
	if i, ok := s.poByNumber[doc]; ok && hasLine {
		po := &s.d.pos[i]
		if ln < 1 || ln > len(po.Lines) {
			return fmt.Errorf("workday simulator: no line %q in %s", line, doc)
		}
		l := &po.Lines[ln-1]
		switch field {
		case "currency":
			l.ExtendedAmount.Currency, l.UnitCost.Currency = "XXQ", "XXQ"
		case "quantity":
			l.Quantity = "abc"
		case "orderDate":
			po.OrderDate = ""
		default:
			return fmt.Errorf("workday simulator: cannot make field %q of a PO line bad", field)
		}
		return nil
	}
	if i, ok := s.repByNumber[doc]; ok && hasLine {
		r := &s.d.reports[i]
		if ln < 1 || ln > len(r.Lines) {
			return fmt.Errorf("workday simulator: no line %q in %s", line, doc)
		}
		l := &r.Lines[ln-1]
		switch field {
		case "currency":
			l.TotalAmount.Currency = "XXQ"
		case "date":
			l.Date = ""
		case "amount":
			l.TotalAmount.Value = "12,50"
		default:
			return fmt.Errorf("workday simulator: cannot make field %q of an expense line bad", field)
		}
		return nil
	}
	if i, ok := s.supByID[key]; ok && field == "supplierId" {
		s.d.suppliers[i].SupplierID = ""
		return nil
	}
	if i, ok := s.workerByID[key]; ok && field == "workerId" {
		s.d.workers[i].WorkerID = ""
		return nil
	}
	return fmt.Errorf("workday simulator: no record %q with a field %q to spoil", key, field)
}

// ---- serving ----

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	soap := len(parts) == 5 && parts[0] == "ccx" && parts[1] == "service" && parts[3] == "Human_Resources"
	if ra, ok := s.takeThrottle(); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
		if soap {
			writeFault(w, http.StatusTooManyRequests, "SOAP-ENV:Server.throttled", "Too many requests: the tenant's concurrent request limit was exceeded")
			return
		}
		writeRESTError(w, http.StatusTooManyRequests, "Too many requests. Retry after the time the Retry-After header gives.", "")
		return
	}
	switch {
	case len(parts) == 4 && parts[0] == "ccx" && parts[1] == "oauth2" && parts[3] == "token":
		s.serveToken(w, r, parts[2])
	case soap:
		s.serveSOAP(w, r, parts[2])
	case len(parts) >= 5 && parts[0] == "ccx" && parts[1] == "api":
		s.serveREST(w, r, parts[2:])
	default:
		writeRESTError(w, http.StatusNotFound, "Resource not found: "+r.URL.Path, "")
	}
}

func (s *Simulator) takeThrottle() (time.Duration, bool) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.throttleN <= 0 {
		return 0, false
	}
	s.throttleN--
	return s.retryAfter, true
}

// takeDataControls counts a data request and takes its share of FailNext
// and MalformNext; it returns the failure status (0: none), whether to
// truncate, and the delay.
func (s *Simulator) takeDataControls() (fail int, malform bool, delay time.Duration) {
	s.requests.Add(1)
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if s.failN > 0 {
		s.failN--
		fail = s.failStatus
	}
	if fail == 0 && s.malformN > 0 {
		s.malformN--
		malform = true
	}
	return fail, malform, s.delay
}

func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// writeRESTError writes Workday's REST error body.
func writeRESTError(w http.ResponseWriter, status int, msg, field string) {
	type item struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}
	body := struct {
		Error  string `json:"error"`
		Errors []item `json:"errors,omitempty"`
	}{Error: msg}
	if field != "" {
		body.Errors = []item{{Error: msg, Field: field}}
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeOAuthError writes an OAuth 2.0 error body (RFC 6749 §5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveToken is POST /ccx/oauth2/{tenant}/token with grant_type=refresh_token.
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the request body is not a form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if tenant != SimTenant || id != simClientID || secret != simClientSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="Workday"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client credentials")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "refresh_token" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+gt)
		return
	}
	rt := r.PostForm.Get("refresh_token")
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if !s.refresh[rt] {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
		return
	}
	s.tokenSeq++
	access := fmt.Sprintf("wd-at-%d-%016x", s.tokenSeq, s.rngUint64())
	s.tokens[access] = s.now().Add(simTokenTTL)
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": int(simTokenTTL / time.Second)}
	if s.rotate {
		delete(s.refresh, rt)
		nrt := fmt.Sprintf("sim-refresh-token-%d-%016x", s.tokenSeq, s.rngUint64())
		s.refresh[nrt] = true
		resp["refresh_token"] = nrt
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// rngUint64 draws a token value (ctl held).
func (s *Simulator) rngUint64() uint64 { return s.tokRng.Uint64() }

// authorized checks the bearer token of r.
func (s *Simulator) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.now().Before(exp)
}

// serveREST serves the collections.
func (s *Simulator) serveREST(w http.ResponseWriter, r *http.Request, p []string) {
	var tenant, resource string
	switch {
	case len(p) == 3 && p[0] == "v1" && p[2] == "workers":
		tenant, resource = p[1], EntityWorkers
	case len(p) == 4 && p[0] == "procurement" && p[1] == "v5" && p[3] == "suppliers":
		tenant, resource = p[2], EntitySuppliers
	case len(p) == 4 && p[0] == "procurement" && p[1] == "v5" && p[3] == "purchaseOrders":
		tenant, resource = p[2], EntityPurchaseOrders
	case len(p) == 4 && p[0] == "expense" && p[1] == "v1" && p[3] == "reports":
		tenant, resource = p[2], EntityExpenseReports
	default:
		writeRESTError(w, http.StatusNotFound, "Resource not found: "+r.URL.Path, "")
		return
	}
	if r.Method != http.MethodGet {
		writeRESTError(w, http.StatusMethodNotAllowed, "Method not allowed: "+r.Method, "")
		return
	}
	fail, malform, delay := s.takeDataControls()
	if !wait(r, delay) {
		return
	}
	if fail != 0 {
		writeRESTError(w, fail, "An unexpected error occurred while processing the request. Try again later.", "")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeRESTError(w, http.StatusUnauthorized, "invalid_token: the access token is invalid or has expired", "")
		return
	}
	if tenant != SimTenant {
		writeRESTError(w, http.StatusNotFound, "Tenant "+tenant+" not found", "")
		return
	}
	q := r.URL.Query()
	limit, offset := 20, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			writeRESTError(w, http.StatusBadRequest, "invalid request: limit must be an integer from 1 to 100", "limit")
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeRESTError(w, http.StatusBadRequest, "invalid request: offset must be a non-negative integer", "offset")
			return
		}
		offset = n
	}
	var since time.Time
	if v := q.Get("updatedFrom"); v != "" {
		if resource != EntityPurchaseOrders {
			writeRESTError(w, http.StatusBadRequest, "invalid request: unknown query parameter updatedFrom", "updatedFrom")
			return
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeRESTError(w, http.StatusBadRequest, "invalid request: updatedFrom is not a valid date-time", "updatedFrom")
			return
		}
		since = t
	}
	body, err := s.renderPage(resource, since, limit, offset)
	if err != nil {
		writeRESTError(w, http.StatusInternalServerError, "An unexpected error occurred while processing the request.", "")
		return
	}
	if malform {
		body = body[:len(body)/2]
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(body)
}

// window returns the [lo, hi) slice bounds of a page.
func window(total, limit, offset int) (int, int) {
	lo := min(offset, total)
	return lo, min(lo+limit, total)
}

// renderPage marshals one page {"total":N,"data":[…]}.
func (s *Simulator) renderPage(resource string, since time.Time, limit, offset int) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	type page struct {
		Total int `json:"total"`
		Data  any `json:"data"`
	}
	switch resource {
	case EntityWorkers:
		lo, hi := window(len(s.activeIdx), limit, offset)
		data := make([]*simWorker, 0, hi-lo)
		for _, i := range s.activeIdx[lo:hi] {
			data = append(data, &s.d.workers[i])
		}
		return json.Marshal(page{len(s.activeIdx), data})
	case EntitySuppliers:
		lo, hi := window(len(s.d.suppliers), limit, offset)
		return json.Marshal(page{len(s.d.suppliers), s.d.suppliers[lo:hi]})
	case EntityPurchaseOrders:
		if since.IsZero() {
			lo, hi := window(len(s.d.pos), limit, offset)
			return json.Marshal(page{len(s.d.pos), s.d.pos[lo:hi]})
		}
		idx := s.updatedFrom(since)
		lo, hi := window(len(idx), limit, offset)
		data := make([]*simPO, 0, hi-lo)
		for _, i := range idx[lo:hi] {
			data = append(data, &s.d.pos[i])
		}
		return json.Marshal(page{len(idx), data})
	default:
		lo, hi := window(len(s.d.reports), limit, offset)
		return json.Marshal(page{len(s.d.reports), s.d.reports[lo:hi]})
	}
}

// updatedFrom returns, in document order, the purchase orders last updated
// at or after since. The result is cached per (since, data version), so
// paging through a filtered read costs one scan. s.mu is held (read).
func (s *Simulator) updatedFrom(since time.Time) []int {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c := &s.cache
	if c.ok && c.version == s.version && c.since.Equal(since) {
		return c.idx
	}
	var idx []int
	for i := range s.d.pos {
		if !s.d.pos[i].modified.Before(since) {
			idx = append(idx, i)
		}
	}
	c.since, c.version, c.idx, c.ok = since, s.version, idx, true
	return idx
}

// ---- SOAP ----

// simSOAPRequest is what the simulator reads of a SOAP request.
type simSOAPRequest struct {
	Header struct {
		Security struct {
			UsernameToken struct {
				Username string `xml:"Username"`
				Password string `xml:"Password"`
			} `xml:"UsernameToken"`
		} `xml:"Security"`
	} `xml:"Header"`
	Body struct {
		GetWorkers *struct {
			Filter struct {
				AsOfEntry string `xml:"As_Of_Entry_DateTime"`
				Page      string `xml:"Page"`
				Count     string `xml:"Count"`
			} `xml:"Response_Filter"`
		} `xml:"Get_Workers_Request"`
	} `xml:"Body"`
}

// writeFault writes a SOAP 1.1 fault.
func writeFault(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="`+nsSOAPEnv+`">`+
		`<SOAP-ENV:Body><SOAP-ENV:Fault xmlns:wd="`+nsBsvc+`"><faultcode>`+xmlText(code)+`</faultcode><faultstring>`+
		xmlText(msg)+`</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`)
}

// serveSOAP serves POST /ccx/service/{tenant}/Human_Resources/{version}.
func (s *Simulator) serveSOAP(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		writeFault(w, http.StatusMethodNotAllowed, "SOAP-ENV:Client", "SOAP requests are POSTed")
		return
	}
	fail, malform, delay := s.takeDataControls()
	if !wait(r, delay) {
		return
	}
	if fail != 0 {
		writeFault(w, fail, "SOAP-ENV:Server", "An internal error occurred. Try again later.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeFault(w, http.StatusInternalServerError, "SOAP-ENV:Client", "could not read the request")
		return
	}
	var req simSOAPRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		writeFault(w, http.StatusInternalServerError, "SOAP-ENV:Client.validationError", "Invalid request: the XML is not well formed")
		return
	}
	ut := req.Header.Security.UsernameToken
	if tenant != SimTenant || ut.Username != simSOAPUser || ut.Password != simSOAPPassword {
		writeFault(w, http.StatusInternalServerError, "SOAP-ENV:Client.authenticationError", "invalid username or password")
		return
	}
	gw := req.Body.GetWorkers
	if gw == nil {
		writeFault(w, http.StatusInternalServerError, "SOAP-ENV:Client.validationError", "Invalid request service element: Human_Resources expects a known operation")
		return
	}
	page, count := 1, 100
	if v := strings.TrimSpace(gw.Filter.Page); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			writeFault(w, http.StatusInternalServerError, "SOAP-ENV:Client.validationError", "Validation error occurred. Invalid Page: "+v)
			return
		}
	}
	if v := strings.TrimSpace(gw.Filter.Count); v != "" {
		if count, err = strconv.Atoi(v); err != nil || count < 1 || count > MaxSOAPCount {
			writeFault(w, http.StatusInternalServerError, "SOAP-ENV:Client.validationError", "Validation error occurred. Count must be between 1 and 999: "+v)
			return
		}
	}
	asOf := strings.TrimSpace(gw.Filter.AsOfEntry)
	if asOf == "" {
		asOf = s.now().UTC().Format("2006-01-02T15:04:05.000-07:00")
	}
	out := s.renderWorkers(page, count, asOf)
	if malform {
		out = out[:len(out)/2]
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, _ = w.Write(out)
}

// renderWorkers renders one page of Get_Workers_Response.
func (s *Simulator) renderWorkers(page, count int, asOf string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	total := len(s.d.workers)
	pages := (total + count - 1) / count
	lo, hi := window(total, count, (page-1)*count)
	var b strings.Builder
	b.Grow(2048 * (hi - lo + 1))
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="` + nsSOAPEnv + `"><env:Body>`)
	b.WriteString(`<wd:Get_Workers_Response xmlns:wd="` + nsBsvc + `" wd:version="` + DefaultHRVersion + `">`)
	b.WriteString(`<wd:Response_Filter><wd:As_Of_Effective_Date>` + s.now().UTC().Format(time.DateOnly) + `</wd:As_Of_Effective_Date>`)
	b.WriteString(`<wd:As_Of_Entry_DateTime>` + xmlText(asOf) + `</wd:As_Of_Entry_DateTime>`)
	fmt.Fprintf(&b, `<wd:Page>%d</wd:Page><wd:Count>%d</wd:Count></wd:Response_Filter>`, page, count)
	fmt.Fprintf(&b, `<wd:Response_Results><wd:Total_Results>%d</wd:Total_Results><wd:Total_Pages>%d</wd:Total_Pages>`+
		`<wd:Page_Results>%d</wd:Page_Results><wd:Page>%d</wd:Page></wd:Response_Results>`, total, pages, hi-lo, page)
	b.WriteString(`<wd:Response_Data>`)
	for _, w := range s.d.workers[lo:hi] {
		writeSOAPWorker(&b, w)
	}
	b.WriteString(`</wd:Response_Data></wd:Get_Workers_Response></env:Body></env:Envelope>`)
	return []byte(b.String())
}

func writeSOAPWorker(b *strings.Builder, w simWorker) {
	active, terminated := "1", "0"
	if !w.active {
		active, terminated = "0", "1"
	}
	site := simSites[0]
	for _, st := range simSites {
		if st[0] == w.siteID {
			site = st
		}
	}
	b.WriteString(`<wd:Worker><wd:Worker_Reference wd:Descriptor="` + xmlText(w.Descriptor) + `">`)
	b.WriteString(`<wd:ID wd:type="WID">` + w.ID + `</wd:ID>`)
	if w.WorkerID != "" {
		b.WriteString(`<wd:ID wd:type="Employee_ID">` + xmlText(w.WorkerID) + `</wd:ID>`)
	}
	b.WriteString(`</wd:Worker_Reference><wd:Worker_Descriptor>` + xmlText(w.Descriptor) + `</wd:Worker_Descriptor><wd:Worker_Data>`)
	if w.WorkerID != "" {
		b.WriteString(`<wd:Worker_ID>` + xmlText(w.WorkerID) + `</wd:Worker_ID>`)
	}
	b.WriteString(`<wd:User_ID>` + xmlText(w.userID) + `</wd:User_ID>`)
	b.WriteString(`<wd:Personal_Data><wd:Name_Data><wd:Legal_Name_Data><wd:Name_Detail_Data wd:Formatted_Name="` +
		xmlText(w.Descriptor) + `" wd:Reporting_Name="` + xmlText(w.last+", "+w.first) + `">`)
	b.WriteString(`<wd:Country_Reference><wd:ID wd:type="ISO_3166-1_Alpha-2_Code">` + w.country + `</wd:ID></wd:Country_Reference>`)
	b.WriteString(`<wd:First_Name>` + xmlText(w.first) + `</wd:First_Name><wd:Last_Name>` + xmlText(w.last) + `</wd:Last_Name>`)
	b.WriteString(`</wd:Name_Detail_Data></wd:Legal_Name_Data></wd:Name_Data></wd:Personal_Data>`)
	b.WriteString(`<wd:Employment_Data><wd:Worker_Job_Data wd:Primary_Job="1"><wd:Position_Data>`)
	b.WriteString(`<wd:Business_Title>` + xmlText(w.BusinessTitle) + `</wd:Business_Title><wd:Business_Site_Summary_Data>`)
	b.WriteString(`<wd:Location_Reference><wd:ID wd:type="WID">` + w.Location.ID + `</wd:ID><wd:ID wd:type="Location_ID">` + site[0] + `</wd:ID></wd:Location_Reference>`)
	b.WriteString(`<wd:Name>` + xmlText(site[1]) + `</wd:Name><wd:Address_Data><wd:Formatted_Address>` + xmlText(site[4]) + `</wd:Formatted_Address>`)
	b.WriteString(`<wd:Country_Reference><wd:ID wd:type="ISO_3166-1_Alpha-2_Code">` + site[2] + `</wd:ID></wd:Country_Reference></wd:Address_Data>`)
	b.WriteString(`</wd:Business_Site_Summary_Data></wd:Position_Data></wd:Worker_Job_Data>`)
	b.WriteString(`<wd:Worker_Status_Data><wd:Active>` + active + `</wd:Active><wd:Hire_Date>` + w.hireDate + `</wd:Hire_Date><wd:Terminated>` + terminated + `</wd:Terminated></wd:Worker_Status_Data>`)
	b.WriteString(`</wd:Employment_Data></wd:Worker_Data></wd:Worker>`)
}
