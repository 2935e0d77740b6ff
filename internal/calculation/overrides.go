package calculation

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/table"
	"github.com/greenlang/greenlang/internal/store"
)

// OverrideSet is the publication name (Ref.Set) of every tenant override
// factor. Its version is the override's id, so each override is a factor
// set of its own: a run's input hash names the overrides it used, and
// changes when one is added or retired.
const OverrideSet = "Tenant override"

// NewOverride is a tenant's documented custom factor for one activity type
// and region, as a user gives it.
type NewOverride struct {
	// Factor holds the values: ActivityType, Region ("" global), Per,
	// KgPerUnit, and optionally BiogenicCO2KgPerUnit, HeatContent, PerBasis,
	// PriceYear, UncertaintyPct, ValidFrom and ValidTo. Its ID and Ref are
	// set by AddOverride.
	Factor ghg.Factor
	// Source says where the value comes from, precisely enough for an
	// auditor to find it ("supplier EPD S-P-01234, 2025, Table 4"). Required.
	Source string
	// Reason says why the library's factor is not used. Required.
	Reason string
	// NewActivityType allows an activity type the library has no factor
	// for; otherwise such a type is refused as a likely typo.
	NewActivityType bool
}

// AddOverride validates o against the service's library and stores it as
// org's active override for its activity type and region. The stored
// factor is named override-<id>, its set is OverrideSet with the id as
// version, its source table is o.Source and its source row names the
// reason and who added it, so every result calculated with it explains
// itself. An active override for the same activity type and region is
// refused (store.CodeAlreadyExists): retire it first.
func (s *Service) AddOverride(ctx context.Context, st *store.Store, org uuid.UUID, o NewOverride) (store.FactorOverride, ghg.Factor, error) {
	f, err := s.checkOverride(o)
	if err != nil {
		return store.FactorOverride{}, ghg.Factor{}, err
	}
	id := uuid.Must(uuid.NewV7())
	f.ID = "override-" + id.String()
	f.Ref = ghg.FactorRef{Set: OverrideSet, Version: id.String(), SourceTable: strings.TrimSpace(o.Source),
		SourceRow: fmt.Sprintf("reason: %s; by %s", strings.TrimSpace(o.Reason), store.ActorFrom(ctx))}
	row, err := table.Encode(f)
	if err != nil {
		return store.FactorOverride{}, ghg.Factor{}, fmt.Errorf("override: encoding the factor: %w", err)
	}
	back, err := table.Decode(row, s.units)
	if err != nil {
		return store.FactorOverride{}, ghg.Factor{}, fmt.Errorf("override: the factor does not read back: %w", err)
	}
	rec := store.FactorOverride{ID: id, ActivityType: f.ActivityType, Region: f.Region, TableRow: row, Reason: strings.TrimSpace(o.Reason)}
	if err := st.FactorOverrideAdd(ctx, org, &rec); err != nil {
		return store.FactorOverride{}, ghg.Factor{}, err
	}
	return rec, back, nil
}

