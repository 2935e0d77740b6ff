package kafkastream_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/kafkastream"
)

// newCluster starts an in-process kfake cluster for one test.
func newCluster(t testing.TB) *kfake.Cluster {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestConformance(t *testing.T) {
	t.Parallel()
	drivertest.RunConformance(t, drivertest.Harness{
		Register: kafkastream.Register,
		NewEnv: func(t *testing.T) drivertest.Env {
			c := newCluster(t)
			return drivertest.Env{URL: "kafka://" + strings.Join(c.ListenAddrs(), ","), Compact: c.Compact}
		},
		Compaction: drivertest.CompactionLatestOnly,
	})
}

// TestConformanceIntegration runs the suite on the Kafka cluster at
// GREENLANG_TEST_KAFKA_URL (kafka://host:9092), one namespace per test.
func TestConformanceIntegration(t *testing.T) {
	t.Parallel()
	url := os.Getenv("GREENLANG_TEST_KAFKA_URL")
	if url == "" {
		t.Skip("set GREENLANG_TEST_KAFKA_URL (e.g. kafka://127.0.0.1:9092) to run the conformance suite on a real Kafka cluster")
	}
	drivertest.RunConformance(t, drivertest.Harness{
		Register: kafkastream.Register,
		NewEnv: func(t *testing.T) drivertest.Env {
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			// Topics are left behind (retention removes their data); a
			// real cluster's log cleaner compacts when it chooses.
			return drivertest.Env{URL: url, Namespace: "gltest-" + hex.EncodeToString(b)}
		},
		FailoverAfter: 6 * time.Second, // Kafka's default group.min.session.timeout.ms
		Compaction:    drivertest.CompactionEventual,
	})
}
