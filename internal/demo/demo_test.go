package demo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/demo"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

func TestLoad(t *testing.T) {
	processortest.Engines(t, "demo", func(t *testing.T, open processortest.StoreOpener) {
		st := open(t)
		ctx := context.Background()
		now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		got, err := demo.Load(ctx, st, demo.Options{Now: now, Password: "demo passphrase 1", Hashing: password.Params{MemoryKiB: 64, Time: 1, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		// 12 months × (5 gas-or-not sites: 4 with gas + 5 electricity + fleet + generator + 7 travel/freight/waste + 6 spend).
		if got.Refused != 0 || got.Activities != 12*(4+5+2+7+6) || !got.CO2eKg.IsPositive() {
			t.Fatalf("loaded %+v", got)
		}
		tot, err := calculation.EmissionTotals(ctx, st, got.OrgID, calculation.TotalsQuery{By: []string{calculation.ByMonth}})
		if err != nil {
			t.Fatal(err)
		}
		scopes := map[int]bool{}
		months := map[string]bool{}
		for _, r := range tot.Rows {
			scopes[r.Scope] = true
			months[r.Month] = true
		}
		if len(scopes) != 3 || len(months) != 12 || !months["2025-12"] || !months["2026-11"] {
			t.Fatalf("scopes %v months %v", scopes, months)
		}
		if !tot.MarketBased.CO2eKg.IsPositive() || tot.LocationBased.DataQuality.IsZero() {
			t.Fatalf("totals %+v", tot.LocationBased)
		}
		for _, c := range []struct {
			name string
			n    func() (int, error)
			want int
		}{
			{"sites", func() (int, error) {
				v, err := st.Sites().List(ctx, got.OrgID, store.ListOptions{})
				return len(v), err
			}, 5},
			{"users", func() (int, error) {
				v, err := st.Users().List(ctx, got.OrgID, store.ListOptions{})
				return len(v), err
			}, 3},
			{"suppliers", func() (int, error) {
				v, err := st.Suppliers().List(ctx, got.OrgID, store.ListOptions{})
				return len(v), err
			}, 6},
			{"purchase orders", func() (int, error) {
				v, err := st.PurchaseOrders().List(ctx, got.OrgID, store.ListOptions{})
				return len(v), err
			}, 24},
			{"devices", func() (int, error) {
				v, err := st.Devices().List(ctx, got.OrgID, store.ListOptions{})
				return len(v), err
			}, 5},
		} {
			n, err := c.n()
			if err != nil || n != c.want {
				t.Errorf("%s: %d (%v), want %d", c.name, n, err, c.want)
			}
		}
		if _, err := demo.Load(ctx, st, demo.Options{Now: now}); !errors.Is(err, demo.ErrLoaded) {
			t.Fatalf("second load: %v, want ErrLoaded", err)
		}
	})
}
