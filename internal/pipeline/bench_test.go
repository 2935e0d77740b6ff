package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

// wide1000 is a 1,000-task DAG of no-op tasks: ten layers of 100, each
// task depending on the one above it (task i on task i-100).
func wide1000() Pipeline {
	p := Pipeline{Name: "bench", Scope: Platform}
	for i := range 1000 {
		t := Task{ID: fmt.Sprintf("t%04d", i), Run: noop}
		if i >= 100 {
			t.Deps = []string{fmt.Sprintf("t%04d", i-100)}
		}
		p.Tasks = append(p.Tasks, t)
	}
	return p
}

// BenchmarkDAG1000 measures the scheduler's overhead: "engine" runs the
// 1,000-task DAG through the engine (claims from the store's queue,
// dependency checks, finishing transactions, 8 workers); "baseline" calls
// the same 1,000 functions in a plain loop with the same persistence
// writes per task (the run and its instances created, each task claimed
// and finished in its own transactions). Overhead per task is
// (engine − baseline) / 1000 in ns/task.
func BenchmarkDAG1000(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchDAG(b, sqliteStore(b)) })
	b.Run("postgres", func(b *testing.B) {
		db := pgtest.New(b, "pipebench")
		benchDAG(b, pgtest.Open(b, db, store.Options{}))
	})
}

func benchDAG(b *testing.B, st *store.Store) {
	ctx := context.Background()
	p := wide1000()
	// Each b.Run calls its function again: logical dates never repeat.
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	next := func() time.Time { day = day.Add(time.Hour); return day }
	b.Run("engine", func(b *testing.B) {
		e, err := New(st, []Pipeline{p}, Options{Workers: 8, Poll: 5 * time.Millisecond, Tick: time.Second, NoScheduler: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
		defer e.Stop(ctx)
		b.ResetTimer()
		for range b.N {
			run, err := e.Trigger(ctx, "bench", uuid.Nil, next(), nil)
			if err != nil {
				b.Fatal(err)
			}
			for {
				r, err := st.PipelineRunByID(ctx, run.ID)
				if err != nil {
					b.Fatal(err)
				}
				if r.State == store.RunSuccess {
					break
				}
				if r.State == store.RunFailed {
					b.Fatalf("run failed: %+v", r)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/task")
	})
	b.Run("baseline", func(b *testing.B) {
		d, err := compile(p, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			tasks := make([]store.NewTaskInstance, len(d.Tasks))
			for j, t := range d.Tasks {
				tasks[j] = store.NewTaskInstance{TaskID: t.ID, MaxAttempts: 1, Queued: true}
			}
			run, _, err := st.CreatePipelineRun(ctx, store.PipelineRun{Pipeline: "baseline", LogicalDate: next(), Trigger: store.TriggerManual}, tasks)
			if err != nil {
				b.Fatal(err)
			}
			for range d.Tasks {
				c, err := st.ClaimPipelineTasks(ctx, "baseline", []string{"baseline"}, 1, time.Minute)
				if err != nil || len(c) != 1 {
					b.Fatal(c, err)
				}
				t := d.byID[c[0].TaskID]
				if _, err := t.Run(ctx, nil); err != nil {
					b.Fatal(err)
				}
				if ok, err := st.FinishPipelineTask(ctx, store.TaskFinish{RunID: run.ID, TaskID: t.ID, Holder: "baseline", Attempt: 1, Succeeded: true}); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/task")
	})
}
