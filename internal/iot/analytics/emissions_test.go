package analytics

import (
	"errors"
	"testing"
	"time"
)

// Worked by hand. Standard conditions 0 °C (273.15 K) and 101.325 kPa,
// V_m = 22.41396954 L/mol; molar masses from the NIST Chemistry WebBook.
func TestFlueMassRateCO2(t *testing.T) {
	t.Parallel()
	// 10 % CO2 (100 000 ppm) in 1000 m³/h of flue gas at 150 °C, 101.325 kPa.
	// Q_std = 1000 × (101.325/101.325) × 273.15/(150 + 273.15)
	//       = 273150/423.15 = 645.515774548… → 645.515775 Nm³/h.
	// CO2 volume 0.1 × 645.515774548 = 64.5515774548 Nm³/h
	//   = 64 551.5774548 L/h ÷ 22.41396954 L/mol = 2879.9683… mol/h
	//   × 44.0095 g/mol = 126 746.07 g/h = 126.746074 kg/h.
	s := FlueSample{
		ConcentrationPPM: dec("100000"), FlowM3H: dec("1000"),
		TemperatureC: dec("150"), PressureKPa: dec("101.325"),
	}
	m, err := GasCO2.MolarMass()
	if err != nil {
		t.Fatal(err)
	}
	s.MolarMassGPerMol = m
	q, err := s.StandardFlowM3H()
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "Q_std", q, "645.515775")
	rate, err := s.MassRate()
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "CO2 kg/h", rate, "126.746074")
	// Over 15 minutes: 126.746074 / 4 = 31.6865185 → 31.686519 kg (6 places,
	// half away from zero).
	kg, err := MassOverInterval(rate, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "CO2 kg in 15 min", kg, "31.686519")
	// CO2's GWP is 1 by definition.
	co2e, err := CO2e(kg, dec("1"))
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "CO2e", co2e, "31.686519")
}

func TestFlueMassRateCH4(t *testing.T) {
	t.Parallel()
	// 500 ppm CH4 in 2000 m³/h at 80 °C and 105 kPa (slight overpressure).
	// Q_std = 2000 × (105/101.325) × (273.15/353.15)
	//       = 2000 × 1.036269430… × 0.773467365… = 1603.0411712… Nm³/h.
	// CH4: 500e-6 × 1603.0411712 = 0.80152058564 Nm³/h = 801.52058564 L/h
	//   ÷ 22.41396954 = 35.7598… mol/h × 16.0425 g/mol = 573.6777 g/h
	//   = 0.573678 kg/h.
	m, err := GasCH4.MolarMass()
	if err != nil {
		t.Fatal(err)
	}
	s := FlueSample{
		ConcentrationPPM: dec("500"), FlowM3H: dec("2000"),
		TemperatureC: dec("80"), PressureKPa: dec("105"), MolarMassGPerMol: m,
	}
	q, _ := s.StandardFlowM3H()
	requireDec(t, "Q_std", q, "1603.041171")
	rate, err := s.MassRate()
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "CH4 kg/h", rate, "0.573678")
	// 30 minutes: 0.573678 × 0.5 = 0.286839 kg; × GWP 28 (the caller's
	// choice, AR5 here) = 8.031492 kg CO2e.
	kg, err := MassOverInterval(rate, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "CH4 kg", kg, "0.286839")
	co2e, err := CO2e(kg, dec("28"))
	if err != nil {
		t.Fatal(err)
	}
	requireDec(t, "CH4 kg CO2e", co2e, "8.031492")
}

func TestFlueInvalid(t *testing.T) {
	t.Parallel()
	good := FlueSample{ConcentrationPPM: dec("1"), FlowM3H: dec("1"), TemperatureC: dec("20"), PressureKPa: dec("100"), MolarMassGPerMol: dec("44")}
	bad := []func(*FlueSample){
		func(s *FlueSample) { s.ConcentrationPPM = dec("-1") },
		func(s *FlueSample) { s.ConcentrationPPM = dec("1000001") },
		func(s *FlueSample) { s.FlowM3H = dec("-1") },
		func(s *FlueSample) { s.TemperatureC = dec("-273.15") },
		func(s *FlueSample) { s.PressureKPa = dec("0") },
		func(s *FlueSample) { s.MolarMassGPerMol = dec("0") },
	}
	for i, f := range bad {
		s := good
		f(&s)
		if _, err := s.MassRate(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("case %d: MassRate err = %v", i, err)
		}
		if _, err := s.StandardFlowM3H(); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("case %d: StandardFlowM3H err = %v", i, err)
		}
	}
	if _, err := Gas("N2O").MolarMass(); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("unknown gas: err = %v", err)
	}
	if _, err := MassOverInterval(dec("1"), 0); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("zero interval: err = %v", err)
	}
	if _, err := MassOverInterval(dec("-1"), time.Hour); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("negative rate: err = %v", err)
	}
	if _, err := CO2e(dec("1"), dec("0")); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("zero GWP: err = %v", err)
	}
}
