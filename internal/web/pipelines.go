package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
)

// Pipelines (docs/pipelines.md): each per-organization pipeline's recent
// runs as a grid of task × run coloured by state, task logs, and the data
// quality KPIs of the organization's suites over time.

// gridRuns is how many runs a pipeline's grid shows.
const gridRuns = 10

type gridCell struct {
	RunID uuid.UUID
	Task  string
	State string // "" when the run has no such task
	Try   int
}

type gridRow struct {
	Task, Group string
	Cells       []gridCell
}

type pipelineGrid struct {
	Info pipeline.Info
	Runs []store.PipelineRun
	Rows []gridRow
}

type qualityRow struct {
	Suite, Dataset string
	Latest         store.QualityRun
	// Trends are each KPI's values over the runs shown, oldest first.
	Trends []kpiTrend
	Runs   int
}

type kpiTrend struct {
	Name   string
	Latest string
	Spark  template.HTML
}

// pipelines answers GET /pipelines.
func (s *Site) pipelines(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	var grids []pipelineGrid
	if s.pipes != nil {
		for _, p := range s.pipes.Pipelines() {
			if p.Scope != pipeline.PerOrganization.String() {
				continue
			}
			runs, err := s.st.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: p.Name, OrgID: sess.org.ID, Limit: gridRuns})
			if err != nil {
				return err
			}
			slices.Reverse(runs) // oldest on the left
			ids := make([]uuid.UUID, len(runs))
			for i, run := range runs {
				ids[i] = run.ID
			}
			tis, err := s.st.PipelineTasks(ctx, ids...)
			if err != nil {
				return err
			}
			byKey := map[string]store.TaskInstance{}
			for _, t := range tis {
				byKey[t.RunID.String()+"/"+t.TaskID] = t
			}
			g := pipelineGrid{Info: p, Runs: runs}
			for _, t := range p.Tasks {
				row := gridRow{Task: t.ID, Group: t.Group}
				for _, run := range runs {
					ti, ok := byKey[run.ID.String()+"/"+t.ID]
					c := gridCell{RunID: run.ID, Task: t.ID}
					if ok {
						c.State, c.Try = ti.State, ti.Attempts
					}
					row.Cells = append(row.Cells, c)
				}
				g.Rows = append(g.Rows, row)
			}
			grids = append(grids, g)
		}
	}
	quality, err := s.qualityRows(r, sess)
	if err != nil {
		return err
	}
	s.render(w, http.StatusOK, "pipelines.html", map[string]any{
		"Layout": s.frame(sess, "Pipelines and data quality", "pipelines"), "Grids": grids, "Running": s.pipes != nil,
		"CanWrite": sess.may(store.ScopePipelinesWrite), "Notice": r.URL.Query().Get("notice"), "Quality": quality,
		"States": []string{store.TaskSuccess, store.TaskRunning, store.TaskQueued, store.TaskPending, store.TaskFailed, store.TaskUpstreamFailed},
	})
	return nil
}

// qualityRows are the organization's suites with their KPI trends over
// the latest runs.
func (s *Site) qualityRows(r *http.Request, sess *session) ([]qualityRow, error) {
	runs, err := s.st.QualityRuns(r.Context(), sess.org.ID, "", 1000)
	if err != nil {
		return nil, err
	}
	bySuite := map[string][]store.QualityRun{}
	var order []string
	for _, q := range runs {
		if _, ok := bySuite[q.Suite]; !ok {
			order = append(order, q.Suite)
		}
		if len(bySuite[q.Suite]) < 30 {
			bySuite[q.Suite] = append(bySuite[q.Suite], q)
		}
	}
	slices.Sort(order)
	var out []qualityRow
	for _, name := range order {
		rs := bySuite[name]
		slices.Reverse(rs)
		row := qualityRow{Suite: name, Dataset: rs[0].Dataset, Latest: rs[len(rs)-1], Runs: len(rs)}
		for _, k := range []struct {
			name string
			get  func(store.QualityKPIs) decimal.NullDecimal
		}{
			{"Completeness", func(k store.QualityKPIs) decimal.NullDecimal { return k.Completeness }},
			{"Validity", func(k store.QualityKPIs) decimal.NullDecimal { return k.Validity }},
			{"Uniqueness", func(k store.QualityKPIs) decimal.NullDecimal { return k.Uniqueness }},
			{"Timeliness", func(k store.QualityKPIs) decimal.NullDecimal { return k.Timeliness }},
			{"Consistency", func(k store.QualityKPIs) decimal.NullDecimal { return k.Consistency }},
			{"Accuracy", func(k store.QualityKPIs) decimal.NullDecimal { return k.Accuracy }},
		} {
			var vals []decimal.NullDecimal
			for _, q := range rs {
				vals = append(vals, k.get(q.KPIs))
			}
			t := kpiTrend{Name: k.name, Latest: "n/a"}
			if last := vals[len(vals)-1]; last.Valid {
				t.Latest = last.Decimal.Mul(decimal.NewFromInt(100)).StringFixed(1) + "%"
			}
			t.Spark = sparkline(k.name+" of "+name, vals)
			row.Trends = append(row.Trends, t)
		}
		out = append(out, row)
	}
	return out, nil
}

