package ghg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// More method names, as recorded in results.
const (
	MethodMobileFuel         = "mobile_combustion_fuel"
	MethodMobileDistance     = "mobile_combustion_distance"
	MethodPurchasedHeat      = "purchased_heat_steam_cooling"
	MethodFuelEnergyWTT      = "fuel_energy_well_to_tank"
	MethodFuelEnergyTDLosses = "fuel_energy_td_losses"
	MethodFreight            = "freight_distance"
	MethodWaste              = "waste_by_treatment"
	MethodAirTravel          = "business_travel_air"
	MethodGroundTravel       = "business_travel_ground"
	MethodHotel              = "business_travel_hotel"
	MethodCommuting          = "employee_commuting"
	MethodAverageData        = "average_data"
	MethodSupplierSpecific   = "supplier_specific"
)

// methodSpec says where a method reports and what activity it accepts.
type methodSpec struct {
	scope      int
	categories []int // scope 3 categories it may report under; nil for scopes 1 and 2
	dims       []Dimension
}

func methodSpecs() map[string]methodSpec {
	fuel := []Dimension{Volume, Mass, Energy}
	return map[string]methodSpec{
		MethodStationaryCombustion: {1, nil, fuel},
		MethodMobileFuel:           {1, nil, fuel},
		MethodMobileDistance:       {1, nil, []Dimension{VehicleDistance, Distance}},
		MethodPurchasedHeat:        {2, nil, []Dimension{Energy, Mass}}, // steam is also bought by mass
		MethodFuelEnergyWTT:        {3, []int{3}, append(fuel, Energy)},
		MethodFuelEnergyTDLosses:   {3, []int{3}, []Dimension{Energy}},
		MethodFreight:              {3, []int{4, 9}, []Dimension{Freight, VehicleDistance}},
		MethodWaste:                {3, []int{5, 12}, []Dimension{Mass, Volume}},
		MethodAirTravel:            {3, []int{6}, []Dimension{PassengerDistance}},
		MethodGroundTravel:         {3, []int{6}, []Dimension{PassengerDistance, VehicleDistance, Distance, Volume, Energy}},
		MethodHotel:                {3, []int{6}, []Dimension{RoomNights}},
		MethodCommuting:            {3, []int{7}, []Dimension{PassengerDistance, VehicleDistance, Distance, Volume, Energy}},
		MethodAverageData:          {3, []int{1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, []Dimension{Mass, Volume, Energy, Distance, Freight, PassengerDistance, VehicleDistance, RoomNights}},
		MethodSupplierSpecific:     {3, []int{1, 2, 4, 8, 9, 10, 11, 12, 13, 14, 15}, []Dimension{Mass, Volume, Energy, Currency, Distance, Freight}},
	}
}

// Apply runs a named method: activity × factor reported under the method's
// scope and the given scope 3 category (0 for scopes 1 and 2), refusing an
// activity whose dimension the method cannot use (waste in kWh, hotel stays
// in kilometres).
func (c *Calculator) Apply(method string, a Activity, f Factor, category int) (Result, error) {
	spec, ok := c.specs[method]
	if !ok {
		return Result{}, &InputError{a.ID, "method", fmt.Sprintf("unknown method %q", method)}
	}
	if spec.scope == 3 && !slices.Contains(spec.categories, category) {
		return Result{}, &InputError{a.ID, "category", fmt.Sprintf("%s reports under scope 3 category %v, not %d", method, spec.categories, category)}
	}
	if spec.scope != 3 && category != 0 {
		return Result{}, &InputError{a.ID, "category", fmt.Sprintf("%s is scope %d and takes no category", method, spec.scope)}
	}
	if !slices.Contains(spec.dims, a.Quantity.Unit.Dim) {
		names := make([]string, len(spec.dims))
		for i, d := range spec.dims {
			names[i] = string(d)
		}
		return Result{}, &InputError{a.ID, "unit", fmt.Sprintf("%s measures %s; %s needs one of %s", a.Quantity.Unit.Symbol, a.Quantity.Unit.Dim, method, strings.Join(names, ", "))}
	}
	return c.ActivityFactor(a, f, spec.scope, category, method)
}

// Haul classes of flights as DESNZ defines them: domestic (within the
// country), short haul (international up to 3700 km), long haul (beyond).
const (
	HaulDomestic = "domestic"
	HaulShort    = "short_haul"
	HaulLong     = "long_haul"
)

// Haul classifies a flight by its great-circle distance.
func Haul(distanceKm decimal.Decimal, domestic bool) string {
	switch {
	case domestic:
		return HaulDomestic
	case distanceKm.LessThanOrEqual(decimal.NewFromInt(3700)):
		return HaulShort
	default:
		return HaulLong
	}
}

// AirTravel is category 6 air travel: passenger-km × the factor for the
// flight's haul and cabin class. rfUplift multiplies the CO2 part to account
// for aviation's non-CO2 radiative forcing (DESNZ uses 1.7); zero or one
// means no uplift. The uplift is a separate step in the explanation.
func (c *Calculator) AirTravel(a Activity, f Factor, rfUplift decimal.Decimal) (Result, error) {
	r, err := c.Apply(MethodAirTravel, a, f, 6)
	if err != nil || rfUplift.IsZero() || rfUplift.Equal(decimal.NewFromInt(1)) {
		return r, err
	}
	if rfUplift.LessThan(decimal.NewFromInt(1)) {
		return Result{}, &InputError{a.ID, "rf_uplift", fmt.Sprintf("%s is below 1", rfUplift)}
	}
	co2 := r.KgByGas["CO2"]
	extra := co2.Mul(rfUplift.Sub(decimal.NewFromInt(1)))
	r.KgByGas["CO2e"] = r.KgByGas["CO2e"].Add(extra)
	r.CO2eKg = r.CO2eKg.Add(extra)
	r.Explanation.Conversions = append(r.Explanation.Conversions, Step{From: "kg CO2", To: "kg CO2e incl. radiative forcing", Factor: rfUplift, Note: "radiative-forcing uplift on the CO2 part"})
	return r, nil
}

// TonneKm is the freight activity of moving mass over distance.
func TonneKm(mass, distance Quantity, units *Units) (Quantity, error) {
	t, _, err := mass.To(units.MustParse("tonne"))
	if err != nil {
		return Quantity{}, err
	}
	km, _, err := distance.To(units.MustParse("km"))
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{Value: t.Value.Mul(km.Value), Unit: units.MustParse("tonne-km")}, nil
}
