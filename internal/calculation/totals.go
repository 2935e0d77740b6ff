package calculation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/store"
)

// Dimensions totals can be broken down by, besides scope and scope 2 basis,
// which every breakdown keeps.
const (
	ByCategory = "category"
	BySite     = "site"
	BySource   = "source"
	ByMonth    = "month"
)

// TotalsQuery selects current results and how to break them down.
type TotalsQuery struct {
	Filter store.ResultFilter
	By     []string // any of ByCategory, BySite, BySource, ByMonth
}

// TotalRow is one group of the breakdown.
type TotalRow struct {
	TotalKey
	ghg.Total
}

// TotalKey names a group.
type TotalKey struct {
	Scope       int    `json:"scope"`
	Category    int    `json:"category,omitempty"`
	Scope2Basis string `json:"scope2_basis,omitempty"`
	Site        string `json:"site,omitempty"`      // site code; "" for results without a site
	SiteName    string `json:"site_name,omitempty"` // the site's name
	Source      string `json:"source,omitempty"`
	Month       string `json:"month,omitempty"` // YYYY-MM of the period start
}

// Totals are an organization's current emissions, broken down, with the
// whole inventory on each scope 2 basis: location-based (scopes 1, 2
// location, 3) and market-based (scopes 1, 2 market, 3).
type Totals struct {
	Rows          []TotalRow `json:"rows"`
	LocationBased ghg.Total  `json:"location_based"`
	MarketBased   ghg.Total  `json:"market_based"`
}

// Breakdowns lists the breakdowns TotalsQuery.By takes.
func Breakdowns() []string { return []string{ByCategory, BySite, BySource, ByMonth} }

// EmissionTotals sums org's current (not superseded) results on any store
// driver. Sums are exact decimals computed here rather than in SQL, so both
// engines give the same digits, and uncertainty (IPCC Approach 1) and
// data quality aggregate exactly as in a calculation report.
func EmissionTotals(ctx context.Context, st *store.Store, org uuid.UUID, q TotalsQuery) (Totals, error) {
	by := map[string]bool{}
	for _, d := range q.By {
		switch d {
		case ByCategory, BySite, BySource, ByMonth:
			by[d] = true
		default:
			return Totals{}, fmt.Errorf("totals: unknown breakdown %q (category, site, source, month)", d)
		}
	}
	groups := map[TotalKey]*ghg.Accumulator{}
	var loc, mkt ghg.Accumulator
	err := st.CurrentResults(ctx, org, q.Filter, func(r store.CurrentResult) error {
		e := r.Emission
		res := storedResult(e)
		k := TotalKey{Scope: e.Scope, Scope2Basis: e.Scope2Basis}
		if by[ByCategory] {
			k.Category = res.Category
		}
		if by[BySite] {
			k.Site, k.SiteName = r.SiteCode, r.SiteName
		}
		if by[BySource] {
			k.Source = r.SourceName
		}
		if by[ByMonth] {
			k.Month = e.PeriodStart.UTC().Format("2006-01")
		}
		a := groups[k]
		if a == nil {
			a = &ghg.Accumulator{}
			groups[k] = a
		}
		a.Add(res)
		if e.Scope2Basis != "market" {
			loc.Add(res)
		}
		if e.Scope2Basis != "location" {
			mkt.Add(res)
		}
		return nil
	})
	if err != nil {
		return Totals{}, err
	}
	out := Totals{LocationBased: loc.Total(), MarketBased: mkt.Total()}
	for k, a := range groups {
		out.Rows = append(out.Rows, TotalRow{TotalKey: k, Total: a.Total()})
	}
	slices.SortFunc(out.Rows, func(a, b TotalRow) int {
		return cmp.Or(strings.Compare(a.Month, b.Month), cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Category, b.Category),
			strings.Compare(a.Scope2Basis, b.Scope2Basis), strings.Compare(a.Site, b.Site), strings.Compare(a.Source, b.Source))
	})
	return out, nil
}

// TotalsCache keeps computed totals per organization and query while the
// organization's data is unchanged: every change appends to its audit
// trail, so totals computed after reading the audit head stay current
// until the head moves (store.AuditHead). The head is read before the
// results, so a change landing in between is only ever cached under the
// older head and recomputed at the next request. One cache serves many
// goroutines; it holds at most its size of entries.
type TotalsCache struct {
	mu   sync.Mutex
	size int
	m    map[string]cachedTotals
	// computing makes concurrent misses of one query at one audit head
	// wait for one computation (a large inventory takes seconds to sum).
	computing singleflight.Group
}

type cachedTotals struct {
	head int64
	t    Totals
}

// NewTotalsCache returns a cache of at most size entries (0: 1024).
func NewTotalsCache(size int) *TotalsCache {
	if size <= 0 {
		size = 1024
	}
	return &TotalsCache{size: size, m: map[string]cachedTotals{}}
}

// EmissionTotals is EmissionTotals through the cache. The Totals returned
// may be shared with other callers: read them, do not change them.
func (c *TotalsCache) EmissionTotals(ctx context.Context, st *store.Store, org uuid.UUID, q TotalsQuery) (Totals, error) {
	head, err := st.AuditHead(ctx, org)
	if err != nil {
		return Totals{}, err
	}
	key := org.String() + "|" + q.Filter.From.UTC().Format(time.RFC3339Nano) + "|" + q.Filter.To.UTC().Format(time.RFC3339Nano) +
		"|" + strings.Join(q.By, ",")
	c.mu.Lock()
	hit, ok := c.m[key]
	c.mu.Unlock()
	if ok && hit.head == head {
		return hit.t, nil
	}
	v, err, _ := c.computing.Do(key+"|"+strconv.FormatInt(head, 10), func() (any, error) {
		// Shared by every caller waiting: one leaving does not fail the rest.
		t, err := EmissionTotals(context.WithoutCancel(ctx), st, org, q)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if len(c.m) >= c.size {
			clear(c.m) // rare: as many distinct queries as the size since the last clear
		}
		if old, ok := c.m[key]; !ok || old.head <= head {
			c.m[key] = cachedTotals{head: head, t: t}
		}
		c.mu.Unlock()
		return t, nil
	})
	if err != nil {
		return Totals{}, err
	}
	return v.(Totals), nil
}
