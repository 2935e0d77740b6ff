package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/driver"
)

// tfDriver is a driver without transactions: Subscribe hands out the
// messages of in, Publish records (and fails the first failPublish calls).
type tfDriver struct {
	in chan *driver.Message

	mu          sync.Mutex
	failPublish int
	publishes   int
	sent        []*driver.Message
	events      []string // "publish n", "ack <offset>" in order
}

func (f *tfDriver) Name() string { return "fake" }
func (f *tfDriver) EnsureTopics(context.Context, []driver.Topic) ([]driver.Change, error) {
	return nil, nil
}
func (f *tfDriver) Publish(_ context.Context, msgs []*driver.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.publishes++
	if f.publishes <= f.failPublish {
		return errors.New("engine unavailable")
	}
	f.sent = append(f.sent, msgs...)
	f.events = append(f.events, fmt.Sprintf("publish %d", len(msgs)))
	return nil
}
func (f *tfDriver) Subscribe(context.Context, driver.SubscribeParams) (driver.Subscription, error) {
	return tfSub{f.in}, nil
}
func (f *tfDriver) Read(context.Context, driver.ReadParams) (driver.Subscription, error) {
	return tfSub{f.in}, nil
}
func (f *tfDriver) Lag(context.Context, string, driver.Topic) (int64, error) { return 0, nil }
func (f *tfDriver) Close() error                                             { return nil }

// input queues a message whose Ack is recorded.
func (f *tfDriver) input(topic string, offset int64, key, id string) {
	f.in <- &driver.Message{Topic: topic, Partition: stream.PartitionFor([]byte(key), 12), Key: []byte(key), Value: []byte(`{}`),
		Headers: map[string]string{stream.HeaderEventID: id}, Offset: offset,
		Ack: func(context.Context) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, fmt.Sprintf("ack %d", offset))
			return nil
		}}
}

func (f *tfDriver) snapshot() ([]*driver.Message, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*driver.Message(nil), f.sent...), append([]string(nil), f.events...)
}

type tfSub struct{ ch chan *driver.Message }

