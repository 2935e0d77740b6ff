package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
)

// pipelineCommand is `greenlang pipeline …` (docs/pipelines.md).
func (c *cli) pipelineCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "List, run, backfill and inspect the scheduled pipelines",
		Long: "Pipelines are DAGs of tasks the server schedules (greenlang serve). These commands work on the same store: " +
			"a run created here is picked up by the server's workers, or by this command with --wait.",
	}
	cmd.AddCommand(c.pipelineList(), c.pipelineRun(), c.pipelineBackfill(), c.pipelineStatus(), c.pipelineLogs(), c.pipelineClear())
	return cmd
}

// pipelineEnv is an open store and an engine that has not started.
type pipelineEnv struct {
	ctx context.Context
	st  *store.Store
	e   *pipeline.Engine
}

func (c *cli) openPipelines(cmd *cobra.Command) (*pipelineEnv, error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	logger, err := c.logger(cfg)
	if err != nil {
		return nil, err
	}
	st, err := app.OpenStore(cmd.Context(), cfg, logger)
	if err != nil {
		return nil, err
	}
	e, err := app.OpenPipelines(cmd.Context(), cfg, st, logger, pipeline.Options{Workers: cfg.Pipeline.Workers, NoScheduler: true})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &pipelineEnv{ctx: cmd.Context(), st: st, e: e}, nil
}

// openPipelinesFor is openPipelines with --org resolved.
func (c *cli) openPipelinesFor(cmd *cobra.Command, org string) (*pipelineEnv, uuid.UUID, error) {
	p, err := c.openPipelines(cmd)
	if err != nil {
		return nil, uuid.Nil, err
	}
	id, err := p.resolveOrg(org)
	if err != nil {
		p.st.Close()
		return nil, uuid.Nil, err
	}
	return p, id, nil
}

// resolveOrg reads --org: an organization id or slug; empty is none.
func (p *pipelineEnv) resolveOrg(org string) (uuid.UUID, error) {
	if org == "" {
		return uuid.Nil, nil
	}
	if id, err := uuid.Parse(org); err == nil {
		return id, nil
	}
	id, err := p.st.OrganizationIDBySlug(p.ctx, org)
	if err != nil {
		return uuid.Nil, fmt.Errorf("--org %q: no organization with that id or slug (greenlang org list)", org)
	}
	return id, nil
}

func (c *cli) pipelineList() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the pipelines, their schedules and tasks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := c.openPipelines(cmd)
			if err != nil {
				return err
			}
			defer p.st.Close()
			ps := p.e.Pipelines()
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(ps)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PIPELINE\tSCHEDULE\tSCOPE\tTASKS\tNEXT")
			for _, i := range ps {
				next := "-"
				if i.NextRun != nil {
					next = i.NextRun.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", i.Name, orDash(i.Schedule), i.Scope, len(i.Tasks), next)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// parseDay reads a date (2026-12-01) or an RFC 3339 time, in UTC.
func parseDay(flag, v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usageErrorf("--%s %q: want a date (2026-12-01) or an RFC 3339 time", flag, v)
	}
	return t.UTC(), nil
}

func parseParams(kv []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range kv {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--param %q: want name=value", p)
		}
		out[k] = v
	}
	return out, nil
}

func (c *cli) pipelineRun() *cobra.Command {
	var org, date string
	var params []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "run PIPELINE",
		Short: "Trigger a run now (for a logical date, default now)",
		Long: "Creates a manual run. The server's workers run it; with --wait this command runs its tasks itself " +
			"(alongside any server) and waits for the run to end, exiting non-zero if it failed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			at := time.Now().UTC()
			if date != "" {
				var err error
				if at, err = parseDay("date", date); err != nil {
					return err
				}
			}
			kv, err := parseParams(params)
			if err != nil {
				return err
			}
			c.parsed = true
			p, orgID, err := c.openPipelinesFor(cmd, org)
			if err != nil {
				return err
			}
			defer p.st.Close()
			run, err := p.e.Trigger(p.ctx, args[0], orgID, at, kv)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "run %s of %s for %s created\n", run.ID, run.Pipeline, run.LogicalDate.Format(time.RFC3339))
			if !wait {
				return nil
			}
			return c.waitRuns(p, []uuid.UUID{run.ID})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization (id or slug) for a per-organization pipeline")
	fl.StringVar(&date, "date", "", "the logical date (2026-12-01 or RFC 3339; default now)")
	fl.StringArrayVar(&params, "param", nil, "a run parameter name=value (repeatable)")
	fl.BoolVar(&wait, "wait", false, "run the tasks in this process and wait for the run to end")
	return cmd
}

