package calculation

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// Worked examples with the EPA GHG Emission Factors Hub tables beyond
// Table 1 (mobile, steam, scope 3 and grid losses), each through the service
// with the built-in library and AR5 GWPs, as EPA Hub recommends (CH4 28,
// N2O 265). Every expected value is worked by hand from the printed cells
// cited above it, in exact decimals; gram factors are ÷ 1000 to kg.

func epaDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// epaExample is one activity row and its result worked by hand.
type epaExample struct {
	row             string // id,activity_type,quantity,unit,period_start,region,scope,category,method
	factor          string // the factor the library must select
	scope, category int
	co2e            string            // kg CO2e under AR5
	kg              map[string]string // kg of some gases, when worth checking
}

func TestEPAWorkedExamples(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	examples := []epaExample{
		// Mobile, fuel-based (scope 1): EPA Hub 2025 Table 2, row 107, Diesel
		// Fuel 10.21 kg CO2 per gallon. 1000 gal × 10.21 = 10 210 kg CO2.
		// Table 2 gives CO2 only.
		{row: "truck-diesel,mobile/diesel_fuel,1000,US gal,2025-03-01,US,1,,mobile_combustion_fuel",
			factor: "epa-hub-2025-t2-diesel_fuel", scope: 1, co2e: "10210", kg: map[string]string{"CO2": "10210"}},

		// Mobile, distance-based CH4 and N2O (scope 1): EPA Hub 2025 Table 3,
		// row 161, Gasoline Passenger Cars, model year 2019: 0.0051 g CH4,
		// 0.0015 g N2O per vehicle-mile. 12 000 vehicle-miles:
		// CH4 12 000 × 0.0000051 = 0.0612 kg × 28 = 1.7136;
		// N2O 12 000 × 0.0000015 = 0.018 kg × 265 = 4.77; total 6.4836.
		{row: "car-2019-miles,mobile_distance/gasoline_passenger_cars/2019,12000,vehicle-mile,2025-03-01,US,1,,mobile_combustion_distance",
			factor: "epa-hub-2025-t3-gasoline_passenger_cars-2019", scope: 1, co2e: "6.4836", kg: map[string]string{"CH4": "0.0612", "N2O": "0.018"}},
		// ... and that car's CO2 from its fuel (EPA's method): 2025 Table 2,
		// row 112, Motor Gasoline 8.78 kg per gallon; 400 gal × 8.78 = 3512.
		{row: "car-2019-fuel,mobile/motor_gasoline,400,US gal,2025-03-01,US,1,,mobile_combustion_fuel",
			factor: "epa-hub-2025-t2-motor_gasoline", scope: 1, co2e: "3512"},

		// Non-road, combined (scope 1): EPA Hub 2025 Table 5, row 306,
		// Construction/Mining Equipment, Diesel Equipment: 1.01 g CH4, 0.94 g
		// N2O per gallon, with the CO2 of Table 2, row 107, Diesel Fuel 10.21.
		// 500 gal: CO2 5105; CH4 0.505 kg × 28 = 14.14; N2O 0.47 kg × 265 =
		// 124.55; total 5243.69.
		{row: "excavator,mobile/construction_mining_equipment/diesel_equipment,500,US gal,2025-03-01,US,1,,mobile_combustion_fuel",
			factor: "epa-hub-2025-t5-construction_mining_equipment-diesel_equipment", scope: 1, co2e: "5243.69",
			kg: map[string]string{"CO2": "5105", "CH4": "0.505", "N2O": "0.47"}},

		// Purchased steam (scope 2): EPA Hub 2025 Table 7, row 410, Steam and
		// Heat: 66.33 kg CO2, 1.250 g CH4, 0.125 g N2O per mmBtu. 250 mmBtu:
		// CO2 16 582.5; CH4 0.3125 kg × 28 = 8.75; N2O 0.03125 kg × 265 =
		// 8.28125; total 16 599.53125.
		{row: "steam,steam_and_heat,250,mmBtu,2025-03-01,US,2,,purchased_heat_steam_cooling",
			factor: "epa-hub-2025-t7-steam_and_heat", scope: 2, co2e: "16599.53125"},

		// Freight by ton-mile (scope 3 category 4): EPA Hub 2025 Table 8, row
		// 425, Medium- and Heavy-Duty Truck: 0.186 kg CO2, 0.0016 g CH4,
		// 0.0054 g N2O per short ton-mile. 20 000 ton-miles: CO2 3720; CH4
		// 0.032 kg × 28 = 0.896; N2O 0.108 kg × 265 = 28.62; total 3749.516.
		{row: "inbound-truck,freight/medium_and_heavy_duty_truck,20000,ton-mile,2025-03-01,US,3,4,freight_distance",
			factor: "epa-hub-2025-t8-medium_and_heavy_duty_truck-ton_mile", scope: 3, category: 4, co2e: "3749.516"},
		// The same truck, dedicated to the company, per vehicle-mile: Table 8,
		// row 422: 1.298 kg CO2, 0.0115 g CH4, 0.0376 g N2O. 1000 vehicle-miles:
		// 1298 + 0.0115 × 28 + 0.0376 × 265 = 1298 + 0.322 + 9.964 = 1308.286.
		{row: "dedicated-truck,freight/medium_and_heavy_duty_truck,1000,vehicle-mile,2025-03-01,US,3,4,freight_distance",
			factor: "epa-hub-2025-t8-medium_and_heavy_duty_truck-vehicle_mile", scope: 3, category: 4, co2e: "1308.286"},
		// Freight in 2024 meets the 2024 edition: EPA Hub 2024 Table 8, row
		// 417, Rail: 0.022 kg CO2, 0.0017 g CH4, 0.0005 g N2O per short
		// ton-mile. 10 000 ton-miles: 220 + 0.017 × 28 + 0.005 × 265 =
		// 220 + 0.476 + 1.325 = 221.801.
		{row: "rail-2024,freight/rail,10000,ton-mile,2024-06-01,US,3,4,freight_distance",
			factor: "epa-hub-2024-t8-rail-ton_mile", scope: 3, category: 4, co2e: "221.801"},

		// Waste (scope 3 category 5): EPA Hub 2025 Table 9, row 477, cell E477,
		// Mixed MSW, Landfilled: 0.58 metric tons CO2e per short ton, already
		// CO2e (EPA used AR4 GWPs), so not multiplied again. 12 short tons ×
		// 580 kg = 6960 kg CO2e.
		{row: "office-waste,waste/mixed_msw/landfilled,12,short ton,2025-03-01,US,3,5,waste_by_treatment",
			factor: "epa-hub-2025-t9-mixed_msw-landfilled", scope: 3, category: 5, co2e: "6960", kg: map[string]string{"CO2e": "6960"}},

		// Business travel by air (scope 3 category 6): EPA Hub 2025 Table 10,
		// row 515, Air Travel - Long Haul (>= 2300 miles): 0.163 kg CO2, 0.0006 g
		// CH4, 0.0052 g N2O per passenger-mile. 5000 passenger-miles: CO2 815;
		// CH4 0.003 kg × 28 = 0.084; N2O 0.026 kg × 265 = 6.89; total 821.974.
		{row: "flight-jfk-lax,travel/air_travel_long_haul,5000,passenger-mile,2025-03-01,US,3,6,business_travel_air",
			factor: "epa-hub-2025-t10-air_travel_long_haul", scope: 3, category: 6, co2e: "821.974"},
		// Business travel by rail (category 6): 2025 Table 10, row 507,
		// Intercity Rail - Northeast Corridor: 0.023 kg CO2, 0.0010 g CH4,
		// 0.0001 g N2O per passenger-mile. 800 passenger-miles: 18.4 +
		// 0.0008 × 28 + 0.00008 × 265 = 18.4 + 0.0224 + 0.0212 = 18.4436.
		{row: "acela,travel/intercity_rail_northeast_corridor,800,passenger-mile,2025-03-01,US,3,6,business_travel_ground",
			factor: "epa-hub-2025-t10-intercity_rail_northeast_corridor", scope: 3, category: 6, co2e: "18.4436"},

		// Employee commuting (scope 3 category 7): 2025 Table 10, row 504,
		// Passenger Car: 0.297 kg CO2, 0.0059 g CH4, 0.0053 g N2O per
		// vehicle-mile. 4000 vehicle-miles: 1188 + 0.0236 × 28 + 0.0212 × 265
		// = 1188 + 0.6608 + 5.618 = 1194.2788.
		{row: "commute,travel/passenger_car,4000,vehicle-mile,2025-03-01,US,3,7,employee_commuting",
			factor: "epa-hub-2025-t10-passenger_car", scope: 3, category: 7, co2e: "1194.2788"},

		// Transmission and distribution losses (scope 3 category 3): EPA Hub
		// 2025 Table 6, row 342, CAMX: grid gross loss 4.1% (K342) × total
		// output 436.7 lb CO2, 0.025 lb CH4, 0.003 lb N2O per MWh (E342:G342),
		// 1 lb = 0.45359237 kg. 100 MWh: 100 × 0.041 × 0.45359237 ×
		// (436.7 + 0.025 × 28 + 0.003 × 265) = 4.1 × 0.45359237 × 438.195
		// = 814.923825145815.
		{row: "camx-losses,electricity_td_losses,100,MWh,2025-03-01,US-CAMX,3,3,fuel_energy_td_losses",
			factor: "epa-hub-2025-t6-td_losses-camx", scope: 3, category: 3, co2e: "814.923825145815",
			kg: map[string]string{"CO2": "812.1435307139"}},
	}
	var in strings.Builder
	in.WriteString("id,activity_type,quantity,unit,period_start,region,scope,category,method\n")
	for _, x := range examples {
		in.WriteString(x.row + "\n")
	}
	rep, err := svc.CalculateFile(strings.NewReader(in.String()), Options{GWPSet: "AR5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 || len(rep.Lines) != len(examples) {
		t.Fatalf("%d results for %d examples, errors %v", len(rep.Lines), len(examples), rep.Errors)
	}
	total := decimal.Zero
	for i, x := range examples {
		l := rep.Lines[i]
		r := l.Result
		id, _, _ := strings.Cut(x.row, ",")
		if r.ActivityID != id {
			t.Fatalf("line %d is %s, want %s", i+2, r.ActivityID, id)
		}
		if r.Explanation.FactorID != x.factor || r.Scope != x.scope || r.Category != x.category {
			t.Errorf("%s: factor %s scope %d category %d, want %s scope %d category %d (selection %v)",
				id, r.Explanation.FactorID, r.Scope, r.Category, x.factor, x.scope, x.category, l.Selection)
		}
		if !r.CO2eKg.Equal(epaDec(x.co2e)) {
			t.Errorf("%s: %s kg CO2e, want %s", id, r.CO2eKg, x.co2e)
		}
		for gas, kg := range x.kg {
			if !r.KgByGas[gas].Equal(epaDec(kg)) {
				t.Errorf("%s: %s kg %s, want %s", id, r.KgByGas[gas], gas, kg)
			}
		}
		if !strings.Contains(r.Explanation.Factor.Set, "EPA") || r.Explanation.Factor.SourceRow == "" {
			t.Errorf("%s: the result does not cite its EPA row: %+v", id, r.Explanation.Factor)
		}
		total = total.Add(epaDec(x.co2e))
	}
	if !rep.Total.CO2eKg.Equal(total) {
		t.Errorf("total %s, want the sum of the examples %s", rep.Total.CO2eKg, total)
	}
	// By scope and category, from the examples above.
	for key, want := range map[string]string{
		"scope 1":            "18972.1736", // 10210 + 6.4836 + 3512 + 5243.69
		"scope 2":            "16599.53125",
		"scope 3 category 3": "814.923825145815",
		"scope 3 category 4": "5279.603", // 3749.516 + 1308.286 + 221.801
		"scope 3 category 5": "6960",
		"scope 3 category 6": "840.4176", // 821.974 + 18.4436
		"scope 3 category 7": "1194.2788",
	} {
		if got := rep.ByScope[key].CO2eKg; !got.Equal(epaDec(want)) {
			t.Errorf("%s: %s kg CO2e, want %s", key, got, want)
		}
	}
}

// The Table 9 factors are CO2e already: the GWP set does not change them,
// while the per-gas factors move with it (AR4 N2O 298, AR5 265).
func TestEPAWasteIsNotReweighted(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	in := "activity_type,quantity,unit,period_start,region,scope,category,method\n" +
		"waste/mixed_msw/landfilled,12,short ton,2025-03-01,US,3,5,waste_by_treatment\n"
	for _, set := range []string{"AR4", "AR5", "AR6"} {
		rep, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: set})
		if err != nil || len(rep.Lines) != 1 {
			t.Fatalf("%s: %v %v", set, rep.Errors, err)
		}
		if got := rep.Lines[0].Result.CO2eKg; !got.Equal(epaDec("6960")) {
			t.Errorf("%s: %s kg CO2e, want 6960 (2025 Table 9, E477: 12 × 0.58 t)", set, got)
		}
	}
}

// A model year EPA does not publish has no factor: the row is refused and
// names the activity type, rather than borrowing a neighbouring year.
func TestEPAUnpublishedModelYear(t *testing.T) {
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	in := "activity_type,quantity,unit,period_start,region,scope,category,method\n" +
		"mobile_distance/gasoline_passenger_cars/2024,100,vehicle-mile,2025-03-01,US,1,,mobile_combustion_distance\n"
	rep, err := svc.CalculateFile(strings.NewReader(in), Options{GWPSet: "AR5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lines) != 0 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), "column activity_type") {
		t.Errorf("model year 2024 in the 2025 edition: %d results, errors %v", len(rep.Lines), rep.Errors)
	}
}
