package cli

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/store"
)

func (c *cli) auditCommand() *cobra.Command {
	var (
		org     string
		jsonOut bool
	)
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the hash chain of each organization's audit trail",
		Long: "verify re-reads the audit trail of one organization (--org) or of every one and\n" +
			"recomputes each link. It prints one line per organization and exits 1 when any\n" +
			"chain is broken.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.auditVerify(cmd, org, jsonOut)
		},
	}
	verify.Flags().StringVar(&org, "org", "", "verify only this organization (UUID)")
	verify.Flags().BoolVar(&jsonOut, "json", false, "print a JSON report instead of text")
	return groupCommand("audit", "Check the tamper-evident audit trail", verify)
}

// auditResult is the --json output of audit verify.
type auditResult struct {
	OK            bool                `json:"ok"`
	Organizations []store.AuditReport `json:"organizations"`
}

func (c *cli) auditVerify(cmd *cobra.Command, org string, jsonOut bool) error {
	var only uuid.UUID
	if org != "" {
		id, err := uuid.Parse(org)
		if err != nil {
			return usageErrorf("--org %q is not a UUID", org)
		}
		only = id
	}
	ctx := cmd.Context()
	st, err := c.openStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()

	ids := []uuid.UUID{only}
	if only == uuid.Nil {
		if ids, err = st.OrganizationIDs(ctx); err != nil {
			return err
		}
	}
	res := auditResult{OK: true, Organizations: make([]store.AuditReport, 0, len(ids))}
	broken := 0
	for _, id := range ids {
		rep, err := st.VerifyAudit(ctx, id)
		if err != nil {
			return fmt.Errorf("audit: verifying organization %s: %w", id, err)
		}
		res.Organizations = append(res.Organizations, rep)
		if !rep.OK() {
			res.OK = false
			broken++
		}
		if !jsonOut {
			if rep.OK() {
				fmt.Fprintf(c.stdout, "%s  %d entries checked  OK  (%s)\n", rep.OrgID, rep.Entries, rep.Duration)
			} else {
				fmt.Fprintf(c.stdout, "%s  %d entries checked  BROKEN at seq %d: %s\n", rep.OrgID, rep.Entries, rep.Broken.Seq, rep.Broken.Reason)
			}
		}
	}
	if jsonOut {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if len(ids) == 0 {
		fmt.Fprintln(c.stdout, "no organizations")
	}
	if broken > 0 {
		return fmt.Errorf("audit: %d of %d organization(s) have a broken audit chain", broken, len(ids))
	}
	return nil
}
