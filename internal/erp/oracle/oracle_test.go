package oracle

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// testClock is the simulator's clock, moved by the tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	sim   *Simulator
	srv   *httptest.Server
	clock *testClock
	// sleeps records the waits the HTTP layer asked for.
	mu     sync.Mutex
	sleeps []time.Duration
	urls   []string
}

func newEnv(t *testing.T, records int) *env {
	t.Helper()
	e := &env{clock: &testClock{t: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}}
	e.sim = NewSimulator(erp.SimOptions{Records: records, Seed: 42, Now: e.clock.Now})
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	return e
}

// recorder records the URLs the connector sends.
type recorder struct {
	e    *env
	base http.RoundTripper
}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.e.mu.Lock()
	r.e.urls = append(r.e.urls, req.URL.String())
	r.e.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (e *env) config(auth string, creds map[string]string, settings json.RawMessage) erp.Config {
	return erp.Config{
		Name:        "oracle-test",
		BaseURL:     e.srv.URL,
		AuthType:    auth,
		Credentials: creds,
		Settings:    settings,
		Transport:   recorder{e: e, base: http.DefaultTransport},
		HTTP: erphttp.Config{
			MinBackoff:    time.Millisecond,
			RatePerSecond: -1,
			Timeout:       5 * time.Second,
			Sleep: func(ctx context.Context, d time.Duration) error {
				e.mu.Lock()
				e.sleeps = append(e.sleeps, d)
				e.mu.Unlock()
				return ctx.Err()
			},
		},
	}
}

func (e *env) connector(t *testing.T, auth string) *Connector {
	t.Helper()
	var a string
	var creds map[string]string
	var settings json.RawMessage
	if auth == "basic" {
		a, creds, settings = e.sim.BasicConnection(e.srv.URL)
	} else {
		a, creds, settings = e.sim.Connection(e.srv.URL)
	}
	c, err := New(e.config(a, creds, settings))
	if err != nil {
		t.Fatal(err)
	}
	if c.cfgErr != nil {
		t.Fatal(c.cfgErr)
	}
	return c
}

type run struct {
	records   []erp.Record
	rejected  []erp.Rejected
	watermark string
	pages     int
}

func readAll(t *testing.T, c *Connector, entity, since string, pageSize int) run {
	t.Helper()
	var r run
	req := erp.PageRequest{Since: since, PageSize: pageSize}
	for {
		p, err := c.Fetch(context.Background(), entity, req)
		if err != nil {
			t.Fatalf("Fetch %s page %d: %v", entity, r.pages+1, err)
		}
		r.pages++
		r.records = append(r.records, p.Records...)
		r.rejected = append(r.rejected, p.Rejected...)
		if p.Next == "" {
			r.watermark = p.Watermark
			return r
		}
		if p.Watermark != "" {
			t.Fatalf("watermark %q on a page that is not the last", p.Watermark)
		}
		req.Cursor = p.Next
		if r.pages > 10000 {
			t.Fatal("paging does not end")
		}
	}
}

func keys(recs []erp.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Key
	}
	return out
}

func TestFullSyncAllEntities(t *testing.T) {
	e := newEnv(t, 2000)
	c := e.connector(t, "oauth2")
	kinds := map[string]erp.Kind{}
	for _, en := range c.Entities() {
		kinds[en.Name] = en.Kind
	}
	if len(kinds) != 4 {
		t.Fatalf("entities %v, want 4", c.Entities())
	}
	for entity, kind := range kinds {
		r := readAll(t, c, entity, "", 0)
		if len(r.rejected) != 0 {
			t.Errorf("%s: %d rejected, first %+v", entity, len(r.rejected), r.rejected[0])
		}
		if got, want := len(r.records), e.sim.Count(entity); got != want || want == 0 {
			t.Errorf("%s: %d records, simulator has %d", entity, got, want)
		}
		seen := map[string]bool{}
		for _, rec := range r.records {
			if seen[rec.Key] {
				t.Fatalf("%s: duplicate key %s", entity, rec.Key)
			}
			seen[rec.Key] = true
			if rec.Kind != kind {
				t.Fatalf("%s: kind %s", entity, rec.Kind)
			}
			if err := rec.Validate(); err != nil {
				t.Fatalf("%s %s: %v", entity, rec.Key, err)
			}
			if !json.Valid(rec.Original) {
				t.Fatalf("%s %s: Original is not JSON", entity, rec.Key)
			}
		}
		if kind != erp.KindGLEntry || entity == EntityInvoices {
			if _, err := time.Parse(time.RFC3339, r.watermark); err != nil {
				t.Errorf("%s: watermark %q: %v", entity, r.watermark, err)
			}
		}
	}
}

