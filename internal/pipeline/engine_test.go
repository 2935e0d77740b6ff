package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

func sqliteStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "greenlang.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// engines runs fn on SQLite and, when GREENLANG_TEST_POSTGRES_URL is set,
// on PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteStore(t)) })
	t.Run("postgres", func(t *testing.T) {
		db := pgtest.New(t, "pipeline")
		fn(t, pgtest.Open(t, db, store.Options{}))
	})
}

func fastOptions() Options {
	return Options{Poll: 20 * time.Millisecond, Tick: 50 * time.Millisecond, Lease: 3 * time.Second}
}

func startEngine(t *testing.T, st *store.Store, ps []Pipeline, opts Options) *Engine {
	t.Helper()
	e, err := New(st, ps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return e
}

func waitRun(t *testing.T, st *store.Store, id uuid.UUID, timeout time.Duration) store.PipelineRun {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := st.PipelineRunByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State == store.RunSuccess || r.State == store.RunFailed {
			return r
		}
		if time.Now().After(deadline) {
			tis, _ := st.PipelineTasks(context.Background(), id)
			t.Fatalf("run %s still %s after %s: %+v", id, r.State, timeout, tis)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func taskStates(t *testing.T, st *store.Store, run uuid.UUID) map[string]store.TaskInstance {
	t.Helper()
	tis, err := st.PipelineTasks(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.TaskInstance{}
	for _, ti := range tis {
		out[ti.TaskID] = ti
	}
	return out
}

func noop(context.Context, *TaskContext) (any, error) { return nil, nil }

func TestCompileRefusesBadDefinitions(t *testing.T) {
	cases := []struct {
		name string
		p    Pipeline
		want string
	}{
		{"cycle", Pipeline{Name: "p", Tasks: []Task{{ID: "a", Deps: []string{"c"}, Run: noop}, {ID: "b", Deps: []string{"a"}, Run: noop}, {ID: "c", Deps: []string{"b"}, Run: noop}}},
			"pipeline p: tasks form a cycle: a -> b -> c -> a"},
		{"self", Pipeline{Name: "p", Tasks: []Task{{ID: "a", Deps: []string{"a"}, Run: noop}}}, "pipeline p: task a depends on itself"},
		{"unknown dependency", Pipeline{Name: "p", Tasks: []Task{{ID: "a", Deps: []string{"extract"}, Run: noop}}},
			`pipeline p: task a depends on "extract", which is not a task of this pipeline`},
		{"bad cron", Pipeline{Name: "p", Schedule: "61 * * * *", Tasks: []Task{{ID: "a", Run: noop}}}, `pipeline p: schedule "61 * * * *": `},
		{"six fields", Pipeline{Name: "p", Schedule: "0 0 * * * *", Tasks: []Task{{ID: "a", Run: noop}}}, `pipeline p: schedule "0 0 * * * *": expected exactly 5 fields`},
		{"duplicate task", Pipeline{Name: "p", Tasks: []Task{{ID: "a", Run: noop}, {ID: "a", Run: noop}}}, `pipeline p: task "a" is declared twice`},
		{"no run", Pipeline{Name: "p", Tasks: []Task{{ID: "a"}}}, "pipeline p: task a has no Run function"},
		{"bad name", Pipeline{Name: "My Pipeline", Tasks: []Task{{ID: "a", Run: noop}}}, `pipeline "My Pipeline": the name must be`},
		{"no tasks", Pipeline{Name: "p"}, "pipeline p: no tasks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := compile(c.p, time.UTC)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want prefix %q", err, c.want)
			}
		})
	}
	good := Pipeline{Name: "p", Tasks: []Task{{ID: "a", Run: noop}}}
	if _, err := New(nil, []Pipeline{good, good}, Options{}); err == nil || err.Error() != "pipeline p is declared twice" {
		t.Fatalf("duplicate pipeline: %v", err)
	}
}

func TestScheduleTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	s, err := ParseSchedule("0 2 * * *", berlin)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("02:00 Berlin: got %s, want %s", got.UTC(), want)
	}
	s, err = ParseSchedule("@daily", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("@daily in UTC: %s", got)
	}
}

