package kafkastream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/kafkastream"
)

func TestTransformConformance(t *testing.T) {
	t.Parallel()
	drivertest.RunTransformConformance(t, kfakeHarness())
}

// TestTransformConformanceIntegration runs the transform suite on the Kafka
// cluster at GREENLANG_TEST_KAFKA_URL, one namespace per test.
func TestTransformConformanceIntegration(t *testing.T) {
	t.Parallel()
	drivertest.RunTransformConformance(t, brokerHarness(t, "the transform suite"))
}

// TestTransformAbortedOutputsHidden proves on kfake that the Kafka path
// really is transactional: after a crash between producing and committing
// and a restart, the output topic physically holds the crashed batch's
// outputs twice (a read_uncommitted client sees them), while the port's
// readers (read_committed) see each once.
func TestTransformAbortedOutputsHidden(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	url := "kafka://" + strings.Join(c.ListenAddrs(), ",")
	r := stream.NewRegistry()
	kafkastream.Register(r)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var topics []stream.Topic
	for _, tp := range stream.Catalogue() {
		if tp.Name == stream.TopicEmissionsRaw || tp.Name == stream.TopicEmissionsCalculated || tp.Name == stream.TopicIntegrationErrors {
			topics = append(topics, tp)
		}
	}
	s, err := r.Open(ctx, url, stream.Options{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 20
	for i := 0; i < n; i++ {
		if err := s.Publish(ctx, &stream.Message{Topic: stream.TopicEmissionsRaw, Key: "site-1", Value: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	fn := func(_ context.Context, in *stream.Message) ([]*stream.Message, error) {
		return []*stream.Message{{Topic: stream.TopicEmissionsCalculated, Key: in.Key, Value: in.Value, Headers: map[string]string{"src": in.EventID}}}, nil
	}
	crash := errors.New("crash")
	aborted := 0
	cfg := stream.TransformConfig{Topic: stream.TopicEmissionsRaw, Group: "hidden", Fn: fn, InstanceID: "one", BatchSize: 5, FailoverAfter: 2 * time.Second,
		Hooks: stream.TransformHooks{BeforeCommit: func(in, out []*stream.Message) error {
			aborted = len(out)
			return crash
		}}}
	if err := s.Transform(ctx, cfg); !errors.Is(err, crash) {
		t.Fatalf("first run: %v, want the crash", err)
	}
	if aborted == 0 {
		t.Fatal("the crashed batch produced nothing")
	}
	cfg.Hooks.BeforeCommit = nil
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Transform(rctx, cfg) }()
	defer func() {
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("second run: %v, want context.Canceled", err)
		}
	}()

	// The port's reader: each output once.
	sub, err := s.Replay(ctx, stream.TopicEmissionsCalculated, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	seen := map[string]bool{}
	for len(seen) < n {
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d outputs: %v", len(seen), err)
		}
		if seen[m.EventID] {
			t.Fatalf("read_committed reader saw output %s twice", m.EventID)
		}
		seen[m.EventID] = true
	}
	qctx, qcancel := context.WithTimeout(ctx, time.Second)
	if m, err := sub.Receive(qctx); err == nil {
		t.Fatalf("read_committed reader saw an extra output %s", m.EventID)
	}
	qcancel()

	// A raw read_uncommitted client: the aborted batch is there too.
	raw, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(stream.TopicEmissionsCalculated),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	count := map[string]int{}
	total := 0
	// Read until every expected record arrived and then nothing more for
	// a second, or for at most 20s.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := raw.PollFetches(pctx)
		pcancel()
		if fs.NumRecords() == 0 && total >= n+aborted {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == stream.HeaderEventID {
					count[string(h.Value)]++
				}
			}
			total++
		})
	}
	if total != n+aborted || len(count) != n {
		t.Fatalf("read_uncommitted saw %d records of %d ids, want %d of %d: the first run's %d aborted outputs and the %d committed", total, len(count), n+aborted, n, aborted, n)
	}
}

