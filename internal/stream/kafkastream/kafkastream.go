// Package kafkastream is the Kafka driver of the stream port
// (internal/stream), on github.com/twmb/franz-go:
//
//	kafka://broker1:9092,broker2:9092[?replication=3]
//
// Topics are reconciled through the admin API (kadm): created with the
// catalogue's partitions and cleanup.policy, retention.ms and
// compression.type; partitions increased and configs altered when the
// catalogue changes; fewer partitions is refused. Producing is idempotent
// (franz-go's default) with acks from all in-sync replicas; the port chooses
// the partition (Kafka's murmur2), so the producer uses a manual
// partitioner. A subscription is a consumer-group client whose offsets are
// committed only up to the lowest unacked message of each partition.
// Every consumer (Subscribe, Read) fetches read_committed, so outputs of
// an aborted or still open transaction (Transform, transform.go) are never
// delivered. See doc_kfake.go for what the in-process kfake cluster proves.
package kafkastream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/driver"
)

// Register adds the kafka scheme to r.
func Register(r *stream.Registry) { r.Register("kafka", Open) }

// Driver is an open Kafka cluster.
type Driver struct {
	seeds       []string
	replication int16
	prod        *kgo.Client
	adm         *kadm.Client
	log         *slog.Logger
	closeOnce   sync.Once
}

var _ driver.Driver = (*Driver)(nil)

// Open connects to the brokers u lists and checks one answers.
func Open(ctx context.Context, u *url.URL, opts driver.Options) (driver.Driver, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var seeds []string
	for _, s := range strings.Split(u.Host, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	if len(seeds) == 0 {
		return nil, errors.New("kafka: URL lists no brokers, want kafka://host:9092[,host:9092]")
	}
	d := &Driver{seeds: seeds, replication: -1, log: log}
	if v := u.Query().Get("replication"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10 {
			return nil, fmt.Errorf("kafka: replication %q: want 1..10", v)
		}
		d.replication = int16(n)
	}
	prod, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka: configuring client: %w", err)
	}
	if err := prod.Ping(ctx); err != nil {
		prod.Close()
		return nil, fmt.Errorf("kafka: no broker of %s answers: %w", strings.Join(seeds, ","), err)
	}
	d.prod, d.adm = prod, kadm.NewClient(prod)
	return d, nil
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return "kafka" }

// Client is the producer client, for benchmarks and tools.
func (d *Driver) Client() *kgo.Client { return d.prod }

// Close implements driver.Driver.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() { d.prod.Close() })
	return nil
}

func topicConfigs(t driver.Topic) map[string]*string {
	s := func(v string) *string { return &v }
	policy, retention := "delete", strconv.FormatInt(t.Retention.Milliseconds(), 10)
	if t.Compacted {
		policy = "compact"
	}
	if t.Retention == 0 {
		retention = "-1"
	}
	comp := t.Compression
	if comp == "none" {
		comp = "uncompressed"
	}
	return map[string]*string{"cleanup.policy": s(policy), "retention.ms": s(retention), "compression.type": s(comp)}
}

