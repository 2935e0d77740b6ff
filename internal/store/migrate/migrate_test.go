package migrate_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"github.com/greenlang/greenlang/internal/store/migrate"
)

// broken has a good first migration and a second that fails half-way.
var broken = fstest.MapFS{
	"00001_good.sql": {Data: []byte("-- +goose Up\nCREATE TABLE one (id INTEGER);\n-- +goose Down\nDROP TABLE one;\n")},
	"00002_bad.sql":  {Data: []byte("-- +goose Up\nCREATE TABLE two (id INTEGER);\nINSERT INTO two VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n-- +goose Down\nDROP TABLE two;\n")},
}

// A failed migration leaves nothing half-applied: its first statements are
// rolled back with it and its version is not recorded.
func TestFailedMigrationLeavesNothing(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkFailedMigration(t, goose.DialectSQLite3, db, `SELECT count(*) FROM sqlite_master WHERE name = 'two'`)
}

func TestFailedMigrationLeavesNothingPostgres(t *testing.T) {
	raw := os.Getenv("GREENLANG_TEST_POSTGRES_URL")
	if raw == "" {
		t.Skip("set GREENLANG_TEST_POSTGRES_URL to run against PostgreSQL")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("greenlang_migrate_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("GREENLANG_TEST_POSTGRES_URL is set but unusable: %v", err)
	}
	defer admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkFailedMigration(t, goose.DialectPostgres, db, `SELECT count(*) FROM pg_class WHERE relname = 'two'`)
}

func checkFailedMigration(t *testing.T, dialect goose.Dialect, db *sql.DB, countTwo string) {
	ctx := context.Background()
	m, err := migrate.New(dialect, db, broken, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	applied, err := m.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("error %v does not name the cause", err)
	}
	if len(applied) != 1 || applied[0] != 1 {
		t.Errorf("applied %v, want [1]", applied)
	}
	var n int
	if err := db.QueryRow(countTwo).Scan(&n); err != nil || n != 0 {
		t.Errorf("table from the failed migration exists (%d, %v)", n, err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || !st[0].Applied || st[1].Applied {
		t.Errorf("status %+v", st)
	}
}
