package schemareg_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/schemareg"
	"github.com/greenlang/greenlang/internal/stream/schemareg/schemaregtest"
)

func fake(t *testing.T, opts ...schemaregtest.Option) *schemaregtest.Server {
	t.Helper()
	reg := schemaregtest.New(opts...)
	t.Cleanup(reg.Close)
	return reg
}

func isDecodeError(err error) (*stream.DecodeError, bool) {
	var de *stream.DecodeError
	return de, errors.As(err, &de) && errors.Is(err, stream.ErrInvalidArgument)
}

// TestRegistryState checks what New leaves in the registry: one version
// per distinct schema, BACKWARD set only where the level was weaker.
func TestRegistryState(t *testing.T) {
	t.Parallel()
	reg := fake(t)
	open(t, reg.URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	open(t, reg.URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	subject := topic + "-value"
	if v := reg.Versions(subject); len(v) != 1 {
		t.Fatalf("versions after registering one schema twice: %v", v)
	}
	if reg.Level(subject) != "" {
		t.Fatalf("the global BACKWARD level was copied to the subject: %q", reg.Level(subject))
	}
	open(t, reg.URL(), "", schemareg.For[ReadingV2](topic, readingV2))
	if v := reg.Versions(subject); len(v) != 2 || v[0] == v[1] {
		t.Fatalf("versions after an evolution: %v", v)
	}
	if _, err := schemareg.New(context.Background(), reg.URL(), schemareg.For[ReadingNoDefault](topic, readingNoDefault)); err == nil {
		t.Fatal("accepted")
	}
	if v := reg.Versions(subject); len(v) != 2 {
		t.Fatalf("a refused schema was stored: %v", v)
	}

	none := fake(t, schemaregtest.WithGlobalLevel(schemareg.LevelNone))
	open(t, none.URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	if none.Level(subject) != schemareg.LevelBackward {
		t.Fatalf("under a global NONE the subject's level is %q", none.Level(subject))
	}
}

func TestRoundTripAndHeaders(t *testing.T) {
	t.Parallel()
	reg := fake(t)
	s := open(t, reg.URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	m, err := s.Encode(topic, "meter-7", &r1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Topic != topic || m.Key != "meter-7" || len(m.Headers) != 1 || m.Headers[stream.HeaderContentType] != schemareg.ContentTypeAvro {
		t.Fatalf("message %+v", m)
	}
	id := s.Registrations()[0].ID
	if want := schemareg.AppendHeader(nil, id); !bytes.Equal(m.Value[:5], want) || m.Value[0] != 0 {
		t.Fatalf("prefix %x, want %x", m.Value[:5], want)
	}
	got, err := schemareg.Decode[ReadingV1](s, m)
	if err != nil || !equalV1(got, r1) {
		t.Fatalf("decoded %+v %v", got, err)
	}
	// A consumer of another process fetches the writer's schema once.
	other := open(t, reg.URL(), "", schemareg.For[ReadingV2](topic, readingV2))
	before := reg.Requests("GET /schemas/ids/{id}")
	for range 3 {
		if _, err := schemareg.Decode[ReadingV2](other, m); err != nil {
			t.Fatal(err)
		}
	}
	if n := reg.Requests("GET /schemas/ids/{id}") - before; n != 1 {
		t.Fatalf("%d look-ups of one id", n)
	}
	// Encode refuses what it has no schema for.
	if _, err := s.Encode(stream.TopicEmissionsRaw, "", r1); !errors.Is(err, stream.ErrNotFound) {
		t.Fatalf("another topic: %v", err)
	}
	if _, err := s.Encode(topic, "", (*ReadingV1)(nil)); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Fatalf("nil: %v", err)
	}
	// Decoding into a type not registered for the topic is a programming
	// error, not a bad message.
	if _, err := schemareg.Decode[ReadingV2](s, m); !errors.Is(err, stream.ErrFailedPrecondition) {
		t.Fatalf("unregistered type: %v", err)
	} else if _, ok := isDecodeError(err); ok {
		t.Fatal("an unregistered type is a DecodeError: the message would be dead-lettered")
	}
}

// TestTimes documents the timestamp-micros mapping: sub-microsecond
// digits are dropped (toward the past) and the zone becomes UTC, the
// instant otherwise unchanged; Go's zero time survives.
func TestTimes(t *testing.T) {
	t.Parallel()
	s := open(t, fake(t).URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	berlin := time.FixedZone("CET", 3600)
	for _, c := range []struct{ in, want time.Time }{
		{time.Date(2025, 3, 1, 11, 0, 0, 123456789, berlin), time.Date(2025, 3, 1, 10, 0, 0, 123456000, time.UTC)},
		{time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{time.Time{}, time.Time{}},
	} {
		v := r1
		v.At = c.in
		m, err := s.Encode(topic, "", v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := schemareg.Decode[ReadingV1](s, m)
		if err != nil {
			t.Fatal(err)
		}
		if got.At != c.want {
			t.Errorf("%v came back as %v, want %v", c.in, got.At, c.want)
		}
	}
}

// TestDecodeErrors: every malformed payload is a *stream.DecodeError
// naming topic and offset, for the dead-letter topic.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	reg := fake(t)
	s := open(t, reg.URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	other := open(t, reg.URL(), "", schemareg.For[ReadingV1](stream.TopicIoTDeviceStatus,
		strings.Replace(readingV1, `"name": "Reading"`, `"name": "Status"`, 1)))
	good, err := s.Encode(topic, "", r1)
	if err != nil {
		t.Fatal(err)
	}
	status, err := other.Encode(stream.TopicIoTDeviceStatus, "", r1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		value   []byte
		headers map[string]string
		reason  string
	}{
		{"empty", nil, nil, "empty payload"},
		{"JSON", []byte(`{"id":"x"}`), map[string]string{stream.HeaderContentType: schemareg.ContentTypeAvro}, "magic byte 0x7b"},
		{"short prefix", []byte{0, 0, 1}, nil, "truncated: 3 bytes"},
		{"negative id", []byte{0, 0xff, 0xff, 0xff, 0xff}, nil, "schema id -1 is negative"},
		{"unknown id", schemareg.AppendHeader(nil, 4242), nil, "schema id 4242 is not in the registry"},
		{"truncated body", good.Value[:len(good.Value)-3], nil, "schema id"},
		{"trailing bytes", append(bytes.Clone(good.Value), 0), nil, "trailing bytes"},
		{"another record", status.Value, nil, "cannot be read as schemareg_test.ReadingV1"},
		{"bad uuid", append(schemareg.AppendHeader(nil, s.Registrations()[0].ID), 2, 'x'), nil, "schema id"},
		{"other content type", good.Value, map[string]string{stream.HeaderContentType: "application/x-protobuf"}, "content type"},
	} {
		m := &stream.Message{Topic: topic, Offset: 77, Value: c.value, Headers: c.headers}
		_, err := schemareg.Decode[ReadingV1](s, m)
		de, ok := isDecodeError(err)
		if !ok {
			t.Errorf("%s: %v is not a DecodeError", c.name, err)
			continue
		}
		if de.Topic != topic || de.Offset != 77 || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v; want topic, offset and %q", c.name, err, c.reason)
		}
	}
}

// TestDecodeAny: one consumer reads JSON and Avro during a migration.
func TestDecodeAny(t *testing.T) {
	t.Parallel()
	s := open(t, fake(t).URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	js, err := stream.Encode(topic, "meter-7", r1)
	if err != nil {
		t.Fatal(err)
	}
	av, err := s.Encode(topic, "meter-7", r1)
	if err != nil {
		t.Fatal(err)
	}
	bare := &stream.Message{Topic: topic, Value: av.Value} // a producer outside GreenLang: no header
	bareJSON := &stream.Message{Topic: topic, Value: js.Value}
	for name, m := range map[string]*stream.Message{"JSON": js, "Avro": av, "Avro without header": bare, "JSON without header": bareJSON} {
		got, err := schemareg.DecodeAny[ReadingV1](s, m)
		if err != nil || !equalV1(got, r1) {
			t.Errorf("%s: %+v %v", name, got, err)
		}
	}
	// Without a registry JSON still decodes and Avro is a DecodeError.
	if _, err := schemareg.DecodeAny[ReadingV1](nil, js); err != nil {
		t.Errorf("JSON without a registry: %v", err)
	}
	if _, err := schemareg.DecodeAny[ReadingV1](nil, av); err == nil || !strings.Contains(err.Error(), "no schema registry is configured") {
		t.Errorf("Avro without a registry: %v", err)
	} else if _, ok := isDecodeError(err); !ok {
		t.Errorf("Avro without a registry: %v is not a DecodeError", err)
	}
	// A JSON-only consumer refuses Avro with a DecodeError too.
	if _, err := stream.Decode[ReadingV1](av); err == nil {
		t.Error("stream.Decode read Avro")
	}
	// A dead letter decodes with its original topic's schema.
	dl := &stream.Message{Topic: stream.TopicIntegrationErrors, Value: av.Value, Headers: map[string]string{
		stream.HeaderContentType: schemareg.ContentTypeAvro, stream.HeaderDLQTopic: topic}}
	if got, err := schemareg.DecodeAny[ReadingV1](s, dl); err != nil || !equalV1(got, r1) {
		t.Errorf("dead letter: %+v %v", got, err)
	}
}

func TestTranscodeJSON(t *testing.T) {
	t.Parallel()
	s := open(t, fake(t).URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	js, err := stream.Encode(topic, "meter-7", r1)
	if err != nil {
		t.Fatal(err)
	}
	js.EventID = "ev-1"
	js.Headers["source"] = "plant-7"
	out, err := s.TranscodeJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if out == js || out.EventID != "ev-1" || out.Key != "meter-7" || out.Topic != topic || out.Headers["source"] != "plant-7" ||
		out.Headers[stream.HeaderContentType] != schemareg.ContentTypeAvro || out.Headers[stream.HeaderSchemaVersion] != "" {
		t.Fatalf("transcoded %+v", out)
	}
	if js.Headers[stream.HeaderContentType] != stream.ContentTypeJSON {
		t.Fatal("the original message changed")
	}
	if got, err := schemareg.Decode[ReadingV1](s, out); err != nil || !equalV1(got, r1) {
		t.Fatalf("decoded %+v %v", got, err)
	}
	// Topics without a schema and Avro messages pass unchanged.
	raw := &stream.Message{Topic: stream.TopicAuditEvents, Value: []byte(`{}`), Headers: map[string]string{stream.HeaderContentType: stream.ContentTypeJSON}}
	for _, m := range []*stream.Message{raw, out} {
		if got, err := s.TranscodeJSON(m); err != nil || got != m {
			t.Errorf("%s: %v %v", m.Topic, got, err)
		}
	}
	// JSON that does not fit the type is refused, not guessed at.
	for name, value := range map[string]string{"unknown field": `{"id":"` + id1.String() + `","extra":1}`, "bad uuid": `{"id":"x"}`, "trailing": `{} {}`} {
		m := &stream.Message{Topic: topic, Value: []byte(value), Headers: map[string]string{stream.HeaderContentType: stream.ContentTypeJSON}}
		if _, err := s.TranscodeJSON(m); !errors.Is(err, stream.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	newer := &stream.Message{Topic: topic, Value: js.Value, Headers: map[string]string{stream.HeaderContentType: stream.ContentTypeJSON, stream.HeaderSchemaVersion: "2"}}
	if _, err := s.TranscodeJSON(newer); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Errorf("a newer schema version: %v", err)
	}
}

// TestMatch: a topic with two types picks one by the headers; two that
// match is an error rather than a guess.
func TestMatch(t *testing.T) {
	t.Parallel()
	reg := fake(t)
	status := strings.Replace(readingV2, `"name": "Reading"`, `"name": "Status"`, 1)
	kind := func(k string) func(map[string]string) bool {
		return func(h map[string]string) bool { return h["kind"] == k }
	}
	a := schemareg.Schema{Topic: topic, Type: reflect.TypeFor[ReadingV1](), Avro: readingV1, Strategy: schemareg.SubjectTopicRecord, Match: kind("reading")}
	b := schemareg.Schema{Topic: topic, Type: reflect.TypeFor[ReadingV2](), Avro: status, Strategy: schemareg.SubjectTopicRecord, Match: kind("status")}
	s := open(t, reg.URL(), "", a, b)
	if got := s.Registrations(); got[0].Subject != topic+"-greenlang.test.Reading" || got[1].Subject != topic+"-greenlang.test.Status" {
		t.Fatalf("subjects %+v", got)
	}
	js, err := stream.Encode(topic, "", ReadingV2{ID: id1, Unit: "t"})
	if err != nil {
		t.Fatal(err)
	}
	js.Headers["kind"] = "status"
	out, err := s.TranscodeJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := schemareg.Decode[ReadingV2](s, out); err != nil || v.Unit != "t" {
		t.Fatalf("%+v %v", v, err)
	}
	a.Match, b.Match = nil, nil
	both := open(t, reg.URL(), "", a, b)
	if _, err := both.TranscodeJSON(js); !errors.Is(err, stream.ErrFailedPrecondition) {
		t.Fatalf("two matches: %v", err)
	}
	// Two types under one <topic>-value subject is refused before asking the registry.
	a.Strategy, b.Strategy = schemareg.SubjectTopic, schemareg.SubjectTopic
	if err := schemareg.Validate(schemareg.Options{}, a, b); err == nil || !strings.Contains(err.Error(), "SubjectTopicRecord") {
		t.Fatalf("one subject for two types: %v", err)
	}
}

// TestValidate: mistakes in the schema table fail at start-up, before
// the registry is asked.
func TestValidate(t *testing.T) {
	t.Parallel()
	type Extra struct {
		ReadingV1Fields
		Note string `json:"note"`
	}
	type WithNote struct {
		ID     string          `json:"id"`
		Device string          `json:"device"`
		Value  decimal.Decimal `json:"value"`
		At     time.Time       `json:"at"`
		Note   string          `json:"note"`
	}
	type WrongType struct {
		ID     string    `json:"id"`
		Device string    `json:"device"`
		Value  float64   `json:"value"`
		At     time.Time `json:"at"`
	}
	for _, c := range []struct {
		name   string
		schema schemareg.Schema
		code   stream.Code
		want   string
	}{
		{"unknown topic", schemareg.For[ReadingV1]("iot.nope", readingV1), stream.CodeNotFound, `unknown topic "iot.nope"`},
		{"bad JSON", schemareg.For[ReadingV1](topic, `{"type":`), stream.CodeInvalidArgument, "parsing the Avro schema"},
		{"not a record", schemareg.For[ReadingV1](topic, `"string"`), stream.CodeInvalidArgument, "not a record"},
		{"Go field missing from the schema", schemareg.For[WithNote](topic, readingV1), stream.CodeInvalidArgument, `field "note"`},
		{"schema field missing from the Go type", schemareg.For[ReadingV1](topic, readingNoDefault), stream.CodeInvalidArgument, `"site"`},
		{"a type the schema cannot carry", schemareg.For[WrongType](topic, readingV1), stream.CodeInvalidArgument, "does not fit"},
		{"embedded struct", schemareg.For[Extra](topic, readingV1), stream.CodeInvalidArgument, "embedding"},
		{"pointer type", schemareg.For[*ReadingV1](topic, readingV1), stream.CodeInvalidArgument, "not a struct"},
	} {
		err := schemareg.Validate(schemareg.Options{}, c.schema)
		if stream.CodeOf(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %v and %q", c.name, err, c.code, c.want)
		}
	}
	if err := schemareg.Validate(schemareg.Options{}, schemareg.For[ReadingV1](topic, readingV1), schemareg.For[ReadingV1](topic, readingV1)); err == nil {
		t.Error("a schema declared twice")
	}
	// The same checks run in New, before any request.
	if _, err := schemareg.New(context.Background(), "http://127.0.0.1:1", schemareg.For[ReadingV1]("iot.nope", readingV1)); !errors.Is(err, stream.ErrNotFound) {
		t.Errorf("New with an unknown topic: %v", err)
	}
}

// ReadingV1Fields is embedded by TestValidate's Extra.
type ReadingV1Fields struct {
	ID string `json:"id"`
}

// TestUnreachable: a registry that cannot be reached fails New clearly
// (CodeUnavailable, the URL without its password) and fails decoding as
// retryable, not as a bad message.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = schemareg.New(context.Background(), "http://svc:s3cr3t-pw@"+addr, schemareg.For[ReadingV1](topic, readingV1))
	var ue *schemareg.UnreachableError
	if !errors.Is(err, stream.ErrUnavailable) || !errors.As(err, &ue) {
		t.Fatalf("unreachable: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, "http://"+addr+" is unreachable") || !strings.Contains(msg, "refused") {
		t.Fatalf("message: %s", msg)
	}
	t.Log(err)

	// The registry goes away after start-up: a new writer id cannot be
	// fetched, which is retryable (CodeUnavailable), never a DecodeError.
	reg := schemaregtest.New()
	s := open(t, reg.URL(), "", schemareg.For[ReadingV1](topic, readingV1))
	v2 := open(t, reg.URL(), "", schemareg.For[ReadingV2](topic, readingV2))
	m, err := v2.Encode(topic, "", ReadingV2{ID: id1})
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	_, err = schemareg.Decode[ReadingV1](s, m)
	if _, ok := isDecodeError(err); ok || !errors.Is(err, stream.ErrUnavailable) {
		t.Fatalf("registry down at decode: %v", err)
	}
	// Ids seen before still decode.
	own, err := s.Encode(topic, "", r1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schemareg.Decode[ReadingV1](s, own); err != nil {
		t.Fatalf("a cached id with the registry down: %v", err)
	}
}

// TestRegistryFailures: timeouts, server errors and refused credentials
// at start-up.
func TestRegistryFailures(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	_, err := schemareg.NewWithOptions(context.Background(), hang.URL, schemareg.Options{Client: schemareg.ClientOptions{Timeout: 100 * time.Millisecond}},
		schemareg.For[ReadingV1](topic, readingV1))
	if !errors.Is(err, stream.ErrUnavailable) || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("timeout: %v", err)
	}

	reg := fake(t)
	var fail atomic.Bool
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
			return
		}
		reg.Handler().ServeHTTP(w, r)
	}))
	defer flaky.Close()
	fail.Store(true)
	_, err = schemareg.New(context.Background(), flaky.URL, schemareg.For[ReadingV1](topic, readingV1))
	var re *schemareg.ResponseError
	if !errors.Is(err, stream.ErrUnavailable) || !errors.As(err, &re) || re.StatusCode != 502 || !strings.Contains(err.Error(), "bad gateway") {
		t.Fatalf("502: %v", err)
	}

	auth := fake(t, schemaregtest.WithBasicAuth("svc", "pa:ss@word"))
	u := strings.Replace(auth.URL(), "http://", "http://svc:pa%3Ass%40word@", 1)
	if _, err := schemareg.New(context.Background(), u, schemareg.For[ReadingV1](topic, readingV1)); err != nil {
		t.Fatalf("basic auth: %v", err)
	}
	wrong := strings.Replace(auth.URL(), "http://", "http://svc:wrong-secret@", 1)
	_, err = schemareg.New(context.Background(), wrong, schemareg.For[ReadingV1](topic, readingV1))
	if !errors.Is(err, stream.ErrFailedPrecondition) || !errors.As(err, &re) || re.StatusCode != 401 || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("wrong password: %v", err)
	}
}
