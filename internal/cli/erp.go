package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/store"
)

// erpCommand is `greenlang erp`: ERP connections, syncs, their status and
// the mapping to activity data (docs/erp.md).
func (c *cli) erpCommand() *cobra.Command {
	return groupCommand("erp", "ERP connectors: connections, test, sync, status, mapping, simulators",
		c.erpConnectionCommand(), c.erpTestCommand(), c.erpSyncCommand(), c.erpStatusCommand(),
		c.erpMappingCommand(), c.erpUploadCommand(), c.erpJournalCommand(), c.erpSimulateCommand())
}

func (c *cli) erpConnectionCommand() *cobra.Command {
	var org, file, name, system, baseURL, authType, settings, schedule, by string
	var creds []string
	add := &cobra.Command{
		Use:   "add --org ID (--file connection.json | --name N --system S --base-url URL ...)",
		Short: "Add an ERP connection; its credentials are stored encrypted",
		Long: "Add an ERP connection of the organization. --file reads a connection as the connectors' sample\n" +
			"configurations write it (greenlang erp connection sample SYSTEM; greenlang erp simulate prints\n" +
			"ready ones); flags override its fields. Credentials are sealed with the store's secret key and\n" +
			"never printed or logged. --schedule is a cron expression (\"0 2 * * *\", \"@daily\",\n" +
			"\"CRON_TZ=Europe/Berlin 0 2 * * *\") for `greenlang serve` to sync the connection.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cf erp.ConnectionSpec
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("erp connection add: %w", err)
				}
				dec := json.NewDecoder(strings.NewReader(string(b)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&cf); err != nil {
					return fmt.Errorf("erp connection add: %s: %w", file, err)
				}
			}
			for dst, v := range map[*string]string{&cf.Name: name, &cf.System: system, &cf.BaseURL: baseURL, &cf.AuthType: authType, &cf.Schedule: schedule} {
				if v != "" {
					*dst = v
				}
			}
			if settings != "" {
				if !json.Valid([]byte(settings)) {
					return usageErrorf("--settings is not JSON")
				}
				cf.Settings = json.RawMessage(settings)
			}
			if len(creds) > 0 {
				given, err := credentialFlags(creds)
				if err != nil {
					return err
				}
				cf.Credentials = store.MergeCredentials(cf.Credentials, given)
			}
			if cf.Name == "" || cf.System == "" {
				return usageErrorf("a connection needs a name and a system (--name, --system or --file)")
			}
			reg := app.ERPRegistry()
			// Building the connector checks the settings before anything is stored.
			if err := reg.Check(cf); err != nil {
				return fmt.Errorf("erp connection add: %w", err)
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("erp connection add: %w", err)
			}
			defer st.Close()
			conn := new(store.ERPConnection)
			cf.Apply(conn)
			if err := st.ERPConnections().Create(ctx, o.ID, conn); err != nil {
				return fmt.Errorf("erp connection add: %w", err)
			}
			f, _ := reg.Get(cf.System)
			fmt.Fprintf(c.stdout, "connection %s (%s) added: %s\n", conn.Name, f.Title, conn.ID)
			return nil
		},
	}
	fl := add.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&file, "file", "", "a connection as JSON (name, system, base_url, auth_type, credentials, settings, schedule)")
	fl.StringVar(&name, "name", "", "the connection's name, unique in the organization")
	fl.StringVar(&system, "system", "", "the ERP system: "+strings.Join(app.ERPRegistry().Systems(), ", "))
	fl.StringVar(&baseURL, "base-url", "", "the API's root URL (spreadsheet: the files' directory)")
	fl.StringVar(&authType, "auth-type", "", "the connector's authentication (see its README)")
	fl.StringArrayVar(&creds, "credential", nil, "a credential as key=value (repeatable)")
	fl.StringVar(&settings, "settings", "", "the connector's settings as a JSON object")
	fl.StringVar(&schedule, "schedule", "", "cron schedule of the connection's syncs by greenlang serve (e.g. \"0 2 * * *\", @daily)")
	byFlag(add, &by)

	var setOrg, setBy, setSettings string
	var setCreds []string
	var setActive bool
	set := &cobra.Command{
		Use:   "set --org ID NAME [--schedule S] [--active=false] [--credential key=value]... [--base-url URL] [--settings JSON]",
		Short: "Change a connection: its schedule, whether it is active, credentials, URL or settings",
		Long: "Change an ERP connection. --credential key=value replaces one credential (key= removes it), the\n" +
			"others are kept; --settings replaces the settings; --schedule \"\" stops scheduled syncs. The changed\n" +
			"connection is checked like a new one before it is stored.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, st, o, err := c.openOrg(cmd, setOrg, setBy)
			if err != nil {
				return fmt.Errorf("erp connection set: %w", err)
			}
			defer st.Close()
			conn, err := st.ERPConnectionByName(ctx, o.ID, args[0])
			if err != nil {
				return fmt.Errorf("erp connection set: %w", err)
			}
			var p erp.ConnectionPatch
			fl := cmd.Flags()
			for flag, dst := range map[string]**string{"base-url": &p.BaseURL, "auth-type": &p.AuthType, "schedule": &p.Schedule} {
				if fl.Changed(flag) {
					v, _ := fl.GetString(flag)
					*dst = &v
				}
			}
			if fl.Changed("active") {
				p.Active = &setActive
			}
			if fl.Changed("settings") {
				if !json.Valid([]byte(setSettings)) {
					return usageErrorf("--settings is not JSON")
				}
				p.Settings = json.RawMessage(setSettings)
			}
			if p.Credentials, err = credentialFlags(setCreds); err != nil {
				return err
			}
			spec := erp.Spec(conn)
			p.Apply(&spec)
			if err := app.ERPRegistry().Check(spec); err != nil {
				return fmt.Errorf("erp connection set: %w", err)
			}
			spec.Apply(conn)
			if err := st.ERPConnections().Update(ctx, o.ID, conn); err != nil {
				return fmt.Errorf("erp connection set: %w", err)
			}
			state := "active"
			if !conn.Active {
				state = "inactive"
			}
			fmt.Fprintf(c.stdout, "connection %s changed: %s, schedule %s\n", conn.Name, state, orDash(conn.Schedule))
			return nil
		},
	}
	sfl := set.Flags()
	sfl.StringVar(&setOrg, "org", "", "the organization's id")
	sfl.String("base-url", "", "the API's root URL (spreadsheet: the files' directory)")
	sfl.String("auth-type", "", "the connector's authentication (see its README)")
	sfl.StringArrayVar(&setCreds, "credential", nil, "a credential as key=value, key= to remove it (repeatable)")
	sfl.StringVar(&setSettings, "settings", "", "the connector's settings as a JSON object (replaces them)")
	sfl.String("schedule", "", "cron schedule of the connection's syncs; \"\" for none")
	sfl.BoolVar(&setActive, "active", true, "whether scheduled and requested syncs run")
	byFlag(set, &setBy)

	list := listCommand(c, "erp connection list", "List the organization's ERP connections: name, system, base URL, schedule, last sync, id",
		func(ctx context.Context, st *store.Store, org uuid.UUID, fn func(*store.ERPConnection) error) error {
			return st.ERPConnections().Each(ctx, org, fn)
		},
		func(x *store.ERPConnection) []string {
			state := "active"
			if !x.Active {
				state = "inactive"
			}
			return []string{x.Name, x.System, x.BaseURL, orDash(x.Schedule), dateTime(x.LastSyncAt), state, x.ID.String()}
		})

	sample := &cobra.Command{
		Use:   "sample SYSTEM",
		Short: "Print a connector's sample connection (JSON) for --file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := app.ERPRegistry().Get(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			fmt.Fprint(c.stdout, f.Sample)
			return nil
		},
	}
	return groupCommand("connection", "Add, change and list ERP connections, print sample configurations", add, set, list, sample)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// syncer opens the store, the calculation service and a syncer for a