// TestTransformRebalanceAborts forces the abort-on-rebalance path: member a
// holds a batch between producing its outputs and committing until member
// b has joined and taken partitions over. a's transaction must then abort
// (the group rebalanced since the batch was polled), the batch's inputs are
// transformed again, and readers still see each output once.
func TestTransformRebalanceAborts(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := stream.NewRegistry()
	kafkastream.Register(r)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var topics []stream.Topic
	for _, tp := range stream.Catalogue() {
		if tp.Name == stream.TopicEmissionsRaw || tp.Name == stream.TopicEmissionsCalculated || tp.Name == stream.TopicIntegrationErrors {
			topics = append(topics, tp)
		}
	}
	s, err := r.Open(ctx, "kafka://"+strings.Join(c.ListenAddrs(), ","), stream.Options{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 96
	for i := 0; i < n; i++ {
		if err := s.Publish(ctx, &stream.Message{Topic: stream.TopicEmissionsRaw, Key: fmt.Sprintf("site-%02d", i%24), Value: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	calls := map[string]int{}
	bStarted := make(chan struct{})
	var bOnce sync.Once
	fn := func(member string) stream.TransformFunc {
		return func(_ context.Context, in *stream.Message) ([]*stream.Message, error) {
			mu.Lock()
			calls[in.EventID]++
			mu.Unlock()
			if member == "b" {
				bOnce.Do(func() { close(bStarted) })
			}
			return []*stream.Message{{Topic: stream.TopicEmissionsCalculated, Key: in.Key, Value: in.Value}}, nil
		}
	}
	var held []*stream.Message // set before holding is closed
	holding := make(chan struct{})
	var holdOnce sync.Once
	cfgA := stream.TransformConfig{Topic: stream.TopicEmissionsRaw, Group: "rebal", Fn: fn("a"), InstanceID: "a", BatchSize: 8, FailoverAfter: 2 * time.Second,
		Hooks: stream.TransformHooks{BeforeCommit: func(in, _ []*stream.Message) error {
			holdOnce.Do(func() {
				held = in
				close(holding)
				select { // hold the first batch until b transforms
				case <-bStarted:
				case <-time.After(30 * time.Second):
				}
			})
			return nil
		}}}
	run := func(cfg stream.TransformConfig) func() {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Transform(rctx, cfg) }()
		return func() {
			stop()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("member %s: %v, want context.Canceled", cfg.InstanceID, err)
			}
		}
	}
	stopA := run(cfgA)
	defer stopA()
	select {
	case <-holding:
	case <-ctx.Done():
		t.Fatal("member a never reached its first commit")
	}
	stopB := run(stream.TransformConfig{Topic: stream.TopicEmissionsRaw, Group: "rebal", Fn: fn("b"), InstanceID: "b", BatchSize: 8, FailoverAfter: 2 * time.Second})
	defer stopB()
	select {
	case <-bStarted:
	case <-ctx.Done():
		t.Fatal("member b never transformed anything")
	}

	sub, err := s.Replay(ctx, stream.TopicEmissionsCalculated, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	seen := map[string]bool{}
	for len(seen) < n {
		m, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("after %d of %d outputs: %v", len(seen), n, err)
		}
		if seen[m.EventID] {
			t.Fatalf("output %s seen twice", m.EventID)
		}
		seen[m.EventID] = true
	}
	qctx, qcancel := context.WithTimeout(ctx, time.Second)
	defer qcancel()
	if m, err := sub.Receive(qctx); err == nil {
		t.Fatalf("extra output %s", m.EventID)
	}
	mu.Lock()
	defer mu.Unlock()
	redone := 0
	for _, m := range held {
		if calls[m.EventID] >= 2 {
			redone++
		}
	}
	if redone == 0 {
		t.Fatalf("none of the %d inputs of the held batch was transformed again: the transaction was not aborted by the rebalance", len(held))
	}
	t.Logf("%d of %d inputs of the held batch transformed again after the rebalance", redone, len(held))
}
