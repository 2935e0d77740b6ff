package workday

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

var simNow = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

// sleeps records the waits the HTTP layer asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type env struct {
	sim    *Simulator
	srv    *httptest.Server
	sleeps *sleeps
}

func newEnv(t *testing.T, records int) *env {
	t.Helper()
	sim := NewSimulator(erp.SimOptions{Records: records, Seed: 42, Now: func() time.Time { return simNow }})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv, sleeps: &sleeps{}}
}

func (e *env) config(soap bool) erp.Config {
	auth, creds, settings := e.sim.Connection(e.srv.URL)
	if soap {
		auth, creds, settings = e.sim.SOAPConnection(e.srv.URL)
	}
	return erp.Config{Name: "wd-test", BaseURL: e.srv.URL, AuthType: auth, Credentials: creds, Settings: settings,
		HTTP: erphttp.Config{Sleep: e.sleeps.sleep, MinBackoff: time.Millisecond, RatePerSecond: -1}}
}

func (e *env) connector(t *testing.T, soap bool) *Connector {
	t.Helper()
	c, err := New(e.config(soap))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readAll pages through entity, returning records, rejections, the last
// watermark and the pages read.
func readAll(t *testing.T, c *Connector, entity, since string, size int) ([]erp.Record, []erp.Rejected, string, int) {
	t.Helper()
	var (
		recs  []erp.Record
		rejs  []erp.Rejected
		pages int
	)
	req := erp.PageRequest{Since: since, PageSize: size}
	for {
		p, err := c.Fetch(context.Background(), entity, req)
		if err != nil {
			t.Fatalf("%s page %d: %v", entity, pages+1, err)
		}
		pages++
		recs = append(recs, p.Records...)
		rejs = append(rejs, p.Rejected...)
		if p.Next == "" {
			return recs, rejs, p.Watermark, pages
		}
		if pages > 100000 {
			t.Fatal("paging does not end")
		}
		req.Cursor = p.Next
	}
}

func byKey(t *testing.T, recs []erp.Record) map[string]erp.Record {
	t.Helper()
	m := map[string]erp.Record{}
	for _, r := range recs {
		if _, dup := m[r.Key]; dup {
			t.Fatalf("duplicate key %s", r.Key)
		}
		m[r.Key] = r
	}
	return m
}

func TestFactory(t *testing.T) {
	f := Factory()
	if f.System != System || f.Title != "Workday" || f.NewSimulator == nil {
		t.Fatalf("factory %+v", f)
	}
	var sample erp.ConnectionSpec
	if err := json.Unmarshal([]byte(f.Sample), &sample); err != nil {
		t.Fatal(err)
	}
	if sample.System != System {
		t.Fatalf("sample system %q", sample.System)
	}
	if _, err := f.New(erp.Config{Name: sample.Name, BaseURL: sample.BaseURL, AuthType: sample.AuthType,
		Credentials: sample.Credentials, Settings: sample.Settings}); err != nil {
		t.Fatalf("the sample does not build a connector: %v", err)
	}
	if _, err := f.New(erp.Config{Name: "x", BaseURL: "https://h", Settings: json.RawMessage(`{"tenant":"t","tennant":"t"}`)}); err == nil {
		t.Fatal("unknown setting accepted")
	}
	if _, err := f.New(erp.Config{Name: "x", BaseURL: "https://h", Settings: json.RawMessage(`{"tenant":"t"}`)}); err == nil ||
		!strings.Contains(err.Error(), "client_id") {
		t.Fatalf("missing credential: %v", err)
	}
	var _ erp.Simulator = f.NewSimulator(erp.SimOptions{Records: 10})
}

func TestFullSync(t *testing.T) {
	e := newEnv(t, 600)
	c := e.connector(t, false)
	if got := len(c.Entities()); got != 4 {
		t.Fatalf("%d entities", got)
	}
	all := map[string]map[string]erp.Record{}
	for _, ent := range c.Entities() {
		recs, rejs, wm, _ := readAll(t, c, ent.Name, "", 0)
		if len(rejs) != 0 {
			t.Fatalf("%s: rejected %+v", ent.Name, rejs[0])
		}
		if want := e.sim.Count(ent.Name); len(recs) != want || want == 0 {
			t.Fatalf("%s: %d records, simulator has %d", ent.Name, len(recs), want)
		}
		for _, r := range recs {
			if err := r.Validate(); err != nil {
				t.Fatalf("%s %s: %v", ent.Name, r.Key, err)
			}
			if r.Kind != ent.Kind || len(r.Original) == 0 || !json.Valid(r.Original) {
				t.Fatalf("%s %s: kind %s, original %q", ent.Name, r.Key, r.Kind, r.Original)
			}
		}
		if wm != simNow.Format(time.RFC3339) {
			t.Fatalf("%s: watermark %q, want the server's start time", ent.Name, wm)
		}
		all[ent.Name] = byKey(t, recs)
	}

	// A purchase order line, field by field.
	po := e.sim.d.pos[3]
	l := po.Lines[len(po.Lines)-1]
	key := po.Number + "/" + decimal.NewFromInt(int64(l.LineNumber)).String()
	r, ok := all[EntityPurchaseOrders][key]
	if !ok {
		t.Fatalf("no record %s", key)
	}
	p := r.POLine
	want := erp.POLine{PONumber: po.Number, Line: p.Line, SupplierID: po.SupplierID, SupplierName: po.Supplier.Descriptor,
		Material: l.ItemIdentifier, MaterialGroup: l.PurchaseItemGroup.Descriptor, SpendCategory: l.SpendCategory.Descriptor,
		Description: l.ItemDescription, Unit: l.UnitOfMeasure.Descriptor, Currency: l.ExtendedAmount.Currency,
		Site: l.ShipTo.Descriptor, Status: l.Status.Descriptor}
	for _, f := range [][3]string{
		{"po_number", p.PONumber, want.PONumber}, {"supplier_id", p.SupplierID, want.SupplierID},
		{"supplier_name", p.SupplierName, want.SupplierName}, {"material", p.Material, want.Material},
		{"material_group", p.MaterialGroup, want.MaterialGroup}, {"spend_category", p.SpendCategory, want.SpendCategory},
		{"description", p.Description, want.Description}, {"unit", p.Unit, want.Unit}, {"currency", p.Currency, want.Currency},
		{"site", p.Site, want.Site}, {"status", p.Status, want.Status},
		{"quantity", p.Quantity.String(), string(l.Quantity)}, {"amount", p.Amount.StringFixed(2), string(l.ExtendedAmount.Value)},
		{"unit_price", p.UnitPrice.StringFixed(2), string(l.UnitCost.Value)},
		{"order_date", p.OrderDate.Format(time.DateOnly), po.OrderDate},
		{"modified", r.Modified.Format("2006-01-02T15:04:05.000Z"), po.LastUpdated},
	} {
		if f[1] != f[2] || f[1] == "" {
			t.Errorf("%s %s = %q, want %q", key, f[0], f[1], f[2])
		}
	}
	if r.Deleted {
		t.Errorf("%s deleted", key)
	}
	var orig struct {
		Header map[string]any `json:"header"`
		Item   map[string]any `json:"item"`
	}
	if err := json.Unmarshal(r.Original, &orig); err != nil || orig.Header["number"] != po.Number || orig.Item["id"] != l.ID || orig.Header["lines"] != nil {
		t.Errorf("original %s: %v", r.Original, err)
	}

	// A supplier.
	sup := e.sim.d.suppliers[2]
	s := all[EntitySuppliers][sup.SupplierID].Supplier
	if s == nil || s.Name != sup.Descriptor || s.TaxID != sup.TaxID || s.Country != sup.Country.Alpha2Code ||
		s.NAICS != sup.Industry.NAICSCode || s.DUNS != sup.DUNSNumber || s.Blocked != (sup.SupplierStatus.Descriptor != "Active") {
		t.Errorf("supplier %s mapped to %+v from %+v", sup.SupplierID, s, sup)
	}

	// Expense lines: airfare with airports and class, hotel with nights,
	// mileage with distance.
	seen := map[string]bool{}
	for _, rep := range e.sim.d.reports {
		for _, l := range rep.Lines {
			k := rep.ReportNumber + "/" + decimal.NewFromInt(int64(l.LineNumber)).String()
			x := all[EntityExpenseReports][k].Expense
			if x == nil {
				t.Fatalf("no expense line %s", k)
			}
			if x.Amount.StringFixed(2) != string(l.TotalAmount.Value) || x.Currency != l.TotalAmount.Currency ||
				x.Date.Format(time.DateOnly) != l.Date || x.Employee != rep.Payee.Descriptor {
				t.Fatalf("expense %s mapped to %+v from %+v", k, x, l)
			}
			switch l.ExpenseItem.Descriptor {
			case "Airfare":
				if x.ExpenseType != "AIRFARE" || x.Origin != l.ItemDetails[0].Value || x.Destination != l.ItemDetails[1].Value ||
					x.TravelClass != l.ItemDetails[2].Value || len(x.Origin) != 3 {
					t.Fatalf("airfare %s: %+v", k, x)
				}
			case "Hotel":
				if x.ExpenseType != "HOTEL" || x.Unit != "night" || x.Quantity.Decimal.String() != string(l.Quantity) {
					t.Fatalf("hotel %s: %+v", k, x)
				}
			case "Mileage":
				if x.ExpenseType != "MILEAGE" || (x.Unit != "km" && x.Unit != "mi") || !x.Quantity.Valid {
					t.Fatalf("mileage %s: %+v", k, x)
				}
			case "Car Rental":
				if x.ExpenseType != "CAR_RENTAL" {
					t.Fatalf("car rental %s: %+v", k, x)
				}
			}
			seen[l.ExpenseItem.Descriptor] = true
		}
	}
	if len(seen) < 6 {
		t.Errorf("expense items seen: %v", seen)
	}

	// A worker.
	wi := e.sim.activeIdx[1]
	w := e.sim.d.workers[wi]
	if got := all[EntityWorkers][w.WorkerID].Worker; got == nil || got.Name != w.Descriptor || got.Location != w.Location.Descriptor || !got.Active {
		t.Errorf("worker %s mapped to %+v", w.WorkerID, got)
	}
}

func TestIncremental(t *testing.T) {
	e := newEnv(t, 900)
	c := e.connector(t, false)
	_, _, wm, _ := readAll(t, c, EntityPurchaseOrders, "", 0)
	changed, deleted := e.sim.MutateKeys(6, 4)
	if len(changed) != 6 || len(deleted) != 4 {
		t.Fatalf("mutated %v %v", changed, deleted)
	}
	recs, _, wm2, _ := readAll(t, c, EntityPurchaseOrders, wm, 0)
	got := byKey(t, recs)
	// A superset: every line of the orders touched.
	touched := map[string]bool{}
	for _, k := range append(append([]string{}, changed...), deleted...) {
		touched[strings.Split(k, "/")[0]] = true
	}
	for k, r := range got {
		if !touched[r.POLine.PONumber] {
			t.Errorf("incremental read returned %s of an untouched order", k)
		}
		if r.Modified.Before(simNow) {
			t.Errorf("%s modified %s, before the watermark", k, r.Modified)
		}
	}
	for _, k := range changed {
		r, ok := got[k]
		if !ok || r.Deleted {
			t.Fatalf("changed %s: %+v present %v", k, r, ok)
		}
		doc, line, _ := strings.Cut(k, "/")
		l := e.sim.d.pos[e.sim.poByNumber[doc]].Lines[atoi(line)-1]
		if r.POLine.Quantity.String() != string(l.Quantity) || r.POLine.Amount.StringFixed(2) != string(l.ExtendedAmount.Value) {
			t.Errorf("changed %s: quantity %s amount %s, simulator %s %s", k, r.POLine.Quantity, r.POLine.Amount, l.Quantity, l.ExtendedAmount.Value)
		}
	}
	for _, k := range deleted {
		if r, ok := got[k]; !ok || !r.Deleted {
			t.Fatalf("deleted %s: %+v present %v", k, r, ok)
		}
	}
	if wm2 == "" {
		t.Fatal("no watermark")
	}
	// Nothing changed since: an empty read keeps the watermark.
	e.sim.now = func() time.Time { return simNow.Add(time.Hour) }
	_, _, wm3, _ := readAll(t, c, EntityPurchaseOrders, simNow.Add(time.Minute).Format(time.RFC3339), 0)
	if wm3 != simNow.Add(time.Minute).Format(time.RFC3339) {
		t.Fatalf("empty incremental read moved the watermark to %q", wm3)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestPagingAndResume(t *testing.T) {
	e := newEnv(t, 300)
	c := e.connector(t, false)
	full, _, _, _ := readAll(t, c, EntityPurchaseOrders, "", 0)
	req := erp.PageRequest{PageSize: 7}
	var got []erp.Record
	for range 3 {
		p, err := c.Fetch(context.Background(), EntityPurchaseOrders, req)
		if err != nil {
			t.Fatal(err)
		}
		docs := map[string]bool{}
		for _, r := range p.Records {
			docs[r.POLine.PONumber] = true
		}
		if len(docs) != 7 || p.Next == "" || p.Watermark != "" {
			t.Fatalf("page of %d orders, next %q, watermark %q", len(docs), p.Next, p.Watermark)
		}
		got = append(got, p.Records...)
		req.Cursor = p.Next
	}
	// A new process resumes from the cursor.
	c2 := e.connector(t, false)
	for {
		p, err := c2.Fetch(context.Background(), EntityPurchaseOrders, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Records...)
		if p.Next == "" {
			break
		}
		req.Cursor = p.Next
	}
	m := byKey(t, got)
	if len(m) != len(full) {
		t.Fatalf("resumed read has %d records, full read %d", len(m), len(full))
	}
	for _, r := range full {
		if _, ok := m[r.Key]; !ok {
			t.Fatalf("gap: %s missing", r.Key)
		}
	}
	// Page sizes above Workday's maximum are capped at 100.
	p, err := c.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{PageSize: 1000})
	if err != nil || len(p.Records) == 0 || len(p.Records) > MaxLimit {
		t.Fatalf("page of %d: %v", len(p.Records), err)
	}
}

func TestTokenExpiryAndRotation(t *testing.T) {
	e := newEnv(t, 300)
	c := e.connector(t, false)
	p, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireTokens()
	if _, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 10, Cursor: p.Next}); err != nil {
		t.Fatalf("after token expiry: %v", err)
	}
	// Rotation: the connector keeps the new refresh token.
	e.sim.RotateRefreshTokens(true)
	e.sim.ExpireTokens()
	first := c.RefreshToken()
	if _, err := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 5}); err != nil {
		t.Fatal(err)
	}
	rotated := c.RefreshToken()
	if rotated == first || rotated == "" {
		t.Fatalf("refresh token not rotated: %q", rotated)
	}
	e.sim.ExpireTokens()
	if _, err := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 5}); err != nil {
		t.Fatalf("second rotation: %v", err)
	}
	// The first refresh token is spent.
	c2 := e.connector(t, false)
	_, err = c2.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 5})
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("spent refresh token: %v", err)
	}
}