// EnsureTopics implements driver.Driver.
func (d *Driver) EnsureTopics(ctx context.Context, topics []driver.Topic) ([]driver.Change, error) {
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
	}
	details, err := d.adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("kafka: listing topics: %w", err)
	}
	var changes []driver.Change
	var created []string
	for _, t := range topics {
		want := topicConfigs(t)
		td, ok := details[t.Name]
		if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			r, err := d.adm.CreateTopic(ctx, t.Partitions, d.replication, want, t.Name)
			if err == nil {
				err = r.Err
			}
			if err != nil {
				return changes, fmt.Errorf("topic %s: creating: %w", t.Name, err)
			}
			changes = append(changes, driver.Change{Topic: t.Name, Action: "created"})
			created = append(created, t.Name)
			continue
		}
		if td.Err != nil {
			return changes, fmt.Errorf("topic %s: describing: %w", t.Name, td.Err)
		}
		var actions []string
		if have := int32(len(td.Partitions)); have != t.Partitions {
			if have > t.Partitions {
				return changes, fmt.Errorf("topic %s: cannot decrease partitions from %d to %d: Kafka only adds partitions; create a new topic instead", t.Name, have, t.Partitions)
			}
			r, err := d.adm.UpdatePartitions(ctx, int(t.Partitions), t.Name)
			if err == nil {
				err = r.Error()
			}
			if err != nil {
				return changes, fmt.Errorf("topic %s: increasing partitions from %d to %d: %w", t.Name, have, t.Partitions, err)
			}
			actions = append(actions, fmt.Sprintf("partitions %d -> %d", have, t.Partitions))
		}
		rcs, err := d.adm.DescribeTopicConfigs(ctx, t.Name)
		if err != nil {
			return changes, fmt.Errorf("topic %s: describing configs: %w", t.Name, err)
		}
		rc, err := rcs.On(t.Name, nil)
		if err != nil {
			return changes, fmt.Errorf("topic %s: describing configs: %w", t.Name, err)
		}
		have := map[string]string{}
		for _, c := range rc.Configs {
			have[c.Key] = c.MaybeValue()
		}
		var alter []kadm.AlterConfig
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := *want[k]; have[k] != v {
				alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: want[k]})
				name := strings.TrimSuffix(k, ".ms")
				if k == "retention.ms" {
					name = "retention"
				}
				actions = append(actions, fmt.Sprintf("%s %s -> %s", name, have[k], v))
			}
		}
		if len(alter) > 0 {
			rs, err := d.adm.AlterTopicConfigs(ctx, alter, t.Name)
			if err == nil {
				for _, r := range rs {
					if r.Err != nil {
						err = r.Err
					}
				}
			}
			if err != nil {
				return changes, fmt.Errorf("topic %s: cannot apply %s: %w", t.Name, strings.Join(actions, ", "), err)
			}
		}
		if len(actions) > 0 {
			changes = append(changes, driver.Change{Topic: t.Name, Action: strings.Join(actions, ", ")})
		}
	}
	return changes, d.awaitTopics(ctx, created)
}

// awaitTopics waits until every broker's metadata knows the created topics:
// creation is asynchronous in Kafka.
func (d *Driver) awaitTopics(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ends, err := d.adm.ListEndOffsets(ctx, names...)
		if err == nil && ends.Error() == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: created topics %v not visible: %w (last error %v)", names, ctx.Err(), errors.Join(err, ends.Error()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// recordBatch makes the records of a batch with few allocations: the
// header lists and values of all its records share two arrays (a value
// appended past an array's capacity moves to a new one; slices taken
// before stay valid).
type recordBatch struct {
	headers []kgo.RecordHeader
	values  []byte
}

// record fills r from m, adding the event-id header from m.EventID when
// m's headers do not carry it.
func (rb *recordBatch) record(m *driver.Message, r *kgo.Record) *kgo.Record {
	*r = kgo.Record{Topic: m.Topic, Partition: m.Partition, Key: m.Key, Value: m.Value}
	if len(m.Key) == 0 {
		r.Key = nil
	}
	start := len(rb.headers)
	for k, v := range m.Headers {
		rb.header(k, v)
	}
	if _, ok := m.Headers[stream.HeaderEventID]; !ok && m.EventID != "" {
		rb.header(stream.HeaderEventID, m.EventID)
	}
	r.Headers = rb.headers[start:len(rb.headers):len(rb.headers)]
	return r
}

func (rb *recordBatch) header(k, v string) {
	rb.values = append(rb.values, v...)
	rb.headers = append(rb.headers, kgo.RecordHeader{Key: k, Value: rb.values[len(rb.values)-len(v) : len(rb.values) : len(rb.values)]})
}

// records converts a batch to publish.
func records(msgs []*driver.Message) []*kgo.Record {
	rs := make([]*kgo.Record, len(msgs))
	backing := make([]kgo.Record, len(msgs))
	n := 0
	for _, m := range msgs {
		n += len(m.Headers) + 1
	}
	rb := recordBatch{headers: make([]kgo.RecordHeader, 0, n), values: make([]byte, 0, n*36)}
	for i, m := range msgs {
		rs[i] = rb.record(m, &backing[i])
	}
	return rs
}

func fromRecord(r *kgo.Record) *driver.Message {
	// One string holding every header value, sliced per header.
	n := 0
	for _, kv := range r.Headers {
		n += len(kv.Value)
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, kv := range r.Headers {
		sb.Write(kv.Value)
	}
	all := sb.String()
	h := make(map[string]string, len(r.Headers))
	for _, kv := range r.Headers {
		h[kv.Key], all = all[:len(kv.Value)], all[len(kv.Value):]
	}
	return &driver.Message{Topic: r.Topic, Partition: r.Partition, Key: r.Key, Value: r.Value, Headers: h, Offset: r.Offset, Time: r.Timestamp}
}

// Publish implements driver.Driver.
func (d *Driver) Publish(ctx context.Context, msgs []*driver.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	rs := records(msgs)
	// Produce with promises rather than ProduceSync: franz-go does not
	// fail an idempotent producer's records once a request is in flight,
	// so ProduceSync would wait out a broker outage whatever ctx says. The
	// caller gets ctx's error instead; records still in flight stay with
	// the client, which delivers them when the broker is back, so a retry
	// can store a second copy with the same event id (consumers
	// de-duplicate).
	var (
		mu    sync.Mutex
		first error
		left  = len(rs)
		done  = make(chan struct{})
	)
	for _, r := range rs {
		d.prod.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			if left--; left == 0 {
				close(done)
			}
		})
	}
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("kafka: producing: %w (records already sent are delivered when the broker answers)", ctx.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return fmt.Errorf("kafka: producing: %w", first)
	}
	return nil
}

