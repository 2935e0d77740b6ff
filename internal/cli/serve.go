package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/demo"
)

func (c *cli) serveCommand() *cobra.Command {
	var migrate, withDemo bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the platform: HTTP API, store maintenance",
		Long: "serve starts the platform and runs until SIGINT or SIGTERM, then drains in-flight\n" +
			"requests for up to http.shutdown_timeout. It refuses an out-of-date store schema\n" +
			"unless --migrate is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.serve(cmd, migrate, withDemo)
		},
	}
	cmd.Flags().BoolVar(&migrate, "migrate", false, "apply pending store migrations before serving")
	cmd.Flags().BoolVar(&withDemo, "demo", false, "load the demonstration organization (greenlang demo) unless the store has it, and print how to log in")
	return cmd
}

func (c *cli) serve(cmd *cobra.Command, migrate, withDemo bool) error {
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		return err
	}
	logger, err := c.logger(cfg)
	if err != nil {
		return err
	}
	bi := readBuildInfo()
	a, err := app.New(cfg, logger, app.Options{Migrate: migrate, Version: bi.Version})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Info("starting greenlang",
		slog.String("version", bi.Version),
		slog.String("data_dir", cfg.DataDir),
		slog.String("store", config.RedactURL(cfg.Store.URL)))
	if err := a.Start(ctx); err != nil {
		return err
	}
	logger.Info("listening", slog.String("addr", a.Addr()), slog.Bool("tls", cfg.HTTP.TLS()), slog.String("store_driver", a.Store().Driver()))
	if withDemo {
		switch err := loadDemo(ctx, a.Store(), "", c.stderr); {
		case errors.Is(err, demo.ErrLoaded):
			logger.Info("the demo organization is already loaded", slog.String("slug", demo.Slug))
		case err != nil:
			logger.Error("loading the demo organization failed", slog.Any("err", err))
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", slog.Duration("timeout", cfg.HTTP.ShutdownTimeout))
	case runErr = <-a.Failed():
	}
	stop() // a second signal now ends the process at once

	if err := a.Stop(context.WithoutCancel(ctx)); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if runErr == nil {
		logger.Info("stopped")
	}
	return runErr
}
