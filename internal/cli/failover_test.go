package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/cli"
	"github.com/greenlang/greenlang/internal/pipeline/seed"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

// runCLIEnv makes the test binary run one greenlang command line (a JSON
// array) instead of the tests: how TestPipelineLeaderKilled starts real
// `greenlang serve` processes it can kill.
const runCLIEnv = "GREENLANG_TEST_RUN_CLI"

func TestMain(m *testing.M) {
	if args := os.Getenv(runCLIEnv); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(cli.Run(context.Background(), argv, os.Environ(), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// serveProcess is a `greenlang serve` child process.
type serveProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
}

func startServe(t *testing.T, env []string) *serveProcess {
	t.Helper()
	argv, _ := json.Marshal([]string{"serve", "--http-addr", "127.0.0.1:0", "--mqtt-url", "off", "--data-dir", t.TempDir()})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), runCLIEnv+"="+string(argv), "GREENLANG_LOG_FORMAT=text")
	p := &serveProcess{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr, cmd.Stdout = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return p
}

func (p *serveProcess) waitLog(t *testing.T, what string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !strings.Contains(p.stderr.String(), what) {
		if time.Since(start) > timeout {
			t.Fatalf("no %q in %s; log:\n%s", what, timeout, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestPipelineLeaderKilled runs two `greenlang serve` processes on one
// PostgreSQL database and kills the scheduler with SIGKILL while it runs a
// task: the other process becomes the scheduler within seconds, takes the
// task over when its lease expires (30 s), and the run completes once, on
// the other process.
func TestPipelineLeaderKilled(t *testing.T) {
	db := pgtest.New(t, "failover")
	st := pgtest.Open(t, db, store.Options{}) // migrates as the owner
	env := []string{"GREENLANG_STORE_URL=" + db.AppURL, "GREENLANG_STORE_ADMIN_URL=" + db.AdminURL, "GREENLANG_LOG_LEVEL=info"}
	if r := run(t, env, "org", "create", "--name", "Acme", "--slug", "acme"); r.code != 0 {
		t.Fatalf("org create: %+v", r)
	}
	ctx := context.Background()
	// The day before: the organization runs the emissions pipeline, so
	// master_orchestration expects (and waits for) its run of the 10th.
	if r := run(t, env, "pipeline", "run", seed.Emissions, "--org", "acme", "--date", "2026-11-09", "--wait"); r.code != 0 {
		t.Fatalf("emissions of the 9th: %+v", r)
	}

	a := startServe(t, env)
	a.waitLog(t, "this process is the scheduler now", 60*time.Second)
	// master_orchestration's first task waits for the day's upstream runs:
	// a task that is still running when its process dies.
	r := run(t, env, "pipeline", "run", seed.MasterOrchestation, "--date", "2026-11-10T00:30:00Z")
	if r.code != 0 {
		t.Fatalf("trigger: %+v", r)
	}
	runs, err := st.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: seed.MasterOrchestation, Before: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)})
	if err != nil || len(runs) != 1 {
		t.Fatal(runs, err)
	}
	id := runs[0].ID
	aHolder := ""
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ti, err := st.PipelineTask(ctx, id, "wait_upstream")
		if err != nil {
			t.Fatal(err)
		}
		if ti.State == store.TaskRunning {
			aHolder = ti.Holder
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("wait_upstream not running: %+v\nA's log:\n%s", ti, a.stderr.String())
		}
	}
	if !strings.Contains(aHolder, fmt.Sprintf("-%d-", a.cmd.Process.Pid)) {
		t.Fatalf("the task runs on %s, not on A (pid %d)", aHolder, a.cmd.Process.Pid)
	}

	b := startServe(t, env)
	b.waitLog(t, "pipelines: started", 60*time.Second)
	if strings.Contains(b.stderr.String(), "this process is the scheduler now") {
		t.Fatal("B leads while A is alive")
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	took := b.waitLog(t, "this process is the scheduler now", 10*time.Second)
	t.Logf("B became the scheduler %s after A was killed", took.Round(time.Millisecond))

	// The upstream run of the day, so that wait_upstream can finish.
	if r := run(t, env, "pipeline", "run", seed.Emissions, "--org", "acme", "--date", "2026-11-10", "--wait"); r.code != 0 {
		t.Fatalf("emissions of the 10th: %+v", r)
	}
	var final store.PipelineRun
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		final, err = st.PipelineRunByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if final.State == store.RunSuccess || final.State == store.RunFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run still %s; B's log:\n%s", final.State, b.stderr.String())
		}
	}
	ti, err := st.PipelineTask(ctx, id, "wait_upstream")
	if err != nil {
		t.Fatal(err)
	}
	if final.State != store.RunSuccess || ti.Attempts != 2 || !strings.Contains(ti.Holder, fmt.Sprintf("-%d-", b.cmd.Process.Pid)) ||
		!strings.Contains(ti.Log, "attempt 1 lost: worker "+aHolder+" stopped renewing its lease") {
		t.Fatalf("run %s; wait_upstream: attempts %d, holder %s, log:\n%s", final.State, ti.Attempts, ti.Holder, ti.Log)
	}
	// One run of that date (the scheduler adds its own runs of recent
	// dates, on whichever process leads).
	all, _ := st.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: seed.MasterOrchestation, Limit: 1000})
	n := 0
	for _, r := range all {
		if r.LogicalDate.Equal(runs[0].LogicalDate) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d master runs of %s, want 1", n, runs[0].LogicalDate)
	}
}
