package stream_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/driver"
)

// TestPartitionForMatchesKafka compares PartitionFor with franz-go's
// sticky-key partitioner with its default hasher, which is the Java
// client's default (murmur2, positive, modulo n).
func TestPartitionForMatchesKafka(t *testing.T) {
	kafka := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	keys := []string{"", "a", "ab", "abc", "abcd", "site-01", "plant/7 ü.*>", strings.Repeat("x", 257)}
	for i := 0; i < 500; i++ {
		keys = append(keys, fmt.Sprintf("key-%d-%x", i, i*7919))
	}
	for _, n := range []int32{1, 3, 6, 12, 1024} {
		for _, k := range keys {
			if k == "" {
				continue // franz-go picks a sticky partition for nil keys
			}
			want := int32(kafka.Partition(&kgo.Record{Key: []byte(k)}, int(n)))
			if got := stream.PartitionFor([]byte(k), n); got != want {
				t.Fatalf("PartitionFor(%q, %d) = %d, franz-go (Kafka default) = %d", k, n, got, want)
			}
		}
	}
	// Two keys the Java client documents by hand: murmur2 of "21" is
	// -973932308, positive 1173551340; of "foobar" -790332482 -> 1357151166.
	if got := stream.PartitionFor([]byte("21"), 12); got != 1173551340%12 {
		t.Fatalf("PartitionFor(21, 12) = %d, want %d", got, 1173551340%12)
	}
	if got := stream.PartitionFor([]byte("foobar"), 7); got != 1357151166%7 {
		t.Fatalf("PartitionFor(foobar, 7) = %d, want %d", got, 1357151166%7)
	}
}

// fakeDriver records what the port hands to the engine.
type fakeDriver struct {
	mu   sync.Mutex
	sent []*driver.Message
	subs []driver.SubscribeParams
	recv chan *driver.Message
}

func (f *fakeDriver) Name() string { return "fake" }
func (f *fakeDriver) EnsureTopics(context.Context, []driver.Topic) ([]driver.Change, error) {
	return nil, nil
}
func (f *fakeDriver) Publish(_ context.Context, msgs []*driver.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, msgs...)
	return nil
}
func (f *fakeDriver) Subscribe(_ context.Context, p driver.SubscribeParams) (driver.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, p)
	return fakeSub{f.recv}, nil
}
func (f *fakeDriver) Read(context.Context, driver.ReadParams) (driver.Subscription, error) {
	return fakeSub{f.recv}, nil
}
func (f *fakeDriver) Lag(context.Context, string, driver.Topic) (int64, error) { return 0, nil }
func (f *fakeDriver) Close() error                                             { return nil }

type fakeSub struct{ ch chan *driver.Message }

