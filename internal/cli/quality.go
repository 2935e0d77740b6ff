package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/quality"
	"github.com/greenlang/greenlang/internal/store"
)

// qualityCommand runs data-quality expectation suites (docs/quality.md):
// `greenlang quality list`, `quality run SUITE --org ID` and
// `quality history SUITE --org ID`.
func (c *cli) qualityCommand() *cobra.Command {
	return groupCommand("quality", "Data-quality expectation suites: list, run against an organization's data, KPI history",
		c.qualityListCommand(), c.qualityRunCommand(), c.qualityHistoryCommand())
}

// suites returns the shipped suites, with those of dir (when given)
// added and replacing shipped ones of the same name.
func suites(dir string) ([]quality.Suite, error) {
	out, err := quality.Builtin()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return out, nil
	}
	more, err := quality.Load(dir)
	if err != nil {
		return nil, err
	}
	byName := map[string]int{}
	for i, s := range out {
		byName[s.Name] = i
	}
	for _, s := range more {
		if i, ok := byName[s.Name]; ok {
			out[i] = s
		} else {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func findSuite(dir, name string) (quality.Suite, error) {
	all, err := suites(dir)
	if err != nil {
		return quality.Suite{}, fmt.Errorf("quality: %w", err)
	}
	var names []string
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return quality.Suite{}, usageErrorf("no suite %q (known: %s; greenlang quality list)", name, strings.Join(names, ", "))
}

const dirUsage = "also read the suites of this directory (*.yaml); one named like a shipped suite replaces it"

func (c *cli) qualityListCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "list [--dir DIR]",
		Short: "List the expectation suites: name, dataset, expectations, source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := suites(dir)
			if err != nil {
				return fmt.Errorf("quality list: %w", err)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SUITE\tDATASET\tEXPECTATIONS\tSOURCE\tDESCRIPTION")
			for _, s := range all {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", s.Name, s.Dataset, len(s.Expectations), s.Source, s.Description)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", dirUsage)
	return cmd
}

func (c *cli) qualityRunCommand() *cobra.Command {
	var org, dir, format string
	cmd := &cobra.Command{
		Use:   "run SUITE --org ID [--dir DIR] [--format table|json]",
		Short: "Run a suite against an organization's data, store the result and print each expectation's outcome",
		Long: "Run an expectation suite against the organization's rows of its dataset, store the run with its\n" +
			"data-quality KPIs (see `greenlang quality history`) and print every expectation's outcome with\n" +
			"samples of failing rows. The exit code is 1 when an expectation of severity fail is not met;\n" +
			"unmet expectations of severity warn are only reported.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			s, err := findSuite(dir, args[0])
			if err != nil {
				return err
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("quality run: %w", err)
			}
			defer st.Close()
			res, err := quality.Run(ctx, st, o.ID, s, time.Now())
			if err != nil {
				return fmt.Errorf("quality run: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else if err := printRun(c.stdout, res); err != nil {
				return err
			}
			return res.Err()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&dir, "dir", "", dirUsage)
	fl.StringVar(&format, "format", "table", "table or json")
	return cmd
}

// samplesShown is how many failing rows the table shows per expectation;
// --format json has them all.
const samplesShown = 3

func printRun(out io.Writer, res quality.Result) error {
	verdict := "PASSED"
	if !res.Passed {
		verdict = "FAILED"
	}
	fmt.Fprintf(out, "suite %s on %s: %s (%d rows; %d of %d expectations failed, %d warnings)\n",
		res.Suite, res.Dataset, verdict, res.Rows, res.Failed, res.Expectations, res.Warned)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "#\tRESULT\tSEVERITY\tEXPECTATION\tFAILING\tOBSERVED\tMESSAGE")
	for _, e := range res.Results {
		status := "pass"
		switch {
		case !e.Passed && e.Severity == store.QualityFail:
			status = "FAIL"
		case !e.Passed:
			status = "warn"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Index, status, e.Severity, e.Name, e.FailingCount, e.Observed, e.Message)
		var samples []json.RawMessage
		_ = json.Unmarshal(e.Samples, &samples)
		for i, s := range samples {
			if i == samplesShown {
				fmt.Fprintf(w, "\t\t\t  (%d more samples in --format json)\t\t\t\n", len(samples)-samplesShown)
				break
			}
			fmt.Fprintf(w, "\t\t\t  sample\t\t%s\t\n", s)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "KPIs: %s\nrun %s\n", kpiLine(res.KPIs), res.ID)
	return nil
}

func kpiLine(k store.QualityKPIs) string {
	f := func(d decimal.NullDecimal) string {
		if !d.Valid {
			return "-"
		}
		return d.Decimal.StringFixed(4)
	}
	return fmt.Sprintf("completeness %s, validity %s, uniqueness %s, timeliness %s, consistency %s, accuracy %s",
		f(k.Completeness), f(k.Validity), f(k.Uniqueness), f(k.Timeliness), f(k.Consistency), f(k.Accuracy))
}

func (c *cli) qualityHistoryCommand() *cobra.Command {
	var org, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "history [SUITE] --org ID [--limit N] [--format table|json]",
		Short: "List an organization's stored suite runs, the latest first, with their KPIs: the trend",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			suite := ""
			if len(args) == 1 {
				suite = args[0]
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("quality history: %w", err)
			}
			defer st.Close()
			runs, err := st.QualityRuns(ctx, o.ID, suite, limit)
			if err != nil {
				return fmt.Errorf("quality history: %w", err)
			}
			if format == "json" {
				if runs == nil {
					runs = []store.QualityRun{}
				}
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(runs)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "STARTED\tSUITE\tRESULT\tROWS\tFAILED\tWARNED\tKPIS\tRUN")
			for _, r := range runs {
				verdict := "passed"
				if !r.Passed {
					verdict = "FAILED"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", dateTime(&r.StartedAt), r.Suite, verdict, r.Rows, r.Failed, r.Warned,
					kpiLine(r.KPIs), r.ID)
			}
			return w.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&format, "format", "table", "table or json")
	fl.IntVar(&limit, "limit", 20, "at most this many runs (up to 1000)")
	return cmd
}
