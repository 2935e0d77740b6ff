// Package config is GreenLang's one typed configuration (the config room of
// the architecture). Settings come, later winning, from defaults, an optional
// YAML file, GREENLANG_* environment variables (each with a _FILE variant for
// secrets) and command-line flags. Unknown keys and variables are errors, and
// Dump prints the effective configuration with secrets redacted.
//
// No package reads global configuration: the CLI loads a Config and passes
// it down.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/greenlang/greenlang/internal/secretbox"
)

// Config is the whole platform configuration. An empty string or zero
// duration means "unset": WithDefaults replaces it with the default.
type Config struct {
	// DataDir holds the embedded engines' files and the generated secret
	// key. Default "./greenlang-data".
	DataDir string `yaml:"data_dir"`
	// HTTP configures the API server.
	HTTP HTTPConfig `yaml:"http"`
	// Store chooses the relational store.
	Store StoreConfig `yaml:"store"`
	// Stream chooses the event stream.
	Stream StreamConfig `yaml:"stream"`
	// MQTT chooses the MQTT transport devices publish to.
	MQTT MQTTConfig `yaml:"mqtt"`
	// Anomaly tunes the IoT anomaly detector (docs/processors.md).
	Anomaly AnomalyConfig `yaml:"anomaly"`
	// Web configures the dashboard (docs/dashboard.md).
	Web WebConfig `yaml:"web"`
	// SecretKey seals credentials at rest: 32 bytes as 64 hex characters or
	// base64. Default none: the server then uses <data_dir>/secret.key,
	// generating it on first start.
	SecretKey string `yaml:"secret_key"`
	// PreviousSecretKeys still open values sealed before a key rotation.
	// Default none.
	PreviousSecretKeys []string `yaml:"previous_secret_keys"`
	// Log configures the process log.
	Log LogConfig `yaml:"log"`
	// Pipeline configures the batch scheduler (docs/pipelines.md).
	Pipeline PipelineConfig `yaml:"pipeline"`
	// MaintenanceInterval is how often the store creates partitions ahead
	// of need and refreshes aggregates. Default 1h.
	MaintenanceInterval time.Duration `yaml:"maintenance_interval"`
}

// HTTPConfig configures the HTTP server.
type HTTPConfig struct {
	// Addr is the host:port to listen on. Default "127.0.0.1:8080".
	Addr string `yaml:"addr"`
	// TLSCertFile is a PEM certificate chain; with TLSKeyFile it turns TLS
	// on. Default none (plain HTTP).
	TLSCertFile string `yaml:"tls_cert_file"`
	// TLSKeyFile is the PEM private key for TLSCertFile. Default none.
	TLSKeyFile string `yaml:"tls_key_file"`
	// ShutdownTimeout bounds how long in-flight requests may finish after
	// a stop signal. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RateLimit is how many requests a second one API token may send,
	// sustained; -1 turns the limit off. Default 50.
	RateLimit int `yaml:"rate_limit"`
	// RateLimitBurst is how many requests one API token may send at once.
	// Default 100.
	RateLimitBurst int `yaml:"rate_limit_burst"`
	// MaxUploadMiB bounds an uploaded activity file. Default 32.
	MaxUploadMiB int `yaml:"max_upload_mib"`
}

// WebConfig configures the dashboard.
type WebConfig struct {
	// OIDC turns on single sign-on with an OpenID Connect identity
	// provider (docs/oidc.md). Default off.
	OIDC OIDCConfig `yaml:"oidc"`
}

// OIDCConfig is the dashboard's OpenID Connect identity provider. An empty
// Issuer turns single sign-on off.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (https; discovery at
	// Issuer/.well-known/openid-configuration).
	Issuer string `yaml:"issuer"`
	// ClientID and ClientSecret are the client registered at the provider.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// RedirectURL is the callback registered at the provider:
	// https://<host>/auth/oidc/callback.
	RedirectURL string `yaml:"redirect_url"`
	// Scopes are asked for besides openid, email and profile.
	Scopes []string `yaml:"scopes"`
	// ButtonLabel is the login page's button. Default "Sign in with single sign-on".
	ButtonLabel string `yaml:"button_label"`
}

