package ghg

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shopspring/decimal"
)

// Dimension is what a unit measures. Quantities convert only within one
// dimension; crossing dimensions (a fuel's volume to its energy) needs a
// stated heat content, never a guess.
type Dimension string

// The dimensions activity data comes in.
const (
	Energy            Dimension = "energy"             // base MJ
	Volume            Dimension = "volume"             // base litre
	Mass              Dimension = "mass"               // base kg
	Distance          Dimension = "distance"           // base km
	Freight           Dimension = "freight"            // base tonne-km
	PassengerDistance Dimension = "passenger_distance" // base passenger-km
	VehicleDistance   Dimension = "vehicle_distance"   // base vehicle-km
	RoomNights        Dimension = "room_nights"        // base room-night
	Currency          Dimension = "currency"           // no base: converting between currencies needs exchange rates
)

// divScale is the number of decimal places kept when a conversion divides.
// Every factor below is an exact decimal, so multiplying never rounds; only
// division by a factor does, at 30 places, far below any measured precision.
const divScale = 30

// Unit is a unit of measure: its symbol, dimension and size in the
// dimension's base unit (1 for currencies, which have no base).
type Unit struct {
	Symbol string
	Dim    Dimension
	toBase decimal.Decimal
}

func (u Unit) String() string { return u.Symbol }

// IsZero reports whether u is the zero Unit.
func (u Unit) IsZero() bool { return u.Symbol == "" }

// ToBase is the size of one u in its dimension's base unit.
func (u Unit) ToBase() decimal.Decimal { return u.toBase }

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Exact definitions: 1 kWh = 3.6 MJ; the international-table Btu is
// 1055.05585262 J; 1 US gallon = 3.785411784 L; 1 imperial gallon = 4.54609 L;
// 1 ft = 0.3048 m, so 1 ft³ = 28.316846592 L; 1 lb = 0.45359237 kg;
// 1 short ton = 2000 lb; 1 mile = 1.609344 km; 1 nautical mile = 1.852 km.
func units() []Unit {
	shortTon := d("907.18474")
	mile := d("1.609344")
	return []Unit{
		{"MJ", Energy, d("1")}, {"GJ", Energy, d("1000")}, {"kWh", Energy, d("3.6")},
		{"MWh", Energy, d("3600")}, {"GWh", Energy, d("3600000")},
		{"mmBtu", Energy, d("1055.05585262")}, {"therm", Energy, d("105.505585262")},
		{"L", Volume, d("1")}, {"m3", Volume, d("1000")}, {"US gal", Volume, d("3.785411784")},
		{"imp gal", Volume, d("4.54609")}, {"scf", Volume, d("28.316846592")}, {"ccf", Volume, d("2831.6846592")},
		{"Mscf", Volume, d("28316.846592")}, {"bbl", Volume, d("158.987294928")},
		{"kg", Mass, d("1")}, {"g", Mass, d("0.001")}, {"tonne", Mass, d("1000")}, {"short ton", Mass, shortTon},
		{"lb", Mass, d("0.45359237")},
		{"km", Distance, d("1")}, {"mile", Distance, mile}, {"nmi", Distance, d("1.852")},
		{"tonne-km", Freight, d("1")}, {"ton-mile", Freight, shortTon.Div(d("1000")).Mul(mile)},
		{"passenger-km", PassengerDistance, d("1")}, {"passenger-mile", PassengerDistance, mile},
		{"vehicle-km", VehicleDistance, d("1")}, {"vehicle-mile", VehicleDistance, mile},
		{"room-night", RoomNights, d("1")},
	}
}

// aliases maps a canonical symbol to its other spellings.
func aliases() map[string][]string {
	return map[string][]string{
		"MJ": {"megajoule", "megajoules"}, "GJ": {"gigajoule", "gigajoules"},
		"kWh": {"kilowatthour", "kilowatthours"}, "MWh": {"megawatthour", "megawatthours"},
		"mmBtu": {"mmbtu", "millionbtu", "mbtu(million)"}, "therm": {"therms", "thm"},
		"L": {"l", "litre", "litres", "liter", "liters"}, "m3": {"m³", "cubicmetre", "cubicmetres", "cubicmeter", "cubicmeters"},
		"US gal":  {"gal", "gallon", "gallons", "usgal", "usgallon", "usgallons", "gal(us)"},
		"imp gal": {"impgal", "ukgal", "imperialgallon", "imperialgallons", "gal(uk)", "gal(imp)"},
		"scf":     {"standardcubicfoot", "standardcubicfeet", "ft3", "cf"}, "ccf": {"hundredcubicfeet"},
		"Mscf": {"mcf", "thousandcubicfeet"}, "bbl": {"barrel", "barrels"},
		"kg": {"kilogram", "kilograms", "kgs"}, "g": {"gram", "grams"},
		"tonne": {"t", "tonnes", "metricton", "metrictons", "mt"}, "short ton": {"shortton", "shorttons", "uston", "ustons"},
		"lb": {"lbs", "pound", "pounds"},
		"km": {"kilometre", "kilometres", "kilometer", "kilometers"}, "mile": {"mi", "miles"},
		"nmi":            {"nauticalmile", "nauticalmiles"},
		"tonne-km":       {"tkm", "tonnekm", "tonnekilometre", "tonnekilometres", "tonne-kilometre"},
		"ton-mile":       {"tonmile", "tonmiles", "shorttonmile"},
		"passenger-km":   {"pkm", "passengerkm", "passengerkilometre", "passenger-kilometre"},
		"passenger-mile": {"pmi", "passengermile", "passengermiles"},
		"vehicle-km":     {"vkm", "vehiclekm", "vehiclekilometre"}, "vehicle-mile": {"vmi", "vehiclemile", "vehiclemiles"},
		"room-night": {"roomnight", "roomnights", "room-nights", "hotelnight", "hotelnights", "night", "nights"},
	}
}

