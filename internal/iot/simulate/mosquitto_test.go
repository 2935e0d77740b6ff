package simulate

import (
	"context"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/uuid"
)

// Against the real broker at GREENLANG_TEST_MQTT_URL: every QoS 1 message
// the simulator counts as acknowledged reaches a subscriber, at the rate
// asked for.
func TestSimulateMosquitto(t *testing.T) {
	raw := os.Getenv("GREENLANG_TEST_MQTT_URL")
	if raw == "" {
		t.Skip("GREENLANG_TEST_MQTT_URL is not set (e.g. tcp://127.0.0.1:1883): no external broker to test against")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	org := uuid.NewString()
	var got atomic.Int64
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("broker at %s unreachable: %v", raw, err)
	}
	sub := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(paho.PublishReceived) (bool, error) { got.Add(1); return true, nil }}})
	if _, err := sub.Connect(ctx, &paho.Connect{ClientID: "sim-test-" + org[:8], CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer sub.Disconnect(&paho.Disconnect{})
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "greenlang/v1/" + org + "/+/telemetry", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	var devs []Device
	for _, typ := range Types() {
		devs = append(devs, Device{Org: org, ID: uuid.NewString(), Type: typ})
	}
	start := time.Now()
	st, err := Run(ctx, Config{Broker: raw, Devices: devs, Rate: 400, Messages: 200, QoS: 1, InFlight: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 400*time.Millisecond {
		t.Errorf("200 messages at 400/s took %s: the rate was not kept", elapsed)
	}
	if st.Sent != 200 || st.Acked != 200 || st.Failed != 0 || len(st.Latencies) != 200 {
		t.Fatalf("stats %+v", st)
	}
	for deadline := time.Now().Add(10 * time.Second); got.Load() < 200 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := got.Load(); n != 200 {
		t.Fatalf("subscriber received %d of 200", n)
	}
}
