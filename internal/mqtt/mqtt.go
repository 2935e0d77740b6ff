// Package mqtt is the platform's MQTT transport: the port through which
// devices' telemetry, status and command results reach the IoT ingest, and
// through which the platform sends commands to devices.
//
// Two drivers sit behind one Transport interface, chosen by URL scheme in
// Open: an embedded broker (mochi-mqtt, "mqtt+embedded://host:port"), the
// default, and a client of an external broker (paho.golang autopaho, MQTT 5,
// "tcp://", "ssl://", "mqtt://", "mqtts://") that reads through shared
// subscriptions. Either way the ingest sees a Handler called with a Message
// and an ack func; a QoS 1 message is acknowledged only after ack is called.
// docs/mqtt.md describes the topic scheme and the guarantees.
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Message is one PUBLISH received from a device.
type Message struct {
	// Topic is the topic name; Org, Device and Kind are parsed from it.
	Topic  string
	Org    string
	Device string
	Kind   Kind
	// Payload is the message body; the Handler owns it.
	Payload  []byte
	QoS      byte
	Retained bool
	// ClientID is the publishing client's MQTT client id. The embedded
	// broker knows it; through an external broker it is empty.
	ClientID string
	// Received is when the transport received the message.
	Received time.Time
}

// Handler receives the messages devices publish to the inbound topics
// (telemetry, status, command-results).
//
// Handle must see to it that ack is called exactly once (further calls do
// nothing), when the message is durably handled (stored or handed to a
// durable stream) or rejected for good. Only then is a QoS 1 message
// acknowledged: by the embedded broker's PUBACK to the device, or by the
// external client's PUBACK to its broker. ack may be called from any
// goroutine, before or after Handle returns. Handle may block to apply
// back-pressure. Handle is called concurrently for messages from
// different clients.
type Handler interface {
	Handle(m Message, ack func())
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(m Message, ack func())

// Handle calls f(m, ack).
func (f HandlerFunc) Handle(m Message, ack func()) { f(m, ack) }

// Transport is an MQTT transport: started, it passes inbound messages to
// Options.Handler and publishes commands. Its methods are safe for
// concurrent use.
type Transport interface {
	// Start listens (embedded) or connects and subscribes (external). It
	// returns once the transport is ready, or an error.
	Start(ctx context.Context) error
	// Publish sends payload to topic. It returns once the broker has
	// accepted the message (embedded: routed to subscribers and queued for
	// offline persistent sessions; external: PUBACK at QoS 1).
	Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error
	// Close stops the transport. Messages handed to the Handler but not yet
	// acked stay unacknowledged, so their senders deliver them again. Close
	// copes with a transport that was never or only partly started and with
	// being called twice; it returns ctx's error if ctx ends first.
	Close(ctx context.Context) error
}

// Identity is who an authenticated client of the embedded broker is.
type Identity struct {
	// Org and Device identify a device; the ACL confines it to its own
	// topics.
	Org    string
	Device string
	// Platform marks a platform service; it may publish and subscribe to
	// anything.
	Platform bool
}

// Authenticator checks the credentials in a CONNECT to the embedded broker.
// It returns an error to refuse the client. It is called concurrently.
type Authenticator interface {
	Authenticate(ctx context.Context, clientID, username string, password []byte) (Identity, error)
}

// AuthenticatorFunc adapts a function to an Authenticator.
type AuthenticatorFunc func(ctx context.Context, clientID, username string, password []byte) (Identity, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, clientID, username string, password []byte) (Identity, error) {
	return f(ctx, clientID, username, password)
}

// Options configure a Transport.
type Options struct {
	// Handler receives inbound messages. Required.
	Handler Handler
	// Logger receives the transport's logs. Default: discard.
	Logger *slog.Logger

	// Authenticator checks CONNECTs to the embedded broker. Required for the
	// embedded broker; unused by the external client.
	Authenticator Authenticator
	// AuthTimeout bounds one Authenticate call. Default 10s.
	AuthTimeout time.Duration
	// TLSCertFile and TLSKeyFile (PEM) enable the embedded broker's TLS
	// listener on TLSAddr. Default: no TLS listener.
	TLSCertFile string
	TLSKeyFile  string
	// TLSAddr is the embedded broker's TLS listener address. Default: the
	// URL's host with port 8883.
	TLSAddr string

	// Username and Password authenticate the external client; they override
	// user:password in the URL. Default: from the URL, else none.
	Username string
	Password string
	// TLSCAFile (PEM) is the CA the external client trusts for ssl:// and
	// mqtts://. Default: the system roots.
	TLSCAFile string
	// ClientID is the external client's MQTT client id. It must be stable
	// across restarts (the broker keeps the session under it) and unique per
	// process. Default: "greenlang-" + the host name.
	ClientID string
	// ShareGroup is the shared-subscription group; processes in one group
	// split the messages. Default "greenlang". "-" subscribes unshared.
	ShareGroup string
	// SessionExpiry is how long the external broker keeps the session
	// (subscriptions and queued QoS 1 messages) while the client is away.
	// Default 24h.
	SessionExpiry time.Duration
	// KeepAlive is the external client's MQTT keep-alive. Default 30s.
	KeepAlive time.Duration
	// ReconnectMin and ReconnectMax bound the external client's exponential
	// reconnect backoff. Defaults 250ms and 30s.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// ConnectTimeout bounds one connection attempt. Default 10s.
	ConnectTimeout time.Duration
}

// WithDefaults returns o with unset fields given their defaults.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = 10 * time.Second
	}
	if o.ClientID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		o.ClientID = "greenlang-" + host
	}
	if o.ShareGroup == "" {
		o.ShareGroup = "greenlang"
	}
	if o.SessionExpiry <= 0 {
		o.SessionExpiry = 24 * time.Hour
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 250 * time.Millisecond
	}
	if o.ReconnectMax <= o.ReconnectMin {
		o.ReconnectMax = max(30*time.Second, 2*o.ReconnectMin)
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	return o
}

