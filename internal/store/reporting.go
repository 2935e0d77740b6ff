package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// MonthlyEmissions reads org's monthly emissions by scope in [from, to) as of
// the last Maintain (the platform refreshes it; PostgreSQL keeps it as a
// materialized view).
func (s *Store) MonthlyEmissions(ctx context.Context, org uuid.UUID, from, to time.Time) ([]MonthlyEmissions, error) {
	var out []MonthlyEmissions
	err := s.tenantTx(ctx, "store: reading monthly emissions", org, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, `SELECT month, scope, scope2_basis, co2e_kg, records FROM reporting.monthly_emissions
			WHERE org_id = $1 AND month >= $2 AND month < $3 ORDER BY month, scope, scope2_basis`, org, from.UTC(), to.UTC())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m MonthlyEmissions
			if err := rows.Scan(&m.Month, &m.Scope, &m.Scope2Basis, &m.CO2eKg, &m.Records); err != nil {
				return fmt.Errorf("scanning monthly emissions: %w", err)
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}
