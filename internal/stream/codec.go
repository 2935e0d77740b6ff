package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Versioned is implemented by payload types whose schema has moved past
// version 1; the version travels in HeaderSchemaVersion.
type Versioned interface {
	SchemaVersion() int
}

func schemaVersion(v any) int {
	if sv, ok := v.(Versioned); ok {
		return sv.SchemaVersion()
	}
	return 1
}

// Encode builds a JSON message for v with the content-type and
// schema-version headers set.
func Encode[T any](topic, key string, v T) (*Message, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{Code: CodeInvalidArgument, Op: "stream: encoding for " + topic, Err: err}
	}
	return &Message{Topic: topic, Key: key, Value: b, Headers: map[string]string{
		HeaderContentType:   ContentTypeJSON,
		HeaderSchemaVersion: strconv.Itoa(schemaVersion(v)),
	}}, nil
}

// Publish encodes v as JSON and publishes it; it returns the event id.
func Publish[T any](ctx context.Context, s *Stream, topic, key string, v T) (string, error) {
	m, err := Encode(topic, key, v)
	if err != nil {
		return "", err
	}
	if err := s.Publish(ctx, m); err != nil {
		return "", err
	}
	return m.EventID, nil
}

// DecodeError says why a payload could not be decoded; DeadLetter records
// its text as the reason.
type DecodeError struct {
	Topic  string
	Offset int64
	// Field is the offending header or JSON field ("gl-schema-version",
	// "kg", "items.0.qty") when the decoder knows it.
	Field  string
	Reason string
}

func (e *DecodeError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("stream: decoding %s offset %d: field %s: %s", e.Topic, e.Offset, e.Field, e.Reason)
	}
	return fmt.Sprintf("stream: decoding %s offset %d: %s", e.Topic, e.Offset, e.Reason)
}

// PayloadDecoder decodes payloads of one content type other than JSON
// (schemareg.Serde: Avro in the Confluent wire format). A payload it
// cannot decode is a *DecodeError; any other error (the schema registry
// unreachable) is not the payload's fault.
type PayloadDecoder interface {
	// ContentType is the gl-content-type value the decoder reads.
	ContentType() string
	// Sniff reports whether a payload without a content-type header is
	// the decoder's (the Confluent wire format starts with byte 0).
	Sniff(value []byte) bool
	// DecodeInto decodes m's payload into v, a pointer.
	DecodeInto(m *Message, v any) error
}

// IsDecodeError reports whether err says a payload is bad (a *DecodeError):
// such input goes to the dead-letter topic, while other decoding errors
// (a schema registry that does not answer) are retried.
func IsDecodeError(err error) bool {
	var de *DecodeError
	return errors.As(err, &de)
}

