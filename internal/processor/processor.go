// Package processor is the stream-processor runtime (docs/processors.md): a
// processor consumes one topic as a consumer group, keeps state per input
// partition and emits output events, with an exactly-once effect on every
// stream engine and store driver:
//
//   - for each batch of input messages the new partition states, the
//     offset of the last applied input per partition and the output events
//     commit in ONE store transaction (Store.ProcessorCommit: the state in
//     integration.processor_state, the outputs in the transactional
//     outbox, which the outbox relay publishes);
//   - only then are the inputs acked; an input at or below its partition's
//     committed offset is skipped (acked without effect), so redelivery
//     after a crash, a restart or a rebalance changes nothing;
//   - every commit names the checkpoint version it started from, so two
//     instances that both think they own a partition cannot both commit;
//   - output event ids are derived from the processor's name and the input
//     event id or window id (EventID), so a replay re-emits the same ids,
//     which the outbox, the stream (JetStream's duplicate window) and
//     consumers drop.
//
// Processors live in subpackages (aggregator, kpi, anomaly, supplychain);
// windowing is in processor/window.
package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

// Store is the store side of the runtime; *store.Store implements it.
type Store interface {
	ProcessorCheckpoint(ctx context.Context, processor string, partition int32) (*store.ProcessorCheckpoint, error)
	ProcessorCommit(ctx context.Context, c store.ProcessorCommit) error
}

// Handler is a processor's logic over partition state S (JSON-encoded in
// the store; a pointer or map type so Handle can change it in place).
//
// Handle must be deterministic: given the same state and message it
// changes the state and emits the same outputs (ids included). It is
// called once per input message not yet applied, in partition order.
// Return an error made with Reject for input that must go to the
// dead-letter topic (bad payload, late event): the message is then applied
// as a no-op, and what Handle emitted for it is discarded, so Handle must
// not change the state before it knows the input is good. Any other error
// stops the batch; it is retried from the stored state after a backoff.
type Handler[S any] interface {
	NewState() S
	Handle(ctx context.Context, st S, m *stream.Message, out *Emitter) error
}

// KeyedState is implemented by a partition state that is a map checkpointed
// entry by entry (docs/processors.md, "Keyed state"): at each commit the
// runner stores only the entries the batch changed
// (store.ProcessorPartitionUpdate.Entries), beside the state's own JSON
// encoding, which should then leave the entries out. A partition that
// holds thousands of devices' baselines would otherwise be re-encoded
// whole at every commit.
type KeyedState interface {
	// TakeChanges returns the entries changed since it was last called,
	// encoded (a nil Value for an entry removed), and forgets them.
	TakeChanges() ([]store.ProcessorStateEntry, error)
	// RestoreEntry loads one stored entry into the state: called when the
	// runner loads a partition, after decoding the state's JSON. It does
	// not count as a change.
	RestoreEntry(key string, value []byte) error
}

// Output is one event a processor emits.
type Output struct {
	// OrgID is the organization the event is about (the outbox is per
	// organization).
	OrgID uuid.UUID
	Topic string
	// Key orders the event (use the organization id).
	Key string
	// ID must be deterministic: Emitter.ID.
	ID uuid.UUID
	// Payload is encoded as JSON; its SchemaVersion (stream.Versioned),
	// when it has one, goes into the schema-version header.
	Payload any
	// Headers are extra application headers (no "gl-" prefix).
	Headers map[string]string
}

// Emitter collects the outputs of one input message.
type Emitter struct {
	name   string
	outs   []store.ProcessorEvent
	alerts []store.AlertOp
}

// Alert queues an alert write for the batch's commit
// (store.ProcessorCommit.Alerts): applied in the checkpoint's transaction,
// so exactly once per input.
func (e *Emitter) Alert(op store.AlertOp) { e.alerts = append(e.alerts, op) }

// Alerts are the alert writes queued so far (for tests of a Handler).
func (e *Emitter) Alerts() []store.AlertOp { return e.alerts }

// ID derives a deterministic event id from the processor's name and parts
// (the input event id, or a window's key and start).
func (e *Emitter) ID(parts ...string) uuid.UUID { return EventID(e.name, parts...) }

