package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
)

func TestCalcExample(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "results.json")
	r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--gwp", "AR5", "--out", out)
	if r.code != 0 || !strings.Contains(r.stderr, "6 rows calculated, 0 refused") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		GWPSet    string `json:"gwp_set"`
		InputHash string `json:"input_hash"`
		Results   []struct {
			Result struct {
				ActivityID string `json:"activity_id"`
				CO2eKg     string `json:"co2e_kg"`
			} `json:"result"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	// AR5: 51.3 × (53.06 + 0.001×28 + 0.0001×265).
	if rep.GWPSet != "AR5" || len(rep.Results) != 6 || rep.Results[0].Result.CO2eKg != "2724.77385" || len(rep.InputHash) != 64 {
		t.Errorf("report %+v", rep)
	}
}

// The command: a set pinned by its short name. Rows of other
// publications are refused, naming the pinned set; the December 2024
// correction is calculated with the pinned 2025 edition although that
// edition's factors are dated from January 2025 (docs/methodology.md).
func TestCalcPinnedByShortName(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "results.csv")
	r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--factors", "epa-2025", "--gwp", "ar6", "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "3 rows calculated, 3 refused") ||
		!strings.Contains(r.stderr, `line 5, column activity_type ("naics:331110"): no factor for naics:331110 in the pinned set EPA GHG Emission Factors Hub 2025`) {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")[1:]
	for _, row := range rows {
		if !strings.Contains(row, ",epa-hub-2025-t1-") {
			t.Errorf("a row not at EPA Hub 2025 Table 1: %s", row)
		}
	}
	if len(rows) != 3 || !strings.Contains(rows[2], "boiler-2024-12-fix") {
		t.Errorf("%d result rows, want 3 with the December 2024 correction last:\n%s", len(rows), b)
	}
	if r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--factors", "epa-1999"); r.code != 2 || !strings.Contains(r.stderr, "epa-2025") {
		t.Errorf("unknown set: exit %d %s", r.code, r.stderr)
	}
}

func TestCalcRefusedRowsExitNonZero(t *testing.T) {
	t.Parallel()
	in := filepath.Join(t.TempDir(), "a.csv")
	if err := os.WriteFile(in, []byte("activity_type,quantity,unit,period_start,region,scope\nnatural_gas,10,mmBtu,2025-01-01,US,1\nnatural_gas,10,ton,2025-01-01,US,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "calc", "--in", in)
	if r.code != 1 || !strings.Contains(r.stderr, `line 3, column unit ("ton")`) || !strings.Contains(r.stderr, "1 rows calculated, 1 refused") ||
		!strings.Contains(r.stderr, "greenlang: calc: 1 of 2 rows refused") || !strings.Contains(r.stdout, "natural_gas") && !strings.Contains(r.stdout, "epa-hub") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "calc"); r.code != 2 {
		t.Errorf("calc without --in: exit %d", r.code)
	}
}

func TestFactorsShow(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "factors", "show", "epa-hub-2025-t1-natural_gas")
	if r.code != 0 || !strings.Contains(r.stdout, `"CO2": "53.06"`) || !strings.Contains(r.stdout, "0.001026 mmBtu per scf (HHV)") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "factors", "show", "nope"); r.code != 1 || !strings.Contains(r.stderr, `no factor "nope"`) {
		t.Errorf("unknown factor: %d %s", r.code, r.stderr)
	}
}

// A user loads a new edition as a factor table and calc prefers it for
// activity in its year.
func TestCalcWithAnImportedTable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lib := filepath.Join(dir, "epa-2026.csv")
	const row = "epa-hub-2026-t1-natural_gas,EPA GHG Emission Factors Hub,2026,2026,Table 1 Stationary Combustion,Natural Gas (row 38),natural_gas,US,mmBtu,,,CH4=0.001;CO2=50;N2O=0.0001,,0.001026,mmBtu,scf,HHV,,2026-01-01,\n"
	header := "id,set,version,edition,source_table,source_row,activity_type,region,per,per_basis,price_year,kg_per_unit,biogenic_co2_kg_per_unit,heat_content,heat_unit,heat_per,heat_basis,uncertainty_pct,valid_from,valid_to\n"
	if err := os.WriteFile(lib, []byte(header+row), 0o600); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "a.csv")
	if err := os.WriteFile(in, []byte("activity_type,quantity,unit,period_start,region,method\nnatural_gas,10,mmBtu,2026-03-01,US,stationary_combustion\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "calc", "--in", in, "--library", lib, "--gwp", "AR5")
	// 10 × (50 + 0.001×28 + 0.0001×265) = 500.545.
	if r.code != 0 || !strings.Contains(r.stdout, "epa-hub-2026-t1-natural_gas") || !strings.Contains(r.stdout, ",500.545,") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(header+strings.Replace(row, "CO2=50", "CO2=fifty", 1)), 0o600)
	if r := run(t, nil, "calc", "--in", in, "--library", bad); r.code != 1 || !strings.Contains(r.stderr, "line 2, column kg_per_unit") {
		t.Errorf("bad table: exit %d %s", r.code, r.stderr)
	}
}

func TestFactorsImportRefusesABadFileWhole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "useeio.csv")
	os.WriteFile(src, []byte("not,the,published,layout\n"), 0o600)
	out := filepath.Join(dir, "table.csv")
	r := run(t, nil, "factors", "import", "--format", "useeio", src, "--out", out)
	if r.code != 1 || !strings.Contains(r.stderr, "useeio:") {
		t.Errorf("exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a table was written for a refused file")
	}
	if r := run(t, nil, "factors", "import", "--format", "pdf", src, "--out", out); r.code != 2 {
		t.Errorf("unknown format: exit %d", r.code)
	}
}

func TestCalcStoresTheRun(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if r := run(t, nil, "migrate", "up", "--data-dir", data); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	cfg := config.Config{DataDir: data}.WithDefaults()
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	org := &store.Organization{Name: "Acme", Slug: "acme"}
	if err := st.OrganizationCreate(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	st.Close()
	r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--data-dir", data, "--store", "--org", org.ID.String())
	if r.code != 0 || !strings.Contains(r.stderr, "6 activity records, 7 calculated emissions, 5 new emission sources") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--data-dir", data, "--store", "--org", org.ID.String()); r.code != 1 ||
		!strings.Contains(r.stderr, "already stored as run") {
		t.Errorf("storing the same file twice: exit %d: %s", r.code, r.stderr)
	}
	tot := run(t, nil, "totals", "--data-dir", data, "--org", org.ID.String(), "--by", "category,month")
	for _, want := range []string{"2025-01     2      location", "location-based total 20767.588 kg CO2e", "market-based total   20767.588 kg CO2e"} {
		if tot.code != 0 || !strings.Contains(tot.stdout, want) {
			t.Errorf("totals lack %q: exit %d\n%s%s", want, tot.code, tot.stdout, tot.stderr)
		}
	}
	rc := run(t, nil, "recalc", "--data-dir", data, "--org", org.ID.String(), "--gwp", "AR5", "--reason", "report under AR5")
	for _, want := range []string{"7 results checked, 7 superseded", "restatement: report under AR5", "natural_gas (scope 1)", "no base-year recalculation"} {
		if rc.code != 0 || !strings.Contains(rc.stdout, want) {
			t.Errorf("recalc lacks %q: exit %d\n%s%s", want, rc.code, rc.stdout, rc.stderr)
		}
	}
	if r := run(t, nil, "recalc", "--data-dir", data, "--org", org.ID.String()); r.code != 2 {
		t.Errorf("recalc without --reason: exit %d", r.code)
	}
	if r := run(t, nil, "totals", "--data-dir", data, "--org", org.ID.String(), "--by", "colour"); r.code != 2 || !strings.Contains(r.stderr, "unknown breakdown") {
		t.Errorf("totals --by colour: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "audit", "verify", "--data-dir", data); r.code != 0 {
		t.Errorf("audit after calc --store: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--store"); r.code != 2 {
		t.Errorf("--store without --org: exit %d", r.code)
	}
}

// A new edition is published in the store once; a built-in one is refused.
func TestFactorsImportStore(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if r := run(t, nil, "migrate", "up", "--data-dir", data); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	src, err := os.ReadFile("../../../shared/data/factors/useeio-v1.2-supply-chain-factors-naics-2017-usd2021.csv")
	if err != nil {
		t.Skipf("the publications are not here: %v", err)
	}
	draft := filepath.Join(t.TempDir(), "useeio-v1.3-draft.csv")
	if err := os.WriteFile(draft, src, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "factors", "import", "--format", "useeio", draft, "--store", "--data-dir", data)
	if r.code != 0 || !strings.Contains(r.stderr, "published USEEIO Supply Chain GHG Emission Factors useeio-v1.3-draft: 1016 factors, 1016 values") {
		t.Fatalf("publish: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "factors", "import", "--format", "useeio", draft, "--store", "--data-dir", data); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second publication: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "factors", "import", "--format", "eea", "../../../shared/data/factors/eea-co2-intensity-electricity-generation.csv", "--store", "--data-dir", data); r.code != 1 || !strings.Contains(r.stderr, "is built in") {
		t.Errorf("a built-in edition: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "factors", "import", "--format", "useeio", draft); r.code != 2 {
		t.Errorf("neither --out nor --store: exit %d", r.code)
	}
}

func TestFactorsExplain(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "factors", "explain", "--activity", "natural_gas", "--quantity", "50000", "--unit", "scf", "--region", "US-CAMX",
		"--date", "2025-03-01", "--method", "stationary_combustion", "--gwp", "AR5")
	for _, want := range []string{`US-CAMX: no factor`, `US: "epa-hub-2025-t1-natural_gas"`, "scf → mmBtu × 0.001026 heat content 0.001026 mmBtu per scf (HHV)",
		"CH4    0.001 kg/unit × 51.3 = 0.0513 kg × GWP 28 (AR5)", "total: 2724.77385 kg CO2e, scope 1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("explain output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout, "scf → scf") {
		t.Errorf("identity step shown:\n%s", r.stdout)
	}
	if r := run(t, nil, "factors", "explain", "--activity", "natural_gas", "--quantity", "1", "--unit", "ton", "--scope", "1"); r.code != 2 || !strings.Contains(r.stderr, "ambiguous") {
		t.Errorf("ambiguous unit: exit %d %s", r.code, r.stderr)
	}
}
