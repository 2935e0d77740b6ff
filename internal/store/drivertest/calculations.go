package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// A calculation is saved whole; a recalculation supersedes (never deletes)
// the results it replaces, totals then read only current results, and a
// second recalculation of the same results is refused.
func testSaveCalculation(t *testing.T, s *store.Store, admin Admin) {
	ctx := context.Background()
	f := newFixture(t, s)
	other := newFixture(t, s)
	org := f.org.ID
	may := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	src := &store.EmissionSource{Name: "Fleet", Scope: 1, SourceType: "mobile_combustion_fuel", Active: true}
	act := store.ActivityRecord{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, SourceID: uuid.Nil, ActivityType: "diesel",
		Quantity: dec("100"), Unit: "US gal", PeriodStart: may, PeriodEnd: may, DataQuality: 3, Origin: "file"}
	batch := func() store.CalculationBatch {
		return store.CalculationBatch{
			Run:        &store.CalculationRun{Status: "succeeded", EngineVersion: "test", GWPSet: "AR5", StartedAt: may, Parameters: store.JSON(`{"input_hash":"abc"}`)},
			Sources:    []*store.EmissionSource{src},
			Activities: []store.ActivityRecord{act},
		}
	}
	b := batch()
	src.ID = uuid.Must(uuid.NewV7())
	b.Activities[0].SourceID = src.ID
	b.Emissions = []store.CalculatedEmission{{ActivityID: act.ID, ActivityPeriodStart: may, SourceID: src.ID, Scope: 1,
		Method: "mobile_combustion_fuel", GWPSet: "AR5", CO2Kg: dec("1021"), CO2eKg: dec("1021"), PeriodStart: may, PeriodEnd: may}}
	saved, err := s.SaveCalculation(ctx, org, b)
	must(t, err)
	if saved.Sources != 1 || saved.Activities.Inserted != 1 || saved.Emissions.Inserted != 1 || saved.Superseded != 0 {
		t.Fatalf("saved %+v", saved)
	}
	first := b.Emissions[0].ID
	run, err := s.RunByInputHash(ctx, org, "abc")
	must(t, err)
	if run.ID != saved.RunID {
		t.Errorf("run by input hash: %s, want %s", run.ID, saved.RunID)
	}
	_, err = s.RunByInputHash(ctx, other.org.ID, "abc")
	wantCode(t, err, store.CodeNotFound, "another tenant's run by input hash")
	// The engine stores one run per input hash and organization: the same
	// activities again are refused whole, while another tenant may store them.
	dup := batch()
	dup.Sources, dup.Activities = nil, nil
	_, err = s.SaveCalculation(ctx, org, dup)
	wantCode(t, err, store.CodeAlreadyExists, "a second run with the same input hash")
	_, err = s.SaveCalculation(ctx, other.org.ID, store.CalculationBatch{Run: batch().Run})
	must(t, err)

	// A failing part rolls everything back: a second save whose result
	// points at an activity that does not exist stores no run and no source.
	bad := batch()
	bad.Run.Parameters = store.JSON(`{"input_hash":"bad"}`)
	bad.Sources = []*store.EmissionSource{{Name: "Never", Scope: 1, Active: true}}
	bad.Activities = nil
	bad.Emissions = []store.CalculatedEmission{{ActivityID: uuid.Must(uuid.NewV7()), ActivityPeriodStart: may, SourceID: src.ID,
		Scope: 1, GWPSet: "AR5", CO2eKg: dec("1"), PeriodStart: may, PeriodEnd: may}}
	_, err = s.SaveCalculation(ctx, org, bad)
	wantCode(t, err, store.CodeFailedPrecondition, "a result of an unknown activity")
	n, err := admin.QueryString(ctx, `SELECT count(*) FROM emissions.emission_sources WHERE org_id = $1 AND name = 'Never'`, org)
	must(t, err)
	if n != "0" {
		t.Errorf("a failed save left its source behind")
	}

	// Recalculate: a new run supersedes the first result.
	re := store.CalculationBatch{
		Run: &store.CalculationRun{Status: "succeeded", EngineVersion: "test", GWPSet: "AR6", StartedAt: may},
		Emissions: []store.CalculatedEmission{{ActivityID: act.ID, ActivityPeriodStart: may, SourceID: src.ID, Scope: 1,
			Method: "mobile_combustion_fuel", GWPSet: "AR6", CO2Kg: dec("1021"), CO2eKg: dec("1030.5"), PeriodStart: may, PeriodEnd: may}},
		Supersede: []uuid.UUID{first},
	}
	saved2, err := s.SaveCalculation(ctx, org, re)
	must(t, err)
	if saved2.Superseded != 1 || saved2.Emissions.Inserted != 1 {
		t.Fatalf("recalculation saved %+v", saved2)
	}
	old, err := s.CalculatedEmissions().Get(ctx, org, first)
	must(t, err)
	if old.SupersededBy == nil || *old.SupersededBy != saved2.RunID || old.SupersededAt == nil {
		t.Errorf("superseded result: by %v at %v", old.SupersededBy, old.SupersededAt)
	}
	var current []store.CurrentResult
	must(t, s.CurrentResults(ctx, org, store.ResultFilter{From: may, To: may.AddDate(0, 1, 0)}, func(r store.CurrentResult) error {
		current = append(current, r)
		return nil
	}))
	if len(current) != 1 || !current[0].Emission.CO2eKg.Equal(dec("1030.5")) || current[0].Activity.ID != act.ID || current[0].SourceName != "Fleet" {
		t.Fatalf("current results: %+v", current)
	}
	must(t, s.Maintain(ctx))
	monthly, err := s.MonthlyEmissions(ctx, org, may, may.AddDate(0, 1, 0))
	must(t, err)
	if len(monthly) != 1 || !monthly[0].CO2eKg.Equal(dec("1030.5")) || monthly[0].Records != 1 {
		t.Errorf("monthly emissions count a superseded result: %+v", monthly)
	}

	// Superseding the same result again (a concurrent recalculation) is
	// refused and saves nothing, and another tenant's results cannot be named.
	again := re
	again.Run = &store.CalculationRun{Status: "succeeded", EngineVersion: "test", GWPSet: "AR4", StartedAt: may}
	again.Emissions = nil
	_, err = s.SaveCalculation(ctx, org, again)
	wantCode(t, err, store.CodeFailedPrecondition, "superseding a superseded result")
	foreign := store.CalculationBatch{Run: &store.CalculationRun{Status: "succeeded", StartedAt: may}, Supersede: []uuid.UUID{first}}
	_, err = s.SaveCalculation(ctx, other.org.ID, foreign)
	wantCode(t, err, store.CodeFailedPrecondition, "superseding another tenant's result")
	rep, err := s.VerifyAudit(ctx, org)
	must(t, err)
	if !rep.OK() {
		t.Errorf("audit chain broken: %+v", rep.Broken)
	}
}
