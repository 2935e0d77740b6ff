package anomaly_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/stream"
)

// The restart test follows internal/processor/aggregator/restart_test.go:
// the same inputs run uninterrupted, killed mid-batch and killed between
// commit and ack must give the same outputs, delivered once, equal to the
// handler applied directly to the inputs partition by partition.

var orgB = uuid.MustParse("0190a000-0000-7000-8000-00000000000b")

var restartTopics = []string{stream.TopicIoTSensorReadings, stream.TopicIoTAlerts, stream.TopicEmissionsAnomalies, stream.TopicIntegrationErrors}

// newEnv is one store and one embedded JetStream with inputs published.
func newEnv(t *testing.T, open processortest.StoreOpener, inputs []*stream.Message) *processortest.Env {
	t.Helper()
	e := processortest.NewEnv(t, open, processortest.EnvConfig{Orgs: []uuid.UUID{org, orgB}, Country: "US", Topics: restartTopics})
	e.Publish(t, processortest.CloneMessages(inputs))
	return e
}

// series of the restart inputs: 16 readings each, 90 s apart, with
// threshold breaches and spikes.
type series struct {
	org          uuid.UUID
	device, typ  string
	metric, unit string
	value        func(i int) string
	spikes       map[int]string
}

func restartSeries() []series {
	return []series{
		{org: org, device: "em-1", typ: "energy_meter", metric: "energy_kwh", unit: "kWh",
			value: func(i int) string { return fmt.Sprint(10 + (i*7)%5) }, spikes: map[int]string{12: "60", 14: "-2"}},
		{org: org, device: "aq-1", typ: "air_quality", metric: "pm25", unit: "ug/m3",
			value: func(i int) string { return fmt.Sprintf("%d.%d", 20+(i*3)%7, i%10) }, spikes: map[int]string{5: "80", 13: "70.5"}},
		{org: orgB, device: "th-1", typ: "temp_humidity", metric: "temperature_c", unit: "C",
			value: func(i int) string { return fmt.Sprint(21 + i%3) }, spikes: map[int]string{11: "55"}},
		{org: orgB, device: "es-1", typ: "emissions_sensor", metric: "co2e_kg", unit: "kg",
			value: func(i int) string { return fmt.Sprintf("3.%d", (i*5)%9) }, spikes: map[int]string{9: "-1", 15: "9.9"}},
	}
}

func encodeReading(t *testing.T, id string, r anomaly.Reading) *stream.Message {
	m, err := stream.Encode(stream.TopicIoTSensorReadings, r.Key(), r)
	if err != nil {
		t.Fatal(err)
	}
	m.EventID = id
	return m
}

const restartValid = 64

// restartInputs are 64 readings of four series over 24 minutes of event
// time, interleaved, plus a payload that is not JSON, an unknown device
// type and a reading keyed by its organization only.
func restartInputs(t *testing.T) []*stream.Message {
	var msgs []*stream.Message
	for i := range 16 {
		for n, s := range restartSeries() {
			v := s.value(i)
			if sv, ok := s.spikes[i]; ok {
				v = sv
			}
			r := anomaly.Reading{OrgID: s.org, DeviceID: s.device, DeviceType: s.typ, Metric: s.metric, Unit: s.unit, Site: "plant-1",
				Value: decimal.NewNullDecimal(decimal.RequireFromString(v)), OccurredAt: t0.Add(time.Duration(i*90) * time.Second)}
			msgs = append(msgs, encodeReading(t, fmt.Sprintf("reading-%d-%02d", n, i), r))
		}
		switch i {
		case 4:
			msgs = append(msgs, &stream.Message{Topic: stream.TopicIoTSensorReadings, Key: org.String() + "/em-1", Value: []byte("{not json"), EventID: "bad-json"})
		case 8:
			r := anomaly.Reading{OrgID: org, DeviceID: "x-1", DeviceType: "toaster", Metric: "m", Unit: "u", Value: decimal.NewNullDecimal(decimal.NewFromInt(1)), OccurredAt: t0}
			msgs = append(msgs, encodeReading(t, "bad-type", r))
		case 10:
			r := anomaly.Reading{OrgID: orgB, DeviceID: "th-1", DeviceType: "temp_humidity", Metric: "temperature_c", Unit: "C", Value: decimal.NewNullDecimal(decimal.NewFromInt(1)), OccurredAt: t0}
			m := encodeReading(t, "bad-key", r)
			m.Key = orgB.String()
			msgs = append(msgs, m)
		}
	}
	return msgs
}

// flushInputs are one ordinary reading per series three hours later: past
// the lateness, they release every earlier reading into the baselines.
func flushInputs(t *testing.T) []*stream.Message {
	var msgs []*stream.Message
	for n, s := range restartSeries() {
		r := anomaly.Reading{OrgID: s.org, DeviceID: s.device, DeviceType: s.typ, Metric: s.metric, Unit: s.unit, Site: "plant-1",
			Value: decimal.NewNullDecimal(decimal.RequireFromString(s.value(0))), OccurredAt: t0.Add(3 * time.Hour)}
		msgs = append(msgs, encodeReading(t, fmt.Sprintf("flush-%d", n), r))
	}
	return msgs
}

func restartHandler(t *testing.T) *anomaly.Handler {
	// An hour of lateness: a restarted processor may get its unacked
	// inputs after newer ones (docs/processors.md); within the lateness
	// the baselines do not depend on arrival order.
	return newHandler(t, anomaly.Config{Window: 10, WarmUp: 8, Lateness: time.Hour})
}

