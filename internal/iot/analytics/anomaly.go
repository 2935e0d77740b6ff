package analytics

import (
	"slices"

	"github.com/shopspring/decimal"
)

// AnomalyScoreScale is the number of decimal places AnomalyResult.Score is
// rounded to. The anomalous flag is decided on the exact value.
const AnomalyScoreScale = 4

// Constants of the modified z-score. 0.6745 is the 0.75 quantile of the
// standard normal, so that 0.6745·(x − median)/MAD has the scale of a
// z-score for normal data (Iglewicz and Hoaglin, "How to Detect and Handle
// Outliers", ASQC Basic References in Quality Control vol. 16, 1993).
// 1.253314 ≈ √(π/2) scales the mean absolute deviation likewise; it is used
// when MAD is zero (the fallback IBM documents for its modified z-score).
const (
	madConstant    = "0.6745"
	meanADConstant = "1.253314"
)

// ScoreMethod says how an anomaly score was computed.
type ScoreMethod string

// The methods RobustScore uses.
const (
	// ScoreMAD: 0.6745 × (x − median) / MAD, the modified z-score.
	ScoreMAD ScoreMethod = "mad"
	// ScoreMeanAD: (x − median) / (1.253314 × MeanAD), used when MAD = 0
	// but the window's values are not all equal.
	ScoreMeanAD ScoreMethod = "mean_ad"
	// ScoreConstant: every value in the window is equal (MAD and MeanAD are
	// zero). x equal to them scores 0; any other x is anomalous with an
	// infinite score, reported as Infinite.
	ScoreConstant ScoreMethod = "constant"
)

// AnomalyResult is the score of one value against its series' window.
type AnomalyResult struct {
	// Ready is false for an empty window; the other fields are then zero.
	Ready bool
	// Median and MAD are the window's median and median absolute deviation.
	Median, MAD decimal.Decimal
	// Spread is the scale Score divides by besides its constant: the MAD
	// (ScoreMAD), or 1.253314 × the mean absolute deviation (ScoreMeanAD,
	// to 6 places); zero for ScoreConstant.
	Spread decimal.Decimal
	// Score is the signed robust z, rounded to AnomalyScoreScale places;
	// meaningless when Infinite.
	Score decimal.Decimal
	// Infinite is true when the window is constant and x differs from it.
	Infinite bool
	// Method says which formula gave Score.
	Method ScoreMethod
	// Anomalous is true when |z| > Threshold (exactly, before rounding).
	Anomalous bool
}

// RobustScore scores x against window with the modified z-score of
// Iglewicz and Hoaglin, z = 0.6745 × (x − median) / MAD, where MAD is the
// median of |w − median|, and flags |z| > threshold. When MAD is zero it
// falls back to z = (x − median) / (1.253314 × MeanAD), MeanAD the mean of
// |w − median|; when that is zero too (a constant window), x equal to the
// median scores 0 and any other x is anomalous with an infinite score. An
// empty window gives a result that is not Ready.
func RobustScore(window []decimal.Decimal, x, threshold decimal.Decimal) AnomalyResult {
	if len(window) == 0 {
		return AnomalyResult{}
	}
	med := median(window)
	devs := make([]decimal.Decimal, len(window))
	sumDev := decimal.Zero
	for i, v := range window {
		devs[i] = v.Sub(med).Abs()
		sumDev = sumDev.Add(devs[i])
	}
	mad := median(devs)
	diff := x.Sub(med)
	res := AnomalyResult{Ready: true, Median: med, MAD: mad}
	switch {
	case mad.IsPositive():
		// z = c·diff/MAD; |z| > t ⇔ |c·diff| > t·MAD.
		c := madC
		res.Method, res.Spread = ScoreMAD, mad
		res.Score = c.Mul(diff).DivRound(mad, AnomalyScoreScale)
		res.Anomalous = c.Mul(diff).Abs().GreaterThan(threshold.Mul(mad))
	case sumDev.IsPositive():
		// z = diff / (k · sum/n) = n·diff / (k·sum).
		k := meanADC
		n := decimal.NewFromInt(int64(len(window)))
		res.Method, res.Spread = ScoreMeanAD, k.Mul(sumDev).DivRound(n, 6)
		res.Score = n.Mul(diff).DivRound(k.Mul(sumDev), AnomalyScoreScale)
		res.Anomalous = n.Mul(diff).Abs().GreaterThan(threshold.Mul(k).Mul(sumDev))
	default:
		res.Method = ScoreConstant
		res.Infinite = !diff.IsZero()
		res.Anomalous = res.Infinite
	}
	return res
}

// median returns the median of vs (mean of the two middle values for an
// even count, exact since halving a decimal terminates).
func median(vs []decimal.Decimal) decimal.Decimal {
	s := slices.Clone(vs)
	slices.SortFunc(s, func(a, b decimal.Decimal) int { return a.Cmp(b) })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1].Add(s[n/2]).Mul(half)
}

// The constants as decimals, parsed once (decimals are immutable values).
var (
	madC    = decimal.RequireFromString(madConstant)
	meanADC = decimal.RequireFromString(meanADConstant)
	half    = decimal.RequireFromString("0.5")
)
