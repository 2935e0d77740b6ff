// Package cli is the greenlang command line (the cli room of the
// architecture): one cobra command tree whose subcommands load the
// configuration and call internal/app. Every failure ends as one line,
// "greenlang: <message>", on stderr and a non-zero exit code.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/observe"
	"github.com/greenlang/greenlang/internal/store"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and failed, or found a problem
	ExitUsage   = 2 // the command line was wrong
)

// Main runs the command line with the process's environment. cmd/greenlang
// calls it and exits with its result.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Run(ctx, args, os.Environ(), stdout, stderr)
}

// Run executes args against environ and returns the exit code. Tests call it
// in-process with their own environment and buffers.
func Run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "greenlang: internal error: %s\n", oneLine(fmt.Sprint(r)))
			code = ExitFailure
		}
	}()
	c := &cli{stdout: stdout, stderr: stderr, environ: environ}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(strings.NewReader(""))

	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "greenlang: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || !c.parsed {
		fmt.Fprintf(stderr, "\n%s", cmd.UsageString())
		return ExitUsage
	}
	return ExitFailure
}

// cli holds one run's streams, environment and root flags.
type cli struct {
	stdout, stderr io.Writer
	environ        []string

	configFile string
	// parsed is set once flags and arguments parsed, so an error after it
	// is a runtime error, not a usage error.
	parsed bool
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "greenlang",
		Short: "GreenLang sustainability data platform",
		Long: "GreenLang gathers activity data, calculates greenhouse-gas emissions with versioned\n" +
			"factors, keeps a tamper-evident audit trail and produces CSRD disclosures.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			c.parsed = true
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&c.configFile, "config", "", "YAML configuration file (default $GREENLANG_CONFIG, then ./greenlang.yaml if present)")
	for _, s := range config.Settings() {
		if s.Flag != "" {
			pf.String(s.Flag, "", s.Usage)
		}
	}
	root.AddCommand(
		c.serveCommand(),
		c.migrateCommand(),
		c.configCommand(),
		c.auditCommand(),
		c.backupCommand(),
		c.orgCommand(),
		c.siteCommand(),
		c.iotCommand(),
		c.tokenCommand(),
		c.erpCommand(),
		c.calcCommand(),
		c.recalcCommand(),
		c.totalsCommand(),
		c.factorsCommand(),
		c.pipelineCommand(),
		c.qualityCommand(),
		c.demoCommand(),
		c.loadtestCommand(),
		c.versionCommand(),
	)
	return root
}

// loadConfig builds the configuration from the file, the environment and
// the flags given to cmd.
func (c *cli) loadConfig(cmd *cobra.Command) (config.Config, error) {
	flags := make(map[string]string)
	for _, s := range config.Settings() {
		if s.Flag == "" || !cmd.Flags().Changed(s.Flag) {
			continue
		}
		v, err := cmd.Flags().GetString(s.Flag)
		if err != nil {
			return config.Config{}, err
		}
		flags[s.Key] = v
	}
	return config.Load(config.LoadOptions{
		File:        c.configFile,
		DefaultFile: config.DefaultFile,
		Environ:     c.environ,
		Flags:       flags,
	})
}

// logger writes cfg's log format and level to stderr.
func (c *cli) logger(cfg config.Config) (*slog.Logger, error) {
	return observe.NewLogger(c.stderr, cfg.Log.Level, cfg.Log.Format)
}

// usageError is a wrong command line; Run prints the usage after it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// groupCommand is a command that only holds subcommands.
func groupCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return usageErrorf("%q needs a subcommand", cmd.CommandPath())
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// openStore loads the configuration and opens its store for a one-off
// command (no HTTP, no schema check). The caller closes the store.
func (c *cli) openStore(cmd *cobra.Command) (*store.Store, error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	logger, err := c.logger(cfg)
	if err != nil {
		return nil, err
	}
	return app.OpenStore(cmd.Context(), cfg, logger)
}
