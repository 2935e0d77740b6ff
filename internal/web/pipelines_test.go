package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/quality"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/web"
)

// TestPipelinesPage shows the grid (task × run, state in words and
// colour), a task's log, runs a pipeline from the page, clears a failed
// run, shows the quality KPIs, and keeps the buttons from roles that may
// not use them.
func TestPipelinesPage(t *testing.T) {
	processortest.Engines(t, "webpipe", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		var fail atomic.Bool
		fail.Store(true)
		var eng *pipeline.Engine
		e := newEnvWith(t, open, func(o *web.Options, _ string) {
			var err error
			eng, err = pipeline.New(o.Store, []pipeline.Pipeline{{Name: "nightly", Schedule: "@daily", Description: "Nightly load.", Tasks: []pipeline.Task{
				{ID: "extract", Group: "extract", Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
					tc.Log.Info("read 42 records")
					return map[string]int{"records": 42}, nil
				}},
				{ID: "gate", Group: "validate", Deps: []string{"extract"}, Run: func(context.Context, *pipeline.TaskContext) (any, error) {
					if fail.Load() {
						return nil, errors.New("2 rows with a negative quantity")
					}
					return nil, nil
				}},
			}}}, pipeline.Options{Poll: 20 * time.Millisecond, NoScheduler: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = eng.Stop(context.Background()) })
			o.Pipelines = eng
		})
		e.user("ds@example.com", store.RoleDataSteward, "steward passphrase 1")
		e.user("ana@example.com", store.RoleAnalyst, "correct horse battery")
		e.user("view@example.com", store.RoleViewer, "viewer passphrase 11")
		suites, err := quality.Builtin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := quality.Run(ctx, e.st, e.org.ID, suites[0], time.Now()); err != nil {
			t.Fatal(err)
		}

		b := e.browser()
		csrf := csrfOf(t, b.login("acme", "ds@example.com", "steward passphrase 1"))
		p := b.get("/pipelines")
		if p.status != 200 || !strings.Contains(p.body, "nightly") || !strings.Contains(p.body, "No runs yet") || !strings.Contains(p.body, suites[0].Name) {
			t.Fatalf("pipelines page: %d %.2000s", p.status, p.body)
		}
		if r := b.post("/pipelines/nightly/run", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("run now: %d %.500s", r.status, r.body)
		}
		var body string
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			body = b.get("/pipelines").body
			if strings.Contains(body, `<a class="st st-failed"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no failed cell: %.3000s", body)
			}
		}
		if !strings.Contains(body, `<a class="st st-success" href="/pipelines/runs/`) || !strings.Contains(body, "Clear failed") {
			t.Fatalf("grid: %.3000s", body)
		}
		runs, err := e.st.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: "nightly", OrgID: e.org.ID})
		if err != nil || len(runs) != 1 {
			t.Fatal(runs, err)
		}
		run := runs[0].ID.String()
		if p := b.get("/pipelines/runs/" + run + "/tasks/extract"); p.status != 200 || !strings.Contains(p.body, "read 42 records") || !strings.Contains(p.body, `&#34;records&#34;:`) {
			t.Fatalf("task page: %d %.2000s", p.status, p.body)
		}
		if p := b.get("/pipelines/runs/" + run + "/tasks/gate"); !strings.Contains(p.body, "2 rows with a negative quantity") {
			t.Fatalf("failed task page: %.2000s", p.body)
		}
		fail.Store(false)
		if r := b.post("/pipelines/runs/"+run+"/clear", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("clear: %d %.500s", r.status, r.body)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			r, err := e.st.PipelineRunByID(ctx, runs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.State == store.RunSuccess {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("run after clear: %+v", r)
			}
		}

		// An analyst reads the page without buttons and cannot post; a
		// viewer does not see pipelines at all.
		a := e.browser()
		acsrf := csrfOf(t, a.login("acme", "ana@example.com", "correct horse battery"))
		if p := a.get("/pipelines"); p.status != 200 || strings.Contains(p.body, "Run now") {
			t.Fatalf("analyst's page: %d", p.status)
		}
		if r := a.post("/pipelines/nightly/run", url.Values{"csrf": {acsrf}}); r.status != http.StatusForbidden {
			t.Fatalf("analyst's run: %d", r.status)
		}
		v := e.browser()
		if p := v.login("acme", "view@example.com", "viewer passphrase 11"); strings.Contains(p.body, `href="/pipelines"`) {
			t.Fatal("a viewer's menu shows pipelines")
		}
		if p := v.get("/pipelines"); p.status != http.StatusForbidden {
			t.Fatalf("viewer's page: %d", p.status)
		}
	})
}
