package drivertest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// kind is the suite's handle on one collection and one record of it.
type kind struct {
	name   string
	id     uuid.UUID
	want   any // the record as created
	get    func(ctx context.Context, org uuid.UUID) (any, error)
	list   func(ctx context.Context, org uuid.UUID) ([]uuid.UUID, error)
	update func(ctx context.Context, org uuid.UUID) error // rewrites the record (read fresh from its own org)
	del    func(ctx context.Context, org uuid.UUID) error
}

func kindOf[T any, P interface {
	*T
	store.Record
}](name string, c *store.Collection[T, P], v P) kind {
	id, owner := v.RecordMeta().ID, v.RecordMeta().OrgID
	return kind{
		name: name, id: id, want: v,
		get: func(ctx context.Context, org uuid.UUID) (any, error) { return c.Get(ctx, org, id) },
		list: func(ctx context.Context, org uuid.UUID) ([]uuid.UUID, error) {
			var ids []uuid.UUID
			var after uuid.UUID
			for {
				page, err := c.List(ctx, org, store.ListOptions{After: after, Limit: 50})
				if err != nil {
					return nil, err
				}
				for _, r := range page {
					ids = append(ids, r.RecordMeta().ID)
				}
				if len(page) < 50 {
					return ids, nil
				}
				after = page[len(page)-1].RecordMeta().ID
			}
		},
		update: func(ctx context.Context, org uuid.UUID) error {
			fresh, err := c.Get(ctx, owner, id)
			if err != nil {
				return err
			}
			return c.Update(ctx, org, fresh)
		},
		del: func(ctx context.Context, org uuid.UUID) error { return c.Delete(ctx, org, id) },
	}
}

// kinds lists every tenant collection with f's record, children before
// parents so deleting in order never trips a foreign key.
func (f *fixture) kinds(s *store.Store) []kind {
	return []kind{
		kindOf("kpi_value", s.KPIValues(), f.kpiValue),
		kindOf("kpi_definition", s.KPIDefinitions(), f.kpi),
		kindOf("alert", s.Alerts(), f.alert),
		kindOf("device", s.Devices(), f.device),
		kindOf("sync_job", s.SyncJobs(), f.job),
		kindOf("erp_connection", s.ERPConnections(), f.conn),
		kindOf("data_point", s.DataPoints(), f.dp),
		kindOf("purchase_order_line", s.PurchaseOrderLines(), f.poLine),
		kindOf("purchase_order", s.PurchaseOrders(), f.po),
		kindOf("product", s.Products(), f.product),
		kindOf("supplier", s.Suppliers(), f.supplier),
		kindOf("calculated_emission", s.CalculatedEmissions(), f.calc),
		kindOf("calculation_run", s.CalculationRuns(), f.run),
		kindOf("activity_record", s.ActivityRecords(), f.activity),
		kindOf("emission_source", s.EmissionSources(), f.source),
		kindOf("api_token", s.APITokens(), f.token),
		kindOf("user", s.Users(), f.user),
		kindOf("site", s.Sites(), f.site),
	}
}

// sameJSON compares two records by their JSON form, so engines may differ in
// JSON whitespace and time zone of scanned times but not in any value.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	norm := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	g, w := norm(got), norm(want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Errorf("%s differs after reading back:\n got  %s\n want %s", what, gb, wb)
	}
}

