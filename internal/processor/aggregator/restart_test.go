package aggregator_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/outbox"
	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

var (
	orgA = uuid.MustParse("0190a000-0000-7000-8000-00000000000a")
	orgB = uuid.MustParse("0190a000-0000-7000-8000-00000000000b")
	t0   = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

// storeOpener opens a fresh migrated store (one per environment).
type storeOpener func(t *testing.T) *store.Store

func engines(t *testing.T, fn func(t *testing.T, open storeOpener)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) *store.Store {
			reg := store.NewRegistry()
			sqlitestore.Register(reg)
			s, err := reg.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "greenlang.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pgtest.New(t, "greenlang_processor") // skips when no server is configured
		fn(t, func(t *testing.T) *store.Store {
			return pgtest.Open(t, pgtest.New(t, "greenlang_processor"), store.Options{})
		})
	})
}

// env is one store and one embedded JetStream with the inputs published.
type env struct {
	st   *store.Store
	strm *stream.Stream
}

func newEnv(t *testing.T, open storeOpener) *env {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	for _, id := range []uuid.UUID{orgA, orgB} {
		o := &store.Organization{ID: id, Name: "Org " + id.String()[:8], Slug: "org-" + strings.ReplaceAll(id.String(), "-", "")[12:], Country: "US"}
		if err := s.OrganizationCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{stream.TopicEmissionsRaw: true, stream.TopicEmissionsCalculated: true, stream.TopicEmissionsAggregated: true, stream.TopicIntegrationErrors: true}
	var topics []stream.Topic
	for _, tp := range stream.Catalogue() {
		if want[tp.Name] {
			topics = append(topics, tp)
		}
	}
	reg := stream.NewRegistry()
	natsstream.Register(reg)
	strm, err := reg.Open(ctx, "nats+embedded://"+filepath.Join(t.TempDir(), "nats"), stream.Options{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { strm.Close() })
	e := &env{st: s, strm: strm}
	e.publishInputs(t)
	return e
}

const validInputs = 48

// inputs: 48 valid activities of two organizations over ~30 minutes of
// event time, some out of order; a payload that is not JSON, one with an
// unknown activity type, one late event; then one event per organization
// three hours later, which closes every earlier window. Event ids are fixed so
// both environments produce the same output ids.
func (e *env) publishInputs(t *testing.T) {
	ctx := context.Background()
	var msgs []*stream.Message
	add := func(n int, a aggregator.Activity) {
		m, err := stream.Encode(stream.TopicEmissionsRaw, a.OrgID.String(), a)
		if err != nil {
			t.Fatal(err)
		}
		m.EventID = fmt.Sprintf("input-%03d", n)
		msgs = append(msgs, m)
	}
	for i := range validInputs {
		org := orgA
		if i%3 == 2 {
			org = orgB
		}
		at := t0.Add(time.Duration(i) * 37 * time.Second)
		if i%7 == 3 {
			at = at.Add(-50 * time.Second) // out of order, within the lateness
		}
		a := aggregator.Activity{OrgID: org, ActivityID: fmt.Sprintf("act-%d", i), ActivityType: "natural_gas",
			Quantity: decimal.New(int64(10+i), -1), Unit: "mmBtu", Region: "US", PeriodStart: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			Scope: 1, Method: "stationary_combustion", OccurredAt: at}
		if i%4 == 1 {
			a.ActivityType, a.Quantity, a.Unit, a.Region, a.Scope, a.Method = "electricity", decimal.New(int64(5+i), 0), "MWh", "US-CAMX", 2, ""
		}
		add(i, a)
		switch i {
		case 10:
			msgs = append(msgs, &stream.Message{Topic: stream.TopicEmissionsRaw, Key: orgA.String(), Value: []byte("{not json"), EventID: "bad-json"})
		case 20:
			b := a
			b.ActivityType, b.ActivityID = "unobtainium", "bad-type"
			add(900, b)
		case 30:
			late := a
			late.ActivityID, late.OccurredAt = "late", t0.Add(-3*time.Hour)
			add(901, late)
		}
	}
	if err := e.strm.PublishBatch(ctx, msgs); err != nil {
		t.Fatal(err)
	}
}

// publishFlush publishes one event per organization three hours after the
// others, which closes every earlier window. It is published once the
// group has drained the other inputs: a restarted processor may receive
// its unacked inputs after newer ones, and a flush overtaking them would
// make them late (docs/processors.md).
func (e *env) publishFlush(t *testing.T) {
	var msgs []*stream.Message
	for n, org := range []uuid.UUID{orgA, orgB} {
		a := aggregator.Activity{OrgID: org, ActivityID: "flush", ActivityType: "natural_gas", Quantity: decimal.NewFromInt(1), Unit: "mmBtu",
			Region: "US", PeriodStart: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Scope: 1, Method: "stationary_combustion", OccurredAt: t0.Add(3 * time.Hour)}
		m, err := stream.Encode(stream.TopicEmissionsRaw, org.String(), a)
		if err != nil {
			t.Fatal(err)
		}
		m.EventID = fmt.Sprintf("flush-%d", n)
		msgs = append(msgs, m)
	}
	if err := e.strm.PublishBatch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

// crashingHandler cancels the runner's context when it handles the n-th
// message: the rest of the batch is handled, but its commit fails, so the
// batch's inputs were received and never acked.
type crashingHandler struct {
	*aggregator.Handler
	n, count int
	cancel   func()
}

func (h *crashingHandler) Handle(ctx context.Context, st *aggregator.State, m *stream.Message, out *processor.Emitter) error {
	h.count++
	if h.count == h.n {
		h.cancel()
	}
	return h.Handler.Handle(ctx, st, m, out)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newHandler(t *testing.T, svc *calculation.Service) *aggregator.Handler {
	// An hour of allowed lateness: the stream may redeliver a restarted
	// processor's unacked inputs after newer ones (docs/processors.md);
	// within the lateness the windows do not depend on arrival order.
	h, err := aggregator.New(svc, aggregator.Config{Lateness: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newRunner(t *testing.T, e *env, h processor.Handler[*aggregator.State], hooks processor.Hooks) *processor.Runner[*aggregator.State] {
	r, err := processor.New(processor.Config{Name: aggregator.Name, Topic: stream.TopicEmissionsRaw, Store: e.st, Stream: e.strm,
		BatchSize: 8, FailoverAfter: 5 * time.Second, Hooks: hooks, Logger: testLogger(t)}, h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runUntilDrained runs r until the group has acked every input, then stops it.
func runUntilDrained(t *testing.T, e *env, r *processor.Runner[*aggregator.State]) {
	runUntilHandled(t, e, r, 0)
}

// runUntilHandled runs r until it has handled (applied, skipped or
// dead-lettered) at least n inputs and the group has acked every input. The
// count matters right after a publish: JetStream updates a consumer's
// pending count asynchronously, so the lag can read 0 for a moment before
// the new inputs show.
func runUntilHandled(t *testing.T, e *env, r *processor.Runner[*aggregator.State], n int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("runner stopped early: %v", err)
		default:
		}
		st := r.Stats()
		lag, err := e.strm.Lag(context.Background(), aggregator.Name, stream.TopicEmissionsRaw)
		if err == nil && lag == 0 && st.Applied+st.Skipped+st.DeadLettered >= n {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("inputs not drained (lag %d, %v); stats %+v", lag, err, r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("runner ended with %v", err)
	}
}

// flush publishes the flush events and runs a new instance over them.
func flush(t *testing.T, e *env, svc *calculation.Service) {
	t.Helper()
	e.publishFlush(t)
	r := newRunner(t, e, newHandler(t, svc), processor.Hooks{})
	runUntilHandled(t, e, r, 2)
	if s := r.Stats(); s.Applied != 2 {
		t.Fatalf("flush: stats %+v", s)
	}
}

// runUntil runs r until it returns (a crash) and returns its error.
func runUntil(t *testing.T, r *processor.Runner[*aggregator.State], ctx context.Context) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("the runner never reached the crash point")
		return nil
	}
}

// outputs relays the outbox to the stream, then reads every output and
// dead letter from the stream, de-duplicated by event id (as consumers
// must), and counts deliveries.
type outputs struct {
	byID       map[string]string // event id -> topic + payload
	deliveries int
	calculated []aggregator.Calculated
	aggregated []aggregator.Aggregated
	dead       map[string]string // event id -> reason
}

func collect(t *testing.T, e *env) outputs {
	t.Helper()
	ctx := context.Background()
	relay := &outbox.Relay{Store: e.st, Stream: e.strm, BatchSize: 50}
	published := 0
	for {
		n, err := relay.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		published += n
	}
	out := outputs{byID: map[string]string{}, dead: map[string]string{}}
	read := func(topic string, want int) {
		sub, err := e.strm.Replay(ctx, topic, stream.Position{})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		seen := map[string]bool{}
		for len(seen) < want {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := sub.Receive(rctx)
			cancel()
			if err != nil {
				t.Fatalf("reading %s: %v after %d of %d", topic, err, len(seen), want)
			}
			out.deliveries++
			if seen[m.EventID] {
				continue
			}
			seen[m.EventID] = true
			out.byID[m.EventID] = topic + " " + string(m.Value)
			switch topic {
			case stream.TopicEmissionsCalculated:
				c, err := stream.Decode[aggregator.Calculated](m)
				if err != nil {
					t.Fatal(err)
				}
				out.calculated = append(out.calculated, c)
			case stream.TopicEmissionsAggregated:
				a, err := stream.Decode[aggregator.Aggregated](m)
				if err != nil {
					t.Fatal(err)
				}
				out.aggregated = append(out.aggregated, a)
			case stream.TopicIntegrationErrors:
				out.dead[m.EventID] = m.Headers[stream.HeaderDLQReason]
			}
		}
	}
	read(stream.TopicEmissionsCalculated, validInputs+2)
	read(stream.TopicEmissionsAggregated, published-validInputs-2)
	read(stream.TopicIntegrationErrors, 3)
	return out
}

func TestRestartMatchesUninterrupted(t *testing.T) {
	svc, err := calculation.NewBuiltin() // one calculation service for every handler
	if err != nil {
		t.Fatal(err)
	}
	engines(t, func(t *testing.T, open storeOpener) {
		// The uninterrupted run.
		base := newEnv(t, open)
		r := newRunner(t, base, newHandler(t, svc), processor.Hooks{})
		runUntilDrained(t, base, r)
		if s := r.Stats(); s.Applied != validInputs || s.DeadLettered != 3 {
			t.Fatalf("uninterrupted stats %+v", s)
		}
		flush(t, base, svc)
		want := collect(t, base)
		checkOutputs(t, want)

		t.Run("crash mid-batch", func(t *testing.T) {
			e := newEnv(t, open)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := &crashingHandler{Handler: newHandler(t, svc), n: 21, cancel: cancel}
			r1 := newRunner(t, e, h, processor.Hooks{})
			if err := runUntil(t, r1, ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			cps, err := e.st.ProcessorCheckpoints(context.Background(), aggregator.Name)
			if err != nil || len(cps) == 0 {
				t.Fatalf("no checkpoint after the first batches: %v %v", cps, err)
			}
			r2 := newRunner(t, e, newHandler(t, svc), processor.Hooks{})
			runUntilDrained(t, e, r2)
			if a := r1.Stats().Applied + r2.Stats().Applied; a != validInputs {
				t.Fatalf("inputs applied %d times in all, want %d: first %+v second %+v", a, validInputs, r1.Stats(), r2.Stats())
			}
			flush(t, e, svc)
			got := collect(t, e)
			compare(t, got, want)
		})

		t.Run("crash between commit and ack", func(t *testing.T) {
			e := newEnv(t, open)
			var commits atomic.Int32
			crash := errors.New("crash after commit")
			r1 := newRunner(t, e, newHandler(t, svc), processor.Hooks{AfterCommit: func() error {
				if commits.Add(1) == 3 {
					return crash
				}
				return nil
			}})
			if err := runUntil(t, r1, context.Background()); !errors.Is(err, crash) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			r2 := newRunner(t, e, newHandler(t, svc), processor.Hooks{})
			runUntilDrained(t, e, r2)
			if a := r1.Stats().Applied + r2.Stats().Applied; a != validInputs {
				t.Fatalf("inputs applied %d times in all, want %d: first %+v second %+v", a, validInputs, r1.Stats(), r2.Stats())
			}
			flush(t, e, svc)
			if s := r2.Stats(); s.Skipped == 0 {
				t.Fatalf("the restarted runner skipped nothing: the committed but unacked batch was not redelivered? %+v", s)
			}
			got := collect(t, e)
			compare(t, got, want)
		})
	})
}

// checkOutputs checks the uninterrupted run itself: every valid input
// calculated once, window totals equal to the sum of the results in them,
// the three bad inputs dead-lettered with their reasons.
func checkOutputs(t *testing.T, o outputs) {
	t.Helper()
	if len(o.calculated) != validInputs+2 {
		t.Fatalf("%d calculated events, want %d", len(o.calculated), validInputs+2)
	}
	sums := map[string]decimal.Decimal{}
	for _, c := range o.calculated {
		if c.CO2eKg.Sign() <= 0 || c.FactorID == "" || c.Explanation == "" {
			t.Fatalf("calculated event without a result: %+v", c)
		}
		if c.ActivityID == "flush" {
			continue // in a window that never closes
		}
		sums[fmt.Sprintf("%s|%d", c.OrgID, c.Scope)] = sums[fmt.Sprintf("%s|%d", c.OrgID, c.Scope)].Add(c.CO2eKg)
	}
	totals := aggregator.Totals(o.aggregated)
	if len(totals) != len(sums) || len(totals) != 4 {
		t.Fatalf("window totals %v, results %v", totals, sums)
	}
	for k, v := range sums {
		if !totals[k].Equal(v) {
			t.Errorf("%s: windows sum to %s, results to %s", k, totals[k], v)
		}
	}
	n := 0
	for _, a := range o.aggregated {
		n += a.Activities
		if a.WindowEnd.Sub(a.WindowStart) != 5*time.Minute {
			t.Errorf("window %s..%s is not 5 minutes", a.WindowStart, a.WindowEnd)
		}
	}
	if n != validInputs {
		t.Errorf("windows count %d activities, want %d", n, validInputs)
	}
	var reasons []string
	for _, r := range o.dead {
		reasons = append(reasons, r)
	}
	joined := strings.Join(reasons, "\n")
	for _, want := range []string{"decoding", "unobtainium", "late event"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no dead letter mentions %q:\n%s", want, joined)
		}
	}
}

// compare requires the same outputs, byte for byte, with the same ids,
// and no duplicate delivery.
func compare(t *testing.T, got, want outputs) {
	t.Helper()
	if len(got.byID) != len(want.byID) {
		t.Errorf("%d distinct outputs, want %d", len(got.byID), len(want.byID))
	}
	for id, w := range want.byID {
		if g, ok := got.byID[id]; !ok {
			t.Errorf("output %s missing: %s", id, w)
		} else if g != w {
			t.Errorf("output %s differs:\n got %s\nwant %s", id, g, w)
		}
	}
	if got.deliveries != len(got.byID) {
		t.Errorf("%d deliveries of %d distinct outputs: duplicates on the stream", got.deliveries, len(got.byID))
	}
	gt, wt := aggregator.Totals(got.aggregated), aggregator.Totals(want.aggregated)
	for k, v := range wt {
		if !gt[k].Equal(v) {
			t.Errorf("total %s: got %s, want %s", k, gt[k], v)
		}
	}
}
