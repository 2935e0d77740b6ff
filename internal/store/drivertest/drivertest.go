// Package drivertest is the conformance suite of the relational store: every
// driver runs RunConformance from its own TestConformance and must pass it
// unchanged. It checks behaviour through the port (internal/store), so what
// it proves holds for every caller.
package drivertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/secretbox"
	"github.com/greenlang/greenlang/internal/store"
)

// Admin runs SQL on the store's database as its owner, past every tenancy
// rule: the suite uses it to tamper with the audit trail and to look at raw
// rows. SQL is in the store dialect (PostgreSQL syntax, $n, schema.table).
type Admin interface {
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	QueryString(ctx context.Context, sql string, args ...any) (string, error)
}

// Harness opens a store on a fresh, migrated database.
type Harness struct {
	// Open returns the store and an admin handle on the same database. Both
	// are closed by the harness's own t.Cleanup.
	Open func(t *testing.T, opts store.Options) (*store.Store, Admin)
}

// TestKeys returns a keyring for tests.
func TestKeys(t testing.TB) *secretbox.Keyring {
	k := make([]byte, secretbox.KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	kr, err := secretbox.NewKeyring("test", map[string][]byte{"test": k})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// RunConformance runs the whole suite.
func RunConformance(t *testing.T, h Harness) {
	s, admin := h.Open(t, store.Options{Keys: TestKeys(t)})
	tests := []struct {
		name string
		fn   func(*testing.T, *store.Store, Admin)
	}{
		{"Migrations", testMigrations},
		{"Organizations", testOrganizations},
		{"RoundTrip", testRoundTrip},
		{"TenantIsolation", testTenantIsolation},
		{"CrossTenantReference", testCrossTenantReference},
		{"Validation", testValidation},
		{"AuditTrail", testAuditTrail},
		{"AuditTamper", testAuditTamper},
		{"BulkInsert", testBulkInsert},
		{"BulkInsertAtomic", testBulkInsertAtomic},
		{"SensorReadingsIdempotent", testSensorReadings},
		{"ERPCredentialsSealed", testERPCredentials},
		{"MonthlyEmissions", testMonthlyEmissions},
		{"SaveCalculation", testSaveCalculation},
		{"GroupCommit", testGroupCommit},
		{"FactorOverrides", testFactorOverrides},
		{"Outbox", testOutbox},
		{"ProcessorState", testProcessorState},
		{"ProcessorStateEntries", testProcessorStateEntries},
		{"DeviceCredentials", testDeviceCredentials},
		{"DeviceUpdate", testDeviceUpdate},
		{"Alerts", testAlerts},
		{"DeviceCommands", testDeviceCommands},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ListFilters", testListFilters},
		{"OrganizationBySlug", testOrganizationBySlug},
		{"AccountsByEmail", testAccountsByEmail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s, admin) })
	}
}

// NewOrg creates an organization with a unique slug.
func NewOrg(t testing.TB, s *store.Store) *store.Organization {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	o := &store.Organization{ID: id, Name: "Org " + id.String()[:8], Slug: "org-" + strings.ReplaceAll(id.String(), "-", "")[:20], Country: "DE"}
	if err := s.OrganizationCreate(context.Background(), o); err != nil {
		t.Fatalf("creating organization: %v", err)
	}
	return o
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t testing.TB, err error, code store.Code, what string) {
	t.Helper()
	if store.CodeOf(err) != code {
		t.Fatalf("%s: got error %v (code %v), want code %v", what, err, store.CodeOf(err), code)
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ndec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(dec(s)) }

func ptr[T any](v T) *T { return &v }

func testMigrations(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	st, err := s.MigrationStatus(ctx)
	must(t, err)
	if len(st) == 0 {
		t.Fatal("no migrations reported")
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d %s not applied", m.Version, m.Name)
		}
	}
	applied, err := s.Migrate(ctx)
	must(t, err)
	if len(applied) != 0 {
		t.Errorf("second migrate applied %v, want nothing", applied)
	}
	n, err := s.PendingMigrations(ctx)
	must(t, err)
	if n != 0 {
		t.Errorf("pending = %d", n)
	}
}

