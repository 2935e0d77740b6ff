package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/observe"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	_ "modernc.org/sqlite"
)

// testConfig is a valid configuration on a fresh data directory and a free
// port.
// testConfig is serve's configuration for a test, without the pipeline
// scheduler: the tests here check one path each (devices, alerts, the
// stream), and the scheduled pipelines' runs of every organization would
// add their own alerts and load. TestServePipelines runs serve with them.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	return config.Config{
		DataDir:  filepath.Join(t.TempDir(), "data"),
		HTTP:     config.HTTPConfig{Addr: "127.0.0.1:0"},
		MQTT:     config.MQTTConfig{URL: "mqtt+embedded://127.0.0.1:0"},
		Pipeline: config.PipelineConfig{Disabled: true},
	}.WithDefaults()
}

func startApp(t *testing.T, cfg config.Config, opts app.Options) *app.App {
	t.Helper()
	a, err := app.New(cfg, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

func fetch(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestStartServeStop(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	a := startApp(t, cfg, app.Options{Migrate: true, Version: "v0.0.0-test"})
	base := "http://" + a.Addr()

	if code, body := fetch(t, http.DefaultClient, base+"/healthz"); code != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Fatalf("GET /healthz = %d %s", code, body)
	}
	if code, body := fetch(t, http.DefaultClient, base+"/readyz"); code != 200 || strings.TrimSpace(body) != `{"status":"ready","checks":{"store":"ok"}}` {
		t.Fatalf("GET /readyz = %d %s", code, body)
	}
	code, body := fetch(t, http.DefaultClient, base+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{"go_goroutines", "greenlang_http_requests_total", "greenlang_store_pool_open_connections", `greenlang_build_info{version="v0.0.0-test"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if a.Store() == nil || a.Store().Driver() != "sqlite" {
		t.Fatalf("Store() = %v", a.Store())
	}
	if n, err := a.Store().PendingMigrations(t.Context()); err != nil || n != 0 {
		t.Fatalf("pending after --migrate = %d, %v", n, err)
	}

	// The generated key file.
	fi, err := os.Stat(filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 65 {
		t.Fatalf("secret.key mode %v size %d, want 0600 and 64 hex characters plus newline", fi.Mode().Perm(), fi.Size())
	}
	if fi, err := os.Stat(cfg.DataDir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("data dir: %v %v", fi.Mode(), err)
	}

	addr := a.Addr()
	if err := a.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still listening after Stop")
	}
	if err := a.Store().Ping(t.Context()); err == nil {
		t.Fatal("store still open after Stop")
	}
}

// staleDatabase puts a table in the configured SQLite file, so the database
// is neither empty nor migrated: a database in use by something older.
func staleDatabase(t *testing.T, cfg config.Config) {
	t.Helper()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Store.URL)
	if err != nil {
		t.Fatal(err)
	}
	path, err := sqlitestore.PathFromURL(u)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE legacy (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
}

func TestStartInitializesAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	a := startApp(t, testConfig(t), app.Options{})
	if n, err := a.Store().PendingMigrations(t.Context()); err != nil || n != 0 {
		t.Fatalf("pending after first start: %d %v", n, err)
	}
}

func TestStartRefusesOutOfDateSchema(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	staleDatabase(t, cfg)
	a, err := app.New(cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Start(t.Context())
	const want = `store schema is out of date: 1 migration(s) pending; run "greenlang migrate up" or start with --migrate`
	if err == nil || !strings.HasPrefix(err.Error(), "store schema is out of date: ") || !strings.HasSuffix(err.Error(), `pending; run "greenlang migrate up" or start with --migrate`) {
		t.Fatalf("Start = %v, want like %q", err, want)
	}
	if a.Addr() != "" {
		t.Fatalf("listening at %s after a failed start", a.Addr())
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after failed Start: %v", err)
	}
	if err := a.Start(t.Context()); err == nil {
		t.Fatal("second Start succeeded")
	}

	// Migrating with the one-off store, as "greenlang migrate up" does, lets it start.
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := st.Migrate(t.Context())
	if err != nil || len(applied) == 0 {
		t.Fatalf("Migrate = %v, %v", applied, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	a2 := startApp(t, cfg, app.Options{})
	if a2.Addr() == "" {
		t.Fatal("no address")
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })

	tests := []struct {
		name    string
		mutate  func(c *config.Config)
		prefix  string
		within  time.Duration
		wantErr string
		// multiLine allows a driver's multi-line error; the CLI prints it on one line.
		multiLine bool
	}{
		{name: "data dir under a file", mutate: func(c *config.Config) {
			c.DataDir = filepath.Join(file, "sub")
			c.Store.URL = config.SQLiteURL(filepath.Join(c.DataDir, "greenlang.db"))
		},
			wantErr: "app: creating data directory " + filepath.Join(file, "sub") + ": not a directory"},
		{name: "port taken", mutate: func(c *config.Config) { c.HTTP.Addr = busy.Addr().String() },
			wantErr: "app: listening on " + busy.Addr().String() + ": bind: address already in use"},
		{name: "unknown store scheme", mutate: func(c *config.Config) { c.Store.URL = "foo://x" },
			wantErr: `store: opening: unknown store URL scheme "foo" (known: postgres, sqlite)`},
		{name: "unreachable postgres", mutate: func(c *config.Config) { c.Store.URL = "postgres://u:pw@127.0.0.1:1/x?connect_timeout=2" },
			prefix: "store: opening postgres://u:xxxxx@127.0.0.1:1/x", within: 5 * time.Second, multiLine: true},
		{name: "missing TLS files", mutate: func(c *config.Config) {
			c.HTTP.TLSCertFile, c.HTTP.TLSKeyFile = "/nonexistent/c.pem", "/nonexistent/k.pem"
		},
			wantErr: "app: loading TLS certificate /nonexistent/c.pem and key /nonexistent/k.pem: no such file or directory"},
		{name: "bad key file", mutate: func(c *config.Config) {
			if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(c.DataDir, "secret.key"), []byte("short\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, prefix: "app: secret key file "},
		{name: "bad edge rules", mutate: func(c *config.Config) {
			c.MQTT.EdgeRulesFile = filepath.Join(t.TempDir(), "rules.json")
			if err := os.WriteFile(c.MQTT.EdgeRulesFile, []byte(`[{"name": "x", "action": "explode"}]`), 0o600); err != nil {
				t.Fatal(err)
			}
		}, prefix: "app: mqtt.edge_rules_file "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			tt.mutate(&cfg)
			a, err := app.New(cfg, nil, app.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = a.Start(t.Context())
			if err == nil {
				t.Fatal("Start succeeded")
			}
			msg := err.Error()
			if !tt.multiLine && strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error is not one line: %q", msg)
			}
			if strings.Contains(msg, ":pw@") {
				t.Errorf("error shows the password: %q", msg)
			}
			if tt.wantErr != "" && msg != tt.wantErr {
				t.Errorf("Start = %q\nwant    %q", msg, tt.wantErr)
			}
			if tt.prefix != "" && !strings.HasPrefix(msg, tt.prefix) {
				t.Errorf("Start = %q, want prefix %q", msg, tt.prefix)
			}
			if tt.within > 0 && time.Since(start) > tt.within {
				t.Errorf("Start took %v", time.Since(start))
			}
			if err := a.Stop(context.Background()); err != nil {
				t.Errorf("Stop after failed Start: %v", err)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Log.Level = "loud"
	if _, err := app.New(cfg, nil, app.Options{}); err == nil || !strings.HasPrefix(err.Error(), "config: log.level") {
		t.Fatalf("New = %v", err)
	}
	cfg = testConfig(t)
	a, err := app.New(cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Fatalf("New touched the disk: %v", err)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
}

func TestMaintenanceRuns(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MaintenanceInterval = 20 * time.Millisecond
	reg := observe.NewRegistry()
	startApp(t, cfg, app.Options{Migrate: true, Registry: reg})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n := maintainRuns(t, reg); n >= 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("maintenance ran %d times in 5s at a 20ms interval", maintainRuns(t, reg))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// maintainRuns counts finished store maintenance runs from the store's
// operation histogram.
func maintainRuns(t *testing.T, reg *prometheus.Registry) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != "greenlang_store_operation_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "op" && lp.GetValue() == "maintain" {
					n += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}

func TestTLS(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile = writeSelfSigned(t)
	a := startApp(t, cfg, app.Options{Migrate: true})

	pool := x509.NewCertPool()
	certPEM, err := os.ReadFile(cfg.HTTP.TLSCertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code, body := fetch(t, client, "https://"+a.Addr()+"/healthz"); code != 200 {
		t.Fatalf("GET https /healthz = %d %s", code, body)
	}
}

// writeSelfSigned writes a certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "greenlang test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
