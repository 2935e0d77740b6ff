package backup_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/backup"
	"github.com/greenlang/greenlang/internal/demo"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// engine opens stores of one engine for a test and reads any of its
// databases raw, table by table.
type engine struct {
	name string
	// open opens a new database; migrated says whether to create the schema.
	open func(t *testing.T, migrated bool) (*store.Store, rawDB)
}

// rawDB reads every row of every table of one database, bypassing the store.
type rawDB func(t *testing.T) map[string][]string

func engines(t *testing.T) []engine {
	return []engine{
		{name: "sqlite", open: openSQLite},
		{name: "postgres", open: openPostgres},
	}
}

func forEachEngine(t *testing.T, fn func(t *testing.T, e engine)) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			if e.name == "postgres" && os.Getenv(pgtest.EnvVar) == "" {
				t.Skip("set " + pgtest.EnvVar + " (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL tests")
			}
			fn(t, e)
		})
	}
}

func openSQLite(t *testing.T, migrated bool) (*store.Store, rawDB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "greenlang.db")
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(context.Background(), "sqlite://"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if migrated {
		if _, err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return st, func(t *testing.T) map[string][]string { return sqliteRows(t, path) }
}

// sqliteRows reads each table (and sqlite_sequence) with quote(), which
// keeps each value's storage class and exact text.
func sqliteRows(t *testing.T, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names := queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'greenlang_schema_migrations' ORDER BY name`)
	out := map[string][]string{}
	for _, n := range names {
		cols := queryStrings(t, db, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n)
		q := make([]string, len(cols))
		for i, c := range cols {
			q[i] = `quote("` + c + `")`
		}
		out[n] = queryStrings(t, db, `SELECT `+strings.Join(q, ` || '|' || `)+` AS r FROM "`+n+`" ORDER BY r`)
	}
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openPostgres(t *testing.T, migrated bool) (*store.Store, rawDB) {
	t.Helper()
	db := pgtest.New(t, "backup")
	var st *store.Store
	if migrated {
		st = pgtest.Open(t, db, store.Options{})
	} else {
		reg := store.NewRegistry()
		pgstore.Register(reg)
		var err error
		// The application role exists once any test database was migrated.
		if st, err = reg.Open(context.Background(), db.AdminURL, store.Options{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	}
	return st, func(t *testing.T) map[string][]string { return pgRows(t, db.AdminURL) }
}

// pgRows reads every table and materialized view as the superuser, each
// row in its text form, row-level security off; partitioned tables through
// their parents (a restore does not recreate the monthly partitions).
func pgRows(t *testing.T, url string) map[string][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET row_security = off; SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
		AND c.relname <> 'greenlang_schema_migrations' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range names {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+n+` t ORDER BY t::text COLLATE "C"`)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out[n] = vals
	}
	return out
}

// fill loads the demo organization and a second one, with sensor
// readings, API tokens, outbox events and alerts, then runs maintenance
// (PostgreSQL moves rows into monthly partitions).
func fill(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	got, err := demo.Load(ctx, st, demo.Options{Now: now, Password: "demo passphrase 1", Hashing: password.Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	other := &store.Organization{Name: "Zweite GmbH \"quoted\" ü", Slug: "zweite", Country: "AT", Settings: store.JSON(`{"a": [1, 2.50, "x\ny"], "b": null}`)}
	if err := st.OrganizationCreate(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, org := range []uuid.UUID{got.OrgID, other.ID} {
		site := &store.Site{Code: "S1", Name: "Site\tone", Active: true, Latitude: decimal.NewNullDecimal(decimal.RequireFromString("52.520000"))}
		if err := st.Sites().Create(ctx, org, site); err != nil {
			t.Fatal(err)
		}
		dev := &store.Device{DeviceType: "energy_meter", Serial: "BK-" + org.String()[:8], SiteID: &site.ID, Status: "active"}
		if err := st.Devices().Create(ctx, org, dev); err != nil {
			t.Fatal(err)
		}
		var rs []store.SensorReading
		for i := range 50 {
			ts := now.Add(-time.Duration(i) * 97 * time.Hour).Add(123456 * time.Microsecond)
			rs = append(rs, store.SensorReading{OrgID: org, DeviceID: dev.ID, Metric: "energy_kwh", Time: ts,
				Value: decimal.New(int64(1000+i), -2), Unit: "kWh", ReceivedAt: ts.Add(time.Second)})
		}
		if _, err := st.SensorReadingsInsert(ctx, org, rs); err != nil {
			t.Fatal(err)
		}
		exp := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
		if _, _, err := st.APITokenIssue(ctx, org, store.APITokenIssueParams{Name: "sync", Scopes: []string{"devices:write"}, ExpiresAt: &exp}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.OutboxAppend(ctx, org, store.OutboxEvent{Topic: "emissions.raw", Key: "k", Headers: map[string]string{"h": "v"}, Payload: []byte{0, 1, 2, 255}}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AlertRaise(ctx, &store.AlertRaiseParams{OrgID: org, ID: uuid.New(), EventID: "e1", DedupKey: "d1",
			DeviceRef: dev.ID.String(), Severity: "warning", Kind: "threshold", Metric: "energy_kwh", Message: "high",
			Value: decimal.RequireFromString("12.5"), RaisedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRestoreEveryRow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		src, srcRows := e.open(t, true)
		fill(t, src)

		var buf bytes.Buffer
		now := time.Date(2026, 3, 21, 2, 0, 0, 0, time.UTC)
		m, err := backup.Write(ctx, src, &buf, now, backup.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Engine != e.name || m.SchemaVersion < 14 || !m.CreatedAt.Equal(now) || m.Rows() < 300 {
			t.Fatalf("manifest %+v", m)
		}
		names := map[string]bool{}
		for _, tb := range m.Tables {
			names[tb.Name] = true
			if strings.HasSuffix(tb.Name, "_default") || strings.Contains(tb.Name, "_p20") {
				t.Errorf("partition %s dumped on its own", tb.Name)
			}
		}
		for _, want := range []string{"core.organizations", "core.users", "core.sites", "emissions.activity_records",
			"emissions.calculated_emissions", "audit.log", "iot.devices", "iot.sensor_readings", "integration.outbox", "csrd.esrs_standards"} {
			if !names[want] {
				t.Errorf("table %s missing from the backup", want)
			}
		}
		if _, err := backup.Verify(bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatal(err)
		}

		dst, dstRows := e.open(t, false)
		got, err := backup.Restore(ctx, dst, bytes.NewReader(buf.Bytes()), backup.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Rows() != m.Rows() {
			t.Fatalf("restored %d rows, backed up %d", got.Rows(), m.Rows())
		}
		want, have := srcRows(t), dstRows(t)
		compareRows(t, want, have)

		// The restored store works: the audit chains verify and new
		// events continue the outbox's sequence.
		ids, err := dst.OrganizationIDs(ctx)
		if err != nil || len(ids) != 2 {
			t.Fatalf("organizations %v %v", ids, err)
		}
		for _, id := range ids {
			rep, err := dst.VerifyAudit(ctx, id)
			if err != nil || !rep.OK() {
				t.Fatalf("audit of %s after restore: %+v %v", id, rep, err)
			}
		}
		before, err := dst.OutboxEvents(ctx, ids[0], 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := dst.OutboxAppend(ctx, ids[0], store.OutboxEvent{Topic: "emissions.raw", Payload: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if ev[0].Seq <= before[len(before)-1].Seq {
			t.Fatalf("new outbox seq %d not after restored %d", ev[0].Seq, before[len(before)-1].Seq)
		}

		// A second restore into the now full database is refused and
		// changes nothing.
		_, err = backup.Restore(ctx, dst, bytes.NewReader(buf.Bytes()), backup.Options{})
		if err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("restore into a full database: %v", err)
		}
	})
}

// compareRows compares every row of every table.
func compareRows(t *testing.T, want, have map[string][]string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("no tables read")
	}
	total := 0
	for name, rows := range want {
		got, ok := have[name]
		if !ok {
			t.Errorf("table %s missing after restore", name)
			continue
		}
		total += len(rows)
		if len(got) != len(rows) {
			t.Errorf("table %s: %d rows after restore, %d before", name, len(got), len(rows))
			continue
		}
		for i := range rows {
			if got[i] != rows[i] {
				t.Errorf("table %s row %d:\n got %s\nwant %s", name, i, got[i], rows[i])
				break
			}
		}
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			t.Errorf("table %s appeared after restore", name)
		}
	}
	if total < 300 {
		t.Fatalf("only %d rows compared", total)
	}
}

func TestRestoreRefusesNonEmpty(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		src, _ := e.open(t, true)
		org := &store.Organization{Name: "Source", Slug: "source"}
		if err := src.OrganizationCreate(ctx, org); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := backup.Write(ctx, src, &buf, time.Now(), backup.Options{}); err != nil {
			t.Fatal(err)
		}
		dst, _ := e.open(t, true)
		if err := dst.OrganizationCreate(ctx, &store.Organization{Name: "Existing", Slug: "existing"}); err != nil {
			t.Fatal(err)
		}
		_, err := backup.Restore(ctx, dst, bytes.NewReader(buf.Bytes()), backup.Options{})
		if err == nil || !strings.Contains(err.Error(), "the target database is not empty: table ") {
			t.Fatalf("restore into a database with an organization: %v", err)
		}
		if _, err := dst.OrganizationIDBySlug(ctx, "source"); store.CodeOf(err) != store.CodeNotFound {
			t.Fatalf("source organization in the refused target: %v", err)
		}

		// A database only migrated (the migrations' reference rows) is
		// accepted.
		fresh, _ := e.open(t, true)
		if _, err := backup.Restore(ctx, fresh, bytes.NewReader(buf.Bytes()), backup.Options{}); err != nil {
			t.Fatalf("restore into a migrated, empty database: %v", err)
		}
		if _, err := fresh.OrganizationIDBySlug(ctx, "source"); err != nil {
			t.Fatal(err)
		}
	})
}

// rewrite decompresses a backup, applies edit to its lines and compresses
// it again.
func rewrite(t *testing.T, b []byte, edit func(lines []string) []string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := edit(strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n"))
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	return out.Bytes()
}

// lineOf finds the n-th row (1-based) of table in the lines.
func lineOf(t *testing.T, lines []string, table string, n int) int {
	t.Helper()
	for i, l := range lines {
		if l == `{"table":"`+table+`"}` {
			return i + n
		}
	}
	t.Fatalf("table %s not in the backup", table)
	return 0
}

func TestRestoreCorrupted(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		src, _ := e.open(t, true)
		fill(t, src)
		var buf bytes.Buffer
		if _, err := backup.Write(ctx, src, &buf, time.Now(), backup.Options{}); err != nil {
			t.Fatal(err)
		}
		good := buf.Bytes()
		cases := []struct {
			name string
			data []byte
			want string
		}{
			{"truncated file", good[:len(good)*2/3], "(the backup is truncated)"},
			{"row changed", rewrite(t, good, func(l []string) []string {
				i := lineOf(t, l, "iot.sensor_readings", 7)
				l[i] = strings.Replace(l[i], `"kWh"`, `"MWh"`, 1)
				return l
			}), "backup: table iot.sensor_readings: its rows do not match the header's SHA-256 (the backup is corrupted)"},
			{"row malformed", rewrite(t, good, func(l []string) []string {
				i := lineOf(t, l, "core.sites", 3)
				l[i] = l[i][:len(l[i])/2]
				return l
			}), "backup: table core.sites row 3 (line "},
			{"bad value", rewrite(t, good, func(l []string) []string {
				i := lineOf(t, l, "emissions.activity_records", 5)
				l[i] = regexp.MustCompile(`"\d{4}-\d\d-\d\dT[^"]*"`).ReplaceAllString(l[i], `"yesterday"`)
				return l
			}), `backup: table emissions.activity_records row 5 (line `},
			{"rows cut short", rewrite(t, good, func(l []string) []string {
				i := lineOf(t, l, "audit.log", 2)
				return append(l[:i:i], l[i+1:]...)
			}), "backup: table audit.log row "},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := backup.Verify(bytes.NewReader(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("verify: %v, want %q", err, tc.want)
				}
				dst, raw := e.open(t, true)
				before := raw(t)
				_, err := backup.Restore(ctx, dst, bytes.NewReader(tc.data), backup.Options{})
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("restore: %v, want %q", err, tc.want)
				}
				t.Logf("restore refused: %v", err)
				after := raw(t)
				compareTables(t, before, after)
				// Nothing was written, so the good backup still goes in.
				if _, err := backup.Restore(ctx, dst, bytes.NewReader(good), backup.Options{}); err != nil {
					t.Fatalf("restoring the good backup after a failed one: %v", err)
				}
			})
		}
	})
}