// tracker commits a partition only up to its lowest unacked offset.
type tracker struct {
	mu    sync.Mutex
	parts map[int32]*partState
	cl    *kgo.Client
	topic string
}

type partState struct {
	gen int // bumped on revoke; acks of older generations are ignored
	// pending are the delivered, not yet committed offsets of the
	// partition in increasing order; acked ones stay until every offset
	// before them is acked too.
	pending []pendingOffset
	next    kgo.EpochOffset
	dirty   bool
}

type pendingOffset struct {
	offset int64
	acked  bool
}

// delivered is one record handed to Receive.
type delivered struct {
	r   *kgo.Record
	gen int
}

// deliver registers the records of one fetch (in partition order) and sets
// their Ack.
func (tr *tracker) deliver(rs []*kgo.Record, ms []fetched) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, r := range rs {
		ps := tr.parts[r.Partition]
		if ps == nil {
			ps = &partState{}
			tr.parts[r.Partition] = ps
		}
		ps.pending = append(ps.pending, pendingOffset{offset: r.Offset})
		gen := ps.gen
		ms[i].dl = delivered{r: r, gen: gen}
		// ack is idempotent, so a second Ack needs no guard.
		ms[i].m.Ack = func(context.Context) error {
			tr.ack(r, gen)
			return nil
		}
	}
}

// current reports whether dl's partition is still assigned in the
// generation it was delivered in.
func (tr *tracker) current(dl delivered) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ps := tr.parts[dl.r.Partition]
	return ps != nil && ps.gen == dl.gen
}

// fetched is a record on its way to Receive; dl.r is nil for readers.
type fetched struct {
	m  *driver.Message
	dl delivered
}

// ack records that r was acked. It is idempotent: a second ack of r finds
// it acked or already committed.
func (tr *tracker) ack(r *kgo.Record, gen int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ps := tr.parts[r.Partition]
	if ps == nil || ps.gen != gen {
		return // partition revoked meanwhile: another member redelivers it
	}
	// Offsets are appended in increasing order and acks mostly come in
	// order, so the record is usually at the front.
	i := 0
	if len(ps.pending) == 0 || ps.pending[0].offset != r.Offset {
		i = sort.Search(len(ps.pending), func(i int) bool { return ps.pending[i].offset >= r.Offset })
		if i == len(ps.pending) || ps.pending[i].offset != r.Offset {
			return
		}
	}
	ps.pending[i].acked = true
	n := 0
	for n < len(ps.pending) && ps.pending[n].acked {
		n++
	}
	if n == 0 {
		return
	}
	ps.next = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: ps.pending[n-1].offset + 1}
	ps.dirty = true
	ps.pending = ps.pending[n:]
	if len(ps.pending) == 0 {
		ps.pending = ps.pending[:0:0] // let the consumed backing array go
	}
}

// flush marks every partition's acked prefix for commit; the client's
// auto-commit, the revoke callback and Close commit what is marked.
func (tr *tracker) flush() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var marks map[int32]kgo.EpochOffset
	for p, ps := range tr.parts {
		if ps.dirty {
			if marks == nil {
				marks = map[int32]kgo.EpochOffset{}
			}
			marks[p] = ps.next
			ps.dirty = false
		}
	}
	if marks != nil {
		tr.cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{tr.topic: marks})
	}
}

