// Package schemareg is the event stream's Avro encoding with a Confluent
// Schema Registry (docs/schemas.md): a registry client (Client), the
// Confluent wire format (ParseWire) and a Serde that registers the
// payload schemas at start-up and encodes and decodes typed payloads.
//
// It sits beside the stream port (internal/stream), which stays JSON-only
// and does not import it; the composition root builds a Serde when
// stream.schema_registry_url is set, from the schema table in
// internal/stream/schemareg/catalog. Without a registry the platform uses
// the port's JSON encoding, and DecodeAny reads both, so consumers keep
// working while producers migrate.
//
// What was tested where: every test here runs against schemaregtest, an
// in-process imitation of the registry's REST API written for this
// package (its compatibility checks are hamba's, not the registry's
// Java ones). No test has run against a real Confluent Schema Registry;
// TestIntegrationRegistry does when GREENLANG_TEST_SCHEMA_REGISTRY_URL is
// set.
package schemareg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/hamba/avro/v2"

	"github.com/greenlang/greenlang/internal/stream"
)

// ContentTypeAvro is the gl-content-type header of a payload in the
// Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro
// binary).
const ContentTypeAvro = "application/vnd.confluent.avro"

// Options configure a Serde.
type Options struct {
	// Namespace is the stream's namespace (stream.Options.Namespace):
	// subjects are named after the engine topic, "<namespace>.<topic>".
	// Default: none.
	Namespace string
	// Topics are the topics a schema may name; nil means
	// stream.Catalogue().
	Topics []stream.Topic
	// Client configures the registry client.
	Client ClientOptions
}

// Serde encodes and decodes payloads in the Confluent wire format with the
// schemas it registered. It is safe for concurrent use.
type Serde struct {
	client *Client
	api    avro.API
	compat *avro.SchemaCompatibility

	byType  map[typeKey]*binding
	byTopic map[string][]*binding
	all     []*binding

	mu       sync.Mutex
	writers  map[int]avro.Schema
	resolved map[resolveKey]avro.Schema
}

type typeKey struct {
	topic string
	typ   reflect.Type
}

type resolveKey struct {
	writer int
	reader *binding
}

type binding struct {
	Schema
	parsed  *avro.RecordSchema
	subject string
	id      int
}

// Registration is one registered schema.
type Registration struct {
	Topic   string
	Type    reflect.Type
	Subject string
	// ID is the registry's schema id, written into every payload.
	ID int
}

// Validate checks schemas (parse, match with their Go types, topics,
// duplicates) without a registry; New does it first.
func Validate(opts Options, schemas ...Schema) error {
	_, err := bind(opts, schemas)
	return err
}

func bind(opts Options, schemas []Schema) ([]*binding, error) {
	if opts.Topics == nil {
		opts.Topics = stream.Catalogue()
	}
	known := knownTopics(opts.Topics)
	api := newAPI()
	var out []*binding
	types := map[typeKey]bool{}
	subjects := map[string]Schema{}
	for _, s := range schemas {
		op := "schemareg: schema " + s.String()
		if s.Topic != "" && !known[s.Topic] {
			return nil, errorf(stream.CodeNotFound, op, "unknown topic %q: not in the catalogue (internal/stream/topics.go)", s.Topic)
		}
		rs, err := s.check()
		if err != nil {
			return nil, &stream.Error{Code: stream.CodeInvalidArgument, Op: op, Err: err}
		}
		k := typeKey{s.Topic, s.Type}
		if types[k] {
			return nil, errorf(stream.CodeInvalidArgument, op, "declared twice")
		}
		types[k] = true
		subject := subjectOf(s, rs, opts.Namespace)
		if prev, ok := subjects[subject]; ok {
			return nil, errorf(stream.CodeInvalidArgument, op, "subject %s is also %s's: a topic with several types needs SubjectTopicRecord", subject, prev)
		}
		subjects[subject] = s
		if err := probe(api, rs, s.Type); err != nil {
			return nil, &stream.Error{Code: stream.CodeInvalidArgument, Op: op, Err: err}
		}
		out = append(out, &binding{Schema: s, parsed: rs, subject: subject})
	}
	return out, nil
}

