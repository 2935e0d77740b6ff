package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// leaderLock names the scheduler's lock in the store.
const leaderLock = "pipeline-scheduler"

// maxCatchUp bounds how many missed scheduled runs of one pipeline and
// organization the scheduler creates after downtime (the newest ones);
// older intervals are a backfill's job.
const maxCatchUp = 50

// Options tune an Engine. Zero values take the defaults shown.
type Options struct {
	Logger *slog.Logger
	// Location is the zone of schedules that do not name one (UTC).
	Location *time.Location
	// Workers is how many task attempts this process runs at once (4).
	Workers int
	// Poll is how often idle workers look for queued tasks (500 ms); a
	// task finishing in this process wakes them at once.
	Poll time.Duration
	// Tick is how often the leader schedules, reclaims expired leases and
	// sweeps, and how often a follower tries to become leader (1 s).
	Tick time.Duration
	// Lease is how long a claimed task stays with its worker without a
	// renewal (30 s); renewals come every Lease/3.
	Lease time.Duration
	// NoScheduler leaves scheduling to other processes: this one only
	// works (the CLI's run --wait).
	NoScheduler bool
	// Holder names this process in task instances (host-pid-random).
	Holder string
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Engine schedules and runs pipelines over a store.
type Engine struct {
	st    *store.Store
	opts  Options
	log   *slog.Logger
	dags  map[string]*dag
	names []string

	wake chan struct{}

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	// tasksCtx is running attempts' parent: cancelled when Stop's grace
	// runs out (or at kill), not when claiming stops.
	tasksCtx    context.Context
	tasksCancel context.CancelFunc
	beat        sync.WaitGroup // the lease renewals
	// live are the running attempts, whose logs the heartbeat writes
	// to the store as they grow.
	live    map[*liveAttempt]bool
	done    sync.WaitGroup
	running int
	leader  bool
	killed  bool
	lock    store.Lock
	// The leader's schedule cache (leaderLoop's goroutine only): when to
	// look again at each pipeline and organization, and the organizations.
	nextCheck map[string]time.Time
	orgs      []uuid.UUID
	orgsAt    time.Time
	taskDone  sync.WaitGroup
}

// New validates every pipeline (a cycle, an unknown dependency, a bad
// schedule or a duplicate name is refused with its exact cause) and
// returns an engine that has not started.
func New(st *store.Store, pipelines []Pipeline, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Holder == "" {
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = rand.Read(b[:])
		opts.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	e := &Engine{st: st, opts: opts, log: opts.Logger, dags: map[string]*dag{}, wake: make(chan struct{}, 1)}
	for _, p := range pipelines {
		d, err := compile(p, opts.Location)
		if err != nil {
			return nil, err
		}
		if _, dup := e.dags[p.Name]; dup {
			return nil, fmt.Errorf("pipeline %s is declared twice", p.Name)
		}
		e.dags[p.Name] = d
		e.names = append(e.names, p.Name)
	}
	slices.Sort(e.names)
	return e, nil
}

// Holder is the name this process's workers claim tasks under.
func (e *Engine) Holder() string { return e.opts.Holder }

// Info describes a pipeline for listings.
type Info struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Schedule    string            `json:"schedule,omitempty"`
	Scope       string            `json:"scope"`
	Params      map[string]string `json:"params,omitempty"`
	Tasks       []TaskInfo        `json:"tasks"`
	// NextRun is the next scheduled interval end after now, if scheduled.
	NextRun *time.Time `json:"next_run,omitempty"`
}

// TaskInfo describes a task.
type TaskInfo struct {
	ID      string   `json:"id"`
	Group   string   `json:"group,omitempty"`
	Deps    []string `json:"deps,omitempty"`
	Retries int      `json:"retries"`
	Timeout string   `json:"timeout"`
}

// Pipelines lists the engine's pipelines by name, tasks in topological
// order.
func (e *Engine) Pipelines() []Info {
	now := e.opts.Now()
	out := make([]Info, 0, len(e.names))
	for _, n := range e.names {
		out = append(out, e.info(e.dags[n], now))
	}
	return out
}

// Pipeline describes one pipeline.
func (e *Engine) Pipeline(name string) (Info, bool) {
	d, ok := e.dags[name]
	if !ok {
		return Info{}, false
	}
	return e.info(d, e.opts.Now()), true
}

func (e *Engine) info(d *dag, now time.Time) Info {
	in := Info{Name: d.Name, Description: d.Description, Schedule: d.Schedule, Scope: d.Scope.String(), Params: d.Params}
	if d.sched != nil {
		n := d.sched.Next(now)
		in.NextRun = &n
	}
	for _, id := range d.order {
		t := d.byID[id]
		in.Tasks = append(in.Tasks, TaskInfo{ID: t.ID, Group: t.Group, Deps: t.Deps, Retries: t.Retries, Timeout: t.Timeout.String()})
	}
	return in
}

// Order returns pipeline's task ids in topological order.
func (e *Engine) Order(pipeline string) []string {
	if d, ok := e.dags[pipeline]; ok {
		return d.order
	}
	return nil
}

// ErrUnknownPipeline is returned for a name no pipeline has.
var ErrUnknownPipeline = errors.New("unknown pipeline")

func (e *Engine) dag(name string) (*dag, error) {
	d, ok := e.dags[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownPipeline, name, e.names)
	}
	return d, nil
}

