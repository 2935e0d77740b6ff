// Package sqlitestore is the embedded SQLite driver of the relational store
// (internal/store), the default: pure Go (modernc.org/sqlite), one file under
// the data directory, WAL mode, a busy timeout, foreign keys on, and the whole
// transaction retried when SQLite reports the database locked.
//
// Writes go through one connection (SQLite allows one writer at a time;
// queueing in Go is cheaper than spinning on SQLITE_BUSY) and begin
// IMMEDIATE; reads use a separate pool that runs alongside. SQLite has no
// row-level security: tenancy rests on the store's queries, every one of
// which names the organization, and on composite (org_id, id) foreign keys.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	"github.com/shopspring/decimal"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// TimeFormat is how times are stored: UTC, fixed width, so text order is time order.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Register adds the driver for sqlite:// URLs.
func Register(r *store.Registry) { r.Register("sqlite", Open) }

// Driver is an open SQLite store.
type Driver struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	opts   driver.Options

	rewrites sync.Map // SQL in the store dialect -> SQL for SQLite

	closeOnce sync.Once
	closeErr  error
}

var _ driver.Driver = (*Driver)(nil)

// PathFromURL returns the database file of a sqlite:// URL (the query, such
// as ?busy_timeout=5000 in milliseconds, tunes the connection):
// sqlite://./data/greenlang.db and sqlite:data/greenlang.db are relative,
// sqlite:///var/lib/greenlang/greenlang.db is absolute.
func PathFromURL(u *url.URL) (string, error) {
	p := u.Opaque
	if p == "" {
		p = u.Host + u.Path
	}
	if p == "" {
		return "", errors.New("sqlite URL names no database file (want sqlite://path/to/greenlang.db)")
	}
	return filepath.FromSlash(p), nil
}

// Open opens (creating if needed) the database file named by u.
func Open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Driver, error) {
	path, err := PathFromURL(u)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: creating directory %s: %w", dir, unwrapPathErr(err))
	}
	busy := 10000
	if v := u.Query().Get("busy_timeout"); v != "" {
		if busy, err = strconv.Atoi(v); err != nil || busy < 0 {
			return nil, fmt.Errorf("sqlite: busy_timeout %q is not a number of milliseconds", v)
		}
	}
	// busy_timeout comes before journal_mode so switching to WAL waits too.
	pragmas := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)", busy)
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"
	// The writer keeps temporary files in memory: a save inside a group's
	// transaction runs under a savepoint, whose statement journal (the
	// pages it changes, as they were) otherwise goes to a temporary file
	// once past 64 KiB.
	wc, err := newCachingConnector(dsn + pragmas + "&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	writer := sql.OpenDB(wc)
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	rc, err := newCachingConnector(dsn + pragmas + "&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	reader := sql.OpenDB(rc)
	// All four stay open: database/sql keeps two idle by default and
	// closed the others after each use, so busy readers opened connections
	// (and read the schema, and lost their statements) over and over.
	reader.SetMaxOpenConns(4)
	reader.SetMaxIdleConns(4)
	reader.SetConnMaxIdleTime(0)
	d := &Driver{path: path, writer: writer, reader: reader, opts: opts}
	if err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, unwrapPathErr(err))
	}
	return d, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return "sqlite" }

// Path is the database file.
func (d *Driver) Path() string { return d.path }

// TenantTx implements driver.Driver. SQLite has no row-level security; the
// organization is enforced by the store's queries.
func (d *Driver) TenantTx(ctx context.Context, _ uuid.UUID, opts driver.TxOptions, fn func(driver.Querier) error) error {
	return d.tx(ctx, opts, fn)
}

// SystemTx implements driver.Driver.
func (d *Driver) SystemTx(ctx context.Context, opts driver.TxOptions, fn func(driver.Querier) error) error {
	return d.tx(ctx, opts, fn)
}

