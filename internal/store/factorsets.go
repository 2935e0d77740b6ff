package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store/driver"
)

const factorSetCols = "id, org_id, name, publisher, edition, version, valid_from, valid_to, source_url, license, created_at"
const emissionFactorCols = "id, org_id, factor_set_id, activity_type, name, region, gas, value, value_unit, per_unit, heat_content, heat_basis, uncertainty_pct, source_table, valid_from, valid_to, attributes"

// PublishFactorSet stores an official factor set (org nil, visible to every
// tenant) with all its factor values in one transaction. A published set is
// immutable: a set with the same name and version is refused
// (CodeAlreadyExists), and neither the set nor its values can be changed or
// deleted afterwards (the engines refuse it). A new edition is a new set.
func (s *Store) PublishFactorSet(ctx context.Context, set *FactorSet, factors []EmissionFactor) error {
	const op = "store: publishing a factor set"
	if set.Name == "" || set.Version == "" {
		return errorf(CodeInvalidArgument, op, "a factor set needs a name and a version")
	}
	if len(factors) == 0 {
		return errorf(CodeInvalidArgument, op, "factor set %s %s has no factors", set.Name, set.Version)
	}
	if set.ID == uuid.Nil {
		set.ID = newID()
	}
	set.OrgID = nil
	set.CreatedAt = s.nowUTC()
	rows := make([][]any, len(factors))
	for i := range factors {
		f := &factors[i]
		if f.ID == uuid.Nil {
			f.ID = newID()
		}
		f.FactorSetID = set.ID
		if f.ActivityType == "" || f.Gas == "" || f.PerUnit == "" {
			return errorf(CodeInvalidArgument, op, "factor %d: activity type, gas and unit are required", i+1)
		}
		attrs := f.Attributes
		if len(attrs) == 0 {
			attrs = JSON("{}")
		}
		rows[i] = derefAll([]any{f.ID, nil, f.FactorSetID, f.ActivityType, f.Name, f.Region, f.Gas, f.Value, f.ValueUnit, f.PerUnit,
			f.HeatContent, f.HeatBasis, f.UncertaintyPct, f.SourceTable, f.ValidFrom.UTC(), f.ValidTo, attrs})
	}
	table := driver.Table{Name: "master_data.emission_factors", Columns: strings.Split(emissionFactorCols, ", ")}
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		if _, err := q.Exec(ctx, "INSERT INTO master_data.factor_sets ("+factorSetCols+") VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			set.ID, set.Name, set.Publisher, set.Edition, set.Version, set.ValidFrom.UTC(), derefAll([]any{set.ValidTo})[0], set.SourceURL, set.License, set.CreatedAt); err != nil {
			return err
		}
		n, err := s.d.BulkInsert(ctx, q, table, rows)
		if err != nil {
			return err
		}
		if n != int64(len(rows)) {
			return fmt.Errorf("stored %d of %d factor values", n, len(rows))
		}
		return nil
	})
	if CodeOf(err) == CodeAlreadyExists {
		return &Error{Code: CodeAlreadyExists, Op: op, Msg: fmt.Sprintf("%s %s already exists: a published set is immutable; publish a new edition under a new version", set.Name, set.Version)}
	}
	return err
}

// OfficialFactorSets lists the published official sets, by name and version.
func (s *Store) OfficialFactorSets(ctx context.Context) ([]FactorSet, error) {
	var out []FactorSet
	err := s.systemTx(ctx, "store: listing factor sets", true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, "SELECT "+factorSetCols+" FROM master_data.factor_sets WHERE org_id IS NULL ORDER BY name, version")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f FactorSet
			if err := rows.Scan(&f.ID, &f.OrgID, &f.Name, &f.Publisher, &f.Edition, &f.Version, &f.ValidFrom, &f.ValidTo, &f.SourceURL, &f.License, &f.CreatedAt); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}

// FactorSetValues reads every value of a set, in id order.
func (s *Store) FactorSetValues(ctx context.Context, set uuid.UUID) ([]EmissionFactor, error) {
	var out []EmissionFactor
	err := s.systemTx(ctx, "store: reading factor values", true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, "SELECT "+emissionFactorCols+" FROM master_data.emission_factors WHERE factor_set_id = $1 ORDER BY id", set)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f EmissionFactor
			var org *uuid.UUID
			if err := rows.Scan(&f.ID, &org, &f.FactorSetID, &f.ActivityType, &f.Name, &f.Region, &f.Gas, &f.Value, &f.ValueUnit, &f.PerUnit,
				&f.HeatContent, &f.HeatBasis, &f.UncertaintyPct, &f.SourceTable, &f.ValidFrom, &f.ValidTo, &f.Attributes); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}
