package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/cli"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
	_ "modernc.org/sqlite"
)

// syncBuffer is a bytes.Buffer safe to share with a running server.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

// run executes the command line in-process with only environ set.
func run(t *testing.T, environ []string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := cli.Run(t.Context(), args, environ, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// errorLine checks that a failed run printed exactly one "greenlang: "
// line, with no usage text, panic or stack trace, and returns it.
func errorLine(t *testing.T, r result) string {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("exit code 0; stdout %q stderr %q", r.stdout, r.stderr)
	}
	var found []string
	for _, line := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if strings.HasPrefix(line, "greenlang: ") {
			found = append(found, line)
		} else if !strings.HasPrefix(line, "{") { // JSON log records may precede it
			t.Errorf("stray stderr line %q", line)
		}
	}
	for _, bad := range []string{"panic", "goroutine ", "Usage:"} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("stderr contains %q:\n%s", bad, r.stderr)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one error line, got %d:\n%s", len(found), r.stderr)
	}
	return found[0]
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("version: %+v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "greenlang ") || !strings.HasPrefix(lines[1], "commit: ") ||
		lines[2] != "go: "+runtime.Version() {
		t.Fatalf("version output:\n%s", r.stdout)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	unknown := writeFile(t, "greenlang.yaml", "data_dir: ./x\nlog:\n  level: info\nstroe:\n  url: sqlite://x\n")
	malformed := writeFile(t, "greenlang.yaml", "data_dir: ./x\nhttp:\n  addr: [\n")
	badType := writeFile(t, "greenlang.yaml", "http:\n  shutdown_timeout: 30\n")
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	secretFile := writeFile(t, "key", strings.Repeat("ab", 32)+"\n")

	tests := []struct {
		name    string
		env     []string
		args    []string
		wantErr string
	}{
		{"unknown key", nil, []string{"config", "dump", "--config", unknown},
			`greenlang: config: ` + unknown + ` line 4: unknown key "stroe" (did you mean "store"?)`},
		{"malformed YAML", nil, []string{"config", "dump", "--config", malformed},
			`greenlang: config: ` + malformed + ` line 3: malformed YAML: did not find expected node content`},
		{"wrong type", nil, []string{"serve", "--config", badType},
			`greenlang: config: ` + badType + ` line 2: invalid value for "http.shutdown_timeout": want a duration such as 30s or 1h`},
		{"file from GREENLANG_CONFIG", []string{"GREENLANG_CONFIG=" + unknown}, []string{"migrate", "status"},
			`greenlang: config: ` + unknown + ` line 4: unknown key "stroe" (did you mean "store"?)`},
		{"named file missing", nil, []string{"config", "dump", "--config", missing},
			`greenlang: config: reading ` + missing + `: no such file or directory`},
		{"unknown environment variable", []string{"GREENLANG_HTTP_ADRR=:80"}, []string{"config", "dump"},
			`greenlang: config: unknown environment variable GREENLANG_HTTP_ADRR (did you mean GREENLANG_HTTP_ADDR?)`},
		{"value and _FILE", []string{"GREENLANG_SECRET_KEY=x", "GREENLANG_SECRET_KEY_FILE=" + secretFile}, []string{"config", "dump"},
			`greenlang: config: both GREENLANG_SECRET_KEY and GREENLANG_SECRET_KEY_FILE are set; set one`},
		{"invalid flag value", nil, []string{"config", "dump", "--log-level", "loud", "--http-addr", "nope"},
			`greenlang: config: http.addr "nope": want host:port; log.level "loud" is not one of debug, info, warn, error`},
		{"bad secret key does not echo it", []string{"GREENLANG_SECRET_KEY=hunter2"}, []string{"config", "dump"},
			`greenlang: config: secret_key: secret key must be 32 bytes as 64 hex characters or base64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.env, tt.args...)
			if got := errorLine(t, r); got != tt.wantErr {
				t.Fatalf("error line:\n got %s\nwant %s", got, tt.wantErr)
			}
			if r.code != cli.ExitFailure {
				t.Fatalf("exit code %d, want %d", r.code, cli.ExitFailure)
			}
		})
	}
}

// staleDB returns a SQLite file holding a table but no GreenLang schema.
func staleDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stale.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE legacy (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStoreErrors(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "plain-file", "")
	tests := []struct {
		name   string
		args   []string
		prefix string
		within time.Duration
	}{
		{"bad scheme for migrate", []string{"migrate", "status", "--store-url", "foo://x"},
			`greenlang: store: opening: unknown store URL scheme "foo" (known: postgres, sqlite)`, 0},
		{"bad scheme for serve", []string{"serve", "--store-url", "foo://x", "--http-addr", "127.0.0.1:0"},
			`greenlang: store: opening: unknown store URL scheme "foo" (known: postgres, sqlite)`, 0},
		{"unreachable postgres", []string{"migrate", "up", "--store-url", "postgres://app:pw@127.0.0.1:1/x?connect_timeout=2"},
			"greenlang: store: opening postgres://app:xxxxx@127.0.0.1:1/x", 5 * time.Second},
		{"unreachable postgres for serve", []string{"serve", "--store-url", "postgres://127.0.0.1:1/x?connect_timeout=2", "--http-addr", "127.0.0.1:0"},
			"greenlang: store: opening postgres://127.0.0.1:1/x", 5 * time.Second},
		{"data dir under a regular file", []string{"serve", "--data-dir", filepath.Join(file, "sub"), "--http-addr", "127.0.0.1:0"},
			"greenlang: app: creating data directory " + filepath.Join(file, "sub") + ": not a directory", 0},
		{"schema out of date", []string{"serve", "--store-url", "sqlite://" + staleDB(t), "--http-addr", "127.0.0.1:0"},
			`greenlang: store schema is out of date: `, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--data-dir", filepath.Join(t.TempDir(), "data")}, tt.args...)
			start := time.Now()
			r := run(t, nil, args...)
			line := errorLine(t, r)
			if !strings.HasPrefix(line, tt.prefix) {
				t.Fatalf("error line:\n got %s\nwant %s…", line, tt.prefix)
			}
			if strings.Contains(line, ":pw@") {
				t.Fatalf("password in error: %s", line)
			}
			if tt.within > 0 && time.Since(start) > tt.within {
				t.Fatalf("took %v", time.Since(start))
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"serve", "--bogus"}, "greenlang: unknown flag: --bogus"},
		{[]string{"serve", "extra"}, `greenlang: unknown command "extra" for "greenlang serve"`},
		{[]string{"frobnicate"}, `greenlang: unknown command "frobnicate" for "greenlang"`},
		{[]string{"migrate"}, `greenlang: "greenlang migrate" needs a subcommand`},
		{[]string{"migrate", "sideways"}, `greenlang: unknown command "sideways" for "greenlang migrate"`},
		{[]string{"audit", "verify", "--org", "acme"}, `greenlang: --org "acme" is not a UUID`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := run(t, nil, tt.args...)
			if r.code != cli.ExitUsage {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", r.code, cli.ExitUsage, r.stderr)
			}
			first, rest, _ := strings.Cut(r.stderr, "\n")
			if first != tt.wantErr {
				t.Fatalf("first line:\n got %s\nwant %s", first, tt.wantErr)
			}
			if !strings.Contains(rest, "Usage:") {
				t.Fatalf("no usage after a usage error:\n%s", r.stderr)
			}
		})
	}
}

func TestConfigDump(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("ab", 32)
	keyFile := writeFile(t, "key", key+"\n")
	file := writeFile(t, "greenlang.yaml", "log:\n  level: debug\nprevious_secret_keys:\n  - "+strings.Repeat("cd", 32)+"\n")
	r := run(t, []string{
		"GREENLANG_CONFIG=" + file,
		"GREENLANG_SECRET_KEY_FILE=" + keyFile,
		"GREENLANG_STORE_ADMIN_URL=postgres://owner:ownerpw@db/greenlang",
		"GREENLANG_TEST_POSTGRES_URL=postgres://ignored",
	}, "config", "dump", "--store-url", "postgres://app:apppw@db/greenlang?sslmode=require", "--http-addr", ":9090")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("config dump: %+v", r)
	}
	for _, secret := range []string{key, strings.Repeat("cd", 32), "ownerpw", "apppw"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("dump shows %q", secret)
		}
	}
	for _, want := range []string{
		"secret_key: REDACTED\n",
		"  - REDACTED\n",
		"url: postgres://app:xxxxx@db/greenlang?sslmode=require\n",
		"admin_url: postgres://owner:xxxxx@db/greenlang\n",
		"addr: :9090\n",
		"level: debug\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dump lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	env := []string{"GREENLANG_DATA_DIR=" + filepath.Join(t.TempDir(), "data")}

	r := run(t, env, "migrate", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "VERSION") || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("status before: %+v", r)
	}
	r = run(t, env, "migrate", "up")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "applied migration 1\n") {
		t.Fatalf("up: %+v", r)
	}
	r = run(t, env, "migrate", "up")
	if r.code != 0 || r.stdout != "schema is up to date\n" {
		t.Fatalf("second up: %+v", r)
	}
	r = run(t, env, "migrate", "status")
	if r.code != 0 || strings.Contains(r.stdout, "pending") || !strings.Contains(r.stdout, "applied") {
		t.Fatalf("status after: %+v", r)
	}
}

func TestAuditVerify(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"GREENLANG_DATA_DIR=" + dataDir}
	if r := run(t, env, "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %+v", r)
	}

	r := run(t, env, "audit", "verify")
	if r.code != 0 || r.stdout != "no organizations\n" {
		t.Fatalf("verify with no organizations: %+v", r)
	}

	// Two organizations, one with a tampered trail.
	cfg, err := config.Load(config.LoadOptions{Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := &store.Organization{Name: "Good Co", Slug: "good"}
	bad := &store.Organization{Name: "Bad Co", Slug: "bad"}
	for _, o := range []*store.Organization{good, bad} {
		if err := st.OrganizationCreate(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}

	r = run(t, env, "audit", "verify", "--org", good.ID.String())
	if r.code != 0 || !strings.HasPrefix(r.stdout, good.ID.String()+"  1 entries checked  OK") {
		t.Fatalf("verify one: %+v", r)
	}

	err = st.Engine().SystemTx(t.Context(), driver.TxOptions{}, func(q driver.Querier) error {
		_, err := q.Exec(t.Context(), "UPDATE audit.log SET actor_id = 'mallory' WHERE org_id = $1 AND seq = 1", bad.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	r = run(t, env, "audit", "verify")
	if line := errorLine(t, r); line != "greenlang: audit: 1 of 2 organization(s) have a broken audit chain" {
		t.Fatalf("error line %q", line)
	}
	if r.code != cli.ExitFailure {
		t.Fatalf("exit code %d", r.code)
	}
	if !strings.Contains(r.stdout, good.ID.String()+"  1 entries checked  OK") ||
		!strings.Contains(r.stdout, bad.ID.String()+"  0 entries checked  BROKEN at seq 1: ") {
		t.Fatalf("verify output:\n%s", r.stdout)
	}

	r = run(t, env, "audit", "verify", "--json")
	if r.code != cli.ExitFailure {
		t.Fatalf("--json exit code %d", r.code)
	}
	var out struct {
		OK            bool `json:"ok"`
		Organizations []struct {
			OrgID   string `json:"org_id"`
			Entries int64  `json:"entries"`
			Broken  *struct {
				Seq    int64  `json:"seq"`
				Reason string `json:"reason"`
			} `json:"broken"`
		} `json:"organizations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("--json output %q: %v", r.stdout, err)
	}
	if out.OK || len(out.Organizations) != 2 {
		t.Fatalf("--json = %+v", out)
	}
	for _, o := range out.Organizations {
		if (o.OrgID == bad.ID.String()) != (o.Broken != nil) {
			t.Errorf("organization %s: broken = %+v", o.OrgID, o.Broken)
		}
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stdout syncBuffer
	done := make(chan int, 1)
	go func() {
		defer pw.Close()
		done <- cli.Run(ctx, []string{"serve", "--migrate", "--http-addr", "127.0.0.1:0", "--mqtt-url", "mqtt+embedded://127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data")},
			nil, &stdout, pw)
	}()

	// Read the JSON log until the server says where it listens.
	var logs syncBuffer
	addrc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addrc <- rec.Addr
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case code := <-done:
		t.Fatalf("serve exited with %d:\n%s", code, logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs.String())
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, res.StatusCode)
		}
	}

	cancel() // as SIGINT would
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited with %d:\n%s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	<-scanned
	for _, want := range []string{`"msg":"new database initialized"`, `"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}