func TestPOLineMapping(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector(t, "basic")
	r := readAll(t, c, EntityPurchaseOrders, "", 100)
	po := e.sim.d.pos[3]
	l := po.lines[0]
	key := strconv.FormatInt(po.POHeaderId, 10) + "/1"
	i := slices.IndexFunc(r.records, func(r erp.Record) bool { return r.Key == key })
	if i < 0 {
		t.Fatalf("no record %s", key)
	}
	rec := r.records[i]
	got := rec.POLine
	want := erp.POLine{
		PONumber:      po.OrderNumber,
		Line:          "1",
		OrderDate:     time.Time(po.CreationDate),
		SupplierID:    strconv.FormatInt(po.SupplierId, 10),
		SupplierName:  po.Supplier,
		Material:      l.Item,
		MaterialGroup: l.CategoryCode,
		SpendCategory: l.CategoryName,
		Description:   l.Description,
		Quantity:      l.qty,
		Unit:          l.UOMCode,
		UnitPrice:     l.price,
		Amount:        l.qty.Mul(l.price).Round(2),
		Currency:      po.CurrencyCode,
		Site:          l.ShipToLocation,
		Status:        l.Status,
	}
	if !got.OrderDate.Equal(want.OrderDate) || !got.Quantity.Equal(want.Quantity) || !got.UnitPrice.Equal(want.UnitPrice) || !got.Amount.Equal(want.Amount) {
		t.Errorf("dates or numbers differ:\n got %+v\nwant %+v", *got, want)
	}
	got.OrderDate, got.Quantity, got.UnitPrice, got.Amount = want.OrderDate, want.Quantity, want.UnitPrice, want.Amount
	if *got != want {
		t.Errorf("mapping:\n got %+v\nwant %+v", *got, want)
	}
	if !rec.Modified.Equal(time.Time(po.LastUpdateDate)) || rec.Deleted != (po.StatusCode == "CANCELED") {
		t.Errorf("modified %v deleted %v", rec.Modified, rec.Deleted)
	}
	var orig struct{ Header, Item map[string]any }
	if err := json.Unmarshal(rec.Original, &orig); err != nil || orig.Header["OrderNumber"] != po.OrderNumber || orig.Item["POLineId"] == nil || orig.Header["lines"] != nil {
		t.Errorf("original %s (%v)", rec.Original, err)
	}
}

func TestInvoiceAndBalanceMapping(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector(t, "oauth2")
	r := readAll(t, c, EntityInvoices, "", 50)
	inv := e.sim.d.invoices[0]
	l, d := inv.lines[0], inv.lines[0].dists[0]
	key := strconv.FormatInt(inv.InvoiceId, 10) + "/1.1"
	i := slices.IndexFunc(r.records, func(r erp.Record) bool { return r.Key == key })
	if i < 0 {
		t.Fatalf("no record %s", key)
	}
	g := r.records[i].GLEntry
	segs := strings.Split(d.DistributionCombination, "-")
	if g.DocumentID != inv.InvoiceNumber || g.Account != segs[2] || g.CostCenter != segs[3] || g.Currency != inv.InvoiceCurrency ||
		g.Amount.String() != string(d.Amount) || !g.PostingDate.Equal(time.Time(d.AccountingDate)) || r.records[i].Deleted != inv.CanceledFlag {
		t.Errorf("gl entry %+v from %+v", *g, *d)
	}
	if len(l.dists) == 1 && l.UOM != "" && (!g.Quantity.Valid || g.Quantity.Decimal.String() != string(l.Quantity) || g.Unit != l.UOM) {
		t.Errorf("quantity %v %s, line %s %s", g.Quantity, g.Unit, l.Quantity, l.UOM)
	}

	b := readAll(t, c, EntityLedgerBalances, "", 100)
	sb := e.sim.d.balances["Mar-25"][4]
	key = simLedger + "/Mar-25/" + sb.DetailAccountCombination
	i = slices.IndexFunc(b.records, func(r erp.Record) bool { return r.Key == key })
	if i < 0 {
		t.Fatalf("no balance %s", key)
	}
	g = b.records[i].GLEntry
	if g.Amount.String() != string(sb.PeriodActivity) || !g.PostingDate.Equal(time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)) ||
		g.Account != strings.Split(sb.DetailAccountCombination, "-")[2] || g.Currency != "USD" {
		t.Errorf("balance %+v from %+v", *g, *sb)
	}
	if b.watermark != "" {
		t.Errorf("ledger balances watermark %q, want none (not incremental)", b.watermark)
	}
}

