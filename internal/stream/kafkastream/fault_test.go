package kafkastream_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/greenlang/greenlang/internal/stream"
	"github.com/greenlang/greenlang/internal/stream/drivertest"
	"github.com/greenlang/greenlang/internal/stream/kafkastream"
)

// Fault tests on kfake: see drivertest/fault.go for what each proves and
// kafkastream/doc_kfake.go for what kfake does not.

var faultHarness = drivertest.Harness{Register: kafkastream.Register}

// restartable is a kfake cluster that can be stopped and started again at
// the same address with its data (kfake.DataDir: topics, records, group
// offsets).
type restartable struct {
	dir  string
	mu   sync.Mutex
	port int
	c    *kfake.Cluster
}

func newRestartable(t *testing.T) *restartable {
	r := &restartable{dir: t.TempDir()}
	r.start(t)
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100 * time.Millisecond), kfake.DataDir(r.dir)}
	if r.port != 0 {
		opts = append(opts, kfake.Ports(r.port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(c.ListenAddrs()[0])
	r.port, _ = strconv.Atoi(port)
	r.c = c
}

func (r *restartable) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.c.Close()
}

func (r *restartable) url() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return "kafka://127.0.0.1:" + strconv.Itoa(r.port)
}

func (r *restartable) outage() drivertest.Outage {
	return drivertest.Outage{Stop: func(*testing.T) { r.stop() }, Start: r.start}
}

func openKafka(t *testing.T, url string) *stream.Stream {
	t.Helper()
	reg := stream.NewRegistry()
	kafkastream.Register(reg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := reg.Open(ctx, url, stream.Options{Topics: drivertest.FaultTopics()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestFaultConsumerCrash: the crashing member is a second client; the
// crash is kfake failing every group request of that member (heartbeat,
// commit, join, sync, leave) from then on, so the broker hears nothing more
// from it, as from a dead process: its session times out after
// FailoverAfter and it never commits what it acked after its last commit.
func TestFaultConsumerCrash(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	url := "kafka://" + c.ListenAddrs()[0]
	s := openKafka(t, url)
	crashing := openKafka(t, url)
	env := drivertest.Env{URL: url}
	drivertest.RunConsumerCrash(t, faultHarness, env, s, drivertest.Crasher{
		Stream: crashing,
		Arm: func(t *testing.T, group string) func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			info, err := c.WaitGroupStable(ctx, group, 1)
			if err != nil || len(info.Members) != 1 {
				t.Fatalf("group %s with the crashing member alone: %+v, %v", group, info, err)
			}
			id := info.Members[0].MemberID
			return func() {
				c.Fault(kfake.Fault{
					Keys:  []kmsg.Key{kmsg.Heartbeat, kmsg.OffsetCommit, kmsg.JoinGroup, kmsg.SyncGroup, kmsg.LeaveGroup},
					Group: group, Count: -1, Err: kerr.GroupAuthorizationFailed,
					When: func(req kmsg.Request) bool { return memberOf(req) == id },
				})
			}
		},
	})
}

// memberOf is the group member a request comes from, "" when unknown.
func memberOf(req kmsg.Request) string {
	switch r := req.(type) {
	case *kmsg.HeartbeatRequest:
		return r.MemberID
	case *kmsg.OffsetCommitRequest:
		return r.MemberID
	case *kmsg.JoinGroupRequest:
		return r.MemberID
	case *kmsg.SyncGroupRequest:
		return r.MemberID
	case *kmsg.LeaveGroupRequest:
		if r.MemberID != "" {
			return r.MemberID
		}
		if len(r.Members) > 0 {
			return r.Members[0].MemberID
		}
	}
	return ""
}

func TestFaultProducerAcrossRestart(t *testing.T) {
	t.Parallel()
	r := newRestartable(t)
	s := openKafka(t, r.url())
	drivertest.RunProducerRestart(t, faultHarness, s, r.outage())
}

func TestFaultProducerBufferFull(t *testing.T) {
	t.Parallel()
	r := newRestartable(t)
	s := openKafka(t, r.url())
	drivertest.RunProducerBufferFull(t, faultHarness, s, r.outage(), true)
}

func TestFaultUnreachableURL(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		drivertest.RunUnreachable(t, kafkastream.Register, "kafka://"+drivertest.ClosedPort(t), 10*time.Second)
	})
	// A broker that accepts connections and never answers: franz-go's
	// ping gives up after about 20s on its own; the caller's deadline
	// bounds it earlier.
	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		drivertest.RunUnreachable(t, kafkastream.Register, "kafka://"+drivertest.SilentPort(t), 3*time.Second)
	})
}
