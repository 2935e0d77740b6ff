package dynamics

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// fakeClock is shared by the simulator (its Now) and the HTTP layer (its
// Now and Sleep), so waits advance simulated time at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	return ctx.Err()
}

type env struct {
	t     *testing.T
	sim   *Simulator
	srv   *httptest.Server
	clock *fakeClock
	cfg   erp.Config
}

func newEnv(t *testing.T, records int) *env {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)}
	sim := NewSimulator(erp.SimOptions{Records: records, Seed: 42, Now: clock.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	auth, creds, settings := sim.Connection(srv.URL)
	return &env{t: t, sim: sim, srv: srv, clock: clock, cfg: erp.Config{
		Name: "bc-test", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: settings,
		HTTP: erphttp.Config{Sleep: clock.Sleep, Now: clock.Now, MinBackoff: time.Millisecond, RatePerSecond: -1},
	}}
}

func (e *env) connector() *Connector {
	e.t.Helper()
	c, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// readAll pages through an entity from since, returning the records, the
// rejects, the last watermark and the pages read.
func readAll(t *testing.T, c *Connector, entity, since string, size int) ([]erp.Record, []erp.Rejected, string, []erp.Page) {
	t.Helper()
	var recs []erp.Record
	var rej []erp.Rejected
	var pages []erp.Page
	req := erp.PageRequest{Since: since, PageSize: size}
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("paging does not end")
		}
		p, err := c.Fetch(context.Background(), entity, req)
		if err != nil {
			t.Fatalf("%s page %d: %v", entity, i, err)
		}
		pages = append(pages, p)
		recs = append(recs, p.Records...)
		rej = append(rej, p.Rejected...)
		if p.Next == "" {
			return recs, rej, p.Watermark, pages
		}
		req.Cursor = p.Next
	}
}

func keys(recs []erp.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Key
	}
	slices.Sort(out)
	return out
}

