// Package stream is GreenLang's event-stream port: the seed's Kafka topic
// catalogue (topics.go) carried by whichever engine is configured, with
// acknowledged publishes, consumer groups with explicit acks (at-least-once),
// order per key, replay from an offset or a time, consumer lag and a
// dead-letter topic for payloads that cannot be decoded.
//
// Users program against *Stream. Engines are drivers (internal/stream/driver)
// chosen by URL scheme: nats+embedded:// and nats:// (natsstream, JetStream;
// the embedded server is the default) and kafka:// (kafkastream, franz-go).
// internal/stream/drivertest is the conformance suite every driver passes.
// docs/streaming.md is the user documentation.
package stream

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/port"
	"github.com/greenlang/greenlang/internal/stream/driver"
)

// OpenFunc opens a driver for a parsed URL.
type OpenFunc func(ctx context.Context, u *url.URL, opts driver.Options) (driver.Driver, error)

// Registry maps URL schemes to drivers. The composition root builds one and
// each driver package adds itself with its Register function; there is no
// global registry.
type Registry struct {
	*port.Registry[OpenFunc]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{port.NewRegistry[OpenFunc]("stream")} }

// Options configure a Stream.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Topics is the catalogue to reconcile and allow; nil means Catalogue().
	Topics []Topic
	// Namespace, when set, prefixes every topic and group on the engine
	// ("<namespace>.emissions.raw") so several installations or test runs
	// share one cluster. Default: none.
	Namespace string
	// SkipReconcile opens without creating or updating topics (read-only
	// tools, or a cluster managed elsewhere). Default: reconcile.
	SkipReconcile bool
	// Decoder, when set, decodes received payloads of its content type
	// (Avro with a schema registry, docs/schemas.md) in Decode; JSON
	// payloads still decode as JSON. Default: JSON only.
	Decoder PayloadDecoder
}

var namespaceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Validate checks the options without connecting.
func (o Options) Validate() error {
	if o.Namespace != "" && !namespaceRE.MatchString(o.Namespace) {
		return fmt.Errorf("namespace %q: want one lowercase word of [a-z0-9-]", o.Namespace)
	}
	seen := map[string]bool{}
	for _, t := range o.Topics {
		if err := t.Validate(); err != nil {
			return err
		}
		if seen[t.Name] {
			return fmt.Errorf("topic %s declared twice", t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// WithDefaults fills unset fields.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Topics == nil {
		o.Topics = Catalogue()
	}
	return o
}

// Open parses rawURL, opens the driver registered for its scheme, reconciles
// the topic catalogue and returns the stream. Errors never contain the URL's
// password. An unknown scheme or bad options are CodeInvalidArgument, an
// unreachable engine CodeUnavailable, a catalogue change the engine cannot
// apply CodeFailedPrecondition.
func (r *Registry) Open(ctx context.Context, rawURL string, opts Options) (*Stream, error) {
	const op = "stream: opening"
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Op: op, Err: err}
	}
	open, u, err := r.Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	d, err := open(ctx, u, driver.Options{Logger: opts.Logger})
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Op: op + " " + u.Redacted(), Err: err}
	}
	s := New(d, opts)
	if !opts.SkipReconcile {
		if _, err := s.Reconcile(ctx); err != nil {
			_ = d.Close()
			return nil, err
		}
	}
	return s, nil
}

