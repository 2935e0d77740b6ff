package drivertest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// Stream-processor checkpoints: state, offset and output events commit
// together or not at all; a commit from a stale version is refused and
// writes nothing; a replayed output (same id) is skipped; events of several
// organizations land in their own tenants' outboxes.
func testProcessorState(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	DrainOutbox(t, s)
	a, b := NewOrg(t, s), NewOrg(t, s)
	name := "test-proc-" + uuid.NewString()[:8]

	cp, err := s.ProcessorCheckpoint(ctx, name, 3)
	must(t, err)
	if cp != nil {
		t.Fatalf("new processor has checkpoint %+v", cp)
	}
	_, err = s.ProcessorCheckpoint(ctx, "Bad Name", 0)
	wantCode(t, err, store.CodeInvalidArgument, "bad processor name")

	ev := func(org uuid.UUID, id uuid.UUID, n int) store.ProcessorEvent {
		return store.ProcessorEvent{OrgID: org, Event: store.OutboxEvent{ID: id, Topic: "emissions.aggregated", Key: org.String(),
			Payload: fmt.Appendf(nil, `{"n":%d}`, n), Headers: map[string]string{"gl-content-type": "application/json"}}}
	}
	idA1, idB1 := uuid.NewSHA1(uuid.NameSpaceOID, []byte(name+"a1")), uuid.NewSHA1(uuid.NameSpaceOID, []byte(name+"b1"))
	must(t, s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 3, Offset: 10, State: []byte(`{"sum":"1.5"}`)}, {Partition: 0, Offset: 4, State: []byte(`{}`)}},
		Events:     []store.ProcessorEvent{ev(a.ID, idA1, 1), ev(b.ID, idB1, 2)}}))
	cp, err = s.ProcessorCheckpoint(ctx, name, 3)
	must(t, err)
	if cp == nil || cp.Offset != 10 || cp.Version != 1 || string(cp.State) != `{"sum":"1.5"}` || cp.Partition != 3 || cp.Processor != name {
		t.Fatalf("checkpoint after first commit: %+v", cp)
	}
	all, err := s.ProcessorCheckpoints(ctx, name)
	must(t, err)
	if len(all) != 2 || all[0].Partition != 0 || all[1].Partition != 3 {
		t.Fatalf("checkpoints: %+v", all)
	}
	for _, c := range []struct {
		org uuid.UUID
		id  uuid.UUID
	}{{a.ID, idA1}, {b.ID, idB1}} {
		evs, err := s.OutboxEvents(ctx, c.org, 0, 10)
		must(t, err)
		if len(evs) != 1 || evs[0].ID != c.id || evs[0].OrgID != c.org {
			t.Fatalf("outbox of %s: %+v", c.org, evs)
		}
	}

	// A stale version (a second instance that loaded version 0, or a
	// zombie) writes nothing at all: neither state nor events.
	idA2 := uuid.NewSHA1(uuid.NameSpaceOID, []byte(name+"a2"))
	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 0, PrevVersion: 1, Offset: 5, State: []byte(`{"x":1}`)}, {Partition: 3, PrevVersion: 0, Offset: 11, State: []byte(`{}`)}},
		Events:     []store.ProcessorEvent{ev(a.ID, idA2, 3)}})
	wantCode(t, err, store.CodeFailedPrecondition, "commit from a stale version")
	cp, err = s.ProcessorCheckpoint(ctx, name, 0)
	must(t, err)
	if cp.Offset != 4 || cp.Version != 1 {
		t.Fatalf("partition 0 changed by a refused commit: %+v", cp)
	}
	evs, err := s.OutboxEvents(ctx, a.ID, 0, 10)
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("a refused commit wrote events: %+v", evs)
	}

	// The right version commits; a replayed output id is skipped.
	must(t, s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 3, PrevVersion: 1, Offset: 12, State: []byte(`{"sum":"2"}`)}},
		Events:     []store.ProcessorEvent{ev(a.ID, idA1, 1), ev(a.ID, idA2, 3)}}))
	cp, err = s.ProcessorCheckpoint(ctx, name, 3)
	must(t, err)
	if cp.Offset != 12 || cp.Version != 2 || string(cp.State) != `{"sum":"2"}` {
		t.Fatalf("checkpoint after second commit: %+v", cp)
	}
	evs, err = s.OutboxEvents(ctx, a.ID, 0, 10)
	must(t, err)
	if len(evs) != 2 || evs[0].ID != idA1 || evs[1].ID != idA2 {
		t.Fatalf("outbox of a after the replayed output: %+v", evs)
	}
	// The relay sees the events like any other outbox event.
	claimed, err := s.OutboxClaim(ctx, uuid.Must(uuid.NewV7()), 100, 60e9)
	must(t, err)
	if len(claimed) != 3 {
		t.Fatalf("relay claimed %d events, want 3", len(claimed))
	}
	_, err = s.OutboxMarkPublished(ctx, outboxIDs(claimed))
	must(t, err)

	// Validation.
	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name, Events: []store.ProcessorEvent{{OrgID: a.ID, Event: store.OutboxEvent{Topic: "x"}}}})
	wantCode(t, err, store.CodeInvalidArgument, "event without id")
	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name, Events: []store.ProcessorEvent{{Event: store.OutboxEvent{ID: idA1, Topic: "x"}}}})
	wantCode(t, err, store.CodeInvalidArgument, "event without organization")
	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name, Partitions: []store.ProcessorPartitionUpdate{{Partition: 1}, {Partition: 1}}})
	wantCode(t, err, store.CodeInvalidArgument, "partition twice")
}

