package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/store"
)

// siteCommand manages an organization's sites (facilities): the activity
// file's site column names one by its code, and totals break down by site.
func (c *cli) siteCommand() *cobra.Command {
	var org, code, name, siteType, country, region, address, by string
	create := &cobra.Command{
		Use:   "create --org ID --code CODE --name NAME [--type plant] [--country DE] [--region R]",
		Short: "Create a site (facility) of an organization and print its id",
		Long: "Create a site (facility) of an organization. Activity files name it in their site column by its code;\n" +
			"a row without a region takes the site's grid region (--region, e.g. an eGRID subregion such as US-CAMX),\n" +
			"else its country. Totals break down by site (greenlang totals --by site).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, name = strings.TrimSpace(code), strings.TrimSpace(name)
			if code == "" || name == "" {
				return usageErrorf("--code and --name are required")
			}
			if strings.ContainsAny(code, ",\"\n") {
				return usageErrorf("--code %q: a code cannot hold commas, quotes or line breaks (files name the site by it)", code)
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("site create: %w", err)
			}
			defer st.Close()
			s := &store.Site{Code: code, Name: name, SiteType: siteType, Country: strings.ToUpper(country), Region: region, Address: address, Active: true}
			if err := st.Sites().Create(ctx, o.ID, s); err != nil {
				if store.CodeOf(err) == store.CodeAlreadyExists {
					return fmt.Errorf("site create: the organization already has a site with code %q", code)
				}
				return fmt.Errorf("site create: %w", err)
			}
			fmt.Fprintln(c.stdout, s.ID)
			return nil
		},
	}
	fl := create.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&code, "code", "", "the site's code, as activity files name it (unique in the organization)")
	fl.StringVar(&name, "name", "", "the site's name")
	fl.StringVar(&siteType, "type", "", "office, plant, warehouse, store, data_center, …")
	fl.StringVar(&country, "country", "", "ISO 3166-1 alpha-2 country code")
	fl.StringVar(&region, "region", "", "grid region of the site (e.g. US-CAMX); rows without a region use it")
	fl.StringVar(&address, "address", "", "postal address")
	byFlag(create, &by)

	list := listCommand(c, "site list", "List an organization's sites: code, name, type, country, region, id",
		func(ctx context.Context, st *store.Store, org uuid.UUID, fn func(*store.Site) error) error {
			return st.Sites().Each(ctx, org, fn)
		},
		func(s *store.Site) []string {
			return []string{s.Code, s.Name, s.SiteType, s.Country, s.Region, s.ID.String()}
		})
	return groupCommand("site", "Create and list an organization's sites (facilities)", create, list)
}

// listCommand is "list --org ID [--format table|json]": an organization's
// records from each, one tab-separated row per record, or all as JSON.
func listCommand[T any](c *cli, name, short string, each func(ctx context.Context, st *store.Store, org uuid.UUID, fn func(T) error) error,
	row func(T) []string) *cobra.Command {
	var org, format string
	cmd := &cobra.Command{
		Use:   "list --org ID [--format table|json]",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			defer st.Close()
			all := []T{}
			if err := each(ctx, st, o.ID, func(v T) error { all = append(all, v); return nil }); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			for _, v := range all {
				fmt.Fprintln(c.stdout, strings.Join(row(v), "\t"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization's id")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}