// StoreConfig chooses the relational store.
type StoreConfig struct {
	// URL selects the driver by scheme: sqlite://path or postgres://…
	// Default "sqlite://<data_dir>/greenlang.db".
	URL string `yaml:"url"`
	// AdminURL is the PostgreSQL role that owns the schema and runs
	// migrations. Default none: URL does both.
	AdminURL string `yaml:"admin_url"`
}

// StreamConfig chooses the event stream (docs/streaming.md).
type StreamConfig struct {
	// URL selects the driver by scheme: nats+embedded://dir (a NATS
	// JetStream server inside the process), nats://host:4222 or
	// kafka://broker1,broker2. Default "nats+embedded://<data_dir>/jetstream".
	URL string `yaml:"url"`
	// Namespace prefixes every topic and consumer group on the engine, so
	// several installations share one cluster. Default none.
	Namespace string `yaml:"namespace"`
	// SchemaRegistryURL, when set, is a Confluent-compatible schema
	// registry (http:// or https://, credentials in the user information):
	// events are then Avro in the Confluent wire format and their schemas
	// are registered on start-up (docs/schemas.md). Default none: JSON.
	SchemaRegistryURL string `yaml:"schema_registry_url"`
	// AllowedLateness is how far behind a processor's event-time watermark
	// an event may arrive and still count in its windows
	// (docs/processors.md). Default 1m.
	AllowedLateness time.Duration `yaml:"allowed_lateness"`
}

// MQTTConfig chooses the MQTT transport and tunes the IoT ingest
// (docs/mqtt.md, docs/iot.md).
type MQTTConfig struct {
	// URL is mqtt+embedded://host:port (a broker inside the process),
	// tcp://host:1883 or ssl://host:8883 (an external broker the platform
	// subscribes to), or "off" (no IoT ingest). Default
	// "mqtt+embedded://127.0.0.1:1883".
	URL string `yaml:"url"`
	// TLSCertFile and TLSKeyFile (PEM) turn on the embedded broker's TLS
	// listener on TLSAddr. Default none.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSAddr is the embedded broker's TLS listener. Default
	// "127.0.0.1:8883".
	TLSAddr string `yaml:"tls_addr"`
	// ShareGroup is the shared-subscription group several greenlang
	// processes split an external broker's messages in. Default "greenlang".
	ShareGroup string `yaml:"share_group"`
	// ClientID is this process's client id on an external broker: stable
	// across restarts, so its persistent session survives them. Default
	// "greenlang-" and the host name (set when the transport opens).
	ClientID string `yaml:"client_id"`
	// BatchSize is the most readings stored in one transaction. Default 1000.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is how long a new batch of readings waits for more
	// before it may go to a writer. Default 0: at once to the first free
	// writer (while every writer is busy the batch grows anyway).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// QueueDepth bounds the messages accepted and not yet stored; when it
	// is full the ingest stops reading (back-pressure). Default 10000.
	QueueDepth int `yaml:"queue_depth"`
	// EdgeRulesFile is a JSON file of edge rules applied to readings
	// before they are stored (docs/iot.md). Default none.
	EdgeRulesFile string `yaml:"edge_rules_file"`
	// Writers is how many batches of readings are stored at once. Default 2.
	Writers int `yaml:"writers"`
}