func (d *Driver) tx(ctx context.Context, opts driver.TxOptions, fn func(driver.Querier) error) error {
	db := d.writer
	if opts.ReadOnly {
		db = d.reader
	}
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
			}
		}
		err = d.once(ctx, db, fn)
		if !isLocked(err) {
			return err
		}
		d.opts.Logger.Debug("sqlite: database locked, retrying transaction", "attempt", attempt+1)
	}
	return err
}

func (d *Driver) once(ctx context.Context, db *sql.DB, fn func(driver.Querier) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(&querier{d: d, tx: tx}); err != nil {
		return err
	}
	return tx.Commit()
}

func isLocked(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

var (
	schemaRE      = regexp.MustCompile(`\b(core|emissions|supply_chain|csrd|audit|integration|iot|analytics|master_data|reporting|pipeline|quality)\.([a-z_]+)`)
	placeholderRE = regexp.MustCompile(`\$(\d+)`)
	rowLockRE     = regexp.MustCompile(` FOR (NO KEY )?UPDATE( SKIP LOCKED)?\b`)
)

// rewrite turns store-dialect SQL into SQLite SQL: schema-qualified names
// become prefixed names, $n becomes ?n (SQLite's numbered parameter) and the
// row lock clause goes (the writer connection already holds the lock).
func (d *Driver) rewrite(q string) string {
	if s, ok := d.rewrites.Load(q); ok {
		return s.(string)
	}
	s := schemaRE.ReplaceAllString(q, "${1}_${2}")
	s = placeholderRE.ReplaceAllString(s, "?$1")
	s = rowLockRE.ReplaceAllString(s, "")
	d.rewrites.Store(q, s)
	return s
}

// arg converts a value for SQLite: times as fixed-width UTC text.
func arg(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(TimeFormat)
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.UTC().Format(TimeFormat)
	case nil, string, int, int64, bool, []byte, uuid.UUID, decimal.Decimal:
		return v
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return arg(rv.Elem().Interface())
	}
	return v
}

func args(in []any) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = arg(v)
	}
	return out
}

