package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
)

// Pipelines (docs/pipelines.md). Through the API an organization sees and
// starts its own runs of the per-organization pipelines; platform-wide
// pipelines (the backup, the master orchestration) are listed but run
// from the CLI or the schedule only.

var errNoPipelines = &requestError{status: http.StatusServiceUnavailable, detail: "pipelines are disabled in this process (pipeline.disabled)"}

// pipelinesList answers GET /api/v1/pipelines.
func (a *api) pipelinesList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.pipelines == nil {
		return errNoPipelines
	}
	writeJSON(w, http.StatusOK, listResponse[pipeline.Info]{Items: a.pipelines.Pipelines()})
	return nil
}

func (a *api) pipelineNamed(r *http.Request) (pipeline.Info, error) {
	if a.pipelines == nil {
		return pipeline.Info{}, errNoPipelines
	}
	p, ok := a.pipelines.Pipeline(r.PathValue("name"))
	if !ok {
		return p, &requestError{typ: ProblemNotFound, status: http.StatusNotFound, detail: "no pipeline " + r.PathValue("name")}
	}
	return p, nil
}

// pipelineRuns answers GET /api/v1/pipelines/{name}/runs?limit=&before=:
// the organization's runs of the pipeline, newest logical date first.
func (a *api) pipelineRuns(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	p, err := a.pipelineNamed(r)
	if err != nil {
		return err
	}
	f := store.PipelineRunFilter{Pipeline: p.Name, OrgID: tok.OrgID}
	if f.Limit, err = queryLimit(r, 50, 1000); err != nil {
		return err
	}
	if s := r.URL.Query().Get("before"); s != "" {
		if f.Before, err = parseInstant("before", s); err != nil {
			return err
		}
	}
	runs, err := a.st.PipelineRuns(r.Context(), f)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []store.PipelineRun{}
	}
	writeJSON(w, http.StatusOK, listResponse[store.PipelineRun]{Items: runs})
	return nil
}

type pipelineRunRequest struct {
	// LogicalDate is the run's logical date (RFC 3339 or a date); default now.
	LogicalDate string            `json:"logical_date,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
}

type pipelineBackfillRequest struct {
	From   string            `json:"from"`
	To     string            `json:"to"`
	Params map[string]string `json:"params,omitempty"`
}

type pipelineBackfilled struct {
	Created []store.PipelineRun `json:"created"`
	Skipped int                 `json:"skipped"`
}

func (a *api) orgPipeline(r *http.Request) (pipeline.Info, error) {
	p, err := a.pipelineNamed(r)
	if err != nil {
		return p, err
	}
	if p.Scope != pipeline.PerOrganization.String() {
		return p, invalid("name", "pipeline %s is platform-wide: it runs on its schedule or from the CLI (greenlang pipeline run)", p.Name)
	}
	return p, nil
}

// pipelineTrigger answers POST /api/v1/pipelines/{name}/runs: a manual
// run for the organization (409 when its logical date has a run).
func (a *api) pipelineTrigger(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	p, err := a.orgPipeline(r)
	if err != nil {
		return err
	}
	var req pipelineRunRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	at := time.Now().UTC()
	if req.LogicalDate != "" {
		if at, err = parseInstant("logical_date", req.LogicalDate); err != nil {
			return err
		}
	}
	run, err := a.pipelines.Trigger(r.Context(), p.Name, tok.OrgID, at, req.Params)
	if err != nil {
		return pipelineErr(err)
	}
	writeJSON(w, http.StatusCreated, run)
	return nil
}

// pipelineErr maps the engine's refusals to problems.
func pipelineErr(err error) error {
	var se *store.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, pipeline.ErrUnknownPipeline):
		return &requestError{typ: ProblemNotFound, status: http.StatusNotFound, detail: err.Error()}
	default:
		// The engine's own refusals: a date with a run, an unknown
		// parameter, a reversed range.
		return &requestError{typ: ProblemConflict, status: http.StatusConflict, detail: err.Error()}
	}
}

// pipelineBackfill answers POST /api/v1/pipelines/{name}/backfill.
func (a *api) pipelineBackfill(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	p, err := a.orgPipeline(r)
	if err != nil {
		return err
	}
	var req pipelineBackfillRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	from, err := parseInstant("from", req.From)
	if err != nil {
		return err
	}
	to, err := parseInstant("to", req.To)
	if err != nil {
		return err
	}
	if !from.Before(to) {
		return badRequest("to", "to %s is not after from %s", req.To, req.From)
	}
	runs, skipped, err := a.pipelines.Backfill(r.Context(), p.Name, tok.OrgID, from, to, req.Params)
	if err != nil {
		return pipelineErr(err)
	}
	if runs == nil {
		runs = []store.PipelineRun{}
	}
	writeJSON(w, http.StatusCreated, pipelineBackfilled{Created: runs, Skipped: skipped})
	return nil
}

type pipelineRunDetail struct {
	Run   store.PipelineRun    `json:"run"`
	Tasks []store.TaskInstance `json:"tasks"`
}

// orgRun reads run {id}, which must be the organization's.
func (a *api) orgRun(r *http.Request, tok *store.APIToken) (store.PipelineRun, error) {
	id, err := pathID(r)
	if err != nil {
		return store.PipelineRun{}, err
	}
	run, err := a.st.PipelineRunByID(r.Context(), id)
	if err == nil && run.OrgID != tok.OrgID {
		err = &requestError{typ: ProblemNotFound, status: http.StatusNotFound, detail: "no pipeline run " + id.String() + " in this organization"}
	}
	return run, err
}

// pipelineRunShow answers GET /api/v1/pipeline-runs/{id}: the run and its
// task instances in the pipeline's order (without logs).
func (a *api) pipelineRunShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	run, err := a.orgRun(r, tok)
	if err != nil {
		return err
	}
	tis, err := a.st.PipelineTasks(r.Context(), run.ID)
	if err != nil {
		return err
	}
	if a.pipelines != nil {
		order := a.pipelines.Order(run.Pipeline)
		slices.SortStableFunc(tis, func(x, y store.TaskInstance) int {
			return slices.Index(order, x.TaskID) - slices.Index(order, y.TaskID)
		})
	}
	writeJSON(w, http.StatusOK, pipelineRunDetail{Run: run, Tasks: tis})
	return nil
}

// pipelineTaskShow answers GET /api/v1/pipeline-runs/{id}/tasks/{task}: a
// task instance with its log (every attempt) and output.
func (a *api) pipelineTaskShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	run, err := a.orgRun(r, tok)
	if err != nil {
		return err
	}
	ti, err := a.st.PipelineTask(r.Context(), run.ID, r.PathValue("task"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ti)
	return nil
}

type pipelineClearRequest struct {
	// Task to run again; empty clears every failed task.
	Task string `json:"task,omitempty"`
	// Downstream also clears every task after Task.
	Downstream bool `json:"downstream,omitempty"`
}

type pipelineCleared struct {
	RunID   uuid.UUID `json:"run_id"`
	Cleared []string  `json:"cleared"`
}

// pipelineRunClear answers POST /api/v1/pipeline-runs/{id}/clear.
func (a *api) pipelineRunClear(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.pipelines == nil {
		return errNoPipelines
	}
	run, err := a.orgRun(r, tok)
	if err != nil {
		return err
	}
	var req pipelineClearRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	cleared, err := a.pipelines.Clear(r.Context(), run.ID, req.Task, req.Downstream)
	if err != nil {
		return pipelineErr(err)
	}
	writeJSON(w, http.StatusOK, pipelineCleared{RunID: run.ID, Cleared: cleared})
	return nil
}
