package sap

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
)

func TestFactoryAndSample(t *testing.T) {
	f := Factory()
	if f.System != System || f.Title != "SAP S/4HANA" || f.New == nil || f.NewSimulator == nil {
		t.Fatalf("incomplete factory: %+v", f)
	}
	var s erp.ConnectionSpec
	if err := json.Unmarshal([]byte(f.Sample), &s); err != nil {
		t.Fatalf("sample: %v", err)
	}
	if s.System != System {
		t.Fatalf("sample system %q", s.System)
	}
	c, err := f.New(erp.Config{Name: s.Name, BaseURL: s.BaseURL, AuthType: s.AuthType, Credentials: s.Credentials, Settings: s.Settings})
	if err != nil {
		t.Fatalf("the sample does not build a connector: %v", err)
	}
	if got := len(c.Entities()); got != 4 {
		t.Fatalf("%d entities", got)
	}
	var _ erp.Simulator = f.NewSimulator(erp.SimOptions{Records: 10})
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, 50)
	for name, edit := range map[string]func(*erp.Config){
		"unknown setting": func(c *erp.Config) { c.Settings = json.RawMessage(`{"sap_clinet":"100"}`) },
		"no secret":       func(c *erp.Config) { delete(c.Credentials, "client_secret") },
		"no token url":    func(c *erp.Config) { c.Settings = json.RawMessage(`{"sap_client":"100"}`) },
		"auth type":       func(c *erp.Config) { c.AuthType = "saml" },
		"base url":        func(c *erp.Config) { c.BaseURL = "ftp://x" },
		"unknown entity": func(c *erp.Config) {
			c.Settings = json.RawMessage(`{"token_url":"http://x/t","entities":["invoices"]}`)
		},
		"page size too big": func(c *erp.Config) { c.Settings = json.RawMessage(`{"token_url":"http://x/t","page_size":9000}`) },
	} {
		cfg := e.config(nil)
		edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), cfg.Credentials["client_secret"]) && cfg.Credentials["client_secret"] != "" {
			t.Errorf("%s: the error shows the secret", name)
		}
	}
}

func TestFullSync(t *testing.T) {
	e := newEnv(t, 3000)
	c := e.conn(nil)
	counts := e.sim.Counts()
	for _, ent := range c.Entities() {
		r := readAll(t, c, ent.Name, "", 0)
		if len(r.rejected) != 0 {
			t.Errorf("%s: %d rejected, first: %s", ent.Name, len(r.rejected), r.rejected[0].Reason)
		}
		if got, want := len(r.records), counts[ent.Name]; got != want {
			t.Errorf("%s: %d records, the simulator has %d", ent.Name, got, want)
		}
		seen := map[string]bool{}
		for _, rec := range r.records {
			if seen[rec.Key] {
				t.Fatalf("%s: key %s twice", ent.Name, rec.Key)
			}
			seen[rec.Key] = true
			if err := rec.Validate(); err != nil {
				t.Fatalf("%s %s: %v", ent.Name, rec.Key, err)
			}
			if rec.Kind != ent.Kind || !json.Valid(rec.Original) {
				t.Fatalf("%s %s: kind %s, original valid %v", ent.Name, rec.Key, rec.Kind, json.Valid(rec.Original))
			}
		}
		if ent.Incremental && r.watermark != "2026-01-15T10:00:00Z" {
			t.Errorf("%s: watermark %q, want the server's time at the start", ent.Name, r.watermark)
		}
	}
}

