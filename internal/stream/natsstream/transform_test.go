package natsstream_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

// TestTransformConformance runs the transform suite on the embedded server:
// JetStream has no transactions, so Stream.Transform publishes outputs
// with deterministic ids (Nats-Msg-Id) and then acks the inputs.
func TestTransformConformance(t *testing.T) {
	t.Parallel()
	drivertest.RunTransformConformance(t, drivertest.Harness{
		Register: natsstream.Register,
		NewEnv: func(t *testing.T) drivertest.Env {
			return drivertest.Env{URL: "nats+embedded://" + filepath.Join(t.TempDir(), "nats")}
		},
	})
}

// TestTransformConformanceIntegration runs the transform suite on the
// external NATS server at GREENLANG_TEST_NATS_URL, each test in its own
// namespace, deleting its streams afterwards. Servers before 2.11 have no
// consumer groups: the suite then checks Transform fails with
// ErrFailedPrecondition and skips.
func TestTransformConformanceIntegration(t *testing.T) {
	t.Parallel()
	url := os.Getenv("GREENLANG_TEST_NATS_URL")
	if url == "" {
		t.Skip("set GREENLANG_TEST_NATS_URL (e.g. nats://127.0.0.1:4222, JetStream enabled) to run the transform suite on an external NATS server")
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
	drivertest.RunTransformConformance(t, drivertest.Harness{
		Register:          natsstream.Register,
		GroupsUnsupported: noGroups,
		NewEnv: func(t *testing.T) drivertest.Env {
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			ns := "gltest-" + hex.EncodeToString(b)
			t.Cleanup(func() { deleteStreams(t, url, strings.ReplaceAll(ns, ".", "_")+"_") })
			return drivertest.Env{URL: url, Namespace: ns}
		},
	})
}
