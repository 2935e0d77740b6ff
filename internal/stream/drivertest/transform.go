package drivertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/stream"
)

// RunTransformConformance runs the consume-transform-produce suite
// (Stream.Transform): every driver calls it from a test of its own. What it
// asserts holds on every engine: each input's outputs are visible to
// readers exactly once, under a normal run, after a crash between writing
// the outputs and committing (restarted with the same or another
// instance id), with transient errors and with two members; rejected
// inputs are dead-lettered and the transform carries on; outputs of one
// key keep the input order.
func RunTransformConformance(t *testing.T, h Harness) {
	if h.FailoverAfter == 0 {
		h.FailoverAfter = 2 * time.Second
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"EveryInputOnce", testTransformEveryInputOnce},
		{"CrashBeforeCommitSameInstance", func(t *testing.T, h Harness) { testTransformCrash(t, h, "a") }},
		{"CrashBeforeCommitOtherInstance", func(t *testing.T, h Harness) { testTransformCrash(t, h, "b") }},
		{"RejectDeadLetters", testTransformReject},
		{"RetriesErrors", testTransformRetries},
		{"TwoMembers", testTransformTwoMembers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if h.GroupsUnsupported != "" {
				testTransformUnsupported(t, h)
				t.Skipf("consumer groups unsupported on this engine: %s", h.GroupsUnsupported)
			}
			tc.fn(t, h)
		})
	}
}

// transformTopics: the input, two output topics (one keyed, one not) and
// the dead-letter topic.
func transformTopics() []stream.Topic {
	var out []stream.Topic
	for _, t := range stream.Catalogue() {
		switch t.Name {
		case stream.TopicEmissionsRaw, stream.TopicEmissionsCalculated, stream.TopicAuditEvents, stream.TopicIntegrationErrors:
			out = append(out, t)
		}
	}
	return out
}

const transformGroup = "calc"

// probe is the transform under test: one keyed output to
// emissions.calculated and one unkeyed to audit.events per input, both
// carrying the input's event id ("src") and sequence number; inputs with
// header bad=1 are rejected, inputs with header flaky=n fail n times first.
type probe struct {
	mu       sync.Mutex
	calls    map[string]int   // input event id -> Fn calls
	rejected map[string]int64 // input event id -> offset of the rejected input
}

func newProbe() *probe { return &probe{calls: map[string]int{}, rejected: map[string]int64{}} }

func (p *probe) fn(_ context.Context, in *stream.Message) ([]*stream.Message, error) {
	p.mu.Lock()
	p.calls[in.EventID]++
	n := p.calls[in.EventID]
	p.mu.Unlock()
	seq := in.Headers["seq"]
	if in.Headers["bad"] == "1" {
		p.mu.Lock()
		p.rejected[in.EventID] = in.Offset
		p.mu.Unlock()
		return nil, stream.Rejectf("reading %s seq %s: bad value", in.Key, seq)
	}
	if f, _ := strconv.Atoi(in.Headers["flaky"]); n <= f {
		return nil, fmt.Errorf("transient failure %d of %d", n, f)
	}
	h := map[string]string{"seq": seq, "src": in.EventID}
	return []*stream.Message{
		{Topic: stream.TopicEmissionsCalculated, Key: in.Key, Value: []byte(fmt.Sprintf(`{"site":%q,"seq":%s,"kg":1}`, in.Key, seq)), Headers: h},
		// EventID set here is replaced by the port's derived id.
		{Topic: stream.TopicAuditEvents, Value: []byte(fmt.Sprintf(`{"calculated":%q}`, in.EventID)), Headers: h, EventID: "ignored"},
	}, nil
}

func (p *probe) callsOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

func (p *probe) cfg(h Harness) stream.TransformConfig {
	return stream.TransformConfig{
		Topic: stream.TopicEmissionsRaw, Group: transformGroup, Fn: p.fn,
		BatchSize: 10, BatchWait: 50 * time.Millisecond, FailoverAfter: h.FailoverAfter,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}
}

// startTransform runs Transform in the background; stop cancels it and
// returns what Transform returned (also called at cleanup).
func startTransform(t *testing.T, s *stream.Stream, cfg stream.TransformConfig) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Transform(ctx, cfg) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("transform did not return within 30s of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// stopTransform stops a transform and checks it ended because of the stop.
func stopTransform(t *testing.T, stop func() error) {
	t.Helper()
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Transform returned %v, want context.Canceled", err)
	}
}