// sparkline draws shares (0 to 1) as a small labelled SVG line; runs
// without a value are gaps.
func sparkline(label string, vals []decimal.NullDecimal) template.HTML {
	const w, h = 90.0, 20.0
	var pts []string
	var desc []string
	n := len(vals)
	for i, v := range vals {
		if !v.Valid {
			continue
		}
		f, _ := v.Decimal.Float64()
		x := w / 2
		if n > 1 {
			x = float64(i) * w / float64(n-1)
		}
		y := h - 2 - f*(h-4)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		desc = append(desc, v.Decimal.Mul(decimal.NewFromInt(100)).StringFixed(1)+"%")
	}
	if len(pts) == 0 {
		return ""
	}
	title := template.HTMLEscapeString(fmt.Sprintf("%s over the last %d runs: %s", label, n, strings.Join(desc, ", ")))
	shape := fmt.Sprintf(`<polyline fill="none" stroke="#1b4332" stroke-width="1.5" points="%s"/>`, strings.Join(pts, " "))
	if len(pts) == 1 {
		x, y, _ := strings.Cut(pts[0], ",")
		shape = fmt.Sprintf(`<circle cx="%s" cy="%s" r="2.5" fill="#1b4332"/>`, x, y)
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s"><title>%s</title>%s</svg>`,
		w, h, w, h, title, title, shape))
}

// pipelineTask answers GET /pipelines/runs/{id}/tasks/{task}: one task
// instance's log and output.
func (s *Site) pipelineTask(w http.ResponseWriter, r *http.Request, sess *session) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.errorPage(w, r, sess, http.StatusNotFound, "No such run.")
		return nil
	}
	run, err := s.st.PipelineRunByID(r.Context(), id)
	if err != nil || run.OrgID != sess.org.ID {
		s.errorPage(w, r, sess, http.StatusNotFound, "No such run in this organization.")
		return nil
	}
	ti, err := s.st.PipelineTask(r.Context(), id, r.PathValue("task"))
	if err != nil {
		return err
	}
	s.render(w, http.StatusOK, "pipeline_task.html", map[string]any{
		"Layout": s.frame(sess, run.Pipeline+": "+ti.TaskID, "pipelines"), "Run": run, "T": ti,
		"CanWrite": sess.may(store.ScopePipelinesWrite) && s.pipes != nil,
	})
	return nil
}

// pipelineTrigger answers POST /pipelines/{name}/run: a manual run for
// the organization now.
func (s *Site) pipelineTrigger(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.pipes == nil {
		s.errorPage(w, r, sess, http.StatusServiceUnavailable, "Pipelines are not running in this process.")
		return nil
	}
	run, err := s.pipes.Trigger(r.Context(), r.PathValue("name"), sess.org.ID, time.Now().UTC(), nil)
	if err != nil {
		s.errorPage(w, r, sess, http.StatusConflict, err.Error())
		return nil
	}
	http.Redirect(w, r, "/pipelines?notice="+url.QueryEscape(fmt.Sprintf("Run of %s started (%s).", run.Pipeline, run.ID)), http.StatusSeeOther)
	return nil
}

// pipelineClear answers POST /pipelines/runs/{id}/clear: the run's failed
// tasks (or the form's task and what follows it) run again.
func (s *Site) pipelineClear(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.pipes == nil {
		s.errorPage(w, r, sess, http.StatusServiceUnavailable, "Pipelines are not running in this process.")
		return nil
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.errorPage(w, r, sess, http.StatusNotFound, "No such run.")
		return nil
	}
	run, err := s.st.PipelineRunByID(r.Context(), id)
	if err != nil || run.OrgID != sess.org.ID {
		s.errorPage(w, r, sess, http.StatusNotFound, "No such run in this organization.")
		return nil
	}
	task := r.PostFormValue("task")
	cleared, err := s.pipes.Clear(r.Context(), id, task, task != "")
	if err != nil {
		s.errorPage(w, r, sess, http.StatusConflict, err.Error())
		return nil
	}
	http.Redirect(w, r, "/pipelines?notice="+url.QueryEscape(fmt.Sprintf("Cleared %s of run %s: they run again.", strings.Join(cleared, ", "), id)), http.StatusSeeOther)
	return nil
}
