package workday

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// BenchmarkFullReadPurchaseOrders reads 100,000 PO lines through the
// simulator over HTTP.
func BenchmarkFullReadPurchaseOrders(b *testing.B) {
	sim := NewSimulator(erp.SimOptions{Records: 100000, Seed: 1})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	auth, creds, settings := sim.Connection(srv.URL)
	c, err := New(erp.Config{Name: "bench", BaseURL: srv.URL, AuthType: auth, Credentials: creds, Settings: settings,
		HTTP: erphttp.Config{RatePerSecond: -1, Timeout: time.Minute}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		req := erp.PageRequest{}
		for {
			p, err := c.Fetch(context.Background(), EntityPurchaseOrders, req)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Records)
			if p.Next == "" {
				break
			}
			req.Cursor = p.Next
		}
		if n != 100000 {
			b.Fatalf("%d records", n)
		}
	}
}
