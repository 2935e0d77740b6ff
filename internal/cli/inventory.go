package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/store"
)

// periodFlags are --from and --to, dates bounding results by period start.
type periodFlags struct{ from, to string }

func (p *periodFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.from, "from", "", "only results whose period starts on or after this date (YYYY-MM-DD)")
	cmd.Flags().StringVar(&p.to, "to", "", "only results whose period starts before this date (YYYY-MM-DD)")
}

func (p *periodFlags) filter() (store.ResultFilter, error) {
	var f store.ResultFilter
	err := parseDates(dateFlag{"--from", p.from, &f.From}, dateFlag{"--to", p.to, &f.To})
	return f, err
}

// dateFlag is a YYYY-MM-DD flag's name, value ("" when not given) and
// destination.
type dateFlag struct {
	flag, v string
	dst     *time.Time
}

// parseDates sets each given date flag's destination; a bad date is a
// usage error naming the flag.
func parseDates(fs ...dateFlag) error {
	for _, x := range fs {
		if x.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, x.v)
		if err != nil {
			return usageErrorf("%s %q is not a date (YYYY-MM-DD)", x.flag, x.v)
		}
		*x.dst = t
	}
	return nil
}

func orgFlag(org string) (uuid.UUID, error) {
	id, err := uuid.Parse(org)
	if err != nil {
		return uuid.Nil, usageErrorf("--org needs the organization's id")
	}
	return id, nil
}

