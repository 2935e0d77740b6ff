package analytics

import (
	"testing"

	"github.com/shopspring/decimal"
)

func decs(ss ...string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(ss))
	for i, s := range ss {
		out[i] = dec(s)
	}
	return out
}

// Modified z-score of Iglewicz and Hoaglin (1993), worked by hand.
func TestRobustScore(t *testing.T) {
	t.Parallel()
	// Window 10 11 11 12 12 13 9: sorted 9 10 11 11 12 12 13, median 11;
	// |w − 11| = 1 0 0 1 1 2 2, sorted 0 0 1 1 1 2 2, MAD 1.
	w := decs("10", "11", "11", "12", "12", "13", "9")
	th := dec("3.5")
	cases := []struct {
		x, score  string
		anomalous bool
	}{
		{"20", "6.0705", true},   // 0.6745 × 9 / 1
		{"16", "3.3725", false},  // 0.6745 × 5 = 3.3725 ≤ 3.5
		{"6", "-3.3725", false},  // symmetric
		{"16.2", "3.5074", true}, // 0.6745 × 5.2 = 3.5074 > 3.5
		{"0", "-7.4195", true},   // 0.6745 × −11
		{"11", "0", false},       // the median itself
	}
	for _, c := range cases {
		r := RobustScore(w, dec(c.x), th)
		if !r.Ready || r.Method != ScoreMAD || r.Anomalous != c.anomalous || r.Infinite {
			t.Errorf("x=%s: %+v, want anomalous %v", c.x, r, c.anomalous)
		}
		requireDec(t, "median", r.Median, "11")
		requireDec(t, "MAD", r.MAD, "1")
		requireDec(t, "score x="+c.x, r.Score, c.score)
	}
	// Even count: median of 1 2 3 4 is 2.5; |w − 2.5| = 1.5 .5 .5 1.5, MAD 1;
	// x = 10: 0.6745 × 7.5 = 5.05875 → 5.0588.
	r := RobustScore(decs("4", "1", "3", "2"), dec("10"), th)
	requireDec(t, "even median", r.Median, "2.5")
	requireDec(t, "even score", r.Score, "5.0588")
}

func TestRobustScoreMADZero(t *testing.T) {
	t.Parallel()
	th := dec("3.5")
	// Window 5 5 5 5 7: median 5, deviations 0 0 0 0 2, MAD 0: fall back to
	// MeanAD = 2/5 = 0.4. x = 6: 1 / (1.253314 × 0.4) = 1.99471… → 1.9947;
	// x = 7: 3.98942… → 3.9894 > 3.5, anomalous.
	w := decs("5", "5", "5", "5", "7")
	r := RobustScore(w, dec("6"), th)
	if r.Method != ScoreMeanAD || r.Anomalous || !r.MAD.IsZero() {
		t.Errorf("x=6: %+v", r)
	}
	requireDec(t, "score x=6", r.Score, "1.9947")
	r = RobustScore(w, dec("7"), th)
	if !r.Anomalous {
		t.Errorf("x=7: %+v", r)
	}
	requireDec(t, "score x=7", r.Score, "3.9894")
	// Constant window: equal x scores 0, any other x is infinitely anomalous.
	c := decs("5", "5", "5")
	if r := RobustScore(c, dec("5.0"), th); r.Method != ScoreConstant || r.Anomalous || r.Infinite || !r.Score.IsZero() {
		t.Errorf("constant, equal: %+v", r)
	}
	if r := RobustScore(c, dec("5.1"), th); r.Method != ScoreConstant || !r.Anomalous || !r.Infinite {
		t.Errorf("constant, different: %+v", r)
	}
	if r := RobustScore(nil, dec("1"), th); r.Ready {
		t.Errorf("empty window: %+v", r)
	}
}
