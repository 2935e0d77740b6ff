package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// EnvPrefix starts every environment variable Load reads.
const EnvPrefix = "GREENLANG_"

// EnvConfigFile names the YAML file when no --config flag is given.
const EnvConfigFile = "GREENLANG_CONFIG"

// envTestPrefix marks variables the test suites read; Load ignores them.
const envTestPrefix = "GREENLANG_TEST_"

// DefaultFile is the YAML file read from the working directory when no file
// is named and it exists.
const DefaultFile = "greenlang.yaml"

// LoadOptions say where Load finds each layer.
type LoadOptions struct {
	// File is the YAML file named on the command line (--config). It must
	// exist. Empty means GREENLANG_CONFIG, then DefaultFile if present.
	File string
	// DefaultFile is read when no file is named and it exists; empty means
	// no such fallback. The CLI passes config.DefaultFile.
	DefaultFile string
	// Environ is the environment as KEY=VALUE strings, as os.Environ gives.
	Environ []string
	// Flags maps setting keys ("http.addr") to the values of flags given on
	// the command line. Only flags the user set belong here.
	Flags map[string]string
}

// Setting is one configuration key that the environment, and perhaps a flag,
// can set.
type Setting struct {
	// Key is the YAML path, such as "http.addr".
	Key string
	// Flag is the command-line flag's name without dashes, or "".
	Flag string
	// Usage is the flag's one-line help.
	Usage string
	// Secret marks values Dump and logs must never show.
	Secret bool

	set func(c *Config, v string) error
}

// Env is the setting's environment variable.
func (s Setting) Env() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.Key, ".", "_"))
}

