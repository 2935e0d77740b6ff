package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/dynamics"
	"github.com/greenlang/greenlang/internal/erp/sap"
	"github.com/greenlang/greenlang/internal/erp/workday"
	"github.com/greenlang/greenlang/internal/secretbox"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// erpMapping maps every purchase-order line spend-based, whatever its
// material group, and converts the simulators' currencies to USD.
const erpMapping = `{
  "purchase_orders": {"spend_based_by_naics": true, "default_naics": "423110"},
  "gl_accounts": {"*": {"activity_type": "naics:423110", "basis": "amount", "scope": 3, "category": 1}},
  "expense_types": {},
  "exchange_rates": [
    {"year": 2025, "from": "EUR", "to": "USD", "rate": "1.08"},
    {"year": 2025, "from": "GBP", "to": "USD", "rate": "1.27"},
    {"year": 2025, "from": "CHF", "to": "USD", "rate": "1.18"},
    {"year": 2025, "from": "JPY", "to": "USD", "rate": "0.0066"},
    {"year": 2025, "from": "CAD", "to": "USD", "rate": "0.72"},
    {"year": 2025, "from": "AUD", "to": "USD", "rate": "0.65"},
    {"year": 2025, "from": "SEK", "to": "USD", "rate": "0.095"},
    {"year": 2025, "from": "PLN", "to": "USD", "rate": "0.26"},
    {"year": 2025, "from": "CNY", "to": "USD", "rate": "0.14"},
    {"year": 2025, "from": "INR", "to": "USD", "rate": "0.0117"},
    {"year": 2025, "from": "MXN", "to": "USD", "rate": "0.052"},
    {"year": 2025, "from": "DKK", "to": "USD", "rate": "0.145"},
    {"year": 2025, "from": "NOK", "to": "USD", "rate": "0.094"},
    {"year": 2025, "from": "BRL", "to": "USD", "rate": "0.18"}
  ],
  "price_index": {"currency": "USD", "name": "GDP price deflator", "by_year": {"2021": "100", "2025": "112.5"}}
}`

func erpStores(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	keys, err := secretbox.NewKeyring("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sqlite", func(t *testing.T) {
		reg := store.NewRegistry()
		sqlitestore.Register(reg)
		st, err := reg.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "greenlang.db"), store.Options{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, pgtest.Open(t, pgtest.New(t, "greenlang_erp_app"), store.Options{Keys: keys}))
	})
}

// erpOrg creates the organization Acme with erpMapping, and a syncer over
// st (posting activity data when post is set) with request pacing lifted:
// the simulators do not throttle unless told, pacing only slows the tests.
func erpOrg(t *testing.T, st *store.Store, post bool) (uuid.UUID, *erp.Syncer) {
	t.Helper()
	ctx := context.Background()
	o := &store.Organization{Name: "Acme", Slug: "acme"}
	if err := st.OrganizationCreate(ctx, o); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutActivityMapping(ctx, o.ID, store.JSON(erpMapping), "test"); err != nil {
		t.Fatal(err)
	}
	var poster *erp.Poster
	if post {
		calc, err := calculation.NewBuiltin()
		if err != nil {
			t.Fatal(err)
		}
		poster = erp.NewPoster(st, calc, nil)
	}
	s := erp.NewSyncer(st, app.ERPRegistry(), poster, nil)
	s.HTTP.RatePerSecond = -1
	return o.ID, s
}

