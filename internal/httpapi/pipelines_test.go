package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// TestPipelineAPI triggers, backfills, inspects and clears runs through
// the API on both engines, with the engine's workers running the tasks,
// and checks that an organization sees only its own runs.
func TestPipelineAPI(t *testing.T) {
	processortest.Engines(t, "httpapi", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		var fail atomic.Bool
		fail.Store(true)
		ps := []pipeline.Pipeline{
			{Name: "daily_totals", Schedule: "@daily", Params: map[string]string{"note": ""}, Tasks: []pipeline.Task{
				{ID: "extract", Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
					tc.Log.Info("extracting", "note", tc.Param("note"))
					return map[string]string{"org": tc.OrgID.String()}, nil
				}},
				{ID: "gate", Deps: []string{"extract"}, Run: func(context.Context, *pipeline.TaskContext) (any, error) {
					if fail.Load() {
						return nil, errors.New("quality gate failed: 2 rows with a negative quantity")
					}
					return nil, nil
				}},
				{ID: "load", Deps: []string{"gate"}, Run: func(context.Context, *pipeline.TaskContext) (any, error) { return nil, nil }},
			}},
			{Name: "backup", Scope: pipeline.Platform, Tasks: []pipeline.Task{{ID: "dump", Run: func(context.Context, *pipeline.TaskContext) (any, error) { return nil, nil }}}},
		}
		eng, err := pipeline.New(e.st, ps, pipeline.Options{Poll: 20 * time.Millisecond, NoScheduler: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = eng.Stop(context.Background()) })
		srv := httptest.NewServer(httpapi.NewHandler(httpapi.HandlerOptions{Store: e.st, RateLimit: testLimits, Pipelines: eng}))
		t.Cleanup(srv.Close)
		e.url = srv.URL

		all, reader, other := e.token(e.orgA, store.ScopeAll), e.token(e.orgA, store.ScopePipelinesRead), e.token(e.orgB, store.ScopeAll)
		var pl list[pipeline.Info]
		e.do("GET", "/api/v1/pipelines", reader, nil).must(t, 200, &pl)
		if len(pl.Items) != 2 || pl.Items[0].Name != "backup" || len(pl.Items[1].Tasks) != 3 {
			t.Fatalf("pipelines: %+v", pl.Items)
		}
		if r := e.do("POST", "/api/v1/pipelines/daily_totals/runs", reader, map[string]any{}); r.status != http.StatusForbidden {
			t.Fatalf("trigger with pipelines:read: %d", r.status)
		}
		e.do("POST", "/api/v1/pipelines/backup/runs", all, map[string]any{}).wantProblem(t, 422, httpapi.ProblemValidation, "name")
		e.do("POST", "/api/v1/pipelines/nope/runs", all, map[string]any{}).wantProblem(t, 404, httpapi.ProblemNotFound, "")
		e.do("POST", "/api/v1/pipelines/daily_totals/runs", all, map[string]any{"logical_date": "yesterday"}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "logical_date")

		var run store.PipelineRun
		e.do("POST", "/api/v1/pipelines/daily_totals/runs", all, map[string]any{"logical_date": "2026-11-30", "params": map[string]string{"note": "api"}}).must(t, 201, &run)
		if run.OrgID != e.orgA || run.Trigger != store.TriggerManual {
			t.Fatalf("run: %+v", run)
		}
		e.do("POST", "/api/v1/pipelines/daily_totals/runs", all, map[string]any{"logical_date": "2026-11-30"}).wantProblem(t, 409, httpapi.ProblemConflict, "")

		var detail struct {
			Run   store.PipelineRun    `json:"run"`
			Tasks []store.TaskInstance `json:"tasks"`
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			e.do("GET", "/api/v1/pipeline-runs/"+run.ID.String(), reader, nil).must(t, 200, &detail)
			if detail.Run.State == store.RunFailed || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if detail.Run.State != store.RunFailed || len(detail.Tasks) != 3 || detail.Tasks[0].TaskID != "extract" ||
			detail.Tasks[1].State != store.TaskFailed || detail.Tasks[2].State != store.TaskUpstreamFailed {
			t.Fatalf("failed run: %+v", detail)
		}
		var ti store.TaskInstance
		e.do("GET", "/api/v1/pipeline-runs/"+run.ID.String()+"/tasks/extract", reader, nil).must(t, 200, &ti)
		if !strings.Contains(ti.Log, "extracting note=api") || !strings.Contains(string(ti.Output), e.orgA.String()) {
			t.Fatalf("extract: %+v", ti)
		}
		// Another organization sees neither the run nor its tasks.
		e.do("GET", "/api/v1/pipeline-runs/"+run.ID.String(), other, nil).wantProblem(t, 404, httpapi.ProblemNotFound, "")
		var runs list[store.PipelineRun]
		e.do("GET", "/api/v1/pipelines/daily_totals/runs", other, nil).must(t, 200, &runs)
		if len(runs.Items) != 0 {
			t.Fatalf("org B sees %d runs", len(runs.Items))
		}

		fail.Store(false)
		var cleared struct {
			RunID   uuid.UUID `json:"run_id"`
			Cleared []string  `json:"cleared"`
		}
		e.do("POST", "/api/v1/pipeline-runs/"+run.ID.String()+"/clear", all, map[string]any{}).must(t, 200, &cleared)
		if strings.Join(cleared.Cleared, ",") != "gate,load" {
			t.Fatalf("cleared %v", cleared.Cleared)
		}
		deadline = time.Now().Add(20 * time.Second)
		for {
			e.do("GET", "/api/v1/pipeline-runs/"+run.ID.String(), reader, nil).must(t, 200, &detail)
			if detail.Run.State == store.RunSuccess || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if detail.Run.State != store.RunSuccess {
			t.Fatalf("after clear: %+v", detail)
		}

		var bf struct {
			Created []store.PipelineRun `json:"created"`
			Skipped int                 `json:"skipped"`
		}
		e.do("POST", "/api/v1/pipelines/daily_totals/backfill", all, map[string]any{"from": "2026-11-28", "to": "2026-12-01"}).must(t, 201, &bf)
		if len(bf.Created) != 2 || bf.Skipped != 1 {
			t.Fatalf("backfill: created %d skipped %d, want 2 and 1 (the 30th has a run)", len(bf.Created), bf.Skipped)
		}
		e.do("POST", "/api/v1/pipelines/daily_totals/backfill", all, map[string]any{"from": "2026-12-01", "to": "2026-11-28"}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "to")
		e.do("GET", "/api/v1/pipelines/daily_totals/runs?limit=2", reader, nil).must(t, 200, &runs)
		if len(runs.Items) != 2 || !runs.Items[0].LogicalDate.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("runs: %+v", runs.Items)
		}
	})
}
