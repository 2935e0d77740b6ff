package ghg

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func grid(id, region, set string, edition int) Factor {
	return Factor{ID: id, ActivityType: "electricity", Region: region, Per: NewUnits().MustParse("kWh"),
		KgPerUnit: map[string]decimal.Decimal{"CO2": dec("0.4")}, Ref: FactorRef{Set: set, Edition: edition},
		ValidFrom: time.Date(edition-2, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func TestSelect(t *testing.T) {
	regions, err := NewRegions(map[string]string{"US-CAMX": "US", "US-RFCE": "US", "US": "North America", "DE": "EU"})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := NewLibrary(regions, []Factor{
		grid("epa24-camx", "US-CAMX", "EPA", 2024), grid("epa25-camx", "US-CAMX", "EPA", 2025),
		grid("epa25-us", "US", "EPA", 2025), grid("iea-global", "", "IEA", 2023), grid("eea-eu", "EU", "EEA", 2019),
	}, []Override{{Factor: grid("acme-de", "DE", "ACME PPA", 2024), Reason: "supplier-specific PPA", By: "ana"}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int) time.Time { return time.Date(y, 6, 1, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		q      Query
		want   string
		trails string
	}{
		{Query{ActivityType: "electricity", Region: "US-CAMX", Date: at(2025)}, "epa25-camx", "US-CAMX"},
		{Query{ActivityType: "electricity", Region: "US-CAMX", Date: at(2024)}, "epa24-camx", "US-CAMX"}, // 2025 edition is after the activity year
		{Query{ActivityType: "electricity", Region: "US-CAMX", Date: at(2024), PinnedSet: "EPA", PinnedEdition: 2025}, "epa25-camx", "US-CAMX"},
		// A pinned edition applies before its validity starts, and says so.
		{Query{ActivityType: "electricity", Region: "US-CAMX", Date: at(2021), PinnedSet: "EPA", PinnedEdition: 2025}, "epa25-camx",
			"the pinned edition applies although the activity's date 2021-06-01 is before the factor's validity from 2023-01-01"},
		{Query{ActivityType: "electricity", Region: "US-RFCE", Date: at(2025)}, "epa25-us", "US-RFCE: no factor"},
		{Query{ActivityType: "electricity", Region: "US-RFCE", Date: at(2024)}, "iea-global", "North America: no factor"},
		{Query{ActivityType: "electricity", Region: "FR", Date: at(2024)}, "iea-global", "FR: no factor"},
		{Query{ActivityType: "electricity", Region: "US-SRMW", Date: at(2025)}, "epa25-us", "US-SRMW: no factor"}, // ISO 3166-2 fallback
		{Query{ActivityType: "electricity", Region: "DE", Date: at(2024)}, "acme-de", "tenant override"},
	}
	for _, c := range cases {
		s, err := lib.Select(c.q)
		if err != nil || s.Factor.ID != c.want || !strings.Contains(strings.Join(s.Trail, "|"), c.trails) {
			t.Errorf("%+v: got %s %v (trail %q), want %s", c.q, s.Factor.ID, err, s.Trail, c.want)
		}
	}
	if _, err := lib.Select(Query{ActivityType: "steam", Region: "US", Date: at(2025)}); err == nil || !strings.Contains(err.Error(), `no factor for activity type "steam"`) {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := lib.Select(Query{ActivityType: "electricity", Region: "US", Date: at(2019)}); err == nil || !strings.Contains(err.Error(), "valid on 2019") {
		t.Errorf("nothing valid: %v", err)
	}
}

// A pinned edition waives only the start of a factor's validity: a factor
// withdrawn before the activity's date is still refused.
func TestPinnedEditionKeepsValidityEnd(t *testing.T) {
	regions, _ := NewRegions(nil)
	old := grid("epa25-us", "US", "EPA", 2025)
	old.ValidTo = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lib, err := NewLibrary(regions, []Factor{old}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := Query{ActivityType: "electricity", Region: "US", PinnedSet: "EPA", PinnedEdition: 2025}
	q.Date = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	if s, err := lib.Select(q); err != nil || s.Factor.ID != "epa25-us" {
		t.Errorf("within validity: %v %v", s.Factor.ID, err)
	}
	q.Date = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := lib.Select(q); err == nil || !strings.Contains(err.Error(), "in the pinned set EPA 2025") {
		t.Errorf("after the factor's validity ended: %v", err)
	}
}

func TestLibraryRefusals(t *testing.T) {
	regions, _ := NewRegions(nil)
	if _, err := NewLibrary(regions, []Factor{grid("a", "US", "EPA", 2025), grid("b", "US", "EPA", 2025)}, nil); err == nil {
		t.Error("two factors for the same thing accepted")
	}
	if _, err := NewLibrary(regions, nil, []Override{{Factor: grid("x", "US", "own", 2025)}}); err == nil {
		t.Error("override without a reason accepted")
	}
	if _, err := NewRegions(map[string]string{"A": "B", "B": "A"}); err == nil {
		t.Error("region cycle accepted")
	}
}

func TestSelectByDimensionAndBasis(t *testing.T) {
	c := NewUnits()
	regions, _ := NewRegions(nil)
	mk := func(id string, per string, basis HeatBasis) Factor {
		return Factor{ID: id, ActivityType: "butane", Per: c.MustParse(per), PerBasis: basis, Ref: FactorRef{Set: "DESNZ", Edition: 2024},
			KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("1")}, ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	lib, err := NewLibrary(regions, []Factor{mk("t", "tonne", ""), mk("l", "L", ""), mk("gross", "kWh", HHV), mk("net", "kWh", NCV)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		dim   Dimension
		basis HeatBasis
		want  string
	}{{Mass, "", "t"}, {Volume, "", "l"}, {Energy, NCV, "net"}, {Energy, HHV, "gross"}} {
		s, err := lib.Select(Query{ActivityType: "butane", Date: at, Dim: tc.dim, Basis: tc.basis})
		if err != nil || s.Factor.ID != tc.want {
			t.Errorf("%s %s: %s %v, want %s", tc.dim, tc.basis, s.Factor.ID, err, tc.want)
		}
	}
	if _, err := lib.Select(Query{ActivityType: "butane", Date: at, Dim: Energy}); err == nil || !strings.Contains(err.Error(), "calorific basis") {
		t.Errorf("kWh without a basis: %v", err)
	}
}

// Two factors of one edition in the same dimension (per km and per mile):
// the one per the activity's own unit is taken.
func TestSelectPrefersTheActivitysUnit(t *testing.T) {
	u := NewUnits()
	mk := func(id, per string) Factor {
		return Factor{ID: id, ActivityType: "car", Per: u.MustParse(per), KgPerUnit: map[string]decimal.Decimal{"CO2e": decimal.NewFromInt(1)},
			Ref: FactorRef{Set: "S", Version: "2024", Edition: 2024}, ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	reg, _ := NewRegions(nil)
	lib, err := NewLibrary(reg, []Factor{mk("per-km", "vehicle-km"), mk("per-mile", "vehicle-mile")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for unit, want := range map[string]string{"vehicle-km": "per-km", "vehicle-mile": "per-mile"} {
		sel, err := lib.Select(Query{ActivityType: "car", Date: at, Dim: VehicleDistance, Unit: unit})
		if err != nil || sel.Factor.ID != want {
			t.Errorf("%s: %s %v", unit, sel.Factor.ID, err)
		}
	}
	if _, err := lib.Select(Query{ActivityType: "car", Date: at, Dim: VehicleDistance}); err == nil {
		t.Error("no unit given, yet one of two equal factors was chosen")
	}
}
