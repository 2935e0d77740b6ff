package app_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/iot/simulate"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/store/pgstore/pgtest"
)

// IoT benchmarks (docs/iot.md, "Performance"): messages per second from
// the simulator's publish to readings committed in the store, beside the
// broker's own throughput with a bare subscriber and the store's bulk
// insert, read as ratios from one run:
//
//	GREENLANG_TEST_POSTGRES_URL=… go test ./internal/app -run '^$' -bench 'IoT' -benchtime 3x
//
// Every message is an energy meter's (5 readings), from benchDevices
// devices with one connection each.
const (
	benchDevices  = 200
	benchMessages = 20000
	benchReadings = 5 // per energy-meter message
)

// iotBenchConfig is serve's configuration for the benchmarks: quiet logs,
// the embedded broker on a free port.
func iotBenchConfig(b *testing.B) config.Config {
	return config.Config{
		DataDir: filepath.Join(b.TempDir(), "data"),
		HTTP:    config.HTTPConfig{Addr: "127.0.0.1:0"},
		MQTT:    config.MQTTConfig{URL: "mqtt+embedded://127.0.0.1:0"},
	}.WithDefaults()
}

func startBenchApp(b *testing.B, cfg config.Config, reg *prometheus.Registry) *app.App {
	b.Helper()
	a, err := app.New(cfg, nil, app.Options{Migrate: true, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

// storedTotal reads the ingest's stored-readings counter.
func storedTotal(b *testing.B, reg *prometheus.Registry) float64 {
	b.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "greenlang_iot_readings_stored_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// BenchmarkIoTEmbeddedSQLite is the default installation: the embedded
// broker and SQLite. A message is acknowledged once stored, so the
// simulator's acknowledged rate is the committed rate.
func BenchmarkIoTEmbeddedSQLite(b *testing.B) {
	reg := prometheus.NewRegistry()
	a := startBenchApp(b, iotBenchConfig(b), reg)
	benchEmbedded(b, a)
}

// BenchmarkIoTEmbeddedPostgres is the embedded broker with PostgreSQL.
func BenchmarkIoTEmbeddedPostgres(b *testing.B) {
	db := pgtest.New(b, "greenlang_iot_bench")
	cfg := iotBenchConfig(b)
	cfg.Store.URL, cfg.Store.AdminURL = db.AppURL, db.AdminURL
	a := startBenchApp(b, cfg, prometheus.NewRegistry())
	benchEmbedded(b, a)
}

func benchEmbedded(b *testing.B, a *app.App) {
	org := drivertest.NewOrg(b, a.Store()).ID
	devs := simDevices(b, a.Store(), org, benchDevices)
	broker := "tcp://" + a.MQTTAddr()
	rate := ackedRates(b, broker, devs)
	b.ReportMetric(median(rate), "msgs/s")
	// Latency at half the measured rate: publish to PUBACK, which the
	// embedded broker sends once the reading is committed.
	st, err := simulate.Run(context.Background(), simulate.Config{Broker: broker, Devices: devs, Messages: benchMessages / 2,
		Rate: median(rate) / 2, QoS: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(percentile(st.Latencies, 0.99).Seconds()*1000, "p99-ms@half")
	b.ReportMetric(percentile(st.Latencies, 0.5).Seconds()*1000, "p50-ms@half")
}

// ackedRates runs the simulator's load once per b.Loop iteration and
// returns each run's acknowledged messages per second.
func ackedRates(b *testing.B, broker string, devs []simulate.Device) []float64 {
	var rate []float64
	for b.Loop() {
		st, err := simulate.Run(context.Background(), simulate.Config{Broker: broker, Devices: devs, Messages: benchMessages, QoS: 1}, nil)
		if err != nil || st.Acked != benchMessages {
			b.Fatalf("%+v %v", st, err)
		}
		rate = append(rate, float64(st.Acked)/st.Elapsed.Seconds())
	}
	return rate
}

// BenchmarkIoTBrokerBaselineEmbedded is the embedded broker with a bare
// subscriber: the same transport, a handler that acknowledges at once and
// does nothing else, the same simulator load.
func BenchmarkIoTBrokerBaselineEmbedded(b *testing.B) {
	auth := mqtt.AuthenticatorFunc(func(_ context.Context, _, username string, _ []byte) (mqtt.Identity, error) {
		org, dev, _ := strings.Cut(username, "/")
		return mqtt.Identity{Org: org, Device: dev}, nil
	})
	t, err := mqtt.Open(context.Background(), "mqtt+embedded://127.0.0.1:0", mqtt.Options{Authenticator: auth,
		Handler: mqtt.HandlerFunc(func(_ mqtt.Message, ack func()) { ack() })})
	if err != nil {
		b.Fatal(err)
	}
	if err := t.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = t.Close(context.Background()) })
	org := uuid.NewString()
	devs := make([]simulate.Device, benchDevices)
	for i := range devs {
		id := uuid.NewString()
		devs[i] = simulate.Device{Org: org, ID: id, Type: "energy_meter", User: org + "/" + id, Secret: "x"}
	}
	broker := "tcp://" + t.(*mqtt.Embedded).Addr()
	rate := ackedRates(b, broker, devs)
	b.ReportMetric(median(rate), "msgs/s")
}

// benchMosquitto starts a private Mosquitto (the mosquitto binary on
// PATH) whose per-client queue is unbounded: the machine's broker keeps
// Mosquitto's default max_queued_messages of 1000 and drops QoS 1
// messages beyond it for a subscriber that falls behind (docs/mqtt.md), so
// a burst of 20,000 would lose messages before they reach any subscriber.
func benchMosquitto(b *testing.B) string {
	b.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		b.Skip("no mosquitto binary on PATH")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(b.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, []byte("listener "+port+" 127.0.0.1\nallow_anonymous true\npersistence false\n"+
		"max_queued_messages 0\nmax_inflight_messages 0\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("mosquitto did not listen on %s", addr)
		}
	}
	return "tcp://" + addr
}

// BenchmarkIoTMosquittoPostgres is the scaled-out path: devices publish to
// a real Mosquitto (benchMosquitto), serve reads through its shared
// subscription and stores into PostgreSQL. Mosquitto acknowledges the
// devices itself, so the rate is messages over the time until every
// reading is committed.
func BenchmarkIoTMosquittoPostgres(b *testing.B) {
	mqttURL := benchMosquitto(b)
	db := pgtest.New(b, "greenlang_iot_bench")
	cfg := iotBenchConfig(b)
	cfg.Store.URL, cfg.Store.AdminURL = db.AppURL, db.AdminURL
	cfg.MQTT.URL = mqttURL
	cfg.MQTT.ClientID = "greenlang-bench-" + uuid.NewString()[:8]
	cfg.MQTT.ShareGroup = "glbench" + uuid.NewString()[:8]
	reg := prometheus.NewRegistry()
	a := startBenchApp(b, cfg, reg)
	org := drivertest.NewOrg(b, a.Store()).ID
	devs := simDevices(b, a.Store(), org, benchDevices)
	var rate []float64
	for b.Loop() {
		before := storedTotal(b, reg)
		start := time.Now()
		st, err := simulate.Run(context.Background(), simulate.Config{Broker: mqttURL, Devices: devs, Messages: benchMessages, QoS: 1}, nil)
		if err != nil || st.Acked != benchMessages {
			b.Fatalf("%+v %v", st, err)
		}
		// The simulator's connections are counted here, unlike on the
		// embedded path; at 200 connections they take a few ms.
		want := before + benchMessages*benchReadings
		for storedTotal(b, reg) < want {
			time.Sleep(2 * time.Millisecond)
		}
		rate = append(rate, benchMessages/time.Since(start).Seconds())
	}
	b.ReportMetric(median(rate), "msgs/s")
}

// BenchmarkIoTBrokerBaselineMosquitto is Mosquitto with a bare subscriber
// (paho, QoS 1, no processing): messages over the time until it has
// received them all.
func BenchmarkIoTBrokerBaselineMosquitto(b *testing.B) {
	mqttURL := benchMosquitto(b)
	u, err := url.Parse(mqttURL)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		b.Fatal(err)
	}
	var got atomic.Int64
	org := uuid.NewString()
	sub := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(paho.PublishReceived) (bool, error) { got.Add(1); return true, nil }}})
	if _, err := sub.Connect(context.Background(), &paho.Connect{ClientID: "bare-" + org[:8], CleanStart: true, KeepAlive: 30}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Disconnect(&paho.Disconnect{}) })
	if _, err := sub.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "greenlang/v1/" + org + "/+/telemetry", QoS: 1}}}); err != nil {
		b.Fatal(err)
	}
	devs := make([]simulate.Device, benchDevices)
	for i := range devs {
		devs[i] = simulate.Device{Org: org, ID: uuid.NewString(), Type: "energy_meter"}
	}
	var rate []float64
	for b.Loop() {
		before := got.Load()
		start := time.Now()
		st, err := simulate.Run(context.Background(), simulate.Config{Broker: mqttURL, Devices: devs, Messages: benchMessages, QoS: 1}, nil)
		if err != nil || st.Acked != benchMessages {
			b.Fatalf("%+v %v", st, err)
		}
		for got.Load() < before+benchMessages {
			time.Sleep(time.Millisecond)
		}
		rate = append(rate, benchMessages/time.Since(start).Seconds())
	}
	b.ReportMetric(median(rate), "msgs/s")
}

