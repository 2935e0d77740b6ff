package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/store"
)

// tokenCommand manages the API tokens of the HTTP API (docs/api.md):
// `greenlang token create|list|revoke`.
func (c *cli) tokenCommand() *cobra.Command {
	var org, name, scopes, expires, by string
	create := &cobra.Command{
		Use:   "create --org ID --name N --scopes a,b [--expires 90d]",
		Short: "Issue an API token for the HTTP API (the token is shown once)",
		Long: "Issue an API token of the organization for the /api/v1 routes (docs/api.md). Scopes: " +
			strings.Join(store.APIScopes(), ", ") + ".\n" +
			"--expires takes a duration in days (90d), hours (12h) or minutes; without it the token does not\n" +
			"expire. The token is printed once: only its SHA-256 is kept.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return usageErrorf("--name is required (what the token is for)")
			}
			list := splitList(scopes)
			if len(list) == 0 {
				return usageErrorf("--scopes is required: some of %s", strings.Join(store.APIScopes(), ", "))
			}
			var exp *time.Time
			if expires != "" {
				d, err := store.ParseTokenLifetime(expires)
				if err != nil {
					return usageErrorf("--expires %q: %v", expires, err)
				}
				t := time.Now().UTC().Add(d)
				exp = &t
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("token create: %w", err)
			}
			defer st.Close()
			secret, t, err := st.APITokenIssue(ctx, o.ID, store.APITokenIssueParams{Name: name, Scopes: list, ExpiresAt: exp})
			if err != nil {
				return fmt.Errorf("token create: %w", err)
			}
			fmt.Fprintf(c.stdout, "token_id\t%s\nname\t%s\nscopes\t%s\nexpires_at\t%s\ntoken\t%s\n",
				t.ID, t.Name, strings.Join(t.Scopes, ","), dateTime(t.ExpiresAt), secret)
			fmt.Fprintln(c.stderr, "The token is shown this once: store it now (send it as Authorization: Bearer <token>).")
			return nil
		},
	}
	fl := create.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&name, "name", "", "what the token is for")
	fl.StringVar(&scopes, "scopes", "", "comma-separated scopes: "+strings.Join(store.APIScopes(), ", "))
	fl.StringVar(&expires, "expires", "", "lifetime, e.g. 90d, 12h (default: never expires)")
	byFlag(create, &by)

	list := listCommand(c, "token list", "List an organization's API tokens: id, name, prefix, scopes, expiry, last use, revocation",
		func(ctx context.Context, st *store.Store, org uuid.UUID, fn func(*store.APIToken) error) error {
			ts, err := st.APITokensList(ctx, org)
			for _, t := range ts {
				if err := fn(t); err != nil {
					return err
				}
			}
			return err
		},
		func(t *store.APIToken) []string {
			return []string{t.ID.String(), t.Name, t.Prefix + "…", strings.Join(t.Scopes, ","), dateTime(t.ExpiresAt), dateTime(t.LastUsedAt), tokenState(t)}
		})

	var revOrg, revBy string
	revoke := &cobra.Command{
		Use:   "revoke --org ID TOKEN_ID",
		Short: "Revoke an API token: it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := uuid.Parse(args[0])
			if err != nil {
				return usageErrorf("token id %q is not a UUID (greenlang token list)", args[0])
			}
			ctx, st, o, err := c.openOrg(cmd, revOrg, revBy)
			if err != nil {
				return fmt.Errorf("token revoke: %w", err)
			}
			defer st.Close()
			t, err := st.APITokenRevoke(ctx, o.ID, id)
			if err != nil {
				return fmt.Errorf("token revoke: %w", err)
			}
			fmt.Fprintf(c.stdout, "token %s revoked at %s\n", t.ID, dateTime(t.RevokedAt))
			return nil
		},
	}
	revoke.Flags().StringVar(&revOrg, "org", "", "the organization's id")
	byFlag(revoke, &revBy)

	return groupCommand("token", "API tokens for the HTTP API: create, list, revoke", create, list, revoke)
}

// tokenState is a token's state in `token list`: active, expired or revoked.
func tokenState(t *store.APIToken) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !t.ExpiresAt.After(time.Now()):
		return "expired"
	}
	return "active"
}
