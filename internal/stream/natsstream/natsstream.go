// Package natsstream is the NATS JetStream driver of the stream port
// (internal/stream). It serves two URL schemes:
//
//	nats+embedded://<dir>  a NATS server with JetStream inside the process,
//	                       file storage under <dir> (the default engine)
//	nats://host:4222       an external NATS cluster with JetStream
//	                       (?replicas=3 sets stream replicas, default 1)
//
// Layout on the engine, per topic T with P partitions:
//
//   - one stream named T with dots replaced by underscores;
//   - partition subjects (topics that are not compacted): subjects "T.*", a
//     message on partition p has subject "T.<p>" and its key in header
//     gl-key (base64url, absent for an empty key), so a partition's
//     consumer filters on a literal subject the file store indexes;
//   - key subjects (compacted topics, and every stream created before
//     partition subjects existed): subjects "T.*.*", a message with key K on
//     partition p has subject "T.<p>.<base64url(K)>" ("_" for an empty key),
//     so a compacted topic is MaxMsgsPerSubject=1. A stream keeps the layout
//     it was created with (the subjects tell which);
//   - a consumer group G is one durable pull consumer per partition, named
//     "G_p<p>", filtered on "T.<p>" or "T.<p>.*", with the pinned-client priority policy:
//     the server delivers a partition to one member at a time, which keeps
//     per-key order, and moves it to another member when the holder stops
//     pulling for FailoverAfter (or leaves, which unpins at once);
//   - the members of G on T split the partitions through a membership KV
//     bucket "GLGROUP_<stream>_<G>" and hand partitions over on join, leave
//     and expiry (see group.go).
//
// Offsets are stream sequences: increasing within a partition, shared
// between the partitions of a topic, so not contiguous.
package natsstream

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/driver"
)

// Register adds the nats and nats+embedded schemes to r.
func Register(r *stream.Registry) {
	r.Register("nats", Open)
	r.Register("nats+embedded", Open)
}

const (
	metaPartitions = "greenlang.partitions"
	priorityGroup  = "greenlang"
)

// Driver is an open JetStream engine.
type Driver struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	srv      *embedded // nil for an external server
	replicas int
	// Features of the connected server: stream compression and metadata
	// (2.10), pinned consumers (2.11).
	hasCompression, hasPinned bool
	log                       *slog.Logger
	layouts                   sync.Map // topic → layout of its stream

	closeOnce sync.Once
}

var _ driver.Driver = (*Driver)(nil)

// Open connects to the server u names, starting it first for nats+embedded.
func Open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Driver, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{replicas: 1, log: log}
	if v := u.Query().Get("replicas"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return nil, fmt.Errorf("nats: replicas %q: want 1..5", v)
		}
		d.replicas = n
	}
	switch u.Scheme {
	case "nats+embedded":
		dir := u.Host + u.Path
		if u.Opaque != "" {
			dir = u.Opaque
		}
		if dir == "" {
			return nil, errors.New("nats: nats+embedded:// needs a storage directory, e.g. nats+embedded:///var/lib/greenlang/nats")
		}
		srv := &embedded{dir: dir}
		if err := srv.start(); err != nil {
			return nil, err
		}
		d.srv = srv
		nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name("greenlang"))
		if err != nil {
			srv.stop()
			return nil, fmt.Errorf("nats: connecting to the embedded server: %w", err)
		}
		d.nc = nc
	case "nats":
		q := *u
		q.RawQuery = ""
		nc, err := nats.Connect(q.String(), nats.Name("greenlang"), nats.MaxReconnects(-1),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					log.Warn("nats: disconnected", "err", err)
				}
			}))
		if err != nil {
			return nil, fmt.Errorf("nats: connecting to %s: %w", u.Redacted(), err)
		}
		d.nc = nc
	default:
		return nil, fmt.Errorf("nats: unsupported scheme %q", u.Scheme)
	}
	js, err := jetstream.New(d.nc)
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("nats: JetStream context: %w", err)
	}
	d.js = js
	d.hasCompression = VersionAtLeast(d.nc.ConnectedServerVersion(), 2, 10)
	d.hasPinned = VersionAtLeast(d.nc.ConnectedServerVersion(), 2, 11)
	if !d.hasPinned {
		log.Warn("nats: server too old for consumer groups (needs 2.11 for pinned consumers); publish and replay work, subscribe does not",
			"server_version", d.nc.ConnectedServerVersion())
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("nats: JetStream is not available on %s: %w", u.Redacted(), err)
	}
	return d, nil
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return "nats" }

