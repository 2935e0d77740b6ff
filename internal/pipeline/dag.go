// Package pipeline is GreenLang's batch scheduler (docs/pipelines.md): the
// seed's Airflow DAGs as Go. A Pipeline is a DAG of Tasks with a cron
// schedule; the Engine turns schedules, manual triggers and backfills into
// runs persisted in the store, and runs their task instances on workers
// that claim them from the store's durable queue. With several processes on
// one PostgreSQL store, exactly one of them schedules (an advisory-lock
// lease) and every one of them works.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"
)

// Scope says whom a pipeline's runs are for.
type Scope int

const (
	// PerOrganization pipelines run once per organization and logical date.
	PerOrganization Scope = iota
	// Platform pipelines run once per logical date for the whole platform.
	Platform
)

func (s Scope) String() string {
	if s == Platform {
		return "platform"
	}
	return "organization"
}

// Pipeline is a DAG of tasks declared in Go.
type Pipeline struct {
	// Name is lowercase with underscores: emissions_data_pipeline.
	Name        string
	Description string
	// Schedule is a cron expression: five fields, or a shortcut (@hourly,
	// @daily, @weekly, @monthly, @yearly, @every 15m), optionally prefixed
	// by CRON_TZ=<zone>. Empty: runs only when triggered or backfilled.
	Schedule string
	Scope    Scope
	Tasks    []Task
	// Params are the defaults of the run parameters a trigger may set.
	Params map[string]string
}

// Task is one step of a pipeline.
type Task struct {
	// ID is unique within its pipeline; Group, when set, is the task group
	// it is shown under (extract, validate, …).
	ID    string
	Group string
	// Deps are the IDs of the tasks that must succeed first.
	Deps []string
	// Retries is how many more attempts a failed attempt gets; the n-th
	// retry waits RetryDelay×2^(n-1), capped at MaxRetryDelay (defaults 10 s
	// and 10 min).
	Retries       int
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Timeout bounds one attempt (default 1 hour).
	Timeout time.Duration
	// Run does the work. It must be idempotent per logical date: a re-run
	// replaces what an earlier run of the same date wrote. Its result, if
	// not nil, is stored as JSON as the task instance's output.
	Run func(ctx context.Context, tc *TaskContext) (any, error)
}

// TaskContext is what a task attempt knows about its run.
type TaskContext struct {
	RunID       uuid.UUID
	Pipeline    string
	OrgID       uuid.UUID // uuid.Nil for platform pipelines
	LogicalDate time.Time
	IntervalEnd time.Time
	Params      map[string]string
	Attempt     int
	// Log writes to the task instance's log (and the process log).
	Log *slog.Logger

	output func(task string, v any) error
}

// Output decodes the output of an upstream task of the same run into v.
func (tc *TaskContext) Output(task string, v any) error {
	if tc.output == nil {
		return errors.New("pipeline: no task outputs in this context")
	}
	return tc.output(task, v)
}

