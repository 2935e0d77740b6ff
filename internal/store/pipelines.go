package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// Pipeline runs and task instances (docs/pipelines.md). The scheduler in
// internal/pipeline owns the DAG; the store keeps what happened and is the
// durable work queue every process's workers claim from. Every method runs
// outside any tenant: runs are platform state, whatever organization a run
// works for.

// Pipeline run states.
const (
	RunQueued  = "queued"
	RunRunning = "running"
	RunSuccess = "success"
	RunFailed  = "failed"
)

// Task instance states.
const (
	TaskPending        = "pending"
	TaskQueued         = "queued"
	TaskRunning        = "running"
	TaskSuccess        = "success"
	TaskFailed         = "failed"
	TaskUpstreamFailed = "upstream_failed"
)

// Run triggers.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerBackfill = "backfill"
)

// PipelineRun is one run of a pipeline for one logical date.
type PipelineRun struct {
	ID       uuid.UUID `json:"id"`
	Pipeline string    `json:"pipeline"`
	// OrgID is the organization the run works for; uuid.Nil for a
	// platform-wide pipeline.
	OrgID uuid.UUID `json:"organization_id"`
	// LogicalDate is the start of the data interval the run covers;
	// IntervalEnd its end (the schedule's next time).
	LogicalDate time.Time  `json:"logical_date"`
	IntervalEnd time.Time  `json:"interval_end"`
	Trigger     string     `json:"trigger"`
	State       string     `json:"state"`
	Params      JSON       `json:"params"`
	TasksTotal  int        `json:"tasks_total"`
	TasksDone   int        `json:"tasks_done"`
	TasksFailed int        `json:"tasks_failed"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
}

// TaskInstance is one task of one run.
type TaskInstance struct {
	RunID       uuid.UUID  `json:"run_id"`
	TaskID      string     `json:"task_id"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	MaxAttempts int        `json:"max_attempts"`
	AvailableAt time.Time  `json:"available_at"`
	Holder      string     `json:"holder,omitempty"`
	LeaseUntil  *time.Time `json:"lease_until,omitempty"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	Output      JSON       `json:"output,omitempty"`
	Error       string     `json:"error,omitempty"`
	// Log is filled by PipelineTaskLog only.
	Log string `json:"log,omitempty"`
}

// NewTaskInstance is a task of a run being created.
type NewTaskInstance struct {
	TaskID      string
	MaxAttempts int
	// Queued tasks (those without upstream tasks) are claimable at once;
	// the rest wait as pending until their upstream tasks succeed.
	Queued bool
}

// ClaimedTask is a task instance a worker claimed, with what it needs of
// its run.
type ClaimedTask struct {
	Run     PipelineRun
	TaskID  string
	Attempt int
}

// TaskFinish is the outcome of one attempt of a task instance.
type TaskFinish struct {
	RunID   uuid.UUID
	TaskID  string
	Holder  string
	Attempt int
	// Succeeded, or else failed: Retry queues another attempt at RetryAt;
	// otherwise the instance fails and Descendants (every task downstream
	// of it) become upstream_failed.
	Succeeded   bool
	Retry       bool
	RetryAt     time.Time
	Output      JSON
	Error       string
	Log         string
	Next        []TaskDeps // direct downstream tasks, queued once every dependency succeeded
	Descendants []string
}

// TaskDeps is a task and the tasks it depends on.
type TaskDeps struct {
	TaskID string
	Deps   []string
}

const pipelineRunCols = "id, pipeline, org_id, logical_date, interval_end, run_trigger, state, params, tasks_total, tasks_done, tasks_failed, created_at, started_at, ended_at"

func scanPipelineRun(r driver.Row) (PipelineRun, error) {
	var p PipelineRun
	err := r.Scan(&p.ID, &p.Pipeline, &p.OrgID, &p.LogicalDate, &p.IntervalEnd, &p.Trigger, &p.State, &p.Params,
		&p.TasksTotal, &p.TasksDone, &p.TasksFailed, &p.CreatedAt, &p.StartedAt, &p.EndedAt)
	return p, err
}

// CreatePipelineRun inserts run (its ID, CreatedAt and State are set here)
// and its task instances. A run of the same pipeline, organization and
// logical date that exists already is returned instead, with created
// false: scheduling and backfilling are idempotent.
func (s *Store) CreatePipelineRun(ctx context.Context, run PipelineRun, tasks []NewTaskInstance) (PipelineRun, bool, error) {
	const op = "store: creating a pipeline run"
	if run.Pipeline == "" || len(tasks) == 0 {
		return PipelineRun{}, false, errorf(CodeInvalidArgument, op, "a run needs a pipeline and at least one task")
	}
	now := s.nowUTC()
	run.ID = uuid.Must(uuid.NewV7())
	run.CreatedAt = now
	run.State = RunQueued
	run.TasksTotal = len(tasks)
	run.TasksDone, run.TasksFailed = 0, 0
	run.StartedAt, run.EndedAt = nil, nil
	run.LogicalDate = run.LogicalDate.UTC().Truncate(time.Microsecond)
	run.IntervalEnd = run.IntervalEnd.UTC().Truncate(time.Microsecond)
	if len(run.Params) == 0 {
		run.Params = JSON("{}")
	}
	created := false
	var out PipelineRun
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		n, err := q.Exec(ctx, `INSERT INTO pipeline.runs (id, pipeline, org_id, logical_date, interval_end, run_trigger, state, params, tasks_total, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (pipeline, org_id, logical_date) DO NOTHING`,
			run.ID, run.Pipeline, run.OrgID, run.LogicalDate, run.IntervalEnd, run.Trigger, run.State, run.Params, int64(run.TasksTotal), now)
		if err != nil {
			return err
		}
		if n == 0 {
			created = false
			out, err = scanPipelineRun(q.QueryRow(ctx, "SELECT "+pipelineRunCols+" FROM pipeline.runs WHERE pipeline = $1 AND org_id = $2 AND logical_date = $3",
				run.Pipeline, run.OrgID, run.LogicalDate))
			return err
		}
		rows := make([][]any, len(tasks))
		for i, t := range tasks {
			state := TaskPending
			if t.Queued {
				state = TaskQueued
			}
			rows[i] = []any{run.ID, t.TaskID, run.Pipeline, state, int64(max(t.MaxAttempts, 1)), now}
		}
		if _, err := s.d.BulkInsert(ctx, q, driver.Table{Name: "pipeline.task_instances",
			Columns: []string{"run_id", "task_id", "pipeline", "state", "max_attempts", "available_at"}}, rows); err != nil {
			return err
		}
		created, out = true, run
		return nil
	})
	return out, created, err
}

// PipelineRunByID returns one run.
func (s *Store) PipelineRunByID(ctx context.Context, id uuid.UUID) (PipelineRun, error) {
	const op = "store: reading a pipeline run"
	var out PipelineRun
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		var err error
		out, err = scanPipelineRun(q.QueryRow(ctx, "SELECT "+pipelineRunCols+" FROM pipeline.runs WHERE id = $1", id))
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "pipeline run %s not found", id)
		}
		return err
	})
	return out, err
}

// PipelineRunFilter narrows PipelineRuns.
type PipelineRunFilter struct {
	Pipeline string    // empty: every pipeline
	OrgID    uuid.UUID // uuid.Nil: every organization
	States   []string  // empty: every state
	// Before, when set, lists runs with an earlier logical date (paging).
	Before time.Time
	Limit  int // default 50, at most 1000
}

// PipelineRuns lists runs, newest logical date first.
func (s *Store) PipelineRuns(ctx context.Context, f PipelineRunFilter) ([]PipelineRun, error) {
	const op = "store: listing pipeline runs"
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 1000)
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Pipeline != "" {
		add("pipeline = $%d", f.Pipeline)
	}
	if f.OrgID != uuid.Nil {
		add("org_id = $%d", f.OrgID)
	}
	if !f.Before.IsZero() {
		add("logical_date < $%d", f.Before.UTC())
	}
	if len(f.States) > 0 {
		ph, states := inList(len(args), f.States)
		args = append(args, states...)
		where = append(where, "state IN ("+ph+")")
	}
	sql := "SELECT " + pipelineRunCols + " FROM pipeline.runs"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += fmt.Sprintf(" ORDER BY logical_date DESC, id DESC LIMIT %d", f.Limit)
	var out []PipelineRun
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanPipelineRun(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// LastScheduledRun returns the latest logical date of pipeline's
// scheduled runs for org, and false when it has none.
func (s *Store) LastScheduledRun(ctx context.Context, pipeline string, org uuid.UUID) (time.Time, bool, error) {
	const op = "store: reading the last scheduled pipeline run"
	var last *time.Time
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		// Not max(): SQLite's aggregate loses the column's time type.
		err := q.QueryRow(ctx, "SELECT logical_date FROM pipeline.runs WHERE pipeline = $1 AND org_id = $2 AND run_trigger = $3 ORDER BY logical_date DESC LIMIT 1",
			pipeline, org, TriggerSchedule).Scan(&last)
		if s.d.IsNoRows(err) {
			return nil
		}
		return err
	})
	if err != nil || last == nil {
		return time.Time{}, false, err
	}
	return *last, true, nil
}

const taskInstanceCols = "run_id, task_id, state, attempts, max_attempts, available_at, holder, lease_until, started_at, ended_at, output, error"

func scanTaskInstance(r driver.Row, withLog bool) (TaskInstance, error) {
	var t TaskInstance
	var holder *string
	dest := []any{&t.RunID, &t.TaskID, &t.State, &t.Attempts, &t.MaxAttempts, &t.AvailableAt, &holder, &t.LeaseUntil, &t.StartedAt, &t.EndedAt, &t.Output, &t.Error}
	if withLog {
		dest = append(dest, &t.Log)
	}
	err := r.Scan(dest...)
	if holder != nil {
		t.Holder = *holder
	}
	return t, err
}

// PipelineTasks returns the task instances of runs (without logs), by run
// and task id.
func (s *Store) PipelineTasks(ctx context.Context, runs ...uuid.UUID) ([]TaskInstance, error) {
	const op = "store: reading pipeline task instances"
	if len(runs) == 0 {
		return nil, nil
	}
	ph, args := inList(0, runs)
	var out []TaskInstance
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		var err error
		out, err = queryTaskInstances(ctx, q, "SELECT "+taskInstanceCols+" FROM pipeline.task_instances WHERE run_id IN ("+ph+") ORDER BY run_id, task_id", args...)
		return err
	})
	return out, err
}

// PipelineTask returns one task instance with its log.
func (s *Store) PipelineTask(ctx context.Context, run uuid.UUID, task string) (TaskInstance, error) {
	const op = "store: reading a pipeline task instance"
	var out TaskInstance
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		var err error
		out, err = scanTaskInstance(q.QueryRow(ctx, "SELECT "+taskInstanceCols+", log FROM pipeline.task_instances WHERE run_id = $1 AND task_id = $2", run, task), true)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "task %q of run %s not found", task, run)
		}
		return err
	})
	return out, err
}

// ClaimPipelineTasks claims up to n queued task instances of pipelines
// whose time has come for holder, under a lease until now+lease, and
// returns them with their runs. A run in known (one the caller holds the
// details of, already running) is not read again: its ClaimedTask.Run
// has only its ID. On PostgreSQL concurrent claimers skip each other's rows
// (FOR UPDATE SKIP LOCKED); SQLite serializes writers.
func (s *Store) ClaimPipelineTasks(ctx context.Context, holder string, pipelines []string, n int, lease time.Duration, known map[uuid.UUID]bool) ([]ClaimedTask, error) {
	const op = "store: claiming pipeline tasks"
	if holder == "" || n <= 0 || len(pipelines) == 0 {
		return nil, errorf(CodeInvalidArgument, op, "a holder, pipelines and a positive count are required")
	}
	ph, names := inList(4, pipelines)
	now := s.nowUTC()
	var out []ClaimedTask
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, `UPDATE pipeline.task_instances SET state = 'running', holder = $1, lease_until = $2, attempts = attempts + 1, started_at = $3, ended_at = NULL
			WHERE (run_id, task_id) IN (SELECT run_id, task_id FROM pipeline.task_instances WHERE state = 'queued' AND available_at <= $3
				AND pipeline IN (`+ph+`) ORDER BY available_at LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING run_id, task_id, attempts`, append([]any{holder, now.Add(lease), now, int64(n)}, names...)...)
		if err != nil {
			return err
		}
		runs := map[uuid.UUID]*PipelineRun{}
		for rows.Next() {
			var c ClaimedTask
			if err := rows.Scan(&c.Run.ID, &c.TaskID, &c.Attempt); err != nil {
				rows.Close()
				return err
			}
			runs[c.Run.ID] = nil
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for id := range runs {
			if known[id] {
				runs[id] = &PipelineRun{ID: id}
				continue
			}
			r, err := scanPipelineRun(q.QueryRow(ctx, "SELECT "+pipelineRunCols+" FROM pipeline.runs WHERE id = $1", id))
			if err != nil {
				return err
			}
			if r.State == RunQueued {
				if _, err := q.Exec(ctx, "UPDATE pipeline.runs SET state = 'running', started_at = $2 WHERE id = $1 AND state = 'queued'", id, now); err != nil {
					return err
				}
				r.State, r.StartedAt = RunRunning, &now
			}
			runs[id] = &r
		}
		for i := range out {
			out[i].Run = *runs[out[i].Run.ID]
		}
		return nil
	})
	return out, err
}

// RenewPipelineLeases extends the lease of every task instance holder is
// running to until and returns how many it holds.
func (s *Store) RenewPipelineLeases(ctx context.Context, holder string, until time.Time) (int64, error) {
	const op = "store: renewing pipeline task leases"
	var n int64
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		var err error
		n, err = q.Exec(ctx, "UPDATE pipeline.task_instances SET lease_until = $2 WHERE holder = $1 AND state = 'running'", holder, until.UTC())
		return err
	})
	return n, err
}

// AppendPipelineTaskLog adds text to the log of a running attempt, while
// holder still holds it: the live log of a long task. It reports whether
// the attempt still held the instance.
func (s *Store) AppendPipelineTaskLog(ctx context.Context, run uuid.UUID, task, holder string, attempt int, text string) (bool, error) {
	const op = "store: appending to a pipeline task's log"
	var n int64
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		var err error
		n, err = q.Exec(ctx, "UPDATE pipeline.task_instances SET log = log || $5 WHERE run_id = $1 AND task_id = $2 AND holder = $3 AND attempts = $4 AND state = 'running'",
			run, task, holder, int64(attempt), text)
		return err
	})
	return n == 1, err
}

// ExpiredPipelineTasks lists running task instances whose lease ended
// before now: their worker died or lost the store.
func (s *Store) ExpiredPipelineTasks(ctx context.Context, now time.Time, limit int) ([]TaskInstance, error) {
	const op = "store: listing expired pipeline task leases"
	var out []TaskInstance
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		var err error
		out, err = queryTaskInstances(ctx, q, "SELECT "+taskInstanceCols+" FROM pipeline.task_instances WHERE state = 'running' AND lease_until < $1 ORDER BY lease_until LIMIT "+fmt.Sprint(max(limit, 1)), now.UTC())
		return err
	})
	return out, err
}

// FinishPipelineTask records the outcome of an attempt, queues the
// downstream tasks it made ready, and ends the run when every task is
// done. It returns false, writing nothing, when the attempt no longer
// holds the instance (its lease expired and another attempt took over).
// The run's row is locked first, so two tasks finishing at once both see
// each other's outcome when they decide what is ready.
func (s *Store) FinishPipelineTask(ctx context.Context, f TaskFinish) (bool, error) {
	const op = "store: finishing a pipeline task"
	now := s.nowUTC()
	ok := false
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		ok = false
		var state string
		if err := q.QueryRow(ctx, "SELECT state FROM pipeline.runs WHERE id = $1 FOR UPDATE", f.RunID).Scan(&state); err != nil {
			return err
		}
		var n int64
		var err error
		switch {
		case f.Succeeded:
			n, err = q.Exec(ctx, `UPDATE pipeline.task_instances SET state = 'success', ended_at = $5, lease_until = NULL, output = $6, error = '', log = log || $7
				WHERE run_id = $1 AND task_id = $2 AND holder = $3 AND attempts = $4 AND state = 'running'`,
				f.RunID, f.TaskID, f.Holder, int64(f.Attempt), now, f.Output, f.Log)
		case f.Retry:
			n, err = q.Exec(ctx, `UPDATE pipeline.task_instances SET state = 'queued', ended_at = $5, lease_until = NULL, holder = NULL, available_at = $6, error = $7, log = log || $8
				WHERE run_id = $1 AND task_id = $2 AND holder = $3 AND attempts = $4 AND state = 'running'`,
				f.RunID, f.TaskID, f.Holder, int64(f.Attempt), now, f.RetryAt.UTC(), f.Error, f.Log)
		default:
			n, err = q.Exec(ctx, `UPDATE pipeline.task_instances SET state = 'failed', ended_at = $5, lease_until = NULL, error = $6, log = log || $7
				WHERE run_id = $1 AND task_id = $2 AND holder = $3 AND attempts = $4 AND state = 'running'`,
				f.RunID, f.TaskID, f.Holder, int64(f.Attempt), now, f.Error, f.Log)
		}
		if err != nil || n == 0 {
			return err
		}
		ok = true
		done, failed := int64(0), int64(0)
		switch {
		case f.Succeeded:
			done = 1
			for _, next := range f.Next {
				ready, err := allSucceeded(ctx, q, f.RunID, next.Deps)
				if err != nil {
					return err
				}
				if !ready {
					continue
				}
				if _, err := q.Exec(ctx, "UPDATE pipeline.task_instances SET state = 'queued', available_at = $3 WHERE run_id = $1 AND task_id = $2 AND state = 'pending'",
					f.RunID, next.TaskID, now); err != nil {
					return err
				}
			}
		case !f.Retry:
			done, failed = 1, 1
			if len(f.Descendants) > 0 {
				ph, args := inList(2, f.Descendants)
				m, err := q.Exec(ctx, "UPDATE pipeline.task_instances SET state = 'upstream_failed', ended_at = $1 WHERE run_id = $2 AND state = 'pending' AND task_id IN ("+ph+")",
					append([]any{now, f.RunID}, args...)...)
				if err != nil {
					return err
				}
				done, failed = done+m, failed+m
			}
		}
		if done == 0 {
			return nil
		}
		_, err = q.Exec(ctx, `UPDATE pipeline.runs SET tasks_done = tasks_done + $2, tasks_failed = tasks_failed + $3,
			state = CASE WHEN tasks_done + $2 < tasks_total THEN 'running' WHEN tasks_failed + $3 > 0 THEN 'failed' ELSE 'success' END,
			ended_at = CASE WHEN tasks_done + $2 < tasks_total THEN ended_at ELSE $4 END
			WHERE id = $1`, f.RunID, done, failed, now)
		return err
	})
	return ok, err
}

// inList returns "$from+1, $from+2, …" for values and the values as args.
func inList[T any](from int, values []T) (string, []any) {
	ph := make([]string, len(values))
	args := make([]any, len(values))
	for i, v := range values {
		ph[i] = fmt.Sprintf("$%d", from+i+1)
		args[i] = v
	}
	return strings.Join(ph, ", "), args
}

// queryTaskInstances runs a query of taskInstanceCols (without logs).
func queryTaskInstances(ctx context.Context, q driver.Querier, sql string, args ...any) ([]TaskInstance, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TaskInstance
	for rows.Next() {
		t, err := scanTaskInstance(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func allSucceeded(ctx context.Context, q driver.Querier, run uuid.UUID, deps []string) (bool, error) {
	if len(deps) == 0 {
		return true, nil
	}
	ph, args := inList(1, deps)
	var n int64
	if err := q.QueryRow(ctx, "SELECT count(*) FROM pipeline.task_instances WHERE run_id = $1 AND state = 'success' AND task_id IN ("+ph+")",
		append([]any{run}, args...)...).Scan(&n); err != nil {
		return false, err
	}
	return n == int64(len(deps)), nil
}

// QueueReadyPipelineTasks queues the named pending tasks of run: the
// scheduler's sweep for tasks whose upstream finished while no finishing
// transaction saw it (it re-checks each task's deps under the run lock).
func (s *Store) QueueReadyPipelineTasks(ctx context.Context, run uuid.UUID, tasks []TaskDeps) (int, error) {
	const op = "store: queueing ready pipeline tasks"
	now := s.nowUTC()
	queued := 0
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		queued = 0
		var state string
		if err := q.QueryRow(ctx, "SELECT state FROM pipeline.runs WHERE id = $1 FOR UPDATE", run).Scan(&state); err != nil {
			return err
		}
		for _, t := range tasks {
			ready, err := allSucceeded(ctx, q, run, t.Deps)
			if err != nil {
				return err
			}
			if !ready {
				continue
			}
			n, err := q.Exec(ctx, "UPDATE pipeline.task_instances SET state = 'queued', available_at = $3 WHERE run_id = $1 AND task_id = $2 AND state = 'pending'", run, t.TaskID, now)
			if err != nil {
				return err
			}
			queued += int(n)
		}
		return nil
	})
	return queued, err
}

// ClearPipelineTasks resets the named task instances of run to run again
// (attempts start over, the log is kept with a marker): those in queue are
// claimable at once, the others wait for their upstream tasks. The run is
// running again and its counters are recounted.
func (s *Store) ClearPipelineTasks(ctx context.Context, run uuid.UUID, reset []string, queue []string) error {
	const op = "store: clearing pipeline tasks"
	if len(reset) == 0 {
		return errorf(CodeInvalidArgument, op, "no task to clear")
	}
	now := s.nowUTC()
	marker := fmt.Sprintf("--- cleared at %s ---\n", now.Format(time.RFC3339))
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		var state string
		if err := q.QueryRow(ctx, "SELECT state FROM pipeline.runs WHERE id = $1 FOR UPDATE", run).Scan(&state); err != nil {
			if s.d.IsNoRows(err) {
				return errorf(CodeNotFound, op, "pipeline run %s not found", run)
			}
			return err
		}
		var running int64
		if err := q.QueryRow(ctx, "SELECT count(*) FROM pipeline.task_instances WHERE run_id = $1 AND state = 'running'", run).Scan(&running); err != nil {
			return err
		}
		if running > 0 {
			return errorf(CodeFailedPrecondition, op, "run %s has %d task(s) running; clear it when they finish", run, running)
		}
		ph, args := inList(2, reset)
		if _, err := q.Exec(ctx, "UPDATE pipeline.task_instances SET state = 'pending', attempts = 0, holder = NULL, lease_until = NULL, started_at = NULL, ended_at = NULL, output = NULL, error = '', log = log || $2 WHERE run_id = $1 AND task_id IN ("+ph+")",
			append([]any{run, marker}, args...)...); err != nil {
			return err
		}
		if len(queue) > 0 {
			ph, args := inList(2, queue)
			if _, err := q.Exec(ctx, "UPDATE pipeline.task_instances SET state = 'queued', available_at = $2 WHERE run_id = $1 AND task_id IN ("+ph+")",
				append([]any{run, now}, args...)...); err != nil {
				return err
			}
		}
		var done, failed int64
		if err := q.QueryRow(ctx, `SELECT count(*), coalesce(sum(CASE WHEN state IN ('failed', 'upstream_failed') THEN 1 ELSE 0 END), 0)
			FROM pipeline.task_instances WHERE run_id = $1 AND state IN ('success', 'failed', 'upstream_failed')`, run).Scan(&done, &failed); err != nil {
			return err
		}
		_, err := q.Exec(ctx, "UPDATE pipeline.runs SET state = 'running', ended_at = NULL, tasks_done = $2, tasks_failed = $3 WHERE id = $1", run, done, failed)
		return err
	})
	return err
}
