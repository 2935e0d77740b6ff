package natsstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/greenlang/greenlang/internal/stream/driver"
)

// Consumer groups on JetStream.
//
// JetStream has no consumer groups with partition assignment, so the driver
// builds them from two pieces:
//
//   - Exclusivity: one durable pull consumer per partition with the
//     pinned-client priority policy. The server delivers a partition to one
//     pull client at a time; other members pulling the same partition wait.
//     A pin moves when its holder unpins (clean hand-over) or stops pulling
//     for FailoverAfter (crash).
//   - Balance: a membership bucket (JetStream KV "GLGROUP_<stream>_<group>",
//     memory storage, TTL = FailoverAfter with limit markers). Each member
//     puts its record every FailoverAfter/4 and watches the bucket. A member
//     that stops heartbeating expires and the server writes a marker every
//     watcher sees; a clean Close deletes the record at once. Every member
//     computes the same assignment from the live member ids (sorted, then
//     partition p to member p mod n) and pulls only its partitions.
//
// When the member set changes, a member that loses a partition stops pulling
// it (Drain), waits until what it handed out is acked (at most
// FailoverAfter: the bounded hand-over), makes the server drop its pull
// requests, naks the rest in order, unpins and publishes its record without
// the partition. A member that gains a partition starts pulling it only once
// no other live member's record lists it (startFree explains why), so at no
// time do two members receive from one partition and the next holder gets
// the naked messages first, in order. Each member's record carries its view (a hash of the member
// ids) and the partitions it holds; Subscribe returns once every live member
// has the joiner's view and holds only its own partitions (or after
// 2×FailoverAfter), so a group is balanced when Subscribe returns.

// memberRecord is a member's value in the membership bucket.
type memberRecord struct {
	View  string  `json:"view"`
	Parts []int32 `json:"parts"`
}

// assign returns the partitions member id gets among members (sorted ids)
// for a topic with n partitions: round-robin, partition p to members[p % len].
func assign(members []string, id string, n int32) []int32 {
	i := slices.Index(members, id)
	if i < 0 {
		return nil
	}
	var out []int32
	for p := int32(0); p < n; p++ {
		if int(p)%len(members) == i {
			out = append(out, p)
		}
	}
	return out
}

func viewOf(members []string) string {
	h := sha256.Sum256([]byte(strings.Join(members, ",")))
	return hex.EncodeToString(h[:8])
}

// groupSub is one member of a consumer group.
type groupSub struct {
	d       *Driver
	st      jetstream.Stream
	kv      jetstream.KeyValue
	p       driver.SubscribeParams
	id      string
	ch      chan *inflight
	stop    chan struct{}
	done    chan struct{} // coordinator exited
	once    sync.Once
	settled chan struct{}
	pullOpt []jetstream.PullMessagesOpt
	layout  layout

	// Owned by the coordinator goroutine.
	members map[string]memberEntry
	parts   map[int32]*partRun
	want    map[int32]bool // assigned to this member; started once free
	view    string
	isSet   bool
}

type memberEntry struct {
	rec     memberRecord
	created time.Time
}

// partRun is this member's pull on one partition.
type partRun struct {
	p      int32
	it     jetstream.MessagesContext
	exited chan struct{} // closed when the pull goroutine returned
	pin    atomic.Value  // string: Nats-Pin-Id seen on our messages

	mu      sync.Mutex
	revoked bool                 // being handed over: nothing more is handed out
	out     map[uint64]*inflight // delivered by the server, not acked
	handed  int                  // how many of out Receive returned
	idle    chan struct{}        // signalled when handed drops to 0 after revoke
	stopc   chan struct{}        // closed with revoked
}

// inflight is one message delivered by the server and not yet acked: it
// travels from the pull goroutine to Receive and is also the message's ack
// function and holds the message itself, so a delivery costs one
// allocation besides the headers and the key.
// handed and the map entry are guarded by pr.mu.
type inflight struct {
	dm     driver.Message
	pr     *partRun
	seq    uint64
	m      jetstream.Msg
	handed bool
	once   sync.Once
	err    error
}

func (f *inflight) ack(context.Context) error {
	f.once.Do(func() {
		f.err = f.m.Ack()
		f.pr.acked(f)
	})
	return f.err
}

