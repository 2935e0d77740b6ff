package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/migrate"
)

var _ driver.Dumper = (*Driver)(nil)

// Snapshot implements driver.Dumper: one read transaction on the reader
// pool. In WAL mode its first read fixes the snapshot every later read of
// the transaction sees, while writers carry on.
func (d *Driver) Snapshot(ctx context.Context, fn func(driver.DumpReader) error) error {
	tx, err := d.reader.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: beginning the snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		return fmt.Errorf("sqlite: beginning the snapshot: %w", err)
	}
	return fn(&dumpTx{d: d, tx: tx})
}

// Load implements driver.Dumper: one IMMEDIATE transaction on the writer
// connection, foreign keys checked as rows arrive. SQLite has no derived
// state to bring up to date: AUTOINCREMENT counters follow the rows.
func (d *Driver) Load(ctx context.Context, fn func(driver.DumpWriter) error) error {
	tx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: beginning the load: %w", err)
	}
	if err := fn(&dumpTx{d: d, tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: committing the load: %w", err)
	}
	return nil
}

// dumpTx reads and writes whole tables in one transaction.
type dumpTx struct {
	d  *Driver
	tx *sql.Tx
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// dialectName turns a SQLite table name back into the store's dialect
// (core_sites -> core.sites) by the driver's own rewrite, so that the two
// never disagree; a table outside the known schemas keeps its name.
func (d *Driver) dialectName(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] != '_' {
			continue
		}
		cand := name[:i] + "." + name[i+1:]
		if d.rewrite(cand) == name {
			return cand
		}
	}
	return name
}

func columnType(decl string) driver.ColumnType {
	t := strings.ToUpper(decl)
	switch {
	case strings.HasPrefix(t, "BOOL"):
		return driver.ColBool
	case strings.Contains(t, "INT"):
		return driver.ColInt
	case t == "TIMESTAMP" || t == "DATETIME" || t == "DATE":
		return driver.ColTime
	case strings.Contains(t, "BLOB"):
		return driver.ColBytes
	case strings.Contains(t, "REAL") || strings.Contains(t, "FLOA") || strings.Contains(t, "DOUB"):
		return driver.ColFloat
	}
	return driver.ColText
}

// Tables implements driver.DumpReader.
func (t *dumpTx) Tables(ctx context.Context) ([]driver.DumpTable, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> ? ORDER BY name`, migrate.TableName)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: listing tables: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing tables: %w", err)
	}
	out := make([]driver.DumpTable, 0, len(names))
	for _, n := range names {
		tbl, err := t.describe(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("sqlite: describing table %s: %w", n, err)
		}
		out = append(out, tbl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (t *dumpTx) describe(ctx context.Context, name string) (driver.DumpTable, error) {
	tbl := driver.DumpTable{Name: t.d.dialectName(name)}
	rows, err := t.tx.QueryContext(ctx, "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", name)
	if err != nil {
		return tbl, err
	}
	type pkCol struct {
		name string
		pos  int
	}
	var pk []pkCol
	for rows.Next() {
		var (
			col, decl   string
			pos, hidden int
		)
		if err := rows.Scan(&col, &decl, &pos, &hidden); err != nil {
			rows.Close()
			return tbl, err
		}
		if hidden != 0 { // generated or hidden: the engine makes it
			continue
		}
		tbl.Columns = append(tbl.Columns, driver.DumpColumn{Name: col, Type: columnType(decl)})
		if pos > 0 {
			pk = append(pk, pkCol{col, pos})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return tbl, err
	}
	if len(tbl.Columns) == 0 {
		return tbl, errors.New("no columns")
	}
	sort.Slice(pk, func(i, j int) bool { return pk[i].pos < pk[j].pos })
	for _, c := range pk {
		tbl.Key = append(tbl.Key, c.name)
	}
	if len(tbl.Key) == 0 {
		for _, c := range tbl.Columns {
			tbl.Key = append(tbl.Key, c.Name)
		}
	}
	refs, err := t.tx.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?) ORDER BY 1`, name)
	if err != nil {
		return tbl, err
	}
	defer refs.Close()
	for refs.Next() {
		var r string
		if err := refs.Scan(&r); err != nil {
			return tbl, err
		}
		if r != name {
			tbl.References = append(tbl.References, t.d.dialectName(r))
		}
	}
	return tbl, refs.Err()
}

