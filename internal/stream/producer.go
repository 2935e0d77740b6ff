package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ProducerOptions configure a Producer. The zero value gives the defaults.
type ProducerOptions struct {
	// MaxMessages bounds the buffer by message count. Default 10,000.
	MaxMessages int
	// MaxBytes bounds the buffer by size: topic, key, value, event id and
	// headers of every buffered message. A single larger message is
	// refused. Default 32 MiB.
	MaxBytes int64
	// BlockFor is how long Send waits for room in a full buffer before it
	// returns CodeResourceExhausted. Default 5s; negative: do not wait.
	BlockFor time.Duration
	// MaxBatch is the most messages one publish carries. Default 500.
	MaxBatch int
	// RetryMin and RetryMax bound the exponential backoff (with jitter)
	// between attempts after a transient engine error. Defaults 100ms and
	// 10s.
	RetryMin, RetryMax time.Duration
	// AttemptTimeout bounds one publish attempt. Default 30s.
	AttemptTimeout time.Duration
}

// WithDefaults fills unset fields.
func (o ProducerOptions) WithDefaults() ProducerOptions {
	if o.MaxMessages == 0 {
		o.MaxMessages = 10_000
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = 32 << 20
	}
	if o.BlockFor == 0 {
		o.BlockFor = 5 * time.Second
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 500
	}
	if o.RetryMin == 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax == 0 {
		o.RetryMax = 10 * time.Second
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 30 * time.Second
	}
	return o
}

// Validate checks the options (after WithDefaults).
func (o ProducerOptions) Validate() error {
	switch {
	case o.MaxMessages < 1:
		return fmt.Errorf("MaxMessages %d: want at least 1", o.MaxMessages)
	case o.MaxBytes < 1:
		return fmt.Errorf("MaxBytes %d: want at least 1", o.MaxBytes)
	case o.MaxBatch < 1:
		return fmt.Errorf("MaxBatch %d: want at least 1", o.MaxBatch)
	case o.RetryMin <= 0 || o.RetryMax < o.RetryMin:
		return fmt.Errorf("RetryMin %s, RetryMax %s: want 0 < RetryMin <= RetryMax", o.RetryMin, o.RetryMax)
	case o.AttemptTimeout <= 0:
		return fmt.Errorf("AttemptTimeout %s: want > 0", o.AttemptTimeout)
	}
	return nil
}

// ProducerStats are a Producer's counters, for metrics.
type ProducerStats struct {
	// Buffered and BufferedBytes are what waits to be acknowledged,
	// including the batch being published.
	Buffered      int
	BufferedBytes int64
	// Sent counts messages the engine acknowledged.
	Sent uint64
	// Retries counts retries scheduled after a transient engine error.
	Retries uint64
	// Failures counts failed publish attempts.
	Failures uint64
	// FailingSince is when the current run of failed attempts began; zero
	// while the engine accepts messages.
	FailingSince time.Time
	// LastError is the last attempt's error while FailingSince is set.
	LastError error
	// PublishingSince is when the publish in flight began; zero when
	// none is. An old value means the engine neither acknowledges nor
	// fails it (a broker that went away with a request in flight).
	PublishingSince time.Time
}

// Producer publishes messages in the background: Send validates a message,
// gives it its event id and buffers it; a flusher publishes the buffer in
// batches through PublishBatch and retries transient engine errors
// (CodeUnavailable) with exponential backoff and jitter. The buffer is
// bounded (MaxMessages, MaxBytes): when it is full Send waits, then fails
// with CodeResourceExhausted. Messages leave the buffer only when the
// engine acknowledged them; a failed batch is retried before anything sent
// after it, so messages with the same key keep their order. A retry may
// publish a message the engine had already stored before the error: the
// event id stays the same, so JetStream drops the copy within its
// duplicate window and consumers de-duplicate by event id.
//
// Flush waits for what was sent so far; Close flushes and stops. Neither
// drops a message silently: they fail naming how many are unsent. A
// Producer is safe for concurrent use; close it before its Stream.
type Producer struct {
	s    *Stream
	opts ProducerOptions

	mu      sync.Mutex
	queue   []queued // oldest first; the flusher publishes from the front
	bytes   int64
	lastSeq uint64 // sequence of the newest message sent
	acked   uint64 // every message up to this sequence is acknowledged
	// changed is closed (and replaced) whenever acked, the error state or
	// the closing state changes: Send and Flush wait on it.
	changed      chan struct{}
	lastErr      error
	failingSince time.Time
	failedTries  int       // consecutive failed attempts
	attemptSince time.Time // when the publish in flight began; zero when none
	fatal        error     // a non-retryable engine error: the producer stopped
	closing      bool
	dropped      bool          // Close emptied the buffer
	closed       chan struct{} // closed when Close finished
	closeErr     error
	stats        ProducerStats

	wake   chan struct{} // one slot: Send tells the flusher there is work
	runCtx context.Context
	stop   context.CancelFunc
	done   chan struct{} // the flusher exited
}