// checkOverride refuses a factor the engine could not use, or would use by
// mistake, naming the field.
func (s *Service) checkOverride(o NewOverride) (ghg.Factor, error) {
	f := o.Factor
	f.ActivityType = strings.TrimSpace(f.ActivityType)
	f.Region = strings.TrimSpace(f.Region)
	what := "override"
	if f.ActivityType != "" {
		what = fmt.Sprintf("override for %s in %s", f.ActivityType, cmp.Or(f.Region, "every region"))
	}
	bad := func(format string, args ...any) (ghg.Factor, error) {
		return ghg.Factor{}, fmt.Errorf(what+": "+format, args...)
	}
	switch {
	case strings.TrimSpace(o.Reason) == "":
		return bad("a reason is required: it documents why the library's factor is not used")
	case strings.TrimSpace(o.Source) == "":
		return bad("a source is required: where the value comes from (document, table, row)")
	case f.ActivityType == "":
		return bad("an activity type is required")
	case f.Per.IsZero():
		return bad("the unit the factor is per is required")
	case len(f.KgPerUnit) == 0:
		return bad("at least one gas value is required")
	case f.BiogenicCO2KgPerUnit.IsNegative():
		return bad("biogenic CO2 %s is negative", f.BiogenicCO2KgPerUnit)
	case f.UncertaintyPct.IsNegative():
		return bad("uncertainty %s%% is negative", f.UncertaintyPct)
	case !f.ValidTo.IsZero() && !f.ValidTo.After(f.ValidFrom):
		return bad("valid to %s is not after valid from %s", f.ValidTo.Format("2006-01-02"), f.ValidFrom.Format("2006-01-02"))
	}
	ar6, err := s.gwps.Set(ghg.AR6)
	if err != nil {
		return ghg.Factor{}, err
	}
	for _, g := range slices.Sorted(maps.Keys(f.KgPerUnit)) {
		if f.KgPerUnit[g].IsNegative() {
			return bad("%s %s kg per %s is negative", g, f.KgPerUnit[g], f.Per.Symbol)
		}
		if g == "CO2e" {
			continue
		}
		if _, err := ar6.GWP(g); err != nil {
			return bad("gas %q: %v (give CO2e for a value already in CO2-equivalent)", g, strings.TrimPrefix(err.Error(), "ghg: "))
		}
	}
	// The library's factors for the type: the override must be per a unit
	// an activity of that type can be given in.
	var dims []string
	known := false
	for _, x := range s.factors {
		if x.ActivityType != f.ActivityType {
			continue
		}
		known = true
		dims = append(dims, string(x.Per.Dim))
		if x.HeatContent != nil {
			dims = append(dims, string(x.HeatContent.Per.Dim), string(x.HeatContent.Energy.Unit.Dim))
		}
	}
	if !known && !o.NewActivityType {
		return bad("activity type %q has no factor in the library: check the spelling (greenlang factors list %s), or state that it is new", f.ActivityType, f.ActivityType)
	}
	if known && !slices.Contains(dims, string(f.Per.Dim)) && f.HeatContent == nil {
		slices.Sort(dims)
		return bad("%s is %s, but %s activity is measured in %s: give the factor per one of those units", f.Per.Symbol, f.Per.Dim, f.ActivityType, strings.Join(slices.Compact(dims), " or "))
	}
	return f, nil
}

// OverrideFactor reads the factor of a stored override, checking that it is
// the override's activity type and region.
func OverrideFactor(o store.FactorOverride, units *ghg.Units) (ghg.Factor, error) {
	f, err := table.Decode(o.TableRow, units)
	if err != nil {
		return ghg.Factor{}, fmt.Errorf("factor override %s: %w", o.ID, err)
	}
	if f.ActivityType != o.ActivityType || f.Region != o.Region {
		return ghg.Factor{}, fmt.Errorf("factor override %s: its factor is for %s in %q, the override for %s in %q", o.ID, f.ActivityType, f.Region, o.ActivityType, o.Region)
	}
	return f, nil
}

// OrgFactors is what an organization adds to the factor library: its pinned
// set, if any, and its active overrides.
type OrgFactors struct {
	Org       store.Organization
	Pin       store.FactorPin
	Overrides []ghg.Override
}

// ApplyPin pins o to the organization's set unless o already names a set
// (a set given for the calculation wins). An edition given without a set
// is kept. It reports whether the organization's pin was applied.
func (of OrgFactors) ApplyPin(o *Options) bool {
	if of.Pin.IsZero() || o.PinnedSet != "" {
		return false
	}
	o.PinnedSet = of.Pin.Set
	if o.Edition == 0 {
		o.Edition = of.Pin.Edition
	}
	return true
}

// ForOrganization returns the service org's calculations use: the built-in
// library, the official sets published in the store and the factor tables
// in extra (as NewWithStored), with org's active overrides selected before
// any library factor; and org's pin and overrides. An unknown organization
// is store.CodeNotFound.
func ForOrganization(ctx context.Context, st *store.Store, org uuid.UUID, extra ...io.Reader) (*Service, OrgFactors, error) {
	var of OrgFactors
	o, err := st.OrganizationGet(ctx, org)
	if err != nil {
		if store.CodeOf(err) == store.CodeNotFound {
			return nil, of, &store.Error{Code: store.CodeNotFound, Op: "calculation", Msg: fmt.Sprintf("no organization %s in this store (greenlang org list)", org)}
		}
		return nil, of, err
	}
	of.Org = *o
	if of.Pin, err = o.FactorPin(); err != nil {
		return nil, of, err
	}
	svc, err := NewWithStored(ctx, st, extra...)
	if err != nil {
		return nil, of, err
	}
	stored, err := st.FactorOverrides(ctx, org, false)
	if err != nil {
		return nil, of, fmt.Errorf("reading the organization's factor overrides: %w", err)
	}
	if len(stored) == 0 {
		return svc, of, nil
	}
	for _, rec := range stored {
		f, err := OverrideFactor(rec, svc.units)
		if err != nil {
			return nil, of, err
		}
		of.Overrides = append(of.Overrides, ghg.Override{Factor: f, Reason: rec.Reason, By: rec.CreatedBy})
	}
	svc, err = svc.withOverrides(of.Overrides)
	if err != nil {
		return nil, of, err
	}
	return svc, of, nil
}

