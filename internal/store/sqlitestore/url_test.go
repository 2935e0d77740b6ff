package sqlitestore_test

import (
	"net/url"
	"testing"

	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

func TestPathFromURL(t *testing.T) {
	for raw, want := range map[string]string{
		"sqlite://./greenlang-data/greenlang.db":   "greenlang-data/greenlang.db",
		"sqlite:data/greenlang.db":                 "data/greenlang.db",
		"sqlite:///var/lib/greenlang/greenlang.db": "/var/lib/greenlang/greenlang.db",
		"sqlite://greenlang.db":                    "greenlang.db",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sqlitestore.PathFromURL(u)
		if err != nil || got != want && got != "./"+want && got != "."+want {
			t.Errorf("PathFromURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	if _, err := sqlitestore.PathFromURL(&url.URL{Scheme: "sqlite"}); err == nil {
		t.Error("URL without a path accepted")
	}
}

func FuzzPathFromURL(f *testing.F) {
	f.Add("sqlite://./greenlang-data/greenlang.db")
	f.Add("sqlite:///abs/x.db")
	f.Add("sqlite:rel%20x.db")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		p, err := sqlitestore.PathFromURL(u)
		if err == nil && p == "" {
			t.Fatal("empty path without an error")
		}
	})
}