func TestFullSyncAllEntities(t *testing.T) {
	e := newEnv(t, 3000)
	c := e.connector()
	counts := e.sim.Counts()
	want := map[string]int{
		"vendors": counts["vendors"], "items": counts["items"],
		"purchase_orders": counts["purchaseOrderLines"], "general_ledger_entries": counts["generalLedgerEntries"],
	}
	if want["purchase_orders"] != 3000 {
		t.Fatalf("simulator has %d lines, want 3000", want["purchase_orders"])
	}
	byKey := map[string]erp.Record{}
	for _, ent := range c.Entities() {
		recs, rej, wm, _ := readAll(t, c, ent.Name, "", 500)
		if len(rej) != 0 {
			t.Errorf("%s: %d rejected, first %+v", ent.Name, len(rej), rej[0])
		}
		if len(recs) != want[ent.Name] {
			t.Errorf("%s: %d records, want %d", ent.Name, len(recs), want[ent.Name])
		}
		ks := keys(recs)
		if len(slices.Compact(slices.Clone(ks))) != len(ks) {
			t.Errorf("%s: duplicate keys", ent.Name)
		}
		if !strings.Contains(wm, "$deltatoken=") && !strings.Contains(wm, "%24deltatoken=") {
			t.Errorf("%s: watermark %q is not a delta link", ent.Name, wm)
		}
		for _, r := range recs {
			if err := r.Validate(); err != nil || r.Kind != ent.Kind || r.Deleted {
				t.Fatalf("%s: record %s: kind %s deleted %v: %v", ent.Name, r.Key, r.Kind, r.Deleted, err)
			}
			byKey[string(r.Kind)+" "+r.Key] = r
		}
	}

	// One purchase order line, field by field against the simulator.
	var o *simOrder
	for _, x := range e.sim.d.orders {
		if x.CurrencyCode != "" && len(x.lines) > 1 {
			o = x
			break
		}
	}
	l := o.lines[1]
	r, ok := byKey["purchase_order_line "+o.ID+"/"+strconv.Itoa(l.Sequence)]
	if !ok {
		t.Fatalf("line %s/%d not read", o.Number, l.Sequence)
	}
	p := r.POLine
	od, _ := time.Parse(time.DateOnly, o.OrderDate)
	check := func(field string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %v, want %v", field, got, want)
		}
	}
	check("po_number", p.PONumber, o.Number)
	check("line", p.Line, strconv.Itoa(l.Sequence))
	check("order_date", p.OrderDate, od)
	check("supplier_id", p.SupplierID, o.VendorNumber)
	check("supplier_name", p.SupplierName, o.VendorName)
	check("description", p.Description, l.Description)
	check("unit", p.Unit, l.UnitOfMeasureCode)
	check("currency", p.Currency, o.CurrencyCode)
	check("status", p.Status, o.Status)
	check("site", p.Site, l.LocationID)
	check("modified", r.Modified, o.modified)
	check("quantity", p.Quantity.String(), l.Quantity.d.String())
	check("unit_price", p.UnitPrice.String(), l.DirectUnitCost.d.String())
	check("amount", p.Amount.String(), l.NetAmount.d.String())
	if l.LineType == "Item" {
		check("material", p.Material, l.LineObjectNumber)
	} else {
		check("spend_category", p.SpendCategory, l.LineObjectNumber)
	}
	var orig struct {
		Header map[string]any `json:"header"`
		Item   map[string]any `json:"item"`
	}
	if err := json.Unmarshal(r.Original, &orig); err != nil || orig.Header["number"] != o.Number || orig.Item["id"] != l.ID {
		t.Errorf("original %s: %v", r.Original, err)
	}
	if _, has := orig.Header["purchaseOrderLines"]; has {
		t.Error("original header still carries the lines")
	}

	// Local currency: an order with an empty currencyCode is in EUR.
	for _, x := range e.sim.d.orders {
		if x.CurrencyCode == "" {
			if got := byKey["purchase_order_line "+x.ID+"/10000"].POLine.Currency; got != "EUR" {
				t.Errorf("LCY order %s: currency %q, want EUR", x.Number, got)
			}
			break
		}
	}

	v := e.sim.d.vendors[3]
	sr := byKey["supplier "+v.ID].Supplier
	if sr == nil || sr.ID != v.Number || sr.Name != v.DisplayName || sr.TaxID != v.TaxRegistrationNumber || sr.Country != v.Country ||
		sr.Email != v.Email || sr.Blocked != (strings.TrimSpace(v.Blocked) != "") {
		t.Errorf("vendor %+v mapped to %+v", v, sr)
	}
	it := e.sim.d.items[5]
	mr := byKey["material "+it.ID].Material
	if mr == nil || mr.ID != it.Number || mr.MaterialGroup != it.ItemCategoryCode || mr.BaseUnit != it.BaseUnitOfMeasureCode || mr.Description != it.DisplayName {
		t.Errorf("item %+v mapped to %+v", it, mr)
	}
	for _, g := range e.sim.d.gl[:20] {
		gr := byKey["gl_entry "+g.DocumentNumber+"/"+strconv.Itoa(g.EntryNumber)].GLEntry
		if gr == nil || gr.Account != g.AccountNumber || gr.Currency != "EUR" || !gr.Amount.Equal(g.DebitAmount.d.Sub(g.CreditAmount.d)) ||
			gr.PostingDate.Format(time.DateOnly) != g.PostingDate || gr.Description != g.Description {
			t.Errorf("G/L entry %+v mapped to %+v", g, gr)
		}
	}
}