func compareTables(t *testing.T, before, after map[string][]string) {
	t.Helper()
	for name, rows := range before {
		if fmt.Sprint(rows) != fmt.Sprint(after[name]) {
			t.Errorf("table %s changed by a failed restore: %d rows before, %d after", name, len(rows), len(after[name]))
		}
	}
}

func TestRestoreSchemaVersionMismatch(t *testing.T) {
	ctx := context.Background()
	src, _ := openSQLite(t, true)
	var buf bytes.Buffer
	if _, err := backup.Write(ctx, src, &buf, time.Now(), backup.Options{}); err != nil {
		t.Fatal(err)
	}
	future := rewrite(t, buf.Bytes(), func(l []string) []string {
		l[0] = strings.Replace(l[0], `"schema_version":`, `"schema_version":9`, 1)
		return l
	})
	dst, _ := openSQLite(t, false)
	_, err := backup.Restore(ctx, dst, bytes.NewReader(future), backup.Options{})
	if err == nil || !strings.Contains(err.Error(), "restore with the greenlang release that made the backup") {
		t.Fatalf("restore of a newer schema: %v", err)
	}
	if n, err := dst.PendingMigrations(ctx); err != nil || n == 0 {
		t.Fatalf("target migrated by a refused restore: %d pending, %v", n, err)
	}
	if _, err := backup.Restore(ctx, dst, bytes.NewReader(buf.Bytes()), backup.Options{}); err != nil {
		t.Fatalf("restore after a refused one: %v", err)
	}
}

