// Package processortest is the harness the stream processors' restart
// tests share: a fresh store per engine (SQLite always, PostgreSQL when
// pgtest.EnvVar is set), an embedded JetStream, running a runner until its
// consumer group has drained or until it crashes, crash injection, and
// collecting what a run published.
//
// What a processor's inputs are, what it must produce and what is asserted
// about it stay in the processor's own test. The package is imported only
// by tests.
package processortest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/outbox"
	"github.com/greenlang/greenlang/internal/processor"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

// Timeout bounds a runner's draining its inputs (RunUntilHandled,
// RunUntilApplied) and its reaching its crash point (RunUntilCrash).
const Timeout = 60 * time.Second

// StoreOpener opens a fresh migrated store (a new database at every call),
// closed at the test's cleanup.
type StoreOpener func(t testing.TB) *store.Store

// Engines runs fn once per store engine, as the subtests "sqlite" and
// "postgres". The PostgreSQL subtest skips when pgtest.EnvVar is unset; its
// databases are named pgPrefix_<random> (pgtest.New).
func Engines(t *testing.T, pgPrefix string, fn func(t *testing.T, open StoreOpener)) {
	EnginesWith(t, pgPrefix, store.Options{}, fn)
}

// EnginesWith is Engines with stores opened with o (a keyring, say).
func EnginesWith(t *testing.T, pgPrefix string, o store.Options, fn func(t *testing.T, open StoreOpener)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t testing.TB) *store.Store {
			t.Helper()
			reg := store.NewRegistry()
			sqlitestore.Register(reg)
			s, err := reg.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "greenlang.db"), o)
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
		pgtest.New(t, pgPrefix) // skips when no server is configured
		fn(t, func(t testing.TB) *store.Store {
			t.Helper()
			return pgtest.Open(t, pgtest.New(t, pgPrefix), o)
		})
	})
}

// EnvConfig says what an Env holds besides its store and stream.
type EnvConfig struct {
	// Orgs are the organizations created in the store (outputs are stored
	// per organization), each named after its id.
	Orgs []uuid.UUID
	// Country is the organizations' country.
	Country string
	// Topics names the catalogue topics the stream is opened with: the
	// processor's inputs, its outputs and the dead-letter topic.
	Topics []string
}

// Env is one test environment: a store and an embedded JetStream.
type Env struct {
	Store  *store.Store
	Stream *stream.Stream
}

