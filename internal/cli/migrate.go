package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) migrateCommand() *cobra.Command {
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending store migration",
		Args:  cobra.NoArgs,
		RunE:  c.migrateUp,
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List the store migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE:  c.migrateStatus,
	}
	return groupCommand("migrate", "Manage the store schema", up, status)
}

func (c *cli) migrateUp(cmd *cobra.Command, _ []string) error {
	st, err := c.openStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(cmd.Context())
	for _, v := range applied {
		fmt.Fprintf(c.stdout, "applied migration %d\n", v)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(c.stdout, "schema is up to date")
	}
	return nil
}

func (c *cli) migrateStatus(cmd *cobra.Command, _ []string) error {
	st, err := c.openStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	status, err := st.MigrationStatus(cmd.Context())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE\tAPPLIED AT")
	for _, m := range status {
		state, at := "pending", "-"
		if m.Applied {
			state = "applied"
			if !m.AppliedAt.IsZero() {
				at = m.AppliedAt.UTC().Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
	}
	return tw.Flush()
}
