package pipeline

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

// TestLeaderDiesMidRun runs two engines as two processes would, each with
// its own connections to one PostgreSQL database. A is the scheduler and
// is running task b when it dies (nothing more is written, its advisory
// lock's connection drops, its lease is left to expire). B becomes the
// scheduler within seconds, takes b over when the lease expires, and the
// run completes once: one run, each task's outcome committed once, c run
// once.
func TestLeaderDiesMidRun(t *testing.T) {
	db := pgtest.New(t, "failover")
	stA := pgtest.Open(t, db, store.Options{})
	stB := pgtest.Open(t, db, store.Options{})
	ctx := context.Background()

	var ranA, ranC atomic.Int32
	bOn := make(chan string, 4)
	def := func(process string) Pipeline {
		return Pipeline{Name: "failover", Scope: Platform, Tasks: []Task{
			{ID: "a", Run: func(context.Context, *TaskContext) (any, error) { ranA.Add(1); return nil, nil }},
			{ID: "b", Deps: []string{"a"}, Run: func(ctx context.Context, tc *TaskContext) (any, error) {
				bOn <- process
				if process == "A" {
					<-ctx.Done() // A dies while b runs
					return nil, ctx.Err()
				}
				return map[string]string{"ran_on": process}, nil
			}},
			{ID: "c", Deps: []string{"b"}, Run: func(context.Context, *TaskContext) (any, error) { ranC.Add(1); return nil, nil }},
		}}
	}
	opts := func(holder string) Options {
		return Options{Holder: holder, Poll: 20 * time.Millisecond, Tick: 100 * time.Millisecond, Lease: 2 * time.Second}
	}
	a, err := New(stA, []Pipeline{def("A")}, opts("A"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.kill()
	waitFor(t, "A to lead", 5*time.Second, a.IsLeader)
	run, err := a.Trigger(ctx, "failover", uuid.Nil, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := <-bOn; p != "A" {
		t.Fatalf("b started on %s", p)
	}

	b := startEngine(t, stB, []Pipeline{def("B")}, opts("B"))
	time.Sleep(300 * time.Millisecond)
	if b.IsLeader() {
		t.Fatal("B leads while A is alive")
	}
	killed := time.Now()
	a.kill()
	waitFor(t, "B to lead", 5*time.Second, b.IsLeader)
	t.Logf("B became the scheduler %s after A died", time.Since(killed).Round(time.Millisecond))

	r := waitRun(t, stB, run.ID, 30*time.Second)
	if r.State != store.RunSuccess || r.TasksDone != 3 {
		t.Fatalf("run: %+v", r)
	}
	if p := <-bOn; p != "B" {
		t.Fatalf("b's second attempt ran on %s", p)
	}
	ti, err := stB.PipelineTask(ctx, run.ID, "b")
	if err != nil {
		t.Fatal(err)
	}
	if ti.Attempts != 2 || ti.Holder != "B" || !strings.Contains(ti.Log, "attempt 1 lost: worker A stopped renewing its lease") || string(ti.Output) != `{"ran_on": "B"}` && string(ti.Output) != `{"ran_on":"B"}` {
		t.Fatalf("b: attempts %d holder %s output %s log:\n%s", ti.Attempts, ti.Holder, ti.Output, ti.Log)
	}
	if ranA.Load() != 1 || ranC.Load() != 1 {
		t.Fatalf("a ran %d times, c %d times; want once each", ranA.Load(), ranC.Load())
	}
	runs, err := stB.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: "failover"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %v", runs, err)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
