package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// External is the driver for an external MQTT 5 broker (Mosquitto, EMQX,
// HiveMQ…), built on paho.golang autopaho. It keeps a persistent session
// under a stable client id, reads the inbound topics through shared
// subscriptions, acknowledges each QoS 1 message only after the Handler's
// ack, and reconnects with exponential backoff.
type External struct {
	url  *url.URL // scheme normalized to mqtt or tls, without user info
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	cm      *autopaho.ConnectionManager
	cancel  context.CancelFunc
	started bool
	closed  bool
}

var _ Transport = (*External)(nil)

// NewExternal returns an unstarted client for the broker at u (tcp://,
// mqtt://, ssl:// or mqtts://host:port). User info in u is the default
// for Options.Username and Options.Password.
func NewExternal(u *url.URL, opts Options) (*External, error) {
	nu := *u
	switch u.Scheme {
	case "tcp", "mqtt":
		nu.Scheme = "mqtt"
	case "ssl", "mqtts":
		nu.Scheme = "tls"
	default:
		return nil, fmt.Errorf("mqtt: external: URL %s: unknown scheme %q", u.Redacted(), u.Scheme)
	}
	if nu.Host == "" {
		return nil, fmt.Errorf("mqtt: external: URL %s: no host", u.Redacted())
	}
	if nu.Port() == "" {
		port := "1883"
		if nu.Scheme == "tls" {
			port = "8883"
		}
		nu.Host = nu.Host + ":" + port
	}
	if u.User != nil {
		if opts.Username == "" {
			opts.Username = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && opts.Password == "" {
			opts.Password = p
		}
	}
	nu.User = nil
	opts = opts.WithDefaults()
	if err := opts.Validate(nu.Scheme); err != nil {
		return nil, err
	}
	return &External{
		url:  &nu,
		opts: opts,
		log:  opts.Logger.With("component", "mqtt", "driver", "external", "broker", nu.Host, "client_id", opts.ClientID),
	}, nil
}

// filters returns the subscriptions: the inbound kinds, shared in
// Options.ShareGroup.
func (x *External) filters() []paho.SubscribeOptions {
	group := x.opts.ShareGroup
	if group == "-" {
		group = ""
	}
	var subs []paho.SubscribeOptions
	for _, k := range InboundKinds() {
		subs = append(subs, paho.SubscribeOptions{Topic: SharedFilter(group, k), QoS: 1})
	}
	return subs
}

// Start connects (retrying with backoff until ctx ends) and subscribes. It
// returns once the subscriptions are acknowledged. The connection then
// lives until Close, reconnecting as needed.
func (x *External) Start(ctx context.Context) error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return errors.New("mqtt: external: start after close")
	}
	if x.started {
		x.mu.Unlock()
		return errors.New("mqtt: external: already started")
	}
	x.started = true
	x.mu.Unlock()

	var tlsCfg *tls.Config
	if x.url.Scheme == "tls" {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: x.url.Hostname()}
		if x.opts.TLSCAFile != "" {
			pem, err := os.ReadFile(x.opts.TLSCAFile)
			if err != nil {
				return fmt.Errorf("mqtt: external: reading CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("mqtt: external: CA file %s: no PEM certificates", x.opts.TLSCAFile)
			}
			tlsCfg.RootCAs = pool
		}
	}

	subErr := make(chan error, 1)
	runCtx, cancel := context.WithCancel(context.Background())
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{x.url},
		TlsCfg:                        tlsCfg,
		KeepAlive:                     uint16(x.opts.KeepAlive / time.Second),
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(x.opts.SessionExpiry / time.Second),
		ReconnectBackoff:              autopaho.NewExponentialBackoff(x.opts.ReconnectMin, x.opts.ReconnectMax, x.opts.ReconnectMin, 2),
		ConnectTimeout:                x.opts.ConnectTimeout,
		ConnectUsername:               x.opts.Username,
		ConnectPassword:               []byte(x.opts.Password),
		OnConnectionUp: func(cm *autopaho.ConnectionManager, ca *paho.Connack) {
			x.log.Info("connected to MQTT broker", "session_present", ca.SessionPresent)
			go func() {
				err := x.subscribe(runCtx, cm)
				if err != nil {
					x.log.Error("subscribing", "err", err)
				}
				select {
				case subErr <- err:
				default:
				}
			}()
		},
		OnConnectionDown: func() bool {
			x.log.Warn("connection to MQTT broker lost; reconnecting")
			return true
		},
		OnConnectError: func(err error) {
			x.log.Warn("connecting to MQTT broker", "err", err)
		},
		ClientConfig: paho.ClientConfig{
			ClientID:                   x.opts.ClientID,
			EnableManualAcknowledgment: true,
			OnPublishReceived:          []func(paho.PublishReceived) (bool, error){x.received},
			OnClientError: func(err error) {
				x.log.Warn("MQTT client error", "err", err)
			},
			OnServerDisconnect: func(d *paho.Disconnect) {
				x.log.Warn("MQTT broker disconnected us", "reason_code", d.ReasonCode)
			},
		},
	}
	cm, err := autopaho.NewConnection(runCtx, cfg)
	if err != nil {
		cancel()
		return fmt.Errorf("mqtt: external: connecting to %s: %w", x.url.Host, err)
	}
	x.mu.Lock()
	x.cm, x.cancel = cm, cancel
	x.mu.Unlock()

	// A start that fails stops the connection manager too: the caller will
	// not Close a transport that did not start, and a client left
	// reconnecting would feed the handler of a platform that is not up.
	fail := func(err error) error {
		dctx, dcancel := context.WithTimeout(context.Background(), x.opts.ConnectTimeout)
		defer dcancel()
		_ = x.Close(dctx)
		return err
	}
	select {
	case err := <-subErr:
		if err != nil {
			return fail(fmt.Errorf("mqtt: external: %w", err))
		}
		return nil
	case <-ctx.Done():
		return fail(fmt.Errorf("mqtt: external: connecting to %s: %w", x.url.Host, ctx.Err()))
	}
}