// NewEnv opens a store with open, creates cfg.Orgs in it and opens an
// embedded JetStream with cfg.Topics in a temporary directory; both are
// closed at the test's cleanup.
func NewEnv(t testing.TB, open StoreOpener, cfg EnvConfig) *Env {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	for _, id := range cfg.Orgs {
		o := &store.Organization{ID: id, Name: "Org " + id.String()[:8], Slug: "org-" + strings.ReplaceAll(id.String(), "-", "")[12:], Country: cfg.Country}
		if err := s.OrganizationCreate(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, n := range cfg.Topics {
		want[n] = true
	}
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
	return &Env{Store: s, Stream: strm}
}

// Publish publishes msgs in one batch.
func (e *Env) Publish(t testing.TB, msgs []*stream.Message) {
	t.Helper()
	if err := e.Stream.PublishBatch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
}

// CloneMessages returns copies of ms (headers included), for publishing the
// same inputs in several environments.
func CloneMessages(ms []*stream.Message) []*stream.Message {
	out := make([]*stream.Message, len(ms))
	for i, m := range ms {
		c := *m
		c.Headers = map[string]string{}
		for k, v := range m.Headers {
			c.Headers[k] = v
		}
		out[i] = &c
	}
	return out
}

// RunnerConfig is the runner configuration of the restart tests for the
// consumer group name on topic, over e: batches of 8 inputs, so the inputs
// span several batches and commits, and a failover after 5 seconds. Set
// Hooks and Logger on it as needed.
func (e *Env) RunnerConfig(name, topic string) processor.Config {
	return processor.Config{Name: name, Topic: topic, Store: e.Store, Stream: e.Stream, BatchSize: 8, FailoverAfter: 5 * time.Second}
}

// NewRunner returns a runner of h configured by cfg.
func NewRunner[S any](t testing.TB, cfg processor.Config, h processor.Handler[S]) *processor.Runner[S] {
	t.Helper()
	r, err := processor.New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// RunUntilHandled runs r until it has handled (applied, skipped or
// dead-lettered) at least n inputs and group has acked every input of
// topic, then stops it. The count matters right after a publish: JetStream
// updates a consumer's pending count asynchronously, so the lag can read 0
// for a moment before the new inputs show.
func RunUntilHandled[S any](t testing.TB, e *Env, r *processor.Runner[S], group, topic string, n int64) {
	t.Helper()
	runUntilDrained(t, e, r, group, topic, func(s processor.Stats) bool { return s.Applied+s.Skipped+s.DeadLettered >= n })
}

// RunUntilApplied is RunUntilHandled counting only the inputs r applied.
func RunUntilApplied[S any](t testing.TB, e *Env, r *processor.Runner[S], group, topic string, n int64) {
	t.Helper()
	runUntilDrained(t, e, r, group, topic, func(s processor.Stats) bool { return s.Applied >= n })
}

// runUntilDrained runs r until enough holds of its stats and group's lag
// on topic is 0, then cancels it; it fails the test if r stops by itself,
// does not drain within Timeout or ends with another error than the
// cancellation.
func runUntilDrained[S any](t testing.TB, e *Env, r *processor.Runner[S], group, topic string, enough func(processor.Stats) bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(Timeout)
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("%s: runner stopped early: %v", group, err)
		default:
		}
		st := r.Stats()
		lag, err := e.Stream.Lag(context.Background(), group, topic)
		if err == nil && lag == 0 && enough(st) {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("%s: inputs not drained (lag %d, %v); stats %+v", group, lag, err, r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("%s: runner ended with %v", group, err)
	}
}

// RunUntilCrash runs r with ctx until it returns (a crash: ctx cancelled
// by a CrashingHandler, or a hook's error) and returns its error. It fails
// the test if r is still running after Timeout.
func RunUntilCrash[S any](t testing.TB, ctx context.Context, r *processor.Runner[S]) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(Timeout):
		t.Fatal("the runner never reached the crash point")
		return nil
	}
}

// CrashingHandler is a handler that calls Cancel (the runner's context's)
// when it handles its At-th message, counting from 1: the rest of the
// batch is handled, but its commit fails, so the batch's inputs were
// received and never acked.
type CrashingHandler[S any] struct {
	processor.Handler[S]
	At     int
	Cancel func()
	count  int
}

// Handle counts m, cancels at the At-th message, then hands m to Handler.
func (h *CrashingHandler[S]) Handle(ctx context.Context, st S, m *stream.Message, out *processor.Emitter) error {
	h.count++
	if h.count == h.At {
		h.Cancel()
	}
	return h.Handler.Handle(ctx, st, m, out)
}

// CrashAfterCommit returns hooks that stop the runner after its n-th
// commit, before that batch's inputs are acked (a crash between commit and
// ack), and the error the runner then returns.
func CrashAfterCommit(n int32) (processor.Hooks, error) {
	var commits atomic.Int32
	crash := errors.New("crash after commit")
	return processor.Hooks{AfterCommit: func() error {
		if commits.Add(1) == n {
			return crash
		}
		return nil
	}}, crash
}

// Logger returns a logger that writes every record, debug included, to
// t.Log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// RelayOutbox relays e's outbox to the stream until it is empty and
// returns how many events it published.
func (e *Env) RelayOutbox(t testing.TB) int {
	t.Helper()
	relay := &outbox.Relay{Store: e.Store, Stream: e.Stream, BatchSize: 50}
	published := 0
	for {
		n, err := relay.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return published
		}
		published += n
	}
}

// Outputs are what a run published: events by id, deliveries per topic
// and dead-letter reasons.
type Outputs struct {
	// ByID maps an event id to its topic and payload bytes, joined by a
	// space; a dead letter's payload is its input's.
	ByID map[string]string
	// Count is the events per topic: every delivery, duplicates included.
	Count map[string]int
	// Reasons are the dead letters' reasons.
	Reasons []string
}

// NewOutputs returns empty Outputs.
func NewOutputs() Outputs {
	return Outputs{ByID: map[string]string{}, Count: map[string]int{}}
}