func TestBackupNeedsSchema(t *testing.T) {
	st, _ := openSQLite(t, false)
	_, err := backup.Write(context.Background(), st, io.Discard, time.Now(), backup.Options{})
	if err == nil || !strings.Contains(err.Error(), "no schema yet") {
		t.Fatalf("backup of an empty database: %v", err)
	}
}

func TestToFileKeepsTheNewest(t *testing.T) {
	ctx := context.Background()
	st, _ := openSQLite(t, true)
	dir := filepath.Join(t.TempDir(), "backups")
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var paths []string
	for i := range 5 {
		p, m, err := backup.ToFile(ctx, st, dir, start.Add(time.Duration(i)*24*time.Hour), backup.Options{Keep: 3})
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(p) != backup.FileName(m.CreatedAt) {
			t.Fatalf("path %s for a backup made at %s", p, m.CreatedAt)
		}
		paths = append(paths, p)
	}
	files, err := backup.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(files) != fmt.Sprint(paths[2:]) {
		t.Fatalf("kept %v, want %v", files, paths[2:])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("directory holds %d entries (temporary files left?)", len(entries))
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode %v", fi.Mode().Perm())
	}
	f, err := os.Open(files[2])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := backup.Verify(f); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreAcrossEngines(t *testing.T) {
	if os.Getenv(pgtest.EnvVar) == "" {
		t.Skip("set " + pgtest.EnvVar + " (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL tests")
	}
	pairs := []struct {
		from, to func(t *testing.T, migrated bool) (*store.Store, rawDB)
	}{
		{openSQLite, openPostgres},
		{openPostgres, openSQLite},
	}
	for _, p := range pairs {
		ctx := context.Background()
		src, _ := p.from(t, true)
		fill(t, src)
		var buf bytes.Buffer
		m, err := backup.Write(ctx, src, &buf, time.Now(), backup.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dst, _ := p.to(t, false)
		t.Run(src.Driver()+"_to_"+dst.Driver(), func(t *testing.T) {
			if _, err := backup.Restore(ctx, dst, bytes.NewReader(buf.Bytes()), backup.Options{}); err != nil {
				t.Fatal(err)
			}
			ids, err := dst.OrganizationIDs(ctx)
			if err != nil || len(ids) != 2 {
				t.Fatalf("organizations %v %v", ids, err)
			}
			for _, id := range ids {
				rep, err := dst.VerifyAudit(ctx, id)
				if err != nil || !rep.OK() || rep.Entries == 0 {
					t.Fatalf("audit of %s after restore from %s: %+v %v", id, m.Engine, rep, err)
				}
			}
		})
	}
}

func TestPostgresRoleMustBypassRowSecurity(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, "backup")
	owner := pgtest.Open(t, db, store.Options{})
	if err := owner.OrganizationCreate(ctx, &store.Organization{Name: "Hidden", Slug: "hidden"}); err != nil {
		t.Fatal(err)
	}
	reg := store.NewRegistry()
	pgstore.Register(reg)
	app, err := reg.Open(ctx, db.AppURL, store.Options{}) // no admin URL: the application role does everything
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	_, err = backup.Write(ctx, app, io.Discard, time.Now(), backup.Options{})
	if err == nil || !strings.Contains(err.Error(), `role "greenlang_app" can neither bypass row-level security`) {
		t.Fatalf("backup as the application role: %v", err)
	}
}