// Decode decodes m's payload into a T: JSON, or the stream's
// PayloadDecoder's content type (Options.Decoder) when m carries it.
// Unknown fields, trailing data, an unknown content type or a schema
// version newer than T's are *DecodeError (and CodeInvalidArgument).
func Decode[T any](m *Message) (T, error) {
	var v T
	fail := func(field, format string, args ...any) (T, error) {
		var zero T
		de := &DecodeError{Topic: m.Topic, Offset: m.Offset, Field: field, Reason: fmt.Sprintf(format, args...)}
		return zero, &Error{Code: CodeInvalidArgument, Err: de}
	}
	ct, hasCT := m.Headers[HeaderContentType]
	if m.dec != nil && (ct == m.dec.ContentType() || !hasCT && m.dec.Sniff(m.Value)) {
		if err := m.dec.DecodeInto(m, &v); err != nil {
			var zero T
			return zero, err
		}
		return v, nil
	}
	if hasCT && ct != ContentTypeJSON {
		return fail(HeaderContentType, "content type %q is not %s", ct, ContentTypeJSON)
	}
	if sv, ok := m.Headers[HeaderSchemaVersion]; ok {
		n, err := strconv.Atoi(sv)
		if err != nil || n < 1 {
			return fail(HeaderSchemaVersion, "schema version %q is not a positive number", sv)
		}
		if want := schemaVersion(v); n > want {
			return fail(HeaderSchemaVersion, "schema version %d is newer than this consumer's %d", n, want)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(m.Value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fail(te.Field, "%v", err)
		}
		if f, ok := unknownField(err); ok {
			return fail(f, "%v", err)
		}
		if errors.Is(err, io.EOF) {
			return fail("", "empty payload")
		}
		if f := failingField[T](m.Value); f != "" {
			return fail(f, "%v", err)
		}
		return fail("", "%v", err)
	}
	if dec.More() {
		return fail("", "trailing data after the JSON value")
	}
	return v, nil
}

// failingField names the top-level field of a JSON object that does not
// decode into a T on its own, for errors that name none (a field type's
// own UnmarshalJSON, such as a decimal's, does not say which field it
// was); "" when no single field fails. Only called on the error path.
func failingField[T any](payload []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(payload, &obj) != nil {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		one, err := json.Marshal(map[string]json.RawMessage{k: obj[k]})
		if err != nil {
			continue
		}
		var v T
		if json.Unmarshal(one, &v) != nil {
			return k
		}
	}
	return ""
}

// unknownField extracts the name from encoding/json's unknown-field error.
func unknownField(err error) (string, bool) {
	const prefix = "json: unknown field "
	s := err.Error()
	if !strings.HasPrefix(s, prefix) {
		return "", false
	}
	f, uerr := strconv.Unquote(s[len(prefix):])
	return f, uerr == nil
}

// DeadLetter publishes m unchanged (payload, key, headers) to
// integration.errors with the reason and m's origin in headers, then acks m
// so the consumer carries on. The dead letter is published before the ack:
// a crash in between leaves a duplicate dead letter, never a lost one.
func (s *Stream) DeadLetter(ctx context.Context, m *Message, reason error) error {
	h := make(map[string]string, len(m.Headers)+5)
	for k, v := range m.Headers {
		h[k] = v
	}
	h[HeaderDLQReason] = reason.Error()
	h[HeaderDLQTopic] = m.Topic
	h[HeaderDLQPartition] = strconv.Itoa(int(m.Partition))
	h[HeaderDLQOffset] = strconv.FormatInt(m.Offset, 10)
	if m.group != "" {
		h[HeaderDLQGroup] = m.group
	}
	delete(h, HeaderEventID)
	// The id is derived from the input's and the group's, so a redelivered
	// input's dead letter is a duplicate the engine and consumers drop,
	// while two groups dead-lettering one input leave two dead letters.
	// An input without an event id (published outside the port) is
	// named by its position, so two such inputs do not share one id.
	src := m.EventID
	if src == "" {
		src = m.Topic + "/" + strconv.Itoa(int(m.Partition)) + "/" + strconv.FormatInt(m.Offset, 10)
	}
	id := src + ".dlq"
	if m.group != "" {
		id += "." + m.group
	}
	dl := &Message{Topic: TopicIntegrationErrors, Key: m.Key, Value: m.Value, Headers: h, EventID: id}
	if err := s.Publish(ctx, dl); err != nil {
		return fmt.Errorf("stream: dead-lettering %s offset %d: %w", m.Topic, m.Offset, err)
	}
	s.log.Warn("stream: message dead-lettered", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "event_id", m.EventID, "reason", reason.Error())
	return m.Ack(ctx)
}

// DecodeOrDeadLetter decodes m; when the payload is bad it dead-letters m
// (see DeadLetter) and returns ok=false with a nil error, so the caller
// simply moves on to the next message. err is set when dead-lettering
// itself failed or decoding failed for another reason than the payload (a
// schema registry that does not answer); m is then not acked and will be
// delivered again.
func DecodeOrDeadLetter[T any](ctx context.Context, s *Stream, m *Message) (v T, ok bool, err error) {
	v, derr := Decode[T](m)
	if derr == nil {
		return v, true, nil
	}
	if !IsDecodeError(derr) {
		return v, false, derr // not the payload's fault: retry it later
	}
	return v, false, s.DeadLetter(ctx, m, derr)
}
