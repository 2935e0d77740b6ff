// Package iot is the IoT domain service: it turns device telemetry arriving
// over MQTT (internal/mqtt) into stored sensor readings, events on
// iot.sensor-readings and dead letters, with bounded buffering and
// acknowledgement only once a reading is durable (docs/iot.md).
package iot

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/processor/anomaly"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

// Config tunes the ingest. Zero values take the defaults.
type Config struct {
	// BatchSize is the most readings written in one store transaction
	// (default 1000).
	BatchSize int
	// FlushInterval is how long a new batch waits for more readings before
	// it may go to a writer (default 0: at once to the first free writer;
	// while every writer is busy the batch grows anyway, up to BatchSize).
	FlushInterval time.Duration
	// QueueDepth bounds the messages accepted and not yet stored (default
	// 10,000). When it is full, Submit blocks: the broker stops reading
	// from the devices (back-pressure) instead of memory growing.
	QueueDepth int
	// DeviceCacheTTL is how long a device's type, site and status are
	// kept before they are read again (default 1 minute).
	DeviceCacheTTL time.Duration
	// Limits are the payload parser's (telemetry.Limits); zero values take
	// its defaults.
	Limits telemetry.Limits
	// EdgeRules filter and transform readings before they are stored
	// (ParseEdgeRules); nil: none.
	EdgeRules *EdgeRules
	// Writers is how many batches are stored at once (default 2): while
	// one waits on the store or the stream, the next is written. Readings
	// are idempotent and acknowledgements are sent in order by the
	// transport, so batches may complete in any order.
	Writers int
}

func (c Config) withDefaults() Config {
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.FlushInterval < 0 {
		c.FlushInterval = 0
	}
	if c.QueueDepth <= 0 {
		c.QueueDepth = 10000
	}
	if c.DeviceCacheTTL <= 0 {
		c.DeviceCacheTTL = time.Minute
	}
	if c.Writers <= 0 {
		c.Writers = 2
	}
	return c
}

// Ingest turns device messages into stored readings. It is safe for
// concurrent use; Run must be running for Submit to make progress.
type Ingest struct {
	cfg    Config
	st     *store.Store
	stream *stream.Stream // nil: readings are stored only
	cat    *telemetry.Catalogue
	log    *slog.Logger
	m      *metrics

	queue chan *pending

	mu      sync.Mutex
	devices map[deviceKey]cachedDevice

	// lastSeen is the last_seen_at each device was last given (under
	// seenMu): it is written again only when it moves by seenResolution,
	// not at every batch.
	seenMu   sync.Mutex
	lastSeen map[uuid.UUID]time.Time
}

// seenResolution is how far a device's last_seen_at may lag: the ingest
// rewrites it at most once per this much newer traffic.
const seenResolution = 30 * time.Second

type deviceKey struct{ org, device uuid.UUID }

type cachedDevice struct {
	d       *store.Device // nil: not registered
	fetched time.Time
}

// pending is one accepted message waiting for its batch: its good
// readings, and the acknowledgement to send once they are durable.
type pending struct {
	org      uuid.UUID
	device   *store.Device
	readings []store.SensorReading
	seen     time.Time // the message's arrival
	ack      func()
}

// New returns an ingest writing to st, publishing readings and dead letters
// to s when s is not nil. reg may be nil.
func New(st *store.Store, s *stream.Stream, cat *telemetry.Catalogue, log *slog.Logger, reg prometheus.Registerer, cfg Config) (*Ingest, error) {
	if st == nil || cat == nil {
		return nil, errors.New("iot: ingest needs a store and a device-type catalogue")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// Checked here, once: a bad limit would otherwise refuse every message.
	cfg.Limits = cfg.Limits.WithDefaults()
	if err := cfg.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("iot: payload limits: %w", err)
	}
	return &Ingest{cfg: cfg, st: st, stream: s, cat: cat, log: log, m: m,
		queue: make(chan *pending, cfg.QueueDepth), devices: map[deviceKey]cachedDevice{}, lastSeen: map[uuid.UUID]time.Time{}}, nil
}