// TestRunRetriesOutputsAndClear runs a diamond DAG: b fails once and is
// retried, d reads b's output; then a failing c leaves d upstream_failed
// and the run failed, and clearing it re-runs only c and d.
func TestRunRetriesOutputsAndClear(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		runs := map[string]int{}
		count := func(id string) int {
			mu.Lock()
			defer mu.Unlock()
			runs[id]++
			return runs[id]
		}
		var cFails atomic.Bool
		cFails.Store(false)
		var got atomic.Value
		p := Pipeline{Name: "diamond", Scope: Platform, Params: map[string]string{"factor": "2"}, Tasks: []Task{
			{ID: "a", Group: "extract", Run: func(ctx context.Context, tc *TaskContext) (any, error) {
				count("a")
				return map[string]int{"rows": 3}, nil
			}},
			{ID: "b", Deps: []string{"a"}, Retries: 2, RetryDelay: 10 * time.Millisecond, Run: func(ctx context.Context, tc *TaskContext) (any, error) {
				if count("b") == 1 {
					return nil, errors.New("ERP answered 503")
				}
				var in map[string]int
				if err := tc.Output("a", &in); err != nil {
					return nil, err
				}
				tc.Log.Info("doubling", "rows", in["rows"], "factor", tc.Param("factor"))
				return map[string]int{"rows": in["rows"] * 2}, nil
			}},
			{ID: "c", Deps: []string{"a"}, Run: func(ctx context.Context, tc *TaskContext) (any, error) {
				count("c")
				if cFails.Load() {
					return nil, errors.New("quality gate failed")
				}
				return nil, nil
			}},
			{ID: "d", Deps: []string{"b", "c"}, Run: func(ctx context.Context, tc *TaskContext) (any, error) {
				count("d")
				var in map[string]int
				if err := tc.Output("b", &in); err != nil {
					return nil, err
				}
				got.Store(in["rows"])
				return nil, nil
			}},
		}}
		e := startEngine(t, st, []Pipeline{p}, fastOptions())
		run, err := e.Trigger(ctx, "diamond", uuid.Nil, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), nil)
		if err != nil {
			t.Fatal(err)
		}
		r := waitRun(t, st, run.ID, 20*time.Second)
		if r.State != store.RunSuccess || r.TasksDone != 4 || r.TasksFailed != 0 {
			t.Fatalf("run: %+v", r)
		}
		if got.Load() != 6 {
			t.Fatalf("d saw %v rows from b, want 6", got.Load())
		}
		ti, err := st.PipelineTask(ctx, run.ID, "b")
		if err != nil {
			t.Fatal(err)
		}
		if ti.Attempts != 2 || !strings.Contains(ti.Log, "ERP answered 503; retry 1 of 2") || !strings.Contains(ti.Log, "doubling rows=3 factor=2") {
			t.Fatalf("b: attempts %d, log:\n%s", ti.Attempts, ti.Log)
		}
		// Same logical date again: refused, nothing doubled.
		if _, err := e.Trigger(ctx, "diamond", uuid.Nil, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), nil); err == nil || !strings.Contains(err.Error(), "clear it to run it again") {
			t.Fatalf("second trigger of a date: %v", err)
		}
		if _, err := e.Trigger(ctx, "diamond", uuid.Nil, time.Now(), map[string]string{"nope": "1"}); err == nil || !strings.Contains(err.Error(), `has no parameter "nope"`) {
			t.Fatalf("unknown parameter: %v", err)
		}

		cFails.Store(true)
		run2, err := e.Trigger(ctx, "diamond", uuid.Nil, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), nil)
		if err != nil {
			t.Fatal(err)
		}
		r = waitRun(t, st, run2.ID, 20*time.Second)
		states := taskStates(t, st, run2.ID)
		if r.State != store.RunFailed || states["c"].State != store.TaskFailed || states["d"].State != store.TaskUpstreamFailed || states["b"].State != store.TaskSuccess {
			t.Fatalf("failed run: %+v %+v", r, states)
		}
		if states["c"].Error != "quality gate failed" {
			t.Fatalf("c error %q", states["c"].Error)
		}
		mu.Lock()
		before := map[string]int{"a": runs["a"], "b": runs["b"], "c": runs["c"], "d": runs["d"]}
		mu.Unlock()
		cFails.Store(false)
		cleared, err := e.Clear(ctx, run2.ID, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(cleared) != "[c d]" {
			t.Fatalf("cleared %v", cleared)
		}
		r = waitRun(t, st, run2.ID, 20*time.Second)
		if r.State != store.RunSuccess || r.TasksDone != 4 || r.TasksFailed != 0 {
			t.Fatalf("cleared run: %+v", r)
		}
		mu.Lock()
		defer mu.Unlock()
		if runs["a"] != before["a"] || runs["b"] != before["b"] || runs["c"] != before["c"]+1 || runs["d"] != before["d"]+1 {
			t.Fatalf("after clear: %v (before %v): only c and d should run again", runs, before)
		}
	})
}

