package sqlitestore_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	_ "modernc.org/sqlite"
)

// admin runs SQL on the same file outside any tenant. SQLite has no roles,
// so this is the same power the store itself has.
type admin struct {
	d *sqlitestore.Driver
}

func (a admin) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := a.d.SystemTx(ctx, driver.TxOptions{}, func(tx driver.Querier) error {
		var err error
		n, err = tx.Exec(ctx, q, args...)
		return err
	})
	return n, err
}

func (a admin) QueryString(ctx context.Context, q string, args ...any) (string, error) {
	var s string
	err := a.d.SystemTx(ctx, driver.TxOptions{ReadOnly: true}, func(tx driver.Querier) error {
		return tx.QueryRow(ctx, q, args...).Scan(&s)
	})
	return s, err
}

// Open opens a migrated store in a temporary directory.
func Open(t testing.TB, opts store.Options) (*store.Store, *sqlitestore.Driver) {
	t.Helper()
	u := &url.URL{Scheme: "sqlite", Path: filepath.Join(t.TempDir(), "data", "greenlang.db")}
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	s, err := reg.Open(context.Background(), u.String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, s.Engine().(*sqlitestore.Driver)
}

func TestConformance(t *testing.T) {
	drivertest.RunConformance(t, drivertest.Harness{
		Open: func(t *testing.T, opts store.Options) (*store.Store, drivertest.Admin) {
			s, d := Open(t, opts)
			return s, admin{d: d}
		},
	})
}