// PipelineConfig configures the pipeline scheduler and its workers.
type PipelineConfig struct {
	// Disabled keeps serve from scheduling or running pipelines (another
	// process does). Default false.
	Disabled bool `yaml:"disabled"`
	// Timezone is the zone of cron schedules that name none (IANA name).
	// Default UTC.
	Timezone string `yaml:"timezone"`
	// Workers is how many task attempts this process runs at once.
	// Default 4.
	Workers int `yaml:"workers"`
	// BackupDir is where disaster_recovery_backup writes. Default
	// <data_dir>/backups.
	BackupDir string `yaml:"backup_dir"`
	// BackupKeep is how many backups it keeps. Default 7.
	BackupKeep int `yaml:"backup_keep"`
	// QualityDir, when set, holds expectation suites (*.yaml) that replace
	// the built-in suites of the same dataset. Default none.
	QualityDir string `yaml:"quality_dir"`
}

// AnomalyConfig tunes the iot-anomaly-detector stream processor: its
// statistical rule per device and metric, and its static threshold rules
// (docs/processors.md, "iot-anomaly-detector").
type AnomalyConfig struct {
	// Statistic is the statistical rule: "robust" (the modified z-score
	// over the window's median and MAD) or "zscore" (mean and standard
	// deviation). Default "robust".
	Statistic string `yaml:"statistic"`
	// Window is how many of a series' latest readings its baseline holds.
	// Default 30.
	Window int `yaml:"window"`
	// WarmUp is how many readings a baseline needs before the statistical
	// rule applies (2 to Window). Default 10.
	WarmUp int `yaml:"warm_up"`
	// ZThreshold is the score a reading must exceed, in absolute value, to
	// be anomalous (a decimal). Default 3.5 with robust, 3 with zscore.
	ZThreshold string `yaml:"z_threshold"`
	// ThresholdsFile is a JSON file of static threshold rules that replaces
	// the built-in ones ([] for none). Default none: the built-in rules.
	ThresholdsFile string `yaml:"thresholds_file"`
}

// Anomaly statistics.
const (
	AnomalyRobust = "robust"
	AnomalyZScore = "zscore"
)

// LogConfig configures logging.
type LogConfig struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `yaml:"level"`
	// Format is json or text. Default "json".
	Format string `yaml:"format"`
}

// Defaults.
const (
	DefaultDataDir             = "./greenlang-data"
	DefaultHTTPAddr            = "127.0.0.1:8080"
	DefaultShutdownTimeout     = 30 * time.Second
	DefaultRateLimit           = 50
	DefaultRateLimitBurst      = 100
	DefaultMaxUploadMiB        = 32
	DefaultOIDCButtonLabel     = "Sign in with single sign-on"
	DefaultLogLevel            = "info"
	DefaultLogFormat           = "json"
	DefaultMaintenanceInterval = time.Hour
	DefaultAllowedLateness     = time.Minute
	DefaultMQTTURL             = "mqtt+embedded://127.0.0.1:1883"
	DefaultMQTTTLSAddr         = "127.0.0.1:8883"
	DefaultMQTTShareGroup      = "greenlang"
	DefaultMQTTBatchSize       = 1000
	DefaultMQTTQueueDepth      = 10000
	DefaultMQTTWriters         = 2
	DefaultAnomalyWindow       = 30
	DefaultAnomalyWarmUp       = 10
	// MQTTOff turns the MQTT transport and the IoT ingest off.
	MQTTOff = "off"
	// SecretKeyFile is the key file's name inside DataDir, used when no
	// secret key is configured.
	SecretKeyFile = "secret.key"
)