func TestIncrementalDeltaLink(t *testing.T) {
	e := newEnv(t, 1500)
	c := e.connector()
	full, _, wm, _ := readAll(t, c, "purchase_orders", "", 300)
	e.clock.Sleep(context.Background(), time.Hour)
	changed, deleted := e.sim.MutateKeys(7, 4)
	if len(changed) != 7 || len(deleted) != 4 {
		t.Fatalf("mutated %d/%d", len(changed), len(deleted))
	}
	recs, rej, wm2, _ := readAll(t, c, "purchase_orders", wm, 300)
	if len(rej) != 0 {
		t.Fatalf("rejected %+v", rej)
	}
	want := slices.Sorted(slices.Values(append(slices.Clone(changed), deleted...)))
	if got := keys(recs); !slices.Equal(got, want) {
		t.Fatalf("delta read %v, want exactly %v", got, want)
	}
	fullByKey := map[string]erp.Record{}
	for _, r := range full {
		fullByKey[r.Key] = r
	}
	for _, r := range recs {
		isDel := slices.Contains(deleted, r.Key)
		if r.Deleted != isDel {
			t.Errorf("%s: Deleted %v, want %v", r.Key, r.Deleted, isDel)
		}
		if isDel {
			if r.POLine != nil {
				t.Errorf("%s: deleted record carries a line", r.Key)
			}
			continue
		}
		l := e.sim.lineKey[r.Key]
		if !r.POLine.Quantity.Equal(l.Quantity.d) || !r.POLine.Amount.Equal(l.NetAmount.d) {
			t.Errorf("%s: quantity %s amount %s, simulator %s %s", r.Key, r.POLine.Quantity, r.POLine.Amount, l.Quantity.d, l.NetAmount.d)
		}
		if !r.Modified.After(fullByKey[r.Key].Modified) {
			t.Errorf("%s: modified %s not after %s", r.Key, r.Modified, fullByKey[r.Key].Modified)
		}
	}
	if wm2 == wm || wm2 == "" {
		t.Errorf("watermark did not advance: %q", wm2)
	}
	// Nothing changed since: an empty delta, and the watermark moves on.
	recs, _, wm3, _ := readAll(t, c, "purchase_orders", wm2, 300)
	if len(recs) != 0 || wm3 == "" {
		t.Errorf("second delta: %d records, watermark %q", len(recs), wm3)
	}
	// Deleted lines are gone from a full read.
	again, _, _, _ := readAll(t, c, "purchase_orders", "", 0)
	if len(again) != len(full)-len(deleted) {
		t.Errorf("full read after deletes: %d, want %d", len(again), len(full)-len(deleted))
	}
	// Other entities: no change, empty delta.
	_, _, vwm, _ := readAll(t, c, "vendors", "", 0)
	if v, _, _, _ := readAll(t, c, "vendors", vwm, 0); len(v) != 0 {
		t.Errorf("vendors delta: %d records", len(v))
	}
}

// TestDeletedOrderTombstone: Business Central removes a fully invoiced
// order and its delta names only the order's id; the connector returns
// one Deleted record keyed by that id, the prefix of every line's key.
func TestDeletedOrderTombstone(t *testing.T) {
	e := newEnv(t, 300)
	c := e.connector()
	full, _, wm, _ := readAll(t, c, "purchase_orders", "", 0)
	o := e.sim.d.orders[3]
	var lineKeys []string
	for _, r := range full {
		if strings.HasPrefix(r.Key, o.ID+"/") {
			lineKeys = append(lineKeys, r.Key)
		}
	}
	if len(lineKeys) != len(o.lines) || len(lineKeys) == 0 {
		t.Fatalf("order %s: %d line records, %d lines", o.Number, len(lineKeys), len(o.lines))
	}
	e.clock.Sleep(context.Background(), time.Minute)
	id, err := e.sim.DeleteOrder(o.Number)
	if err != nil || id != o.ID {
		t.Fatalf("DeleteOrder: %q %v", id, err)
	}
	recs, rej, _, _ := readAll(t, c, "purchase_orders", wm, 0)
	if len(rej) != 0 || len(recs) != 1 || recs[0].Key != o.ID || !recs[0].Deleted || recs[0].Kind != erp.KindPOLine {
		t.Fatalf("delta after deleting order %s: %+v rejected %+v", o.Number, recs, rej)
	}
	if err := recs[0].Validate(); err != nil {
		t.Fatalf("tombstone does not validate: %v", err)
	}
	again, _, _, _ := readAll(t, c, "purchase_orders", "", 0)
	if len(again) != len(full)-len(lineKeys) {
		t.Fatalf("full read after the deletion: %d records, want %d", len(again), len(full)-len(lineKeys))
	}
	if _, err := e.sim.DeleteOrder(o.Number); err == nil {
		t.Fatal("deleted an order twice")
	}
}

func TestExpiredDeltaLinkRestartsFullRead(t *testing.T) {
	e := newEnv(t, 400)
	c := e.connector()
	full, _, wm, _ := readAll(t, c, "purchase_orders", "", 0)
	e.sim.ExpireDeltaLinks()
	recs, _, wm2, _ := readAll(t, c, "purchase_orders", wm, 0)
	if len(recs) != len(full) || wm2 == wm {
		t.Errorf("after 410: %d records (want %d), watermark changed %v", len(recs), len(full), wm2 != wm)
	}
}

