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
)

// TestOutboxSecurity checks the outbox's tenancy on the application role's
// raw connection: forced row-level security, INSERT and SELECT of the
// transaction's tenant only, no UPDATE or DELETE at all, while the relay's
// SECURITY DEFINER functions reach every tenant's rows.
func TestOutboxSecurity(t *testing.T) {
	db := newTestDB(t)
	s := open(t, db, store.Options{})
	ctx := context.Background()
	a, b := drivertest.NewOrg(t, s).ID, drivertest.NewOrg(t, s).ID
	evA, err := s.OutboxAppend(ctx, a, store.OutboxEvent{Topic: "emissions.raw", Payload: []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OutboxAppend(ctx, b, store.OutboxEvent{Topic: "emissions.raw", Payload: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	adm := newAdmin(t, db)
	if got, err := adm.QueryString(ctx, `SELECT relrowsecurity::text || relforcerowsecurity::text FROM pg_class WHERE oid = 'integration.outbox'::regclass`); err != nil || got != "truetrue" {
		t.Errorf("outbox row security enabled/forced = %q (%v)", got, err)
	}

	c := appConn(t, db)
	inTenant := func(org uuid.UUID, fn func(tx pgx.Tx) error) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SELECT set_config('greenlang.org_id', $1, true)", org.String()); err != nil {
			t.Fatal(err)
		}
		return fn(tx)
	}
	// Tenant B sees only its own event.
	err = inTenant(b, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM integration.outbox").Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("tenant B sees %d outbox rows, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// No UPDATE or DELETE, not even of its own rows.
	for _, stmt := range []string{
		"UPDATE integration.outbox SET published_at = now()",
		"UPDATE integration.outbox SET payload = 'x' WHERE id = '" + evA[0].ID.String() + "'",
		"DELETE FROM integration.outbox",
	} {
		for _, org := range []uuid.UUID{a, b} {
			err := inTenant(org, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt); return err })
			if err == nil || !strings.Contains(err.Error(), "permission denied") {
				t.Errorf("%s as tenant %s: %v, want permission denied", stmt, org, err)
			}
		}
	}
	// Inserting for another tenant is refused by the policy.
	err = inTenant(b, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO integration.outbox (id, org_id, topic, payload, created_at) VALUES ($1, $2, 'emissions.raw', '', now())`,
			uuid.Must(uuid.NewV7()).String(), a.String())
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("tenant B inserting for A: %v, want a row-level security error", err)
	}
	// The relay (the application role, no tenant) claims both tenants' events.
	evs, err := s.OutboxClaim(ctx, uuid.Must(uuid.NewV7()), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].OrgID != a || evs[1].OrgID != b {
		t.Fatalf("relay claimed %+v, want A's then B's event", evs)
	}
}
