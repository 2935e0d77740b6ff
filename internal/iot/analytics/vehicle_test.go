package analytics

import (
	"errors"
	"math"
	"testing"
)

func TestHaversineAirports(t *testing.T) {
	t.Parallel()
	// Nashville BNA (36.12 N, 86.67 W) to Los Angeles LAX (33.94 N, 118.40 W),
	// Rosetta Code "Haversine formula": 2887.2599506 km on R = 6372.8 km.
	// Scaled to R = 6371.0088 km: 2887.2599506 × 6371.0088 / 6372.8
	// = 2886.448 km; accept within 0.5 % of the published figure.
	bna := Fix{Latitude: 36.12, Longitude: -86.67}
	lax := Fix{Latitude: 33.94, Longitude: -118.40}
	d, err := HaversineKM(bna, lax)
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "BNA–LAX km", d, "2886.448")
	km, _ := d.Float64()
	if rel := math.Abs(km-2887.2599506) / 2887.2599506; rel > 0.005 {
		t.Errorf("BNA–LAX %v km is %.4f%% off the published 2887.26 km", km, rel*100)
	}
	// Symmetric.
	back, _ := HaversineKM(lax, bna)
	if !back.Equal(d) {
		t.Errorf("LAX–BNA %s ≠ BNA–LAX %s", back, d)
	}
}

func TestHaversineDegree(t *testing.T) {
	t.Parallel()
	// One degree of longitude on the equator is R·π/180
	// = 6371.0088 × 0.0174532925… = 111.19508 km → 111.195.
	d, err := HaversineKM(Fix{}, Fix{Longitude: 1})
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "1° on the equator", d, "111.195")
	// Same point: zero. Antipodes: πR = 20015.1144 km.
	if d, _ := HaversineKM(Fix{Latitude: 10, Longitude: 20}, Fix{Latitude: 10, Longitude: 20}); !d.IsZero() {
		t.Errorf("same point: %s", d)
	}
	d, _ = HaversineKM(Fix{Latitude: 0, Longitude: 0}, Fix{Latitude: 0, Longitude: 180})
	requireDec(t, "antipodes", d, "20015.114")
}

func TestPathKMAndInvalid(t *testing.T) {
	t.Parallel()
	// Three fixes one degree apart along the equator: 2 × 111.195.
	p, err := PathKM([]Fix{{}, {Longitude: 1}, {Longitude: 2}})
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "path", p, "222.39")
	if p, _ := PathKM([]Fix{{}}); !p.IsZero() {
		t.Errorf("one fix: %s", p)
	}
	for _, f := range []Fix{{Latitude: 90.1}, {Latitude: math.NaN()}, {Longitude: -180.5}, {Longitude: math.Inf(1)}} {
		if _, err := HaversineKM(Fix{}, f); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("fix %+v: err = %v", f, err)
		}
	}
	if _, err := PathKM([]Fix{{}, {Latitude: 91}}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("bad path: err = %v", err)
	}
}

func TestFuelFromRegister(t *testing.T) {
	t.Parallel()
	// fuel_l_total and odometer_km through the register tracker, then
	// L/100 km: 24.6 L over 300 km = 8.2 L/100 km.
	tr := newTracker(t, RegisterConfig{})
	runSteps(t, tr, "truck", MetricFuelLTotal, []step{
		{"2025-03-01T08:00:00Z", "15230.4", EventFirst, "0"},
		{"2025-03-01T11:00:00Z", "15255.0", EventNormal, "24.6"},
	})
	runSteps(t, tr, "truck", MetricOdometerKM, []step{
		{"2025-03-01T08:00:00Z", "120500", EventFirst, "0"},
		{"2025-03-01T11:00:00Z", "120800", EventNormal, "300"},
	})
	e, err := FuelEconomyLPer100KM(dec("24.6"), dec("300"))
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "L/100 km", e, "8.2")
	if _, err := FuelEconomyLPer100KM(dec("1"), dec("0")); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("zero distance: err = %v", err)
	}
}
