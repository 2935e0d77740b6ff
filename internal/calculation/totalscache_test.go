package calculation

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// TestTotalsCacheSharesMisses: callers missing the cache at once wait for
// one computation of the totals (counted by the store's metrics), all get
// the same figures, and a write makes the next call compute again.
func TestTotalsCacheSharesMisses(t *testing.T) {
	ctx := context.Background()
	prom := prometheus.NewRegistry()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	u := url.URL{Scheme: "sqlite", Path: filepath.Join(t.TempDir(), "g.db")}
	st, err := reg.Open(ctx, u.String(), store.Options{Registerer: prom})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org := drivertest.NewOrg(t, st)
	// Enough results that summing them takes a while, so the callers overlap.
	var csv strings.Builder
	csv.WriteString("activity_type,quantity,unit,period_start,region,scope\n")
	for i := range 3000 {
		fmt.Fprintf(&csv, "natural_gas,%d,mmBtu,2025-%02d-01,US,1\n", i+1, i%12+1)
	}
	if _, _, err := IngestForOrganization(ctx, st, nil, org.ID, strings.NewReader(csv.String()), Options{GWPSet: "AR6"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	reads := func() uint64 {
		t.Helper()
		mfs, err := prom.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "op" && l.GetValue() == "store: reading current results" {
						n += m.GetHistogram().GetSampleCount()
					}
				}
			}
		}
		return n
	}
	want, err := EmissionTotals(ctx, st, org.ID, TotalsQuery{By: []string{ByMonth}})
	if err != nil {
		t.Fatal(err)
	}
	before := reads()
	c := NewTotalsCache(0)
	const callers = 32
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]Totals, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tot, err := c.EmissionTotals(ctx, st, org.ID, TotalsQuery{By: []string{ByMonth}})
			if err != nil {
				t.Error(err)
			}
			got[i] = tot
		}()
	}
	close(start)
	wg.Wait()
	if n := reads() - before; n == 0 || n > 2 {
		t.Fatalf("%d callers missing the cache at once computed the totals %d times", callers, n)
	}
	for i, tot := range got {
		if !tot.LocationBased.CO2eKg.Equal(want.LocationBased.CO2eKg) || len(tot.Rows) != len(want.Rows) {
			t.Fatalf("caller %d: %+v, want %+v", i, tot.LocationBased, want.LocationBased)
		}
	}
	// Cached now; a write moves the audit head and the next call computes.
	before = reads()
	if _, err := c.EmissionTotals(ctx, st, org.ID, TotalsQuery{By: []string{ByMonth}}); err != nil || reads() != before {
		t.Fatalf("a cached query read the results again (%v)", err)
	}
	if err := st.Sites().Create(ctx, org.ID, &store.Site{Name: "New", Code: "N1", Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EmissionTotals(ctx, st, org.ID, TotalsQuery{By: []string{ByMonth}}); err != nil || reads() != before+1 {
		t.Fatalf("after a write: %d reads, want 1 (%v)", reads()-before, err)
	}
}
