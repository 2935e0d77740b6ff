package natsstream_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	drivertest.RunConformance(t, embeddedHarness())
}

// TestConformanceIntegration runs the suite on the external NATS server at
// GREENLANG_TEST_NATS_URL, each test in its own namespace, deleting its
// streams afterwards.
func TestConformanceIntegration(t *testing.T) {
	t.Parallel()
	drivertest.RunConformance(t, externalHarness(t, "the conformance suite"))
}

// embeddedHarness is a fresh embedded server per test.
func embeddedHarness() drivertest.Harness {
	return drivertest.Harness{
		Register: natsstream.Register,
		NewEnv: func(t *testing.T) drivertest.Env {
			return drivertest.Env{URL: "nats+embedded://" + filepath.Join(t.TempDir(), "nats")}
		},
		Compaction: drivertest.CompactionLatestOnly,
	}
}

// externalHarness is the external server at GREENLANG_TEST_NATS_URL (the
// test is skipped, naming suite, when it is not set), each test in its own
// namespace whose streams are deleted afterwards. Servers before 2.11 have
// no consumer groups: the harness says so and group tests check the
// refusal and skip.
func externalHarness(t *testing.T, suite string) drivertest.Harness {
	url := os.Getenv("GREENLANG_TEST_NATS_URL")
	if url == "" {
		t.Skipf("set GREENLANG_TEST_NATS_URL (e.g. nats://127.0.0.1:4222, JetStream enabled) to run %s on an external NATS server", suite)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("GREENLANG_TEST_NATS_URL=%s: %v", url, err)
	}
	var noGroups string
	if !natsstream.VersionAtLeast(nc.ConnectedServerVersion(), 2, 11) {
		noGroups = "NATS server " + nc.ConnectedServerVersion() + " has no pinned consumers (2.11+)"
	}
	nc.Close()
	return drivertest.Harness{
		Register:          natsstream.Register,
		GroupsUnsupported: noGroups,
		NewEnv: func(t *testing.T) drivertest.Env {
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			ns := "gltest-" + hex.EncodeToString(b)
			t.Cleanup(func() { deleteStreams(t, url, strings.ReplaceAll(ns, ".", "_")+"_") })
			return drivertest.Env{URL: url, Namespace: ns}
		},
		Compaction: drivertest.CompactionLatestOnly,
	}
}

func deleteStreams(t *testing.T, url, prefix string) {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var del []string
	for n := range names.Name() {
		if strings.HasPrefix(n, prefix) {
			del = append(del, n)
		}
	}
	for _, n := range del {
		if err := js.DeleteStream(ctx, n); err != nil {
			t.Errorf("cleanup: deleting stream %s: %v", n, err)
		}
	}
}
