package cli_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/sap"
)

// TestERPCommands drives `greenlang erp` against the SAP simulator on the
// embedded store: add a connection, test it, store a mapping, sync, show
// the status, and post a journal entry once.
func TestERPCommands(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	env := []string{"GREENLANG_DATA_DIR=" + data, "GREENLANG_SECRET_KEY=" + strings.Repeat("ab", 32)}

	sim := sap.NewSimulator(erp.SimOptions{Records: 40, Seed: 9})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	auth, creds, settings := sim.Connection(srv.URL)
	conn, _ := json.Marshal(map[string]any{"name": "s4", "system": "sap", "base_url": srv.URL, "auth_type": auth,
		"credentials": creds, "settings": settings})
	if r := run(t, env, "erp", "connection", "add", "--org", org, "--file", writeFile(t, "s4.json", string(conn))); r.code != 0 {
		t.Fatalf("connection add: %+v", r)
	}
	r := run(t, env, "erp", "connection", "list", "--org", org)
	if r.code != 0 || !strings.Contains(r.stdout, "s4") || strings.Contains(r.stdout, creds["client_secret"]) {
		t.Fatalf("connection list: %+v", r)
	}
	if r := run(t, env, "erp", "test", "--org", org, "s4"); r.code != 0 || strings.Contains(r.stdout, "FAIL") {
		t.Fatalf("test: %+v", r)
	}
	// A changed secret is kept sealed and used; a bad schedule is refused.
	if r := run(t, env, "erp", "connection", "set", "--org", org, "s4", "--credential", "client_secret=wrong", "--schedule", "@daily"); r.code != 0 ||
		!strings.Contains(r.stdout, "connection s4 changed: active, schedule @daily") {
		t.Fatalf("connection set: %+v", r)
	}
	if r := run(t, env, "erp", "test", "--org", org, "s4"); r.code == 0 {
		t.Fatalf("test with a wrong secret passed: %+v", r)
	}
	if line := errorLine(t, run(t, env, "erp", "connection", "set", "--org", org, "s4", "--schedule", "weekly")); !strings.Contains(line, `schedule "weekly"`) {
		t.Fatalf("bad schedule: %s", line)
	}
	if r := run(t, env, "erp", "connection", "set", "--org", org, "s4", "--credential", "client_secret="+creds["client_secret"], "--schedule", ""); r.code != 0 {
		t.Fatalf("connection set back: %+v", r)
	}
	if r := run(t, env, "erp", "test", "--org", org, "s4"); r.code != 0 {
		t.Fatalf("test after setting the secret back: %+v", r)
	}
	mapping := `purchase_orders: {spend_based_by_naics: true, default_naics: "423110"}
gl_accounts: {"*": {activity_type: "naics:423110", basis: amount, scope: 3, category: 1}}
exchange_rates:
  - {year: 2025, from: EUR, to: USD, rate: "1.08"}
`
	if r := run(t, env, "erp", "mapping", "set", "--org", org, writeFile(t, "mapping.yaml", mapping)); r.code != 0 {
		t.Fatalf("mapping set: %+v", r)
	}
	if r := run(t, env, "erp", "sync", "--org", org, "s4", "--entity", "suppliers", "--format", "json"); r.code != 0 {
		t.Fatalf("sync: %+v", r)
	} else {
		var rep erp.SyncReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Jobs) != 1 || rep.Jobs[0].Written == 0 {
			t.Fatalf("sync report: %v %s", err, r.stdout)
		}
	}
	if r := run(t, env, "erp", "status", "--org", org, "s4"); r.code != 0 || !strings.Contains(r.stdout, "suppliers") {
		t.Fatalf("status: %+v", r)
	}

	// Journal entries: the sample checks clean and posts once.
	r = run(t, env, "erp", "journal", "sample")
	if r.code != 0 {
		t.Fatalf("journal sample: %+v", r)
	}
	entry := writeFile(t, "entry.yaml", r.stdout)
	if r := run(t, env, "erp", "journal", "post", "--org", org, "s4", entry, "--check"); r.code != 0 || !strings.Contains(r.stdout, "balanced") || sim.Journals() != 0 {
		t.Fatalf("journal post --check: %+v", r)
	}
	r = run(t, env, "erp", "journal", "post", "--org", org, "s4", entry)
	if r.code != 0 || !strings.Contains(r.stdout, "posted to s4 as document ") || sim.Journals() != 1 {
		t.Fatalf("journal post: %+v", r)
	}
	line := errorLine(t, run(t, env, "erp", "journal", "post", "--org", org, "s4", entry))
	if !strings.Contains(line, "CO2E-2026-11 went to connection s4 as document") || sim.Journals() != 1 {
		t.Fatalf("second post: %s", line)
	}
	sample, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	unbalanced := writeFile(t, "unbalanced.yaml", strings.Replace(string(sample), `"-1000.00"`, `"-999.00"`, 1))
	line = errorLine(t, run(t, env, "erp", "journal", "post", "--org", org, "s4", unbalanced))
	if !strings.Contains(line, "unbalanced.yaml: journal entry: lines: the amounts in EUR do not balance") {
		t.Fatalf("unbalanced: %s", line)
	}

	// Uploads to a spreadsheet connection: a good file is stored, a bad
	// one refused with its reason, and the command exits 1.
	dir := t.TempDir()
	if r := run(t, env, "erp", "connection", "add", "--org", org, "--name", "sheets", "--system", "spreadsheet", "--base-url", dir,
		"--settings", `{"entities":{"suppliers":{"kind":"supplier","files":"suppliers-*.csv","columns":{"id":"Id","name":"Name"}}}}`); r.code != 0 {
		t.Fatalf("connection add sheets: %+v", r)
	}
	good := writeFile(t, "suppliers-1.csv", "Id,Name\nV1,Acme\nV2,\n")
	bad := writeFile(t, "suppliers-2.csv", "Id,Nom\nV3,Beta\n")
	r = run(t, env, "erp", "upload", "--org", org, "sheets", good, bad)
	if r.code == 0 || !strings.Contains(r.stdout, "stored   suppliers-1.csv for suppliers: 1 records, 1 rows to be quarantined") ||
		!strings.Contains(r.stdout, `REFUSED  `+bad+`: connection sheets: file "suppliers-2.csv": entity suppliers: no column "Name"`) {
		t.Fatalf("upload: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "suppliers-1.csv")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "suppliers-2.csv")); !os.IsNotExist(err) {
		t.Fatalf("refused file stored: %v", err)
	}
}
