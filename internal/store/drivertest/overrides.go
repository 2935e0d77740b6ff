package drivertest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// A tenant's factor overrides: one active override per activity type and
// region, retired (never changed or deleted) with a reason, invisible to
// other tenants, every write in the audit trail; and the organization's
// factor pin kept in its settings.
func testFactorOverrides(t *testing.T, s *store.Store, admin Admin) {
	ana := store.WithActor(context.Background(), store.Actor{Type: "user", ID: "ana"})
	ctx := context.Background()
	a, b := NewOrg(t, s), NewOrg(t, s)
	const row = `override-x,Tenant override,x,,supplier EPD 2025,reason,natural_gas,US,mmBtu,,,CO2e=50.1,,,,,,,,`
	gas := &store.FactorOverride{ActivityType: "natural_gas", Region: "US", TableRow: row, Reason: "supplier EPD 2025, verified"}
	must(t, s.FactorOverrideAdd(ana, a.ID, gas))
	if gas.ID == uuid.Nil || gas.OrgID != a.ID || gas.CreatedBy != "user:ana" || gas.CreatedAt.IsZero() {
		t.Fatalf("added %+v", gas)
	}
	// Another region, and the global region, are other keys.
	global := &store.FactorOverride{ActivityType: "natural_gas", TableRow: row, Reason: "group-wide supplier contract"}
	must(t, s.FactorOverrideAdd(ctx, a.ID, global))
	if global.CreatedBy != "system:greenlang" {
		t.Errorf("created by %q without an actor", global.CreatedBy)
	}

	// A second active override for the same key is refused, naming the
	// active one; the caller must retire it first.
	err := s.FactorOverrideAdd(ctx, a.ID, &store.FactorOverride{ActivityType: "natural_gas", Region: " US ", TableRow: row, Reason: "newer EPD"})
	wantCode(t, err, store.CodeAlreadyExists, "a second active override for the same key")
	if !strings.Contains(err.Error(), gas.ID.String()) || !strings.Contains(err.Error(), "retire it first") {
		t.Errorf("duplicate override error %q does not name the active override and what to do", err)
	}

	for _, c := range []struct {
		name string
		o    store.FactorOverride
		want string
	}{
		{"no reason", store.FactorOverride{ActivityType: "diesel", TableRow: row}, "reason"},
		{"blank reason", store.FactorOverride{ActivityType: "diesel", TableRow: row, Reason: "  \t"}, "reason"},
		{"no activity type", store.FactorOverride{TableRow: row, Reason: "r"}, "activity type"},
		{"no factor", store.FactorOverride{ActivityType: "diesel", Reason: "r"}, "factor"},
	} {
		err := s.FactorOverrideAdd(ctx, a.ID, &c.o)
		wantCode(t, err, store.CodeInvalidArgument, c.name)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not name %q", c.name, err, c.want)
		}
	}
	wantCode(t, s.FactorOverrideAdd(ctx, uuid.Nil, &store.FactorOverride{ActivityType: "diesel", TableRow: row, Reason: "r"}),
		store.CodeInvalidArgument, "no organization")

	list, err := s.FactorOverrides(ctx, a.ID, false)
	must(t, err)
	if len(list) != 2 || list[0].ID != gas.ID || list[1].ID != global.ID || list[0].TableRow != row || list[0].Reason != gas.Reason ||
		!list[0].CreatedAt.Equal(gas.CreatedAt) || !list[0].Active() || list[0].CreatedBy != "user:ana" {
		t.Fatalf("active overrides: %+v", list)
	}

	// Tenant isolation: B sees none of A's overrides, cannot retire them,
	// and may have its own override for the same key.
	if got, err := s.FactorOverrides(ctx, b.ID, true); err != nil || len(got) != 0 {
		t.Errorf("org B sees %d overrides (%v)", len(got), err)
	}
	_, err = s.FactorOverrideRetire(ctx, b.ID, gas.ID, "not mine")
	wantCode(t, err, store.CodeNotFound, "retiring another tenant's override")
	must(t, s.FactorOverrideAdd(ctx, b.ID, &store.FactorOverride{ActivityType: "natural_gas", Region: "US", TableRow: row, Reason: "B's own"}))
	n, err := admin.QueryString(ctx, `SELECT count(*) FROM master_data.factor_overrides WHERE org_id = $1 AND retired_at IS NULL`, a.ID)
	must(t, err)
	if n != "2" {
		t.Errorf("org A has %s active overrides after B's writes, want 2", n)
	}

	// Retiring: a reason is required; retired once, then the key is free.
	_, err = s.FactorOverrideRetire(ana, a.ID, gas.ID, " ")
	wantCode(t, err, store.CodeInvalidArgument, "retiring without a reason")
	_, err = s.FactorOverrideRetire(ana, a.ID, uuid.Must(uuid.NewV7()), "typo")
	wantCode(t, err, store.CodeNotFound, "retiring an unknown override")
	ret, err := s.FactorOverrideRetire(ana, a.ID, gas.ID, "EPD expired")
	must(t, err)
	if ret.Active() || ret.RetiredBy != "user:ana" || ret.RetireReason != "EPD expired" || ret.TableRow != row {
		t.Errorf("retired %+v", ret)
	}
	_, err = s.FactorOverrideRetire(ana, a.ID, gas.ID, "again")
	wantCode(t, err, store.CodeFailedPrecondition, "retiring twice")
	active, err := s.FactorOverrides(ctx, a.ID, false)
	must(t, err)
	all, err := s.FactorOverrides(ctx, a.ID, true)
	must(t, err)
	if len(active) != 1 || active[0].ID != global.ID || len(all) != 2 || all[0].ID != gas.ID || all[0].RetiredAt == nil ||
		!all[0].RetiredAt.Equal(*ret.RetiredAt) || all[0].RetireReason != "EPD expired" || all[0].RetiredBy != "user:ana" {
		t.Fatalf("after retiring: active %+v, all %+v", active, all)
	}
	replacement := &store.FactorOverride{ActivityType: "natural_gas", Region: "US", TableRow: row, Reason: "EPD 2026"}
	must(t, s.FactorOverrideAdd(ctx, a.ID, replacement))

	// The rows are append-only in the engine itself: neither the application
	// (a raw statement in a tenant transaction) nor the owner can change,
	// un-retire or delete one, and two active overrides for one key cannot
	// exist.
	for _, stmt := range []string{
		`UPDATE master_data.factor_overrides SET table_row = 'tampered' WHERE id = $1`,
		`UPDATE master_data.factor_overrides SET reason = 'tampered' WHERE id = $1`,
		`UPDATE master_data.factor_overrides SET retired_at = NULL, retired_by = NULL, retire_reason = NULL WHERE id = $1`,
		`UPDATE master_data.factor_overrides SET retire_reason = 'rewritten' WHERE id = $1`,
		`DELETE FROM master_data.factor_overrides WHERE id = $1`,
	} {
		if _, err := admin.Exec(ctx, stmt, gas.ID); err == nil {
			t.Errorf("the engine let the owner run %s", stmt)
		}
		err := s.Engine().TenantTx(ctx, a.ID, driver.TxOptions{}, func(q driver.Querier) error {
			_, err := q.Exec(ctx, stmt, gas.ID)
			return err
		})
		if err == nil {
			t.Errorf("the engine let the application run %s", stmt)
		}
	}
	if _, err := admin.Exec(ctx, `UPDATE master_data.factor_overrides SET table_row = 'tampered' WHERE id = $1`, replacement.ID); err == nil {
		t.Error("the engine let the owner change an active override's factor")
	}
	if _, err := admin.Exec(ctx, `INSERT INTO master_data.factor_overrides (id, org_id, activity_type, region, table_row, reason, created_by, created_at)
		VALUES ($1, $2, 'natural_gas', 'US', 'x', 'y', 'admin', CURRENT_TIMESTAMP)`, uuid.Must(uuid.NewV7()), a.ID); err == nil {
		t.Error("the engine holds two active overrides for one activity type and region")
	}
	if _, err := admin.Exec(ctx, `INSERT INTO master_data.factor_overrides (id, org_id, activity_type, region, table_row, reason, created_by, created_at)
		VALUES ($1, $2, 'diesel', '', 'x', ' ', 'admin', CURRENT_TIMESTAMP)`, uuid.Must(uuid.NewV7()), a.ID); err == nil {
		t.Error("the engine holds an override without a reason")
	}
	all, err = s.FactorOverrides(ctx, a.ID, true)
	must(t, err)
	if len(all) != 3 || all[0].TableRow != row || all[0].Reason != gas.Reason || all[0].RetireReason != "EPD expired" || all[2].TableRow != row {
		t.Errorf("after tampering attempts: %+v", all)
	}

	// The trail holds each write with its actor and values.
	es, err := s.AuditEntries(ctx, a.ID, 0, 1000)
	must(t, err)
	var seen []string
	for _, e := range es {
		if e.EntityType != store.EntityFactorOverride {
			continue
		}
		seen = append(seen, e.Action+" "+e.ActorID)
		if e.EntityID == gas.ID.String() && e.Action == store.ActionRetire &&
			(strings.Contains(e.OldValues, `"retired_at"`) || !strings.Contains(e.NewValues, `"retire_reason":"EPD expired"`)) {
			t.Errorf("retirement entry: old %s new %s", e.OldValues, e.NewValues)
		}
	}
	if strings.Join(seen, ",") != "create ana,create greenlang,retire ana,create greenlang" {
		t.Errorf("override audit entries: %v", seen)
	}
	for _, org := range []uuid.UUID{a.ID, b.ID} {
		rep, err := s.VerifyAudit(ctx, org)
		must(t, err)
		if !rep.OK() {
			t.Errorf("audit chain of %s broken: %+v", org, rep.Broken)
		}
	}

	// The pin lives in the organization's settings beside other settings,
	// is audited and is cleared without touching them.
	org, err := s.OrganizationGet(ctx, a.ID)
	must(t, err)
	org.Settings = store.JSON(`{"theme":"dark"}`)
	must(t, s.OrganizationUpdate(ctx, org))
	theme := func(o *store.Organization) bool {
		var m map[string]any
		return json.Unmarshal(o.Settings, &m) == nil && m["theme"] == "dark"
	}
	pin := store.FactorPin{Name: "epa-2025", Set: "EPA GHG Emission Factors Hub", Edition: 2025}
	must(t, s.OrganizationPinFactors(ana, a.ID, pin))
	org, err = s.OrganizationGet(ctx, a.ID)
	must(t, err)
	got, err := org.FactorPin()
	must(t, err)
	if got != pin || !theme(org) {
		t.Errorf("pin %+v, settings %s", got, org.Settings)
	}
	other, err := s.OrganizationGet(ctx, b.ID)
	must(t, err)
	if p, err := other.FactorPin(); err != nil || !p.IsZero() {
		t.Errorf("org B pinned %+v (%v)", p, err)
	}
	wantCode(t, s.OrganizationPinFactors(ctx, a.ID, store.FactorPin{Edition: 2025}), store.CodeInvalidArgument, "a pin without a set")
	must(t, s.OrganizationPinFactors(ctx, a.ID, store.FactorPin{}))
	org, err = s.OrganizationGet(ctx, a.ID)
	must(t, err)
	if p, err := org.FactorPin(); err != nil || !p.IsZero() || !theme(org) || strings.Contains(string(org.Settings), "factors") {
		t.Errorf("after clearing: pin %+v (%v), settings %s", p, err, org.Settings)
	}
	es, err = s.AuditEntries(ctx, a.ID, 0, 1000)
	must(t, err)
	var pins []string
	for _, e := range es {
		if e.EntityType == store.EntityFactorPin {
			pins = append(pins, e.ActorID+": "+e.OldValues+" → "+e.NewValues)
		}
	}
	if len(pins) != 2 || pins[0] != `ana: {"factors":null} → {"factors":{"name":"epa-2025","pinned_set":"EPA GHG Emission Factors Hub","pinned_edition":2025}}` ||
		!strings.HasSuffix(pins[1], `→ {"factors":null}`) {
		t.Errorf("pin audit entries: %q", pins)
	}
	rep, err := s.VerifyAudit(ctx, a.ID)
	must(t, err)
	if !rep.OK() {
		t.Errorf("audit chain broken after pinning: %+v", rep.Broken)
	}
}
