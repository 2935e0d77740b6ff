package drivertest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/stream"
)

// The throughput benchmarks' workload, the same for every driver and for
// the raw-client baselines beside them: 200-byte events published in
// acknowledged batches of BenchBatch, spread over BenchKeys keys, on a
// topic of 12 partitions.
const (
	BenchBatch = 100
	BenchKeys  = 20
)

// BenchPayload is a 200-byte JSON event.
var BenchPayload = []byte(fmt.Sprintf(`{"site":"plant-0001","scope":1,"kg":%0163d}`, 0))

// BenchTopic is the benchmarks' topic.
func BenchTopic() stream.Topic {
	return stream.Topic{Name: "bench.events", Partitions: 12, Retention: time.Hour, Compression: stream.CompressionNone}
}

// BenchKey is the key of the i-th event.
func BenchKey(i int) string { return "site-" + strconv.Itoa(i%BenchKeys) }

// BenchPublishConsume measures the port: b.N events published in batches
// of BenchBatch while one group member receives and acks them; it reports
// msgs/s. s must carry BenchTopic.
func BenchPublishConsume(b *testing.B, s *stream.Stream) {
	ctx := context.Background()
	if len(BenchPayload) != 200 {
		b.Fatalf("payload is %d bytes", len(BenchPayload))
	}
	topic := BenchTopic().Name
	sub, err := s.Subscribe(ctx, topic, "bench", stream.SubscribeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	b.ResetTimer()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < b.N; i += BenchBatch {
			msgs := make([]*stream.Message, min(BenchBatch, b.N-i))
			for j := range msgs {
				msgs[j] = &stream.Message{Topic: topic, Key: BenchKey(i + j), Value: BenchPayload}
			}
			if err := s.PublishBatch(ctx, msgs); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := 0; i < b.N; i++ {
		m, err := sub.Receive(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Ack(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