// one-off ERP command. The caller closes the store.
func (c *cli) syncer(cmd *cobra.Command, org, by string) (context.Context, *store.Store, uuid.UUID, *erp.Syncer, error) {
	ctx, st, o, err := c.openOrg(cmd, org, by)
	if err != nil {
		return nil, nil, uuid.Nil, nil, err
	}
	cfg, err := c.loadConfig(cmd)
	if err != nil {
		st.Close()
		return nil, nil, uuid.Nil, nil, err
	}
	log, err := c.logger(cfg)
	if err != nil {
		st.Close()
		return nil, nil, uuid.Nil, nil, err
	}
	svc, err := calculation.NewWithStored(ctx, st)
	if err != nil {
		st.Close()
		return nil, nil, uuid.Nil, nil, err
	}
	return ctx, st, o.ID, erp.NewSyncer(st, app.ERPRegistry(), erp.NewPoster(st, svc, log), log), nil
}

func (c *cli) erpTestCommand() *cobra.Command {
	var org string
	cmd := &cobra.Command{
		Use:   "test --org ID CONNECTION",
		Short: "Test a connection step by step: settings, authentication, reading each entity",
		Long: "Test an ERP connection: each step (settings, reaching the server, authenticating, reading one\n" +
			"page of each entity) is printed with how long it took; the first step that fails says exactly\n" +
			"what went wrong and the command exits 1. Credentials are never printed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, st, org, s, err := c.syncer(cmd, org, "")
			if err != nil {
				return fmt.Errorf("erp test: %w", err)
			}
			defer st.Close()
			steps, err := s.Test(ctx, org, args[0])
			if err != nil {
				return fmt.Errorf("erp test: %w", err)
			}
			failed := ""
			for _, st := range steps {
				mark := "ok  "
				if !st.OK {
					mark, failed = "FAIL", st.Name
				}
				fmt.Fprintf(c.stdout, "%s  %-40s %8s  %s\n", mark, st.Name, st.Elapsed.Round(time.Millisecond), st.Detail)
			}
			if failed != "" {
				return fmt.Errorf("erp test: connection %s failed at %q", args[0], failed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization's id")
	return cmd
}

func (c *cli) erpSyncCommand() *cobra.Command {
	var org, by, format string
	var entities []string
	var full, noPost bool
	var pageSize int
	cmd := &cobra.Command{
		Use:   "sync --org ID CONNECTION [--entity E]... [--full] [--no-post]",
		Short: "Sync a connection: read changed records, quarantine bad ones, post activity data",
		Long: "Sync an ERP connection: each entity is read from its watermark (or from where an interrupted\n" +
			"sync stopped), page by page; records are upserted by source key, bad ones quarantined with the\n" +
			"reason, and mapped records posted as activity data with the latest mapping (greenlang erp\n" +
			"mapping set). --full reads everything again. Exits 1 when a job failed; the next sync resumes it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			ctx, st, org, s, err := c.syncer(cmd, org, by)
			if err != nil {
				return fmt.Errorf("erp sync: %w", err)
			}
			defer st.Close()
			rep, err := s.Sync(ctx, org, args[0], erp.SyncOptions{Entities: entities, Full: full, PageSize: pageSize, NoPost: noPost})
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				_ = enc.Encode(rep)
			} else {
				printSync(c, rep)
			}
			if err != nil {
				return fmt.Errorf("erp sync: %w", err)
			}
			if rep.Failed() {
				return errors.New("erp sync: a job failed (greenlang erp status --job ID); the next sync resumes it")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringArrayVar(&entities, "entity", nil, "an entity to sync (repeatable; default all)")
	fl.BoolVar(&full, "full", false, "read everything, not only what changed since the last sync")
	fl.BoolVar(&noPost, "no-post", false, "store the records but do not post activity data yet")
	fl.IntVar(&pageSize, "page-size", 0, "records per page (default: the connector's)")
	fl.StringVar(&format, "format", "table", "table or json")
	byFlag(cmd, &by)
	return cmd
}

func printSync(c *cli, rep erp.SyncReport) {
	fmt.Fprintln(c.stdout, "entity\tmode\tstatus\tpages\tread\twritten\tunchanged\tquarantined\telapsed\tjob")
	for _, j := range rep.Jobs {
		mode := j.Mode
		if j.Resumed {
			mode += " (resumed)"
		}
		fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", j.Entity, mode, j.Status, j.Pages, j.Read, j.Written,
			j.Unchanged, j.Quarantined, j.Elapsed, j.JobID)
		if j.Error != "" {
			fmt.Fprintf(c.stderr, "%s: %s\n", j.Entity, j.Error)
		}
	}
	p := rep.Posting
	fmt.Fprintf(c.stdout, "posting: mapping v%d, %d records: %d posted, %d reversed, %d unmapped, %d quarantined, %d suppliers; %d activities stored\n",
		p.MappingVersion, p.Records, p.Posted, p.Reversed, p.Unmapped, p.Quarantined, p.Suppliers, p.Activities)
	for _, n := range p.Notes {
		fmt.Fprintf(c.stderr, "  %s\n", n)
	}
}

func (c *cli) erpStatusCommand() *cobra.Command {
	var org, job, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "status --org ID [CONNECTION] [--job ID]",
		Short: "Show connections' sync jobs, watermarks and record counts, or one job with its errors",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			ctx, st, o, err := c.openOrg(cmd, org, "")
			if err != nil {
				return fmt.Errorf("erp status: %w", err)
			}
			defer st.Close()
			if job != "" {
				id, err := uuid.Parse(job)
				if err != nil {
					return usageErrorf("--job %q is not a UUID", job)
				}
				return c.erpJobStatus(ctx, st, o.ID, id, format)
			}
			var conns []*store.ERPConnection
			if len(args) == 1 {
				x, err := st.ERPConnectionByName(ctx, o.ID, args[0])
				if err != nil {
					return fmt.Errorf("erp status: %w", err)
				}
				conns = append(conns, x)
			} else if err := st.ERPConnections().Each(ctx, o.ID, func(x *store.ERPConnection) error { conns = append(conns, x); return nil }); err != nil {
				return fmt.Errorf("erp status: %w", err)
			}
			type connStatus struct {
				Connection *store.ERPConnection        `json:"connection"`
				States     map[string]store.SyncState  `json:"entities"`
				Records    map[string]map[string]int64 `json:"records"`
				Jobs       []*store.SyncJob            `json:"jobs"`
			}
			var out []connStatus
			for _, x := range conns {
				states, err := st.SyncStates(ctx, o.ID, x.ID)
				if err != nil {
					return fmt.Errorf("erp status: %w", err)
				}
				counts, err := st.ERPRecordCounts(ctx, o.ID, x.ID)
				if err != nil {
					return fmt.Errorf("erp status: %w", err)
				}
				jobs, err := st.SyncJobsOf(ctx, o.ID, x.ID, limit)
				if err != nil {
					return fmt.Errorf("erp status: %w", err)
				}
				x.Credentials = nil
				out = append(out, connStatus{Connection: x, States: states, Records: counts, Jobs: jobs})
			}
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			for _, cs := range out {
				x := cs.Connection
				fmt.Fprintf(c.stdout, "connection %s (%s) %s, last sync %s, schedule %s\n", x.Name, x.System, x.BaseURL, dateTime(x.LastSyncAt), orDash(x.Schedule))
				for _, e := range slices.Sorted(mapsKeys(cs.States)) {
					s := cs.States[e]
					resume := ""
					if s.ResumeJob != nil {
						resume = fmt.Sprintf(" (interrupted by job %s; the next sync resumes it)", *s.ResumeJob)
					}
					fmt.Fprintf(c.stdout, "  entity %s: watermark %s%s\n", e, orDash(s.Watermark), resume)
				}
				for _, k := range slices.Sorted(mapsKeys(cs.Records)) {
					var parts []string
					for _, state := range slices.Sorted(mapsKeys(cs.Records[k])) {
						parts = append(parts, fmt.Sprintf("%d %s", cs.Records[k][state], state))
					}
					fmt.Fprintf(c.stdout, "  records %s: %s\n", k, strings.Join(parts, ", "))
				}
				for _, j := range cs.Jobs {
					fmt.Fprintf(c.stdout, "  job %s %s %s %s: %s, read %d, written %d, failed %d%s\n", j.ID, dateTime(j.StartedAt), j.Entity, j.Mode,
						j.Status, j.RecordsRead, j.RecordsWritten, j.RecordsFailed, errSuffix(j.Error))
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.StringVar(&job, "job", "", "show one sync job and its quarantined records")
	fl.IntVar(&limit, "limit", 10, "jobs shown per connection")
	fl.StringVar(&format, "format", "table", "table or json")
	return cmd
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return " — " + e
}

func (c *cli) erpJobStatus(ctx context.Context, st *store.Store, org, id uuid.UUID, format string) error {
	j, err := st.SyncJobs().Get(ctx, org, id)
	if err != nil {
		return fmt.Errorf("erp status: %w", err)
	}
	errs, err := st.SyncErrors(ctx, org, id, 0)
	if err != nil {
		return fmt.Errorf("erp status: %w", err)
	}
	if format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"job": j, "errors": errs})
	}
	elapsed := "-"
	if j.StartedAt != nil && j.FinishedAt != nil {
		elapsed = j.FinishedAt.Sub(*j.StartedAt).Round(time.Millisecond).String()
	}
	fmt.Fprintf(c.stdout, "job %s\nentity\t%s\nmode\t%s\nstatus\t%s\nstarted\t%s\nfinished\t%s\nelapsed\t%s\nread\t%d\nwritten\t%d\nfailed\t%d\nwatermark\t%s\nerror\t%s\n",
		j.ID, j.Entity, j.Mode, j.Status, dateTime(j.StartedAt), dateTime(j.FinishedAt), elapsed, j.RecordsRead, j.RecordsWritten,
		j.RecordsFailed, orDash(j.Watermark), orDash(j.Error))
	for _, e := range errs {
		fmt.Fprintf(c.stdout, "quarantined\t%s\t%s\n", orDash(e.Key), e.Reason)
	}
	return nil
}

func (c *cli) erpMappingCommand() *cobra.Command {
	var org, by string
	set := &cobra.Command{
		Use:   "set --org ID FILE",
		Short: "Store a new version of the mapping from ERP records to activity data (YAML or JSON)",
		Long: "Store FILE as the organization's next mapping version (docs/erp.md, \"Mapping\"). Records left\n" +
			"unmapped or quarantined by the earlier version are posted again at the next sync.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("erp mapping set: %w", err)
			}
			m, err := erp.ParseMapping(b)
			if err != nil {
				return fmt.Errorf("erp mapping set: %s: %w", args[0], err)
			}
			ctx, st, o, err := c.openOrg(cmd, org, by)
			if err != nil {
				return fmt.Errorf("erp mapping set: %w", err)
			}
			defer st.Close()
			v, n, err := erp.PutMapping(ctx, st, o.ID, m, by)
			if err != nil {
				return fmt.Errorf("erp mapping set: %w", err)
			}
			fmt.Fprintf(c.stdout, "mapping version %d stored; %d unmapped or quarantined records will be posted again at the next sync\n", v.Version, n)
			return nil
		},
	}
	set.Flags().StringVar(&org, "org", "", "the organization's id")
	byFlag(set, &by)

	var showOrg string
	var version int
	show := &cobra.Command{
		Use:   "show --org ID [--version N]",
		Short: "Print the organization's mapping (the latest version, or --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, st, o, err := c.openOrg(cmd, showOrg, "")
			if err != nil {
				return fmt.Errorf("erp mapping show: %w", err)
			}
			defer st.Close()
			var m store.ActivityMapping
			if version > 0 {
				m, err = st.ActivityMappingVersion(ctx, o.ID, version)
			} else {
				m, err = st.ActivityMappingLatest(ctx, o.ID)
			}
			if err != nil {
				return fmt.Errorf("erp mapping show: %w", err)
			}
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(m)
		},
	}
	show.Flags().StringVar(&showOrg, "org", "", "the organization's id")
	show.Flags().IntVar(&version, "version", 0, "a version (default the latest)")
	return groupCommand("mapping", "The organization's versioned mapping from ERP records to activity data", set, show)
}

