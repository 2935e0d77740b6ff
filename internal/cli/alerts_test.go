package cli

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// runCLI runs the command line in-process for internal tests, returning
// stdout and the error (not an exit code).
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(""))
	_, err := root.ExecuteContextC(t.Context())
	return out.String(), err
}

// Alerts are listed with their occurrences, filtered by status and
// device, as JSON, and acknowledged; bad flags are usage errors.
func TestIoTAlerts(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, err := runCLI(t, "migrate", "up", "--data-dir", data); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "org", "create", "--data-dir", data, "--name", "Acme", "--slug", "acme")
	if err != nil {
		t.Fatal(err)
	}
	org := uuid.MustParse(strings.TrimSpace(out))

	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(ctx, config.SQLiteURL(filepath.Join(data, "greenlang.db")), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var a *store.AlertDetail
	for i, v := range []string{"60", "70"} {
		a, err = st.AlertRaise(ctx, &store.AlertRaiseParams{OrgID: org, ID: uuid.New(), EventID: "e" + v, DedupKey: "aq-1|pm25|threshold|pm25-unhealthy",
			DeviceRef: "aq-1", Severity: "warning", Kind: "threshold", Rule: "pm25-unhealthy", Metric: "pm25", Message: "pm25 high",
			Value: decimal.RequireFromString(v), RangeMax: decimal.NewNullDecimal(decimal.RequireFromString("55.4")), RaisedAt: t0.Add(time.Duration(i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out, err = runCLI(t, "iot", "alerts", "--data-dir", data, "--org", org.String())
	if err != nil || !strings.Contains(out, a.ID.String()+"\topen\twarning\tpm25-unhealthy\taq-1\tpm25\t70\t2x\t") {
		t.Fatalf("list: %v %q", err, out)
	}
	out, err = runCLI(t, "iot", "alerts", "ack", "--data-dir", data, "--org", org.String(), a.ID.String())
	if err != nil || !strings.Contains(out, "\tacknowledged\t") {
		t.Fatalf("ack: %v %q", err, out)
	}
	if out, err := runCLI(t, "iot", "alerts", "--data-dir", data, "--org", org.String()); err != nil || out != "" {
		t.Errorf("open after ack: %v %q", err, out)
	}
	out, err = runCLI(t, "iot", "alerts", "--data-dir", data, "--org", org.String(), "--status", "all", "--format", "json")
	if err != nil || !strings.Contains(out, `"occurrences": 2`) || !strings.Contains(out, `"status": "acknowledged"`) {
		t.Errorf("json: %v %s", err, out)
	}
	if out, err := runCLI(t, "iot", "alerts", "--data-dir", data, "--org", org.String(), "--status", "all", "--device", uuid.NewString()); err != nil || out != "" {
		t.Errorf("another device: %v %q", err, out)
	}
	for _, args := range [][]string{
		{"--status", "closed"}, {"--format", "xml"}, {"--device", "aq-1"},
	} {
		_, err := runCLI(t, append([]string{"iot", "alerts", "--data-dir", data, "--org", org.String()}, args...)...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
}