// WithDefaults returns c with every unset field set to its default. The
// store URL's default is derived from DataDir, so call it once every layer
// has been applied.
func (c Config) WithDefaults() Config {
	if c.Anomaly.Statistic == "" {
		c.Anomaly.Statistic = AnomalyRobust
	}
	if c.Anomaly.Window == 0 {
		c.Anomaly.Window = DefaultAnomalyWindow
	}
	if c.Anomaly.WarmUp == 0 {
		c.Anomaly.WarmUp = min(DefaultAnomalyWarmUp, c.Anomaly.Window)
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = DefaultHTTPAddr
	}
	if c.HTTP.ShutdownTimeout == 0 {
		c.HTTP.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.HTTP.RateLimit == 0 {
		c.HTTP.RateLimit = DefaultRateLimit
	}
	if c.HTTP.RateLimitBurst == 0 {
		c.HTTP.RateLimitBurst = DefaultRateLimitBurst
	}
	if c.HTTP.MaxUploadMiB == 0 {
		c.HTTP.MaxUploadMiB = DefaultMaxUploadMiB
	}
	if c.Web.OIDC.Issuer != "" && c.Web.OIDC.ButtonLabel == "" {
		c.Web.OIDC.ButtonLabel = DefaultOIDCButtonLabel
	}
	c.Web.OIDC.Scopes = append([]string(nil), c.Web.OIDC.Scopes...)
	if c.Store.URL == "" {
		c.Store.URL = SQLiteURL(filepath.Join(c.DataDir, "greenlang.db"))
	}
	if c.Stream.URL == "" {
		c.Stream.URL = EmbeddedNATSURL(filepath.Join(c.DataDir, "jetstream"))
	}
	if c.Stream.AllowedLateness == 0 {
		c.Stream.AllowedLateness = DefaultAllowedLateness
	}
	if c.MQTT.URL == "" {
		c.MQTT.URL = DefaultMQTTURL
	}
	if c.MQTT.TLSAddr == "" {
		c.MQTT.TLSAddr = DefaultMQTTTLSAddr
	}
	if c.MQTT.ShareGroup == "" {
		c.MQTT.ShareGroup = DefaultMQTTShareGroup
	}
	if c.MQTT.BatchSize == 0 {
		c.MQTT.BatchSize = DefaultMQTTBatchSize
	}
	if c.MQTT.Writers == 0 {
		c.MQTT.Writers = DefaultMQTTWriters
	}
	if c.MQTT.QueueDepth == 0 {
		c.MQTT.QueueDepth = DefaultMQTTQueueDepth
	}
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}
	if c.Pipeline.Timezone == "" {
		c.Pipeline.Timezone = "UTC"
	}
	if c.Pipeline.Workers == 0 {
		c.Pipeline.Workers = 4
	}
	if c.Pipeline.BackupDir == "" {
		c.Pipeline.BackupDir = filepath.Join(c.DataDir, "backups")
	}
	if c.Pipeline.BackupKeep == 0 {
		c.Pipeline.BackupKeep = 7
	}
	if c.MaintenanceInterval == 0 {
		c.MaintenanceInterval = DefaultMaintenanceInterval
	}
	c.PreviousSecretKeys = append([]string(nil), c.PreviousSecretKeys...)
	return c
}

// SQLiteURL is the sqlite:// URL of the database file at path. Relative
// paths stay relative to the working directory ("sqlite://./data/x.db").
func SQLiteURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") && p != "." && p != ".." {
		p = "./" + p
	}
	return "sqlite://" + (&url.URL{Path: p}).EscapedPath()
}

// EmbeddedNATSURL is the nats+embedded:// URL of an embedded JetStream
// server storing under dir (relative paths stay relative).
func EmbeddedNATSURL(dir string) string {
	return "nats+embedded://" + strings.TrimPrefix(SQLiteURL(dir), "sqlite://")
}