func (c *cli) recalcCommand() *cobra.Command {
	var org, gwp, set, rf, reason, threshold, certFile string
	var libs []string
	var edition int
	var dry, asJSON bool
	var period periodFlags
	cmd := &cobra.Command{
		Use:   "recalc --org ID --reason TEXT [--gwp AR5] [--factors SET --edition YEAR]",
		Short: "Recalculate stored results after a factor or GWP change, superseding what changed, and print the restatement",
		Long: "Recalculate an organization's current stored results with the factor library and GWP set given.\n" +
			"Results that change are superseded (kept, marked with the new run), never deleted; the restatement\n" +
			"compares old and new by source, scope and category and flags a base-year recalculation when the\n" +
			"total moves by more than the significance threshold (default 5%).\n\n" +
			"The organization's factor overrides apply, and its pinned factor set (org pin) unless --factors\n" +
			"names another; an explicit --factors always wins over the pin.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			orgID, err := orgFlag(org)
			if err != nil {
				return err
			}
			if reason == "" {
				return usageErrorf("--reason is required: it is recorded with the restatement")
			}
			f, err := period.filter()
			if err != nil {
				return err
			}
			o := calculation.RecalcOptions{Options: calculation.Options{GWPSet: gwp, Edition: edition},
				Filter: f, Reason: reason, DryRun: dry}
			if rf != "" {
				if o.RFUplift, err = decimal.NewFromString(rf); err != nil {
					return usageErrorf("--rf-uplift %q is not a number", rf)
				}
			}
			if threshold != "" {
				if o.ThresholdPct, err = decimal.NewFromString(threshold); err != nil || !o.ThresholdPct.IsPositive() {
					return usageErrorf("--threshold %q is not a positive percentage", threshold)
				}
			}
			if certFile != "" {
				if err := readFile(certFile, func(r io.Reader) (err error) {
					o.Certificates, err = calculation.ReadCertificates(r)
					return err
				}); err != nil {
					return err
				}
			}
			st, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			svc, orgFactors, err := c.orgService(cmd.Context(), st, orgID, libs)
			if err != nil {
				return err
			}
			if err := pinFactors(svc, set, &o.Options); err != nil {
				return err
			}
			c.applyOrgFactors(orgFactors, set, &o.Options)
			rc, err := svc.Recalculate(cmd.Context(), st, orgID, o, time.Now())
			if err != nil {
				return fmt.Errorf("recalc: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rc)
			}
			writeRestatement(c.stdout, rc)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&reason, "reason", "", "why: recorded with the run and the restatement")
	fl.StringVar(&gwp, "gwp", ghg.AR6, "GWP set: "+fmt.Sprint(ghg.GWPSetIDs()))
	fl.StringVar(&set, "factors", "", "use only this factor set: epa-2025, desnz-2024, … or a publication's name (wins over the organization's pin)")
	fl.IntVar(&edition, "edition", 0, "with --factors: this edition (year)")
	fl.StringVar(&rf, "rf-uplift", "", "radiative-forcing uplift for air travel")
	fl.StringVar(&threshold, "threshold", "", "significance threshold for a base-year recalculation, in percent (default 5)")
	fl.StringVar(&certFile, "certificates", "", "certificates for market-based scope 2 (see calc --certificates)")
	fl.StringArrayVar(&libs, "library", nil, "extra factor table; repeatable")
	fl.BoolVar(&dry, "dry-run", false, "show the restatement without storing anything")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	period.add(cmd)
	return cmd
}

func writeRestatement(w io.Writer, rc calculation.Recalculation) {
	rs := rc.Restatement
	switch {
	case rc.RunID != uuid.Nil:
		fmt.Fprintf(w, "run %s: %d results checked, %d superseded\n", rc.RunID, rc.Checked, rc.Superseded)
	case rc.Changed == 0:
		fmt.Fprintf(w, "%d results checked: nothing changed, nothing stored\n", rc.Checked)
	default:
		fmt.Fprintf(w, "dry run: %d results checked, %d would be superseded\n", rc.Checked, rc.Changed)
	}
	for _, e := range rc.Errors {
		fmt.Fprintf(w, "not recalculated: activity %s: %s\n", e.ActivityID, e.Reason)
	}
	if rc.Changed == 0 {
		return
	}
	fmt.Fprintf(w, "restatement: %s\n", rs.Reason)
	fmt.Fprintf(w, "  %-48s %5s %4s %16s %16s %10s\n", "source", "scope", "cat", "old kg CO2e", "new kg CO2e", "change %")
	for _, l := range rs.BySource {
		cat := category(l.Category)
		fmt.Fprintf(w, "  %-48s %5d %4s %16s %16s %10s\n", l.Source, l.Scope, cat, l.OldCO2eKg.StringFixed(3), l.NewCO2eKg.StringFixed(3), l.ChangePct.StringFixed(2))
	}
	fmt.Fprintf(w, "  %-48s %5s %4s %16s %16s %10s\n", "total", "", "", rs.OldTotalKg.StringFixed(3), rs.NewTotalKg.StringFixed(3), rs.ChangePct.StringFixed(2))
	if rs.BaseYearRecalc {
		fmt.Fprintf(w, "base-year recalculation: the total moved by more than %s%%\n", rs.ThresholdPct)
	} else {
		fmt.Fprintf(w, "no base-year recalculation: the total moved by no more than %s%%\n", rs.ThresholdPct)
	}
}

func (c *cli) totalsCommand() *cobra.Command {
	var org, by, format string
	var period periodFlags
	cmd := &cobra.Command{
		Use:   "totals --org ID [--by category,site,source,month] [--format table|csv|json]",
		Short: "Current stored emissions by scope (and category, site, source, month), location- and market-based",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			orgID, err := orgFlag(org)
			if err != nil {
				return err
			}
			f, err := period.filter()
			if err != nil {
				return err
			}
			st, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			tot, err := calculation.EmissionTotals(cmd.Context(), st, orgID, calculation.TotalsQuery{Filter: f, By: splitList(by)})
			if err != nil {
				return usageErrorf("%v", err)
			}
			switch format {
			case "json":
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(tot)
			case "csv":
				return writeTotalsCSV(c.stdout, tot)
			case "table", "":
				writeTotalsTable(c.stdout, tot)
				return nil
			}
			return usageErrorf("--format %q: table, csv or json", format)
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization's id")
	cmd.Flags().StringVar(&by, "by", "category", "breakdown besides scope: any of category, site, source, month (comma-separated)")
	cmd.Flags().StringVar(&format, "format", "table", "table, csv or json")
	period.add(cmd)
	return cmd
}

func totalCells(r calculation.TotalRow) []string {
	cat := category(r.Category)
	return []string{r.Month, strconv.Itoa(r.Scope), cat, r.Scope2Basis, r.Site, r.SiteName, r.Source, strconv.Itoa(r.Results),
		r.CO2eKg.String(), r.KgByGas["CO2"].String(), r.KgByGas["CH4"].String(), r.KgByGas["N2O"].String(),
		r.BiogenicCO2Kg.String(), r.UncertaintyPct.String(), r.DataQuality.String()}
}

func writeTotalsCSV(w io.Writer, tot calculation.Totals) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"month", "scope", "category", "scope2_basis", "site", "site_name", "source", "results", "co2e_kg", "co2_kg", "ch4_kg", "n2o_kg",
		"biogenic_co2_kg", "uncertainty_pct", "data_quality"})
	for _, r := range tot.Rows {
		_ = cw.Write(totalCells(r))
	}
	for _, x := range []struct {
		name string
		t    ghg.Total
	}{{"location-based total", tot.LocationBased}, {"market-based total", tot.MarketBased}} {
		r := calculation.TotalRow{TotalKey: calculation.TotalKey{Source: x.name}, Total: x.t}
		cells := totalCells(r)
		cells[1] = ""
		_ = cw.Write(cells)
	}
	cw.Flush()
	return cw.Error()
}

