// Package password hashes and checks users' passwords with argon2id
// (RFC 9106) in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, base64 without padding),
// so the parameters travel with each hash and can be raised later without
// invalidating the old ones.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// Default is OWASP's first recommended argon2id configuration (19 MiB,
// two passes, one lane): about 30 ms on one core of the 2-core test VM.
var Default = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Length limits of a password: long enough to matter, short enough that
// hashing it cannot be used to make the server work.
const (
	MinLength = 12
	MaxLength = 256
)

const (
	saltLen = 16
	keyLen  = 32
)

// ErrMismatch is Verify's answer to a wrong password.
var ErrMismatch = errors.New("password: wrong password")

// Check says what is wrong with a new password, or nil.
func Check(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return errors.New("password is not valid UTF-8")
	case n < MinLength:
		return fmt.Errorf("password has %d characters: at least %d", n, MinLength)
	case len(pw) > MaxLength:
		return fmt.Errorf("password is longer than %d bytes", MaxLength)
	}
	return nil
}

// Hash checks pw and returns its argon2id hash with a fresh random salt.
func Hash(pw string, p Params) (string, error) {
	if err := Check(pw); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading randomness: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify checks pw against a hash from Hash: nil when it matches,
// ErrMismatch when it does not, another error when hash is not a hash
// this package can read.
func Verify(pw, hash string) error {
	p, salt, key, err := parse(hash)
	if err != nil {
		return err
	}
	if len(pw) > MaxLength {
		return ErrMismatch
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrMismatch
	}
	return nil
}

// parse reads a PHC argon2id string, refusing costs no hash of ours has
// (so a planted hash cannot make Verify allocate gigabytes).
func parse(hash string) (Params, []byte, []byte, error) {
	var p Params
	bad := func(why string) (Params, []byte, []byte, error) {
		return p, nil, nil, fmt.Errorf("password: not an argon2id hash: %s", why)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want $argon2id$v=…$m=…,t=…,p=…$salt$hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return bad("version " + parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil {
		return bad("parameters " + parts[3])
	}
	if p.MemoryKiB < 8 || p.MemoryKiB > 64*1024 || p.Time < 1 || p.Time > 10 || threads < 1 || threads > 16 {
		return bad("parameters out of range: " + parts[3])
	}
	p.Threads = uint8(threads)
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return bad("salt")
	}
	key, err := enc.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return bad("key")
	}
	return p, salt, key, nil
}
