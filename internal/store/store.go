// Package store is GreenLang's relational store port: every domain record of
// the ten seed schemas (core, emissions, supply_chain, csrd, audit,
// integration, iot, analytics, master_data, reporting), scoped to one
// organization per call, with every change appended to a hash-chained audit
// trail in the same transaction.
//
// Users program against *Store. Engines are drivers (internal/store/driver),
// chosen by URL scheme: sqlite:// (sqlitestore, the embedded default) and
// postgres:// (pgstore). Domain SQL is written once here in PostgreSQL syntax;
// drivers adapt it. internal/store/drivertest is the conformance suite every
// driver passes.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlang/greenlang/internal/port"
	"github.com/greenlang/greenlang/internal/secretbox"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// OpenFunc opens a driver for a parsed URL.
type OpenFunc func(ctx context.Context, u *url.URL, opts driver.Options) (driver.Driver, error)

// Registry maps URL schemes to drivers. The composition root builds one and
// each driver package adds itself with its Register function.
type Registry struct {
	*port.Registry[OpenFunc]
}

// NewRegistry returns an empty registry; postgresql:// URLs open with the
// postgres driver.
func NewRegistry() *Registry {
	r := &Registry{port.NewRegistry[OpenFunc]("store")}
	r.Alias("postgresql", "postgres")
	return r
}

// Options configure a Store.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the store's Prometheus metrics; nil registers none.
	Registerer prometheus.Registerer
	// Keys seal ERP credentials. Nil makes writing or reading credentials fail
	// with ErrFailedPrecondition; everything else works.
	Keys *secretbox.Keyring
	// AdminURL is passed to the driver; see driver.Options.
	AdminURL string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Open parses rawURL, opens the driver registered for its scheme and wraps it.
// Errors never contain the URL's password.
func (r *Registry) Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	open, u, err := r.Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d, err := open(ctx, u, driver.Options{Logger: logger, AdminURL: opts.AdminURL})
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Op: "store: opening " + u.Redacted(), Err: err}
	}
	return New(d, opts), nil
}

// Store is the relational store. It is safe for concurrent use.
type Store struct {
	d    driver.Driver
	log  *slog.Logger
	keys *secretbox.Keyring
	now  func() time.Time
	m    *metrics
	c    collections
	// group commits concurrent calculation saves of an organization
	// together (groupcommit.go).
	group groupCommit
	// locks are TryLock's locks on an engine without driver.Locker.
	locks memLocks
}

// New wraps an open driver.
func New(d driver.Driver, opts Options) *Store {
	s := &Store{d: d, log: opts.Logger, keys: opts.Keys, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.m = newMetrics(d, opts.Registerer)
	s.initCollections()
	return s
}

// Driver is the engine's name: "sqlite" or "postgres".
func (s *Store) Driver() string { return s.d.Name() }

// Ping checks that the engine answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.d.Ping(ctx); err != nil {
		return &Error{Code: CodeUnavailable, Op: "store: ping", Err: err}
	}
	return nil
}

// Close closes the engine. Calling it twice is safe.
func (s *Store) Close() error { return s.d.Close() }

// Migrate applies every pending migration and returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	v, err := s.d.Migrate(ctx)
	if err != nil {
		return v, &Error{Code: CodeFailedPrecondition, Op: "store: migrating", Err: err}
	}
	return v, nil
}

// MigrationStatus lists every migration the binary carries and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]driver.MigrationStatus, error) {
	st, err := s.d.MigrationStatus(ctx)
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Op: "store: reading migration status", Err: err}
	}
	return st, nil
}

// PendingMigrations counts the migrations not yet applied.
func (s *Store) PendingMigrations(ctx context.Context) (int, error) {
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if !m.Applied {
			n++
		}
	}
	return n, nil
}

// Empty reports whether the database holds no tables at all, so that
// creating the schema cannot harm anything in it.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	empty, err := s.d.Empty(ctx)
	if err != nil {
		return false, &Error{Code: CodeUnavailable, Op: "store: inspecting the database", Err: err}
	}
	return empty, nil
}

// Maintain creates time partitions ahead of need and refreshes reporting
// aggregates. The platform runs it at start-up and then periodically.
func (s *Store) Maintain(ctx context.Context) error {
	start := time.Now()
	err := s.d.Maintain(ctx, s.now().UTC())
	s.m.observe("maintain", start, err)
	if err != nil {
		return &Error{Code: CodeUnavailable, Op: "store: maintenance", Err: err}
	}
	return nil
}

// Actor is who made a change: a user, an API token, a device, the system.
type Actor struct {
	Type string // user, token, device, system
	ID   string
}

type actorKey struct{}

// WithActor returns a context whose store writes are attributed to a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.Type != "" {
		return a
	}
	return Actor{Type: "system", ID: "greenlang"}
}

// tenantTx runs fn in a transaction scoped to org and classifies its error.
func (s *Store) tenantTx(ctx context.Context, op string, org uuid.UUID, readOnly bool, fn func(q driver.Querier) error) error {
	if org == uuid.Nil {
		return errorf(CodeInvalidArgument, op, "organization id is required")
	}
	start := time.Now()
	err := s.d.TenantTx(ctx, org, driver.TxOptions{ReadOnly: readOnly}, fn)
	s.m.observe(op, start, err)
	return s.wrap(op, err)
}

func (s *Store) systemTx(ctx context.Context, op string, readOnly bool, fn func(q driver.Querier) error) error {
	start := time.Now()
	err := s.d.SystemTx(ctx, driver.TxOptions{ReadOnly: readOnly}, fn)
	s.m.observe(op, start, err)
	return s.wrap(op, err)
}

// wrap gives an engine error its code, once.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		if se.Op == "" {
			se.Op = op
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeUnavailable, Op: op, Err: err}
	}
	switch {
	case s.d.IsNoRows(err):
		return &Error{Code: CodeNotFound, Op: op, Msg: "no such record in this organization"}
	case s.d.IsUniqueViolation(err):
		return &Error{Code: CodeAlreadyExists, Op: op, Err: err}
	case s.d.IsForeignKeyViolation(err):
		return &Error{Code: CodeFailedPrecondition, Op: op, Msg: "a referenced record does not exist in this organization, or others still refer to this one", Err: err}
	case s.d.IsCheckViolation(err):
		return &Error{Code: CodeInvalidArgument, Op: op, Msg: "a value is out of its allowed range", Err: err}
	case s.d.IsUnavailable(err):
		return &Error{Code: CodeUnavailable, Op: op, Err: err}
	}
	return &Error{Code: CodeUnknown, Op: op, Err: err}
}

func (s *Store) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func fmtOp(verb, kind string) string { return fmt.Sprintf("store: %s %s", verb, kind) }

// Engine returns the driver under the port, for tests and tooling that need
// a second view of the same database.
func (s *Store) Engine() driver.Driver { return s.d }