func TestIncremental(t *testing.T) {
	e := newEnv(t, 3000)
	c := e.connector(t, "oauth2")
	full := readAll(t, c, EntityPurchaseOrders, "", 0)
	wm := full.watermark
	if wm != e.clock.Now().Format(time.RFC3339) {
		t.Fatalf("watermark %q, want the server's time %s", wm, e.clock.Now().Format(time.RFC3339))
	}
	e.clock.Advance(time.Minute)
	e.sim.Mutate(7, 4)
	changed, deleted := e.sim.LastMutation()
	if len(changed) != 7 || len(deleted) != 4 {
		t.Fatalf("mutation %v %v", changed, deleted)
	}
	e.clock.Advance(time.Minute)
	e.urls = nil
	inc := readAll(t, c, EntityPurchaseOrders, wm, 0)
	got := map[string]erp.Record{}
	for _, r := range inc.records {
		got[r.Key] = r
	}
	for _, k := range changed {
		r, ok := got[k]
		if !ok || r.Deleted {
			t.Errorf("changed %s: present %v deleted %v", k, ok, r.Deleted)
		}
	}
	for _, k := range deleted {
		if r, ok := got[k]; !ok || !r.Deleted {
			t.Errorf("cancelled %s: present %v deleted %v", k, ok, r.Deleted)
		}
	}
	// A superset: the other lines of the touched orders, and records the
	// generator last changed at the watermark's second; nothing older.
	since, _ := time.Parse(time.RFC3339, wm)
	for _, r := range inc.records {
		if r.Modified.Before(since) {
			t.Errorf("incremental read %s modified %v, before %v", r.Key, r.Modified, since)
		}
	}
	if len(inc.records) >= len(full.records)/10 {
		t.Errorf("incremental read %d records of %d", len(inc.records), len(full.records))
	}
	// The q filter is sent encoded: the '+' of the offset must be %2B.
	if len(e.urls) == 0 || !strings.Contains(e.urls[0], "q=LastUpdateDate+%3E%3D+%272026-01-15T12%3A00%3A00.000%2B00%3A00%27") {
		t.Errorf("first incremental URL %v", e.urls)
	}
	// Nothing changed since: an empty read, the watermark moves on.
	again := readAll(t, c, EntityPurchaseOrders, inc.watermark, 0)
	if len(again.records) != 0 || again.watermark != e.clock.Now().Format(time.RFC3339) {
		t.Errorf("second incremental: %d records, watermark %q", len(again.records), again.watermark)
	}
}

func TestPagingAndResume(t *testing.T) {
	e := newEnv(t, 1500)
	c := e.connector(t, "basic")
	all := readAll(t, c, EntityPurchaseOrders, "", 0)

	var got []string
	req := erp.PageRequest{PageSize: 10}
	for i := 0; ; i++ {
		// A new connector (a new process) for every page.
		p, err := e.connector(t, "basic").Fetch(context.Background(), EntityPurchaseOrders, req)
		if err != nil {
			t.Fatal(err)
		}
		docs := map[string]bool{}
		for _, r := range p.Records {
			docs[strings.Split(r.Key, "/")[0]] = true
		}
		if len(docs) > 10 || (p.Next != "" && len(docs) != 10) {
			t.Fatalf("page %d holds %d orders, page size 10", i, len(docs))
		}
		got = append(got, keys(p.Records)...)
		if p.Next == "" {
			break
		}
		req.Cursor = p.Next
	}
	if !slices.Equal(got, keys(all.records)) {
		t.Fatalf("resumed read differs: %d keys vs %d", len(got), len(all.records))
	}
	sup := readAll(t, c, EntitySuppliers, "", 5)
	if sup.pages != (len(sup.records)+4)/5 {
		t.Errorf("suppliers: %d pages for %d records of 5", sup.pages, len(sup.records))
	}
	// Larger than Oracle's maximum: clamped to 500, which the simulator takes.
	if _, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{PageSize: 5000}); err != nil {
		t.Fatal(err)
	}
}