// Emit encodes o and queues it for the batch's commit.
func (e *Emitter) Emit(o Output) error {
	if o.OrgID == uuid.Nil || o.ID == uuid.Nil || o.Topic == "" {
		return fmt.Errorf("processor %s: an output needs an organization, an id and a topic", e.name)
	}
	b, err := json.Marshal(o.Payload)
	if err != nil {
		return fmt.Errorf("processor %s: encoding an output for %s: %w", e.name, o.Topic, err)
	}
	v := 1
	if sv, ok := o.Payload.(stream.Versioned); ok {
		v = sv.SchemaVersion()
	}
	h := map[string]string{stream.HeaderContentType: stream.ContentTypeJSON, stream.HeaderSchemaVersion: strconv.Itoa(v)}
	for k, val := range o.Headers {
		h[k] = val
	}
	e.outs = append(e.outs, store.ProcessorEvent{OrgID: o.OrgID, Event: store.OutboxEvent{ID: o.ID, Topic: o.Topic, Key: o.Key, Headers: h, Payload: b}})
	return nil
}

// idSpace is the UUIDv5 namespace of processor output ids.
var idSpace = uuid.MustParse("6f1c1b0e-8a3f-5d0a-9c5e-2f6a4c1d7e90")

// EventID is the deterministic (UUIDv5) event id of an output of processor
// name identified by parts.
func EventID(name string, parts ...string) uuid.UUID {
	b := []byte(name)
	for _, p := range parts {
		b = append(b, 0)
		b = append(b, p...)
	}
	return uuid.NewSHA1(idSpace, b)
}

// RejectError marks input for the dead-letter topic; it is the stream
// port's (Stream.Transform rejects input the same way).
type RejectError = stream.RejectError

// Reject wraps err so the runtime dead-letters the input with err as the
// reason.
func Reject(err error) error { return stream.Reject(err) }

// Decode decodes m's payload (stream.Decode: JSON, or Avro when the
// stream has a schema registry). A bad payload comes back as a rejection
// for the dead-letter topic; any other failure (the registry does not
// answer) as a plain error, so the batch is retried rather than good input
// dead-lettered.
func Decode[T any](m *stream.Message) (T, error) {
	v, err := stream.Decode[T](m)
	if err != nil && stream.IsDecodeError(err) {
		return v, Reject(err)
	}
	return v, err
}

// DeadLetterID is the event id of processor name's dead letter of input m:
// derived from the input, so a redelivered input's dead letter is a
// duplicate consumers drop.
func DeadLetterID(name string, m *stream.Message) uuid.UUID {
	return EventID(name, "dead-letter", SourceID(m))
}

// SourceID is m's event id, or its position (topic/partition/offset) when
// it has none: what a processor derives output ids from and cites.
func SourceID(m *stream.Message) string {
	if m.EventID != "" {
		return m.EventID
	}
	return fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset)
}

// CheckDecimal refuses a decimal input with more than 18 decimal places or
// of 1e18 or more in magnitude (looking at its digits and exponent only,
// never expanding it): generous for every quantity a processor reads, and
// it keeps the arithmetic's exponents bounded (shopspring/decimal panics on
// an exponent overflow). field names the input in the error.
func CheckDecimal(field string, v decimal.Decimal) error {
	if v.Exponent() < -18 || int64(v.NumDigits())+int64(v.Exponent()) > 18 {
		return fmt.Errorf("%s is out of range (at most 18 digits before and 18 after the point)", field)
	}
	return nil
}

// Rejectf is Reject(fmt.Errorf(...)).
func Rejectf(format string, args ...any) error { return Reject(fmt.Errorf(format, args...)) }

// Hooks are fault-injection points for tests; nil fields do nothing.
type Hooks struct {
	// AfterCommit runs after a batch committed and before its inputs are
	// acked. A non-nil error stops the runner there, inputs unacked (a
	// crash between commit and ack); Run returns the error.
	AfterCommit func() error
}

type hookError struct{ err error }

func (e *hookError) Error() string { return e.err.Error() }