func (pr *partRun) add(f *inflight) bool {
	pr.mu.Lock()
	signal := false
	if old := pr.out[f.seq]; old != nil && old.handed {
		// A redelivery (ack wait passed) supersedes the earlier delivery;
		// only the new one counts as handed out from now on.
		pr.handed--
		signal = pr.handed == 0 && pr.revoked
	}
	pr.out[f.seq] = f
	ok := !pr.revoked
	pr.mu.Unlock()
	if signal {
		select {
		case pr.idle <- struct{}{}:
		default:
		}
	}
	return ok
}

// hand marks f as returned to the caller; false when the partition is
// being handed over (the message stays for release to nak).
func (pr *partRun) hand(f *inflight) bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.revoked || pr.out[f.seq] != f {
		return false
	}
	f.handed = true
	pr.handed++
	return true
}

func (pr *partRun) acked(f *inflight) {
	pr.mu.Lock()
	if pr.out[f.seq] != f {
		pr.mu.Unlock()
		return
	}
	delete(pr.out, f.seq)
	signal := false
	if f.handed {
		pr.handed--
		signal = pr.handed == 0 && pr.revoked
	}
	pr.mu.Unlock()
	if signal {
		select {
		case pr.idle <- struct{}{}:
		default:
		}
	}
}

func (pr *partRun) revoke() {
	pr.mu.Lock()
	if !pr.revoked {
		pr.revoked = true
		close(pr.stopc)
	}
	pr.mu.Unlock()
}

// nakRest naks every unacked message in sequence order, so the next holder
// of the partition receives them first and in order, and returns once the
// server has applied the naks. A plain Nak is fire-and-forget: the server
// queues it for the consumer while the unpin that follows is a separate API
// request, so the next holder could be pinned and served newer messages
// before the naked ones are back in the redelivery queue. The last nak is
// therefore sent as a request: the consumer processes acks of one
// connection in order and answers it only after the earlier ones.
func (pr *partRun) nakRest(nc *nats.Conn, timeout time.Duration) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	seqs := make([]uint64, 0, len(pr.out))
	for seq := range pr.out {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for i, seq := range seqs {
		m := pr.out[seq].m
		if i < len(seqs)-1 {
			_ = m.Nak()
			continue
		}
		if _, err := nc.Request(m.Reply(), []byte("-NAK"), timeout); err != nil {
			_ = m.Nak() // the consumer's ack wait redelivers it in any case
		}
	}
	pr.out = map[uint64]*inflight{}
	pr.handed = 0
}

func bucketName(streamName, group string) string { return "GLGROUP_" + streamName + "_" + group }

func (d *Driver) subscribeGroup(ctx context.Context, p driver.SubscribeParams, st jetstream.Stream, l layout, failover time.Duration) (*groupSub, error) {
	kv, err := d.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         bucketName(StreamName(p.Topic.Name), p.Group),
		Description:    "greenlang consumer group " + p.Group + " on " + p.Topic.Name + ": members",
		History:        1,
		TTL:            failover,
		LimitMarkerTTL: failover,
		Storage:        jetstream.MemoryStorage,
		Replicas:       d.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: group %s on %s: membership bucket: %w", p.Group, p.Topic.Name, err)
	}
	expiry := max(failover/2, time.Second)
	heartbeat := max(expiry/4, 500*time.Millisecond) // nats.go: 500ms..30s and at most half the expiry
	s := &groupSub{
		d: d, st: st, kv: kv, p: p, id: nuid.Next(), layout: l,
		ch: make(chan *inflight, 256), stop: make(chan struct{}), done: make(chan struct{}), settled: make(chan struct{}),
		pullOpt: []jetstream.PullMessagesOpt{
			jetstream.PullPriorityGroup(priorityGroup), jetstream.PullMaxMessages(500),
			jetstream.PullExpiry(expiry), jetstream.PullHeartbeat(heartbeat),
		},
		members: map[string]memberEntry{}, parts: map[int32]*partRun{},
	}
	p.FailoverAfter = failover
	s.p = p
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("nats: group %s on %s: watching members: %w", p.Group, p.Topic.Name, err)
	}
	if err := s.putRecord(ctx); err != nil {
		_ = w.Stop()
		return nil, err
	}
	go s.coordinate(w)
	wait := time.NewTimer(2 * failover)
	defer wait.Stop()
	select {
	case <-s.settled:
	case <-wait.C:
		d.log.Warn("nats: group did not settle; subscribing anyway", "group", p.Group, "topic", p.Topic.Name, "after", 2*failover)
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("nats: group %s on %s: waiting for the group to settle: %w", p.Group, p.Topic.Name, ctx.Err())
	}
	return s, nil
}

