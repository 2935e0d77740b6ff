package calculation

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

func TestOrganizationOverridesSQLite(t *testing.T) {
	organizationOverrides(t, sqliteStore(t))
}

func TestOrganizationOverridesPostgres(t *testing.T) {
	organizationOverrides(t, pgtest.Open(t, pgtest.New(t, "greenlang_overrides"), store.Options{}))
}

const gasFile = "id,activity_type,quantity,unit,period_start,region,method\n" +
	"boiler,natural_gas,10,mmBtu,2025-03-01,US-CAMX,stationary_combustion\n"

// calcFor calculates in with org's service and pin, from svcs: the test
// sees the cache follow every override and pin change.
func calcFor(t *testing.T, svcs *Services, st *store.Store, org *store.Organization, in string) (Report, OrgFactors) {
	t.Helper()
	svc, of, err := svcs.ForOrganization(context.Background(), st, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{GWPSet: "AR5"}
	of.ApplyPin(&o)
	rep, err := svc.CalculateFile(strings.NewReader(in), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep, of
}

// An organization's override is used, in the explanation, trail and input
// hash, for every calculation and recalculation of that organization only;
// retiring it restores the library's factor.
func organizationOverrides(t *testing.T, st *store.Store) {
	ana := store.WithActor(context.Background(), store.Actor{Type: "user", ID: "ana"})
	ctx := context.Background()
	org, other := drivertest.NewOrg(t, st), drivertest.NewOrg(t, st)
	units := ghg.NewUnits()
	svcs := NewServices(0)

	// The library: EPA Hub 2025 Table 1, AR5: 10 × (53.06 + 0.001×28 + 0.0001×265).
	before, of := calcFor(t, svcs, st, org, gasFile)
	if len(before.Errors) != 0 || len(of.Overrides) != 0 || !of.Pin.IsZero() {
		t.Fatalf("errors %v, org factors %+v", before.Errors, of)
	}
	if got := before.Lines[0].Result.CO2eKg; !got.Equal(dec("531.145")) {
		t.Fatalf("library result %s, want 531.145", got)
	}
	stored, err := Persist(ctx, st, org.ID, before, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}

	svc, _, err := ForOrganization(ctx, st, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	epd := NewOverride{
		Factor: ghg.Factor{ActivityType: "natural_gas", Region: "US", Per: units.MustParse("mmBtu"),
			KgPerUnit: map[string]decimal.Decimal{"CO2e": dec("50.1")}, UncertaintyPct: dec("3")},
		Source: "Supplier EPD S-P-01234 (2025), Table 4",
		Reason: "supplier-specific gas with verified EPD",
	}
	rec, f, err := svc.AddOverride(ana, st, org.ID, epd)
	if err != nil {
		t.Fatal(err)
	}
	if f.ID != "override-"+rec.ID.String() || f.Ref.Set != OverrideSet || f.Ref.Version != rec.ID.String() || rec.CreatedBy != "user:ana" ||
		f.Ref.SourceRow != "reason: supplier-specific gas with verified EPD; by user:ana" || !f.KgPerUnit["CO2e"].Equal(dec("50.1")) {
		t.Fatalf("stored %+v as %+v", rec, f)
	}
	if _, _, err := svc.AddOverride(ctx, st, org.ID, epd); store.CodeOf(err) != store.CodeAlreadyExists || !strings.Contains(err.Error(), rec.ID.String()) {
		t.Errorf("a second override for natural gas in US: %v", err)
	}

	// With the override: 10 mmBtu × 50.1 kg CO2e (already CO2e: no GWP).
	with, of := calcFor(t, svcs, st, org, gasFile)
	if len(with.Errors) != 0 || len(of.Overrides) != 1 {
		t.Fatalf("errors %v, %d overrides", with.Errors, len(of.Overrides))
	}
	r := with.Lines[0].Result
	if !r.CO2eKg.Equal(dec("501")) || r.Explanation.FactorID != f.ID || r.Explanation.Factor.Set != OverrideSet || !r.UncertaintyPct.IsPositive() {
		t.Errorf("with the override: %s kg via %s (%s)", r.CO2eKg, r.Explanation.FactorID, r.Explanation.Factor)
	}
	for _, want := range []string{"Tenant override " + rec.ID.String(), "Supplier EPD S-P-01234 (2025), Table 4", "reason: supplier-specific gas with verified EPD; by user:ana"} {
		if !strings.Contains(r.Explanation.String(), want) {
			t.Errorf("explanation lacks %q: %s", want, r.Explanation)
		}
	}
	trail := strings.Join(with.Lines[0].Selection, "; ")
	if !strings.Contains(trail, `US-CAMX: no factor; US: tenant override "`+f.ID+`" (supplier-specific gas with verified EPD, by user:ana)`) {
		t.Errorf("trail: %s", trail)
	}
	if with.InputHash == before.InputHash {
		t.Error("the input hash does not change with an override")
	}
	// Another organization still uses the library.
	if rep, _ := calcFor(t, svcs, st, other, gasFile); !rep.Lines[0].Result.CO2eKg.Equal(dec("531.145")) {
		t.Errorf("another organization: %s", rep.Lines[0].Result.CO2eKg)
	}

	// Recalculation of the stored run applies the override.
	svc, _, err = ForOrganization(ctx, st, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := svc.Recalculate(ctx, st, org.ID, RecalcOptions{Options: Options{GWPSet: "AR5"}, Reason: "supplier EPD"}, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || rc.Superseded != 1 || !rc.Restatement.NewTotalKg.Equal(dec("501")) || rc.Restatement.OldTotalKg.Equal(dec("501")) {
		t.Fatalf("recalculation: %+v %v (stored run %s)", rc, err, stored.RunID)
	}

	// Retired: the library's factor again, and the library's input hash.
	if _, err := st.FactorOverrideRetire(ana, org.ID, rec.ID, "EPD withdrawn by the supplier"); err != nil {
		t.Fatal(err)
	}
	after, of := calcFor(t, svcs, st, org, gasFile)
	if len(of.Overrides) != 0 || !after.Lines[0].Result.CO2eKg.Equal(dec("531.145")) || after.InputHash != before.InputHash ||
		strings.Contains(strings.Join(after.Lines[0].Selection, ";"), "override") {
		t.Errorf("after retiring: %s kg, hash changed back %v, trail %v", after.Lines[0].Result.CO2eKg, after.InputHash == before.InputHash, after.Lines[0].Selection)
	}

	// An override valid only from 2026 leaves 2025 activity to the library.
	later := epd
	later.Factor.ValidFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := svc.AddOverride(ctx, st, org.ID, later); err != nil {
		t.Fatal(err)
	}
	in := gasFile + "boiler-2026,natural_gas,10,mmBtu,2026-03-01,US,stationary_combustion\n"
	rep, _ := calcFor(t, svcs, st, org, in)
	if len(rep.Lines) != 2 || !rep.Lines[0].Result.CO2eKg.Equal(dec("531.145")) || !rep.Lines[1].Result.CO2eKg.Equal(dec("501")) ||
		!strings.Contains(strings.Join(rep.Lines[0].Selection, ";"), "not valid on 2025-03-01") {
		t.Errorf("validity: %v", rep.Lines)
	}

	// The pin: other publications are refused, the override still applies.
	pin, err := svc.PinFactors(ana, st, org.ID, "epa-2025", 0)
	if err != nil || pin.Set != "EPA GHG Emission Factors Hub" || pin.Edition != 2025 {
		t.Fatalf("pin %+v %v", pin, err)
	}
	pinned := in + "grid,desnz:uk_electricity/electricity_generated/electricity_uk/kwh,100,kWh,2025-01-01,UK,\n"
	pinned = strings.Replace(pinned, "region,method\n", "region,method,scope\n", 1)
	pinned = strings.ReplaceAll(pinned, "stationary_combustion\n", "stationary_combustion,\n")
	pinned = strings.Replace(pinned, "UK,\n", "UK,,2\n", 1)
	rep, of = calcFor(t, svcs, st, org, pinned)
	if of.Pin != pin || len(rep.Lines) != 2 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Reason, "pinned set EPA GHG Emission Factors Hub 2025") ||
		!rep.Lines[1].Result.CO2eKg.Equal(dec("501")) {
		t.Errorf("pinned: %d lines, errors %v", len(rep.Lines), rep.Errors)
	}
	if _, err := svc.PinFactors(ctx, st, org.ID, "epa-1999", 0); err == nil || !strings.Contains(err.Error(), "epa-2025") {
		t.Errorf("pinning an unknown set: %v", err)
	}
	if _, err := svc.PinFactors(ctx, st, org.ID, "epa-2025", 1999); err == nil || !strings.Contains(err.Error(), "no edition 1999") {
		t.Errorf("pinning an unknown edition: %v", err)
	}
	o := Options{PinnedSet: "DESNZ", Edition: 2024}
	if of.ApplyPin(&o) || o.PinnedSet != "DESNZ" || o.Edition != 2024 {
		t.Errorf("a set given for the calculation did not win over the pin: %+v", o)
	}
}

// An override the engine could not use, or would use by mistake, is
// refused naming what is wrong, and nothing is stored.
func TestAddOverrideValidation(t *testing.T) {
	st := sqliteStore(t)
	ctx := context.Background()
	org := drivertest.NewOrg(t, st)
	svc, _, err := ForOrganization(ctx, st, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	units := svc.Units()
	good := NewOverride{Factor: ghg.Factor{ActivityType: "natural_gas", Region: "US", Per: units.MustParse("mmBtu"),
		KgPerUnit: map[string]decimal.Decimal{"CO2": dec("50"), "CH4": dec("0.001")}}, Source: "EPD", Reason: "supplier"}
	cases := []struct {
		name string
		edit func(*NewOverride)
		want string
	}{
		{"no reason", func(o *NewOverride) { o.Reason = " " }, "a reason is required"},
		{"no source", func(o *NewOverride) { o.Source = "" }, "a source is required"},
		{"no unit", func(o *NewOverride) { o.Factor.Per = ghg.Unit{} }, "unit"},
		{"no gas", func(o *NewOverride) { o.Factor.KgPerUnit = nil }, "at least one gas"},
		{"unknown gas", func(o *NewOverride) { o.Factor.KgPerUnit = map[string]decimal.Decimal{"XYZ": dec("1")} }, `gas "XYZ": unknown gas`},
		{"negative value", func(o *NewOverride) { o.Factor.KgPerUnit = map[string]decimal.Decimal{"CO2e": dec("-1")} }, "negative"},
		{"unknown activity type", func(o *NewOverride) { o.Factor.ActivityType = "natral_gas" }, `activity type "natral_gas" has no factor in the library`},
		{"unit of another dimension", func(o *NewOverride) { o.Factor.Per = units.MustParse("kg") }, "kg is mass, but natural_gas activity is measured in"},
		{"validity backwards", func(o *NewOverride) {
			o.Factor.ValidFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			o.Factor.ValidTo = o.Factor.ValidFrom
		}, "is not after valid from"},
	}
	for _, c := range cases {
		o := good
		o.Factor.KgPerUnit = map[string]decimal.Decimal{"CO2": dec("50")}
		c.edit(&o)
		if _, _, err := svc.AddOverride(ctx, st, org.ID, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if got, err := st.FactorOverrides(ctx, org.ID, true); err != nil || len(got) != 0 {
		t.Fatalf("refused overrides stored: %v %v", got, err)
	}
	// A new activity type is accepted when stated as new.
	o := good
	o.Factor.ActivityType = "green_hydrogen"
	o.Factor.Per = units.MustParse("kg")
	o.NewActivityType = true
	if _, _, err := svc.AddOverride(ctx, st, org.ID, o); err != nil {
		t.Errorf("a new activity type stated as new: %v", err)
	}
	if _, _, err := svc.AddOverride(ctx, st, org.ID, good); err != nil {
		t.Errorf("a good override: %v", err)
	}
	if _, _, err := ForOrganization(ctx, st, drivertest.NewOrg(t, st).ID); err != nil {
		t.Errorf("a new organization: %v", err)
	}
	var missing [16]byte
	missing[0] = 1
	if _, _, err := ForOrganization(ctx, st, missing); store.CodeOf(err) != store.CodeNotFound || !strings.Contains(err.Error(), "no organization") {
		t.Errorf("an unknown organization: %v", err)
	}
}