// probe encodes and decodes the type's zero value, so a Go field whose
// type the schema cannot carry fails at start-up rather than on the first
// event.
func probe(api avro.API, rs *avro.RecordSchema, t reflect.Type) error {
	zero := reflect.New(t)
	b, err := api.Marshal(rs, zero.Elem().Interface())
	if err != nil {
		return fmt.Errorf("the Go type %s does not fit the schema: %w", t, err)
	}
	if err := api.Unmarshal(rs, b, reflect.New(t).Interface()); err != nil {
		return fmt.Errorf("the schema does not decode into the Go type %s: %w", t, err)
	}
	return nil
}

func newAPI() avro.API {
	return avro.Config{
		TagKey: "json",
		// A payload is at most a few MiB on every engine; these bound
		// what a corrupt length prefix makes the decoder allocate.
		MaxByteSliceSize:  4 << 20,
		MaxSliceAllocSize: 4 << 20,
	}.Freeze()
}

// New registers every schema with the registry at registryURL and returns
// the Serde. See NewWithOptions.
func New(ctx context.Context, registryURL string, schemas ...Schema) (*Serde, error) {
	return NewWithOptions(ctx, registryURL, Options{}, schemas...)
}

// NewWithOptions validates the schemas, then for each one makes sure its
// subject's compatibility level includes BACKWARD (BACKWARD,
// BACKWARD_TRANSITIVE, FULL or FULL_TRANSITIVE are kept, any other level is
// set to BACKWARD) and registers it. Errors never contain the URL's
// password:
//   - a bad URL or schema: CodeInvalidArgument; a topic not in the
//     catalogue: CodeNotFound;
//   - an unreachable registry (or a 5xx): CodeUnavailable, wrapping an
//     *UnreachableError or *ResponseError;
//   - a schema the registry refuses as incompatible with the subject's
//     latest version: CodeFailedPrecondition wrapping an *IncompatibleError
//     naming topic, subject and the registry's reasons;
//   - other registry refusals (credentials, permissions): CodeFailedPrecondition.
func NewWithOptions(ctx context.Context, registryURL string, opts Options, schemas ...Schema) (*Serde, error) {
	bs, err := bind(opts, schemas)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(registryURL, opts.Client)
	if err != nil {
		return nil, &stream.Error{Code: stream.CodeInvalidArgument, Op: "schemareg: opening", Err: err}
	}
	s := &Serde{client: c, api: newAPI(), compat: avro.NewSchemaCompatibility(),
		byType: map[typeKey]*binding{}, byTopic: map[string][]*binding{}, all: bs,
		writers: map[int]avro.Schema{}, resolved: map[resolveKey]avro.Schema{}}
	for _, b := range bs {
		if err := s.register(ctx, b); err != nil {
			return nil, err
		}
		s.byType[typeKey{b.Topic, b.Type}] = b
		s.byTopic[b.Topic] = append(s.byTopic[b.Topic], b)
	}
	return s, nil
}

// IncompatibleError says the registry refused a schema because data
// written with the subject's latest version could not be read with it.
type IncompatibleError struct {
	Topic   string
	Type    reflect.Type
	Subject string
	// Level is the subject's compatibility level.
	Level string
	// Messages are the registry's reasons.
	Messages []string
}

// Error names the type, topic, subject and level and gives the
// registry's reasons, leaving out the old schema's text the registry
// quotes in full.
func (e *IncompatibleError) Error() string {
	var reasons []string
	for _, m := range e.Messages {
		if !strings.HasPrefix(m, "{oldSchema: ") {
			reasons = append(reasons, m)
		}
	}
	if len(reasons) == 0 {
		reasons = []string{"the registry gave no reason"}
	}
	return fmt.Sprintf("the schema of %s on topic %s is not %s compatible with the latest version of subject %s: %s "+
		"(a compatible change adds fields with defaults or removes fields; see docs/schemas.md)",
		e.Type, e.Topic, e.Level, e.Subject, strings.Join(reasons, "; "))
}

// impliesBackward reports whether a level checks that the new schema
// reads the latest one's data.
func impliesBackward(level string) bool {
	switch level {
	case LevelBackward, LevelBackwardTransitive, LevelFull, LevelFullTransitive:
		return true
	}
	return false
}

