package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/store"
)

// commandCommands are the device-command commands of the iot group
// (docs/iot-commands.md): configure, firmware campaign create|status and
// commands list. They queue commands in the store; `greenlang serve` (its
// Commander) sends them to the devices and records their results.
func (c *cli) commandCommands() []*cobra.Command {
	return []*cobra.Command{
		c.configureCommand(),
		groupCommand("firmware", "Firmware updates of devices", groupCommand("campaign",
			"Firmware campaigns: one update command per device of a type", c.campaignCreateCommand(), c.campaignStatusCommand())),
		groupCommand("commands", "Commands sent to devices", c.commandsListCommand()),
	}
}

// configureCommand queues a configure command for one device.
func (c *cli) configureCommand() *cobra.Command {
	var (
		org, file, by string
		sets          []string
		ttl           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "configure --org ID DEVICE_ID (--set key=value ... | --config-file FILE)",
		Short: "Queue a configuration push to a device (sent over its commands topic by greenlang serve)",
		Long: "Queue a configure command for a device. Its payload is a JSON object of settings: from\n" +
			"--config-file (a JSON object), then each --set key=value (a value that reads as JSON —\n" +
			"a number, true, false, null, an object or array, a quoted string — is taken as that;\n" +
			"anything else is a string). The running platform (greenlang serve) publishes it to the\n" +
			"device's commands topic; follow it with `greenlang iot commands list --device`.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dev, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("device id %q is not a UUID", args[0])
			}
			settings := map[string]json.RawMessage{}
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("iot configure: reading --config-file: %w", err)
				}
				if err := json.Unmarshal(b, &settings); err != nil || settings == nil {
					return usageErrorf("--config-file %s: not a JSON object", file)
				}
			}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if k = strings.TrimSpace(k); !ok || k == "" {
					return usageErrorf("--set %q: key=value", s)
				}
				if json.Valid([]byte(v)) {
					settings[k] = json.RawMessage(v)
				} else {
					q, _ := json.Marshal(v)
					settings[k] = q
				}
			}
			if len(settings) == 0 {
				return usageErrorf("nothing to configure: give --set key=value or --config-file")
			}
			if ttl < 0 {
				return usageErrorf("--ttl %s is negative", ttl)
			}
			payload, err := json.Marshal(settings)
			if err != nil {
				return fmt.Errorf("iot configure: %w", err)
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("iot configure: %w", err)
			}
			defer st.Close()
			q, err := st.DeviceCommandCreate(ctx, o.ID, store.DeviceCommandCreateParams{DeviceID: dev, Kind: store.CommandConfigure,
				Payload: payload, TTL: ttl})
			if err != nil {
				return fmt.Errorf("iot configure: %w", err)
			}
			fmt.Fprintf(c.stdout, "command_id\t%s\nstatus\t%s\nexpires_at\t%s\n", q.ID, q.Status, q.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringArrayVar(&sets, "set", nil, "a setting, key=value (repeatable)")
	fl.StringVar(&file, "config-file", "", "a JSON object of settings")
	fl.DurationVar(&ttl, "ttl", 0, "how long the device has to carry it out before it expires (default 24h)")
	byFlag(cmd, &by)
	return cmd
}

// campaignCreateCommand starts a firmware campaign.
func (c *cli) campaignCreateCommand() *cobra.Command {
	var (
		org, typ, version, url, sha, devices, name, by string
		ttl                                            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create --org ID --type TYPE --version V --url URL --sha256 HASH [--devices ID,ID]",
		Short: "Start a firmware campaign: one firmware_update command per device of the type",
		Long: "Start a firmware campaign for devices of one type: the listed ones (--devices), or every\n" +
			"registered or active device of the type. One firmware_update command per device is queued\n" +
			"in the same transaction; greenlang serve sends them. Follow it with\n" +
			"`greenlang iot firmware campaign status`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(store.DeviceTypes(), typ) {
				return usageErrorf("--type %q: one of %s", typ, strings.Join(store.DeviceTypes(), ", "))
			}
			for flag, v := range map[string]string{"--version": version, "--url": url} {
				if strings.TrimSpace(v) == "" {
					return usageErrorf("%s is required", flag)
				}
			}
			sha = strings.ToLower(strings.TrimSpace(sha))
			if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
				return usageErrorf("--sha256 %q: the image's SHA-256, 64 hex digits", sha)
			}
			if ttl < 0 {
				return usageErrorf("--ttl %s is negative", ttl)
			}
			var ids []uuid.UUID
			for _, s := range splitList(devices) {
				id, err := uuid.Parse(s)
				if err != nil {
					return usageErrorf("--devices: %q is not a device id", s)
				}
				ids = append(ids, id)
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("iot firmware campaign create: %w", err)
			}
			defer st.Close()
			camp, cmds, err := st.FirmwareCampaignCreate(ctx, o.ID, store.FirmwareCampaignCreateParams{Name: name, DeviceType: typ,
				FirmwareVersion: version, URL: url, SHA256: sha, Devices: ids, TTL: ttl})
			if err != nil {
				return fmt.Errorf("iot firmware campaign create: %w", err)
			}
			fmt.Fprintf(c.stdout, "campaign_id\t%s\nname\t%s\ndevices\t%d\n", camp.ID, camp.Name, len(cmds))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&typ, "type", "", "device type: "+strings.Join(store.DeviceTypes(), ", "))
	fl.StringVar(&version, "version", "", "the firmware version the devices will run")
	fl.StringVar(&url, "url", "", "where devices download the image")
	fl.StringVar(&sha, "sha256", "", "the image's SHA-256 (hex): devices check it before installing")
	fl.StringVar(&devices, "devices", "", "comma-separated device ids (default: every registered or active device of the type)")
	fl.StringVar(&name, "name", "", `a name for people (default "<type> <version>")`)
	fl.DurationVar(&ttl, "ttl", 0, "how long each device has to finish before its command expires (default 168h)")
	byFlag(cmd, &by)
	return cmd
}

