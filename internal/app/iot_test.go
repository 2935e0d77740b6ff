package app_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
func simDevices(t testing.TB, st *store.Store, org uuid.UUID, n int) []simulate.Device {
	t.Helper()
	var out []simulate.Device
	for range n {
		d := &store.Device{DeviceType: "energy_meter", Serial: "EM-" + uuid.NewString()[:13]}
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

// serve sends a queued command to its device over the embedded broker and
// records the device's result; a reading out of range becomes a stored
// alert.
func TestServeDeviceCommandsAndAlerts(t *testing.T) {
	t.Parallel()
	a := startApp(t, testConfig(t), app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	st := a.Store()
	org := drivertest.NewOrg(t, st).ID
	d := &store.Device{DeviceType: "air_quality", Serial: "AQ-1"}
	if err := st.Devices().Create(ctx, org, d); err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 1)
	dev, base := connectDevice(ctx, t, a, org, d, got)
	if _, err := dev.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: base + "/commands", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	cmd, err := st.DeviceCommandCreate(ctx, org, store.DeviceCommandCreateParams{DeviceID: d.ID, Kind: "configure", Payload: store.JSON(`{"interval_s":60}`)})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if !strings.Contains(string(p.Payload), cmd.ID.String()) || !strings.Contains(string(p.Payload), `"interval_s":60`) {
			t.Fatalf("command received: %s", p.Payload)
		}
	case <-ctx.Done():
		t.Fatal("the device received no command")
	}
	result := `{"id":"` + cmd.ID.String() + `","status":"succeeded","progress_pct":100,"message":"applied"}`
	if _, err := dev.Publish(ctx, &paho.Publish{Topic: base + "/command-results", QoS: 1, Payload: []byte(result)}); err != nil {
		t.Fatal(err)
	}
	// The PUBACK came after the result was applied.
	if c, err := st.DeviceCommandGet(ctx, org, cmd.ID); err != nil || c.Status != "succeeded" {
		t.Fatalf("command after its result: %+v %v", c, err)
	}

	// PM2.5 at 180 µg/m³ breaks the built-in threshold: an open alert.
	waitForAlert(ctx, t, st, org, dev, base, `"pm25":180.5`, "pm25", "pm25-unhealthy")
}

// connectDevice registers d's credentials and connects it to a's embedded
// broker; what it receives goes to got (nil: nothing expected). It
// returns the client and the device's topic base.
func connectDevice(ctx context.Context, t *testing.T, a *app.App, org uuid.UUID, d *store.Device, got chan<- *paho.Publish) (*paho.Client, string) {
	t.Helper()
	secret, _, err := a.Store().DeviceCredentialIssue(ctx, org, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", a.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	dev := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			if got != nil {
				got <- pr.Packet
			}
			return true, nil
		}}})
	if _, err := dev.Connect(ctx, &paho.Connect{ClientID: d.Serial, CleanStart: true, KeepAlive: 30, UsernameFlag: true, PasswordFlag: true,
		Username: org.String() + "/" + d.ID.String(), Password: []byte(secret)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev.Disconnect(&paho.Disconnect{}) })
	return dev, "greenlang/v1/" + org.String() + "/" + d.ID.String()
}

// waitForAlert publishes metrics (a JSON object's members) a minute ago
// and waits for the open alert of metric and rule they raise.
func waitForAlert(ctx context.Context, t *testing.T, st *store.Store, org uuid.UUID, dev *paho.Client, base, metrics, metric, rule string) {
	t.Helper()
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	if _, err := dev.Publish(ctx, &paho.Publish{Topic: base + "/telemetry", QoS: 1, Payload: []byte(`{"time":"` + ts + `","metrics":{` + metrics + `}}`)}); err != nil {
		t.Fatal(err)
	}
	for {
		als, err := st.AlertsList(ctx, org, store.AlertFilter{Status: "open"})
		if err != nil {
			t.Fatal(err)
		}
		if len(als) == 1 && als[0].Metric == metric && als[0].Rule == rule {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no open %s alert of rule %s stored: %+v", metric, rule, als)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// anomaly.thresholds_file replaces the built-in threshold rules: its rule
// raises alerts, a built-in one no longer does; a bad file stops the
// start with an error naming it.
func TestServeThresholdsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := filepath.Join(dir, "thresholds.json")
	if err := os.WriteFile(rules, []byte(`[{"rule": "office-stuffy", "device_type": "air_quality", "metric": "co2_ppm", "max": 1000, "severity": "info"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Anomaly.ThresholdsFile = rules
	a := startApp(t, cfg, app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	org := drivertest.NewOrg(t, a.Store()).ID
	d := &store.Device{DeviceType: "air_quality", Serial: "AQ-2"}
	if err := a.Store().Devices().Create(ctx, org, d); err != nil {
		t.Fatal(err)
	}
	dev, base := connectDevice(ctx, t, a, org, d, nil)
	// PM2.5 180 (a built-in rule's breach) raises nothing now; CO2 1500
	// breaks the file's rule: exactly one alert, the file's.
	waitForAlert(ctx, t, a.Store(), org, dev, base, `"pm25":180.5,"co2_ppm":1500`, "co2_ppm", "office-stuffy")

	bad := testConfig(t)
	bad.Anomaly.ThresholdsFile = filepath.Join(dir, "missing.json")
	b, err := app.New(bad, nil, app.Options{Migrate: true})
	if err == nil {
		err = b.Start(ctx)
		_ = b.Stop(context.Background())
	}
	if err == nil || !strings.Contains(err.Error(), "anomaly.thresholds_file") {
		t.Fatalf("a missing thresholds file: %v", err)
	}
}