func (s tfSub) Receive(ctx context.Context) (*driver.Message, error) {
	select {
	case m := <-s.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (s tfSub) Close() error { return nil }

// copyOut is a TransformFunc writing one keyed output to
// emissions.calculated and one unkeyed to audit.events per input.
func copyOut(_ context.Context, in *stream.Message) ([]*stream.Message, error) {
	return []*stream.Message{
		{Topic: stream.TopicEmissionsCalculated, Key: in.Key, Value: in.Value, Headers: map[string]string{"src": in.EventID}},
		{Topic: stream.TopicAuditEvents, Value: in.Value, EventID: "set-by-fn"},
	}, nil
}

func tfConfig(fn stream.TransformFunc) stream.TransformConfig {
	return stream.TransformConfig{Topic: stream.TopicEmissionsRaw, Group: "calc", Fn: fn, BatchWait: time.Millisecond,
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

// run runs Transform until cond holds, then cancels it and returns its
// error.
func run(t *testing.T, s *stream.Stream, cfg stream.TransformConfig, cond func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Transform(ctx, cfg) }()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case err := <-done:
			return err
		case <-deadline:
			t.Fatal("condition not met within 10s")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	return <-done
}

func TestTransformValidates(t *testing.T) {
	t.Parallel()
	s := stream.New(&tfDriver{in: make(chan *driver.Message)}, stream.Options{})
	ctx := context.Background()
	cases := []struct {
		name string
		edit func(*stream.TransformConfig)
		want error
	}{
		{"unknown topic", func(c *stream.TransformConfig) { c.Topic = "no.such-topic" }, stream.ErrNotFound},
		{"no topic", func(c *stream.TransformConfig) { c.Topic = "" }, stream.ErrInvalidArgument},
		{"bad group", func(c *stream.TransformConfig) { c.Group = "Calc Group" }, stream.ErrInvalidArgument},
		{"no group", func(c *stream.TransformConfig) { c.Group = "" }, stream.ErrInvalidArgument},
		{"no fn", func(c *stream.TransformConfig) { c.Fn = nil }, stream.ErrInvalidArgument},
		{"bad instance", func(c *stream.TransformConfig) { c.InstanceID = "a b" }, stream.ErrInvalidArgument},
		{"negative batch", func(c *stream.TransformConfig) { c.BatchSize = -1 }, stream.ErrInvalidArgument},
		{"short failover", func(c *stream.TransformConfig) { c.FailoverAfter = time.Millisecond }, stream.ErrInvalidArgument},
	}
	for _, tc := range cases {
		cfg := tfConfig(copyOut)
		tc.edit(&cfg)
		if err := s.Transform(ctx, cfg); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	_ = s.Close()
	if err := s.Transform(ctx, tfConfig(copyOut)); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("on a closed stream: %v, want ErrClosed", err)
	}
}

func TestTransformEventID(t *testing.T) {
	t.Parallel()
	a := stream.TransformEventID("calc", "in-1", 0)
	if a != stream.TransformEventID("calc", "in-1", 0) {
		t.Fatal("TransformEventID is not deterministic")
	}
	u, err := uuid.Parse(a)
	if err != nil || u.Version() != 5 {
		t.Fatalf("%q: want a UUIDv5 (%v)", a, err)
	}
	seen := map[string]string{a: "calc in-1 0"}
	for _, c := range []struct {
		g, in string
		i     int
	}{{"calc", "in-1", 1}, {"calc", "in-1", -1}, {"calc", "in-2", 0}, {"other", "in-1", 0}, {"calc\x00in-1", "", 0}, {"calc", "in-10", 0}, {"calc", "in-1", 10}} {
		id := stream.TransformEventID(c.g, c.in, c.i)
		if prev, dup := seen[id]; dup {
			t.Fatalf("%q %q %d has the id of %s", c.g, c.in, c.i, prev)
		}
		seen[id] = fmt.Sprintf("%q %q %d", c.g, c.in, c.i)
	}
}

// TestTransformFallback: without transactions, outputs get derived ids and
// partitions, a failed publish is retried, and inputs are acked only after
// their outputs were published.
func TestTransformFallback(t *testing.T) {
	t.Parallel()
	f := &tfDriver{in: make(chan *driver.Message, 10), failPublish: 2}
	s := stream.New(f, stream.Options{Namespace: "ns"})
	defer s.Close()
	f.input("ns.emissions.raw", 7, "site-1", "in-7")
	f.input("ns.emissions.raw", 8, "site-1", "in-8")
	cfg := tfConfig(copyOut)
	cfg.BatchWait = time.Second // both inputs in one batch
	err := run(t, s, cfg, func() bool {
		_, ev := f.snapshot()
		return len(ev) == 3
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Transform returned %v, want context.Canceled", err)
	}
	sent, events := f.snapshot()
	if strings.Join(events, ",") != "publish 4,ack 7,ack 8" {
		t.Fatalf("engine saw %v, want one publish of 4 outputs (after 2 failed) and then the acks", events)
	}
	for i, m := range sent {
		src := []string{"in-7", "in-7", "in-8", "in-8"}[i]
		id := stream.TransformEventID("calc", src, i%2)
		if m.EventID != id || m.Headers[stream.HeaderEventID] != id {
			t.Fatalf("output %d: id %s header %s, want %s", i, m.EventID, m.Headers[stream.HeaderEventID], id)
		}
		switch i % 2 {
		case 0:
			if m.Topic != "ns.emissions.calculated" || string(m.Key) != "site-1" || m.Partition != stream.PartitionFor([]byte("site-1"), 12) || m.Headers["src"] != src {
				t.Fatalf("keyed output %d: %+v", i, m)
			}
		case 1:
			if m.Topic != "ns.audit.events" || len(m.Key) != 0 || m.Partition != stream.PartitionFor([]byte(id), 6) {
				t.Fatalf("unkeyed output %d: topic %s key %q partition %d, want audit.events on the partition of its id", i, m.Topic, m.Key, m.Partition)
			}
		}
	}
}

// TestTransformFallbackClosed: a publish failing over and over is retried
// until the stream closes, and then Transform returns ErrClosed.
func TestTransformFallbackClosed(t *testing.T) {
	t.Parallel()
	f := &tfDriver{in: make(chan *driver.Message, 1), failPublish: 1 << 30}
	s := stream.New(f, stream.Options{})
	f.input(stream.TopicEmissionsRaw, 1, "k", "in-1")
	done := make(chan error, 1)
	go func() { done <- s.Transform(context.Background(), tfConfig(copyOut)) }()
	for {
		f.mu.Lock()
		n := f.publishes
		f.mu.Unlock()
		if n >= 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_ = s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, stream.ErrClosed) {
			t.Fatalf("Transform returned %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Transform still retrying 10s after Stream.Close")
	}
	if _, ev := f.snapshot(); len(ev) != 0 {
		t.Fatalf("engine saw %v, want nothing published or acked", ev)
	}
}

// TestTransformBadOutputStops: an output the port refuses stops Transform
// with the port's code, and the input is not acked.
func TestTransformBadOutputStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		out  *stream.Message
		want error
	}{
		{&stream.Message{Topic: "no.such-topic"}, stream.ErrNotFound},
		{&stream.Message{Topic: stream.TopicAuditEvents, Headers: map[string]string{"gl-mine": "x"}}, stream.ErrInvalidArgument},
		{nil, stream.ErrInvalidArgument},
	} {
		f := &tfDriver{in: make(chan *driver.Message, 1)}
		s := stream.New(f, stream.Options{})
		f.input(stream.TopicEmissionsRaw, 1, "k", "in-1")
		fn := func(context.Context, *stream.Message) ([]*stream.Message, error) {
			return []*stream.Message{tc.out}, nil
		}
		err := s.Transform(context.Background(), tfConfig(fn))
		if !errors.Is(err, tc.want) {
			t.Errorf("output %+v: %v, want %v", tc.out, err, tc.want)
		}
		if _, ev := f.snapshot(); len(ev) != 0 {
			t.Errorf("output %+v: engine saw %v, want nothing published or acked", tc.out, ev)
		}
		_ = s.Close()
	}
}

// txDriver adds transactions to tfDriver: each session polls the queued
// batches (a batch not committed is polled again, as after a rewind).
type txDriver struct {
	tfDriver
	batches     [][]*driver.Message
	commitFails int  // Commit errors this many times
	abortByGrp  bool // the first Commit reports an abort (rebalance)

	sessions int
	log      []string
}

type txSess struct {
	d      *txDriver
	next   int // batch to poll
	polled int // batches polled and not committed
	closed chan struct{}
	once   sync.Once
}

func (d *txDriver) Transact(_ context.Context, p driver.TransactParams) (driver.TransactSession, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sessions++
	d.log = append(d.log, "open "+p.TransactionalID)
	next := 0 // batches committed by earlier sessions
	for _, e := range d.log {
		var n int
		if _, err := fmt.Sscanf(e, "commit %d", &n); err == nil {
			next += n
		}
	}
	return &txSess{d: d, next: next, closed: make(chan struct{})}, nil
}

func (s *txSess) record(e string) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.log = append(s.d.log, e)
}

func (s *txSess) Poll(ctx context.Context, _ int, _ time.Duration) ([]*driver.Message, error) {
	s.d.mu.Lock()
	if s.next < len(s.d.batches) {
		b := s.d.batches[s.next]
		s.next++
		s.polled++
		s.d.log = append(s.d.log, fmt.Sprintf("poll %d", len(b)))
		s.d.mu.Unlock()
		return b, nil
	}
	s.d.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, driver.ErrSubscriptionClosed
	}
}

