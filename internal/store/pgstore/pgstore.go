// Package pgstore is the PostgreSQL driver of the relational store
// (internal/store), on a pgx v5 pool. Tenancy is enforced by the engine:
// every tenant table has FORCEd row-level security keyed on the
// greenlang.org_id setting, which TenantTx sets for its transaction only,
// and the application connects as greenlang_app, a role that owns nothing.
// Time-series tables are range-partitioned by month with a DEFAULT partition;
// Maintain creates partitions ahead of time and refreshes the reporting
// materialized view.
package pgstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	"github.com/greenlang/greenlang/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// AppRole is the role the application runs as.
const AppRole = "greenlang_app"

// PartitionedTables lists the tables partitioned by month.
func PartitionedTables() []string {
	return []string{"emissions.activity_records", "emissions.calculated_emissions", "supply_chain.purchase_orders",
		"iot.sensor_readings", "audit.log"}
}

// Register adds the driver for postgres:// (and postgresql://) URLs.
func Register(r *store.Registry) { r.Register("postgres", Open) }

// Driver is an open PostgreSQL store.
type Driver struct {
	pool     *pgxpool.Pool
	adminURL string
	log      *slog.Logger
	// setRole is true when the main URL's role is privileged: every
	// transaction then switches to AppRole, so row-level security applies.
	setRole bool

	closeOnce sync.Once

	// columnTypes holds each bulk-loaded table's column type OIDs by
	// column name; typeMaps pools the type maps bulk loads encode with.
	columnTypes sync.Map
	typeMaps    sync.Pool
}

var _ driver.Driver = (*Driver)(nil)