func (t *dumpTx) sqlName(tbl driver.DumpTable) string { return quoteIdent(t.d.rewrite(tbl.Name)) }

// Count implements driver.DumpReader.
func (t *dumpTx) Count(ctx context.Context, tbl driver.DumpTable) (int64, error) {
	var n int64
	if err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+t.sqlName(tbl)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: counting %s: %w", tbl.Name, err)
	}
	return n, nil
}

// Rows implements driver.DumpReader. Times are read as their stored text
// (the driver would otherwise guess at a TIMESTAMP column's format).
func (t *dumpTx) Rows(ctx context.Context, tbl driver.DumpTable, fn func(row []any) error) error {
	sel := make([]string, len(tbl.Columns))
	for i, c := range tbl.Columns {
		sel[i] = quoteIdent(c.Name)
		if c.Type == driver.ColTime {
			sel[i] = "CAST(" + sel[i] + " AS TEXT)"
		}
	}
	order := make([]string, len(tbl.Key))
	for i, k := range tbl.Key {
		order[i] = quoteIdent(k)
	}
	rows, err := t.tx.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+t.sqlName(tbl)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return fmt.Errorf("sqlite: reading %s: %w", tbl.Name, err)
	}
	defer rows.Close()
	raw := make([]any, len(tbl.Columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	row := make([]any, len(raw))
	var n int64
	for rows.Next() {
		n++
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("sqlite: reading %s row %d: %w", tbl.Name, n, err)
		}
		for i, c := range tbl.Columns {
			v, err := fromSQLite(c.Type, raw[i])
			if err != nil {
				return fmt.Errorf("sqlite: reading %s row %d column %s: %w", tbl.Name, n, c.Name, err)
			}
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: reading %s: %w", tbl.Name, err)
	}
	return nil
}

// fromSQLite converts a stored value to its column type's Go type.
func fromSQLite(typ driver.ColumnType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case driver.ColInt:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case driver.ColBool:
		switch x := v.(type) {
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case bool:
			return x, nil
		}
	case driver.ColFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case driver.ColTime:
		if s, ok := v.(string); ok {
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an RFC 3339 time", s)
			}
			return tm.UTC(), nil
		}
	case driver.ColBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case driver.ColText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	}
	return nil, fmt.Errorf("a %T where a %s value belongs", v, typ)
}

// toSQLite converts a value for storage the way the store writes it.
func toSQLite(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(TimeFormat)
	case json.RawMessage:
		return string(x)
	}
	return v
}

// Clear implements driver.DumpWriter.
func (t *dumpTx) Clear(ctx context.Context, tbl driver.DumpTable) error {
	if _, err := t.tx.ExecContext(ctx, "DELETE FROM "+t.sqlName(tbl)); err != nil {
		return fmt.Errorf("sqlite: emptying %s: %w", tbl.Name, err)
	}
	return nil
}

// Insert implements driver.DumpWriter: one prepared statement per call.
func (t *dumpTx) Insert(ctx context.Context, tbl driver.DumpTable, columns []string, rows [][]any) error {
	cols := make([]string, len(columns))
	ph := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = quoteIdent(c)
		ph[i] = fmt.Sprintf("?%d", i+1)
	}
	stmt, err := t.tx.PrepareContext(ctx, "INSERT INTO "+t.sqlName(tbl)+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(ph, ", ")+")")
	if err != nil {
		return fmt.Errorf("sqlite: loading %s: %w", tbl.Name, err)
	}
	defer stmt.Close()
	buf := make([]any, len(columns))
	for n, row := range rows {
		for i, v := range row {
			buf[i] = toSQLite(v)
		}
		if _, err := stmt.ExecContext(ctx, buf...); err != nil {
			return &driver.RowError{Index: n, Err: err}
		}
	}
	return nil
}
