package analytics

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Standard conditions used to correct flue gas flow: 0 °C (273.15 K) and
// 101.325 kPa (1 atm), often written Nm³. Note EPA's "standard cubic feet"
// use 20 °C (68 °F) instead; flows from such sources must be converted.
const (
	// StandardTemperatureK is T_std, 0 °C.
	StandardTemperatureK = "273.15"
	// StandardPressureKPa is P_std, 1 atm.
	StandardPressureKPa = "101.325"
	// MolarVolumeLPerMol is the molar volume of an ideal gas at T_std and
	// P_std, V_m = R·T_std/P_std = 22.413 969 54 L/mol (CODATA 2018,
	// truncated to 8 decimal places).
	MolarVolumeLPerMol = "22.41396954"
	// EmissionRateScale is the number of decimal places MassRate rounds
	// kg/h to, and MassOverInterval rounds kg to (1 mg).
	EmissionRateScale = 6
)

// Gas is a gas an emissions sensor reports in ppm by volume.
type Gas string

// The gases of the emissions_sensor device type.
const (
	GasCO2 Gas = "CO2"
	GasCH4 Gas = "CH4"
)

// MolarMass returns the gas's molar mass in g/mol, from the NIST Chemistry
// WebBook (NIST Standard Reference Database 69): CO2 44.0095, CH4 16.0425.
func (g Gas) MolarMass() (decimal.Decimal, error) {
	switch g {
	case GasCO2:
		return decimal.RequireFromString("44.0095"), nil
	case GasCH4:
		return decimal.RequireFromString("16.0425"), nil
	}
	return decimal.Decimal{}, fmt.Errorf("analytics: molar mass: unknown gas %q: %w", string(g), ErrInvalidInput)
}

// FlueSample is one emissions_sensor measurement of a gas in the flue.
// Concentration and flow must be on the same basis (both wet or both dry):
// no moisture correction is made.
type FlueSample struct {
	// ConcentrationPPM is the gas's volume fraction in ppm (co2_ppm, ch4_ppm).
	ConcentrationPPM decimal.Decimal
	// FlowM3H is the actual volumetric flow at flue conditions, m³/h
	// (flue_flow_m3h).
	FlowM3H decimal.Decimal
	// TemperatureC is the flue gas temperature, °C (flue_temperature_c).
	TemperatureC decimal.Decimal
	// PressureKPa is the absolute flue gas pressure, kPa (flue_pressure_kpa).
	PressureKPa decimal.Decimal
	// MolarMassGPerMol is the gas's molar mass, g/mol (see Gas.MolarMass).
	MolarMassGPerMol decimal.Decimal
}

// StandardFlowM3H returns the flow corrected to standard conditions by the
// ideal gas law, Q_std = Q_act × (P_act / P_std) × (T_std / T_act), with
// T in kelvin (°C + 273.15), rounded to EmissionRateScale places.
func (s FlueSample) StandardFlowM3H() (decimal.Decimal, error) {
	if err := s.validate(); err != nil {
		return decimal.Decimal{}, err
	}
	tStd, pStd := decimal.RequireFromString(StandardTemperatureK), decimal.RequireFromString(StandardPressureKPa)
	num := s.FlowM3H.Mul(s.PressureKPa).Mul(tStd)
	den := pStd.Mul(s.TemperatureC.Add(tStd))
	return num.DivRound(den, EmissionRateScale), nil
}

// MassRate returns the gas's mass emission rate in kg/h:
//
//	kg/h = ppm × 10⁻⁶ × Q_std (m³/h) × M (g/mol) / V_m (L/mol)
//
// with Q_std from StandardFlowM3H and V_m = MolarVolumeLPerMol (the L and
// g cancel the 1000s: m³ × 1000 L/m³ / (L/mol) × g/mol / 1000 g/kg). It is
// computed as one fraction and rounded once to EmissionRateScale places.
func (s FlueSample) MassRate() (decimal.Decimal, error) {
	if err := s.validate(); err != nil {
		return decimal.Decimal{}, err
	}
	tStd, pStd := decimal.RequireFromString(StandardTemperatureK), decimal.RequireFromString(StandardPressureKPa)
	vm := decimal.RequireFromString(MolarVolumeLPerMol)
	num := s.ConcentrationPPM.Mul(s.FlowM3H).Mul(s.PressureKPa).Mul(tStd).Mul(s.MolarMassGPerMol)
	den := decimal.NewFromInt(1_000_000).Mul(pStd).Mul(s.TemperatureC.Add(tStd)).Mul(vm)
	return num.DivRound(den, EmissionRateScale), nil
}

func (s FlueSample) validate() error {
	switch {
	case s.ConcentrationPPM.IsNegative() || s.ConcentrationPPM.GreaterThan(decimal.NewFromInt(1_000_000)):
		return fmt.Errorf("analytics: flue sample: concentration %s ppm is outside [0, 1e6]: %w", s.ConcentrationPPM, ErrInvalidInput)
	case s.FlowM3H.IsNegative():
		return fmt.Errorf("analytics: flue sample: flow %s m³/h is negative: %w", s.FlowM3H, ErrInvalidInput)
	case !s.TemperatureC.Add(decimal.RequireFromString(StandardTemperatureK)).IsPositive():
		return fmt.Errorf("analytics: flue sample: temperature %s °C is not above absolute zero: %w", s.TemperatureC, ErrInvalidInput)
	case !s.PressureKPa.IsPositive():
		return fmt.Errorf("analytics: flue sample: pressure %s kPa is not positive: %w", s.PressureKPa, ErrInvalidInput)
	case !s.MolarMassGPerMol.IsPositive():
		return fmt.Errorf("analytics: flue sample: molar mass %s g/mol is not positive: %w", s.MolarMassGPerMol, ErrInvalidInput)
	}
	return nil
}

// MassOverInterval returns the mass in kg emitted at a constant rate (kg/h)
// over d, rate × d in hours, rounded to EmissionRateScale places. The rate
// is taken to hold over the whole interval (a step hold of the sample that
// opens it); d must be positive and the rate not negative.
func MassOverInterval(rateKgPerHour decimal.Decimal, d time.Duration) (decimal.Decimal, error) {
	if rateKgPerHour.IsNegative() {
		return decimal.Decimal{}, fmt.Errorf("analytics: emitted mass: rate %s kg/h is negative: %w", rateKgPerHour, ErrInvalidInput)
	}
	if d <= 0 {
		return decimal.Decimal{}, fmt.Errorf("analytics: emitted mass: interval %s is not positive: %w", d, ErrInvalidInput)
	}
	num := rateKgPerHour.Mul(decimal.NewFromInt(d.Nanoseconds()))
	return num.DivRound(decimal.NewFromInt(int64(time.Hour)), EmissionRateScale), nil
}

// CO2e returns massKg × gwp, the kg CO2e of a gas mass. The caller gives
// the global warming potential of its chosen assessment report (AR5 CH4 28,
// AR6 CH4 fossil 29.8, …): none is built in. gwp must be positive. The
// product is exact.
func CO2e(massKg, gwp decimal.Decimal) (decimal.Decimal, error) {
	if massKg.IsNegative() {
		return decimal.Decimal{}, fmt.Errorf("analytics: CO2e: mass %s kg is negative: %w", massKg, ErrInvalidInput)
	}
	if !gwp.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("analytics: CO2e: GWP %s is not positive: %w", gwp, ErrInvalidInput)
	}
	return massKg.Mul(gwp), nil
}
