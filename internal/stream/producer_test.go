package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/stream/driver"
)

// flakyDriver is an engine whose publishes can fail, store part of a batch
// before failing, or wait at a gate. Only Publish is used.
type flakyDriver struct {
	mu       sync.Mutex
	down     error // Publish fails with it while set
	partial  int   // messages of a failing batch stored before the error
	gate     chan struct{}
	attempts int
	stored   []*driver.Message
	batches  [][]string // event ids of every attempt
}

var errEngineDown = errors.New("engine down")

func (f *flakyDriver) Name() string { return "flaky" }
func (f *flakyDriver) EnsureTopics(context.Context, []driver.Topic) ([]driver.Change, error) {
	return nil, nil
}
func (f *flakyDriver) Subscribe(context.Context, driver.SubscribeParams) (driver.Subscription, error) {
	return nil, errors.ErrUnsupported
}
func (f *flakyDriver) Read(context.Context, driver.ReadParams) (driver.Subscription, error) {
	return nil, errors.ErrUnsupported
}
func (f *flakyDriver) Lag(context.Context, string, driver.Topic) (int64, error) { return 0, nil }
func (f *flakyDriver) Close() error                                             { return nil }

func (f *flakyDriver) Publish(ctx context.Context, msgs []*driver.Message) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.EventID
	}
	f.batches = append(f.batches, ids)
	if f.down != nil {
		f.stored = append(f.stored, msgs[:min(f.partial, len(msgs))]...)
		return f.down
	}
	f.stored = append(f.stored, msgs...)
	return nil
}

func (f *flakyDriver) setDown(err error, partial int) {
	f.mu.Lock()
	f.down, f.partial = err, partial
	f.mu.Unlock()
}

func (f *flakyDriver) storedMsgs() []*driver.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*driver.Message(nil), f.stored...)
}

func (f *flakyDriver) attemptCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

func newFlaky(t *testing.T) (*Stream, *flakyDriver) {
	t.Helper()
	f := &flakyDriver{}
	s := New(f, Options{Topics: []Topic{{Name: "t", Partitions: 4, Retention: time.Hour, Compression: CompressionNone}}})
	t.Cleanup(func() { _ = s.Close() })
	return s, f
}

func newProducer(t *testing.T, s *Stream, o ProducerOptions) *Producer {
	t.Helper()
	if o.RetryMin == 0 {
		o.RetryMin, o.RetryMax = time.Millisecond, 5*time.Millisecond
	}
	p, err := s.NewProducer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = p.Close(ctx) // the tests that care check Close themselves
	})
	return p
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func keyed(n, keys int) []*Message {
	out := make([]*Message, n)
	for i := range out {
		out[i] = &Message{Topic: "t", Key: "k" + strconv.Itoa(i%keys), Value: []byte(strconv.Itoa(i)), Headers: map[string]string{"seq": strconv.Itoa(i)}}
	}
	return out
}

// checkOrder checks that stored holds every sent message, that duplicates
// are exact copies of an earlier one (same event id, same payload), and
// that per key the first copies are in Send order.
func checkOrder(t *testing.T, sent []*Message, stored []*driver.Message) (dups int) {
	t.Helper()
	byID := map[string]*Message{}
	for _, m := range sent {
		byID[m.EventID] = m
	}
	seen := map[string]bool{}
	last := map[string]int{}
	for _, d := range stored {
		m := byID[d.EventID]
		if m == nil {
			t.Fatalf("engine stored event %s that was never sent", d.EventID)
		}
		if string(d.Value) != string(m.Value) || string(d.Key) != m.Key {
			t.Fatalf("event %s stored with key %q value %q, sent with %q %q", d.EventID, d.Key, d.Value, m.Key, m.Value)
		}
		if seen[d.EventID] {
			dups++
			continue
		}
		seen[d.EventID] = true
		seq, _ := strconv.Atoi(d.Headers["seq"])
		if prev, ok := last[m.Key]; ok && seq < prev {
			t.Fatalf("key %s: seq %d stored after seq %d: order per key lost", m.Key, seq, prev)
		}
		last[m.Key] = seq
	}
	if len(seen) != len(sent) {
		t.Fatalf("engine stored %d of %d sent messages", len(seen), len(sent))
	}
	return dups
}

