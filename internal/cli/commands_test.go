package cli

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

func fieldsOf(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		m[k] = v
	}
	return m
}

// configure, firmware campaign create|status and commands list queue and
// show commands; a device's result appears in the campaign's status; bad
// flags are usage errors.
func TestDeviceCommandsCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append(args, "--data-dir", data)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	mustRun("migrate", "up")
	org := strings.TrimSpace(mustRun("org", "create", "--name", "Acme", "--slug", "acme"))
	dev1 := fieldsOf(mustRun("iot", "device", "register", "--org", org, "--type", "energy_meter", "--serial", "EM-1"))["device_id"]
	dev2 := fieldsOf(mustRun("iot", "device", "register", "--org", org, "--type", "energy_meter", "--serial", "EM-2"))["device_id"]

	cfg := fieldsOf(mustRun("iot", "configure", "--org", org, dev1, "--set", "interval_s=30", "--set", "unit=kWh", "--set", `tags=["a"]`))
	if cfg["status"] != "queued" || cfg["command_id"] == "" {
		t.Fatalf("configure printed %v", cfg)
	}
	list := mustRun("iot", "commands", "list", "--org", org, "--device", dev1)
	if !strings.Contains(list, cfg["command_id"]+"\t"+dev1+"\tconfigure\tqueued\t0%") {
		t.Fatalf("commands list: %q", list)
	}
	js := mustRun("iot", "commands", "list", "--org", org, "--format", "json")
	if !strings.Contains(strings.Join(strings.Fields(js), ""), `"payload":{"interval_s":30,"tags":["a"],"unit":"kWh"}`) {
		t.Fatalf("commands list json: %s", js)
	}

	hash := strings.Repeat("AB", 32)
	camp := fieldsOf(mustRun("iot", "firmware", "campaign", "create", "--org", org, "--type", "energy_meter", "--version", "2.0.0",
		"--url", "https://fw.example/em.bin", "--sha256", hash))
	if camp["devices"] != "2" || camp["name"] != "energy_meter 2.0.0" {
		t.Fatalf("campaign create printed %v", camp)
	}

	// The device reports progress, as the Commander would record it.
	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(ctx, config.SQLiteURL(filepath.Join(data, "greenlang.db")), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	orgID, campID := uuid.MustParse(org), uuid.MustParse(camp["campaign_id"])
	cmds, err := st.DeviceCommandsList(ctx, orgID, store.DeviceCommandFilter{CampaignID: campID})
	if err != nil || len(cmds) != 2 {
		t.Fatalf("campaign commands %d: %v", len(cmds), err)
	}
	for _, q := range cmds {
		r := store.DeviceCommandResult{ID: q.ID, Status: store.CommandInProgress, ProgressPct: 45, Message: "downloading"}
		if q.DeviceID.String() == dev2 {
			r = store.DeviceCommandResult{ID: q.ID, Status: store.CommandFailed, Message: "checksum mismatch"}
		}
		if _, _, err := st.DeviceCommandApplyResult(ctx, orgID, q.DeviceID, r); err != nil {
			t.Fatal(err)
		}
	}
	status := mustRun("iot", "firmware", "campaign", "status", "--org", org, camp["campaign_id"])
	for _, want := range []string{"status\trunning", "devices\t2", "counts\tin_progress=1 failed=1",
		dev1 + "\tEM-1\tin_progress\t45%", "\tdownloading", dev2 + "\tEM-2\tfailed\t0%", "\tchecksum mismatch"} {
		if !strings.Contains(status, want) {
			t.Errorf("campaign status lacks %q:\n%s", want, status)
		}
	}

	for _, args := range [][]string{
		{"iot", "configure", "--org", org, dev1},
		{"iot", "configure", "--org", org, "not-a-uuid", "--set", "a=1"},
		{"iot", "configure", "--org", org, dev1, "--set", "=1"},
		{"iot", "firmware", "campaign", "create", "--org", org, "--type", "toaster", "--version", "1", "--url", "u", "--sha256", hash},
		{"iot", "firmware", "campaign", "create", "--org", org, "--type", "energy_meter", "--version", "1", "--url", "u", "--sha256", "abc"},
		{"iot", "firmware", "campaign", "create", "--org", org, "--type", "energy_meter", "--url", "u", "--sha256", hash},
		{"iot", "commands", "list", "--org", org, "--device", "x"},
		{"iot", "commands", "list", "--org", org, "--limit", "0"},
		{"iot", "commands", "list", "--org", org, "--status", "done"},
	} {
		_, err := runCLI(t, append(args, "--data-dir", data)...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	_, err = runCLI(t, "iot", "configure", "--data-dir", data, "--org", org, uuid.NewString(), "--set", "a=1")
	if err == nil || !strings.Contains(err.Error(), "is not registered in this organization") {
		t.Errorf("configure of an unknown device: %v", err)
	}
	_, err = runCLI(t, "iot", "firmware", "campaign", "create", "--data-dir", data, "--org", org, "--type", "solar_panel",
		"--version", "1", "--url", "u", "--sha256", hash)
	if err == nil || !strings.Contains(err.Error(), "no registered or active solar_panel devices") {
		t.Errorf("campaign with no devices: %v", err)
	}
}