func TestPagingAndResume(t *testing.T) {
	e := newEnv(t, 1000)
	c := e.connector()
	recs, _, _, pages := readAll(t, c, "vendors", "", 7)
	for i, p := range pages {
		if i < len(pages)-1 && len(p.Records) != 7 {
			t.Errorf("vendors page %d has %d records, want 7", i, len(p.Records))
		}
	}
	if len(pages) != (len(recs)+6)/7 {
		t.Errorf("%d pages for %d vendors", len(pages), len(recs))
	}
	// Purchase orders: the page size counts orders (OData top-level entities).
	all, _, _, pages := readAll(t, c, "purchase_orders", "", 25)
	for i, p := range pages {
		orders := map[string]bool{}
		for _, r := range p.Records {
			orders[r.POLine.PONumber] = true
		}
		if len(orders) > 25 || (i < len(pages)-1 && len(orders) != 25) {
			t.Errorf("purchase orders page %d holds %d orders", i, len(orders))
		}
	}

	// Two pages with one connector, the rest with a new one (a new process).
	var got []erp.Record
	req := erp.PageRequest{PageSize: 25}
	for range 2 {
		p, err := c.Fetch(context.Background(), "purchase_orders", req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Records...)
		req.Cursor = p.Next
	}
	c2 := e.connector()
	for req.Cursor != "" {
		p, err := c2.Fetch(context.Background(), "purchase_orders", req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Records...)
		req.Cursor = p.Next
	}
	if !slices.Equal(keys(got), keys(all)) {
		t.Errorf("resumed read: %d records, full read %d (gap or duplicate)", len(got), len(all))
	}
	// A cursor must point into this connection's company.
	if _, err := c.Fetch(context.Background(), "vendors", erp.PageRequest{Cursor: "https://evil.example/v2.0/x/vendors?$skiptoken=a"}); err == nil {
		t.Error("a foreign cursor was followed")
	}
	if _, err := c.Fetch(context.Background(), "vendors", erp.PageRequest{Cursor: c.company + "/vendorsX"}); err == nil {
		t.Error("a cursor of another entity set was followed")
	}
}

func TestTokenExpiryMidRun(t *testing.T) {
	e := newEnv(t, 600)
	c := e.connector()
	p, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireTokens()
	p2, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{PageSize: 20, Cursor: p.Next})
	if err != nil || len(p2.Records) == 0 {
		t.Fatalf("after token expiry: %v (%d records)", err, len(p2.Records))
	}
}

func TestThrottlingAndServerErrors(t *testing.T) {
	e := newEnv(t, 300)
	c := e.connector()
	before := e.sim.Requests()
	e.sim.Throttle(3, 7*time.Second)
	start := e.clock.Now()
	if _, err := c.Fetch(context.Background(), "vendors", erp.PageRequest{}); err != nil {
		t.Fatalf("after a 429 storm: %v", err)
	}
	if waited := e.clock.Now().Sub(start); waited < 21*time.Second {
		t.Errorf("waited %s, want ≥ 3 × Retry-After 7 s", waited)
	}
	if n := e.sim.Requests() - before; n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
	for _, status := range []int{503, 500, 502} {
		e.sim.FailNext(2, status)
		if _, err := c.Fetch(context.Background(), "items", erp.PageRequest{}); err != nil {
			t.Errorf("after two %d: %v", status, err)
		}
	}
	// Out of attempts: the error names the status and the path.
	e.sim.FailNext(10, 503)
	_, err := c.Fetch(context.Background(), "items", erp.PageRequest{})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "/items") {
		t.Errorf("after a 503 storm: %v", err)
	}
	e.sim.FailNext(0, 0)
}

