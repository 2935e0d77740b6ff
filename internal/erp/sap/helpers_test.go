package sap

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// testClock is the simulator's clock, moved by the test.
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
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sleeps records the waits of the HTTP layer without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) All() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type env struct {
	t     testing.TB
	sim   *Simulator
	srv   *httptest.Server
	clock *testClock
	sl    *sleeps
}

func newEnv(t testing.TB, records int) *env {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)}
	sim := NewSimulator(erp.SimOptions{Records: records, Seed: 42, Now: clock.Now})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{t: t, sim: sim, srv: srv, clock: clock, sl: &sleeps{}}
}

// config is an OAuth connection to the simulator with a fast HTTP layer;
// edit may change the settings.
func (e *env) config(edit func(*Settings)) erp.Config {
	auth, creds, raw := e.sim.Connection(e.srv.URL)
	if edit != nil {
		var s Settings
		if err := json.Unmarshal(raw, &s); err != nil {
			e.t.Fatal(err)
		}
		edit(&s)
		raw, _ = json.Marshal(s)
	}
	return erp.Config{
		Name: "sap-test", BaseURL: e.srv.URL, AuthType: auth, Credentials: creds, Settings: raw,
		HTTP: erphttp.Config{Sleep: e.sl.Sleep, MinBackoff: time.Millisecond, RatePerSecond: -1, BreakerFailures: 1000},
	}
}

func (e *env) conn(edit func(*Settings)) *Connector {
	e.t.Helper()
	c, err := New(e.config(edit))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// run is the result of reading an entity to its end.
type run struct {
	records   []erp.Record
	rejected  []erp.Rejected
	watermark string
	pages     []erp.Page
}

func readAll(t *testing.T, c *Connector, entity, since string, pageSize int) run {
	t.Helper()
	var r run
	cursor := ""
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("no end of pages")
		}
		p, err := c.Fetch(context.Background(), entity, erp.PageRequest{Since: since, Cursor: cursor, PageSize: pageSize})
		if err != nil {
			t.Fatalf("%s page %d: %v", entity, i, err)
		}
		r.pages = append(r.pages, p)
		r.records = append(r.records, p.Records...)
		r.rejected = append(r.rejected, p.Rejected...)
		if p.Next == "" {
			r.watermark = p.Watermark
			return r
		}
		if p.Watermark != "" {
			t.Fatalf("%s page %d: a watermark before the last page", entity, i)
		}
		cursor = p.Next
	}
}

func keys(recs []erp.Record) map[string]erp.Record {
	m := map[string]erp.Record{}
	for _, r := range recs {
		m[r.Key] = r
	}
	return m
}