// Config configures a Runner.
type Config struct {
	// Name is the processor's name: its consumer group and checkpoint key
	// (lowercase [a-z0-9-]).
	Name string
	// Topic is the input topic.
	Topic  string
	Store  Store
	Stream *stream.Stream
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// BatchSize is the most input messages in one commit. Default 100.
	BatchSize int
	// BatchWait is how long a batch waits for more messages once it has
	// one. Default 20ms.
	BatchWait time.Duration
	// FailoverAfter is the subscription's (stream.SubscribeOptions).
	FailoverAfter time.Duration
	// DedupWindow is how many of the latest applied input offsets each
	// partition remembers (in its checkpoint, as runs of consecutive
	// offsets), to skip redelivered inputs exactly even out of order. It
	// must exceed the inputs that can be in flight (BatchSize plus what the
	// driver prefetches). Default 1024; negative also disables the event-id
	// window.
	DedupWindow int
	// EventIDWindow is how many of the latest input event ids each
	// partition remembers (in its checkpoint), to drop a re-published
	// input that arrives with a new offset (Kafka after a producer
	// restart). Default min(DedupWindow, 1024).
	EventIDWindow int
	// MinBackoff and MaxBackoff bound the wait before a failed batch is
	// retried. Defaults 50ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	Hooks                  Hooks
}

// Stats are a runner's counters.
type Stats struct {
	Applied      int64 // inputs applied to the state
	Skipped      int64 // inputs at or below the checkpoint, or duplicate event ids
	DeadLettered int64
	Commits      int64
	Conflicts    int64 // commits refused because the checkpoint moved
	Failures     int64 // failed batch attempts
}

// Runner runs one processor instance.
type Runner[S any] struct {
	cfg   Config
	h     Handler[S]
	log   *slog.Logger
	parts map[int32]*partition[S]

	applied, skipped, dead, commits, conflicts, failures atomic.Int64
}

type partition[S any] struct {
	version int64 // 0: nothing committed
	state   S
	recent  []string
	seen    map[string]bool
	// applied holds the greatest applied offsets, ascending, at most
	// DedupWindow of them (see done).
	applied []int64
	full    bool // applied has dropped offsets
}

// offset is the greatest applied offset, -1 when none: the checkpoint.
func (ps *partition[S]) offset() int64 {
	if len(ps.applied) == 0 {
		return -1
	}
	return ps.applied[len(ps.applied)-1]
}

// done reports whether the input at offset o was applied already. Every
// applied offset at or above applied[0] is in applied; an offset below it
// is taken as applied once the window is full (it is older than the last
// DedupWindow inputs), and as new before that (the window then holds every
// applied offset). Tracking offsets, not only the greatest, keeps the
// effect exact when the stream redelivers inputs out of offset order
// (after a member crashed, see docs/processors.md).
func (ps *partition[S]) done(o int64) bool {
	i, found := slices.BinarySearch(ps.applied, o)
	if found {
		return true
	}
	return i == 0 && ps.full
}

// envelope is what the store keeps per partition.
type envelope[S any] struct {
	State  S        `json:"state"`
	Recent []string `json:"recent_event_ids,omitempty"`
	// Runs are the applied offsets as runs of consecutive offsets, [first,
	// last] each: a partition applied in order is one run, however wide
	// the window. Applied is the older form (every offset), still read.
	Runs    [][2]int64 `json:"applied_runs,omitempty"`
	Applied []int64    `json:"applied_offsets,omitempty"`
	Full    bool       `json:"applied_window_full,omitempty"`
}

// runs returns ascending offsets as runs of consecutive ones.
func runs(offsets []int64) [][2]int64 {
	var out [][2]int64
	for _, o := range offsets {
		if n := len(out); n > 0 && out[n-1][1]+1 == o {
			out[n-1][1] = o
			continue
		}
		out = append(out, [2]int64{o, o})
	}
	return out
}

// expand returns the offsets of runs, ascending.
func expand(rs [][2]int64) []int64 {
	n := 0
	for _, r := range rs {
		n += int(r[1]-r[0]) + 1
	}
	out := make([]int64, 0, n)
	for _, r := range rs {
		for o := r[0]; o <= r[1]; o++ {
			out = append(out, o)
		}
	}
	return out
}

