package ghg

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// FactorRef says where a factor comes from, precisely enough for an auditor
// to find it in the publication.
type FactorRef struct {
	Set         string `json:"set"`          // e.g. "EPA GHG Emission Factors Hub"
	Version     string `json:"version"`      // e.g. "2025"
	SourceTable string `json:"source_table"` // e.g. "Table 1 Stationary Combustion"
	SourceRow   string `json:"source_row"`   // e.g. "Natural Gas"
	// Edition is the publication year of the edition: selection takes the
	// latest edition not after the activity's year.
	Edition int `json:"edition"`
}

func (r FactorRef) String() string {
	s := strings.TrimSpace(r.Set + " " + r.Version)
	for _, part := range []string{r.SourceTable, r.SourceRow} {
		if part != "" {
			s += ", " + part
		}
	}
	return s
}

// Factor is an emission factor: kilograms of each gas per one Per unit of
// activity. Gas "CO2e" holds a value that is already CO2-equivalent (DESNZ
// publishes per-gas rows that way); it is added as it is and never
// multiplied by a GWP again.
type Factor struct {
	ID           string    `json:"id"`
	Ref          FactorRef `json:"ref"`
	ActivityType string    `json:"activity_type"`
	Region       string    `json:"region,omitempty"`
	Per          Unit      `json:"-"`
	// PerBasis is HHV or NCV when Per is an energy unit of fuel and the
	// publication says which (DESNZ gives both); empty otherwise.
	PerBasis  HeatBasis                  `json:"per_basis,omitempty"`
	KgPerUnit map[string]decimal.Decimal `json:"kg_per_unit"`
	// BiogenicCO2KgPerUnit is reported outside the scopes.
	BiogenicCO2KgPerUnit decimal.Decimal `json:"biogenic_co2_kg_per_unit"`
	// HeatContent lets an activity given in energy meet a factor per fuel
	// amount, or the reverse; nil when the publication states none.
	HeatContent *HeatContent `json:"-"`
	// PriceYear is the year of the prices a per-currency factor is stated
	// in (USEEIO: 2021 USD); spend is deflated to it.
	PriceYear int `json:"price_year,omitempty"`
	// UncertaintyPct is the 95% half-width in percent; zero when unknown.
	UncertaintyPct decimal.Decimal `json:"uncertainty_pct"`
	ValidFrom      time.Time       `json:"valid_from"`
	ValidTo        time.Time       `json:"valid_to,omitzero"` // zero: open-ended
}

// Activity is one amount of activity to calculate.
type Activity struct {
	ID          string
	Type        string // e.g. "natural_gas", "electricity"
	Quantity    Quantity
	Region      string
	PeriodStart time.Time
	PeriodEnd   time.Time
	// UncertaintyPct is the activity data's 95% half-width in percent.
	UncertaintyPct decimal.Decimal
	// DataQuality is 1 (best) to 5.
	DataQuality int
	// Correction marks a negative quantity as a deliberate correction;
	// any other negative quantity is refused.
	Correction bool
	// HeatBasis is the calorific basis (HHV gross, NCV net) of a fuel given
	// in energy units, when stated; it picks between factors published on
	// both bases.
	HeatBasis HeatBasis
	// Site is the reporting organization's facility the activity belongs
	// to (its code), when given: it attributes emissions, it changes no
	// number.
	Site string
}

// InputError reports activity data the engine refuses, naming the field.
type InputError struct {
	ActivityID string
	Field      string
	Reason     string
}

func (e *InputError) Error() string {
	if e.ActivityID == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("activity %s: %s: %s", e.ActivityID, e.Field, e.Reason)
}

func (a Activity) check() error {
	switch {
	case a.Type == "":
		return &InputError{a.ID, "activity_type", "is required"}
	case a.Quantity.Unit.IsZero():
		return &InputError{a.ID, "unit", "is required"}
	case a.Quantity.Value.IsNegative() && !a.Correction:
		return &InputError{a.ID, "quantity", fmt.Sprintf("%s is negative and not marked as a correction", a.Quantity.Value)}
	case a.DataQuality < 0 || a.DataQuality > 5:
		return &InputError{a.ID, "data_quality", fmt.Sprintf("%d is not 1-5", a.DataQuality)}
	case a.UncertaintyPct.IsNegative():
		return &InputError{a.ID, "uncertainty_pct", "is negative"}
	}
	return nil
}

// amountIn expresses the activity's quantity in the factor's unit, through
// the factor's heat content when the dimensions differ.
func amountIn(a Activity, f Factor) (decimal.Decimal, []Step, error) {
	if a.Quantity.Unit.Dim == f.Per.Dim {
		q, st, err := a.Quantity.To(f.Per)
		if st.From == st.To {
			return q.Value, []Step{}, err // empty, not nil: explanations show "conversions": []
		}
		return q.Value, []Step{st}, err
	}
	if f.HeatContent != nil {
		q, steps, err := f.HeatContent.Convert(a.Quantity, f.Per)
		if err == nil {
			return q.Value, withoutIdentities(steps), nil
		}
	}
	return decimal.Decimal{}, nil, &InputError{a.ID, "unit", fmt.Sprintf(
		"%s is %s but factor %q is per %s (%s) and states no heat content to convert through",
		a.Quantity.Unit.Symbol, a.Quantity.Unit.Dim, f.ID, f.Per.Symbol, f.Per.Dim)}
}

// withoutIdentities drops steps that convert a unit to itself: they explain
// nothing.
func withoutIdentities(steps []Step) []Step {
	out := steps[:0]
	for _, s := range steps {
		if s.From != s.To {
			out = append(out, s)
		}
	}
	return out
}
