package pgstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore"
)

// tenantTables are every table with an org_id and a tenant policy.
var tenantTables = []string{
	"core.users", "core.api_tokens", "core.sites",
	"emissions.emission_sources", "emissions.activity_records", "emissions.calculation_runs", "emissions.calculated_emissions",
	"supply_chain.suppliers", "supply_chain.products", "supply_chain.purchase_orders", "supply_chain.purchase_order_lines",
	"csrd.data_points", "audit.log", "integration.erp_connections", "integration.sync_jobs",
	"iot.devices", "iot.sensor_readings", "iot.alerts", "iot.device_credentials", "iot.device_commands", "iot.firmware_campaigns", "analytics.kpi_definitions", "analytics.kpi_values",
}

// appConn is a raw connection as the application role: what an injected or
// careless query on the application's connection could do.
func appConn(t *testing.T, db testDB) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func seed(t *testing.T, s *store.Store, n int) []*store.Organization {
	t.Helper()
	ctx := context.Background()
	var orgs []*store.Organization
	for range n {
		o := drivertest.NewOrg(t, s)
		site := &store.Site{Name: "HQ"}
		if err := s.Sites().Create(ctx, o.ID, site); err != nil {
			t.Fatal(err)
		}
		src := &store.EmissionSource{Name: "grid", Scope: 2, SiteID: &site.ID}
		if err := s.EmissionSources().Create(ctx, o.ID, src); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ActivityRecords().BulkInsert(ctx, o.ID, drivertest.ActivityRows(src.ID, 10)); err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, o)
	}
	return orgs
}

// TestRawSQLCannotCrossTenants runs raw statements without any org_id filter
// on the application's own connection: row-level security alone must keep
// them inside the tenant of the transaction.
func TestRawSQLCannotCrossTenants(t *testing.T) {
	db := newTestDB(t)
	s := open(t, db, store.Options{Keys: drivertest.TestKeys(t)})
	orgs := seed(t, s, 2)
	a, b := orgs[0].ID, orgs[1].ID
	ctx := context.Background()
	c := appConn(t, db)

	count := func(tx pgx.Tx, table string) int {
		t.Helper()
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("counting %s: %v", table, err)
		}
		return n
	}
	// No tenant set: nothing is visible anywhere.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range append(tenantTables, "core.organizations", "reporting.monthly_emissions") {
		if n := count(tx, table); n != 0 {
			t.Errorf("%s: %d rows visible without a tenant", table, n)
		}
	}
	if _, err := tx.Exec(ctx, "SET row_security = off"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT count(*) FROM core.sites"); err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("row_security=off did not refuse the query: %v", err)
	}
	tx.Rollback(ctx)

	// Tenant A set: unfiltered reads, updates and deletes touch A's rows only.
	tx, err = c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT set_config('greenlang.org_id', $1, true)", a.String()); err != nil {
		t.Fatal(err)
	}
	if n := count(tx, "core.organizations"); n != 1 {
		t.Errorf("organizations visible to A: %d", n)
	}
	if n := count(tx, "emissions.activity_records"); n != 10 {
		t.Errorf("activity records visible to A: %d, want 10", n)
	}
	tag, err := tx.Exec(ctx, "UPDATE core.sites SET name = 'pwned'")
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Errorf("unfiltered UPDATE touched %d sites, want only A's 1", tag.RowsAffected())
	}
	if _, err := tx.Exec(ctx, "INSERT INTO core.sites (id, org_id, name, created_at, updated_at) VALUES ($1, $2, 'x', now(), now())", uuid.New(), b); err == nil {
		t.Error("inserting a row for tenant B while acting for A succeeded")
	}
	tx.Rollback(ctx)
	tx, _ = c.Begin(ctx)
	tx.Exec(ctx, "SELECT set_config('greenlang.org_id', $1, true)", a.String())
	tag, err = tx.Exec(ctx, "DELETE FROM emissions.activity_records")
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 10 {
		t.Errorf("unfiltered DELETE removed %d records, want A's 10", tag.RowsAffected())
	}
	tx.Rollback(ctx)

	// Partitions are not granted: reading one directly is refused.
	if _, err := c.Exec(ctx, "SELECT count(*) FROM emissions.activity_records_default"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("direct partition read: %v", err)
	}
	// The application role cannot switch itself out of row-level security.
	if _, err := c.Exec(ctx, "SET ROLE postgres"); err == nil {
		t.Error("greenlang_app could SET ROLE postgres")
	}
	// B's data is untouched.
	sites, err := s.Sites().List(ctx, b, store.ListOptions{})
	if err != nil || len(sites) != 1 || sites[0].Name != "HQ" {
		t.Errorf("tenant B's sites: %v %v", sites, err)
	}
}

