package mqtt

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Embedded is the embedded broker driver (mochi-mqtt): devices connect to
// the platform process itself. Open it with mqtt+embedded://host:port.
type Embedded struct {
	addr string
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	srv     *mochi.Server
	tcp     *listeners.TCP
	tls     *listeners.TCP
	stop    chan struct{} // closed by Close: releases hooks waiting for an ack
	started bool
	closed  bool

	idMu sync.Mutex
	ids  map[string]Identity // client id -> identity, for ACL checks
}

var _ Transport = (*Embedded)(nil)

// NewEmbedded returns an unstarted embedded broker listening on u's
// host:port (default 127.0.0.1:1883).
func NewEmbedded(u *url.URL, opts Options) (*Embedded, error) {
	if u.Scheme != SchemeEmbedded {
		return nil, fmt.Errorf("mqtt: embedded: URL scheme %q, want %q", u.Scheme, SchemeEmbedded)
	}
	opts = opts.WithDefaults()
	if err := opts.Validate(SchemeEmbedded); err != nil {
		return nil, err
	}
	addr := u.Host
	if addr == "" {
		addr = "127.0.0.1:1883"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("mqtt: embedded: URL host %q: %w", addr, err)
	}
	if opts.TLSCertFile != "" && opts.TLSAddr == "" {
		opts.TLSAddr = net.JoinHostPort(host, "8883")
	}
	return &Embedded{
		addr: addr,
		opts: opts,
		log:  opts.Logger.With("component", "mqtt", "driver", "embedded"),
		stop: make(chan struct{}),
		ids:  map[string]Identity{},
	}, nil
}

// Start loads the TLS key pair (if configured), binds the listeners and
// starts serving.
func (e *Embedded) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("mqtt: embedded: start after close")
	}
	if e.started {
		return errors.New("mqtt: embedded: already started")
	}
	var tlsCfg *tls.Config
	if e.opts.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.opts.TLSCertFile, e.opts.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("mqtt: embedded: loading TLS key pair %s, %s: %w", e.opts.TLSCertFile, e.opts.TLSKeyFile, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	srv := mochi.New(&mochi.Options{
		InlineClient: true,
		Logger:       e.log.With("component", "mochi"),
	})
	if err := srv.AddHook(&hook{e: e}, nil); err != nil {
		return fmt.Errorf("mqtt: embedded: adding hook: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: e.addr})
	if err := srv.AddListener(tcp); err != nil {
		return fmt.Errorf("mqtt: embedded: listening on %s: %w", e.addr, err)
	}
	var tl *listeners.TCP
	if tlsCfg != nil {
		tl = listeners.NewTCP(listeners.Config{ID: "tls", Address: e.opts.TLSAddr, TLSConfig: tlsCfg})
		if err := srv.AddListener(tl); err != nil {
			_ = srv.Close()
			return fmt.Errorf("mqtt: embedded: TLS listening on %s: %w", e.opts.TLSAddr, err)
		}
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return fmt.Errorf("mqtt: embedded: serving: %w", err)
	}
	e.srv, e.tcp, e.tls, e.started = srv, tcp, tl, true
	e.log.InfoContext(ctx, "embedded MQTT broker listening", "addr", tcp.Address(), "tls_addr", e.tlsAddrLocked())
	return nil
}

// Addr returns the TCP listener's address (the bound port once started,
// useful with port 0).
func (e *Embedded) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tcp != nil {
		return e.tcp.Address()
	}
	return e.addr
}

// TLSAddr returns the TLS listener's address, or "" without one.
func (e *Embedded) TLSAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tlsAddrLocked()
}

func (e *Embedded) tlsAddrLocked() string {
	if e.tls != nil {
		return e.tls.Address()
	}
	return e.opts.TLSAddr
}

// Publish injects a message through the broker's inline client: it is
// routed to current subscribers and queued for offline persistent sessions
// (in memory). qos caps the delivery QoS.
func (e *Embedded) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPublish(topic, qos); err != nil {
		return err
	}
	e.mu.Lock()
	srv := e.srv
	closed := e.closed
	e.mu.Unlock()
	if srv == nil || closed {
		return fmt.Errorf("mqtt: embedded: publishing to %s: broker not running", topic)
	}
	if err := srv.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("mqtt: embedded: publishing to %s: %w", topic, err)
	}
	return nil
}

// Close releases the hooks waiting for acks (their messages are not
// PUBACKed) and shuts the broker down, disconnecting every client.
func (e *Embedded) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.stop)
	srv := e.srv
	e.mu.Unlock()
	if srv == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		// Mochi's own shutdown (v2.7.9) lists each listener's clients with
		// Clients.GetByListener, which takes the clients' read lock twice
		// (it calls Len under it): a client detaching in between queues
		// for the write lock, the second read lock waits behind it, and
		// Close never returns. Close the listeners first with a closer
		// that lists the clients under one read lock; Server.Close then
		// finds them closed and does not list them again.
		srv.Listeners.CloseAll(func(listener string) {
			for _, cl := range srv.Clients.GetAll() {
				if cl.Net.Listener == listener && !cl.Closed() {
					_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
				}
			}
		})
		done <- srv.Close()
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("mqtt: embedded: closing broker: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt: embedded: closing broker (a Handler may be blocked): %w", ctx.Err())
	}
}

