package ghg

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Regions is the region hierarchy factors are looked up in: each region's
// parent, up to the global region "". An eGRID subregion's parent is its
// country, a country's its market or continent.
type Regions struct {
	parent map[string]string
}

// NewRegions builds a hierarchy from child → parent pairs. A region with no
// parent falls back to the global region.
func NewRegions(parents map[string]string) (*Regions, error) {
	r := &Regions{parent: make(map[string]string, len(parents))}
	for child, p := range parents {
		if child == "" {
			return nil, fmt.Errorf("regions: the global region has no parent")
		}
		r.parent[child] = p
	}
	for child := range r.parent { // refuse cycles
		seen := map[string]bool{}
		for c := child; c != ""; c = r.parentOf(c) {
			if seen[c] {
				return nil, fmt.Errorf("regions: %q is its own ancestor", c)
			}
			seen[c] = true
		}
	}
	return r, nil
}

// Path is the lookup order for region: itself, its ancestors, then global.
// A region without an explicit parent whose code has the ISO 3166-2 form
// "CC-XXX" (US-CAMX, DE-BY) falls back to the country CC.
func (r *Regions) Path(region string) []string {
	var out []string
	for c := region; c != ""; c = r.parentOf(c) {
		out = append(out, c)
	}
	return append(out, "")
}

func (r *Regions) parentOf(c string) string {
	if p, ok := r.parent[c]; ok {
		return p
	}
	if country, _, ok := strings.Cut(c, "-"); ok {
		return country
	}
	return ""
}

// Override is a tenant's own factor for one activity type and region,
// replacing the library's, with the reason documented.
type Override struct {
	Factor Factor
	Reason string
	By     string
}

// Library holds the factors of every published set and selects one for an
// activity. It is read-only once built and safe for concurrent use.
type Library struct {
	regions   *Regions
	byType    map[string][]Factor
	overrides map[string]Override // activity type + "|" + region
}

// NewLibrary indexes factors. Two factors of the same edition for the same
// activity type and region that are valid at the same time are refused: the
// choice between them would be arbitrary.
func NewLibrary(regions *Regions, factors []Factor, overrides []Override) (*Library, error) {
	l := &Library{regions: regions, byType: map[string][]Factor{}, overrides: map[string]Override{}}
	for _, f := range factors {
		if f.ID == "" || f.ActivityType == "" || f.Per.IsZero() {
			return nil, fmt.Errorf("factor %q: id, activity type and unit are required", f.ID)
		}
		for _, g := range l.byType[f.ActivityType] {
			if g.Region == f.Region && g.Ref.Set == f.Ref.Set && g.Ref.Edition == f.Ref.Edition &&
				g.Per.Symbol == f.Per.Symbol && g.PerBasis == f.PerBasis && overlaps(f, g) {
				return nil, fmt.Errorf("factors %q and %q both cover %s per %s in %q for %s %d", g.ID, f.ID, f.ActivityType, f.Per.Symbol, f.Region, f.Ref.Set, f.Ref.Edition)
			}
		}
		l.byType[f.ActivityType] = append(l.byType[f.ActivityType], f)
	}
	for _, o := range overrides {
		if strings.TrimSpace(o.Reason) == "" {
			return nil, fmt.Errorf("override %q: a reason is required", o.Factor.ID)
		}
		l.overrides[o.Factor.ActivityType+"|"+o.Factor.Region] = o
	}
	return l, nil
}

func overlaps(a, b Factor) bool {
	aEnd, bEnd := a.ValidTo, b.ValidTo
	return (aEnd.IsZero() || b.ValidFrom.Before(aEnd)) && (bEnd.IsZero() || a.ValidFrom.Before(bEnd))
}

func (f Factor) validAt(t time.Time) bool {
	return !t.Before(f.ValidFrom) && (f.ValidTo.IsZero() || t.Before(f.ValidTo))
}

// Query asks for a factor.
type Query struct {
	ActivityType string
	Region       string
	Date         time.Time // the activity's date; its year picks the edition
	// PinnedSet restricts the choice to one publication ("EPA GHG Emission
	// Factors Hub") and, when PinnedEdition is set, one edition of it, even
	// a later one than the activity's year, and even before the factor's
	// ValidFrom (the trail says so); ValidTo still holds.
	PinnedSet     string
	PinnedEdition int
	// Dim, when set, takes only factors per a unit of that dimension (the
	// activity's): a fuel in litres meets the per-litre factor, or a per-kWh
	// one through its heat content only if no per-litre factor exists.
	Dim Dimension
	// Unit, when set, prefers among factors of the same edition the one per
	// the activity's own unit (DESNZ publishes cars per km and per mile).
	Unit string
	// Basis picks between per-kWh factors on a gross (HHV) and a net (NCV)
	// calorific basis when a publication gives both.
	Basis HeatBasis
}

