package analytics

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func TestPowerFactor(t *testing.T) {
	t.Parallel()
	cases := []struct{ kw, kva, want string }{
		{"8", "10", "0.8"},
		// 7.5 / 9.2 = 0.815217… → 0.8152 (4 places).
		{"7.5", "9.2", "0.8152"},
		{"10", "10", "1"},
		{"0", "5", "0"},
		// Exported power gives a negative PF.
		{"-4", "5", "-0.8"},
	}
	for _, c := range cases {
		got, err := PowerFactor(dec(c.kw), dec(c.kva))
		if err != nil {
			t.Fatalf("PowerFactor(%s, %s): %v", c.kw, c.kva, err)
		}
		requireDec(t, "PowerFactor("+c.kw+", "+c.kva+")", got, c.want)
	}
	for _, c := range [][2]string{{"10.1", "10"}, {"-11", "10"}, {"1", "0"}, {"1", "-2"}} {
		if _, err := PowerFactor(dec(c[0]), dec(c[1])); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("PowerFactor(%s, %s): err = %v, want ErrInvalidInput", c[0], c[1], err)
		}
	}
}

func TestResolvePowerFactor(t *testing.T) {
	t.Parallel()
	none := decimal.NullDecimal{}
	pf, src, err := ResolvePowerFactor(some("0.92"), some("8"), some("10"))
	if err != nil || src != PowerFactorMeasured || !pf.Equal(dec("0.92")) {
		t.Errorf("measured: %s %s %v", pf, src, err)
	}
	pf, src, err = ResolvePowerFactor(none, some("8"), some("10"))
	if err != nil || src != PowerFactorComputed || !pf.Equal(dec("0.8")) {
		t.Errorf("computed: %s %s %v", pf, src, err)
	}
	if _, _, err := ResolvePowerFactor(some("1.02"), none, none); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("measured 1.02: err = %v", err)
	}
	if _, _, err := ResolvePowerFactor(none, some("8"), none); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("no kVA: err = %v", err)
	}
}
