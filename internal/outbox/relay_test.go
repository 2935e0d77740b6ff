package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/outbox"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

const topicRaw = stream.TopicEmissionsRaw

// engines runs fn on SQLite always and on PostgreSQL when
// GREENLANG_TEST_POSTGRES_URL is set.
func engines(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
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
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, pgtest.Open(t, pgtest.New(t, "greenlang_outbox"), store.Options{}))
	})
}

// openStream starts an embedded JetStream server with the two topics the
// tests use.
func openStream(t *testing.T) *stream.Stream {
	t.Helper()
	var topics []stream.Topic
	for _, tp := range stream.Catalogue() {
		if tp.Name == topicRaw || tp.Name == stream.TopicEmissionsCalculated {
			topics = append(topics, tp)
		}
	}
	reg := stream.NewRegistry()
	natsstream.Register(reg)
	st, err := reg.Open(context.Background(), "nats+embedded://"+filepath.Join(t.TempDir(), "nats"), stream.Options{Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// start runs r until the test ends or stop is called; stop waits for Run
// to return.
func start(t *testing.T, r *outbox.Relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("relay ended with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// runUntilCrash runs r with a context that crash cancels and waits for Run
// to return: the relay is "killed".
func runUntilCrash(t *testing.T, r *outbox.Relay, crash <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-crash:
	case <-time.After(30 * time.Second):
		t.Fatal("the relay never reached the crash point")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("killed relay ended with %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// appendN appends n events with one key (so one partition, one order) in
// separate transactions and returns their ids.
func appendN(t *testing.T, s *store.Store, org uuid.UUID, key string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		evs, err := s.OutboxAppend(context.Background(), org, store.OutboxEvent{Topic: topicRaw, Key: key,
			Payload: fmt.Appendf(nil, `{"n":%d}`, i), Headers: map[string]string{"source": "test"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, evs[0].ID.String())
	}
	return ids
}

// consumer is a consumer group member that de-duplicates by event id, as
// every consumer must, and also records every delivery.
type consumer struct {
	sub        *stream.Subscription
	deliveries []string // every delivery, in order
	seen       map[string]bool
	unique     []string // first deliveries, in order
}

func subscribe(t *testing.T, st *stream.Stream, topic string) *consumer {
	t.Helper()
	sub, err := st.Subscribe(context.Background(), topic, "outbox-test", stream.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return &consumer{sub: sub, seen: map[string]bool{}}
}

// until receives and acks until the message with event id last arrives.
func (c *consumer) until(t *testing.T, last string) []*stream.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var msgs []*stream.Message
	for {
		m, err := c.sub.Receive(ctx)
		if err != nil {
			t.Fatalf("receiving (waiting for %s): %v", last, err)
		}
		if err := m.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
		c.deliveries = append(c.deliveries, m.EventID)
		if !c.seen[m.EventID] {
			c.seen[m.EventID] = true
			c.unique = append(c.unique, m.EventID)
		}
		if m.EventID == last {
			return msgs
		}
	}
}

// An event written in a store transaction reaches a subscriber exactly
// once, with its headers and payload; a rolled-back write publishes nothing.
func TestRelayExactlyOnce(t *testing.T) {
	engines(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		st := openStream(t)
		org := drivertest.NewOrg(t, s).ID
		calc := subscribe(t, st, stream.TopicEmissionsCalculated)
		raw := subscribe(t, st, topicRaw)

		// (c) A rolled-back calculation: its run and summary event are gone.
		bad := drivertest.MinimalRun()
		bad.Events = []store.OutboxEvent{{Topic: topicRaw, Headers: map[string]string{"gl-bad": "x"}}}
		if _, err := s.SaveCalculation(ctx, org, bad); store.CodeOf(err) != store.CodeInvalidArgument {
			t.Fatalf("bad save: %v", err)
		}
		good := drivertest.MinimalRun()
		saved, err := s.SaveCalculation(ctx, org, good)
		if err != nil {
			t.Fatal(err)
		}
		want := appendN(t, s, org, "k", 5)

		r := &outbox.Relay{Store: s, Stream: st, BatchSize: 2, PollInterval: 10 * time.Millisecond}
		start(t, r)

		msgs := calc.until(t, mustSummaryID(t, s, org))
		if len(msgs) != 1 {
			t.Fatalf("emissions.calculated delivered %d messages before the good run's summary, want only it", len(msgs))
		}
		ev, err := stream.Decode[store.CalculatedEvent](msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		if ev.RunID != saved.RunID || ev.OrgID != org || msgs[0].Key != org.String() {
			t.Errorf("summary %+v key %q, want run %s", ev, msgs[0].Key, saved.RunID)
		}

		got := raw.until(t, want[len(want)-1])
		if !slices.Equal(raw.deliveries, want) {
			t.Fatalf("deliveries %v, want %v exactly once in order", raw.deliveries, want)
		}
		for i, m := range got {
			var p struct{ N int }
			if err := json.Unmarshal(m.Value, &p); err != nil || p.N != i || m.Headers["source"] != "test" || m.Key != "k" || m.Deliveries != 1 {
				t.Errorf("message %d: %+v (%v)", i, m, err)
			}
		}
		waitFor(t, "the relay to mark everything", func() bool { return r.Stats().Published == 6 })
		evs, err := s.OutboxEvents(ctx, org, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.PublishedAt == nil {
				t.Errorf("event %s not marked published", e.ID)
			}
		}
		if st := r.Stats(); st.Failed != 0 || st.Batches < 3 {
			t.Errorf("stats %+v", st)
		}
	})
}

// mustSummaryID is the id of org's only emissions.calculated event.
func mustSummaryID(t *testing.T, s *store.Store, org uuid.UUID) string {
	t.Helper()
	evs, err := s.OutboxEvents(context.Background(), org, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		if e.Topic == stream.TopicEmissionsCalculated {
			ids = append(ids, e.ID.String())
		}
	}
	if len(ids) != 1 {
		t.Fatalf("org has %d emissions.calculated events, want 1 (the rolled-back run's must not exist)", len(ids))
	}
	return ids[0]
}

// crashAfterPublish is a store whose mark "kills" the relay on the n-th
// call: the batch is published, never marked.
type crashAfterPublish struct {
	outbox.Store
	n     int
	calls int
	crash chan struct{}
}

func (c *crashAfterPublish) OutboxMarkPublished(ctx context.Context, ids []uuid.UUID) (int64, error) {
	if c.calls++; c.calls == c.n {
		close(c.crash)
		<-ctx.Done() // dies here: the mark never happens
		return 0, ctx.Err()
	}
	return c.Store.OutboxMarkPublished(ctx, ids)
}

// (a) A relay killed between publish and mark: its successor publishes the
// unmarked batch again with the same event ids, JetStream drops the
// duplicates, and the consumer sees every event once, in order, no gap.
func TestRelayKilledBetweenPublishAndMark(t *testing.T) {
	engines(t, func(t *testing.T, s *store.Store) {
		st := openStream(t)
		org := drivertest.NewOrg(t, s).ID
		c := subscribe(t, st, topicRaw)
		want := appendN(t, s, org, "k", 7)

		cs := &crashAfterPublish{Store: s, n: 2, crash: make(chan struct{})}
		first := &outbox.Relay{Store: cs, Stream: st, BatchSize: 3, PollInterval: 10 * time.Millisecond, Lease: 300 * time.Millisecond}
		runUntilCrash(t, first, cs.crash)
		if got := first.Stats().Published; got != 3 {
			t.Fatalf("first relay marked %d events, want 3 (one batch) before dying", got)
		}

		second := &outbox.Relay{Store: s, Stream: st, BatchSize: 3, PollInterval: 10 * time.Millisecond}
		start(t, second)
		// The second relay takes over once the dead relay's lease expires
		// and publishes events 4-6 again, then 7.
		waitFor(t, "the second relay to mark the rest", func() bool { return second.Stats().Published == 4 })
		sentinel := appendN(t, s, org, "k", 1)
		c.until(t, sentinel[0])
		all := append(slices.Clone(want), sentinel...)
		if !slices.Equal(c.unique, all) {
			t.Fatalf("consumer saw %v, want %v: a gap or a reordering", c.unique, all)
		}
		if !slices.Equal(c.deliveries, all) {
			t.Fatalf("deliveries %v: JetStream delivered a duplicate", c.deliveries)
		}
	})
}

// crashBeforePublish is a publisher that "kills" the relay on its first
// batch, before anything reaches the engine.
type crashBeforePublish struct {
	outbox.Publisher
	once  sync.Once
	crash chan struct{}
}

func (c *crashBeforePublish) PublishBatch(ctx context.Context, msgs []*stream.Message) error {
	crashed := false
	c.once.Do(func() { close(c.crash); crashed = true })
	if crashed {
		<-ctx.Done()
		return ctx.Err()
	}
	return c.Publisher.PublishBatch(ctx, msgs)
}

// (b) A relay killed before publishing: the events are published after the
// restart, once each.
func TestRelayKilledBeforePublish(t *testing.T) {
	engines(t, func(t *testing.T, s *store.Store) {
		st := openStream(t)
		org := drivertest.NewOrg(t, s).ID
		c := subscribe(t, st, topicRaw)
		want := appendN(t, s, org, "k", 4)

		cp := &crashBeforePublish{Publisher: st, crash: make(chan struct{})}
		first := &outbox.Relay{Store: s, Stream: cp, BatchSize: 10, PollInterval: 10 * time.Millisecond, Lease: 300 * time.Millisecond}
		runUntilCrash(t, first, cp.crash)
		if got := first.Stats().Published; got != 0 {
			t.Fatalf("first relay published %d", got)
		}
		second := &outbox.Relay{Store: s, Stream: st, PollInterval: 10 * time.Millisecond}
		start(t, second)
		c.until(t, want[len(want)-1])
		if !slices.Equal(c.deliveries, want) {
			t.Fatalf("deliveries %v, want %v", c.deliveries, want)
		}
		evs, err := s.OutboxEvents(context.Background(), org, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if evs[0].Attempts != 1 || evs[0].LastError == "" {
			t.Errorf("the killed publish was not recorded: %+v", evs[0])
		}
	})
}

// flaky fails its first n batches.
type flaky struct {
	mu    sync.Mutex
	n     int
	calls int
	got   [][]*stream.Message
}

func (f *flaky) PublishBatch(_ context.Context, msgs []*stream.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls++; f.calls <= f.n {
		return errors.New("broker unreachable")
	}
	f.got = append(f.got, msgs)
	return nil
}

func (f *flaky) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.got {
		for _, m := range b {
			out = append(out, m.EventID)
		}
	}
	return out
}

// A failing publish is recorded on the events and retried with backoff,
// from the oldest event: order holds, nothing is skipped.
func TestRelayBackoffKeepsOrder(t *testing.T) {
	engines(t, func(t *testing.T, s *store.Store) {
		org := drivertest.NewOrg(t, s).ID
		want := appendN(t, s, org, "k", 5)
		f := &flaky{n: 3}
		var pruned atomic.Int64
		r := &outbox.Relay{Store: pruneCounter{s, &pruned}, Stream: f, BatchSize: 2, PollInterval: 10 * time.Millisecond,
			MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
		start(t, r)
		waitFor(t, "every event to be published", func() bool { return r.Stats().Published == 5 })
		if got := f.ids(); !slices.Equal(got, want) {
			t.Fatalf("published %v, want %v", got, want)
		}
		if st := r.Stats(); st.Failed != 3 {
			t.Errorf("failed attempts %d, want 3", st.Failed)
		}
		evs, err := s.OutboxEvents(context.Background(), org, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if evs[0].Attempts != 3 || evs[0].LastError != "broker unreachable" || evs[2].Attempts != 0 {
			t.Errorf("attempts recorded: %+v / %+v", evs[0], evs[2])
		}
		if pruned.Load() == 0 {
			t.Error("the relay never pruned")
		}
	})
}

type pruneCounter struct {
	outbox.Store
	n *atomic.Int64
}

func (p pruneCounter) OutboxPrune(ctx context.Context, before time.Time) (int64, error) {
	p.n.Add(1)
	return p.Store.OutboxPrune(ctx, before)
}

// The store's topic constant is the stream's.
func TestTopicConstant(t *testing.T) {
	if store.TopicEmissionsCalculated != stream.TopicEmissionsCalculated {
		t.Fatal("store.TopicEmissionsCalculated differs from the stream catalogue's")
	}
}

// Transcode re-encodes each event before it is published; an event it
// fails on is published as stored (its id and payload unchanged) and
// counted, and the events after it are not held up.
func TestRelayTranscode(t *testing.T) {
	engines(t, func(t *testing.T, s *store.Store) {
		org := drivertest.NewOrg(t, s).ID
		want := appendN(t, s, org, "k", 3)
		f := &flaky{}
		r := &outbox.Relay{Store: s, Stream: f, PollInterval: 10 * time.Millisecond,
			Transcode: func(m *stream.Message) (*stream.Message, error) {
				if string(m.Value) == `{"n":1}` {
					return nil, errors.New("no schema carries this")
				}
				return &stream.Message{Topic: m.Topic, Key: m.Key, Value: append([]byte("avro:"), m.Value...), Headers: map[string]string{"gl-content-type": "x"}}, nil
			}}
		start(t, r)
		waitFor(t, "every event to be published", func() bool { return r.Stats().Published == 3 })
		if got := f.ids(); !slices.Equal(got, want) {
			t.Fatalf("published %v, want %v", got, want)
		}
		var values []string
		for _, b := range f.got {
			for _, m := range b {
				values = append(values, string(m.Value))
			}
		}
		if !slices.Equal(values, []string{`avro:{"n":0}`, `{"n":1}`, `avro:{"n":2}`}) {
			t.Errorf("published payloads %q", values)
		}
		if st := r.Stats(); st.TranscodeFailed != 1 || st.Failed != 0 {
			t.Errorf("stats %+v, want one transcode failure and no failed attempt", st)
		}
	})
}