func TestPOLineMapping(t *testing.T) {
	e := newEnv(t, 500)
	c := e.conn(nil)
	r := readAll(t, c, "purchase_orders", "", 0)
	byKey := keys(r.records)
	po := e.sim.pos[3]
	it := po.Items[len(po.Items)-1]
	key := po.ID + "/" + it.Item
	rec, ok := byKey[key]
	if !ok {
		t.Fatalf("no record %s", key)
	}
	l := rec.POLine
	want := erp.POLine{
		PONumber: po.ID, Line: it.Item, OrderDate: po.Date, SupplierID: e.sim.suppliers[po.Supplier].ID,
		Material: e.sim.products[it.Product].ID, MaterialGroup: it.Group, Description: it.Text,
		Unit: it.Unit, Currency: po.Currency, Site: it.Plant, Status: "active",
	}
	if it.DeletionCode == deletionCodeDeleted {
		want.Status = "deleted"
	} else if it.DeletionCode == deletionCodeBlocked {
		want.Status = "blocked"
	}
	got := *l
	got.Quantity, got.UnitPrice, got.Amount = decimal.Decimal{}, decimal.Decimal{}, decimal.Decimal{}
	if got != want {
		t.Errorf("mapped\n%+v\nwant\n%+v", got, want)
	}
	if !l.Quantity.Equal(it.Qty) || !l.UnitPrice.Equal(it.Price) || !l.Amount.Equal(it.Qty.Mul(it.Price).Round(2)) {
		t.Errorf("quantity %s price %s amount %s; sim %s × %s", l.Quantity, l.UnitPrice, l.Amount, it.Qty, it.Price)
	}
	if !rec.Modified.Equal(po.Modified.Truncate(time.Millisecond)) {
		t.Errorf("modified %s, want %s", rec.Modified, po.Modified)
	}
	var orig struct {
		Header map[string]any `json:"header"`
		Item   map[string]any `json:"item"`
	}
	if err := json.Unmarshal(rec.Original, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Header["PurchaseOrder"] != po.ID || orig.Item["PurchaseOrderItem"] != it.Item || orig.Header["to_PurchaseOrderItem"] != nil {
		t.Errorf("original %s", rec.Original)
	}

	// Deleted lines are flagged.
	for _, p := range e.sim.pos {
		for _, it := range p.Items {
			rec := byKey[p.ID+"/"+it.Item]
			if rec.Deleted != (it.DeletionCode == deletionCodeDeleted) {
				t.Fatalf("%s: deleted %v, deletion code %q", rec.Key, rec.Deleted, it.DeletionCode)
			}
		}
	}
}

func TestOtherMappings(t *testing.T) {
	e := newEnv(t, 500)
	c := e.conn(nil)

	sup := keys(readAll(t, c, "suppliers", "", 0).records)
	for _, s := range e.sim.suppliers {
		r := sup[s.ID]
		if r.Deleted != s.Deleted {
			t.Fatalf("supplier %s: deleted %v", s.ID, r.Deleted)
		}
		g := r.Supplier
		tax := s.VAT
		if tax == "" {
			tax = s.Tax1
		}
		if g.ID != s.ID || g.Name != s.Name || g.TaxID != tax || g.Blocked != (s.PostingBlocked || s.PurchBlocked) {
			t.Fatalf("supplier %s mapped to %+v", s.ID, g)
		}
		if s.VAT != "" && g.Country != s.Country {
			t.Fatalf("supplier %s: country %q from VAT %q, want %q", s.ID, g.Country, s.VAT, s.Country)
		}
	}

	mat := keys(readAll(t, c, "materials", "", 0).records)
	p := e.sim.products[7]
	m := mat[p.ID].Material
	if m == nil || m.Description != p.Desc || m.MaterialGroup != p.Group || m.BaseUnit != p.Unit || !m.NetWeight.Equal(p.NetWeight) {
		t.Errorf("material %s mapped to %+v", p.ID, m)
	}

	gl := keys(readAll(t, c, "gl_entries", "", 0).records)
	g := e.sim.gl[0]
	r := gl[g.key()]
	if r.GLEntry == nil {
		t.Fatalf("no gl entry %s", g.key())
	}
	ge := r.GLEntry
	if ge.DocumentID != g.CompanyCode+"-2025-"+g.Doc || ge.Line != g.Line || ge.Account != g.Account || !ge.Amount.Equal(g.Amount) ||
		ge.Currency != g.Currency || !ge.PostingDate.Equal(g.Posting) || ge.CostCenter != g.CostCenter || ge.Description != g.Text {
		t.Errorf("gl %s mapped to %+v; sim %+v", g.key(), ge, g)
	}
	if g.Qty.IsZero() == ge.Quantity.Valid || (ge.Quantity.Valid && (!ge.Quantity.Decimal.Equal(g.Qty) || ge.Unit != g.Unit)) {
		t.Errorf("gl quantity %+v %q; sim %s %q", ge.Quantity, ge.Unit, g.Qty, g.Unit)
	}
}

func TestIncremental(t *testing.T) {
	e := newEnv(t, 2000)
	c := e.conn(nil)
	full := readAll(t, c, "purchase_orders", "", 0)
	if full.watermark == "" {
		t.Fatal("no watermark")
	}

	// Nothing changed: nothing read, the watermark moves to the new start.
	e.clock.Advance(time.Minute)
	none := readAll(t, c, "purchase_orders", full.watermark, 0)
	if len(none.records) != 0 || none.watermark != "2026-01-15T10:01:00Z" {
		t.Fatalf("no change: %d records, watermark %q", len(none.records), none.watermark)
	}

	e.clock.Advance(time.Minute)
	e.sim.Mutate(6, 4)
	changed, deleted := e.sim.LastMutation()
	if len(changed) != 6 || len(deleted) != 4 {
		t.Fatalf("mutation %v %v", changed, deleted)
	}
	inc := readAll(t, c, "purchase_orders", none.watermark, 0)
	got := keys(inc.records)
	for _, k := range changed {
		if _, ok := got[k]; !ok {
			t.Errorf("changed %s not read", k)
		}
	}
	for _, k := range deleted {
		if r, ok := got[k]; !ok || !r.Deleted {
			t.Errorf("deleted %s: read %v, deleted %v", k, ok, r.Deleted)
		}
	}
	// The superset is exactly the lines of the changed orders.
	orders := map[string]bool{}
	for _, k := range append(changed, deleted...) {
		orders[strings.Split(k, "/")[0]] = true
	}
	want := 0
	for _, p := range e.sim.pos {
		if orders[p.ID] {
			want += len(p.Items)
		}
	}
	if len(inc.records) != want {
		t.Errorf("%d lines read, the changed orders have %d", len(inc.records), want)
	}
	for k := range got {
		if !orders[strings.Split(k, "/")[0]] {
			t.Errorf("unchanged line %s read", k)
		}
	}
	for _, k := range changed {
		var fresh decimal.Decimal
		po, item, _ := strings.Cut(k, "/")
		for _, p := range e.sim.pos {
			if p.ID == po {
				for _, it := range p.Items {
					if it.Item == item {
						fresh = it.Qty
					}
				}
			}
		}
		if !got[k].POLine.Quantity.Equal(fresh) {
			t.Errorf("%s: quantity %s, the simulator has %s", k, got[k].POLine.Quantity, fresh)
		}
	}
	if inc.watermark != "2026-01-15T10:02:00Z" {
		t.Errorf("watermark %q", inc.watermark)
	}
}

func TestPagingAndResume(t *testing.T) {
	e := newEnv(t, 1000)
	c := e.conn(nil)
	all := readAll(t, c, "suppliers", "", 0)
	small := readAll(t, c, "suppliers", "", 7)
	for i, p := range small.pages {
		if len(p.Records) > 7 {
			t.Fatalf("page %d has %d records", i, len(p.Records))
		}
	}
	if len(small.records) != len(all.records) || len(small.pages) != (len(all.records)+6)/7 {
		t.Fatalf("%d records in %d pages; want %d", len(small.records), len(small.pages), len(all.records))
	}

	// Purchase order pages count orders.
	po := readAll(t, c, "purchase_orders", "", 10)
	for i, p := range po.pages {
		orders := map[string]bool{}
		for _, r := range p.Records {
			orders[r.POLine.PONumber] = true
		}
		if len(orders) > 10 {
			t.Fatalf("page %d has lines of %d orders", i, len(orders))
		}
	}
	if want := (e.sim.PurchaseOrderCount() + 9) / 10; len(po.pages) != want {
		t.Errorf("%d pages, want %d", len(po.pages), want)
	}

	// Two pages with one connector, the rest with a new one (a new process).
	var recs []erp.Record
	cursor := ""
	for range 2 {
		p, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{Cursor: cursor, PageSize: 25})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, p.Records...)
		cursor = p.Next
	}
	c2 := e.conn(nil)
	for cursor != "" {
		p, err := c2.Fetch(context.Background(), "purchase_orders", erp.PageRequest{Cursor: cursor, PageSize: 25})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, p.Records...)
		cursor = p.Next
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Key] {
			t.Fatalf("duplicate %s after resuming", r.Key)
		}
		seen[r.Key] = true
	}
	if len(seen) != e.sim.Counts()["purchase_orders"] {
		t.Fatalf("%d lines after resuming, want %d", len(seen), e.sim.Counts()["purchase_orders"])
	}

	// A cursor of another entity is refused.
	p, err := c.Fetch(context.Background(), "materials", erp.PageRequest{PageSize: 5})
	if err != nil || p.Next == "" {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background(), "suppliers", erp.PageRequest{Cursor: "top=5&skip=5&next=" + e.srv.URL + PathProducts}); err == nil {
		t.Error("a materials link accepted as a suppliers cursor")
	}
}