// addSimConnection stores a connection called name to the simulator sim
// served at baseURL.
func addSimConnection(t *testing.T, st *store.Store, org uuid.UUID, name, system, baseURL string, sim erp.Simulator) *store.ERPConnection {
	t.Helper()
	auth, creds, settings := sim.Connection(baseURL)
	c := &store.ERPConnection{Name: name, System: system, BaseURL: baseURL, AuthType: auth, Credentials: creds,
		Settings: store.JSON(settings), Active: true}
	if err := st.ERPConnections().Create(context.Background(), org, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestERPSimulators syncs every connector the binary carries from its
// simulator, through the engine, into the store: each connection tests
// clean, every entity syncs, the records are posted (none left pending),
// and a second sync with nothing changed writes nothing.
func TestERPSimulators(t *testing.T) {
	reg := app.ERPRegistry()
	erpStores(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		o, s := erpOrg(t, st, true)
		for _, system := range reg.Systems() {
			f, _ := reg.Get(system)
			if f.NewSimulator == nil {
				continue
			}
			t.Run(system, func(t *testing.T) {
				sim := f.NewSimulator(erp.SimOptions{Records: 300, Seed: 7})
				srv := httptest.NewServer(sim)
				defer srv.Close()
				c := addSimConnection(t, st, o, system+"-sim", system, srv.URL, sim)
				steps, err := s.Test(ctx, o, c.Name)
				if err != nil || len(steps) == 0 {
					t.Fatalf("test: %v %v", steps, err)
				}
				for _, step := range steps {
					if !step.OK {
						t.Fatalf("test step %q failed: %s", step.Name, step.Detail)
					}
				}
				rep, err := s.Sync(ctx, o, c.Name, erp.SyncOptions{})
				if err != nil {
					t.Fatalf("sync: %v", err)
				}
				var written int64
				for _, j := range rep.Jobs {
					if j.Status != "succeeded" {
						t.Errorf("job %s: %+v", j.Entity, j)
					}
					written += j.Written
				}
				if written == 0 || rep.Posting.Posted == 0 || rep.Posting.Activities == 0 {
					b, _ := json.Marshal(rep)
					t.Fatalf("first sync wrote or posted nothing: %s", b)
				}
				counts, err := st.ERPRecordCounts(ctx, o, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				for kind, states := range counts {
					if states[store.ERPPending] != 0 {
						t.Errorf("%s: %d records left pending", kind, states[store.ERPPending])
					}
				}
				if counts[string(erp.KindPOLine)][store.ERPPosted] == 0 {
					t.Errorf("no purchase-order line posted: %v", counts)
				}

				rep, err = s.Sync(ctx, o, c.Name, erp.SyncOptions{})
				if err != nil {
					t.Fatalf("second sync: %v", err)
				}
				for _, j := range rep.Jobs {
					if j.Status != "succeeded" || j.Written != 0 {
						t.Errorf("second sync of %s with nothing changed: %+v", j.Entity, j)
					}
				}
				if rep.Posting.Activities != 0 {
					t.Errorf("second sync posted again: %+v", rep.Posting)
				}

				// The same data through a proxy that truncates the second data
				// page of the connector's purchase orders: the job
				// fails, the next sync resumes it from the committed page, and
				// after syncing the rest the result equals the clean sync's:
				// nothing lost, nothing twice.
				faulty := httptest.NewServer(&truncateNth{h: sim, n: 2})
				defer faulty.Close()
				c2 := addSimConnection(t, st, o, system+"-faulty", system, faulty.URL, sim)
				conn, err := s.Connector(c2)
				if err != nil {
					t.Fatal(err)
				}
				var inc string
				for _, e := range conn.Entities() {
					if e.Incremental && e.Kind == erp.KindPOLine {
						inc = e.Name
					}
				}
				if inc == "" {
					t.Fatalf("%s has no incremental purchase-order entity", system)
				}
				one := erp.SyncOptions{PageSize: 20, Entities: []string{inc}}
				rep, err = s.Sync(ctx, o, c2.Name, one)
				if err != nil || !rep.Failed() || rep.Jobs[0].Pages != 1 {
					t.Fatalf("sync of %s through the faulty proxy: %+v %v", inc, rep.Jobs, err)
				}
				rep, err = s.Sync(ctx, o, c2.Name, one)
				if err != nil || rep.Failed() || !rep.Jobs[0].Resumed {
					t.Fatalf("resumed sync of %s: %+v %v", inc, rep.Jobs, err)
				}
				if rep, err = s.Sync(ctx, o, c2.Name, erp.SyncOptions{}); err != nil || rep.Failed() {
					t.Fatalf("sync of the rest: %+v %v", rep.Jobs, err)
				}
				counts2, err := st.ERPRecordCounts(ctx, o, c2.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(counts, counts2) {
					t.Errorf("records after a failure and resume %v, after a clean sync %v", counts2, counts)
				}
				if a, b := netActivity(t, st, o, c.ID), netActivity(t, st, o, c2.ID); !reflect.DeepEqual(a, b) {
					t.Errorf("activity after a failure and resume %v, after a clean sync %v", b, a)
				}
			})
		}
	})
}

// truncateNth passes requests to h, except the nth one that is not a token
// request: that one gets the start of a JSON page and nothing more.
type truncateNth struct {
	h    http.Handler
	n    int
	mu   sync.Mutex
	seen int
}

func (f *truncateNth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.Path, "token") {
		f.mu.Lock()
		f.seen++
		hit := f.seen == f.n
		f.mu.Unlock()
		if hit {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"d":{"results":[{"PurchaseOrder":"45`)
			return
		}
	}
	f.h.ServeHTTP(w, r)
}

// netActivity sums a connection's activity records by activity type and unit.
func netActivity(t *testing.T, st *store.Store, org, conn uuid.UUID) map[string]string {
	t.Helper()
	sums := map[string]decimal.Decimal{}
	prefix := "erp:" + conn.String() + ":"
	err := st.ActivityRecords().Each(context.Background(), org, func(a *store.ActivityRecord) error {
		if strings.HasPrefix(a.OriginRef, prefix) {
			sums[a.ActivityType+" "+a.Unit] = sums[a.ActivityType+" "+a.Unit].Add(a.Quantity)
		}
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

// TestWorkdayRotatedRefreshToken: a Workday tenant that rotates refresh
// tokens revokes the old one at every refresh, so the connection's stored
// credentials must follow or the next run cannot sign in. Every run builds
// its connector from the store, so two syncs and a test in a row prove it.
func TestWorkdayRotatedRefreshToken(t *testing.T) {
	erpStores(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		o, s := erpOrg(t, st, false)
		sim := workday.NewSimulator(erp.SimOptions{Records: 60, Seed: 3})
		sim.RotateRefreshTokens(true)
		srv := httptest.NewServer(sim)
		defer srv.Close()
		_, creds, _ := sim.Connection(srv.URL)
		c := addSimConnection(t, st, o, "wd", "workday", srv.URL, sim)
		for i := range 2 {
			rep, err := s.Sync(ctx, o, c.Name, erp.SyncOptions{})
			if err != nil || rep.Failed() {
				t.Fatalf("sync %d: %+v %v", i+1, rep.Jobs, err)
			}
			sim.ExpireTokens()
		}
		steps, err := s.Test(ctx, o, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range steps {
			if !step.OK {
				t.Fatalf("test after rotations: step %q failed: %s", step.Name, step.Detail)
			}
		}
		got, err := st.ERPConnectionByName(ctx, o, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Credentials["refresh_token"] == creds["refresh_token"] || got.Credentials["client_secret"] != creds["client_secret"] {
			t.Fatalf("stored credentials did not follow the rotation (or lost a key): refresh token still the first: %v",
				got.Credentials["refresh_token"] == creds["refresh_token"])
		}
		// The change is audited by key name, never by value.
		entries, err := st.AuditEntries(ctx, o, 0, 100000)
		var found bool
		for _, e := range entries {
			if e.EntityType == "erp_connection" && strings.Contains(e.NewValues, "credentials_changed") {
				found = true
				if strings.Contains(e.NewValues, got.Credentials["refresh_token"]) || strings.Contains(e.NewValues, creds["refresh_token"]) {
					t.Error("the audit trail holds a refresh token")
				}
			}
		}
		if err != nil || !found {
			t.Fatalf("no audit entry for the rotation (%v)", err)
		}
	})
}

// TestERPJournalPosting posts a carbon-accounting journal entry to the SAP
// simulator (CSRF handshake) once per reference, with every state in the
// audit trail, and refuses what it should.
func TestERPJournalPosting(t *testing.T) {
	erpStores(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		o, s := erpOrg(t, st, false)
		sim := sap.NewSimulator(erp.SimOptions{Records: 20, Seed: 5})
		srv := httptest.NewServer(sim)
		defer srv.Close()
		c := addSimConnection(t, st, o, "s4", "sap", srv.URL, sim)
		e, err := erp.ParseJournal([]byte(erp.SampleJournal))
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.PostJournal(ctx, o, c.Name, e, false)
		if err != nil || res.DocumentID == "" || sim.Journals() != 1 {
			t.Fatalf("post: %+v %v (simulator holds %d)", res, err, sim.Journals())
		}
		// Once per reference.
		if _, err := s.PostJournal(ctx, o, c.Name, e, false); !errors.Is(err, erp.ErrJournalPosted) ||
			!strings.Contains(err.Error(), res.DocumentID) || sim.Journals() != 1 {
			t.Fatalf("second post: %v (simulator holds %d)", err, sim.Journals())
		}
		if again, err := s.PostJournal(ctx, o, c.Name, e, true); err != nil || again.DocumentID == res.DocumentID || sim.Journals() != 2 {
			t.Fatalf("repost: %+v %v", again, err)
		}
		// A refused entry is recorded as failed and may be posted once fixed.
		bad := e
		bad.Reference = "CO2E-UNBALANCED"
		bad.Lines = slices.Clone(e.Lines)
		bad.Lines[1].Amount = decimal.RequireFromString("-999")
		if _, err := s.PostJournal(ctx, o, c.Name, bad, false); err == nil || !strings.Contains(err.Error(), "do not balance") {
			t.Fatalf("unbalanced: %v", err)
		}
		if j, err := st.ERPJournalLatest(ctx, o, c.ID, bad.Reference); err != nil || j == nil || j.Status != store.JournalFailed || j.Error == "" {
			t.Fatalf("unbalanced not recorded as failed: %+v %v", j, err)
		}
		bad.Lines[1].Amount = decimal.RequireFromString("-1000")
		if _, err := s.PostJournal(ctx, o, c.Name, bad, false); err != nil || sim.Journals() != 3 {
			t.Fatalf("fixed entry: %v", err)
		}
		// A posting started and never finished (a crash) is refused until
		// someone has looked in the ERP.
		crashed := e
		crashed.Reference = "CO2E-CRASHED"
		if err := st.RecordERPJournal(ctx, o, store.ERPJournal{Connection: c.ID, ConnectionName: c.Name, Reference: crashed.Reference}, store.JournalStarted); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PostJournal(ctx, o, c.Name, crashed, false); !errors.Is(err, erp.ErrJournalPosted) || !strings.Contains(err.Error(), "never recorded") {
			t.Fatalf("after a crash: %v", err)
		}
		// Only connectors that can post are asked to.
		wd := workday.NewSimulator(erp.SimOptions{Records: 5, Seed: 1})
		wsrv := httptest.NewServer(wd)
		defer wsrv.Close()
		w := addSimConnection(t, st, o, "wd", "workday", wsrv.URL, wd)
		if _, err := s.PostJournal(ctx, o, w.Name, e, false); err == nil || !strings.Contains(err.Error(), "cannot post journal entries") {
			t.Fatalf("workday: %v", err)
		}
		// The trail holds every state, and it still verifies.
		entries, err := st.AuditEntries(ctx, o, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]int{}
		for _, a := range entries {
			if a.EntityType == "erp_journal_entry" {
				var j store.ERPJournal
				if err := json.Unmarshal([]byte(a.NewValues), &j); err != nil {
					t.Fatal(err)
				}
				states[j.Status]++
			}
		}
		if states[store.JournalStarted] != 5 || states[store.JournalPosted] != 3 || states[store.JournalFailed] != 1 {
			t.Fatalf("audit states %v", states)
		}
		if rep, err := st.VerifyAudit(ctx, o); err != nil || !rep.OK() {
			t.Fatalf("audit: %+v %v", rep, err)
		}
	})
}

// TestDynamicsDeletedOrder: an order Business Central removes comes back
// from the delta link as its id alone; the sync deletes every line of it
// and reverses their activity, so the inventory then equals a fresh sync
// of what the ERP still holds.
func TestDynamicsDeletedOrder(t *testing.T) {
	erpStores(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		o, s := erpOrg(t, st, true)
		sim := dynamics.NewSimulator(erp.SimOptions{Records: 120, Seed: 11})
		srv := httptest.NewServer(sim)
		defer srv.Close()
		add := func(name string) *store.ERPConnection {
			return addSimConnection(t, st, o, name, "dynamics365", srv.URL, sim)
		}
		sync := func(c *store.ERPConnection) {
			t.Helper()
			rep, err := s.Sync(ctx, o, c.Name, erp.SyncOptions{Entities: []string{"purchase_orders"}})
			if err != nil || rep.Failed() {
				t.Fatalf("sync %s: %+v %v", c.Name, rep.Jobs, err)
			}
		}
		c := add("bc")
		sync(c)
		before := netActivity(t, st, o, c.ID)
		counts, err := st.ERPRecordCounts(ctx, o, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, number := range []string{"PO100003", "PO100010"} {
			if _, err := sim.DeleteOrder(number); err != nil {
				t.Fatal(err)
			}
		}
		sync(c)
		after := netActivity(t, st, o, c.ID)
		fresh := add("bc-fresh")
		sync(fresh)
		if want := netActivity(t, st, o, fresh.ID); !reflect.DeepEqual(after, want) || reflect.DeepEqual(after, before) {
			t.Fatalf("activity after deleting two orders %v, a fresh sync %v (before %v)", after, want, before)
		}
		counts2, err := st.ERPRecordCounts(ctx, o, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		freshCounts, err := st.ERPRecordCounts(ctx, o, fresh.ID)
		if err != nil {
			t.Fatal(err)
		}
		line := string(erp.KindPOLine)
		if counts2[line][store.ERPPosted] != freshCounts[line][store.ERPPosted] ||
			counts2[line][store.ERPPosted] >= counts[line][store.ERPPosted] || counts2[line][store.ERPPending] != 0 {
			t.Fatalf("line records: before %v, after %v, fresh %v", counts[line], counts2[line], freshCounts[line])
		}
	})
}
