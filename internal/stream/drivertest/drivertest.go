// Package drivertest is the conformance suite of the event-stream port:
// every driver runs RunConformance from its own TestConformance and must
// pass it unchanged. It checks behaviour through the port (internal/stream),
// so what it proves holds for every caller.
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

// Env is one isolated engine (or an isolated corner of a shared one).
type Env struct {
	// URL opens the engine. Opening it twice in sequence must reach the same
	// data (the reconcile test reopens).
	URL string
	// Namespace isolates topics and groups on shared engines; may be "".
	Namespace string
	// Compact forces compaction on engines that compact in the background
	// (kfake); nil when the engine drops older values of a key on write
	// (JetStream) or cannot be forced (a real Kafka broker).
	Compact func()
}

// Compaction says what the suite can assert about compacted topics.
type Compaction int

const (
	// CompactionLatestOnly: after Compact (or at once), exactly one message
	// per key remains, the latest. (JetStream MaxMsgsPerSubject=1; kfake
	// after Cluster.Compact, except the partition's last batch.)
	CompactionLatestOnly Compaction = iota
	// CompactionEventual: the latest value per key is always there; older
	// ones disappear some time later (a real Kafka broker's log cleaner).
	CompactionEventual
)

// Harness describes a driver under test.
type Harness struct {
	// Register adds the driver's schemes to a registry.
	Register func(*stream.Registry)
	// NewEnv returns an isolated engine; cleanup is the harness's business
	// (t.Cleanup).
	NewEnv func(t *testing.T) Env
	// FailoverAfter is the subscription failover time tests use; 0 means 2s.
	// A real Kafka broker needs at least its group.min.session.timeout.ms.
	FailoverAfter time.Duration
	// Compaction is what compacted topics guarantee on this engine.
	Compaction Compaction
	// GroupsUnsupported, when set, says why this engine cannot run consumer
	// groups (a NATS server older than 2.11). Group tests are skipped with
	// that reason and Subscribe must fail with ErrFailedPrecondition.
	GroupsUnsupported string
}

// testTopics is the slice of the catalogue the suite uses: a keyed event
// topic, a compacted state topic and the dead-letter topic.
func testTopics() []stream.Topic {
	var out []stream.Topic
	for _, t := range stream.Catalogue() {
		switch t.Name {
		case stream.TopicEmissionsRaw, stream.TopicSupplyChainInventory, stream.TopicIntegrationErrors:
			out = append(out, t)
		}
	}
	return out
}

// RunConformance runs the whole suite.
func RunConformance(t *testing.T, h Harness) {
	if h.FailoverAfter == 0 {
		h.FailoverAfter = 2 * time.Second
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"UnknownTopic", testUnknownTopic},
		{"OrderPerKeyAndAck", testOrderPerKeyAndAck},
		{"HeadersRoundTrip", testHeadersRoundTrip},
		{"RedeliveryAfterCrash", testRedeliveryAfterCrash},
		{"GroupSharesPartitions", testGroupSharesPartitions},
		{"HandOverKeepsOrder", testHandOverKeepsOrder},
		{"ReplayFromOffset", testReplayFromOffset},
		{"ReplayFromTime", testReplayFromTime},
		{"Compaction", testCompaction},
		{"DeadLetter", testDeadLetter},
		{"Reconcile", testReconcile},
	}
	groupTests := map[string]bool{"OrderPerKeyAndAck": true, "RedeliveryAfterCrash": true, "GroupSharesPartitions": true, "HandOverKeepsOrder": true, "DeadLetter": true}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if h.GroupsUnsupported != "" && groupTests[tc.name] {
				testGroupsUnsupported(t, h)
				t.Skipf("consumer groups unsupported on this engine: %s", h.GroupsUnsupported)
			}
			tc.fn(t, h)
		})
	}
}

