package analytics

import (
	"errors"
	"testing"
)

func TestBinFill(t *testing.T) {
	t.Parallel()
	cases := []struct {
		fill, threshold string
		needs           bool
	}{
		{"79.9", "", false},
		{"80", "", true}, // default threshold 80 %, inclusive
		{"100", "", true},
		{"0", "", false},
		{"65", "60", true},
		{"59.99", "60", false},
	}
	for _, c := range cases {
		cfg := WasteConfig{}
		if c.threshold != "" {
			cfg.CollectionThresholdPct = dec(c.threshold)
		}
		s, err := BinFill(dec(c.fill), cfg)
		if err != nil {
			t.Fatalf("BinFill(%s): %v", c.fill, err)
		}
		if s.NeedsCollection != c.needs {
			t.Errorf("BinFill(%s, threshold %q) needs collection = %v, want %v", c.fill, c.threshold, s.NeedsCollection, c.needs)
		}
	}
	for _, f := range []string{"-0.1", "100.1"} {
		if _, err := BinFill(dec(f), WasteConfig{}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("fill %s: err = %v", f, err)
		}
	}
	if _, err := BinFill(dec("50"), WasteConfig{CollectionThresholdPct: dec("120")}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("threshold 120: err = %v", err)
	}
}