// Conn is the underlying connection, for benchmarks and tools.
func (d *Driver) Conn() *nats.Conn { return d.nc }

// SupportsGroups reports whether the server can run consumer groups: it needs
// pinned consumers, NATS server 2.11 or newer.
func (d *Driver) SupportsGroups() bool { return d.hasPinned }

// Close implements driver.Driver; it shuts the embedded server down.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		if d.nc != nil {
			d.nc.Close()
		}
		if d.srv != nil {
			d.srv.stop()
		}
	})
	return nil
}

// embedded is the in-process server. The client connects through it
// (nats.InProcessConnProvider) rather than through the server itself, so
// that after a restart (fault tests: export_test.go) the client's
// reconnects reach the new server.
type embedded struct {
	dir string
	mu  sync.Mutex
	srv *server.Server
}

func (e *embedded) start() error {
	srv, err := server.NewServer(&server.Options{
		ServerName: "greenlang-embedded",
		JetStream:  true,
		StoreDir:   e.dir,
		DontListen: true,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return fmt.Errorf("nats: configuring embedded server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("nats: embedded server in %s did not start within 30s", e.dir)
	}
	e.mu.Lock()
	e.srv = srv
	e.mu.Unlock()
	return nil
}

func (e *embedded) stop() {
	e.mu.Lock()
	srv := e.srv
	e.mu.Unlock()
	srv.Shutdown()
	srv.WaitForShutdown()
}

// InProcessConn implements nats.InProcessConnProvider.
func (e *embedded) InProcessConn() (net.Conn, error) {
	e.mu.Lock()
	srv := e.srv
	e.mu.Unlock()
	return srv.InProcessConn()
}

// VersionAtLeast reports whether a server version "2.11.3" is at least major.minor.
func VersionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// StreamName is the JetStream stream holding topic.
func StreamName(topic string) string { return strings.ReplaceAll(topic, ".", "_") }

// Subject is the subject of a message with key on partition p of topic
// under key subjects (see the package comment).
func Subject(topic string, p int32, key []byte) string {
	if len(key) == 0 {
		return topic + "." + strconv.Itoa(int(p)) + "._"
	}
	return topic + "." + strconv.Itoa(int(p)) + "." + base64.RawURLEncoding.EncodeToString(key)
}

// layout is how a topic's messages map to subjects (see the package comment).
type layout uint8

const (
	keySubjects       layout = iota // "T.<p>.<key>"
	partitionSubjects               // "T.<p>", key in header gl-key
)

// headerKey carries the key under partition subjects.
const headerKey = "gl-key"

// layoutFor is the layout of a new stream for t: compaction keeps one
// subject per key.
func layoutFor(t driver.Topic) layout {
	if t.Compacted {
		return keySubjects
	}
	return partitionSubjects
}

func streamSubjects(topic string, l layout) []string {
	if l == partitionSubjects {
		return []string{topic + ".*"}
	}
	return []string{topic + ".*.*"}
}

// layoutOf tells a stream's layout from its subjects; false when they are
// neither form.
func layoutOf(topic string, cfg jetstream.StreamConfig) (layout, bool) {
	if len(cfg.Subjects) != 1 {
		return keySubjects, false
	}
	switch cfg.Subjects[0] {
	case topic + ".*":
		return partitionSubjects, true
	case topic + ".*.*":
		return keySubjects, true
	}
	return keySubjects, false
}

func partitionFilter(topic string, p int32, l layout) string {
	if l == partitionSubjects {
		return topic + "." + strconv.Itoa(int(p))
	}
	return topic + "." + strconv.Itoa(int(p)) + ".*"
}

// layout returns the layout of topic's stream, asking the server once per
// topic (EnsureTopics records it for the topics it reconciles).
func (d *Driver) layout(ctx context.Context, topic string) (layout, error) {
	if l, ok := d.layouts.Load(topic); ok {
		return l.(layout), nil
	}
	st, err := d.js.Stream(ctx, StreamName(topic))
	if err != nil {
		return 0, fmt.Errorf("nats: topic %s: %w", topic, err)
	}
	l, _ := layoutOf(topic, st.CachedInfo().Config)
	d.layouts.Store(topic, l)
	return l, nil
}

// The partition count is kept in the stream description (readable on every
// server version) and, from 2.10, in the stream metadata too.
func description(t driver.Topic) string {
	return "greenlang topic " + t.Name + "; partitions=" + strconv.Itoa(int(t.Partitions))
}

func partitionsOf(cfg jetstream.StreamConfig) int {
	if n, err := strconv.Atoi(cfg.Metadata[metaPartitions]); err == nil {
		return n
	}
	if _, v, ok := strings.Cut(cfg.Description, "; partitions="); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return 0
}

func (d *Driver) streamConfig(t driver.Topic, l layout) jetstream.StreamConfig {
	cfg := streamConfig(t, l, d.replicas)
	if !d.hasCompression {
		cfg.Compression = jetstream.NoCompression
		cfg.Metadata = nil
	}
	return cfg
}

func streamConfig(t driver.Topic, l layout, replicas int) jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:        StreamName(t.Name),
		Description: description(t),
		Subjects:    streamSubjects(t.Name, l),
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      t.Retention,
		Replicas:    replicas,
		Duplicates:  2 * time.Minute,
		Compression: jetstream.NoCompression,
		Metadata:    map[string]string{metaPartitions: strconv.Itoa(int(t.Partitions))},
	}
	if t.Compression != "none" {
		cfg.Compression = jetstream.S2Compression
	}
	if t.Compacted {
		cfg.MaxMsgsPerSubject = 1
	}
	return cfg
}

