package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/stream/driver"
)

// TransformFunc turns one input message into output messages, which may go
// to any catalogue topic. It may be called more than once for an input
// (after a crash, an engine error or a rebalance), so it must not have
// other side effects, and it must not Ack the input. Return nil outputs to
// drop the input, an error made with Reject to dead-letter it, any other
// error to have it retried after a backoff.
//
// Set Topic, Key, Value and Headers of each output; its EventID is
// replaced by TransformEventID(group, input's event id, index), so an
// input transformed again yields the same ids.
type TransformFunc func(ctx context.Context, in *Message) ([]*Message, error)

// TransformConfig configures Stream.Transform.
type TransformConfig struct {
	// Topic is the input topic; it must be in the stream's catalogue.
	Topic string
	// Group is the consumer group reading Topic (lowercase [a-z0-9-]); it
	// also names the transform: output event ids derive from it.
	Group string
	// Fn transforms one input. Required.
	Fn TransformFunc
	// InstanceID names this member of Group across restarts, e.g. the
	// host or pod name ([A-Za-z0-9._-], at most 100). On Kafka it is part
	// of the transactional id: a member restarted with the same InstanceID
	// fences its predecessor and aborts its open transaction at once;
	// with another one, the predecessor's open transaction is aborted by
	// the broker after FailoverAfter, and until then readers of the output
	// partitions it wrote to wait. Members running at the same time must
	// use different ids. Default: random (safe, the slower recovery).
	InstanceID string
	// BatchSize is the most inputs in one transaction (Kafka) or one
	// publish-then-ack round (other engines). Default 100.
	BatchSize int
	// BatchWait is how long a batch waits for more inputs once it has one.
	// Default 20ms.
	BatchWait time.Duration
	// FailoverAfter is how long a member that stopped keeps its partitions
	// (see SubscribeOptions); on Kafka also how long its open transaction
	// may stay open (at least 1s). Default 30s.
	FailoverAfter time.Duration
	// StartAtEnd makes a new group start after the newest input instead
	// of at the oldest retained one.
	StartAtEnd bool
	// MinBackoff and MaxBackoff bound the wait before a failed Fn call or
	// engine operation is retried. Defaults 50ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// Hooks are fault-injection points for tests.
	Hooks TransformHooks
}

// TransformHooks are fault-injection points for tests; nil fields do
// nothing.
type TransformHooks struct {
	// BeforeCommit runs once a batch's outputs and dead letters are
	// written and before the batch commits: before the transaction commits
	// (Kafka) or before the inputs are acked (other engines). A non-nil
	// error is a crash at that point: Transform returns it at once without
	// committing, acking or aborting anything.
	BeforeCommit func(inputs, outputs []*Message) error
}

// WithDefaults fills unset fields.
func (c TransformConfig) WithDefaults() TransformConfig {
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.BatchWait == 0 {
		c.BatchWait = 20 * time.Millisecond
	}
	if c.FailoverAfter == 0 {
		c.FailoverAfter = 30 * time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 50 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(5*time.Second, c.MinBackoff)
	}
	return c
}

var instanceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// Validate checks the configuration without connecting (whether Topic is
// in the catalogue is checked by Transform).
func (c TransformConfig) Validate() error {
	switch {
	case c.Topic == "":
		return errors.New("no input topic")
	case !namespaceRE.MatchString(c.Group):
		return fmt.Errorf("group %q: want one lowercase word of [a-z0-9-]", c.Group)
	case c.Fn == nil:
		return errors.New("no transform function (Fn)")
	case c.InstanceID != "" && !instanceRE.MatchString(c.InstanceID):
		return fmt.Errorf("instance id %q: want 1 to 100 of [A-Za-z0-9._-]", c.InstanceID)
	case c.BatchSize < 0:
		return fmt.Errorf("batch size %d is negative", c.BatchSize)
	case c.BatchWait < 0:
		return fmt.Errorf("batch wait %s is negative", c.BatchWait)
	case c.FailoverAfter != 0 && c.FailoverAfter < 100*time.Millisecond:
		return fmt.Errorf("FailoverAfter %s is below 100ms", c.FailoverAfter)
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return errors.New("backoffs must not be negative")
	}
	return nil
}