func TestServerDrivenPaging(t *testing.T) {
	e := newEnv(t, 3000)
	c := e.conn(func(s *Settings) { s.ServerPaging = true })
	for _, name := range []string{"purchase_orders", "gl_entries"} {
		r := readAll(t, c, name, "", 0)
		if len(r.records) != e.sim.Counts()[name] {
			t.Errorf("%s: %d records, want %d", name, len(r.records), e.sim.Counts()[name])
		}
		if len(r.pages) < 2 {
			t.Errorf("%s: %d pages: __next not followed", name, len(r.pages))
		}
		if !strings.Contains(r.pages[0].Next, "skiptoken") {
			t.Errorf("%s: cursor %q is not the __next link", name, r.pages[0].Next)
		}
	}
}

func TestTokenExpiryMidRun(t *testing.T) {
	e := newEnv(t, 500)
	c := e.conn(nil)
	p, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireTokens()
	if _, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{Cursor: p.Next, PageSize: 10}); err != nil {
		t.Fatalf("after token expiry: %v", err)
	}
	// Tokens also expire by the clock.
	e.clock.Advance(13 * time.Hour)
	if _, err := c.Fetch(context.Background(), "suppliers", erp.PageRequest{PageSize: 10}); err != nil {
		t.Fatalf("after the token's lifetime: %v", err)
	}
}

