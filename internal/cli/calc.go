package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/activityfile"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/factors/desnz"
	"github.com/greenlang/greenlang/internal/factors/eea"
	"github.com/greenlang/greenlang/internal/factors/epahub"
	"github.com/greenlang/greenlang/internal/factors/table"
	"github.com/greenlang/greenlang/internal/factors/useeio"
	"github.com/greenlang/greenlang/internal/store"
)

func (c *cli) calcCommand() *cobra.Command {
	var in, out, gwp, set, rf, org, fxFile, indexFile, certFile string
	var libs []string
	var persist bool
	var edition int
	cmd := &cobra.Command{
		Use:   "calc --in activities.csv|.xlsx [--out results.csv|results.json]",
		Short: "Calculate emissions for an activity file with the built-in factor library",
		Long: "Calculate emissions for an activity file (docs/activity-file.md) with the built-in factor\n" +
			"library. Bad rows are reported with line, column and reason; every other row is calculated,\n" +
			"and the command exits 1 when any row was refused.\n\n" +
			"With --org the organization's factors apply (docs/factor-overrides.md): its tenant factor\n" +
			"overrides, and its pinned factor set (org pin) unless --factors names another; an explicit\n" +
			"--factors always wins over the pin.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return usageErrorf("--in is required")
			}
			var orgID uuid.UUID
			if persist || org != "" {
				var err error
				if orgID, err = uuid.Parse(org); err != nil {
					if org == "" {
						return usageErrorf("--store needs --org with the organization's id")
					}
					return usageErrorf("--org %q is not an organization id (greenlang org list)", org)
				}
			}
			uplift := decimal.Zero
			if rf != "" {
				var err error
				if uplift, err = decimal.NewFromString(rf); err != nil {
					return usageErrorf("--rf-uplift %q is not a number", rf)
				}
			}
			// With --org the store is opened once: its published factor
			// sets and the organization's overrides join the library, its
			// pin applies, and with --store the run is stored in it.
			var st *store.Store
			if orgID != uuid.Nil {
				var err error
				if st, err = c.openStore(cmd); err != nil {
					return err
				}
				defer st.Close()
			}
			svc, orgFactors, err := c.orgService(cmd.Context(), st, orgID, libs)
			if err != nil {
				return err
			}
			f, err := os.Open(in)
			if err != nil {
				return fmt.Errorf("calc: %w", err)
			}
			defer f.Close()
			opts := calculation.Options{GWPSet: gwp, Edition: edition, RFUplift: uplift}
			if err := pinFactors(svc, set, &opts); err != nil {
				return err
			}
			c.applyOrgFactors(orgFactors, set, &opts)
			if strings.EqualFold(filepath.Ext(in), ".xlsx") {
				opts.Format = calculation.FormatXLSX
			}
			if certFile != "" {
				if err := readFile(certFile, func(r io.Reader) (err error) {
					opts.Certificates, err = calculation.ReadCertificates(r)
					return err
				}); err != nil {
					return err
				}
			}
			if fxFile != "" {
				if err := readFile(fxFile, func(r io.Reader) (err error) {
					opts.FX, err = calculation.ReadExchangeRates(r)
					return err
				}); err != nil {
					return err
				}
			}
			if indexFile != "" {
				if err := readFile(indexFile, func(r io.Reader) error {
					idx, err := calculation.ReadPriceIndex(r)
					opts.Index = &idx
					return err
				}); err != nil {
					return err
				}
			}
			if file, ok := c.stderr.(*os.File); ok && isatty.IsTerminal(file.Fd()) {
				bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription("calculating"),
					progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
				opts.Progress = func(int) { _ = bar.Add(1) }
				defer bar.Finish()
			}
			// With --store the file is calculated beside the writing, in
			// one transaction; the results are written whatever the store
			// said, and its answer comes last.
			var (
				rep      calculation.Report
				stored   calculation.Stored
				storeErr error
			)
			if persist {
				rep, stored, storeErr = svc.Ingest(cmd.Context(), st, orgID, f, opts, time.Now())
				if storeErr != nil && rep.Lines == nil {
					return fmt.Errorf("calc: %s: %w", in, storeErr)
				}
			} else if rep, err = svc.CalculateFile(f, opts); err != nil {
				return fmt.Errorf("calc: %s: %w", in, err)
			}
			w := c.stdout
			if out != "" {
				of, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("calc: %w", err)
				}
				defer of.Close()
				w = of
			}
			if strings.EqualFold(filepath.Ext(out), ".json") {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = writeResultsCSV(w, rep)
			}
			if err != nil {
				return fmt.Errorf("calc: writing results: %w", err)
			}
			for _, e := range rep.Errors {
				fmt.Fprintf(c.stderr, "%s: %s\n", in, e.Error())
			}
			keys := make([]string, 0, len(rep.ByScope))
			for k := range rep.ByScope {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(c.stderr, "  %-22s %16s kg CO2e  ±%s%%\n", k, rep.ByScope[k].CO2eKg.StringFixed(3), rep.ByScope[k].UncertaintyPct.StringFixed(1))
			}
			if rep.Scope2Market.Results > 0 {
				fmt.Fprintf(c.stderr, "  %-22s %16s kg CO2e  ±%s%%\n", "scope 2 (market-based)", rep.Scope2Market.CO2eKg.StringFixed(3), rep.Scope2Market.UncertaintyPct.StringFixed(1))
			}
			fmt.Fprintf(c.stderr, "%d rows calculated, %d refused; %s kg CO2e location-based (%s); input hash %s\n",
				len(rep.Lines), len(rep.Errors), rep.Total.CO2eKg.StringFixed(3), rep.GWPSet, rep.InputHash)
			if persist {
				if storeErr != nil {
					return fmt.Errorf("calc: storing the run: %w", storeErr)
				}
				fmt.Fprintf(c.stderr, "stored run %s: %d activity records, %d calculated emissions, %d new emission sources\n",
					stored.RunID, stored.Activities, stored.Emissions, stored.Sources)
			}
			if len(rep.Errors) > 0 {
				return fmt.Errorf("calc: %d of %d rows refused", len(rep.Errors), len(rep.Errors)+len(rep.Lines))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in, "in", "", "activity file: .csv, or .xlsx (first sheet)")
	fl.StringVar(&out, "out", "", "results file: .csv or .json (default CSV on standard output)")
	fl.StringVar(&gwp, "gwp", ghg.AR6, "GWP set: "+strings.Join(ghg.GWPSetIDs(), ", "))
	fl.StringVar(&set, "factors", "", "use only this factor set: epa-2025, desnz-2024, useeio-v1.2, eea-2019, … or a publication's name (wins over the organization's pin)")
	fl.IntVar(&edition, "edition", 0, "with --factors: use this edition (year)")
	fl.StringVar(&rf, "rf-uplift", "", "radiative-forcing uplift for air travel (e.g. 1.7)")
	fl.StringArrayVar(&libs, "library", nil, "extra factor table (from greenlang factors import); repeatable")
	fl.StringVar(&fxFile, "fx", "", "annual exchange rates for spend (CSV: year,from,to,rate)")
	fl.StringVar(&indexFile, "price-index", "", "price index to move spend to a factor's price year (CSV: currency,name,year,value)")
	fl.StringVar(&certFile, "certificates", "", "energy attribute certificates and contracts for market-based scope 2 (CSV: id,kwh,period_start,period_end,market,kg_co2e_per_kwh)")
	fl.BoolVar(&persist, "store", false, "also store the run, activities and results in the configured store")
	fl.StringVar(&org, "org", "", "the organization's id: its factor overrides and pinned set apply (required with --store)")
	return cmd
}

