package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/store"
)

// alertsCommand lists an organization's alerts (the alert sink's,
// docs/iot-alerts.md) and acknowledges them: `greenlang iot alerts` and
// `greenlang iot alerts ack`.
func (c *cli) alertsCommand() *cobra.Command {
	var org, status, device, format string
	var limit int
	list := &cobra.Command{
		Use:   "alerts --org ID [--status open|acknowledged|resolved|all] [--device ID] [--format table|json]",
		Short: "List an organization's alerts, the latest first: de-duplicated, with their occurrences",
		Long: "List the alerts the alert sink stored from the anomaly detector (docs/iot-alerts.md): one per\n" +
			"condition (device, metric, kind, rule) until it resolves, with how often it occurred and its\n" +
			"latest value. --status open (the default) shows alerts nobody acknowledged yet.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			if status != "all" && !slices.Contains(store.AlertStatuses(), status) {
				return usageErrorf("--status %q: one of %s or all", status, strings.Join(store.AlertStatuses(), ", "))
			}
			f := store.AlertFilter{Status: status, Limit: limit}
			if device != "" {
				id, err := uuid.Parse(device)
				if err != nil {
					return usageErrorf("--device %q is not a device id (UUID)", device)
				}
				f.DeviceID = &id
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("iot alerts: %w", err)
			}
			defer st.Close()
			as, err := st.AlertsList(ctx, o.ID, f)
			if err != nil {
				return fmt.Errorf("iot alerts: %w", err)
			}
			if format == "json" {
				if as == nil {
					as = []store.AlertDetail{}
				}
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(as)
			}
			for _, a := range as {
				dev := a.DeviceRef
				if a.DeviceID != nil {
					dev = a.DeviceID.String()
				}
				fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%dx\t%s\t%s\n", a.ID, a.Status, a.Severity, a.Rule, dev, a.Metric,
					a.Value.Decimal, a.Occurrences, dateTime(&a.LastRaisedAt), a.Message)
			}
			return nil
		},
	}
	fl := list.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&status, "status", store.AlertOpen, "open, acknowledged, resolved or all")
	fl.StringVar(&device, "device", "", "only this device's alerts (its id)")
	fl.StringVar(&format, "format", "table", "table or json")
	fl.IntVar(&limit, "limit", 100, "at most this many alerts (up to 1000)")

	var ackOrg, by string
	ack := &cobra.Command{
		Use:   "ack --org ID ALERT_ID",
		Short: "Acknowledge an open alert: it stays unresolved, still counts repeats and still resolves by itself",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("alert id %q is not a UUID", args[0])
			}
			ctx, st, o, err := c.openOrg(cmd, ackOrg, by)
			if err != nil {
				return fmt.Errorf("iot alerts ack: %w", err)
			}
			defer st.Close()
			a, err := st.AlertAcknowledge(ctx, o.ID, id)
			if err != nil {
				return fmt.Errorf("iot alerts ack: %w", err)
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", a.ID, a.Status, a.AcknowledgedBy)
			return nil
		},
	}
	ack.Flags().StringVar(&ackOrg, "org", "", "the organization's id")
	byFlag(ack, &by)
	list.AddCommand(ack)
	return list
}