func (s fakeSub) Receive(ctx context.Context) (*driver.Message, error) {
	select {
	case m := <-s.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
func (s fakeSub) Close() error { return nil }

func newFake(t *testing.T, ns string) (*stream.Stream, *fakeDriver) {
	t.Helper()
	f := &fakeDriver{recv: make(chan *driver.Message, 10)}
	s := stream.New(f, stream.Options{Namespace: ns})
	t.Cleanup(func() { _ = s.Close() })
	return s, f
}

func TestPublishHeaderConventions(t *testing.T) {
	ctx := context.Background()
	s, f := newFake(t, "ns1")
	in := []*stream.Message{
		{Topic: stream.TopicEmissionsRaw, Key: "site-1", Value: []byte(`{}`), Headers: map[string]string{"tenant": "t1"}},
		{Topic: stream.TopicEmissionsRaw, Key: "site-1", Value: []byte(`{}`), EventID: "chosen"},
		{Topic: stream.TopicIoTAlerts, Value: []byte(`{}`)},
		{Topic: stream.TopicIoTAlerts, Value: []byte(`{}`)},
	}
	if err := s.PublishBatch(ctx, in); err != nil {
		t.Fatal(err)
	}
	if len(f.sent) != len(in) {
		t.Fatalf("driver got %d messages, want %d", len(f.sent), len(in))
	}
	id, err := uuid.Parse(in[0].EventID)
	if err != nil || id.Version() != 7 {
		t.Fatalf("generated event id %q: want a UUIDv7 (%v)", in[0].EventID, err)
	}
	if in[1].EventID != "chosen" {
		t.Fatalf("caller's event id replaced by %q", in[1].EventID)
	}
	for i, dm := range f.sent {
		// The driver sends EventID as the event-id header; the headers it
		// is given leave it out or agree.
		if h, ok := dm.Headers[stream.HeaderEventID]; dm.EventID != in[i].EventID || (ok && h != in[i].EventID) {
			t.Fatalf("message %d: driver event id %q header %q, want %q", i, dm.EventID, h, in[i].EventID)
		}
		if !strings.HasPrefix(dm.Topic, "ns1.") {
			t.Fatalf("message %d: engine topic %q not namespaced", i, dm.Topic)
		}
	}
	if f.sent[0].Headers["tenant"] != "t1" {
		t.Fatalf("application header lost: %v", f.sent[0].Headers)
	}
	if _, ok := in[0].Headers[stream.HeaderEventID]; ok {
		t.Fatalf("the caller's header map was modified: %v", in[0].Headers)
	}
	if want := stream.PartitionFor([]byte("site-1"), 12); f.sent[0].Partition != want || f.sent[1].Partition != want {
		t.Fatalf("keyed partitions %d,%d, want %d", f.sent[0].Partition, f.sent[1].Partition, want)
	}
	if f.sent[2].Partition == f.sent[3].Partition {
		t.Fatalf("keyless messages both on partition %d: want round robin", f.sent[2].Partition)
	}
	for _, p := range []int32{f.sent[2].Partition, f.sent[3].Partition} {
		if p < 0 || p >= 3 {
			t.Fatalf("keyless partition %d out of 0..2", p)
		}
	}

	// Rejected batches send nothing.
	before := len(f.sent)
	for name, bad := range map[string]*stream.Message{
		"reserved header": {Topic: stream.TopicEmissionsRaw, Value: []byte(`{}`), Headers: map[string]string{"gl-mine": "x"}},
		"empty header":    {Topic: stream.TopicEmissionsRaw, Value: []byte(`{}`), Headers: map[string]string{"": "x"}},
	} {
		err := s.PublishBatch(ctx, []*stream.Message{{Topic: stream.TopicEmissionsRaw, Value: []byte(`{}`)}, bad})
		if !errors.Is(err, stream.ErrInvalidArgument) {
			t.Fatalf("%s: %v, want ErrInvalidArgument", name, err)
		}
	}
	if err := s.PublishBatch(ctx, []*stream.Message{nil}); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Fatalf("nil message: %v, want ErrInvalidArgument", err)
	}
	if len(f.sent) != before {
		t.Fatalf("rejected batches sent %d messages", len(f.sent)-before)
	}
	// The port's own gl- headers pass (Encode sets two of them).
	m, err := stream.Encode(stream.TopicEmissionsRaw, "k", struct{ A int }{1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, m); err != nil {
		t.Fatalf("publishing an encoded message: %v", err)
	}
	// A caller's own event-id header that disagrees with the message's
	// event id is replaced, in a copy.
	f.sent = nil
	own := map[string]string{stream.HeaderEventID: "stale", "tenant": "t2"}
	if err := s.PublishBatch(ctx, []*stream.Message{{Topic: stream.TopicIoTAlerts, Value: []byte(`{}`), EventID: "fresh", Headers: own}}); err != nil {
		t.Fatal(err)
	}
	if h := f.sent[0].Headers; h[stream.HeaderEventID] != "fresh" || h["tenant"] != "t2" || own[stream.HeaderEventID] != "stale" {
		t.Fatalf("driver headers %v, caller's %v", h, own)
	}
}

func TestSubscribeValidatesAndNamespaces(t *testing.T) {
	ctx := context.Background()
	s, f := newFake(t, "ns1")
	if _, err := s.Subscribe(ctx, stream.TopicEmissionsRaw, "Bad Group", stream.SubscribeOptions{}); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Fatalf("bad group name: %v", err)
	}
	if _, err := s.Subscribe(ctx, stream.TopicEmissionsRaw, "g", stream.SubscribeOptions{FailoverAfter: time.Millisecond}); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Fatalf("tiny FailoverAfter: %v", err)
	}
	sub, err := s.Subscribe(ctx, stream.TopicEmissionsRaw, "g", stream.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := f.subs[0]; p.Group != "ns1-g" || p.Topic.Name != "ns1."+stream.TopicEmissionsRaw || p.FailoverAfter != 30*time.Second {
		t.Fatalf("driver params %+v", p)
	}
	acked := 0
	f.recv <- &driver.Message{Topic: "ns1.emissions.raw", Key: []byte("k"), Value: []byte("v"), Headers: map[string]string{stream.HeaderEventID: "e1"},
		Ack: func(context.Context) error { acked++; return nil }}
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Topic != stream.TopicEmissionsRaw || m.EventID != "e1" || m.Key != "k" || sub.Group() != "g" {
		t.Fatalf("received %+v", m)
	}
	if err := m.Ack(ctx); err != nil || acked != 1 {
		t.Fatalf("ack: %v, driver acks %d", err, acked)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, &stream.Message{Topic: stream.TopicEmissionsRaw}); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}

type v1 struct {
	Site string  `json:"site"`
	KG   float64 `json:"kg"`
}

type v2 struct {
	Site  string  `json:"site"`
	KG    float64 `json:"kg"`
	Scope int     `json:"scope"`
}

func (v2) SchemaVersion() int { return 2 }

func TestCodecRoundTrip(t *testing.T) {
	in := v2{Site: "plant-1", KG: 12.5, Scope: 3}
	m, err := stream.Encode(stream.TopicEmissionsRaw, "plant-1", in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Headers[stream.HeaderContentType] != stream.ContentTypeJSON || m.Headers[stream.HeaderSchemaVersion] != "2" || m.Key != "plant-1" {
		t.Fatalf("encoded headers %v key %q", m.Headers, m.Key)
	}
	out, err := stream.Decode[v2](m)
	if err != nil || out != in {
		t.Fatalf("round trip: %+v, %v; want %+v", out, err, in)
	}
	m1, _ := stream.Encode(stream.TopicEmissionsRaw, "k", v1{Site: "s", KG: 1})
	if m1.Headers[stream.HeaderSchemaVersion] != "1" {
		t.Fatalf("unversioned type: schema version %q, want 1", m1.Headers[stream.HeaderSchemaVersion])
	}
	// An older producer's payload decodes into the newer type.
	if got, err := stream.Decode[v2](m1); err != nil || got.Site != "s" {
		t.Fatalf("v1 payload into v2: %+v, %v", got, err)
	}
	if _, err := stream.Encode(stream.TopicEmissionsRaw, "k", func() {}); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Fatalf("encoding a func: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	base := func(value string, h map[string]string) *stream.Message {
		return &stream.Message{Topic: stream.TopicEmissionsRaw, Offset: 42, Value: []byte(value), Headers: h}
	}
	for _, tc := range []struct {
		name  string
		m     *stream.Message
		field string
		text  string
	}{
		{"newer schema", base(`{"site":"a"}`, map[string]string{stream.HeaderSchemaVersion: "2"}), stream.HeaderSchemaVersion, "newer"},
		{"bad schema", base(`{"site":"a"}`, map[string]string{stream.HeaderSchemaVersion: "x"}), stream.HeaderSchemaVersion, "positive"},
		{"content type", base(`{}`, map[string]string{stream.HeaderContentType: "avro/binary"}), stream.HeaderContentType, "avro"},
		{"wrong type", base(`{"site":"a","kg":"lots"}`, nil), "kg", "float64"},
		{"unknown field", base(`{"site":"a","tons":1}`, nil), "tons", "unknown"},
		{"trailing", base(`{"site":"a"} {}`, nil), "", "trailing"},
		{"empty", base(``, nil), "", "empty"},
		{"syntax", base(`{"site":`, nil), "", "unexpected"},
	} {
		_, err := stream.Decode[v1](tc.m)
		var de *stream.DecodeError
		if !errors.As(err, &de) || !errors.Is(err, stream.ErrInvalidArgument) {
			t.Fatalf("%s: %v, want a *DecodeError with CodeInvalidArgument", tc.name, err)
		}
		if de.Topic != stream.TopicEmissionsRaw || de.Offset != 42 || de.Field != tc.field {
			t.Fatalf("%s: topic %q offset %d field %q, want field %q", tc.name, de.Topic, de.Offset, de.Field, tc.field)
		}
		msg := err.Error()
		if !strings.Contains(msg, stream.TopicEmissionsRaw) || !strings.Contains(msg, "offset 42") || !strings.Contains(msg, tc.text) {
			t.Fatalf("%s: message %q should name the topic, offset 42 and %q", tc.name, msg, tc.text)
		}
	}
}

// FuzzDecode: arbitrary payloads and headers never panic the decoder; a
// failure is always a *DecodeError naming the topic and offset.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"site":"a","kg":1}`, `{"kg":"x"}`, `{"x":1}`, `[]`, `null`, `{"site":"a"} 1`, ``, `{`, "\xff", `{"kg":1e999}`} {
		f.Add([]byte(s), "1", stream.ContentTypeJSON)
	}
	f.Add([]byte(`{}`), "99", "text/plain")
	f.Add([]byte(`{}`), "-1", "")
	f.Fuzz(func(t *testing.T, value []byte, version, contentType string) {
		h := map[string]string{stream.HeaderSchemaVersion: version}
		if contentType != "" {
			h[stream.HeaderContentType] = contentType
		}
		m := &stream.Message{Topic: stream.TopicIoTSensorReadings, Offset: 7, Value: value, Headers: h}
		_, err := stream.Decode[v1](m)
		if err == nil {
			return
		}
		var de *stream.DecodeError
		if !errors.As(err, &de) || !errors.Is(err, stream.ErrInvalidArgument) {
			t.Fatalf("error %v (%T) is not a *DecodeError with CodeInvalidArgument", err, err)
		}
		if msg := err.Error(); !strings.Contains(msg, stream.TopicIoTSensorReadings) || !strings.Contains(msg, "offset 7") || de.Reason == "" {
			t.Fatalf("error %q does not name the topic and offset or has no reason", msg)
		}
		if de.Field != "" && !strings.Contains(err.Error(), "field "+de.Field) {
			t.Fatalf("error %q does not name field %q", err, de.Field)
		}
	})
}