func TestPanicAndTimeoutFailTheTaskOnly(t *testing.T) {
	st := sqliteStore(t)
	ctx := context.Background()
	p := Pipeline{Name: "bad", Scope: Platform, Tasks: []Task{
		{ID: "boom", Run: func(context.Context, *TaskContext) (any, error) {
			var xs []int
			return xs[len(xs)], nil // index out of range: panics
		}},
		{ID: "slow", Timeout: 50 * time.Millisecond, Run: func(ctx context.Context, tc *TaskContext) (any, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}},
		{ID: "after", Deps: []string{"boom"}, Run: noop},
	}}
	e := startEngine(t, st, []Pipeline{p}, fastOptions())
	run, err := e.Trigger(ctx, "bad", uuid.Nil, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := waitRun(t, st, run.ID, 20*time.Second)
	states := taskStates(t, st, run.ID)
	if r.State != store.RunFailed || states["after"].State != store.TaskUpstreamFailed {
		t.Fatalf("%+v %+v", r, states)
	}
	boom, _ := st.PipelineTask(ctx, run.ID, "boom")
	if !strings.Contains(boom.Error, "task panicked: runtime error: index out of range [0] with length 0") || !strings.Contains(boom.Log, "engine_test.go") {
		t.Fatalf("panic: %q\n%s", boom.Error, boom.Log)
	}
	slow, _ := st.PipelineTask(ctx, run.ID, "slow")
	if !strings.HasPrefix(slow.Error, "timed out after 50ms") {
		t.Fatalf("timeout: %q", slow.Error)
	}
	// The engine still runs other work.
	ok := Pipeline{Name: "ok", Scope: Platform, Tasks: []Task{{ID: "a", Run: noop}}}
	e2 := startEngine(t, st, []Pipeline{ok}, Options{Poll: 20 * time.Millisecond, NoScheduler: true})
	run, err = e2.Trigger(ctx, "ok", uuid.Nil, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, st, run.ID, 20*time.Second); r.State != store.RunSuccess {
		t.Fatalf("%+v", r)
	}
}

// TestScheduleAndBackfill drives the scheduler with a fake clock.
func TestScheduleAndBackfill(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		o := &store.Organization{Name: "Acme", Slug: "acme"}
		if err := st.OrganizationCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		now := time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		var seen sync.Map
		p := Pipeline{Name: "hourly", Schedule: "@hourly", Tasks: []Task{{ID: "a", Run: func(ctx context.Context, tc *TaskContext) (any, error) {
			if tc.OrgID != o.ID {
				return nil, fmt.Errorf("org %s", tc.OrgID)
			}
			seen.Store(tc.LogicalDate.Format("15:04")+"-"+tc.IntervalEnd.Format("15:04"), true)
			return nil, nil
		}}}}
		opts := fastOptions()
		opts.Now = clock
		e, err := New(st, []Pipeline{p}, opts)
		if err != nil {
			t.Fatal(err)
		}
		e.schedule(ctx, clock())
		e.schedule(ctx, clock()) // idempotent
		runs, err := st.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: "hourly"})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || !runs[0].LogicalDate.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)) || runs[0].OrgID != o.ID || runs[0].Trigger != store.TriggerSchedule {
			t.Fatalf("first schedule: %+v", runs)
		}
		mu.Lock()
		now = now.Add(2 * time.Hour) // 12:30: 10:00 and 11:00 are due
		mu.Unlock()
		e.schedule(ctx, clock())
		runs, _ = st.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: "hourly"})
		if len(runs) != 3 || !runs[0].LogicalDate.Equal(time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)) {
			t.Fatalf("catch-up: %+v", runs)
		}
		if err := e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer e.Stop(ctx)
		for _, r := range runs {
			waitRun(t, st, r.ID, 20*time.Second)
		}
		if _, ok := seen.Load("09:00-10:00"); !ok {
			t.Fatal("the 09:00 run did not see its interval")
		}

		created, skipped, err := e.Backfill(ctx, "hourly", o.ID, time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(created) != 3 || skipped != 2 {
			t.Fatalf("backfill 06-11: created %d skipped %d, want 3 and 2", len(created), skipped)
		}
		for _, r := range created {
			if r := waitRun(t, st, r.ID, 20*time.Second); r.State != store.RunSuccess || r.Trigger != store.TriggerBackfill {
				t.Fatalf("%+v", r)
			}
		}
		if _, _, err := e.Backfill(ctx, "hourly", uuid.Nil, now.Add(-time.Hour), now, nil); err == nil || !strings.Contains(err.Error(), "runs per organization") {
			t.Fatalf("backfill without org: %v", err)
		}
		if _, _, err := e.Backfill(ctx, "hourly", o.ID, now, now.Add(-time.Hour), nil); err == nil || !strings.Contains(err.Error(), "is not before") {
			t.Fatalf("reversed range: %v", err)
		}
	})
}