func testOrganizations(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	o := NewOrg(t, s)
	got, err := s.OrganizationGet(ctx, o.ID)
	must(t, err)
	if got.Name != o.Name || got.Slug != o.Slug || got.ReportingCurrency != "EUR" || got.FiscalYearStartMonth != 1 {
		t.Errorf("got %+v", got)
	}
	got.Name = "Renamed"
	must(t, s.OrganizationUpdate(ctx, got))
	again, err := s.OrganizationGet(ctx, o.ID)
	must(t, err)
	if again.Name != "Renamed" || !again.CreatedAt.Equal(o.CreatedAt) {
		t.Errorf("after update got %+v", again)
	}
	dup := &store.Organization{Name: "Dup", Slug: o.Slug}
	wantCode(t, s.OrganizationCreate(ctx, dup), store.CodeAlreadyExists, "duplicate slug")
	_, err = s.OrganizationGet(ctx, uuid.Must(uuid.NewV7()))
	wantCode(t, err, store.CodeNotFound, "missing organization")
	ids, err := s.OrganizationIDs(ctx)
	must(t, err)
	found := false
	for _, id := range ids {
		found = found || id == o.ID
	}
	if !found {
		t.Errorf("OrganizationIDs does not list %s", o.ID)
	}
}

// fixture is one record of every kind, all in one organization.
type fixture struct {
	org      *store.Organization
	user     *store.User
	token    *store.APIToken
	site     *store.Site
	source   *store.EmissionSource
	activity *store.ActivityRecord
	run      *store.CalculationRun
	calc     *store.CalculatedEmission
	supplier *store.Supplier
	product  *store.Product
	po       *store.PurchaseOrder
	poLine   *store.PurchaseOrderLine
	dp       *store.DataPoint
	conn     *store.ERPConnection
	job      *store.SyncJob
	device   *store.Device
	alert    *store.Alert
	kpi      *store.KPIDefinition
	kpiValue *store.KPIValue
}

var (
	march  = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	april  = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	precis = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("CET", 3600))
)

