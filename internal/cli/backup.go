package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/backup"
	"github.com/greenlang/greenlang/internal/store"
)

// backupCommand writes and restores logical backups of the store (docs/backup.md).
func (c *cli) backupCommand() *cobra.Command {
	var (
		out  string
		keep int
	)
	create := &cobra.Command{
		Use:   "create --out FILE|DIR|-",
		Short: "Write a consistent backup of the whole store to a file, a directory or standard output",
		Long: "create reads every table of every tenant in one snapshot and writes it as one gzip-compressed\n" +
			"file (docs/backup.md). --out names the file; an existing directory (or a path ending in /) gets\n" +
			"greenlang-<UTC time>.backup.gz, keeping the newest --keep backups there; - writes to standard output.\n" +
			"Files are written to a temporary name and renamed once complete. On PostgreSQL the backup reads\n" +
			"through store.admin_url, whose role must be SUPERUSER or BYPASSRLS.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageErrorf("--out is required (a file, a directory, or - for standard output)")
			}
			return c.backupCreate(cmd, out, keep)
		},
	}
	create.Flags().StringVar(&out, "out", "", "where to write the backup: a file, a directory, or - for standard output")
	create.Flags().IntVar(&keep, "keep", 0, "with a directory: how many backups to keep there, the newest (0 keeps all)")
	restore := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup into the configured store, which must be empty",
		Long: "restore checks that the configured store is a new, empty database (or one only migrated), creates\n" +
			"the schema at the backup's version, loads every table in one transaction and checks row counts and\n" +
			"per-table SHA-256 sums before committing. Any error leaves the database without data.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.backupRestore(cmd, args[0]) },
	}
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Read a backup through and check every row against its header, without a store",
		Args:  cobra.ExactArgs(1),
		RunE:  func(_ *cobra.Command, args []string) error { return c.backupVerify(args[0]) },
	}
	return groupCommand("backup", "Back up and restore the whole store", create, restore, verify)
}

// openStoreLogged is openStore that also returns the configured logger.
func (c *cli) openStoreLogged(cmd *cobra.Command) (*store.Store, *slog.Logger, error) {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	logger, err := c.logger(cfg)
	if err != nil {
		return nil, nil, err
	}
	st, err := app.OpenStore(cmd.Context(), cfg, logger)
	return st, logger, err
}

func backupSummary(m backup.Manifest) string {
	return fmt.Sprintf("%d rows in %d tables (%s, schema version %d, made %s)",
		m.Rows(), len(m.Tables), m.Engine, m.SchemaVersion, m.CreatedAt.Format(time.RFC3339))
}

func (c *cli) backupCreate(cmd *cobra.Command, out string, keep int) error {
	st, logger, err := c.openStoreLogged(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := cmd.Context()
	opts := backup.Options{Logger: logger, Keep: keep}
	now := time.Now()
	if out == "-" {
		m, err := backup.Write(ctx, st, c.stdout, now, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "backup written to standard output: %s\n", backupSummary(m))
		return nil
	}
	if fi, err := os.Stat(out); (err == nil && fi.IsDir()) || strings.HasSuffix(out, "/") || strings.HasSuffix(out, string(os.PathSeparator)) {
		path, m, err := backup.ToFile(ctx, st, out, now, opts)
		if path != "" {
			fmt.Fprintf(c.stdout, "backup written to %s: %s\n", path, backupSummary(m))
		}
		return err
	}
	if keep != 0 {
		return usageErrorf("--keep applies to a directory; %s is not one", out)
	}
	m, err := backup.WriteFile(ctx, st, out, now, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backup written to %s: %s\n", out, backupSummary(m))
	return nil
}

func (c *cli) backupRestore(cmd *cobra.Command, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("backup: %w", backupPathErr(err))
	}
	defer f.Close()
	st, logger, err := c.openStoreLogged(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := backup.Restore(cmd.Context(), st, f, backup.Options{Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "restored %s from %s\n", backupSummary(m), file)
	return nil
}

func (c *cli) backupVerify(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("backup: %w", backupPathErr(err))
	}
	defer f.Close()
	m, err := backup.Verify(io.Reader(f))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: OK, %s\n", file, backupSummary(m))
	return nil
}

// backupPathErr keeps an *os.PathError's message short: "open X: no such file".
func backupPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %s: %w", pe.Op, pe.Path, pe.Err)
	}
	return err
}
