package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/cli"
)

// TestPipelineCommands drives greenlang pipeline on a fresh SQLite store:
// list, run --wait of a per-organization and a platform pipeline, status
// (of a pipeline and of a run), logs, a refused second run of a date,
// backfill, clear and the usage errors.
func TestPipelineCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if r := run(t, nil, "migrate", "up", "--data-dir", data); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	if r := run(t, nil, "org", "create", "--data-dir", data, "--name", "Acme", "--slug", "acme"); r.code != 0 {
		t.Fatalf("org create: %+v", r)
	}
	env := []string{"GREENLANG_DATA_DIR=" + data, "GREENLANG_LOG_LEVEL=error"}

	r := run(t, env, "pipeline", "list")
	for _, want := range []string{"emissions_data_pipeline", "@daily", "disaster_recovery_backup", "0 2 * * *", "platform", "iot_stream_processing", "*/15 * * * *"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Fatalf("list: %q missing: %+v", want, r)
		}
	}
	var infos []map[string]any
	if r := run(t, env, "pipeline", "list", "--json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &infos) != nil || len(infos) != 8 {
		t.Fatalf("list --json: %+v", r)
	}

	r = run(t, env, "pipeline", "run", "csrd_reporting_pipeline", "--org", "acme", "--date", "2026-10-01", "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, "data_points success (attempt 1)") || !strings.Contains(r.stdout, "success (2/2 tasks, 0 failed)") {
		t.Fatalf("run --wait: %+v", r)
	}
	runID := regexp.MustCompile(`run ([0-9a-f-]{36}) of`).FindStringSubmatch(r.stdout)
	if runID == nil {
		t.Fatalf("no run id in %q", r.stdout)
	}
	if r := run(t, env, "pipeline", "run", "csrd_reporting_pipeline", "--org", "acme", "--date", "2026-10-01"); !strings.Contains(errorLine(t, r), "already has run "+runID[1]) {
		t.Fatalf("second run of a date: %+v", r)
	}
	if r := run(t, env, "pipeline", "status", "csrd_reporting_pipeline"); r.code != 0 || !strings.Contains(r.stdout, runID[1]) || !strings.Contains(r.stdout, "2/2 (0 failed)") {
		t.Fatalf("status: %+v", r)
	}
	if r := run(t, env, "pipeline", "status", runID[1]); r.code != 0 || !strings.Contains(r.stdout, "aggregate    success  1/1") {
		t.Fatalf("status RUN: %+v", r)
	}
	if r := run(t, env, "pipeline", "logs", runID[1], "data_points"); r.code != 0 || !strings.Contains(r.stdout, "--- attempt 1 on ") || !strings.Contains(r.stdout, `output: {"created":`) {
		t.Fatalf("logs: %+v", r)
	}
	if r := run(t, env, "pipeline", "clear", runID[1], "--task", "data_points"); r.code != 0 || !strings.Contains(r.stdout, "cleared data_points") {
		t.Fatalf("clear: %+v", r)
	}

	backups := filepath.Join(data, "backups")
	r = run(t, env, "pipeline", "run", "disaster_recovery_backup", "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, "backup_store success") {
		t.Fatalf("backup run: %+v", r)
	}
	if files, _ := os.ReadDir(backups); len(files) != 1 || !strings.HasSuffix(files[0].Name(), ".backup.gz") {
		t.Fatalf("backups: %v", files)
	}

	r = run(t, env, "pipeline", "backfill", "ml_model_training", "--org", "acme", "--from", "2026-10-01", "--to", "2026-10-31")
	if r.code != 0 || !strings.Contains(r.stdout, "4 run(s) created, 0 logical date(s) skipped") {
		t.Fatalf("backfill: %+v", r)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pipeline", "run", "nope"}, `unknown pipeline "nope"`},
		{[]string{"pipeline", "run", "emissions_data_pipeline"}, "runs per organization: name one"},
		{[]string{"pipeline", "run", "disaster_recovery_backup", "--org", "acme"}, "is platform-wide"},
		{[]string{"pipeline", "run", "emissions_data_pipeline", "--org", "nobody"}, `--org "nobody": no organization`},
		{[]string{"pipeline", "status", "nope"}, "neither a run id nor a pipeline"},
	} {
		if line := errorLine(t, run(t, env, c.args...)); !strings.Contains(line, c.want) {
			t.Errorf("%v: %q, want %q", c.args, line, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pipeline", "run", "emissions_data_pipeline", "--org", "acme", "--date", "yesterday"}, `greenlang: --date "yesterday": want a date (2026-12-01) or an RFC 3339 time`},
		{[]string{"pipeline", "run", "emissions_data_pipeline", "--org", "acme", "--param", "x"}, `greenlang: --param "x": want name=value`},
		{[]string{"pipeline", "backfill", "ml_model_training", "--org", "acme"}, "greenlang: --from and --to are required"},
		{[]string{"pipeline", "logs", "not-a-run", "x"}, `greenlang: RUN_ID "not-a-run" is not a run id`},
	} {
		r := run(t, env, c.args...)
		if first, rest, _ := strings.Cut(r.stderr, "\n"); r.code != cli.ExitUsage || first != c.want || !strings.Contains(rest, "Usage:") {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant first line %q", c.args, r.code, r.stderr, c.want)
		}
	}
}
