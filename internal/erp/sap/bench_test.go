package sap

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/greenlang/greenlang/internal/erp"
)

// BenchmarkFullSyncPO reads 100,000 purchase order lines from the
// simulator through the connector.
func BenchmarkFullSyncPO(b *testing.B) {
	e := newEnv(b, 100_000)
	c := e.conn(nil)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		cursor := ""
		for {
			p, err := c.Fetch(context.Background(), "purchase_orders", erp.PageRequest{Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Records)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if n != 100_000 {
			b.Fatalf("%d lines", n)
		}
	}
}

// BenchmarkBareFetchPO fetches the same pages with a plain http.Client.
func BenchmarkBareFetchPO(b *testing.B) {
	e := newEnv(b, 100_000)
	c := e.conn(nil)
	tok, err := c.tokens.Token()
	if err != nil {
		b.Fatal(err)
	}
	n := e.sim.PurchaseOrderCount()
	b.ResetTimer()
	for b.Loop() {
		size := 0
		for skip := 0; skip < n; skip += DefaultPOPageSize {
			u := c.pageURL(c.ents[0], cursor{Top: DefaultPOPageSize, Skip: skip}, true)
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			size += len(body)
		}
		b.ReportMetric(float64(size), "bytes")
	}
}