func testRoundTrip(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	f := newFixture(t, s)
	for _, k := range f.kinds(s) {
		got, err := k.get(ctx, f.org.ID)
		if err != nil {
			t.Fatalf("%s: get: %v", k.name, err)
		}
		sameJSON(t, k.name, got, k.want)
		ids, err := k.list(ctx, f.org.ID)
		if err != nil {
			t.Fatalf("%s: list: %v", k.name, err)
		}
		if len(ids) != 1 || ids[0] != k.id {
			t.Errorf("%s: list = %v, want [%s]", k.name, ids, k.id)
		}
		if err := k.update(ctx, f.org.ID); err != nil {
			t.Fatalf("%s: update: %v", k.name, err)
		}
	}
	// The decimal keeps all 27 significant digits on every engine.
	a, err := s.ActivityRecords().Get(ctx, f.org.ID, f.activity.ID)
	must(t, err)
	if a.Quantity.String() != "123456789.123456789012345678" {
		t.Errorf("quantity = %s", a.Quantity)
	}
	if !a.PeriodStart.Equal(march) {
		t.Errorf("period_start = %v", a.PeriodStart)
	}
	u, err := s.Users().Get(ctx, f.org.ID, f.user.ID)
	must(t, err)
	if u.LastLoginAt == nil || !u.LastLoginAt.Equal(precis.Truncate(1000)) {
		t.Errorf("last_login_at = %v, want %v", u.LastLoginAt, precis)
	}
	for _, k := range f.kinds(s) {
		if err := k.del(ctx, f.org.ID); err != nil {
			t.Fatalf("%s: delete: %v", k.name, err)
		}
		_, err := k.get(ctx, f.org.ID)
		wantCode(t, err, store.CodeNotFound, k.name+" after delete")
		wantCode(t, k.del(ctx, f.org.ID), store.CodeNotFound, k.name+" deleted twice")
	}
	rep, err := s.VerifyAudit(ctx, f.org.ID)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("audit: %v", rep.Broken)
	}
	// 1 organization + 18 creates + 18 updates + 18 deletes.
	if rep.Entries != 1+3*18 {
		t.Errorf("audit entries = %d, want %d", rep.Entries, 1+3*18)
	}
}

func testTenantIsolation(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	a := newFixture(t, s)
	b := newFixture(t, s)
	for _, k := range a.kinds(s) {
		_, err := k.get(ctx, b.org.ID)
		wantCode(t, err, store.CodeNotFound, k.name+": get from another tenant")
		wantCode(t, k.update(ctx, b.org.ID), store.CodeNotFound, k.name+": update from another tenant")
		wantCode(t, k.del(ctx, b.org.ID), store.CodeNotFound, k.name+": delete from another tenant")
		ids, err := k.list(ctx, b.org.ID)
		must(t, err)
		for _, id := range ids {
			if id == k.id {
				t.Errorf("%s: another tenant lists %s", k.name, id)
			}
		}
		got, err := k.get(ctx, a.org.ID)
		if err != nil {
			t.Fatalf("%s: owner lost its record: %v", k.name, err)
		}
		sameJSON(t, k.name+" (owner, after foreign attempts)", got, k.want)
	}
	_, err := s.AuditEntries(ctx, b.org.ID, 0, 1000)
	must(t, err)
	entries, err := s.AuditEntries(ctx, b.org.ID, 0, 1000)
	must(t, err)
	for _, e := range entries {
		if e.OrgID != b.org.ID {
			t.Fatalf("audit entries of %s include one of %s", b.org.ID, e.OrgID)
		}
	}
	for _, org := range []uuid.UUID{a.org.ID, b.org.ID} {
		rep, err := s.VerifyAudit(ctx, org)
		must(t, err)
		if !rep.OK() {
			t.Errorf("audit of %s: %v", org, rep.Broken)
		}
	}
}

func testCrossTenantReference(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	a := newFixture(t, s)
	b := NewOrg(t, s)
	src := &store.EmissionSource{SiteID: &a.site.ID, Name: "sneaky", Scope: 1}
	wantCode(t, s.EmissionSources().Create(ctx, b.ID, src), store.CodeFailedPrecondition, "source pointing at another tenant's site")
	rec := &store.ActivityRecord{SourceID: a.source.ID, ActivityType: "diesel", Quantity: dec("1"), Unit: "l",
		PeriodStart: march, PeriodEnd: april, DataQuality: 3}
	wantCode(t, s.ActivityRecords().Create(ctx, b.ID, rec), store.CodeFailedPrecondition, "activity pointing at another tenant's source")
	wantCode(t, s.Sites().Delete(ctx, a.org.ID, a.site.ID), store.CodeFailedPrecondition, "deleting a site still referenced")
}