// Trigger creates a manual run of pipeline for org (uuid.Nil for a
// platform pipeline) at logical date at, with params over the defaults.
// A run of that date that exists already is an error: clear it to re-run.
func (e *Engine) Trigger(ctx context.Context, pipeline string, org uuid.UUID, at time.Time, params map[string]string) (store.PipelineRun, error) {
	d, err := e.dag(pipeline)
	if err != nil {
		return store.PipelineRun{}, err
	}
	if err := checkScope(d, org); err != nil {
		return store.PipelineRun{}, err
	}
	start, end := d.interval(at)
	r, created, err := e.create(ctx, d, org, start, end, store.TriggerManual, params)
	if err != nil {
		return r, err
	}
	if !created {
		return r, fmt.Errorf("pipeline %s already has run %s for logical date %s (%s): clear it to run it again", pipeline, r.ID, r.LogicalDate.Format(time.RFC3339), r.State)
	}
	e.poke()
	return r, nil
}

// Backfill creates a run of pipeline for org for every scheduled logical
// date in [from, to), skipping dates that have a run already, and returns
// the runs created and the number skipped.
func (e *Engine) Backfill(ctx context.Context, pipeline string, org uuid.UUID, from, to time.Time, params map[string]string) ([]store.PipelineRun, int, error) {
	d, err := e.dag(pipeline)
	if err != nil {
		return nil, 0, err
	}
	if err := checkScope(d, org); err != nil {
		return nil, 0, err
	}
	if d.sched == nil {
		return nil, 0, fmt.Errorf("pipeline %s has no schedule, so it has no logical dates to backfill; trigger it instead", pipeline)
	}
	if !from.Before(to) {
		return nil, 0, fmt.Errorf("backfill of %s: from %s is not before to %s", pipeline, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var dates []time.Time
	for t := d.sched.Next(from.Add(-time.Nanosecond)); t.Before(to); t = d.sched.Next(t) {
		dates = append(dates, t)
		if len(dates) > 10000 {
			return nil, 0, fmt.Errorf("backfill of %s from %s to %s would create more than 10000 runs; split the range", pipeline, from.Format(time.RFC3339), to.Format(time.RFC3339))
		}
	}
	var out []store.PipelineRun
	skipped := 0
	for _, t := range dates {
		start, end := d.interval(t)
		r, created, err := e.create(ctx, d, org, start, end, store.TriggerBackfill, params)
		if err != nil {
			return out, skipped, err
		}
		if created {
			out = append(out, r)
		} else {
			skipped++
		}
	}
	e.poke()
	return out, skipped, nil
}

func checkScope(d *dag, org uuid.UUID) error {
	if d.Scope == Platform && org != uuid.Nil {
		return fmt.Errorf("pipeline %s is platform-wide: give no organization", d.Name)
	}
	if d.Scope == PerOrganization && org == uuid.Nil {
		return fmt.Errorf("pipeline %s runs per organization: name one", d.Name)
	}
	return nil
}

func (e *Engine) create(ctx context.Context, d *dag, org uuid.UUID, start, end time.Time, trigger string, given map[string]string) (store.PipelineRun, bool, error) {
	_, pj, err := d.params(given)
	if err != nil {
		return store.PipelineRun{}, false, err
	}
	tasks := make([]store.NewTaskInstance, len(d.Tasks))
	for i, t := range d.Tasks {
		tasks[i] = store.NewTaskInstance{TaskID: t.ID, MaxAttempts: t.Retries + 1, Queued: len(t.Deps) == 0}
	}
	return e.st.CreatePipelineRun(ctx, store.PipelineRun{Pipeline: d.Name, OrgID: org, LogicalDate: start, IntervalEnd: end, Trigger: trigger, Params: pj}, tasks)
}

// Clear makes task of run (and, with downstream, every task after it)
// run again; an empty task clears every failed and upstream-failed task.
// Tasks whose upstream tasks all succeeded are queued at once.
func (e *Engine) Clear(ctx context.Context, runID uuid.UUID, task string, downstream bool) ([]string, error) {
	run, err := e.st.PipelineRunByID(ctx, runID)
	if err != nil {
		return nil, err
	}
	d, err := e.dag(run.Pipeline)
	if err != nil {
		return nil, err
	}
	tis, err := e.st.PipelineTasks(ctx, runID)
	if err != nil {
		return nil, err
	}
	state := map[string]string{}
	for _, t := range tis {
		state[t.TaskID] = t.State
	}
	reset := map[string]bool{}
	if task == "" {
		for id, s := range state {
			if s == store.TaskFailed || s == store.TaskUpstreamFailed {
				reset[id] = true
			}
		}
		if len(reset) == 0 {
			return nil, fmt.Errorf("run %s has no failed task to clear", runID)
		}
	} else {
		if _, ok := d.byID[task]; !ok {
			return nil, fmt.Errorf("pipeline %s has no task %q", d.Name, task)
		}
		reset[task] = true
		if downstream {
			for _, t := range d.descendant[task] {
				reset[t] = true
			}
		}
	}
	// Tasks downstream of a cleared one cannot stay failed for an
	// upstream that will run again.
	for id := range reset {
		for _, t := range d.descendant[id] {
			if state[t] == store.TaskUpstreamFailed {
				reset[t] = true
			}
		}
	}
	var resetIDs, queue []string
	for _, id := range d.order {
		if !reset[id] {
			continue
		}
		resetIDs = append(resetIDs, id)
		ready := true
		for _, dep := range d.byID[id].Deps {
			if reset[dep] || state[dep] != store.TaskSuccess {
				ready = false
			}
		}
		if ready {
			queue = append(queue, id)
		}
	}
	if err := e.st.ClearPipelineTasks(ctx, runID, resetIDs, queue); err != nil {
		return nil, err
	}
	e.poke()
	return resetIDs, nil
}

// Start runs the workers and, unless NoScheduler, takes part in leader
// election. ctx bounds nothing after Start returns; Stop ends the engine.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("pipeline: engine already started")
	}
	e.started = true
	base := context.WithoutCancel(ctx)
	// Claiming and scheduling end at Stop; running attempts (and the
	// renewal of their leases) only when Stop's grace runs out.
	rctx, cancel := context.WithCancel(base)
	tctx, tcancel := context.WithCancel(base)
	e.cancel, e.tasksCancel, e.tasksCtx = cancel, tcancel, tctx
	e.done.Add(1)
	go e.workLoop(rctx)
	e.beat.Add(1)
	go e.heartbeat(tctx)
	if !e.opts.NoScheduler {
		e.done.Add(1)
		go e.leaderLoop(rctx)
	}
	return nil
}