// readExactlyOnce replays topic until one message per src in want arrived,
// then for quiet longer. It fails on a message with an unknown src, on a
// src or event id seen twice, and when the messages do not arrive within
// d. It returns the messages in replay order.
func readExactlyOnce(t *testing.T, s *stream.Stream, topic string, want map[string]bool, d, quiet time.Duration) []*stream.Message {
	t.Helper()
	sub, err := s.Replay(ctxT(t, 10*time.Second), topic, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var got []*stream.Message
	srcs, ids := map[string]bool{}, map[string]bool{}
	check := func(m *stream.Message) {
		src := m.Headers["src"]
		if !want[src] {
			t.Fatalf("%s: message %s (key %q) from unexpected input %q", topic, m.EventID, m.Key, src)
		}
		if srcs[src] || ids[m.EventID] {
			t.Fatalf("%s: input %s has its output %s twice (key %q seq %s): not exactly once", topic, src, m.EventID, m.Key, m.Headers["seq"])
		}
		srcs[src], ids[m.EventID] = true, true
		got = append(got, m)
	}
	for len(got) < len(want) {
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("%s: %d of %d outputs after %s: %v", topic, len(got), len(want), d, err)
		}
		check(m)
	}
	qctx, qcancel := context.WithTimeout(context.Background(), quiet)
	defer qcancel()
	if m, err := sub.Receive(qctx); err == nil {
		check(m) // fails: every wanted src was seen
	}
	return got
}

// checkOutputs checks ids, partitions and order per key of the outputs of
// the good inputs in msgs (published in seq order per key).
func checkOutputs(t *testing.T, s *stream.Stream, msgs []*stream.Message, d, quiet time.Duration) {
	t.Helper()
	want := map[string]bool{}
	for _, m := range msgs {
		if m.Headers["bad"] != "1" {
			want[m.EventID] = true
		}
	}
	calc := readExactlyOnce(t, s, stream.TopicEmissionsCalculated, want, d, quiet)
	last := map[string]int{}
	for _, m := range calc {
		if id := stream.TransformEventID(transformGroup, m.Headers["src"], 0); m.EventID != id {
			t.Fatalf("output of %s has event id %s, want %s (TransformEventID index 0)", m.Headers["src"], m.EventID, id)
		}
		if p := stream.PartitionFor([]byte(m.Key), 12); m.Partition != p {
			t.Fatalf("output key %s on partition %d, want %d", m.Key, m.Partition, p)
		}
		seq, _ := strconv.Atoi(m.Headers["seq"])
		if prev, ok := last[m.Key]; ok && seq <= prev {
			t.Fatalf("key %s: output of seq %d after seq %d: order per key lost", m.Key, seq, prev)
		}
		last[m.Key] = seq
	}
	audit := readExactlyOnce(t, s, stream.TopicAuditEvents, want, d, quiet)
	for _, m := range audit {
		id := stream.TransformEventID(transformGroup, m.Headers["src"], 1)
		if m.EventID != id {
			t.Fatalf("unkeyed output of %s has event id %s, want %s (TransformEventID index 1)", m.Headers["src"], m.EventID, id)
		}
		if p := stream.PartitionFor([]byte(id), 6); m.Key != "" || m.Partition != p {
			t.Fatalf("unkeyed output %s: key %q partition %d, want no key and partition %d (of its event id)", id, m.Key, m.Partition, p)
		}
	}
}

func waitLagZero(t *testing.T, s *stream.Stream, d time.Duration) {
	t.Helper()
	waitFor(t, d, "the transform's input lag to reach 0", func() (bool, string) {
		lag, err := s.Lag(ctxT(t, 10*time.Second), transformGroup, stream.TopicEmissionsRaw)
		return err == nil && lag == 0, fmt.Sprintf("lag %d err %v", lag, err)
	})
}

func testTransformUnsupported(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), transformTopics())
	err := s.Transform(ctxT(t, 10*time.Second), newProbe().cfg(h))
	if !errors.Is(err, stream.ErrFailedPrecondition) {
		t.Fatalf("Transform on an engine without groups: %v, want ErrFailedPrecondition", err)
	}
}