// BenchmarkIoTStoreBaselineSQLite and ...Postgres are the store's bulk
// insert alone: the same readings (benchMessages × 5), in batches of the
// ingest's size, with no broker and no parsing.
func BenchmarkIoTStoreBaselineSQLite(b *testing.B) {
	a := startBenchApp(b, iotBenchConfig(b), prometheus.NewRegistry())
	benchStoreBaseline(b, a.Store())
}

func BenchmarkIoTStoreBaselinePostgres(b *testing.B) {
	db := pgtest.New(b, "greenlang_iot_bench")
	cfg := iotBenchConfig(b)
	cfg.Store.URL, cfg.Store.AdminURL = db.AppURL, db.AdminURL
	a := startBenchApp(b, cfg, prometheus.NewRegistry())
	benchStoreBaseline(b, a.Store())
}

func benchStoreBaseline(b *testing.B, st *store.Store) {
	org := drivertest.NewOrg(b, st).ID
	devs := simDevices(b, st, org, benchDevices)
	metrics := []string{"energy_kwh_total", "power_kw", "power_factor", "voltage_v", "current_a"}
	base := time.Now().UTC().Truncate(time.Second)
	var rate []float64
	round := 0
	for b.Loop() {
		b.StopTimer()
		batches := make([][]store.SensorReading, 0, benchMessages*benchReadings/config.DefaultMQTTBatchSize)
		var cur []store.SensorReading
		for i := range benchMessages {
			d := uuid.MustParse(devs[i%len(devs)].ID)
			ts := base.Add(time.Duration(round*benchMessages+i) * time.Millisecond)
			for k, m := range metrics {
				cur = append(cur, store.SensorReading{DeviceID: d, Metric: m, Time: ts, Value: decimal.New(int64(1000+i+k), -1), Unit: "kWh"})
			}
			if len(cur) >= config.DefaultMQTTBatchSize {
				batches, cur = append(batches, cur), nil
			}
		}
		if len(cur) > 0 {
			batches = append(batches, cur)
		}
		round++
		b.StartTimer()
		start := time.Now()
		for _, batch := range batches {
			if _, err := st.SensorReadingsInsert(context.Background(), org, batch); err != nil {
				b.Fatal(err)
			}
		}
		rate = append(rate, benchMessages/time.Since(start).Seconds())
	}
	b.ReportMetric(median(rate), "msgs/s")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkIoTTelegrafPostgres is the comparison the issue asks for:
// Telegraf (mqtt_consumer → postgresql output) on the same load as
// BenchmarkIoTMosquittoPostgres — the same private Mosquitto, 200 energy
// meters, 20,000 QoS 1 messages — until every message is a row in
// PostgreSQL. Telegraf is not a dependency: the benchmark runs the binary
// GREENLANG_BENCH_TELEGRAF names and is skipped without it. Build one
// with only the plugins it needs:
//
//	go install -tags custom,inputs.mqtt_consumer,outputs.postgresql,parsers.json_v2 github.com/influxdata/telegraf/cmd/telegraf@v1.37.2
//
// Telegraf stores one row per message (its five numbers as columns), and
// acknowledges a QoS 1 message once its metric is written (at most
// max_undelivered_messages in flight, set to the ingest's queue depth).
// It does no validation, per-device authentication, de-duplication or
// stream publishing: it is the floor of what an MQTT-to-PostgreSQL path
// costs.
func BenchmarkIoTTelegrafPostgres(b *testing.B) {
	bin := os.Getenv("GREENLANG_BENCH_TELEGRAF")
	if bin == "" {
		b.Skip("GREENLANG_BENCH_TELEGRAF (a telegraf binary) is not set")
	}
	mqttURL := benchMosquitto(b)
	db := pgtest.New(b, "greenlang_iot_telegraf")
	conf := filepath.Join(b.TempDir(), "telegraf.conf")
	suffix := uuid.NewString()[:8]
	if err := os.WriteFile(conf, []byte(`[agent]
  interval = "1s"
  flush_interval = "100ms"
  metric_batch_size = 1000
  metric_buffer_limit = 1000000
  omit_hostname = true
  quiet = true

[[inputs.mqtt_consumer]]
  servers = ["`+mqttURL+`"]
  topics = ["greenlang/v1/+/+/telemetry"]
  qos = 1
  client_id = "telegraf-bench-`+suffix+`"
  persistent_session = true
  max_undelivered_messages = `+strconv.Itoa(config.DefaultMQTTQueueDepth)+`
  topic_tag = "topic"
  data_format = "json_v2"
  [[inputs.mqtt_consumer.json_v2]]
    measurement_name = "telemetry"
    timestamp_path = "time"
    timestamp_format = "`+time.RFC3339Nano+`"
    [[inputs.mqtt_consumer.json_v2.object]]
      path = "metrics"

[[outputs.postgresql]]
  connection = "`+db.AdminURL+`"
`), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", conf)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	conn, err := pgx.Connect(context.Background(), db.AdminURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close(context.Background()) })
	rows := func() int64 {
		var n int64
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM telemetry").Scan(&n); err != nil {
			return 0 // the table appears with Telegraf's first write
		}
		return n
	}
	org := uuid.NewString()
	devs := make([]simulate.Device, benchDevices)
	for i := range devs {
		devs[i] = simulate.Device{Org: org, ID: uuid.NewString(), Type: "energy_meter"}
	}
	time.Sleep(2 * time.Second) // Telegraf connects and subscribes
	var rate []float64
	for b.Loop() {
		before := rows()
		start := time.Now()
		st, err := simulate.Run(context.Background(), simulate.Config{Broker: mqttURL, Devices: devs, Messages: benchMessages, QoS: 1}, nil)
		if err != nil || st.Acked != benchMessages {
			b.Fatalf("%+v %v", st, err)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for rows() < before+benchMessages {
			select {
			case err := <-exited:
				exited <- err
				b.Fatalf("Telegraf exited (%v) after storing %d of %d messages", err, rows()-before, benchMessages)
			default:
			}
			if time.Now().After(deadline) {
				b.Fatalf("Telegraf stored %d of %d messages in 5 minutes", rows()-before, benchMessages)
			}
			time.Sleep(5 * time.Millisecond)
		}
		rate = append(rate, benchMessages/time.Since(start).Seconds())
	}
	b.ReportMetric(median(rate), "msgs/s")
}
