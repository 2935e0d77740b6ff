// Package outbox is the relay of the transactional outbox (docs/outbox.md):
// it claims the store's unpublished outbox events in order, publishes them
// to the event stream with the outbox id as the event id, and marks them
// published. A crash anywhere loses nothing (unmarked events are claimed
// again once the dead relay's lease expires) and duplicates nothing
// downstream on JetStream (the event id is the Nats-Msg-Id, which the
// stream de-duplicates); on Kafka a republished event is a second record
// with the same event id, which consumers drop (they are idempotent by
// event id, as every consumer of the stream port must be).
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

// Store is the relay side of the store's outbox; *store.Store implements it.
type Store interface {
	OutboxClaim(ctx context.Context, claimer uuid.UUID, limit int, lease time.Duration) ([]store.OutboxEvent, error)
	OutboxMarkPublished(ctx context.Context, ids []uuid.UUID) (int64, error)
	OutboxRecordFailure(ctx context.Context, ids []uuid.UUID, cause error) error
	OutboxPrune(ctx context.Context, publishedBefore time.Time) (int64, error)
}

// Publisher publishes a batch; *stream.Stream implements it.
type Publisher interface {
	PublishBatch(ctx context.Context, msgs []*stream.Message) error
}

// Defaults of the Relay's zero fields.
const (
	DefaultBatchSize    = 100
	DefaultPollInterval = 500 * time.Millisecond
	DefaultLease        = 30 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultRetention    = 7 * 24 * time.Hour
	DefaultPruneEvery   = time.Hour
)

// Relay moves events from the outbox to the stream. Set the fields, then
// call Run; fields must not change while it runs. Several relays (in
// several processes) may run against one store: the store's claim lease
// lets one publish at a time, so events keep their order.
type Relay struct {
	Store  Store
	Stream Publisher
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// BatchSize is how many events one claim takes. Default 100.
	BatchSize int
	// PollInterval is how long an idle relay waits before looking again.
	// Default 500ms.
	PollInterval time.Duration
	// Lease is how long a claim keeps other relays off the claimed events:
	// longer than a publish takes, as short as the takeover delay after a
	// crash may be. Default 30s.
	Lease time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait after a failed
	// claim, publish or mark. Defaults 100ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// Retention is how long published events stay in the outbox (for
	// tracing) before the relay prunes them; negative never prunes.
	// Default 7 days.
	Retention time.Duration
	// PruneEvery is how often the relay prunes. Default 1h.
	PruneEvery time.Duration
	// ID names this relay in claims; a UUIDv7 is generated when nil.
	ID uuid.UUID
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Transcode, when set, re-encodes each event before it is published
	// (schemareg.Serde.TranscodeJSON: the outbox keeps JSON, the stream
	// gets Avro). An event it fails on is published as stored, JSON that
	// every consumer still reads, and counted in Stats.TranscodeFailed:
	// one event the schema cannot carry must not hold up the outbox.
	Transcode func(*stream.Message) (*stream.Message, error)

	published, failed, batches, untranscoded atomic.Int64
	lagNanos                                 atomic.Int64
}

// Stats are the relay's counters since it was created, ready for metrics.
type Stats struct {
	// Published counts events published and marked.
	Published int64
	// Failed counts failed attempts (claim, publish or mark).
	Failed int64
	// Batches counts batches published and marked.
	Batches int64
	// Lag is how old the oldest event of the latest claim was when it was
	// claimed: 0 when the outbox was empty.
	Lag time.Duration
	// TranscodeFailed counts events published as stored because Transcode
	// failed on them.
	TranscodeFailed int64
}

// Stats returns the counters. It is safe to call while Run runs.
func (r *Relay) Stats() Stats {
	return Stats{Published: r.published.Load(), Failed: r.failed.Load(), Batches: r.batches.Load(),
		Lag: time.Duration(r.lagNanos.Load()), TranscodeFailed: r.untranscoded.Load()}
}

