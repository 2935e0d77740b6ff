package epahub

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/xlsx"
)

const published = "../../../../shared/data/factors/"

func open(t *testing.T, name string) Edition {
	t.Helper()
	f, err := os.Open(published + name)
	if err != nil {
		t.Skipf("the published file is not beside the project (%v)", err)
	}
	defer f.Close()
	ed, err := Read(f, ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	return ed
}

func find(t *testing.T, ed Edition, activity string) ghg.Factor {
	t.Helper()
	return findPer(t, ed, activity, "")
}

// findPer finds the US factor (or, for electricity, any region's when
// activity is "electricity…") for an activity type per a unit ("" any).
func findPer(t *testing.T, ed Edition, activity, per string) ghg.Factor {
	t.Helper()
	for _, f := range ed.Factors {
		if f.ActivityType == activity && (per == "" || f.Per.Symbol == per) {
			return f
		}
	}
	t.Fatalf("no factor for %s per %q in edition %d", activity, per, ed.Year)
	return ghg.Factor{}
}

func has(ed Edition, activity string) bool {
	for _, f := range ed.Factors {
		if f.ActivityType == activity {
			return true
		}
	}
	return false
}

func findIn(t *testing.T, ed Edition, activity, region string) ghg.Factor {
	t.Helper()
	for _, f := range ed.Factors {
		if f.ActivityType == activity && f.Region == region {
			return f
		}
	}
	t.Fatalf("no %s factor for %s in %d", activity, region, ed.Year)
	return ghg.Factor{}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// g is a printed gram value in kilograms.
func g(s string) decimal.Decimal { return dec(s).Shift(-3) }

// want checks a factor's per-gas values (kg per unit), unit and source row.
func want(t *testing.T, f ghg.Factor, per string, kg map[string]string, row ...string) {
	t.Helper()
	if f.Per.Symbol != per || len(f.KgPerUnit) != len(kg) {
		t.Errorf("%s: per %s with %v, want per %s with %v", f.ID, f.Per.Symbol, f.KgPerUnit, per, kg)
	}
	for gas, v := range kg {
		if got, ok := f.KgPerUnit[gas]; !ok || !got.Equal(dec(v)) {
			t.Errorf("%s: %s = %s, want %s", f.ID, gas, got, v)
		}
	}
	for _, r := range row {
		if !strings.Contains(f.Ref.SourceRow, r) {
			t.Errorf("%s: source row %q does not say %q", f.ID, f.Ref.SourceRow, r)
		}
	}
	if f.Region == "" || f.Ref.Set != SetName || f.Ref.SourceTable == "" || f.Ref.Version != f.ValidFrom.Format("2006") {
		t.Errorf("%s: reference %+v region %q valid from %s", f.ID, f.Ref, f.Region, f.ValidFrom)
	}
}

var tableOfID = regexp.MustCompile(`^epa-hub-\d{4}-t(\d+)-`)

func countByTable(ed Edition) map[string]int {
	n := map[string]int{}
	for _, f := range ed.Factors {
		m := tableOfID.FindStringSubmatch(f.ID)
		if m == nil {
			n["?"]++
			continue
		}
		n["t"+m[1]]++
		if f.ActivityType == "electricity_td_losses" {
			n["t6-td"]++
		}
	}
	return n
}

// Known values from the data README: EPA 2024 and 2025, Table 1, natural gas:
// 53.06 kg CO2, 1 g CH4, 0.1 g N2O per mmBtu; 0.05444 kg CO2 per scf.
func TestPublishedEditions(t *testing.T) {
	for _, tc := range []struct {
		file string
		year int
	}{{"epa-ghg-emission-factors-hub-2024.xlsx", 2024}, {"epa-ghg-emission-factors-hub-2025.xlsx", 2025}} {
		ed := open(t, tc.file)
		if ed.Year != tc.year || len(ed.Factors) < 60 {
			t.Fatalf("%s: edition %d with %d factors", tc.file, ed.Year, len(ed.Factors))
		}
		ng := find(t, ed, "natural_gas")
		if !ng.KgPerUnit["CO2"].Equal(dec("53.06")) || !ng.KgPerUnit["CH4"].Equal(dec("0.001")) || !ng.KgPerUnit["N2O"].Equal(dec("0.0001")) {
			t.Errorf("%d natural gas: %v", tc.year, ng.KgPerUnit)
		}
		if ng.HeatContent == nil || !ng.HeatContent.Energy.Value.Equal(dec("0.001026")) || ng.HeatContent.Per.Symbol != "scf" || ng.HeatContent.Basis != ghg.HHV {
			t.Fatalf("%d natural gas heat content: %+v", tc.year, ng.HeatContent)
		}
		if !strings.Contains(ng.Ref.SourceRow, "Natural Gas") || ng.Ref.Edition != tc.year {
			t.Errorf("reference %+v", ng.Ref)
		}
		// 1 scf through the heat content: 0.001026 × 53.06 = 0.05443956, published as 0.05444.
		calc := ghg.NewCalculator("AR5", gwp{})
		r, err := calc.StationaryCombustion(ghg.Activity{ID: "1", Type: "natural_gas", Quantity: ghg.Quantity{Value: dec("1"), Unit: ghg.NewUnits().MustParse("scf")}}, ng)
		if err != nil || !r.KgByGas["CO2"].Round(5).Equal(dec("0.05444")) {
			t.Errorf("%d: kg CO2 per scf = %s (%v), published 0.05444", tc.year, r.KgByGas["CO2"], err)
		}
		// Biomass: CO2 is biogenic, outside the scopes.
		wood := find(t, ed, "wood_and_wood_residuals")
		if _, ok := wood.KgPerUnit["CO2"]; ok || !wood.BiogenicCO2KgPerUnit.Equal(dec("93.80")) || wood.HeatContent.Per.Symbol != "short ton" {
			t.Errorf("wood: %v biogenic %s", wood.KgPerUnit, wood.BiogenicCO2KgPerUnit)
		}
		// Table 6: eGRID grid factors in lb/MWh, imported in kg/MWh.
		camx, us := findIn(t, ed, "electricity", "US-CAMX"), findIn(t, ed, "electricity", "US")
		want := map[int][2]string{2024: {"497.4", "823.1"}, 2025: {"436.7", "771.5"}}[tc.year]
		if !camx.KgPerUnit["CO2"].Equal(dec(want[0]).Mul(lb)) || !us.KgPerUnit["CO2"].Equal(dec(want[1]).Mul(lb)) || camx.Per.Symbol != "MWh" {
			t.Errorf("%d grid: CAMX %v, US %v", tc.year, camx.KgPerUnit, us.KgPerUnit)
		}
		// Diesel is per US gallon.
		d2 := find(t, ed, "distillate_fuel_oil_no_2")
		if d2.HeatContent.Per.Symbol != "US gal" || !d2.KgPerUnit["CO2"].Equal(dec("73.96")) {
			t.Errorf("distillate no. 2: %+v %v", d2.HeatContent, d2.KgPerUnit)
		}
	}
}

// Factors per table: Table 3 and 4 one per model year a row covers (≤1980
// from 1960), Table 6's loss factors from 2025 (every subregion but PRMS),
// Table 9 one per material and treatment that is not NA.
func TestCountsPerTable(t *testing.T) {
	for year, n := range map[int]map[string]int{
		2024: {"t1": 63, "t2": 10, "t3": 49 + 49 + 62 + 61, "t4": 3*62 + 26, "t5": 40, "t6": 28, "t6-td": 0, "t7": 1, "t8": 7, "t9": 183, "t10": 12},
		2025: {"t1": 63, "t2": 10, "t3": 50 + 50 + 63 + 63, "t4": 3*63 + 26, "t5": 40, "t6": 28 + 27, "t6-td": 27, "t7": 1, "t8": 7, "t9": 183, "t10": 12},
	} {
		ed := open(t, "epa-ghg-emission-factors-hub-"+itoa(year)+".xlsx")
		got := countByTable(ed)
		total := 0
		for k, v := range n {
			if got[k] != v {
				t.Errorf("%d %s: %d factors, want %d", year, k, got[k], v)
			}
			if k != "t6-td" {
				total += v
			}
		}
		if len(ed.Factors) != total || got["?"] != 0 {
			t.Errorf("%d: %d factors, want %d (%v)", year, len(ed.Factors), total, got)
		}
	}
}

func itoa(y int) string { return strconv.Itoa(y) }

// Spot checks against the printed cells of both editions.
func TestPublishedMobileTables(t *testing.T) {
	for _, year := range []int{2024, 2025} {
		ed := open(t, "epa-ghg-emission-factors-hub-"+itoa(year)+".xlsx")
		row := func(r2024, r2025 string) string { return map[int]string{2024: r2024, 2025: r2025}[year] }

		// Table 2: CO2 per unit of fuel; biofuels' CO2 is biogenic.
		want(t, find(t, ed, "mobile/diesel_fuel"), "US gal", map[string]string{"CO2": "10.21"}, "Diesel Fuel (row 107)")
		want(t, find(t, ed, "mobile/compressed_natural_gas_cng"), "scf", map[string]string{"CO2": "0.05444"}, "(row 106)")
		want(t, find(t, ed, "mobile/kerosene_type_jet_fuel"), "US gal", map[string]string{"CO2": "9.75"})
		b100 := find(t, ed, "mobile/biodiesel_100")
		want(t, b100, "US gal", map[string]string{"CO2": "0"}, "Biodiesel (100%) (row 105)")
		if !b100.BiogenicCO2KgPerUnit.Equal(dec("9.45")) {
			t.Errorf("%d biodiesel biogenic CO2 %s", year, b100.BiogenicCO2KgPerUnit)
		}

		// Table 3: g per vehicle-mile by model year; ranges give each year.
		want(t, find(t, ed, "mobile_distance/gasoline_passenger_cars/2019"), "vehicle-mile",
			map[string]string{"CH4": "0.0000051", "N2O": "0.0000015"}, "Gasoline Passenger Cars, model year 2019 (row "+row("159", "161")+")")
		for _, y := range []string{"1984", "1990", "1993"} {
			want(t, find(t, ed, "mobile_distance/gasoline_passenger_cars/"+y), "vehicle-mile",
				map[string]string{"CH4": "0.0000704", "N2O": "0.0000647"}, "model years 1984-1993 (row "+row("133", "135")+")")
		}
		want(t, find(t, ed, "mobile_distance/gasoline_heavy_duty_vehicles/1960"), "vehicle-mile",
			map[string]string{"CH4": "0.0004604", "N2O": "0.0000497"}, "model years ≤1980 (row "+row("202", "206")+")")
		want(t, find(t, ed, "mobile_distance/gasoline_light_duty_trucks/1975"), "vehicle-mile",
			map[string]string{"CH4": "0.0001634", "N2O": "0.0000513"}, "Gasoline Light-Duty Trucks, model year 1975")
		moto := map[int]map[string]string{2024: {"CH4": "0", "N2O": "0"}, 2025: {"CH4": "0.000007", "N2O": "0.000067"}}[year]
		want(t, find(t, ed, "mobile_distance/gasoline_motorcycles/2000"), "vehicle-mile", moto, "1996-2005")
		if has(ed, "mobile_distance/gasoline_passenger_cars/1972") || has(ed, "mobile_distance/gasoline_heavy_duty_vehicles/1959") ||
			has(ed, "mobile_distance/gasoline_passenger_cars/2022") != (year == 2025) {
			t.Errorf("%d: Table 3 model years outside the published ones", year)
		}

		// Table 4: diesel by model year, alternative fuels without.
		want(t, find(t, ed, "mobile_distance/passenger_cars/diesel/2010"), "vehicle-mile",
			map[string]string{"CH4": "0.0000302", "N2O": "0.0000192"}, "Passenger Cars, Diesel, model years 2007-"+row("2021", "2022"))
		cng := map[int]string{2024: "0.000133", 2025: "0.00012"}[year]
		want(t, find(t, ed, "mobile_distance/light_duty_cars/cng"), "vehicle-mile",
			map[string]string{"CH4": cng, "N2O": "0.000004"}, "Light-Duty Cars, CNG (row "+row("253", "259")+")")
		want(t, find(t, ed, "mobile_distance/medium_and_heavy_duty_vehicles/diesel/1960"), "vehicle-mile",
			map[string]string{"CH4": "0.0000051", "N2O": "0.0000048"}, "1960-2006")

		// Table 5 with Table 2: CO2 of the mapped Table 2 fuel, CH4 and N2O of the row.
		ce := find(t, ed, "mobile/construction_mining_equipment/diesel_equipment")
		want(t, ce, "US gal", map[string]string{"CO2": "10.21", "CH4": "0.00101", "N2O": "0.00094"},
			"Construction/Mining Equipment, Diesel Equipment (Table 5 row "+row("300", "306")+")", "Diesel Fuel (Table 2 row 107)")
		if !strings.Contains(ce.Ref.SourceTable, "Table 2 + Table 5") {
			t.Errorf("source table %q", ce.Ref.SourceTable)
		}
		boat := map[int]string{2024: "0.00464", 2025: "0.00467"}[year]
		want(t, find(t, ed, "mobile/ships_and_boats/gasoline_2_stroke"), "US gal", map[string]string{"CO2": "8.78", "CH4": boat, "N2O": "0.00008"}, "Motor Gasoline (Table 2 row 112)")
		want(t, find(t, ed, "mobile/aircraft/jet_fuel"), "US gal", map[string]string{"CO2": "9.75", "CH4": "0", "N2O": "0.0003"}, "Kerosene-Type Jet Fuel (Table 2 row 109)")
		want(t, find(t, ed, "mobile/agricultural_equipment/lpg"), "US gal", map[string]string{"CO2": "5.68", "CH4": "0.00033", "N2O": row("0.00095", "0.00094")}, "Liquefied Petroleum Gases (LPG) (Table 2 row 111)")
	}
}

func TestPublishedOtherTables(t *testing.T) {
	for _, year := range []int{2024, 2025} {
		ed := open(t, "epa-ghg-emission-factors-hub-"+itoa(year)+".xlsx")
		row := func(r2024, r2025 string) string { return map[int]string{2024: r2024, 2025: r2025}[year] }

		// Table 6 loss rates (2025 only): loss × total output rate, per MWh.
		if year == 2025 {
			camx := findIn(t, ed, "electricity_td_losses", "US-CAMX")
			want(t, camx, "MWh", map[string]string{
				"CO2": dec("0.041").Mul(dec("436.7")).Mul(lb).String(),
				"CH4": dec("0.041").Mul(dec("0.025")).Mul(lb).String(),
				"N2O": dec("0.041").Mul(dec("0.003")).Mul(lb).String(),
			}, "CAMX WECC California: 4.1% loss", "(row 342)")
			us := findIn(t, ed, "electricity_td_losses", "US")
			if !us.KgPerUnit["CO2"].Equal(dec("0.042").Mul(dec("771.5")).Mul(lb)) || us.ID != "epa-hub-2025-t6-td_losses-us_average" {
				t.Errorf("US loss factor %s %v", us.ID, us.KgPerUnit)
			}
			for _, f := range ed.Factors {
				if f.ActivityType == "electricity_td_losses" && f.Region == "US-PRMS" {
					t.Errorf("PRMS publishes no loss rate, got %s", f.ID)
				}
			}
		} else if has(ed, "electricity_td_losses") {
			t.Error("2024 publishes no grid loss rates")
		}

		// Table 7.
		st := find(t, ed, "steam_and_heat")
		want(t, st, "mmBtu", map[string]string{"CO2": "66.33", "CH4": "0.00125", "N2O": "0.000125"}, "Steam and Heat (row "+row("402", "410")+")")
		if st.ID != "epa-hub-"+itoa(year)+"-t7-steam_and_heat" {
			t.Errorf("steam id %s", st.ID)
		}

		// Table 8: the truck per vehicle-mile and per short ton-mile under one type.
		want(t, findPer(t, ed, "freight/rail", "ton-mile"), "ton-mile",
			map[string]string{"CO2": row("0.022", "0.021"), "CH4": row("0.0000017", "0.0000016"), "N2O": "0.0000005"}, "Rail, per short ton-mile (row "+row("417", "426")+")")
		want(t, findPer(t, ed, "freight/medium_and_heavy_duty_truck", "vehicle-mile"), "vehicle-mile",
			map[string]string{"CO2": row("1.360", "1.298"), "CH4": row("0.000012", "0.0000115"), "N2O": row("0.000038", "0.0000376")})
		truck := findPer(t, ed, "freight/medium_and_heavy_duty_truck", "ton-mile")
		want(t, truck, "ton-mile", map[string]string{"CO2": row("0.168", "0.186"), "CH4": row("0.0000015", "0.0000016"), "N2O": row("0.0000047", "0.0000054")}, "Medium- and Heavy-Duty Truck, per short ton-mile")
		want(t, find(t, ed, "freight/passenger_car"), "vehicle-mile", map[string]string{"CO2": row("0.306", "0.297"), "CH4": row("0.000009", "0.0000059"), "N2O": row("0.000006", "0.0000053")}, "Passenger Car, per")

		// Table 9: metric tons CO2e per short ton as kg CO2e; NA is no factor.
		msw := find(t, ed, "waste/mixed_msw/landfilled")
		want(t, msw, "short ton", map[string]string{"CO2e": "580"}, "Mixed MSW, Landfilled (row "+row("468", "477")+", cell E"+row("468", "477")+")")
		if !strings.Contains(msw.Ref.SourceTable, "AR4") {
			t.Errorf("Table 9 reference does not say AR4: %q", msw.Ref.SourceTable)
		}
		want(t, find(t, ed, "waste/mixed_msw/combusted"), "short ton", map[string]string{"CO2e": "430"})
		want(t, find(t, ed, "waste/food_waste_non_meat/anaerobically_digested_dry"), "short ton", map[string]string{"CO2e": "140"})
		want(t, find(t, ed, "waste/asphalt_concrete/recycled"), "short ton", map[string]string{"CO2e": "4"})
		if has(ed, "waste/mixed_msw/recycled") || has(ed, "waste/yard_trimmings/anaerobically_digested_wet") {
			t.Errorf("%d: a factor where Table 9 says NA", year)
		}

		// Table 10.
		want(t, find(t, ed, "travel/air_travel_long_haul"), "passenger-mile", map[string]string{"CO2": "0.163", "CH4": "0.0000006", "N2O": "0.0000052"}, "Air Travel - Long Haul (>= 2300 miles), per passenger-mile (row "+row("506", "515")+")")
		want(t, find(t, ed, "travel/air_travel_short_haul"), "passenger-mile", map[string]string{"CO2": "0.207", "CH4": "0.0000064", "N2O": "0.0000066"})
		want(t, find(t, ed, "travel/intercity_rail_national_average"), "passenger-mile", map[string]string{"CO2": row("0.113", "0.096"), "CH4": row("0.0000092", "0.000008"), "N2O": row("0.0000026", "0.000002")})
		want(t, find(t, ed, "travel/transit_rail"), "passenger-mile", map[string]string{"CO2": "0.093", "CH4": "0.0000075", "N2O": "0.000001"}, "Transit Rail (i.e. Subway, Tram)")
		want(t, find(t, ed, "travel/passenger_car"), "vehicle-mile", map[string]string{"CO2": row("0.306", "0.297"), "CH4": row("0.000009", "0.0000059"), "N2O": row("0.000006", "0.0000053")})
		want(t, find(t, ed, "travel/bus"), "passenger-mile", map[string]string{"CO2": row("0.071", "0.066"), "CH4": row("0.000005", "0.0000046"), "N2O": row("0.0000021", "0.0000019")})
	}
}

// The whole edition loads into one library: no two factors compete.
func TestEditionLoadsIntoALibrary(t *testing.T) {
	var all []ghg.Factor
	for _, year := range []int{2024, 2025} {
		all = append(all, open(t, "epa-ghg-emission-factors-hub-"+itoa(year)+".xlsx").Factors...)
	}
	regions, _ := ghg.NewRegions(nil)
	if _, err := ghg.NewLibrary(regions, all, nil); err != nil {
		t.Fatal(err)
	}
}

// A corrupted cell in any table of the published 2025 file refuses the file, naming the cell.
func TestPublishedFileWithABadCell(t *testing.T) {
	f, err := os.Open(published + "epa-ghg-emission-factors-hub-2025.xlsx")
	if err != nil {
		t.Skipf("the published file is not beside the project (%v)", err)
	}
	rows, err := xlsx.Rows(f, SheetName)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"E38", "D107", "E107", "E161", "D161", "F259", "G251", "D306", "E306", "E342", "K342", "D410", "F410",
		"D426", "G425", "E477", "G477", "D515", "E515", "G512"} {
		bad := clone(rows)
		r, col := cellAt(t, c)
		bad[r][col] = "0.0x1"
		if _, err := Parse(bad, ghg.NewUnits()); err == nil || !strings.Contains(err.Error(), "cell "+c) {
			t.Errorf("%s corrupted: %v, want an error naming the cell", c, err)
		}
	}
}

func cellAt(t *testing.T, name string) (int, int) {
	t.Helper()
	c, r, err := excelize.CellNameToCoordinates(name)
	if err != nil {
		t.Fatal(err)
	}
	return r - 1, c - 1
}

func clone(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = append([]string(nil), r...)
	}
	return out
}

