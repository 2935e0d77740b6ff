package secretbox

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpenAndRotate(t *testing.T) {
	old, err := NewKeyring("k1", map[string][]byte{"k1": key(1)})
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := old.Seal([]byte("secret"), []byte("record-1"))
	if err != nil || id != "k1" {
		t.Fatal(id, err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("plaintext visible in sealed value")
	}
	_, again, _ := old.Seal([]byte("secret"), []byte("record-1"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same value are identical: nonce reused")
	}
	rotated, err := NewKeyring("k2", map[string][]byte{"k1": key(1), "k2": key(2)})
	if err != nil {
		t.Fatal(err)
	}
	pt, err := rotated.Open("k1", sealed, []byte("record-1"))
	if err != nil || string(pt) != "secret" {
		t.Fatalf("old value after rotation: %q %v", pt, err)
	}
	if id, _, _ := rotated.Seal([]byte("x"), nil); id != "k2" {
		t.Errorf("new values sealed with %s", id)
	}
	if _, err := rotated.Open("k1", sealed, []byte("record-2")); !errors.Is(err, ErrOpen) {
		t.Errorf("value moved to another record opened: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := rotated.Open("k1", sealed, []byte("record-1")); !errors.Is(err, ErrOpen) {
		t.Errorf("altered value opened: %v", err)
	}
	if _, err := rotated.Open("k9", sealed, nil); err == nil {
		t.Error("unknown key id accepted")
	}
	if _, err := rotated.Open("k1", []byte{1, 2}, nil); !errors.Is(err, ErrOpen) {
		t.Errorf("short value: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	k := key(7)
	for _, s := range []string{hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k), " " + hex.EncodeToString(k) + "\n"} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "abcd", hex.EncodeToString(k[:16]), "not a key at all, not a key at all, not a key at all, not a key!!"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
	if _, err := NewKeyring("a", map[string][]byte{"a": k[:5]}); err == nil {
		t.Error("short key accepted")
	}
	if _, err := NewKeyring("b", map[string][]byte{"a": k}); err == nil {
		t.Error("missing primary accepted")
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add(hex.EncodeToString(key(1)))
	f.Add(base64.StdEncoding.EncodeToString(key(2)))
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err == nil && len(k) != KeySize {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
	})
}
