package cli

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/loadgen"
)

// loadtestCommand measures a running server from this process
// (docs/api.md, "Performance").
func (c *cli) loadtestCommand() *cobra.Command {
	var (
		cfg         loadgen.Config
		token, body string
		ctype       string
		headers     []string
	)
	cmd := &cobra.Command{
		Use:   "loadtest --url URL [--token T] [--conns 200] [--duration 30s] [--rate R] [--method POST --body-file F --content-type text/csv]",
		Short: "Send requests to a running server over many connections and report throughput and latency percentiles",
		Long: "loadtest sends requests to --url over --conns concurrent connections for --duration and prints the\n" +
			"throughput, the p50/p95/p99 latency and every status. In a body, {{n}} is replaced by each request's\n" +
			"number, so writes differ (an activity file uploaded twice is refused). With --rate, requests go out on a\n" +
			"fixed schedule of that many a second and each latency counts from its slot, waiting for a connection\n" +
			"included; without it each connection sends again as soon as it is answered. It exits 1 when any request\n" +
			"failed. Give the server http.rate_limit: -1 (GREENLANG_HTTP_RATE_LIMIT=-1) or every token's requests\n" +
			"beyond its rate are answered 429.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.URL == "" {
				return usageErrorf("--url is required")
			}
			cfg.Header = http.Header{}
			if token != "" {
				cfg.Header.Set("Authorization", "Bearer "+token)
			}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok {
					return usageErrorf("--header %q: want Name: value", h)
				}
				cfg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if body != "" {
				b, err := os.ReadFile(body)
				if err != nil {
					return fmt.Errorf("loadtest: %w", err)
				}
				cfg.Body = b
				cfg.Header.Set("Content-Type", ctype)
			}
			res, err := loadgen.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, res)
			if res.Errors > 0 {
				return fmt.Errorf("loadtest: %d of %d requests failed", res.Errors, res.Requests)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.URL, "url", "", "the URL to request")
	fl.StringVar(&cfg.Method, "method", "GET", "HTTP method")
	fl.StringVar(&token, "token", "", "API token (Authorization: Bearer)")
	fl.StringArrayVar(&headers, "header", nil, "extra header, Name: value; repeatable")
	fl.StringVar(&body, "body-file", "", "request body file; {{n}} in it becomes the request's number")
	fl.StringVar(&ctype, "content-type", "application/json", "Content-Type of the body")
	fl.IntVar(&cfg.Conns, "conns", 200, "concurrent connections")
	fl.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to send")
	fl.Float64Var(&cfg.Rate, "rate", 0, "requests a second on a fixed schedule, latency counted from each request's slot (open loop); 0: as fast as answers come (closed loop)")
	return cmd
}
