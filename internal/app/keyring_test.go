package app

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/config"
)

func TestKeyID(t *testing.T) {
	t.Parallel()
	// SHA-256 of 32 zero bytes starts 66687aad.
	if got := KeyID(make([]byte, 32)); got != "66687aad" {
		t.Fatalf("KeyID = %s", got)
	}
}

func TestLoadKeyring(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{1}, 32)
	old := bytes.Repeat([]byte{2}, 32)

	t.Run("configured key and rotation", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		oldCfg := config.Config{DataDir: dir, SecretKey: hex.EncodeToString(old)}
		oldRing, err := loadKeyring(oldCfg, slog.New(slog.DiscardHandler), true)
		if err != nil {
			t.Fatal(err)
		}
		id, sealed, err := oldRing.Seal([]byte("erp password"), []byte("conn-1"))
		if err != nil {
			t.Fatal(err)
		}

		cfg := config.Config{DataDir: dir, SecretKey: hex.EncodeToString(key), PreviousSecretKeys: []string{hex.EncodeToString(old)}}
		kr, err := loadKeyring(cfg, slog.New(slog.DiscardHandler), true)
		if err != nil {
			t.Fatal(err)
		}
		if kr.PrimaryID() != KeyID(key) {
			t.Fatalf("primary = %s, want %s", kr.PrimaryID(), KeyID(key))
		}
		plain, err := kr.Open(id, sealed, []byte("conn-1"))
		if err != nil || string(plain) != "erp password" {
			t.Fatalf("previous key does not open old values: %q %v", plain, err)
		}
		if _, err := os.Stat(filepath.Join(dir, config.SecretKeyFile)); !os.IsNotExist(err) {
			t.Fatalf("a key file was written although a key is configured: %v", err)
		}
	})

	t.Run("generated key file is created once and reused", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		cfg := config.Config{DataDir: dir}

		kr1, err := loadKeyring(cfg, logger, true)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, config.SecretKeyFile)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v", fi.Mode().Perm())
		}
		if !strings.Contains(logs.String(), "using a generated secret key") || !strings.Contains(logs.String(), "generated_now=true") {
			t.Fatalf("no warning logged: %s", logs.String())
		}
		kr2, err := loadKeyring(cfg, logger, true)
		if err != nil {
			t.Fatal(err)
		}
		if kr1.PrimaryID() != kr2.PrimaryID() {
			t.Fatal("the key changed between starts")
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("data dir holds %d files, want only the key", len(entries))
		}
	})

	t.Run("one-off commands do not create a key", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		kr, err := loadKeyring(config.Config{DataDir: dir}, slog.New(slog.DiscardHandler), false)
		if err != nil || kr != nil {
			t.Fatalf("loadKeyring = %v, %v; want nil, nil", kr, err)
		}
		if _, err := os.Stat(filepath.Join(dir, config.SecretKeyFile)); !os.IsNotExist(err) {
			t.Fatalf("key file created: %v", err)
		}
	})
}