// credentialFlags reads --credential key=value flags (an empty value
// stands for removing the key; see store.MergeCredentials).
func credentialFlags(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--credential %q: want key=value", strings.SplitN(kv, "=", 2)[0])
		}
		out[k] = v
	}
	return out, nil
}

func (c *cli) erpUploadCommand() *cobra.Command {
	var org, by string
	cmd := &cobra.Command{
		Use:   "upload --org ID CONNECTION FILE...",
		Short: "Hand CSV or XLSX files to a spreadsheet connection; the next sync reads them",
		Long: "Check each FILE against the spreadsheet connection's column mapping (a .csv or .xlsx name one\n" +
			"entity's pattern matches, a header row with every mapped column) and store it in the\n" +
			"connection's directory, replacing a file of the same name. Rows that will be quarantined are\n" +
			"listed. A refused file is not stored; the command goes on with the next and exits 1.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, st, org, s, err := c.syncer(cmd, org, by)
			if err != nil {
				return fmt.Errorf("erp upload: %w", err)
			}
			defer st.Close()
			failed := 0
			for _, path := range args[1:] {
				f, err := os.Open(path)
				if err != nil {
					return fmt.Errorf("erp upload: %w", err)
				}
				res, err := s.Upload(ctx, org, args[0], filepath.Base(path), f)
				f.Close()
				if err != nil {
					var fe *erp.FieldError
					if !errors.As(err, &fe) {
						return fmt.Errorf("erp upload: %s: %w", path, err)
					}
					failed++
					fmt.Fprintf(c.stdout, "REFUSED  %s: %v\n", path, err)
					continue
				}
				verb := "stored"
				if res.Replaced {
					verb = "replaced"
				}
				fmt.Fprintf(c.stdout, "%-8s %s for %s: %d records, %d rows to be quarantined\n", verb, res.File,
					strings.Join(res.Entities, ", "), res.Records, res.RejectedRows)
				for _, r := range res.Rejected {
					fmt.Fprintf(c.stdout, "         %s\n", r)
				}
			}
			if failed > 0 {
				return fmt.Errorf("erp upload: %d of %d files refused", failed, len(args)-1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&org, "org", "", "the organization's id")
	byFlag(cmd, &by)
	return cmd
}

// erpJournalCommand is `greenlang erp journal`: carbon-accounting journal
// entries posted back to an ERP (SAP).
func (c *cli) erpJournalCommand() *cobra.Command {
	var org, by, format string
	var repost, check bool
	post := &cobra.Command{
		Use:   "post --org ID CONNECTION FILE [--repost] [--check]",
		Short: "Post a carbon-accounting journal entry (YAML or JSON) to a connection's ERP",
		Long: "Post the journal entry in FILE (greenlang erp journal sample) to the connection's ERP and print\n" +
			"the document it created. Debits and credits must balance per currency. Each reference is posted\n" +
			"once per connection: the attempt and its outcome go to the audit trail, and a reference already\n" +
			"posted (or whose posting never finished) is refused unless --repost. --check only reads and\n" +
			"checks FILE. Connectors that can post: sap.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: table or json", format)
			}
			b, err := os.ReadFile(args[1])
			if err != nil {
				return fmt.Errorf("erp journal post: %w", err)
			}
			e, err := erp.ParseJournal(b)
			if err != nil {
				return fmt.Errorf("erp journal post: %s: %w", args[1], err)
			}
			if check {
				fmt.Fprintf(c.stdout, "%s: journal entry %s, %d lines, balanced\n", args[1], e.Reference, len(e.Lines))
				return nil
			}
			ctx, st, org, s, err := c.syncer(cmd, org, by)
			if err != nil {
				return fmt.Errorf("erp journal post: %w", err)
			}
			defer st.Close()
			res, err := s.PostJournal(ctx, org, args[0], e, repost)
			if err != nil {
				return fmt.Errorf("erp journal post: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(c.stdout, "journal entry %s posted to %s as document %s\n", res.Reference, res.Connection, res.DocumentID)
			return nil
		},
	}
	fl := post.Flags()
	fl.StringVar(&org, "org", "", "the organization's id")
	fl.BoolVar(&repost, "repost", false, "post a reference again that was posted before (check the ERP first)")
	fl.BoolVar(&check, "check", false, "read and check FILE; post nothing")
	fl.StringVar(&format, "format", "table", "table or json")
	byFlag(post, &by)
	sample := &cobra.Command{
		Use:   "sample",
		Short: "Print a journal entry file to start from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(c.stdout, erp.SampleJournal)
			return err
		},
	}
	return groupCommand("journal", "Carbon-accounting journal entries posted back to an ERP", post, sample)
}