func (tr *tracker) revoke(parts []int32) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, p := range parts {
		if ps := tr.parts[p]; ps != nil {
			tr.parts[p] = &partState{gen: ps.gen + 1}
		}
	}
}

// sub is a subscription. Receive polls the client itself (no goroutine
// between the client and the caller) and returns the records of one poll
// one by one from buf.
type sub struct {
	cl *kgo.Client
	// ctx ends with Close, which also ends a poll in progress.
	ctx     context.Context
	cancel  context.CancelFunc
	polling chan struct{} // a one-slot semaphore: one poll at a time
	mu      sync.Mutex
	buf     []fetched // the rest of the last poll
	stop    chan struct{}
	done    chan struct{} // the commit-marking goroutine exited
	once    sync.Once
	tr      *tracker
	log     *slog.Logger
	grouped bool
}

// markAcks marks acked offsets for commit in batches until ctx ends.
func (s *sub) markAcks() {
	defer close(s.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.tr.flush()
		case <-s.ctx.Done():
			return
		}
	}
}

// Receive implements driver.Subscription.
func (s *sub) Receive(ctx context.Context) (*driver.Message, error) {
	for {
		select {
		case <-s.stop:
			return nil, driver.ErrSubscriptionClosed
		default:
		}
		f, ok, err := s.next(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		// Records of a partition revoked since they were fetched are
		// dropped: the next owner reads them again from the committed
		// offset, and returning them here would let two members handle
		// one key at once.
		if f.dl.r != nil && !s.tr.current(f.dl) {
			continue
		}
		return f.m, nil
	}
}

// next returns the next record of the last poll, or polls; ok is false
// when a poll returned nothing.
func (s *sub) next(ctx context.Context) (fetched, bool, error) {
	select {
	case s.polling <- struct{}{}:
	case <-s.stop:
		return fetched{}, false, driver.ErrSubscriptionClosed
	case <-ctx.Done():
		return fetched{}, false, ctx.Err()
	}
	defer func() { <-s.polling }()
	s.mu.Lock()
	if len(s.buf) > 0 {
		f := s.buf[0]
		s.buf[0] = fetched{}
		s.buf = s.buf[1:]
		s.mu.Unlock()
		return f, true, nil
	}
	s.mu.Unlock()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopAfter := context.AfterFunc(s.ctx, cancel)
	defer stopAfter()
	fs := s.cl.PollFetches(pctx)
	select {
	case <-s.stop:
		return fetched{}, false, driver.ErrSubscriptionClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return fetched{}, false, err
	}
	if fs.IsClientClosed() {
		return fetched{}, false, driver.ErrSubscriptionClosed
	}
	fs.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.Canceled) {
			s.log.Warn("kafka: fetch", "topic", t, "partition", p, "err", err)
		}
	})
	rs := fs.Records()
	if len(rs) == 0 {
		return fetched{}, false, nil
	}
	ms := make([]fetched, len(rs))
	for i, r := range rs {
		ms[i].m = fromRecord(r)
	}
	if s.tr != nil {
		s.tr.deliver(rs, ms)
	}
	// Transaction markers (control records; groups fetch them with
	// KeepControlRecords) are acked at once and not handed out, so the
	// committed offset moves past them and lag reaches 0 on topics written
	// in transactions.
	n := 0
	for i, r := range rs {
		if r.Attrs.IsControl() {
			if s.tr != nil {
				s.tr.ack(r, ms[i].dl.gen)
			}
			continue
		}
		ms[n] = ms[i]
		n++
	}
	if n == 0 {
		return fetched{}, false, nil
	}
	ms = ms[:n]
	s.mu.Lock()
	s.buf = append(s.buf[:0], ms[1:]...)
	s.mu.Unlock()
	return ms[0], true, nil
}

// Close implements driver.Subscription: commits what was acked, leaves the group.
func (s *sub) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.cancel()
		if s.grouped {
			<-s.done
			s.tr.flush()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = s.cl.CommitMarkedOffsets(ctx)
		}
		s.cl.Close()
	})
	return err
}

