package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/backup"
	"github.com/greenlang/greenlang/internal/cli"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

func TestBackupCommands(t *testing.T) {
	t.Parallel()
	src := []string{"GREENLANG_DATA_DIR=" + filepath.Join(t.TempDir(), "src")}
	if r := run(t, src, "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %+v", r)
	}
	cfg, err := config.Load(config.LoadOptions{Environ: src})
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	org := &store.Organization{Name: "Backed Up Co", Slug: "backed-up"}
	if err := st.OrganizationCreate(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Into a directory: a timestamped file.
	dir := filepath.Join(t.TempDir(), "backups") + "/"
	r := run(t, src, "backup", "create", "--out", dir, "--keep", "2")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "backup written to "+filepath.Join(dir, backup.FilePrefix)) ||
		!strings.Contains(r.stdout, "(sqlite, schema version ") {
		t.Fatalf("create into a directory: %+v", r)
	}
	files, err := backup.Files(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("backups in %s: %v %v", dir, files, err)
	}
	file := files[0]

	r = run(t, nil, "backup", "verify", file)
	if r.code != 0 || !strings.HasPrefix(r.stdout, file+": OK, ") {
		t.Fatalf("verify: %+v", r)
	}

	// To standard output, and to a named file.
	r = run(t, src, "backup", "create", "--out", "-")
	if r.code != 0 || !strings.Contains(r.stderr, "\nbackup written to standard output: ") {
		t.Fatalf("create to stdout: code %d stderr %q", r.code, r.stderr)
	}
	if _, err := backup.Verify(strings.NewReader(r.stdout)); err != nil {
		t.Fatalf("backup on stdout: %v", err)
	}
	named := filepath.Join(t.TempDir(), "x.backup.gz")
	if r = run(t, src, "backup", "create", "--out", named); r.code != 0 || r.stdout == "" {
		t.Fatalf("create to a file: %+v", r)
	}

	// Restore into a new data directory, which is then a working store.
	dst := []string{"GREENLANG_DATA_DIR=" + filepath.Join(t.TempDir(), "dst")}
	r = run(t, dst, "backup", "restore", file)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "restored ") || !strings.HasSuffix(r.stdout, " from "+file+"\n") {
		t.Fatalf("restore: %+v", r)
	}
	r = run(t, dst, "audit", "verify", "--org", org.ID.String())
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("audit verify after restore: %+v", r)
	}

	// Errors: a second restore, a missing file, a file that is no backup, no --out.
	garbage := writeFile(t, "garbage.backup.gz", "not a backup")
	tests := []struct {
		name string
		env  []string
		args []string
		want string
		code int
	}{
		{"restore into a full store", dst, []string{"backup", "restore", file},
			"greenlang: backup: the target database is not empty: table ", cli.ExitFailure},
		{"missing file", dst, []string{"backup", "restore", filepath.Join(t.TempDir(), "none.gz")},
			"greenlang: backup: open ", cli.ExitFailure},
		{"not a backup", nil, []string{"backup", "verify", garbage},
			"greenlang: backup: not a gzip-compressed GreenLang backup: ", cli.ExitFailure},
		{"no --out", src, []string{"backup", "create"},
			"greenlang: --out is required", cli.ExitUsage},
	}
	for _, tt := range tests {
		r := run(t, tt.env, tt.args...)
		if r.code != tt.code {
			t.Errorf("%s: exit code %d, want %d (%s)", tt.name, r.code, tt.code, r.stderr)
			continue
		}
		line := strings.SplitN(r.stderr, "\n", 2)[0]
		if tt.code == cli.ExitFailure {
			line = errorLine(t, r)
		}
		if !strings.HasPrefix(line, tt.want) {
			t.Errorf("%s: error line %q, want %q…", tt.name, line, tt.want)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Fatalf("backup file is not gzip: %v", err)
	}
}

// TestBackupCommandsPostgres restores a backup into a new PostgreSQL
// database through the owner's admin URL and backs that database up again.
func TestBackupCommandsPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "clibackup")
	src := []string{"GREENLANG_DATA_DIR=" + filepath.Join(t.TempDir(), "src")}
	if r := run(t, src, "migrate", "up"); r.code != 0 {
		t.Fatalf("migrate up: %+v", r)
	}
	file := filepath.Join(t.TempDir(), "sqlite.backup.gz")
	if r := run(t, src, "backup", "create", "--out", file); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	pg := []string{"GREENLANG_DATA_DIR=" + filepath.Join(t.TempDir(), "pg"), "GREENLANG_STORE_URL=" + db.AdminURL}
	r := run(t, pg, "backup", "restore", file)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "restored ") {
		t.Fatalf("restore into postgres: %+v", r)
	}
	r = run(t, pg, "backup", "create", "--out", t.TempDir())
	if r.code != 0 || !strings.Contains(r.stdout, "(postgres, schema version ") {
		t.Fatalf("create from postgres: %+v", r)
	}
	// As the application role alone the backup is refused, naming the role.
	app := []string{"GREENLANG_DATA_DIR=" + filepath.Join(t.TempDir(), "app"), "GREENLANG_STORE_URL=" + db.AppURL}
	r = run(t, app, "backup", "create", "--out", "-")
	if line := errorLine(t, r); !strings.Contains(line, `role "greenlang_app" can neither bypass row-level security`) {
		t.Fatalf("backup as the application role: %s", line)
	}
}