// RejectError marks an input its handler cannot handle (bad payload,
// unknown reference, late event): Transform and the processor runtime
// dead-letter it.
type RejectError struct{ Err error }

func (e *RejectError) Error() string { return e.Err.Error() }
func (e *RejectError) Unwrap() error { return e.Err }

// Reject wraps err so Transform (or a processor runner) dead-letters the
// input with err as the reason (header gl-dlq-reason) and carries on.
func Reject(err error) error {
	if err == nil {
		err = errors.New("rejected")
	}
	return &RejectError{Err: err}
}

// Rejectf is Reject(fmt.Errorf(...)).
func Rejectf(format string, args ...any) error { return Reject(fmt.Errorf(format, args...)) }

// transformIDSpace is the UUIDv5 namespace of transform output ids.
var transformIDSpace = uuid.MustParse("3b8e52d4-7c1f-5a96-8d0e-41f6c2a9b573")

// TransformEventID is the event id Transform gives output number index of
// the input with event id inputID, in group: a UUIDv5 of the three, so an
// input transformed again yields the same ids. Index -1 is the dead letter
// of a rejected input. An input without an event id is identified as
// "<topic>/<partition>/<offset>".
func TransformEventID(group, inputID string, index int) string {
	b := make([]byte, 0, len(group)+len(inputID)+8)
	b = append(b, group...)
	b = append(b, 0)
	b = append(b, inputID...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(index), 10)
	return uuid.NewSHA1(transformIDSpace, b).String()
}

// Transform runs one member of a consume-transform-produce loop until ctx
// ends (it returns ctx.Err()), the stream closes (CodeClosed) or a hook
// or Fn's outputs fail it: it joins cfg.Group on cfg.Topic, calls cfg.Fn
// for every input in partition order and writes the outputs.
//
// On an engine with transactions (Kafka, driver.Transactional) each batch
// of inputs is one transaction: the outputs, the dead letters and the
// group's offsets past the inputs commit together or not at all, and
// readers (Subscribe, Replay: read_committed) see only committed outputs.
// Every input's outputs are visible exactly once.
//
// On other engines (JetStream) each batch's outputs are published and
// acknowledged, then the inputs acked. A crash in between redelivers the
// inputs and publishes the same outputs again with the same event ids
// (TransformEventID), which JetStream drops when they arrive within its
// duplicate window (2 minutes): effectively-once within the window,
// at-least-once beyond it, when consumers de-duplicate by event id.
//
// Outputs of one key keep the input order. A rejected input (Reject) goes
// to integration.errors as DeadLetter would send it, with an id from
// TransformEventID(..., -1), in the same batch. An output the port refuses
// (unknown topic, reserved header) stops Transform with
// CodeNotFound/CodeInvalidArgument. Unknown cfg.Topic is CodeNotFound, a
// bad configuration CodeInvalidArgument, a NATS server without consumer
// groups CodeFailedPrecondition.
func (s *Stream) Transform(ctx context.Context, cfg TransformConfig) error {
	op := "stream: transforming " + cfg.Topic + " as " + cfg.Group
	if err := s.checkOpen(op); err != nil {
		return err
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return &Error{Code: CodeInvalidArgument, Op: op, Err: err}
	}
	t, err := s.topic(op, cfg.Topic)
	if err != nil {
		return err
	}
	if cfg.InstanceID == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return &Error{Code: CodeUnknown, Op: op, Err: err}
		}
		cfg.InstanceID = hex.EncodeToString(b)
	}
	tr := &transformer{s: s, cfg: cfg, topic: t, op: op,
		log: s.log.With(slog.String("transform", cfg.Group), slog.String("topic", cfg.Topic), slog.String("instance", cfg.InstanceID))}
	run := tr.runAcked
	if txd, ok := s.d.(driver.Transactional); ok {
		run = func(ctx context.Context) error { return tr.runTransactional(ctx, txd) }
	}
	var wait time.Duration
	for {
		start := time.Now()
		err := run(ctx)
		var re *retryError
		if !errors.As(err, &re) {
			return err
		}
		if err := s.checkOpen(op); err != nil {
			return err
		}
		if time.Since(start) > tr.cfg.MaxBackoff {
			wait = 0 // the run worked for a while: start the backoff over
		}
		wait = tr.nextWait(wait)
		tr.log.Warn("stream: transform failed; restarting", slog.Any("error", re.err), slog.Duration("backoff", wait))
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
}