type queued struct {
	m    *Message
	seq  uint64
	size int64
}

// NewProducer starts a buffered producer on s. Close it before closing s.
func (s *Stream) NewProducer(opts ProducerOptions) (*Producer, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Op: "stream: starting producer", Err: err}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Producer{
		s: s, opts: opts, changed: make(chan struct{}), closed: make(chan struct{}),
		wake: make(chan struct{}, 1), runCtx: ctx, stop: cancel, done: make(chan struct{}),
	}
	go p.run()
	return p, nil
}

func messageSize(m *Message) int64 {
	n := len(m.Topic) + len(m.Key) + len(m.Value) + len(m.EventID)
	for k, v := range m.Headers {
		n += len(k) + len(v)
	}
	return int64(n)
}

// Send validates m and buffers it for publishing. It fills m.EventID when
// empty (sending the same m again after an error keeps its id). An unknown
// topic, a reserved or empty header name, or a message larger than MaxBytes
// fail at once (CodeNotFound, CodeInvalidArgument). When the buffer is
// full Send waits up to BlockFor or until ctx ends, then returns
// CodeResourceExhausted naming the limit, how long the engine has been
// failing and its last error. After Close it returns CodeClosed.
//
// Send keeps m's Value and Headers (not copies) until the message is
// acknowledged: do not modify them after Send.
func (p *Producer) Send(ctx context.Context, m *Message) error {
	const op = "stream: producer sending"
	if _, err := p.s.checkMessage(op, 0, m); err != nil {
		return err
	}
	if m.EventID == "" {
		ids, err := newEventIDs(1)
		if err != nil {
			return &Error{Code: CodeUnknown, Op: op, Err: err}
		}
		m.EventID = ids[0]
	}
	size := messageSize(m)
	if size > p.opts.MaxBytes {
		return errorf(CodeInvalidArgument, op+" to "+m.Topic, "message of %d bytes is larger than the buffer (MaxBytes %d)", size, p.opts.MaxBytes)
	}
	c := *m
	c.ack, c.group = nil, ""

	var timer *time.Timer
	start := time.Now()
	p.mu.Lock()
	for {
		if p.closing {
			p.mu.Unlock()
			return &Error{Code: CodeClosed, Op: op + " to " + m.Topic, Msg: "producer is closed"}
		}
		if p.fatal != nil {
			err := &Error{Code: CodeOf(p.fatal), Op: op + " to " + m.Topic, Msg: "producer stopped after a non-retryable engine error", Err: p.fatal}
			p.mu.Unlock()
			return err
		}
		if len(p.queue) < p.opts.MaxMessages && p.bytes+size <= p.opts.MaxBytes {
			p.lastSeq++
			p.queue = append(p.queue, queued{m: &c, seq: p.lastSeq, size: size})
			p.bytes += size
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		if p.opts.BlockFor < 0 {
			err := p.exhaustedLocked(op+" to "+m.Topic, 0, nil)
			p.mu.Unlock()
			return err
		}
		ch := p.changed
		p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(p.opts.BlockFor)
		}
		gaveUp := false
		select {
		case <-ch:
		case <-timer.C: // BlockFor passed
			gaveUp = true
		case <-ctx.Done():
			gaveUp = true
			timer.Stop()
		}
		p.mu.Lock()
		if gaveUp {
			err := p.exhaustedLocked(op+" to "+m.Topic, time.Since(start), ctx.Err())
			p.mu.Unlock()
			return err
		}
	}
}

