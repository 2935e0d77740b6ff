package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
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
// dependency checks, finishing transactions, 8 workers; and with one
// worker); "baseline" calls the same 1,000 functions in a plain loop in
// the DAG's order with the same persistence writes per task (the run and
// its instances created; each task marked running and finished, queueing
// what it made ready, in its own transactions). Overhead per task is the
// difference of the ns/task figures.
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
	b.Run("engine", func(b *testing.B) { benchEngine(b, st, p, 8, next) })
	// One worker: the engine's own cost per task, with no concurrency
	// to hide it behind.
	b.Run("engine-1worker", func(b *testing.B) { benchEngine(b, st, p, 1, next) })
	b.Run("baseline", func(b *testing.B) {
		d, err := compile(p, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			tasks := make([]store.NewTaskInstance, len(d.Tasks))
			for j, t := range d.Tasks {
				tasks[j] = store.NewTaskInstance{TaskID: t.ID, MaxAttempts: 1, Queued: len(t.Deps) == 0}
			}
			run, _, err := st.CreatePipelineRun(ctx, store.PipelineRun{Pipeline: "baseline", LogicalDate: next(), Trigger: store.TriggerManual}, tasks)
			if err != nil {
				b.Fatal(err)
			}
			// Each task in the DAG's order: marked running, called, marked
			// done, in the engine's transactions (the claim by its key,
			// as a loop knows what comes next without asking a queue).
			for _, id := range d.order {
				t := d.byID[id]
				if err := st.Engine().SystemTx(ctx, driver.TxOptions{}, func(q driver.Querier) error {
					_, err := q.Exec(ctx, `UPDATE pipeline.task_instances SET state = 'running', holder = $3, lease_until = $4, attempts = attempts + 1, started_at = $5
						WHERE run_id = $1 AND task_id = $2`, run.ID, id, "baseline", time.Now().Add(time.Minute).UTC(), time.Now().UTC())
					return err
				}); err != nil {
					b.Fatal(err)
				}
				if _, err := t.Run(ctx, nil); err != nil {
					b.Fatal(err)
				}
				var next []store.TaskDeps
				for _, n := range d.next(id) {
					next = append(next, store.TaskDeps{TaskID: n.ID, Deps: n.Deps})
				}
				if ok, err := st.FinishPipelineTask(ctx, store.TaskFinish{RunID: run.ID, TaskID: id, Holder: "baseline", Attempt: 1, Succeeded: true, Next: next}); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/task")
	})
}

func benchEngine(b *testing.B, st *store.Store, p Pipeline, workers int, next func() time.Time) {
	ctx := context.Background()
	e, err := New(st, []Pipeline{p}, Options{Workers: workers, Poll: 5 * time.Millisecond, Tick: time.Second, NoScheduler: true})
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
			time.Sleep(20 * time.Millisecond) // at most 0.02 ms a task; faster polling loads the store
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/task")
}
