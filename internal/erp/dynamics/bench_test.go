package dynamics

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// BenchmarkFullSyncPOLines reads 100,000 purchase order lines through the
// connector from the simulator, 1000 orders a page.
func BenchmarkFullSyncPOLines(b *testing.B) {
	sim := NewSimulator(erp.SimOptions{Records: 100_000, Seed: 1})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	auth, creds, settings := sim.Connection(srv.URL)
	c, err := New(erp.Config{Name: "bench", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: settings,
		HTTP: erphttp.Config{RatePerSecond: -1, Timeout: time.Minute}})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		req := erp.PageRequest{}
		for {
			p, err := c.Fetch(context.Background(), "purchase_orders", req)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Records)
			if p.Next == "" {
				break
			}
			req.Cursor = p.Next
		}
		if n != 100_000 {
			b.Fatalf("%d lines", n)
		}
	}
	b.ReportMetric(100_000, "lines/op")
}