func TestRateLimitHonoured(t *testing.T) {
	e := newEnv(t, 300)
	c := e.connector()
	e.sim.SetRateLimit(3, time.Minute)
	start := e.clock.Now()
	for range 5 {
		if _, err := c.Fetch(context.Background(), "vendors", erp.PageRequest{PageSize: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if e.clock.Now().Sub(start) < time.Minute-time.Second {
		t.Errorf("5 requests at 3/min took %s of simulated time", e.clock.Now().Sub(start))
	}
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, 100)
	e.cfg.HTTP.Timeout = 30 * time.Millisecond
	e.cfg.HTTP.MaxAttempts = 2
	c := e.connector()
	for _, st := range c.Check(context.Background()) {
		if !st.OK {
			t.Fatalf("before the delay: %+v", st)
		}
	}
	e.sim.Delay(time.Second)
	defer e.sim.Delay(0)
	_, err := c.Fetch(context.Background(), "vendors", erp.PageRequest{})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("slow server: %v", err)
	}
}

func TestMalformedPage(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector()
	p, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.MalformNext(1)
	req := erp.PageRequest{PageSize: 10, Cursor: p.Next}
	_, err = c.Fetch(context.Background(), "purchase_orders", req)
	if err == nil || !strings.Contains(err.Error(), "/purchaseOrders") || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("truncated page: %v", err)
	}
	p2, err := c.Fetch(context.Background(), "purchase_orders", req)
	if err != nil || len(p2.Records) == 0 {
		t.Fatalf("same cursor again: %v", err)
	}
}

func TestBadRecordsRejected(t *testing.T) {
	e := newEnv(t, 500)
	c := e.connector()
	o := e.sim.d.orders[2]
	for len(o.lines) < 2 {
		o = e.sim.d.orders[slices.Index(e.sim.d.orders, o)+1]
	}
	badLine := o.ID + "/" + strconv.Itoa(o.lines[0].Sequence)
	if err := e.sim.InjectBad(badLine, "quantity"); err != nil {
		t.Fatal(err)
	}
	o2 := e.sim.d.orders[len(e.sim.d.orders)-1]
	if err := e.sim.InjectBad(o2.ID+"/10000", "currencyCode"); err != nil {
		t.Fatal(err)
	}
	recs, rej, _, _ := readAll(t, c, "purchase_orders", "", 0)
	reasons := map[string]string{}
	for _, r := range rej {
		reasons[r.Key] = r.Reason
		if !json.Valid(r.Raw) {
			t.Errorf("%s: raw is not JSON", r.Key)
		}
	}
	if !strings.Contains(reasons[badLine], "purchaseOrderLines.quantity") || !strings.Contains(reasons[badLine], "12,5") {
		t.Errorf("bad quantity: rejected %v", reasons)
	}
	if r := reasons[o2.ID+"/10000"]; !strings.Contains(r, "currency") || !strings.Contains(r, "XXQ") {
		t.Errorf("bad currency: reason %q", r)
	}
	if len(rej) != 1+len(o2.lines) {
		t.Errorf("%d rejected, want %d", len(rej), 1+len(o2.lines))
	}
	if len(recs)+len(rej) != e.sim.Counts()["purchaseOrderLines"] {
		t.Errorf("%d kept + %d rejected != %d lines", len(recs), len(rej), e.sim.Counts()["purchaseOrderLines"])
	}
	kept := map[string]bool{}
	for _, r := range recs {
		kept[r.Key] = true
	}
	if !kept[o.ID+"/"+strconv.Itoa(o.lines[1].Sequence)] {
		t.Error("the good line of the order with a bad line was not kept")
	}

	// Vendors and G/L entries.
	v := e.sim.d.vendors[1]
	if err := e.sim.InjectBad(v.ID, "displayName"); err != nil {
		t.Fatal(err)
	}
	g := e.sim.d.gl[4]
	gkey := g.DocumentNumber + "/" + strconv.Itoa(g.EntryNumber)
	if err := e.sim.InjectBad(gkey, "postingDate"); err != nil {
		t.Fatal(err)
	}
	_, vrej, _, _ := readAll(t, c, "vendors", "", 0)
	if len(vrej) != 1 || vrej[0].Key != v.ID || !strings.Contains(vrej[0].Reason, "displayName") {
		t.Errorf("vendor rejects %+v", vrej)
	}
	_, grej, _, _ := readAll(t, c, "general_ledger_entries", "", 0)
	if len(grej) != 1 || grej[0].Key != gkey || !strings.Contains(grej[0].Reason, "postingDate") || !strings.Contains(grej[0].Reason, "31.12.2025") {
		t.Errorf("G/L rejects %+v", grej)
	}
	if err := e.sim.InjectBad("nope", "quantity"); err == nil {
		t.Error("InjectBad of an unknown key succeeded")
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, 200)
	steps := e.connector().Check(context.Background())
	wantNames := []string{"parse settings", "fetch OAuth token", "read company", "read vendors", "read items", "read purchase orders", "read general ledger entries"}
	if len(steps) != len(wantNames) {
		t.Fatalf("steps %+v", steps)
	}
	for i, s := range steps {
		if !s.OK || s.Name != wantNames[i] {
			t.Errorf("step %d: %+v", i, s)
		}
	}
	secret := e.cfg.Credentials["client_secret"]

	bad := *e
	bad.cfg.Credentials = map[string]string{"client_id": e.cfg.Credentials["client_id"], "client_secret": "wrong-secret-1234"}
	steps = bad.connector().Check(context.Background())
	last := steps[len(steps)-1]
	if len(steps) != 2 || last.OK || last.Name != "fetch OAuth token" || !strings.Contains(last.Detail, "AADSTS7000215") ||
		!strings.Contains(last.Detail, "invalid_client") {
		t.Errorf("wrong secret: %+v", steps)
	}
	for _, s := range steps {
		for _, cred := range []string{"wrong-secret-1234", e.cfg.Credentials["client_id"], secret} {
			if strings.Contains(s.Detail, cred) {
				t.Errorf("step %q detail carries a credential: %s", s.Name, s.Detail)
			}
		}
	}
	_, err := bad.connector().Fetch(context.Background(), "vendors", erp.PageRequest{})
	if err == nil || strings.Contains(err.Error(), "wrong-secret-1234") || strings.Contains(err.Error(), e.cfg.Credentials["client_id"]) {
		t.Errorf("fetch with a wrong secret: %v", err)
	}

	// A wrong company: the company step names Business Central's error.
	wrong := *e
	var s Settings
	_ = json.Unmarshal(e.cfg.Settings, &s)
	s.CompanyID = "99999999-9999-9999-9999-999999999999"
	wrong.cfg.Settings, _ = json.Marshal(s)
	steps = wrong.connector().Check(context.Background())
	last = steps[len(steps)-1]
	if last.OK || last.Name != "read company" || !strings.Contains(last.Detail, "404") || !strings.Contains(last.Detail, "BadRequest_NotFound") {
		t.Errorf("wrong company: %+v", last)
	}
	for _, st := range steps {
		if strings.Contains(st.Detail, secret) {
			t.Errorf("secret in %q", st.Detail)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, 50)
	for name, mod := range map[string]func(*erp.Config){
		"unknown setting": func(c *erp.Config) { c.Settings = json.RawMessage(`{"tenant_id":"t","company_id":"c","tenant":"x"}`) },
		"no tenant":       func(c *erp.Config) { c.Settings = json.RawMessage(`{"company_id":"c"}`) },
		"no company":      func(c *erp.Config) { c.Settings = json.RawMessage(`{"tenant_id":"t"}`) },
		"bad currency": func(c *erp.Config) {
			c.Settings = json.RawMessage(`{"tenant_id":"t","company_id":"c","local_currency":"eur"}`)
		},
		"no secret": func(c *erp.Config) { c.Credentials = map[string]string{"client_id": "x"} },
		"auth type": func(c *erp.Config) { c.AuthType = "basic" },
		"base URL":  func(c *erp.Config) { c.BaseURL = "ftp://x" },
	} {
		cfg := e.cfg
		cfg.Credentials = maps.Clone(e.cfg.Credentials)
		mod(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), e.cfg.Credentials["client_secret"]) {
			t.Errorf("%s: error carries the secret", name)
		}
	}
}