func (s *txSess) Produce(_ context.Context, msgs []*driver.Message) error {
	s.record(fmt.Sprintf("produce %d", len(msgs)))
	return nil
}

func (s *txSess) Commit(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.commitFails > 0 {
		s.d.commitFails--
		s.d.log = append(s.d.log, "commit failed")
		return false, errors.New("fenced")
	}
	if s.d.abortByGrp {
		s.d.abortByGrp = false
		s.d.log = append(s.d.log, "aborted by rebalance")
		s.next -= s.polled // rewind
		s.polled = 0
		return false, nil
	}
	s.d.log = append(s.d.log, fmt.Sprintf("commit %d", s.polled))
	s.polled = 0
	return true, nil
}

func (s *txSess) Abort(context.Context) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.log = append(s.d.log, "abort")
	s.next -= s.polled
	s.polled = 0
	return nil
}

func (s *txSess) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.record("close")
	})
	return nil
}

func (d *txDriver) events() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.log, ",")
}

func txInput(offset int64, id string) *driver.Message {
	return &driver.Message{Topic: stream.TopicEmissionsRaw, Key: []byte("k"), Value: []byte(`{}`), Headers: map[string]string{stream.HeaderEventID: id}, Offset: offset}
}

func newTx(batches ...[]*driver.Message) (*txDriver, *stream.Stream) {
	d := &txDriver{tfDriver: tfDriver{in: make(chan *driver.Message)}, batches: batches}
	return d, stream.New(d, stream.Options{})
}