func (s *groupSub) record() memberRecord {
	r := memberRecord{View: s.view, Parts: make([]int32, 0, len(s.parts))}
	for p := range s.parts {
		r.Parts = append(r.Parts, p)
	}
	slices.Sort(r.Parts)
	return r
}

func (s *groupSub) putRecord(ctx context.Context) error {
	b, err := json.Marshal(s.record())
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, s.id, b); err != nil {
		return fmt.Errorf("nats: group %s on %s: registering member: %w", s.p.Group, s.p.Topic.Name, err)
	}
	return nil
}

// coordinate runs the member: heartbeats, membership changes, rebalancing.
func (s *groupSub) coordinate(w jetstream.KeyWatcher) {
	defer close(s.done)
	defer func() { _ = w.Stop() }()
	tick := time.NewTicker(s.p.FailoverAfter / 4)
	defer tick.Stop()
	initial := false
	for {
		changed := false
		select {
		case <-s.stop:
			s.leave()
			return
		case e, ok := <-w.Updates():
			if !ok {
				// The watcher ended (server restart); rebuild it.
				nw, err := s.kv.WatchAll(context.Background())
				if err != nil {
					s.d.log.Warn("nats: re-watching group members", "group", s.p.Group, "err", err)
					select {
					case <-s.stop:
						s.leave()
						return
					case <-tick.C:
					}
					continue
				}
				w, s.members = nw, map[string]memberEntry{}
				initial = false
				continue
			}
			if e == nil {
				initial = true
				changed = true
				break
			}
			changed = s.apply(e)
			if !changed && initial && len(s.parts) < len(s.want) && s.startFree() {
				// A member released a partition we were waiting for.
				ctx, cancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
				if err := s.putRecord(ctx); err != nil {
					s.d.log.Warn("nats: group record", "group", s.p.Group, "err", err)
				}
				cancel()
			}
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
			if err := s.putRecord(ctx); err != nil {
				s.d.log.Warn("nats: group heartbeat", "group", s.p.Group, "err", err)
			}
			cancel()
			// Also retry partitions whose start failed.
			changed = s.expire() || len(s.parts) != len(assign(s.memberIDs(), s.id, s.p.Topic.Partitions))
		}
		if initial && changed {
			s.rebalance()
		}
		s.checkSettled()
	}
}

// apply records one bucket entry; it reports whether the member set changed.
func (s *groupSub) apply(e jetstream.KeyValueEntry) bool {
	_, known := s.members[e.Key()]
	if e.Operation() != jetstream.KeyValuePut {
		delete(s.members, e.Key())
		return known
	}
	var r memberRecord
	_ = json.Unmarshal(e.Value(), &r)
	s.members[e.Key()] = memberEntry{rec: r, created: e.Created()}
	return !known
}

// expire drops members not heard of for twice the TTL, in case an expiry
// marker was missed.
func (s *groupSub) expire() bool {
	changed := false
	for id, m := range s.members {
		if id != s.id && time.Since(m.created) > 2*s.p.FailoverAfter {
			delete(s.members, id)
			changed = true
		}
	}
	return changed
}

func (s *groupSub) memberIDs() []string {
	ids := make([]string, 0, len(s.members)+1)
	for id := range s.members {
		ids = append(ids, id)
	}
	if _, ok := s.members[s.id]; !ok {
		ids = append(ids, s.id) // our own put may not have come back yet
	}
	sort.Strings(ids)
	return ids
}

// rebalance releases partitions no longer ours, starts the new ones and
// publishes the member's record.
func (s *groupSub) rebalance() {
	ids := s.memberIDs()
	want := map[int32]bool{}
	for _, p := range assign(ids, s.id, s.p.Topic.Partitions) {
		want[p] = true
	}
	var lost []*partRun
	for p, pr := range s.parts {
		if !want[p] {
			lost = append(lost, pr)
			delete(s.parts, p)
		}
	}
	s.release(lost, false)
	s.want = want
	s.startFree()
	s.view = viewOf(ids)
	s.isSet = true
	ctx, cancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
	defer cancel()
	if err := s.putRecord(ctx); err != nil {
		s.d.log.Warn("nats: group record", "group", s.p.Group, "err", err)
	}
}

