package driver

import (
	"context"
	"time"
)

// Transactional is an optional capability of a Driver: an engine that can
// consume from a group, produce and commit the consumed offsets in one
// atomic transaction (Kafka). The port's Stream.Transform uses it when the
// driver implements it, for exactly-once consume-transform-produce;
// otherwise Transform publishes outputs with deterministic event ids and
// then acks the inputs (effectively-once through the engine's
// de-duplication, see docs/streaming.md).
type Transactional interface {
	// Transact joins Group on Topic and returns a session once the member
	// has its first partition assignment.
	Transact(ctx context.Context, p TransactParams) (TransactSession, error)
}

// TransactParams configure a transactional session.
type TransactParams struct {
	Topic Topic
	// Group is the namespaced consumer group.
	Group string
	// TransactionalID names this member's producer across restarts. A
	// session started with the id of one that died fences it: the engine
	// aborts the dead session's open transaction at once. Members of one
	// group running at the same time must use different ids.
	TransactionalID string
	// FailoverAfter is how long a silent member keeps its partitions (Kafka:
	// session timeout) and how long its open transaction may stay open
	// before the engine aborts it (Kafka: transaction timeout, at least
	// 1s). Always > 0.
	FailoverAfter time.Duration
	// StartAtEnd makes a group with no stored position start after the last
	// message instead of at the earliest retained one.
	StartAtEnd bool
}

// TransactSession is one member's transactional consume-produce loop:
// Poll, Produce, then Commit or Abort, over and over. Poll, Produce,
// Commit and Abort are called from one goroutine; Close from any.
type TransactSession interface {
	// Poll blocks for the next records of the member's partitions and
	// returns at most max of them, waiting up to wait for more once it has
	// one. Within a partition records come in offset order. Messages have
	// no Ack: every record polled since the last Commit or Abort is the
	// transaction's input. The session reads only committed records. It
	// may return no messages and a nil error when it moved past records
	// that are not messages (transaction markers): the caller commits
	// then, so the group's offsets move past them too. After Close it
	// returns an error wrapping ErrSubscriptionClosed; when ctx ends,
	// ctx.Err().
	Poll(ctx context.Context, max int, wait time.Duration) ([]*Message, error)
	// Produce writes msgs in the current transaction (beginning one when
	// none is open) and returns once the engine acknowledged them. They
	// stay invisible to readers of committed records until Commit.
	Produce(ctx context.Context, msgs []*Message) error
	// Commit commits, atomically, the produced messages and the group's
	// offsets past every polled record. committed is false with a nil
	// error when the engine aborted instead because the member's
	// partitions changed since the records were polled; the session then
	// rewinds to the committed offsets, so the records are polled again
	// (here or by the member that got them). An error means the session is
	// unusable: close it and start another.
	Commit(ctx context.Context) (committed bool, err error)
	// Abort discards the current transaction: nothing produced becomes
	// visible, no offset moves, and the session rewinds so Poll returns
	// the records again. An error means the session is unusable.
	Abort(ctx context.Context) error
	// Close leaves the group without ending an open transaction, as a
	// crash would: the engine aborts that transaction when a session with
	// the same TransactionalID starts producing, or after FailoverAfter.
	// Calling it twice is safe.
	Close() error
}