// Stop stops claiming tasks and scheduling, gives up leadership, and waits
// until ctx ends for running attempts to finish and record their outcome.
// Attempts still running then are cancelled and queued again at once
// (their outcome is "interrupted", not a failure of the task).
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	if !e.started || e.cancel == nil {
		e.mu.Unlock()
		return nil
	}
	cancel, tcancel := e.cancel, e.tasksCancel
	e.cancel = nil
	e.mu.Unlock()
	cancel()
	e.done.Wait()
	finished := make(chan struct{})
	go func() { e.taskDone.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = fmt.Errorf("pipeline: task attempts still running at shutdown were interrupted and queued again: %w", ctx.Err())
		tcancel()
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
		}
	}
	tcancel()
	e.beat.Wait()
	return err
}

// kill stops the engine the way a crash would: nothing more is written,
// leases are left to expire, and the leader lock's connection is dropped.
func (e *Engine) kill() {
	e.mu.Lock()
	e.killed = true
	cancel, tcancel := e.cancel, e.tasksCancel
	e.cancel = nil
	lock := e.lock
	e.mu.Unlock()
	if cancel != nil {
		cancel()
		tcancel()
	}
	e.done.Wait()
	e.beat.Wait()
	if lock != nil {
		_ = lock.Release(context.Background())
	}
}

