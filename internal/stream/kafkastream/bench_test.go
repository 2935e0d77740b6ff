package kafkastream_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/kafkastream"
)

// The workload every driver's benchmarks share.
const (
	benchBatch = drivertest.BenchBatch
	benchKeys  = drivertest.BenchKeys
)

var payload200 = drivertest.BenchPayload

// BenchmarkPublishConsume publishes b.N 200-byte events in batches of 100
// while one group member receives and acks them, through the port, on kfake.
func BenchmarkPublishConsume(b *testing.B) {
	ctx := context.Background()
	c := newCluster(b)
	r := stream.NewRegistry()
	kafkastream.Register(r)
	s, err := r.Open(ctx, "kafka://"+strings.Join(c.ListenAddrs(), ","), stream.Options{Topics: []stream.Topic{drivertest.BenchTopic()}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	drivertest.BenchPublishConsume(b, s)
}

// BenchmarkPublishConsumeRaw is the baseline: franz-go alone on the same kfake
// engine and topic layout, ProduceSync batches of 100 and a group consumer
// marking every record for commit.
func BenchmarkPublishConsumeRaw(b *testing.B) {
	ctx := context.Background()
	c := newCluster(b)
	seeds := c.ListenAddrs()
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 12, -1, nil, "bench.events"); err != nil {
		b.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	cons, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup("raw"), kgo.ConsumeTopics("bench.events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitMarks(), kgo.AutoCommitInterval(time.Second),
		kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close()
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = []byte("site-" + strconv.Itoa(i))
	}
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i += benchBatch {
			n := min(benchBatch, b.N-i)
			rs := make([]*kgo.Record, n)
			for j := range rs {
				rs[j] = &kgo.Record{Topic: "bench.events", Key: keys[(i+j)%benchKeys], Value: payload200,
					Headers: []kgo.RecordHeader{{Key: stream.HeaderEventID, Value: []byte(strconv.Itoa(i + j))}}}
			}
			if err := prod.ProduceSync(ctx, rs...).FirstErr(); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for got := 0; got < b.N; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			b.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			cons.MarkCommitRecords(r)
			got++
		})
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