// Open connects to the database at u and checks that it answers.
func Open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Driver, error) {
	cfg, err := poolConfig(u)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	d := &Driver{pool: pool, adminURL: opts.AdminURL, log: opts.Logger}
	d.typeMaps.New = func() any { return newTypeMap() }
	if d.adminURL == "" {
		d.adminURL = u.String()
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var privileged bool
	var user string
	if err := pool.QueryRow(pctx, `SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &privileged); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connecting: %w", cleanErr(err))
	}
	if privileged {
		d.setRole = true
		d.log.Warn("store connected as a privileged role; every transaction switches to the application role, but a raw connection could still bypass row-level security: connect store.url as greenlang_app and set store.admin_url for migrations",
			slog.String("role", user), slog.String("app_role", AppRole))
	}
	return d, nil
}

func poolConfig(u *url.URL) (*pgxpool.Config, error) {
	q := u.Query()
	if !q.Has("connect_timeout") {
		q.Set("connect_timeout", "5")
		u2 := *u
		u2.RawQuery = q.Encode()
		u = &u2
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("postgres: invalid URL %s: %w", u.Redacted(), cleanErr(err))
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		pgxdecimal.Register(c.TypeMap()) // newTypeMap registers the same
		pgxuuid.Register(c.TypeMap())
		return nil
	}
	return cfg, nil
}

// cleanErr drops the connection string pgx sometimes repeats in errors.
func cleanErr(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("cannot parse the connection string")
	}
	return err
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return "postgres" }

const (
	setTenant        = "SELECT set_config('greenlang.org_id', $1, true)"
	setTenantAndRole = "SELECT set_config('role', '" + AppRole + "', true), set_config('greenlang.org_id', $1, true)"
	setRoleOnly      = "SELECT set_config('role', '" + AppRole + "', true)"
)

// TenantTx implements driver.Driver: the organization is set for this
// transaction only, and every row-level security policy reads it.
func (d *Driver) TenantTx(ctx context.Context, org uuid.UUID, opts driver.TxOptions, fn func(driver.Querier) error) error {
	sqlText := setTenant
	if d.setRole {
		sqlText = setTenantAndRole
	}
	orgText := org.String()
	return d.tx(ctx, opts, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlText, orgText); err != nil {
			return err
		}
		return fn(&querier{tx: tx})
	})
}

var _ driver.RowSecurity = (*Driver)(nil)

// SetTenant implements driver.RowSecurity.
func (d *Driver) SetTenant(ctx context.Context, q driver.Querier, org uuid.UUID) error {
	v := ""
	if org != uuid.Nil {
		v = org.String()
	}
	_, err := q.(*querier).tx.Exec(ctx, setTenant, v)
	return err
}

// SystemTx implements driver.Driver.
func (d *Driver) SystemTx(ctx context.Context, opts driver.TxOptions, fn func(driver.Querier) error) error {
	return d.tx(ctx, opts, func(tx pgx.Tx) error {
		if d.setRole {
			if _, err := tx.Exec(ctx, setRoleOnly); err != nil {
				return err
			}
		}
		return fn(&querier{tx: tx})
	})
}

func (d *Driver) tx(ctx context.Context, opts driver.TxOptions, fn func(pgx.Tx) error) error {
	txo := pgx.TxOptions{}
	if opts.ReadOnly {
		txo.AccessMode = pgx.ReadOnly
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			}
		}
		err = pgx.BeginTxFunc(ctx, d.pool, txo, fn)
		if !retryable(err) {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// migrator opens the admin connection; the caller closes the *sql.DB.
func (d *Driver) migrator(ctx context.Context) (*migrate.Migrator, *sql.DB, error) {
	u, err := url.Parse(d.adminURL)
	if err != nil {
		return nil, nil, errors.New("postgres: admin URL is not a valid URL")
	}
	cfg, err := poolConfig(u)
	if err != nil {
		return nil, nil, err
	}
	db := stdlib.OpenDB(*cfg.ConnConfig)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	m, err := migrate.New(goose.DialectPostgres, db, sub, d.log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return m, db, nil
}

// Migrate implements driver.Driver. The admin role must be able to see every
// tenant's rows (superuser or BYPASSRLS): it owns the schema and the
// maintenance functions that run across tenants.
func (d *Driver) Migrate(ctx context.Context) ([]int64, error) {
	m, db, err := d.migrator(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var ok bool
	var user string
	if err := db.QueryRowContext(ctx, `SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &ok); err != nil {
		return nil, fmt.Errorf("postgres: connecting for migrations: %w", cleanErr(err))
	}
	if !ok {
		return nil, fmt.Errorf("postgres: role %q runs migrations but is neither superuser nor BYPASSRLS; it owns the schema and maintains it across tenants (set store.admin_url to such a role)", user)
	}
	return m.Up(ctx)
}

// MigrationStatus implements driver.Driver.
func (d *Driver) MigrationStatus(ctx context.Context) ([]driver.MigrationStatus, error) {
	m, db, err := d.migrator(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return m.Status(ctx)
}

// Empty implements driver.Driver. The catalog is readable by every role.
func (d *Driver) Empty(ctx context.Context) (bool, error) {
	var n int
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`).Scan(&n)
	return n == 0, err
}

// Maintain implements driver.Driver: monthly partitions from a year back to
// three months ahead (and for every month found in a DEFAULT partition), then
// the reporting refresh.
func (d *Driver) Maintain(ctx context.Context, _ time.Time) error {
	for _, t := range PartitionedTables() {
		err := d.SystemTx(ctx, driver.TxOptions{}, func(q driver.Querier) error {
			var n int
			if err := q.QueryRow(ctx, "SELECT core.maintain_partitions($1::regclass, 12, 3)", t).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				d.log.Info("created partitions", slog.String("table", t), slog.Int("count", n))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("maintaining partitions of %s: %w", t, err)
		}
	}
	return d.SystemTx(ctx, driver.TxOptions{}, func(q driver.Querier) error {
		_, err := q.Exec(ctx, "SELECT core.refresh_reporting()")
		if err != nil {
			return fmt.Errorf("refreshing reporting: %w", err)
		}
		return nil
	})
}

// Ping implements driver.Driver.
func (d *Driver) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

// Stats implements driver.Driver.
func (d *Driver) Stats() driver.PoolStats {
	s := d.pool.Stat()
	return driver.PoolStats{
		MaxConns: int64(s.MaxConns()), OpenConns: int64(s.TotalConns()), InUse: int64(s.AcquiredConns()),
		Idle: int64(s.IdleConns()), WaitCount: s.EmptyAcquireCount(), WaitDuration: s.EmptyAcquireWaitTime(),
	}
}

// IsNoRows implements driver.Driver.
func (d *Driver) IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// IsUniqueViolation implements driver.Driver.
func (d *Driver) IsUniqueViolation(err error) bool { return pgCode(err) == "23505" }

// IsForeignKeyViolation implements driver.Driver.
func (d *Driver) IsForeignKeyViolation(err error) bool { return pgCode(err) == "23503" }

// IsCheckViolation implements driver.Driver (CHECK and NOT NULL).
func (d *Driver) IsCheckViolation(err error) bool {
	c := pgCode(err)
	return c == "23514" || c == "23502"
}

// IsUnavailable implements driver.Driver.
func (d *Driver) IsUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.Timeout(err) || strings.HasPrefix(pgCode(err), "08")
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Close implements driver.Driver.
func (d *Driver) Close() error {
	d.closeOnce.Do(d.pool.Close)
	return nil
}

// querier adapts a pgx transaction to driver.Querier.
type querier struct {
	tx pgx.Tx
	// staged names the staging table of each table bulk loaded in this
	// transaction; nil until the first bulk load.
	staged map[string]*stage
}

// RolledBack implements driver.RollbackObserver: a rollback to a savepoint
// may have dropped a staging table created after it, and undone the
// transaction's plan_cache_mode; the next bulk load makes sure of both.
func (q *querier) RolledBack() { q.staged = nil }

func (q *querier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := q.tx.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (q *querier) Query(ctx context.Context, sql string, args ...any) (driver.Rows, error) {
	r, err := q.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (q *querier) QueryRow(ctx context.Context, sql string, args ...any) driver.Row {
	return q.tx.QueryRow(ctx, sql, args...)
}
