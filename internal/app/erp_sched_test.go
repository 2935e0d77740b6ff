package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/spreadsheet"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// TestERPScheduler drives the in-process ERP scheduler with a fake clock:
// a connection syncs when its cron time comes and not before, again at the
// next time, follows a changed schedule, and is skipped when inactive or
// when its schedule does not parse (warned once).
func TestERPScheduler(t *testing.T) {
	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "greenlang.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o := &store.Organization{Name: "Acme", Slug: "acme"}
	if err := st.OrganizationCreate(ctx, o); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "suppliers.csv"), []byte("Id,Name\nV1,Acme Steel\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(spreadsheet.Settings{Entities: map[string]spreadsheet.EntityConfig{
		"suppliers": {Kind: erp.KindSupplier, Files: "*.csv", Columns: map[string]string{"id": "Id", "name": "Name"}}}})
	conn := func(name, schedule string, active bool) *store.ERPConnection {
		c := &store.ERPConnection{Name: name, System: "spreadsheet", BaseURL: dir, Settings: settings, Active: active, Schedule: schedule}
		if err := st.ERPConnections().Create(ctx, o.ID, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	every5 := conn("every5", "*/5 * * * *", true)
	conn("inactive", "* * * * *", false)
	conn("manual", "", true)
	bad := conn("bad", "every tuesday", true)

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	now := time.Date(2026, 11, 30, 10, 1, 0, 0, time.UTC)
	z := newERPScheduler(st, erp.NewSyncer(st, ERPRegistry(), nil, log), log, func() time.Time { return now })
	jobs := func(c *store.ERPConnection) int {
		js, err := st.SyncJobsOf(ctx, o.ID, c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(js)
	}
	step := func(at string, wantRan int) {
		t.Helper()
		now = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).Add(mustDur(t, at))
		if ran := z.tick(ctx); ran != wantRan {
			t.Fatalf("at %s: %d syncs, want %d", at, ran, wantRan)
		}
	}
	step("10h1m", 0) // first sight: next is 10:05
	step("10h4m59s", 0)
	step("10h5m", 1)
	step("10h6m", 0) // next is 10:10
	step("10h10m", 1)
	if n := jobs(every5); n != 2 {
		t.Fatalf("every5 has %d jobs, want 2", n)
	}
	// A changed schedule is followed from the next tick.
	every5.Schedule = "@hourly"
	if err := st.ERPConnections().Update(ctx, o.ID, every5); err != nil {
		t.Fatal(err)
	}
	step("10h15m", 0) // next is 11:00
	step("10h59m", 0)
	step("11h0m", 1)
	if n := jobs(every5); n != 3 {
		t.Fatalf("every5 has %d jobs, want 3", n)
	}
	if n := jobs(bad); n != 0 {
		t.Fatalf("a connection with a bad schedule synced %d times", n)
	}
	if c := strings.Count(logs.String(), "has a bad schedule"); c != 1 || !strings.Contains(logs.String(), "connection=bad") {
		t.Fatalf("bad schedule warned %d times:\n%s", c, logs.String())
	}
}

func mustDur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
