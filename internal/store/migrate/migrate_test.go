package migrate_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

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
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := migrate.New(goose.DialectSQLite3, db, broken, slog.New(slog.DiscardHandler))
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
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'two'`).Scan(&n); err != nil || n != 0 {
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