// TestTransformTransactional: with a Transactional driver each batch is
// poll, produce, commit; the session's transactional id is group/instance;
// nothing goes through Publish or Subscribe.
func TestTransformTransactional(t *testing.T) {
	t.Parallel()
	d, s := newTx([]*driver.Message{txInput(1, "a"), txInput(2, "b")}, []*driver.Message{txInput(3, "c")})
	defer s.Close()
	cfg := tfConfig(copyOut)
	cfg.InstanceID = "pod-1"
	err := run(t, s, cfg, func() bool { return strings.Count(d.events(), "commit") == 2 })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Transform returned %v, want context.Canceled", err)
	}
	if got, want := d.events(), "open calc/pod-1,poll 2,produce 4,commit 1,poll 1,produce 2,commit 1,close"; got != want {
		t.Fatalf("session saw %s, want %s", got, want)
	}
	if sent, ev := d.snapshot(); len(sent) != 0 || len(ev) != 0 {
		t.Fatalf("the fallback path was used too: %v", ev)
	}
}

// TestTransformTransactionalFaults: a rejected input's dead letter goes in
// the transaction; a hook crash leaves the transaction open (no commit, no
// abort); an abort by rebalance re-polls; a failed commit opens a new
// session; ending ctx mid-batch aborts.
func TestTransformTransactionalFaults(t *testing.T) {
	t.Parallel()
	t.Run("reject", func(t *testing.T) {
		d, s := newTx([]*driver.Message{txInput(1, "a"), txInput(2, "bad")})
		defer s.Close()
		var dead []*stream.Message
		cfg := tfConfig(func(ctx context.Context, in *stream.Message) ([]*stream.Message, error) {
			if in.EventID == "bad" {
				return nil, stream.Rejectf("no such site %s", in.Key)
			}
			return copyOut(ctx, in)
		})
		cfg.Hooks.BeforeCommit = func(_, out []*stream.Message) error {
			for _, m := range out {
				if m.Topic == stream.TopicIntegrationErrors {
					dead = append(dead, m)
				}
			}
			return nil
		}
		run(t, s, cfg, func() bool { return strings.Contains(d.events(), "commit") })
		if got := d.events(); !strings.HasPrefix(got, "open ") || !strings.Contains(got, ",poll 2,produce 3,commit 1") {
			t.Fatalf("session saw %s, want 2 outputs and a dead letter in one transaction", got)
		}
		if len(dead) != 1 || dead[0].EventID != stream.TransformEventID("calc", "bad", -1) || dead[0].Headers[stream.HeaderDLQReason] != "no such site k" ||
			dead[0].Headers[stream.HeaderDLQGroup] != "calc" || dead[0].Headers[stream.HeaderDLQOffset] != "2" || dead[0].Headers[stream.HeaderDLQTopic] != stream.TopicEmissionsRaw {
			t.Fatalf("dead letters %+v", dead)
		}
	})
	t.Run("crash", func(t *testing.T) {
		d, s := newTx([]*driver.Message{txInput(1, "a")})
		defer s.Close()
		crash := errors.New("crash")
		cfg := tfConfig(copyOut)
		cfg.InstanceID = "x"
		cfg.Hooks.BeforeCommit = func(_, _ []*stream.Message) error { return crash }
		if err := s.Transform(context.Background(), cfg); !errors.Is(err, crash) {
			t.Fatalf("Transform returned %v, want the crash", err)
		}
		if got, want := d.events(), "open calc/x,poll 1,produce 2,close"; got != want {
			t.Fatalf("session saw %s, want %s (no commit, no abort)", got, want)
		}
	})
	t.Run("rebalance", func(t *testing.T) {
		d, s := newTx([]*driver.Message{txInput(1, "a")})
		defer s.Close()
		d.abortByGrp = true
		cfg := tfConfig(copyOut)
		cfg.InstanceID = "x"
		run(t, s, cfg, func() bool { return strings.Contains(d.events(), "commit 1") })
		if got, want := d.events(), "open calc/x,poll 1,produce 2,aborted by rebalance,poll 1,produce 2,commit 1"; !strings.HasPrefix(got, want) {
			t.Fatalf("session saw %s, want %s", got, want)
		}
	})
	t.Run("commit fails", func(t *testing.T) {
		d, s := newTx([]*driver.Message{txInput(1, "a")})
		defer s.Close()
		d.commitFails = 1
		cfg := tfConfig(copyOut)
		cfg.InstanceID = "x"
		run(t, s, cfg, func() bool { return strings.Contains(d.events(), "commit 1") })
		want := "open calc/x,poll 1,produce 2,commit failed,abort,close,open calc/x,poll 1,produce 2,commit 1"
		if got := d.events(); !strings.HasPrefix(got, want) {
			t.Fatalf("session saw %s, want %s", got, want)
		}
	})
	t.Run("cancel mid-batch", func(t *testing.T) {
		d, s := newTx([]*driver.Message{txInput(1, "a")})
		defer s.Close()
		called := make(chan struct{})
		cfg := tfConfig(func(ctx context.Context, _ *stream.Message) ([]*stream.Message, error) {
			close(called)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		cfg.InstanceID = "x"
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Transform(ctx, cfg) }()
		<-called
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Transform returned %v, want context.Canceled", err)
		}
		if got, want := d.events(), "open calc/x,poll 1,close"; got != want {
			t.Fatalf("session saw %s, want %s (nothing produced: nothing to abort)", got, want)
		}
	})
	t.Run("cancel after produce", func(t *testing.T) {
		d, s := newTx([]*driver.Message{txInput(1, "a")})
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cfg := tfConfig(copyOut)
		cfg.InstanceID = "x"
		cfg.Hooks.BeforeCommit = func(_, _ []*stream.Message) error {
			cancel()
			return nil
		}
		if err := s.Transform(ctx, cfg); !errors.Is(err, context.Canceled) {
			t.Fatalf("Transform returned %v, want context.Canceled", err)
		}
		if got, want := d.events(), "open calc/x,poll 1,produce 2,abort,close"; got != want {
			t.Fatalf("session saw %s, want %s (the open transaction aborted)", got, want)
		}
	})
	t.Run("stream closed", func(t *testing.T) {
		d, s := newTx()
		done := make(chan error, 1)
		go func() { done <- s.Transform(context.Background(), tfConfig(copyOut)) }()
		for !strings.HasPrefix(d.events(), "open") {
			time.Sleep(time.Millisecond)
		}
		_ = s.Close()
		select {
		case err := <-done:
			if !errors.Is(err, stream.ErrClosed) {
				t.Fatalf("Transform returned %v after Stream.Close, want ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Transform still running 10s after Stream.Close")
		}
	})
}