func (c *cli) pipelineBackfill() *cobra.Command {
	var org, from, to string
	var params []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "backfill PIPELINE --from DATE --to DATE",
		Short: "Create a run for every scheduled logical date in [from, to)",
		Long:  "Dates that already have a run are skipped (clear a run to re-run it). With --wait this command runs the tasks and waits for every run.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return usageErrorf("--from and --to are required")
			}
			f, err := parseDay("from", from)
			if err != nil {
				return err
			}
			t, err := parseDay("to", to)
			if err != nil {
				return err
			}
			kv, err := parseParams(params)
			if err != nil {
				return err
			}
			c.parsed = true
			p, orgID, err := c.openPipelinesFor(cmd, org)
			if err != nil {
				return err
			}
			defer p.st.Close()
			runs, skipped, err := p.e.Backfill(p.ctx, args[0], orgID, f, t, kv)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%d run(s) created, %d logical date(s) skipped (a run exists)\n", len(runs), skipped)
			if !wait || len(runs) == 0 {
				return nil
			}
			ids := make([]uuid.UUID, len(runs))
			for i, r := range runs {
				ids[i] = r.ID
			}
			return c.waitRuns(p, ids)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization (id or slug) for a per-organization pipeline")
	fl.StringVar(&from, "from", "", "first logical date (inclusive)")
	fl.StringVar(&to, "to", "", "end of the range (exclusive)")
	fl.StringArrayVar(&params, "param", nil, "a run parameter name=value (repeatable)")
	fl.BoolVar(&wait, "wait", false, "run the tasks in this process and wait for the runs to end")
	return cmd
}