// IsLeader reports whether this process schedules now.
func (e *Engine) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) isKilled() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.killed
}

// workLoop claims queued tasks while it has free workers.
func (e *Engine) workLoop(ctx context.Context) {
	defer e.done.Done()
	runs, known := map[uuid.UUID]store.PipelineRun{}, map[uuid.UUID]bool{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		e.mu.Lock()
		free := e.opts.Workers - e.running
		e.mu.Unlock()
		claimed := 0
		if free > 0 && ctx.Err() == nil {
			tasks, err := e.st.ClaimPipelineTasks(ctx, e.opts.Holder, e.names, free, e.opts.Lease, known)
			if err != nil && ctx.Err() == nil {
				e.log.Warn("pipeline: claiming tasks", slog.Any("err", err))
			}
			for i, c := range tasks {
				// What a run is does not change while it runs: each
				// run is read once per process (the cache is bounded).
				if r, ok := runs[c.Run.ID]; ok {
					tasks[i].Run, c.Run = r, r
				} else {
					if len(runs) >= 1000 {
						clear(runs)
						clear(known)
					}
					runs[c.Run.ID], known[c.Run.ID] = c.Run, true
				}
				e.mu.Lock()
				e.running++
				e.mu.Unlock()
				e.taskDone.Add(1)
				go e.execute(e.tasksCtx, c)
			}
			claimed = len(tasks)
		}
		// With every worker busy, wait for one to finish (it pokes);
		// otherwise look again after Poll or when a task is queued here.
		if claimed < free {
			timer.Reset(e.opts.Poll)
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
			case <-timer.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		}
	}
}

