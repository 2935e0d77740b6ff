package config

import (
	"strings"
	"testing"
)

// FuzzLoadYAML feeds arbitrary bytes to the YAML layer: it must never panic,
// and every error must be one line that starts with "config: <file>".
func FuzzLoadYAML(f *testing.F) {
	for _, seed := range []string{
		"",
		"data_dir: ./x\nhttp:\n  addr: 127.0.0.1:0\n  shutdown_timeout: 5s\n",
		"store:\n  url: sqlite://x.db\n  admin_url: postgres://a:b@c/d\n",
		"previous_secret_keys: [a, b]\nsecret_key: " + strings.Repeat("ab", 32) + "\n",
		"log: {level: debug, format: text}\nmaintenance_interval: 1h\n",
		"stroe: x\n",
		"http:\n\taddr: x\n",
		"a: b: c\n",
		"&a [*a]\n",
		"data_dir: &x y\nhttp: *x\n",
		"---\n---\n",
		"\xff\xfe",
		"http: {addr: [1, {2: 3}]}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Config
		err := decodeYAML("fuzz.yaml", data, &c)
		if err == nil {
			return
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "config: fuzz.yaml") {
			t.Fatalf("error does not name the file: %q", msg)
		}
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("error is not one line: %q", msg)
		}
	})
}

// TestSettingKeysExist checks that every environment setting names a key of
// the file layout.
func TestSettingKeysExist(t *testing.T) {
	t.Parallel()
	for _, s := range Settings() {
		if typeAt(s.Key) == nil {
			t.Errorf("setting %s is not a key of Config", s.Key)
		}
	}
}