// Keyed state entries: a commit writes only the entries it names (upsert,
// or delete with a nil value), with the checkpoint; a refused commit
// writes none; more entries than one statement takes are written whole;
// a duplicate or empty key is refused.
func testProcessorStateEntries(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	name := "test-keyed-" + uuid.NewString()[:8]
	entries := func(cp *store.ProcessorCheckpoint) map[string]string {
		m := map[string]string{}
		for _, e := range cp.Entries {
			m[e.Key] = string(e.Value)
		}
		return m
	}
	var many []store.ProcessorStateEntry
	for i := range 600 { // more than one statement's chunk
		many = append(many, store.ProcessorStateEntry{Key: fmt.Sprintf("dev-%04d", i), Value: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	must(t, s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 2, Offset: 1, State: []byte(`{}`), Entries: many}}}))
	cp, err := s.ProcessorCheckpoint(ctx, name, 2)
	must(t, err)
	if got := entries(cp); len(got) != 600 || got["dev-0599"] != `{"n":599}` || cp.Entries[0].Key != "dev-0000" {
		t.Fatalf("%d entries after the first commit (first %q)", len(got), cp.Entries[0].Key)
	}

	// The next commit changes one entry, deletes one, adds one; the rest
	// stay.
	must(t, s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 2, PrevVersion: 1, Offset: 2, State: []byte(`{}`), Entries: []store.ProcessorStateEntry{
			{Key: "dev-0001", Value: []byte(`{"n":"changed"}`)}, {Key: "dev-0002"}, {Key: "new", Value: []byte(`{}`)}}}}}))
	cp, err = s.ProcessorCheckpoint(ctx, name, 2)
	must(t, err)
	got := entries(cp)
	if _, gone := got["dev-0002"]; len(got) != 600 || got["dev-0001"] != `{"n":"changed"}` || gone || got["new"] != `{}` || got["dev-0003"] != `{"n":3}` {
		t.Fatalf("entries after the second commit: %d, dev-0001 %q, dev-0002 kept %v, new %q", len(got), got["dev-0001"], gone, got["new"])
	}

	// A stale commit writes no entry; another partition's entries are its
	// own.
	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 2, PrevVersion: 1, Offset: 3, State: []byte(`{}`), Entries: []store.ProcessorStateEntry{{Key: "dev-0003"}}}}})
	wantCode(t, err, store.CodeFailedPrecondition, "stale commit with entries")
	must(t, s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name,
		Partitions: []store.ProcessorPartitionUpdate{{Partition: 5, Offset: 1, State: []byte(`{}`), Entries: []store.ProcessorStateEntry{{Key: "dev-0003", Value: []byte(`5`)}}}}}))
	cp, err = s.ProcessorCheckpoint(ctx, name, 2)
	must(t, err)
	if entries(cp)["dev-0003"] != `{"n":3}` {
		t.Fatalf("dev-0003 of partition 2 = %q after a stale commit and partition 5's", entries(cp)["dev-0003"])
	}

	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name, Partitions: []store.ProcessorPartitionUpdate{{Partition: 2, PrevVersion: 2, Offset: 4,
		Entries: []store.ProcessorStateEntry{{Key: "a", Value: []byte(`1`)}, {Key: "a", Value: []byte(`2`)}}}}})
	wantCode(t, err, store.CodeInvalidArgument, "an entry key twice")
	err = s.ProcessorCommit(ctx, store.ProcessorCommit{Processor: name, Partitions: []store.ProcessorPartitionUpdate{{Partition: 2, PrevVersion: 2, Offset: 4,
		Entries: []store.ProcessorStateEntry{{Key: "", Value: []byte(`1`)}}}}})
	wantCode(t, err, store.CodeInvalidArgument, "an empty entry key")
}
