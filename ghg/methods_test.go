package ghg

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestApplyChecksScopeCategoryAndDimension(t *testing.T) {
	c := NewUnits()
	calc := NewCalculator("AR5", hubAR5{})
	waste := Factor{ID: "landfill", Per: c.MustParse("tonne"), KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("500")}}
	a := Activity{ID: "w1", Type: "mixed_waste", Quantity: Quantity{Value: dec("2500"), Unit: c.MustParse("kg")}}
	r, err := calc.Apply(MethodWaste, a, waste, 5)
	if err != nil || !r.CO2eKg.Equal(dec("1250")) || r.Scope != 3 || r.Category != 5 {
		t.Fatalf("waste: %+v %v", r, err)
	}
	for name, tc := range map[string]struct {
		method string
		a      Activity
		cat    int
		want   string
	}{
		"waste in kWh":        {MethodWaste, Activity{ID: "w2", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("kWh")}}, 5, "needs one of mass, volume"},
		"waste as category 6": {MethodWaste, a, 6, "category [5 12], not 6"},
		"hotel in km":         {MethodHotel, Activity{ID: "h", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("km")}}, 6, "room_nights"},
		"category on scope 1": {MethodMobileFuel, Activity{ID: "m", Type: "x", Quantity: Quantity{Value: dec("1"), Unit: c.MustParse("L")}}, 3, "takes no category"},
		"unknown method":      {"magic", a, 0, "unknown method"},
	} {
		_, err := calc.Apply(tc.method, tc.a, waste, tc.cat)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

func TestAirTravelHaulAndUplift(t *testing.T) {
	c := NewUnits()
	calc := NewCalculator("AR5", hubAR5{})
	if Haul(dec("3700"), false) != HaulShort || Haul(dec("3700.1"), false) != HaulLong || Haul(dec("9000"), true) != HaulDomestic {
		t.Error("haul thresholds")
	}
	f := Factor{ID: "long-haul-economy", Per: c.MustParse("passenger-km"),
		KgPerUnit: map[string]decimal.Decimal{"CO2": dec("0.1"), "CH4": dec("0.00001"), "N2O": dec("0.000001")}}
	a := Activity{ID: "t1", Type: "flight", Quantity: Quantity{Value: dec("10000"), Unit: c.MustParse("passenger-km")}}
	plain, err := calc.AirTravel(a, f, decimal.Zero)
	if err != nil {
		t.Fatal(err)
	}
	// 1000 kg CO2 + 0.1 kg CH4 × 28 + 0.01 kg N2O × 265 = 1005.45.
	if !plain.CO2eKg.Equal(dec("1005.45")) || plain.Category != 6 {
		t.Errorf("without uplift %s", plain.CO2eKg)
	}
	up, err := calc.AirTravel(a, f, dec("1.7"))
	if err != nil || !up.CO2eKg.Equal(dec("1705.45")) || !up.KgByGas["CO2"].Equal(dec("1000")) {
		t.Errorf("with 1.7 uplift %s (CO2 %s) %v", up.CO2eKg, up.KgByGas["CO2"], err)
	}
	if _, err := calc.AirTravel(a, f, dec("0.5")); err == nil {
		t.Error("uplift below 1 accepted")
	}
}

func TestFreightTonneKm(t *testing.T) {
	c := NewUnits()
	calc := NewCalculator("AR5", hubAR5{})
	tkm, err := TonneKm(Quantity{Value: dec("40000"), Unit: c.MustParse("lb")}, Quantity{Value: dec("500"), Unit: c.MustParse("mile")}, c)
	if err != nil {
		t.Fatal(err)
	}
	// 40 000 lb = 18.1436948 t; 500 mi = 804.672 km.
	if !tkm.Value.Equal(dec("18.1436948").Mul(dec("804.672"))) {
		t.Errorf("tonne-km %s", tkm.Value)
	}
	truck := Factor{ID: "hgv", Per: c.MustParse("ton-mile"), KgPerUnit: map[string]decimal.Decimal{"CO2": dec("0.2")}}
	r, err := calc.Apply(MethodFreight, Activity{ID: "f", Type: "road_freight", Quantity: tkm}, truck, 4)
	// 20 short tons × 500 mi = 10 000 ton-miles × 0.2.
	if err != nil || r.CO2eKg.Sub(dec("2000")).Abs().GreaterThan(dec("1e-20")) {
		t.Errorf("freight %s %v", r.CO2eKg, err)
	}
	if _, err := TonneKm(Quantity{Value: dec("1"), Unit: c.MustParse("km")}, Quantity{Value: dec("1"), Unit: c.MustParse("km")}, c); err == nil {
		t.Error("distance accepted as mass")
	}
}