func TestRotatedRefreshTokenSaved(t *testing.T) {
	e := newEnv(t, 50)
	e.sim.RotateRefreshTokens(true)
	var saved []map[string]string
	cfg := e.config(false)
	cfg.SaveCredentials = func(_ context.Context, changes map[string]string) error {
		saved = append(saved, changes)
		return nil
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 5}); err != nil {
		t.Fatal(err)
	}
	if len(saved) != 1 || saved[0]["refresh_token"] != c.RefreshToken() || len(saved[0]) != 1 {
		t.Fatalf("saved %v, connector holds %q", saved, c.RefreshToken())
	}
	// A connector built from the saved token signs in; the original is spent.
	cfg = e.config(false)
	cfg.Credentials["refresh_token"] = saved[0]["refresh_token"]
	c2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 5}); err != nil {
		t.Fatalf("from the saved token: %v", err)
	}
	// Without rotation nothing is saved.
	e.sim.RotateRefreshTokens(false)
	cfg.Credentials["refresh_token"] = c2.RefreshToken()
	cfg.SaveCredentials = func(context.Context, map[string]string) error { t.Error("saved without rotation"); return nil }
	c3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c3.Fetch(context.Background(), EntityWorkers, erp.PageRequest{PageSize: 5}); err != nil {
		t.Fatal(err)
	}
}

