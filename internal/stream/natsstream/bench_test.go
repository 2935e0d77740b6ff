package natsstream_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/driver"
	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

// The workload every driver's benchmarks share.
const (
	benchBatch = drivertest.BenchBatch
	benchKeys  = drivertest.BenchKeys
)

var payload200 = drivertest.BenchPayload

func benchTopic() stream.Topic { return drivertest.BenchTopic() }

// BenchmarkPublishConsume publishes b.N 200-byte events in batches of 100
// while one group member receives and acks them, through the port.
func BenchmarkPublishConsume(b *testing.B) {
	if len(payload200) != 200 {
		b.Fatalf("payload is %d bytes", len(payload200))
	}
	ctx := context.Background()
	r := stream.NewRegistry()
	natsstream.Register(r)
	s, err := r.Open(ctx, "nats+embedded://"+filepath.Join(b.TempDir(), "nats"), stream.Options{Topics: []stream.Topic{benchTopic()}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	drivertest.BenchPublishConsume(b, s)
}

// rawEngine opens an embedded engine with the benchmark topic through the
// port (so the stream exists as the port lays it out) and returns a raw
// jetstream client on the same connection; the engine closes when b ends.
func rawEngine(b *testing.B) jetstream.JetStream {
	r := stream.NewRegistry()
	var drv *natsstream.Driver
	r.Register("nats+embedded", func(ctx context.Context, u *urlT, o driverOptions) (driverT, error) {
		d, err := natsstream.Open(ctx, u, o)
		if err == nil {
			drv = d.(*natsstream.Driver)
		}
		return d, err
	})
	s, err := r.Open(context.Background(), "nats+embedded://"+filepath.Join(b.TempDir(), "nats"), stream.Options{Topics: []stream.Topic{benchTopic()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	js, err := jetstream.New(drv.Conn())
	if err != nil {
		b.Fatal(err)
	}
	return js
}

// BenchmarkPublishConsumeRaw is the baseline: nats.go's jetstream package
// against the same embedded engine and the same stream layout, with async
// batch publishes and one durable pull consumer acking every message.
func BenchmarkPublishConsumeRaw(b *testing.B) {
	ctx := context.Background()
	js := rawEngine(b)
	keySubjectLayout(b, js)
	cons, err := js.CreateOrUpdateConsumer(ctx, natsstream.StreamName("bench.events"), jetstream.ConsumerConfig{
		Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000,
	})
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(500))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	subjects := make([]string, benchKeys)
	for i := range subjects {
		k := []byte("site-" + strconv.Itoa(i))
		subjects[i] = natsstream.Subject("bench.events", stream.PartitionFor(k, 12), k)
	}
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i += benchBatch {
			n := min(benchBatch, b.N-i)
			fs := make([]jetstream.PubAckFuture, n)
			for j := range fs {
				id := strconv.Itoa(i + j)
				m := &nats.Msg{Subject: subjects[(i+j)%benchKeys], Data: payload200,
					Header: nats.Header{stream.HeaderEventID: {id}, jetstream.MsgIDHeader: {id}}}
				var err error
				if fs[j], err = js.PublishMsgAsync(m); err != nil {
					errc <- err
					return
				}
			}
			for _, f := range fs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					errc <- err
					return
				}
			}
		}
		errc <- nil
	}()
	for i := 0; i < b.N; i++ {
		m, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Ack(); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// keySubjectLayout gives the (empty) benchmark stream the subjects the raw
// baselines were written for, "<topic>.<p>.<key>": the port creates topics
// that are not compacted with one subject per partition since, and the
// baselines keep their workload.
func keySubjectLayout(b *testing.B, js jetstream.JetStream) {
	ctx := context.Background()
	st, err := js.Stream(ctx, natsstream.StreamName("bench.events"))
	if err != nil {
		b.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Subjects = []string{"bench.events.*.*"}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPublishConsumeRawPartitioned is the partition-ordered raw
// baseline: the same publishes, consumed the way the port must consume to
// keep per-key order with exclusive partitions: one durable pull consumer
// per partition filtered on "<topic>.<p>.*" with the pinned-client priority
// policy, one goroutine per partition receiving and acking every message.
// No group membership, no hand-over, no port.
func BenchmarkPublishConsumeRawPartitioned(b *testing.B) { rawPartitioned(b, false) }

// BenchmarkPublishConsumeRawPartitionSubjects is the partition-ordered raw
// baseline on the layout the port now gives topics that are not compacted:
// one subject per partition ("<topic>.<p>", the key in header gl-key as the
// port sends it), each partition's consumer filtered on that literal
// subject; otherwise as BenchmarkPublishConsumeRawPartitioned.
func BenchmarkPublishConsumeRawPartitionSubjects(b *testing.B) { rawPartitioned(b, true) }

func rawPartitioned(b *testing.B, partitionSubjects bool) {
	ctx := context.Background()
	js := rawEngine(b)
	filter := func(p int) string { return "bench.events." + strconv.Itoa(p) }
	if !partitionSubjects {
		keySubjectLayout(b, js)
		filter = func(p int) string { return "bench.events." + strconv.Itoa(p) + ".*" }
	}
	const parts = 12
	var iters []jetstream.MessagesContext
	for p := 0; p < parts; p++ {
		cons, err := js.CreateOrUpdateConsumer(ctx, natsstream.StreamName("bench.events"), jetstream.ConsumerConfig{
			Durable: "rawp_p" + strconv.Itoa(p), FilterSubject: filter(p),
			AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 10000, AckWait: 30 * time.Second,
			PriorityPolicy: jetstream.PriorityPolicyPinned, PriorityGroups: []string{"g"}, PinnedTTL: 30 * time.Second,
		})
		if err != nil {
			b.Fatal(err)
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(500), jetstream.PullPriorityGroup("g"))
		if err != nil {
			b.Fatal(err)
		}
		defer it.Stop()
		iters = append(iters, it)
	}
	subjects := make([]string, benchKeys)
	keyTokens := make([]string, benchKeys)
	for i := range subjects {
		k := []byte("site-" + strconv.Itoa(i))
		p := stream.PartitionFor(k, parts)
		subjects[i] = natsstream.Subject("bench.events", p, k)
		if partitionSubjects {
			subjects[i] = "bench.events." + strconv.Itoa(int(p))
			keyTokens[i] = base64.RawURLEncoding.EncodeToString(k)
		}
	}
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i += benchBatch {
			n := min(benchBatch, b.N-i)
			fs := make([]jetstream.PubAckFuture, n)
			for j := range fs {
				id := strconv.Itoa(i + j)
				m := &nats.Msg{Subject: subjects[(i+j)%benchKeys], Data: payload200,
					Header: nats.Header{stream.HeaderEventID: {id}, jetstream.MsgIDHeader: {id}}}
				if partitionSubjects {
					m.Header["gl-key"] = []string{keyTokens[(i+j)%benchKeys]}
				}
				var err error
				if fs[j], err = js.PublishMsgAsync(m); err != nil {
					errc <- err
					return
				}
			}
			for _, f := range fs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					errc <- err
					return
				}
			}
		}
		errc <- nil
	}()
	var got atomic.Int64
	done := make(chan struct{})
	for _, it := range iters {
		go func() {
			for {
				m, err := it.Next()
				if err != nil {
					return // iterator stopped at the end of the benchmark
				}
				if err := m.Ack(); err != nil {
					return
				}
				if got.Add(1) == int64(b.N) {
					close(done)
				}
			}
		}()
	}
	<-done
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

type (
	urlT          = url.URL
	driverOptions = driver.Options
	driverT       = driver.Driver
)

// BenchmarkLatencyHalfRate measures end-to-end latency (publish call to
// Receive) through the port on embedded NATS at half the maximum rate: it
// first measures the maximum publish-and-consume rate with 20,000 messages
// in batches of 100, then publishes b.N messages in batches of 10 paced at
// half that rate while one group member receives and acks, and reports the
// p50 and p99 latency and the paced rate.
func BenchmarkLatencyHalfRate(b *testing.B) {
	ctx := context.Background()
	r := stream.NewRegistry()
	natsstream.Register(r)
	s, err := r.Open(ctx, "nats+embedded://"+filepath.Join(b.TempDir(), "nats"), stream.Options{Topics: []stream.Topic{benchTopic()}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sub, err := s.Subscribe(ctx, "bench.events", "latency", stream.SubscribeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "site-" + strconv.Itoa(i)
	}
	run := func(n, batch int, interval time.Duration) (time.Duration, []time.Duration) {
		errc := make(chan error, 1)
		start := time.Now()
		go func() {
			next := time.Now()
			for i := 0; i < n; i += batch {
				if interval > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d) // pacing the producer, not synchronisation
					}
					next = next.Add(interval)
				}
				k := min(batch, n-i)
				msgs := make([]*stream.Message, k)
				now := strconv.FormatInt(time.Now().UnixNano(), 10)
				for j := range msgs {
					msgs[j] = &stream.Message{Topic: "bench.events", Key: keys[(i+j)%benchKeys], Value: payload200, Headers: map[string]string{"sent": now}}
				}
				if err := s.PublishBatch(ctx, msgs); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		lat := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			m, err := sub.Receive(ctx)
			if err != nil {
				b.Fatal(err)
			}
			sent, _ := strconv.ParseInt(m.Headers["sent"], 10, 64)
			lat = append(lat, time.Since(time.Unix(0, sent)))
			if err := m.Ack(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		return time.Since(start), lat
	}
	const probe = 20000
	took, _ := run(probe, benchBatch, 0)
	maxRate := float64(probe) / took.Seconds()
	const batch = 10
	interval := time.Duration(float64(time.Second) * batch / (maxRate / 2))
	b.ResetTimer()
	took, lat := run(b.N, batch, interval)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(maxRate, "max-msgs/s")
	b.ReportMetric(float64(b.N)/took.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