func (e *Engine) heartbeat(ctx context.Context) {
	defer e.beat.Done()
	t := time.NewTicker(min(e.opts.Lease/3, 5*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		n := e.running
		e.mu.Unlock()
		if n == 0 {
			continue
		}
		if _, err := e.st.RenewPipelineLeases(ctx, e.opts.Holder, e.opts.Now().Add(e.opts.Lease)); err != nil && ctx.Err() == nil {
			e.log.Warn("pipeline: renewing task leases", slog.Any("err", err))
		}
		e.flushLogs(ctx)
	}
}

// liveAttempt is a running attempt and how much of its log is stored.
type liveAttempt struct {
	run     uuid.UUID
	task    string
	attempt int
	buf     *lockedBuffer
	mu      sync.Mutex // held while a part of the log is written
	flushed int
	done    bool
}

// unflushed returns the log written since the last flush and marks it
// flushed; the caller holds a.mu.
func (a *liveAttempt) unflushed() string {
	text, end := a.buf.since(a.flushed)
	a.flushed = end
	return text
}

// flushLogs writes the new part of every running attempt's log.
func (e *Engine) flushLogs(ctx context.Context) {
	e.mu.Lock()
	var as []*liveAttempt
	for a := range e.live {
		as = append(as, a)
	}
	e.mu.Unlock()
	for _, a := range as {
		a.mu.Lock()
		if !a.done {
			from := a.flushed
			if text := a.unflushed(); text != "" {
				if _, err := e.st.AppendPipelineTaskLog(ctx, a.run, a.task, e.opts.Holder, a.attempt, text); err != nil {
					a.flushed = from // written with the outcome instead
					if ctx.Err() == nil {
						e.log.Warn("pipeline: writing a task's log", slog.Any("err", err))
					}
				}
			}
		}
		a.mu.Unlock()
	}
}

// lockedBuffer is a task attempt's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil // a task's log keeps its first MiB per attempt
	}
	return l.b.Write(p)
}

// since returns what was written after offset from, and the end offset.
func (l *lockedBuffer) since(from int) (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b.Bytes()
	if from > len(b) {
		from = len(b)
	}
	return string(b[from:]), len(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// execute runs one claimed attempt and records its outcome.
func (e *Engine) execute(ctx context.Context, c store.ClaimedTask) {
	defer func() {
		e.mu.Lock()
		e.running--
		e.mu.Unlock()
		e.taskDone.Done()
		e.poke()
	}()
	buf := &lockedBuffer{}
	live := &liveAttempt{run: c.Run.ID, task: c.TaskID, attempt: c.Attempt, buf: buf}
	e.mu.Lock()
	if e.live == nil {
		e.live = map[*liveAttempt]bool{}
	}
	e.live[live] = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.live, live)
		e.mu.Unlock()
	}()
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	start := e.opts.Now()
	fmt.Fprintf(buf, "--- attempt %d on %s at %s ---\n", c.Attempt, e.opts.Holder, start.UTC().Format(time.RFC3339Nano))

	d, derr := e.dag(c.Run.Pipeline)
	var task *Task
	if derr == nil {
		task = d.byID[c.TaskID]
		if task == nil {
			derr = fmt.Errorf("pipeline %s of this build has no task %q", c.Run.Pipeline, c.TaskID)
		}
	}
	var out any
	var err error
	if derr != nil {
		err = derr
	} else {
		params := map[string]string{}
		_ = json.Unmarshal(c.Run.Params, &params)
		tc := &TaskContext{RunID: c.Run.ID, Pipeline: c.Run.Pipeline, OrgID: c.Run.OrgID, LogicalDate: c.Run.LogicalDate,
			IntervalEnd: c.Run.IntervalEnd, Params: params, Attempt: c.Attempt, Log: log,
			output: func(t string, v any) error { return e.output(ctx, c.Run.ID, t, v) }}
		out, err = e.call(ctx, task, tc, buf)
	}
	if e.isKilled() {
		return // a crashed process writes nothing more
	}
	end := e.opts.Now()
	f := store.TaskFinish{RunID: c.Run.ID, TaskID: c.TaskID, Holder: e.opts.Holder, Attempt: c.Attempt}
	if err == nil && out != nil {
		b, merr := json.Marshal(out)
		if merr != nil {
			err = fmt.Errorf("encoding the task's output: %v", merr)
		} else {
			f.Output = b
		}
	}
	if err == nil {
		f.Succeeded = true
		if d != nil {
			for _, n := range d.next(c.TaskID) {
				f.Next = append(f.Next, store.TaskDeps{TaskID: n.ID, Deps: n.Deps})
			}
		}
		fmt.Fprintf(buf, "--- success in %s ---\n", end.Sub(start).Round(time.Millisecond))
	} else if ctx.Err() != nil {
		// The process is stopping: the attempt goes back to the queue at
		// once, for this process restarted or another one.
		f.Error = "interrupted: the process stopped during the attempt"
		f.Retry, f.RetryAt = true, end
		fmt.Fprintf(buf, "--- interrupted by shutdown; queued again ---\n")
	} else {
		f.Error = err.Error()
		if task != nil && c.Attempt <= task.Retries {
			wait := task.backoff(c.Attempt)
			f.Retry, f.RetryAt = true, end.Add(wait)
			fmt.Fprintf(buf, "--- failed: %v; retry %d of %d in %s ---\n", err, c.Attempt, task.Retries, wait)
		} else {
			if d != nil {
				f.Descendants = d.descendant[c.TaskID]
			}
			fmt.Fprintf(buf, "--- failed: %v ---\n", err)
		}
	}
	// The outcome carries the part of the log not written yet.
	live.mu.Lock()
	live.done = true
	f.Log = live.unflushed()
	live.mu.Unlock()
	// The outcome is recorded even when the engine is stopping.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ok, ferr := e.st.FinishPipelineTask(wctx, f)
	switch {
	case ferr != nil:
		e.log.Error("pipeline: recording a task's outcome; its lease will expire and it will run again", slog.String("pipeline", c.Run.Pipeline),
			slog.String("task", c.TaskID), slog.String("run", c.Run.ID.String()), slog.Any("err", ferr))
	case !ok:
		e.log.Warn("pipeline: a task attempt finished after losing its lease; its outcome is discarded", slog.String("pipeline", c.Run.Pipeline),
			slog.String("task", c.TaskID), slog.Int("attempt", c.Attempt))
	case err != nil:
		e.log.Warn("pipeline: task failed", slog.String("pipeline", c.Run.Pipeline), slog.String("task", c.TaskID),
			slog.String("run", c.Run.ID.String()), slog.Int("attempt", c.Attempt), slog.Bool("retry", f.Retry), slog.Any("err", err))
	}
}

