package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
)

// TestForeignKeyChecksUseTheKeyIndex: the per-row foreign-key checks into
// the partitioned tables, planned generically as bulk loads plan them and
// against a small, unanalyzed partition (a new organization's first load),
// must use the referenced key's own index. Before migration 17 the planner
// took an (org_id, source_id, period_start) index and filtered on id, and
// a 20,000-row run whose first chunk was small took twenty times longer.
func TestForeignKeyChecksUseTheKeyIndex(t *testing.T) {
	db := newTestDB(t)
	s := open(t, db, store.Options{})
	ctx := context.Background()
	org := drivertest.NewOrg(t, s)
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range []struct{ table, key, index string }{
		{"emissions.activity_records", "period_start", "activity_records_default_org_id_id_period_start_key"},
		{"supply_chain.purchase_orders", "order_date", "purchase_orders_default_org_id_id_order_date_key"},
	} {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			t.Fatal(err)
		}
		// The query PostgreSQL's referential-integrity trigger runs.
		if _, err := tx.Exec(ctx, "PREPARE ri(uuid, uuid, timestamptz) AS SELECT 1 FROM "+c.table+" x WHERE org_id = $1 AND id = $2 AND "+c.key+" = $3 FOR KEY SHARE OF x"); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, "EXPLAIN EXECUTE ri('"+org.ID.String()+"', gen_random_uuid(), '2030-01-01')")
		if err != nil {
			t.Fatal(err)
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if all := strings.Join(plan, "\n"); !strings.Contains(all, "Index Scan using "+c.index) || strings.Contains(all, "Filter") {
			t.Errorf("%s: the foreign-key check's generic plan does not look the key up by its index:\n%s", c.table, all)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "DEALLOCATE ri"); err != nil { // prepared statements outlive transactions
			t.Fatal(err)
		}
	}
}