func TestFactory(t *testing.T) {
	f := Factory()
	if f.System != "dynamics365" || f.Title != "Microsoft Dynamics 365" || f.New == nil || f.NewSimulator == nil {
		t.Fatalf("factory %+v", f)
	}
	var s struct {
		System   string          `json:"system"`
		AuthType string          `json:"auth_type"`
		Settings json.RawMessage `json:"settings"`
	}
	if err := json.Unmarshal([]byte(f.Sample), &s); err != nil || s.System != System || s.AuthType != AuthOAuth2 {
		t.Fatalf("sample: %v %+v", err, s)
	}
	if _, err := f.New(erp.Config{Name: "sample", AuthType: s.AuthType, Settings: s.Settings,
		Credentials: map[string]string{"client_id": "id", "client_secret": "secret"}}); err != nil {
		t.Errorf("sample settings: %v", err)
	}
	sim := f.NewSimulator(erp.SimOptions{Records: 10, Seed: 1})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	auth, creds, settings := sim.Connection(srv.URL)
	c, err := f.New(erp.Config{Name: "sim", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range c.Check(context.Background()) {
		if !st.OK {
			t.Errorf("%+v", st)
		}
	}
}

func TestDeterministicData(t *testing.T) {
	a := NewSimulator(erp.SimOptions{Records: 300, Seed: 7})
	b := NewSimulator(erp.SimOptions{Records: 300, Seed: 7})
	ja, _ := json.Marshal(a.d.orders[10].lines[0])
	jb, _ := json.Marshal(b.d.orders[10].lines[0])
	if string(ja) != string(jb) || a.d.companyID != b.d.companyID {
		t.Error("same seed, different data")
	}
	currencies := map[string]bool{}
	for _, o := range a.d.orders {
		currencies[o.CurrencyCode] = true
	}
	if len(currencies) < 4 {
		t.Errorf("currencies %v", currencies)
	}
}

// TestSimulatorProtocol checks the OData options and error bodies the
// simulator serves, with a raw HTTP client.
func TestSimulatorProtocol(t *testing.T) {
	e := newEnv(t, 200)
	c := e.connector()
	tok, err := c.ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, hdr ...string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	resp, m := get(c.company+"/vendors?$select=number,displayName", "Prefer", "odata.maxpagesize=2")
	vals, _ := m["value"].([]any)
	if resp.StatusCode != 200 || len(vals) != 2 || resp.Header.Get("Preference-Applied") != "odata.maxpagesize=2" {
		t.Fatalf("$select: %d %v %v", resp.StatusCode, m, resp.Header)
	}
	if v := vals[0].(map[string]any); len(v) != 3 || v["number"] == nil || v["displayName"] == nil {
		t.Errorf("$select kept %v", v)
	}
	if next, _ := m["@odata.nextLink"].(string); !strings.Contains(next, "skiptoken") || !strings.Contains(next, "select") {
		t.Errorf("nextLink %q", next)
	}
	resp, m = get(c.company + "/vendors?$select=nope")
	if resp.StatusCode != 400 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "nope") {
		t.Errorf("bad $select: %d %v", resp.StatusCode, m)
	}
	resp, m = get(c.company + "/vendors?$top=1")
	if resp.StatusCode != 400 || m["error"].(map[string]any)["code"] != "BadRequest" {
		t.Errorf("unsupported option: %d %v", resp.StatusCode, m)
	}
	resp, m = get(c.company + "/customers")
	if resp.StatusCode != 404 || m["error"].(map[string]any)["code"] != "BadRequest_NotFound" {
		t.Errorf("unknown set: %d %v", resp.StatusCode, m)
	}
	resp, _ = get(c.company + "/vendors?$deltatoken=garbage")
	if resp.StatusCode != 410 || resp.Header.Get("Location") == "" {
		t.Errorf("bad delta token: %d", resp.StatusCode)
	}
	// $filter on lastModifiedDateTime: only the later vendors.
	mid := e.sim.tables["vendors"].log[len(e.sim.tables["vendors"].log)/2].modified
	_, m = get(c.company + "/vendors?$filter=lastModifiedDateTime%20gt%20" + mid.Format(time.RFC3339Nano))
	vals, _ = m["value"].([]any)
	want := 0
	for _, v := range e.sim.d.vendors {
		if v.modified.After(mid) {
			want++
		}
	}
	if len(vals) != want || want == 0 {
		t.Errorf("$filter gt: %d vendors, want %d", len(vals), want)
	}
	// Unauthenticated: 401 with the Business Central body and a challenge.
	req, _ := http.NewRequest(http.MethodGet, c.company+"/vendors", nil)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 401 || !strings.HasPrefix(r2.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Errorf("no token: %d", r2.StatusCode)
	}
}

// TestMutateClamps checks Mutate clamps to the lines there are.
func TestMutateClamps(t *testing.T) {
	sim := NewSimulator(erp.SimOptions{Records: 20, Seed: 3})
	ch, del := sim.MutateKeys(15, 15)
	if len(ch)+len(del) != 20 {
		t.Errorf("mutated %d+%d of 20 lines", len(ch), len(del))
	}
	if sim.Counts()["purchaseOrderLines"] != 20-len(del) {
		t.Error("deleted lines still counted")
	}
}
