package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/iot"
)

// deviceSummaryCommand prints a device's analytics summary over a range
// (docs/iot-analytics.md, "Device summary").
func (c *cli) deviceSummaryCommand() *cobra.Command {
	var org, fromS, toS, format string
	cmd := &cobra.Command{
		Use:   "summary --org ID DEVICE_ID --from T --to T [--format table|json]",
		Short: "Summarize a device's readings over a range: per-metric statistics and its type's derived figures",
		Long: "Summarize a device's stored readings over [--from, --to): reading count, first and last reading, each\n" +
			"metric's minimum, maximum and mean, and the figures of the device's type, each with its unit and method:\n" +
			"daily AQI (air quality), kWh and power factor (energy meters), m³ (water), distance, fuel and L/100 km\n" +
			"(vehicles), generation and capacity factor (solar), fill level, fill rate and time to full (waste bins),\n" +
			"CO2 and CH4 mass emitted (emissions sensors).\n" +
			"The rules are in docs/iot-analytics.md.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			dev, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("device id %q is not a UUID", args[0])
			}
			span, err := parseSpan(fromS, toS)
			if err != nil {
				return err
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("iot device summary: %w", err)
			}
			defer st.Close()
			s, err := iot.Summarize(ctx, st, o.ID, dev, span[0], span[1])
			if err != nil {
				return fmt.Errorf("iot device summary: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			writeSummary(c.stdout, s)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&fromS, "from", "", "start, inclusive: RFC 3339 or a date (UTC)")
	fl.StringVar(&toS, "to", "", "end, exclusive: RFC 3339 or a date (UTC)")
	fl.StringVar(&format, "format", "table", "table or json")
	return cmd
}

// writeSummary prints a summary as tab-separated blocks: the device and
// range, the per-metric statistics, the derived figures, the notes.
func writeSummary(w io.Writer, s *iot.Summary) {
	line := func(fields ...string) { fmt.Fprintln(w, strings.Join(fields, "\t")) }
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	nd := func(d decimal.NullDecimal) string {
		if !d.Valid {
			return "-"
		}
		return d.Decimal.String()
	}
	line("device", s.DeviceID.String(), s.DeviceType, s.Serial, s.Name)
	line("range", ts(&s.From), ts(&s.To))
	line("readings", strconv.FormatInt(s.Readings, 10), ts(s.First), ts(s.Last))
	fmt.Fprintln(w)
	line("metric", "unit", "count", "min", "max", "mean")
	for _, m := range s.Metrics {
		line(m.Metric, m.Unit, strconv.FormatInt(m.Count, 10), nd(m.Min), nd(m.Max), nd(m.Mean))
	}
	if s.Section != nil {
		if figs := s.Section.Figures(); len(figs) > 0 {
			fmt.Fprintln(w)
			line("figure", "value", "unit", "method")
			for _, f := range figs {
				line(f.Name, f.Value, f.Unit, f.Method)
			}
		}
	}
	if len(s.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range s.Notes {
			line("note", n)
		}
	}
}
