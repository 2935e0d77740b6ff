package drivertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// testGroupCommit saves calculation runs of one organization at once, so
// that they share transactions (group commit): the first holds its group
// open while the others queue behind it into the next. Saves that fail
// (an abandoned stream, a result of an unknown activity, a repeated input
// hash, a caller gone before its turn) store nothing of theirs; every
// other save is stored whole, and the audit chain still verifies.
func testGroupCommit(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	org := NewOrg(t, s).ID
	may := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	const n = 12
	const orphan, abandoned, repeat, gone = 1, 5, 9, 10 // orphan leads the second group: its staging work is rolled back
	gate := make(chan struct{})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		src := &store.EmissionSource{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, Name: fmt.Sprintf("source %d", i), Scope: 1, Active: true}
		act := store.ActivityRecord{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, SourceID: src.ID, ActivityType: "diesel",
			Quantity: dec("10"), Unit: "l", PeriodStart: may, PeriodEnd: may, DataQuality: 3, Origin: "file"}
		em := store.CalculatedEmission{ActivityID: act.ID, ActivityPeriodStart: may, SourceID: src.ID, Scope: 1, GWPSet: "AR6",
			CO2eKg: dec("26.8"), PeriodStart: may, PeriodEnd: may}
		hash := fmt.Sprintf(`{"input_hash":"group-%d"}`, i)
		switch i {
		case orphan:
			em.ActivityID = uuid.Must(uuid.NewV7())
		case repeat:
			hash = `{"input_hash":"group-3"}`
		}
		chunk := store.CalculationChunk{Sources: []*store.EmissionSource{src}, Activities: []store.ActivityRecord{act}, Emissions: []store.CalculatedEmission{em}}
		sent := false
		cs := store.CalculationStream{
			Run: &store.CalculationRun{Status: "succeeded", EngineVersion: "test", GWPSet: "AR6", StartedAt: may, Parameters: store.JSON(hash)},
			Next: func() (store.CalculationChunk, bool, error) {
				switch {
				case i == 0 && !sent:
					<-gate // hold the first group open while the others queue
				case i == abandoned && sent:
					return store.CalculationChunk{}, false, errors.New("the upload was abandoned")
				}
				if sent {
					return store.CalculationChunk{}, false, nil
				}
				sent = true
				return chunk, true, nil
			},
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx
			if i == gone {
				c = cancelled
			}
			if i > 0 {
				time.Sleep(time.Duration(i) * time.Millisecond) // queue in order behind the first
			}
			_, errs[i] = s.SaveCalculationStream(c, org, cs)
		}()
	}
	time.Sleep(150 * time.Millisecond)
	close(gate)
	wg.Wait()
	for i, err := range errs {
		switch i {
		case abandoned:
			if err == nil || !strings.Contains(err.Error(), "the upload was abandoned") {
				t.Errorf("save %d (abandoned stream): %v", i, err)
			}
		case orphan:
			wantCode(t, err, store.CodeFailedPrecondition, "a result of an unknown activity in a group")
		case repeat:
			wantCode(t, err, store.CodeAlreadyExists, "a repeated input hash in a group")
		case gone:
			wantCode(t, err, store.CodeUnavailable, "a caller gone before its turn")
		default:
			if err != nil {
				t.Errorf("save %d: %v", i, err)
			}
		}
	}
	runs, err := s.CalculationRuns().List(ctx, org, store.ListOptions{Limit: 100})
	must(t, err)
	srcs, err := s.EmissionSources().List(ctx, org, store.ListOptions{Limit: 100})
	must(t, err)
	acts, err := s.ActivityRecords().List(ctx, org, store.ListOptions{Limit: 100})
	must(t, err)
	if want := n - 4; len(runs) != want || len(srcs) != want || len(acts) != want {
		t.Fatalf("stored %d runs, %d sources, %d activities; want %d of each", len(runs), len(srcs), len(acts), want)
	}
	for _, src := range srcs {
		for _, bad := range []int{abandoned, orphan, repeat, gone} {
			if src.Name == fmt.Sprintf("source %d", bad) {
				t.Errorf("the failed save %d left its source behind", bad)
			}
		}
	}
	rep, err := s.VerifyAudit(ctx, org)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("the audit chain after group commits: %+v", rep)
	}
}
