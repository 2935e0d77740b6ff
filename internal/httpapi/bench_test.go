package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/demo"
	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// The API benchmarks (docs/api.md, "Performance") run over the demo
// organization's data: the read is GET /api/v1/emissions/totals?by=month,
// the write an activity file of ten rows. Each sits beside a baseline of
// the same work without HTTP (calculation.EmissionTotals, and
// IngestForOrganization), so the ratio of one run says what the API
// costs. `greenlang loadtest` measures the same routes from a second
// process at 200 connections.

func benchStore(b *testing.B, engine string) (*store.Store, *demo.Loaded) {
	b.Helper()
	var st *store.Store
	switch engine {
	case "sqlite":
		reg := store.NewRegistry()
		sqlitestore.Register(reg)
		var err error
		if st, err = reg.Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "bench.db"), store.Options{}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
	case "postgres":
		st = pgtest.Open(b, pgtest.New(b, "apibench"), store.Options{})
	}
	got, err := demo.Load(context.Background(), st, demo.Options{Password: "bench passphrase", Hashing: password.Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	return st, &got
}

func benchEngines(b *testing.B, fn func(b *testing.B, st *store.Store, d *demo.Loaded)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			st, d := benchStore(b, engine)
			fn(b, st, d)
		})
	}
}

// benchHTTP sends b.N requests from 200 goroutines to a server over st,
// each with the body next gives, and wants status want.
func benchHTTP(b *testing.B, st *store.Store, d *demo.Loaded, method, path, ctype string, next func() string, want int) {
	srv := httptest.NewServer(httpapi.NewHandler(httpapi.HandlerOptions{Store: st, RateLimit: testLimits}))
	defer srv.Close()
	tok, _, err := st.APITokenIssue(context.Background(), d.OrgID, store.APITokenIssueParams{Name: "bench", Scopes: []string{store.ScopeAll}})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.SetParallelism(100) // 200 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var body io.Reader
			if next != nil {
				body = strings.NewReader(next())
			}
			req, _ := http.NewRequest(method, srv.URL+path, body)
			req.Header.Set("Authorization", "Bearer "+tok)
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != want {
				b.Errorf("status %d, want %d", res.StatusCode, want)
				return
			}
		}
	})
}

// BenchmarkTotalsAPI is GET /api/v1/emissions/totals?by=month over HTTP,
// 200 requests in flight.
func BenchmarkTotalsAPI(b *testing.B) {
	benchEngines(b, func(b *testing.B, st *store.Store, d *demo.Loaded) {
		benchHTTP(b, st, d, "GET", "/api/v1/emissions/totals?by=month", "", nil, http.StatusOK)
	})
}

// BenchmarkTotalsEngine is the baseline: the same totals without HTTP.
func BenchmarkTotalsEngine(b *testing.B) {
	benchEngines(b, func(b *testing.B, st *store.Store, d *demo.Loaded) {
		b.SetParallelism(100)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := calculation.EmissionTotals(context.Background(), st, d.OrgID, calculation.TotalsQuery{By: []string{calculation.ByMonth}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// batch is an activity file of ten rows, different for each n.
func batch(n int64) string {
	var sb strings.Builder
	sb.WriteString("activity_type,quantity,unit,period_start,region,scope,site\n")
	for i := range 10 {
		fmt.Fprintf(&sb, "natural_gas,%d%d,scf,2026-0%d-01,US,1,BER\n", n, i, 1+i%9)
	}
	return sb.String()
}

// BenchmarkActivityBatchAPI is POST /api/v1/activity-files of ten rows
// over HTTP, 200 requests in flight.
func BenchmarkActivityBatchAPI(b *testing.B) {
	benchEngines(b, func(b *testing.B, st *store.Store, d *demo.Loaded) {
		var seq atomic.Int64
		benchHTTP(b, st, d, "POST", "/api/v1/activity-files", "text/csv", func() string { return batch(seq.Add(1)) }, http.StatusCreated)
	})
}

// BenchmarkActivityBatchEngine is the baseline: the same files through
// calculation.IngestForOrganization without HTTP (with the same cache of
// the organization's calculation service as the API).
func BenchmarkActivityBatchEngine(b *testing.B) {
	benchEngines(b, func(b *testing.B, st *store.Store, d *demo.Loaded) {
		var seq atomic.Int64
		svcs := calculation.NewServices(0)
		b.SetParallelism(100)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _, err := calculation.IngestForOrganization(context.Background(), st, svcs, d.OrgID, strings.NewReader(batch(seq.Add(1))),
					calculation.Options{GWPSet: "AR6"}, time.Now())
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
