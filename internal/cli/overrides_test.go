package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// newOrgStore migrates a data directory and creates an organization in it
// with the command line; it returns the --data-dir flag and the org's id.
func newOrgStore(t *testing.T) (data, org string) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "data")
	if r := run(t, nil, "migrate", "up", "--data-dir", data); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	r := run(t, nil, "org", "create", "--name", "Acme", "--slug", "acme", "--data-dir", data)
	if r.code != 0 {
		t.Fatalf("org create: %s", r.stderr)
	}
	return data, strings.TrimSpace(r.stdout)
}

var inputHashRE = regexp.MustCompile(`input hash ([0-9a-f]{64})`)

func inputHash(t *testing.T, r result) string {
	t.Helper()
	m := inputHashRE.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no input hash in %q", r.stderr)
	}
	return m[1]
}

const gasActivities = "id,activity_type,quantity,unit,period_start,region,method\n" +
	"boiler,natural_gas,10,mmBtu,2025-03-01,US,stationary_combustion\n"

// The flow: an override is added, calc and recalc use it with its
// reason and author in the explanation, it is retired and calc is back to
// the library; every step is in the audit trail.
func TestFactorOverrideFlow(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	in := writeFile(t, "gas.csv", gasActivities)
	calc := func(extra ...string) result {
		return run(t, nil, append([]string{"calc", "--in", in, "--gwp", "AR5", "--data-dir", data, "--org", org}, extra...)...)
	}
	// The library: EPA Hub 2025 Table 1, 10 × (53.06 + 0.001×28 + 0.0001×265).
	lib := calc("--store")
	if lib.code != 0 || !strings.Contains(lib.stdout, ",epa-hub-2025-t1-natural_gas,") || !strings.Contains(lib.stdout, ",531.145,") ||
		strings.Contains(lib.stderr, "override") {
		t.Fatalf("library calc: exit %d\n%s%s", lib.code, lib.stdout, lib.stderr)
	}
	add := run(t, nil, "factors", "override", "add", "--data-dir", data, "--org", org, "--activity-type", "natural_gas", "--region", "US",
		"--value", "50.1", "--per", "mmBtu", "--source", "Supplier EPD S-P-01234 (2025), Table 4", "--reason", "supplier-specific gas", "--by", "ana")
	if add.code != 0 || !strings.Contains(add.stderr, "added for natural_gas in US: CO2e=50.1 kg per mmBtu") {
		t.Fatalf("override add: exit %d\n%s%s", add.code, add.stdout, add.stderr)
	}
	id := strings.TrimSpace(add.stdout)

	with := calc()
	for _, want := range []string{",override-" + id + ",", ",501,", "Tenant override " + id + ", Supplier EPD S-P-01234 (2025), Table 4, reason: supplier-specific gas; by user:ana"} {
		if with.code != 0 || !strings.Contains(with.stdout, want) {
			t.Errorf("calc with the override lacks %q: exit %d\n%s%s", want, with.code, with.stdout, with.stderr)
		}
	}
	if !strings.Contains(with.stderr, "1 tenant factor override(s) apply") || inputHash(t, with) == inputHash(t, lib) {
		t.Errorf("calc with the override: stderr %s", with.stderr)
	}
	// factors explain --org shows what the organization's calculations use.
	ex := run(t, nil, "factors", "explain", "--data-dir", data, "--org", org, "--activity", "natural_gas", "--quantity", "10",
		"--unit", "mmBtu", "--region", "US", "--date", "2025-01-01", "--scope", "1")
	if ex.code != 0 || !strings.Contains(ex.stdout, `tenant override "override-`+id+`"`) || !strings.Contains(ex.stdout, "total: 501 kg CO2e") {
		t.Errorf("factors explain --org: exit %d\n%s%s", ex.code, ex.stdout, ex.stderr)
	}
	if ex := run(t, nil, "factors", "explain", "--activity", "natural_gas", "--quantity", "10", "--unit", "mmBtu", "--region", "US",
		"--date", "2025-01-01", "--scope", "1"); ex.code != 0 || strings.Contains(ex.stdout, "tenant override") {
		t.Errorf("factors explain without --org uses an override: exit %d\n%s%s", ex.code, ex.stdout, ex.stderr)
	}
	// Stored results change through recalc only.
	rc := run(t, nil, "recalc", "--data-dir", data, "--org", org, "--gwp", "AR5", "--reason", "supplier EPD received")
	if rc.code != 0 || !strings.Contains(rc.stdout, "1 results checked, 1 superseded") || !strings.Contains(rc.stdout, "531.145          501.000") {
		t.Errorf("recalc: exit %d\n%s%s", rc.code, rc.stdout, rc.stderr)
	}

	again := run(t, nil, "factors", "override", "add", "--data-dir", data, "--org", org, "--activity-type", "natural_gas", "--region", "US",
		"--value", "49", "--per", "mmBtu", "--source", "EPD 2026", "--reason", "newer EPD")
	if line := errorLine(t, again); !strings.Contains(line, "override "+id+" is already active for activity type \"natural_gas\" in region US: retire it first") {
		t.Errorf("a second active override: %s", line)
	}

	list := run(t, nil, "factors", "override", "list", "--data-dir", data, "--org", org)
	if list.code != 0 || !strings.Contains(list.stdout, id+"  active  natural_gas") || !strings.Contains(list.stdout, "supplier-specific gas") {
		t.Errorf("list: exit %d\n%s%s", list.code, list.stdout, list.stderr)
	}
	ret := run(t, nil, "factors", "override", "retire", id, "--data-dir", data, "--org", org, "--reason", "EPD withdrawn", "--by", "ben")
	if ret.code != 0 || !strings.Contains(ret.stdout, "retired by user:ben: EPD withdrawn") {
		t.Fatalf("retire: exit %d\n%s%s", ret.code, ret.stdout, ret.stderr)
	}
	back := calc()
	if back.code != 0 || !strings.Contains(back.stdout, ",531.145,") || strings.Contains(back.stdout, "override") || inputHash(t, back) != inputHash(t, lib) {
		t.Errorf("calc after retiring: exit %d\n%s%s", back.code, back.stdout, back.stderr)
	}
	if r := run(t, nil, "factors", "override", "list", "--data-dir", data, "--org", org); r.code != 0 || strings.Contains(r.stdout, id) || !strings.Contains(r.stderr, "no factor overrides") {
		t.Errorf("list after retiring: %s%s", r.stdout, r.stderr)
	}
	js := run(t, nil, "factors", "override", "list", "--data-dir", data, "--org", org, "--all", "--format", "json")
	var views []struct {
		ID           string            `json:"id"`
		Status       string            `json:"status"`
		Kg           map[string]string `json:"kg_per_unit"`
		Per          string            `json:"per"`
		Reason       string            `json:"reason"`
		CreatedBy    string            `json:"created_by"`
		RetiredBy    string            `json:"retired_by"`
		RetireReason string            `json:"retire_reason"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &views); err != nil || len(views) != 1 {
		t.Fatalf("list --all --format json: %v\n%s%s", err, js.stdout, js.stderr)
	}
	if v := views[0]; v.ID != id || v.Status != "retired" || v.Kg["CO2e"] != "50.1" || v.Per != "mmBtu" || v.CreatedBy != "user:ana" ||
		v.RetiredBy != "user:ben" || v.RetireReason != "EPD withdrawn" {
		t.Errorf("json view %+v", v)
	}
	if r := run(t, nil, "factors", "override", "retire", id, "--data-dir", data, "--org", org, "--reason", "twice"); !strings.Contains(errorLine(t, r), "already retired") {
		t.Errorf("retiring twice: %s", r.stderr)
	}
	if r := run(t, nil, "audit", "verify", "--data-dir", data); r.code != 0 {
		t.Errorf("audit verify: %s%s", r.stdout, r.stderr)
	}
}

// An override given as a factor-table row, with several gases and a heat
// content, is used for activity in the heat content's unit.
func TestFactorOverrideFromTable(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	const header = "id,set,version,edition,source_table,source_row,activity_type,region,per,per_basis,price_year,kg_per_unit,biogenic_co2_kg_per_unit,heat_content,heat_unit,heat_per,heat_basis,uncertainty_pct,valid_from,valid_to\n"
	tbl := writeFile(t, "supplier.csv", header+
		"supplier-gas,Stadtwerke Nord EPD,2025,2025,Table 2,Gas mix (row 4),natural_gas,US,mmBtu,,,CH4=0.001;CO2=50;N2O=0.0001,,0.001,mmBtu,scf,HHV,,,\n"+
		"supplier-oil,Stadtwerke Nord EPD,2025,2025,Table 2,Oil (row 5),distillate_fuel_oil_no_2,US,US gal,,,CO2=10,,,,,,,,\n")
	if r := run(t, nil, "factors", "override", "add", "--data-dir", data, "--org", org, "--from-table", tbl, "--reason", "supplier data"); r.code != 2 || !strings.Contains(r.stderr, "holds 2 factors: choose one with --id") {
		t.Errorf("two rows without --id: exit %d %s", r.code, r.stderr)
	}
	add := run(t, nil, "factors", "override", "add", "--data-dir", data, "--org", org, "--from-table", tbl, "--id", "supplier-gas", "--reason", "supplier data")
	if add.code != 0 || !strings.Contains(add.stderr, "source Stadtwerke Nord EPD 2025, Table 2, Gas mix (row 4)") {
		t.Fatalf("add from table: exit %d %s", add.code, add.stderr)
	}
	in := writeFile(t, "gas.csv", "id,activity_type,quantity,unit,period_start,region,method\nboiler,natural_gas,10000,scf,2025-03-01,US,stationary_combustion\n")
	// 10 000 scf × 0.001 mmBtu/scf = 10 mmBtu × (50 + 0.001×28 + 0.0001×265) = 500.545.
	r := run(t, nil, "calc", "--in", in, "--gwp", "AR5", "--data-dir", data, "--org", org)
	if r.code != 0 || !strings.Contains(r.stdout, ",500.545,") || !strings.Contains(r.stdout, "reason: supplier data") {
		t.Errorf("calc: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// The organization's pin applies when calc names no set; --factors wins.
func TestOrgPin(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	pin := run(t, nil, "org", "pin", "--data-dir", data, "--org", org, "--factors", "epa-2025", "--by", "ana")
	if pin.code != 0 || pin.stdout != "organization acme: factors pinned to EPA GHG Emission Factors Hub 2025 (epa-2025)\n" {
		t.Fatalf("pin: exit %d %q %s", pin.code, pin.stdout, pin.stderr)
	}
	if r := run(t, nil, "org", "show", "--data-dir", data, "--org", org); r.code != 0 || !strings.Contains(r.stdout, "pinned factor set:  EPA GHG Emission Factors Hub 2025 (epa-2025)") {
		t.Errorf("show: %s%s", r.stdout, r.stderr)
	}
	pinned := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--data-dir", data, "--org", org)
	if pinned.code != 1 || !strings.Contains(pinned.stderr, "3 rows calculated, 3 refused") || !strings.Contains(pinned.stderr, "pinned set EPA GHG Emission Factors Hub 2025 (epa-2025) applies") ||
		!strings.Contains(pinned.stderr, "no factor for naics:331110 in the pinned set EPA GHG Emission Factors Hub 2025") {
		t.Errorf("calc under the pin: exit %d %s", pinned.code, pinned.stderr)
	}
	given := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--data-dir", data, "--org", org, "--factors", "desnz-2024")
	if !strings.Contains(given.stderr, "--factors desnz-2024 given; the organization's pinned set EPA GHG Emission Factors Hub 2025 (epa-2025) does not apply") ||
		!strings.Contains(given.stdout, "desnz") || strings.Contains(given.stdout, "epa-hub-2025") {
		t.Errorf("calc --factors under a pin: exit %d\n%s%s", given.code, given.stdout, given.stderr)
	}
	if r := run(t, nil, "org", "pin", "--data-dir", data, "--org", org, "--factors", "epa-1999"); r.code != 2 || !strings.Contains(r.stderr, `no factor set "epa-1999"`) {
		t.Errorf("pin an unknown set: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "org", "pin", "--data-dir", data, "--org", org); r.code != 2 || !strings.Contains(r.stderr, "give --factors SET or --clear") {
		t.Errorf("pin without a set: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "org", "pin", "--data-dir", data, "--org", org, "--clear"); r.code != 0 || !strings.Contains(r.stdout, "no factor set pinned") {
		t.Errorf("clear: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "org", "show", "--data-dir", data, "--org", org); !strings.Contains(r.stdout, "pinned factor set:  none") {
		t.Errorf("show after clearing: %s", r.stdout)
	}
	if r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--data-dir", data, "--org", org); r.code != 0 || strings.Contains(r.stderr, "pinned") {
		t.Errorf("calc after clearing: exit %d %s", r.code, r.stderr)
	}
}

// Bad input is refused with one clear line naming what is wrong, and
// nothing is stored.
func TestFactorOverrideBadInput(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	base := []string{"factors", "override", "add", "--data-dir", data, "--activity-type", "natural_gas", "--value", "50", "--per", "mmBtu", "--source", "EPD"}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no reason", []string{"--org", org}, 2, "--reason is required"},
		{"blank reason", []string{"--org", org, "--reason", "  "}, 2, "--reason is required"},
		{"no source", []string{"--org", org, "--reason", "r", "--source", ""}, 2, "--source is required"},
		{"unknown unit", []string{"--org", org, "--reason", "r", "--per", "furlong"}, 2, `--per: unit "furlong": unknown unit`},
		{"no organization id", []string{"--reason", "r"}, 2, "--org needs the organization's id"},
		{"unknown organization", []string{"--org", "01a22e00-0000-7000-8000-000000000000", "--reason", "r"}, 1, "no organization 01a22e00-0000-7000-8000-000000000000 in this store"},
		{"unknown activity type", []string{"--org", org, "--reason", "r", "--activity-type", "natral_gas"}, 1, `activity type "natral_gas" has no factor in the library`},
		{"unknown gas", []string{"--org", org, "--reason", "r", "--gas", "XYZ"}, 1, `gas "XYZ": unknown gas`},
		{"value and kg", []string{"--org", org, "--reason", "r", "--kg", "CO2=1"}, 2, "give the factor as --value N"},
		{"bad kg", []string{"--org", org, "--reason", "r", "--value", "", "--kg", "CO2:1"}, 2, `--kg: "CO2:1" is not GAS=kg`},
		{"bad date", []string{"--org", org, "--reason", "r", "--valid-from", "2025-13-01"}, 2, `--valid-from "2025-13-01" is not a date`},
		{"unit of another dimension", []string{"--org", org, "--reason", "r", "--per", "km"}, 1, "override for natural_gas in every region: km is distance, but natural_gas activity is measured in"},
	}
	for _, c := range cases {
		r := run(t, nil, append(append([]string(nil), base...), c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.name, r.code, r.stderr, c.code, c.want)
		}
		if c.code == 1 {
			errorLine(t, r)
		}
	}
	if r := run(t, nil, "factors", "override", "list", "--data-dir", data, "--org", org, "--all", "--format", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("refused overrides stored: %s%s", r.stdout, r.stderr)
	}
	retire := []string{"factors", "override", "retire", "--data-dir", data, "--org", org}
	if r := run(t, nil, append(retire, "01a22e00-0000-7000-8000-000000000000", "--reason", "typo")...); !strings.Contains(errorLine(t, r), "no factor override 01a22e00-0000-7000-8000-000000000000 in this organization") {
		t.Errorf("retire an unknown override: %s", r.stderr)
	}
	if r := run(t, nil, append(retire, "01a22e00-0000-7000-8000-000000000000")...); r.code != 2 || !strings.Contains(r.stderr, "--reason is required") {
		t.Errorf("retire without a reason: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, append(retire, "not-an-id", "--reason", "x")...); r.code != 2 || !strings.Contains(r.stderr, `"not-an-id" is not an override id`) {
		t.Errorf("retire a bad id: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "calc", "--in", "../../docs/examples/activities.csv", "--data-dir", data, "--org", "01a22e00-0000-7000-8000-000000000000"); !strings.Contains(errorLine(t, r), "no organization 01a22e00-0000-7000-8000-000000000000") {
		t.Errorf("calc for an unknown organization: %s", r.stderr)
	}
}