// EnsureTopics implements driver.Driver.
func (d *Driver) EnsureTopics(ctx context.Context, topics []driver.Topic) ([]driver.Change, error) {
	var changes []driver.Change
	for _, t := range topics {
		name := StreamName(t.Name)
		s, err := d.js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			l := layoutFor(t)
			if _, err := d.js.CreateStream(ctx, d.streamConfig(t, l)); err != nil {
				return changes, fmt.Errorf("topic %s: creating stream %s: %w", t.Name, name, err)
			}
			d.layouts.Store(t.Name, l)
			changes = append(changes, driver.Change{Topic: t.Name, Action: "created"})
			continue
		}
		if err != nil {
			return changes, fmt.Errorf("topic %s: reading stream %s: %w", t.Name, name, err)
		}
		have := s.CachedInfo().Config
		// An existing stream keeps its layout: its messages are on those
		// subjects. Unknown subjects are set to key subjects, as before
		// partition subjects existed.
		l, _ := layoutOf(t.Name, have)
		if l == partitionSubjects && t.Compacted {
			return changes, fmt.Errorf("topic %s: cannot compact stream %s: it has one subject per partition (key in a header) and compaction needs one per key; create a new topic", t.Name, name)
		}
		want := d.streamConfig(t, l)
		var actions []string
		if hp := partitionsOf(have); hp != int(t.Partitions) {
			if hp > int(t.Partitions) {
				return changes, fmt.Errorf("topic %s: cannot decrease partitions from %d to %d: messages on the dropped partitions would never be consumed; create a new topic instead", t.Name, hp, t.Partitions)
			}
			actions = append(actions, fmt.Sprintf("partitions %d -> %d", hp, t.Partitions))
		}
		if have.MaxAge != want.MaxAge {
			actions = append(actions, fmt.Sprintf("retention %s -> %s", have.MaxAge, want.MaxAge))
		}
		if have.MaxMsgsPerSubject != want.MaxMsgsPerSubject && !(have.MaxMsgsPerSubject <= 0 && want.MaxMsgsPerSubject <= 0) {
			actions = append(actions, fmt.Sprintf("compacted %t -> %t", have.MaxMsgsPerSubject == 1, t.Compacted))
		}
		if have.Compression != want.Compression {
			actions = append(actions, fmt.Sprintf("compression %s -> %s", have.Compression, want.Compression))
		}
		if len(have.Subjects) != 1 || have.Subjects[0] != want.Subjects[0] {
			actions = append(actions, fmt.Sprintf("subjects %v -> %v", have.Subjects, want.Subjects))
		}
		if have.Replicas != want.Replicas {
			actions = append(actions, fmt.Sprintf("replicas %d -> %d", have.Replicas, want.Replicas))
		}
		if len(actions) == 0 {
			d.layouts.Store(t.Name, l)
			continue
		}
		if d.hasCompression {
			// Keep metadata the server or operators added.
			md := make(map[string]string, len(have.Metadata)+1)
			for k, v := range have.Metadata {
				md[k] = v
			}
			md[metaPartitions] = want.Metadata[metaPartitions]
			want.Metadata = md
		}
		if _, err := d.js.UpdateStream(ctx, want); err != nil {
			return changes, fmt.Errorf("topic %s: cannot apply %s to stream %s: %w", t.Name, strings.Join(actions, ", "), want.Name, err)
		}
		d.layouts.Store(t.Name, l)
		changes = append(changes, driver.Change{Topic: t.Name, Action: strings.Join(actions, ", ")})
	}
	return changes, nil
}

