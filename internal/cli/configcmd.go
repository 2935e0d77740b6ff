package cli

import (
	"github.com/spf13/cobra"
)

func (c *cli) configCommand() *cobra.Command {
	dump := &cobra.Command{
		Use:   "dump",
		Short: "Print the effective configuration as YAML, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			b, err := cfg.Dump()
			if err != nil {
				return err
			}
			_, err = c.stdout.Write(b)
			return err
		},
	}
	return groupCommand("config", "Inspect the configuration", dump)
}
