package quality

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodSuite = `suite: acts
dataset: emissions.activity_records
description: test
expectations:
  - kind: not_null
    column: unit
  - kind: unique
    columns: [id, period_start]
    severity: warn
  - kind: between
    column: quantity
    min: 0
    max: 1e6
  - kind: in_set
    column: scope
    values: [1, 2, "3"]
  - kind: regex
    column: unit
    pattern: '^\S+$'
  - kind: referential
    column: source_id
    ref_table: emissions.emission_sources
  - kind: freshness
    column: created_at
    max_age: 2d
  - kind: row_count
    min: 1
  - kind: drift
    metric: mean
    column: quantity
    max_change: 0.5
  - kind: drift
    metric: row_count
    max_change: 1
  - kind: custom_sql
    name: backwards
    sql: SELECT id FROM emissions.activity_records WHERE org_id = $1 AND period_end < period_start;
    columns: [id]
    kpi: accuracy
`

func TestParseGoodSuite(t *testing.T) {
	t.Parallel()
	s, err := Parse("suites/acts.yaml", []byte(goodSuite))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "acts" || s.Dataset != "emissions.activity_records" || s.Source != "suites/acts.yaml" || len(s.Expectations) != 11 {
		t.Fatalf("suite %+v", s)
	}
	e := s.Expectations
	wantNames := []string{"not_null(unit)", "unique(id,period_start)", "between(quantity)", "in_set(scope)", "regex(unit)",
		"referential(source_id)", "freshness(created_at)", "row_count", "drift(mean:quantity)", "drift(row_count)", "backwards"}
	for i, n := range wantNames {
		if e[i].Name != n {
			t.Errorf("expectation %d named %q, want %q", i+1, e[i].Name, n)
		}
	}
	if e[0].Severity != Fail || e[1].Severity != Warn || e[0].Line != 5 {
		t.Errorf("severity/line: %v %v line %d", e[0].Severity, e[1].Severity, e[0].Line)
	}
	if e[2].Min.String() != "0" || e[2].Max.String() != "1000000" {
		t.Errorf("between bounds %v %v", e[2].Min, e[2].Max)
	}
	if strings.Join(e[3].Values, ",") != "1,2,3" {
		t.Errorf("values %q", e[3].Values)
	}
	if e[5].RefTable != "emissions.emission_sources" || e[5].RefColumn != "id" {
		t.Errorf("ref %q.%q", e[5].RefTable, e[5].RefColumn)
	}
	if e[6].MaxAge != 48*time.Hour {
		t.Errorf("max_age %v", e[6].MaxAge)
	}
	if strings.HasSuffix(e[10].SQL, ";") || e[10].KPI != KPIAccuracy {
		t.Errorf("custom sql %q kpi %q", e[10].SQL, e[10].KPI)
	}
}