// exhaustedLocked is the buffer-full error; p.mu is held.
func (p *Producer) exhaustedLocked(op string, waited time.Duration, ctxErr error) error {
	msg := fmt.Sprintf("buffer full: %d messages, %d bytes buffered (limits: MaxMessages %d, MaxBytes %d)",
		len(p.queue), p.bytes, p.opts.MaxMessages, p.opts.MaxBytes)
	if waited > 0 {
		msg += fmt.Sprintf("; waited %s for room", waited.Round(time.Millisecond))
	}
	msg += "; " + p.engineStateLocked()
	return &Error{Code: CodeResourceExhausted, Op: op, Msg: msg, Err: cause(ctxErr, p.lastErr)}
}

// engineStateLocked says whether and for how long the engine has been
// failing; p.mu is held.
func (p *Producer) engineStateLocked() string {
	switch {
	case !p.failingSince.IsZero():
		tries := "attempts"
		if p.failedTries == 1 {
			tries = "attempt"
		}
		return fmt.Sprintf("the engine has been failing for %s (%d failed %s)",
			time.Since(p.failingSince).Round(time.Millisecond), p.failedTries, tries)
	case !p.attemptSince.IsZero():
		return fmt.Sprintf("the engine has not acknowledged the batch in flight for %s",
			time.Since(p.attemptSince).Round(time.Millisecond))
	}
	return "the engine accepts messages"
}

// cause joins a context error and the last engine error so errors.Is
// finds both.
func cause(ctxErr, engineErr error) error {
	switch {
	case ctxErr != nil && engineErr != nil:
		return fmt.Errorf("%w; last engine error: %w", ctxErr, engineErr)
	case engineErr != nil:
		return fmt.Errorf("last engine error: %w", engineErr)
	}
	return ctxErr
}

// Flush waits until every message sent before the call is acknowledged by
// the engine. When ctx ends first, or the producer stopped on a
// non-retryable error, it returns an error (CodeUnavailable, or the
// stopping error's code) saying how many messages are still unsent and
// the last engine error; the messages stay buffered.
func (p *Producer) Flush(ctx context.Context) error {
	return p.flush(ctx, "stream: flushing producer")
}

func (p *Producer) flush(ctx context.Context, op string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	target := p.lastSeq
	for p.acked < target {
		if p.fatal != nil {
			return p.unsentLocked(op, target, nil, false)
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
			p.mu.Lock()
		case <-ctx.Done():
			p.mu.Lock()
			if p.acked >= target {
				return nil
			}
			return p.unsentLocked(op, target, ctx.Err(), false)
		}
	}
	return nil
}

// unsentLocked is the error of Flush (and, dropping, of Close) while
// messages up to target are unacknowledged; p.mu is held.
func (p *Producer) unsentLocked(op string, target uint64, ctxErr error, dropping bool) error {
	code, engineErr := CodeUnavailable, p.lastErr
	msg := messages(target-p.acked) + " still unsent (not acknowledged by the engine)"
	if dropping {
		msg = "dropping " + messages(target-p.acked) + " still unsent (not acknowledged by the engine)"
	} else if n := uint64(len(p.queue)); n != target-p.acked {
		msg += fmt.Sprintf(" (%d buffered in all)", n)
	}
	if p.fatal != nil {
		code, engineErr = CodeOf(p.fatal), p.fatal
		msg += "; the producer stopped after a non-retryable engine error"
	} else {
		msg += "; " + p.engineStateLocked()
	}
	return &Error{Code: code, Op: op, Msg: msg, Err: cause(ctxErr, engineErr)}
}