// withOverrides returns a service over the same factors with overrides
// selected before them.
func (s *Service) withOverrides(overrides []ghg.Override) (*Service, error) {
	reg, err := ghg.NewRegions(DefaultRegions())
	if err != nil {
		return nil, err
	}
	lib, err := ghg.NewLibrary(reg, s.factors, overrides)
	if err != nil {
		return nil, fmt.Errorf("factor overrides: %w", err)
	}
	return &Service{units: s.units, lib: lib, gwps: s.gwps, factors: s.factors}, nil
}

// PinFactors resolves name (a set's short name such as epa-2025, or a
// publication's name) against the service's library and stores it as org's
// pin; an edition given wins over the short name's. The pin is recorded in
// the audit trail.
func (s *Service) PinFactors(ctx context.Context, st *store.Store, org uuid.UUID, name string, edition int) (store.FactorPin, error) {
	set, ed, err := s.ResolveFactorSet(name)
	if err != nil {
		return store.FactorPin{}, err
	}
	if edition != 0 {
		ed = edition
		found := false
		for _, f := range s.factors {
			found = found || (f.Ref.Set == set && f.Ref.Edition == edition)
		}
		if !found {
			return store.FactorPin{}, fmt.Errorf("%s has no edition %d in the library", set, edition)
		}
	}
	pin := store.FactorPin{Name: strings.TrimSpace(name), Set: set, Edition: ed}
	if err := st.OrganizationPinFactors(ctx, org, pin); err != nil {
		return store.FactorPin{}, err
	}
	return pin, nil
}

// Services keeps each organization's calculation service (ForOrganization)
// while it stays current: building one parses the whole factor library,
// tens of milliseconds, which an upload of ten rows should not pay each
// time. A cached service is used while what it was built from is
// unchanged: the organization's pinned set, its active overrides and the
// official factor sets in the store (three small reads per use). A Service
// is read-only once built, so one serves concurrent calculations.
type Services struct {
	mu   sync.Mutex
	size int
	m    map[uuid.UUID]cachedService
	// building makes concurrent misses for one organization and key wait
	// for one build (a service loads the whole factor library).
	building singleflight.Group
}

type cachedService struct {
	key string
	svc *Service
	of  OrgFactors
}

// NewServices returns a cache of at most size organizations' services
// (0: 64).
func NewServices(size int) *Services {
	if size <= 0 {
		size = 64
	}
	return &Services{size: size, m: map[uuid.UUID]cachedService{}}
}

// ForOrganization is ForOrganization through the cache; c may be nil
// (no cache).
func (c *Services) ForOrganization(ctx context.Context, st *store.Store, org uuid.UUID) (*Service, OrgFactors, error) {
	if c == nil {
		return ForOrganization(ctx, st, org)
	}
	key, err := serviceKey(ctx, st, org)
	if err != nil {
		return nil, OrgFactors{}, err
	}
	c.mu.Lock()
	hit, ok := c.m[org]
	c.mu.Unlock()
	if ok && hit.key == key {
		return hit.svc, hit.of, nil
	}
	v, err, _ := c.building.Do(org.String()+"\x00"+key, func() (any, error) {
		// Shared by every caller waiting: one leaving does not fail the rest.
		svc, of, err := ForOrganization(context.WithoutCancel(ctx), st, org)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if len(c.m) >= c.size {
			clear(c.m)
		}
		hit := cachedService{key: key, svc: svc, of: of}
		c.m[org] = hit
		c.mu.Unlock()
		return hit, nil
	})
	if err != nil {
		return nil, OrgFactors{}, err
	}
	hit = v.(cachedService)
	return hit.svc, hit.of, nil
}

// serviceKey fingerprints what org's service is built from. It is read
// before the service, so a change landing in between is only ever cached
// under the older key.
func serviceKey(ctx context.Context, st *store.Store, org uuid.UUID) (string, error) {
	o, err := st.OrganizationGet(ctx, org)
	if err != nil {
		return "", err
	}
	pin, err := o.FactorPin()
	if err != nil {
		return "", err
	}
	overrides, err := st.FactorOverrides(ctx, org, false)
	if err != nil {
		return "", err
	}
	sets, err := st.OfficialFactorSets(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s/%d|", pin.Name, pin.Set, pin.Edition)
	for _, ov := range overrides {
		b.WriteString(ov.ID.String())
	}
	b.WriteByte('|')
	for _, s := range sets {
		b.WriteString(s.ID.String())
	}
	return b.String(), nil
}
