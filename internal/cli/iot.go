package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/iot/simulate"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/store"
)

// iotCommand groups the IoT commands: the device registry (docs/iot.md).
func (c *cli) iotCommand() *cobra.Command {
	subs := append([]*cobra.Command{c.deviceCommand(), c.simulateCommand(), c.alertsCommand(), c.rollupCommand(), c.readingsCommand()}, c.commandCommands()...)
	return groupCommand("iot", "IoT devices and their telemetry: the device registry, alerts, commands and firmware campaigns, the simulator", subs...)
}

// deviceCommand manages an organization's devices and their MQTT
// credentials.
func (c *cli) deviceCommand() *cobra.Command {
	var org, typ, serial, name, site, calibrated, due, by string
	register := &cobra.Command{
		Use:   "register --org ID --type TYPE --serial S [--name N] [--site CODE] [--calibrated DATE] [--calibration-due DATE]",
		Short: "Register a device and issue its MQTT credentials (the secret is shown once)",
		Long: "Register an IoT device of one of the eight types (" + strings.Join(store.DeviceTypes(), ", ") + ")\n" +
			"and issue its MQTT credentials. The device connects with the printed user name and secret and\n" +
			"publishes to its telemetry topic (docs/mqtt.md). The secret is shown once: keep it, or issue a\n" +
			"new one with `greenlang iot device rotate-secret`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(store.DeviceTypes(), typ) {
				return usageErrorf("--type %q: one of %s", typ, strings.Join(store.DeviceTypes(), ", "))
			}
			if strings.TrimSpace(serial) == "" {
				return usageErrorf("--serial is required (unique in the organization)")
			}
			d := &store.Device{DeviceType: typ, Serial: strings.TrimSpace(serial), Name: name, Status: store.DeviceRegistered}
			for _, f := range []struct {
				flag, v string
				dst     **time.Time
			}{{"--calibrated", calibrated, &d.CalibratedAt}, {"--calibration-due", due, &d.CalibrationDueAt}} {
				if f.v == "" {
					continue
				}
				t, err := time.Parse(time.DateOnly, f.v)
				if err != nil {
					return usageErrorf("%s %q: a date as YYYY-MM-DD", f.flag, f.v)
				}
				*f.dst = &t
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("iot device register: %w", err)
			}
			defer st.Close()
			if site != "" {
				found, err := st.SiteByCode(ctx, o.ID, site)
				if err != nil {
					return fmt.Errorf("iot device register: %w", err)
				}
				d.SiteID = &found.ID
			}
			if err := st.Devices().Create(ctx, o.ID, d); err != nil {
				if store.CodeOf(err) == store.CodeAlreadyExists {
					return fmt.Errorf("iot device register: the organization already has a device with serial %q", d.Serial)
				}
				return fmt.Errorf("iot device register: %w", err)
			}
			secret, _, err := st.DeviceCredentialIssue(ctx, o.ID, d.ID)
			if err != nil {
				return fmt.Errorf("iot device register: device %s registered, but issuing its secret failed (retry with rotate-secret): %w", d.ID, err)
			}
			c.printCredentials(o.ID, d.ID, secret)
			return nil
		},
	}
	fl := register.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&typ, "type", "", "device type: "+strings.Join(store.DeviceTypes(), ", "))
	fl.StringVar(&serial, "serial", "", "the device's serial number (unique in the organization)")
	fl.StringVar(&name, "name", "", "a name for people")
	fl.StringVar(&site, "site", "", "the code of the site the device is at: its readings count for that site")
	fl.StringVar(&calibrated, "calibrated", "", "date of the last calibration (YYYY-MM-DD)")
	fl.StringVar(&due, "calibration-due", "", "date the next calibration is due (YYYY-MM-DD)")
	byFlag(register, &by)

	list := listCommand(c, "iot device list", "List an organization's devices: id, type, serial, status, last seen, calibration due",
		func(ctx context.Context, st *store.Store, org uuid.UUID, fn func(*store.Device) error) error {
			return st.Devices().Each(ctx, org, fn)
		},
		func(d *store.Device) []string {
			return []string{d.ID.String(), d.DeviceType, d.Serial, d.Status, dateTime(d.LastSeenAt), date(d.CalibrationDueAt)}
		})

	var showOrg string
	show := &cobra.Command{
		Use:   "show --org ID DEVICE_ID",
		Short: "Show a device and its credentials' history (never a secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("device id %q is not a UUID", args[0])
			}
			ctx, st, o, err := c.openOrg(cmd, showOrg, "")
			if err != nil {
				return fmt.Errorf("iot device show: %w", err)
			}
			defer st.Close()
			d, err := st.Devices().Get(ctx, o.ID, id)
			if err != nil {
				return fmt.Errorf("iot device show: %w", err)
			}
			creds, err := st.DeviceCredentials(ctx, o.ID, id)
			if err != nil {
				return fmt.Errorf("iot device show: %w", err)
			}
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(struct {
				*store.Device
				MQTTUser    string                   `json:"mqtt_user"`
				Credentials []store.DeviceCredential `json:"credentials"`
			}{d, mqtt.DeviceUser(o.ID.String(), id.String()), creds})
		},
	}
	show.Flags().StringVar(&showOrg, "org", "", "the organization's id")

	var rotOrg, rotBy string
	rotate := &cobra.Command{
		Use:   "rotate-secret --org ID DEVICE_ID",
		Short: "Issue a device a new secret, revoking the old one at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("device id %q is not a UUID", args[0])
			}
			ctx, st, o, err := c.openOrg(cmd, rotOrg, rotBy)
			if err != nil {
				return fmt.Errorf("iot device rotate-secret: %w", err)
			}
			defer st.Close()
			secret, _, err := st.DeviceCredentialIssue(ctx, o.ID, id)
			if err != nil {
				return fmt.Errorf("iot device rotate-secret: %w", err)
			}
			c.printCredentials(o.ID, id, secret)
			return nil
		},
	}
	rotate.Flags().StringVar(&rotOrg, "org", "", "the organization's id")
	byFlag(rotate, &rotBy)

	var decOrg, decBy string
	decommission := &cobra.Command{
		Use:   "decommission --org ID DEVICE_ID",
		Short: "Retire a device for good: its credential is revoked; its readings stay",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("device id %q is not a UUID", args[0])
			}
			ctx, st, o, err := c.openOrg(cmd, decOrg, decBy)
			if err != nil {
				return fmt.Errorf("iot device decommission: %w", err)
			}
			defer st.Close()
			if _, err := st.DeviceDecommission(ctx, o.ID, id); err != nil {
				return fmt.Errorf("iot device decommission: %w", err)
			}
			fmt.Fprintf(c.stdout, "device %s decommissioned; its credential is revoked\n", id)
			return nil
		},
	}
	decommission.Flags().StringVar(&decOrg, "org", "", "the organization's id")
	byFlag(decommission, &decBy)

	return groupCommand("device", "Register devices, change them, manage their credentials, summarize their readings", register, list, show, c.deviceUpdateCommand(), rotate, decommission, c.deviceSummaryCommand())
}