type gwp struct{}

func (gwp) GWP(gas string) (decimal.Decimal, error) {
	return map[string]decimal.Decimal{"CO2": dec("1"), "CH4": dec("28"), "N2O": dec("265")}[gas], nil
}

// sheet is a small sheet in the publication's layout with every table.
func sheet() [][]string {
	r := func(cells ...string) []string { return append([]string{""}, cells...) } // from column B
	return [][]string{
		r("", "", "", "", "Last Modified: January 15, 2025"),
		r("Table 1", "Stationary Combustion"),
		r("", "Fuel Type", "Heat Content (HHV)", "CO2 Factor", "CH4 Factor", "N2O Factor"),
		r("", "", "mmBtu per scf"),
		r("", "Natural Gas", "0.001026", "53.06", "1.0", "0.10"),
		r("", "Biomass Fuels - Liquid"),
		r("", "", "mmBtu per gallon"),
		r("", "Biodiesel (100%)", "0.128", "73.84", "1.1", "0.11"),
		r("", "Source:"),
		r("Table 2", "Mobile Combustion CO2"),
		r("", "Fuel Type", "kg CO2 per unit", "Unit"),
		r("", "Biodiesel (100%)", " 9.45 ", "gallon"),
		r("", "Compressed Natural Gas (CNG)", "0.05444", "scf"),
		r("", "Diesel Fuel", "10.21", "gallon"),
		r("", "Motor Gasoline", "8.78", "gallon"),
		r("", "Source:"),
		r("Table 3", "Mobile Combustion CH4 and N2O for On-Road Gasoline Vehicles"),
		r("", "Vehicle Type", "Model Year", "CH4 Factor \n(g CH4 / vehicle-mile)", "N2O Factor \n(g N2O / vehicle-mile)"),
		r("", "Gasoline Passenger Cars", "2018", "0.0052", "0.0016"),
		r("", "(Sedans)", "2019-2020", "0.0051", "0.0015"),
		r("", "Gasoline Heavy-Duty Vehicles", " ≤1961", "0.4604", "0.0497"),
		r(),
		r("Table 4", "Mobile Combustion CH4 and N2O for On-Road Diesel and Alternative Fuel Vehicles"),
		r("", "Vehicle Type", "Fuel Type", "Model Year", "CH4 Factor \n(g CH4 / vehicle-mile)", "N2O Factor \n(g N2O / vehicle-mile)"),
		r("", "Passenger Cars", "Diesel", "2007-2008", "0.0302", "0.0192"),
		r("", "Light-Duty Cars", "CNG", "", "0.1200", "0.0040"),
		r("", "", "LPG", "", "0.0120", "0.0041"),
		r("Table 5", "Mobile Combustion CH4 and N2O for Non-Road Vehicles"),
		r("", "Vehicle Type", "Fuel Type", "CH4 Factor \n(g CH4 / gallon) ", "N2O Factor \n(g N2O / gallon) "),
		r("", "Construction/Mining EquipmentB", "Diesel Equipment", "1.01", "0.94"),
		r("", "", "Gasoline (2 stroke)", "8.00", "0.12"),
		r("", "Notes:"),
		r("Table 6", "Electricity"),
		r("", "", "", "Total Output Emission Factors"),
		r("", "eGRID Subregion Acronym", "eGRID Subregion Name", "CO2 Factor", "CH4 Factor", "N2O Factor", "CO2 Factor", "CH4 Factor", "N2O Factor", "Grid Gross Loss (%)"),
		r("", "", "", "(lb CO2 / MWh)", "(lb CH4 / MWh)", "(lb N2O / MWh)"),
		r("", "CAMX", "WECC California", "436.7", "0.025", "0.003", "1,034.0", "0.051", "0.007", "4.1%"),
		r("", "PRMS", "Puerto Rico Miscellaneous", "1,543.0", "0.077", "0.012", "1,636.7", "0.072", "0.012"),
		r("", "US Average", "US Average", "771.5", "0.057", "0.008", "1,393.7", "0.104", "0.015", "4.2%"),
		r("", "Source: eGRID"),
		r("Table 7", "Steam and Heat"),
		r(),
		r("", "", "CO2 Factor \n(kg CO2 / mmBtu)", "CH4 Factor \n(g CH4 / mmBtu) ", "N2O Factor \n(g N2O / mmBtu) "),
		r("", "Steam and Heat", " 66.33 ", " 1.250 ", " 0.125 "),
		r("", "Notes:"),
		r("Table 8", "Scope 3 Category 4 and Category 9"),
		r("", "Vehicle Type", "CO2 Factor \n(kg CO2 / unit)", "CH4 Factor \n(g CH4 / unit)", "N2O Factor \n(g N2O / unit)", "Units"),
		r("", "Medium- and Heavy-Duty Truck", "1.298", "0.0115", "0.0376", "vehicle-mile"),
		r("", "Medium- and Heavy-Duty TruckC", "0.186", "0.0016", "0.0054", "short ton-mile"),
		r("", "Rail", "0.021", "0.0017", "0.0005", "short ton-mile"),
		r("Table 9", "Scope 3 Category 5 and Category 12"),
		r("", "", "Metric Tons CO2e / Short Ton Material"),
		r("", "Material", "RecycledA", "LandfilledB", "CombustedC", "CompostedD", "Anaerobically Digested (Dry Digestate with Curing)E", "Anaerobically Digested (Wet  Digestate with Curing)E"),
		r("", "Mixed MSW", " NA ", " 0.58 ", " 0.43 ", " NA ", "NA", "NA"),
		r("", "Food Waste (non-meat)", "NA", "0.67", "0.05", "0.13", "0.14", "0.12"),
		r("", "Notes:\nAR4 GWP values are used to convert all waste emission factors into CO2e."),
		r("Table 10", "Scope 3 Category 6 and Category 7"),
		r("", "Vehicle Type", "CO2 Factor \n(kg CO2 / unit)", "CH4 Factor \n(g CH4 / unit)", "N2O Factor \n(g N2O / unit)", "Units"),
		r("", "Passenger Car A", "0.297", "0.0059", "0.0053", "vehicle-mile"),
		r("", "Air Travel - Long Haul (>= 2300 miles) ", "0.163", "0.0006", "0.0052", "passenger-mile"),
	}
}