func open(t *testing.T, h Harness, env Env, topics []stream.Topic) *stream.Stream {
	t.Helper()
	s, err := openErr(h, env, topics)
	if err != nil {
		t.Fatalf("opening %s: %v", env.URL, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openErr(h Harness, env Env, topics []stream.Topic) (*stream.Stream, error) {
	return openOpts(h, env, stream.Options{Topics: topics, Namespace: env.Namespace})
}

func openOpts(h Harness, env Env, opts stream.Options) (*stream.Stream, error) {
	r := stream.NewRegistry()
	h.Register(r)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Open(ctx, env.URL, opts)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func subscribe(t *testing.T, h Harness, s *stream.Stream, topic, group string) *stream.Subscription {
	t.Helper()
	sub, err := s.Subscribe(ctxT(t, 30*time.Second), topic, group, stream.SubscribeOptions{FailoverAfter: h.FailoverAfter})
	if err != nil {
		t.Fatalf("subscribing to %s as %s: %v", topic, group, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// receive receives n messages or fails after d.
func receive(t *testing.T, sub *stream.Subscription, n int, d time.Duration) []*stream.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	out := make([]*stream.Message, 0, n)
	for len(out) < n {
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("receiving message %d of %d from %s: %v", len(out)+1, n, sub.Topic(), err)
		}
		out = append(out, m)
	}
	return out
}

// expectNothing checks that no message arrives within d (a bounded negative check).
func expectNothing(t *testing.T, sub *stream.Subscription, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if m, err := sub.Receive(ctx); err == nil {
		t.Fatalf("unexpected message on %s: key %q offset %d deliveries %d", sub.Topic(), m.Key, m.Offset, m.Deliveries)
	}
}

func ack(t *testing.T, ms ...*stream.Message) {
	t.Helper()
	for _, m := range ms {
		if err := m.Ack(ctxT(t, 10*time.Second)); err != nil {
			t.Fatalf("ack %s offset %d: %v", m.Topic, m.Offset, err)
		}
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s: last state %s", d, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seqMsgs builds n messages per key with a "seq" header counting up per key.
func seqMsgs(topic string, keys, perKey int) []*stream.Message {
	var out []*stream.Message
	for i := 0; i < perKey; i++ {
		for k := 0; k < keys; k++ {
			out = append(out, &stream.Message{
				Topic: topic, Key: fmt.Sprintf("site-%02d", k),
				Value:   []byte(fmt.Sprintf(`{"site":%d,"seq":%d}`, k, i)),
				Headers: map[string]string{"seq": strconv.Itoa(i)},
			})
		}
	}
	return out
}

func publish(t *testing.T, s *stream.Stream, msgs []*stream.Message, batch int) {
	t.Helper()
	for i := 0; i < len(msgs); i += batch {
		j := min(i+batch, len(msgs))
		if err := s.PublishBatch(ctxT(t, 30*time.Second), msgs[i:j]); err != nil {
			t.Fatalf("publishing messages %d..%d: %v", i, j-1, err)
		}
	}
}

func testGroupsUnsupported(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	_, err := s.Subscribe(ctxT(t, 10*time.Second), stream.TopicEmissionsRaw, "g", stream.SubscribeOptions{FailoverAfter: h.FailoverAfter})
	if !errors.Is(err, stream.ErrFailedPrecondition) {
		t.Fatalf("subscribe on an engine without groups: %v, want ErrFailedPrecondition", err)
	}
}

func testUnknownTopic(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	ctx := ctxT(t, 10*time.Second)
	err := s.Publish(ctx, &stream.Message{Topic: "no.such-topic", Value: []byte("{}")})
	if !errors.Is(err, stream.ErrNotFound) || !strings.Contains(err.Error(), "no.such-topic") {
		t.Fatalf("publish to unknown topic: got %v, want ErrNotFound naming the topic", err)
	}
	// A batch with one unknown topic sends nothing.
	err = s.PublishBatch(ctx, []*stream.Message{{Topic: stream.TopicEmissionsRaw, Key: "a", Value: []byte("{}")}, {Topic: "nope", Value: []byte("{}")}})
	if !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("batch with unknown topic: got %v, want ErrNotFound", err)
	}
	if _, err := s.Subscribe(ctx, "no.such-topic", "g", stream.SubscribeOptions{}); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("subscribe to unknown topic: got %v, want ErrNotFound", err)
	}
	if _, err := s.Replay(ctx, "no.such-topic", stream.Position{}); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("replay of unknown topic: got %v, want ErrNotFound", err)
	}
	if _, err := s.Lag(ctx, "g", "no.such-topic"); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("lag of unknown topic: got %v, want ErrNotFound", err)
	}
	// A topic in the global catalogue but not in this stream's is unknown too.
	if err := s.Publish(ctx, &stream.Message{Topic: stream.TopicIoTAlerts, Value: []byte("{}")}); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("publish to undeclared topic: got %v, want ErrNotFound", err)
	}
	// Nothing of the rejected batch reached the engine.
	lag, err := s.Lag(ctx, "nobody", stream.TopicEmissionsRaw)
	if err != nil || lag != 0 {
		t.Fatalf("lag after rejected batch: %d, %v; want 0", lag, err)
	}
}

// testOrderPerKeyAndAck: batch publish, per-key order, explicit ack, lag,
// and acked messages are not delivered again to the group.
func testOrderPerKeyAndAck(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	const keys, perKey = 10, 40
	msgs := seqMsgs(stream.TopicEmissionsRaw, keys, perKey)
	publish(t, s, msgs, 100)
	ctx := ctxT(t, 30*time.Second)
	if lag, err := s.Lag(ctx, "orders", stream.TopicEmissionsRaw); err != nil || lag != int64(len(msgs)) {
		t.Fatalf("lag before subscribing: %d, %v; want %d", lag, err, len(msgs))
	}
	sub := subscribe(t, h, s, stream.TopicEmissionsRaw, "orders")
	got := receive(t, sub, len(msgs), 30*time.Second)
	next := map[string]int{}
	seen := map[string]bool{}
	for _, m := range got {
		if seen[m.EventID] {
			t.Fatalf("event %s delivered twice without a failure", m.EventID)
		}
		seen[m.EventID] = true
		seq, _ := strconv.Atoi(m.Headers["seq"])
		if seq != next[m.Key] {
			t.Fatalf("key %s: got seq %d, want %d (order per key broken)", m.Key, seq, next[m.Key])
		}
		next[m.Key]++
		if want := stream.PartitionFor([]byte(m.Key), 12); m.Partition != want {
			t.Fatalf("key %s on partition %d, want %d", m.Key, m.Partition, want)
		}
	}
	for _, m := range msgs {
		if !seen[m.EventID] {
			t.Fatalf("event %s published but not received", m.EventID)
		}
	}
	// Lag counts delivered-but-unacked messages.
	if lag, err := s.Lag(ctx, "orders", stream.TopicEmissionsRaw); err != nil || lag == 0 {
		t.Fatalf("lag before acking: %d, %v; want > 0", lag, err)
	}
	ack(t, got...)
	waitFor(t, 15*time.Second, "lag 0 after acking", func() (bool, string) {
		lag, err := s.Lag(ctx, "orders", stream.TopicEmissionsRaw)
		return err == nil && lag == 0, fmt.Sprintf("lag %d err %v", lag, err)
	})
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Receive(ctx); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("receive after close: %v, want ErrClosed", err)
	}
	// Acked messages are not delivered to the group again.
	again := subscribe(t, h, s, stream.TopicEmissionsRaw, "orders")
	expectNothing(t, again, 500*time.Millisecond)
	// A new message is.
	publish(t, s, seqMsgs(stream.TopicEmissionsRaw, 1, 1), 1)
	if m := receive(t, again, 1, 15*time.Second)[0]; m.Key != "site-00" {
		t.Fatalf("got key %q, want site-00", m.Key)
	}
}

func testHeadersRoundTrip(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	ctx := ctxT(t, 20*time.Second)
	in := &stream.Message{Topic: stream.TopicEmissionsRaw, Key: "plant/7 ü.*>", Value: []byte(`{"kg":1.5}`),
		Headers: map[string]string{"tenant": "org-1", "trace": "abc def", "Mixed-Case": "v"}}
	before := time.Now().Add(-time.Second)
	if err := s.Publish(ctx, in); err != nil {
		t.Fatal(err)
	}
	if in.EventID == "" {
		t.Fatal("Publish did not fill EventID")
	}
	fixed := &stream.Message{Topic: stream.TopicEmissionsRaw, Key: "k", Value: []byte("x"), EventID: "my-id-1"}
	if err := s.Publish(ctx, fixed); err != nil {
		t.Fatal(err)
	}
	sub, err := s.Replay(ctx, stream.TopicEmissionsRaw, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := receive(t, sub, 2, 15*time.Second)
	byID := map[string]*stream.Message{}
	for _, m := range got {
		byID[m.EventID] = m
	}
	m := byID[in.EventID]
	if m == nil {
		t.Fatalf("event %s not replayed; got %v", in.EventID, got)
	}
	if m.Key != in.Key || string(m.Value) != string(in.Value) {
		t.Fatalf("got key %q value %q, want %q %q", m.Key, m.Value, in.Key, in.Value)
	}
	for k, v := range in.Headers {
		if m.Headers[k] != v {
			t.Fatalf("header %s: got %q want %q (all: %v)", k, m.Headers[k], v, m.Headers)
		}
	}
	if m.Headers[stream.HeaderEventID] != in.EventID {
		t.Fatalf("event id header %q, want %q", m.Headers[stream.HeaderEventID], in.EventID)
	}
	if m.Time.Before(before) || m.Time.After(time.Now().Add(time.Second)) {
		t.Fatalf("message time %s not around now", m.Time)
	}
	if m.Partition != stream.PartitionFor([]byte(in.Key), 12) {
		t.Fatalf("partition %d, want %d", m.Partition, stream.PartitionFor([]byte(in.Key), 12))
	}
	if byID["my-id-1"] == nil {
		t.Fatalf("caller-chosen event id not kept")
	}
	if err := m.Ack(ctx); err != nil {
		t.Fatalf("ack on a replayed message: %v, want no-op", err)
	}
}

// testRedeliveryAfterCrash: a member receives without acking and goes away;
// every unacked message reaches the next member of the group.
func testRedeliveryAfterCrash(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	msgs := seqMsgs(stream.TopicEmissionsRaw, 4, 5)
	publish(t, s, msgs, 20)
	a := subscribe(t, h, s, stream.TopicEmissionsRaw, "crashy")
	gotA := receive(t, a, 10, 20*time.Second)
	ack(t, gotA[0]) // one acked, nine not
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := subscribe(t, h, s, stream.TopicEmissionsRaw, "crashy")
	seen := map[string]int{}
	ctx := ctxT(t, 20*time.Second+4*h.FailoverAfter)
	for len(seen) < len(msgs)-1 {
		m, err := b.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(seen), len(msgs)-1, err)
		}
		if m.EventID == gotA[0].EventID {
			t.Fatalf("acked event %s delivered again", m.EventID)
		}
		seen[m.EventID]++
		ack(t, m)
	}
	for _, m := range gotA[1:] {
		if seen[m.EventID] == 0 {
			t.Fatalf("unacked event %s (key %s seq %s) not redelivered", m.EventID, m.Key, m.Headers["seq"])
		}
	}
}