// Stream is the event stream. It is safe for concurrent use.
type Stream struct {
	d      driver.Driver
	log    *slog.Logger
	ns     string
	dec    PayloadDecoder
	topics map[string]Topic
	rr     atomic.Uint32 // partition for messages without a key

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// New wraps an open driver without reconciling topics (see Reconcile).
func New(d driver.Driver, opts Options) *Stream {
	opts = opts.WithDefaults()
	s := &Stream{d: d, log: opts.Logger, ns: opts.Namespace, dec: opts.Decoder, topics: map[string]Topic{}, subs: map[*Subscription]struct{}{}}
	for _, t := range opts.Topics {
		s.topics[t.Name] = t
	}
	return s
}

// Driver is the engine's name: "nats" or "kafka".
func (s *Stream) Driver() string { return s.d.Name() }

// Topics lists the declared topics sorted by name.
func (s *Stream) Topics() []Topic {
	out := make([]Topic, 0, len(s.topics))
	for _, t := range s.topics {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Reconcile creates missing topics and brings existing ones to the
// catalogue's settings, logging and returning each change (names are not
// namespaced). A change the engine cannot apply, such as fewer partitions,
// is CodeFailedPrecondition naming the topic and the reason.
func (s *Stream) Reconcile(ctx context.Context) ([]driver.Change, error) {
	ts := s.Topics()
	dts := make([]driver.Topic, len(ts))
	for i, t := range ts {
		dts[i] = s.engineTopic(t)
	}
	changes, err := s.d.EnsureTopics(ctx, dts)
	for i := range changes {
		changes[i].Topic = s.userTopic(changes[i].Topic)
		s.log.Info("stream: topic reconciled", "topic", changes[i].Topic, "change", changes[i].Action)
	}
	if err != nil {
		return changes, &Error{Code: CodeFailedPrecondition, Op: "stream: reconciling topics", Err: err}
	}
	return changes, nil
}

func (s *Stream) engineTopic(t Topic) driver.Topic {
	return driver.Topic{Name: s.engineName(t.Name), Partitions: t.Partitions, Retention: t.Retention, Compacted: t.Compacted, Compression: string(t.Compression)}
}

func (s *Stream) engineName(name string) string {
	if s.ns == "" {
		return name
	}
	return s.ns + "." + name
}

func (s *Stream) userTopic(name string) string {
	if s.ns == "" {
		return name
	}
	return strings.TrimPrefix(name, s.ns+".")
}

func (s *Stream) topic(op, name string) (Topic, error) {
	t, ok := s.topics[name]
	if !ok {
		return Topic{}, errorf(CodeNotFound, op, "unknown topic %q: not in the catalogue (internal/stream/topics.go)", name)
	}
	return t, nil
}

func (s *Stream) checkOpen(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &Error{Code: CodeClosed, Op: op, Msg: "stream is closed"}
	}
	return nil
}

// Publish writes one message and returns once the engine acknowledged it.
// See PublishBatch.
func (s *Stream) Publish(ctx context.Context, m *Message) error {
	return s.PublishBatch(ctx, []*Message{m})
}

// PublishBatch writes msgs (any mix of topics) and returns once the engine
// has acknowledged every one; messages with the same key keep their order.
// Empty EventIDs are filled in (in the caller's messages) before sending, so
// publishing the same messages again after an error lets consumers and
// engines de-duplicate. An unknown topic or a header starting with "gl-"
// other than the port's own is CodeInvalidArgument/CodeNotFound and nothing
// is sent.
func (s *Stream) PublishBatch(ctx context.Context, msgs []*Message) error {
	const op = "stream: publishing"
	if err := s.checkOpen(op); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	dms := make([]*driver.Message, len(msgs))
	backing := make([]driver.Message, len(msgs)) // one allocation for the batch
	// Count the messages without an event id first: their ids come from
	// one read of the random source for the whole batch.
	topics := make([]Topic, len(msgs))
	noID := 0
	for i, m := range msgs {
		t, err := s.checkMessage(op, i, m)
		if err != nil {
			return err
		}
		topics[i] = t
		if m.EventID == "" {
			noID++
		}
	}
	ids, err := newEventIDs(noID)
	if err != nil {
		return &Error{Code: CodeUnknown, Op: op, Err: err}
	}
	for i, m := range msgs {
		t := topics[i]
		if m.EventID == "" {
			m.EventID, ids = ids[0], ids[1:]
		}
		h := driverHeaders(m)
		var p int32
		if m.Key == "" {
			p = int32(s.rr.Add(1) % uint32(t.Partitions))
		} else {
			p = PartitionFor([]byte(m.Key), t.Partitions)
		}
		backing[i] = driver.Message{Topic: s.engineName(t.Name), Partition: p, Key: []byte(m.Key), Value: m.Value, Headers: h, EventID: m.EventID}
		dms[i] = &backing[i]
	}
	if err := s.d.Publish(ctx, dms); err != nil {
		return wrap(CodeUnavailable, op, err)
	}
	return nil
}

// driverHeaders are m's headers as the driver gets them. The driver sends
// EventID as the event-id header: the caller's headers go as they are
// (drivers only read them), copied only when they carry an event-id
// header of their own to replace.
func driverHeaders(m *Message) map[string]string {
	h := m.Headers
	if v, ok := h[HeaderEventID]; ok && v != m.EventID {
		h = maps.Clone(h)
		h[HeaderEventID] = m.EventID
	}
	return h
}

// checkMessage validates message i of a batch before anything is sent:
// not nil, a declared topic, header names that are not empty and leave the
// gl- prefix to the port. It returns the topic.
func (s *Stream) checkMessage(op string, i int, m *Message) (Topic, error) {
	if m == nil {
		return Topic{}, errorf(CodeInvalidArgument, op, "message %d is nil", i)
	}
	t, err := s.topic(op, m.Topic)
	if err != nil {
		return Topic{}, err
	}
	for k := range m.Headers {
		if k == "" {
			return Topic{}, errorf(CodeInvalidArgument, op+" to "+m.Topic, "message %d has an empty header name", i)
		}
		if strings.HasPrefix(k, "gl-") && !isPortHeader(k) {
			return Topic{}, errorf(CodeInvalidArgument, op+" to "+m.Topic, "message %d: header %q: the gl- prefix is reserved for the port's headers", i, k)
		}
	}
	return t, nil
}

// newEventIDs returns n UUIDv7 strings (RFC 9562: 48-bit Unix milliseconds,
// then 74 random bits) from one read of crypto/rand: per id that is what
// uuid.NewV7 does, minus a read of the random source each. Ids of one
// millisecond are not ordered among themselves (the RFC's monotonic
// counter is optional); nothing relies on that order.
func newEventIDs(n int) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	rnd := make([]byte, 10*n)
	if _, err := rand.Read(rnd); err != nil {
		return nil, err
	}
	ms := uint64(time.Now().UnixMilli())
	// Every id is formatted into one buffer, converted to one string and
	// sliced: one allocation for the batch's ids.
	const idLen = 36
	buf := make([]byte, 0, idLen*n)
	var u uuid.UUID
	for i := 0; i < n; i++ {
		u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
		copy(u[6:], rnd[10*i:10*i+10])
		u[6] = u[6]&0x0f | 0x70 // version 7
		u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
		buf = port.AppendUUID(buf, u)
	}
	all := string(buf)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = all[idLen*i : idLen*(i+1)]
	}
	return ids, nil
}