// service builds the calculation service over the built-in library, the
// factor tables given with --library and, when st is not nil, the official
// factor sets published in the store.
func (c *cli) service(ctx context.Context, st *store.Store, libs []string) (*calculation.Service, error) {
	var rs []io.Reader
	for _, p := range libs {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("factor table: %w", err)
		}
		defer f.Close()
		rs = append(rs, f)
	}
	var svc *calculation.Service
	var err error
	if st == nil {
		svc, err = calculation.NewBuiltin(rs...)
	} else {
		svc, err = calculation.NewWithStored(ctx, st, rs...)
	}
	if err != nil {
		return nil, fmt.Errorf("factor library: %w", err)
	}
	return svc, nil
}

func writeResultsCSV(w io.Writer, rep calculation.Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"line", "id", "scope", "category", "scope2_basis", "method", "factor_id", "factor_source", "gwp_set",
		"co2_kg", "ch4_kg", "n2o_kg", "co2e_kg", "biogenic_co2_kg", "uncertainty_pct", "data_quality", "explanation"})
	write := func(line int, r ghg.Result, basis string) {
		cat := category(r.Category)
		_ = cw.Write([]string{strconv.Itoa(line), r.ActivityID, strconv.Itoa(r.Scope), cat, basis, r.Explanation.Method,
			r.Explanation.FactorID, r.Explanation.Factor.String(), r.Explanation.GWPSet,
			r.KgByGas["CO2"].String(), r.KgByGas["CH4"].String(), r.KgByGas["N2O"].String(), r.CO2eKg.String(),
			r.BiogenicCO2Kg.String(), r.UncertaintyPct.String(), r.DataQuality.String(), r.Explanation.String()})
	}
	for _, l := range rep.Lines {
		if l.Result.Scope != 2 {
			write(l.Line, l.Result, "")
			continue
		}
		write(l.Line, l.Result, "location")
		if l.Market != nil {
			write(l.Line, *l.Market, "market")
		}
	}
	cw.Flush()
	return cw.Error()
}

