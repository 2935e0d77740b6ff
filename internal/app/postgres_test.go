package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

// TestServePostgresIntegration runs the platform on a fresh PostgreSQL
// database the production way: migrations as the owner (store.admin_url),
// everything else as greenlang_app (store.url).
func TestServePostgresIntegration(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "greenlang_app_test")

	cfg := testConfig(t)
	cfg.Store.URL, cfg.Store.AdminURL = db.AppURL, db.AdminURL

	a, err := app.New(cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A database holding something already is not migrated without being asked.
	oc, err := pgx.Connect(t.Context(), db.AdminURL)
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
