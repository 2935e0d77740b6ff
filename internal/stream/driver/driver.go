// Package driver defines the interface every event-stream engine implements
// for the stream port (internal/stream). Drivers only talk to their engine:
// they reconcile topics, publish acknowledged batches, run consumer-group
// subscriptions with explicit acks, read from a position and report lag.
// Validation, partitioning by key, event ids, namespaces and error codes live
// once in the port.
package driver

import (
	"context"
	"log/slog"
	"time"
)

// Topic is a topic as the engine sees it. Name is already namespaced by the
// port ("t1a2b.emissions.raw" in tests, "emissions.raw" in production).
type Topic struct {
	Name       string
	Partitions int32
	// Retention is how long messages are kept; 0 keeps them forever.
	Retention time.Duration
	// Compacted topics keep at least the latest message per key.
	Compacted bool
	// Compression is one of "none", "gzip", "snappy", "lz4", "zstd". Engines
	// that support fewer codecs map it (JetStream: anything but none is s2).
	Compression string
}

// Change is one difference reconciliation found and applied.
type Change struct {
	Topic  string
	Action string // "created", "partitions 3 -> 6", "retention 720h0m0s -> 168h0m0s", ...
}

// Message is one event. On publish the port fills Topic, Partition, Key,
// Value, Headers and EventID; on receive the driver
// also fills Offset, Time and Deliveries.
type Message struct {
	Topic     string
	Partition int32
	Key       []byte
	Value     []byte
	// Headers are the message's headers. To publish, they may leave out
	// the event-id header (stream.HeaderEventID): the driver sends EventID
	// as it; drivers never change them. Received, they include it.
	Headers map[string]string
	// EventID is the message's event id; engines with de-duplication use it
	// (JetStream: Nats-Msg-Id).
	EventID string

	// Offset is the message's position in its partition: strictly
	// increasing within a partition, not necessarily contiguous.
	Offset int64
	// Time is when the engine (or producer, on Kafka) stamped the message.
	Time time.Time
	// Deliveries counts deliveries to this group including this one; 0 when
	// the engine does not know (Kafka).
	Deliveries int

	// Ack acknowledges the message for its group; nil for readers. It must be
	// safe to call from any goroutine and more than once.
	Ack func(ctx context.Context) error
}

// SubscribeParams configure a consumer-group subscription.
type SubscribeParams struct {
	Topic Topic
	// Group is the namespaced consumer group.
	Group string
	// FailoverAfter is how long a silent member keeps its partitions and
	// unacked messages before they move to another member (JetStream: ack
	// wait and pinned TTL; Kafka: session timeout). Always > 0.
	FailoverAfter time.Duration
	// StartAtEnd makes a group with no stored position start after the last
	// message instead of at the earliest retained one.
	StartAtEnd bool
}

// ReadParams position a reader that is not part of a group.
type ReadParams struct {
	Topic Topic
	// Offsets gives a start offset per partition; partitions not listed
	// start at the earliest retained message. Ignored when Time is set.
	Offsets map[int32]int64
	// Time starts every partition at its first message stamped at or after it.
	Time time.Time
}

// Subscription delivers messages. Within a partition messages arrive in
// offset order; across partitions there is no order.
type Subscription interface {
	// Receive blocks for the next message. It returns ctx.Err() when ctx
	// ends and an error wrapping ErrSubscriptionClosed after Close.
	Receive(ctx context.Context) (*Message, error)
	// Close stops delivery and leaves the group; unacked messages are
	// redelivered to the group. Calling it twice is safe.
	Close() error
}

// Driver is an event-stream engine. All methods are safe for concurrent use.
type Driver interface {
	// Name is the engine's short name: "nats" or "kafka".
	Name() string
	// EnsureTopics creates missing topics and updates changed ones. It
	// returns what it changed, and an error naming the topic and the reason
	// when a change cannot be applied (fewer partitions, for instance).
	EnsureTopics(ctx context.Context, topics []Topic) ([]Change, error)
	// Publish writes msgs and returns once the engine has acknowledged every
	// one. On error some messages may have been written; publishing them
	// again is safe because consumers de-duplicate by event id.
	Publish(ctx context.Context, msgs []*Message) error
	// Subscribe joins a consumer group on one topic.
	Subscribe(ctx context.Context, p SubscribeParams) (Subscription, error)
	// Read reads a topic from a position without a group; messages need no ack.
	Read(ctx context.Context, p ReadParams) (Subscription, error)
	// Lag is the number of messages of topic the group has not acked yet
	// (delivered but unacked ones included). A group that never subscribed
	// lags by every retained message.
	Lag(ctx context.Context, group string, topic Topic) (int64, error)
	// Close releases the engine (and stops an embedded server). Calling it
	// twice is safe.
	Close() error
}

// Options are what the port passes to a driver's open function.
type Options struct {
	Logger *slog.Logger
}

// ErrSubscriptionClosed is returned (wrapped) by Receive after Close.
var ErrSubscriptionClosed = subscriptionClosed{}

type subscriptionClosed struct{}

func (subscriptionClosed) Error() string { return "subscription closed" }
