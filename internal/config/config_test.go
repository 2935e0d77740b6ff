package config_test

import (
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/config"
)

var (
	keyHex  = strings.Repeat("ab", 32)
	keyB64  = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	keyHex2 = strings.Repeat("cd", 32)
)

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	got, err := config.Load(config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		DataDir: "./greenlang-data",
		HTTP:    config.HTTPConfig{Addr: "127.0.0.1:8080", ShutdownTimeout: 30 * time.Second, RateLimit: 50, RateLimitBurst: 100, MaxUploadMiB: 32},
		Store:   config.StoreConfig{URL: "sqlite://./greenlang-data/greenlang.db"},
		Stream:  config.StreamConfig{URL: "nats+embedded://./greenlang-data/jetstream", AllowedLateness: time.Minute},
		MQTT: config.MQTTConfig{URL: config.DefaultMQTTURL, TLSAddr: config.DefaultMQTTTLSAddr, ShareGroup: "greenlang", BatchSize: 1000,
			QueueDepth: 10000, Writers: 2},
		Anomaly:             config.AnomalyConfig{Statistic: "robust", Window: 30, WarmUp: 10},
		Log:                 config.LogConfig{Level: "info", Format: "json"},
		Pipeline:            config.PipelineConfig{Timezone: "UTC", Workers: 4, BackupDir: "greenlang-data/backups", BackupKeep: 7},
		MaintenanceInterval: time.Hour,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "greenlang.yaml", `
data_dir: /from/file
http:
  addr: 127.0.0.1:1001
  shutdown_timeout: 5s
log:
  level: debug
  format: text
maintenance_interval: 10m
anomaly:
  statistic: zscore
  window: 60
  z_threshold: "4"
`)
	tests := []struct {
		name  string
		env   []string
		flags map[string]string
		check func(t *testing.T, c config.Config)
	}{
		{
			name: "file over defaults",
			check: func(t *testing.T, c config.Config) {
				want := config.Config{
					DataDir: "/from/file",
					HTTP:    config.HTTPConfig{Addr: "127.0.0.1:1001", ShutdownTimeout: 5 * time.Second, RateLimit: 50, RateLimitBurst: 100, MaxUploadMiB: 32},
					Store:   config.StoreConfig{URL: "sqlite:///from/file/greenlang.db"},
					Stream:  config.StreamConfig{URL: "nats+embedded:///from/file/jetstream", AllowedLateness: time.Minute},
					MQTT: config.MQTTConfig{URL: config.DefaultMQTTURL, TLSAddr: config.DefaultMQTTTLSAddr, ShareGroup: "greenlang", BatchSize: 1000,
						QueueDepth: 10000, Writers: 2},
					Anomaly:             config.AnomalyConfig{Statistic: "zscore", Window: 60, WarmUp: 10, ZThreshold: "4"},
					Log:                 config.LogConfig{Level: "debug", Format: "text"},
					Pipeline:            config.PipelineConfig{Timezone: "UTC", Workers: 4, BackupDir: "/from/file/backups", BackupKeep: 7},
					MaintenanceInterval: 10 * time.Minute,
				}
				if !reflect.DeepEqual(c, want) {
					t.Fatalf("got %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "env over file",
			env:  []string{"GREENLANG_HTTP_ADDR=127.0.0.1:2002", "GREENLANG_LOG_LEVEL=warn", "GREENLANG_HTTP_SHUTDOWN_TIMEOUT=7s"},
			check: func(t *testing.T, c config.Config) {
				if c.HTTP.Addr != "127.0.0.1:2002" || c.Log.Level != "warn" || c.HTTP.ShutdownTimeout != 7*time.Second {
					t.Fatalf("env did not win: %+v", c)
				}
				if c.Log.Format != "text" {
					t.Fatalf("file value lost: %+v", c.Log)
				}
			},
		},
		{
			name:  "flags over env",
			env:   []string{"GREENLANG_HTTP_ADDR=127.0.0.1:2002", "GREENLANG_LOG_FORMAT=json"},
			flags: map[string]string{"http.addr": "127.0.0.1:3003"},
			check: func(t *testing.T, c config.Config) {
				if c.HTTP.Addr != "127.0.0.1:3003" {
					t.Fatalf("flag did not win: %s", c.HTTP.Addr)
				}
				if c.Log.Format != "json" {
					t.Fatalf("env lost: %s", c.Log.Format)
				}
			},
		},
		{
			name:  "store url follows the final data_dir",
			env:   []string{"GREENLANG_DATA_DIR=/from/env"},
			flags: map[string]string{"data_dir": "rel/dir"},
			check: func(t *testing.T, c config.Config) {
				if c.Store.URL != "sqlite://./rel/dir/greenlang.db" {
					t.Fatalf("store.url = %s", c.Store.URL)
				}
			},
		},
		{
			name:  "explicit store url is kept",
			env:   []string{"GREENLANG_STORE_URL=postgres://u@db/x"},
			flags: map[string]string{"data_dir": "/elsewhere"},
			check: func(t *testing.T, c config.Config) {
				if c.Store.URL != "postgres://u@db/x" {
					t.Fatalf("store.url = %s", c.Store.URL)
				}
			},
		},
		{
			name: "empty env var counts as unset",
			env:  []string{"GREENLANG_LOG_LEVEL="},
			check: func(t *testing.T, c config.Config) {
				if c.Log.Level != "debug" {
					t.Fatalf("log.level = %q", c.Log.Level)
				}
			},
		},
		{
			name: "test and config variables are not settings",
			env:  []string{"GREENLANG_TEST_POSTGRES_URL=postgres://x", "GREENLANG_TEST_ANYTHING=1"},
			check: func(t *testing.T, c config.Config) {
				if c.Store.URL != "sqlite:///from/file/greenlang.db" {
					t.Fatalf("store.url = %s", c.Store.URL)
				}
			},
		},
		{
			name: "previous keys from env",
			env:  []string{"GREENLANG_SECRET_KEY=" + keyHex, "GREENLANG_PREVIOUS_SECRET_KEYS=" + keyHex2 + ", " + keyB64},
			check: func(t *testing.T, c config.Config) {
				if c.SecretKey != keyHex || !reflect.DeepEqual(c.PreviousSecretKeys, []string{keyHex2, keyB64}) {
					t.Fatalf("keys = %q %q", c.SecretKey, c.PreviousSecretKeys)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(config.LoadOptions{File: file, Environ: tt.env, Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadFileDiscovery(t *testing.T) {
	t.Parallel()
	fromEnv := writeFile(t, "env.yaml", "data_dir: /from/env-file\n")
	fromFlag := writeFile(t, "flag.yaml", "data_dir: /from/flag-file\n")
	fallback := writeFile(t, "greenlang.yaml", "data_dir: /from/default-file\n")
	missing := filepath.Join(t.TempDir(), "missing.yaml")

	tests := []struct {
		name    string
		opts    config.LoadOptions
		dataDir string
		wantErr string
	}{
		{"flag beats GREENLANG_CONFIG", config.LoadOptions{File: fromFlag, Environ: []string{"GREENLANG_CONFIG=" + fromEnv}, DefaultFile: fallback}, "/from/flag-file", ""},
		{"GREENLANG_CONFIG beats the default file", config.LoadOptions{Environ: []string{"GREENLANG_CONFIG=" + fromEnv}, DefaultFile: fallback}, "/from/env-file", ""},
		{"default file when present", config.LoadOptions{DefaultFile: fallback}, "/from/default-file", ""},
		{"absent default file is fine", config.LoadOptions{DefaultFile: missing}, "./greenlang-data", ""},
		{"named file must exist", config.LoadOptions{File: missing}, "", "config: reading " + missing + ": no such file or directory"},
		{"GREENLANG_CONFIG file must exist", config.LoadOptions{Environ: []string{"GREENLANG_CONFIG=" + missing}}, "", "config: reading " + missing + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tt.opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tt.dataDir {
				t.Fatalf("data_dir = %q, want %q", c.DataDir, tt.dataDir)
			}
		})
	}
}

func TestLoadFileVariants(t *testing.T) {
	t.Parallel()
	keyFile := writeFile(t, "key", keyHex+"\n")
	urlFile := writeFile(t, "url", "postgres://app:s3cret@db:5432/greenlang\r\n")
	certFile := writeFile(t, "certpath", "/etc/tls/cert.pem\n")
	missing := filepath.Join(t.TempDir(), "nope")

	tests := []struct {
		name    string
		env     []string
		check   func(t *testing.T, c config.Config)
		wantErr string
	}{
		{
			name: "values read from files, trailing newline trimmed",
			env: []string{"GREENLANG_SECRET_KEY_FILE=" + keyFile, "GREENLANG_STORE_URL_FILE=" + urlFile,
				"GREENLANG_STORE_ADMIN_URL_FILE=" + urlFile},
			check: func(t *testing.T, c config.Config) {
				if c.SecretKey != keyHex {
					t.Fatalf("secret_key = %q", c.SecretKey)
				}
				if c.Store.URL != "postgres://app:s3cret@db:5432/greenlang" || c.Store.AdminURL != c.Store.URL {
					t.Fatalf("store = %+v", c.Store)
				}
			},
		},
		{
			name: "a key whose name ends in _FILE has its own _FILE variant",
			env:  []string{"GREENLANG_HTTP_TLS_CERT_FILE_FILE=" + certFile, "GREENLANG_HTTP_TLS_KEY_FILE=/etc/tls/key.pem"},
			check: func(t *testing.T, c config.Config) {
				if c.HTTP.TLSCertFile != "/etc/tls/cert.pem" || c.HTTP.TLSKeyFile != "/etc/tls/key.pem" {
					t.Fatalf("http = %+v", c.HTTP)
				}
			},
		},
		{
			name:    "both set",
			env:     []string{"GREENLANG_SECRET_KEY=" + keyHex, "GREENLANG_SECRET_KEY_FILE=" + keyFile},
			wantErr: "config: both GREENLANG_SECRET_KEY and GREENLANG_SECRET_KEY_FILE are set; set one",
		},
		{
			name:    "missing file",
			env:     []string{"GREENLANG_STORE_URL_FILE=" + missing},
			wantErr: "config: GREENLANG_STORE_URL_FILE: reading " + missing + ": no such file or directory",
		},
		{
			name:    "bad duration",
			env:     []string{"GREENLANG_MAINTENANCE_INTERVAL=soon"},
			wantErr: `config: GREENLANG_MAINTENANCE_INTERVAL: invalid duration "soon" (want a duration such as 30s or 1h)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(config.LoadOptions{Environ: tt.env})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		env     []string
		wantErr string
	}{
		{
			name:    "top-level key in file",
			yaml:    "data_dir: x\nlog:\n  level: info\nstroe:\n  url: sqlite://x.db\n",
			wantErr: `line 4: unknown key "stroe" (did you mean "store"?)`,
		},
		{
			name:    "nested key in file",
			yaml:    "store:\n  url: sqlite://x.db\n  admin_ulr: postgres://x\n",
			wantErr: `line 3: unknown key "store.admin_ulr" (did you mean "admin_url"?)`,
		},
		{
			name:    "key nobody would mistype",
			yaml:    "kafka: {}\n",
			wantErr: `line 1: unknown key "kafka"`,
		},
		{
			name:    "environment variable",
			env:     []string{"GREENLANG_STROE_URL=sqlite://x.db"},
			wantErr: "config: unknown environment variable GREENLANG_STROE_URL (did you mean GREENLANG_STORE_URL?)",
		},
		{
			name:    "environment _FILE of an unknown key",
			env:     []string{"GREENLANG_PASSWORD_FILE=/x"},
			wantErr: "config: unknown environment variable GREENLANG_PASSWORD_FILE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := config.LoadOptions{Environ: tt.env}
			want := tt.wantErr
			if tt.yaml != "" {
				opts.File = writeFile(t, "greenlang.yaml", tt.yaml)
				want = "config: " + opts.File + " " + tt.wantErr
			}
			_, err := config.Load(opts)
			if err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
		})
	}
}

func TestLoadBadYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"syntax", "data_dir: x\nhttp:\n  addr: [\n", "line 3: malformed YAML: did not find expected node content"},
		{"syntax on the first line", "a: b: c\n", "line 1: malformed YAML: mapping values are not allowed in this context"},
		{"tab indentation", "http:\n\taddr: x\n", "line 2: malformed YAML: found character that cannot start any token"},
		{"wrong type", "http:\n  shutdown_timeout: soon\n", `line 2: invalid value for "http.shutdown_timeout": want a duration such as 30s or 1h`},
		{"bare number for a duration", "maintenance_interval: 60\n", `line 1: invalid value for "maintenance_interval": want a duration such as 30s or 1h`},
		{"scalar for a section", "http: 8080\n", `line 1: invalid value for "http": want a mapping of keys`},
		{"list item", "previous_secret_keys:\n  - a\n  - {b: c}\n", `line 3: invalid value for "previous_secret_keys[1]": want a string`},
		{"not a mapping", "just text\n", `line 1: invalid value for the top level: want a mapping of keys`},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", `line 3: duplicate key "log.level" (first set on line 2)`},
		{"two documents", "data_dir: a\n---\ndata_dir: b\n", "line 2: a second YAML document; the file must hold one"},
		{"complex key", "? [a, b]\n: c\n", "line 1: keys must be plain names"},
		{"mapping in a list of strings", "previous_secret_keys:\n  - {a: 1, a: 2}\n", `line 2: invalid value for "previous_secret_keys[0]": want a string`},
		{"alias to a mapping", "http: &h {addr: ':1'}\ndata_dir: *h\n", `line 2: invalid value for "data_dir": want a string`},
		{"alias to a section", "log: &l {level: debug}\nhttp: *l\n", `line 1: unknown key "http.level"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "greenlang.yaml", tt.yaml)
			_, err := config.Load(config.LoadOptions{File: file})
			want := "config: " + file + " " + tt.wantErr
			if err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
		})
	}
}

// TestLoadHostileFiles checks that large or repetitive files fail fast:
// yaml.v3 alone compares every key of a mapping with every other.
func TestLoadHostileFiles(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml, wantErr string }{
		{"many duplicate keys", strings.Repeat("data_dir: x\n", 40000), `line 2: duplicate key "data_dir" (first set on line 1)`},
		{"many unknown keys", strings.Repeat("k: 1\n", 40000), `line 1: unknown key "k"`},
		{"huge mapping in a list", "previous_secret_keys: [{" + strings.Repeat("a: 1, ", 40000) + "}]\n", `line 1: invalid value for "previous_secret_keys[0]": want a string`},
		{"too large", "data_dir: x\n" + strings.Repeat("# padding\n", config.MaxFileSize/10), "file is larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "greenlang.yaml", tt.yaml)
			start := time.Now()
			_, err := config.Load(config.LoadOptions{File: file})
			sep := " "
			if !strings.HasPrefix(tt.wantErr, "line") {
				sep = ": "
			}
			if want := "config: " + file + sep + tt.wantErr; err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant    %s", err, want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

func TestLoadEmptyFile(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "# only a comment\n", "---\n"} {
		c, err := config.Load(config.LoadOptions{File: writeFile(t, "greenlang.yaml", content)})
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if c.DataDir != config.DefaultDataDir {
			t.Fatalf("%q: data_dir = %q", content, c.DataDir)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	valid := config.Config{}.WithDefaults()
	tests := []struct {
		name    string
		mutate  func(c *config.Config)
		wantErr string
	}{
		{"defaults", func(*config.Config) {}, ""},
		{"tls pair", func(c *config.Config) { c.HTTP.TLSCertFile, c.HTTP.TLSKeyFile = "c.pem", "k.pem" }, ""},
		{"keys hex and base64", func(c *config.Config) { c.SecretKey, c.PreviousSecretKeys = keyHex, []string{keyB64} }, ""},
		{"any interface", func(c *config.Config) { c.HTTP.Addr = ":8080" }, ""},
		{"addr without port", func(c *config.Config) { c.HTTP.Addr = "localhost" }, `config: http.addr "localhost": want host:port`},
		{"addr with bad port", func(c *config.Config) { c.HTTP.Addr = "localhost:http" }, `config: http.addr "localhost:http": port must be a number from 0 to 65535`},
		{"tls half", func(c *config.Config) { c.HTTP.TLSCertFile = "c.pem" }, "config: http.tls_cert_file and http.tls_key_file must be set together"},
		{"negative timeout", func(c *config.Config) { c.HTTP.ShutdownTimeout = -time.Second }, "config: http.shutdown_timeout must be positive, got -1s"},
		{"zero interval", func(c *config.Config) { c.MaintenanceInterval = 0 }, "config: maintenance_interval must be positive, got 0s"},
		{"log level", func(c *config.Config) { c.Log.Level = "verbose" }, `config: log.level "verbose" is not one of debug, info, warn, error`},
		{"log format", func(c *config.Config) { c.Log.Format = "xml" }, `config: log.format "xml" is not one of json, text`},
		{"short key", func(c *config.Config) { c.SecretKey = "abcd" }, "config: secret_key: secret key must be 32 bytes as 64 hex characters or base64"},
		{"bad previous key", func(c *config.Config) { c.PreviousSecretKeys = []string{keyHex, "zz"} }, "config: previous_secret_keys[1]: secret key must be 32 bytes as 64 hex characters or base64"},
		{"store url without scheme", func(c *config.Config) { c.Store.URL = "greenlang.db" }, "config: store.url: has no scheme (want sqlite://… or postgres://…)"},
		{"admin url unparsable", func(c *config.Config) { c.Store.AdminURL = "postgres://u:p@[::1/x" }, "config: store.admin_url: is not a valid URL"},
		{"schema registry", func(c *config.Config) { c.Stream.SchemaRegistryURL = "https://u:p@registry.example:8081" }, ""},
		{"schema registry not http", func(c *config.Config) { c.Stream.SchemaRegistryURL = "kafka://registry:8081" },
			`config: stream.schema_registry_url: scheme "kafka" is not http or https`},
		{"mqtt off", func(c *config.Config) { c.MQTT.URL = "off" }, ""},
		{"mqtt external", func(c *config.Config) { c.MQTT.URL = "ssl://u:p@broker:8883" }, ""},
		{"mqtt bad scheme", func(c *config.Config) { c.MQTT.URL = "http://broker" },
			`config: mqtt.url: scheme "http" is not mqtt+embedded, tcp, ssl, mqtt or mqtts (or the URL "off")`},
		{"mqtt half tls", func(c *config.Config) { c.MQTT.TLSCertFile = "c.pem" }, "config: mqtt.tls_cert_file and mqtt.tls_key_file go together"},
		{"negative lateness", func(c *config.Config) { c.Stream.AllowedLateness = -time.Second }, "config: stream.allowed_lateness must not be negative, got -1s"},
		{"anomaly zscore", func(c *config.Config) { c.Anomaly.Statistic, c.Anomaly.ZThreshold = "zscore", "2.5" }, ""},
		{"anomaly statistic", func(c *config.Config) { c.Anomaly.Statistic = "mean" }, `config: anomaly.statistic "mean" is not robust or zscore`},
		{"anomaly warm-up above window", func(c *config.Config) { c.Anomaly.Window, c.Anomaly.WarmUp = 5, 6 },
			"config: anomaly.window 5 and anomaly.warm_up 6: want 2 <= warm_up <= window"},
		{"anomaly threshold", func(c *config.Config) { c.Anomaly.ZThreshold = "-1" }, `config: anomaly.z_threshold "-1" is not a positive decimal`},
		{"several problems on one line", func(c *config.Config) { c.Log.Level, c.Log.Format = "x", "y" },
			`config: log.level "x" is not one of debug, info, warn, error; log.format "y" is not one of json, text`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			c.PreviousSecretKeys = nil
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("error = %v\nwant    %s", err, tt.wantErr)
			}
		})
	}
}

func TestDumpRedacts(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.LoadOptions{Environ: []string{
		"GREENLANG_SECRET_KEY=" + keyHex,
		"GREENLANG_PREVIOUS_SECRET_KEYS=" + keyHex2,
		"GREENLANG_STORE_URL=postgres://app:apppass@db:5432/greenlang?sslmode=disable",
		"GREENLANG_STORE_ADMIN_URL=postgres://owner@db/greenlang?password=ownerpass",
		"GREENLANG_WEB_OIDC_ISSUER=https://login.example.com/realms/acme",
		"GREENLANG_WEB_OIDC_CLIENT_ID=greenlang",
		"GREENLANG_WEB_OIDC_CLIENT_SECRET=oidcclientsecret",
		"GREENLANG_WEB_OIDC_REDIRECT_URL=https://greenlang.example.com/auth/oidc/callback",
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Dump()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, secret := range []string{keyHex, keyHex2, "apppass", "ownerpass", "oidcclientsecret"} {
		if strings.Contains(out, secret) {
			t.Errorf("dump shows secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{
		"secret_key: REDACTED",
		"- REDACTED",
		"url: postgres://app:xxxxx@db:5432/greenlang?sslmode=disable",
		"admin_url: postgres://owner@db/greenlang?password=xxxxx",
		"shutdown_timeout: 30s",
		"maintenance_interval: 1h0m0s",
		"client_secret: REDACTED",
		"button_label: Sign in with single sign-on",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
	if c.SecretKey != keyHex {
		t.Error("Dump changed the config it was called on")
	}

	// The dump is itself a valid configuration file, apart from the redactions.
	var round config.Config
	file := writeFile(t, "dump.yaml", out)
	if round, err = config.Load(config.LoadOptions{File: file}); err == nil {
		t.Fatalf("REDACTED keys loaded without error: %+v", round)
	}
}

// TestOIDCSettings: single sign-on needs every setting, or none.
func TestOIDCSettings(t *testing.T) {
	t.Parallel()
	full := []string{
		"GREENLANG_WEB_OIDC_ISSUER=https://login.example.com",
		"GREENLANG_WEB_OIDC_CLIENT_ID=greenlang",
		"GREENLANG_WEB_OIDC_CLIENT_SECRET=s3cret",
		"GREENLANG_WEB_OIDC_REDIRECT_URL=https://gl.example.com/auth/oidc/callback",
		"GREENLANG_WEB_OIDC_SCOPES=groups, offline_access",
	}
	c, err := config.Load(config.LoadOptions{Environ: full})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Web.OIDC; o.ClientSecret != "s3cret" || !reflect.DeepEqual(o.Scopes, []string{"groups", "offline_access"}) {
		t.Fatalf("oidc %+v", o)
	}
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{full[:3], "web.oidc.redirect_url is required"},
		{[]string{full[1]}, "web.oidc.issuer is required"},
		{append(slices.Clone(full[:3]), "GREENLANG_WEB_OIDC_REDIRECT_URL=https://gl.example.com/login"), "must be this server's absolute URL ending in /auth/oidc/callback"},
		{append([]string{"GREENLANG_WEB_OIDC_ISSUER=login.example.com"}, full[1:]...), `web.oidc.issuer "login.example.com" is not an http(s) URL`},
	} {
		if _, err := config.Load(config.LoadOptions{Environ: tt.env}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.env, err, tt.want)
		}
	}
}

func TestDumpRoundTrip(t *testing.T) {
	t.Parallel()
	c, err := config.Load(config.LoadOptions{Flags: map[string]string{"data_dir": "/srv/greenlang", "log.format": "text"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Dump()
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Load(config.LoadOptions{File: writeFile(t, "dump.yaml", string(b))})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, c)
	}
}

func TestSQLiteURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, url string }{
		{"/var/lib/greenlang/greenlang.db", "sqlite:///var/lib/greenlang/greenlang.db"},
		{"greenlang-data/greenlang.db", "sqlite://./greenlang-data/greenlang.db"},
		{"./data/greenlang.db", "sqlite://./data/greenlang.db"},
		{"../data/greenlang.db", "sqlite://../data/greenlang.db"},
		{"/tmp/my data/100%/x.db", "sqlite:///tmp/my%20data/100%25/x.db"},
	}
	for _, tt := range tests {
		got := config.SQLiteURL(tt.path)
		if got != tt.url {
			t.Errorf("SQLiteURL(%q) = %q, want %q", tt.path, got, tt.url)
		}
		// The sqlite driver reads the file from host + path.
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if back := filepath.Clean(u.Host + u.Path); back != filepath.Clean(tt.path) {
			t.Errorf("%s names %q, want %q", got, back, tt.path)
		}
	}
}

func TestSettingsEnvNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range config.Settings() {
		if seen[s.Env()] {
			t.Errorf("duplicate env name %s", s.Env())
		}
		seen[s.Env()] = true
	}
	for _, want := range []string{"GREENLANG_DATA_DIR", "GREENLANG_HTTP_ADDR", "GREENLANG_STORE_URL", "GREENLANG_STORE_ADMIN_URL",
		"GREENLANG_SECRET_KEY", "GREENLANG_PREVIOUS_SECRET_KEYS", "GREENLANG_LOG_LEVEL", "GREENLANG_LOG_FORMAT",
		"GREENLANG_MAINTENANCE_INTERVAL", "GREENLANG_HTTP_SHUTDOWN_TIMEOUT", "GREENLANG_HTTP_TLS_CERT_FILE", "GREENLANG_HTTP_TLS_KEY_FILE"} {
		if !seen[want] {
			t.Errorf("no setting for %s", want)
		}
	}
}
