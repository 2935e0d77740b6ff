package aggregator_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/aggregator"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/stream"
)

var (
	orgA = uuid.MustParse("0190a000-0000-7000-8000-00000000000a")
	orgB = uuid.MustParse("0190a000-0000-7000-8000-00000000000b")
	t0   = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

// newEnv is one store and one embedded JetStream with the inputs published.
func newEnv(t *testing.T, open processortest.StoreOpener) *processortest.Env {
	t.Helper()
	e := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{orgA, orgB}, Country: "US",
		Topics: []string{stream.TopicEmissionsRaw, stream.TopicEmissionsCalculated, stream.TopicEmissionsAggregated, stream.TopicIntegrationErrors}})
	publishInputs(t, e)
	return e
}

const validInputs = 48

// publishInputs publishes 48 valid activities of two organizations over
// ~30 minutes of event time, some out of order; a payload that is not JSON,
// one with an unknown activity type, one late event. (publishFlush adds
// one event per organization three hours later, which closes every
// earlier window.) Event ids are fixed so both environments produce the
// same output ids.
func publishInputs(t *testing.T, e *processortest.Env) {
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
	e.Publish(t, msgs)
}

// publishFlush publishes one event per organization three hours after the
// others, which closes every earlier window. It is published once the
// group has drained the other inputs: a restarted processor may receive
// its unacked inputs after newer ones, and a flush overtaking them would
// make them late (docs/processors.md).
func publishFlush(t *testing.T, e *processortest.Env) {
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
	e.Publish(t, msgs)
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

func newRunner(t *testing.T, e *processortest.Env, h processor.Handler[*aggregator.State], hooks processor.Hooks) *processor.Runner[*aggregator.State] {
	cfg := e.RunnerConfig(aggregator.Name, stream.TopicEmissionsRaw)
	cfg.Hooks, cfg.Logger = hooks, processortest.Logger(t)
	return processortest.NewRunner(t, cfg, h)
}

// runUntilHandled runs r until it has handled at least n inputs and the
// group has acked every input (processortest.RunUntilHandled).
func runUntilHandled(t *testing.T, e *processortest.Env, r *processor.Runner[*aggregator.State], n int64) {
	t.Helper()
	processortest.RunUntilHandled(t, e, r, aggregator.Name, stream.TopicEmissionsRaw, n)
}

// flush publishes the flush events and runs a new instance over them.
func flush(t *testing.T, e *processortest.Env, svc *calculation.Service) {
	t.Helper()
	publishFlush(t, e)
	r := newRunner(t, e, newHandler(t, svc), processor.Hooks{})
	runUntilHandled(t, e, r, 2)
	if s := r.Stats(); s.Applied != 2 {
		t.Fatalf("flush: stats %+v", s)
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

func collect(t *testing.T, e *processortest.Env) outputs {
	t.Helper()
	ctx := context.Background()
	published := e.RelayOutbox(t)
	out := outputs{byID: map[string]string{}, dead: map[string]string{}}
	read := func(topic string, want int) {
		sub, err := e.Stream.Replay(ctx, topic, stream.Position{})
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
	processortest.Engines(t, "greenlang_processor", func(t *testing.T, open processortest.StoreOpener) {
		// The uninterrupted run.
		base := newEnv(t, open)
		r := newRunner(t, base, newHandler(t, svc), processor.Hooks{})
		runUntilHandled(t, base, r, 0)
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
			h := &processortest.CrashingHandler[*aggregator.State]{Handler: newHandler(t, svc), At: 21, Cancel: cancel}
			r1 := newRunner(t, e, h, processor.Hooks{})
			if err := processortest.RunUntilCrash(t, ctx, r1); !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			cps, err := e.Store.ProcessorCheckpoints(context.Background(), aggregator.Name)
			if err != nil || len(cps) == 0 {
				t.Fatalf("no checkpoint after the first batches: %v %v", cps, err)
			}
			r2 := newRunner(t, e, newHandler(t, svc), processor.Hooks{})
			runUntilHandled(t, e, r2, 0)
			if a := r1.Stats().Applied + r2.Stats().Applied; a != validInputs {
				t.Fatalf("inputs applied %d times in all, want %d: first %+v second %+v", a, validInputs, r1.Stats(), r2.Stats())
			}
			flush(t, e, svc)
			got := collect(t, e)
			compare(t, got, want)
		})

		t.Run("crash between commit and ack", func(t *testing.T) {
			e := newEnv(t, open)
			hooks, crash := processortest.CrashAfterCommit(3)
			r1 := newRunner(t, e, newHandler(t, svc), hooks)
			if err := processortest.RunUntilCrash(t, context.Background(), r1); !errors.Is(err, crash) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			r2 := newRunner(t, e, newHandler(t, svc), processor.Hooks{})
			runUntilHandled(t, e, r2, 0)
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
	processortest.CheckReasons(t, reasons, "decoding", "unobtainium", "late event")
}

// compare requires the same outputs, byte for byte, with the same ids,
// and no duplicate delivery.
func compare(t *testing.T, got, want outputs) {
	t.Helper()
	processortest.CompareByID(t, got.byID, want.byID)
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
