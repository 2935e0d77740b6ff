package natsstream_test

import (
	"testing"

	"github.com/greenlang/greenlang/internal/stream/drivertest"
)

// TestTransformConformance runs the transform suite on the embedded server:
// JetStream has no transactions, so Stream.Transform publishes outputs
// with deterministic ids (Nats-Msg-Id) and then acks the inputs.
func TestTransformConformance(t *testing.T) {
	t.Parallel()
	drivertest.RunTransformConformance(t, embeddedHarness())
}

// TestTransformConformanceIntegration runs the transform suite on the
// external NATS server at GREENLANG_TEST_NATS_URL (see externalHarness);
// on a server before 2.11 it checks Transform fails with
// ErrFailedPrecondition and skips.
func TestTransformConformanceIntegration(t *testing.T) {
	t.Parallel()
	drivertest.RunTransformConformance(t, externalHarness(t, "the transform suite"))
}