// New returns a runner for h.
func New[S any](cfg Config, h Handler[S]) (*Runner[S], error) {
	if cfg.Name == "" || cfg.Topic == "" || cfg.Store == nil || cfg.Stream == nil || h == nil {
		return nil, errors.New("processor: a name, a topic, a store, a stream and a handler are required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 20 * time.Millisecond
	}
	if cfg.DedupWindow == 0 {
		cfg.DedupWindow = 1024
	}
	if cfg.EventIDWindow <= 0 {
		cfg.EventIDWindow = min(cfg.DedupWindow, 1024)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 50 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner[S]{cfg: cfg, h: h, log: log.With(slog.String("processor", cfg.Name)), parts: map[int32]*partition[S]{}}, nil
}

// Stats returns the counters; safe while Run runs.
func (r *Runner[S]) Stats() Stats {
	return Stats{Applied: r.applied.Load(), Skipped: r.skipped.Load(), DeadLettered: r.dead.Load(),
		Commits: r.commits.Load(), Conflicts: r.conflicts.Load(), Failures: r.failures.Load()}
}

// Run subscribes and processes until ctx ends (it returns ctx's error) or
// the subscription fails. Unacked inputs go back to the group when it
// returns.
func (r *Runner[S]) Run(ctx context.Context) error {
	sub, err := r.cfg.Stream.Subscribe(ctx, r.cfg.Topic, r.cfg.Name, stream.SubscribeOptions{FailoverAfter: r.cfg.FailoverAfter})
	if err != nil {
		return fmt.Errorf("processor %s: %w", r.cfg.Name, err)
	}
	defer sub.Close()
	r.log.Info("processor started", slog.String("topic", r.cfg.Topic))
	for {
		batch, err := sub.ReceiveBatch(ctx, r.cfg.BatchSize, r.cfg.BatchWait)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("processor %s: %w", r.cfg.Name, err)
		}
		if err := r.processWithRetry(ctx, batch); err != nil {
			return err
		}
	}
}

func (r *Runner[S]) processWithRetry(ctx context.Context, batch []*stream.Message) error {
	backoff := time.Duration(0)
	for {
		err := r.process(ctx, batch)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var he *hookError
		if errors.As(err, &he) {
			return he.err
		}
		r.failures.Add(1)
		if store.CodeOf(err) == store.CodeFailedPrecondition {
			r.conflicts.Add(1)
			r.log.Info("processor: checkpoint moved (another instance committed); reloading", slog.Any("error", err))
		} else {
			backoff = min(max(2*backoff, r.cfg.MinBackoff), r.cfg.MaxBackoff)
			r.log.Warn("processor: batch failed; retrying", slog.Any("error", err), slog.Duration("backoff", backoff))
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}

// load returns partition p's state, from the store when not cached.
func (r *Runner[S]) load(ctx context.Context, p int32) (*partition[S], error) {
	if ps, ok := r.parts[p]; ok {
		return ps, nil
	}
	cp, err := r.cfg.Store.ProcessorCheckpoint(ctx, r.cfg.Name, p)
	if err != nil {
		return nil, err
	}
	ps := &partition[S]{state: r.h.NewState(), seen: map[string]bool{}}
	if cp != nil {
		env := envelope[S]{State: ps.state}
		if err := json.Unmarshal(cp.State, &env); err != nil {
			return nil, fmt.Errorf("processor %s partition %d: decoding the stored state: %w", r.cfg.Name, p, err)
		}
		ps.version, ps.state, ps.recent, ps.applied, ps.full = cp.Version, env.State, env.Recent, env.Applied, env.Full
		if len(env.Runs) > 0 {
			if err := checkRuns(env.Runs); err != nil {
				return nil, fmt.Errorf("processor %s partition %d: the stored applied offsets: %w", r.cfg.Name, p, err)
			}
			ps.applied = expand(env.Runs)
			if n := len(ps.applied) - r.window(); n > 0 { // the window was made smaller
				ps.applied, ps.full = ps.applied[n:], true
			}
		}
		if ks, ok := any(ps.state).(KeyedState); ok {
			for _, e := range cp.Entries {
				if err := ks.RestoreEntry(e.Key, e.Value); err != nil {
					return nil, fmt.Errorf("processor %s partition %d: decoding stored state entry %q: %w", r.cfg.Name, p, e.Key, err)
				}
			}
		}
		if len(ps.applied) == 0 {
			// Written without offsets: everything up to the checkpoint is done.
			ps.applied, ps.full = []int64{cp.Offset}, true
		}
		for _, id := range ps.recent {
			ps.seen[id] = true
		}
	}
	r.parts[p] = ps
	return ps, nil
}

// maxStoredOffsets bounds the applied offsets a checkpoint may hold, so a
// damaged one cannot make the runner expand billions.
const maxStoredOffsets = 1 << 22

// checkRuns refuses stored runs that are not ascending and disjoint, or
// that hold more than maxStoredOffsets offsets.
func checkRuns(rs [][2]int64) error {
	total := int64(0)
	for i, r := range rs {
		if r[0] < 0 || r[1] < r[0] || (i > 0 && r[0] <= rs[i-1][1]) {
			return fmt.Errorf("run %d %v is not an ascending run after the previous one", i, r)
		}
		if total += r[1] - r[0] + 1; total > maxStoredOffsets {
			return fmt.Errorf("more than %d offsets", maxStoredOffsets)
		}
	}
	return nil
}

func (r *Runner[S]) applyOffset(ps *partition[S], o int64) {
	i, _ := slices.BinarySearch(ps.applied, o)
	ps.applied = slices.Insert(ps.applied, i, o)
	if n := len(ps.applied) - r.window(); n > 0 {
		// Reslice, not delete: slices.Delete moves the whole window on
		// every input once it is full. Insert reallocates (copying the
		// live offsets only) when the backing array fills.
		ps.applied = ps.applied[n:]
		ps.full = true
	}
}

func (r *Runner[S]) window() int {
	if r.cfg.DedupWindow <= 0 {
		return 1024
	}
	return r.cfg.DedupWindow
}

func (r *Runner[S]) remember(ps *partition[S], id string) {
	if r.cfg.DedupWindow < 0 || id == "" {
		return
	}
	ps.recent = append(ps.recent, id)
	ps.seen[id] = true
	if over := len(ps.recent) - r.cfg.EventIDWindow; over > 0 {
		for _, old := range ps.recent[:over] {
			delete(ps.seen, old)
		}
		// Reslice, not copy: copying the window on every input once it is
		// full cost O(window) per input. append reallocates (copying only
		// the live ids) when the backing array fills, so this is amortized
		// O(1) and the dropped prefix is freed then.
		ps.recent = ps.recent[over:]
	}
}

// process applies a batch and commits it. On any error the cached state of
// the batch's partitions is dropped (it may hold half of the batch), so a
// retry starts from the store.
func (r *Runner[S]) process(ctx context.Context, batch []*stream.Message) (err error) {
	touched := map[int32]bool{}
	defer func() {
		if err != nil {
			for p := range touched {
				delete(r.parts, p)
			}
		}
	}()
	var outs []store.ProcessorEvent
	var alerts []store.AlertOp
	var dead []*stream.Message
	changed := map[int32]*partition[S]{}
	var order []int32
	var applied, skipped int64
	for _, m := range batch {
		touched[m.Partition] = true
		ps, err := r.load(ctx, m.Partition)
		if err != nil {
			return err
		}
		if ps.done(m.Offset) {
			skipped++
			r.log.Debug("processor: input already applied; skipped", slog.Int("partition", int(m.Partition)),
				slog.Int64("offset", m.Offset), slog.Int64("checkpoint", ps.offset()), slog.String("event_id", m.EventID))
			continue
		}
		id := m.EventID
		if id != "" && ps.seen[id] {
			skipped++
			r.log.Debug("processor: duplicate input event id skipped", slog.Int("partition", int(m.Partition)),
				slog.Int64("offset", m.Offset), slog.String("event_id", m.EventID))
		} else {
			em := &Emitter{name: r.cfg.Name}
			herr := r.h.Handle(ctx, ps.state, m, em)
			var rej *RejectError
			switch {
			case errors.As(herr, &rej):
				dead = append(dead, r.deadLetter(m, rej))
			case herr != nil:
				return fmt.Errorf("processor %s: %s partition %d offset %d: %w", r.cfg.Name, m.Topic, m.Partition, m.Offset, herr)
			default:
				outs = append(outs, em.outs...)
				alerts = append(alerts, em.alerts...)
				applied++
			}
			r.remember(ps, id)
		}
		r.applyOffset(ps, m.Offset)
		if _, ok := changed[m.Partition]; !ok {
			changed[m.Partition] = ps
			order = append(order, m.Partition)
		}
	}
	// Dead letters go straight to the stream (a bad payload may name no
	// organization, so it cannot use the outbox), before the commit, with
	// deterministic ids: a retry re-publishes the same ids.
	if len(dead) > 0 {
		if err := r.cfg.Stream.PublishBatch(ctx, dead); err != nil {
			return err
		}
	}
	if len(order) > 0 {
		c := store.ProcessorCommit{Processor: r.cfg.Name, Events: outs, Alerts: alerts}
		for _, p := range order {
			ps := changed[p]
			b, err := json.Marshal(envelope[S]{State: ps.state, Recent: ps.recent, Runs: runs(ps.applied), Full: ps.full})
			if err != nil {
				return fmt.Errorf("processor %s: encoding partition %d state: %w", r.cfg.Name, p, err)
			}
			u := store.ProcessorPartitionUpdate{Partition: p, PrevVersion: ps.version, Offset: ps.offset(), State: b}
			if ks, ok := any(ps.state).(KeyedState); ok {
				// Taken even if the commit then fails: the partition's
				// cached state is dropped and reloaded from the store.
				if u.Entries, err = ks.TakeChanges(); err != nil {
					return fmt.Errorf("processor %s: encoding partition %d state entries: %w", r.cfg.Name, p, err)
				}
			}
			c.Partitions = append(c.Partitions, u)
		}
		if err := r.cfg.Store.ProcessorCommit(ctx, c); err != nil {
			return err
		}
		for _, p := range order {
			changed[p].version++
		}
		r.commits.Add(1)
	}
	r.applied.Add(applied)
	r.skipped.Add(skipped)
	r.dead.Add(int64(len(dead)))
	for _, m := range dead {
		r.log.Warn("processor: input dead-lettered", slog.String("topic", r.cfg.Topic), slog.String("reason", m.Headers[stream.HeaderDLQReason]),
			slog.String("partition", m.Headers[stream.HeaderDLQPartition]), slog.String("offset", m.Headers[stream.HeaderDLQOffset]))
	}
	if r.cfg.Hooks.AfterCommit != nil {
		if herr := r.cfg.Hooks.AfterCommit(); herr != nil {
			return &hookError{herr}
		}
	}
	// The effect is committed: from here a failed ack only means a
	// redelivery, which the checkpoint skips.
	for _, m := range batch {
		if aerr := m.Ack(ctx); aerr != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Warn("processor: ack failed; the input will be redelivered and skipped", slog.Any("error", aerr))
		}
	}
	return nil
}

// deadLetter builds the dead letter of m (the stream port's conventions,
// see stream.DeadLetter) with an id derived from the processor and m's
// event id.
func (r *Runner[S]) deadLetter(m *stream.Message, reason error) *stream.Message {
	h := make(map[string]string, len(m.Headers)+5)
	for k, v := range m.Headers {
		h[k] = v
	}
	delete(h, stream.HeaderEventID)
	h[stream.HeaderDLQReason] = reason.Error()
	h[stream.HeaderDLQTopic] = m.Topic
	h[stream.HeaderDLQPartition] = strconv.Itoa(int(m.Partition))
	h[stream.HeaderDLQOffset] = strconv.FormatInt(m.Offset, 10)
	h[stream.HeaderDLQGroup] = r.cfg.Name
	return &stream.Message{Topic: stream.TopicIntegrationErrors, Key: m.Key, Value: m.Value, Headers: h,
		EventID: DeadLetterID(r.cfg.Name, m).String()}
}

// NewEmitter returns an emitter for processor name, to drive a Handler
// without a runner (tests, tools).
func NewEmitter(name string) *Emitter { return &Emitter{name: name} }

// Events returns what was emitted, as the outbox events the runner commits.
func (e *Emitter) Events() []store.ProcessorEvent { return e.outs }