func (s *Serde) register(ctx context.Context, b *binding) error {
	op := fmt.Sprintf("schemareg: registering the schema of %s for topic %s under subject %s at %s", b.Type, b.Topic, b.subject, s.client.URL())
	level, _, err := s.client.CompatibilityLevel(ctx, b.subject)
	if err != nil {
		return registryErr(op+": reading the compatibility level", err)
	}
	if !impliesBackward(level) {
		if err := s.client.SetCompatibilityLevel(ctx, b.subject, LevelBackward); err != nil {
			return registryErr(fmt.Sprintf("%s: setting the compatibility level to BACKWARD (it is %s)", op, level), err)
		}
		level = LevelBackward
	}
	id, err := s.client.Register(ctx, b.subject, b.Avro)
	if IsErrorCode(err, ErrorCodeIncompatibleSchema) {
		ie := &IncompatibleError{Topic: b.Topic, Type: b.Type, Subject: b.subject, Level: level}
		if c, cerr := s.client.CheckCompatibility(ctx, b.subject, b.Avro); cerr == nil && !c.Compatible {
			ie.Messages = c.Messages
		}
		if len(ie.Messages) == 0 {
			var re *ResponseError
			errors.As(err, &re)
			ie.Messages = []string{re.Message}
		}
		return &stream.Error{Code: stream.CodeFailedPrecondition, Op: "schemareg: registering with " + s.client.URL(), Err: ie}
	}
	if err != nil {
		return registryErr(op, err)
	}
	b.id = id
	s.mu.Lock()
	s.writers[id] = b.parsed
	s.mu.Unlock()
	return nil
}

// registryErr classifies a client error with the stream port's codes.
func registryErr(op string, err error) error {
	var re *ResponseError
	var ue *UnreachableError
	switch {
	case errors.As(err, &ue):
		return &stream.Error{Code: stream.CodeUnavailable, Op: op, Err: err}
	case errors.As(err, &re) && re.StatusCode >= 500:
		return &stream.Error{Code: stream.CodeUnavailable, Op: op, Err: err}
	case errors.As(err, &re) && re.StatusCode == 404:
		return &stream.Error{Code: stream.CodeNotFound, Op: op, Err: err}
	case errors.As(err, &re) && re.ErrorCode == ErrorCodeInvalidSchema:
		return &stream.Error{Code: stream.CodeInvalidArgument, Op: op, Err: err}
	default:
		return &stream.Error{Code: stream.CodeFailedPrecondition, Op: op, Err: err}
	}
}

// Registrations lists the registered schemas in the order given to New.
func (s *Serde) Registrations() []Registration {
	out := make([]Registration, len(s.all))
	for i, b := range s.all {
		out[i] = Registration{Topic: b.Topic, Type: b.Type, Subject: b.subject, ID: b.id}
	}
	return out
}

// ContentType is the gl-content-type of the Serde's payloads,
// ContentTypeAvro.
func (s *Serde) ContentType() string { return ContentTypeAvro }

// Encode builds the message for payload v (a registered type for topic, or
// a pointer to one) in the Confluent wire format, with header
// gl-content-type ContentTypeAvro. An unregistered type is CodeNotFound
// (callers may fall back to stream.Encode); a value the schema cannot
// carry is CodeInvalidArgument.
func (s *Serde) Encode(topic, key string, v any) (*stream.Message, error) {
	op := "schemareg: encoding for " + topic
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, errorf(stream.CodeInvalidArgument, op, "nil %T", v)
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil, errorf(stream.CodeInvalidArgument, op, "nil payload")
	}
	b := s.byType[typeKey{topic, rv.Type()}]
	if b == nil {
		return nil, errorf(stream.CodeNotFound, op, "no Avro schema for %s on %s", rv.Type(), topic)
	}
	body, err := s.api.Marshal(b.parsed, rv.Interface())
	if err != nil {
		return nil, &stream.Error{Code: stream.CodeInvalidArgument, Op: op, Err: err}
	}
	value := AppendHeader(make([]byte, 0, HeaderSize+len(body)), b.id)
	value = append(value, body...)
	return &stream.Message{Topic: topic, Key: key, Value: value, Headers: map[string]string{stream.HeaderContentType: ContentTypeAvro}}, nil
}

