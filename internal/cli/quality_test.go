package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/cli"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// quality list shows the shipped suites and a directory's; quality run
// prints every expectation's outcome, stores the run and exits 1 when an
// expectation of severity fail is not met; quality history reads the
// runs back; bad suites and flags are clear errors.
func TestQualityCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if r := run(t, nil, "migrate", "up", "--data-dir", data); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	r := run(t, nil, "org", "create", "--data-dir", data, "--name", "Acme", "--slug", "acme")
	if r.code != 0 {
		t.Fatalf("org create: %+v", r)
	}
	org := uuid.MustParse(strings.TrimSpace(r.stdout))
	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(ctx, config.SQLiteURL(filepath.Join(data, "greenlang.db")), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*store.Supplier{
		{Name: "Acme Steel", Country: "DE", DUNS: "123456789", RiskScore: decimal.NewNullDecimal(decimal.NewFromInt(20)), Active: true},
		{Name: "Beta Metals", Country: "de", Active: true},
	} {
		if err := st.Suppliers().Create(ctx, org, s); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	dir := t.TempDir()
	suite := "suite: strict-suppliers\ndataset: supply_chain.suppliers\ndescription: strict\nexpectations:\n" +
		"  - kind: in_set\n    column: country\n    values: [DE, FR]\n" +
		"  - kind: not_null\n    column: risk_score\n    severity: warn\n"
	if err := os.WriteFile(filepath.Join(dir, "strict.yaml"), []byte(suite), 0o600); err != nil {
		t.Fatal(err)
	}

	r = run(t, nil, "quality", "list")
	for _, want := range []string{"activity-records", "emissions.activity_records", "calculated-emissions", "sensor-readings", "suppliers", "suites/suppliers.yaml"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("list: %q missing: %+v", want, r)
		}
	}
	r = run(t, nil, "quality", "list", "--dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "strict-suppliers") || !strings.Contains(r.stdout, filepath.Join(dir, "strict.yaml")) {
		t.Errorf("list --dir: %+v", r)
	}

	// The shipped suppliers suite passes (country is only a warning).
	r = run(t, nil, "quality", "run", "suppliers", "--data-dir", data, "--org", org.String())
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "suite suppliers on supply_chain.suppliers: PASSED (2 rows; 0 of 8 expectations failed, 2 warnings)") ||
		!regexp.MustCompile(`(?m)^4 +warn +warn +country_iso2 +1 `).MatchString(r.stdout) {
		t.Errorf("run suppliers: %+v", r)
	}

	// The strict suite fails: exit 1, the failing expectation and its sample printed.
	r = run(t, nil, "quality", "run", "strict-suppliers", "--dir", dir, "--data-dir", data, "--org", org.String())
	line := errorLine(t, r)
	if r.code != cli.ExitFailure || !strings.Contains(line, "greenlang: quality: suite strict-suppliers failed on supply_chain.suppliers: 1 expectation(s)") ||
		!strings.Contains(line, "1 in_set(country)") {
		t.Errorf("strict run: code %d line %q", r.code, line)
	}
	for _, want := range []string{"FAILED (2 rows; 1 of 2 expectations failed, 1 warnings)", "FAIL", "in_set(country)", `"unexpected_values":["de"]`,
		`sample`, `"country":"de"`, "not_null(risk_score)", "KPIs: completeness 0.5000, validity 0.5000, uniqueness -"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("strict run output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, nil, "quality", "run", "strict-suppliers", "--dir", dir, "--data-dir", data, "--org", org.String(), "--format", "json")
	var res struct {
		Passed  bool `json:"passed"`
		Results []struct {
			Name         string `json:"name"`
			FailingCount int64  `json:"failing_count"`
		} `json:"results"`
	}
	if r.code != cli.ExitFailure || json.Unmarshal([]byte(r.stdout), &res) != nil || res.Passed || len(res.Results) != 2 || res.Results[0].FailingCount != 1 {
		t.Errorf("json run: %+v → %+v", r, res)
	}

	r = run(t, nil, "quality", "history", "--data-dir", data, "--org", org.String())
	if r.code != 0 || len(regexp.MustCompile(`(?m) strict-suppliers +FAILED +2 +1 +1 `).FindAllString(r.stdout, -1)) != 2 ||
		!regexp.MustCompile(`(?m) suppliers +passed +2 +0 +2 `).MatchString(r.stdout) || !strings.Contains(r.stdout, "validity 0.5000") {
		t.Errorf("history: %+v", r)
	}
	r = run(t, nil, "quality", "history", "suppliers", "--data-dir", data, "--org", org.String(), "--format", "json")
	var runs []store.QualityRun
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &runs) != nil || len(runs) != 1 || runs[0].Suite != "suppliers" || !runs[0].Passed {
		t.Errorf("history json: %+v", r)
	}

	// Errors.
	r = run(t, nil, "quality", "run", "nope", "--data-dir", data, "--org", org.String())
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, `greenlang: no suite "nope" (known: activity-records, calculated-emissions, sensor-readings, suppliers`) {
		t.Errorf("unknown suite: %+v", r)
	}
	r = run(t, nil, "quality", "run", "suppliers", "--data-dir", data)
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--org needs the organization's id") {
		t.Errorf("no --org: %+v", r)
	}
	r = run(t, nil, "quality", "run", "suppliers", "--data-dir", data, "--org", org.String(), "--format", "xml")
	if r.code != cli.ExitUsage {
		t.Errorf("bad --format: %+v", r)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("suite: b\ndataset: supply_chain.suppliers\nexpectations:\n  - kind: between\n    column: risk_score\n    min: low\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "quality", "list", "--dir", dir)
	if line := errorLine(t, r); !strings.Contains(line, filepath.Join(dir, "broken.yaml")+`:6: expectation 1 (between): "min" is not a number`) {
		t.Errorf("broken suite: %q", line)
	}
}
