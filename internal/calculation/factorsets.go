package calculation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/factors/builtin"
	"github.com/greenlang/greenlang/internal/factors/table"
	"github.com/greenlang/greenlang/internal/store"
)

// factorAttrs is what a stored factor value keeps beyond its columns: the
// factor's id, the publication row it cites, and the whole factor as a row
// of the project's factor table, from which it is read back exactly.
type factorAttrs struct {
	FactorID  string `json:"factor_id"`
	SourceRow string `json:"source_row"`
	Edition   int    `json:"edition"`
	TableRow  string `json:"table_row"`
}

// PublishedSet names a set PublishFactors stored.
type PublishedSet struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Factors int    `json:"factors"`
	Values  int    `json:"values"`
}

// PublishFactors stores factors in the store's master data as official
// factor sets, one per publication and version, each in one transaction and
// immutable from then on. A set already published is refused whole, and so,
// before anything is written, is an edition the built-in library ships.
func PublishFactors(ctx context.Context, st *store.Store, fs []ghg.Factor) ([]PublishedSet, error) {
	type key struct{ name, version string }
	shipped, err := builtin.Factors(ghg.NewUnits())
	if err != nil {
		return nil, err
	}
	builtinSets := map[key]bool{}
	for _, f := range shipped {
		builtinSets[key{f.Ref.Set, f.Ref.Version}] = true
	}
	for _, f := range fs {
		if builtinSets[key{f.Ref.Set, f.Ref.Version}] {
			return nil, fmt.Errorf("%s %s is built in; nothing was published", f.Ref.Set, f.Ref.Version)
		}
	}
	groups := map[key][]ghg.Factor{}
	for _, f := range fs {
		k := key{f.Ref.Set, f.Ref.Version}
		groups[k] = append(groups[k], f)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].name+keys[i].version < keys[j].name+keys[j].version })
	var out []PublishedSet
	for _, k := range keys {
		group := groups[k]
		set := &store.FactorSet{Name: k.name, Publisher: k.name, Version: k.version, Edition: fmt.Sprint(group[0].Ref.Edition)}
		var values []store.EmissionFactor
		for i, f := range group {
			if i == 0 || f.ValidFrom.Before(set.ValidFrom) {
				set.ValidFrom = f.ValidFrom
			}
			row, err := table.Encode(f)
			if err != nil {
				return out, fmt.Errorf("factor %s: %w", f.ID, err)
			}
			attrs, _ := json.Marshal(factorAttrs{FactorID: f.ID, SourceRow: f.Ref.SourceRow, Edition: f.Ref.Edition, TableRow: row})
			v := store.EmissionFactor{ActivityType: f.ActivityType, Name: f.ID, Region: f.Region, ValueUnit: "kg", PerUnit: f.Per.Symbol,
				HeatBasis: string(f.PerBasis), SourceTable: f.Ref.SourceTable, ValidFrom: f.ValidFrom, Attributes: attrs}
			if f.HeatContent != nil {
				v.HeatContent = decimal.NewNullDecimal(f.HeatContent.Energy.Value)
				v.HeatBasis = string(f.HeatContent.Basis)
			}
			if !f.UncertaintyPct.IsZero() {
				v.UncertaintyPct = decimal.NewNullDecimal(f.UncertaintyPct)
			}
			if !f.ValidTo.IsZero() {
				t := f.ValidTo
				v.ValidTo = &t
			}
			gases := make([]string, 0, len(f.KgPerUnit))
			for g := range f.KgPerUnit {
				gases = append(gases, g)
			}
			sort.Strings(gases)
			for _, g := range gases {
				x := v
				x.Gas, x.Value = g, f.KgPerUnit[g]
				if g == "CO2e" {
					x.ValueUnit = "kg CO2e"
				}
				values = append(values, x)
			}
			if !f.BiogenicCO2KgPerUnit.IsZero() {
				x := v
				x.Gas, x.Value = "biogenic CO2", f.BiogenicCO2KgPerUnit
				values = append(values, x)
			}
		}
		if set.ValidFrom.IsZero() {
			set.ValidFrom = time.Date(group[0].Ref.Edition, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if err := st.PublishFactorSet(ctx, set, values); err != nil {
			return out, fmt.Errorf("publishing %s %s: %w", k.name, k.version, err)
		}
		out = append(out, PublishedSet{Name: k.name, Version: k.version, Factors: len(group), Values: len(values)})
	}
	return out, nil
}

// StoredFactors reads every official factor set published in the store.
func StoredFactors(ctx context.Context, st *store.Store, units *ghg.Units) ([]ghg.Factor, error) {
	sets, err := st.OfficialFactorSets(ctx)
	if err != nil {
		return nil, err
	}
	var out []ghg.Factor
	for _, set := range sets {
		values, err := st.FactorSetValues(ctx, set.ID)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, v := range values {
			var a factorAttrs
			if err := json.Unmarshal(v.Attributes, &a); err != nil || a.TableRow == "" {
				return nil, fmt.Errorf("factor set %s %s: value %s has no factor row", set.Name, set.Version, v.ID)
			}
			if seen[a.FactorID] {
				continue
			}
			seen[a.FactorID] = true
			f, err := table.Decode(a.TableRow, units)
			if err != nil {
				return nil, fmt.Errorf("factor set %s %s: %w", set.Name, set.Version, err)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// NewWithStored returns a service over the built-in library, the official
// sets published in the store and the factor tables in extra, none of which
// may repeat a factor already in it.
func NewWithStored(ctx context.Context, st *store.Store, extra ...io.Reader) (*Service, error) {
	units := ghg.NewUnits()
	stored, err := StoredFactors(ctx, st, units)
	if err != nil {
		return nil, fmt.Errorf("reading the store's factor sets: %w", err)
	}
	return newBuiltinWith(units, stored, extra)
}
