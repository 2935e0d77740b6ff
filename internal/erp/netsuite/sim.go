package netsuite

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/oauth1"
)

// Simulator credentials and account (Connection returns them).
const (
	simAccountID      = "1234567-sb1"
	simConsumerKey    = "sim-consumer-key-7d1f0c2e9b"
	simConsumerSecret = "sim-consumer-secret-4a8e51c3f6"
	simTokenID        = "sim-token-id-0b92d7e4a1"
	simTokenSecret    = "sim-token-secret-e3c6a9f215"

	// DefaultConcurrencyLimit is the simulated account's concurrent
	// request limit (NetSuite's base limit for an account without SuiteCloud
	// Plus licenses is 5; Throttle and SetConcurrencyLimit change it).
	DefaultConcurrencyLimit = 5
	// maxClockSkew is how far oauth_timestamp may be from the wall clock.
	maxClockSkew = 5 * time.Minute
)

// NetSuite's error documents (type, title) by status.
var simErrorTypes = map[int][2]string{
	400: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1", "Bad Request"},
	401: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2", "Unauthorized"},
	404: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5", "Not Found"},
	405: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6", "Method Not Allowed"},
	429: {"https://www.rfc-editor.org/rfc/rfc6585.html#section-4", "Too Many Requests"},
	500: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1", "Internal Server Error"},
	502: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.3", "Bad Gateway"},
	503: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.4", "Service Unavailable"},
	504: {"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.5", "Gateway Timeout"},
}

const invalidLogin = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail."

// Simulator serves a NetSuite account's SuiteTalk REST endpoints:
// SuiteQL (the query shapes the connector sends, queries.go), the record
// API for vendors and customrecord_ghg_fuel, token-based authentication
// with signature verification, a concurrency limit, and test controls.
// It is safe for concurrent use.
type Simulator struct {
	now   func() time.Time
	realm string

	poRe, vendorRe, deletedRe *regexp.Regexp

	mu      sync.RWMutex // guards the data below
	rng     *rand.Rand
	vendors []simVendor
	pos     []simPO
	lines   []simLine
	custom  []simCustom
	deleted []simDeleted
	version uint64
	changed []string // keys of the last Mutate
	removed []string

	cacheMu sync.Mutex
	cache   map[string]simCached

	ctl         sync.Mutex // guards the controls and nonces
	throttle    int
	retryAfter  time.Duration
	failN       int
	failStatus  int
	malformN    int
	delay       time.Duration
	expired     bool
	concurrency int
	resultCap   int
	nonces      map[string]int64

	requests atomic.Int64
	inflight atomic.Int64
}

type simCached struct {
	version uint64
	idx     []int
}

// NewSimulator builds a simulator with o.Records purchase order lines
// (default 5000), vendors and custom records in proportion.
func NewSimulator(o erp.SimOptions) *Simulator {
	if o.Records <= 0 {
		o.Records = 5000
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Simulator{
		now:         now,
		realm:       oauth1.NetSuiteRealm(simAccountID),
		poRe:        keysetPattern(poQueryBase, poKey, poModified),
		vendorRe:    keysetPattern(vendorQueryBase, vendorKey, vendorModified),
		deletedRe:   deletedPattern(),
		rng:         rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		cache:       map[string]simCached{},
		concurrency: DefaultConcurrencyLimit,
		resultCap:   suiteQLResultCap,
		nonces:      map[string]int64{},
	}
	s.generate(o.Records, now().UTC())
	return s
}

func keysetPattern(base, key, modified string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(base) + " AND " + regexp.QuoteMeta(key) + ` > (\d+)` +
		"(?: AND " + regexp.QuoteMeta(modified) + ` >= TO_DATE\('([^']*)', 'YYYY-MM-DD HH24:MI:SS'\))?` +
		" ORDER BY " + regexp.QuoteMeta(key) + "$")
}

func deletedPattern() *regexp.Regexp {
	base := regexp.QuoteMeta(fmt.Sprintf(deletedQueryBase, "\x00"))
	base = strings.Replace(base, "\x00", "([a-z0-9_]+)", 1)
	return regexp.MustCompile("^" + base + ` AND deleteddate >= TO_DATE\('([^']*)', 'YYYY-MM-DD HH24:MI:SS'\) ORDER BY deleteddate, recordid$`)
}