// Validate checks o (after WithDefaults) for the driver of scheme.
func (o Options) Validate(scheme string) error {
	if o.Handler == nil {
		return errors.New("mqtt: options: Handler is required")
	}
	if scheme == SchemeEmbedded {
		if o.Authenticator == nil {
			return errors.New("mqtt: options: Authenticator is required for the embedded broker")
		}
		if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
			return errors.New("mqtt: options: TLSCertFile and TLSKeyFile go together")
		}
		return nil
	}
	if strings.ContainsAny(o.ShareGroup, "/+#") {
		return fmt.Errorf("mqtt: options: ShareGroup %q contains '/', '+' or '#'", o.ShareGroup)
	}
	if o.SessionExpiry/time.Second > time.Duration(^uint32(0)) {
		return fmt.Errorf("mqtt: options: SessionExpiry %s is longer than MQTT allows", o.SessionExpiry)
	}
	if o.KeepAlive/time.Second > 65535 {
		return fmt.Errorf("mqtt: options: KeepAlive %s is longer than MQTT allows", o.KeepAlive)
	}
	return nil
}

// SchemeEmbedded is the URL scheme of the embedded broker.
const SchemeEmbedded = "mqtt+embedded"

// Open returns an unstarted Transport for rawURL: the embedded broker for
// mqtt+embedded://host:port, or a client of an external broker for
// tcp://, mqtt:// (plain) and ssl://, mqtts:// (TLS) URLs. Opening has no
// side effects; Start listens or connects.
func Open(ctx context.Context, rawURL string, opts Options) (Transport, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mqtt: parsing URL: %w", err)
	}
	switch u.Scheme {
	case SchemeEmbedded:
		return NewEmbedded(u, opts)
	case "tcp", "mqtt", "ssl", "mqtts":
		return NewExternal(u, opts)
	default:
		return nil, fmt.Errorf("mqtt: URL %s: unknown scheme %q (want mqtt+embedded, tcp, mqtt, ssl or mqtts)", redact(u), u.Scheme)
	}
}

// redact returns u as a string without its password.
func redact(u *url.URL) string { return u.Redacted() }