// TestLiveLog: a running attempt's log reaches the store while it runs,
// and the whole log (written once, not twice) is there when it ends.
func TestLiveLog(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		release := make(chan struct{})
		p := Pipeline{Name: "long", Scope: Platform, Tasks: []Task{{ID: "wait", Run: func(ctx context.Context, tc *TaskContext) (any, error) {
			tc.Log.Info("waiting for upstream", "pending", 3)
			<-release
			tc.Log.Info("done waiting")
			return nil, nil
		}}}}
		e := startEngine(t, st, []Pipeline{p}, fastOptions())
		defer func() {
			select {
			case <-release:
			default:
				close(release)
			}
		}()
		run, err := e.Trigger(ctx, "long", uuid.Nil, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			ti, err := st.PipelineTask(ctx, run.ID, "wait")
			if err != nil {
				t.Fatal(err)
			}
			if ti.State == store.TaskRunning && strings.Contains(ti.Log, `msg="waiting for upstream" pending=3`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no live log: %+v", ti)
			}
		}
		close(release)
		waitRun(t, st, run.ID, 10*time.Second)
		ti, err := st.PipelineTask(ctx, run.ID, "wait")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(ti.Log, "waiting for upstream") != 1 || strings.Count(ti.Log, "--- attempt 1 on") != 1 || !strings.Contains(ti.Log, "done waiting") || !strings.Contains(ti.Log, "--- success in") {
			t.Fatalf("final log:\n%s", ti.Log)
		}
	})
}