func (r *Relay) withDefaults() (*slog.Logger, error) {
	if r.Store == nil || r.Stream == nil {
		return nil, errors.New("outbox: a relay needs a store and a stream")
	}
	if r.BatchSize <= 0 {
		r.BatchSize = DefaultBatchSize
	}
	if r.PollInterval <= 0 {
		r.PollInterval = DefaultPollInterval
	}
	if r.Lease <= 0 {
		r.Lease = DefaultLease
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = DefaultMinBackoff
	}
	if r.MaxBackoff < r.MinBackoff {
		r.MaxBackoff = max(DefaultMaxBackoff, r.MinBackoff)
	}
	if r.Retention == 0 {
		r.Retention = DefaultRetention
	}
	if r.PruneEvery <= 0 {
		r.PruneEvery = DefaultPruneEvery
	}
	if r.ID == uuid.Nil {
		r.ID = uuid.Must(uuid.NewV7())
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log.With(slog.String("relay", r.ID.String())), nil
}

// Run relays until ctx ends, then returns ctx's error. A failure is logged
// and retried after an exponential backoff, always from the oldest
// unpublished event, so order holds and nothing is skipped.
func (r *Relay) Run(ctx context.Context) error {
	log, err := r.withDefaults()
	if err != nil {
		return err
	}
	log.Info("outbox relay started", slog.Int("batch_size", r.BatchSize), slog.Duration("lease", r.Lease))
	backoff := time.Duration(0)
	var lastPrune time.Time
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.Retention > 0 && r.Now().Sub(lastPrune) >= r.PruneEvery {
			lastPrune = r.Now()
			if n, err := r.Store.OutboxPrune(ctx, lastPrune.Add(-r.Retention)); err != nil {
				log.Warn("outbox: pruning failed", slog.Any("error", err))
			} else if n > 0 {
				log.Info("outbox: pruned published events", slog.Int64("events", n))
			}
		}
		n, err := r.step(ctx, log)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.failed.Add(1)
			backoff = min(max(2*backoff, r.MinBackoff), r.MaxBackoff)
			wait = backoff
			log.Warn("outbox: relaying failed; retrying", slog.Any("error", err), slog.Duration("backoff", wait))
		case n == r.BatchSize:
			backoff = 0
			continue // more is waiting
		default:
			backoff = 0
			wait = r.PollInterval
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RunOnce relays one batch and returns how many events it published.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	log, err := r.withDefaults()
	if err != nil {
		return 0, err
	}
	n, err := r.step(ctx, log)
	if err != nil && ctx.Err() == nil {
		r.failed.Add(1)
	}
	return n, err
}

// step claims a batch, publishes it and marks it.
func (r *Relay) step(ctx context.Context, log *slog.Logger) (int, error) {
	evs, err := r.Store.OutboxClaim(ctx, r.ID, r.BatchSize, r.Lease)
	if err != nil {
		return 0, fmt.Errorf("claiming: %w", err)
	}
	if len(evs) == 0 {
		r.lagNanos.Store(0)
		return 0, nil
	}
	r.lagNanos.Store(int64(max(r.Now().Sub(evs[0].CreatedAt), 0)))
	msgs := make([]*stream.Message, len(evs))
	ids := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
		msgs[i] = &stream.Message{Topic: e.Topic, Key: e.Key, Value: e.Payload, Headers: maps.Clone(e.Headers), EventID: e.ID.String()}
		if r.Transcode == nil {
			continue
		}
		if m, err := r.Transcode(msgs[i]); err != nil {
			r.untranscoded.Add(1)
			log.Warn("outbox: event published as stored: transcoding failed", slog.String("event_id", e.ID.String()), slog.String("topic", e.Topic), slog.Any("error", err))
		} else {
			m.EventID = msgs[i].EventID
			msgs[i] = m
		}
	}
	if err := r.Stream.PublishBatch(ctx, msgs); err != nil {
		// Record the attempt even when ctx ended, briefly.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if ferr := r.Store.OutboxRecordFailure(rctx, ids, err); ferr != nil {
			log.Warn("outbox: recording a failed publish failed", slog.Any("error", ferr))
		}
		return 0, fmt.Errorf("publishing %d events from %s: %w", len(evs), evs[0].ID, err)
	}
	// A crash here leaves the events unmarked: they are published again
	// (same event ids) by whichever relay claims them next.
	if _, err := r.Store.OutboxMarkPublished(ctx, ids); err != nil {
		return 0, fmt.Errorf("marking %d published events: %w", len(ids), err)
	}
	r.published.Add(int64(len(evs)))
	r.batches.Add(1)
	log.Debug("outbox: published", slog.Int("events", len(evs)))
	return len(evs), nil
}
