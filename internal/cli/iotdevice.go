package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/store"
)

// deviceUpdateCommand changes a registered device: name, site, status,
// calibration dates, metadata (store.DeviceUpdate).
func (c *cli) deviceUpdateCommand() *cobra.Command {
	var org, name, site, status, calibrated, due, metadataFile, by string
	var noSite bool
	cmd := &cobra.Command{
		Use:   "update --org ID DEVICE_ID [--name N] [--site CODE | --no-site] [--status active|inactive] [--calibrated DATE] [--calibration-due DATE] [--metadata-file F]",
		Short: "Change a device: name, site, status (set aside or back), calibration dates, metadata",
		Long: "Change a registered device. Only the flags given change; every change is in the audit trail.\n" +
			"--status inactive sets the device aside (it can no longer connect to the embedded broker),\n" +
			"--status active brings it back; decommissioning (final) is `iot device decommission`.\n" +
			"--calibrated and --calibration-due record a calibration. --metadata-file replaces the device's\n" +
			"metadata with a JSON object, checked against the settings the device summary reads\n" +
			"(docs/iot-analytics.md: registers' wrap points, rated_kw, waste thresholds).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("device id %q is not a UUID", args[0])
			}
			var ch store.DeviceChanges
			fl := cmd.Flags()
			if fl.Changed("name") {
				ch.Name = &name
			}
			if site != "" && noSite {
				return usageErrorf("--site and --no-site go one at a time")
			}
			ch.ClearSite = noSite
			if fl.Changed("status") {
				if status != store.DeviceActive && status != store.DeviceInactive {
					return usageErrorf("--status %q: active or inactive (decommission retires a device for good)", status)
				}
				ch.Status = &status
			}
			for _, f := range []struct {
				flag, v string
				dst     **time.Time
			}{{"--calibrated", calibrated, &ch.CalibratedAt}, {"--calibration-due", due, &ch.CalibrationDueAt}} {
				if f.v == "" {
					continue
				}
				t, err := time.Parse(time.DateOnly, f.v)
				if err != nil {
					return usageErrorf("%s %q: a date as YYYY-MM-DD", f.flag, f.v)
				}
				*f.dst = &t
			}
			if metadataFile != "" {
				b, err := os.ReadFile(metadataFile)
				if err != nil {
					return usageErrorf("--metadata-file: %v", err)
				}
				if _, err := iot.ParseDeviceSettings(store.JSON(b)); err != nil {
					return usageErrorf("--metadata-file %s: %v", metadataFile, err)
				}
				ch.Metadata = store.JSON(b)
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("iot device update: %w", err)
			}
			defer st.Close()
			if site != "" {
				found, err := st.SiteByCode(ctx, o.ID, site)
				if err != nil {
					return fmt.Errorf("iot device update: %w", err)
				}
				ch.SiteID = &found.ID
			}
			d, err := st.DeviceUpdate(ctx, o.ID, id, ch)
			if err != nil {
				return fmt.Errorf("iot device update: %w", err)
			}
			at := "-"
			if d.SiteID != nil {
				at = d.SiteID.String()
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s\tsite %s\tcalibrated %s\tdue %s\n", d.ID, d.DeviceType, d.Serial, d.Status, at,
				date(d.CalibratedAt), date(d.CalibrationDueAt))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&name, "name", "", "a new name for people")
	fl.StringVar(&site, "site", "", "the code of the site the device is now at")
	fl.BoolVar(&noSite, "no-site", false, "take the device off its site")
	fl.StringVar(&status, "status", "", "active or inactive")
	fl.StringVar(&calibrated, "calibrated", "", "date of the calibration (YYYY-MM-DD)")
	fl.StringVar(&due, "calibration-due", "", "date the next calibration is due (YYYY-MM-DD)")
	fl.StringVar(&metadataFile, "metadata-file", "", "a JSON object that replaces the device's metadata")
	byFlag(cmd, &by)
	return cmd
}