func TestThrottleAndServerErrors(t *testing.T) {
	e := newEnv(t, 500)
	c := e.conn(nil)
	e.sim.Throttle(3, 7*time.Second)
	before := e.sim.Requests()
	if _, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{}); err != nil {
		t.Fatalf("429 storm: %v", err)
	}
	if !slices.Contains(e.sl.All(), 7*time.Second) {
		t.Errorf("Retry-After not honoured: waits %v", e.sl.All())
	}
	e.sim.FailNext(2, http.StatusServiceUnavailable)
	if _, err := c.Fetch(context.Background(), "suppliers", erp.PageRequest{}); err != nil {
		t.Fatalf("503: %v", err)
	}
	e.sim.FailNext(2, http.StatusInternalServerError)
	if _, err := c.Fetch(context.Background(), "materials", erp.PageRequest{}); err != nil {
		t.Fatalf("500: %v", err)
	}
	if got := e.sim.Requests() - before; got != 1+3+3 {
		t.Errorf("%d data requests, want 7", got)
	}
	// More failures than attempts: an error with the status.
	e.sim.FailNext(10, http.StatusServiceUnavailable)
	_, err := c.Fetch(context.Background(), "materials", erp.PageRequest{})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("persistent 503: %v", err)
	}
	e.sim.FailNext(0, 0)
}

func TestMalformedPage(t *testing.T) {
	e := newEnv(t, 500)
	c := e.conn(nil)
	p1, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.MalformNext(1)
	_, err = c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{Cursor: p1.Next, PageSize: 20})
	if err == nil || !strings.Contains(err.Error(), PathPurchaseOrders) {
		t.Fatalf("truncated page: %v", err)
	}
	p2, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{Cursor: p1.Next, PageSize: 20})
	if err != nil || len(p2.Records) == 0 {
		t.Fatalf("same cursor again: %v", err)
	}
}