// TranscodeJSON returns m re-encoded in the Confluent wire format when m
// is JSON (header gl-content-type application/json, or none) on a topic
// with a registered schema whose Match accepts m's headers; otherwise m
// itself, unchanged. The JSON must decode strictly (no unknown fields,
// nothing trailing) into the registered Go type; if it does not, the
// error is CodeInvalidArgument and m is not changed. The result keeps m's
// topic, key, event id and application headers; gl-schema-version is
// dropped (the schema id says it). The outbox relay's hook: the outbox
// keeps JSON, the stream gets Avro.
func (s *Serde) TranscodeJSON(m *stream.Message) (*stream.Message, error) {
	if ct, ok := m.Headers[stream.HeaderContentType]; ok && ct != stream.ContentTypeJSON {
		return m, nil
	}
	var b *binding
	for _, c := range s.byTopic[m.Topic] {
		if c.Match != nil && !c.Match(m.Headers) {
			continue
		}
		if b != nil {
			return nil, errorf(stream.CodeFailedPrecondition, "schemareg: transcoding for "+m.Topic,
				"both %s and %s match the message's headers: give them Match functions", b.Type, c.Type)
		}
		b = c
	}
	if b == nil {
		return m, nil
	}
	op := "schemareg: transcoding " + m.EventID + " for " + m.Topic
	if sv, ok := m.Headers[stream.HeaderSchemaVersion]; ok {
		n, err := strconv.Atoi(sv)
		if err != nil || n < 1 || n > versionOf(b.Type) {
			return nil, errorf(stream.CodeInvalidArgument, op, "schema version %q: this binary's %s is version %d", sv, b.Type, versionOf(b.Type))
		}
	}
	pv := reflect.New(b.Type)
	dec := json.NewDecoder(bytes.NewReader(m.Value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(pv.Interface()); err != nil {
		return nil, errorf(stream.CodeInvalidArgument, op, "the JSON payload does not decode into %s: %v", b.Type, err)
	}
	if dec.More() {
		return nil, errorf(stream.CodeInvalidArgument, op, "trailing data after the JSON value")
	}
	out, err := s.Encode(m.Topic, m.Key, pv.Interface())
	if err != nil {
		return nil, err
	}
	for k, v := range m.Headers {
		if k != stream.HeaderContentType && k != stream.HeaderSchemaVersion {
			out.Headers[k] = v
		}
	}
	out.EventID = m.EventID
	return out, nil
}

func versionOf(t reflect.Type) int {
	if sv, ok := reflect.New(t).Elem().Interface().(stream.Versioned); ok {
		return sv.SchemaVersion()
	}
	if sv, ok := reflect.New(t).Interface().(stream.Versioned); ok {
		return sv.SchemaVersion()
	}
	return 1
}

// Decode decodes m's payload, in the Confluent wire format, into a T: the
// type registered for m's topic (for a dead letter on integration.errors,
// for its gl-dlq-topic). The writer's schema is fetched by the id in the
// payload (once, then cached) and resolved against T's schema, so data
// written with an older compatible schema reads into the current type.
//
// A payload that cannot be decoded — not the wire format, truncated, an
// id the registry does not know, a writer schema T's cannot read, Avro
// that does not parse, trailing bytes — is a *stream.DecodeError (code
// CodeInvalidArgument) for the dead-letter topic. A registry that cannot
// be reached is CodeUnavailable (retry, do not dead-letter); T not
// registered for the topic is CodeFailedPrecondition (a programming error).
func Decode[T any](s *Serde, m *stream.Message) (T, error) {
	var v T
	if err := s.DecodeInto(m, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// DecodeAny decodes m by its gl-content-type header: ContentTypeAvro
// with Decode, application/json with stream.Decode. A message without the
// header is Avro when its first byte is the wire format's magic byte 0
// (JSON never starts with it: producers outside GreenLang set no header),
// JSON otherwise. s may be nil (no registry configured): Avro payloads are
// then a *stream.DecodeError saying so.
func DecodeAny[T any](s *Serde, m *stream.Message) (T, error) {
	if !isAvro(m) {
		return stream.Decode[T](m)
	}
	if s == nil {
		var zero T
		return zero, decodeErr(m, stream.HeaderContentType, "an Avro payload, but no schema registry is configured (stream.schema_registry_url)")
	}
	return Decode[T](s, m)
}

func isAvro(m *stream.Message) bool {
	ct, ok := m.Headers[stream.HeaderContentType]
	if ok {
		return ct == ContentTypeAvro
	}
	return len(m.Value) > 0 && m.Value[0] == magicByte
}

func decodeErr(m *stream.Message, field, format string, args ...any) error {
	return &stream.Error{Code: stream.CodeInvalidArgument, Err: &stream.DecodeError{Topic: m.Topic, Offset: m.Offset, Field: field, Reason: fmt.Sprintf(format, args...)}}
}

// DecodeInto is Decode into v, a non-nil pointer to a registered type;
// the stream port's hook for non-JSON payloads. Registry look-ups are
// bounded by the client's timeout.
func (s *Serde) DecodeInto(m *stream.Message, v any) error {
	pv := reflect.ValueOf(v)
	if pv.Kind() != reflect.Pointer || pv.IsNil() {
		return errorf(stream.CodeInvalidArgument, "schemareg: decoding "+m.Topic, "want a non-nil pointer, got %T", v)
	}
	if ct, ok := m.Headers[stream.HeaderContentType]; ok && ct != ContentTypeAvro {
		return decodeErr(m, stream.HeaderContentType, "content type %q is not %s", ct, ContentTypeAvro)
	}
	topic := m.Topic
	if dlq, ok := m.Headers[stream.HeaderDLQTopic]; ok && topic == stream.TopicIntegrationErrors {
		topic = dlq
	}
	reader := s.byType[typeKey{topic, pv.Type().Elem()}]
	if reader == nil {
		return errorf(stream.CodeFailedPrecondition, "schemareg: decoding "+m.Topic, "no Avro schema registered for %s on %s", pv.Type().Elem(), topic)
	}
	id, body, err := ParseWire(m.Value)
	if err != nil {
		return decodeErr(m, "", "%v", err)
	}
	sch, err := s.readerFor(id, reader)
	if err != nil {
		var de *stream.DecodeError
		if errors.As(err, &de) {
			de.Topic, de.Offset = m.Topic, m.Offset
			return &stream.Error{Code: stream.CodeInvalidArgument, Err: de}
		}
		return err
	}
	r := avro.NewReader(nil, 0, avro.WithReaderConfig(s.api))
	r.Reset(body)
	r.ReadVal(sch, v)
	if r.Error != nil {
		pv.Elem().SetZero()
		return decodeErr(m, "", "schema id %d: %v", id, r.Error)
	}
	if r.Peek(); r.Error == nil {
		pv.Elem().SetZero()
		return decodeErr(m, "", "schema id %d: trailing bytes after the Avro value", id)
	}
	return nil
}

// readerFor returns the schema that decodes data written with writer id
// into reader's type: reader's own when the writer's has the same
// canonical form, else hamba's resolution of the two (cached).
func (s *Serde) readerFor(id int, reader *binding) (avro.Schema, error) {
	s.mu.Lock()
	w, ok := s.writers[id]
	r, rok := s.resolved[resolveKey{id, reader}]
	s.mu.Unlock()
	if rok {
		return r, nil
	}
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), s.client.timeout)
		defer cancel()
		text, err := s.client.SchemaByID(ctx, id)
		if IsErrorCode(err, ErrorCodeSchemaNotFound) {
			return nil, &stream.DecodeError{Reason: fmt.Sprintf("schema id %d is not in the registry", id)}
		}
		if err != nil {
			var re *ResponseError
			if errors.As(err, &re) && re.StatusCode < 500 && re.StatusCode != 401 && re.StatusCode != 403 && re.StatusCode != 429 {
				return nil, &stream.DecodeError{Reason: fmt.Sprintf("schema id %d: %v", id, err)}
			}
			return nil, registryErr(fmt.Sprintf("schemareg: fetching schema id %d from %s", id, s.client.URL()), err)
		}
		if w, err = parseAvro(text); err != nil {
			return nil, &stream.DecodeError{Reason: fmt.Sprintf("schema id %d does not parse: %v", id, err)}
		}
		s.mu.Lock()
		s.writers[id] = w
		s.mu.Unlock()
	}
	if w.Fingerprint() == reader.parsed.Fingerprint() {
		r = reader.parsed
	} else {
		var err error
		if r, err = s.compat.Resolve(reader.parsed, w); err != nil {
			return nil, &stream.DecodeError{Reason: fmt.Sprintf("data written with schema id %d cannot be read as %s (%s): %v", id, reader.Type, reader.parsed.FullName(), err)}
		}
	}
	s.mu.Lock()
	s.resolved[resolveKey{id, reader}] = r
	s.mu.Unlock()
	return r, nil
}

func errorf(code stream.Code, op, format string, args ...any) error {
	return &stream.Error{Code: code, Op: op, Msg: fmt.Sprintf(format, args...)}
}

// Sniff reports whether a payload without a gl-content-type header is in
// the Confluent wire format (its first byte is the magic byte 0, which JSON
// never starts with); the stream port's hook for producers outside
// GreenLang that set no header.
func (s *Serde) Sniff(value []byte) bool { return len(value) > 0 && value[0] == magicByte }
