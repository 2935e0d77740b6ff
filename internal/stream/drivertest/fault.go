package drivertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/stream"
)

// Fault tests: what the port promises when an engine or a consumer fails.
// Each driver runs them from its fault_test.go with its own way of
// breaking the engine (Outage, Crasher).

// FaultTopics is the catalogue the fault tests use; streams passed to them
// must declare it.
func FaultTopics() []stream.Topic { return testTopics() }

// Outage takes an engine away and brings it back.
type Outage struct {
	// Stop makes the engine unreachable (a clean shutdown: what it
	// acknowledged is kept).
	Stop func(t *testing.T)
	// Start brings it back at the same address with its data.
	Start func(t *testing.T)
}

// Crasher is a second process on the engine whose group member can die
// without a clean Close.
type Crasher struct {
	// Stream is the crashing process's stream: same engine, topics
	// (FaultTopics) and namespace as the survivor's.
	Stream *stream.Stream
	// Arm is called once the crashing member has joined group (the name on
	// the engine) and before anyone else joins. The kill function it
	// returns makes the member dead to the engine: no ack, commit,
	// heartbeat or leave of it arrives afterwards.
	Arm func(t *testing.T, group string) (kill func())
}

// EngineGroup is the name of group on the engine for namespace ns.
func EngineGroup(ns, group string) string {
	if ns == "" {
		return group
	}
	return ns + "-" + group
}

// RunConsumerCrash: two members share a group; one receives part of its
// partitions' messages, acks half of them and crashes. The survivor must
// receive every message the crashed member did not ack, and together they
// must have handled every message (at least once).
func RunConsumerCrash(t *testing.T, h Harness, env Env, s *stream.Stream, c Crasher) {
	if h.FailoverAfter == 0 {
		h.FailoverAfter = 2 * time.Second
	}
	const group = "crash"
	topic := stream.TopicEmissionsRaw
	a := subscribe(t, h, c.Stream, topic, group)
	kill := c.Arm(t, EngineGroup(env.Namespace, group))
	b := subscribe(t, h, s, topic, group)

	keys := balancedKeys(12, 2) // both members get messages whatever they hold
	msgs := keyedMsgs(topic, keys, 10)
	publish(t, s, msgs, 60)

	// The survivor handles (receives and acks) everything it gets.
	var mu sync.Mutex
	byB := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := b.Receive(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			byB[m.EventID]++
			mu.Unlock()
			_ = m.Ack(ctx)
		}
	}()

	// The crashing member takes 20 messages, acks the first 10, dies.
	gotA := receive(t, a, 20, 30*time.Second)
	ack(t, gotA[:10]...)
	kill()
	_ = a.Close() // nothing of it reaches the engine any more

	ackedA := map[string]bool{}
	for _, m := range gotA[:10] {
		ackedA[m.EventID] = true
	}
	waitFor(t, 30*time.Second+4*h.FailoverAfter, "every message handled after the crash", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		for _, m := range msgs {
			if !ackedA[m.EventID] && byB[m.EventID] == 0 {
				missing++
			}
		}
		unacked := 0
		for _, m := range gotA[10:] {
			if byB[m.EventID] == 0 {
				unacked++
			}
		}
		return missing == 0 && unacked == 0, fmt.Sprintf("%d of %d messages never handled, %d of the crashed member's 10 unacked not redelivered", missing, len(msgs), unacked)
	})
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{}
	for _, m := range msgs {
		want[m.EventID] = true
	}
	dups := 0
	for id, n := range byB {
		if !want[id] {
			t.Fatalf("survivor got event %s that was never published", id)
		}
		dups += n - 1
		if ackedA[id] {
			dups++
		}
	}
	t.Logf("crashed member: 20 received, 10 acked; survivor: %d distinct messages, %d deliveries beyond the first (acked before the crash but not yet committed, or redelivered)", len(byB), dups)
	waitFor(t, 15*time.Second, "lag 0 once everything is acked", func() (bool, string) {
		lag, err := s.Lag(context.Background(), group, topic)
		return err == nil && lag == 0, fmt.Sprintf("lag %d err %v", lag, err)
	})
}

