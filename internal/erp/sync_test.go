package erp_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/spreadsheet"
	"github.com/greenlang/greenlang/internal/secretbox"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

func keyring(t testing.TB) *secretbox.Keyring {
	k, err := secretbox.NewKeyring("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// engines runs fn on SQLite always and on PostgreSQL when
// GREENLANG_TEST_POSTGRES_URL is set.
func engines(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		reg := store.NewRegistry()
		sqlitestore.Register(reg)
		s, err := reg.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "greenlang.db"), store.Options{Keys: keyring(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, pgtest.Open(t, pgtest.New(t, "greenlang_erp"), store.Options{Keys: keyring(t)}))
	})
}

const mappingYAML = `
purchase_orders:
  material_groups:
    DIESEL: {activity_type: distillate_fuel_oil_no_2, basis: quantity, scope: 1, method: stationary_combustion, data_quality: 2}
  default_naics: "331110"
units:
  LTR: L
sites:
  "1000": HOU
exchange_rates:
  - {year: 2025, from: EUR, to: USD, rate: 1.08}
price_index:
  currency: USD
  name: GDP price deflator
  by_year: {2021: 100, 2025: 112.5}
`

const poHeader = "PO Number,Item,Order Date,Material Group,Text,Qty,UoM,Net Value,Currency,Plant,Deleted\n"