// testTransformEveryInputOnce: inputs published before and while the
// transform runs are each transformed once (Fn called once: no failure
// happened) into outputs visible once, with derived ids and order per key,
// and the group's input lag reaches 0.
func testTransformEveryInputOnce(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), transformTopics())
	msgs := seqMsgs(stream.TopicEmissionsRaw, 10, 20)
	publish(t, s, msgs[:100], 50)
	p := newProbe()
	stop := startTransform(t, s, p.cfg(h))
	publish(t, s, msgs[100:], 25)
	checkOutputs(t, s, msgs, 30*time.Second+4*h.FailoverAfter, time.Second)
	waitLagZero(t, s, 15*time.Second)
	stopTransform(t, stop)
	for _, m := range msgs {
		if n := p.callsOf(m.EventID); n != 1 {
			t.Fatalf("input %s (key %s seq %s) transformed %d times in a run without failures, want 1", m.EventID, m.Key, m.Headers["seq"], n)
		}
	}

	// Consumers of the outputs get to lag 0 (on Kafka the outputs are
	// followed by transaction markers that occupy offsets): a group that
	// acks every output, and a second transform reading the first's output.
	sub := subscribe(t, h, s, stream.TopicEmissionsCalculated, "reader")
	ack(t, receive(t, sub, len(msgs), 30*time.Second)...)
	waitFor(t, 15*time.Second, "the reader's lag on the outputs to reach 0", func() (bool, string) {
		lag, err := s.Lag(ctxT(t, 10*time.Second), "reader", stream.TopicEmissionsCalculated)
		return err == nil && lag == 0, fmt.Sprintf("lag %d err %v", lag, err)
	})
	var chained sync.Map
	stop = startTransform(t, s, stream.TransformConfig{
		Topic: stream.TopicEmissionsCalculated, Group: "chained", FailoverAfter: h.FailoverAfter, BatchSize: 25,
		Fn: func(_ context.Context, in *stream.Message) ([]*stream.Message, error) {
			chained.Store(in.EventID, true)
			return nil, nil
		},
	})
	waitFor(t, 30*time.Second, "the chained transform's lag to reach 0", func() (bool, string) {
		lag, err := s.Lag(ctxT(t, 10*time.Second), "chained", stream.TopicEmissionsCalculated)
		return err == nil && lag == 0, fmt.Sprintf("lag %d err %v", lag, err)
	})
	stopTransform(t, stop)
	n := 0
	chained.Range(func(any, any) bool { n++; return true })
	if n != len(msgs) {
		t.Fatalf("the chained transform read %d outputs, want %d", n, len(msgs))
	}
}

var errCrash = errors.New("injected crash between writing outputs and committing")

// testTransformCrash: the first run crashes after writing a batch's outputs
// and before committing (acking) its inputs; the inputs are not committed,
// a second run (instance id restart: the same as the first, or another)
// transforms them again, and each output is still visible exactly once.
func testTransformCrash(t *testing.T, h Harness, restart string) {
	s := open(t, h, h.NewEnv(t), transformTopics())
	msgs := seqMsgs(stream.TopicEmissionsRaw, 4, 10)
	publish(t, s, msgs, 40)
	p := newProbe()

	cfg := p.cfg(h)
	cfg.InstanceID = "a"
	var batches int
	var crashedIn []*stream.Message
	var crashedOut int
	cfg.Hooks.BeforeCommit = func(in, out []*stream.Message) error {
		batches++
		if batches < 2 {
			return nil
		}
		crashedIn, crashedOut = in, len(out)
		return errCrash
	}
	if err := s.Transform(ctxT(t, 30*time.Second+4*h.FailoverAfter), cfg); !errors.Is(err, errCrash) {
		t.Fatalf("first run returned %v, want the injected crash", err)
	}
	if crashedOut == 0 || crashedOut != 2*len(crashedIn) {
		t.Fatalf("the crashed batch wrote %d outputs for %d inputs, want 2 per input", crashedOut, len(crashedIn))
	}
	lag, err := s.Lag(ctxT(t, 10*time.Second), transformGroup, stream.TopicEmissionsRaw)
	if err != nil || lag < int64(len(crashedIn)) {
		t.Fatalf("input lag after the crash: %d, %v; want at least the %d uncommitted inputs", lag, err, len(crashedIn))
	}

	cfg.Hooks.BeforeCommit = nil
	cfg.InstanceID = restart
	stop := startTransform(t, s, cfg)
	checkOutputs(t, s, msgs, 30*time.Second+4*h.FailoverAfter, time.Second)
	waitLagZero(t, s, 15*time.Second)
	stopTransform(t, stop)
	for _, m := range crashedIn {
		if n := p.callsOf(m.EventID); n < 2 {
			t.Fatalf("input %s of the crashed batch transformed %d times, want it transformed again after the restart", m.EventID, n)
		}
	}
}

