package mqtt_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/mqtt"
)

// externalURL returns GREENLANG_TEST_MQTT_URL or skips the test.
func externalURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GREENLANG_TEST_MQTT_URL")
	if u == "" {
		t.Skip("set GREENLANG_TEST_MQTT_URL (e.g. tcp://127.0.0.1:1883) to run the external-broker tests")
	}
	return u
}

// orgRecorder records only the messages of one org (other tests share the
// broker and the wildcard subscriptions).
type orgRecorder struct {
	*recorder
	org string
}

func (r orgRecorder) Handle(m mqtt.Message, ack func()) {
	if m.Org != r.org {
		ack()
		return
	}
	r.recorder.Handle(m, ack)
}

// openExternal starts a transport and registers the tidy-up of its
// session.
func openExternal(t *testing.T, rawURL, clientID, group string, h mqtt.Handler) mqtt.Transport {
	t.Helper()
	tr, err := mqtt.Open(t.Context(), rawURL, mqtt.Options{
		Handler: h, Logger: testLogger(t), ClientID: clientID, ShareGroup: group,
		SessionExpiry: 5 * time.Minute, ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := tr.Start(ctx); err != nil {
		_ = tr.Close(context.Background())
		t.Fatal(err)
	}
	t.Cleanup(func() { tidySession(t, rawURL, clientID) })
	return tr
}

func closeTransport(t *testing.T, tr mqtt.Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Close(ctx); err != nil {
		t.Errorf("closing transport: %v", err)
	}
}

// tidySession ends a persistent session on the broker: connect with clean
// start and session expiry 0, then disconnect.
func tidySession(t *testing.T, rawURL, clientID string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Errorf("tidying session %s: %v", clientID, err)
		return
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Errorf("tidying session %s: %v", clientID, err)
		return
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: clientID})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 10}); err != nil {
		t.Errorf("tidying session %s: %v", clientID, err)
		_ = conn.Close()
		return
	}
	_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
}

// externalDevice connects a device client (clean session) to the broker.
func externalDevice(t *testing.T, rawURL string) *device {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return mustDevice(t, u.Host, "dev-"+uuid.NewString(), "", "")
}

// publishN publishes n QoS 1 messages to topic, one every gap.
func publishN(t *testing.T, d *device, topic string, n int, gap time.Duration) {
	t.Helper()
	for i := range n {
		if err := d.publish(t, topic, fmt.Sprintf("m%04d", i)); err != nil {
			t.Errorf("publishing message %d: %v", i, err)
			return
		}
		time.Sleep(gap)
	}
}

func TestExternalIntegrationSharedReceive(t *testing.T) {
	t.Parallel()
	rawURL := externalURL(t)
	org := uuid.NewString()
	rec := newRecorder()
	tr := openExternal(t, rawURL, "gl-"+uuid.NewString(), uuid.NewString(), orgRecorder{rec, org})
	defer closeTransport(t, tr)

	d := externalDevice(t, rawURL)
	for _, k := range mqtt.InboundKinds() {
		topic, _ := mqtt.BuildTopic(org, "dev-1", k)
		if err := d.publish(t, topic, string(k)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "3 messages", func() bool { return rec.unique() == 3 })
	rec.mu.Lock()
	for _, m := range rec.msgs {
		if m.Org != org || m.Device != "dev-1" || string(m.Kind) != string(m.Payload) || m.QoS != 1 {
			t.Errorf("unexpected message %+v", m)
		}
	}
	rec.mu.Unlock()

	// Commands: the transport publishes, the device receives.
	cmd, _ := mqtt.BuildTopic(org, "dev-1", mqtt.KindCommands)
	if rc := d.subscribe(t, cmd); rc >= 0x80 {
		t.Fatalf("subscribing to %s: 0x%02x", cmd, rc)
	}
	if err := tr.Publish(t.Context(), cmd, []byte("reboot"), 1, false); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-d.got:
		if p.Topic != cmd || string(p.Payload) != "reboot" {
			t.Errorf("device got %s %q", p.Topic, p.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("device did not get the command")
	}
}

// TestExternalIntegrationPersistentSession stops the transport while a
// device keeps publishing and starts it again with the same client id:
// the broker queued the messages in the session, so all arrive.
func TestExternalIntegrationPersistentSession(t *testing.T) {
	t.Parallel()
	rawURL := externalURL(t)
	const n = 150
	org, clientID, group := uuid.NewString(), "gl-"+uuid.NewString(), uuid.NewString()
	rec := newRecorder()
	h := orgRecorder{rec, org}
	tr := openExternal(t, rawURL, clientID, group, h)

	d := externalDevice(t, rawURL)
	topic, _ := mqtt.BuildTopic(org, "dev-1", mqtt.KindTelemetry)
	done := make(chan struct{})
	go func() { defer close(done); publishN(t, d, topic, n, 5*time.Millisecond) }()

	waitFor(t, 20*time.Second, "30 messages before the stop", func() bool { return rec.unique() >= 30 })
	closeTransport(t, tr)
	stoppedAt := rec.unique()
	time.Sleep(300 * time.Millisecond) // messages keep coming while we are away
	tr2 := openExternal(t, rawURL, clientID, group, h)
	defer closeTransport(t, tr2)

	<-done
	waitFor(t, 30*time.Second, fmt.Sprintf("all %d messages", n), func() bool { return rec.unique() == n })
	t.Logf("received %d messages (%d distinct); %d before the stop", rec.total(), rec.unique(), stoppedAt)
}

// TestExternalIntegrationShareGroupSplits runs two transports in one share
// group: each gets some of the messages, together all of them.
func TestExternalIntegrationShareGroupSplits(t *testing.T) {
	t.Parallel()
	rawURL := externalURL(t)
	const n = 100
	org, group := uuid.NewString(), uuid.NewString()
	var mu sync.Mutex
	per := map[string]int{}
	all := newRecorder()
	mk := func(name string) mqtt.Handler {
		return orgRecorder{all, org}.withHook(func() { mu.Lock(); per[name]++; mu.Unlock() })
	}
	a := openExternal(t, rawURL, "gl-a-"+uuid.NewString(), group, mk("a"))
	defer closeTransport(t, a)
	b := openExternal(t, rawURL, "gl-b-"+uuid.NewString(), group, mk("b"))
	defer closeTransport(t, b)

	d := externalDevice(t, rawURL)
	topic, _ := mqtt.BuildTopic(org, "dev-1", mqtt.KindTelemetry)
	publishN(t, d, topic, n, 0)
	waitFor(t, 20*time.Second, fmt.Sprintf("all %d messages", n), func() bool { return all.unique() == n })
	mu.Lock()
	defer mu.Unlock()
	if per["a"] == 0 || per["b"] == 0 {
		t.Errorf("share group did not split: a got %d, b got %d", per["a"], per["b"])
	}
	if all.total() != n {
		t.Errorf("received %d messages for %d published (duplicates across the group)", all.total(), n)
	}
	t.Logf("a got %d, b got %d", per["a"], per["b"])
}

// withHook returns a handler that calls f for each message of r's org.
func (r orgRecorder) withHook(f func()) mqtt.Handler {
	return mqtt.HandlerFunc(func(m mqtt.Message, ack func()) {
		if m.Org == r.org {
			f()
		}
		r.Handle(m, ack)
	})
}