func TestSimulatorRefusesLimitAbove500(t *testing.T) {
	e := newEnv(t, 100)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/fscmRestApi/resources/11.13.18.05/suppliers?limit=501", nil)
	req.SetBasicAuth(SimUsername, SimPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/vnd.oracle.adf.error+json" || !strings.Contains(string(body), `"o:errorDetails"`) {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestTokenExpiryMidRun(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector(t, "oauth2")
	p, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 20})
	if err != nil || p.Next == "" {
		t.Fatal(err, p.Next)
	}
	e.sim.ExpireTokens()
	p2, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 20, Cursor: p.Next})
	if err != nil || len(p2.Records) == 0 {
		t.Fatalf("after token expiry: %v (%d records)", err, len(p2.Records))
	}
}

func TestThrottleAndServerErrors(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector(t, "oauth2")
	e.sim.Throttle(3, 2*time.Second)
	if _, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{}); err != nil {
		t.Fatalf("after 429s: %v", err)
	}
	if n := slices.Index(e.sleeps, 2*time.Second); n < 0 {
		t.Errorf("Retry-After not honoured: sleeps %v", e.sleeps)
	}
	for _, st := range []int{503, 500, 502} {
		e.sim.FailNext(2, st)
		before := e.sim.Requests()
		if _, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{}); err != nil {
			t.Fatalf("after %d: %v", st, err)
		}
		if n := e.sim.Requests() - before; n != 3 {
			t.Errorf("%d: %d requests, want 3", st, n)
		}
	}
	// Failing for longer than the retries: an error naming the status and
	// the vendor's message.
	e.sim.FailNext(100, 503)
	_, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("persistent 503: %v", err)
	}
	e.sim.FailNext(0, 0)
}

func TestMalformedPage(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector(t, "oauth2")
	p, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.MalformNext(1)
	req := erp.PageRequest{PageSize: 10, Cursor: p.Next}
	_, err = c.Fetch(context.Background(), EntityPurchaseOrders, req)
	if err == nil || !strings.Contains(err.Error(), "/fscmRestApi/resources/11.13.18.05/purchaseOrders") || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("malformed page: %v", err)
	}
	p2, err := c.Fetch(context.Background(), EntityPurchaseOrders, req)
	if err != nil || len(p2.Records) == 0 {
		t.Fatalf("same cursor again: %v", err)
	}
}