// Settings lists every key the environment can set, in file order.
func Settings() []Setting {
	str := func(field func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *field(c) = v; return nil }
	}
	dur := func(field func(*Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid duration %q (want a duration such as 30s or 1h)", v)
			}
			*field(c) = d
			return nil
		}
	}
	integer := func(field func(*Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid integer %q", v)
			}
			*field(c) = n
			return nil
		}
	}
	return []Setting{
		{Key: "data_dir", Flag: "data-dir", Usage: "directory for embedded engines' files (default " + DefaultDataDir + ")",
			set: str(func(c *Config) *string { return &c.DataDir })},
		{Key: "http.addr", Flag: "http-addr", Usage: "host:port the HTTP server listens on (default " + DefaultHTTPAddr + ")",
			set: str(func(c *Config) *string { return &c.HTTP.Addr })},
		{Key: "http.tls_cert_file", set: str(func(c *Config) *string { return &c.HTTP.TLSCertFile })},
		{Key: "http.tls_key_file", set: str(func(c *Config) *string { return &c.HTTP.TLSKeyFile })},
		{Key: "http.shutdown_timeout", set: dur(func(c *Config) *time.Duration { return &c.HTTP.ShutdownTimeout })},
		{Key: "http.rate_limit", set: integer(func(c *Config) *int { return &c.HTTP.RateLimit })},
		{Key: "http.rate_limit_burst", set: integer(func(c *Config) *int { return &c.HTTP.RateLimitBurst })},
		{Key: "http.max_upload_mib", set: integer(func(c *Config) *int { return &c.HTTP.MaxUploadMiB })},
		{Key: "store.url", Flag: "store-url", Usage: "relational store URL, sqlite://… or postgres://… (default sqlite://<data-dir>/greenlang.db)", Secret: true,
			set: str(func(c *Config) *string { return &c.Store.URL })},
		{Key: "store.admin_url", Secret: true, set: str(func(c *Config) *string { return &c.Store.AdminURL })},
		{Key: "stream.url", Flag: "stream-url", Usage: "event stream URL, nats+embedded://dir, nats://… or kafka://… (default nats+embedded://<data-dir>/jetstream)", Secret: true,
			set: str(func(c *Config) *string { return &c.Stream.URL })},
		{Key: "stream.namespace", set: str(func(c *Config) *string { return &c.Stream.Namespace })},
		{Key: "stream.schema_registry_url", Secret: true, set: str(func(c *Config) *string { return &c.Stream.SchemaRegistryURL })},
		{Key: "stream.allowed_lateness", set: dur(func(c *Config) *time.Duration { return &c.Stream.AllowedLateness })},
		{Key: "mqtt.url", Flag: "mqtt-url", Usage: "MQTT transport: mqtt+embedded://host:port, tcp://…, ssl://… or off (default " + DefaultMQTTURL + ")", Secret: true,
			set: str(func(c *Config) *string { return &c.MQTT.URL })},
		{Key: "mqtt.tls_cert_file", set: str(func(c *Config) *string { return &c.MQTT.TLSCertFile })},
		{Key: "mqtt.tls_key_file", set: str(func(c *Config) *string { return &c.MQTT.TLSKeyFile })},
		{Key: "mqtt.tls_addr", set: str(func(c *Config) *string { return &c.MQTT.TLSAddr })},
		{Key: "mqtt.share_group", set: str(func(c *Config) *string { return &c.MQTT.ShareGroup })},
		{Key: "mqtt.client_id", set: str(func(c *Config) *string { return &c.MQTT.ClientID })},
		{Key: "mqtt.batch_size", set: integer(func(c *Config) *int { return &c.MQTT.BatchSize })},
		{Key: "mqtt.flush_interval", set: dur(func(c *Config) *time.Duration { return &c.MQTT.FlushInterval })},
		{Key: "mqtt.queue_depth", set: integer(func(c *Config) *int { return &c.MQTT.QueueDepth })},
		{Key: "mqtt.writers", set: integer(func(c *Config) *int { return &c.MQTT.Writers })},
		{Key: "mqtt.edge_rules_file", set: str(func(c *Config) *string { return &c.MQTT.EdgeRulesFile })},
		{Key: "pipeline.disabled", set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid boolean %q (want true or false)", v)
			}
			c.Pipeline.Disabled = b
			return nil
		}},
		{Key: "pipeline.timezone", set: str(func(c *Config) *string { return &c.Pipeline.Timezone })},
		{Key: "pipeline.workers", set: integer(func(c *Config) *int { return &c.Pipeline.Workers })},
		{Key: "pipeline.backup_dir", set: str(func(c *Config) *string { return &c.Pipeline.BackupDir })},
		{Key: "pipeline.backup_keep", set: integer(func(c *Config) *int { return &c.Pipeline.BackupKeep })},
		{Key: "pipeline.quality_dir", set: str(func(c *Config) *string { return &c.Pipeline.QualityDir })},
		{Key: "anomaly.statistic", set: str(func(c *Config) *string { return &c.Anomaly.Statistic })},
		{Key: "anomaly.window", set: integer(func(c *Config) *int { return &c.Anomaly.Window })},
		{Key: "anomaly.warm_up", set: integer(func(c *Config) *int { return &c.Anomaly.WarmUp })},
		{Key: "anomaly.z_threshold", set: str(func(c *Config) *string { return &c.Anomaly.ZThreshold })},
		{Key: "anomaly.thresholds_file", set: str(func(c *Config) *string { return &c.Anomaly.ThresholdsFile })},
		{Key: "web.oidc.issuer", set: str(func(c *Config) *string { return &c.Web.OIDC.Issuer })},
		{Key: "web.oidc.client_id", set: str(func(c *Config) *string { return &c.Web.OIDC.ClientID })},
		{Key: "web.oidc.client_secret", Secret: true, set: str(func(c *Config) *string { return &c.Web.OIDC.ClientSecret })},
		{Key: "web.oidc.redirect_url", set: str(func(c *Config) *string { return &c.Web.OIDC.RedirectURL })},
		{Key: "web.oidc.scopes", set: func(c *Config, v string) error {
			c.Web.OIDC.Scopes = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
			return nil
		}},
		{Key: "web.oidc.button_label", set: str(func(c *Config) *string { return &c.Web.OIDC.ButtonLabel })},
		{Key: "secret_key", Secret: true, set: str(func(c *Config) *string { return &c.SecretKey })},
		{Key: "previous_secret_keys", Secret: true, set: func(c *Config, v string) error {
			c.PreviousSecretKeys = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
			return nil
		}},
		{Key: "log.level", Flag: "log-level", Usage: "log level: debug, info, warn or error (default " + DefaultLogLevel + ")",
			set: str(func(c *Config) *string { return &c.Log.Level })},
		{Key: "log.format", Flag: "log-format", Usage: "log format: json or text (default " + DefaultLogFormat + ")",
			set: str(func(c *Config) *string { return &c.Log.Format })},
		{Key: "maintenance_interval", set: dur(func(c *Config) *time.Duration { return &c.MaintenanceInterval })},
	}
}