// BulkInsert implements driver.Driver: one prepared statement executed per
// row inside the caller's transaction.
func (d *Driver) BulkInsert(ctx context.Context, q driver.Querier, t driver.Table, rows [][]any) (int64, error) {
	tx := q.(*querier).tx
	verb := "INSERT"
	if t.IgnoreConflicts {
		verb = "INSERT OR IGNORE"
	}
	ph := make([]string, len(t.Columns))
	for i := range ph {
		ph[i] = fmt.Sprintf("?%d", i+1)
	}
	// Each row is an Exec of the same text: the connection keeps its
	// prepared statement (stmtcache.go) from one bulk to the next.
	query := fmt.Sprintf("%s INTO %s (%s) VALUES (%s)", verb, d.rewrite(t.Name), strings.Join(t.Columns, ", "), strings.Join(ph, ", "))
	var n int64
	buf := make([]any, len(t.Columns))
	for _, row := range rows {
		for i, v := range row {
			buf[i] = arg(v)
		}
		res, err := tx.ExecContext(ctx, query, buf...)
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

func (d *Driver) migrator() (*migrate.Migrator, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return migrate.New(goose.DialectSQLite3, d.writer, sub, d.opts.Logger)
}

// Migrate implements driver.Driver.
func (d *Driver) Migrate(ctx context.Context) ([]int64, error) {
	m, err := d.migrator()
	if err != nil {
		return nil, err
	}
	return m.Up(ctx)
}

// MigrationStatus implements driver.Driver.
func (d *Driver) MigrationStatus(ctx context.Context) ([]driver.MigrationStatus, error) {
	m, err := d.migrator()
	if err != nil {
		return nil, err
	}
	return m.Status(ctx)
}

// Empty implements driver.Driver.
func (d *Driver) Empty(ctx context.Context) (bool, error) {
	var n int
	err := d.reader.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'`).Scan(&n)
	return n == 0, err
}

// Maintain implements driver.Driver: SQLite needs no partitions; the monthly
// emissions report is recomputed with exact decimal sums.
func (d *Driver) Maintain(ctx context.Context, _ time.Time) error {
	return d.tx(ctx, driver.TxOptions{}, func(q driver.Querier) error {
		type key struct {
			org, month, basis string
			scope             int64
		}
		type agg struct {
			sum decimal.Decimal
			n   int64
		}
		sums := map[key]*agg{}
		var order []key
		rows, err := q.Query(ctx, `SELECT org_id, substr(period_start, 1, 7), scope, scope2_basis, co2e_kg FROM emissions.calculated_emissions WHERE superseded_by IS NULL`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k key
			var v decimal.Decimal
			if err := rows.Scan(&k.org, &k.month, &k.scope, &k.basis, &v); err != nil {
				rows.Close()
				return err
			}
			a := sums[k]
			if a == nil {
				a = &agg{}
				sums[k] = a
				order = append(order, k)
			}
			a.sum = a.sum.Add(v)
			a.n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, "DELETE FROM reporting.monthly_emissions"); err != nil {
			return err
		}
		for _, k := range order {
			a := sums[k]
			month, err := time.Parse("2006-01", k.month)
			if err != nil {
				return fmt.Errorf("reading period_start month %q: %w", k.month, err)
			}
			if _, err := q.Exec(ctx, `INSERT INTO reporting.monthly_emissions (org_id, month, scope, scope2_basis, co2e_kg, records)
				VALUES ($1, $2, $3, $4, $5, $6)`, k.org, month, k.scope, k.basis, a.sum, a.n); err != nil {
				return err
			}
		}
		return nil
	})
}

// Ping implements driver.Driver.
func (d *Driver) Ping(ctx context.Context) error {
	if err := d.writer.PingContext(ctx); err != nil {
		return err
	}
	// A ping does not touch the file; a read does.
	var n int
	return d.reader.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
}

// Stats implements driver.Driver: both pools together.
func (d *Driver) Stats() driver.PoolStats {
	w, r := d.writer.Stats(), d.reader.Stats()
	return driver.PoolStats{
		MaxConns: int64(w.MaxOpenConnections + r.MaxOpenConnections), OpenConns: int64(w.OpenConnections + r.OpenConnections),
		InUse: int64(w.InUse + r.InUse), Idle: int64(w.Idle + r.Idle), WaitCount: w.WaitCount + r.WaitCount,
		WaitDuration: w.WaitDuration + r.WaitDuration,
	}
}

// IsNoRows implements driver.Driver.
func (d *Driver) IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// IsUniqueViolation implements driver.Driver.
func (d *Driver) IsUniqueViolation(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// IsForeignKeyViolation implements driver.Driver.
func (d *Driver) IsForeignKeyViolation(err error) bool {
	return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// IsCheckViolation implements driver.Driver (CHECK and NOT NULL).
func (d *Driver) IsCheckViolation(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_CHECK || c == sqlite3.SQLITE_CONSTRAINT_NOTNULL
}

// IsUnavailable implements driver.Driver.
func (d *Driver) IsUnavailable(err error) bool {
	c := code(err) & 0xff
	return c == sqlite3.SQLITE_CANTOPEN || c == sqlite3.SQLITE_IOERR || c == sqlite3.SQLITE_FULL || c == sqlite3.SQLITE_READONLY || isLocked(err)
}

func code(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// Close implements driver.Driver.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.closeErr = errors.Join(d.reader.Close(), d.writer.Close())
	})
	return d.closeErr
}

// querier adapts a database/sql transaction to driver.Querier.
type querier struct {
	d  *Driver
	tx *sql.Tx
}

func (q *querier) Exec(ctx context.Context, s string, a ...any) (int64, error) {
	res, err := q.tx.ExecContext(ctx, q.d.rewrite(s), args(a)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q *querier) Query(ctx context.Context, s string, a ...any) (driver.Rows, error) {
	r, err := q.tx.QueryContext(ctx, q.d.rewrite(s), args(a)...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (q *querier) QueryRow(ctx context.Context, s string, a ...any) driver.Row {
	return q.tx.QueryRowContext(ctx, q.d.rewrite(s), args(a)...)
}

type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }
