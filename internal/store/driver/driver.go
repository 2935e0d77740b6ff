// Package driver defines the interface every relational engine implements for
// the store port (internal/store). Drivers talk to their engine only: they open
// connections, run transactions scoped to one tenant, load rows in bulk, apply
// their embedded migrations and keep the engine tidy (partitions, aggregates).
// Domain SQL lives once in the port; see docs/design.md for why.
package driver

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
)

// Rows is an iterator over a query result. Close is safe to call twice.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// RollbackObserver is implemented by a Querier that caches what it did
// earlier in its transaction (a staging table created, a setting made):
// after a ROLLBACK TO SAVEPOINT the store calls RolledBack, and the
// querier forgets what the rollback may have undone.
type RollbackObserver interface {
	RolledBack()
}

// Row is the result of QueryRow. Scan returns ErrNoRows from the driver when
// the query matched nothing; the driver's IsNoRows recognises it.
type Row interface {
	Scan(dest ...any) error
}

// Querier runs SQL written in the store's dialect: PostgreSQL syntax with $n
// placeholders and schema-qualified table names (core.sites). Drivers for other
// engines rewrite it (SQLite: core_sites, ?n). Values are Go values: uuid.UUID,
// decimal.Decimal, time.Time (always UTC), string, int64, bool, []byte and
// types implementing driver.Valuer.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) Row
}

// TxOptions tune a transaction.
type TxOptions struct {
	// ReadOnly transactions may run concurrently with others and on replicas.
	ReadOnly bool
}

// Table describes a table for bulk loading.
type Table struct {
	Name    string   // schema-qualified, e.g. "emissions.activity_records"
	Columns []string // in the order of each row's values
	// IgnoreConflicts skips rows whose key already exists instead of failing
	// (idempotent sensor readings).
	IgnoreConflicts bool
}

// BulkPreparer is a Driver whose bulk loads can do their CPU work ahead of
// the transaction: PrepareBulk turns rows into what the engine reads
// (PostgreSQL: the binary COPY stream), outside any transaction and on any
// goroutine, and LoadPrepared loads that inside q's transaction as
// BulkInsert would have loaded the rows. A caller that has the next rows
// before the transaction needs them (a calculation run written in chunks)
// prepares them beside the load of the last ones, so the engine does not
// wait for the encoding.
type BulkPreparer interface {
	PrepareBulk(ctx context.Context, table Table, rows [][]any) (PreparedBulk, error)
	LoadPrepared(ctx context.Context, q Querier, p PreparedBulk) (int64, error)
}

// PreparedBulk is rows prepared by a BulkPreparer, for its LoadPrepared
// only.
type PreparedBulk any

// MigrationStatus is one embedded migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// PoolStats is a snapshot of the connection pool for metrics.
type PoolStats struct {
	MaxConns      int64
	OpenConns     int64
	InUse         int64
	Idle          int64
	WaitCount     int64
	WaitDuration  time.Duration
	AcquireErrors int64
}

// RowSecurity is the optional capability of an engine that enforces tenancy
// itself (PostgreSQL row-level security): cross-tenant platform work goes
// through the schema owner's SECURITY DEFINER functions rather than plain
// statements, and a system transaction can limit itself to one tenant for a
// while. Engines without it (SQLite) are scoped by the store's own SQL.
type RowSecurity interface {
	// SetTenant limits the rest of the transaction q belongs to to org's
	// rows; uuid.Nil lifts the limit.
	SetTenant(ctx context.Context, q Querier, org uuid.UUID) error
}

// Driver is a relational engine. All methods are safe for concurrent use.
type Driver interface {
	// Name is the engine's short name: "sqlite" or "postgres".
	Name() string

	// TenantTx runs fn in one transaction in which the engine itself limits
	// every statement to org's rows where it can (PostgreSQL row-level
	// security). It commits when fn returns nil and rolls back otherwise,
	// retrying the whole transaction on transient lock errors.
	TenantTx(ctx context.Context, org uuid.UUID, opts TxOptions, fn func(Querier) error) error

	// SystemTx runs fn in a transaction outside any tenant: reference data
	// (official factor sets, ESRS standards) and cross-tenant audit checks.
	SystemTx(ctx context.Context, opts TxOptions, fn func(Querier) error) error

	// BulkInsert loads rows into table inside the transaction that q belongs
	// to, by the engine's fastest path that still honours tenancy. It
	// returns the number of rows written.
	BulkInsert(ctx context.Context, q Querier, table Table, rows [][]any) (int64, error)

	// Migrate applies every pending embedded migration, each in its own
	// transaction, and returns the versions applied.
	Migrate(ctx context.Context) ([]int64, error)
	// MigrationStatus lists every embedded migration.
	MigrationStatus(ctx context.Context) ([]MigrationStatus, error)

	// Empty reports whether the database holds no tables at all: a new
	// database that migrating cannot harm.
	Empty(ctx context.Context) (bool, error)

	// Maintain keeps the engine ready for the coming months: time partitions
	// exist ahead of time and reporting aggregates are refreshed.
	Maintain(ctx context.Context, now time.Time) error

	// Ping checks that the engine answers.
	Ping(ctx context.Context) error
	// Stats reports the connection pool.
	Stats() PoolStats

	// IsNoRows, IsUniqueViolation, IsForeignKeyViolation and IsCheckViolation classify the
	// engine's errors.
	IsNoRows(err error) bool
	IsUniqueViolation(err error) bool
	IsForeignKeyViolation(err error) bool
	IsCheckViolation(err error) bool
	// IsUnavailable reports a connection-level failure.
	IsUnavailable(err error) bool

	// Close releases every connection. Calling it twice is safe.
	Close() error
}

// Options are what the port passes to a driver's Open.
type Options struct {
	// Logger receives the driver's structured logs. Never nil.
	Logger *slog.Logger
	// AdminURL, when set, is the URL migrations and maintenance connect with
	// (a role that owns the schema); the main URL is then the application's
	// unprivileged role. Empty means the main URL does both.
	AdminURL string
}
