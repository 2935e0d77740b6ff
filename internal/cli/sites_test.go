package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Sites are created and listed, an activity file names them by code (a row
// without a region takes its site's), an unknown code refuses the row with
// its line and column, and totals break down by site with the site's name.
func TestSitesAndTotalsBySite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if r := run(t, nil, "migrate", "up", "--data-dir", data); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	r := run(t, nil, "org", "create", "--data-dir", data, "--name", "Acme", "--slug", "acme")
	if r.code != 0 {
		t.Fatalf("org create: %s", r.stderr)
	}
	org := strings.TrimSpace(r.stdout)
	for _, args := range [][]string{
		{"--code", "PLANT-TX", "--name", "Houston plant", "--type", "plant", "--country", "us"},
		{"--code", "OFFICE-LDN", "--name", "London office", "--region", "UK"},
	} {
		if r := run(t, nil, append([]string{"site", "create", "--data-dir", data, "--org", org}, args...)...); r.code != 0 {
			t.Fatalf("site create %v: %d %s", args, r.code, r.stderr)
		}
	}
	if r := run(t, nil, "site", "create", "--data-dir", data, "--org", org, "--code", "PLANT-TX", "--name", "again"); r.code != 1 ||
		!strings.Contains(r.stderr, `already has a site with code "PLANT-TX"`) {
		t.Errorf("a second PLANT-TX: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "site", "create", "--data-dir", data, "--org", org, "--code", "A,B", "--name", "x"); r.code != 2 {
		t.Errorf("a code with a comma: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "site", "list", "--data-dir", data, "--org", org); r.code != 0 ||
		!strings.Contains(r.stdout, "PLANT-TX\tHouston plant\tplant\tUS\t") || !strings.Contains(r.stdout, "OFFICE-LDN\tLondon office\t\t\tUK\t") {
		t.Errorf("site list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	file := filepath.Join(dir, "sites.csv")
	body := "id,activity_type,quantity,unit,period_start,site,scope,method\n" +
		"boiler,natural_gas,50000,scf,2025-01-01,PLANT-TX,1,stationary_combustion\n" +
		"grid,desnz:uk_electricity/electricity_generated/electricity_uk/kwh,12.5,MWh,2025-01-01,OFFICE-LDN,2,\n" +
		"ghost,natural_gas,1000,scf,2025-01-01,NOWHERE,1,stationary_combustion\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "calc", "--in", file, "--data-dir", data, "--store", "--org", org)
	if r.code != 1 || !strings.Contains(r.stderr, `line 4, column site ("NOWHERE"): the organization has no site with this code`) ||
		!strings.Contains(r.stderr, "2 activity records, 3 calculated emissions") {
		t.Fatalf("calc with sites: exit %d\n%s", r.code, r.stderr)
	}
	// The boiler row had no region: its site's country chose the US factor.
	if !strings.Contains(r.stdout, "epa-hub-2025-t1-natural_gas") {
		t.Errorf("the boiler row did not take its site's region:\n%s", r.stdout)
	}
	tot := run(t, nil, "totals", "--data-dir", data, "--org", org, "--by", "site")
	for _, want := range []string{"PLANT-TX Houston plant: ", "OFFICE-LDN London office: ", "location-based total"} {
		if tot.code != 0 || !strings.Contains(tot.stdout, want) {
			t.Errorf("totals --by site lack %q: exit %d\n%s%s", want, tot.code, tot.stdout, tot.stderr)
		}
	}
	// A recalculation keeps each result's site.
	if r := run(t, nil, "recalc", "--data-dir", data, "--org", org, "--gwp", "AR5", "--reason", "AR5"); r.code != 0 {
		t.Fatalf("recalc: %d %s", r.code, r.stderr)
	}
	csv := run(t, nil, "totals", "--data-dir", data, "--org", org, "--by", "site", "--format", "csv")
	if csv.code != 0 || !strings.Contains(csv.stdout, ",PLANT-TX,Houston plant,") {
		t.Errorf("totals csv:\n%s%s", csv.stdout, csv.stderr)
	}
}
