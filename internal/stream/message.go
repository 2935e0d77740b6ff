package stream

import (
	"context"
	"time"
)

// Header names the port sets. Application headers must not start with "gl-".
const (
	// HeaderEventID carries the event id consumers de-duplicate by.
	HeaderEventID = "gl-event-id"
	// HeaderSchemaVersion is the payload's schema version ("1", "2", ...).
	HeaderSchemaVersion = "gl-schema-version"
	// HeaderContentType is the payload's encoding: "application/json".
	HeaderContentType = "gl-content-type"

	// Dead-letter headers (see DeadLetter).
	HeaderDLQReason    = "gl-dlq-reason"
	HeaderDLQTopic     = "gl-dlq-topic"
	HeaderDLQPartition = "gl-dlq-partition"
	HeaderDLQOffset    = "gl-dlq-offset"
	HeaderDLQGroup     = "gl-dlq-group"
)

// isPortHeader reports whether k is one of the gl- headers a published
// message may carry (the port sets them itself, through Encode and
// DeadLetter). HeaderEventID is overwritten from Message.EventID.
func isPortHeader(k string) bool {
	switch k {
	case HeaderEventID, HeaderSchemaVersion, HeaderContentType,
		HeaderDLQReason, HeaderDLQTopic, HeaderDLQPartition, HeaderDLQOffset, HeaderDLQGroup:
		return true
	}
	return false
}

// ContentTypeJSON is the only payload encoding so far.
const ContentTypeJSON = "application/json"

// Message is one event.
//
// To publish, set Topic, Key (may be empty: the message then goes to any
// partition and has no order with others), Value and optionally Headers and
// EventID (a UUIDv7 is generated when empty and written back into the
// message). To consume, read every field and call Ack once handled.
type Message struct {
	Topic   string
	Key     string
	Value   []byte
	Headers map[string]string
	EventID string

	// Set on received messages.

	// Partition is the partition the key maps to (see PartitionFor).
	Partition int32
	// Offset is the message's position in its partition: strictly
	// increasing, not necessarily contiguous (JetStream uses the stream
	// sequence, which is shared by all partitions of a topic).
	Offset int64
	// Time is when the message was stamped (by the engine on JetStream, by
	// the producer on Kafka).
	Time time.Time
	// Deliveries counts deliveries to this group including this one; 0 when
	// the engine does not tell (Kafka). > 1 means a redelivery.
	Deliveries int

	ack   func(context.Context) error
	group string
	dec   PayloadDecoder // the stream's, for Decode
}

// Ack acknowledges the message for its group: it will not be delivered to
// the group again. Ack on a message from Replay, or a second Ack, is a no-op.
// A message not acked is redelivered to the group when its member leaves or
// dies, and on JetStream also when FailoverAfter passes without an ack.
func (m *Message) Ack(ctx context.Context) error {
	if m.ack == nil {
		return nil
	}
	if err := m.ack(ctx); err != nil {
		return wrap(CodeUnavailable, "stream: acking "+m.Topic, err)
	}
	return nil
}
