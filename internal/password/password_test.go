package password

import (
	"errors"
	"strings"
	"testing"
)

// fast keeps the tests quick; the format and checks are the same.
var fast = Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if err := Verify("correct horse battery staple", h); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := Verify("correct horse battery stapLe", h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v, want ErrMismatch", err)
	}
	h2, _ := Hash("correct horse battery staple", fast)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

// TestKnownVector checks hashing and the encoding against the reference
// implementation's output (phc-winner-argon2's CLI:
// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e).
func TestKnownVector(t *testing.T) {
	const h = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	if err := Verify("password", h); err != nil {
		t.Fatalf("reference vector: %v", err)
	}
	if err := Verify("passwore", h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("reference vector, wrong password: %v", err)
	}
}

func TestCheck(t *testing.T) {
	for _, pw := range []string{"", "short", strings.Repeat("x", MaxLength+1), "\xff\xfe" + strings.Repeat("a", 12)} {
		if _, err := Hash(pw, fast); err == nil {
			t.Errorf("Hash(%q) accepted", pw)
		}
	}
}

func TestVerifyRefusesBadHashes(t *testing.T) {
	for _, h := range []string{
		"",
		"$2a$10$abcdefghijklmnopqrstuv",
		"$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
		"$argon2id$v=19$m=64,t=1,p=1$!!$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8",
	} {
		if err := Verify("password", h); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want a format error", h, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8")
	f.Fuzz(func(t *testing.T, h string) {
		_ = Verify("password", h) // must not panic or allocate without bound
	})
}