func (c *cli) factorsCommand() *cobra.Command {
	list := &cobra.Command{
		Use:   "list [FILTER]",
		Short: "List built-in factors whose id, activity type or publication contains FILTER",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := calculation.NewBuiltin()
			if err != nil {
				return err
			}
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			fs := svc.Factors(filter)
			for _, f := range fs {
				fmt.Fprintf(c.stdout, "%s\t%s\tper %s\t%s\n", f.ID, f.ActivityType, f.Per.Symbol, f.Ref)
			}
			fmt.Fprintf(c.stderr, "%d factors\n", len(fs))
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one factor with its values and source",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := calculation.NewBuiltin()
			if err != nil {
				return err
			}
			f, ok := svc.Factor(args[0])
			if !ok {
				return fmt.Errorf("factors: no factor %q (try greenlang factors list)", args[0])
			}
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				ghg.Factor
				Per         string `json:"per"`
				HeatContent string `json:"heat_content,omitempty"`
			}{f, f.Per.Symbol, heat(f)})
		},
	}
	var format, out string
	var publish bool
	imp := &cobra.Command{
		Use:   "import --format epa-hub|desnz-flat|useeio|eea FILE (--out table.csv | --store)",
		Short: "Import an official publication into a factor table, or publish it in the store",
		Long: "Import an official publication as published (a new edition of the EPA GHG Emission Factors\n" +
			"Hub workbook, the DESNZ flat file, the USEEIO CSV or the EEA CO2-intensity-of-electricity CSV)\n" +
			"into the project's factor-table format\n" +
			"(--out), or publish it as immutable official factor sets in the store's master data (--store),\n" +
			"which calc --store and recalc then use beside the built-in library.\n" +
			"A file that cannot be read entirely is refused whole and nothing is written.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (out == "") == !publish {
				return usageErrorf("give --out FILE or --store")
			}
			units := ghg.NewUnits()
			src, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("factors import: %w", err)
			}
			defer src.Close()
			var fs []ghg.Factor
			switch format {
			case "epa-hub":
				var ed epahub.Edition
				ed, err = epahub.Read(src, units)
				fs = ed.Factors
			case "desnz-flat":
				var ed desnz.Edition
				ed, err = desnz.Read(src, units)
				fs = ed.Factors
				for reason, n := range ed.Skipped {
					fmt.Fprintf(c.stderr, "skipped %d rows: %s\n", n, reason)
				}
			case "useeio":
				version := strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
				fs, err = useeio.Read(src, version)
			case "eea":
				var rel eea.Release
				rel, err = eea.ReadRelease(src, units)
				fs = rel.Factors
				for reason, n := range rel.Skipped {
					fmt.Fprintf(c.stderr, "skipped %d rows: %s\n", n, reason)
				}
			default:
				return usageErrorf("--format %q is not epa-hub, desnz-flat, useeio or eea", format)
			}
			if err != nil {
				return fmt.Errorf("factors import: %s: %w", args[0], err)
			}
			if publish {
				st, err := c.openStore(cmd)
				if err != nil {
					return err
				}
				defer st.Close()
				sets, err := calculation.PublishFactors(cmd.Context(), st, fs)
				for _, s := range sets {
					fmt.Fprintf(c.stderr, "published %s %s: %d factors, %d values\n", s.Name, s.Version, s.Factors, s.Values)
				}
				if err != nil {
					return fmt.Errorf("factors import: %w", err)
				}
				return nil
			}
			var buf strings.Builder
			if err := table.Write(&buf, fs); err != nil {
				return err
			}
			if err := os.WriteFile(out, []byte(buf.String()), 0o644); err != nil {
				return fmt.Errorf("factors import: %w", err)
			}
			fmt.Fprintf(c.stderr, "%d factors written to %s\n", len(fs), out)
			return nil
		},
	}
	var ex struct {
		activity, quantity, unit, region, date, method, gwp, org, set string
		scope, category                                               int
	}
	explain := &cobra.Command{
		Use:   "explain --activity TYPE --quantity Q --unit U [--region R] [--date YYYY-MM-DD] (--scope N | --method M) [--org ID] [--factors SET]",
		Short: "Show how one activity would be calculated: the factor chosen and why, and every step",
		Long: "Show how one activity would be calculated: the factor chosen and why, every conversion and the per-gas\n" +
			"arithmetic. With --org, as that organization's calculations would: with the factor sets published in the\n" +
			"store, its factor overrides and its pinned set (unless --factors names another).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var orgID uuid.UUID
			var st *store.Store
			if ex.org != "" {
				var err error
				if orgID, err = orgFlag(ex.org); err != nil {
					return err
				}
				if st, err = c.openStore(cmd); err != nil {
					return err
				}
				defer st.Close()
			}
			svc, orgFactors, err := c.orgService(cmd.Context(), st, orgID, nil)
			if err != nil {
				return err
			}
			opts := calculation.Options{GWPSet: ex.gwp}
			if err := pinFactors(svc, ex.set, &opts); err != nil {
				return err
			}
			c.applyOrgFactors(orgFactors, ex.set, &opts)
			csvText := "activity_type,quantity,unit,period_start,region,scope,category,method\n" +
				strings.Join([]string{csvField(ex.activity), csvField(ex.quantity), csvField(ex.unit), csvField(ex.date), csvField(ex.region),
					optInt(ex.scope), optInt(ex.category), csvField(ex.method)}, ",") + "\n"
			rows, bad, err := activityfile.Read(strings.NewReader(csvText), svc.Units())
			if err != nil {
				return err
			}
			if len(bad) > 0 {
				return usageErrorf("%s", strings.TrimPrefix(bad[0].Error(), "line 2, "))
			}
			l, err := svc.Explain(rows[0], opts)
			if err != nil {
				return fmt.Errorf("factors explain: %s", strings.TrimPrefix(err.Error(), "line 2, "))
			}
			r := l.Result
			fmt.Fprintln(c.stdout, "factor selection:")
			for _, s := range l.Selection {
				fmt.Fprintln(c.stdout, "  "+s)
			}
			fmt.Fprintln(c.stdout, "conversions:")
			for _, st := range r.Explanation.Conversions {
				fmt.Fprintf(c.stdout, "  %s → %s × %s %s\n", st.From, st.To, st.Factor, st.Note)
			}
			fmt.Fprintf(c.stdout, "amount in the factor's unit: %s\n", r.Explanation.Amount)
			for _, g := range slices.Sorted(maps.Keys(r.KgByGas)) {
				line := fmt.Sprintf("  %-6s %s kg/unit × %s = %s kg", g, r.Explanation.FactorValues[g], r.Explanation.Amount, r.KgByGas[g])
				if gwp, ok := r.Explanation.GWPs[g]; ok {
					line += fmt.Sprintf(" × GWP %s (%s)", gwp, r.Explanation.GWPSet)
				}
				fmt.Fprintln(c.stdout, line)
			}
			fmt.Fprintf(c.stdout, "total: %s kg CO2e, scope %d%s, uncertainty ±%s%%\n", r.CO2eKg, r.Scope, catText(r.Category), r.UncertaintyPct)
			fmt.Fprintf(c.stdout, "method %s, engine %s\n", r.Explanation.Method, r.Explanation.EngineVersion)
			return nil
		},
	}
	ef := explain.Flags()
	ef.StringVar(&ex.activity, "activity", "", "activity type, e.g. natural_gas")
	ef.StringVar(&ex.quantity, "quantity", "", "quantity")
	ef.StringVar(&ex.unit, "unit", "", "unit of the quantity")
	ef.StringVar(&ex.region, "region", "", "region, e.g. US-CAMX or UK")
	ef.StringVar(&ex.date, "date", time.Now().UTC().Format("2006-01-02"), "activity date")
	ef.StringVar(&ex.method, "method", "", "calculation method")
	ef.StringVar(&ex.gwp, "gwp", ghg.AR6, "GWP set")
	ef.IntVar(&ex.scope, "scope", 0, "scope, when no method is given")
	ef.IntVar(&ex.category, "category", 0, "scope 3 category")
	ef.StringVar(&ex.org, "org", "", "explain as this organization's calculations would (its overrides and pinned set)")
	ef.StringVar(&ex.set, "factors", "", "use only this factor set: epa-2025, desnz-2024, … (wins over the organization's pin)")

	imp.Flags().StringVar(&format, "format", "", "epa-hub, desnz-flat, useeio or eea")
	imp.Flags().StringVar(&out, "out", "", "factor table to write (CSV)")
	imp.Flags().BoolVar(&publish, "store", false, "publish the sets in the configured store instead of writing a table")
	return groupCommand("factors", "Browse the emission-factor library, import new editions and manage an organization's overrides",
		list, show, explain, imp, c.factorsOverrideCommand())
}

