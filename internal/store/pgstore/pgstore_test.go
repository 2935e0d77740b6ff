package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

type testDB = pgtest.DB

func newTestDB(t testing.TB) testDB { return pgtest.New(t, "greenlang_test") }

func open(t testing.TB, db testDB, opts store.Options) *store.Store { return pgtest.Open(t, db, opts) }

// admin runs SQL as the database owner.
type admin struct{ pool *pgxpool.Pool }

func newAdmin(t testing.TB, db testDB) admin {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return admin{pool: pool}
}

func (a admin) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := a.pool.Exec(ctx, sql, pgArgs(args)...)
	return tag.RowsAffected(), err
}

func (a admin) QueryString(ctx context.Context, sql string, args ...any) (string, error) {
	// The suite speaks SQLite's hex(); PostgreSQL spells it encode(…, 'hex').
	sql = replaceHex(sql)
	var s string
	err := a.pool.QueryRow(ctx, sql, pgArgs(args)...).Scan(&s)
	return s, err
}

func pgArgs(args []any) []any {
	out := make([]any, len(args))
	for i, v := range args {
		if s, ok := v.(interface{ String() string }); ok {
			out[i] = s.String()
		} else {
			out[i] = v
		}
	}
	return out
}

func replaceHex(sql string) string {
	const from, to = "hex(credentials_enc)", "encode(credentials_enc, 'hex')"
	for i := 0; i+len(from) <= len(sql); i++ {
		if sql[i:i+len(from)] == from {
			return sql[:i] + to + sql[i+len(from):]
		}
	}
	return sql
}

func TestConformance(t *testing.T) {
	db := newTestDB(t)
	drivertest.RunConformance(t, drivertest.Harness{
		Open: func(t *testing.T, opts store.Options) (*store.Store, drivertest.Admin) {
			return open(t, db, opts), newAdmin(t, db)
		},
	})
}

var _ driver.Driver = (*pgstore.Driver)(nil)

// TestConformancePrivilegedURL runs the suite with only a superuser URL
// configured: every transaction must then switch to greenlang_app, so
// row-level security still applies to the store's own queries.
func TestConformancePrivilegedURL(t *testing.T) {
	db := newTestDB(t)
	drivertest.RunConformance(t, drivertest.Harness{
		Open: func(t *testing.T, opts store.Options) (*store.Store, drivertest.Admin) {
			ctx := context.Background()
			reg := store.NewRegistry()
			pgstore.Register(reg)
			s, err := reg.Open(ctx, db.AdminURL, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var role string
			err = s.Engine().SystemTx(ctx, driver.TxOptions{ReadOnly: true}, func(q driver.Querier) error {
				return q.QueryRow(ctx, "SELECT current_user").Scan(&role)
			})
			if err != nil || role != pgstore.AppRole {
				t.Fatalf("transactions run as %q (%v), want %s", role, err, pgstore.AppRole)
			}
			return s, newAdmin(t, db)
		},
	})
}