// locate finds the first cell reading text at or below the title of table.
func locate(t *testing.T, rows [][]string, table, text string) (int, int) {
	t.Helper()
	for r := findTable(rows, table); r >= 0 && r < len(rows); r++ {
		for c := range rows[r] {
			if strings.TrimSpace(rows[r][c]) == strings.TrimSpace(text) {
				return r, c
			}
		}
	}
	t.Fatalf("no %q in %s", text, table)
	return 0, 0
}

func TestSmallSheet(t *testing.T) {
	ed, err := Parse(sheet(), ghg.NewUnits())
	if err != nil {
		t.Fatal(err)
	}
	n := countByTable(ed)
	for k, v := range map[string]int{"t1": 2, "t2": 4, "t3": 1 + 2 + 2, "t4": 2 + 2, "t5": 2, "t6": 3 + 2, "t6-td": 2, "t7": 1, "t8": 3, "t9": 2 + 5, "t10": 2} {
		if n[k] != v {
			t.Errorf("%s: %d factors, want %d", k, n[k], v)
		}
	}
	want(t, find(t, ed, "mobile_distance/gasoline_passenger_cars/2020"), "vehicle-mile", map[string]string{"CH4": "0.0000051", "N2O": "0.0000015"}, "Gasoline Passenger Cars, model years 2019-2020 (row 20)")
	want(t, find(t, ed, "mobile_distance/gasoline_heavy_duty_vehicles/1960"), "vehicle-mile", map[string]string{"CH4": "0.0004604", "N2O": "0.0000497"}, "≤1961")
	want(t, find(t, ed, "mobile_distance/light_duty_cars/lpg"), "vehicle-mile", map[string]string{"CH4": "0.000012", "N2O": "0.0000041"}, "Light-Duty Cars, LPG (row 27)")
	want(t, find(t, ed, "mobile/construction_mining_equipment/gasoline_2_stroke"), "US gal", map[string]string{"CO2": "8.78", "CH4": "0.008", "N2O": "0.00012"}, "(Table 5 row 31) + Motor Gasoline (Table 2 row 15)")
	if b := find(t, ed, "mobile/biodiesel_100"); !b.BiogenicCO2KgPerUnit.Equal(dec("9.45")) || !b.KgPerUnit["CO2"].IsZero() {
		t.Errorf("biodiesel %v biogenic %s", b.KgPerUnit, b.BiogenicCO2KgPerUnit)
	}
	want(t, findIn(t, ed, "electricity_td_losses", "US"), "MWh", map[string]string{
		"CO2": g("42").Mul(dec("771.5")).Mul(lb).String(), "CH4": g("42").Mul(dec("0.057")).Mul(lb).String(), "N2O": g("42").Mul(dec("0.008")).Mul(lb).String()}, "4.2% loss")
	want(t, find(t, ed, "waste/food_waste_non_meat/anaerobically_digested_wet"), "short ton", map[string]string{"CO2e": "120"}, "(row 55, cell I55)")
	want(t, findPer(t, ed, "freight/medium_and_heavy_duty_truck", "ton-mile"), "ton-mile", map[string]string{"CO2": "0.186", "CH4": "0.0000016", "N2O": "0.0000054"})
	if f := findPer(t, ed, "freight/medium_and_heavy_duty_truck", "vehicle-mile"); f.ID != "epa-hub-2025-t8-medium_and_heavy_duty_truck-vehicle_mile" {
		t.Errorf("truck id %s", f.ID)
	}
}