func TestProducerSendFlush(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	p := newProducer(t, s, ProducerOptions{MaxBatch: 7})
	msgs := keyed(500, 5)
	for _, m := range msgs {
		if err := p.Send(ctxFor(t, time.Second), m); err != nil {
			t.Fatal(err)
		}
		if m.EventID == "" {
			t.Fatal("Send did not fill the event id")
		}
	}
	if err := p.Flush(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if dups := checkOrder(t, msgs, f.storedMsgs()); dups != 0 {
		t.Fatalf("%d duplicates without a failure", dups)
	}
	st := p.Stats()
	if st.Sent != 500 || st.Buffered != 0 || st.BufferedBytes != 0 || st.Failures != 0 || st.Retries != 0 || !st.FailingSince.IsZero() {
		t.Fatalf("stats %+v", st)
	}
	if err := p.Close(ctxFor(t, time.Second)); err != nil {
		t.Fatal(err)
	}
}

// A batch that fails after the engine stored part of it is retried whole,
// before anything later: nothing is lost, duplicates carry the same event
// id, order per key holds.
func TestProducerRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	p := newProducer(t, s, ProducerOptions{MaxBatch: 10})
	f.setDown(errEngineDown, 3)
	msgs := keyed(100, 4)
	for _, m := range msgs[:50] {
		if err := p.Send(ctxFor(t, time.Second), m); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "three failed attempts", func() bool { return f.attemptCount() >= 3 })
	st := p.Stats()
	if st.FailingSince.IsZero() || !errors.Is(st.LastError, errEngineDown) || st.Failures < 3 || st.Sent != 0 {
		t.Fatalf("stats while failing: %+v", st)
	}
	// Flush gives up with the count and the engine's error.
	err := p.Flush(ctxFor(t, 50*time.Millisecond))
	if CodeOf(err) != CodeUnavailable || !errors.Is(err, errEngineDown) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "50 messages still unsent") || !strings.Contains(err.Error(), "failing for") {
		t.Fatalf("flush while failing: %v", err)
	}
	f.setDown(nil, 0)
	for _, m := range msgs[50:] {
		if err := p.Send(ctxFor(t, time.Second), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	dups := checkOrder(t, msgs, f.storedMsgs())
	if dups == 0 {
		t.Fatal("the partial writes of failed attempts should have left duplicates")
	}
	// Every retry starts with the failed batch's first message.
	f.mu.Lock()
	first := f.batches[0][0]
	for i, b := range f.batches[:3] {
		if b[0] != first {
			t.Fatalf("attempt %d starts with %s, want the failed batch's first message %s", i, b[0], first)
		}
	}
	f.mu.Unlock()
	st = p.Stats()
	if st.Sent != 100 || st.Buffered != 0 || !st.FailingSince.IsZero() || st.LastError != nil || st.Retries != st.Failures {
		t.Fatalf("stats after recovery: %+v", st)
	}
	t.Logf("%d duplicates, stats %+v", dups, st)
}

func TestProducerBufferFull(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	f.setDown(errEngineDown, 0)
	p := newProducer(t, s, ProducerOptions{MaxMessages: 10, BlockFor: 30 * time.Millisecond})
	msgs := keyed(11, 3)
	for _, m := range msgs[:10] {
		if err := p.Send(ctxFor(t, time.Second), m); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "a failed attempt", func() bool { return f.attemptCount() >= 1 })
	err := p.Send(ctxFor(t, 5*time.Second), msgs[10])
	if !errors.Is(err, ErrResourceExhausted) || !errors.Is(err, errEngineDown) {
		t.Fatalf("send to a full buffer: %v, want ErrResourceExhausted wrapping the engine error", err)
	}
	for _, want := range []string{"buffer full", "10 messages", "MaxMessages 10", "waited", "failing for", "engine down"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	// ctx ending first is the same error, also matching the ctx's.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Send(ctx, msgs[10]); !errors.Is(err, ErrResourceExhausted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("send with a cancelled ctx to a full buffer: %v", err)
	}
	// The engine comes back: the same message goes in and everything is
	// delivered once.
	id := msgs[10].EventID
	f.setDown(nil, 0)
	if err := p.Send(ctxFor(t, 5*time.Second), msgs[10]); err != nil {
		t.Fatal(err)
	}
	if msgs[10].EventID != id {
		t.Fatalf("re-sending changed the event id %s to %s", id, msgs[10].EventID)
	}
	if err := p.Close(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if dups := checkOrder(t, msgs, f.storedMsgs()); dups != 0 {
		t.Fatalf("%d duplicates", dups)
	}
}

func TestProducerByteLimit(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	f.setDown(errEngineDown, 0)
	p := newProducer(t, s, ProducerOptions{MaxBytes: 1000, BlockFor: -1})
	big := &Message{Topic: "t", Value: make([]byte, 1001)}
	if err := p.Send(ctxFor(t, time.Second), big); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "MaxBytes 1000") {
		t.Fatalf("message larger than the buffer: %v", err)
	}
	half := func() *Message { return &Message{Topic: "t", Value: make([]byte, 400)} }
	for range 2 {
		if err := p.Send(ctxFor(t, time.Second), half()); err != nil {
			t.Fatal(err)
		}
	}
	// BlockFor < 0: a full buffer fails at once.
	err := p.Send(context.Background(), half())
	if !errors.Is(err, ErrResourceExhausted) || !strings.Contains(err.Error(), "MaxBytes 1000") {
		t.Fatalf("third message: %v", err)
	}
	if st := p.Stats(); st.Buffered != 2 || st.BufferedBytes != 2*(400+1+36) {
		t.Fatalf("stats %+v", st)
	}
}

// Send waits for room while the engine is slow, and goes in once a
// batch is acknowledged.
func TestProducerSendWaitsForRoom(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	gate := make(chan struct{})
	f.gate = gate
	p := newProducer(t, s, ProducerOptions{MaxMessages: 2, BlockFor: time.Minute})
	msgs := keyed(3, 1)
	for _, m := range msgs[:2] {
		if err := p.Send(ctxFor(t, time.Second), m); err != nil {
			t.Fatal(err)
		}
	}
	res := make(chan error, 1)
	go func() { res <- p.Send(ctxFor(t, time.Minute), msgs[2]) }()
	select {
	case err := <-res:
		t.Fatalf("Send returned %v with the buffer full and no publish acknowledged", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(gate)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	checkOrder(t, msgs, f.storedMsgs())
}

func TestProducerValidatesAtSend(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	p := newProducer(t, s, ProducerOptions{})
	ctx := ctxFor(t, time.Second)
	cases := []struct {
		m    *Message
		want error
	}{
		{nil, ErrInvalidArgument},
		{&Message{Topic: "nope"}, ErrNotFound},
		{&Message{Topic: "t", Headers: map[string]string{"gl-mine": "x"}}, ErrInvalidArgument},
		{&Message{Topic: "t", Headers: map[string]string{"": "x"}}, ErrInvalidArgument},
	}
	for i, c := range cases {
		if err := p.Send(ctx, c.m); !errors.Is(err, c.want) {
			t.Errorf("case %d: %v, want %v", i, err, c.want)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.attemptCount(); n != 0 {
		t.Fatalf("%d publishes of invalid messages", n)
	}
}

func TestProducerCloseReportsUnsent(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	f.setDown(errEngineDown, 0)
	p := newProducer(t, s, ProducerOptions{})
	for _, m := range keyed(5, 2) {
		if err := p.Send(ctxFor(t, time.Second), m); err != nil {
			t.Fatal(err)
		}
	}
	err := p.Close(ctxFor(t, 50*time.Millisecond))
	if CodeOf(err) != CodeUnavailable || !errors.Is(err, errEngineDown) || !strings.Contains(err.Error(), "5 messages still unsent") || !strings.Contains(err.Error(), "dropping") {
		t.Fatalf("close while the engine is down: %v", err)
	}
	if again := p.Close(context.Background()); again != err {
		t.Fatalf("second Close: %v, want the first one's error", again)
	}
	if err := p.Send(context.Background(), keyed(1, 1)[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if st := p.Stats(); st.Buffered != 0 || st.Sent != 0 {
		t.Fatalf("stats after close: %+v", st)
	}
}

// A non-retryable error (here: the Stream closed under the producer)
// stops the producer; Flush and Send say so instead of waiting.
func TestProducerStopsOnNonRetryableError(t *testing.T) {
	t.Parallel()
	s, f := newFlaky(t)
	f.setDown(errEngineDown, 0)
	p := newProducer(t, s, ProducerOptions{})
	if err := p.Send(ctxFor(t, time.Second), keyed(1, 1)[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := p.Flush(context.Background()) // returns without a deadline
	if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "1 message still unsent") {
		t.Fatalf("flush after the stream closed: %v", err)
	}
	if err := p.Send(context.Background(), keyed(1, 1)[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after the producer stopped: %v", err)
	}
	if err := p.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("close: %v", err)
	}
}

func TestProducerOptions(t *testing.T) {
	t.Parallel()
	s, _ := newFlaky(t)
	for _, o := range []ProducerOptions{{MaxMessages: -1}, {MaxBytes: -1}, {MaxBatch: -1}, {RetryMin: time.Second, RetryMax: time.Millisecond}, {AttemptTimeout: -1}} {
		if _, err := s.NewProducer(o); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v, want ErrInvalidArgument", o, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	lo, hi := 100*time.Millisecond, 2*time.Second
	for n := 1; n <= 40; n++ {
		want := hi
		if n <= 5 {
			want = lo << (n - 1)
		}
		distinct := map[time.Duration]bool{}
		for range 50 {
			d := backoff(lo, hi, n)
			if d < want/2 || d > want {
				t.Fatalf("retry %d: waited %s, want in [%s, %s]", n, d, want/2, want)
			}
			distinct[d] = true
		}
		if len(distinct) < 10 {
			t.Fatalf("retry %d: %d distinct waits in 50: no jitter", n, len(distinct))
		}
	}
}

// waitUntil polls cond for up to 10s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func ExampleProducer() {
	// s is an open *Stream; here one on an engine that accepts everything.
	s := New(&flakyDriver{}, Options{})
	defer s.Close()
	p, err := s.NewProducer(ProducerOptions{MaxMessages: 1000})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := p.Send(ctx, &Message{Topic: TopicEmissionsRaw, Key: "plant-7", Value: []byte(`{"kg":1.5}`)}); err != nil {
		fmt.Println("send:", err) // CodeResourceExhausted when the buffer stayed full
	}
	if err := p.Close(ctx); err != nil {
		fmt.Println("close:", err) // names how many messages were not sent
	}
	fmt.Println(p.Stats().Sent)
	// Output: 1
}
