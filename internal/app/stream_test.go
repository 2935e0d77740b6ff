package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/app"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/drivertest"
	"github.com/greenlang/greenlang/internal/stream"
)

// serve opens the embedded event stream under the data directory and runs
// the outbox relay: an event a store write emits reaches the stream, and
// the relay's counters are metrics.
func TestServeRelaysTheOutbox(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	if !strings.HasPrefix(cfg.Stream.URL, "nats+embedded://") || !strings.HasSuffix(cfg.Stream.URL, "/data/jetstream") {
		t.Fatalf("default stream URL %q", cfg.Stream.URL)
	}
	a := startApp(t, cfg, app.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	org := drivertest.NewOrg(t, a.Store())
	ev := store.OutboxEvent{Topic: "emissions.calculated", Key: org.ID.String(), Payload: []byte(`{"test":true}`)}
	if _, err := a.Store().OutboxAppend(ctx, org.ID, ev); err != nil {
		t.Fatal(err)
	}
	sub, err := a.Stream().Replay(ctx, "emissions.calculated", stream.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	m, err := sub.Receive(ctx)
	if err != nil {
		t.Fatalf("the outbox event did not reach the stream: %v", err)
	}
	if string(m.Value) != `{"test":true}` || m.Key != org.ID.String() || m.EventID == "" {
		t.Errorf("received %+v", m)
	}
	// The relay marks the event after publishing it: wait for the count.
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, body = fetch(t, http.DefaultClient, "http://"+a.Addr()+"/metrics"); strings.Contains(body, "greenlang_outbox_published_total 1\n") {
			return
		}
	}
	t.Errorf("metrics lack the relay's count:\n%s", grepLines(body, "greenlang_outbox"))
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
