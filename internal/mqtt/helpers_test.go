package mqtt_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/greenlang/greenlang/internal/mqtt"
)

// memAuth is an in-memory Authenticator: username -> password, identity.
type memAuth struct {
	users map[string]memUser
}

type memUser struct {
	password string
	id       mqtt.Identity
}

func (a memAuth) Authenticate(_ context.Context, _, username string, password []byte) (mqtt.Identity, error) {
	u, ok := a.users[username]
	if !ok || u.password != string(password) {
		return mqtt.Identity{}, fmt.Errorf("user %q: bad user name or password", username)
	}
	return u.id, nil
}

// testAuth knows devices d1 and d2 of org o1 (password "pw-<device>"),
// device d1 of org o2, and a platform user.
func testAuth() memAuth {
	return memAuth{users: map[string]memUser{
		"o1-d1":    {"pw-d1", mqtt.Identity{Org: "o1", Device: "d1"}},
		"o1-d2":    {"pw-d2", mqtt.Identity{Org: "o1", Device: "d2"}},
		"o2-d1":    {"pw-o2d1", mqtt.Identity{Org: "o2", Device: "d1"}},
		"platform": {"pw-platform", mqtt.Identity{Platform: true}},
	}}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("GREENLANG_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startEmbedded starts an embedded broker on a free port of 127.0.0.1.
func startEmbedded(t testing.TB, h mqtt.Handler, addr string) *mqtt.Embedded {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	tr, err := mqtt.Open(t.Context(), "mqtt+embedded://"+addr, mqtt.Options{
		Handler: h, Logger: testLogger(t), Authenticator: testAuth(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := tr.(*mqtt.Embedded)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("closing embedded broker: %v", err)
		}
	})
	return e
}

// device is a paho client standing in for a device.
type device struct {
	*paho.Client
	mu   sync.Mutex
	recv []*paho.Publish
	got  chan *paho.Publish
}

// dialDevice connects an MQTT 5 client with clean start; it returns the
// CONNECT error (a refused CONNECT is an error).
func dialDevice(t testing.TB, addr, clientID, user, pass string) (*device, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	d := &device{got: make(chan *paho.Publish, 100)}
	d.Client = paho.NewClient(paho.ClientConfig{
		Conn:     conn,
		ClientID: clientID,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			d.mu.Lock()
			d.recv = append(d.recv, pr.Packet)
			d.mu.Unlock()
			select {
			case d.got <- pr.Packet:
			default:
			}
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ca, err := d.Connect(ctx, &paho.Connect{
		ClientID: clientID, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: user != "", Password: []byte(pass), PasswordFlag: pass != "",
	})
	if err != nil {
		_ = conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("connack reason 0x%02x: %w", ca.ReasonCode, err)
		}
		return nil, err
	}
	t.Cleanup(func() { _ = d.Disconnect(&paho.Disconnect{ReasonCode: 0}) })
	return d, nil
}

func mustDevice(t testing.TB, addr, clientID, user, pass string) *device {
	t.Helper()
	d, err := dialDevice(t, addr, clientID, user, pass)
	if err != nil {
		t.Fatalf("connecting %s as %s: %v", clientID, user, err)
	}
	return d
}

// publish sends a QoS 1 message and returns the PUBACK error.
func (d *device) publish(t testing.TB, topic, payload string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := d.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)})
	return err
}

// subscribe returns the SUBACK reason code for one filter.
func (d *device) subscribe(t testing.TB, filter string) byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	sa, err := d.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if sa != nil && len(sa.Reasons) == 1 {
		return sa.Reasons[0]
	}
	if err != nil {
		t.Fatalf("subscribing to %s: %v", filter, err)
	}
	t.Fatalf("subscribing to %s: %d reason codes", filter, len(sa.Reasons))
	return 0
}

// recorder is a Handler that records messages and acks at once.
type recorder struct {
	mu   sync.Mutex
	msgs []mqtt.Message
	seen map[string]int // payload -> times handled
	ch   chan mqtt.Message
}

func newRecorder() *recorder {
	return &recorder{seen: map[string]int{}, ch: make(chan mqtt.Message, 10000)}
}

func (r *recorder) Handle(m mqtt.Message, ack func()) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.seen[string(m.Payload)]++
	r.mu.Unlock()
	ack()
	select {
	case r.ch <- m:
	default:
	}
}

func (r *recorder) unique() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
