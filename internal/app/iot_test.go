package app_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/iot/simulate"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
	"github.com/greenlang/greenlang/internal/stream"
)

// simDevices registers n energy meters in org and returns them as the
// simulator's devices, with fresh secrets.
func simDevices(t *testing.T, st *store.Store, org uuid.UUID, n int) []simulate.Device {
	t.Helper()
	var out []simulate.Device
	for range n {
		d := &store.Device{DeviceType: "energy_meter", Serial: "EM-" + uuid.NewString()[:8]}
		if err := st.Devices().Create(t.Context(), org, d); err != nil {
			t.Fatal(err)
		}
		secret, _, err := st.DeviceCredentialIssue(t.Context(), org, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, simulate.Device{Org: org.String(), ID: d.ID.String(), Type: d.DeviceType,
			User: org.String() + "/" + d.ID.String(), Secret: secret})
	}
	return out
}

// storedReadings counts org's stored power_kw readings of devs (one per
// message the simulator sent) over the last day.
func storedReadings(t *testing.T, st *store.Store, org uuid.UUID, devs []simulate.Device) int {
	t.Helper()
	n := 0
	for _, d := range devs {
		rs, err := st.SensorReadings(t.Context(), org, store.SensorReadingsQuery{DeviceID: uuid.MustParse(d.ID), Metric: "power_kw",
			From: time.Now().Add(-24 * time.Hour), To: time.Now().Add(time.Hour), Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(rs)
	}
	return n
}

func waitStored(t *testing.T, st *store.Store, org uuid.UUID, devs []simulate.Device, want int) {
	t.Helper()
	got := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = storedReadings(t, st, org, devs); got >= want {
			break
		}
	}
	if got != want {
		t.Fatalf("%d readings stored, want %d", got, want)
	}
}

// serve's embedded broker takes telemetry from registered devices with
// their credentials and stores every acknowledged reading; a wrong secret
// is refused at connect; the readings reach iot.sensor-readings.
func TestServeIngestsMQTTEmbedded(t *testing.T) {
	t.Parallel()
	a := startApp(t, testConfig(t), app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	org := drivertest.NewOrg(t, a.Store()).ID
	devs := simDevices(t, a.Store(), org, 4)
	broker := "tcp://" + a.MQTTAddr()
	st, err := simulate.Run(ctx, simulate.Config{Broker: broker, Devices: devs, Messages: 200, QoS: 1}, nil)
	if err != nil || st.Acked != 200 {
		t.Fatalf("simulate: %+v %v", st, err)
	}
	// Acknowledged means stored: no waiting needed.
	if got := storedReadings(t, a.Store(), org, devs); got != 200 {
		t.Fatalf("%d readings stored after 200 acknowledged messages", got)
	}
	bad := devs[0]
	bad.Secret += "x"
	if _, err := simulate.Run(ctx, simulate.Config{Broker: broker, Devices: []simulate.Device{bad}, Messages: 1}, nil); err == nil {
		t.Fatal("a wrong secret was let in")
	}
	sub := replay(t, ctx, a, stream.TopicIoTSensorReadings)
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatalf("no reading on %s: %v", stream.TopicIoTSensorReadings, err)
	}
}

// With an external broker (the real Mosquitto) and PostgreSQL: serve
// reads through its persistent session; stopped under load and started
// again, it stores every message exactly once (the broker kept what came
// meanwhile; readings are idempotent by device, metric and time).
func TestServeIngestsMQTTExternalRestart(t *testing.T) {
	t.Parallel()
	mqttURL := os.Getenv("GREENLANG_TEST_MQTT_URL")
	if mqttURL == "" {
		t.Skip("GREENLANG_TEST_MQTT_URL is not set (e.g. tcp://127.0.0.1:1883): no external broker to test against")
	}
	db := pgtest.New(t, "greenlang_app_mqtt")
	cfg := testConfig(t)
	cfg.Store.URL, cfg.Store.AdminURL = db.AppURL, db.AdminURL
	cfg.MQTT.URL = mqttURL
	cfg.MQTT.ClientID = "greenlang-test-" + uuid.NewString()[:8]
	cfg.MQTT.ShareGroup = "gltest" + uuid.NewString()[:8]
	a := startApp(t, cfg, app.Options{Migrate: true})
	org := drivertest.NewOrg(t, a.Store()).ID
	devs := simDevices(t, a.Store(), org, 4)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	const total = 600
	done := make(chan error, 1)
	var st simulate.Stats
	go func() {
		var err error
		st, err = simulate.Run(ctx, simulate.Config{Broker: mqttURL, Devices: devs, Messages: total, Rate: 300, QoS: 1}, nil)
		done <- err
	}()
	// Stop the platform a third of the way through, start it again.
	for storedReadings(t, a.Store(), org, devs) < total/3 {
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // messages keep coming, into the broker's session
	a = startApp(t, cfg, app.Options{})
	if err := <-done; err != nil || st.Acked != total {
		t.Fatalf("simulate: %+v %v", st, err)
	}
	waitStored(t, a.Store(), org, devs, total)
	// Nothing more arrives late (no double count is possible: the store
	// keeps one reading per device, metric and time; this checks none is
	// lost or invented).
	time.Sleep(200 * time.Millisecond)
	if got := storedReadings(t, a.Store(), org, devs); got != total {
		t.Fatalf("%d readings stored, want %d", got, total)
	}
	// Tidy the broker: drop this test's persistent session.
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(mqttURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: cfg.MQTT.ClientID, CleanStart: true, KeepAlive: 10}); err != nil {
		t.Fatal(err)
	}
	_ = c.Disconnect(&paho.Disconnect{})
}