// call runs one attempt under its timeout; a panic fails the attempt with
// its stack in the log, never the process.
func (e *Engine) call(ctx context.Context, t *Task, tc *TaskContext, log *lockedBuffer) (any, error) {
	tctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	type result struct {
		v   any
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(log, "panic: %v\n%s", p, debug.Stack())
				ch <- result{err: fmt.Errorf("task panicked: %v", p)}
			}
		}()
		v, err := t.Run(tctx, tc)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("timed out after %s: %w", t.Timeout, r.err)
		}
		return r.v, r.err
	case <-tctx.Done():
		// A task that ignores its context gets a short grace, then is
		// abandoned (its goroutine is left to finish on its own).
		select {
		case r := <-ch:
			if r.err == nil && ctx.Err() == nil {
				return r.v, nil
			}
		case <-time.After(2 * time.Second):
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("engine stopped during the attempt: %w", ctx.Err())
		}
		return nil, fmt.Errorf("timed out after %s", t.Timeout)
	}
}

func (e *Engine) output(ctx context.Context, run uuid.UUID, task string, v any) error {
	ti, err := e.st.PipelineTask(ctx, run, task)
	if err != nil {
		return err
	}
	if ti.State != store.TaskSuccess {
		return fmt.Errorf("task %s of run %s has not succeeded (%s)", task, run, ti.State)
	}
	if len(ti.Output) == 0 {
		return fmt.Errorf("task %s of run %s has no output", task, run)
	}
	return json.Unmarshal(ti.Output, v)
}

