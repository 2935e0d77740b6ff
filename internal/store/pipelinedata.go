package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// Writes the seed pipelines make (internal/pipeline/seed): each is keyed
// by what the pipeline computes (a data point's code and period, a KPI's
// code and period), so re-running a pipeline for a logical date replaces
// its earlier output instead of adding to it. Changes go through the
// audit trail like any other write.

// UpsertResult counts what an upsert did.
type UpsertResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Locked counts data points left alone because they are approved or
	// published: a pipeline never overwrites a reviewed figure.
	Locked int `json:"locked"`
}

// UpsertDataPoints stores ESRS data points by organization, code and
// period: a new one is created as draft, an existing draft or in-review
// one gets the new value (and keeps its status), an approved or published
// one is left as it is.
func (s *Store) UpsertDataPoints(ctx context.Context, org uuid.UUID, dps []DataPoint) (UpsertResult, error) {
	const op = "store: upserting ESRS data points"
	var res UpsertResult
	c := s.c.dataPoints
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		res = UpsertResult{}
		for i := range dps {
			v := dps[i]
			old := &DataPoint{}
			err := q.QueryRow(ctx, c.selectSQL+" WHERE org_id = $1 AND datapoint_code = $2 AND period_start = $3 AND period_end = $4 FOR UPDATE",
				org, v.DatapointCode, v.PeriodStart.UTC(), v.PeriodEnd.UTC()).Scan(c.dest(old)...)
			switch {
			case s.d.IsNoRows(err):
				if v.Status == "" {
					v.Status = "draft"
				}
				if err := c.createIn(ctx, q, org, &v); err != nil {
					return err
				}
				res.Created++
				continue
			case err != nil:
				return err
			}
			if old.Status == "approved" || old.Status == "published" {
				res.Locked++
				continue
			}
			if sameNull(old.ValueNumeric, v.ValueNumeric) && old.ValueText == v.ValueText && old.Unit == v.Unit && old.Name == v.Name {
				res.Unchanged++
				continue
			}
			v.ID, v.Status = old.ID, old.Status
			if err := c.replaceIn(ctx, q, org, old, &v); err != nil {
				return err
			}
			res.Updated++
		}
		return nil
	})
	return res, err
}

func sameNull(a, b decimal.NullDecimal) bool {
	return a.Valid == b.Valid && (!a.Valid || a.Decimal.Equal(b.Decimal))
}

// KPIPoint is one KPI value for an organization-wide period.
type KPIPoint struct {
	Code, Name, Unit, Description string
	PeriodStart, PeriodEnd        time.Time
	Value                         decimal.Decimal
}

// UpsertKPIValues stores organization-wide KPI values by code and period,
// creating the KPI's definition the first time its code is seen.
func (s *Store) UpsertKPIValues(ctx context.Context, org uuid.UUID, points []KPIPoint) (UpsertResult, error) {
	const op = "store: upserting KPI values"
	var res UpsertResult
	defs, vals := s.c.kpiDefinitions, s.c.kpiValues
	now := s.nowUTC()
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		res = UpsertResult{}
		ids := map[string]uuid.UUID{}
		for _, p := range points {
			id, ok := ids[p.Code]
			if !ok {
				d := &KPIDefinition{}
				err := q.QueryRow(ctx, defs.selectSQL+" WHERE org_id = $1 AND code = $2", org, p.Code).Scan(defs.dest(d)...)
				if s.d.IsNoRows(err) {
					d = &KPIDefinition{Code: p.Code, Name: p.Name, Unit: p.Unit, Description: p.Description, Direction: "lower_better"}
					err = defs.createIn(ctx, q, org, d)
				}
				if err != nil {
					return err
				}
				id = d.ID
				ids[p.Code] = id
			}
			old := &KPIValue{}
			v := &KPIValue{KPIID: id, PeriodStart: p.PeriodStart.UTC(), PeriodEnd: p.PeriodEnd.UTC(), Value: p.Value, ComputedAt: now}
			err := q.QueryRow(ctx, vals.selectSQL+" WHERE org_id = $1 AND kpi_id = $2 AND site_id IS NULL AND period_start = $3 AND period_end = $4 FOR UPDATE",
				org, id, v.PeriodStart, v.PeriodEnd).Scan(vals.dest(old)...)
			switch {
			case s.d.IsNoRows(err):
				if err := vals.createIn(ctx, q, org, v); err != nil {
					return err
				}
				res.Created++
				continue
			case err != nil:
				return err
			}
			if old.Value.Equal(v.Value) {
				res.Unchanged++
				continue
			}
			v.ID = old.ID
			if err := vals.replaceIn(ctx, q, org, old, v); err != nil {
				return err
			}
			res.Updated++
		}
		return nil
	})
	return res, err
}

// KPIHistory returns an organization-wide KPI's values by period start
// (oldest first), at most limit of the latest.
func (s *Store) KPIHistory(ctx context.Context, org uuid.UUID, code string, limit int) ([]KPIValue, error) {
	const op = "store: reading a KPI's history"
	vals := s.c.kpiValues
	var out []KPIValue
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, vals.selectSQL+` WHERE org_id = $1 AND site_id IS NULL AND kpi_id = (SELECT id FROM analytics.kpi_definitions WHERE org_id = $1 AND code = $2)
			ORDER BY period_start DESC LIMIT $3`, org, code, int64(max(limit, 1)))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v := KPIValue{}
			if err := rows.Scan(vals.dest(&v)...); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// ERPRecordsOfKind calls fn with every record of kind (not deleted) that
// org's ERP connections synced, by connection and key.
func (s *Store) ERPRecordsOfKind(ctx context.Context, org uuid.UUID, kind string, fn func(conn uuid.UUID, key string, data JSON) error) error {
	const op = "store: reading ERP records"
	return s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, "SELECT connection_id, record_key, data FROM integration.erp_records WHERE org_id = $1 AND kind = $2 AND NOT deleted ORDER BY connection_id, record_key", org, kind)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var conn uuid.UUID
			var key string
			var data JSON
			if err := rows.Scan(&conn, &key, &data); err != nil {
				return err
			}
			if err := fn(conn, key, data); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