// Every error names the file, the line and what is wrong.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	head := "suite: s\ndataset: emissions.activity_records\nexpectations:\n"
	cases := []struct{ name, in, want string }{
		{"empty", "", `f.yaml: empty suite file`},
		{"not yaml", "suite: [", `f.yaml:1: invalid YAML`},
		{"not a mapping", "- 1\n", `f.yaml:1: the suite must be a mapping`},
		{"unknown top key", "suite: s\ndatset: x\n", `f.yaml:2: unknown key "datset" (known: suite, dataset, description, expectations)`},
		{"no suite", "dataset: emissions.activity_records\nexpectations: []\n", `f.yaml:1: "suite" is required`},
		{"bad suite name", "suite: Bad Name\n", `f.yaml:1: suite name "Bad Name"`},
		{"no dataset", "suite: s\nexpectations: []\n", `f.yaml:1: "dataset" is required`},
		{"injected dataset", "suite: s\ndataset: emissions.x; DROP TABLE y\n", `f.yaml:2: dataset "emissions.x; DROP TABLE y" is not a schema-qualified table name`},
		{"unqualified dataset", "suite: s\ndataset: activity_records\n", `f.yaml:2: dataset "activity_records" is not`},
		{"no expectations", "suite: s\ndataset: a.b\n", `f.yaml:1: "expectations" is required`},
		{"empty expectations", "suite: s\ndataset: a.b\nexpectations: []\n", `f.yaml:3: "expectations" is empty`},
		{"expectations not a list", "suite: s\ndataset: a.b\nexpectations: 3\n", `f.yaml:3: "expectations" must be a list`},
		{"expectation not a mapping", head + "  - not_null\n", `f.yaml:4: expectation 1: must be a mapping with a "kind"`},
		{"no kind", head + "  - column: x\n", `f.yaml:4: expectation 1: "kind" is required`},
		{"unknown kind", head + "  - kind: nonnull\n    column: x\n", `f.yaml:4: expectation 1: unknown kind "nonnull"`},
		{"unknown key", head + "  - kind: not_null\n    colum: x\n", `f.yaml:5: expectation 1 (not_null): unknown key "colum" (known: kind, name, severity, column)`},
		{"key of another kind", head + "  - kind: not_null\n    column: x\n    min: 1\n", `f.yaml:6: expectation 1 (not_null): unknown key "min"`},
		{"duplicate key", head + "  - kind: not_null\n    column: x\n    column: y\n", `f.yaml:6: expectation 1 (not_null): key "column" given twice`},
		{"missing column", head + "  - kind: not_null\n", `f.yaml:4: expectation 1 (not_null): "column" is required`},
		{"bad column", head + "  - kind: not_null\n    column: \"x; drop\"\n", `f.yaml:5: expectation 1 (not_null): "column" "x; drop" is not a column name`},
		{"dotted column", head + "  - kind: not_null\n    column: a.b\n", `f.yaml:5: expectation 1 (not_null): "column" "a.b" is not a column name`},
		{"upper column", head + "  - kind: not_null\n    column: Unit\n", `is not a column name`},
		{"bad severity", head + "  - kind: not_null\n    column: x\n    severity: error\n", `f.yaml:6: expectation 1 (not_null): "severity" "error": warn or fail`},
		{"min not a number", head + "  - kind: not_null\n    column: x\n  - kind: row_count\n  - kind: between\n    column: q\n    min: ten\n",
			`f.yaml:6: expectation 2 (row_count): "min", "max" or both are required`},
		{"between min text", head + "  - kind: between\n    column: q\n    min: ten\n", `f.yaml:6: expectation 1 (between): "min" is not a number`},
		{"between min quoted", head + "  - kind: between\n    column: q\n    min: \"1\"\n", `f.yaml:6: expectation 1 (between): "min" is not a number`},
		{"between no bounds", head + "  - kind: between\n    column: q\n", `f.yaml:4: expectation 1 (between): "min", "max" or both are required`},
		{"between reversed", head + "  - kind: between\n    column: q\n    min: 5\n    max: 1\n", `f.yaml:6: expectation 1 (between): "min" 5 is greater than "max" 1`},
		{"huge exponent", head + "  - kind: between\n    column: q\n    min: 1e99\n", `"min" is out of range`},
		{"row_count fraction", head + "  - kind: row_count\n    min: 1.5\n", `f.yaml:5: expectation 1 (row_count): "min" must be a whole number of rows`},
		{"in_set empty", head + "  - kind: in_set\n    column: x\n    values: []\n", `f.yaml:6: expectation 1 (in_set): "values" must be a non-empty list`},
		{"in_set nested", head + "  - kind: in_set\n    column: x\n    values: [[1]]\n", `f.yaml:6: expectation 1 (in_set): "values" must be a single value`},
		{"bad regex", head + "  - kind: regex\n    column: x\n    pattern: '(['\n", `f.yaml:6: expectation 1 (regex): "pattern" is not a valid regular expression`},
		{"referential no table", head + "  - kind: referential\n    column: x\n", `f.yaml:4: expectation 1 (referential): "ref_table" is required`},
		{"referential bad table", head + "  - kind: referential\n    column: x\n    ref_table: t\n", `f.yaml:6: expectation 1 (referential): "ref_table" "t" is not`},
		{"freshness bad age", head + "  - kind: freshness\n    column: x\n    max_age: soon\n", `f.yaml:6: expectation 1 (freshness): "max_age" "soon" is not a duration`},
		{"freshness negative", head + "  - kind: freshness\n    column: x\n    max_age: -1h\n", `"max_age" must be positive`},
		{"drift bad metric", head + "  - kind: drift\n    metric: median\n    column: q\n    max_change: 0.5\n", `f.yaml:5: expectation 1 (drift): "metric" "median": mean or row_count`},
		{"drift mean no column", head + "  - kind: drift\n    metric: mean\n    max_change: 0.5\n", `f.yaml:4: expectation 1 (drift): metric mean needs "column"`},
		{"drift zero", head + "  - kind: drift\n    metric: row_count\n    max_change: 0\n", `f.yaml:6: expectation 1 (drift): "max_change" must be positive`},
		{"custom not select", head + "  - kind: custom_sql\n    sql: DELETE FROM a.b WHERE org_id = $1\n", `f.yaml:5: expectation 1 (custom_sql): "sql" must be one SELECT statement`},
		{"custom two statements", head + "  - kind: custom_sql\n    sql: SELECT 1 WHERE $1 = $1; DELETE FROM a.b\n", `"sql" must be one statement, without ';'`},
		{"custom unscoped", head + "  - kind: custom_sql\n    sql: SELECT id FROM a.b\n", `"sql" must filter the organization with org_id = $1`},
		{"custom param", head + "  - kind: custom_sql\n    sql: SELECT id FROM a.b WHERE org_id = $1 AND x = $2\n", `"sql" may use only the parameter $1`},
		{"custom bad kpi", head + "  - kind: custom_sql\n    sql: SELECT id FROM a.b WHERE org_id = $1\n    kpi: speed\n", `f.yaml:6: expectation 1 (custom_sql): "kpi" "speed"`},
		{"duplicate names", head + "  - kind: not_null\n    column: x\n  - kind: not_null\n    column: x\n",
			`f.yaml:6: expectation 2 (not_null): name "not_null(x)" is already used by expectation 1`},
		{"unique both", head + "  - kind: unique\n    column: x\n    columns: [y]\n", `give "column" or "columns", not both`},
		{"unique repeated", head + "  - kind: unique\n    columns: [x, x]\n", `column "x" is listed twice`},
		{"alias", "suite: &a s\ndataset: *a\n", `f.yaml:2: "dataset" must be a single value`},
		{"null value", head + "  - kind: not_null\n    column: ~\n", `f.yaml:5: expectation 1 (not_null): "column" must be a single value`},
		{"map key", "? [a]\n: 1\n", `f.yaml:1: keys must be plain strings`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("f.yaml", []byte(c.in))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.in)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\nwant it to contain %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

// The shipped suites parse and name real columns (the run tests check
// them against both engines' schemas).
func TestBuiltin(t *testing.T) {
	t.Parallel()
	suites, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range suites {
		names = append(names, s.Name+"="+s.Dataset)
		if !strings.HasPrefix(s.Source, "suites/") {
			t.Errorf("%s: source %q", s.Name, s.Source)
		}
	}
	want := "activity-records=emissions.activity_records,calculated-emissions=emissions.calculated_emissions," +
		"sensor-readings=iot.sensor_readings,suppliers=supply_chain.suppliers"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("builtin suites %s, want %s", got, want)
	}
}

func TestLoadDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yaml", strings.Replace(goodSuite, "suite: acts", "suite: zz", 1))
	write("a.yml", goodSuite)
	write("notes.txt", "not a suite")
	suites, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(suites) != 2 || suites[0].Name != "acts" || suites[1].Name != "zz" || suites[0].Source != filepath.Join(dir, "a.yml") {
		t.Fatalf("loaded %+v", suites)
	}
	write("c.yaml", goodSuite)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), `c.yaml: suite "acts" is also defined in `+filepath.Join(dir, "a.yml")) {
		t.Errorf("duplicate suite: %v", err)
	}
	write("c.yaml", "suite: c\ndataset: a.b\nexpectations:\n  - kind: not_null\n    column: X\n")
	if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "c.yaml")+":5: expectation 1 (not_null)") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing dir: %v", err)
	}
}

// A suite built in Go is checked like a parsed one before it runs.
func TestCheckRefusesUnsafeSuites(t *testing.T) {
	t.Parallel()
	s, err := Parse("f.yaml", []byte(goodSuite))
	if err != nil {
		t.Fatal(err)
	}
	bad := []func(s *Suite){
		func(s *Suite) { s.Dataset = "emissions.activity_records a; --" },
		func(s *Suite) { s.Expectations[0].Columns = []string{`unit" IS NULL OR "x`} },
		func(s *Suite) { s.Expectations[5].RefTable = "core.sites s" },
		func(s *Suite) { s.Expectations[0].Severity = "" },
		func(s *Suite) { s.Expectations[10].SQL = "SELECT 1" },
		func(s *Suite) { s.Expectations[0].Kind = "exotic" },
		func(s *Suite) { s.Expectations[1].Name = s.Expectations[0].Name },
		func(s *Suite) { s.Expectations[2].Min, s.Expectations[2].Max = nil, nil },
	}
	for i, f := range bad {
		c := s
		c.Expectations = append([]Expectation(nil), s.Expectations...)
		f(&c)
		if err := c.check(); err == nil {
			t.Errorf("case %d: unsafe suite accepted", i)
		}
	}
	if err := s.check(); err != nil {
		t.Errorf("good suite refused: %v", err)
	}
}

// Malformed input is an error that names the file, never a panic; what
// parses is safe to run.
func FuzzParseSuite(f *testing.F) {
	f.Add([]byte(goodSuite))
	for _, n := range []string{"activity_records", "sensor_readings", "suppliers", "calculated_emissions"} {
		b, err := builtin.ReadFile("suites/" + n + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("suite: s\ndataset: a.b\nexpectations:\n  - kind: between\n    column: q\n    min: 1e40\n    max: -1e-40\n"))
	f.Add([]byte("{suite: [1, {a: *x}], &x b: c}"))
	f.Add([]byte("suite: s\ndataset: a.b\nexpectations: [{kind: drift, metric: mean, column: q, max_change: .nan}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := s.check(); err != nil {
			t.Fatalf("parsed suite fails its own check: %v", err)
		}
		for _, e := range s.Expectations {
			if e.Min != nil && e.Max != nil && e.Min.GreaterThan(*e.Max) {
				t.Fatalf("min > max accepted")
			}
		}
	})
}
