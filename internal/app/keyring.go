package app

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/secretbox"
)

// KeyID names a key in a keyring: the first 8 hex characters of the SHA-256
// of its bytes, so the same key always has the same id.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// loadKeyring builds the keyring from secret_key and previous_secret_keys.
// Without secret_key it uses <data_dir>/secret.key, generating it when
// create is true; with create false and no file it returns nil (no
// credentials can be sealed or opened).
func loadKeyring(cfg config.Config, logger *slog.Logger, create bool) (*secretbox.Keyring, error) {
	var primary []byte
	if cfg.SecretKey != "" {
		k, err := secretbox.ParseKey(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("app: secret_key: %w", err)
		}
		primary = k
	} else {
		path := filepath.Join(cfg.DataDir, config.SecretKeyFile)
		k, generated, err := keyFile(path, create)
		if err != nil {
			return nil, err
		}
		if k == nil {
			return nil, nil
		}
		primary = k
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			logger.Warn("secret key file is readable by other users; chmod 600 it", slog.String("path", path))
		}
		if create { // the server warns; one-off commands stay quiet
			logger.Warn("using a generated secret key; back it up with the data directory, or set secret_key",
				slog.String("path", path), slog.Bool("generated_now", generated))
		}
	}

	keys := map[string][]byte{KeyID(primary): primary}
	for i, s := range cfg.PreviousSecretKeys {
		k, err := secretbox.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("app: previous_secret_keys[%d]: %w", i, err)
		}
		keys[KeyID(k)] = k
	}
	kr, err := secretbox.NewKeyring(KeyID(primary), keys)
	if err != nil {
		return nil, fmt.Errorf("app: building keyring: %w", err)
	}
	return kr, nil
}

// keyFile reads the key at path, or writes a new random one (mode 0600)
// when it is absent and create is true.
func keyFile(path string, create bool) (key []byte, generated bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := secretbox.ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("app: secret key file %s: %w", path, err)
		}
		return k, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, false, fmt.Errorf("app: reading secret key file %s: %v", path, unwrapPath(err))
	case !create:
		return nil, false, nil
	}

	k := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, fmt.Errorf("app: generating secret key: %w", err)
	}
	// Write a temporary file, then link it into place: the key file appears
	// whole or not at all, and a concurrent start keeps whichever came first.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret.key-*")
	if err != nil {
		return nil, false, fmt.Errorf("app: creating secret key file %s: %v", path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(hex.EncodeToString(k) + "\n")
	if err := tmp.Sync(); werr == nil {
		werr = err
	}
	if err := tmp.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return nil, false, fmt.Errorf("app: writing secret key file %s: %v", path, unwrapPath(werr))
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return keyFile(path, false)
		}
		return nil, false, fmt.Errorf("app: creating secret key file %s: %v", path, linkErr(err))
	}
	return k, true, nil
}

func linkErr(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// unwrapPath drops the path an *fs.PathError repeats; messages name it once.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