func heat(f ghg.Factor) string {
	if f.HeatContent == nil {
		return ""
	}
	return fmt.Sprintf("%s per %s (%s)", f.HeatContent.Energy, f.HeatContent.Per.Symbol, f.HeatContent.Basis)
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func optInt(i int) string {
	if i == 0 {
		return ""
	}
	return strconv.Itoa(i)
}

// pinFactors resolves --factors (a set's short name or a publication's
// name) into o; an --edition given as well wins over the short name's.
func pinFactors(svc *calculation.Service, name string, o *calculation.Options) error {
	if name == "" {
		return nil
	}
	set, edition, err := svc.ResolveFactorSet(name)
	if err != nil {
		return usageErrorf("--factors: %v", err)
	}
	o.PinnedSet = set
	if o.Edition == 0 {
		o.Edition = edition
	}
	return nil
}

// category is a scope 3 category as a table cell: empty for none.
func category(c int) string {
	if c == 0 {
		return ""
	}
	return strconv.Itoa(c)
}

func catText(c int) string {
	if c == 0 {
		return ""
	}
	return fmt.Sprintf(" category %d", c)
}

// readFile opens path and hands it to read; errors name the file once.
func readFile(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("calc: %w", err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		return fmt.Errorf("calc: %s: %w", path, err)
	}
	return nil
}