// retryError marks an engine error after which Transform starts over
// (subscribes or opens a session again) after a backoff.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

type transformer struct {
	s     *Stream
	cfg   TransformConfig
	topic Topic
	op    string
	log   *slog.Logger
}

// nextWait doubles the wait before a retry within the configured bounds.
func (tr *transformer) nextWait(wait time.Duration) time.Duration {
	return min(max(2*wait, tr.cfg.MinBackoff), tr.cfg.MaxBackoff)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// engineError classifies an error of the engine during a run: ctx's error
// when ctx ended, CodeClosed when the stream or session was closed, else a
// retryError.
func (tr *transformer) engineError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, driver.ErrSubscriptionClosed) || CodeOf(err) == CodeClosed {
		return &Error{Code: CodeClosed, Op: tr.op, Err: err}
	}
	return &retryError{wrap(CodeUnavailable, tr.op+": "+what, err)}
}

// runAcked is the fallback for engines without transactions: receive a
// batch, publish its outputs (acknowledged, deterministic ids), then ack.
func (tr *transformer) runAcked(ctx context.Context) error {
	sub, err := tr.s.Subscribe(ctx, tr.cfg.Topic, tr.cfg.Group, SubscribeOptions{FailoverAfter: tr.cfg.FailoverAfter, StartAtEnd: tr.cfg.StartAtEnd})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if CodeOf(err) == CodeUnavailable {
			return &retryError{err}
		}
		return err
	}
	defer sub.Close()
	tr.log.Info("stream: transform started", slog.Bool("transactional", false))
	for {
		batch, err := sub.ReceiveBatch(ctx, tr.cfg.BatchSize, tr.cfg.BatchWait)
		if err != nil {
			return tr.engineError(ctx, "receiving", err)
		}
		outs, err := tr.apply(ctx, batch)
		if err != nil {
			return err
		}
		dms, err := tr.s.transformOutputs(tr.op, outs)
		if err != nil {
			return err
		}
		// Publishing is retried in place: the inputs stay unacked, and
		// the same ids are sent again, so JetStream drops what had
		// arrived. (Should an ack wait pass meanwhile, the redelivered
		// inputs produce the same ids too.)
		var wait time.Duration
		for len(dms) > 0 {
			err := tr.s.d.Publish(ctx, dms)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := tr.s.checkOpen(tr.op); err != nil {
				return err
			}
			wait = tr.nextWait(wait)
			tr.log.Warn("stream: publishing transform outputs failed; retrying", slog.Any("error", err), slog.Duration("backoff", wait))
			if err := sleepCtx(ctx, wait); err != nil {
				return err
			}
		}
		if h := tr.cfg.Hooks.BeforeCommit; h != nil {
			if err := h(batch, outs); err != nil {
				return err
			}
		}
		for _, m := range batch {
			if err := m.Ack(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				tr.log.Warn("stream: ack failed; the input will be transformed again and its outputs de-duplicated",
					slog.Int("partition", int(m.Partition)), slog.Int64("offset", m.Offset), slog.Any("error", err))
			}
		}
	}
}