// Any cell that cannot be read, a missing table or a heading whose units
// changed refuses the whole file; the error names the cell.
func TestRefusesWholeFileOnABadCell(t *testing.T) {
	for _, tc := range []struct {
		name, table, text, to string
		wantCell              bool // the error names the changed cell
		want                  string
	}{
		{"table 1 value", "Table 1", "53.06", "61,4x6", true, ""},
		{"table 2 value", "Table 2", "10.21", "10,2.1x", true, ""},
		{"table 2 unit", "Table 2", "scf", "litre", true, ""},
		{"table 2 heading", "Table 2", "kg CO2 per unit", "lb CO2 per unit", true, "units changed"},
		{"table 3 value", "Table 3", "0.0051", "n/a", true, ""},
		{"table 3 blank value", "Table 3", "0.0051", "", true, "no value"},
		{"table 3 reversed range", "Table 3", "2019-2020", "2020-2019", true, ""},
		{"table 3 before 1960", "Table 3", "2018", "1959", true, ""},
		{"table 3 open above", "Table 3", "2018", "≥2018", true, ""},
		{"table 3 no year", "Table 3", "2018", "", true, ""},
		{"table 3 units", "Table 3", "CH4 Factor \n(g CH4 / vehicle-mile)", "CH4 Factor \n(g CH4 / vehicle-km)", true, "units changed"},
		{"table 4 value", "Table 4", "0.1200", "0.12OO", true, ""},
		{"table 4 year", "Table 4", "2007-2008", "2007 to 2008", true, ""},
		{"table 4 units", "Table 4", "N2O Factor \n(g N2O / vehicle-mile)", "N2O Factor \n(mg N2O / vehicle-mile)", true, "units changed"},
		{"table 5 value", "Table 5", "1.01", "1.0.1", true, ""},
		{"table 5 unmapped fuel", "Table 5", "Gasoline (2 stroke)", "Hydrogen", true, "no Table 2 fuel"},
		{"table 5 units", "Table 5", "CH4 Factor \n(g CH4 / gallon) ", "CH4 Factor \n(g CH4 / litre)", true, "units changed"},
		{"table 6 rate", "Table 6", "436.7", "x", true, ""},
		{"table 6 loss", "Table 6", "4.1%", "4.1", true, "percentage"},
		{"table 6 loss heading", "Table 6", "Grid Gross Loss (%)", "Grid Net Loss (%)", true, ""},
		{"table 7 value", "Table 7", " 66.33 ", "66,33kg", true, ""},
		{"table 7 units", "Table 7", "CO2 Factor \n(kg CO2 / mmBtu)", "CO2 Factor \n(kg CO2 / MWh)", true, "units changed"},
		{"table 8 value", "Table 8", "0.021", "-0.021", true, ""},
		{"table 8 unit", "Table 8", "short ton-mile", "tonne-km", true, ""},
		{"table 9 value", "Table 9", " 0.58 ", "0.58t", true, ""},
		{"table 9 blank", "Table 9", "0.13", "", true, "no value"},
		{"table 9 unit", "Table 9", "Metric Tons CO2e / Short Ton Material", "Kilograms CO2e / Short Ton Material", true, "units changed"},
		{"table 9 heading", "Table 9", "CompostedD", "Composted (aerobic)", true, ""},
		{"table 9 GWPs", "Table 9", "Notes:\nAR4 GWP values are used to convert all waste emission factors into CO2e.", "Notes: AR5 GWPs", false, "AR4"},
		{"table 10 value", "Table 10", "0.163", "O.163", true, ""},
		{"table 10 haul", "Table 10", "Air Travel - Long Haul (>= 2300 miles) ", "Air Travel - Long Haul (>= 3000 miles)", true, "hauls"},
		{"table 10 unit", "Table 10", "passenger-mile", "passenger-km", true, ""},
		{"missing table", "Table 7", "Table 7", "Table 7a", false, `"Table 7" not found`},
	} {
		rows := sheet()
		r, c := locate(t, rows, tc.table, tc.text)
		rows[r][c] = tc.to
		_, err := Parse(rows, ghg.NewUnits())
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if tc.wantCell && !strings.Contains(err.Error(), "cell "+ref(r, c)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming cell %s (and %q)", tc.name, err, ref(r, c), tc.want)
		}
	}

	// A blank row inside a table, with values below it, is not the table's end.
	rows := sheet()
	r, _ := locate(t, rows, "Table 8", "Rail")
	rows = slices.Insert(rows, r, []string{})
	if _, err := Parse(rows, ghg.NewUnits()); err == nil || !strings.Contains(err.Error(), "cell D"+itoa(r+2)) {
		t.Errorf("blank row in Table 8: %v", err)
	}

	// Two rows giving one factor.
	rows = sheet()
	r, _ = locate(t, rows, "Table 10", "Passenger Car A")
	rows = slices.Insert(rows, r, rows[r])
	if _, err := Parse(rows, ghg.NewUnits()); err == nil || !strings.Contains(err.Error(), "both give") {
		t.Errorf("duplicate Table 10 row: %v", err)
	}

	// Table 1 as before: no date, no unit row, a duplicate, no factors.
	base := sheet()
	t1 := findTable(base, "Table 1")
	for name, edit := range map[string]func([][]string) [][]string{
		"no date":     func(rs [][]string) [][]string { return rs[1:] },
		"no unit row": func(rs [][]string) [][]string { return append(rs[:t1+2:t1+2], rs[t1+3:]...) },
		"duplicate":   func(rs [][]string) [][]string { return append(rs[:t1+4:t1+4], rs[t1+3:]...) },
		"no factors":  func(rs [][]string) [][]string { return append(rs[:t1+1:t1+1], rs[t1+8:]...) },
		"only table 1": func(rs [][]string) [][]string {
			return rs[:t1+8]
		},
	} {
		if _, err := Parse(edit(clone(base)), ghg.NewUnits()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Read(strings.NewReader("not a zip"), ghg.NewUnits()); err == nil || !strings.Contains(err.Error(), "xlsx") {
		t.Errorf("not a workbook: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	// date, Table 1 unit row and CO2, Table 3 model year, Table 4 model
	// year, Table 5 fuel, Table 6 loss, Table 8 unit, Table 9 value, Table 10 vehicle.
	f.Add("Last Modified: January 15, 2025", "mmBtu per scf", "53.06", "2019-2020", "2007-2008", "Gasoline (2 stroke)", "4.1%", "short ton-mile", " 0.58 ", "Passenger Car A")
	f.Add("Last Modified: May 1, 2024", "mmBtu per gallon", "1e5", " ≤1980", "", "Jet Fuel", "", "vehicle-mile", "NA", "Air Travel - Short Haul (< 300 miles)")
	f.Add("Blue text indicates an update from the 2023 version", "mmBtu per short ton", "x", "1960-9999", "1983", "Diesel", "100%", "ton-mile", "", "Air Travel")
	f.Add("Last Modified: January 15, 2025", "", "", "2021", "≤1959", "Hydrogen", "4,1%", "short ton-mile", "1,000", "(Bus) E")
	units := ghg.NewUnits()
	base := sheet()
	at := func(table, text string) (int, int) {
		for r := findTable(base, table); r >= 0 && r < len(base); r++ {
			for c := range base[r] {
				if strings.TrimSpace(base[r][c]) == strings.TrimSpace(text) {
					return r, c
				}
			}
		}
		panic(text)
	}
	type pos struct{ r, c int }
	var cells []pos
	for _, x := range [][2]string{
		{"", ""}, {"Table 1", "mmBtu per scf"}, {"Table 1", "53.06"}, {"Table 3", "2019-2020"}, {"Table 4", "2007-2008"},
		{"Table 5", "Gasoline (2 stroke)"}, {"Table 6", "4.1%"}, {"Table 8", "short ton-mile"}, {"Table 9", " 0.58 "}, {"Table 10", "Passenger Car A"},
	} {
		if x[0] == "" {
			cells = append(cells, pos{0, 5})
			continue
		}
		r, c := at(x[0], x[1])
		cells = append(cells, pos{r, c})
	}
	f.Fuzz(func(t *testing.T, date, per, co2, year3, year4, fuel5, loss, unit8, waste, vehicle10 string) {
		rows := clone(base)
		for i, v := range []string{date, per, co2, year3, year4, fuel5, loss, unit8, waste, vehicle10} {
			rows[cells[i].r][cells[i].c] = v
		}
		ed, err := Parse(rows, units)
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, fa := range ed.Factors {
			if fa.ID == "" || fa.Per.IsZero() || fa.Ref.Edition != ed.Year || fa.Ref.SourceRow == "" || fa.Region == "" || len(fa.KgPerUnit) == 0 || ids[fa.ID] {
				t.Fatalf("incomplete or repeated factor %+v", fa)
			}
			ids[fa.ID] = true
		}
	})
}