// leaderLoop takes the scheduler lock when it is free and, while holding
// it, schedules, reclaims expired leases and sweeps active runs.
func (e *Engine) leaderLoop(ctx context.Context) {
	defer e.done.Done()
	var lock store.Lock
	defer func() {
		if lock != nil && !e.isKilled() {
			_ = lock.Release(context.Background())
		}
	}()
	for {
		if lock == nil {
			l, err := e.st.TryLock(ctx, leaderLock)
			if err != nil && ctx.Err() == nil {
				e.log.Warn("pipeline: trying to become the scheduler", slog.Any("err", err))
			}
			if l != nil {
				lock = l
				e.nextCheck, e.orgs = nil, nil
				e.setLeader(true, l)
				e.log.Info("pipeline: this process is the scheduler now", slog.String("holder", e.opts.Holder))
			}
		} else if err := lock.Check(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("pipeline: lost the scheduler lock", slog.Any("err", err))
			_ = lock.Release(context.Background())
			lock = nil
			e.setLeader(false, nil)
		}
		if lock != nil {
			now := e.opts.Now()
			e.schedule(ctx, now)
			e.reap(ctx, now)
			e.sweep(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(e.opts.Tick):
		}
	}
}

func (e *Engine) setLeader(on bool, l store.Lock) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.leader, e.lock = on, l
}

// schedule creates the runs whose interval has ended. It asks the store
// about a pipeline and organization only when a run may have come due
// since it last looked (nextCheck), and re-reads the organizations every
// 30 seconds, so an idle tick costs no query.
func (e *Engine) schedule(ctx context.Context, now time.Time) {
	if e.nextCheck == nil {
		e.nextCheck = map[string]time.Time{}
	}
	anyPerOrg := false
	for _, name := range e.names {
		anyPerOrg = anyPerOrg || e.dags[name].sched != nil && e.dags[name].Scope == PerOrganization
	}
	if anyPerOrg && (e.orgs == nil || now.Sub(e.orgsAt) >= 30*time.Second || now.Before(e.orgsAt)) {
		orgs, err := e.st.OrganizationIDs(ctx)
		if err != nil {
			e.log.Warn("pipeline: listing organizations to schedule", slog.Any("err", err))
			return
		}
		e.orgs, e.orgsAt = orgs, now
	}
	for _, name := range e.names {
		d := e.dags[name]
		if d.sched == nil {
			continue
		}
		targets := []uuid.UUID{uuid.Nil}
		if d.Scope == PerOrganization {
			targets = e.orgs
		}
		for _, org := range targets {
			key := name + "/" + org.String()
			if next, ok := e.nextCheck[key]; ok && now.Before(next) {
				continue
			}
			last, ok, err := e.st.LastScheduledRun(ctx, name, org)
			if err != nil {
				e.log.Warn("pipeline: reading the last scheduled run", slog.String("pipeline", name), slog.Any("err", err))
				continue
			}
			failed := false
			for _, start := range due(d, last, ok, now) {
				_, end := d.interval(start)
				r, created, err := e.create(ctx, d, org, start, end, store.TriggerSchedule, nil)
				if err != nil {
					e.log.Warn("pipeline: creating a scheduled run", slog.String("pipeline", name), slog.Any("err", err))
					failed = true
					break
				}
				last, ok = start, true
				if created {
					e.log.Info("pipeline: scheduled run", slog.String("pipeline", name), slog.String("run", r.ID.String()),
						slog.Time("logical_date", r.LogicalDate))
					e.poke()
				}
			}
			switch {
			case failed:
				delete(e.nextCheck, key)
			case ok:
				// The run after the latest comes due when its interval ends.
				e.nextCheck[key] = d.sched.Next(d.sched.Next(last))
			default:
				e.nextCheck[key] = d.sched.Next(now)
			}
		}
	}
}