func newFixture(t testing.TB, s *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{org: NewOrg(t, s)}
	org := f.org.ID
	f.user = &store.User{Email: "ana@example.com", DisplayName: "Ana", Role: store.RoleAnalyst, LastLoginAt: ptr(precis)}
	must(t, s.Users().Create(ctx, org, f.user))
	f.token = &store.APIToken{UserID: &f.user.ID, Name: "ci", Prefix: "gl_abc", TokenHash: make([]byte, 32), Scopes: store.StringList{"read", "write"}}
	f.token.TokenHash[0] = byte(org[15])
	f.token.TokenHash[1] = byte(org[14])
	copy(f.token.TokenHash[2:], org[:])
	must(t, s.APITokens().Create(ctx, org, f.token))
	f.site = &store.Site{Name: "Plant Hamburg", Code: "HH1", SiteType: "plant", Country: "DE", Region: "DE",
		Latitude: ndec("53.551086"), Longitude: ndec("9.993682"), FloorAreaM2: ndec("12500.5"), Active: true}
	must(t, s.Sites().Create(ctx, org, f.site))
	f.source = &store.EmissionSource{SiteID: &f.site.ID, Name: "Boiler 1", Scope: 1, SourceType: "stationary_combustion", Active: true}
	must(t, s.EmissionSources().Create(ctx, org, f.source))
	f.activity = &store.ActivityRecord{SourceID: f.source.ID, SiteID: &f.site.ID, ActivityType: "natural_gas",
		Quantity: dec("123456789.123456789012345678"), Unit: "scf", PeriodStart: march, PeriodEnd: april,
		DataQuality: 2, Origin: "manual", Attributes: store.JSON(`{"meter":"M-7","note":"ünïcode"}`)}
	must(t, s.ActivityRecords().Create(ctx, org, f.activity))
	f.run = &store.CalculationRun{Status: "succeeded", EngineVersion: "test", GWPSet: "AR6", StartedAt: precis,
		FinishedAt: ptr(precis.Add(time.Second)), RecordsIn: 1, RecordsOut: 1, Parameters: store.JSON(`{"scope":[1]}`)}
	must(t, s.CalculationRuns().Create(ctx, org, f.run))
	f.calc = &store.CalculatedEmission{RunID: f.run.ID, ActivityID: f.activity.ID, ActivityPeriodStart: march,
		SourceID: f.source.ID, SiteID: &f.site.ID, Scope: 1, Method: "stationary_combustion", GWPSet: "AR6",
		CO2Kg: dec("6721.5"), CH4Kg: dec("0.1267"), N2OKg: dec("0.01267"), CO2eKg: dec("6728.7318"),
		UncertaintyPct: ndec("5.2"), DataQuality: ndec("2"), PeriodStart: march, PeriodEnd: april,
		Lineage: store.JSON(`{"factor":"EPA 2025 Table 1"}`)}
	must(t, s.CalculatedEmissions().Create(ctx, org, f.calc))
	f.supplier = &store.Supplier{Name: "Acme Steel", TaxID: "DE123", Country: "DE", NAICS: "331110", RiskScore: ndec("72.5"), Active: true}
	must(t, s.Suppliers().Create(ctx, org, f.supplier))
	f.product = &store.Product{SupplierID: &f.supplier.ID, SKU: "ST-1", Name: "Steel coil", Unit: "t", PCFKgCO2ePerUnit: ndec("1850")}
	must(t, s.Products().Create(ctx, org, f.product))
	f.po = &store.PurchaseOrder{SupplierID: &f.supplier.ID, PONumber: "4500000001", OrderDate: march, Currency: "EUR", TotalAmount: dec("19999.99"), Status: "open"}
	must(t, s.PurchaseOrders().Create(ctx, org, f.po))
	f.poLine = &store.PurchaseOrderLine{POID: f.po.ID, OrderDate: march, LineNo: 10, ProductID: &f.product.ID,
		Quantity: dec("10.5"), Unit: "t", UnitPrice: dec("1904.76"), Amount: dec("19999.98"), NAICS: "331110"}
	must(t, s.PurchaseOrderLines().Create(ctx, org, f.poLine))
	f.dp = &store.DataPoint{StandardCode: "E1", DatapointCode: "E1-6_01", Name: "Gross scope 1", PeriodStart: march,
		PeriodEnd: april, ValueNumeric: ndec("6.7287318"), Unit: "tCO2e", Status: "draft"}
	must(t, s.DataPoints().Create(ctx, org, f.dp))
	f.conn = &store.ERPConnection{Name: "SAP prod", System: "sap", BaseURL: "https://sap.example.com",
		AuthType: "oauth2", Credentials: map[string]string{"client_secret": "s3cr3t-value"}, Active: true}
	must(t, s.ERPConnections().Create(ctx, org, f.conn))
	f.job = &store.SyncJob{ConnectionID: f.conn.ID, Entity: "purchase_orders", Mode: "incremental", Status: "queued"}
	must(t, s.SyncJobs().Create(ctx, org, f.job))
	f.device = &store.Device{SiteID: &f.site.ID, DeviceType: "energy_meter", Serial: "EM-1", Status: "active", CalibratedAt: ptr(precis)}
	must(t, s.Devices().Create(ctx, org, f.device))
	f.alert = &store.Alert{DeviceID: &f.device.ID, Severity: "warning", Kind: "threshold", Message: "high", Value: ndec("99.5"),
		Threshold: ndec("90"), Status: "open", RaisedAt: precis}
	must(t, s.Alerts().Create(ctx, org, f.alert))
	f.kpi = &store.KPIDefinition{Code: "intensity_revenue", Name: "tCO2e per MEUR", Unit: "tCO2e/MEUR", Direction: "lower_better"}
	must(t, s.KPIDefinitions().Create(ctx, org, f.kpi))
	f.kpiValue = &store.KPIValue{KPIID: f.kpi.ID, PeriodStart: march, PeriodEnd: april, Value: dec("12.34"), ComputedAt: precis}
	must(t, s.KPIValues().Create(ctx, org, f.kpiValue))
	return f
}