// Param returns a run parameter.
func (tc *TaskContext) Param(name string) string { return tc.Params[name] }

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	taskRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]*$`)
)

// dag is a validated pipeline with what the engine needs precomputed.
type dag struct {
	Pipeline
	sched      cron.Schedule // nil: no schedule
	byID       map[string]*Task
	down       map[string][]string // direct downstream tasks
	order      []string            // a topological order
	descendant map[string][]string
}

// parser reads 5-field cron expressions and @ shortcuts, with CRON_TZ.
var cronFields = cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor

// ParseSchedule parses a cron expression in loc (when it does not name its
// own zone with CRON_TZ=).
func ParseSchedule(expr string, loc *time.Location) (cron.Schedule, error) {
	expr = strings.TrimSpace(expr)
	if loc == nil {
		loc = time.UTC
	}
	// Without a zone the parser would use the process's local zone.
	if !strings.HasPrefix(expr, "CRON_TZ=") && !strings.HasPrefix(expr, "TZ=") {
		expr = "CRON_TZ=" + loc.String() + " " + expr
	}
	return cron.NewParser(cronFields).Parse(expr)
}

// compile validates p and precomputes its graph. Errors name the pipeline
// and task and say exactly what is wrong.
func compile(p Pipeline, loc *time.Location) (*dag, error) {
	if !nameRE.MatchString(p.Name) {
		return nil, fmt.Errorf("pipeline %q: the name must be lowercase letters, digits and underscores, starting with a letter", p.Name)
	}
	if len(p.Tasks) == 0 {
		return nil, fmt.Errorf("pipeline %s: no tasks", p.Name)
	}
	d := &dag{Pipeline: p, byID: map[string]*Task{}, down: map[string][]string{}, descendant: map[string][]string{}}
	if p.Schedule != "" {
		s, err := ParseSchedule(p.Schedule, loc)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: schedule %q: %v", p.Name, p.Schedule, err)
		}
		d.sched = s
	}
	d.Tasks = slices.Clone(p.Tasks)
	for i := range d.Tasks {
		t := &d.Tasks[i]
		if !taskRE.MatchString(t.ID) {
			return nil, fmt.Errorf("pipeline %s: task %d: id %q must be lowercase letters, digits, '_', '-' or '.', starting with a letter", p.Name, i+1, t.ID)
		}
		if _, dup := d.byID[t.ID]; dup {
			return nil, fmt.Errorf("pipeline %s: task %q is declared twice", p.Name, t.ID)
		}
		if t.Run == nil {
			return nil, fmt.Errorf("pipeline %s: task %s has no Run function", p.Name, t.ID)
		}
		if t.Retries < 0 || t.Timeout < 0 || t.RetryDelay < 0 || t.MaxRetryDelay < 0 {
			return nil, fmt.Errorf("pipeline %s: task %s: retries, delays and timeout must not be negative", p.Name, t.ID)
		}
		if t.Timeout == 0 {
			t.Timeout = time.Hour
		}
		if t.RetryDelay == 0 {
			t.RetryDelay = 10 * time.Second
		}
		if t.MaxRetryDelay == 0 {
			t.MaxRetryDelay = 10 * time.Minute
		}
		d.byID[t.ID] = t
	}
	for _, t := range d.Tasks {
		seen := map[string]bool{}
		for _, dep := range t.Deps {
			if _, ok := d.byID[dep]; !ok {
				return nil, fmt.Errorf("pipeline %s: task %s depends on %q, which is not a task of this pipeline", p.Name, t.ID, dep)
			}
			if dep == t.ID {
				return nil, fmt.Errorf("pipeline %s: task %s depends on itself", p.Name, t.ID)
			}
			if seen[dep] {
				return nil, fmt.Errorf("pipeline %s: task %s lists dependency %s twice", p.Name, t.ID, dep)
			}
			seen[dep] = true
			d.down[dep] = append(d.down[dep], t.ID)
		}
	}
	if cycle := d.findCycle(); cycle != nil {
		return nil, fmt.Errorf("pipeline %s: tasks form a cycle: %s", p.Name, strings.Join(cycle, " -> "))
	}
	for _, t := range d.Tasks {
		d.descendant[t.ID] = d.descendantsOf(t.ID)
	}
	return d, nil
}

// findCycle returns the tasks of a dependency cycle (first repeated at the
// end), or nil, and sets d.order to a topological order.
func (d *dag) findCycle() []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var cycle []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		for _, dep := range d.byID[id].Deps {
			switch color[dep] {
			case grey:
				i := slices.Index(stack, dep)
				cycle = append(slices.Clone(stack[i:]), dep)
				slices.Reverse(cycle) // read as "runs before"
				return true
			case white:
				if visit(dep) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		d.order = append(d.order, id)
		return false
	}
	for _, t := range d.Tasks {
		if color[t.ID] == white && visit(t.ID) {
			return cycle
		}
	}
	return nil
}

func (d *dag) descendantsOf(id string) []string {
	seen := map[string]bool{}
	var out []string
	queue := slices.Clone(d.down[id])
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		if seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
		queue = append(queue, d.down[t]...)
	}
	slices.Sort(out)
	return out
}

// next returns each direct downstream task of id with its dependencies.
func (d *dag) next(id string) []taskDeps {
	out := make([]taskDeps, 0, len(d.down[id]))
	for _, n := range d.down[id] {
		out = append(out, taskDeps{ID: n, Deps: d.byID[n].Deps})
	}
	return out
}

type taskDeps struct {
	ID   string
	Deps []string
}

// backoff is the wait before attempt+1 after attempt failed.
func (t *Task) backoff(attempt int) time.Duration {
	d := t.RetryDelay
	for i := 1; i < attempt && d < t.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, t.MaxRetryDelay)
}

// interval returns the data interval a scheduled run starting at start
// covers: [start, next fire time).
func (d *dag) interval(start time.Time) (time.Time, time.Time) {
	if d.sched == nil {
		return start, start
	}
	return start, d.sched.Next(start)
}

// paramsJSON merges the pipeline's default parameters with given ones;
// unknown names are refused.
func (d *dag) params(given map[string]string) (map[string]string, []byte, error) {
	out := map[string]string{}
	for k, v := range d.Params {
		out[k] = v
	}
	for k, v := range given {
		if _, ok := d.Params[k]; !ok {
			known := slices.Sorted(maps.Keys(d.Params))
			return nil, nil, fmt.Errorf("pipeline %s has no parameter %q (it has: %s)", d.Name, k, strings.Join(known, ", "))
		}
		out[k] = v
	}
	b, err := json.Marshal(out)
	return out, b, err
}