// sessionCloser lets Stream.Close close a transactional session like a
// subscription.
type sessionCloser struct{ driver.TransactSession }

func (sessionCloser) Receive(context.Context) (*driver.Message, error) {
	return nil, errors.New("a transactional session is read with Poll")
}

// runTransactional runs one session of an engine with transactions: poll
// a batch, produce its outputs and commit the inputs' offsets in one
// transaction.
func (tr *transformer) runTransactional(ctx context.Context, txd driver.Transactional) (rerr error) {
	sess, err := txd.Transact(ctx, driver.TransactParams{
		Topic: tr.s.engineTopic(tr.topic), Group: tr.s.engineGroup(tr.cfg.Group),
		TransactionalID: tr.s.engineGroup(tr.cfg.Group) + "/" + tr.cfg.InstanceID,
		FailoverAfter:   tr.cfg.FailoverAfter, StartAtEnd: tr.cfg.StartAtEnd,
	})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return &Error{Code: CodeFailedPrecondition, Op: tr.op, Err: err}
		}
		return tr.engineError(ctx, "opening a transactional session", err)
	}
	sub := tr.s.track(&Subscription{s: tr.s, ds: sessionCloser{sess}, topic: tr.cfg.Topic, group: tr.cfg.Group})
	// open: a transaction may be open on the engine (Produce was called
	// since the last commit). Leaving the session aborts it, so readers do
	// not wait for the engine to time it out, unless a hook simulated a
	// crash. Records only polled need nothing: closing the session drops
	// them and the next holder reads them from the committed offsets.
	open, crashed := false, false
	defer func() {
		if open && !crashed {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := sess.Abort(actx); err != nil {
				tr.log.Warn("stream: aborting the open transaction failed; the engine aborts it later", slog.Any("error", err))
			}
			cancel()
		}
		if err := sub.Close(); err != nil && rerr == nil {
			rerr = &retryError{err}
		}
	}()
	if err := tr.s.checkOpen(tr.op); err != nil {
		return err // the stream closed while the session opened
	}
	tr.log.Info("stream: transform started", slog.Bool("transactional", true))
	for {
		dms, err := sess.Poll(ctx, tr.cfg.BatchSize, tr.cfg.BatchWait)
		if err != nil {
			return tr.engineError(ctx, "polling", err)
		}
		if len(dms) == 0 {
			// The session moved past records that are not messages
			// (transaction markers): commit the offsets only.
			if _, err := sess.Commit(ctx); err != nil {
				return tr.engineError(ctx, "committing offsets", err)
			}
			continue
		}
		batch := make([]*Message, len(dms))
		for i, dm := range dms {
			batch[i] = tr.s.received(tr.cfg.Topic, tr.cfg.Group, dm)
		}
		outs, err := tr.apply(ctx, batch)
		if err != nil {
			return err
		}
		out, err := tr.s.transformOutputs(tr.op, outs)
		if err != nil {
			return err
		}
		if len(out) > 0 {
			open = true
			if err := sess.Produce(ctx, out); err != nil {
				return tr.engineError(ctx, "producing outputs", err)
			}
		}
		if h := tr.cfg.Hooks.BeforeCommit; h != nil {
			if err := h(batch, outs); err != nil {
				crashed = true
				return err
			}
		}
		committed, err := sess.Commit(ctx)
		if err != nil {
			return tr.engineError(ctx, "committing", err)
		}
		open = false
		if !committed {
			tr.log.Info("stream: transaction aborted (the group rebalanced); its inputs are read again", slog.Int("inputs", len(batch)))
		}
	}
}

// apply calls Fn for every input in order and returns all outputs and dead
// letters with their ids set. It fails only when ctx ends.
func (tr *transformer) apply(ctx context.Context, batch []*Message) ([]*Message, error) {
	var outs []*Message
	for _, in := range batch {
		o, err := tr.call(ctx, in)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o...)
	}
	return outs, nil
}