// SubscribeOptions tune a consumer-group subscription.
type SubscribeOptions struct {
	// FailoverAfter is how long a member that stopped (crashed, hung) keeps
	// its partitions and unacked messages before they go to another member
	// of the group. On JetStream it is also the ack wait: a message not
	// acked within it is delivered again. Default 30s.
	FailoverAfter time.Duration
	// StartAtEnd makes a new group (one with no stored position) start
	// after the newest message instead of at the oldest retained one.
	StartAtEnd bool
}

// Subscribe joins consumer group on topic. Every member of a group gets a
// share of the topic's partitions; each message goes to one member and is
// delivered again (to the same or another member) until acked:
// at-least-once, so handlers must be idempotent by EventID. Within a
// partition, hence for one key, messages are received in order.
func (s *Stream) Subscribe(ctx context.Context, topic, group string, opts SubscribeOptions) (*Subscription, error) {
	op := "stream: subscribing to " + topic
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	t, err := s.topic(op, topic)
	if err != nil {
		return nil, err
	}
	if !namespaceRE.MatchString(group) {
		return nil, errorf(CodeInvalidArgument, op, "group %q: want one lowercase word of [a-z0-9-]", group)
	}
	if opts.FailoverAfter == 0 {
		opts.FailoverAfter = 30 * time.Second
	}
	if opts.FailoverAfter < 100*time.Millisecond {
		return nil, errorf(CodeInvalidArgument, op, "FailoverAfter %s is below 100ms", opts.FailoverAfter)
	}
	ds, err := s.d.Subscribe(ctx, driver.SubscribeParams{
		Topic: s.engineTopic(t), Group: s.engineGroup(group),
		FailoverAfter: opts.FailoverAfter, StartAtEnd: opts.StartAtEnd,
	})
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, &Error{Code: CodeFailedPrecondition, Op: op, Err: err}
	}
	if err != nil {
		return nil, wrap(CodeUnavailable, op, err)
	}
	return s.track(&Subscription{s: s, ds: ds, topic: topic, group: group}), nil
}

func (s *Stream) engineGroup(group string) string {
	if s.ns == "" {
		return group
	}
	return s.ns + "-" + group
}

// Position is where Replay starts. The zero Position is the oldest retained
// message of every partition.
type Position struct {
	// Offsets gives a start offset per partition (the Offset of the first
	// message wanted); partitions not listed start at the oldest message.
	Offsets map[int32]int64
	// Time, when set, starts every partition at its first message stamped
	// at or after Time; Offsets is then ignored.
	Time time.Time
}

