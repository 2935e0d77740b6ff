package kafkastream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/greenlang/greenlang/internal/stream/driver"
)

// Exactly-once consume-transform-produce (driver.Transactional) with
// franz-go's GroupTransactSession: a group consumer and a transactional
// producer in one client. Each batch is one Kafka transaction holding the
// outputs and the group's offsets past the polled inputs
// (TxnOffsetCommit); it commits or aborts as a whole. The session aborts
// instead of committing when the group rebalanced since the batch was
// polled, and rewinds to the committed offsets after any abort. Consumers
// fetch read_committed (every client of this driver), so aborted outputs
// are never seen. Stable fetch offsets (KIP-447, Kafka 2.5+) are always
// required by franz-go's group consumers (kgo.RequireStableFetchOffsets
// is a deprecated no-op), so a member taking over a partition waits for a
// pending offset commit to be decided instead of reading past it.

var _ driver.Transactional = (*Driver)(nil)

// Transact implements driver.Transactional. It returns once the member has
// its first partition assignment.
func (d *Driver) Transact(ctx context.Context, p driver.TransactParams) (driver.TransactSession, error) {
	assigned := make(chan struct{})
	var assignedOnce sync.Once
	reset := kgo.NewOffset().AtStart()
	if p.StartAtEnd {
		reset = kgo.NewOffset().AtEnd()
	}
	gs, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(d.seeds...),
		kgo.TransactionalID(p.TransactionalID),
		kgo.TransactionTimeout(max(p.FailoverAfter, time.Second)),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
		kgo.ConsumerGroup(p.Group),
		kgo.ConsumeTopics(p.Topic.Name),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // polled past, so the commit moves past transaction markers
		kgo.SessionTimeout(p.FailoverAfter),
		kgo.HeartbeatInterval(max(p.FailoverAfter/10, 100*time.Millisecond)),
		kgo.RebalanceTimeout(max(p.FailoverAfter, 10*time.Second)),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			assignedOnce.Do(func() { close(assigned) })
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka: transactional group %s on %s: %w", p.Group, p.Topic.Name, err)
	}
	s := &txSession{gs: gs, log: d.log.With("group", p.Group, "topic", p.Topic.Name)}
	select {
	case <-assigned:
		return s, nil
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("kafka: transactional group %s on %s: waiting for a partition assignment: %w", p.Group, p.Topic.Name, ctx.Err())
	}
}

// txSession is a driver.TransactSession.
type txSession struct {
	gs        *kgo.GroupTransactSession
	log       *slog.Logger
	inTxn     bool // Begin called, End not yet
	closeOnce sync.Once
}

// Poll implements driver.TransactSession.
func (s *txSession) Poll(ctx context.Context, max int, wait time.Duration) ([]*driver.Message, error) {
	var out []*driver.Message
	var deadline time.Time
	for len(out) < max {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if len(out) > 0 {
			if deadline.IsZero() {
				deadline = time.Now().Add(wait)
			}
			pctx, cancel = context.WithDeadline(ctx, deadline)
		}
		fs := s.gs.PollRecords(pctx, max-len(out))
		cancel()
		if fs.IsClientClosed() {
			return nil, driver.ErrSubscriptionClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		failed := false
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				failed = true
				s.log.Warn("kafka: fetch", "partition", p, "err", err)
			}
		})
		n, markers := len(out), 0
		fs.EachRecord(func(r *kgo.Record) {
			if r.Attrs.IsControl() {
				markers++
			} else {
				out = append(out, fromRecord(r))
			}
		})
		if len(out) == 0 && markers > 0 {
			// Only transaction markers: return nothing, so the caller
			// commits the offsets past them (lag reaches 0).
			return nil, nil
		}
		if len(out) > 0 && pctx.Err() != nil {
			break // waited long enough for more
		}
		if failed && len(out) == n {
			// Only errors: do not spin on a failing fetch.
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return out, nil
}

// Produce implements driver.TransactSession.
func (s *txSession) Produce(ctx context.Context, msgs []*driver.Message) error {
	if err := s.begin(); err != nil {
		return err
	}
	rs := records(msgs)
	if err := s.gs.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("kafka: producing in a transaction: %w", err)
	}
	return nil
}

func (s *txSession) begin() error {
	if s.inTxn {
		return nil
	}
	if err := s.gs.Begin(); err != nil {
		return fmt.Errorf("kafka: beginning a transaction: %w", err)
	}
	s.inTxn = true
	return nil
}

// Commit implements driver.TransactSession.
func (s *txSession) Commit(ctx context.Context) (bool, error) {
	// Offsets are committed inside a transaction even when nothing was
	// produced.
	if err := s.begin(); err != nil {
		return false, err
	}
	s.inTxn = false
	committed, err := s.gs.End(ctx, kgo.TryCommit)
	if err != nil {
		return false, fmt.Errorf("kafka: committing a transaction: %w", err)
	}
	return committed, nil
}

// Abort implements driver.TransactSession. Ending with an abort also
// rewinds the consumer to the committed offsets when no transaction is open.
func (s *txSession) Abort(ctx context.Context) error {
	s.inTxn = false
	if _, err := s.gs.End(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("kafka: aborting a transaction: %w", err)
	}
	return nil
}

// Close implements driver.TransactSession: it leaves the group; an open
// transaction is left to the broker (aborted when the transactional id is
// used again, or after the transaction timeout).
func (s *txSession) Close() error {
	s.closeOnce.Do(s.gs.Close)
	return nil
}
