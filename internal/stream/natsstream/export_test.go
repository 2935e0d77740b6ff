package natsstream

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/greenlang/greenlang/internal/stream/driver"
)

// Hooks for the fault tests (fault_test.go); compiled into tests only.

// StopEmbedded shuts d's embedded server down cleanly, as a restart of the
// process would; d's connection keeps trying to reconnect.
func StopEmbedded(d driver.Driver) { d.(*Driver).srv.stop() }

// StartEmbedded starts d's embedded server again on the same directory;
// d's connection reconnects to it.
func StartEmbedded(d driver.Driver) error { return d.(*Driver).srv.start() }

// NewPeer returns a driver on d's embedded server with a connection of
// its own: to the server it is another process. Kill closes that
// connection without anything a clean Close does (no nak, unpin or leave),
// as a crashing process would.
func NewPeer(d driver.Driver) (peer driver.Driver, kill func(), err error) {
	dd := d.(*Driver)
	nc, err := nats.Connect("", nats.InProcessServer(dd.srv), nats.Name("greenlang-peer"), nats.NoReconnect())
	if err != nil {
		return nil, nil, fmt.Errorf("nats: peer connection: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	p := &Driver{nc: nc, js: js, replicas: dd.replicas, hasCompression: dd.hasCompression, hasPinned: dd.hasPinned, log: dd.log}
	return p, nc.Close, nil
}
