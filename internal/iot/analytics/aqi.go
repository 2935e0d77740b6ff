package analytics

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Pollutant names an AQI pollutant.
type Pollutant string

// The pollutants whose AQI this package computes.
const (
	PollutantPM25 Pollutant = "PM2.5"
	PollutantPM10 Pollutant = "PM10"
)

// AQICategory is one of EPA's six AQI categories.
type AQICategory string

// EPA's AQI category names (Technical Assistance Document, May 2024, Table 1).
const (
	AQIGood                        AQICategory = "Good"
	AQIModerate                    AQICategory = "Moderate"
	AQIUnhealthyForSensitiveGroups AQICategory = "Unhealthy for Sensitive Groups"
	AQIUnhealthy                   AQICategory = "Unhealthy"
	AQIVeryUnhealthy               AQICategory = "Very Unhealthy"
	AQIHazardous                   AQICategory = "Hazardous"
)

// aqiSegment is one row of EPA's breakpoint table for one pollutant:
// concentrations [cLo, cHi] map linearly onto index values [iLo, iHi].
type aqiSegment struct {
	cLo, cHi string
	iLo, iHi int64
	category AQICategory
}

// pm25Segments returns the 24-hour PM2.5 breakpoints in µg/m³ of EPA's
// Technical Assistance Document for the Reporting of Daily Air Quality –
// the Air Quality Index (AQI), EPA-454/B-24-002, May 2024, Table 6 (the
// 2024 revision, in force from 6 May 2024; 40 CFR 58 Appendix G Table 2).
func pm25Segments() []aqiSegment {
	return []aqiSegment{
		{"0.0", "9.0", 0, 50, AQIGood},
		{"9.1", "35.4", 51, 100, AQIModerate},
		{"35.5", "55.4", 101, 150, AQIUnhealthyForSensitiveGroups},
		{"55.5", "125.4", 151, 200, AQIUnhealthy},
		{"125.5", "225.4", 201, 300, AQIVeryUnhealthy},
		{"225.5", "325.4", 301, 500, AQIHazardous},
	}
}

// pm10Segments returns the 24-hour PM10 breakpoints in µg/m³, same source
// (unchanged in 2024 except that Hazardous is one 301–500 row, 425–604).
func pm10Segments() []aqiSegment {
	return []aqiSegment{
		{"0", "54", 0, 50, AQIGood},
		{"55", "154", 51, 100, AQIModerate},
		{"155", "254", 101, 150, AQIUnhealthyForSensitiveGroups},
		{"255", "354", 151, 200, AQIUnhealthy},
		{"355", "424", 201, 300, AQIVeryUnhealthy},
		{"425", "604", 301, 500, AQIHazardous},
	}
}

// SubIndex is the AQI of one pollutant.
type SubIndex struct {
	Pollutant Pollutant
	// Concentration is the truncated concentration the index was computed
	// from: PM2.5 to 0.1 µg/m³, PM10 to 1 µg/m³.
	Concentration decimal.Decimal
	// AQI is the index, rounded to the nearest integer (halves up).
	AQI int64
	// Category is EPA's category for AQI.
	Category AQICategory
	// BeyondAQI is true when the concentration is above the top breakpoint
	// (PM2.5 325.4, PM10 604 µg/m³), which EPA calls "Beyond the AQI". AQI
	// is then extrapolated along the Hazardous row, so it exceeds 500, and
	// Category is Hazardous: EPA advises following the Hazardous
	// recommendations there.
	BeyondAQI bool
}

// PM25AQI returns the AQI of a PM2.5 concentration in µg/m³. EPA defines the
// PM2.5 AQI on the 24-hour average: give the mean of the last 24 hourly
// values (or a NowCast if you report hourly; computing either is the
// caller's job). The concentration is truncated to 0.1 µg/m³, then
// interpolated linearly inside its breakpoint row:
//
//	I = (I_hi − I_lo) / (C_hi − C_lo) × (C − C_lo) + I_lo
//
// and rounded to the nearest integer. A negative concentration is an error.
func PM25AQI(ugm3 decimal.Decimal) (SubIndex, error) {
	return subIndex(PollutantPM25, ugm3, 1, pm25Segments())
}