// Connection returns what a connector needs to talk to the simulator at
// baseURL.
func (s *Simulator) Connection(baseURL string) (string, map[string]string, json.RawMessage) {
	return AuthType, map[string]string{
			"consumer_key": simConsumerKey, "consumer_secret": simConsumerSecret,
			"token_id": simTokenID, "token_secret": simTokenSecret,
		},
		json.RawMessage(`{"account_id":"` + simAccountID + `","custom_records":["` + customFuelType + `"],"time_zone":"UTC"}`)
}

// --- test controls ---

// Throttle makes the next n requests fail with 429 CONCURRENCY_LIMIT_EXCEEDED
// and Retry-After.
func (s *Simulator) Throttle(n int, retryAfter time.Duration) {
	s.ctl.Lock()
	s.throttle, s.retryAfter = n, retryAfter
	s.ctl.Unlock()
}

// FailNext makes the next n authenticated requests fail with status and
// NetSuite's error body.
func (s *Simulator) FailNext(n, status int) {
	s.ctl.Lock()
	s.failN, s.failStatus = n, status
	s.ctl.Unlock()
}

// MalformNext makes the next n successful responses truncated JSON.
func (s *Simulator) MalformNext(n int) {
	s.ctl.Lock()
	s.malformN = n
	s.ctl.Unlock()
}

// Delay makes every request wait d before it is answered.
func (s *Simulator) Delay(d time.Duration) {
	s.ctl.Lock()
	s.delay = d
	s.ctl.Unlock()
}

// ExpireTokens drops the token's session: the next request, however well
// signed, is refused with 401 INVALID_LOGIN (NetSuite TBA tokens do not
// expire on a timer; this is the one-off refusal a client must survive by
// signing again).
func (s *Simulator) ExpireTokens() {
	s.ctl.Lock()
	s.expired = true
	s.ctl.Unlock()
}

// SetConcurrencyLimit sets how many requests may be in flight at once;
// more get 429 CONCURRENCY_LIMIT_EXCEEDED.
func (s *Simulator) SetConcurrencyLimit(n int) {
	s.ctl.Lock()
	s.concurrency = n
	s.ctl.Unlock()
}

// SetResultCap sets the most results one SuiteQL query pages through
// (NetSuite: 100,000), so tests can reach it with a small data set.
func (s *Simulator) SetResultCap(n int) {
	s.ctl.Lock()
	s.resultCap = n
	s.ctl.Unlock()
}

// Requests returns how many API requests the simulator has received.
func (s *Simulator) Requests() int64 { return s.requests.Load() }

// Counts returns the numbers of live purchase order lines, vendors and
// custom records (what a full read returns).
func (s *Simulator) Counts() (poLines, vendors, custom int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := range s.lines {
		if !s.pos[s.lines[i].PO].deleted {
			poLines++
		}
	}
	for i := range s.vendors {
		if !s.vendors[i].deleted {
			vendors++
		}
	}
	for i := range s.custom {
		if !s.custom[i].deleted {
			custom++
		}
	}
	return
}

// Mutate changes the quantity (and so the amounts) of changed open purchase
// order lines and closes deleted others (NetSuite's cancel: isclosed = 'T'),
// setting their order's lastmodifieddate to now. LastMutation returns the
// keys.
func (s *Simulator) Mutate(changed, deleted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Second)
	s.changed, s.removed = nil, nil
	picked := map[int]bool{}
	pick := func() (int, bool) {
		for range 100 * len(s.lines) {
			i := s.rng.IntN(len(s.lines))
			if l := &s.lines[i]; !picked[i] && !l.Closed && !s.pos[l.PO].deleted {
				picked[i] = true
				return i, true
			}
		}
		return 0, false
	}
	for range changed {
		i, ok := pick()
		if !ok {
			break
		}
		l := &s.lines[i]
		l.Qty = l.Qty.Add(decimal.NewFromInt(1 + s.rng.Int64N(10)))
		s.pos[l.PO].Modified = now
		s.changed = append(s.changed, s.lineKey(i))
	}
	for range deleted {
		i, ok := pick()
		if !ok {
			break
		}
		s.lines[i].Closed = true
		s.pos[s.lines[i].PO].Modified = now
		s.removed = append(s.removed, s.lineKey(i))
	}
	s.version++
}

