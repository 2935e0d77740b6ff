package calculation

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// The documented example, calculated with the built-in library under AR6.
// Each expected value is worked by hand from the cited factor.
func TestDocumentedExample(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	rep := calculateExample(t, "AR6")
	if len(rep.Errors) != 0 || len(rep.Lines) != 6 {
		t.Fatalf("%d results, errors %v", len(rep.Lines), rep.Errors)
	}
	var flight ghg.Factor
	for _, x := range svc.Factors("long_haul_to_from_uk/economy_class/without_rf") {
		if x.ActivityType == "desnz:business_travel_air/flights/long_haul_to_from_uk/economy_class/without_rf" && x.Per.Symbol == "passenger-km" {
			flight = x
		}
	}
	if flight.ID == "" {
		t.Fatal("no long-haul economy flight factor in the library")
	}
	want := map[string]struct {
		co2e, factor string
		scope, cat   int
	}{
		// EPA Hub 2025 Table 1: 50 Mscf × 1.026 mmBtu = 51.3 mmBtu; 51.3 × (53.06 + 0.001×29.8 + 0.0001×273).
		"boiler-2025-01": {"2724.90723", "epa-hub-2025-t1-natural_gas", 1, 0},
		// EPA Hub 2025 Table 1: 400 gal × 0.138 = 55.2 mmBtu × (73.96 + 0.003×29.8 + 0.0006×273).
		"generator-2025-01": {"4096.56864", "epa-hub-2025-t1-distillate_fuel_oil_no_2", 1, 0},
		// DESNZ 2024 UK electricity: 12 500 kWh × 0.20705 kg CO2e.
		"grid-uk-2025-01": {"2588.125", "", 2, 0},
		// USEEIO v1.2, NAICS 331110: 11 000 2021 USD × 0.979.
		"steel-po-4711": {"10769", "useeio-v1.2-331110", 3, 1},
		// DESNZ 2024 long-haul economy without RF, × 5540 passenger-km.
		"flight-lhr-jfk": {flight.KgPerUnit["CO2e"].Add(flight.KgPerUnit["CO2"]).Mul(dec("5540")).String(), flight.ID, 3, 6},
		// EPA Hub 2024 (the 2025 edition is after December 2024): −1.2312 mmBtu.
		"boiler-2024-12-fix": {dec("-1.2312").Mul(dec("53.06").Add(dec("0.0298")).Add(dec("0.0273"))).String(), "epa-hub-2024-t1-natural_gas", 1, 0},
	}
	for _, l := range rep.Lines {
		w := want[l.Result.ActivityID]
		if !l.Result.CO2eKg.Equal(dec(w.co2e)) || l.Result.Scope != w.scope || l.Result.Category != w.cat {
			t.Errorf("%s: %s kg scope %d cat %d, want %s scope %d cat %d", l.Result.ActivityID, l.Result.CO2eKg, l.Result.Scope, l.Result.Category, w.co2e, w.scope, w.cat)
		}
		if w.factor != "" && l.Result.Explanation.FactorID != w.factor {
			t.Errorf("%s: factor %s, want %s", l.Result.ActivityID, l.Result.Explanation.FactorID, w.factor)
		}
		if len(l.Selection) == 0 || l.Result.Explanation.EngineVersion != ghg.EngineVersion {
			t.Errorf("%s: no selection trail or engine version", l.Result.ActivityID)
		}
	}
	if !rep.ByScope["scope 2"].CO2eKg.Equal(dec("2588.125")) || rep.ByScope["scope 1"].Results != 3 || rep.ByScope["scope 3 category 1"].Results != 1 {
		t.Errorf("by scope %v", rep.ByScope)
	}
	if len(rep.InputHash) != 64 || rep.Total.Results != 6 {
		t.Errorf("report %+v", rep.Total)
	}
	again := calculateExample(t, "AR6")
	if again.InputHash != rep.InputHash || !again.Total.CO2eKg.Equal(rep.Total.CO2eKg) {
		t.Error("a second run differs")
	}
}

