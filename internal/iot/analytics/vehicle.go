package analytics

import (
	"fmt"
	"math"
	"time"

	"github.com/shopspring/decimal"
)

// EarthMeanRadiusKM is the mean radius of the WGS-84 ellipsoid,
// R1 = (2a + b) / 3 = 6371.0088 km (IUGG; Moritz, Geodetic Reference System
// 1980, Bulletin Géodésique 54, 1980), used for haversine distances.
const EarthMeanRadiusKM = 6371.0088

// DistanceScale is the number of decimal places (km) HaversineKM rounds to:
// 3, i.e. metres.
const DistanceScale = 3

// Fix is one GPS position of a vehicle_tracker, in decimal degrees on
// WGS-84. Latitudes and longitudes arrive as separate readings; pair those
// with the same device and time into one Fix.
type Fix struct {
	Latitude  float64
	Longitude float64
	Time      time.Time
}

func (f Fix) validate() error {
	if math.IsNaN(f.Latitude) || f.Latitude < -90 || f.Latitude > 90 {
		return fmt.Errorf("analytics: GPS fix at %s: latitude %v is outside [-90, 90]: %w", f.Time.Format(time.RFC3339), f.Latitude, ErrInvalidInput)
	}
	if math.IsNaN(f.Longitude) || f.Longitude < -180 || f.Longitude > 180 {
		return fmt.Errorf("analytics: GPS fix at %s: longitude %v is outside [-180, 180]: %w", f.Time.Format(time.RFC3339), f.Longitude, ErrInvalidInput)
	}
	return nil
}

// HaversineKM returns the great-circle distance between two fixes in km on
// a sphere of radius EarthMeanRadiusKM, rounded to DistanceScale places:
//
//	a = sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2)
//	d = 2R · asin(√a)
//
// It computes in float64: the inputs are floats already and float64 keeps
// far more precision than GPS gives; the sphere itself is off the ellipsoid
// by up to about 0.5 %. The result is returned as a decimal for summing.
func HaversineKM(a, b Fix) (decimal.Decimal, error) {
	if err := a.validate(); err != nil {
		return decimal.Decimal{}, err
	}
	if err := b.validate(); err != nil {
		return decimal.Decimal{}, err
	}
	const rad = math.Pi / 180
	phi1, phi2 := a.Latitude*rad, b.Latitude*rad
	dPhi := (b.Latitude - a.Latitude) * rad
	dLambda := (b.Longitude - a.Longitude) * rad
	h := math.Sin(dPhi/2)*math.Sin(dPhi/2) + math.Cos(phi1)*math.Cos(phi2)*math.Sin(dLambda/2)*math.Sin(dLambda/2)
	h = math.Min(1, h) // guard rounding for antipodal points
	d := 2 * EarthMeanRadiusKM * math.Asin(math.Sqrt(h))
	return decimal.NewFromFloat(d).Round(DistanceScale), nil
}

// PathKM returns the length of a track, the sum of HaversineKM between
// successive fixes, in the order given (sort by time first). Fewer than two
// fixes give zero.
func PathKM(fixes []Fix) (decimal.Decimal, error) {
	total := decimal.Zero
	for i := 1; i < len(fixes); i++ {
		d, err := HaversineKM(fixes[i-1], fixes[i])
		if err != nil {
			return decimal.Decimal{}, fmt.Errorf("analytics: path leg %d: %w", i, err)
		}
		total = total.Add(d)
	}
	return total, nil
}

// FuelEconomyScale is the number of decimal places FuelEconomyLPer100KM
// rounds to.
const FuelEconomyScale = 3

// FuelEconomyLPer100KM returns fuel used per 100 km, litres × 100 / km,
// rounded to FuelEconomyScale places. Take fuelL from the fuel_l_total
// register's deltas (RegisterTracker) and distanceKM from odometer_km
// deltas or PathKM. distanceKM must be positive.
func FuelEconomyLPer100KM(fuelL, distanceKM decimal.Decimal) (decimal.Decimal, error) {
	if fuelL.IsNegative() {
		return decimal.Decimal{}, fmt.Errorf("analytics: fuel economy: fuel %s L is negative: %w", fuelL, ErrInvalidInput)
	}
	if !distanceKM.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("analytics: fuel economy: distance %s km is not positive: %w", distanceKM, ErrInvalidInput)
	}
	return fuelL.Mul(decimal.NewFromInt(100)).DivRound(distanceKM, FuelEconomyScale), nil
}