// sendLog remembers what a test sent through a Producer.
type sendLog struct {
	mu   sync.Mutex
	msgs []*stream.Message
	byID map[string]*stream.Message
}

func (l *sendLog) add(m *stream.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, m)
	l.byID[m.EventID] = m
}

// dedupConsumer is a group member that de-duplicates by event id, as a
// handler must.
type dedupConsumer struct {
	mu     sync.Mutex
	seen   map[string]int
	errs   int
	cancel context.CancelFunc
	done   chan struct{}
}

func startDedup(t *testing.T, h Harness, s *stream.Stream, topic, group string) *dedupConsumer {
	t.Helper()
	sub := subscribe(t, h, s, topic, group)
	ctx, cancel := context.WithCancel(context.Background())
	c := &dedupConsumer{seen: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			m, err := sub.Receive(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				c.mu.Lock()
				c.errs++
				c.mu.Unlock()
				time.Sleep(50 * time.Millisecond)
				continue
			}
			c.mu.Lock()
			c.seen[m.EventID]++
			c.mu.Unlock()
			_ = m.Ack(ctx) // a lost ack means a redelivery, which de-duplication absorbs
		}
	}()
	t.Cleanup(func() { c.stop() })
	return c
}

func (c *dedupConsumer) stop() {
	c.cancel()
	<-c.done
}