// Record adds the outcome of handling input m directly (outside a runner)
// by the processor named name: what it emitted into em when err is nil, the
// dead letter a runner publishes for m when err is a rejection. Any other
// error fails the test.
func (o *Outputs) Record(t testing.TB, name string, m *stream.Message, em *processor.Emitter, err error) {
	t.Helper()
	var rej *processor.RejectError
	switch {
	case errors.As(err, &rej):
		o.ByID[processor.DeadLetterID(name, m).String()] = stream.TopicIntegrationErrors + " " + string(m.Value)
		o.Count[stream.TopicIntegrationErrors]++
		o.Reasons = append(o.Reasons, err.Error())
	case err != nil:
		t.Fatal(err)
	default:
		for _, e := range em.Events() {
			o.ByID[e.Event.ID.String()] = e.Event.Topic + " " + string(e.Event.Payload)
			o.Count[e.Event.Topic]++
		}
	}
}

// Collect relays e's outbox to the stream, then replays each of topics
// from the start and reads as many deliveries as want counts on it, then
// fails the test if one more arrives within 100ms. Every delivery counts,
// so a duplicate leaves a wanted event unread and shows in the comparison
// of ByID.
func Collect(t testing.TB, e *Env, topics []string, want Outputs) Outputs {
	t.Helper()
	ctx := context.Background()
	e.RelayOutbox(t)
	got := NewOutputs()
	for _, topic := range topics {
		sub, err := e.Stream.Replay(ctx, topic, stream.Position{})
		if err != nil {
			t.Fatal(err)
		}
		for got.Count[topic] < want.Count[topic] {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := sub.Receive(rctx)
			cancel()
			if err != nil {
				t.Fatalf("reading %s: %v after %d of %d", topic, err, got.Count[topic], want.Count[topic])
			}
			got.Count[topic]++
			got.ByID[m.EventID] = topic + " " + string(m.Value)
			if topic == stream.TopicIntegrationErrors {
				got.Reasons = append(got.Reasons, m.Headers[stream.HeaderDLQReason])
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		if m, err := sub.Receive(rctx); err == nil {
			t.Errorf("%s: an extra delivery %s %s", topic, m.EventID, m.Value)
		}
		cancel()
		sub.Close()
	}
	return got
}

// CompareByID requires got to hold the same events as want, by id, byte
// for byte.
func CompareByID(t testing.TB, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d distinct outputs, want %d", len(got), len(want))
	}
	for id, w := range want {
		if g, ok := got[id]; !ok {
			t.Errorf("output %s missing: %s", id, w)
		} else if g != w {
			t.Errorf("output %s differs:\n got %s\nwant %s", id, g, w)
		}
	}
}

// CheckReasons requires some dead-letter reason to mention each of
// mentions.
func CheckReasons(t testing.TB, reasons []string, mentions ...string) {
	t.Helper()
	joined := strings.Join(reasons, "\n")
	for _, w := range mentions {
		if !strings.Contains(joined, w) {
			t.Errorf("no dead letter mentions %q:\n%s", w, joined)
		}
	}
}

// Checkpoint is a partition state's checkpoint as the runner stores it:
// the state's JSON and, for a processor.KeyedState, its entries, which
// each Save updates with the state's changes only. Handler tests
// round-trip their state through it after every input.
type Checkpoint struct {
	State   []byte
	Entries map[string][]byte
}

// Save records st as a commit does.
func (c *Checkpoint) Save(t testing.TB, st any) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	c.State = b
	ks, ok := st.(processor.KeyedState)
	if !ok {
		return
	}
	es, err := ks.TakeChanges()
	if err != nil {
		t.Fatal(err)
	}
	if c.Entries == nil {
		c.Entries = map[string][]byte{}
	}
	for _, e := range es {
		if e.Value == nil {
			delete(c.Entries, e.Key)
		} else {
			c.Entries[e.Key] = e.Value
		}
	}
}

// Load returns a new state of h restored from the checkpoint, as the
// runner loads a partition.
func Load[S any](t testing.TB, c *Checkpoint, h processor.Handler[S]) S {
	t.Helper()
	st := h.NewState()
	if err := json.Unmarshal(c.State, st); err != nil {
		t.Fatal(err)
	}
	if ks, ok := any(st).(processor.KeyedState); ok {
		for k, v := range c.Entries {
			if err := ks.RestoreEntry(k, v); err != nil {
				t.Fatalf("entry %q: %v", k, err)
			}
		}
	}
	return st
}