// testGroupSharesPartitions: two members of one group split the
// partitions (each handles a substantial share, every message exactly once,
// one key by one member); after one member closes, the other takes over
// every partition.
func testGroupSharesPartitions(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	a := subscribe(t, h, s, stream.TopicEmissionsRaw, "shared")
	b := subscribe(t, h, s, stream.TopicEmissionsRaw, "shared")
	members := map[string]*stream.Subscription{"a": a, "b": b}

	// Two keys on each of the 12 partitions: a 6/6 split of the partitions
	// splits the messages evenly whichever partitions each member gets.
	keys := balancedKeys(12, 2)
	msgs := keyedMsgs(stream.TopicEmissionsRaw, keys, 10)
	publish(t, s, msgs, 60)
	handled := consumeShared(t, members, msgs)
	counts := map[string]int{}
	for _, m := range handled {
		counts[m]++
	}
	t.Logf("messages per member: %v", counts)
	for name := range members {
		if counts[name] < len(msgs)/4 {
			t.Fatalf("member %s handled %d of %d messages (%v): the group does not share partitions", name, counts[name], len(msgs), counts)
		}
	}

	// b leaves: a takes over all partitions.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	more := keyedMsgs(stream.TopicEmissionsRaw, keys, 2)
	publish(t, s, more, 48)
	handled = consumeShared(t, map[string]*stream.Subscription{"a": a}, more)
	if len(handled) != len(more) {
		t.Fatalf("after b left, a handled %d of %d messages", len(handled), len(more))
	}
}

