package mqtt_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/greenlang/greenlang/internal/mqtt"
)

func TestEmbeddedConnectRefused(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t, newRecorder(), "")
	for _, c := range []struct{ name, user, pass string }{
		{"wrong password", "o1-d1", "nope"},
		{"unknown user", "ghost", "pw"},
		{"no credentials", "", ""},
	} {
		if _, err := dialDevice(t, e.Addr(), "cid-"+c.user, c.user, c.pass); err == nil {
			t.Errorf("%s: CONNECT accepted, want refused", c.name)
		}
	}
	mustDevice(t, e.Addr(), "cid-ok", "o1-d1", "pw-d1")
}

func TestEmbeddedACL(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	e := startEmbedded(t, rec, "")
	d := mustDevice(t, e.Addr(), "o1-d1", "o1-d1", "pw-d1")

	allowed := []string{
		"greenlang/v1/o1/d1/telemetry",
		"greenlang/v1/o1/d1/status",
		"greenlang/v1/o1/d1/command-results",
	}
	for _, topic := range allowed {
		if err := d.publish(t, topic, "ok "+topic); err != nil {
			t.Errorf("publishing to own %s: %v", topic, err)
		}
	}
	refused := []string{
		"greenlang/v1/o1/d2/telemetry",       // another device
		"greenlang/v1/o2/d1/telemetry",       // same device id, other org
		"greenlang/v1/o1/d1/commands",        // a platform -> device topic
		"greenlang/v1/o1/d2/command-results", // another device
		"elsewhere/telemetry",
	}
	for _, topic := range refused {
		if err := d.publish(t, topic, "bad "+topic); err == nil {
			t.Errorf("publishing to %s accepted, want refused", topic)
		}
	}
	if got := rec.total(); got != len(allowed) {
		t.Errorf("handler got %d messages, want %d (only the allowed ones)", got, len(allowed))
	}

	if rc := d.subscribe(t, "greenlang/v1/o1/d1/commands"); rc >= 0x80 {
		t.Errorf("subscribing to own commands: reason 0x%02x", rc)
	}
	for _, f := range []string{
		"greenlang/v1/o1/d2/commands",
		"greenlang/v1/o1/+/commands",
		"greenlang/v1/o1/d1/+",
		"greenlang/v1/#",
		"#",
		"greenlang/v1/o1/d1/telemetry",
		"$share/g/greenlang/v1/o1/d1/commands",
	} {
		if rc := d.subscribe(t, f); rc < 0x80 {
			t.Errorf("subscribing to %s granted (0x%02x), want refused", f, rc)
		}
	}
}

