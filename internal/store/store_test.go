package store_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
)

func TestOpenErrorsNameTheCauseWithoutSecrets(t *testing.T) {
	reg := store.NewRegistry()
	reg.Register("fail", func(context.Context, *url.URL, driver.Options) (driver.Driver, error) {
		return nil, errors.New("connection refused")
	})
	cases := []struct {
		url, want string
		code      store.Code
	}{
		{"mysql://u:hunter2@h/db", `unknown store URL scheme "mysql" (known: fail)`, store.CodeInvalidArgument},
		{"fail://u:hunter2@h/db", "connection refused", store.CodeUnavailable},
		{"::not a url", "not a valid URL", store.CodeInvalidArgument},
	}
	for _, c := range cases {
		_, err := reg.Open(context.Background(), c.url, store.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || store.CodeOf(err) != c.code {
			t.Errorf("Open(%q) = %v (code %v), want %q (code %v)", c.url, err, store.CodeOf(err), c.want, c.code)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error shows the password: %v", c.url, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}

func TestErrorCodesMatchSentinels(t *testing.T) {
	err := error(&store.Error{Code: store.CodeNotFound, Op: "store: reading site", Msg: "no such record"})
	wrapped := errors.Join(errors.New("context"), err)
	if !errors.Is(wrapped, store.ErrNotFound) || errors.Is(wrapped, store.ErrAlreadyExists) {
		t.Error("sentinel matching is wrong")
	}
	if store.CodeOf(wrapped) != store.CodeNotFound || store.CodeOf(errors.New("x")) != store.CodeUnknown {
		t.Error("CodeOf is wrong")
	}
	if got := err.Error(); got != "store: reading site: no such record" {
		t.Errorf("message %q", got)
	}
}

func TestJSONColumnTypes(t *testing.T) {
	var j store.JSON
	if v, err := j.Value(); err != nil || v != "{}" {
		t.Errorf("zero JSON stores as %v, %v", v, err)
	}
	if _, err := store.JSON(`{"a":`).Value(); err == nil {
		t.Error("invalid JSON accepted")
	}
	var l store.StringList
	if err := l.Scan(`["read","write"]`); err != nil || len(l) != 2 || l[1] != "write" {
		t.Errorf("scan list: %v %v", l, err)
	}
	if err := l.Scan(42); err == nil {
		t.Error("list scanned from an int")
	}
}