// Close stops Send (it returns CodeClosed from now on), waits until every
// buffered message is acknowledged or ctx ends, and stops the flusher.
// Messages still unacknowledged then are dropped from the buffer and the
// error says how many (CodeUnavailable, or the code of the error that
// stopped the producer). "Unacknowledged" is not "never written": an
// engine may still store a message whose acknowledgement was lost (and
// nats.go sends what it queued while disconnected once it reconnects), so
// a caller that re-sends them should keep their event ids. A second Close
// returns the first one's result.
func (p *Producer) Close(ctx context.Context) error {
	const op = "stream: closing producer"
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		select {
		case <-p.closed:
			return p.closeErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.closing = true
	p.notifyLocked() // blocked Sends return CodeClosed
	p.mu.Unlock()

	err := p.flush(ctx, op)
	p.stop()
	// A publish the driver cannot abandon (franz-go with a request in
	// flight to a broker that went away) may outlive ctx: do not wait for
	// it past ctx; its outcome no longer counts.
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	p.mu.Lock()
	if err != nil && p.acked < p.lastSeq {
		// The flusher may have finished a batch after flush gave up:
		// count what is left now, which is what is dropped.
		err = p.unsentLocked(op, p.lastSeq, ctx.Err(), true)
	} else {
		err = nil
	}
	p.queue, p.bytes, p.dropped = nil, 0, true
	p.closeErr = err
	p.mu.Unlock()
	close(p.closed)
	return err
}

// Stats returns the producer's counters.
func (p *Producer) Stats() ProducerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.Buffered, st.BufferedBytes = len(p.queue), p.bytes
	st.FailingSince, st.PublishingSince = p.failingSince, p.attemptSince
	if !p.failingSince.IsZero() {
		st.LastError = p.lastErr
	}
	return st
}

func (p *Producer) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// run is the flusher: it publishes the front of the buffer until stopped.
func (p *Producer) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		n := min(len(p.queue), p.opts.MaxBatch)
		batch := make([]*Message, n)
		for i := range batch {
			batch[i] = p.queue[i].m
		}
		if n > 0 {
			p.attemptSince = time.Now()
		}
		p.mu.Unlock()
		if n == 0 {
			select {
			case <-p.wake:
				continue
			case <-p.runCtx.Done():
				return
			}
		}
		ctx, cancel := context.WithTimeout(p.runCtx, p.opts.AttemptTimeout)
		err := p.s.PublishBatch(ctx, batch)
		cancel()
		if p.runCtx.Err() != nil {
			if err == nil {
				p.sent(n)
			}
			return
		}
		if err == nil {
			p.sent(n)
			continue
		}
		wait, ok := p.failed(err)
		if !ok {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.runCtx.Done():
			t.Stop()
			return
		}
	}
}

// sent removes the n acknowledged messages from the front of the buffer.
func (p *Producer) sent(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dropped {
		return
	}
	for _, q := range p.queue[:n] {
		p.bytes -= q.size
	}
	p.acked = p.queue[n-1].seq
	clear(p.queue[:n]) // let the messages go
	p.queue = p.queue[n:]
	p.stats.Sent += uint64(n)
	p.attemptSince = time.Time{}
	if !p.failingSince.IsZero() {
		p.s.log.Info("stream: producer publishing again", "failed_for", time.Since(p.failingSince).Round(time.Millisecond), "attempts", p.failedTries)
	}
	p.failingSince, p.failedTries, p.lastErr = time.Time{}, 0, nil
	p.notifyLocked()
}

// failed records a failed attempt and returns the backoff before the next
// one; ok is false when err is not transient and the producer stops.
func (p *Producer) failed(err error) (wait time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Failures++
	p.lastErr = err
	p.attemptSince = time.Time{}
	defer p.notifyLocked() // Flush and Send report the new state
	if CodeOf(err) != CodeUnavailable {
		p.fatal = err
		p.s.log.Error("stream: producer stopped", "err", err, "unsent", len(p.queue))
		return 0, false
	}
	if p.failingSince.IsZero() {
		p.failingSince = time.Now()
		p.s.log.Warn("stream: producer cannot publish; buffering and retrying", "err", err, "buffered", len(p.queue))
	}
	p.failedTries++
	p.stats.Retries++
	return backoff(p.opts.RetryMin, p.opts.RetryMax, p.failedTries), true
}

// backoff is the wait before retry n (1, 2, ...): RetryMin doubled per
// retry up to RetryMax, then a random point in its upper half, so
// producers that failed together do not retry together.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n < 32 {
		d = min(lo<<(n-1), hi)
	}
	if d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}

func messages(n uint64) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}
