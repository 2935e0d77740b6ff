package natsstream_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/driver"
	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/natsstream"
)

// Fault tests on the embedded server (file storage in a temporary
// directory): see drivertest/fault.go for what each proves.

var faultHarness = drivertest.Harness{Register: natsstream.Register}

// openEmbedded opens a stream on a new embedded server and returns its
// driver too, for the restart and peer hooks (export_test.go).
func openEmbedded(t *testing.T) (*stream.Stream, driver.Driver, drivertest.Env) {
	t.Helper()
	env := drivertest.Env{URL: "nats+embedded://" + filepath.Join(t.TempDir(), "nats")}
	var d driver.Driver
	r := stream.NewRegistry()
	r.Register("nats+embedded", func(ctx context.Context, u *url.URL, o driver.Options) (driver.Driver, error) {
		dd, err := natsstream.Open(ctx, u, o)
		d = dd
		return dd, err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := r.Open(ctx, env.URL, stream.Options{Topics: drivertest.FaultTopics()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, d, env
}

func outage(d driver.Driver) drivertest.Outage {
	return drivertest.Outage{
		Stop: func(*testing.T) { natsstream.StopEmbedded(d) },
		Start: func(t *testing.T) {
			if err := natsstream.StartEmbedded(d); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// TestFaultConsumerCrash: the crashing member is a second connection to
// the server whose connection is closed without a clean Close: no nak,
// unpin or leave; its membership record expires and its unacked messages
// come back after FailoverAfter.
func TestFaultConsumerCrash(t *testing.T) {
	t.Parallel()
	s, d, env := openEmbedded(t)
	peer, kill, err := natsstream.NewPeer(d)
	if err != nil {
		t.Fatal(err)
	}
	ps := stream.New(peer, stream.Options{Topics: drivertest.FaultTopics()})
	t.Cleanup(func() { _ = ps.Close() })
	drivertest.RunConsumerCrash(t, faultHarness, env, s, drivertest.Crasher{
		Stream: ps,
		Arm:    func(*testing.T, string) func() { return kill },
	})
}

func TestFaultProducerAcrossRestart(t *testing.T) {
	t.Parallel()
	s, d, _ := openEmbedded(t)
	drivertest.RunProducerRestart(t, faultHarness, s, outage(d))
}

func TestFaultProducerBufferFull(t *testing.T) {
	t.Parallel()
	s, d, _ := openEmbedded(t)
	drivertest.RunProducerBufferFull(t, faultHarness, s, outage(d), true)
}

func TestFaultUnreachableURL(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		drivertest.RunUnreachable(t, natsstream.Register, "nats://greenlang:s3cret@"+drivertest.ClosedPort(t), 10*time.Second)
	})
	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		drivertest.RunUnreachable(t, natsstream.Register, "nats://greenlang:s3cret@"+drivertest.SilentPort(t), 10*time.Second)
	})
}