func TestBadRecordsAreRejected(t *testing.T) {
	e := newEnv(t, 500)
	po := e.sim.pos[0]
	if len(po.Items) < 2 {
		t.Skip("first order has one item")
	}
	bad := po.ID + "/" + po.Items[0].Item
	for _, tc := range []struct{ key, field, reason string }{
		{bad, "DocumentCurrency", `po_line.currency "XXQ"`},
		{po.ID + "/" + po.Items[1].Item, "OrderQuantity", `OrderQuantity "12,5O"`},
	} {
		if err := e.sim.InjectBad(tc.key, tc.field); err != nil {
			t.Fatal(err)
		}
	}
	c := e.conn(nil)
	p, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rejected) != 2 {
		t.Fatalf("%d rejected: %+v", len(p.Rejected), p.Rejected)
	}
	if r := p.Rejected[0]; r.Key != bad || !strings.Contains(r.Reason, `po_line.currency "XXQ"`) || !strings.Contains(r.Reason, "DocumentCurrency") || !json.Valid(r.Raw) {
		t.Errorf("rejected %+v", r)
	}
	if r := p.Rejected[1]; !strings.Contains(r.Reason, `OrderQuantity "12,5O"`) {
		t.Errorf("rejected %+v", r)
	}
	lines := 0
	for _, o := range e.sim.pos[:5] {
		lines += len(o.Items)
	}
	if len(p.Records) != lines-2 {
		t.Errorf("%d records kept, want %d", len(p.Records), lines-2)
	}

	// A bad header refuses all the order's lines.
	o := e.sim.pos[1]
	if err := e.sim.InjectBad(o.ID+"/"+o.Items[0].Item, "PurchaseOrderDate"); err != nil {
		t.Fatal(err)
	}
	p, _ = c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{PageSize: 5})
	n := 0
	for _, r := range p.Rejected {
		if strings.HasPrefix(r.Key, o.ID+"/") && strings.Contains(r.Reason, "PurchaseOrderDate") {
			n++
		}
	}
	if n != len(o.Items) {
		t.Errorf("%d lines of the order with a bad date rejected, want %d", n, len(o.Items))
	}

	for _, tc := range []struct{ entity, key, field, reason string }{
		{"suppliers", e.sim.suppliers[2].ID, "SupplierName", "supplier.name"},
		{"materials", e.sim.products[0].ID, "NetWeight", `NetWeight "heavy"`},
		{"gl_entries", e.sim.gl[1].key(), "CompanyCodeCurrency", `gl_entry.currency "XXQ"`},
		{"gl_entries", e.sim.gl[2].key(), "PostingDate", "gl_entry.posting_date"},
	} {
		if err := e.sim.InjectBad(tc.key, tc.field); err != nil {
			t.Fatal(err)
		}
		p, err := c.Fetch(context.Background(), tc.entity, erp.PageRequest{PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range p.Rejected {
			found = found || (r.Key == tc.key && strings.Contains(r.Reason, tc.reason))
		}
		if !found || len(p.Records)+len(p.Rejected) != 10 {
			t.Errorf("%s %s: rejected %+v, %d kept", tc.entity, tc.key, p.Rejected, len(p.Records))
		}
	}
	if err := e.sim.InjectBad("nope", "x"); err == nil {
		t.Error("InjectBad of an unknown key")
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, 200)
	steps := e.conn(nil).Check(context.Background())
	names := []string{"parse settings", "fetch OAuth token", "read purchase_orders", "read suppliers", "read materials", "read gl_entries"}
	if len(steps) != len(names) {
		t.Fatalf("steps %+v", steps)
	}
	for i, s := range steps {
		if s.Name != names[i] || !s.OK {
			t.Errorf("step %d: %+v", i, s)
		}
	}
	if !strings.Contains(steps[2].Detail, "in total") {
		t.Errorf("detail %q", steps[2].Detail)
	}

	// A wrong secret: the token step fails with the vendor's message.
	cfg := e.config(nil)
	secret := "wrong-Secret-123"
	cfg.Credentials["client_secret"] = secret
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	steps = c.Check(context.Background())
	last := steps[len(steps)-1]
	if len(steps) != 2 || last.OK || last.Name != "fetch OAuth token" ||
		!strings.Contains(last.Detail, "401") || !strings.Contains(last.Detail, "Bad credentials") {
		t.Fatalf("steps %+v", steps)
	}
	_, ferr := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{})
	if ferr == nil {
		t.Fatal("fetch with a wrong secret succeeded")
	}
	for _, s := range append(steps, erp.Step{Detail: ferr.Error()}) {
		if strings.Contains(s.Detail, secret) || strings.Contains(s.Detail, e.sim.clientSecret) {
			t.Fatalf("a secret in %q", s.Detail)
		}
	}

	// Basic authentication.
	auth, creds, set := e.sim.BasicConnection()
	bcfg := erp.Config{Name: "sap-basic", BaseURL: e.srv.URL, AuthType: auth, Credentials: creds, Settings: set, HTTP: cfg.HTTP}
	bc, err := New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bc.Check(context.Background()) {
		if !s.OK {
			t.Errorf("basic: %+v", s)
		}
	}
	bcfg.Credentials = map[string]string{"user": creds["user"], "password": "Not-The-Password-9"}
	bc, _ = New(bcfg)
	steps = bc.Check(context.Background())
	last = steps[len(steps)-1]
	if last.OK || last.Name != "log on (basic)" || !strings.Contains(last.Detail, "Logon failed") || !strings.Contains(last.Detail, "401") {
		t.Fatalf("basic with a wrong password: %+v", steps)
	}
	for _, s := range steps {
		if strings.Contains(s.Detail, "Not-The-Password-9") {
			t.Fatalf("the password in %q", s.Detail)
		}
	}
}

