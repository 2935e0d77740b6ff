package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
	"github.com/greenlang/greenlang/internal/secretbox"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

// benchLines is the size of the ERP benchmark: purchase-order lines.
const benchLines = 100_000

// recorder notes the GET requests a connector sends, with their headers,
// so the baseline can send the very same ones.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Clone(context.Background()))
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

// BenchmarkERPSync measures a full sync of 100,000 purchase-order lines from
// the SAP simulator into activity data in PostgreSQL (sync: fetch, map,
// upsert records, post them as activity data calculated by the engine),
// beside bare-fetch: the same pages fetched with a plain http.Client and
// read to the end. Both report records/s; the target is sync at
// least 50% of bare-fetch.
//
//	GREENLANG_TEST_POSTGRES_URL=… go test ./internal/app -run '^$' -bench ERPSync -benchtime 1x
func BenchmarkERPSync(b *testing.B) {
	sim := app.ERPRegistry()
	f, err := sim.Get("sap")
	if err != nil {
		b.Fatal(err)
	}
	s := f.NewSimulator(erp.SimOptions{Records: benchLines, Seed: 1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	auth, creds, settings := s.Connection(srv.URL)

	// The pages the connector reads, recorded once (not timed).
	rec := &recorder{base: http.DefaultTransport}
	conn, err := f.New(erp.Config{Name: "rec", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: settings, Transport: rec,
		HTTP: benchHTTP()})
	if err != nil {
		b.Fatal(err)
	}
	lines := 0
	for cursor := ""; ; {
		p, err := conn.Fetch(context.Background(), "purchase_orders", erp.PageRequest{Cursor: cursor})
		if err != nil {
			b.Fatal(err)
		}
		lines += len(p.Records)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if lines != benchLines {
		b.Fatalf("the simulator served %d lines, want %d", lines, benchLines)
	}

	b.Run("bare-fetch", func(b *testing.B) {
		client := &http.Client{}
		for b.Loop() {
			var bytes int64
			for _, r := range rec.reqs {
				if r.URL.Path == "/oauth/token" {
					continue
				}
				resp, err := client.Do(r.Clone(context.Background()))
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %s", r.URL, resp.Status)
				}
				bytes += n
			}
			b.ReportMetric(float64(bytes), "bytes/op")
		}
		b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})

	b.Run("sync-postgres", func(b *testing.B) {
		keys, err := secretbox.NewKeyring("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
		if err != nil {
			b.Fatal(err)
		}
		st := pgtest.Open(b, pgtest.New(b, "greenlang_erp_bench"), store.Options{Keys: keys})
		ctx := context.Background()
		o := &store.Organization{Name: "Bench", Slug: "bench"}
		if err := st.OrganizationCreate(ctx, o); err != nil {
			b.Fatal(err)
		}
		if _, err := st.PutActivityMapping(ctx, o.ID, store.JSON(erpMapping), "bench"); err != nil {
			b.Fatal(err)
		}
		calc, err := calculation.NewBuiltin()
		if err != nil {
			b.Fatal(err)
		}
		syncer := erp.NewSyncer(st, sim, erp.NewPoster(st, calc, nil), nil)
		syncer.HTTP = benchHTTP()
		i := 0
		var posted int
		for b.Loop() {
			i++
			name := fmt.Sprintf("sap-%d", i)
			c := &store.ERPConnection{Name: name, System: "sap", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: store.JSON(settings), Active: true}
			if err := st.ERPConnections().Create(ctx, o.ID, c); err != nil {
				b.Fatal(err)
			}
			rep, err := syncer.Sync(ctx, o.ID, name, erp.SyncOptions{Entities: []string{"purchase_orders"}})
			if err != nil || rep.Failed() || rep.Jobs[0].Written != benchLines {
				b.Fatalf("sync: %+v %v", rep, err)
			}
			posted = rep.Posting.Posted
		}
		b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(posted), "posted/op")
	})
}

// benchHTTP lifts the default client-side rate limit (10 requests/s, meant
// for a vendor's API): the benchmark measures the platform, not the pacing.
func benchHTTP() (c erphttp.Config) {
	c.RatePerSecond = -1
	c.Timeout = time.Minute
	return c
}