func TestBadRowsAreReportedAndOthersCalculated(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	in := "activity_type,quantity,unit,period_start,region,scope,method\n" +
		"natural_gas,10,mmBtu,2025-03-01,US,1,stationary_combustion\n" +
		"unobtainium,10,kg,2025-03-01,US,1,\n" +
		"natural_gas,10,kg,2025-03-01,US,1,stationary_combustion\n" +
		"natural_gas,10,mmBtu,2025-03-01,US,,\n" +
		"natural_gas,10,furlong,2025-03-01,US,1,\n"
	rep, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lines) != 1 || len(rep.Errors) != 4 {
		t.Fatalf("%d results, errors %v", len(rep.Lines), rep.Errors)
	}
	for i, want := range []string{"line 3, column activity_type", "line 4, column activity_type", "line 5, column method", "line 6, column unit"} {
		if !strings.Contains(rep.Errors[i].Error(), want) {
			t.Errorf("error %d = %q, want %q", i, rep.Errors[i], want)
		}
	}
	if _, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR9"}); err == nil {
		t.Error("unknown GWP set accepted")
	}
}

// US grid electricity meets EPA Hub Table 6 (eGRID) for its subregion, and
// the US average for a subregion the table does not list.
func TestUSGridElectricity(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	in := "id,activity_type,quantity,unit,period_start,region,scope\n" +
		"camx,electricity,100,MWh,2025-03-01,US-CAMX,2\n" +
		"nowhere,electricity,100,MWh,2025-03-01,US-XXXX,2\n"
	rep, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5"})
	if err != nil || len(rep.Lines) != 2 {
		t.Fatalf("%v %v", rep.Errors, err)
	}
	lb := dec("0.45359237")
	// eGRID2023 CAMX: 436.7 lb CO2, 0.025 lb CH4, 0.003 lb N2O per MWh.
	camx := dec("100").Mul(lb).Mul(dec("436.7").Add(dec("0.025").Mul(dec("28"))).Add(dec("0.003").Mul(dec("265"))))
	if got := rep.Lines[0].Result; !got.CO2eKg.Equal(camx) || got.Explanation.FactorID != "epa-hub-2025-t6-camx" {
		t.Errorf("CAMX: %s via %s, want %s", got.CO2eKg, got.Explanation.FactorID, camx)
	}
	if got := rep.Lines[1].Result; got.Explanation.FactorID != "epa-hub-2025-t6-us_average" || !strings.Contains(strings.Join(rep.Lines[1].Selection, "|"), "US-XXXX: no factor") {
		t.Errorf("fallback: %s %v", got.Explanation.FactorID, rep.Lines[1].Selection)
	}
}

func TestResolveFactorSet(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]struct {
		set     string
		edition int
	}{
		"epa-2025":                     {"EPA GHG Emission Factors Hub", 2025},
		"DESNZ-2024":                   {"UK DESNZ GHG Conversion Factors", 2024},
		"useeio-v1.2":                  {"USEEIO Supply Chain GHG Emission Factors", 0},
		"eea-2019":                     {"EEA CO2 intensity of electricity generation", 2019},
		"epa ghg emission factors hub": {"EPA GHG Emission Factors Hub", 0},
	} {
		set, ed, err := svc.ResolveFactorSet(in)
		if err != nil || set != want.set || ed != want.edition {
			t.Errorf("%s: %q %d %v, want %q %d", in, set, ed, err, want.set, want.edition)
		}
	}
	if _, _, err := svc.ResolveFactorSet("epa-1999"); err == nil || !strings.Contains(err.Error(), "epa-2024, epa-2025") {
		t.Errorf("unknown set: %v", err)
	}
}

// A measured mass of gas is scope 1 without a factor; a measured row in
// the wrong unit is refused on its own line, naming the column.
func TestDirectMeasurementRows(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	in := "id,activity_type,quantity,unit,period_start,region,method\n" +
		"stack-co2,measured/CO2,1500,kg,2025-03-01,US,direct_measurement\n" +
		"stack-ch4,measured/CH4,0.25,tonne,2025-03-01,US,direct_measurement\n" +
		"bad,measured/CO2,10,m3,2025-03-01,US,direct_measurement\n"
	rep, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR6"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lines) != 2 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), "line 4, column unit") {
		t.Fatalf("%d results, errors %v", len(rep.Lines), rep.Errors)
	}
	// 1500 kg CO2 + 250 kg CH4 × 29.8 (AR6 fossil).
	if got := rep.ByScope["scope 1"].CO2eKg; !got.Equal(dec("8950")) {
		t.Errorf("scope 1 = %s kg CO2e, want 8950", got)
	}
	if sel := rep.Lines[0].Selection; len(sel) != 1 || !strings.Contains(sel[0], "no emission factor") {
		t.Errorf("selection trail %v does not say no factor was selected", sel)
	}
}