// Replay reads topic from a position outside any group: nothing is
// acked or stored, and the subscription follows new messages until closed.
func (s *Stream) Replay(ctx context.Context, topic string, from Position) (*Subscription, error) {
	op := "stream: replaying " + topic
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	t, err := s.topic(op, topic)
	if err != nil {
		return nil, err
	}
	for p, o := range from.Offsets {
		if p < 0 || p >= t.Partitions || o < 0 {
			return nil, errorf(CodeInvalidArgument, op, "offset %d for partition %d: topic has partitions 0..%d", o, p, t.Partitions-1)
		}
	}
	ds, err := s.d.Read(ctx, driver.ReadParams{Topic: s.engineTopic(t), Offsets: from.Offsets, Time: from.Time})
	if err != nil {
		return nil, wrap(CodeUnavailable, op, err)
	}
	return s.track(&Subscription{s: s, ds: ds, topic: topic}), nil
}

// Lag is how many messages of topic group has not acked yet, delivered but
// unacked ones included. A group that never subscribed lags by every
// retained message.
func (s *Stream) Lag(ctx context.Context, group, topic string) (int64, error) {
	op := "stream: lag of " + group + " on " + topic
	t, err := s.topic(op, topic)
	if err != nil {
		return 0, err
	}
	n, err := s.d.Lag(ctx, s.engineGroup(group), s.engineTopic(t))
	if err != nil {
		return 0, wrap(CodeUnavailable, op, err)
	}
	return n, nil
}

func (s *Stream) track(sub *Subscription) *Subscription {
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	return sub
}

// Close closes every open subscription (unacked messages go back to their
// groups) and the engine. Calling it twice is safe.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := make([]*Subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	var errs []error
	for _, sub := range subs {
		errs = append(errs, sub.Close())
	}
	errs = append(errs, s.d.Close())
	return errors.Join(errs...)
}

// Subscription delivers the messages of one topic to one member of a group
// (or to a replay). Receive may be called from one goroutine at a time;
// Ack from any.
type Subscription struct {
	s     *Stream
	ds    driver.Subscription
	topic string
	group string
	once  sync.Once
	err   error
}

// Topic is the subscribed topic.
func (sub *Subscription) Topic() string { return sub.topic }

// Group is the consumer group, "" for a replay.
func (sub *Subscription) Group() string { return sub.group }

// Receive blocks until the next message, ctx ends (ctx.Err() is returned)
// or the subscription closes (CodeClosed).
func (sub *Subscription) Receive(ctx context.Context) (*Message, error) {
	dm, err := sub.ds.Receive(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, driver.ErrSubscriptionClosed) {
			return nil, &Error{Code: CodeClosed, Op: "stream: receiving from " + sub.topic, Err: err}
		}
		return nil, wrap(CodeUnavailable, "stream: receiving from "+sub.topic, err)
	}
	m := &Message{
		Topic: sub.topic, Key: string(dm.Key), Value: dm.Value, Headers: dm.Headers,
		EventID: dm.Headers[HeaderEventID], Partition: dm.Partition, Offset: dm.Offset,
		Time: dm.Time, Deliveries: dm.Deliveries, ack: dm.Ack, group: sub.group, dec: sub.s.dec,
	}
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	return m, nil
}

// Close stops delivery and leaves the group without acking anything:
// unacked messages are delivered again to the group. Calling it twice is safe.
func (sub *Subscription) Close() error {
	sub.once.Do(func() {
		sub.err = sub.ds.Close()
		sub.s.mu.Lock()
		delete(sub.s.subs, sub)
		sub.s.mu.Unlock()
	})
	return sub.err
}

// ReceiveBatch blocks for one message, then takes what arrives within
// wait, up to max messages in all: the batching loop of the processors and
// Transform. It returns ctx.Err() when ctx ends before the first message.
func (sub *Subscription) ReceiveBatch(ctx context.Context, max int, wait time.Duration) ([]*Message, error) {
	m, err := sub.Receive(ctx)
	if err != nil {
		return nil, err
	}
	batch := []*Message{m}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for len(batch) < max {
		m, err := sub.Receive(wctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if wctx.Err() != nil {
				break
			}
			return nil, err
		}
		batch = append(batch, m)
	}
	return batch, nil
}