type fixture struct {
	st   *store.Store
	org  uuid.UUID
	dir  string
	sync *erp.Syncer
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	o := &store.Organization{Name: "Acme", Slug: "acme"}
	if err := st.OrganizationCreate(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := st.Sites().Create(ctx, o.ID, &store.Site{Name: "Houston plant", Code: "HOU", Country: "US"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	settings, _ := json.Marshal(spreadsheet.Settings{Entities: map[string]spreadsheet.EntityConfig{
		"purchase_orders": {Kind: erp.KindPOLine, Files: "po-*.csv", Columns: map[string]string{
			"po_number": "PO Number", "line": "Item", "order_date": "Order Date", "material_group": "Material Group",
			"description": "Text", "quantity": "Qty", "unit": "UoM", "amount": "Net Value", "currency": "Currency",
			"site": "Plant", "deleted": "Deleted"}},
	}})
	c := &store.ERPConnection{Name: "uploads", System: "spreadsheet", BaseURL: dir, AuthType: "none", Settings: settings, Active: true}
	if err := st.ERPConnections().Create(ctx, o.ID, c); err != nil {
		t.Fatal(err)
	}
	m, err := erp.ParseMapping([]byte(mappingYAML))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if _, err := st.PutActivityMapping(ctx, o.ID, b, "test"); err != nil {
		t.Fatal(err)
	}
	calc, err := calculation.NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	reg := erp.NewRegistry(spreadsheet.Factory())
	return &fixture{st: st, org: o.ID, dir: dir, sync: erp.NewSyncer(st, reg, erp.NewPoster(st, calc, nil), nil)}
}

// write writes a file and sets its modification time, so incremental
// syncs see files in a known order.
func (f *fixture) write(t *testing.T, name, content string, mod time.Time) {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// netByType sums the activity records' quantities by activity type.
func (f *fixture) netByType(t *testing.T) map[string]string {
	t.Helper()
	sums := map[string]decimal.Decimal{}
	err := f.st.ActivityRecords().Each(context.Background(), f.org, func(a *store.ActivityRecord) error {
		if a.Origin != "erp" && !strings.HasPrefix(a.OriginRef, "erp:") {
			return nil
		}
		sums[a.ActivityType+" "+a.Unit] = sums[a.ActivityType+" "+a.Unit].Add(a.Quantity)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range sums {
		out[k] = v.String()
	}
	return out
}

func (f *fixture) run(t *testing.T, o erp.SyncOptions) erp.SyncReport {
	t.Helper()
	rep, err := f.sync.Sync(context.Background(), f.org, "uploads", o)
	if err != nil {
		t.Fatalf("sync: %v (report %+v)", err, rep)
	}
	return rep
}

func TestSyncSpreadsheet(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		f.write(t, "po-1.csv", poHeader+
			"4500000001,10,2025-02-03,DIESEL,Diesel delivery,1000,LTR,1500.00,EUR,1000,\n"+
			"4500000001,20,2025-02-03,STEEL,Steel coil,2,TO,2000.00,EUR,1000,\n"+
			"4500000002,10,2025-02-10,STEEL,Bad amount,1,TO,12O0,EUR,1000,\n"+ // a letter O
			"4500000003,10,2025-02-11,STEEL,Bad currency,1,TO,100,XXQ,1000,\n"+
			"4500000004,10,2025-02-12,PAPER,Copy paper,10,PAK,50,EUR,9999,\n", t0)

		rep := f.run(t, erp.SyncOptions{})
		j := rep.Jobs[0]
		if j.Status != "succeeded" || j.Read != 5 || j.Written != 3 || j.Quarantined != 2 || j.Mode != "incremental" {
			t.Fatalf("first sync: %+v", j)
		}
		errs, err := st.SyncErrors(ctx, f.org, j.JobID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) != 2 {
			t.Fatalf("quarantine: %+v", errs)
		}
		reasons := errs[0].Reason + " | " + errs[1].Reason
		for _, want := range []string{`po-1.csv line 4: amount "12O0": is not a number`, `po-1.csv line 5: po_line.currency "XXQ": is not an ISO 4217 currency code`} {
			if !strings.Contains(reasons, want) {
				t.Errorf("quarantine reasons %q lack %q", reasons, want)
			}
		}
		if rep.Posting.Posted != 3 || rep.Posting.Activities != 3 || rep.Posting.MappingVersion != 1 {
			t.Fatalf("posting: %+v", rep.Posting)
		}
		want := map[string]string{"distillate_fuel_oil_no_2 L": "1000", "naics:331110 EUR": "2050"}
		if got := f.netByType(t); !equalMaps(got, want) {
			t.Fatalf("activities after the first sync: %v, want %v", got, want)
		}

		// Nothing changed: an incremental sync reads nothing, a full one
		// reads everything and writes nothing.
		rep = f.run(t, erp.SyncOptions{})
		if j := rep.Jobs[0]; j.Read != 0 || j.Written != 0 {
			t.Fatalf("second incremental sync: %+v", j)
		}
		rep = f.run(t, erp.SyncOptions{Full: true})
		if j := rep.Jobs[0]; j.Mode != "full" || j.Read != 5 || j.Written != 0 || j.Unchanged != 3 || rep.Posting.Activities != 0 {
			t.Fatalf("full resync: %+v %+v", j, rep.Posting)
		}

		// A change and a deletion: each reverses what the record counted.
		f.write(t, "po-2.csv", poHeader+
			"4500000001,10,2025-02-03,DIESEL,Diesel delivery,1200,LTR,1800.00,EUR,1000,\n"+
			"4500000004,10,2025-02-12,PAPER,,,,,EUR,,x\n", t0.Add(time.Hour))
		rep = f.run(t, erp.SyncOptions{})
		if j := rep.Jobs[0]; j.Read != 2 || j.Written != 2 {
			t.Fatalf("sync of the changes: %+v", j)
		}
		if p := rep.Posting; p.Reversed != 2 || p.Posted != 1 || p.Activities != 3 {
			t.Fatalf("posting of the changes: %+v", p)
		}
		want = map[string]string{"distillate_fuel_oil_no_2 L": "1200", "naics:331110 EUR": "2000"}
		if got := f.netByType(t); !equalMaps(got, want) {
			t.Fatalf("activities after the changes: %v, want %v", got, want)
		}
		conn, err := st.ERPConnectionByName(ctx, f.org, "uploads")
		if err != nil {
			t.Fatal(err)
		}
		r, err := st.ERPRecordGet(ctx, f.org, conn.ID, string(erp.KindPOLine), "4500000004/10")
		if err != nil || !r.Deleted || r.State != store.ERPSkipped {
			t.Fatalf("deleted record: %+v %v", r, err)
		}
		r, err = st.ERPRecordGet(ctx, f.org, conn.ID, string(erp.KindPOLine), "4500000001/10")
		if err != nil || r.State != store.ERPPosted || !strings.Contains(string(r.Original), `1200`) {
			t.Fatalf("changed record: %+v %v", r, err)
		}
	})
}

// A sync that stops part-way resumes at the first page it did not store,
// and nothing is lost or counted twice.
func TestSyncResumesAfterFailure(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		f.write(t, "po-1.csv", poHeader+"4500000001,10,2025-02-03,DIESEL,Diesel,100,LTR,150,EUR,1000,\n", t0)
		// The second file lacks a mapped column: the page cannot be read.
		f.write(t, "po-2.csv", "PO Number,Item\n4500000002,10\n", t0.Add(time.Minute))
		f.write(t, "po-3.csv", poHeader+"4500000003,10,2025-02-05,DIESEL,Diesel,300,LTR,450,EUR,1000,\n", t0.Add(2*time.Minute))

		rep, err := f.sync.Sync(ctx, f.org, "uploads", erp.SyncOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j := rep.Jobs[0]
		if j.Status != "failed" || !strings.Contains(j.Error, `po-2.csv: no column "Order Date" (mapped to order_date)`) || j.Pages != 1 || j.Written != 1 {
			t.Fatalf("failed sync: %+v", j)
		}
		if got := f.netByType(t); got["distillate_fuel_oil_no_2 L"] != "100" {
			t.Fatalf("the first page's record should be posted: %v", got)
		}

		f.write(t, "po-2.csv", poHeader+"4500000002,10,2025-02-04,DIESEL,Diesel,200,LTR,300,EUR,1000,\n", t0.Add(time.Minute))
		rep = f.run(t, erp.SyncOptions{})
		j2 := rep.Jobs[0]
		if j2.Status != "succeeded" || !j2.Resumed || j2.Read != 2 || j2.Written != 2 {
			t.Fatalf("resumed sync: %+v", j2)
		}
		if got := f.netByType(t); got["distillate_fuel_oil_no_2 L"] != "600" {
			t.Fatalf("after resuming: %v, want 600 L", got)
		}
		jobs, err := st.SyncJobsOf(ctx, f.org, uuid.Nil, 10)
		if err != nil || len(jobs) != 2 || jobs[1].Status != "failed" || jobs[0].Status != "succeeded" {
			t.Fatalf("jobs: %v %v", jobs, err)
		}
	})
}

// A posting interrupted after storing activities but before marking its
// records is completed by the next one without storing anything twice.
func TestPostingIsIdempotent(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		f.write(t, "po-1.csv", poHeader+"4500000001,10,2025-02-03,DIESEL,Diesel,100,LTR,150,EUR,1000,\n", time.Now().Add(-time.Hour))
		if _, err := f.sync.Sync(ctx, f.org, "uploads", erp.SyncOptions{NoPost: true}); err != nil {
			t.Fatal(err)
		}
		conn, err := st.ERPConnectionByName(ctx, f.org, "uploads")
		if err != nil {
			t.Fatal(err)
		}
		pending, err := st.ERPRecordsPending(ctx, f.org, conn.ID, 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending: %v %v", pending, err)
		}
		calc, _ := calculation.NewBuiltin()
		p := erp.NewPoster(st, calc, nil)
		if rep, err := p.Post(ctx, f.org, conn); err != nil || rep.Activities != 1 {
			t.Fatalf("first posting: %+v %v", rep, err)
		}
		// Simulate the crash: the activity is stored, the record still
		// pending with the posting's intent.
		posted, err := st.ERPRecordGet(ctx, f.org, conn.ID, pending[0].Kind, pending[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Ref string }
		if err := json.Unmarshal(posted.Posting, &doc); err != nil || doc.Ref == "" {
			t.Fatalf("posting %s: %v", posted.Posting, err)
		}
		intent, _ := json.Marshal(map[string][]string{"intent": {doc.Ref}})
		if _, err := st.SetERPPostings(ctx, f.org, conn.ID, []store.ERPPosting{{Kind: pending[0].Kind, Key: pending[0].Key,
			ContentHash: pending[0].ContentHash, State: store.ERPPending, Posting: intent}}); err != nil {
			t.Fatal(err)
		}
		rep, err := p.Post(ctx, f.org, conn)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Activities != 0 || rep.Posted != 1 {
			t.Fatalf("second posting stored again: %+v", rep)
		}
		if got := f.netByType(t); got["distillate_fuel_oil_no_2 L"] != "100" {
			t.Fatalf("activities: %v", got)
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// memConnector serves fixed pages: the engine's own behaviour (document
// tombstones) tested apart from any vendor.
type memConnector struct{ pages [][]erp.Record }

func (m *memConnector) Entities() []erp.Entity {
	return []erp.Entity{{Name: "purchase_orders", Kind: erp.KindPOLine, Incremental: true}}
}
func (m *memConnector) Check(context.Context) []erp.Step { return nil }
func (m *memConnector) Fetch(_ context.Context, _ string, req erp.PageRequest) (erp.Page, error) {
	i := 0
	if req.Cursor != "" {
		i = int(req.Cursor[0] - '0')
	}
	p := erp.Page{Records: m.pages[i]}
	if i+1 < len(m.pages) {
		p.Next = string(rune('0' + i + 1))
	} else {
		p.Watermark = "w"
	}
	return p, nil
}

// A purchase order reported deleted as a whole deletes each of its lines.
func TestDocumentTombstone(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		line := func(po, ln, qty string) erp.Record {
			return erp.Record{Kind: erp.KindPOLine, Key: po + "/" + ln, POLine: &erp.POLine{PONumber: po, Line: ln,
				OrderDate: time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC), MaterialGroup: "DIESEL", Quantity: decimal.RequireFromString(qty),
				Unit: "L", Amount: decimal.NewFromInt(1), Currency: "EUR", Site: "1000"}}
		}
		mem := &memConnector{pages: [][]erp.Record{{line("A_1", "10", "100"), line("A_1", "20", "20")}, {line("A%1", "10", "3")}}}
		calc, _ := calculation.NewBuiltin()
		reg := erp.NewRegistry(erp.Factory{System: "netsuite", New: func(erp.Config) (erp.Connector, error) { return mem, nil }})
		s := erp.NewSyncer(st, reg, erp.NewPoster(st, calc, nil), nil)
		if err := st.ERPConnections().Create(ctx, f.org, &store.ERPConnection{Name: "ns", System: "netsuite", Active: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sync(ctx, f.org, "ns", erp.SyncOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := f.netByType(t); got["distillate_fuel_oil_no_2 L"] != "123" {
			t.Fatalf("before: %v", got)
		}
		// The tombstone of A_1 must not touch A%1 (LIKE wildcards are escaped).
		mem.pages = [][]erp.Record{{{Kind: erp.KindPOLine, Key: "A_1", Deleted: true}}}
		rep, err := s.Sync(ctx, f.org, "ns", erp.SyncOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Jobs[0].Written != 3 || rep.Posting.Reversed != 2 {
			t.Fatalf("tombstone sync: %+v %+v", rep.Jobs[0], rep.Posting)
		}
		if got := f.netByType(t); got["distillate_fuel_oil_no_2 L"] != "3" {
			t.Fatalf("after the order was deleted: %v", got)
		}
	})
}

// Two processes do not sync one connection at once: the second is refused
// while the first holds the store's lease, and may sync once it is released
// or expired.
func TestSyncLease(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st)
		conn, err := st.ERPConnectionByName(ctx, f.org, "uploads")
		if err != nil {
			t.Fatal(err)
		}
		other := uuid.New()
		if err := st.AcquireERPSyncLease(ctx, f.org, conn.ID, other, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		_, err = f.sync.Sync(ctx, f.org, "uploads", erp.SyncOptions{})
		if !errors.Is(err, store.ErrSyncLeaseHeld) || !strings.Contains(err.Error(), "connection uploads: ") {
			t.Fatalf("sync under another's lease: %v", err)
		}
		if err := st.ReleaseERPSyncLease(ctx, f.org, conn.ID, other); err != nil {
			t.Fatal(err)
		}
		f.run(t, erp.SyncOptions{})
		// An expired lease (its process died) is taken over.
		if err := st.AcquireERPSyncLease(ctx, f.org, conn.ID, other, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		f.run(t, erp.SyncOptions{})
	})
}
