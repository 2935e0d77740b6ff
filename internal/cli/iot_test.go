package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A device is registered with its MQTT credentials (the secret printed
// once), listed, shown without its secret, given a new secret and
// decommissioned; bad flags are usage errors.
func TestIoTDeviceLifecycle(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	if r := run(t, nil, "site", "create", "--data-dir", data, "--org", org, "--code", "PLANT", "--name", "Plant"); r.code != 0 {
		t.Fatalf("site create: %s", r.stderr)
	}
	r := run(t, nil, "iot", "device", "register", "--data-dir", data, "--org", org, "--type", "energy_meter", "--serial", "EM-1",
		"--site", "PLANT", "--calibration-due", "2027-06-30")
	if r.code != 0 {
		t.Fatalf("register: %d %s", r.code, r.stderr)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		fields[k] = v
	}
	dev, secret := fields["device_id"], fields["mqtt_secret"]
	if dev == "" || !strings.HasPrefix(secret, "gld_") || fields["mqtt_user"] != org+"/"+dev ||
		fields["telemetry_topic"] != "greenlang/v1/"+org+"/"+dev+"/telemetry" || !strings.Contains(r.stderr, "shown this once") {
		t.Fatalf("register printed %q / %q", r.stdout, r.stderr)
	}
	if r := run(t, nil, "iot", "device", "list", "--data-dir", data, "--org", org); r.code != 0 ||
		!strings.Contains(r.stdout, dev+"\tenergy_meter\tEM-1\tregistered\t-\t2027-06-30") {
		t.Errorf("list: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "iot", "device", "show", "--data-dir", data, "--org", org, dev)
	if r.code != 0 || !strings.Contains(r.stdout, `"mqtt_user": "`+org+"/"+dev) || strings.Contains(r.stdout, secret) {
		t.Errorf("show: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A recalibration, set aside and taken off its site; then back.
	meta := filepath.Join(t.TempDir(), "meta.json")
	if err := os.WriteFile(meta, []byte(`{"registers": {"energy_kwh_total": {"max": "100000"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "iot", "device", "update", "--data-dir", data, "--org", org, dev, "--calibrated", "2026-11-30",
		"--calibration-due", "2027-11-30", "--status", "inactive", "--no-site", "--name", "main meter", "--metadata-file", meta)
	if r.code != 0 || !strings.Contains(r.stdout, "\tinactive\tsite -\tcalibrated 2026-11-30\tdue 2027-11-30") {
		t.Errorf("update: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "iot", "device", "update", "--data-dir", data, "--org", org, dev, "--status", "active", "--site", "PLANT"); r.code != 0 ||
		!strings.Contains(r.stdout, "\tactive\tsite ") || strings.Contains(r.stdout, "site -") {
		t.Errorf("update back: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "iot", "device", "update", "--data-dir", data, "--org", org, dev, "--calibration-due", "2020-01-01"); r.code != 1 ||
		!strings.Contains(r.stderr, "before calibrated_at") {
		t.Errorf("due before calibrated: %d %s", r.code, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"rated_kw": "-6"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--status", "decommissioned"},
		{"--site", "PLANT", "--no-site"},
		{"--metadata-file", bad},
		{"--calibrated", "soon"},
	} {
		if r := run(t, nil, append([]string{"iot", "device", "update", "--data-dir", data, "--org", org, dev}, args...)...); r.code != 2 {
			t.Errorf("update %v: exit %d, want 2 (usage): %s", args, r.code, r.stderr)
		}
	}
	r = run(t, nil, "iot", "device", "rotate-secret", "--data-dir", data, "--org", org, dev)
	if r.code != 0 || strings.Contains(r.stdout, secret) || !strings.Contains(r.stdout, "mqtt_secret\tgld_") {
		t.Errorf("rotate-secret: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, nil, "iot", "device", "decommission", "--data-dir", data, "--org", org, dev); r.code != 0 {
		t.Errorf("decommission: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "iot", "device", "rotate-secret", "--data-dir", data, "--org", org, dev); r.code != 1 || !strings.Contains(r.stderr, "decommissioned") {
		t.Errorf("rotate after decommission: %d %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{"register", "--org", org, "--type", "toaster", "--serial", "X"},
		{"register", "--org", org, "--type", "waste_bin"},
		{"register", "--org", org, "--type", "waste_bin", "--serial", "W", "--calibrated", "yesterday"},
		{"show", "--org", org, "not-a-uuid"},
	} {
		if r := run(t, nil, append([]string{"iot", "device"}, append(args, "--data-dir", data)...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, r.code, r.stderr)
		}
	}
	if r := run(t, nil, "iot", "device", "register", "--data-dir", data, "--org", org, "--type", "waste_bin", "--serial", "W", "--site", "NOPE"); r.code != 1 ||
		!strings.Contains(r.stderr, `no site with code "NOPE"`) {
		t.Errorf("unknown site: %d %s", r.code, r.stderr)
	}
}

// iot rollup runs hour by hour; an hour without readings stores nothing;
// a malformed hour is a usage error.
func TestIoTRollupCommand(t *testing.T) {
	t.Parallel()
	data, org := newOrgStore(t)
	r := run(t, nil, "iot", "rollup", "--data-dir", data, "--org", org, "--hour", "2025-06-01T10", "--hours", "2")
	if r.code != 0 || r.stdout != "2025-06-01T10Z\t0 activities\n2025-06-01T11Z\t0 activities\n" {
		t.Errorf("rollup: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "iot", "device", "register", "--data-dir", data, "--org", org, "--type", "temp_humidity", "--serial", "TH-1")
	dev, _, _ := strings.Cut(strings.TrimPrefix(r.stdout, "device_id\t"), "\n")
	if r := run(t, nil, "iot", "readings", "--data-dir", data, "--org", org, "--device", dev, "--metric", "temperature_c",
		"--from", "2025-06-01", "--to", "2025-06-02", "--hourly", "--format", "csv"); r.code != 0 || r.stdout != "hour,count,min,max,mean\n" {
		t.Errorf("readings --hourly: %d %q %s", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"--device", "x", "--metric", "m", "--from", "2025-06-01", "--to", "2025-06-02"},
		{"--device", dev, "--metric", "m", "--from", "2025-06-02", "--to", "2025-06-01"},
		{"--device", dev, "--from", "2025-06-01", "--to", "2025-06-02"}} {
		if r := run(t, nil, append([]string{"iot", "readings", "--data-dir", data, "--org", org}, args...)...); r.code != 2 {
			t.Errorf("readings %v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{{"--hour", "yesterday"}, {"--hour", "2025-06-01T10", "--hours", "0"}} {
		if r := run(t, nil, append([]string{"iot", "rollup", "--data-dir", data, "--org", org}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
}
