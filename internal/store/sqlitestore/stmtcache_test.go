package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// cacheDB opens a database of one connection through the caching connector
// and returns it with a function reporting the connection's cached texts.
func cacheDB(t *testing.T) (*sql.DB, func() map[string]bool) {
	t.Helper()
	c, err := newCachingConnector("file:" + filepath.Join(t.TempDir(), "c.db") + "?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	cached := func() map[string]bool {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		out := map[string]bool{}
		if err := conn.Raw(func(dc any) error {
			for q := range dc.(*cachingConn).idle {
				out[q] = true
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return db, cached
}

func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, cached := cacheDB(t)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE u (x)"); err != nil {
		t.Fatal(err)
	}
	if len(cached()) != 0 {
		t.Fatalf("a script was cached: %v", cached())
	}
	const ins = "INSERT INTO t (id, v) VALUES (?1, ?2)"
	for i := range 5 {
		if _, err := db.ExecContext(ctx, ins, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	if !cached()[ins] {
		t.Fatalf("insert not cached: %v", cached())
	}

	// A failed run closes its statement; the next one prepares anew.
	if _, err := db.ExecContext(ctx, ins, 1, "again"); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if cached()[ins] {
		t.Fatal("a statement that failed was kept")
	}
	if _, err := db.ExecContext(ctx, ins, 5, "v5"); err != nil {
		t.Fatal(err)
	}

	// A query's statement goes back when its rows close.
	const sel = "SELECT id, v FROM t WHERE id >= ?1 ORDER BY id"
	outer, err := db.QueryContext(ctx, sel, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var id int
		var v string
		if err := outer.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, fmt.Sprint(id, v))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 6 || pairs[0] != "0v0" || pairs[5] != "5v5" {
		t.Fatalf("rows %v", pairs)
	}
	if !cached()[sel] {
		t.Fatal("query not cached after its rows closed")
	}

	// Schema changes: a kept statement is prepared again by SQLite.
	if _, err := db.ExecContext(ctx, "ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'w'"); err != nil {
		t.Fatal(err)
	}
	const star = "SELECT * FROM t WHERE id = ?1"
	cols := func() int {
		rows, err := db.QueryContext(ctx, star, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(c)
	}
	if n := cols(); n != 3 {
		t.Fatalf("%d columns", n)
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE t DROP COLUMN w"); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 2 {
		t.Fatalf("%d columns after the column was dropped: the cached statement was not prepared again", n)
	}

	// A bounded cache.
	for i := range maxCachedStmts + 50 {
		var n int
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) + %d FROM t", i)).Scan(&n); err != nil || n != 6+i {
			t.Fatalf("%d %v", n, err)
		}
	}
	if n := len(cached()); n > maxCachedStmts {
		t.Fatalf("%d statements cached, at most %d", n, maxCachedStmts)
	}
}

// TestStatementCacheNestedSameText runs a query text inside the reading of
// its own rows, on one connection inside one transaction, as the store's
// walks over a table may.
func TestStatementCacheNestedSameText(t *testing.T) {
	ctx := context.Background()
	db, cached := cacheDB(t)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (?1)", i); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const q = "SELECT id FROM t WHERE id >= ?1 ORDER BY id"
	rows, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var j int
			if err := inner.Scan(&j); err != nil {
				t.Fatal(err)
			}
			sum += j
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// id 0: 0+1+2, id 1: 1+2, id 2: 2.
	if sum != 8 {
		t.Fatalf("sum %d, want 8", sum)
	}
	if !cached()[q] {
		t.Fatal("query not cached")
	}
}