// reference applies the handler directly, one state per input partition,
// in publish order: what every run must produce.
func reference(t *testing.T, inputs []*stream.Message) processortest.Outputs {
	h := restartHandler(t)
	var parts int32
	for _, tp := range stream.Catalogue() {
		if tp.Name == stream.TopicIoTSensorReadings {
			parts = tp.Partitions
		}
	}
	states := map[int32]*anomaly.State{}
	o := processortest.NewOutputs()
	for _, m := range inputs {
		p := stream.PartitionFor([]byte(m.Key), parts)
		if states[p] == nil {
			states[p] = h.NewState()
		}
		em := processor.NewEmitter(anomaly.Name)
		o.Record(t, anomaly.Name, m, em, h.Handle(context.Background(), states[p], m, em))
	}
	return o
}

func newRunner(t *testing.T, e *processortest.Env, h processor.Handler[*anomaly.State], hooks processor.Hooks) *processor.Runner[*anomaly.State] {
	cfg := e.RunnerConfig(anomaly.Name, stream.TopicIoTSensorReadings)
	cfg.Hooks = hooks
	return processortest.NewRunner(t, cfg, h)
}

// runUntilDrained runs r until it has applied at least minApplied inputs
// and the group has acked every input (processortest.RunUntilApplied).
func runUntilDrained(t *testing.T, e *processortest.Env, r *processor.Runner[*anomaly.State], minApplied int64) {
	t.Helper()
	processortest.RunUntilApplied(t, e, r, anomaly.Name, stream.TopicIoTSensorReadings, minApplied)
}

// flushAndCollect publishes the flush readings once the first inputs are
// drained (a flush overtaking redelivered inputs would make them late),
// runs a new instance over them, relays the outbox and reads every
// output topic.
func flushAndCollect(t *testing.T, e *processortest.Env, want processortest.Outputs) processortest.Outputs {
	t.Helper()
	e.Publish(t, flushInputs(t))
	r := newRunner(t, e, restartHandler(t), processor.Hooks{})
	runUntilDrained(t, e, r, 4)
	if s := r.Stats(); s.Applied != 4 {
		t.Fatalf("flush: stats %+v", s)
	}
	return processortest.Collect(t, e, restartTopics[1:], want)
}

// compare requires got to hold want's outputs, byte for byte, and the
// dead letters to say why.
func compare(t *testing.T, got, want processortest.Outputs) {
	t.Helper()
	processortest.CompareByID(t, got.ByID, want.ByID)
	processortest.CheckReasons(t, got.Reasons, "decoding", `device_type "toaster"`, "key")
}

func TestRestartMatchesUninterrupted(t *testing.T) {
	inputs := restartInputs(t)
	want := reference(t, append(processortest.CloneMessages(inputs), flushInputs(t)...))
	// The reference itself: both kinds of rules fired, on both topics.
	var stats, thresholds int
	for _, v := range want.ByID {
		if strings.Contains(v, `"kind":"statistical"`) {
			stats++
		}
		if strings.Contains(v, `"kind":"threshold"`) {
			thresholds++
		}
	}
	if stats == 0 || thresholds == 0 || want.Count[stream.TopicEmissionsAnomalies] == 0 || want.Count[stream.TopicIntegrationErrors] != 3 {
		t.Fatalf("reference: %d statistical and %d threshold outputs, counts %v", stats, thresholds, want.Count)
	}
	t.Logf("reference: %d statistical and %d threshold outputs, per topic %v", stats, thresholds, want.Count)
	processortest.Engines(t, "greenlang_anomaly", func(t *testing.T, open processortest.StoreOpener) {
		t.Run("uninterrupted", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			r := newRunner(t, e, restartHandler(t), processor.Hooks{})
			runUntilDrained(t, e, r, restartValid)
			if s := r.Stats(); s.Applied != restartValid || s.DeadLettered != 3 {
				t.Fatalf("stats %+v", s)
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
		t.Run("crash mid-batch", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r1 := newRunner(t, e, &processortest.CrashingHandler[*anomaly.State]{Handler: restartHandler(t), At: 21, Cancel: cancel}, processor.Hooks{})
			if err := processortest.RunUntilCrash(t, ctx, r1); !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			if cps, err := e.Store.ProcessorCheckpoints(context.Background(), anomaly.Name); err != nil || len(cps) == 0 {
				t.Fatalf("no checkpoint after the first batches: %v %v", cps, err)
			}
			r2 := newRunner(t, e, restartHandler(t), processor.Hooks{})
			runUntilDrained(t, e, r2, restartValid-r1.Stats().Applied)
			if a := r1.Stats().Applied + r2.Stats().Applied; a != restartValid {
				t.Fatalf("inputs applied %d times in all, want %d: first %+v second %+v", a, restartValid, r1.Stats(), r2.Stats())
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
		t.Run("crash between commit and ack", func(t *testing.T) {
			e := newEnv(t, open, inputs)
			hooks, crash := processortest.CrashAfterCommit(3)
			r1 := newRunner(t, e, restartHandler(t), hooks)
			if err := processortest.RunUntilCrash(t, context.Background(), r1); !errors.Is(err, crash) {
				t.Fatalf("crashed runner ended with %v", err)
			}
			r2 := newRunner(t, e, restartHandler(t), processor.Hooks{})
			runUntilDrained(t, e, r2, restartValid-r1.Stats().Applied)
			if a := r1.Stats().Applied + r2.Stats().Applied; a != restartValid {
				t.Fatalf("inputs applied %d times in all, want %d: first %+v second %+v", a, restartValid, r1.Stats(), r2.Stats())
			}
			if s := r2.Stats(); s.Skipped == 0 {
				t.Fatalf("the restarted runner skipped nothing: the committed but unacked batch was not redelivered? %+v", s)
			}
			compare(t, flushAndCollect(t, e, want), want)
		})
	})
}