func TestBadRecordRejected(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector(t, "oauth2")
	po := e.sim.d.pos[2]
	if len(po.lines) < 2 {
		po = e.sim.d.pos[slices.IndexFunc(e.sim.d.pos, func(p *simPO) bool { return len(p.lines) > 1 })]
	}
	bad := strconv.FormatInt(po.POHeaderId, 10) + "/1"
	bad2 := strconv.FormatInt(po.POHeaderId, 10) + "/2"
	if !e.sim.InjectBad(bad, "CurrencyCode") || !e.sim.InjectBad(bad2, "Quantity") {
		t.Fatal("InjectBad found no record")
	}
	sup := e.sim.d.suppliers[1]
	if !e.sim.InjectBad(strconv.FormatInt(sup.SupplierId, 10), "Supplier") {
		t.Fatal("InjectBad found no supplier")
	}
	r := readAll(t, c, EntityPurchaseOrders, "", 0)
	reasons := map[string]string{}
	for _, rj := range r.rejected {
		reasons[rj.Key] = rj.Reason
		if !json.Valid(rj.Raw) {
			t.Errorf("rejected raw is not JSON: %s", rj.Raw)
		}
	}
	if len(r.rejected) != 2 || !strings.Contains(reasons[bad], "currency") || !strings.Contains(reasons[bad], "XXQ") ||
		!strings.Contains(reasons[bad2], "Quantity") || !strings.Contains(reasons[bad2], "n/a") {
		t.Fatalf("rejected %+v", r.rejected)
	}
	if len(r.records) != e.sim.Count(EntityPurchaseOrders)-2 {
		t.Errorf("%d records kept of %d", len(r.records), e.sim.Count(EntityPurchaseOrders))
	}
	s := readAll(t, c, EntitySuppliers, "", 0)
	if len(s.rejected) != 1 || s.rejected[0].Key != strconv.FormatInt(sup.SupplierId, 10) || !strings.Contains(s.rejected[0].Reason, "supplier.name") {
		t.Errorf("supplier rejected %+v", s.rejected)
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, 300)
	for _, auth := range []string{"oauth2", "basic"} {
		steps := e.connector(t, auth).Check(context.Background())
		if len(steps) != 6 {
			t.Errorf("%s: %d steps %+v", auth, len(steps), steps)
		}
		for _, s := range steps {
			if !s.OK {
				t.Errorf("%s: step %q failed: %s", auth, s.Name, s.Detail)
			}
		}
	}

	a, creds, settings := e.sim.Connection(e.srv.URL)
	creds["client_secret"] = "wrong-secret-123"
	c, _ := New(e.config(a, creds, settings))
	steps := c.Check(context.Background())
	last := steps[len(steps)-1]
	if last.OK || last.Name != "fetch OAuth token" || !strings.Contains(last.Detail, "invalid_client") {
		t.Errorf("wrong client secret: %+v", steps)
	}
	assertNoSecret(t, steps, "wrong-secret-123")
	if _, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{}); err == nil || strings.Contains(err.Error(), "wrong-secret-123") {
		t.Errorf("fetch with a wrong secret: %v", err)
	}

	a, creds, settings = e.sim.BasicConnection(e.srv.URL)
	creds["password"] = "wrong-Passw0rd"
	c, _ = New(e.config(a, creds, settings))
	steps = c.Check(context.Background())
	last = steps[len(steps)-1]
	if last.OK || last.Name != "authenticate (basic)" || !strings.Contains(last.Detail, "401") || !strings.Contains(last.Detail, "user name or password is not valid") {
		t.Errorf("wrong password: %+v", steps)
	}
	assertNoSecret(t, steps, "wrong-Passw0rd")

	c, _ = New(e.config("basic", creds, json.RawMessage(`{"ledger":"x"}`)))
	steps = c.Check(context.Background())
	if len(steps) != 1 || steps[0].OK || !strings.Contains(steps[0].Detail, "ledger") {
		t.Errorf("unknown setting: %+v", steps)
	}
	if _, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{}); err == nil {
		t.Error("Fetch with bad settings succeeded")
	}
}

func assertNoSecret(t *testing.T, steps []erp.Step, secret string) {
	t.Helper()
	for _, s := range steps {
		if strings.Contains(s.Detail, secret) {
			t.Errorf("step %q leaks the secret: %s", s.Name, s.Detail)
		}
	}
}

func TestCursorAndWatermarkErrors(t *testing.T) {
	e := newEnv(t, 100)
	c := e.connector(t, "basic")
	if _, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{Cursor: "garbage"}); err == nil {
		t.Error("a garbage cursor was accepted")
	}
	p, _ := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 1})
	if _, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{Cursor: p.Next}); err == nil {
		t.Error("a purchase-order cursor was accepted for suppliers")
	}
	if _, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{Since: "yesterday"}); err == nil {
		t.Error("a bad watermark was accepted")
	}
	if _, err := c.Fetch(context.Background(), "workers", erp.PageRequest{}); err == nil {
		t.Error("an unknown entity was accepted")
	}
}

func TestFactory(t *testing.T) {
	f := Factory()
	var s struct {
		System   string          `json:"system"`
		Settings json.RawMessage `json:"settings"`
	}
	if err := json.Unmarshal([]byte(f.Sample), &s); err != nil || s.System != System {
		t.Fatalf("sample: %v %q", err, s.System)
	}
	c, err := f.New(erp.Config{Name: "x", BaseURL: "https://example.invalid", AuthType: "oauth2",
		Credentials: map[string]string{"client_id": "a", "client_secret": "b"}, Settings: s.Settings})
	if err != nil || c.(*Connector).cfgErr != nil {
		t.Fatalf("sample settings: %v %v", err, c.(*Connector).cfgErr)
	}
	sim := f.NewSimulator(erp.SimOptions{Records: 50, Seed: 1})
	sim2 := f.NewSimulator(erp.SimOptions{Records: 50, Seed: 1})
	if sim.(*Simulator).d.pos[5].OrderNumber != sim2.(*Simulator).d.pos[5].OrderNumber ||
		!decimal.Decimal(sim.(*Simulator).d.pos[5].lines[0].qty).Equal(sim2.(*Simulator).d.pos[5].lines[0].qty) {
		t.Error("the data set is not deterministic")
	}
}