// waitRuns runs the engine's workers in this process until every run has
// ended, printing each task as it finishes; it fails if a run failed.
func (c *cli) waitRuns(p *pipelineEnv, ids []uuid.UUID) error {
	ctx, stop := signal.NotifyContext(p.ctx, os.Interrupt)
	defer stop()
	if err := p.e.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = p.e.Stop(sctx)
	}()
	seen := map[string]bool{}
	failed := 0
	for _, id := range ids {
		for {
			r, err := p.st.PipelineRunByID(ctx, id)
			if err != nil {
				return err
			}
			tis, err := p.st.PipelineTasks(ctx, id)
			if err != nil {
				return err
			}
			for _, t := range tis {
				k := id.String() + t.TaskID + t.State
				if (t.State == store.TaskSuccess || t.State == store.TaskFailed || t.State == store.TaskUpstreamFailed) && !seen[k] {
					seen[k] = true
					msg := ""
					if t.Error != "" {
						msg = ": " + t.Error
					}
					fmt.Fprintf(c.stdout, "  %s %s (attempt %d)%s\n", t.TaskID, t.State, t.Attempts, msg)
				}
			}
			if r.State == store.RunSuccess || r.State == store.RunFailed {
				fmt.Fprintf(c.stdout, "run %s %s (%d/%d tasks, %d failed)\n", r.ID, r.State, r.TasksDone, r.TasksTotal, r.TasksFailed)
				if r.State == store.RunFailed {
					failed++
				}
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("interrupted; the run goes on with the server's workers (greenlang pipeline status %s)", id)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d run(s) failed: see greenlang pipeline logs RUN TASK", failed)
	}
	return nil
}

func (c *cli) pipelineStatus() *cobra.Command {
	var org string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [PIPELINE | RUN_ID]",
		Short: "Recent runs (of a pipeline), or one run's task instances",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.parsed = true
			p, err := c.openPipelines(cmd)
			if err != nil {
				return err
			}
			defer p.st.Close()
			if len(args) == 1 {
				if id, err := uuid.Parse(args[0]); err == nil {
					return c.runStatus(p, id, asJSON)
				}
				if _, ok := p.e.Pipeline(args[0]); !ok {
					return fmt.Errorf("%q is neither a run id nor a pipeline (greenlang pipeline list)", args[0])
				}
			}
			f := store.PipelineRunFilter{Limit: limit}
			if len(args) == 1 {
				f.Pipeline = args[0]
			}
			if f.OrgID, err = p.resolveOrg(org); err != nil {
				return err
			}
			runs, err := p.st.PipelineRuns(p.ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(runs)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tPIPELINE\tORGANIZATION\tLOGICAL DATE\tTRIGGER\tSTATE\tTASKS")
			for _, r := range runs {
				orgS := "-"
				if r.OrgID != uuid.Nil {
					orgS = r.OrgID.String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d (%d failed)\n", r.ID, r.Pipeline, orgS, r.LogicalDate.Format(time.RFC3339), r.Trigger, r.State, r.TasksDone, r.TasksTotal, r.TasksFailed)
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "only runs for this organization (id or slug)")
	fl.IntVar(&limit, "limit", 20, "how many runs")
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (c *cli) runStatus(p *pipelineEnv, id uuid.UUID, asJSON bool) error {
	r, err := p.st.PipelineRunByID(p.ctx, id)
	if err != nil {
		return err
	}
	tis, err := p.st.PipelineTasks(p.ctx, id)
	if err != nil {
		return err
	}
	order := p.e.Order(r.Pipeline)
	slices.SortStableFunc(tis, func(a, b store.TaskInstance) int {
		return slices.Index(order, a.TaskID) - slices.Index(order, b.TaskID)
	})
	if asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]any{"run": r, "tasks": tis})
	}
	fmt.Fprintf(c.stdout, "run %s of %s for %s: %s (%s)\n", r.ID, r.Pipeline, r.LogicalDate.Format(time.RFC3339), r.State, r.Trigger)
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tSTATE\tATTEMPTS\tDURATION\tERROR")
	for _, t := range tis {
		dur := "-"
		if t.StartedAt != nil && t.EndedAt != nil {
			dur = t.EndedAt.Sub(*t.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\n", t.TaskID, t.State, t.Attempts, t.MaxAttempts, dur, t.Error)
	}
	return tw.Flush()
}

func (c *cli) pipelineLogs() *cobra.Command {
	return &cobra.Command{
		Use:   "logs RUN_ID TASK",
		Short: "Print a task instance's log (every attempt) and output",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("RUN_ID %q is not a run id", args[0])
			}
			c.parsed = true
			st, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			t, err := st.PipelineTask(cmd.Context(), id, args[1])
			if err != nil {
				return err
			}
			fmt.Fprint(c.stdout, t.Log)
			if len(t.Output) > 0 {
				fmt.Fprintf(c.stdout, "output: %s\n", t.Output)
			}
			return nil
		},
	}
}

func (c *cli) pipelineClear() *cobra.Command {
	var task string
	var downstream bool
	cmd := &cobra.Command{
		Use:   "clear RUN_ID",
		Short: "Run a run's failed tasks again (or one task, and what follows it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("RUN_ID %q is not a run id", args[0])
			}
			c.parsed = true
			p, err := c.openPipelines(cmd)
			if err != nil {
				return err
			}
			defer p.st.Close()
			cleared, err := p.e.Clear(p.ctx, id, task, downstream)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "cleared %s: the server's workers run them again\n", strings.Join(cleared, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&task, "task", "", "the task to clear (default: every failed task)")
	cmd.Flags().BoolVar(&downstream, "downstream", false, "also clear every task after --task")
	return cmd
}