func TestErrorCodes(t *testing.T) {
	err := &stream.Error{Code: stream.CodeNotFound, Op: "stream: x", Msg: "gone", Err: context.Canceled}
	if !errors.Is(err, stream.ErrNotFound) || errors.Is(err, stream.ErrClosed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is on %v", err)
	}
	if stream.CodeOf(fmt.Errorf("wrapped: %w", err)) != stream.CodeNotFound || stream.CodeOf(errors.New("x")) != stream.CodeUnknown {
		t.Fatal("CodeOf")
	}
	if got := err.Error(); got != "stream: x: gone: context canceled" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestRegistry(t *testing.T) {
	r := stream.NewRegistry()
	_, err := r.Open(context.Background(), "nope://x", stream.Options{})
	if !errors.Is(err, stream.ErrInvalidArgument) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown scheme: %v", err)
	}
	r.Register("fake", func(context.Context, *url.URL, driver.Options) (driver.Driver, error) {
		return nil, errors.New("down")
	})
	_, err = r.Open(context.Background(), "fake://user:secret@host", stream.Options{})
	if !errors.Is(err, stream.ErrUnavailable) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable engine: %v (want ErrUnavailable without the password)", err)
	}
	if _, err := r.Open(context.Background(), "fake://h", stream.Options{Namespace: "Bad NS"}); !errors.Is(err, stream.ErrInvalidArgument) {
		t.Fatalf("bad namespace: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a scheme twice did not panic")
		}
	}()
	r.Register("fake", nil)
}

// A field whose own UnmarshalJSON fails (a decimal) gives an error that
// names no field; Decode finds and names it.
func TestDecodeNamesFieldOfCustomUnmarshaler(t *testing.T) {
	type withDecimal struct {
		Site string          `json:"site"`
		Kg   decimal.Decimal `json:"kg"`
	}
	m := &stream.Message{Topic: stream.TopicEmissionsRaw, Offset: 7, Value: []byte(`{"site":"a","kg":"12,5"}`)}
	_, err := stream.Decode[withDecimal](m)
	var de *stream.DecodeError
	if !errors.As(err, &de) || de.Field != "kg" || !strings.Contains(err.Error(), "field kg") {
		t.Fatalf("%v (%+v), want a DecodeError naming field kg", err, de)
	}
}
