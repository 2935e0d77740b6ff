package pgstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/store/driver"
)

var _ driver.Dumper = (*Driver)(nil)

// dumpConn opens one connection as the admin role and checks that the role
// sees every tenant's rows. The caller closes it.
func (d *Driver) dumpConn(ctx context.Context) (*pgx.Conn, error) {
	u, err := url.Parse(d.adminURL)
	if err != nil {
		return nil, errors.New("postgres: admin URL is not a valid URL")
	}
	cfg, err := poolConfig(u)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting as the admin role: %w", cleanErr(err))
	}
	var user string
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &ok); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres: connecting as the admin role: %w", cleanErr(err))
	}
	if !ok {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres: role %q can neither bypass row-level security (it is not SUPERUSER or BYPASSRLS), so it would see only part of the tenants' rows: set store.admin_url to the schema owner's role", user)
	}
	return conn, nil
}

// dumpSettings make the transaction fail rather than filter when a
// row-level security policy would hide a row, and read and write times in UTC.
const dumpSettings = "SELECT set_config('row_security', 'off', true), set_config('TimeZone', 'UTC', true)"

// Snapshot implements driver.Dumper: one REPEATABLE READ READ ONLY
// transaction on the admin connection, row-level security off.
func (d *Driver) Snapshot(ctx context.Context, fn func(driver.DumpReader) error) error {
	conn, err := d.dumpConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: beginning the snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, dumpSettings); err != nil {
		return fmt.Errorf("postgres: beginning the snapshot: %w", err)
	}
	return fn(&dumpTx{tx: tx})
}

// Load implements driver.Dumper: one transaction on the admin connection,
// row-level security off. Before committing it moves identity and serial
// sequences past the loaded keys and refreshes materialized views.
func (d *Driver) Load(ctx context.Context, fn func(driver.DumpWriter) error) error {
	conn, err := d.dumpConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return fmt.Errorf("postgres: beginning the load: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, dumpSettings); err != nil {
		return fmt.Errorf("postgres: beginning the load: %w", err)
	}
	w := &dumpTx{tx: tx}
	if err := fn(w); err != nil {
		return err
	}
	if err := w.finish(ctx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: committing the load: %w", err)
	}
	return nil
}

// dumpTx reads and writes whole tables in one transaction.
type dumpTx struct {
	tx pgx.Tx
}

// userRelations restricts pg_class c / pg_namespace n to the tables the
// migrations made: no catalogs, temporary or extension tables, no
// partitions (their parents cover them), not goose's bookkeeping.
const userRelations = `c.relkind IN ('r', 'p') AND NOT c.relispartition
	AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
	AND n.nspname NOT LIKE '\_timescaledb%' AND n.nspname NOT LIKE 'timescaledb%'
	AND NOT (n.nspname = 'public' AND c.relname = 'greenlang_schema_migrations')
	AND NOT EXISTS (SELECT FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.deptype = 'e')`

func pgColumnType(typ string) driver.ColumnType {
	switch typ {
	case "int2", "int4", "int8":
		return driver.ColInt
	case "numeric":
		return driver.ColDecimal
	case "uuid":
		return driver.ColUUID
	case "bool":
		return driver.ColBool
	case "timestamptz", "timestamp":
		return driver.ColTime
	case "bytea":
		return driver.ColBytes
	case "json", "jsonb":
		return driver.ColJSON
	case "float4", "float8":
		return driver.ColFloat
	}
	return driver.ColText // text, varchar, and the text form of anything else
}

// Tables implements driver.DumpReader.
func (t *dumpTx) Tables(ctx context.Context) ([]driver.DumpTable, error) {
	rows, err := t.tx.Query(ctx, `SELECT c.oid, n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE `+userRelations+` ORDER BY 2`)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing tables: %w", err)
	}
	type rel struct {
		oid  uint32
		name string
	}
	var rels []rel
	for rows.Next() {
		var r rel
		if err := rows.Scan(&r.oid, &r.name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: listing tables: %w", err)
		}
		rels = append(rels, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: listing tables: %w", err)
	}
	out := make([]driver.DumpTable, 0, len(rels))
	for _, r := range rels {
		tbl, err := t.describe(ctx, r.oid, r.name)
		if err != nil {
			return nil, fmt.Errorf("postgres: describing table %s: %w", r.name, err)
		}
		out = append(out, tbl)
	}
	return out, nil
}