func TestSimulatorRefusesLargeTop(t *testing.T) {
	e := newEnv(t, 50)
	c := e.conn(nil)
	tok, err := c.tokens.Token()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+PathSuppliers+"?$format=json&$top=5001", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var oe odataError
	if resp.StatusCode != http.StatusBadRequest || json.NewDecoder(resp.Body).Decode(&oe) != nil || !strings.Contains(oe.Error.Message.Value, "5000") {
		t.Fatalf("status %d, error %+v", resp.StatusCode, oe)
	}
}

func TestPostJournal(t *testing.T) {
	e := newEnv(t, 50)
	c := e.conn(nil)
	entry := erp.JournalEntry{
		CompanyCode: "1010", PostingDate: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), Reference: "GL-2025-Q4",
		Lines: []erp.JournalLine{
			{Account: "69900000", CostCenter: "10101101", Amount: decimal.RequireFromString("1250.40"), Currency: "EUR", Quantity: decimal.RequireFromString("15630.5"), Text: "CO2e Scope 1 Q4"},
			{Account: "29900000", Amount: decimal.RequireFromString("-1250.40"), Currency: "EUR", Text: "CO2e provision"},
		},
	}
	doc, err := c.PostJournal(context.Background(), entry)
	if err != nil {
		t.Fatal(err)
	}
	if doc != "1010-2025-5100000001" || e.sim.Journals() != 1 {
		t.Fatalf("document %q, %d posted", doc, e.sim.Journals())
	}

	// The session ends: the cached token is stale, 403 Required, a new one.
	e.sim.ExpireCSRF()
	doc, err = c.PostJournal(context.Background(), entry)
	if err != nil {
		t.Fatalf("after a stale CSRF token: %v", err)
	}
	if doc != "1010-2025-5100000002" || e.sim.Journals() != 2 {
		t.Fatalf("document %q, %d posted (want exactly one more)", doc, e.sim.Journals())
	}

	// Refused before sending: unbalanced.
	bad := entry
	bad.Lines = bad.Lines[:1]
	if _, err := c.PostJournal(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "balance") {
		t.Fatalf("unbalanced: %v", err)
	}
	// Refused by the system: an unknown company code, with its message.
	bad = entry
	bad.CompanyCode = "9999"
	_, err = c.PostJournal(context.Background(), bad)
	var re *requestError
	if !errors.As(err, &re) || re.Code != http.StatusBadRequest || !strings.Contains(err.Error(), "Company code 9999") {
		t.Fatalf("unknown company code: %v", err)
	}
	if e.sim.Journals() != 2 {
		t.Fatalf("%d posted", e.sim.Journals())
	}
}