// testHandOverKeepsOrder: a member closes with messages received but not
// acked; the member taking its partitions over receives them again before
// anything newer of the same key, so order per key holds across a clean
// hand-over, and nothing acked comes back.
func testHandOverKeepsOrder(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	a := subscribe(t, h, s, stream.TopicEmissionsRaw, "handover")
	b := subscribe(t, h, s, stream.TopicEmissionsRaw, "handover")
	keys := balancedKeys(12, 1)
	msgs := keyedMsgs(stream.TopicEmissionsRaw, keys, 10)
	publish(t, s, msgs, 40)

	// a takes 30 messages of its partitions and acks seq 0 and 1 of each key
	// (a prefix per key: a receives a key's messages in order).
	acked := map[string]bool{}
	for _, m := range receive(t, a, 30, 20*time.Second) {
		if m.Headers["seq"] == "0" || m.Headers["seq"] == "1" {
			ack(t, m)
			acked[m.EventID] = true
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	last := map[string]int{}
	seen := map[string]bool{}
	ctx := ctxT(t, 30*time.Second+4*h.FailoverAfter)
	for len(seen) < len(msgs)-len(acked) {
		m, err := b.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(seen), len(msgs)-len(acked), err)
		}
		if acked[m.EventID] {
			t.Fatalf("acked event %s (key %s seq %s) delivered again", m.EventID, m.Key, m.Headers["seq"])
		}
		seq, _ := strconv.Atoi(m.Headers["seq"])
		if prev, ok := last[m.Key]; ok && seq <= prev {
			t.Fatalf("key %s: seq %s received after seq %d (deliveries %d): order lost across the hand-over", m.Key, m.Headers["seq"], prev, m.Deliveries)
		}
		last[m.Key] = seq
		seen[m.EventID] = true
		ack(t, m)
	}
}