func (t *dumpTx) describe(ctx context.Context, oid uint32, name string) (driver.DumpTable, error) {
	tbl := driver.DumpTable{Name: name}
	rows, err := t.tx.Query(ctx, `SELECT a.attname, COALESCE(bt.typname, t.typname), COALESCE(bt.typcategory, t.typcategory) = 'A', a.attgenerated <> ''
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, oid)
	if err != nil {
		return tbl, err
	}
	for rows.Next() {
		var (
			col, typ         string
			array, generated bool
		)
		if err := rows.Scan(&col, &typ, &array, &generated); err != nil {
			rows.Close()
			return tbl, err
		}
		if generated {
			continue
		}
		ct := pgColumnType(typ)
		if array {
			ct = driver.ColText
		}
		tbl.Columns = append(tbl.Columns, driver.DumpColumn{Name: col, Type: ct})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return tbl, err
	}
	if len(tbl.Columns) == 0 {
		return tbl, errors.New("no columns")
	}
	if tbl.Key, err = t.strings(ctx, `SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.ord`, oid); err != nil {
		return tbl, err
	}
	if len(tbl.Key) == 0 {
		for _, c := range tbl.Columns {
			tbl.Key = append(tbl.Key, c.Name)
		}
	}
	tbl.References, err = t.strings(ctx, `SELECT DISTINCT n.nspname || '.' || c.relname FROM pg_constraint f
		JOIN pg_class c ON c.oid = f.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE f.conrelid = $1 AND f.contype = 'f' AND f.conparentid = 0 AND f.confrelid <> f.conrelid ORDER BY 1`, oid)
	return tbl, err
}

func (t *dumpTx) strings(ctx context.Context, sql string, args ...any) ([]string, error) {
	rows, err := t.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ident quotes a schema-qualified name.
func ident(name string) string {
	if s, r, ok := strings.Cut(name, "."); ok {
		return pgx.Identifier{s, r}.Sanitize()
	}
	return pgx.Identifier{name}.Sanitize()
}

// Count implements driver.DumpReader.
func (t *dumpTx) Count(ctx context.Context, tbl driver.DumpTable) (int64, error) {
	var n int64
	if err := t.tx.QueryRow(ctx, "SELECT count(*) FROM "+ident(tbl.Name)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: counting %s: %w", tbl.Name, err)
	}
	return n, nil
}

// Rows implements driver.DumpReader. Each column is cast to the one
// PostgreSQL type its Go type decodes from; text sorts bytewise (COLLATE
// "C") so the order does not depend on the database's collation.
func (t *dumpTx) Rows(ctx context.Context, tbl driver.DumpTable, fn func(row []any) error) error {
	types := make(map[string]driver.ColumnType, len(tbl.Columns))
	sel := make([]string, len(tbl.Columns))
	for i, c := range tbl.Columns {
		types[c.Name] = c.Type
		col := pgx.Identifier{c.Name}.Sanitize()
		switch c.Type {
		case driver.ColInt:
			sel[i] = col + "::int8"
		case driver.ColFloat:
			sel[i] = col + "::float8"
		case driver.ColTime:
			sel[i] = col + "::timestamptz"
		case driver.ColBool, driver.ColBytes:
			sel[i] = col
		default:
			sel[i] = col + "::text"
		}
	}
	order := make([]string, len(tbl.Key))
	for i, k := range tbl.Key {
		col := pgx.Identifier{k}.Sanitize()
		switch types[k] {
		case driver.ColText, driver.ColJSON, driver.ColDecimal:
			order[i] = col + `::text COLLATE "C"`
		default:
			order[i] = col
		}
	}
	rows, err := t.tx.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+ident(tbl.Name)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return fmt.Errorf("postgres: reading %s: %w", tbl.Name, err)
	}
	defer rows.Close()
	var n int64
	row := make([]any, len(tbl.Columns))
	for rows.Next() {
		n++
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("postgres: reading %s row %d: %w", tbl.Name, n, err)
		}
		for i, c := range tbl.Columns {
			v := vals[i]
			switch x := v.(type) {
			case time.Time:
				v = x.UTC()
			case string:
				if c.Type == driver.ColJSON {
					v = json.RawMessage(x)
				}
			}
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: reading %s: %w", tbl.Name, err)
	}
	return nil
}

// Clear implements driver.DumpWriter.
func (t *dumpTx) Clear(ctx context.Context, tbl driver.DumpTable) error {
	if _, err := t.tx.Exec(ctx, "DELETE FROM "+ident(tbl.Name)); err != nil {
		return fmt.Errorf("postgres: emptying %s: %w", tbl.Name, err)
	}
	return nil
}

// Insert implements driver.DumpWriter: the batch travels as one JSON array
// and PostgreSQL converts each value with its column type's input function
// (jsonb_populate_recordset), so identity columns keep their values
// (OVERRIDING SYSTEM VALUE) and generated columns are computed again.
func (t *dumpTx) Insert(ctx context.Context, tbl driver.DumpTable, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	var b []byte
	b = append(b, '[')
	for n, row := range rows {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for i, v := range row {
			if i > 0 {
				b = append(b, ',')
			}
			kb, _ := json.Marshal(columns[i])
			b = append(b, kb...)
			b = append(b, ':')
			var err error
			if b, err = appendPGJSON(b, v); err != nil {
				return &driver.RowError{Index: n, Err: fmt.Errorf("column %s: %w", columns[i], err)}
			}
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	list := strings.Join(cols, ", ")
	name := ident(tbl.Name)
	if _, err := t.tx.Exec(ctx, "INSERT INTO "+name+" ("+list+") OVERRIDING SYSTEM VALUE SELECT "+list+
		" FROM jsonb_populate_recordset(NULL::"+name+", $1::text::jsonb)", string(b)); err != nil {
		return fmt.Errorf("postgres: loading %s: %w", tbl.Name, err)
	}
	return nil
}

// appendPGJSON appends v as the JSON value PostgreSQL's input function for
// the column reads back as v.
func appendPGJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		s, err := json.Marshal(x)
		return append(b, s...), err
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.AppendQuote(b, strconv.FormatFloat(x, 'g', -1, 64)), nil
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case time.Time:
		return strconv.AppendQuote(b, x.UTC().Format(time.RFC3339Nano)), nil
	case []byte:
		return strconv.AppendQuote(b, `\x`+hex.EncodeToString(x)), nil
	case json.RawMessage:
		if !json.Valid(x) {
			return b, errors.New("invalid JSON")
		}
		return append(b, x...), nil
	}
	return b, fmt.Errorf("cannot load a %T", v)
}

// finish moves every identity and serial sequence past the largest key
// loaded and refreshes every materialized view from the loaded rows.
func (t *dumpTx) finish(ctx context.Context) error {
	rows, err := t.tx.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname), quote_ident(a.attname),
			pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE `+userRelations+` AND a.attnum > 0 AND NOT a.attisdropped
		AND pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("postgres: listing sequences: %w", err)
	}
	type seq struct{ table, col, seq string }
	var seqs []seq
	for rows.Next() {
		var s seq
		if err := rows.Scan(&s.table, &s.col, &s.seq); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: listing sequences: %w", err)
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: listing sequences: %w", err)
	}
	for _, s := range seqs {
		if _, err := t.tx.Exec(ctx, "SELECT setval($1, COALESCE((SELECT max("+s.col+") FROM "+s.table+"), 0) + 1, false)", s.seq); err != nil {
			return fmt.Errorf("postgres: setting sequence %s: %w", s.seq, err)
		}
	}
	views, err := t.strings(ctx, `SELECT format('%I.%I', schemaname, matviewname) FROM pg_matviews
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("postgres: listing materialized views: %w", err)
	}
	for _, v := range views {
		if _, err := t.tx.Exec(ctx, "REFRESH MATERIALIZED VIEW "+v); err != nil {
			return fmt.Errorf("postgres: refreshing %s: %w", v, err)
		}
	}
	return nil
}