// Publish implements driver.Driver with asynchronous publishes awaited as a
// batch; the event id is the Nats-Msg-Id, so the stream drops a duplicate
// published within two minutes.
func (d *Driver) Publish(ctx context.Context, msgs []*driver.Message) error {
	var (
		lastTopic string
		l         layout
	)
	conv := func(m *driver.Message) (*nats.Msg, error) {
		if m.Topic != lastTopic || lastTopic == "" {
			var err error
			if l, err = d.layout(ctx, m.Topic); err != nil {
				return nil, err
			}
			lastTopic = m.Topic
		}
		return toNATS(m, l), nil
	}
	if len(msgs) == 1 {
		nm, err := conv(msgs[0])
		if err != nil {
			return err
		}
		_, err = d.js.PublishMsg(ctx, nm)
		if err != nil {
			return fmt.Errorf("nats: publishing to %s: %w", msgs[0].Topic, err)
		}
		return nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	var errs []error
	for _, m := range msgs {
		nm, err := conv(m)
		if err != nil {
			errs = append(errs, err)
			break
		}
		f, err := d.js.PublishMsgAsync(nm)
		if err != nil {
			errs = append(errs, fmt.Errorf("nats: publishing to %s: %w", m.Topic, err))
			break
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("nats: publishing to %s: %w", f.Msg().Subject, err))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// pubMsg is a message to publish and the backing array of its header
// values: one allocation instead of two.
type pubMsg struct {
	msg  nats.Msg
	vals [2]string
}

// toNATS converts a message to publish. The event id travels once, as
// Nats-Msg-Id: the gl-event-id header is not sent when it equals the
// event id, and fromNATS restores it from Nats-Msg-Id (messages published
// before carry both headers and read the same).
func toNATS(m *driver.Message, l layout) *nats.Msg {
	pm := &pubMsg{}
	n := len(m.Headers) + 1
	if v, ok := m.Headers[stream.HeaderEventID]; ok && v == m.EventID {
		n--
	}
	keyed := l == partitionSubjects && len(m.Key) > 0
	if keyed {
		n++
	}
	// One backing array for every header's single value instead of one
	// slice per header.
	vals := pm.vals[:0]
	if n > len(pm.vals) {
		vals = make([]string, 0, n)
	}
	h := make(nats.Header, n)
	for k, v := range m.Headers {
		if k == stream.HeaderEventID && v == m.EventID {
			continue
		}
		vals = append(vals, v)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	vals = append(vals, m.EventID)
	h[jetstream.MsgIDHeader] = vals[len(vals)-1 : len(vals) : len(vals)]
	subj := ""
	if l == partitionSubjects {
		subj = m.Topic + "." + strconv.Itoa(int(m.Partition))
		if keyed {
			vals = append(vals, base64.RawURLEncoding.EncodeToString(m.Key))
			h[headerKey] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	} else {
		subj = Subject(m.Topic, m.Partition, m.Key)
	}
	pm.msg = nats.Msg{Subject: subj, Data: m.Value, Header: h}
	return &pm.msg
}

// fromNATS converts a message delivered from topic's stream (layout l)
// into dm; it also returns the stream sequence.
func fromNATS(msg jetstream.Msg, topic string, l layout, dm *driver.Message) (uint64, error) {
	md, err := msg.Metadata()
	if err != nil {
		return 0, err
	}
	subj := msg.Subject()
	if len(subj) <= len(topic) || subj[:len(topic)] != topic || subj[len(topic)] != '.' {
		return 0, fmt.Errorf("subject %q is not on topic %s", subj, topic)
	}
	rest := subj[len(topic)+1:]
	ptok, ktok, hasKey := strings.Cut(rest, ".")
	if hasKey != (l == keySubjects) {
		return 0, fmt.Errorf("subject %q does not follow the stream's layout", subj)
	}
	p, err := strconv.Atoi(ptok)
	if err != nil {
		return 0, fmt.Errorf("subject %q has no partition", subj)
	}
	hdr := msg.Headers()
	if l == partitionSubjects {
		ktok = "_"
		if v := hdr[headerKey]; len(v) > 0 {
			ktok = v[0]
		}
	}
	var key []byte
	if ktok != "_" {
		if key, err = base64.RawURLEncoding.DecodeString(ktok); err != nil {
			return 0, fmt.Errorf("subject %q: bad key %q: %w", subj, ktok, err)
		}
	}
	n := 0
	for k := range hdr {
		if !strings.HasPrefix(k, "Nats-") && k != headerKey {
			n++
		}
	}
	id := hdr[jetstream.MsgIDHeader]
	if _, ok := hdr[stream.HeaderEventID]; !ok && len(id) > 0 {
		n++
	}
	h := make(map[string]string, n)
	for k, vs := range hdr {
		if strings.HasPrefix(k, "Nats-") || k == headerKey || len(vs) == 0 {
			continue
		}
		h[k] = vs[0]
	}
	if _, ok := h[stream.HeaderEventID]; !ok && len(id) > 0 {
		h[stream.HeaderEventID] = id[0]
	}
	*dm = driver.Message{
		Topic: topic, Partition: int32(p), Key: key, Value: msg.Data(), Headers: h,
		Offset: int64(md.Sequence.Stream), Time: md.Timestamp, Deliveries: int(md.NumDelivered),
	}
	return md.Sequence.Stream, nil
}

// reader merges per-partition ordered consumers into one channel (Replay).
type reader struct {
	d     *Driver
	topic string
	l     layout
	ch    chan *driver.Message
	errc  chan error
	stop  chan struct{}
	wg    sync.WaitGroup
	iters []jetstream.MessagesContext
	once  sync.Once
}

func (s *reader) run(it jetstream.MessagesContext) {
	defer s.wg.Done()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			select {
			case <-s.stop:
				return
			default:
			}
			s.d.log.Debug("nats: read", "err", err)
			continue
		}
		dm := new(driver.Message)
		_, err = fromNATS(msg, s.topic, s.l, dm)
		if err != nil {
			select {
			case s.errc <- err:
			case <-s.stop:
				return
			}
			continue
		}
		select {
		case s.ch <- dm:
		case <-s.stop:
			return
		}
	}
}

// Receive implements driver.Subscription.
func (s *reader) Receive(ctx context.Context) (*driver.Message, error) {
	select {
	case <-s.stop:
		return nil, driver.ErrSubscriptionClosed
	default:
	}
	select {
	case m := <-s.ch:
		return m, nil
	case err := <-s.errc:
		return nil, err
	case <-s.stop:
		return nil, driver.ErrSubscriptionClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close implements driver.Subscription.
func (s *reader) Close() error {
	s.once.Do(func() {
		close(s.stop)
		for _, it := range s.iters {
			it.Stop()
		}
		s.wg.Wait()
	})
	return nil
}

// Subscribe implements driver.Driver.
func (d *Driver) Subscribe(ctx context.Context, p driver.SubscribeParams) (driver.Subscription, error) {
	if !d.hasPinned {
		return nil, fmt.Errorf("nats: consumer groups need pinned consumers, NATS server 2.11 or newer; the server is %s: %w", d.nc.ConnectedServerVersion(), errors.ErrUnsupported)
	}
	st, err := d.js.Stream(ctx, StreamName(p.Topic.Name))
	if err != nil {
		return nil, fmt.Errorf("nats: topic %s: %w", p.Topic.Name, err)
	}
	l, _ := layoutOf(p.Topic.Name, st.CachedInfo().Config)
	d.layouts.Store(p.Topic.Name, l)
	failover := p.FailoverAfter
	if failover < 2*time.Second {
		failover = 2 * time.Second // JetStream pulls expire after at least 1s
	}
	deliver := jetstream.DeliverAllPolicy
	if p.StartAtEnd {
		deliver = jetstream.DeliverNewPolicy
	}
	for part := int32(0); part < p.Topic.Partitions; part++ {
		_, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:        p.Group + "_p" + strconv.Itoa(int(part)),
			Description:    "greenlang group " + p.Group + " partition " + strconv.Itoa(int(part)),
			FilterSubject:  partitionFilter(p.Topic.Name, part, l),
			DeliverPolicy:  deliver,
			AckPolicy:      jetstream.AckExplicitPolicy,
			AckWait:        failover,
			MaxDeliver:     -1,
			MaxAckPending:  10000,
			PriorityPolicy: jetstream.PriorityPolicyPinned,
			PriorityGroups: []string{priorityGroup},
			PinnedTTL:      failover,
		})
		if err != nil {
			return nil, fmt.Errorf("nats: group %s on %s partition %d: %w", p.Group, p.Topic.Name, part, err)
		}
	}
	gs, err := d.subscribeGroup(ctx, p, st, l, failover)
	if err != nil {
		return nil, err
	}
	return gs, nil
}

// Read implements driver.Driver with one ordered consumer per partition.
func (d *Driver) Read(ctx context.Context, p driver.ReadParams) (driver.Subscription, error) {
	st, err := d.js.Stream(ctx, StreamName(p.Topic.Name))
	if err != nil {
		return nil, fmt.Errorf("nats: topic %s: %w", p.Topic.Name, err)
	}
	l, err := d.layout(ctx, p.Topic.Name)
	if err != nil {
		return nil, err
	}
	s := &reader{d: d, topic: p.Topic.Name, l: l, ch: make(chan *driver.Message, 256), errc: make(chan error), stop: make(chan struct{})}
	for part := int32(0); part < p.Topic.Partitions; part++ {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{partitionFilter(p.Topic.Name, part, l)}, DeliverPolicy: jetstream.DeliverAllPolicy}
		if !p.Time.IsZero() {
			t := p.Time
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
		} else if o, ok := p.Offsets[part]; ok && o > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, uint64(o)
		}
		c, err := st.OrderedConsumer(ctx, cfg)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("nats: reading %s partition %d: %w", p.Topic.Name, part, err)
		}
		it, err := c.Messages(jetstream.PullMaxMessages(500))
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("nats: reading %s partition %d: %w", p.Topic.Name, part, err)
		}
		s.iters = append(s.iters, it)
		s.wg.Add(1)
		go s.run(it)
	}
	return s, nil
}

// Lag implements driver.Driver: pending plus ack-pending over the group's
// partition consumers; every message of the stream when the group has none.
func (d *Driver) Lag(ctx context.Context, group string, t driver.Topic) (int64, error) {
	st, err := d.js.Stream(ctx, StreamName(t.Name))
	if err != nil {
		return 0, fmt.Errorf("nats: topic %s: %w", t.Name, err)
	}
	var lag int64
	for part := int32(0); part < t.Partitions; part++ {
		c, err := st.Consumer(ctx, group+"_p"+strconv.Itoa(int(part)))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			info, err := st.Info(ctx)
			if err != nil {
				return 0, err
			}
			return int64(info.State.Msgs), nil
		}
		if err != nil {
			return 0, err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return 0, err
		}
		lag += int64(info.NumPending) + int64(info.NumAckPending)
	}
	return lag, nil
}