func checkPublish(topic string, qos byte) error {
	if topic == "" || len(topic) > 65535 {
		return fmt.Errorf("mqtt: publish: topic %q: empty or too long", topic)
	}
	for _, r := range topic {
		if r == '+' || r == '#' || r == 0 {
			return fmt.Errorf("mqtt: publish: topic %q: contains %q", topic, r)
		}
	}
	if qos > 1 {
		return fmt.Errorf("mqtt: publish: topic %s: QoS %d not supported (0 or 1)", topic, qos)
	}
	return nil
}

func (e *Embedded) identity(clientID string) (Identity, bool) {
	e.idMu.Lock()
	defer e.idMu.Unlock()
	id, ok := e.ids[clientID]
	return id, ok
}

// hook is the mochi hook that authenticates, applies the ACL and holds the
// PUBACK of inbound messages until the Handler acks.
type hook struct {
	mochi.HookBase
	e *Embedded
}

func (h *hook) ID() string { return "greenlang" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mochi.OnConnectAuthenticate,
		mochi.OnACLCheck,
		mochi.OnPublish,
		mochi.OnDisconnect,
		mochi.OnClientExpired,
	}, []byte{b})
}

// OnConnectAuthenticate asks the Authenticator; a refused client gets
// CONNACK "bad user name or password" and is disconnected.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	e := h.e
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.AuthTimeout)
	defer cancel()
	id, err := e.opts.Authenticator.Authenticate(ctx, cl.ID, string(pk.Connect.Username), pk.Connect.Password)
	if err != nil {
		e.log.Warn("mqtt client refused", "client_id", cl.ID, "username", string(pk.Connect.Username),
			"remote", cl.Net.Remote, "err", err)
		return false
	}
	if !id.Platform {
		if _, err := BuildTopic(id.Org, id.Device, KindTelemetry); err != nil {
			e.log.Warn("mqtt client refused: identity unusable in topics", "client_id", cl.ID, "err", err)
			return false
		}
	}
	e.idMu.Lock()
	e.ids[cl.ID] = id
	e.idMu.Unlock()
	return true
}

// OnACLCheck confines a device to its own topics. It is called with a
// topic name for publishes and deliveries, and with a filter for
// subscriptions.
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	id, ok := h.e.identity(cl.ID)
	if !ok {
		return false
	}
	return Allowed(id, topic, write)
}

// Allowed reports whether id may publish (write) to, or subscribe to and
// receive from (!write), topic. A platform identity may do anything. A
// device may publish only to its own telemetry, status and command-results
// topics and subscribe only to its own commands topic, by exact name: no
// wildcards, no shared subscriptions.
func Allowed(id Identity, topic string, write bool) bool {
	if id.Platform {
		return true
	}
	t, err := ParseTopic(topic)
	if err != nil || t.Org != id.Org || t.Device != id.Device {
		return false
	}
	if write {
		return t.Kind.Inbound()
	}
	return t.Kind == KindCommands
}

// OnPublish hands an inbound message to the Handler and waits for its ack.
// mochi calls OnPublish from the publishing client's read loop before it
// writes the PUBACK, so returning only after ack holds the PUBACK (and
// that client's next packet) until the message is handled; other clients
// have their own read loops and are not held. If the broker closes or the
// client goes away first, the packet is rejected: no PUBACK, no routing,
// and the device sends it again.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	t, err := ParseTopic(pk.TopicName)
	if err != nil || !t.Kind.Inbound() {
		return pk, nil // e.g. a platform client publishing commands
	}
	e := h.e
	done := make(chan struct{})
	ack := sync.OnceFunc(func() { close(done) })
	e.opts.Handler.Handle(Message{
		Topic:    pk.TopicName,
		Org:      t.Org,
		Device:   t.Device,
		Kind:     t.Kind,
		Payload:  bytes.Clone(pk.Payload),
		QoS:      pk.FixedHeader.Qos,
		Retained: pk.FixedHeader.Retain,
		ClientID: cl.ID,
		Received: time.Now(),
	}, ack)
	select {
	case <-done: // acked already (a refusal, or a synchronous handler)
		return pk, nil
	default:
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return pk, nil
		case <-e.stop:
			return pk, packets.ErrRejectPacket
		case <-tick.C:
			if cl.Closed() {
				return pk, packets.ErrRejectPacket
			}
		}
	}
}

// OnDisconnect forgets the identity of a client whose session ends with
// the connection.
func (h *hook) OnDisconnect(cl *mochi.Client, err error, expire bool) {
	if expire && !cl.IsTakenOver() {
		h.forget(cl.ID)
	}
}

// OnClientExpired forgets the identity of a client whose session expired.
func (h *hook) OnClientExpired(cl *mochi.Client) { h.forget(cl.ID) }

func (h *hook) forget(clientID string) {
	h.e.idMu.Lock()
	delete(h.e.ids, clientID)
	h.e.idMu.Unlock()
}