func (d *Driver) newSub(cl *kgo.Client, tr *tracker) *sub {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sub{cl: cl, ctx: ctx, cancel: cancel, polling: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), log: d.log, tr: tr, grouped: tr != nil}
	if tr != nil {
		go s.markAcks()
	}
	return s
}

// Subscribe implements driver.Driver. It returns once the member has its
// first assignment, so the group is stable when it returns.
func (d *Driver) Subscribe(ctx context.Context, p driver.SubscribeParams) (driver.Subscription, error) {
	tr := &tracker{parts: map[int32]*partState{}, topic: p.Topic.Name}
	assigned := make(chan struct{})
	var assignedOnce sync.Once
	reset := kgo.NewOffset().AtStart()
	if p.StartAtEnd {
		reset = kgo.NewOffset().AtEnd()
	}
	var cl *kgo.Client
	onRevoke := func(ctx context.Context, c *kgo.Client, revoked map[string][]int32) {
		tr.flush()
		if err := c.CommitMarkedOffsets(ctx); err != nil {
			d.log.Warn("kafka: committing before rebalance", "group", p.Group, "err", err)
		}
		tr.revoke(revoked[p.Topic.Name])
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(d.seeds...),
		kgo.ConsumerGroup(p.Group),
		kgo.ConsumeTopics(p.Topic.Name),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(time.Second),
		kgo.SessionTimeout(p.FailoverAfter),
		kgo.HeartbeatInterval(max(p.FailoverAfter/10, 100*time.Millisecond)),
		kgo.RebalanceTimeout(max(p.FailoverAfter, 10*time.Second)),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			assignedOnce.Do(func() { close(assigned) })
		}),
		kgo.OnPartitionsRevoked(onRevoke),
		kgo.OnPartitionsLost(func(ctx context.Context, c *kgo.Client, lost map[string][]int32) {
			tr.revoke(lost[p.Topic.Name])
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka: group %s on %s: %w", p.Group, p.Topic.Name, err)
	}
	tr.cl = cl
	s := d.newSub(cl, tr)
	select {
	case <-assigned:
		return s, nil
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("kafka: group %s on %s: waiting for a partition assignment: %w", p.Group, p.Topic.Name, ctx.Err())
	}
}

// Read implements driver.Driver with a direct (group-less) consumer.
func (d *Driver) Read(ctx context.Context, p driver.ReadParams) (driver.Subscription, error) {
	offs := map[int32]kgo.Offset{}
	for part := int32(0); part < p.Topic.Partitions; part++ {
		o := kgo.NewOffset().AtStart()
		if !p.Time.IsZero() {
			o = kgo.NewOffset().AfterMilli(p.Time.UnixMilli())
		} else if v, ok := p.Offsets[part]; ok {
			o = kgo.NewOffset().At(v)
		}
		offs[part] = o
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(d.seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{p.Topic.Name: offs}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka: reading %s: %w", p.Topic.Name, err)
	}
	return d.newSub(cl, nil), nil
}

// Lag implements driver.Driver: end offset minus committed offset (or the
// start offset when nothing is committed), summed over partitions.
func (d *Driver) Lag(ctx context.Context, group string, t driver.Topic) (int64, error) {
	ends, err := d.adm.ListEndOffsets(ctx, t.Name)
	if err != nil {
		return 0, fmt.Errorf("kafka: end offsets of %s: %w", t.Name, err)
	}
	starts, err := d.adm.ListStartOffsets(ctx, t.Name)
	if err != nil {
		return 0, fmt.Errorf("kafka: start offsets of %s: %w", t.Name, err)
	}
	committed, err := d.adm.FetchOffsetsForTopics(ctx, group, t.Name)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = kadm.OffsetResponses{}, nil // a group that never committed
	}
	if err != nil {
		return 0, fmt.Errorf("kafka: offsets of group %s: %w", group, err)
	}
	var lag int64
	var errs []error
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			errs = append(errs, e.Err)
			return
		}
		from := int64(0)
		if s, ok := starts.Lookup(t.Name, e.Partition); ok && s.Err == nil {
			from = s.Offset
		}
		if c, ok := committed.Lookup(t.Name, e.Partition); ok && c.Err == nil && c.At >= 0 {
			from = max(from, c.At)
		}
		lag += max(e.Offset-from, 0)
	})
	return lag, errors.Join(errs...)
}