// call calls Fn for in until it succeeds or rejects in, backing off after
// each other error.
func (tr *transformer) call(ctx context.Context, in *Message) ([]*Message, error) {
	src := in.EventID
	if src == "" {
		src = in.Topic + "/" + strconv.Itoa(int(in.Partition)) + "/" + strconv.FormatInt(in.Offset, 10)
	}
	var wait time.Duration
	for attempt := 1; ; attempt++ {
		outs, err := tr.cfg.Fn(ctx, in)
		var rej *RejectError
		switch {
		case errors.As(err, &rej):
			tr.log.Warn("stream: input dead-lettered", slog.Int("partition", int(in.Partition)), slog.Int64("offset", in.Offset),
				slog.String("event_id", in.EventID), slog.String("reason", rej.Err.Error()))
			return []*Message{tr.deadLetter(in, src, rej.Err)}, nil
		case err == nil:
			for i, o := range outs {
				if o != nil {
					o.EventID = TransformEventID(tr.cfg.Group, src, i)
				}
			}
			return outs, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wait = tr.nextWait(wait)
		tr.log.Warn("stream: transform function failed; retrying", slog.Int("partition", int(in.Partition)), slog.Int64("offset", in.Offset),
			slog.Int("attempt", attempt), slog.Any("error", err), slog.Duration("backoff", wait))
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// deadLetter is what DeadLetter publishes for in, with a deterministic id.
func (tr *transformer) deadLetter(in *Message, src string, reason error) *Message {
	h := make(map[string]string, len(in.Headers)+5)
	for k, v := range in.Headers {
		h[k] = v
	}
	delete(h, HeaderEventID)
	h[HeaderDLQReason] = reason.Error()
	h[HeaderDLQTopic] = in.Topic
	h[HeaderDLQPartition] = strconv.Itoa(int(in.Partition))
	h[HeaderDLQOffset] = strconv.FormatInt(in.Offset, 10)
	h[HeaderDLQGroup] = tr.cfg.Group
	return &Message{Topic: TopicIntegrationErrors, Key: in.Key, Value: in.Value, Headers: h, EventID: TransformEventID(tr.cfg.Group, src, -1)}
}

// received converts a message from the engine as Subscription.Receive does.
func (s *Stream) received(topic, group string, dm *driver.Message) *Message {
	m := &Message{
		Topic: topic, Key: string(dm.Key), Value: dm.Value, Headers: dm.Headers,
		EventID: dm.Headers[HeaderEventID], Partition: dm.Partition, Offset: dm.Offset,
		Time: dm.Time, Deliveries: dm.Deliveries, ack: dm.Ack, group: group, dec: s.dec,
	}
	if m.Headers == nil {
		m.Headers = map[string]string{}
	}
	return m
}

// transformOutputs checks outputs as PublishBatch does (checkMessage) and
// converts them for the engine. Every output has its event id; one without a key goes
// to the partition of its event id, so an output written again lands
// where it did the first time.
func (s *Stream) transformOutputs(op string, msgs []*Message) ([]*driver.Message, error) {
	dms := make([]*driver.Message, len(msgs))
	backing := make([]driver.Message, len(msgs))
	for i, m := range msgs {
		t, err := s.checkMessage(op, i, m)
		if err != nil {
			return nil, err
		}
		h := make(map[string]string, len(m.Headers)+1)
		for k, v := range m.Headers {
			h[k] = v
		}
		h[HeaderEventID] = m.EventID
		key := m.Key
		if key == "" {
			key = m.EventID
		}
		backing[i] = driver.Message{Topic: s.engineName(t.Name), Partition: PartitionFor([]byte(key), t.Partitions),
			Key: []byte(m.Key), Value: m.Value, Headers: h, EventID: m.EventID}
		dms[i] = &backing[i]
	}
	return dms, nil
}