func TestWithoutChild(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"lines":[{"x":1}],"b":2}`, `{"a":1,"b":2}`},
		{`{"lines" : [{"x":1}] , "b":2}`, `{ "b":2}`},
		{`{"a":1, "lines": [{"x":1}]}`, `{"a":1}`},
		{`{"lines":[{"x":1}]}`, `{}`},
		{`{"a":"[{\"x\":1}]","lines":[{"x":1}]}`, `{"a":"[{\"x\":1}]"}`},
	} {
		var h struct {
			Lines json.RawMessage `json:"lines"`
		}
		if err := json.Unmarshal([]byte(tc.in), &h); err != nil {
			t.Fatal(err)
		}
		got := withoutChild(json.RawMessage(tc.in), h.Lines, "lines")
		var a, b any
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal([]byte(tc.want), &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("withoutChild(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzParsePage(f *testing.F) {
	e := &env{clock: &testClock{t: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}}
	e.sim = NewSimulator(erp.SimOptions{Records: 20, Seed: 7, Now: e.clock.Now})
	for _, path := range []string{"purchaseOrders?expand=lines&limit=2", "invoices?expand=invoiceLines.invoiceDistributions&limit=2", "suppliers?limit=2",
		"ledgerBalances?finder=AccountBalanceFinder;accountCombination=%25,accountingPeriod=Jan-25,currency=USD,ledgerName=US%20Primary%20Ledger&limit=2"} {
		req := httptest.NewRequest(http.MethodGet, "/fscmRestApi/resources/11.13.18.05/"+path, nil)
		body, se := e.sim.collection(req, strings.Split(path, "?")[0])
		if se != nil {
			f.Fatal(se.detail)
		}
		f.Add(body)
	}
	f.Add([]byte(`{"items":[{"POHeaderId":1,"lines":{"items":[{"LineNumber":1}],"hasMore":true}}]}`))
	f.Add([]byte(`{"items":[{"POHeaderId":"x","CreationDate":"2025-01-01","lines":[{"LineNumber":1,"Quantity":"1"}]}]}`))
	c := &Connector{s: Settings{}, now: e.clock.Now}
	c.s.defaults()
	f.Fuzz(func(t *testing.T, body []byte) {
		var coll collection
		if json.Unmarshal(body, &coll) != nil {
			return
		}
		for _, parse := range []func([]json.RawMessage, *erp.Page){c.parsePurchaseOrders, c.parseSuppliers, c.parseInvoices, c.parseBalances} {
			var p erp.Page
			parse(coll.Items, &p)
			for _, r := range p.Records {
				if err := r.Validate(); err != nil {
					t.Fatalf("accepted record %s does not validate: %v", r.Key, err)
				}
				if !json.Valid(r.Original) {
					t.Fatalf("record %s: Original is not JSON: %s", r.Key, r.Original)
				}
			}
		}
	})
}

// BenchmarkFullSyncPurchaseOrders reads 100,000 purchase-order lines from
// the simulator through the connector.
func BenchmarkFullSyncPurchaseOrders(b *testing.B) {
	e := &env{clock: &testClock{t: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)}}
	e.sim = NewSimulator(erp.SimOptions{Records: 100_000, Seed: 1, Now: e.clock.Now})
	e.srv = httptest.NewServer(e.sim)
	defer e.srv.Close()
	a, creds, settings := e.sim.Connection(e.srv.URL)
	cfg := e.config(a, creds, settings)
	cfg.Transport = nil
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		req := erp.PageRequest{PageSize: MaxLimit}
		for {
			p, err := c.Fetch(context.Background(), EntityPurchaseOrders, req)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Records)
			if p.Next == "" {
				break
			}
			req.Cursor = p.Next
		}
		if n != 100_000 {
			b.Fatalf("%d records", n)
		}
	}
}
