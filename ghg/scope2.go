package ghg

import (
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// Scope 2 basis names, as recorded in results.
const (
	MethodScope2Location = "scope2_location"
	MethodScope2Market   = "scope2_market"
)

// Certificate is an energy attribute certificate (REC, GO, I-REC) or a
// contractual instrument carrying one: a volume of generation, its period,
// the market it may be claimed in and its emission rate (zero for
// renewables).
type Certificate struct {
	ID           string
	KWh          decimal.Decimal
	PeriodStart  time.Time
	PeriodEnd    time.Time
	Market       string          // e.g. "US", "EU"; claims only within one market
	KgCO2ePerKWh decimal.Decimal // 0 for renewable generation
}

// Allocation is the part of a certificate claimed for one activity.
type Allocation struct {
	CertificateID string          `json:"certificate_id"`
	KWh           decimal.Decimal `json:"kwh"`
}

// CertificatePool hands out certificate volume to activities, each kWh of a
// certificate at most once, to activities within the certificate's period
// and market. It is not safe for concurrent use: allocate in a fixed order
// (the order of the activities) so runs are reproducible.
type CertificatePool struct {
	certs  []Certificate
	remain []decimal.Decimal
}

// NewCertificatePool orders certificates by period start then id, so
// allocation does not depend on the order they were given in.
func NewCertificatePool(certs []Certificate) (*CertificatePool, error) {
	cs := append([]Certificate(nil), certs...)
	sort.SliceStable(cs, func(i, j int) bool {
		if !cs[i].PeriodStart.Equal(cs[j].PeriodStart) {
			return cs[i].PeriodStart.Before(cs[j].PeriodStart)
		}
		return cs[i].ID < cs[j].ID
	})
	p := &CertificatePool{certs: cs, remain: make([]decimal.Decimal, len(cs))}
	seen := map[string]bool{}
	for i, c := range cs {
		switch {
		case c.ID == "" || seen[c.ID]:
			return nil, fmt.Errorf("certificate %q: ids must be present and unique", c.ID)
		case !c.KWh.IsPositive():
			return nil, fmt.Errorf("certificate %q: volume %s kWh is not positive", c.ID, c.KWh)
		case !c.PeriodEnd.After(c.PeriodStart):
			return nil, fmt.Errorf("certificate %q: period ends before it starts", c.ID)
		case c.KgCO2ePerKWh.IsNegative():
			return nil, fmt.Errorf("certificate %q: negative emission rate", c.ID)
		}
		seen[c.ID] = true
		p.remain[i] = c.KWh
	}
	return p, nil
}

// allocate claims up to kwh for an activity in [start, end) in market. A
// certificate applies when its period contains the activity's period.
func (p *CertificatePool) allocate(kwh decimal.Decimal, start, end time.Time, market string) ([]Allocation, decimal.Decimal, decimal.Decimal) {
	var out []Allocation
	covered, kg := decimal.Zero, decimal.Zero
	for i, c := range p.certs {
		need := kwh.Sub(covered)
		if !need.IsPositive() {
			break
		}
		if !p.remain[i].IsPositive() || c.Market != market || start.Before(c.PeriodStart) || end.After(c.PeriodEnd) {
			continue
		}
		take := decimal.Min(need, p.remain[i])
		p.remain[i] = p.remain[i].Sub(take)
		covered = covered.Add(take)
		kg = kg.Add(take.Mul(c.KgCO2ePerKWh))
		out = append(out, Allocation{CertificateID: c.ID, KWh: take})
	}
	return out, covered, kg
}

// Remaining is the unclaimed volume of each certificate, by id.
func (p *CertificatePool) Remaining() map[string]decimal.Decimal {
	out := make(map[string]decimal.Decimal, len(p.certs))
	for i, c := range p.certs {
		out[c.ID] = p.remain[i]
	}
	return out
}

// MarketInputs are what the market-based method may use for one activity,
// in the order of the GHG Protocol Scope 2 Guidance's quality criteria:
// certificates first, then a supplier-specific emission rate for the rest,
// and the residual mix when there is no supplier rate.
type MarketInputs struct {
	Market       string           // the market boundary certificates must match
	Certificates *CertificatePool // may be nil
	Supplier     *Factor          // supplier-specific factor per energy, may be nil
	ResidualMix  Factor           // required
}

// Scope2Result holds both bases, which are always reported together.
type Scope2Result struct {
	Location Result `json:"location"`
	Market   Result `json:"market"`
	// Allocations are the certificate volumes claimed for the market basis.
	Allocations []Allocation    `json:"allocations,omitempty"`
	CoveredKWh  decimal.Decimal `json:"covered_kwh"`
}

// Scope2 calculates purchased electricity (or any energy bought from a grid)
// on both bases: location-based with the grid factor of the activity's
// region, market-based from certificates, supplier rate and residual mix.
func (c *Calculator) Scope2(a Activity, grid Factor, m MarketInputs) (Scope2Result, error) {
	loc, err := c.ActivityFactor(a, grid, 2, 0, MethodScope2Location)
	if err != nil {
		return Scope2Result{}, err
	}
	if a.Quantity.Unit.Dim != Energy {
		return Scope2Result{}, &InputError{a.ID, "unit", fmt.Sprintf("%s is not an energy unit", a.Quantity.Unit.Symbol)}
	}
	kwhUnit := c.kWh
	q, step, err := a.Quantity.To(kwhUnit)
	if err != nil {
		return Scope2Result{}, err
	}
	kwh := q.Value
	var allocs []Allocation
	covered, certKg := decimal.Zero, decimal.Zero
	if m.Certificates != nil && kwh.IsPositive() {
		allocs, covered, certKg = m.Certificates.allocate(kwh, a.PeriodStart, a.PeriodEnd, m.Market)
	}
	rest := a
	rest.Quantity = Quantity{Value: kwh.Sub(covered), Unit: kwhUnit}
	f := m.ResidualMix
	if m.Supplier != nil {
		f = *m.Supplier
	}
	mkt, err := c.ActivityFactor(rest, f, 2, 0, MethodScope2Market)
	if err != nil {
		return Scope2Result{}, err
	}
	mkt.KgByGas["CO2e"] = mkt.KgByGas["CO2e"].Add(certKg)
	mkt.CO2eKg = mkt.CO2eKg.Add(certKg)
	mkt.Explanation.Quantity, mkt.Explanation.Unit = a.Quantity.Value, a.Quantity.Unit.Symbol
	mkt.Explanation.Note = fmt.Sprintf("%s kWh covered by certificates, %s kWh at %s", covered, rest.Quantity.Value, f.ID)
	mkt.Explanation.Conversions = append([]Step{step}, mkt.Explanation.Conversions...)
	return Scope2Result{Location: loc, Market: mkt, Allocations: allocs, CoveredKWh: covered}, nil
}