// checkComplete waits until c has seen every sent message and checks it
// saw nothing else; it returns the deliveries beyond the first.
func (c *dedupConsumer) checkComplete(t *testing.T, l *sendLog, d time.Duration) int {
	t.Helper()
	waitFor(t, d, "the consumer to see every sent message", func() (bool, string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		missing := 0
		for _, m := range l.msgs {
			if c.seen[m.EventID] == 0 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d sent messages not received (receive errors %d)", missing, len(l.msgs), c.errs)
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	dups := 0
	for id, n := range c.seen {
		if l.byID[id] == nil {
			t.Fatalf("consumer received event %s that was never sent", id)
		}
		dups += n - 1
	}
	return dups
}

// checkStored replays topic and checks that the engine holds every sent
// message, that any second copy is the same message (same event id,
// key and payload) and that per key the first copies are in Send order.
func checkStored(t *testing.T, s *stream.Stream, topic string, l *sendLog) (copies int) {
	t.Helper()
	sub, err := s.Replay(ctxT(t, 10*time.Second), topic, stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	seen := map[string]bool{}
	last := map[string]int{}
	ctx := ctxT(t, 60*time.Second)
	for len(seen) < len(l.msgs) {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		m, err := sub.Receive(rctx)
		cancel()
		if err != nil {
			t.Fatalf("replay: %d of %d sent messages are on the engine: %v", len(seen), len(l.msgs), err)
		}
		sent := l.byID[m.EventID]
		if sent == nil {
			t.Fatalf("engine holds event %s that was never sent", m.EventID)
		}
		if m.Key != sent.Key || string(m.Value) != string(sent.Value) {
			t.Fatalf("event %s stored as key %q value %q, sent as %q %q", m.EventID, m.Key, m.Value, sent.Key, sent.Value)
		}
		if seen[m.EventID] {
			copies++
			continue
		}
		seen[m.EventID] = true
		seq, _ := strconv.Atoi(m.Headers["seq"])
		if prev, ok := last[m.Key]; ok && seq < prev {
			t.Fatalf("key %s: seq %d stored after seq %d: a retry broke the order per key", m.Key, seq, prev)
		}
		last[m.Key] = seq
	}
	return copies
}

// RunProducerRestart publishes continuously through a Producer while the
// engine is stopped and started again, with a group member consuming
// throughout. Everything Flush acknowledged before the outage, and
// everything Close then acknowledges, must reach the engine and the
// consumer; duplicates may only be copies with the same event id.
func RunProducerRestart(t *testing.T, h Harness, s *stream.Stream, o Outage) {
	topic := stream.TopicEmissionsRaw
	cons := startDedup(t, h, s, topic, "restart")
	const attemptTimeout = 2 * time.Second
	p, err := s.NewProducer(stream.ProducerOptions{
		BlockFor: 30 * time.Second, RetryMin: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		AttemptTimeout: attemptTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	l := &sendLog{byID: map[string]*stream.Message{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sendErr := make(chan error, 1)
	var sent sync.WaitGroup
	sent.Add(1)
	go func() { // the load: 20 keys, a message every millisecond or so
		defer sent.Done()
		for i := 0; ctx.Err() == nil; i++ {
			m := &stream.Message{Topic: topic, Key: "site-" + strconv.Itoa(i%20), Value: []byte(fmt.Sprintf(`{"n":%d}`, i)),
				Headers: map[string]string{"seq": strconv.Itoa(i)}}
			if err := p.Send(ctx, m); err != nil {
				if ctx.Err() == nil {
					sendErr <- err
				}
				return
			}
			l.add(m)
			time.Sleep(time.Millisecond)
		}
	}()
	waitFor(t, 30*time.Second, "300 messages sent", func() (bool, string) { return p.Stats().Sent >= 300, "" })
	l.mu.Lock()
	before := len(l.msgs)
	l.mu.Unlock()
	if err := p.Flush(ctxT(t, 30*time.Second)); err != nil {
		t.Fatalf("flush with the engine up: %v", err)
	}

	o.Stop(t)
	down := time.Now()
	// Keep sending into the buffer for a second and until the producer
	// has seen the outage: failed attempts, or (franz-go with a request
	// in flight, which it retries until the broker is back) one attempt
	// hanging past the attempt timeout.
	waitFor(t, 30*time.Second, "the producer to see the engine fail", func() (bool, string) {
		st := p.Stats()
		hung := !st.PublishingSince.IsZero() && time.Since(st.PublishingSince) > attemptTimeout
		return (!st.FailingSince.IsZero() || hung) && time.Since(down) > time.Second, fmt.Sprintf("%+v", st)
	})
	seen := p.Stats()
	bufferedDown := p.Stats().Buffered
	o.Start(t)
	t.Logf("engine down for %s; %d messages buffered meanwhile", time.Since(down).Round(time.Millisecond), bufferedDown)

	waitFor(t, 60*time.Second, "the producer to publish again", func() (bool, string) {
		st := p.Stats()
		return st.FailingSince.IsZero() && st.Sent > uint64(before)+uint64(bufferedDown), fmt.Sprintf("%+v", st)
	})
	cancel()
	sent.Wait()
	select {
	case err := <-sendErr:
		t.Fatalf("Send during the outage: %v (the buffer should have absorbed it)", err)
	default:
	}
	if err := p.Close(ctxT(t, 60*time.Second)); err != nil {
		t.Fatalf("close after the engine came back: %v", err)
	}
	st := p.Stats()
	if st.Sent != uint64(len(l.msgs)) {
		t.Fatalf("stats %+v: want every one of %d sent messages acknowledged", st, len(l.msgs))
	}
	dups := cons.checkComplete(t, l, 60*time.Second)
	cons.stop()
	copies := checkStored(t, s, topic, l)
	t.Logf("%d messages (%d acknowledged by Flush before the outage); during the outage: %+v; at the end %d failed attempts, %d retries; engine holds %d extra copies, consumer got %d redeliveries",
		len(l.msgs), before, seen, st.Failures, st.Retries, copies, dups)
}

// RunProducerBufferFull: with the engine down, Send fills the bounded
// buffer and then fails with ErrResourceExhausted naming the limit and the
// engine's failure; Flush and Close say how many messages are unsent; when
// the engine comes back (with restart) everything buffered is delivered
// once per event id.
func RunProducerBufferFull(t *testing.T, h Harness, s *stream.Stream, o Outage, restart bool) {
	topic := stream.TopicEmissionsRaw
	const limit = 200
	p, err := s.NewProducer(stream.ProducerOptions{MaxMessages: limit, BlockFor: 200 * time.Millisecond,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, AttemptTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close(ctxT(t, time.Second)) }()
	o.Stop(t)
	l := &sendLog{byID: map[string]*stream.Message{}}
	msg := func(i int) *stream.Message {
		return &stream.Message{Topic: topic, Key: "site-" + strconv.Itoa(i%7), Value: []byte(fmt.Sprintf(`{"n":%d}`, i)),
			Headers: map[string]string{"seq": strconv.Itoa(i)}}
	}
	first := msg(0)
	if err := p.Send(ctxT(t, time.Second), first); err != nil {
		t.Fatal(err)
	}
	l.add(first)
	waitFor(t, 30*time.Second, "the producer to see the engine fail", func() (bool, string) {
		st := p.Stats()
		return !st.FailingSince.IsZero(), fmt.Sprintf("%+v", st)
	})
	var full error
	for i := 1; i <= limit; i++ {
		m := msg(i)
		if err := p.Send(ctxT(t, 10*time.Second), m); err != nil {
			full = err
			break
		}
		l.add(m)
	}
	if len(l.msgs) != limit {
		t.Fatalf("%d messages went into a buffer of %d with the engine down (last error %v)", len(l.msgs), limit, full)
	}
	if !errors.Is(full, stream.ErrResourceExhausted) {
		t.Fatalf("send to the full buffer: %v, want ErrResourceExhausted", full)
	}
	for _, want := range []string{"buffer full", fmt.Sprintf("MaxMessages %d", limit), "failing for", "last engine error"} {
		if !strings.Contains(full.Error(), want) {
			t.Fatalf("buffer-full error %q does not say %q", full, want)
		}
	}
	t.Logf("buffer-full error: %v", full)
	err = p.Flush(ctxT(t, 300*time.Millisecond))
	if !errors.Is(err, stream.ErrUnavailable) || !strings.Contains(err.Error(), fmt.Sprintf("%d messages still unsent", limit)) {
		t.Fatalf("flush with the engine down: %v, want ErrUnavailable naming %d unsent messages", err, limit)
	}
	// A producer closed while the engine is down says what it drops. (On
	// another topic: the client library may still deliver what it queued
	// while disconnected once the engine is back; unsent means
	// unacknowledged.)
	q, err := s.NewProducer(stream.ProducerOptions{RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, AttemptTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		m := msg(1000 + i)
		m.Topic = stream.TopicSupplyChainInventory
		if err := q.Send(ctxT(t, time.Second), m); err != nil {
			t.Fatal(err)
		}
	}
	err = q.Close(ctxT(t, 300*time.Millisecond))
	if !errors.Is(err, stream.ErrUnavailable) || !strings.Contains(err.Error(), "5 messages still unsent") || !strings.Contains(err.Error(), "dropping") {
		t.Fatalf("close with the engine down: %v, want ErrUnavailable naming 5 dropped messages", err)
	}
	if !restart {
		return
	}
	o.Start(t)
	if err := p.Close(ctxT(t, 60*time.Second)); err != nil {
		t.Fatalf("close after the engine came back: %v", err)
	}
	if st := p.Stats(); st.Sent != limit {
		t.Fatalf("stats after the engine came back: %+v, want %d sent", st, limit)
	}
	checkStored(t, s, topic, l)
	cons := startDedup(t, h, s, topic, "after-outage")
	cons.checkComplete(t, l, 60*time.Second)
}

// RunUnreachable opens rawURL, which names an engine nobody answers at,
// with a deadline of within, and checks the error is CodeUnavailable,
// names the URL redacted and never its password, and comes no later than
// the deadline (plus a second).
func RunUnreachable(t *testing.T, register func(*stream.Registry), rawURL string, within time.Duration) {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	redacted := u.Redacted()
	r := stream.NewRegistry()
	register(r)
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	s, err := r.Open(ctx, rawURL, stream.Options{Topics: FaultTopics()})
	took := time.Since(start)
	if err == nil {
		_ = s.Close()
		t.Fatalf("opening %s succeeded", redacted)
	}
	if !errors.Is(err, stream.ErrUnavailable) || !strings.Contains(err.Error(), redacted) {
		t.Fatalf("opening an unreachable engine: %v; want ErrUnavailable naming %s", err, redacted)
	}
	if pw, ok := u.User.Password(); ok && strings.Contains(err.Error(), pw) {
		t.Fatalf("error %q contains the password", err)
	}
	if took > within+time.Second {
		t.Fatalf("opening took %s with a deadline of %s", took, within)
	}
	t.Logf("after %s: %v", took.Round(time.Millisecond), err)
}

// ClosedPort returns a local address nothing listens on.
func ClosedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// SilentPort returns a local address that accepts connections and never
// answers (a hung broker); it is closed with the test.
func SilentPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}
