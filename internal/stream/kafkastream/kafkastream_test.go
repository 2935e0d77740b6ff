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
	drivertest.RunConformance(t, kfakeHarness())
}

// TestConformanceIntegration runs the suite on the Kafka cluster at
// GREENLANG_TEST_KAFKA_URL (kafka://host:9092), one namespace per test.
func TestConformanceIntegration(t *testing.T) {
	t.Parallel()
	drivertest.RunConformance(t, brokerHarness(t, "the conformance suite"))
}

// kfakeHarness is a fresh kfake cluster per test.
func kfakeHarness() drivertest.Harness {
	return drivertest.Harness{
		Register: kafkastream.Register,
		NewEnv: func(t *testing.T) drivertest.Env {
			c := newCluster(t)
			return drivertest.Env{URL: "kafka://" + strings.Join(c.ListenAddrs(), ","), Compact: c.Compact}
		},
		Compaction: drivertest.CompactionLatestOnly,
	}
}

// brokerHarness is the Kafka cluster at GREENLANG_TEST_KAFKA_URL (the test
// is skipped, naming suite, when it is not set), one namespace per test.
func brokerHarness(t *testing.T, suite string) drivertest.Harness {
	url := os.Getenv("GREENLANG_TEST_KAFKA_URL")
	if url == "" {
		t.Skipf("set GREENLANG_TEST_KAFKA_URL (e.g. kafka://127.0.0.1:9092) to run %s on a real Kafka cluster", suite)
	}
	return drivertest.Harness{
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
	}
}