// due returns the logical dates whose interval ended by now and that have
// no scheduled run: after last when there is one, else the latest
// complete interval only (a new pipeline does not catch up on history).
func due(d *dag, last time.Time, hasLast bool, now time.Time) []time.Time {
	var out []time.Time
	if hasLast {
		for t := d.sched.Next(last); !d.sched.Next(t).After(now); t = d.sched.Next(t) {
			out = append(out, t)
			if len(out) > maxCatchUp {
				out = out[1:]
			}
		}
		return out
	}
	for _, w := range []time.Duration{time.Hour, 25 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
		t := d.sched.Next(now.Add(-w))
		if d.sched.Next(t).After(now) {
			continue
		}
		for !d.sched.Next(d.sched.Next(t)).After(now) {
			t = d.sched.Next(t)
		}
		return []time.Time{t}
	}
	return nil
}

// reap gives the tasks of workers that stopped renewing their lease
// another attempt (or fails them when they have none left).
func (e *Engine) reap(ctx context.Context, now time.Time) {
	expired, err := e.st.ExpiredPipelineTasks(ctx, now, 100)
	if err != nil {
		e.log.Warn("pipeline: listing expired task leases", slog.Any("err", err))
		return
	}
	for _, t := range expired {
		run, err := e.st.PipelineRunByID(ctx, t.RunID)
		if err != nil {
			continue
		}
		msg := fmt.Sprintf("worker %s stopped renewing its lease (expired %s)", t.Holder, t.LeaseUntil.UTC().Format(time.RFC3339))
		f := store.TaskFinish{RunID: t.RunID, TaskID: t.TaskID, Holder: t.Holder, Attempt: t.Attempts, Error: msg}
		// A lost worker is not the task's fault: the task gets another
		// attempt even when that goes one past its retries.
		if t.Attempts <= t.MaxAttempts {
			f.Retry, f.RetryAt = true, now
		}
		if d, ok := e.dags[run.Pipeline]; ok && !f.Retry {
			f.Descendants = d.descendant[t.TaskID]
		}
		f.Log = fmt.Sprintf("--- attempt %d lost: %s ---\n", t.Attempts, msg)
		if _, err := e.st.FinishPipelineTask(ctx, f); err != nil {
			e.log.Warn("pipeline: reclaiming an expired task", slog.Any("err", err))
			continue
		}
		e.log.Warn("pipeline: reclaimed a task from a lost worker", slog.String("pipeline", run.Pipeline), slog.String("task", t.TaskID),
			slog.String("holder", t.Holder), slog.Bool("retry", f.Retry))
		e.poke()
	}
}

// sweep queues pending tasks of active runs whose upstream all succeeded
// (normally the finishing transaction does it; this mends any it missed).
func (e *Engine) sweep(ctx context.Context) {
	runs, err := e.st.PipelineRuns(ctx, store.PipelineRunFilter{States: []string{store.RunQueued, store.RunRunning}, Limit: 200})
	if err != nil {
		e.log.Warn("pipeline: listing active runs", slog.Any("err", err))
		return
	}
	for _, r := range runs {
		d, ok := e.dags[r.Pipeline]
		if !ok {
			continue
		}
		tis, err := e.st.PipelineTasks(ctx, r.ID)
		if err != nil {
			continue
		}
		state := make(map[string]string, len(tis))
		for _, t := range tis {
			state[t.TaskID] = t.State
		}
		var ready []store.TaskDeps
		for _, t := range d.Tasks {
			if state[t.ID] != store.TaskPending {
				continue
			}
			ok := true
			for _, dep := range t.Deps {
				if state[dep] != store.TaskSuccess {
					ok = false
					break
				}
			}
			if ok {
				ready = append(ready, store.TaskDeps{TaskID: t.ID, Deps: t.Deps})
			}
		}
		if len(ready) == 0 {
			continue
		}
		if n, err := e.st.QueueReadyPipelineTasks(ctx, r.ID, ready); err == nil && n > 0 {
			e.poke()
		}
	}
}
