package drivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// DrainOutbox claims and marks published every unpublished event, so that a
// test starts from an empty backlog (the outbox is shared by every
// organization and other tests emit events). It fails when another relay
// holds a lease.
func DrainOutbox(t testing.TB, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	claimer := uuid.Must(uuid.NewV7())
	for range 1000 {
		evs, err := s.OutboxClaim(ctx, claimer, 500, time.Minute)
		must(t, err)
		if len(evs) == 0 {
			return
		}
		ids := make([]uuid.UUID, len(evs))
		for i, e := range evs {
			ids[i] = e.ID
		}
		_, err = s.OutboxMarkPublished(ctx, ids)
		must(t, err)
	}
	t.Fatal("the outbox did not drain")
}

// MinimalRun is a calculation batch with a run and nothing else, unique by
// its input hash.
func MinimalRun() store.CalculationBatch {
	return store.CalculationBatch{Run: &store.CalculationRun{Status: "succeeded", EngineVersion: "test", GWPSet: "AR5",
		StartedAt: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC), Parameters: store.JSON(fmt.Sprintf(`{"input_hash":%q}`, uuid.NewString()))}}
}

func outboxIDs(evs []store.OutboxEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

// The transactional outbox: events commit with the write that emits them
// and only then; tenants see only their own; the relay side claims every
// tenant's events in order, one relay at a time, marks and prunes them.
func testOutbox(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	DrainOutbox(t, s)
	a, b := NewOrg(t, s), NewOrg(t, s)

	t.Run("Atomic", func(t *testing.T) {
		// A calculation writes its summary event in its transaction.
		batch := MinimalRun()
		batch.Events = []store.OutboxEvent{{Topic: "emissions.raw", Key: "k", Payload: []byte(`{"x":1}`), Headers: map[string]string{"h": "v"}}}
		saved, err := s.SaveCalculation(ctx, a.ID, batch)
		must(t, err)
		evs, err := s.OutboxEvents(ctx, a.ID, 0, 100)
		must(t, err)
		if len(evs) != 2 || evs[0].Topic != store.TopicEmissionsCalculated || evs[1].Topic != "emissions.raw" {
			t.Fatalf("events after a save: %+v", evs)
		}
		var sum store.CalculatedEvent
		must(t, json.Unmarshal(evs[0].Payload, &sum))
		if sum.RunID != saved.RunID || sum.OrgID != a.ID || sum.GWPSet != "AR5" || sum.InputHash == "" || evs[0].Key != a.ID.String() {
			t.Errorf("summary event %+v (key %q)", sum, evs[0].Key)
		}
		if evs[1].Headers["h"] != "v" || string(evs[1].Payload) != `{"x":1}` || evs[1].OrgID != a.ID || evs[1].PublishedAt != nil || evs[1].Seq <= evs[0].Seq {
			t.Errorf("caller's event as stored: %+v", evs[1])
		}

		// A save that fails after the run and its summary were written
		// leaves neither: the bad event rolls the whole transaction back.
		bad := MinimalRun()
		bad.Events = []store.OutboxEvent{{Topic: "emissions.raw", Headers: map[string]string{"gl-event-id": "x"}}}
		_, err = s.SaveCalculation(ctx, a.ID, bad)
		wantCode(t, err, store.CodeInvalidArgument, "an event with a reserved header")
		// A failing write rolls back its events too.
		rb := MinimalRun()
		rb.Supersede = []uuid.UUID{uuid.Must(uuid.NewV7())}
		_, err = s.SaveCalculation(ctx, a.ID, rb)
		wantCode(t, err, store.CodeFailedPrecondition, "superseding a missing result")
		after, err := s.OutboxEvents(ctx, a.ID, 0, 100)
		must(t, err)
		if len(after) != 2 {
			t.Fatalf("rolled-back writes left events: %d, want 2", len(after))
		}
		_, err = s.OutboxAppend(ctx, a.ID, store.OutboxEvent{Topic: "emissions.raw"}, store.OutboxEvent{Topic: ""})
		wantCode(t, err, store.CodeInvalidArgument, "an event without a topic")
		if after, err = s.OutboxEvents(ctx, a.ID, 0, 100); err != nil || len(after) != 2 {
			t.Fatalf("an invalid append stored %d events (%v)", len(after), err)
		}
		DrainOutbox(t, s)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		evs, err := s.OutboxAppend(ctx, a.ID, store.OutboxEvent{Topic: "emissions.raw", Payload: []byte("a-secret")})
		must(t, err)
		got, err := s.OutboxEvents(ctx, b.ID, 0, 1000)
		must(t, err)
		for _, e := range got {
			if e.OrgID != b.ID || e.ID == evs[0].ID {
				t.Fatalf("org B reads org A's event %+v", e)
			}
		}
		DrainOutbox(t, s)
	})

	t.Run("OrderClaimMarkPrune", func(t *testing.T) {
		var want []uuid.UUID
		for i := range 6 {
			org := a.ID
			if i%2 == 1 {
				org = b.ID
			}
			evs, err := s.OutboxAppend(ctx, org, store.OutboxEvent{Topic: "emissions.raw", Key: org.String(), Payload: []byte{byte(i)}})
			must(t, err)
			if evs[0].ID == uuid.Nil || evs[0].Seq == 0 || evs[0].OrgID != org {
				t.Fatalf("appended %+v", evs[0])
			}
			want = append(want, evs[0].ID)
		}
		x, y := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		first, err := s.OutboxClaim(ctx, x, 4, time.Minute)
		must(t, err)
		if len(first) != 4 {
			t.Fatalf("claimed %d events, want 4", len(first))
		}
		for i, e := range first {
			if e.ID != want[i] || e.Payload[0] != byte(i) {
				t.Fatalf("claim %d: event %s, want %s in insertion order across tenants", i, e.ID, want[i])
			}
		}
		// Another relay gets nothing while x holds a live lease.
		if evs, err := s.OutboxClaim(ctx, y, 10, time.Minute); err != nil || len(evs) != 0 {
			t.Fatalf("a second relay claimed %d events (%v) during a live lease", len(evs), err)
		}
		// A failed publish is counted; the same relay claims the same events again.
		must(t, s.OutboxRecordFailure(ctx, outboxIDs(first), fmt.Errorf("broker down")))
		again, err := s.OutboxClaim(ctx, x, 4, time.Minute)
		must(t, err)
		if len(again) != 4 || again[0].ID != want[0] || again[0].Attempts != 1 || again[0].LastError != "broker down" {
			t.Fatalf("claim after a failure: %+v", again)
		}
		n, err := s.OutboxMarkPublished(ctx, outboxIDs(again))
		must(t, err)
		if n != 4 {
			t.Errorf("marked %d, want 4", n)
		}
		if n, err = s.OutboxMarkPublished(ctx, outboxIDs(again)); err != nil || n != 0 {
			t.Errorf("marking again: %d, %v; want 0", n, err)
		}
		evs, err := s.OutboxEvents(ctx, a.ID, 0, 1000)
		must(t, err)
		published := 0
		for _, e := range evs {
			if e.ID == want[0] || e.ID == want[2] {
				if e.PublishedAt == nil {
					t.Errorf("event %s not marked published", e.ID)
				}
				published++
			}
		}
		if published != 2 {
			t.Errorf("org A sees %d of its published events, want 2", published)
		}
		// x marked what it held; the rest is x's until its lease ends, so
		// with a short lease y takes over once it expires.
		rest, err := s.OutboxClaim(ctx, x, 10, 50*time.Millisecond)
		must(t, err)
		if len(rest) != 2 || rest[0].ID != want[4] || rest[1].ID != want[5] {
			t.Fatalf("claimed the rest: %+v", rest)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			evs, err := s.OutboxClaim(ctx, y, 10, time.Minute)
			must(t, err)
			if len(evs) > 0 {
				if len(evs) != 2 || evs[0].ID != want[4] {
					t.Fatalf("takeover claimed %+v", evs)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the expired lease was never taken over")
			}
			time.Sleep(20 * time.Millisecond)
		}
		_, err = s.OutboxMarkPublished(ctx, want[4:])
		must(t, err)

		// Pruning deletes published events older than the cut-off only.
		unpub, err := s.OutboxAppend(ctx, a.ID, store.OutboxEvent{Topic: "emissions.raw"})
		must(t, err)
		if n, err := s.OutboxPrune(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Errorf("pruning before an hour ago: %d, %v", n, err)
		}
		n, err = s.OutboxPrune(ctx, time.Now().Add(time.Hour))
		must(t, err)
		if n < 6 {
			t.Errorf("pruned %d, want at least 6", n)
		}
		evs, err = s.OutboxEvents(ctx, a.ID, 0, 1000)
		must(t, err)
		if len(evs) != 1 || evs[0].ID != unpub[0].ID {
			t.Errorf("after pruning org A has %+v, want only its unpublished event", evs)
		}
		DrainOutbox(t, s)
	})
}
