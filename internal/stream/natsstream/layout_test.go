package natsstream_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/driver"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

// TestLayouts: a topic that is not compacted gets one subject per
// partition (key in a header, event id only in Nats-Msg-Id); a stream
// written before, with one subject per key and both id headers, keeps its
// layout: reconcile leaves it alone, new messages follow it, and groups and
// replay read old and new messages alike; a partition-subject topic cannot
// become compacted.
func TestLayouts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u := "nats+embedded://" + filepath.Join(t.TempDir(), "nats")
	var drv *natsstream.Driver
	r := stream.NewRegistry()
	r.Register("nats+embedded", func(ctx context.Context, u *url.URL, o driver.Options) (driver.Driver, error) {
		d, err := natsstream.Open(ctx, u, o)
		if err == nil {
			drv = d.(*natsstream.Driver)
		}
		return d, err
	})
	oldT := stream.Topic{Name: "old.events", Partitions: 3, Retention: time.Hour, Compression: stream.CompressionNone}
	newT := stream.Topic{Name: "new.events", Partitions: 3, Retention: time.Hour, Compression: stream.CompressionNone}
	compT := stream.Topic{Name: "new.latest", Partitions: 3, Retention: time.Hour, Compression: stream.CompressionNone, Compacted: true}

	// A stream as the driver created it before partition subjects, with
	// messages published the way it published them.
	s0, err := r.Open(ctx, u, stream.Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(drv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "old_events", Description: "greenlang topic old.events; partitions=3", Subjects: []string{"old.events.*.*"},
		Storage: jetstream.FileStorage, MaxAge: time.Hour, Duplicates: 2 * time.Minute,
		Metadata: map[string]string{"greenlang.partitions": "3"},
	}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "b", "c", "d"}
	var ids []string
	keyOf := map[string]string{}
	for i := 0; i < 8; i++ {
		k := keys[i%len(keys)]
		id := "old-" + strconv.Itoa(i)
		ids = append(ids, id)
		keyOf[id] = k
		m := &nats.Msg{Subject: natsstream.Subject("old.events", stream.PartitionFor([]byte(k), 3), []byte(k)), Data: []byte(`{"n":` + strconv.Itoa(i) + `}`),
			Header: nats.Header{stream.HeaderEventID: {id}, jetstream.MsgIDHeader: {id}, "h": {"v" + strconv.Itoa(i)}}}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	_ = s0.Close()

	s, err := r.Open(ctx, u, stream.Options{Topics: []stream.Topic{oldT, newT, compT}, SkipReconcile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	changes, err := s.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.Topic == oldT.Name {
			t.Fatalf("reconcile changed the existing stream: %+v", c)
		}
	}
	js, err = jetstream.New(drv.Conn())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"old_events": "old.events.*.*", "new_events": "new.events.*", "new_latest": "new.latest.*.*"} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.Subjects; len(got) != 1 || got[0] != want {
			t.Fatalf("stream %s subjects %v, want [%s]", name, got, want)
		}
	}

	for _, topic := range []string{oldT.Name, newT.Name} {
		var msgs []*stream.Message
		for i := 0; i < 8; i++ {
			k := keys[i%len(keys)]
			if i == 7 {
				k = "" // unkeyed
			}
			msgs = append(msgs, &stream.Message{Topic: topic, Key: k, Value: []byte(`{"n":` + strconv.Itoa(100+i) + `}`), Headers: map[string]string{"h": "w" + strconv.Itoa(i)}})
		}
		if err := s.PublishBatch(ctx, msgs); err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			ids = append(ids, m.EventID)
			keyOf[m.EventID] = m.Key
		}
	}
	// Engine side: old topic still one subject per key, new topic one per
	// partition with the key in gl-key and the id once.
	raw, err := js.Stream(ctx, "old_events")
	if err != nil {
		t.Fatal(err)
	}
	if sm, err := raw.GetMsg(ctx, 9); err != nil || strings.Count(sm.Subject, ".") != 3 {
		t.Fatalf("new message on the old stream: %v, %v; want a key subject", sm, err)
	}
	raw, err = js.Stream(ctx, "new_events")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := raw.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := "new.events." + strconv.Itoa(int(stream.PartitionFor([]byte("a"), 3))); sm.Subject != want || sm.Header.Get("gl-key") == "" || sm.Header.Get(stream.HeaderEventID) != "" || sm.Header.Get(jetstream.MsgIDHeader) == "" {
		t.Fatalf("message on the new stream: subject %s headers %v; want subject %s, gl-key, Nats-Msg-Id and no %s", sm.Subject, sm.Header, want, stream.HeaderEventID)
	}

	check := func(topic string, got []*stream.Message, wantIDs []string) {
		t.Helper()
		if len(got) != len(wantIDs) {
			t.Fatalf("%s: %d messages, want %d", topic, len(got), len(wantIDs))
		}
		seen := map[string]*stream.Message{}
		last := map[string]int64{}
		for _, m := range got {
			seen[m.EventID] = m
			if m.Key != keyOf[m.EventID] {
				t.Fatalf("%s: message %s has key %q, want %q", topic, m.EventID, m.Key, keyOf[m.EventID])
			}
			if m.Topic != topic || m.Headers[stream.HeaderEventID] != m.EventID || m.Headers["gl-key"] != "" || m.Headers["h"] == "" {
				t.Fatalf("%s: message %+v: want topic, event id header, h and no gl-key", topic, m)
			}
			if m.Partition != stream.PartitionFor([]byte(m.Key), 3) && m.Key != "" {
				t.Fatalf("%s: key %q on partition %d", topic, m.Key, m.Partition)
			}
			if m.Offset <= last[m.Key] {
				t.Fatalf("%s: key %q out of order", topic, m.Key)
			}
			last[m.Key] = m.Offset
		}
		for _, id := range wantIDs {
			if seen[id] == nil {
				t.Fatalf("%s: event %s missing", topic, id)
			}
		}
	}
	for _, tc := range []struct {
		topic string
		ids   []string
	}{{oldT.Name, ids[:16]}, {newT.Name, ids[16:]}} {
		sub, err := s.Subscribe(ctx, tc.topic, "g", stream.SubscribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []*stream.Message
		for range tc.ids {
			m, err := sub.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Ack(ctx); err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
		}
		_ = sub.Close()
		check(tc.topic, got, tc.ids)
		rp, err := s.Replay(ctx, tc.topic, stream.Position{})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for range tc.ids {
			m, err := rp.Receive(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
		}
		_ = rp.Close()
		check(tc.topic, got, tc.ids)
	}

	// Compacting a partition-subject topic needs a new topic.
	_ = s.Close()
	compacted := newT
	compacted.Compacted = true
	s2, err := r.Open(ctx, u, stream.Options{Topics: []stream.Topic{compacted}, SkipReconcile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Reconcile(ctx); !errors.Is(err, stream.ErrFailedPrecondition) || !strings.Contains(err.Error(), "new.events") || !strings.Contains(err.Error(), "compact") {
		t.Fatalf("compacting a partition-subject topic: %v; want ErrFailedPrecondition naming the topic", err)
	}
}