func TestThrottleAndServerErrors(t *testing.T) {
	e := newEnv(t, 300)
	c := e.connector(t, false)
	if _, err := c.Fetch(context.Background(), EntityWorkers, erp.PageRequest{}); err != nil {
		t.Fatal(err)
	}
	e.sim.Throttle(3, 2*time.Second)
	before := e.sim.Requests()
	if _, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{}); err != nil {
		t.Fatalf("after 429s: %v", err)
	}
	n := 0
	for _, d := range e.sleeps.all() {
		if d == 2*time.Second {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("Retry-After honoured %d times, sleeps %v", n, e.sleeps.all())
	}
	if got := e.sim.Requests() - before; got != 1 {
		t.Fatalf("%d data requests served", got)
	}
	for _, status := range []int{503, 500, 502} {
		e.sim.FailNext(2, status)
		before := e.sim.Requests()
		if _, err := c.Fetch(context.Background(), EntityExpenseReports, erp.PageRequest{}); err != nil {
			t.Fatalf("after %d: %v", status, err)
		}
		if got := e.sim.Requests() - before; got != 3 {
			t.Fatalf("%d: %d requests", status, got)
		}
	}
	// Retries exhausted: the error names the path and status.
	e.sim.FailNext(4, 503)
	cfg := e.config(false)
	cfg.HTTP.MaxAttempts = 2
	c3, _ := New(cfg)
	_, err := c3.Fetch(context.Background(), EntitySuppliers, erp.PageRequest{})
	if err == nil || !strings.Contains(err.Error(), "/suppliers") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("exhausted: %v", err)
	}
}