// Load builds the effective configuration: defaults, then the YAML file,
// then the environment, then flags; later layers win. The result has its
// defaults applied and is validated. Errors are one line.
func Load(opts LoadOptions) (Config, error) {
	var c Config
	env := parseEnviron(opts.Environ)

	path, explicit := opts.File, opts.File != ""
	if !explicit {
		if p := env[EnvConfigFile]; p != "" {
			path, explicit = p, true
		}
	}
	if !explicit && opts.DefaultFile != "" {
		if _, err := os.Stat(opts.DefaultFile); err == nil {
			path = opts.DefaultFile
		} else if !errors.Is(err, fs.ErrNotExist) {
			return Config{}, fmt.Errorf("config: reading %s: %v", opts.DefaultFile, pathErr(err))
		}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: reading %s: %v", path, pathErr(err))
		}
		if err := decodeYAML(path, data, &c); err != nil {
			return Config{}, err
		}
	}

	if err := applyEnv(&c, env); err != nil {
		return Config{}, err
	}
	if err := applyFlags(&c, opts.Flags); err != nil {
		return Config{}, err
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func parseEnviron(environ []string) map[string]string {
	env := make(map[string]string)
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, EnvPrefix) {
			env[name] = val
		}
	}
	return env
}

// applyEnv sets c from GREENLANG_* variables. An empty variable counts as
// unset. X_FILE reads X's value from a file.
func applyEnv(c *Config, env map[string]string) error {
	all := Settings()
	byEnv := make(map[string]Setting, len(all))
	for _, s := range all {
		byEnv[s.Env()] = s
	}

	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == EnvConfigFile || strings.HasPrefix(name, envTestPrefix) {
			continue
		}
		if _, ok := byEnv[name]; ok {
			continue
		}
		if base, ok := strings.CutSuffix(name, "_FILE"); ok {
			if _, ok := byEnv[base]; ok {
				continue
			}
		}
		known := make([]string, 0, len(byEnv))
		for n := range byEnv {
			known = append(known, n)
		}
		hint := ""
		if k := closest(name, known); k != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", k)
		}
		return fmt.Errorf("config: unknown environment variable %s%s", name, hint)
	}

	for _, s := range all {
		name := s.Env()
		v, f := env[name], env[name+"_FILE"]
		source := name
		switch {
		case v != "" && f != "":
			return fmt.Errorf("config: both %s and %s_FILE are set; set one", name, name)
		case f != "":
			source = name + "_FILE"
			b, err := os.ReadFile(f)
			if err != nil {
				return fmt.Errorf("config: %s: reading %s: %v", source, f, pathErr(err))
			}
			v = strings.TrimRight(string(b), "\r\n")
		case v == "":
			continue
		}
		if err := s.set(c, v); err != nil {
			return fmt.Errorf("config: %s: %v", source, err)
		}
	}
	return nil
}

func applyFlags(c *Config, flags map[string]string) error {
	byKey := make(map[string]Setting)
	for _, s := range Settings() {
		byKey[s.Key] = s
	}
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := byKey[k]
		if !ok {
			return fmt.Errorf("config: no setting %q for a flag", k)
		}
		if err := s.set(c, flags[k]); err != nil {
			name := "--" + s.Flag
			if s.Flag == "" {
				name = k
			}
			return fmt.Errorf("config: %s: %v", name, err)
		}
	}
	return nil
}

// pathErr drops the path an *fs.PathError repeats; callers name it once.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// closest returns the known name nearest to name by edit distance, or ""
// when none is close.
func closest(name string, known []string) string {
	best, bestD := "", 3 // accept at most two edits, three for long names
	if len(name) > 15 {
		bestD = 4
	}
	sort.Strings(known)
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
