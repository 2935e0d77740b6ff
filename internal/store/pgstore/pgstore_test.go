package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore"
)

// testDB is a fresh database for one test, dropped when it ends.
type testDB struct {
	adminURL string // the owner (a superuser in tests)
	appURL   string // greenlang_app on the same database
	name     string
}

// newTestDB creates a database on the server named by
// GREENLANG_TEST_POSTGRES_URL, or skips when it is unset.
func newTestDB(t testing.TB) testDB {
	t.Helper()
	raw := os.Getenv("GREENLANG_TEST_POSTGRES_URL")
	if raw == "" {
		t.Skip("set GREENLANG_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL driver tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("GREENLANG_TEST_POSTGRES_URL is set but the server is unreachable: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "greenlang_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), raw)
		if err != nil {
			t.Errorf("dropping test database: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database: %v", err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	app := *u
	app.User = url.User(pgstore.AppRole)
	return testDB{adminURL: u.String(), appURL: app.String(), name: name}
}

// open migrates db as its owner, then opens the store as greenlang_app, the
// way a production deployment runs.
func open(t testing.TB, db testDB, opts store.Options) *store.Store {
	t.Helper()
	ctx := context.Background()
	reg := store.NewRegistry()
	pgstore.Register(reg)
	owner, err := reg.Open(ctx, db.adminURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner.Close()
	opts.AdminURL = db.adminURL
	s, err := reg.Open(ctx, db.appURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// admin runs SQL as the database owner.
type admin struct{ pool *pgxpool.Pool }

func newAdmin(t testing.TB, db testDB) admin {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), db.adminURL)
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
			s, err := reg.Open(ctx, db.adminURL, opts)
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