// Validate checks c without touching the network or the disk. Its error is
// one line naming every problem.
func (c Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if c.DataDir == "" {
		add("data_dir is empty")
	}
	if err := checkHostPort(c.HTTP.Addr); err != nil {
		add("http.addr %q: %v", c.HTTP.Addr, err)
	}
	if (c.HTTP.TLSCertFile == "") != (c.HTTP.TLSKeyFile == "") {
		add("http.tls_cert_file and http.tls_key_file must be set together")
	}
	if c.HTTP.RateLimit < -1 {
		add("http.rate_limit must be positive, or -1 for no limit, got %d", c.HTTP.RateLimit)
	}
	if c.HTTP.RateLimitBurst < 1 {
		add("http.rate_limit_burst must be positive, got %d", c.HTTP.RateLimitBurst)
	}
	if c.HTTP.MaxUploadMiB < 1 || c.HTTP.MaxUploadMiB > 1024 {
		add("http.max_upload_mib must be from 1 to 1024, got %d", c.HTTP.MaxUploadMiB)
	}
	if o := c.Web.OIDC; o.Issuer != "" {
		if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("web.oidc.issuer %q is not an http(s) URL", o.Issuer)
		}
		for _, f := range []struct{ key, v string }{{"client_id", o.ClientID}, {"client_secret", o.ClientSecret}, {"redirect_url", o.RedirectURL}} {
			if f.v == "" {
				add("web.oidc.%s is required with web.oidc.issuer", f.key)
			}
		}
		if u, err := url.Parse(o.RedirectURL); o.RedirectURL != "" && (err != nil || u.Host == "" || !strings.HasSuffix(u.Path, "/auth/oidc/callback")) {
			add("web.oidc.redirect_url %q must be this server's absolute URL ending in /auth/oidc/callback", o.RedirectURL)
		}
	} else if o.ClientID != "" || o.ClientSecret != "" || o.RedirectURL != "" {
		add("web.oidc.issuer is required when the other web.oidc settings are given")
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		add("http.shutdown_timeout must be positive, got %s", c.HTTP.ShutdownTimeout)
	}
	if _, err := time.LoadLocation(c.Pipeline.Timezone); err != nil {
		add("pipeline.timezone %q is not a time zone: %v", c.Pipeline.Timezone, err)
	}
	if c.Pipeline.Workers < 1 || c.Pipeline.BackupKeep < 1 {
		add("pipeline.workers %d and pipeline.backup_keep %d must be at least 1", c.Pipeline.Workers, c.Pipeline.BackupKeep)
	}
	if c.MaintenanceInterval <= 0 {
		add("maintenance_interval must be positive, got %s", c.MaintenanceInterval)
	}
	if err := checkURL(c.Store.URL); err != nil {
		add("store.url: %v", err)
	}
	if c.Store.AdminURL != "" {
		if err := checkURL(c.Store.AdminURL); err != nil {
			add("store.admin_url: %v", err)
		}
	}
	if err := checkURL(c.Stream.URL, "nats+embedded", "nats", "kafka"); err != nil {
		add("stream.url: %v", err)
	}
	if c.Stream.SchemaRegistryURL != "" {
		if err := checkURL(c.Stream.SchemaRegistryURL, "http", "https"); err != nil {
			add("stream.schema_registry_url: %v", err)
		} else if u, _ := url.Parse(c.Stream.SchemaRegistryURL); u.Scheme != "http" && u.Scheme != "https" {
			add("stream.schema_registry_url: scheme %q is not http or https", u.Scheme)
		}
	}
	if c.MQTT.URL != MQTTOff {
		if err := checkURL(c.MQTT.URL, "mqtt+embedded", "tcp", "ssl"); err != nil {
			add("mqtt.url: %v", err)
		} else if u, _ := url.Parse(c.MQTT.URL); !slices.Contains([]string{"mqtt+embedded", "tcp", "ssl", "mqtt", "mqtts"}, u.Scheme) {
			add("mqtt.url: scheme %q is not mqtt+embedded, tcp, ssl, mqtt or mqtts (or the URL \"off\")", u.Scheme)
		}
	}
	if (c.MQTT.TLSCertFile == "") != (c.MQTT.TLSKeyFile == "") {
		add("mqtt.tls_cert_file and mqtt.tls_key_file go together")
	}
	if c.MQTT.BatchSize < 0 || c.MQTT.QueueDepth < 0 || c.MQTT.FlushInterval < 0 || c.MQTT.Writers < 0 {
		add("mqtt.batch_size, mqtt.queue_depth, mqtt.flush_interval and mqtt.writers must be positive")
	}
	if c.Stream.AllowedLateness < 0 {
		add("stream.allowed_lateness must not be negative, got %s", c.Stream.AllowedLateness)
	}
	if !oneOf(c.Anomaly.Statistic, []string{AnomalyRobust, AnomalyZScore}) {
		add("anomaly.statistic %q is not %s or %s", c.Anomaly.Statistic, AnomalyRobust, AnomalyZScore)
	}
	if c.Anomaly.Window < 2 || c.Anomaly.WarmUp < 2 || c.Anomaly.WarmUp > c.Anomaly.Window {
		add("anomaly.window %d and anomaly.warm_up %d: want 2 <= warm_up <= window", c.Anomaly.Window, c.Anomaly.WarmUp)
	}
	if z := c.Anomaly.ZThreshold; z != "" {
		if d, err := decimal.NewFromString(z); err != nil || !d.IsPositive() {
			add("anomaly.z_threshold %q is not a positive decimal", z)
		}
	}
	if c.SecretKey != "" {
		if _, err := secretbox.ParseKey(c.SecretKey); err != nil {
			add("secret_key: %v", err)
		}
	}
	for i, k := range c.PreviousSecretKeys {
		if _, err := secretbox.ParseKey(k); err != nil {
			add("previous_secret_keys[%d]: %v", i, err)
		}
	}
	if !oneOf(c.Log.Level, LogLevels()) {
		add("log.level %q is not one of %s", c.Log.Level, strings.Join(LogLevels(), ", "))
	}
	if !oneOf(c.Log.Format, LogFormats()) {
		add("log.format %q is not one of %s", c.Log.Format, strings.Join(LogFormats(), ", "))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New("config: " + strings.Join(problems, "; "))
}

