package port_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/port"
)

func TestErrorTextAndMatching(t *testing.T) {
	sentinel := port.Sentinel("store", port.NotFound)
	if got := sentinel.Error(); got != "store: not found" {
		t.Errorf("sentinel: %q", got)
	}
	err := fmt.Errorf("reading: %w", &port.Error{Code: port.NotFound, Op: "store: reading site", Msg: "no such site", Err: errors.New("no rows")})
	if got := err.Error(); got != "reading: store: reading site: no such site: no rows" {
		t.Errorf("error text %q", got)
	}
	if !errors.Is(err, sentinel) || errors.Is(err, port.Sentinel("store", port.Closed)) {
		t.Error("an error matches the sentinel of its code only")
	}
	if port.Of(err) != port.NotFound || port.Of(errors.New("plain")) != port.Unknown {
		t.Error("Of")
	}
}

func TestRegistry(t *testing.T) {
	r := port.NewRegistry[string]("store")
	r.Register("postgres", "pg")
	r.Register("sqlite", "lite")
	r.Alias("postgresql", "postgres")
	if open, u, err := r.Lookup("postgresql://u:secret@h/db"); err != nil || open != "pg" || u.Host != "h" {
		t.Errorf("alias: %q %v %v", open, u, err)
	}
	_, _, err := r.Lookup("mysql://u:secret@h/db")
	if port.Of(err) != port.InvalidArgument || err.Error() != `store: opening: unknown store URL scheme "mysql" (known: postgres, sqlite)` {
		t.Errorf("unknown scheme: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a scheme registered twice was accepted")
		}
	}()
	r.Register("sqlite", "again")
}

func TestAppendUUID(t *testing.T) {
	for range 100 {
		u := uuid.New()
		if got := string(port.AppendUUID([]byte("x"), u)); got != "x"+u.String() {
			t.Fatalf("got %s, want x%s", got, u)
		}
	}
}
