package netsuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
	"github.com/greenlang/greenlang/internal/erp/oauth1"
)

// fakeClock is the simulator's data clock, moved by the tests.
type fakeClock struct{ unix atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.unix.Store(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC).Unix())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(c.unix.Load(), 0).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

type env struct {
	sim   *Simulator
	srv   *httptest.Server
	clock *fakeClock
	cfg   erp.Config
}

func newEnv(t *testing.T, records int) *env {
	t.Helper()
	clock := newClock()
	sim := NewSimulator(erp.SimOptions{Records: records, Seed: 42, Now: clock.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	auth, creds, settings := sim.Connection(srv.URL)
	return &env{sim: sim, srv: srv, clock: clock, cfg: erp.Config{
		Name: "ns-test", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: settings,
		HTTP: fastHTTP(),
	}}
}

func fastHTTP() erphttp.Config {
	return erphttp.Config{
		Sleep:         func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		MinBackoff:    time.Millisecond,
		RatePerSecond: -1,
		MaxAttempts:   6,
		Timeout:       10 * time.Second,
	}
}

func (e *env) connector(t *testing.T) *Connector {
	t.Helper()
	c, err := New(e.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

type result struct {
	records   []erp.Record
	rejected  []erp.Rejected
	watermark string
	pages     int
}

// readAll pages through entity from since.
func readAll(t *testing.T, c *Connector, entity, since string, size int) result {
	t.Helper()
	var res result
	req := erp.PageRequest{Since: since, PageSize: size}
	for {
		p, err := c.Fetch(context.Background(), entity, req)
		if err != nil {
			t.Fatalf("Fetch %s page %d: %v", entity, res.pages+1, err)
		}
		res.pages++
		res.records = append(res.records, p.Records...)
		res.rejected = append(res.rejected, p.Rejected...)
		if p.Next == "" {
			res.watermark = p.Watermark
			return res
		}
		if p.Watermark != "" {
			t.Fatalf("watermark %q on a page that is not the last", p.Watermark)
		}
		if res.pages > 10000 {
			t.Fatal("no end of pages")
		}
		req.Cursor = p.Next
	}
}

func keysOf(t *testing.T, recs []erp.Record) map[string]erp.Record {
	t.Helper()
	m := map[string]erp.Record{}
	for _, r := range recs {
		if _, dup := m[r.Key]; dup {
			t.Fatalf("duplicate key %q", r.Key)
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("record %q does not validate: %v", r.Key, err)
		}
		m[r.Key] = r
	}
	return m
}

func TestFullSync(t *testing.T) {
	e := newEnv(t, 5000)
	c := e.connector(t)
	nPO, nV, nC := e.sim.Counts()
	if nPO != 5000 {
		t.Fatalf("simulator has %d PO lines, want 5000", nPO)
	}
	for _, tc := range []struct {
		entity string
		kind   erp.Kind
		want   int
	}{{EntityPurchaseOrders, erp.KindPOLine, nPO}, {EntityVendors, erp.KindSupplier, nV}, {EntityCustomRecords, erp.KindGLEntry, nC}} {
		res := readAll(t, c, tc.entity, "", 0)
		if len(res.rejected) != 0 {
			t.Fatalf("%s: %d rejected, first %+v", tc.entity, len(res.rejected), res.rejected[0])
		}
		keys := keysOf(t, res.records)
		if len(keys) != tc.want {
			t.Fatalf("%s: %d records, want %d", tc.entity, len(keys), tc.want)
		}
		for _, r := range res.records {
			if r.Kind != tc.kind || r.Modified.IsZero() || len(r.Original) == 0 {
				t.Fatalf("%s: record %+v", tc.entity, r)
			}
		}
		// The watermark is the first response's Date less the overlap.
		if want := e.clock.Now().Add(-startOverlap).Format(time.RFC3339); res.watermark != want {
			t.Fatalf("%s: watermark %q, want %q", tc.entity, res.watermark, want)
		}
	}

	// Spot-check one PO line field by field against the simulator's data.
	res := readAll(t, c, EntityPurchaseOrders, "", 0)
	byKey := keysOf(t, res.records)
	l := e.sim.lines[1234]
	po := e.sim.pos[l.PO]
	v := e.sim.vendors[po.Vendor]
	item := simItems[l.Item]
	key := fmt.Sprintf("%d/%d", po.ID, l.Seq)
	r, ok := byKey[key]
	if !ok {
		t.Fatalf("no record %q", key)
	}
	foreign, _ := l.amounts(po.Currency)
	got := r.POLine
	checks := []struct {
		field     string
		got, want any
	}{
		{"po_number", got.PONumber, po.TranID},
		{"line", got.Line, strconv.Itoa(l.Seq)},
		{"order_date", got.OrderDate, po.Date},
		{"supplier_id", got.SupplierID, strconv.Itoa(v.ID)},
		{"supplier_name", got.SupplierName, v.EntityID},
		{"material", got.Material, item.Name},
		{"material_group", got.MaterialGroup, item.Class},
		{"description", got.Description, item.Memo},
		{"quantity", got.Quantity.String(), l.Qty.String()},
		{"unit", got.Unit, item.Units},
		{"unit_price", got.UnitPrice.String(), l.Rate.String()},
		{"amount", got.Amount.String(), foreign.Neg().String()},
		{"currency", got.Currency, po.Currency},
		{"site", got.Site, l.Loc},
		{"modified", r.Modified, po.Modified},
		{"deleted", r.Deleted, false},
	}
	for _, ch := range checks {
		if fmt.Sprint(ch.got) != fmt.Sprint(ch.want) {
			t.Errorf("%s: %s = %v, want %v", key, ch.field, ch.got, ch.want)
		}
	}
	if !got.Amount.IsPositive() || !got.Amount.Equal(got.Quantity.Mul(got.UnitPrice).Round(2)) && po.Currency != "JPY" {
		t.Errorf("amount %s is not quantity × rate (%s × %s)", got.Amount, got.Quantity, got.UnitPrice)
	}
	var orig map[string]any
	if err := json.Unmarshal(r.Original, &orig); err != nil || orig["foreignamount"] != foreign.String() {
		t.Errorf("original %s lacks foreignamount %s", r.Original, foreign)
	}

	// One vendor and one custom record.
	vres := keysOf(t, readAll(t, c, EntityVendors, "", 0).records)
	sv := vres[strconv.Itoa(v.ID)].Supplier
	if sv == nil || sv.Name != v.Company || sv.TaxID != v.VAT || sv.Country != v.Country || sv.Email != v.Email || sv.Blocked != v.Inactive {
		t.Errorf("vendor %d mapped to %+v, simulator has %+v", v.ID, sv, v)
	}
	cres := keysOf(t, readAll(t, c, EntityCustomRecords, "", 0).records)
	cr := e.sim.custom[7]
	g := cres[fmt.Sprintf("%s/%d", customFuelType, cr.ID)].GLEntry
	acc := simAccounts[cr.Account]
	if g == nil || g.Account != acc.Number || g.AccountName != acc.Name || !g.Quantity.Valid || !g.Quantity.Decimal.Equal(cr.Qty) ||
		g.Unit != acc.Unit || !g.Amount.Equal(cr.Amount) || g.Currency != cr.Currency || !g.PostingDate.Equal(cr.Date) || g.Site != cr.Loc {
		t.Errorf("custom record %d mapped to %+v, simulator has %+v", cr.ID, g, cr)
	}
}

func TestIncrementalChangesAndClosedLines(t *testing.T) {
	e := newEnv(t, 3000)
	c := e.connector(t)
	full := readAll(t, c, EntityPurchaseOrders, "", 0)
	e.clock.Advance(time.Hour)
	e.sim.Mutate(7, 3)
	changed, closed := e.sim.LastMutation()
	if len(changed) != 7 || len(closed) != 3 {
		t.Fatalf("mutation %v %v", changed, closed)
	}
	inc := readAll(t, c, EntityPurchaseOrders, full.watermark, 0)
	got := keysOf(t, inc.records)
	for _, k := range changed {
		r, ok := got[k]
		if !ok || r.Deleted {
			t.Fatalf("changed line %s missing or deleted in %d records", k, len(got))
		}
		if !r.Modified.Equal(e.clock.Now()) {
			t.Fatalf("changed line %s modified %s", k, r.Modified)
		}
	}
	for _, k := range closed {
		if r, ok := got[k]; !ok || !r.Deleted || r.POLine == nil || r.POLine.Status != "Closed" {
			t.Fatalf("closed line %s: %+v", k, got[k])
		}
	}
	// A superset: every line of each touched order, and nothing else.
	touched := map[string]bool{}
	for _, k := range append(changed, closed...) {
		touched[strings.Split(k, "/")[0]] = true
	}
	for k := range got {
		if !touched[strings.Split(k, "/")[0]] {
			t.Fatalf("incremental read returned %s of an untouched order", k)
		}
	}
	if inc.watermark <= full.watermark {
		t.Fatalf("watermark did not advance: %s then %s", full.watermark, inc.watermark)
	}
	// Nothing changed since: the next read returns at most what the
	// overlap re-reads, and moves the watermark on.
	e.clock.Advance(10 * time.Minute)
	again := readAll(t, c, EntityPurchaseOrders, inc.watermark, 0)
	for _, r := range again.records {
		if _, ok := got[r.Key]; !ok {
			t.Fatalf("unchanged line %s read again", r.Key)
		}
	}
	if mustTime(t, again.watermark).Sub(mustTime(t, inc.watermark)) != 10*time.Minute {
		t.Fatalf("watermark %s after %s", again.watermark, inc.watermark)
	}
	e.clock.Advance(10 * time.Minute)
	if n := len(readAll(t, c, EntityPurchaseOrders, again.watermark, 0).records); n != 0 {
		t.Fatalf("%d records when nothing changed", n)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestDeletedRecordTombstones(t *testing.T) {
	e := newEnv(t, 2000)
	c := e.connector(t)
	marks := map[string]string{}
	for _, ent := range []string{EntityPurchaseOrders, EntityVendors, EntityCustomRecords} {
		marks[ent] = readAll(t, c, ent, "", 0).watermark
	}
	e.clock.Advance(2 * time.Hour)
	gone := map[string][]string{
		EntityPurchaseOrders: e.sim.Delete("purchaseorder", 2),
		EntityVendors:        e.sim.Delete("vendor", 3),
		EntityCustomRecords:  e.sim.Delete(customFuelType, 2),
	}
	for ent, keys := range gone {
		res := readAll(t, c, ent, marks[ent], 0)
		got := keysOf(t, res.records)
		for _, k := range keys {
			if r, ok := got[k]; !ok || !r.Deleted {
				t.Fatalf("%s: no tombstone for %s in %v", ent, k, got)
			}
		}
		if len(got) != len(keys) {
			t.Fatalf("%s: %d records, want only the %d tombstones", ent, len(got), len(keys))
		}
	}
	// A full read no longer has them.
	nPO, nV, nC := e.sim.Counts()
	if n := len(readAll(t, c, EntityVendors, "", 0).records); n != nV {
		t.Fatalf("full vendor read %d, want %d", n, nV)
	}
	if n := len(readAll(t, c, EntityPurchaseOrders, "", 0).records); n != nPO || nPO >= 2000 {
		t.Fatalf("full PO read %d, simulator %d", n, nPO)
	}
	if n := len(readAll(t, c, EntityCustomRecords, "", 0).records); n != nC {
		t.Fatalf("full custom read %d, want %d", n, nC)
	}
}

func TestPagingAndResumeInNewConnector(t *testing.T) {
	e := newEnv(t, 2500)
	for _, entity := range []string{EntityPurchaseOrders, EntityCustomRecords} {
		a := e.connector(t)
		var keys []string
		req := erp.PageRequest{PageSize: 40}
		for range 3 {
			p, err := a.Fetch(context.Background(), entity, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Records) != 40 {
				t.Fatalf("%s: page of %d, want 40", entity, len(p.Records))
			}
			for _, r := range p.Records {
				keys = append(keys, r.Key)
			}
			req.Cursor = p.Next
		}
		// A new process resumes from the stored cursor.
		b := e.connector(t)
		for req.Cursor != "" {
			p, err := b.Fetch(context.Background(), entity, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Records) > 40 {
				t.Fatalf("page of %d > 40", len(p.Records))
			}
			for _, r := range p.Records {
				keys = append(keys, r.Key)
			}
			req.Cursor = p.Next
		}
		full := readAll(t, e.connector(t), entity, "", 0)
		want := make([]string, len(full.records))
		for i, r := range full.records {
			want[i] = r.Key
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("%s: resumed read has %d keys, full read %d (or a different order)", entity, len(keys), len(want))
		}
	}
}

func TestResultCapStartsNewQuery(t *testing.T) {
	e := newEnv(t, 3000)
	e.sim.SetResultCap(1000)
	// Without knowing the cap, paging hits NetSuite's 400.
	c := e.connector(t)
	req := erp.PageRequest{PageSize: 300}
	var err error
	for range 20 {
		var p erp.Page
		if p, err = c.Fetch(context.Background(), EntityPurchaseOrders, req); err != nil || p.Next == "" {
			break
		}
		req.Cursor = p.Next
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "INVALID_PARAMETER" {
		t.Fatalf("want the simulator's 400 past the cap, got %v", err)
	}
	// With result_cap the connector continues after the last key.
	e.cfg.Settings = json.RawMessage(`{"account_id":"1234567-sb1","custom_records":["customrecord_ghg_fuel"],"result_cap":1000}`)
	res := readAll(t, e.connector(t), EntityPurchaseOrders, "", 300)
	if n := len(keysOf(t, res.records)); n != 3000 {
		t.Fatalf("%d records across windows, want 3000", n)
	}
}

func TestTokenExpiryMidRun(t *testing.T) {
	e := newEnv(t, 1000)
	c := e.connector(t)
	p, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireTokens()
	before := e.sim.Requests()
	p2, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 100, Cursor: p.Next})
	if err != nil {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	if len(p2.Records) != 100 || e.sim.Requests()-before != 2 {
		t.Fatalf("%d records after %d requests; want 100 after a 401 and a re-signed retry", len(p2.Records), e.sim.Requests()-before)
	}
}

func TestThrottleAndServerErrorsAreRetried(t *testing.T) {
	e := newEnv(t, 1000)
	c := e.connector(t)
	e.sim.Throttle(3, 2*time.Second)
	before := e.sim.Requests()
	p, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 50})
	if err != nil || len(p.Records) != 50 {
		t.Fatalf("after a 429 storm: %v (%d records)", err, len(p.Records))
	}
	if n := e.sim.Requests() - before; n != 4 {
		t.Fatalf("%d requests, want 3 throttled + 1", n)
	}
	for _, st := range []int{500, 502, 503} {
		e.sim.FailNext(2, st)
		if _, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 50, Cursor: p.Next}); err != nil {
			t.Fatalf("after two %d: %v", st, err)
		}
		e.sim.FailNext(2, st) // record API GETs too
		if _, err := c.Fetch(context.Background(), EntityCustomRecords, erp.PageRequest{PageSize: 5}); err != nil {
			t.Fatalf("custom records after two %d: %v", st, err)
		}
	}
	// A lasting outage ends in an error naming the status.
	e.sim.FailNext(100, 503)
	_, err = c.Fetch(context.Background(), EntityVendors, erp.PageRequest{})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("want a 503 error, got %v", err)
	}
	e.sim.FailNext(0, 0)
}

func TestConcurrencyLimit(t *testing.T) {
	e := newEnv(t, 1000)
	e.sim.SetConcurrencyLimit(1)
	e.sim.Delay(20 * time.Millisecond)
	e.cfg.HTTP.BreakerFailures = 1000 // 429s would otherwise open the breaker
	e.cfg.HTTP.MaxAttempts = 30
	// Really wait (a few ms) so the slot frees up between attempts.
	e.cfg.HTTP.Sleep, e.cfg.HTTP.MinBackoff, e.cfg.HTTP.MaxBackoff = nil, 5*time.Millisecond, 40*time.Millisecond
	c := e.connector(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 10})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
	}
	if e.sim.Requests() <= 4 {
		t.Fatalf("%d requests: the limit of 1 never refused one", e.sim.Requests())
	}
}