// startFree starts pulling the partitions assigned to this member that no
// other live member's record still lists. A partition is taken over only
// after its previous holder has released it (naked its unacked messages in
// order, unpinned, and published a record without it, or left or expired):
// pulling it earlier would park pull requests the server cycles past while
// the old pin holds, and each such delivery attempt moves the head of the
// consumer's redelivery queue to its tail, so the next holder would receive
// the handed-over messages after newer ones. It reports whether it started
// any.
func (s *groupSub) startFree() bool {
	started := false
	for p := range s.want {
		if s.parts[p] != nil || s.claimedElsewhere(p) {
			continue
		}
		if pr := s.start(p); pr != nil {
			s.parts[p] = pr
			started = true
		}
	}
	return started
}

func (s *groupSub) claimedElsewhere(p int32) bool {
	for id, m := range s.members {
		if id != s.id && slices.Contains(m.rec.Parts, p) {
			return true
		}
	}
	return false
}

// checkSettled closes settled once every live member agrees with our view
// and holds only its own partitions.
func (s *groupSub) checkSettled() {
	select {
	case <-s.settled:
		return
	default:
	}
	if !s.isSet {
		return
	}
	ids := s.memberIDs()
	if viewOf(ids) != s.view {
		return
	}
	for _, id := range ids {
		m, ok := s.members[id]
		if !ok || m.rec.View != s.view {
			return
		}
		if !slices.Equal(m.rec.Parts, assign(ids, id, s.p.Topic.Partitions)) {
			return
		}
	}
	close(s.settled)
}

func (s *groupSub) consumerName(p int32) string { return s.p.Group + "_p" + strconv.Itoa(int(p)) }

// start begins pulling partition p; nil (logged) on error, retried at the
// next membership change or heartbeat-driven rebalance.
func (s *groupSub) start(p int32) *partRun {
	ctx, cancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
	defer cancel()
	c, err := s.st.Consumer(ctx, s.consumerName(p))
	if err != nil {
		s.d.log.Warn("nats: group partition", "group", s.p.Group, "partition", p, "err", err)
		return nil
	}
	it, err := c.Messages(s.pullOpt...)
	if err != nil {
		s.d.log.Warn("nats: group partition", "group", s.p.Group, "partition", p, "err", err)
		return nil
	}
	pr := &partRun{p: p, it: it, exited: make(chan struct{}), out: map[uint64]*inflight{}, idle: make(chan struct{}, 1), stopc: make(chan struct{})}
	pr.pin.Store("")
	go s.pull(pr)
	return pr
}

func (s *groupSub) pull(pr *partRun) {
	defer close(pr.exited)
	lastPin := ""
	for {
		msg, err := pr.it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			select {
			case <-pr.stopc:
				return
			default:
			}
			s.d.log.Debug("nats: pull", "group", s.p.Group, "partition", pr.p, "err", err)
			continue
		}
		if pin := msg.Headers().Get("Nats-Pin-Id"); pin != "" && pin != lastPin {
			pr.pin.Store(pin) // only on change: storing a string allocates
			lastPin = pin
		}
		f := &inflight{pr: pr, m: msg}
		seq, err := fromNATS(msg, s.p.Topic.Name, s.layout, &f.dm)
		if err != nil {
			s.d.log.Warn("nats: undecodable message left unacked", "group", s.p.Group, "partition", pr.p, "subject", msg.Subject(), "err", err)
			continue
		}
		f.seq = seq
		if !pr.add(f) {
			continue // handed over: release naks it
		}
		select {
		case s.ch <- f:
		case <-pr.stopc:
		}
	}
}

