package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/store/pgstore"
)

// TestServePostgresIntegration runs the platform on a fresh PostgreSQL
// database the production way: migrations as the owner (store.admin_url),
// everything else as greenlang_app (store.url).
func TestServePostgresIntegration(t *testing.T) {
	t.Parallel()
	raw := os.Getenv("GREENLANG_TEST_POSTGRES_URL")
	if raw == "" {
		t.Skip("set GREENLANG_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run against PostgreSQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatalf("GREENLANG_TEST_POSTGRES_URL is set but the server is unreachable: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "greenlang_app_test_" + hex.EncodeToString(b[:])
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), raw)
		if err != nil {
			t.Errorf("dropping test database: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database: %v", err)
		}
	})
	owner, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	owner.Path = "/" + name
	appURL := *owner
	appURL.User = url.User(pgstore.AppRole)

	cfg := testConfig(t)
	cfg.Store.URL, cfg.Store.AdminURL = appURL.String(), owner.String()

	a, err := app.New(cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A database holding something already is not migrated without being asked.
	oc, err := pgx.Connect(t.Context(), owner.String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = oc.Exec(t.Context(), "CREATE TABLE public.legacy (id integer)")
	oc.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err == nil || !strings.HasPrefix(err.Error(), "store schema is out of date") {
		t.Fatalf("Start on a stale database = %v", err)
	}

	a = startApp(t, cfg, app.Options{Migrate: true})
	if a.Store().Driver() != "postgres" {
		t.Fatalf("driver = %s", a.Store().Driver())
	}
	if code, body := fetch(t, http.DefaultClient, "http://"+a.Addr()+"/readyz"); code != 200 {
		t.Fatalf("GET /readyz = %d %s", code, body)
	}
	if _, body := fetch(t, http.DefaultClient, "http://"+a.Addr()+"/metrics"); !strings.Contains(body, `greenlang_store_pool_open_connections{driver="postgres"}`) {
		t.Fatal("metrics lack the postgres pool")
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
