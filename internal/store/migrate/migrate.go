// Package migrate applies a driver's embedded SQL migrations with goose,
// each migration in its own transaction together with its version record,
// so a failed migration leaves nothing half-applied. Both relational drivers
// (sqlitestore, pgstore) use it.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// TableName is the table that records applied migrations.
const TableName = "greenlang_schema_migrations"

// Migrator applies one driver's migrations to one database.
type Migrator struct {
	p *goose.Provider
}

// New prepares a migrator. dialect is goose.DialectPostgres or
// goose.DialectSQLite3; postgres migrations take a session advisory lock so
// two processes never migrate at once.
func New(dialect goose.Dialect, db *sql.DB, fsys fs.FS, logger *slog.Logger) (*Migrator, error) {
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithTableName(TableName),
		goose.WithSlog(logger),
	}
	if dialect == goose.DialectPostgres {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{p: p}, nil
}

// Up applies every pending migration and returns the versions applied.
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	res, err := m.p.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		res = partial.Applied
		err = partial.Err
		if partial.Failed != nil && partial.Failed.Source != nil {
			err = fmt.Errorf("migration %d (%s): %w", partial.Failed.Source.Version, partial.Failed.Source.Path, partial.Err)
		}
	}
	var applied []int64
	for _, r := range res {
		if r.Error == nil && !r.Empty {
			applied = append(applied, r.Source.Version)
		}
	}
	if err != nil {
		return applied, fmt.Errorf("applying migrations: %w", err)
	}
	return applied, nil
}

// Status lists every migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]driver.MigrationStatus, error) {
	st, err := m.p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading migration status: %w", err)
	}
	out := make([]driver.MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, driver.MigrationStatus{
			Version:   s.Source.Version,
			Name:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}