// PM10AQI returns the AQI of a PM10 concentration in µg/m³, to be given as a
// 24-hour average as for PM25AQI. The concentration is truncated to an
// integer µg/m³ before interpolation.
func PM10AQI(ugm3 decimal.Decimal) (SubIndex, error) {
	return subIndex(PollutantPM10, ugm3, 0, pm10Segments())
}

// subIndex truncates raw to places decimals and interpolates it in segs.
func subIndex(p Pollutant, raw decimal.Decimal, places int32, segs []aqiSegment) (SubIndex, error) {
	if raw.IsNegative() {
		return SubIndex{}, fmt.Errorf("analytics: %s AQI: concentration %s µg/m³ is negative: %w", p, raw, ErrInvalidInput)
	}
	c := raw.Truncate(places)
	top := segs[len(segs)-1]
	seg := top
	for _, s := range segs {
		if c.LessThanOrEqual(decimal.RequireFromString(s.cHi)) {
			seg = s
			break
		}
	}
	cLo, cHi := decimal.RequireFromString(seg.cLo), decimal.RequireFromString(seg.cHi)
	iLo, iHi := decimal.NewFromInt(seg.iLo), decimal.NewFromInt(seg.iHi)
	// I = ((iHi−iLo)(c−cLo) + iLo(cHi−cLo)) / (cHi−cLo), rounded half up
	// exactly: no intermediate rounding.
	den := cHi.Sub(cLo)
	num := iHi.Sub(iLo).Mul(c.Sub(cLo)).Add(iLo.Mul(den))
	q, r := num.QuoRem(den, 0)
	if r.Mul(decimal.NewFromInt(2)).GreaterThanOrEqual(den) {
		q = q.Add(decimal.NewFromInt(1))
	}
	return SubIndex{
		Pollutant:     p,
		Concentration: c,
		AQI:           q.IntPart(),
		Category:      seg.category,
		BeyondAQI:     c.GreaterThan(decimal.RequireFromString(top.cHi)),
	}, nil
}

// AQIResult is the overall AQI from the pollutants that were given.
type AQIResult struct {
	// AQI is the highest sub-index, Category its category and Responsible
	// the pollutant that gave it (EPA's "critical pollutant"). When PM2.5 and
	// PM10 tie, PM2.5 is named.
	AQI         int64
	Category    AQICategory
	Responsible Pollutant
	// BeyondAQI is true when the responsible sub-index is beyond the AQI.
	BeyondAQI bool
	// SubIndices holds each pollutant's sub-index, PM2.5 first.
	SubIndices []SubIndex
}

// OverallAQI returns the AQI from 24-hour average PM2.5 and PM10
// concentrations in µg/m³, either of which may be absent (Valid false), but
// not both. The overall AQI is the maximum of the sub-indices.
func OverallAQI(pm25, pm10 decimal.NullDecimal) (AQIResult, error) {
	var subs []SubIndex
	if pm25.Valid {
		s, err := PM25AQI(pm25.Decimal)
		if err != nil {
			return AQIResult{}, err
		}
		subs = append(subs, s)
	}
	if pm10.Valid {
		s, err := PM10AQI(pm10.Decimal)
		if err != nil {
			return AQIResult{}, err
		}
		subs = append(subs, s)
	}
	if len(subs) == 0 {
		return AQIResult{}, fmt.Errorf("analytics: overall AQI: neither PM2.5 nor PM10 given: %w", ErrInvalidInput)
	}
	best := subs[0]
	for _, s := range subs[1:] {
		if s.AQI > best.AQI {
			best = s
		}
	}
	return AQIResult{
		AQI:         best.AQI,
		Category:    best.Category,
		Responsible: best.Pollutant,
		BeyondAQI:   best.BeyondAQI,
		SubIndices:  subs,
	}, nil
}