func TestMalformedPage(t *testing.T) {
	e := newEnv(t, 1000)
	c := e.connector(t)
	p, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.MalformNext(1)
	req := erp.PageRequest{PageSize: 100, Cursor: p.Next}
	if _, err := c.Fetch(context.Background(), EntityPurchaseOrders, req); err == nil || !strings.Contains(err.Error(), suiteQLPath) || !strings.Contains(err.Error(), "decod") {
		t.Fatalf("want a decode error naming %s, got %v", suiteQLPath, err)
	}
	p2, err := c.Fetch(context.Background(), EntityPurchaseOrders, req)
	if err != nil || len(p2.Records) != 100 {
		t.Fatalf("same cursor again: %v, %d records", err, len(p2.Records))
	}
	// A truncated record in the record API is an error too.
	e.sim.MalformNext(2)
	if _, err := c.Fetch(context.Background(), EntityCustomRecords, erp.PageRequest{PageSize: 3}); err == nil || !strings.Contains(err.Error(), recordPathRoot+customFuelType) {
		t.Fatalf("want an error naming the record path, got %v", err)
	}
}

func TestBadRecordsAreRejected(t *testing.T) {
	e := newEnv(t, 800)
	c := e.connector(t)
	l := e.sim.lines[10]
	key := fmt.Sprintf("%d/%d", e.sim.pos[l.PO].ID, l.Seq)
	cases := []struct {
		entity, key, field, want string
	}{
		{EntityPurchaseOrders, key, "currency", `currency "XXQ"`},
		{EntityPurchaseOrders, fmt.Sprintf("%d/%d", e.sim.pos[e.sim.lines[20].PO].ID, e.sim.lines[20].Seq), "quantity", `quantity "12,5x"`},
		{EntityPurchaseOrders, fmt.Sprintf("%d/%d", e.sim.pos[e.sim.lines[30].PO].ID, e.sim.lines[30].Seq), "trandate", "trandate: is missing"},
		{EntityVendors, strconv.Itoa(e.sim.vendors[3].ID), "country", `country "Germany"`},
		{EntityCustomRecords, fmt.Sprintf("%s/%d", customFuelType, e.sim.custom[2].ID), "custrecord_currency", `custrecord_currency "XXQ"`},
		{EntityCustomRecords, fmt.Sprintf("%s/%d", customFuelType, e.sim.custom[4].ID), "custrecord_quantity", `custrecord_quantity "lots"`},
	}
	for _, tc := range cases {
		if err := e.sim.InjectBad(tc.key, tc.field); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sim.InjectBad("999999/1", "currency"); err == nil {
		t.Fatal("InjectBad of an unknown key succeeded")
	}
	nPO, nV, nC := e.sim.Counts()
	totals := map[string]int{EntityPurchaseOrders: nPO, EntityVendors: nV, EntityCustomRecords: nC}
	for ent, total := range totals {
		res := readAll(t, c, ent, "", 0)
		var want []string
		for _, tc := range cases {
			if tc.entity == ent {
				want = append(want, tc.key)
			}
		}
		if len(res.rejected) != len(want) || len(res.records) != total-len(want) {
			t.Fatalf("%s: %d records, %d rejected; want %d and %d", ent, len(res.records), len(res.rejected), total-len(want), len(want))
		}
		for _, rj := range res.rejected {
			var tc *struct{ entity, key, field, want string }
			for i := range cases {
				if cases[i].key == rj.Key {
					tc = &cases[i]
				}
			}
			if tc == nil || !strings.Contains(rj.Reason, tc.want) || !json.Valid(rj.Raw) {
				t.Fatalf("%s: rejected %q: %q (raw %s)", ent, rj.Key, rj.Reason, rj.Raw)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, 500)
	steps := e.connector(t).Check(context.Background())
	if len(steps) != 5 {
		t.Fatalf("%d steps: %+v", len(steps), steps)
	}
	for _, s := range steps {
		if !s.OK {
			t.Fatalf("step %q failed: %s", s.Name, s.Detail)
		}
	}

	for _, wrong := range []string{"consumer_secret", "token_id"} {
		cfg := e.cfg
		cfg.Credentials = map[string]string{}
		for k, v := range e.cfg.Credentials {
			cfg.Credentials[k] = v
		}
		cfg.Credentials[wrong] = "wrong-" + wrong + "-s3cr3t"
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		steps := c.Check(context.Background())
		last := steps[len(steps)-1]
		if len(steps) != 2 || last.OK || !strings.Contains(last.Detail, "401") || !strings.Contains(last.Detail, "INVALID_LOGIN") ||
			!strings.Contains(last.Detail, "Invalid login attempt") {
			t.Fatalf("%s wrong: steps %+v", wrong, steps)
		}
		_, ferr := c.Fetch(context.Background(), EntityVendors, erp.PageRequest{})
		for _, secret := range cfg.Credentials {
			for _, s := range steps {
				if strings.Contains(s.Detail, secret) {
					t.Fatalf("step %q shows a credential: %s", s.Name, s.Detail)
				}
			}
			if ferr == nil || strings.Contains(ferr.Error(), secret) {
				t.Fatalf("fetch error %v shows a credential or is nil", ferr)
			}
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, 100)
	for name, mut := range map[string]func(*erp.Config){
		"no account":     func(c *erp.Config) { c.Settings = json.RawMessage(`{}`) },
		"unknown key":    func(c *erp.Config) { c.Settings = json.RawMessage(`{"account_id":"1","acount":"x"}`) },
		"bad custom":     func(c *erp.Config) { c.Settings = json.RawMessage(`{"account_id":"1","custom_records":["vendor"]}`) },
		"bad zone":       func(c *erp.Config) { c.Settings = json.RawMessage(`{"account_id":"1","time_zone":"Mars/Base"}`) },
		"no secret":      func(c *erp.Config) { c.Credentials = map[string]string{"consumer_key": "k"} },
		"oauth2":         func(c *erp.Config) { c.AuthType = "oauth2" },
		"base with path": func(c *erp.Config) { c.BaseURL += "/services/rest" },
	} {
		cfg := e.cfg
		mut(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		} else if strings.Contains(err.Error(), simConsumerKey) {
			t.Errorf("%s: error shows a credential: %v", name, err)
		}
	}
	cfg := e.cfg
	cfg.BaseURL = ""
	c, err := New(cfg)
	if err != nil || c.base.String() != "https://1234567-sb1.suitetalk.api.netsuite.com" || c.realm != "1234567_SB1" {
		t.Fatalf("default host: %v %v", c, err)
	}
}

// signedRequest sends one request signed by s to the simulator.
func signedRequest(t *testing.T, e *env, s *oauth1.Signer) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+recordPathRoot+"vendor?limit=1", nil)
	resp, err := (&http.Client{Transport: &oauth1.Transport{Signer: s}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 401 {
		var eb errorBody
		if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Title != "Unauthorized" || eb.Status != 401 ||
			eb.Type != "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2" || eb.ErrorDetails[0].ErrorCode != "INVALID_LOGIN" || eb.ErrorDetails[0].Detail != invalidLogin {
			t.Fatalf("401 body %+v %v", eb, err)
		}
	}
	return resp.StatusCode
}

func TestSimulatorVerifiesSignatures(t *testing.T) {
	e := newEnv(t, 100)
	good := func() *oauth1.Signer {
		return &oauth1.Signer{ConsumerKey: simConsumerKey, ConsumerSecret: simConsumerSecret, Token: simTokenID,
			TokenSecret: simTokenSecret, Realm: "1234567_SB1"}
	}
	if st := signedRequest(t, e, good()); st != 200 {
		t.Fatalf("good signature: %d", st)
	}
	bad := good()
	bad.TokenSecret = "not-the-secret"
	stale := good()
	stale.Clock = func() time.Time { return time.Now().Add(-6 * time.Minute) }
	realm := good()
	realm.Realm = "7654321"
	sha1 := good()
	sha1.Method = oauth1.HMACSHA1
	for name, s := range map[string]*oauth1.Signer{"bad signature": bad, "stale timestamp": stale, "wrong realm": realm, "HMAC-SHA1": sha1} {
		if st := signedRequest(t, e, s); st != 401 {
			t.Errorf("%s: status %d, want 401", name, st)
		}
	}
	replay := good()
	replay.Nonce = func() (string, error) { return "fixed-nonce-123456", nil }
	if st := signedRequest(t, e, replay); st != 200 {
		t.Fatalf("first use of a nonce: %d", st)
	}
	if st := signedRequest(t, e, replay); st != 401 {
		t.Fatalf("reused nonce: %d, want 401", st)
	}
}

func TestSimulatorRefusesOtherQueries(t *testing.T) {
	e := newEnv(t, 100)
	c := e.connector(t)
	for _, q := range []string{
		"SELECT * FROM transaction",
		keysetQuery(poQueryBase, poKey, poModified, 0, "") + " ; DROP TABLE x",
		strings.Replace(keysetQuery(vendorQueryBase, vendorKey, vendorModified, 0, ""), "v.id", "v.entityid", 1),
	} {
		_, _, err := c.suiteQL(context.Background(), q, 10, 0)
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "INVALID_PARAMETER" || !strings.Contains(ae.Detail, "Invalid search query") {
			t.Errorf("%.60s…: %v", q, err)
		}
	}
	if _, _, err := c.suiteQL(context.Background(), keysetQuery(vendorQueryBase, vendorKey, vendorModified, 0, ""), 1001, 0); err == nil {
		t.Error("limit 1001 accepted")
	}
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, 100)
	e.cfg.HTTP.Timeout = 30 * time.Millisecond
	e.cfg.HTTP.MaxAttempts = 2
	e.sim.Delay(300 * time.Millisecond)
	_, err := e.connector(t).Fetch(context.Background(), EntityVendors, erp.PageRequest{})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want a timeout, got %v", err)
	}
}

func TestFactoryAndSample(t *testing.T) {
	f := Factory()
	if f.System != System || f.Title != "Oracle NetSuite" || f.New == nil || f.NewSimulator == nil {
		t.Fatalf("factory %+v", f)
	}
	var s erp.ConnectionSpec
	dec := json.NewDecoder(strings.NewReader(f.Sample))
	if err := dec.Decode(&s); err != nil || s.System != System || s.AuthType != AuthType {
		t.Fatalf("sample %v: %+v", err, s)
	}
	if _, err := f.New(erp.Config{Name: s.Name, BaseURL: s.BaseURL, AuthType: s.AuthType, Credentials: s.Credentials, Settings: s.Settings}); err != nil {
		t.Fatalf("sample does not build a connector: %v", err)
	}
	sim := f.NewSimulator(erp.SimOptions{Records: 50, Seed: 1})
	if _, _, set := sim.Connection("http://x"); !json.Valid(set) {
		t.Fatal("simulator settings are not JSON")
	}
	// Same seed, same data.
	a, b := NewSimulator(erp.SimOptions{Records: 300, Seed: 9}), NewSimulator(erp.SimOptions{Records: 300, Seed: 9})
	if fmt.Sprint(a.lines[:50]) != fmt.Sprint(b.lines[:50]) || fmt.Sprint(a.vendors) != fmt.Sprint(b.vendors) {
		t.Fatal("simulator data is not deterministic")
	}
	currencies := map[string]bool{}
	for _, p := range a.pos {
		currencies[p.Currency] = true
	}
	if len(currencies) < 3 {
		t.Fatalf("currencies %v", currencies)
	}
}

func FuzzParsePage(f *testing.F) {
	e := NewSimulator(erp.SimOptions{Records: 20, Seed: 3})
	row, _ := json.Marshal(e.poRow(0))
	f.Add([]byte(`{"links":[],"count":1,"hasMore":false,"items":[` + string(row) + `],"offset":0,"totalResults":1}`))
	f.Add([]byte(`{"items":[{"id":"1","linesequencenumber":"1","tranid":"PO1","trandate":"2025-02-30","currency":"EUR","foreignamount":"-1"}]}`))
	f.Add([]byte(`{"items":[{"id":{"refName":"x"},"quantity":1e999,"currency":"eur"}]}`))
	f.Add([]byte(`{"items":[null, 1, "x", []]}`))
	f.Add([]byte(`{"items":[{"id":"7","companyname":"ACME","country":"de","lastmodifieddate":"2025-01-01 10:00:00"}]}`))
	f.Add([]byte(`{"items":[{"id":"7","custrecord_date":"2025-01-31","custrecord_account":"6110","custrecord_currency":"USD","custrecord_quantity":12.5,"isInactive":true}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		col, err := decodeCollection(data)
		if err != nil {
			return
		}
		for _, item := range col.Items {
			for _, p := range []parsed{parsePOLine(item, time.UTC), parseVendor(item, time.UTC), parseCustom(customFuelType, item, time.UTC)} {
				if p.err == nil {
					if err := p.rec.Validate(); err != nil {
						// add() rejects these too; a record never gets through unvalidated.
						var page erp.Page
						add(&page, &cursor{}, p, item)
						if len(page.Records) != 0 {
							t.Fatalf("invalid record accepted: %v", err)
						}
					}
				}
			}
			if p, _ := parseDeleted(erp.KindPOLine, "", item, time.UTC); p.err == nil {
				if err := p.rec.Validate(); err != nil {
					t.Fatalf("tombstone does not validate: %v", err)
				}
			}
		}
	})
}

// The amounts are decimal end to end: a line of 3 × 0.10 is 0.30 exactly.
func TestDecimalAmounts(t *testing.T) {
	raw := json.RawMessage(`{"id":"5","tranid":"PO9","trandate":"2025-05-01","linesequencenumber":"2","currency":"GBP","quantity":"3","rate":"0.10","foreignamount":"-0.30","netamount":"-0.38","isclosed":"F","lastmodifieddate":"2025-05-02 13:14:15"}`)
	loc, _ := time.LoadLocation("Europe/Berlin")
	p := parsePOLine(raw, loc)
	if p.err != nil {
		t.Fatal(p.err)
	}
	if !p.rec.POLine.Amount.Equal(decimal.RequireFromString("0.30")) || p.rec.Key != "5/2" {
		t.Fatalf("%+v", p.rec.POLine)
	}
	if want := time.Date(2025, 5, 2, 11, 14, 15, 0, time.UTC); !p.rec.Modified.Equal(want) {
		t.Fatalf("modified %s, want %s (Berlin summer time)", p.rec.Modified, want)
	}
}

func BenchmarkFullSync100k(b *testing.B) {
	sim := NewSimulator(erp.SimOptions{Records: 100000, Seed: 1})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	auth, creds, settings := sim.Connection(srv.URL)
	c, err := New(erp.Config{Name: "bench", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: settings,
		HTTP: erphttp.Config{RatePerSecond: -1}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		req := erp.PageRequest{}
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
		if n != 100000 {
			b.Fatalf("%d records", n)
		}
	}
}
