// Package pgtest gives tests a fresh PostgreSQL database on the server named
// by GREENLANG_TEST_POSTGRES_URL, dropped when the test ends. Tests skip with
// a message when the variable is unset and fail when it is set but the
// server does not answer, so CI, which sets it, never skips silently.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore"
)

// EnvVar names the server tests run against.
const EnvVar = "GREENLANG_TEST_POSTGRES_URL"

// DB is one test database.
type DB struct {
	Name     string
	AdminURL string // the server URL's role (a superuser in tests), on this database
	AppURL   string // the application role greenlang_app, on this database
}

// New creates a database named prefix_<random> and drops it at cleanup.
func New(t testing.TB, prefix string) DB {
	t.Helper()
	raw := os.Getenv(EnvVar)
	if raw == "" {
		t.Skip("set " + EnvVar + " (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL tests")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("%s is set but the server is unreachable: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), raw)
		if err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	u.Path = "/" + name
	app := *u
	app.User = url.User(pgstore.AppRole)
	return DB{Name: name, AdminURL: u.String(), AppURL: app.String()}
}

// Open migrates db as its owner, then opens the store as greenlang_app with
// the owner as admin URL: the way a production deployment runs. The store
// is closed at cleanup.
func Open(t testing.TB, db DB, opts store.Options) *store.Store {
	t.Helper()
	ctx := context.Background()
	reg := store.NewRegistry()
	pgstore.Register(reg)
	owner, err := reg.Open(ctx, db.AdminURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	owner.Close()
	opts.AdminURL = db.AdminURL
	s, err := reg.Open(ctx, db.AppURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