// ambiguous maps spellings that are refused to the reason, naming the choices.
func ambiguous() map[string]string {
	return map[string]string{
		"ton":                 `"ton" is ambiguous: write "short ton" (2000 lb) or "tonne" (1000 kg)`,
		"tons":                `"tons" is ambiguous: write "short ton" (2000 lb) or "tonne" (1000 kg)`,
		"btu":                 `"Btu" is too small to be meant: write "mmBtu" (million Btu)`,
		"mm3":                 `"mm3" is ambiguous: write "m3" or "L"`,
		"gallon(unspecified)": `write "US gal" or "imp gal"`,
	}
}

// Units is the unit catalogue. Build one with NewUnits and share it; it is
// read-only and safe for concurrent use.
type Units struct {
	bySymbol  map[string]Unit
	byAlias   map[string]string // folded spelling -> symbol
	ambiguous map[string]string // folded spelling -> why it is refused
}

// NewUnits builds the catalogue.
func NewUnits() *Units {
	c := &Units{bySymbol: map[string]Unit{}, byAlias: map[string]string{}, ambiguous: map[string]string{}}
	for _, u := range units() {
		c.bySymbol[u.Symbol] = u
		c.byAlias[fold(u.Symbol)] = u.Symbol
	}
	for sym, as := range aliases() {
		for _, a := range as {
			c.byAlias[fold(a)] = sym
		}
	}
	for a, why := range ambiguous() {
		c.ambiguous[fold(a)] = why
	}
	return c
}

// fold lower-cases a unit spelling and drops spaces, dots and underscores.
func fold(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' || r == '_' {
			return -1
		}
		return r
	}, s)
}

// UnitError reports a unit that cannot be used.
type UnitError struct {
	Unit   string
	Reason string
}

func (e *UnitError) Error() string { return fmt.Sprintf("unit %q: %s", e.Unit, e.Reason) }

// Parse finds a unit by symbol or common spelling. A three-letter upper-case
// code is a currency (ISO 4217). Ambiguous spellings ("ton") and unknown ones
// are errors naming the unit.
func (c *Units) Parse(s string) (Unit, error) {
	f := fold(s)
	if f == "" {
		return Unit{}, &UnitError{Unit: s, Reason: "no unit given"}
	}
	if why, ok := c.ambiguous[f]; ok {
		return Unit{}, &UnitError{Unit: s, Reason: why}
	}
	if sym, ok := c.byAlias[f]; ok {
		return c.bySymbol[sym], nil
	}
	if t := strings.TrimSpace(s); isCurrencyCode(t) {
		return CurrencyUnit(t), nil
	}
	return Unit{}, &UnitError{Unit: s, Reason: "unknown unit (known: " + strings.Join(c.Symbols(), ", ") + ", or an ISO 4217 currency code)"}
}