// release hands partitions over: stop pulling, wait (at most
// FailoverAfter) until what was handed out is acked, nak the rest in order,
// unpin. With abandon (Close) it does not wait.
func (s *groupSub) release(prs []*partRun, abandon bool) {
	if len(prs) == 0 {
		return
	}
	// Pause each partition's consumer before unsubscribing: a delivery the
	// server sends to a pull request of ours after we unsubscribe is lost in
	// flight and comes back only after the ack wait, behind newer messages
	// the next holder has had meanwhile. Paused, the server sends nothing
	// more; what it sent before the pause is answered reaches us (we are
	// still subscribed) and is naked below in order. The pause ends (resume
	// below, or by itself after FailoverAfter if we die) before anyone else
	// may pull the partition.
	pctx, pcancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
	defer pcancel()
	paused := make([]bool, len(prs))
	for i, pr := range prs {
		pr.revoke()
		if _, err := s.st.PauseConsumer(pctx, s.consumerName(pr.p), time.Now().Add(s.p.FailoverAfter)); err != nil {
			s.d.log.Debug("nats: pausing a partition consumer", "group", s.p.Group, "partition", pr.p, "err", err)
		} else {
			paused[i] = true
		}
		pr.it.Drain()
	}
	defer func() {
		// A fresh context: the hand-over wait above may have used up pctx's.
		rctx, rcancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
		defer rcancel()
		for i, pr := range prs {
			if paused[i] {
				if _, err := s.st.ResumeConsumer(rctx, s.consumerName(pr.p)); err != nil {
					s.d.log.Debug("nats: resuming a partition consumer", "group", s.p.Group, "partition", pr.p, "err", err)
				}
			}
		}
	}()
	deadline := time.NewTimer(s.p.FailoverAfter)
	defer deadline.Stop()
	for _, pr := range prs {
		<-pr.exited
		// Our pull requests outlive the unsubscribe in the consumer's
		// waiting list; a delivery attempt to one of them puts the message
		// at the tail of the redelivery queue, out of order. A consumer
		// info request makes the server drop requests nobody listens to
		// (Drain has unsubscribed), so the naks below queue in order.
		s.purgeRequests(pr)
	wait:
		for !abandon {
			pr.mu.Lock()
			n := pr.handed
			pr.mu.Unlock()
			if n == 0 {
				break
			}
			select {
			case <-pr.idle:
			case <-deadline.C:
				s.d.log.Warn("nats: handing a partition over with messages still unacked",
					"group", s.p.Group, "partition", pr.p, "unacked", n)
				abandon = true
				break wait
			}
		}
		pr.nakRest(s.d.nc, s.p.FailoverAfter)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
	defer cancel()
	for _, pr := range prs {
		pin, _ := pr.pin.Load().(string)
		if pin == "" {
			continue
		}
		name := s.consumerName(pr.p)
		c, err := s.st.Consumer(ctx, name)
		if err != nil {
			continue
		}
		for _, g := range c.CachedInfo().PriorityGroups {
			if g.Group == priorityGroup && g.PinnedClientID == pin {
				if err := s.st.UnpinConsumer(ctx, name, priorityGroup); err != nil {
					s.d.log.Debug("nats: unpinning", "group", s.p.Group, "partition", pr.p, "err", err)
				}
			}
		}
	}
}

// purgeRequests asks for the partition consumer's info, which makes the
// server drop waiting pull requests without interest.
func (s *groupSub) purgeRequests(pr *partRun) {
	ctx, cancel := context.WithTimeout(context.Background(), s.p.FailoverAfter)
	defer cancel()
	c, err := s.st.Consumer(ctx, s.consumerName(pr.p))
	if err == nil {
		_, err = c.Info(ctx)
	}
	if err != nil {
		s.d.log.Debug("nats: purging pull requests", "group", s.p.Group, "partition", pr.p, "err", err)
	}
}

// leave releases every partition and deletes the member record, so the
// others rebalance at once.
func (s *groupSub) leave() {
	prs := make([]*partRun, 0, len(s.parts))
	for _, pr := range s.parts {
		prs = append(prs, pr)
	}
	s.parts = map[int32]*partRun{}
	s.release(prs, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.kv.Delete(ctx, s.id); err != nil {
		s.d.log.Debug("nats: leaving group", "group", s.p.Group, "err", err)
	}
}

// Receive implements driver.Subscription. Messages of a partition being
// handed over are skipped: release naks them for the next holder.
func (s *groupSub) Receive(ctx context.Context) (*driver.Message, error) {
	for {
		select {
		case <-s.stop:
			return nil, driver.ErrSubscriptionClosed
		default:
		}
		select {
		case f := <-s.ch:
			if !f.pr.hand(f) {
				continue
			}
			f.dm.Ack = f.ack
			return &f.dm, nil
		case <-s.stop:
			return nil, driver.ErrSubscriptionClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close implements driver.Subscription: it releases the partitions (unacked
// messages are nacked, so the next holder gets them at once, in order),
// unpins and deletes the member record.
func (s *groupSub) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}