// TLS reports whether the server should serve HTTPS.
func (c HTTPConfig) TLS() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

// LogLevels lists the accepted log.level values.
func LogLevels() []string { return []string{"debug", "info", "warn", "error"} }

// LogFormats lists the accepted log.format values.
func LogFormats() []string { return []string{"json", "text"} }

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return errors.New("port must be a number from 0 to 65535")
	}
	return nil
}

// checkURL accepts anything with a scheme; drivers judge the rest. The
// error never repeats the URL, which may hold a password.
func checkURL(raw string, schemes ...string) error {
	if raw == "" {
		return errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.Scheme == "" {
		if len(schemes) == 0 {
			schemes = []string{"sqlite", "postgres"}
		}
		want := make([]string, len(schemes))
		for i, sc := range schemes {
			want[i] = sc + "://…"
		}
		return fmt.Errorf("has no scheme (want %s or %s)", strings.Join(want[:len(want)-1], ", "), want[len(want)-1])
	}
	return nil
}

// Redacted is the placeholder Dump prints for a secret.
const Redacted = "REDACTED"

// Redacted returns a copy of c safe to print: secret keys become REDACTED
// and URL passwords are masked.
func (c Config) Redacted() Config {
	if c.SecretKey != "" {
		c.SecretKey = Redacted
	}
	prev := make([]string, len(c.PreviousSecretKeys))
	for i := range prev {
		prev[i] = Redacted
	}
	c.PreviousSecretKeys = prev
	c.Store.URL = RedactURL(c.Store.URL)
	c.Store.AdminURL = RedactURL(c.Store.AdminURL)
	c.Stream.URL = RedactURL(c.Stream.URL)
	c.Stream.SchemaRegistryURL = RedactURL(c.Stream.SchemaRegistryURL)
	c.MQTT.URL = RedactURL(c.MQTT.URL)
	if c.Web.OIDC.ClientSecret != "" {
		c.Web.OIDC.ClientSecret = Redacted
	}
	return c
}

// RedactURL masks the password of a URL, in its user information and in
// password query parameters. A string that does not parse is replaced whole.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Redacted
	}
	q := u.Query()
	changed := false
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Dump renders c as YAML with secrets redacted, in the file's key layout.
func (c Config) Dump() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return nil, fmt.Errorf("config: rendering YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: rendering YAML: %w", err)
	}
	return buf.Bytes(), nil
}