// LastMutation returns the keys Mutate changed and closed.
func (s *Simulator) LastMutation() (changed, deleted []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.changed), slices.Clone(s.removed)
}

// Delete deletes n records of recordType ("purchaseorder", "vendor" or
// "customrecord_ghg_fuel"), recording them in the DeletedRecord table, and
// returns the keys of the tombstones the connector reports for them.
func (s *Simulator) Delete(recordType string, n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Second)
	var keys []string
	for range n {
		switch recordType {
		case "purchaseorder":
			i, ok := pickLive(s.rng, len(s.pos), func(i int) bool { return !s.pos[i].deleted })
			if !ok {
				break
			}
			s.pos[i].deleted = true
			id := strconv.Itoa(s.pos[i].ID)
			s.deleted = append(s.deleted, simDeleted{recordType, id, now})
			keys = append(keys, id)
		case "vendor":
			i, ok := pickLive(s.rng, len(s.vendors), func(i int) bool { return !s.vendors[i].deleted })
			if !ok {
				break
			}
			s.vendors[i].deleted = true
			id := strconv.Itoa(s.vendors[i].ID)
			s.deleted = append(s.deleted, simDeleted{recordType, id, now})
			keys = append(keys, id)
		case customFuelType:
			i, ok := pickLive(s.rng, len(s.custom), func(i int) bool { return !s.custom[i].deleted })
			if !ok {
				break
			}
			s.custom[i].deleted = true
			id := strconv.Itoa(s.custom[i].ID)
			s.deleted = append(s.deleted, simDeleted{recordType, id, now})
			keys = append(keys, customFuelType+"/"+id)
		}
	}
	s.version++
	return keys
}

func pickLive(r *rand.Rand, n int, live func(int) bool) (int, bool) {
	if n == 0 {
		return 0, false
	}
	for range 100 * n {
		if i := r.IntN(n); live(i) {
			return i, true
		}
	}
	return 0, false
}

// InjectBad makes the record with the connector's key carry a bad value
// in field and marks it modified now. Purchase order lines ("<id>/<line>"):
// currency (XXQ), quantity (not a number), trandate (missing), tranid
// (missing), foreignamount (missing). Vendors ("<id>"): companyname (with
// entityid missing), country (not a code). Custom records
// ("customrecord_ghg_fuel/<id>"): custrecord_currency, custrecord_quantity,
// custrecord_date, custrecord_account.
func (s *Simulator) InjectBad(key, field string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Second)
	fields := map[string][]string{
		"po":     {"currency", "quantity", "trandate", "tranid", "foreignamount"},
		"vendor": {"companyname", "country"},
		"custom": {"custrecord_currency", "custrecord_quantity", "custrecord_date", "custrecord_account"},
	}
	check := func(kind string) error {
		if !slices.Contains(fields[kind], field) {
			return fmt.Errorf("netsuite simulator: cannot make field %q bad (choose from %v)", field, fields[kind])
		}
		return nil
	}
	defer func() { s.version++ }()
	switch {
	case strings.HasPrefix(key, customFuelType+"/"):
		if err := check("custom"); err != nil {
			return err
		}
		id, _ := strconv.Atoi(strings.TrimPrefix(key, customFuelType+"/"))
		for i := range s.custom {
			if s.custom[i].ID == id && !s.custom[i].deleted {
				s.custom[i].bad, s.custom[i].Modified = field, now
				return nil
			}
		}
	case strings.Contains(key, "/"):
		if err := check("po"); err != nil {
			return err
		}
		poID, seq, _ := strings.Cut(key, "/")
		for i := range s.pos {
			if strconv.Itoa(s.pos[i].ID) == poID && !s.pos[i].deleted {
				for _, li := range s.pos[i].Lines {
					if strconv.Itoa(s.lines[li].Seq) == seq {
						s.lines[li].bad, s.pos[i].Modified = field, now
						return nil
					}
				}
			}
		}
	default:
		if err := check("vendor"); err != nil {
			return err
		}
		for i := range s.vendors {
			if strconv.Itoa(s.vendors[i].ID) == key && !s.vendors[i].deleted {
				s.vendors[i].bad, s.vendors[i].Modified = field, now
				return nil
			}
		}
	}
	return fmt.Errorf("netsuite simulator: no record with key %q", key)
}