// balancedKeys returns perPartition keys for each of n partitions.
func balancedKeys(n int32, perPartition int) []string {
	var keys []string
	count := make([]int, n)
	for i := 0; len(keys) < int(n)*perPartition; i++ {
		k := fmt.Sprintf("site-%03d", i)
		if p := stream.PartitionFor([]byte(k), n); count[p] < perPartition {
			count[p]++
			keys = append(keys, k)
		}
	}
	return keys
}

// keyedMsgs is seqMsgs over the given keys.
func keyedMsgs(topic string, keys []string, perKey int) []*stream.Message {
	var out []*stream.Message
	for i := 0; i < perKey; i++ {
		for _, k := range keys {
			out = append(out, &stream.Message{
				Topic: topic, Key: k, Value: []byte(fmt.Sprintf(`{"site":%q,"seq":%d}`, k, i)),
				Headers: map[string]string{"seq": strconv.Itoa(i)},
			})
		}
	}
	return out
}

// consumeShared receives and acks on every member until each of msgs was
// handled once; it fails on a duplicate, on a key handled by two members or
// after 30s. It returns event id -> member.
func consumeShared(t *testing.T, members map[string]*stream.Subscription, msgs []*stream.Message) map[string]string {
	t.Helper()
	want := map[string]bool{}
	for _, m := range msgs {
		want[m.EventID] = true
	}
	var mu sync.Mutex
	handled := map[string]string{} // event id -> member
	keyOwner := map[string]string{}
	var failure error
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for name, sub := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := sub.Receive(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				if !want[m.EventID] && failure == nil {
					failure = fmt.Errorf("member %s got event %s (key %s seq %s) already handled in an earlier round", name, m.EventID, m.Key, m.Headers["seq"])
				}
				if prev, dup := handled[m.EventID]; dup && failure == nil {
					failure = fmt.Errorf("event %s handled by %s and %s", m.EventID, prev, name)
				}
				handled[m.EventID] = name
				if o, ok := keyOwner[m.Key]; ok && o != name && failure == nil {
					failure = fmt.Errorf("key %s handled by both %s and %s", m.Key, o, name)
				}
				keyOwner[m.Key] = name
				done := len(handled) == len(msgs)
				mu.Unlock()
				_ = m.Ack(ctx)
				if done {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if len(handled) != len(msgs) {
		t.Fatalf("handled %d of %d messages", len(handled), len(msgs))
	}
	return handled
}

func testReplayFromOffset(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	msgs := seqMsgs(stream.TopicEmissionsRaw, 1, 10) // one key: one partition
	publish(t, s, msgs, 3)
	ctx := ctxT(t, 20*time.Second)
	all, err := s.Replay(ctx, stream.TopicEmissionsRaw, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	first := receive(t, all, 10, 15*time.Second)
	_ = all.Close()
	for i := 1; i < len(first); i++ {
		if first[i].Offset <= first[i-1].Offset || first[i].Headers["seq"] != strconv.Itoa(i) {
			t.Fatalf("replay from start: message %d has offset %d seq %s after offset %d", i, first[i].Offset, first[i].Headers["seq"], first[i-1].Offset)
		}
	}
	p := first[6].Partition
	from, err := s.Replay(ctx, stream.TopicEmissionsRaw, stream.Position{Offsets: map[int32]int64{p: first[6].Offset}})
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	got := receive(t, from, 4, 15*time.Second)
	for i, m := range got {
		if m.EventID != first[6+i].EventID || m.Offset != first[6+i].Offset {
			t.Fatalf("replay from offset %d: message %d is offset %d seq %s, want offset %d", first[6].Offset, i, m.Offset, m.Headers["seq"], first[6+i].Offset)
		}
	}
	expectNothing(t, from, 300*time.Millisecond)
	if _, err := s.Replay(ctx, stream.TopicEmissionsRaw, stream.Position{Offsets: map[int32]int64{99: 0}}); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Fatalf("replay of partition 99: %v, want ErrInvalidArgument", err)
	}
}

func testReplayFromTime(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	before := seqMsgs(stream.TopicEmissionsRaw, 5, 2)
	publish(t, s, before, 10)
	// Kafka stamps milliseconds: step the clock past a whole millisecond.
	mid := time.Now().Truncate(time.Millisecond).Add(2 * time.Millisecond)
	waitFor(t, time.Second, "the clock to pass the cut", func() (bool, string) {
		return time.Now().After(mid.Add(time.Millisecond)), ""
	})
	after := seqMsgs(stream.TopicEmissionsRaw, 5, 2)
	publish(t, s, after, 10)
	sub, err := s.Replay(ctxT(t, 10*time.Second), stream.TopicEmissionsRaw, stream.Position{Time: mid})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := receive(t, sub, len(after), 15*time.Second)
	want := map[string]bool{}
	for _, m := range after {
		want[m.EventID] = true
	}
	for _, m := range got {
		if !want[m.EventID] {
			t.Fatalf("replay from %s returned event %s stamped %s (published before the cut)", mid.Format(time.RFC3339Nano), m.EventID, m.Time.Format(time.RFC3339Nano))
		}
		if m.Time.Before(mid) {
			t.Fatalf("message stamped %s before %s", m.Time, mid)
		}
	}
	expectNothing(t, sub, 300*time.Millisecond)
}

// testCompaction: the latest value per key is always retained; on engines
// with CompactionLatestOnly only it remains.
func testCompaction(t *testing.T, h Harness) {
	env := h.NewEnv(t)
	s := open(t, h, env, testTopics())
	topic := stream.TopicSupplyChainInventory
	keys := []string{"sku-1", "sku-2", "sku-3"}
	for v := 1; v <= 4; v++ { // separate publishes: separate Kafka batches
		for _, k := range keys {
			if err := s.Publish(ctxT(t, 10*time.Second), &stream.Message{Topic: topic, Key: k, Value: []byte(fmt.Sprintf(`{"level":%d}`, v))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Kafka never compacts a partition's last batch: finish every partition
	// touched with a sentinel key of the same partition.
	sentinels := map[string]bool{}
	for _, k := range keys {
		p := stream.PartitionFor([]byte(k), 6)
		for i := 0; ; i++ {
			sk := fmt.Sprintf("sentinel-%d", i)
			if stream.PartitionFor([]byte(sk), 6) == p {
				if !sentinels[sk] {
					sentinels[sk] = true
					if err := s.Publish(ctxT(t, 10*time.Second), &stream.Message{Topic: topic, Key: sk, Value: []byte(`{}`)}); err != nil {
						t.Fatal(err)
					}
				}
				break
			}
		}
	}
	if env.Compact != nil {
		env.Compact()
	}
	sub, err := s.Replay(ctxT(t, 10*time.Second), topic, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	values := map[string][]string{}
	n := 0
	ctx := ctxT(t, 10*time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		m, err := sub.Receive(rctx)
		cancel()
		if err != nil {
			break // replayed everything retained
		}
		n++
		values[m.Key] = append(values[m.Key], string(m.Value))
	}
	for _, k := range keys {
		vs := values[k]
		if len(vs) == 0 || vs[len(vs)-1] != `{"level":4}` {
			t.Fatalf("key %s: retained %v, want the latest value {\"level\":4} last", k, vs)
		}
		if h.Compaction == CompactionLatestOnly && len(vs) != 1 {
			t.Fatalf("key %s: retained %v, want only the latest value", k, vs)
		}
	}
	t.Logf("retained %d messages for %d keys and %d sentinels", n, len(keys), len(sentinels))
}

type reading struct {
	Site string  `json:"site"`
	KG   float64 `json:"kg"`
}

func testDeadLetter(t *testing.T, h Harness) {
	s := open(t, h, h.NewEnv(t), testTopics())
	ctx := ctxT(t, 30*time.Second)
	key := "plant-1"
	bad := &stream.Message{Topic: stream.TopicEmissionsRaw, Key: key, Value: []byte(`{"site":"x","kg":"lots"}`)}
	if err := s.Publish(ctx, bad); err != nil {
		t.Fatal(err)
	}
	goodID, err := stream.Publish(ctx, s, stream.TopicEmissionsRaw, key, reading{Site: "x", KG: 2})
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, h, s, stream.TopicEmissionsRaw, "decoder")
	var decoded []reading
	for _, m := range receive(t, sub, 2, 20*time.Second) {
		v, ok, err := stream.DecodeOrDeadLetter[reading](ctx, s, m)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			if m.EventID != bad.EventID {
				t.Fatalf("event %s dead-lettered, want only %s", m.EventID, bad.EventID)
			}
			continue
		}
		if m.EventID != goodID || m.Headers[stream.HeaderSchemaVersion] != "1" || m.Headers[stream.HeaderContentType] != stream.ContentTypeJSON {
			t.Fatalf("good message: id %s headers %v", m.EventID, m.Headers)
		}
		decoded = append(decoded, v)
		ack(t, m)
	}
	if len(decoded) != 1 || decoded[0].KG != 2 {
		t.Fatalf("decoded %v, want the one good reading", decoded)
	}
	waitFor(t, 15*time.Second, "lag 0 after dead-lettering", func() (bool, string) {
		lag, err := s.Lag(ctx, "decoder", stream.TopicEmissionsRaw)
		return err == nil && lag == 0, fmt.Sprintf("lag %d err %v", lag, err)
	})
	dlq, err := s.Replay(ctx, stream.TopicIntegrationErrors, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	d := receive(t, dlq, 1, 15*time.Second)[0]
	if string(d.Value) != string(bad.Value) || d.Key != key {
		t.Fatalf("dead letter carries %q key %q, want the original payload %q key %q", d.Value, d.Key, bad.Value, key)
	}
	if d.Headers[stream.HeaderDLQTopic] != stream.TopicEmissionsRaw || !strings.Contains(d.Headers[stream.HeaderDLQReason], "kg") ||
		d.Headers[stream.HeaderDLQGroup] != "decoder" || d.Headers[stream.HeaderDLQOffset] == "" {
		t.Fatalf("dead-letter headers %v", d.Headers)
	}
	expectNothing(t, dlq, 300*time.Millisecond)
}

// testReconcile: the full catalogue is created, reopening changes nothing,
// growing partitions and changing retention are applied, shrinking
// partitions is a clear error.
func testReconcile(t *testing.T, h Harness) {
	env := h.NewEnv(t)
	cat := stream.Catalogue()
	s := open(t, h, env, cat)
	ctx := ctxT(t, 30*time.Second)
	if got := len(s.Topics()); got != len(cat) {
		t.Fatalf("%d topics declared, want %d", got, len(cat))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, h, env, cat)
	changes, err := s.Reconcile(ctx)
	if err != nil || len(changes) != 0 {
		t.Fatalf("reconciling an unchanged catalogue: %v, %v; want no changes", changes, err)
	}
	_ = s.Close()

	grown := stream.Catalogue()
	for i := range grown {
		if grown[i].Name == stream.TopicEmissionsAlerts {
			grown[i].Partitions++
			grown[i].Retention = 10 * 24 * time.Hour
		}
	}
	s, err = openOpts(h, env, stream.Options{Topics: grown, Namespace: env.Namespace, SkipReconcile: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	changes, err = s.Reconcile(ctx)
	if err != nil || len(changes) != 1 || changes[0].Topic != stream.TopicEmissionsAlerts ||
		!strings.Contains(changes[0].Action, "partitions 3 -> 4") || !strings.Contains(changes[0].Action, "retention") {
		t.Fatalf("growing partitions and changing retention: %v, %v; want one change to %s", changes, err, stream.TopicEmissionsAlerts)
	}
	if changes, err := s.Reconcile(ctx); err != nil || len(changes) != 0 {
		t.Fatalf("second reconcile: %v, %v; want no changes", changes, err)
	}
	if err := s.Publish(ctx, &stream.Message{Topic: stream.TopicEmissionsAlerts, Key: "k", Value: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	shrunk := stream.Catalogue()
	for i := range shrunk {
		if shrunk[i].Name == stream.TopicEmissionsAlerts {
			shrunk[i].Partitions = 2
		}
	}
	_, err = openErr(h, env, shrunk)
	if !errors.Is(err, stream.ErrFailedPrecondition) || !strings.Contains(err.Error(), stream.TopicEmissionsAlerts) || !strings.Contains(err.Error(), "partitions") {
		t.Fatalf("shrinking partitions: got %v, want ErrFailedPrecondition naming the topic and partitions", err)
	}
}