func TestEdmDates(t *testing.T) {
	for in, want := range map[string]string{
		"/Date(1735689600000)/":      "2025-01-01T00:00:00Z",
		"/Date(1735689600123+0000)/": "2025-01-01T00:00:00.123Z",
		"/Date(1735689600000+0060)/": "2025-01-01T00:00:00Z",
		"/Date(-86400000)/":          "1969-12-31T00:00:00Z",
		"2025-03-01T10:00:00Z":       "2025-03-01T10:00:00Z",
	} {
		got, err := parseEdmDate(in)
		if err != nil || got.Format(time.RFC3339Nano) != want {
			t.Errorf("%s: %s, %v", in, got.Format(time.RFC3339Nano), err)
		}
	}
	for _, in := range []string{"/Date()/", "/Date(12x)/", "/Date(1+00)/", "yesterday", "/Date(99999999999999999)/"} {
		if _, err := parseEdmDate(in); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
	tm := time.Date(2025, 5, 6, 7, 8, 9, 500, time.UTC)
	if got, _ := parseEdmDate(formatEdmDateTimeOffset(tm)); !got.Equal(tm.Truncate(time.Millisecond)) {
		t.Errorf("round trip %s", got)
	}
	if got, err := parseDatetimeOffsetLiteral(datetimeOffsetLiteral(tm)); err != nil || !got.Equal(tm.Truncate(time.Second)) {
		t.Errorf("literal round trip %s %v", got, err)
	}
}

func FuzzParsePage(f *testing.F) {
	f.Add([]byte(`{"d":{"results":[{"PurchaseOrder":"4500000001","PurchaseOrderDate":"/Date(1735689600000)/","DocumentCurrency":"EUR","LastChangeDateTime":"/Date(1735689600000+0000)/","to_PurchaseOrderItem":{"results":[{"PurchaseOrderItem":"10","OrderQuantity":"5.000","NetPriceAmount":"2.50","NetPriceQuantity":"1"}]}}]}}`))
	f.Add([]byte(`{"d":[{"PurchaseOrder":"1","to_PurchaseOrderItem":{"results":[{"PurchaseOrderItem":"10","OrderQuantity":5,"NetPriceAmount":null}]}}]}`))
	f.Add([]byte(`{"d":{"results":[{"PurchaseOrder":"1","PurchaseOrderDate":"/Date(1+0000)/","DocumentCurrency":"XXQ","to_PurchaseOrderItem":{"results":[{"PurchaseOrderItem":"10","OrderQuantity":"1e9999999","NetPriceAmount":"1","PurchasingDocumentDeletionCode":"L"}]}}]}}`))
	f.Add([]byte(`{"d":{"results":[{"PurchaseOrder":"1"`))
	ents := entities(Settings{Language: "EN", Ledger: "0L"})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, e := range ents {
			_, out, err := parsePage(e, body)
			if err != nil {
				continue
			}
			for _, r := range out.records {
				if err := r.Validate(); err != nil {
					t.Fatalf("%s: accepted record %s does not validate: %v", e.name, r.Key, err)
				}
			}
		}
	})
}

func TestTolerantPath(t *testing.T) {
	ents := entities(Settings{Language: "EN", Ledger: "0L"})
	po := ents[0]
	body := []byte(`{"d":{"results":[
	 {"PurchaseOrder":"4500000001","PurchaseOrderDate":"/Date(1735689600000)/","DocumentCurrency":"EUR","LastChangeDateTime":"/Date(1735689600000+0000)/",
	  "to_PurchaseOrderItem":{"results":[
	    {"PurchaseOrderItem":"10","OrderQuantity":"5.000","NetPriceAmount":"2.50","NetPriceQuantity":"1"},
	    {"PurchaseOrderItem":"20","OrderQuantity":{"bad":1},"NetPriceAmount":"2.50"},
	    {"PurchaseOrderItem":"30","OrderQuantity":7,"NetPriceAmount":1.5}]}}]}}`)
	c, out, err := parsePage(po, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.N != 1 || len(out.records) != 2 || len(out.rejected) != 1 || out.rejected[0].Key != "4500000001/20" {
		t.Fatalf("n %d, records %d, rejected %+v", c.N, len(out.records), out.rejected)
	}
	if r := out.records[1].POLine; !r.Amount.Equal(decimal.RequireFromString("10.5")) {
		t.Errorf("bare numbers: amount %s", r.Amount)
	}
	var orig map[string]json.RawMessage
	if json.Unmarshal(out.records[0].Original, &orig) != nil || orig["header"] == nil || orig["item"] == nil {
		t.Errorf("original %s", out.records[0].Original)
	}
	// The older {"d":[…]} form.
	c, out, err = parsePage(ents[1], []byte(`{"d":[{"Supplier":"1","SupplierName":"A"},{"Supplier":"2","SupplierName":"B"}]}`))
	if err != nil || c.N != 2 || len(out.records) != 2 {
		t.Fatalf("d array: %v %d", err, c.N)
	}
	for _, bad := range []string{`{"d":{"results":[{"Supplier":"1"`, `<html>`, `{"error":{}}`, `{"d":{"x":1}}`} {
		if _, _, err := parsePage(ents[1], []byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