func TestMalformedPage(t *testing.T) {
	e := newEnv(t, 300)
	c := e.connector(t, false)
	p, err := c.Fetch(context.Background(), EntityPurchaseOrders, erp.PageRequest{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	req := erp.PageRequest{PageSize: 5, Cursor: p.Next}
	e.sim.MalformNext(1)
	_, err = c.Fetch(context.Background(), EntityPurchaseOrders, req)
	if err == nil || !strings.Contains(err.Error(), "/ccx/api/procurement/v5/gms/purchaseOrders") || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("malformed page: %v", err)
	}
	p2, err := c.Fetch(context.Background(), EntityPurchaseOrders, req)
	if err != nil || len(p2.Records) == 0 {
		t.Fatalf("same cursor again: %v", err)
	}
}

func TestBadRecords(t *testing.T) {
	e := newEnv(t, 300)
	po := e.sim.d.pos[1]
	if len(po.Lines) < 2 {
		po = e.sim.d.pos[0]
	}
	badCur := po.Number + "/1"
	rep := e.sim.d.reports[0]
	badDate := rep.ReportNumber + "/1"
	for _, x := range [][2]string{{badCur, "currency"}, {e.sim.d.pos[2].Number + "/1", "quantity"}, {badDate, "date"},
		{e.sim.d.suppliers[0].SupplierID, "supplierId"}} {
		if err := e.sim.InjectBad(x[0], x[1]); err != nil {
			t.Fatal(err)
		}
	}
	if e.sim.InjectBad("nope", "currency") == nil {
		t.Fatal("bad key accepted")
	}
	c := e.connector(t, false)
	cases := []struct {
		entity, key, field string
		lines              int
	}{
		{EntityPurchaseOrders, badCur, "currency", 0},
		{EntityPurchaseOrders, e.sim.d.pos[2].Number + "/1", "quantity", 0},
		{EntityExpenseReports, badDate, "date", 0},
		{EntitySuppliers, e.sim.d.suppliers[0].ID, "supplierId", 0},
	}
	pos, prej, _, _ := readAll(t, c, EntityPurchaseOrders, "", 0)
	exps, erej, _, _ := readAll(t, c, EntityExpenseReports, "", 0)
	sups, srej, _, _ := readAll(t, c, EntitySuppliers, "", 0)
	rejected := map[string]erp.Rejected{}
	for _, r := range append(append(prej, erej...), srej...) {
		rejected[r.Key] = r
	}
	for _, tc := range cases {
		r, ok := rejected[tc.key]
		if !ok {
			t.Fatalf("%s not rejected (rejected: %v)", tc.key, rejected)
		}
		if !strings.Contains(r.Reason, tc.field) || !json.Valid(r.Raw) {
			t.Errorf("%s: reason %q, raw %s", tc.key, r.Reason, r.Raw)
		}
	}
	if !strings.Contains(rejected[badCur].Reason, "XXQ") {
		t.Errorf("reason %q does not name the value", rejected[badCur].Reason)
	}
	if len(pos)+len(prej) != e.sim.Count(EntityPurchaseOrders) || len(prej) != 2 {
		t.Errorf("PO lines: %d kept + %d rejected of %d", len(pos), len(prej), e.sim.Count(EntityPurchaseOrders))
	}
	if len(exps)+len(erej) != e.sim.Count(EntityExpenseReports) || len(sups) != e.sim.Count(EntitySuppliers)-1 {
		t.Errorf("expense %d+%d, suppliers %d", len(exps), len(erej), len(sups))
	}
	// The other lines of the spoilt order are kept.
	kept := byKey(t, pos)
	if len(po.Lines) > 1 {
		if _, ok := kept[po.Number+"/2"]; !ok {
			t.Errorf("%s/2 lost with its bad sibling", po.Number)
		}
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, 200)
	c := e.connector(t, false)
	steps := c.Check(context.Background())
	if len(steps) != 6 {
		t.Fatalf("steps %+v", steps)
	}
	for _, s := range steps {
		if !s.OK {
			t.Fatalf("step %+v", s)
		}
	}
	for _, tc := range []struct{ cred, value, want string }{
		{"client_secret", "wrong-secret-123", "invalid_client"},
		{"refresh_token", "wrong-refresh-456", "invalid_grant"},
	} {
		cfg := e.config(false)
		cfg.Credentials = map[string]string{"client_id": cfg.Credentials["client_id"],
			"client_secret": cfg.Credentials["client_secret"], "refresh_token": cfg.Credentials["refresh_token"]}
		cfg.Credentials[tc.cred] = tc.value
		bad, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		steps := bad.Check(context.Background())
		last := steps[len(steps)-1]
		if len(steps) != 2 || last.OK || !strings.Contains(last.Name, "OAuth") || !strings.Contains(last.Detail, tc.want) {
			t.Fatalf("%s: steps %+v", tc.cred, steps)
		}
		for _, s := range steps {
			for _, secret := range cfg.Credentials {
				if strings.Contains(s.Detail, secret) {
					t.Fatalf("step %q leaks a credential: %s", s.Name, s.Detail)
				}
			}
		}
		_, err = bad.Fetch(context.Background(), EntityWorkers, erp.PageRequest{})
		if err == nil || strings.Contains(err.Error(), tc.value) || strings.Contains(err.Error(), cfg.Credentials["client_secret"]) {
			t.Fatalf("fetch error %v", err)
		}
	}
}