func writeTotalsTable(w io.Writer, tot calculation.Totals) {
	fmt.Fprintf(w, "%-7s %5s %4s %-8s %-40s %8s %18s %8s %5s\n", "month", "scope", "cat", "basis", "source / site", "results", "kg CO2e", "±%", "DQ")
	for _, r := range tot.Rows {
		cat := category(r.Category)
		name := r.Source
		if r.Site != "" {
			name = strings.TrimSpace(r.Site + " " + r.SiteName + ": " + name)
		}
		fmt.Fprintf(w, "%-7s %5d %4s %-8s %-40s %8d %18s %8s %5s\n", r.Month, r.Scope, cat, r.Scope2Basis, name, r.Results,
			r.CO2eKg.StringFixed(3), r.UncertaintyPct.StringFixed(1), r.DataQuality.StringFixed(2))
	}
	fmt.Fprintf(w, "location-based total %s kg CO2e ±%s%% (%d results)\n", tot.LocationBased.CO2eKg.StringFixed(3), tot.LocationBased.UncertaintyPct.StringFixed(1), tot.LocationBased.Results)
	fmt.Fprintf(w, "market-based total   %s kg CO2e ±%s%% (%d results)\n", tot.MarketBased.CO2eKg.StringFixed(3), tot.MarketBased.UncertaintyPct.StringFixed(1), tot.MarketBased.Results)
}

func (c *cli) orgCommand() *cobra.Command {
	var name, slug, country, currency string
	create := &cobra.Command{
		Use:   "create --name NAME --slug SLUG [--country DE] [--currency EUR]",
		Short: "Create an organization (a tenant) and print its id",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || slug == "" {
				return usageErrorf("--name and --slug are required")
			}
			st, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			o := &store.Organization{Name: name, Slug: slug, Country: country, ReportingCurrency: currency}
			if err := st.OrganizationCreate(cmd.Context(), o); err != nil {
				return fmt.Errorf("org create: %w", err)
			}
			fmt.Fprintln(c.stdout, o.ID)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "the organization's name")
	create.Flags().StringVar(&slug, "slug", "", "a short unique name (letters, digits, dashes)")
	create.Flags().StringVar(&country, "country", "", "ISO 3166-1 alpha-2 country code")
	create.Flags().StringVar(&currency, "currency", "", "reporting currency (ISO 4217)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List organizations: id, slug and name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			ids, err := st.OrganizationIDs(cmd.Context())
			if err != nil {
				return err
			}
			for _, id := range ids {
				o, err := st.OrganizationGet(cmd.Context(), id)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", o.ID, o.Slug, o.Name)
			}
			return nil
		},
	}
	return groupCommand("org", "Create, list and show organizations; pin their factor set", create, list, c.orgShowCommand(), c.orgPinCommand())
}

// splitList reads a comma-separated flag value ("category,month").
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