// MustParse is Parse for units written in code; it panics on an unknown unit.
func (c *Units) MustParse(s string) Unit {
	u, err := c.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Symbols lists the canonical unit symbols, sorted.
func (c *Units) Symbols() []string {
	out := make([]string, 0, len(c.bySymbol))
	for s := range c.bySymbol {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// CurrencyUnit is the unit of an amount of money in an ISO 4217 currency.
func CurrencyUnit(code string) Unit {
	return Unit{Symbol: code, Dim: Currency, toBase: decimal.NewFromInt(1)}
}

// Quantity is an amount in a unit. Amounts of money also carry the year
// whose prices they are in, needed to deflate spend to a factor's base year.
type Quantity struct {
	Value     decimal.Decimal
	Unit      Unit
	PriceYear int // currency amounts only; 0 when unknown
}

func (q Quantity) String() string { return q.Value.String() + " " + q.Unit.Symbol }

// DimensionError reports a conversion between units of different dimensions.
type DimensionError struct {
	From, To Unit
}

func (e *DimensionError) Error() string {
	return fmt.Sprintf("cannot convert %s (%s) to %s (%s): different dimensions", e.From.Symbol, e.From.Dim, e.To.Symbol, e.To.Dim)
}

// Step is one conversion applied to a quantity, kept so a result can explain
// itself.
type Step struct {
	From   string          `json:"from"`
	To     string          `json:"to"`
	Factor decimal.Decimal `json:"factor"` // multiply the From value by this
	Note   string          `json:"note,omitempty"`
}

// ConversionFactor is the number that multiplies a value in from to give it
// in to. Both must have the same dimension; currencies only convert to
// themselves.
func ConversionFactor(from, to Unit) (decimal.Decimal, error) {
	if from.Dim != to.Dim || from.IsZero() || to.IsZero() {
		return decimal.Decimal{}, &DimensionError{From: from, To: to}
	}
	if from.Dim == Currency && from.Symbol != to.Symbol {
		return decimal.Decimal{}, fmt.Errorf("converting %s to %s needs an exchange rate, not a unit conversion", from.Symbol, to.Symbol)
	}
	if from.Symbol == to.Symbol {
		return one, nil
	}
	return from.toBase.DivRound(to.toBase, divScale), nil
}

// one is 1, shared: decimals are immutable.
var one = decimal.NewFromInt(1)

// To converts q to unit u within its dimension.
func (q Quantity) To(u Unit) (Quantity, Step, error) {
	f, err := ConversionFactor(q.Unit, u)
	if err != nil {
		return Quantity{}, Step{}, err
	}
	return Quantity{Value: mulExact(q.Value, q.Unit, u), Unit: u, PriceYear: q.PriceYear},
		Step{From: q.Unit.Symbol, To: u.Symbol, Factor: f}, nil
}

// mulExact converts value from one unit to another dividing once, at the end,
// so that converting to the base unit and back is exact whenever it can be.
func mulExact(v decimal.Decimal, from, to Unit) decimal.Decimal {
	if from.Symbol == to.Symbol {
		return v
	}
	return v.Mul(from.toBase).DivRound(to.toBase, divScale)
}

// HeatBasis says whether a heat content is the higher (gross) or lower (net)
// heating value: fuels' energy differs by some 5-10% between the two.
type HeatBasis string

// Heat bases.
const (
	HHV HeatBasis = "HHV"
	NCV HeatBasis = "NCV"
)

// HeatContent is a fuel's energy per amount (per volume or per mass), as a
// factor publication states it: e.g. 1.026 mmBtu per Mscf (HHV) for natural gas.
type HeatContent struct {
	Energy Quantity // e.g. 1.026 mmBtu
	Per    Unit     // e.g. Mscf
	Basis  HeatBasis
}

// Convert turns a fuel quantity between energy and the heat content's
// amount dimension (volume or mass), through the heat content itself. It
// returns the steps it applied. Converting energy to a fuel amount, or a
// fuel amount to energy, is the only crossing of dimensions the engine makes.
func (h HeatContent) Convert(q Quantity, to Unit) (Quantity, []Step, error) {
	if h.Energy.Unit.Dim != Energy || h.Per.Dim == Energy || h.Per.IsZero() || !h.Energy.Value.IsPositive() {
		return Quantity{}, nil, fmt.Errorf("heat content %s per %s is not an energy per amount of fuel", h.Energy, h.Per.Symbol)
	}
	if h.Basis != HHV && h.Basis != NCV {
		return Quantity{}, nil, fmt.Errorf("heat content %s per %s does not state HHV or NCV", h.Energy, h.Per.Symbol)
	}
	note := fmt.Sprintf("heat content %s per %s (%s)", h.Energy, h.Per.Symbol, h.Basis)
	switch {
	case q.Unit.Dim == to.Dim:
		out, st, err := q.To(to)
		return out, []Step{st}, err
	case q.Unit.Dim == h.Per.Dim && to.Dim == Energy:
		amt, s1, err := q.To(h.Per)
		if err != nil {
			return Quantity{}, nil, err
		}
		e := Quantity{Value: amt.Value.Mul(h.Energy.Value), Unit: h.Energy.Unit}
		s2 := Step{From: h.Per.Symbol, To: h.Energy.Unit.Symbol, Factor: h.Energy.Value, Note: note}
		out, s3, err := e.To(to)
		return out, []Step{s1, s2, s3}, err
	case q.Unit.Dim == Energy && to.Dim == h.Per.Dim:
		e, s1, err := q.To(h.Energy.Unit)
		if err != nil {
			return Quantity{}, nil, err
		}
		amt := Quantity{Value: e.Value.DivRound(h.Energy.Value, divScale), Unit: h.Per}
		s2 := Step{From: h.Energy.Unit.Symbol, To: h.Per.Symbol, Factor: decimal.NewFromInt(1).DivRound(h.Energy.Value, divScale), Note: note}
		out, s3, err := amt.To(to)
		return out, []Step{s1, s2, s3}, err
	}
	return Quantity{}, nil, &DimensionError{From: q.Unit, To: to}
}
