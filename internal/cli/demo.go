package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/demo"
	"github.com/greenlang/greenlang/internal/store"
)

// demoCommand loads the demonstration organization (docs/demo.md).
func (c *cli) demoCommand() *cobra.Command {
	var pw string
	cmd := &cobra.Command{
		Use:   "demo [--password P]",
		Short: "Load a demonstration organization: sites, a year of activity data, suppliers, devices and users",
		Long: "demo loads the organization \"" + demo.Slug + "\" into the configured store: five sites in four countries,\n" +
			"twelve months of fuel, electricity, fleet, travel, freight, waste and purchase data calculated with the\n" +
			"built-in factors, suppliers with purchase orders, energy meters, and an admin, an analyst and an auditor\n" +
			"who log in to the dashboard with the password printed (or --password). Run it once; greenlang serve --demo\n" +
			"does the same when the store has no demo organization yet.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := c.openStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			return loadDemo(cmd.Context(), st, pw, c.stdout)
		},
	}
	cmd.Flags().StringVar(&pw, "password", "", "the demo users' password (at least 12 characters); default a generated one, printed")
	return cmd
}

// loadDemo loads the demo organization and prints how to log in.
func loadDemo(ctx context.Context, st *store.Store, pw string, w io.Writer) error {
	got, err := demo.Load(ctx, st, demo.Options{Password: pw})
	if errors.Is(err, demo.ErrLoaded) {
		return fmt.Errorf("%w: log in with its users, or use another store", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "demo organization %q loaded (id %s): %d activity records, %d calculated emissions, %s t CO2e location-based\n",
		demo.Slug, got.OrgID, got.Activities, got.Emissions, got.CO2eKg.Shift(-3).StringFixed(1))
	fmt.Fprintf(w, "log in at the dashboard with organization %q, password %q and one of:\n", demo.Slug, got.Password)
	for _, u := range got.Users {
		fmt.Fprintf(w, "  %s\n", u)
	}
	return nil
}