// campaignStatusCommand shows a campaign, its counts and each device's progress.
func (c *cli) campaignStatusCommand() *cobra.Command {
	var org, format string
	cmd := &cobra.Command{
		Use:   "status --org ID CAMPAIGN_ID [--format table|json]",
		Short: "Show a firmware campaign: counts by status, and each device's progress and result",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("campaign id %q is not a UUID", args[0])
			}
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("iot firmware campaign status: %w", err)
			}
			defer st.Close()
			camp, err := st.FirmwareCampaignGet(ctx, o.ID, id)
			if err != nil {
				return fmt.Errorf("iot firmware campaign status: %w", err)
			}
			cmds, err := st.DeviceCommandsList(ctx, o.ID, store.DeviceCommandFilter{CampaignID: id, Limit: 10000})
			if err != nil {
				return fmt.Errorf("iot firmware campaign status: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					*store.FirmwareCampaign
					Commands []store.DeviceCommand `json:"commands"`
				}{camp, cmds})
			}
			serials := map[uuid.UUID]string{}
			if err := st.Devices().Each(ctx, o.ID, func(d *store.Device) error {
				if d.DeviceType == camp.DeviceType {
					serials[d.ID] = d.Serial
				}
				return nil
			}); err != nil {
				return fmt.Errorf("iot firmware campaign status: %w", err)
			}
			fmt.Fprintf(c.stdout, "campaign_id\t%s\nname\t%s\ndevice_type\t%s\nfirmware\t%s\nstatus\t%s\ndevices\t%d\n",
				camp.ID, camp.Name, camp.DeviceType, camp.FirmwareVersion, camp.Status, camp.Total())
			fmt.Fprintf(c.stdout, "counts\t%s\n\n", countsLine(camp.Counts))
			sort.Slice(cmds, func(i, j int) bool { return serials[cmds[i].DeviceID] < serials[cmds[j].DeviceID] })
			fmt.Fprintln(c.stdout, "DEVICE\tSERIAL\tSTATUS\tPROGRESS\tUPDATED\tMESSAGE")
			for _, q := range cmds {
				fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%d%%\t%s\t%s\n", q.DeviceID, serials[q.DeviceID], q.Status, q.ProgressPct,
					q.UpdatedAt.UTC().Format(time.RFC3339), oneLine(q.Message))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization's id")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// countsLine prints counts by status in the order commands move through them.
func countsLine(counts map[string]int) string {
	var parts []string
	for _, s := range store.CommandStatuses() {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", s, counts[s]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// commandsListCommand lists an organization's device commands.
func (c *cli) commandsListCommand() *cobra.Command {
	var org, device, status, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "list --org ID [--device ID] [--status S] [--limit N] [--format table|json]",
		Short: "List device commands, newest first: id, device, kind, status, progress, created, message",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := store.DeviceCommandFilter{Status: status, Limit: limit}
			if device != "" {
				id, err := uuid.Parse(device)
				if err != nil {
					return usageErrorf("--device %q is not a UUID", device)
				}
				f.DeviceID = id
			}
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			if limit < 1 || limit > 10000 {
				return usageErrorf("--limit %d: 1 to 10000", limit)
			}
			if status != "" && !slices.Contains(store.CommandStatuses(), status) {
				return usageErrorf("--status %q: one of %s", status, strings.Join(store.CommandStatuses(), ", "))
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("iot commands list: %w", err)
			}
			defer st.Close()
			cmds, err := st.DeviceCommandsList(ctx, o.ID, f)
			if err != nil {
				return fmt.Errorf("iot commands list: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if cmds == nil {
					cmds = []store.DeviceCommand{}
				}
				return enc.Encode(cmds)
			}
			for _, q := range cmds {
				fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s\t%d%%\t%s\t%s\n", q.ID, q.DeviceID, q.Kind, q.Status, q.ProgressPct,
					q.CreatedAt.UTC().Format(time.RFC3339), oneLine(q.Message))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&device, "device", "", "only this device's commands")
	fl.StringVar(&status, "status", "", "only commands in this status (queued, sent, acknowledged, in_progress, succeeded, failed, expired)")
	fl.IntVar(&limit, "limit", 100, "the most commands to list")
	fl.StringVar(&format, "format", "table", "table or json")
	return cmd
}
