package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
)

// Alerts of the alert sink: a repeat of a condition updates its alert that
// is not resolved (one row, a count, the latest value) and the same
// occurrence twice counts once; readings back in range resolve a threshold
// alert at the configured count, a reading past the quiet period a
// statistical one; acknowledging keeps an alert unresolved; a resolved
// condition that fires again opens a new alert; a processor commit with a
// stale checkpoint writes no alert; other tenants see nothing; every write
// is audited.
func testAlerts(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	a, b := NewOrg(t, s), NewOrg(t, s)
	dev := &store.Device{DeviceType: "air_quality", Serial: "AQ-" + uuid.NewString()[:8]}
	must(t, s.Devices().Create(ctx, a.ID, dev))
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	key := dev.ID.String() + "|pm25|threshold|pm25-unhealthy"
	raise := func(event string, v string, at time.Time) *store.AlertRaiseParams {
		return &store.AlertRaiseParams{OrgID: a.ID, ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(a.ID.String()+event)), EventID: event,
			DedupKey: key, DeviceRef: dev.ID.String(), Severity: "warning", Kind: "threshold", Rule: "pm25-unhealthy", Metric: "pm25",
			Message: "pm25 high", Value: dec(v), Threshold: ndec("55.4"), RangeMax: ndec("55.4"), RaisedAt: at}
	}
	audit0, err := s.AuditEntries(ctx, a.ID, 0, 1000)
	must(t, err)

	first, err := s.AlertRaise(ctx, raise("e1", "60", t0))
	must(t, err)
	if first.Status != store.AlertOpen || first.Occurrences != 1 || first.DeviceID == nil || *first.DeviceID != dev.ID {
		t.Fatalf("first occurrence %+v", first)
	}
	_, err = s.AlertRaise(ctx, raise("e2", "70", t0.Add(time.Minute)))
	must(t, err)
	again, err := s.AlertRaise(ctx, raise("e2", "70", t0.Add(time.Minute)))
	must(t, err)
	if again.ID != first.ID || again.Occurrences != 2 || again.Value.Decimal.String() != "70" || !again.LastRaisedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after a repeat and the same occurrence again %+v", again)
	}
	got, err := s.AlertOpenByKey(ctx, a.ID, key)
	must(t, err)
	if got.ID != first.ID || got.Occurrences != 2 || got.RangeMax.Decimal.String() != "55.4" || got.Rule != "pm25-unhealthy" {
		t.Fatalf("open by key %+v", got)
	}
	_, err = s.AlertOpenByKey(ctx, b.ID, key)
	wantCode(t, err, store.CodeNotFound, "another tenant's open alert")
	_, err = s.AlertGet(ctx, b.ID, first.ID)
	wantCode(t, err, store.CodeNotFound, "another tenant's alert")
	_, err = s.AlertAcknowledge(ctx, b.ID, first.ID)
	wantCode(t, err, store.CodeNotFound, "acknowledging another tenant's alert")

	acked, err := s.AlertAcknowledge(store.WithActor(ctx, store.Actor{Type: "user", ID: "ops"}), a.ID, first.ID)
	must(t, err)
	if acked.Status != store.AlertAcknowledged || acked.AcknowledgedAt == nil || acked.AcknowledgedBy != "user:ops" {
		t.Fatalf("acknowledged %+v", acked)
	}

	obs := func(v string, at time.Time) []store.AlertDetail {
		t.Helper()
		out, err := s.AlertObserve(ctx, &store.AlertObserveParams{OrgID: a.ID, DeviceRef: dev.ID.String(), Metric: "pm25", Value: dec(v), At: at,
			ClearAfter: 2, QuietPeriod: 15 * time.Minute})
		must(t, err)
		return out
	}
	if ch := obs("10", t0); len(ch) != 0 {
		t.Fatalf("a reading before the latest occurrence changed %+v", ch)
	}
	obs("55.4", t0.Add(2*time.Minute)) // inside (inclusive): streak 1
	obs("56", t0.Add(3*time.Minute))   // outside: streak 0
	obs("50", t0.Add(4*time.Minute))   // streak 1
	ch := obs("50", t0.Add(5*time.Minute))
	if len(ch) != 1 || ch[0].Status != store.AlertResolved || !ch[0].ResolvedAt.Equal(t0.Add(5*time.Minute)) || ch[0].ClearStreak != 2 {
		t.Fatalf("resolution %+v", ch)
	}
	_, err = s.AlertAcknowledge(ctx, a.ID, first.ID)
	wantCode(t, err, store.CodeFailedPrecondition, "acknowledging a resolved alert")

	// The replay of the first occurrence finds its alert; a new one opens
	// a new alert.
	if r, err := s.AlertRaise(ctx, raise("e1", "60", t0)); err != nil || r.ID != first.ID || r.Status != store.AlertResolved {
		t.Fatalf("replayed first occurrence %+v, %v", r, err)
	}
	second, err := s.AlertRaise(ctx, raise("e3", "90", t0.Add(10*time.Minute)))
	must(t, err)
	if second.ID == first.ID || second.Occurrences != 1 {
		t.Fatalf("after resolution %+v", second)
	}

	// A statistical alert resolves after the quiet period.
	z := &store.AlertRaiseParams{OrgID: a.ID, ID: uuid.New(), EventID: "z1", DedupKey: "aq-x|pm10|statistical|zscore", DeviceRef: "aq-x",
		Severity: "warning", Kind: "statistical", Rule: "zscore", Metric: "pm10", Value: dec("120"), RaisedAt: t0}
	_, err = s.AlertRaise(ctx, z)
	must(t, err)
	zo := &store.AlertObserveParams{OrgID: a.ID, DeviceRef: "aq-x", Metric: "pm10", Value: dec("40"), At: t0.Add(14 * time.Minute), ClearAfter: 3, QuietPeriod: 15 * time.Minute}
	if ch, err := s.AlertObserve(ctx, zo); err != nil || len(ch) != 0 {
		t.Fatalf("inside the quiet period: %+v, %v", ch, err)
	}
	zo.At = t0.Add(15 * time.Minute)
	if ch, err := s.AlertObserve(ctx, zo); err != nil || len(ch) != 1 || ch[0].Status != store.AlertResolved {
		t.Fatalf("after the quiet period: %+v, %v", ch, err)
	}

	// Lists and filters.
	list := func(f store.AlertFilter) int {
		t.Helper()
		as, err := s.AlertsList(ctx, a.ID, f)
		must(t, err)
		return len(as)
	}
	if n := list(store.AlertFilter{Status: "all"}); n != 3 {
		t.Errorf("all: %d, want 3", n)
	}
	if n := list(store.AlertFilter{Status: store.AlertOpen}); n != 1 {
		t.Errorf("open: %d, want 1", n)
	}
	if n := list(store.AlertFilter{Status: store.AlertResolved, DeviceID: &dev.ID}); n != 1 {
		t.Errorf("resolved of the device: %d, want 1", n)
	}
	if bs, err := s.AlertsList(ctx, b.ID, store.AlertFilter{}); err != nil || len(bs) != 0 {
		t.Errorf("another tenant lists %d alerts, %v", len(bs), err)
	}
	_, err = s.AlertsList(ctx, a.ID, store.AlertFilter{Status: "closed"})
	wantCode(t, err, store.CodeInvalidArgument, "unknown status filter")
	_, err = s.AlertRaise(ctx, &store.AlertRaiseParams{OrgID: a.ID, ID: uuid.New(), DedupKey: "k", Kind: "threshold", Metric: "m", Severity: "loud", RaisedAt: t0})
	wantCode(t, err, store.CodeInvalidArgument, "bad severity")

	// A processor commit from a stale version writes no alert; a good one
	// writes it with the checkpoint.
	name := "test-alerts-" + uuid.NewString()[:8]
	op := store.AlertOp{Raise: &store.AlertRaiseParams{OrgID: a.ID, ID: uuid.New(), EventID: "p1", DedupKey: "p|m|threshold|r", DeviceRef: "p",
		Severity: "info", Kind: "threshold", Rule: "r", Metric: "m", Value: decimal.NewFromInt(5), RangeMin: ndec("10"), RaisedAt: t0}}
	must(t, s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 0, Offset: 1, State: []byte(`{}`)}}, Alerts: []store.AlertOp{op}}))
	op2 := op
	op2.Raise = &store.AlertRaiseParams{}
	*op2.Raise = *op.Raise
	op2.Raise.EventID = "p2"
	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 0, PrevVersion: 0, Offset: 2, State: []byte(`{}`)}}, Alerts: []store.AlertOp{op2}})
	wantCode(t, err, store.CodeFailedPrecondition, "a stale commit")
	p, err := s.AlertOpenByKey(ctx, a.ID, "p|m|threshold|r")
	must(t, err)
	if p.Occurrences != 1 {
		t.Fatalf("the stale commit's alert write was kept: %+v", p)
	}
	cp, err := s.ProcessorCheckpoint(ctx, name, 0)
	must(t, err)
	if cp == nil || cp.Offset != 1 {
		t.Fatalf("checkpoint %+v", cp)
	}

	// Every write was audited, and the chain is whole.
	audit1, err := s.AuditEntries(ctx, a.ID, 0, 1000)
	must(t, err)
	alertEntries := 0
	for _, e := range audit1[len(audit0):] {
		if e.EntityType == "alert" {
			alertEntries++
		}
	}
	// creates: first, second, z, p; updates: e2, ack, 4 observations
	// (streak 1, 0, 1, resolve), z resolve.
	if alertEntries != 11 {
		t.Errorf("%d audit entries of alerts, want 11", alertEntries)
	}
	rep, err := s.VerifyAudit(ctx, a.ID)
	if err != nil || !rep.OK() {
		t.Fatalf("audit %+v, %v", rep, err)
	}
}