// printCredentials prints what a device needs to connect.
func (c *cli) printCredentials(org, device uuid.UUID, secret string) {
	fmt.Fprintf(c.stdout, "device_id\t%s\nmqtt_user\t%s\nmqtt_secret\t%s\ntelemetry_topic\t%s\n",
		device, mqtt.DeviceUser(org.String(), device.String()), secret, mqtt.Topic{Org: org.String(), Device: device.String(), Kind: mqtt.KindTelemetry})
	fmt.Fprintln(c.stderr, "The secret is shown this once: store it on the device now.")
}

func dateTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func date(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

// simulateCommand publishes simulated telemetry (docs/iot.md).
func (c *cli) simulateCommand() *cobra.Command {
	var (
		org, broker, types string
		devices, inflight  int
		rate               float64
		messages           int64
		duration           time.Duration
		qos                int
	)
	cmd := &cobra.Command{
		Use:   "simulate --org ID [--devices N] [--rate R] [--types a,b] [--messages M | --duration D] [--broker URL]",
		Short: "Publish realistic telemetry for simulated devices of the eight types to a broker",
		Long: "Register (or reuse) N simulated devices in the organization, serials sim-<type>-<n>, give each a fresh\n" +
			"secret, connect each to the broker as itself and publish telemetry at R messages per second in all:\n" +
			"values that drift like the real thing, registers that only grow. It is the demo's data source and the\n" +
			"IoT benchmark's load. --broker defaults to the configured mqtt.url (the embedded broker of a running\n" +
			"`greenlang serve`). A progress line shows sent, acknowledged and failed messages.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if devices <= 0 {
				return usageErrorf("--devices %d: at least 1", devices)
			}
			if rate < 0 || messages < 0 || duration < 0 || inflight < 1 || (qos != 0 && qos != 1) {
				return usageErrorf("--rate, --messages and --duration must not be negative, --inflight at least 1, --qos 0 or 1")
			}
			kinds := simulate.Types()
			if types != "" {
				kinds = strings.Split(types, ",")
				for _, k := range kinds {
					if !slices.Contains(simulate.Types(), k) {
						return usageErrorf("--types: %q is not one of %s", k, strings.Join(simulate.Types(), ", "))
					}
				}
			}
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			if broker == "" {
				if broker, err = brokerURL(cfg.MQTT.URL); err != nil {
					return fmt.Errorf("iot simulate: %w", err)
				}
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("iot simulate: %w", err)
			}
			sims, err := simDevices(ctx, st, o.ID, devices, kinds)
			st.Close()
			if err != nil {
				return fmt.Errorf("iot simulate: %w", err)
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			tty := false
			if f, ok := c.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				tty = true
			}
			progress := func(s simulate.Stats, elapsed time.Duration) {
				line := fmt.Sprintf("%s  sent %d  acknowledged %d  failed %d  %.0f msg/s", elapsed.Truncate(time.Second), s.Sent, s.Acked, s.Failed,
					float64(s.Acked)/max(elapsed.Seconds(), 1e-9))
				if tty {
					fmt.Fprintf(c.stderr, "\r%s   ", line)
				} else {
					fmt.Fprintln(c.stderr, line)
				}
			}
			fmt.Fprintf(c.stderr, "simulating %d devices (%s) on %s\n", len(sims), strings.Join(kinds, ", "), config.RedactURL(broker))
			stats, err := simulate.Run(ctx, simulate.Config{Broker: broker, Devices: sims, Rate: rate, Messages: messages,
				InFlight: inflight, QoS: byte(qos)}, progress)
			if tty {
				fmt.Fprintln(c.stderr)
			}
			fmt.Fprintf(c.stdout, "sent\t%d\nacknowledged\t%d\nfailed\t%d\n", stats.Sent, stats.Acked, stats.Failed)
			if err != nil {
				return fmt.Errorf("iot simulate: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization the simulated devices are registered in")
	fl.IntVar(&devices, "devices", 8, "number of simulated devices (one MQTT connection each)")
	fl.Float64Var(&rate, "rate", 10, "messages per second over all devices (0: as fast as acknowledgements return)")
	fl.StringVar(&types, "types", "", "comma-separated device types (default all eight, in turn)")
	fl.Int64Var(&messages, "messages", 0, "stop after this many messages (default: until --duration or Ctrl-C)")
	fl.DurationVar(&duration, "duration", 0, "stop after this long")
	fl.IntVar(&inflight, "inflight", 1, "unacknowledged messages per device at most")
	fl.IntVar(&qos, "qos", 1, "MQTT QoS, 0 or 1")
	fl.StringVar(&broker, "broker", "", "broker URL, tcp://host:1883 or ssl://host:8883 (default: from mqtt.url)")
	return cmd
}

// brokerURL is where a device connects for the configured MQTT transport.
func brokerURL(mqttURL string) (string, error) {
	if mqttURL == config.MQTTOff {
		return "", fmt.Errorf("mqtt.url is off: give --broker")
	}
	u, err := url.Parse(mqttURL)
	if err != nil {
		return "", fmt.Errorf("mqtt.url: %w", err)
	}
	if u.Scheme == "mqtt+embedded" {
		u.Scheme = "tcp"
	}
	return u.String(), nil
}

// simDevices registers the simulated devices org lacks (serial
// sim-<type>-<n>) and gives each a fresh secret.
func simDevices(ctx context.Context, st *store.Store, org uuid.UUID, n int, kinds []string) ([]simulate.Device, error) {
	bySerial := map[string]*store.Device{}
	if err := st.Devices().Each(ctx, org, func(d *store.Device) error { bySerial[d.Serial] = d; return nil }); err != nil {
		return nil, err
	}
	out := make([]simulate.Device, 0, n)
	for i := range n {
		typ := kinds[i%len(kinds)]
		serial := fmt.Sprintf("sim-%s-%d", typ, i)
		d, ok := bySerial[serial]
		if ok && d.Status == store.DeviceDecommissioned {
			return nil, fmt.Errorf("simulated device %s (%s) is decommissioned", serial, d.ID)
		}
		if !ok {
			d = &store.Device{DeviceType: typ, Serial: serial, Name: "simulated " + typ, Status: store.DeviceRegistered}
			if err := st.Devices().Create(ctx, org, d); err != nil {
				return nil, fmt.Errorf("registering %s: %w", serial, err)
			}
		}
		secret, _, err := st.DeviceCredentialIssue(ctx, org, d.ID)
		if err != nil {
			return nil, fmt.Errorf("issuing a secret for %s: %w", serial, err)
		}
		out = append(out, simulate.Device{Org: org.String(), ID: d.ID.String(), Type: typ, User: mqtt.DeviceUser(org.String(), d.ID.String()), Secret: secret})
	}
	return out, nil
}

// rollupCommand rolls meter readings up into activity data by hand
// (serve does it every hour; docs/iot.md).
func (c *cli) rollupCommand() *cobra.Command {
	var org, hourS, by string
	var hours int
	cmd := &cobra.Command{
		Use:   "rollup --org ID --hour 2026-12-01T10 [--hours N]",
		Short: "Turn hours of energy-meter, vehicle-fuel and emissions-sensor readings into calculated activity data",
		Long: "Roll an organization's readings of one or more hours up into activity records and calculated\n" +
			"emissions: energy meters' kWh as scope 2 electricity of their site, vehicle trackers' fuel as scope 1\n" +
			"mobile combustion, emissions sensors' (CEMS) measured CO2 and CH4 mass as scope 1 direct measurement.\n" +
			"A device's hour is stored once; hours rolled up before are reported and skipped.\n" +
			"greenlang serve does this every hour for the hour that ended 5 minutes earlier.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hour, err := time.Parse("2006-01-02T15", strings.TrimSuffix(hourS, "Z"))
			if err != nil {
				return usageErrorf("--hour %q: an hour as 2026-12-01T10 (UTC)", hourS)
			}
			if hours < 1 || hours > 24*31 {
				return usageErrorf("--hours %d: 1 to 744", hours)
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("iot rollup: %w", err)
			}
			defer st.Close()
			svc, err := calculation.NewWithStored(ctx, st)
			if err != nil {
				return fmt.Errorf("iot rollup: %w", err)
			}
			cat, err := telemetry.LoadCatalogue()
			if err != nil {
				return fmt.Errorf("iot rollup: %w", err)
			}
			r := iot.NewRollup(st, svc, cat, nil)
			for i := range hours {
				h := hour.Add(time.Duration(i) * time.Hour)
				res, err := r.Hour(ctx, o.ID, h)
				if err != nil {
					return fmt.Errorf("iot rollup: %w", err)
				}
				note := ""
				if res.AlreadyStored {
					note = " (some or all devices rolled up before: skipped)"
				}
				fmt.Fprintf(c.stdout, "%s\t%d activities%s\n", h.Format("2006-01-02T15Z"), res.Activities, note)
				for _, s := range append(res.Skipped, res.Notes...) {
					fmt.Fprintf(c.stderr, "%s: %s\n", h.Format("2006-01-02T15Z"), s)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization's id")
	cmd.Flags().StringVar(&hourS, "hour", "", "the first hour, UTC, as 2026-12-01T10")
	cmd.Flags().IntVar(&hours, "hours", 1, "how many hours from --hour")
	byFlag(cmd, &by)
	return cmd
}

// readingsCommand lists a device's stored readings of one metric, or their
// hourly aggregates.
func (c *cli) readingsCommand() *cobra.Command {
	var org, device, metric, fromS, toS, format string
	var hourly bool
	cmd := &cobra.Command{
		Use:   "readings --org ID --device ID --metric M --from T --to T [--hourly] [--format table|csv|json]",
		Short: "List a device's stored readings of one metric, or their hourly min, max, mean and count",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "csv" && format != "json" {
				return usageErrorf("--format %q: table, csv or json", format)
			}
			dev, err := uuid.Parse(device)
			if err != nil {
				return usageErrorf("--device %q is not a device id", device)
			}
			if metric == "" {
				return usageErrorf("--metric is required (e.g. energy_kwh_total)")
			}
			span, err := parseSpan(fromS, toS)
			if err != nil {
				return err
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("iot readings: %w", err)
			}
			defer st.Close()
			var rows [][]string
			var header []string
			if hourly {
				aggs, err := iot.HourlyAggregates(ctx, st, o.ID, dev, metric, span[0], span[1])
				if err != nil {
					return fmt.Errorf("iot readings: %w", err)
				}
				header = []string{"hour", "count", "min", "max", "mean"}
				for _, a := range aggs {
					rows = append(rows, []string{a.Hour.Format(time.RFC3339), strconv.FormatInt(a.Count, 10), a.Min.String(), a.Max.String(), a.Mean().String()})
				}
			} else {
				header = []string{"time", "value", "unit"}
				err := iot.EachReading(ctx, st, o.ID, dev, metric, span[0], span[1], func(r store.SensorReading) error {
					rows = append(rows, []string{r.Time.UTC().Format(time.RFC3339Nano), r.Value.String(), r.Unit})
					return nil
				})
				if err != nil {
					return fmt.Errorf("iot readings: %w", err)
				}
			}
			return writeRows(c.stdout, format, header, rows)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&device, "device", "", "the device's id")
	fl.StringVar(&metric, "metric", "", "the metric, e.g. energy_kwh_total (docs/iot-payloads.md)")
	fl.StringVar(&fromS, "from", "", "start, inclusive: RFC 3339 or a date (UTC)")
	fl.StringVar(&toS, "to", "", "end, exclusive: RFC 3339 or a date (UTC)")
	fl.BoolVar(&hourly, "hourly", false, "hourly minimum, maximum, mean and count instead of the readings")
	fl.StringVar(&format, "format", "table", "table, csv or json")
	return cmd
}

// parseInstant reads an RFC 3339 time or a date (midnight UTC).
// parseSpan reads --from and --to, from before to.
func parseSpan(fromS, toS string) ([2]time.Time, error) {
	var span [2]time.Time
	for i, f := range []struct{ flag, v string }{{"--from", fromS}, {"--to", toS}} {
		t, err := parseInstant(f.v)
		if err != nil {
			return span, usageErrorf("%s %q: RFC 3339 (2026-12-01T10:00:00Z) or a date (2026-12-01)", f.flag, f.v)
		}
		span[i] = t
	}
	if !span[0].Before(span[1]) {
		return span, usageErrorf("--from must be before --to")
	}
	return span, nil
}

func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

// writeRows prints rows as tab-separated text, CSV or a JSON array of
// objects keyed by header.
func writeRows(w io.Writer, format string, header []string, rows [][]string) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(header)
		_ = cw.WriteAll(rows)
		return cw.Error()
	case "json":
		out := make([]map[string]string, len(rows))
		for i, r := range rows {
			out[i] = map[string]string{}
			for j, h := range header {
				out[i][h] = r[j]
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return nil
}
