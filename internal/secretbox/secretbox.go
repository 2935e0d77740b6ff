// Package secretbox seals small secrets (ERP credentials) at rest with
// AES-256-GCM. Each sealed value records the id of the key that sealed it so
// keys can be rotated: new values use the primary key, old ones still open.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// Keyring holds the keys that open sealed values and names the one that seals.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// ParseKey decodes a 32-byte key written as 64 hex characters or as base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret key must be %d bytes as 64 hex characters or base64", KeySize)
}

// NewKeyring makes a keyring whose primary key is primaryID. keys maps key
// ids to 32-byte keys.
func NewKeyring(primaryID string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[primaryID]; !ok {
		return nil, fmt.Errorf("secretbox: primary key %q not among the keys", primaryID)
	}
	kr := &Keyring{primary: primaryID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for id, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secretbox: key %q is %d bytes, want %d", id, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", id, err)
		}
		kr.aeads[id] = aead
	}
	return kr, nil
}

// PrimaryID is the id of the key new values are sealed with.
func (k *Keyring) PrimaryID() string { return k.primary }

// Seal encrypts plaintext with the primary key. aad binds the ciphertext to
// its context (for example the record id), so it cannot be moved to another
// record. The result is nonce || ciphertext || tag.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	aead := k.aeads[k.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("secretbox: reading nonce: %w", err)
	}
	return k.primary, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// ErrOpen is returned when a sealed value cannot be opened: wrong key, wrong
// context or altered bytes.
var ErrOpen = errors.New("secretbox: cannot open sealed value (wrong key or altered data)")

// Open decrypts a value sealed by Seal with the key keyID.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("secretbox: key %q is not configured", keyID)
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	n := aead.NonceSize()
	pt, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
