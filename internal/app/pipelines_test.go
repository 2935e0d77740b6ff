package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/pipeline/seed"
	"github.com/greenlang/greenlang/internal/store"
)

// TestServePipelines: serve runs the seed's pipelines (it is the
// scheduler on its SQLite store) and a triggered run completes on its
// workers; a malformed suite in pipeline.quality_dir stops start-up
// naming the file and line.
func TestServePipelines(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Pipeline.Disabled = false
	cfg.MQTT.URL = "off"
	a := startApp(t, cfg, app.Options{Migrate: true})
	e := a.Pipelines()
	if e == nil || len(e.Pipelines()) != 8 {
		t.Fatalf("pipelines: %v", e)
	}
	for deadline := time.Now().Add(10 * time.Second); !e.IsLeader(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("serve is not the scheduler")
		}
	}
	ctx := t.Context()
	r, err := e.Trigger(ctx, seed.Backup, uuid.Nil, time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		run, err := a.Store().PipelineRunByID(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if run.State == store.RunSuccess {
			break
		}
		if run.State == store.RunFailed || time.Now().After(deadline) {
			ti, _ := a.Store().PipelineTask(ctx, r.ID, "backup_store")
			t.Fatalf("backup run %s: %s\n%s", run.State, ti.Error, ti.Log)
		}
	}
	if files, err := os.ReadDir(cfg.Pipeline.BackupDir); err != nil || len(files) == 0 {
		t.Fatalf("no backup in %s: %v", cfg.Pipeline.BackupDir, err)
	}

	bad := testConfig(t)
	bad.Pipeline.Disabled = false
	bad.MQTT.URL = "off"
	bad.Pipeline.QualityDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(bad.Pipeline.QualityDir, "broken.yaml"), []byte("suite: broken\ndataset: emissions.activity_records\nexpectations:\n  - kind: between\n    column: quantity\n    min: lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := app.New(bad, nil, app.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Start(context.Background())
	_ = b.Stop(context.Background())
	if err == nil || !strings.Contains(err.Error(), "broken.yaml:6") {
		t.Fatalf("a malformed suite: %v", err)
	}
}