// subscribe (re)subscribes to the inbound filters. With a persistent
// session the broker already has them; subscribing again is harmless.
func (x *External) subscribe(ctx context.Context, cm *autopaho.ConnectionManager) error {
	subs := x.filters()
	ctx, cancel := context.WithTimeout(ctx, x.opts.ConnectTimeout)
	defer cancel()
	sa, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs})
	if err != nil {
		return fmt.Errorf("subscribing to %s: %w", subs[0].Topic, err)
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 && i < len(subs) {
			return fmt.Errorf("subscribing to %s: refused with reason code 0x%02x", subs[i].Topic, rc)
		}
	}
	return nil
}

// received hands a PUBLISH to the Handler. paho calls it from one
// goroutine in arrival order; with manual acknowledgement paho sends the
// PUBACKs in arrival order too, holding a later ack until the earlier ones
// are acked (it flushes every 50ms).
func (x *External) received(pr paho.PublishReceived) (bool, error) {
	p, cli := pr.Packet, pr.Client
	ack := sync.OnceFunc(func() {
		if err := cli.Ack(p); err != nil {
			// The connection that delivered p is gone; the broker will
			// deliver p again in the resumed session.
			x.log.Debug("acking after reconnect", "topic", p.Topic, "err", err)
		}
	})
	t, err := ParseTopic(p.Topic)
	if err != nil || !t.Kind.Inbound() {
		x.log.Warn("dropping message on unexpected topic", "topic", p.Topic, "err", err)
		ack()
		return true, nil
	}
	x.opts.Handler.Handle(Message{
		Topic:    p.Topic,
		Org:      t.Org,
		Device:   t.Device,
		Kind:     t.Kind,
		Payload:  p.Payload,
		QoS:      p.QoS,
		Retained: p.Retain,
		Received: time.Now(),
	}, ack)
	return true, nil
}

// Publish waits for a connection (until ctx ends) and publishes; at QoS 1
// it returns after the broker's PUBACK.
func (x *External) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if err := checkPublish(topic, qos); err != nil {
		return err
	}
	x.mu.Lock()
	cm, closed := x.cm, x.closed
	x.mu.Unlock()
	if cm == nil || closed {
		return fmt.Errorf("mqtt: external: publishing to %s: transport not running", topic)
	}
	if err := cm.AwaitConnection(ctx); err != nil {
		return fmt.Errorf("mqtt: external: publishing to %s: awaiting connection: %w", topic, err)
	}
	if _, err := cm.Publish(ctx, &paho.Publish{Topic: topic, Payload: payload, QoS: qos, Retain: retain}); err != nil {
		return fmt.Errorf("mqtt: external: publishing to %s: %w", topic, err)
	}
	return nil
}

// Close sends DISCONNECT (the broker keeps the session for SessionExpiry
// and queues QoS 1 messages in it) and stops reconnecting.
func (x *External) Close(ctx context.Context) error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	x.closed = true
	cm, cancel := x.cm, x.cancel
	x.mu.Unlock()
	if cm == nil {
		return nil
	}
	err := cm.Disconnect(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("mqtt: external: disconnecting from %s: %w", x.url.Host, err)
	}
	return nil
}