func TestEmbeddedPubackWaitsForAck(t *testing.T) {
	t.Parallel()
	acks := make(chan func(), 1)
	h := mqtt.HandlerFunc(func(m mqtt.Message, ack func()) { acks <- ack })
	e := startEmbedded(t, h, "")
	d := mustDevice(t, e.Addr(), "o1-d1", "o1-d1", "pw-d1")

	published := make(chan error, 1)
	go func() { published <- d.publish(t, "greenlang/v1/o1/d1/telemetry", "m1") }()
	var ack func()
	select {
	case ack = <-acks:
	case <-time.After(5 * time.Second):
		t.Fatal("handler not called")
	}
	select {
	case err := <-published:
		t.Fatalf("Publish returned (err %v) before the handler acked: PUBACK not held", err)
	case <-time.After(500 * time.Millisecond):
	}
	ack()
	ack() // a second call does nothing
	select {
	case err := <-published:
		if err != nil {
			t.Fatalf("Publish after ack: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish did not return after ack: PUBACK not sent")
	}
}

// TestEmbeddedConcurrentClients holds every client's first message until
// all clients' first messages are in the handler at once (a batch across
// clients), then acks the batch.
func TestEmbeddedConcurrentClients(t *testing.T) {
	t.Parallel()
	const clients, perClient = 20, 10
	var (
		mu      sync.Mutex
		pending []func()
		batched = make(chan struct{})
		total   atomic.Int64
		first   = map[string]bool{}
	)
	h := mqtt.HandlerFunc(func(m mqtt.Message, ack func()) {
		total.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if first[m.ClientID] {
			ack()
			return
		}
		first[m.ClientID] = true
		pending = append(pending, ack)
		if len(pending) == clients {
			for _, a := range pending {
				a()
			}
			close(batched)
		}
	})
	auth := memAuth{users: map[string]memUser{}}
	for i := range clients {
		auth.users[fmt.Sprintf("u%d", i)] = memUser{"pw", mqtt.Identity{Org: "o1", Device: fmt.Sprintf("d%d", i)}}
	}
	tr, err := mqtt.Open(t.Context(), "mqtt+embedded://127.0.0.1:0", mqtt.Options{Handler: h, Authenticator: auth, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e := tr.(*mqtt.Embedded)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close(context.Background()) }()

	var wg sync.WaitGroup
	errs := make(chan error, clients*perClient)
	for i := range clients {
		d := mustDevice(t, e.Addr(), fmt.Sprintf("c%d", i), fmt.Sprintf("u%d", i), "pw")
		wg.Go(func() {
			topic := fmt.Sprintf("greenlang/v1/o1/d%d/telemetry", i)
			for j := range perClient {
				if err := d.publish(t, topic, fmt.Sprintf("%d-%d", i, j)); err != nil {
					errs <- fmt.Errorf("client %d message %d: %w", i, j, err)
				}
			}
		})
	}
	select {
	case <-batched:
	case <-time.After(10 * time.Second):
		mu.Lock()
		n := len(pending)
		mu.Unlock()
		t.Fatalf("only %d of %d clients' messages reached the handler at once", n, clients)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := total.Load(); got != clients*perClient {
		t.Errorf("handled %d messages, want %d", got, clients*perClient)
	}
}

func TestEmbeddedCommandsReachOnlyTheirDevice(t *testing.T) {
	t.Parallel()
	e := startEmbedded(t, newRecorder(), "")
	d1 := mustDevice(t, e.Addr(), "o1-d1", "o1-d1", "pw-d1")
	d2 := mustDevice(t, e.Addr(), "o1-d2", "o1-d2", "pw-d2")
	o2d1 := mustDevice(t, e.Addr(), "o2-d1", "o2-d1", "pw-o2d1")
	for _, d := range []struct {
		d     *device
		topic string
	}{{d1, "greenlang/v1/o1/d1/commands"}, {d2, "greenlang/v1/o1/d2/commands"}, {o2d1, "greenlang/v1/o2/d1/commands"}} {
		if rc := d.d.subscribe(t, d.topic); rc >= 0x80 {
			t.Fatalf("subscribing to %s: 0x%02x", d.topic, rc)
		}
	}
	topic, err := mqtt.BuildTopic("o1", "d1", mqtt.KindCommands)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Publish(t.Context(), topic, []byte(`{"cmd":"reboot"}`), 1, false); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-d1.got:
		if p.Topic != topic || string(p.Payload) != `{"cmd":"reboot"}` {
			t.Errorf("d1 got %s %q", p.Topic, p.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("d1 did not get its command")
	}
	time.Sleep(300 * time.Millisecond)
	for name, d := range map[string]*device{"o1/d2": d2, "o2/d1": o2d1} {
		select {
		case p := <-d.got:
			t.Errorf("%s got a message meant for o1/d1: %s", name, p.Topic)
		default:
		}
	}
}

// TestEmbeddedRestartNoLoss restarts the broker while a device with a
// persistent session publishes QoS 1 messages, retrying each until it is
// PUBACKed; every message must reach the handler at least once.
func TestEmbeddedRestartNoLoss(t *testing.T) {
	t.Parallel()
	const n = 100
	rec := newRecorder()
	// The first delivery of m030 is never acked: the broker goes down while
	// the handler holds it, so only the device's resend can bring it in.
	held := make(chan struct{})
	var holdOnce sync.Once
	h := mqtt.HandlerFunc(func(m mqtt.Message, ack func()) {
		if string(m.Payload) == "m030" {
			hold := false
			holdOnce.Do(func() { hold = true })
			if hold {
				close(held)
				return
			}
		}
		rec.Handle(m, ack)
	})
	e1 := startEmbedded(t, h, "")
	addr := e1.Addr()

	u, _ := url.Parse("mqtt://" + addr)
	cm, err := autopaho.NewConnection(t.Context(), autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     5,
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         300,
		ReconnectBackoff:              autopaho.NewConstantBackoff(50 * time.Millisecond),
		ConnectTimeout:                2 * time.Second,
		ConnectUsername:               "o1-d1",
		ConnectPassword:               []byte("pw-d1"),
		ClientConfig:                  paho.ClientConfig{ClientID: "o1-d1-persistent"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cm.Disconnect(context.Background()) }()

	published := make(chan error, 1)
	go func() {
		for i := range n {
			payload := fmt.Sprintf("m%03d", i)
			for attempt := 0; ; attempt++ {
				if attempt > 200 {
					published <- fmt.Errorf("message %s: gave up", payload)
					return
				}
				ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
				err := cm.AwaitConnection(ctx)
				if err == nil {
					_, err = cm.Publish(ctx, &paho.Publish{Topic: "greenlang/v1/o1/d1/telemetry", QoS: 1, Payload: []byte(payload)})
				}
				cancel()
				if err == nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		published <- nil
	}()

	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("m030 never reached the handler")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	beforeRestart := rec.unique()
	time.Sleep(200 * time.Millisecond)
	startEmbedded(t, h, addr)

	select {
	case err := <-published:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("device still publishing after 60s; %d unique handled", rec.unique())
	}
	rec.mu.Lock()
	if rec.seen["m030"] == 0 {
		t.Error("m030, held when the broker closed, was never handled after the restart")
	}
	rec.mu.Unlock()
	if got := rec.unique(); got != n {
		t.Errorf("handled %d distinct messages, want %d (lost %d)", got, n, n-got)
	}
	t.Logf("handled %d messages (%d distinct, %d before the restart)", rec.total(), rec.unique(), beforeRestart)
}