func (c *cli) erpSimulateCommand() *cobra.Command {
	var systems []string
	var records int
	var host string
	var port int
	cmd := &cobra.Command{
		Use:   "simulate [--system S]... [--records N] [--port P]",
		Short: "Run ERP simulators (SAP, Oracle, Workday, Dynamics 365, NetSuite) as local servers",
		Long: "Run each connector's simulator as a local HTTP server speaking the vendor's protocol, with a\n" +
			"generated data set, and print a connection for each (JSON, one per line) ready for\n" +
			"`greenlang erp connection add --file`. Runs until interrupted. --port P serves the first\n" +
			"simulator on P, the next on P+1, …; 0 picks free ports.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := app.ERPRegistry()
			if len(systems) == 0 {
				for _, s := range reg.Systems() {
					if f, _ := reg.Get(s); f.NewSimulator != nil {
						systems = append(systems, s)
					}
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var servers []*http.Server
			defer func() {
				for _, s := range servers {
					_ = s.Close()
				}
			}()
			for i, name := range systems {
				f, err := reg.Get(name)
				if err != nil {
					return usageErrorf("%v", err)
				}
				if f.NewSimulator == nil {
					return usageErrorf("system %s has no simulator", name)
				}
				addr := net.JoinHostPort(host, "0")
				if port > 0 {
					addr = net.JoinHostPort(host, fmt.Sprint(port+i))
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return fmt.Errorf("erp simulate: %w", err)
				}
				sim := f.NewSimulator(erp.SimOptions{Records: records, Seed: 1})
				srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
				servers = append(servers, srv)
				go func() { _ = srv.Serve(ln) }()
				base := "http://" + ln.Addr().String()
				auth, creds, settings := sim.Connection(base)
				b, _ := json.Marshal(erp.ConnectionSpec{Name: name + "-sim", System: name, BaseURL: base, AuthType: auth, Credentials: creds, Settings: settings})
				fmt.Fprintln(c.stdout, string(b))
				fmt.Fprintf(c.stderr, "%s simulator (%s) on %s\n", f.Title, name, base)
			}
			<-ctx.Done()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&systems, "system", nil, "a system to simulate (repeatable; default every one with a simulator)")
	fl.IntVar(&records, "records", 5000, "purchase-order lines in each simulator's data set")
	fl.StringVar(&host, "host", "127.0.0.1", "address to listen on")
	fl.IntVar(&port, "port", 0, "first port (0: free ports)")
	return cmd
}