// Submit takes one device message. It parses and checks the payload at
// once: readings it refuses are counted, logged with the device and
// reason and dead-lettered (the good readings of the same message are
// kept). It returns once the message is queued, blocking while the queue
// is full; ack is called when every good reading of the message is stored
// (and published), or at once when it had none. An error means the
// message was not taken (ctx ended, or the store could not say whether the
// device exists): it is not acknowledged, so the broker delivers it again.
func (in *Ingest) Submit(ctx context.Context, msg mqtt.Message, ack func()) error {
	in.m.messages.Inc()
	if msg.Kind != mqtt.KindTelemetry {
		// Status messages are not readings; command results go to the
		// Commander (the app routes them there before the ingest).
		ack()
		return nil
	}
	org, err1 := uuid.Parse(msg.Org)
	dev, err2 := uuid.Parse(msg.Device)
	if err1 != nil || err2 != nil {
		return in.refuseWhole(ctx, msg, ack, "topic", fmt.Sprintf("topic %q does not name an organization and a device by id", msg.Topic))
	}
	d, err := in.device(ctx, org, dev)
	if err != nil {
		return err
	}
	if d != nil && d.Status == store.DeviceInactive {
		// Set aside by an operator (iot device update --status inactive):
		// the embedded broker refuses its connection; through an external
		// broker its messages are refused here.
		return in.refuseWhole(ctx, msg, ack, "inactive_device", fmt.Sprintf("device %s is inactive (set aside): its messages are not taken", dev))
	}
	if d == nil {
		return in.refuseWhole(ctx, msg, ack, "unknown_device", fmt.Sprintf("device %s is not registered in organization %s", dev, org))
	}
	received := msg.Received
	if received.IsZero() {
		received = time.Now()
	}
	batch, err := in.cat.Parse(d.DeviceType, msg.Payload, received, in.cfg.Limits)
	if err != nil {
		return in.refuseWhole(ctx, msg, ack, "payload", err.Error())
	}
	if len(batch.Rejected) > 0 {
		reasons := make([]string, len(batch.Rejected))
		for i, r := range batch.Rejected {
			reasons[i] = r.String()
			in.m.rejected.WithLabelValues("reading").Inc()
		}
		in.log.Warn("iot: readings rejected", "org", org, "device", dev, "device_type", d.DeviceType, "rejected", len(batch.Rejected),
			"kept", len(batch.Readings), "reasons", strings.Join(reasons, "; "))
		if err := in.deadLetter(ctx, msg, strings.Join(reasons, "; ")); err != nil {
			return err
		}
	}
	if in.cfg.EdgeRules != nil {
		var dropped map[string]int
		batch.Readings, dropped = in.cfg.EdgeRules.Apply(d.DeviceType, dev.String(), batch.Readings)
		for rule, n := range dropped {
			in.m.edgeDropped.WithLabelValues(rule).Add(float64(n))
		}
	}
	if len(batch.Readings) == 0 {
		ack()
		return nil
	}
	p := &pending{org: org, device: d, seen: received, ack: ack, readings: make([]store.SensorReading, len(batch.Readings))}
	for i, r := range batch.Readings {
		p.readings[i] = store.SensorReading{DeviceID: dev, Metric: r.Metric, Time: r.Time, Value: r.Value, Unit: r.Unit, ReceivedAt: received}
	}
	select {
	case in.queue <- p:
		in.m.depth.Inc()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Refuse counts, logs and dead-letters a message none of which can be
// used (reason is the counter's label, detail what is wrong), without
// acknowledging it: the caller does, since sending it again would not
// help. It fails only when the dead letter cannot be published.
func (in *Ingest) Refuse(ctx context.Context, msg mqtt.Message, reason, detail string) error {
	in.m.rejected.WithLabelValues(reason).Inc()
	in.log.Warn("iot: message rejected", "topic", msg.Topic, "org", msg.Org, "device", msg.Device, "reason", detail)
	return in.deadLetter(ctx, msg, detail)
}

// refuseWhole refuses a message (see Refuse) and acknowledges it.
func (in *Ingest) refuseWhole(ctx context.Context, msg mqtt.Message, ack func(), reason, detail string) error {
	if err := in.Refuse(ctx, msg, reason, detail); err != nil {
		return err
	}
	ack()
	return nil
}

// deadLetter publishes msg's payload, as received, to integration.errors
// with the reason. Its event id is derived from the topic and payload, so
// a message delivered twice leaves one dead letter.
func (in *Ingest) deadLetter(ctx context.Context, msg mqtt.Message, reason string) error {
	if in.stream == nil {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(msg.Topic))
	h.Write([]byte{0})
	h.Write(msg.Payload)
	id := "mqtt." + hex.EncodeToString(h.Sum(nil))[:32] + ".dlq"
	dl := &stream.Message{Topic: stream.TopicIntegrationErrors, Key: msg.Org + "/" + msg.Device, Value: msg.Payload, EventID: id,
		Headers: map[string]string{stream.HeaderDLQReason: reason, stream.HeaderDLQTopic: "mqtt:" + msg.Topic}}
	if err := in.stream.Publish(ctx, dl); err != nil {
		return fmt.Errorf("iot: dead-lettering a message of %s: %w", msg.Topic, err)
	}
	in.m.deadLetters.Inc()
	return nil
}

// device returns a registered device, nil when org has no such device.
func (in *Ingest) device(ctx context.Context, org, id uuid.UUID) (*store.Device, error) {
	k := deviceKey{org, id}
	now := time.Now()
	in.mu.Lock()
	c, ok := in.devices[k]
	in.mu.Unlock()
	if ok && now.Sub(c.fetched) < in.cfg.DeviceCacheTTL {
		return c.d, nil
	}
	d, err := in.st.Devices().Get(ctx, org, id)
	switch {
	case store.CodeOf(err) == store.CodeNotFound:
		d = nil
	case err != nil:
		return nil, fmt.Errorf("iot: looking up device %s: %w", id, err)
	}
	if d != nil && d.Status == store.DeviceDecommissioned {
		d = nil
	}
	in.mu.Lock()
	in.devices[k] = cachedDevice{d: d, fetched: now}
	in.mu.Unlock()
	return d, nil
}

// Run writes queued readings in batches until ctx ends, then writes what
// is queued and returns. Up to Config.Writers batches are written at once;
// a batch the store cannot take is retried with backoff (its messages
// stay unacknowledged meanwhile), never dropped.
func (in *Ingest) Run(ctx context.Context) error {
	batches := make(chan []*pending)
	var wg sync.WaitGroup
	for range in.cfg.Writers {
		wg.Go(func() {
			for b := range batches {
				in.flush(ctx, b)
			}
		})
	}
	var (
		batch []*pending
		n     int
		timer = time.NewTimer(time.Hour)
		// ripe: the batch may go to a writer (its linger is over, or
		// there is none).
		ripe bool
	)
	timer.Stop()
	for {
		// A ripe batch goes to the first writer that is free; while every
		// writer is busy it keeps growing (group commit), up to BatchSize.
		var out chan []*pending
		if len(batch) > 0 && ripe {
			out = batches
		}
		select {
		case p := <-in.queue:
			in.m.depth.Dec()
			if len(batch) == 0 {
				ripe = in.cfg.FlushInterval == 0
				if !ripe {
					timer.Reset(in.cfg.FlushInterval)
				}
			}
			batch = append(batch, p)
			n += len(p.readings)
			if n >= in.cfg.BatchSize {
				// Full: wait for a writer (the queue fills meanwhile:
				// back-pressure).
				timer.Stop()
				select {
				case batches <- batch:
					batch, n = nil, 0
				case <-ctx.Done(): // kept in batch: written on the drain below
				}
			}
		case out <- batch:
			timer.Stop()
			batch, n = nil, 0
		case <-timer.C:
			ripe = true
		case <-ctx.Done():
			close(batches)
			wg.Wait()
			// Write what is queued on a fresh context, bounded, so a
			// clean shutdown loses nothing it already accepted.
			drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
		more:
			for {
				select {
				case p := <-in.queue:
					in.m.depth.Dec()
					batch = append(batch, p)
				default:
					break more
				}
			}
			if len(batch) > 0 {
				in.flush(drain, batch)
			}
			return nil
		}
	}
}

// flush stores, publishes and acknowledges one batch, retrying while the
// store or the stream is unavailable.
func (in *Ingest) flush(ctx context.Context, batch []*pending) {
	start := time.Now()
	byOrg := map[uuid.UUID][]store.SensorReading{}
	seen := map[uuid.UUID]map[uuid.UUID]time.Time{}
	var events []*stream.Message
	in.seenMu.Lock()
	for _, p := range batch {
		if last, ok := in.lastSeen[p.device.ID]; !ok || p.seen.Sub(last) >= seenResolution {
			if seen[p.org] == nil {
				seen[p.org] = map[uuid.UUID]time.Time{}
			}
			if p.seen.After(seen[p.org][p.device.ID]) {
				seen[p.org][p.device.ID] = p.seen
			}
		}
	}
	in.seenMu.Unlock()
	for _, p := range batch {
		byOrg[p.org] = append(byOrg[p.org], p.readings...)
		if in.stream != nil && len(p.readings) > 0 {
			m, err := readingEvent(p.org, p.device, p.readings)
			if err != nil {
				// Stored, but the processors will not see them: say so.
				in.log.Error("iot: encoding a readings event", "device", p.device.ID, "readings", len(p.readings), "err", err)
			} else {
				events = append(events, m)
			}
		}
	}
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
		err := in.write(ctx, byOrg, &events)
		if err == nil {
			break
		}
		in.m.flushErrors.Inc()
		in.log.Error("iot: storing readings failed; retrying", "readings", countReadings(batch), "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			// Shutting down: the messages stay unacknowledged, and the
			// broker delivers them again to the next process.
			return
		}
	}
	for org, s := range seen {
		if err := in.st.DevicesSeen(ctx, org, s); err != nil {
			in.log.Warn("iot: recording when devices were last seen", "org", org, "err", err)
			continue
		}
		in.seenMu.Lock()
		for id, t := range s {
			if t.After(in.lastSeen[id]) {
				in.lastSeen[id] = t
			}
		}
		in.seenMu.Unlock()
	}
	for _, p := range batch {
		p.ack()
	}
	in.m.flushSeconds.Observe(time.Since(start).Seconds())
}

// write stores each organization's readings (readings stored before, by a
// delivery whose acknowledgement was lost, are kept once) and, at the same
// time, publishes them all: the batch waits for the slower of the two,
// not for both in turn. What succeeded is not redone when the batch is
// retried (byOrg's stored organizations are emptied, *events is cleared
// once published); publishing again would be harmless anyway, the event
// ids being derived from the reading.
func (in *Ingest) write(ctx context.Context, byOrg map[uuid.UUID][]store.SensorReading, events *[]*stream.Message) error {
	var pubErr error
	var wg sync.WaitGroup
	if len(*events) > 0 {
		wg.Go(func() {
			if pubErr = in.stream.PublishBatch(ctx, *events); pubErr == nil {
				*events = nil
			}
		})
	}
	var storeErr error
	for org, rs := range byOrg {
		if len(rs) == 0 {
			continue
		}
		res, err := in.st.SensorReadingsInsert(ctx, org, rs)
		if err != nil {
			storeErr = err
			break
		}
		byOrg[org] = nil // stored: a retry of the batch skips it
		in.m.stored.Add(float64(res.Inserted))
		in.m.duplicates.Add(float64(int64(len(rs)) - res.Inserted))
	}
	wg.Wait()
	return errors.Join(storeErr, pubErr)
}

// readingEvent is one message's stored readings as one iot.sensor-readings
// event for the stream processors: the first reading, and the others in
// More (anomaly.Reading). Its event id is derived from the readings'
// identities, so the same message published twice is one event to
// consumers.
func readingEvent(org uuid.UUID, d *store.Device, rs []store.SensorReading) (*stream.Message, error) {
	r := rs[0]
	ev := anomaly.Reading{OrgID: org, DeviceID: d.ID.String(), DeviceType: d.DeviceType, Metric: r.Metric, Unit: r.Unit,
		OccurredAt: r.Time, Value: decimal.NewNullDecimal(r.Value)}
	for _, x := range rs[1:] {
		ev.More = append(ev.More, anomaly.Measurement{Metric: x.Metric, Unit: x.Unit, OccurredAt: x.Time, Value: decimal.NewNullDecimal(x.Value)})
	}
	m, err := stream.Encode(stream.TopicIoTSensorReadings, ev.Key(), ev)
	if err != nil {
		return nil, err
	}
	m.EventID = readingEventID(d.ID, rs)
	return m, nil
}

// readingEventID is an event's id: "r-" and 128 bits of the SHA-256 of its
// readings' identities (device, then each metric and time in µs),
// base64url. Short on purpose: consumers keep their latest thousand event
// ids in every checkpoint.
func readingEventID(device uuid.UUID, rs []store.SensorReading) string {
	h := sha256.New()
	h.Write(device[:])
	var b []byte
	for _, r := range rs {
		b = append(b[:0], r.Metric...)
		b = append(b, 0)
		b = strconv.AppendInt(b, r.Time.UnixMicro(), 10)
		b = append(b, 0)
		h.Write(b)
	}
	return "r-" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

func countReadings(batch []*pending) int {
	n := 0
	for _, p := range batch {
		n += len(p.readings)
	}
	return n
}

type metrics struct {
	messages     prometheus.Counter
	stored       prometheus.Counter
	duplicates   prometheus.Counter
	rejected     *prometheus.CounterVec
	deadLetters  prometheus.Counter
	dropped      prometheus.Counter
	edgeDropped  *prometheus.CounterVec
	flushErrors  prometheus.Counter
	depth        prometheus.Gauge
	flushSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounter(prometheus.CounterOpts{Name: "greenlang_iot_messages_total",
			Help: "Device messages received over MQTT."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{Name: "greenlang_iot_readings_stored_total",
			Help: "Sensor readings stored (new ones; a redelivered reading is counted in duplicates)."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "greenlang_iot_readings_duplicate_total",
			Help: "Sensor readings already stored (same device, metric and time), kept once."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "greenlang_iot_rejected_total",
			Help: "Readings or whole messages rejected, by reason (reading, payload, unknown_device, inactive_device, topic, command_result)."}, []string{"reason"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Name: "greenlang_iot_dead_letters_total",
			Help: "Rejected messages published to integration.errors."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "greenlang_iot_readings_dropped_total",
			Help: "Accepted readings lost without being stored or dead-lettered. The ingest never drops: this stays 0, and an alert on it is a bug report."}),
		edgeDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "greenlang_iot_edge_filtered_total",
			Help: "Readings an edge rule filtered out (drop or downsample), by rule: by design, not lost."}, []string{"rule"}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "greenlang_iot_flush_errors_total",
			Help: "Batches the store or stream refused for now (retried)."}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "greenlang_iot_queue_depth",
			Help: "Accepted messages waiting to be stored."}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "greenlang_iot_flush_seconds",
			Help: "Time to store, publish and acknowledge one batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.messages, m.stored, m.duplicates, m.rejected, m.deadLetters, m.dropped, m.edgeDropped, m.flushErrors, m.depth, m.flushSeconds} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("iot: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}