func (s *Simulator) lineKey(i int) string {
	l := &s.lines[i]
	return strconv.Itoa(s.pos[l.PO].ID) + "/" + strconv.Itoa(l.Seq)
}

// --- serving ---

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if !strings.HasPrefix(r.URL.Path, "/services/rest/") {
		s.fail(w, 404, "NONEXISTENT_ID", "The requested resource does not exist.")
		return
	}
	s.requests.Add(1)
	s.ctl.Lock()
	delay, limit := s.delay, s.concurrency
	s.ctl.Unlock()
	// A request holds one of the account's concurrency slots while it is
	// processed (the Delay included).
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if limit > 0 && n > int64(limit) {
		s.fail(w, 429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.")
		return
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	s.ctl.Lock()
	if s.throttle > 0 {
		s.throttle--
		ra := s.retryAfter
		s.ctl.Unlock()
		secs := int((ra + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.fail(w, 429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked.")
		return
	}
	s.ctl.Unlock()
	if !s.authenticate(r) {
		s.fail(w, 401, "INVALID_LOGIN", invalidLogin)
		return
	}
	s.ctl.Lock()
	if s.failN > 0 {
		s.failN--
		st := s.failStatus
		s.ctl.Unlock()
		s.fail(w, st, "UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: sim"+strconv.FormatInt(s.requests.Load(), 36))
		return
	}
	s.ctl.Unlock()

	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == suiteQLPath:
		if r.Method != http.MethodPost {
			s.fail(w, 405, "INVALID_METHOD", "The "+r.Method+" method is not allowed for the suiteql resource.")
			return
		}
		s.suiteQL(w, r)
	case strings.HasPrefix(path, recordPathRoot):
		if r.Method != http.MethodGet {
			s.fail(w, 405, "INVALID_METHOD", "The simulator serves only GET on the record API.")
			return
		}
		s.record(w, r, strings.TrimPrefix(path, recordPathRoot))
	default:
		s.fail(w, 404, "NONEXISTENT_ID", "The requested resource does not exist.")
	}
}

// authenticate verifies the OAuth 1.0a signature, realm, credentials,
// timestamp (within 5 minutes of the wall clock) and nonce (not seen
// before).
func (s *Simulator) authenticate(r *http.Request) bool {
	p, err := oauth1.ParseAuthorizationHeader(r.Header.Get("Authorization"))
	if err != nil {
		return false
	}
	if p["realm"] != s.realm || p["oauth_consumer_key"] != simConsumerKey || p["oauth_token"] != simTokenID ||
		p["oauth_signature_method"] != string(oauth1.HMACSHA256) || len(p["oauth_nonce"]) < 6 {
		return false
	}
	if v, ok := p["oauth_version"]; ok && v != oauth1.Version {
		return false
	}
	ts, err := strconv.ParseInt(p["oauth_timestamp"], 10, 64)
	wall := time.Now().Unix()
	if err != nil || ts < wall-int64(maxClockSkew/time.Second) || ts > wall+int64(maxClockSkew/time.Second) {
		return false
	}
	verifier := &oauth1.Signer{ConsumerSecret: simConsumerSecret, TokenSecret: simTokenSecret, Method: oauth1.HMACSHA256}
	base, err := verifier.BaseString(r, p)
	if err != nil {
		return false
	}
	want, err := verifier.Signature(base)
	if err != nil || !hmac.Equal([]byte(want), []byte(p["oauth_signature"])) {
		return false
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	if _, seen := s.nonces[p["oauth_nonce"]]; seen {
		return false
	}
	if len(s.nonces) > 50000 {
		for k, t := range s.nonces {
			if t < wall-int64(maxClockSkew/time.Second) {
				delete(s.nonces, k)
			}
		}
	}
	s.nonces[p["oauth_nonce"]] = ts
	if s.expired {
		s.expired = false
		return false
	}
	return true
}

// fail writes NetSuite's error document.
func (s *Simulator) fail(w http.ResponseWriter, status int, code, detail string) {
	t, ok := simErrorTypes[status]
	if !ok {
		t = [2]string{"https://www.rfc-editor.org/rfc/rfc9110.html", http.StatusText(status)}
	}
	body, _ := json.Marshal(errorBody{Type: t[0], Title: t[1], Status: status,
		ErrorDetails: []errorDetail{{Detail: detail, ErrorCode: code}}})
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type=error")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// write sends a JSON document, truncated if MalformNext asked for it.
func (s *Simulator) write(w http.ResponseWriter, kind string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.fail(w, 500, "UNEXPECTED_ERROR", "rendering failed")
		return
	}
	s.ctl.Lock()
	if s.malformN > 0 {
		s.malformN--
		body = body[:len(body)/2]
	}
	s.ctl.Unlock()
	w.Header().Set("Content-Type", "application/vnd.oracle.resource+json; type="+kind)
	_, _ = w.Write(body)
}

// paging reads limit and offset; ok false means an error was written.
func (s *Simulator) paging(w http.ResponseWriter, r *http.Request, defLimit int) (limit, offset int, ok bool) {
	limit, offset = defLimit, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			s.fail(w, 400, "INVALID_PARAMETER", fmt.Sprintf("Invalid value for query parameter 'limit': %s. The value must be an integer between 1 and %d.", v, maxPageSize))
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.fail(w, 400, "INVALID_PARAMETER", fmt.Sprintf("Invalid value for query parameter 'offset': %s. The value must be a non-negative integer.", v))
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

type simCollection struct {
	Links        []link `json:"links"`
	Count        int    `json:"count"`
	HasMore      bool   `json:"hasMore"`
	Items        any    `json:"items"`
	Offset       int    `json:"offset"`
	TotalResults int    `json:"totalResults"`
}

// links renders the paging links of a collection.
func pageLinks(r *http.Request, limit, offset, total int, extra string) []link {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	href := func(off int) string {
		return fmt.Sprintf("%s://%s%s?limit=%d&offset=%d%s", scheme, r.Host, r.URL.Path, limit, off, extra)
	}
	ls := []link{}
	if offset > 0 {
		ls = append(ls, link{"previous", href(max(0, offset-limit))})
	}
	ls = append(ls, link{"first", href(0)})
	if offset+limit < total {
		ls = append(ls, link{"next", href(offset + limit)})
	}
	last := 0
	if total > 0 {
		last = (total - 1) / limit * limit
	}
	ls = append(ls, link{"last", href(last)}, link{"self", href(offset)})
	return ls
}

func (s *Simulator) suiteQL(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("Prefer")), "transient") {
		s.fail(w, 400, "INVALID_HEADER", "The request is missing the header 'Prefer: transient', which is required for SuiteQL queries.")
		return
	}
	limit, offset, ok := s.paging(w, r, maxPageSize)
	if !ok {
		return
	}
	var body struct {
		Q string `json:"q"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil || body.Q == "" {
		s.fail(w, 400, "INVALID_PARAMETER", "Invalid search query. The request body must be a JSON object with the SuiteQL query in 'q'.")
		return
	}
	s.ctl.Lock()
	rc := s.resultCap
	s.ctl.Unlock()
	if offset+limit > rc {
		s.fail(w, 400, "INVALID_PARAMETER", fmt.Sprintf("Invalid search query. The offset and limit exceed the maximum of %d results for a query.", rc))
		return
	}
	q := strings.Join(strings.Fields(body.Q), " ")
	bad := func() {
		s.fail(w, 400, "INVALID_PARAMETER", "Invalid search query. Detailed unprocessed description follows. Search error occurred: Invalid or unsupported search.")
	}
	since := func(v string) (time.Time, bool) {
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(sqlDateTimeLayout, v)
		return t, err == nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var (
		items []any
		total int
	)
	switch {
	case s.poRe.MatchString(q):
		m := s.poRe.FindStringSubmatch(q)
		after, err := strconv.ParseInt(m[1], 10, 64)
		t, ok := since(m[2])
		if err != nil || !ok {
			bad()
			return
		}
		idx := s.cached("po|"+m[1]+"|"+m[2], func() []int {
			from := sort.Search(len(s.lines), func(i int) bool { return s.lines[i].UK > after })
			var out []int
			for i := from; i < len(s.lines); i++ {
				po := &s.pos[s.lines[i].PO]
				if !po.deleted && !po.Modified.Before(t) {
					out = append(out, i)
				}
			}
			return out
		})
		total = len(idx)
		for _, i := range window(idx, offset, limit) {
			items = append(items, s.poRow(i))
		}
	case s.vendorRe.MatchString(q):
		m := s.vendorRe.FindStringSubmatch(q)
		after, err := strconv.Atoi(m[1])
		t, ok := since(m[2])
		if err != nil || !ok {
			bad()
			return
		}
		idx := s.cached("vendor|"+m[1]+"|"+m[2], func() []int {
			var out []int
			for i := range s.vendors {
				if v := &s.vendors[i]; v.ID > after && !v.deleted && !v.Modified.Before(t) {
					out = append(out, i)
				}
			}
			return out
		})
		total = len(idx)
		for _, i := range window(idx, offset, limit) {
			items = append(items, s.vendorRow(i))
		}
	case s.deletedRe.MatchString(q):
		m := s.deletedRe.FindStringSubmatch(q)
		t, ok := since(m[2])
		if !ok {
			bad()
			return
		}
		var rows []simDeleted
		for _, d := range s.deleted {
			if d.Type == m[1] && !d.When.Before(t) {
				rows = append(rows, d)
			}
		}
		sort.SliceStable(rows, func(i, j int) bool {
			if !rows[i].When.Equal(rows[j].When) {
				return rows[i].When.Before(rows[j].When)
			}
			return rows[i].ID < rows[j].ID
		})
		total = len(rows)
		for _, d := range rows[min(offset, total):min(offset+limit, total)] {
			items = append(items, map[string]any{"links": []link{}, "recordtype": d.Type, "recordid": d.ID,
				"deleteddate": d.When.UTC().Format(sqlDateTimeLayout)})
		}
	default:
		bad()
		return
	}
	if items == nil {
		items = []any{}
	}
	s.write(w, "collection", simCollection{Links: pageLinks(r, limit, offset, total, ""), Count: len(items),
		HasMore: offset+len(items) < total, Items: items, Offset: offset, TotalResults: total})
}

// cached returns the row indices of a query, computed once per data
// version, so paging through a large result is O(page). Called with s.mu
// read-locked.
func (s *Simulator) cached(key string, compute func() []int) []int {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if c, ok := s.cache[key]; ok && c.version == s.version {
		return c.idx
	}
	if len(s.cache) > 64 {
		clear(s.cache)
	}
	idx := compute()
	s.cache[key] = simCached{version: s.version, idx: idx}
	return idx
}

func window(idx []int, offset, limit int) []int {
	if offset >= len(idx) {
		return nil
	}
	return idx[offset:min(offset+limit, len(idx))]
}

// simPORow is a purchase order line as SuiteQL returns it: every value a
// string, nulls left out.
type simPORow struct {
	Links              []link `json:"links"`
	ID                 string `json:"id"`
	TranID             string `json:"tranid,omitempty"`
	TranDate           string `json:"trandate,omitempty"`
	Entity             string `json:"entity"`
	EntityName         string `json:"entityname"`
	Currency           string `json:"currency"`
	Status             string `json:"status"`
	UniqueKey          string `json:"uniquekey"`
	LineSequenceNumber string `json:"linesequencenumber"`
	Item               string `json:"item"`
	ItemName           string `json:"itemname"`
	Class              string `json:"class"`
	Memo               string `json:"memo,omitempty"`
	Quantity           string `json:"quantity"`
	Units              string `json:"units"`
	Rate               string `json:"rate"`
	NetAmount          string `json:"netamount"`
	ForeignAmount      string `json:"foreignamount,omitempty"`
	Department         string `json:"department"`
	Location           string `json:"location"`
	IsClosed           string `json:"isclosed"`
	LastModifiedDate   string `json:"lastmodifieddate"`
}

func (s *Simulator) poRow(i int) simPORow {
	l := &s.lines[i]
	po := &s.pos[l.PO]
	v := &s.vendors[po.Vendor]
	item := simItems[l.Item]
	foreign, net := l.amounts(po.Currency)
	row := simPORow{Links: []link{}, ID: strconv.Itoa(po.ID), TranID: po.TranID, TranDate: po.Date.Format(sqlDateLayout),
		Entity: strconv.Itoa(v.ID), EntityName: v.EntityID, Currency: po.Currency, Status: po.Status,
		UniqueKey: strconv.FormatInt(l.UK, 10), LineSequenceNumber: strconv.Itoa(l.Seq),
		Item: strconv.Itoa(item.ID), ItemName: item.Name, Class: item.Class, Memo: l.Memo,
		Quantity: l.Qty.String(), Units: item.Units, Rate: l.Rate.String(),
		NetAmount: net.String(), ForeignAmount: foreign.String(), Department: l.Dept, Location: l.Loc,
		IsClosed: "F", LastModifiedDate: po.Modified.UTC().Format(sqlDateTimeLayout)}
	if l.Closed {
		row.IsClosed = "T"
	}
	switch l.bad {
	case "currency":
		row.Currency = "XXQ"
	case "quantity":
		row.Quantity = "12,5x"
	case "trandate":
		row.TranDate = ""
	case "tranid":
		row.TranID = ""
	case "foreignamount":
		row.ForeignAmount = ""
	}
	return row
}

type simVendorRow struct {
	Links            []link `json:"links"`
	ID               string `json:"id"`
	EntityID         string `json:"entityid,omitempty"`
	CompanyName      string `json:"companyname,omitempty"`
	LegalName        string `json:"legalname,omitempty"`
	VATRegNumber     string `json:"vatregnumber,omitempty"`
	Email            string `json:"email,omitempty"`
	URL              string `json:"url,omitempty"`
	Country          string `json:"country,omitempty"`
	IsInactive       string `json:"isinactive"`
	LastModifiedDate string `json:"lastmodifieddate"`
}

func (s *Simulator) vendorRow(i int) simVendorRow {
	v := &s.vendors[i]
	row := simVendorRow{Links: []link{}, ID: strconv.Itoa(v.ID), EntityID: v.EntityID, CompanyName: v.Company,
		LegalName: v.Legal, VATRegNumber: v.VAT, Email: v.Email, URL: v.URL, Country: v.Country,
		IsInactive: "F", LastModifiedDate: v.Modified.UTC().Format(sqlDateTimeLayout)}
	if v.Inactive {
		row.IsInactive = "T"
	}
	switch v.bad {
	case "companyname":
		row.CompanyName, row.EntityID = "", ""
	case "country":
		row.Country = "Germany"
	}
	return row
}

// record serves the REST record API for vendor and customrecord_ghg_fuel:
// GET /services/rest/record/v1/<type>?limit&offset[&q] lists ids, GET
// /services/rest/record/v1/<type>/<id> returns one record.
func (s *Simulator) record(w http.ResponseWriter, r *http.Request, rest string) {
	typ, id, one := strings.Cut(rest, "/")
	if typ != "vendor" && typ != customFuelType {
		s.fail(w, 404, "NONEXISTENT_ID", fmt.Sprintf("Record type '%s' does not exist.", typ))
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if one {
		n, err := strconv.Atoi(id)
		if err == nil {
			if typ == "vendor" {
				for i := range s.vendors {
					if v := &s.vendors[i]; v.ID == n && !v.deleted {
						s.write(w, "singular-resource", s.vendorRecord(r, i))
						return
					}
				}
			} else {
				i := sort.Search(len(s.custom), func(i int) bool { return s.custom[i].ID >= n })
				if i < len(s.custom) && s.custom[i].ID == n && !s.custom[i].deleted {
					s.write(w, "singular-resource", s.customRecord(r, i))
					return
				}
			}
		}
		s.fail(w, 404, "NONEXISTENT_ID", fmt.Sprintf("The record instance does not exist. Provide a valid record instance ID. (%s %s)", typ, id))
		return
	}
	limit, offset, ok := s.paging(w, r, 1000)
	if !ok {
		return
	}
	var since time.Time
	extra := ""
	if q := r.URL.Query().Get("q"); q != "" {
		t, err := parseRecordFilter(q)
		if err != nil {
			s.fail(w, 400, "INVALID_PARAMETER", fmt.Sprintf("Invalid query parameter 'q': %s.", err))
			return
		}
		since, extra = t, "&q="+urlQueryEscape(q)
	}
	var ids []int
	if typ == "vendor" {
		for i := range s.vendors {
			if v := &s.vendors[i]; !v.deleted && !v.Modified.Before(since) {
				ids = append(ids, v.ID)
			}
		}
	} else {
		for i := range s.custom {
			if c := &s.custom[i]; !c.deleted && !c.Modified.Before(since) {
				ids = append(ids, c.ID)
			}
		}
	}
	items := []any{}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	for _, n := range ids[min(offset, len(ids)):min(offset+limit, len(ids))] {
		items = append(items, map[string]any{"links": []link{{"self", fmt.Sprintf("%s://%s%s%s/%d", scheme, r.Host, recordPathRoot, typ, n)}}, "id": strconv.Itoa(n)})
	}
	s.write(w, "collection", simCollection{Links: pageLinks(r, limit, offset, len(ids), extra), Count: len(items),
		HasMore: offset+len(items) < len(ids), Items: items, Offset: offset, TotalResults: len(ids)})
}

// parseRecordFilter accepts the one record API filter the connector sends:
// lastModified ON_OR_AFTER "M/D/YYYY".
func parseRecordFilter(q string) (time.Time, error) {
	const prefix = `lastModified ON_OR_AFTER "`
	rest, ok := strings.CutPrefix(strings.TrimSpace(q), prefix)
	if !ok || !strings.HasSuffix(rest, `"`) {
		return time.Time{}, fmt.Errorf("unsupported filter %q", q)
	}
	return time.Parse("1/2/2006", strings.TrimSuffix(rest, `"`))
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", `"`, "%22", "&", "%26", "/", "%2F").Replace(s)
}

func (s *Simulator) vendorRecord(r *http.Request, i int) map[string]any {
	v := &s.vendors[i]
	m := map[string]any{
		"links":            []link{{"self", fmt.Sprintf("http://%s%svendor/%d", r.Host, recordPathRoot, v.ID)}},
		"id":               strconv.Itoa(v.ID),
		"entityId":         v.EntityID,
		"companyName":      v.Company,
		"legalName":        v.Legal,
		"email":            v.Email,
		"url":              v.URL,
		"isInactive":       v.Inactive,
		"isPerson":         false,
		"dateCreated":      v.Created.UTC().Format(time.RFC3339),
		"lastModifiedDate": v.Modified.UTC().Format(time.RFC3339),
		"currency":         map[string]any{"id": "1", "refName": currencyOfCountry(v.Country)},
	}
	if v.VAT != "" {
		m["vatRegNumber"] = v.VAT
	}
	return m
}

func (s *Simulator) customRecord(r *http.Request, i int) map[string]any {
	c := &s.custom[i]
	acc := simAccounts[c.Account]
	m := map[string]any{
		"links":                   []link{{"self", fmt.Sprintf("http://%s%s%s/%d", r.Host, recordPathRoot, customFuelType, c.ID)}},
		"id":                      strconv.Itoa(c.ID),
		"name":                    c.Name,
		"created":                 c.Created.UTC().Format(time.RFC3339),
		"lastModified":            c.Modified.UTC().Format(time.RFC3339),
		"isInactive":              c.Inactive,
		"owner":                   map[string]any{"id": "7", "refName": "GreenLang Integration"},
		"custrecord_date":         c.Date.Format(sqlDateLayout),
		"custrecord_account":      acc.Number,
		"custrecord_account_name": acc.Name,
		"custrecord_quantity":     json.Number(c.Qty.String()),
		"custrecord_unit":         acc.Unit,
		"custrecord_amount":       json.Number(c.Amount.String()),
		"custrecord_currency":     c.Currency,
		"custrecord_location":     c.Loc,
		"custrecord_department":   c.Dept,
	}
	switch c.bad {
	case "custrecord_currency":
		m["custrecord_currency"] = "XXQ"
	case "custrecord_quantity":
		m["custrecord_quantity"] = "lots"
	case "custrecord_date":
		delete(m, "custrecord_date")
	case "custrecord_account":
		delete(m, "custrecord_account")
	}
	return m
}