// testTransformReject: rejected inputs go to integration.errors with the
// reason and their origin, the inputs after them (same key included) are
// transformed, and nothing of a rejected input reaches the outputs.
func testTransformReject(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), transformTopics())
	msgs := seqMsgs(stream.TopicEmissionsRaw, 3, 6)
	bad := map[string]*stream.Message{}
	for _, m := range msgs {
		if (m.Key == "site-01" && m.Headers["seq"] == "2") || (m.Key == "site-02" && m.Headers["seq"] == "5") {
			m.Headers["bad"] = "1"
		}
	}
	publish(t, s, msgs, 18)
	for _, m := range msgs {
		if m.Headers["bad"] == "1" {
			bad[m.EventID] = m
		}
	}
	p := newProbe()
	stop := startTransform(t, s, p.cfg(h))
	checkOutputs(t, s, msgs, 30*time.Second+4*h.FailoverAfter, 500*time.Millisecond)
	waitLagZero(t, s, 15*time.Second)
	stopTransform(t, stop)

	sub, err := s.Replay(ctxT(t, 10*time.Second), stream.TopicIntegrationErrors, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for _, d := range receive(t, sub, len(bad), 15*time.Second) {
		var src string
		for id := range bad {
			if d.EventID == stream.TransformEventID(transformGroup, id, -1) {
				src = id
			}
		}
		in := bad[src]
		if in == nil {
			t.Fatalf("dead letter %s (key %q) is not of a rejected input, or its id is not TransformEventID(group, input, -1)", d.EventID, d.Key)
		}
		delete(bad, src)
		p.mu.Lock()
		off := p.rejected[src]
		p.mu.Unlock()
		if d.Key != in.Key || string(d.Value) != string(in.Value) || d.Headers["seq"] != in.Headers["seq"] {
			t.Fatalf("dead letter carries key %q value %q seq %s, want the input's %q %q %s", d.Key, d.Value, d.Headers["seq"], in.Key, in.Value, in.Headers["seq"])
		}
		if !strings.Contains(d.Headers[stream.HeaderDLQReason], "bad value") || d.Headers[stream.HeaderDLQTopic] != stream.TopicEmissionsRaw ||
			d.Headers[stream.HeaderDLQGroup] != transformGroup || d.Headers[stream.HeaderDLQOffset] != strconv.FormatInt(off, 10) ||
			d.Headers[stream.HeaderDLQPartition] != strconv.Itoa(int(stream.PartitionFor([]byte(in.Key), 12))) {
			t.Fatalf("dead-letter headers %v; want the reason, topic, partition, offset %d and group", d.Headers, off)
		}
	}
	expectNothing(t, sub, 500*time.Millisecond)
}

// testTransformRetries: Fn errors that are not rejections are retried
// until Fn succeeds; nothing is dead-lettered or written twice.
func testTransformRetries(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), transformTopics())
	msgs := seqMsgs(stream.TopicEmissionsRaw, 3, 5)
	msgs[4].Headers["flaky"] = "2"
	msgs[10].Headers["flaky"] = "1"
	publish(t, s, msgs, 15)
	p := newProbe()
	stop := startTransform(t, s, p.cfg(h))
	checkOutputs(t, s, msgs, 30*time.Second+4*h.FailoverAfter, 500*time.Millisecond)
	waitLagZero(t, s, 15*time.Second)
	stopTransform(t, stop)
	if n := p.callsOf(msgs[4].EventID); n != 3 {
		t.Fatalf("input failing twice was called %d times, want 3", n)
	}
	if n := p.callsOf(msgs[10].EventID); n != 2 {
		t.Fatalf("input failing once was called %d times, want 2", n)
	}
	sub, err := s.Replay(ctxT(t, 10*time.Second), stream.TopicIntegrationErrors, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	expectNothing(t, sub, 500*time.Millisecond)
}

// testTransformTwoMembers: two members of one transform share the input's
// partitions, through the rebalance when the second joins; every output
// is visible once.
func testTransformTwoMembers(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), transformTopics())
	msgs := keyedMsgs(stream.TopicEmissionsRaw, balancedKeys(12, 2), 10)
	publish(t, s, msgs[:120], 60)
	p := newProbe()
	cfgA, cfgB := p.cfg(h), p.cfg(h)
	cfgA.InstanceID, cfgB.InstanceID = "a", "b"
	stopA := startTransform(t, s, cfgA)
	stopB := startTransform(t, s, cfgB)
	publish(t, s, msgs[120:], 60)
	want := map[string]bool{}
	for _, m := range msgs {
		want[m.EventID] = true
	}
	readExactlyOnce(t, s, stream.TopicEmissionsCalculated, want, 30*time.Second+4*h.FailoverAfter, time.Second)
	readExactlyOnce(t, s, stream.TopicAuditEvents, want, 30*time.Second+4*h.FailoverAfter, time.Second)
	waitLagZero(t, s, 15*time.Second)
	stopTransform(t, stopA)
	stopTransform(t, stopB)
}