// Selection is the chosen factor and how it was found.
type Selection struct {
	Factor Factor   `json:"factor"`
	Trail  []string `json:"trail"`
}

// Select walks the region hierarchy from the most specific region to the
// global one and, at the first region with candidates, takes the latest
// edition not after the activity's year (or the pinned one) that is valid
// at the activity's date. Every step is recorded in the trail.
func (l *Library) Select(q Query) (Selection, error) {
	var trail []string
	for _, region := range l.regions.Path(q.Region) {
		name := region
		if name == "" {
			name = "global"
		}
		if o, ok := l.overrides[q.ActivityType+"|"+region]; ok {
			if o.Factor.validAt(q.Date) {
				trail = append(trail, fmt.Sprintf("%s: tenant override %q (%s, by %s)", name, o.Factor.ID, o.Reason, o.By))
				return Selection{Factor: o.Factor, Trail: trail}, nil
			}
			trail = append(trail, fmt.Sprintf("%s: tenant override %q not valid on %s", name, o.Factor.ID, q.Date.Format("2006-01-02")))
		}
		var cands []Factor
		for _, f := range l.byType[q.ActivityType] {
			if f.Region != region || (q.PinnedSet != "" && f.Ref.Set != q.PinnedSet) || (q.PinnedEdition != 0 && f.Ref.Edition != q.PinnedEdition) {
				continue
			}
			if q.PinnedEdition == 0 && f.Ref.Edition > q.Date.Year() {
				continue
			}
			// A pinned edition applies even to activities dated before it
			// starts (the point of pinning a later edition); a factor's end
			// of validity still holds.
			valid := f.validAt(q.Date) || (q.PinnedEdition != 0 && q.Date.Before(f.ValidFrom))
			if !valid || (q.Basis != "" && f.PerBasis != "" && f.PerBasis != q.Basis) {
				continue
			}
			cands = append(cands, f)
		}
		if q.Dim != "" {
			same := cands[:0:0]
			for _, f := range cands {
				if f.Per.Dim == q.Dim {
					same = append(same, f)
				}
			}
			if len(same) > 0 {
				cands = same
			} else {
				var conv []Factor // reachable through a heat content
				for _, f := range cands {
					if f.HeatContent != nil && (f.HeatContent.Per.Dim == q.Dim || q.Dim == Energy) {
						conv = append(conv, f)
					}
				}
				cands = conv
			}
		}
		if len(cands) == 0 {
			trail = append(trail, name+": no factor")
			continue
		}
		sort.Slice(cands, func(i, j int) bool {
			if cands[i].Ref.Edition != cands[j].Ref.Edition {
				return cands[i].Ref.Edition > cands[j].Ref.Edition
			}
			return cands[i].ID < cands[j].ID
		})
		if q.Unit != "" && len(cands) > 1 && cands[0].Ref.Edition == cands[1].Ref.Edition {
			var own []Factor // the latest edition's factors per the activity's unit
			for _, f := range cands {
				if f.Ref.Edition == cands[0].Ref.Edition && f.Per.Symbol == q.Unit {
					own = append(own, f)
				}
			}
			if len(own) > 0 {
				cands = own
			}
		}
		if len(cands) > 1 && cands[0].Ref.Edition == cands[1].Ref.Edition {
			hint := "pin a set"
			if cands[0].PerBasis != cands[1].PerBasis {
				hint = "state the calorific basis (HHV or NCV)"
			} else if cands[0].Per.Dim != cands[1].Per.Dim {
				hint = "give the activity's unit"
			}
			return Selection{}, fmt.Errorf("factor for %s in %s: %q and %q are equally recent (%d); %s", q.ActivityType, name, cands[0].ID, cands[1].ID, cands[0].Ref.Edition, hint)
		}
		step := fmt.Sprintf("%s: %q from %s (edition %d of %d candidates' latest)", name, cands[0].ID, cands[0].Ref, cands[0].Ref.Edition, len(cands))
		if q.Date.Before(cands[0].ValidFrom) {
			step += fmt.Sprintf("; the pinned edition applies although the activity's date %s is before the factor's validity from %s",
				q.Date.Format("2006-01-02"), cands[0].ValidFrom.Format("2006-01-02"))
		}
		trail = append(trail, step)
		return Selection{Factor: cands[0], Trail: trail}, nil
	}
	if len(l.byType[q.ActivityType]) == 0 {
		return Selection{}, fmt.Errorf("no factor for activity type %q", q.ActivityType)
	}
	pin := ""
	if q.PinnedSet != "" {
		pin = fmt.Sprintf(" in the pinned set %s", q.PinnedSet)
		if q.PinnedEdition != 0 {
			pin += fmt.Sprintf(" %d", q.PinnedEdition)
		}
	}
	return Selection{}, fmt.Errorf("no factor for %s%s in region %q or its parents valid on %s: %s", q.ActivityType, pin, q.Region, q.Date.Format("2006-01-02"), strings.Join(trail, "; "))
}