// TestAuditTrailIsAppendOnly checks the application role's privileges on the trail.
func TestAuditTrailIsAppendOnly(t *testing.T) {
	db := newTestDB(t)
	s := open(t, db, store.Options{})
	a := seed(t, s, 1)[0].ID
	ctx := context.Background()
	c := appConn(t, db)
	for _, stmt := range []string{
		"UPDATE audit.log SET actor_id = 'x'",
		"DELETE FROM audit.log",
		"TRUNCATE audit.log",
		"UPDATE audit.log_default SET actor_id = 'x'",
		"ALTER TABLE audit.log DISABLE ROW LEVEL SECURITY",
		"DROP TABLE audit.log",
	} {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx.Exec(ctx, "SELECT set_config('greenlang.org_id', $1, true)", a.String())
		_, err = tx.Exec(ctx, stmt)
		tx.Rollback(ctx)
		if err == nil || !(strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "must be owner")) {
			t.Errorf("%s: got %v, want permission denied", stmt, err)
		}
	}
	rep, err := s.VerifyAudit(ctx, a)
	if err != nil || !rep.OK() {
		t.Errorf("verify after refused tampering: %+v %v", rep, err)
	}
}

// TestSchemaProperties checks what the migration built: real schemas, FORCEd
// row-level security on every tenant table, an application role that owns
// nothing and bypasses nothing, BRIN and GIN indexes, monthly partitions.
func TestSchemaProperties(t *testing.T) {
	db := newTestDB(t)
	s := open(t, db, store.Options{})
	ctx := context.Background()
	a := newAdmin(t, db)
	q := func(sql string, args ...any) string {
		t.Helper()
		v, err := a.QueryString(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return v
	}
	if got := q(`SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN
		('core','emissions','supply_chain','csrd','audit','integration','iot','analytics','master_data','reporting')`); got != "analytics,audit,core,csrd,emissions,integration,iot,master_data,reporting,supply_chain" {
		t.Errorf("schemas: %s", got)
	}
	for _, table := range append(tenantTables, "core.organizations", "master_data.factor_sets", "master_data.emission_factors") {
		if got := q(`SELECT relrowsecurity::text || relforcerowsecurity::text FROM pg_class WHERE oid = $1::regclass`, table); got != "truetrue" {
			t.Errorf("%s: row security enabled/forced = %s", table, got)
		}
	}
	if got := q(`SELECT (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)::text FROM pg_roles WHERE rolname = $1`, pgstore.AppRole); got != "false" {
		t.Errorf("greenlang_app privileged: %s", got)
	}
	if got := q(`SELECT count(*)::text FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1`, pgstore.AppRole); got != "0" {
		t.Errorf("greenlang_app owns %s relations", got)
	}
	for _, idx := range []string{"activity_records_period_brin", "calculated_emissions_period_brin", "sensor_readings_ts_brin", "audit_log_time_brin", "purchase_orders_date_brin"} {
		if got := q(`SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = $1`, idx); got != "brin" {
			t.Errorf("%s: access method %q, want brin", idx, got)
		}
	}
	for _, idx := range []string{"suppliers_search", "suppliers_esg"} {
		if got := q(`SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = $1`, idx); got != "gin" {
			t.Errorf("%s: access method %q, want gin", idx, got)
		}
	}
	// Dropped by migration 17: no query searched these documents.
	for _, idx := range []string{"activity_records_attributes", "calculated_emissions_lineage"} {
		if got := q(`SELECT count(*)::text FROM pg_class WHERE relname = $1`, idx); got != "0" {
			t.Errorf("index %s still exists", idx)
		}
	}
	for _, table := range pgstore.PartitionedTables() {
		if got := q(`SELECT (pg_get_partkeydef($1::regclass) LIKE 'RANGE%')::text`, table); got != "true" {
			t.Errorf("%s is not range partitioned", table)
		}
	}
	if got := q(`SELECT relkind::text FROM pg_class WHERE oid = 'reporting.monthly_emissions_by_scope'::regclass`); got != "m" {
		t.Errorf("monthly emissions is not a materialized view: %s", got)
	}
	// Supplier full-text search through the GIN-indexed tsvector.
	o := drivertest.NewOrg(t, s)
	if err := s.Suppliers().Create(ctx, o.ID, &store.Supplier{Name: "Nordic Aluminium AB", TaxID: "SE556"}); err != nil {
		t.Fatal(err)
	}
	if got := q(`SELECT name FROM supply_chain.suppliers WHERE search @@ plainto_tsquery('simple', 'aluminium') AND org_id = $1`, o.ID); got != "Nordic Aluminium AB" {
		t.Errorf("full-text search found %q", got)
	}
}

// TestPartitionMaintenance inserts far-past, current and far-future rows,
// runs maintenance and checks that partitions exist ahead of time, that rows
// left the DEFAULT partition where they may, and that nothing was lost.
func TestPartitionMaintenance(t *testing.T) {
	db := newTestDB(t)
	s := open(t, db, store.Options{})
	ctx := context.Background()
	a := newAdmin(t, db)
	o := drivertest.NewOrg(t, s)
	dev := &store.Device{DeviceType: "energy_meter", Serial: "m1"}
	if err := s.Devices().Create(ctx, o.ID, dev); err != nil {
		t.Fatal(err)
	}
	past := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	future := time.Date(2150, 7, 4, 0, 0, 0, 0, time.UTC)
	now := time.Now().UTC()
	for _, at := range []time.Time{past, now, future} {
		if _, err := s.SensorReadingsInsert(ctx, o.ID, drivertest.Readings(dev.ID, at, 5)); err != nil {
			t.Fatalf("inserting readings at %v: %v", at, err)
		}
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Maintain(ctx); err != nil {
		t.Fatalf("second maintenance: %v", err)
	}
	exists := func(name string) bool {
		v, err := a.QueryString(ctx, `SELECT (to_regclass($1) IS NOT NULL)::text`, name)
		if err != nil {
			t.Fatal(err)
		}
		return v == "true"
	}
	// Three months ahead of this month (from its first day: 30 November
	// plus three months is 2 March, past the maintained February).
	ahead := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 3, 0)
	for _, name := range []string{
		"iot.sensor_readings_p" + now.Format("200601"),
		"iot.sensor_readings_p" + ahead.Format("200601"),
		"iot.sensor_readings_p197001", "iot.sensor_readings_p215007",
		"emissions.activity_records_p" + ahead.Format("200601"),
		"audit.log_p" + now.Format("200601"),
	} {
		if !exists(name) {
			t.Errorf("partition %s missing after maintenance", name)
		}
	}
	if n, _ := a.QueryString(ctx, `SELECT count(*)::text FROM iot.sensor_readings_default`); n != "0" {
		t.Errorf("%s readings left in the DEFAULT partition", n)
	}
	if n, _ := a.QueryString(ctx, `SELECT count(*)::text FROM iot.sensor_readings_p197001`); n != "5" {
		t.Errorf("1970 partition holds %s readings, want 5", n)
	}
	for _, at := range []time.Time{past, now, future} {
		got, err := s.SensorReadings(ctx, o.ID, store.SensorReadingsQuery{DeviceID: dev.ID, Metric: "energy_kwh", From: at, To: at.Add(time.Minute)})
		if err != nil || len(got) != 5 {
			t.Errorf("readings at %v after maintenance: %d %v", at, len(got), err)
		}
	}
	// New partitions carry no grants: the application still cannot read them directly.
	c := appConn(t, db)
	if _, err := c.Exec(ctx, "SELECT 1 FROM iot.sensor_readings_p197001"); err == nil {
		t.Error("application role reads a new partition directly")
	}
}
