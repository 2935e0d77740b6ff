package processor

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/stream"
)

func TestRuns(t *testing.T) {
	for _, c := range []struct {
		offsets []int64
		runs    [][2]int64
	}{
		{nil, nil},
		{[]int64{7}, [][2]int64{{7, 7}}},
		{[]int64{3, 4, 5, 6}, [][2]int64{{3, 6}}},
		{[]int64{0, 1, 3, 5, 6, 7, 10}, [][2]int64{{0, 1}, {3, 3}, {5, 7}, {10, 10}}},
	} {
		got := runs(c.offsets)
		if !slices.Equal(got, c.runs) {
			t.Errorf("runs(%v) = %v, want %v", c.offsets, got, c.runs)
		}
		if back := expand(got); !slices.Equal(back, c.offsets) && len(c.offsets) > 0 {
			t.Errorf("expand(%v) = %v, want %v", got, back, c.offsets)
		}
	}
	for _, bad := range [][][2]int64{{{5, 4}}, {{1, 3}, {3, 4}}, {{4, 5}, {1, 2}}, {{-1, 2}}, {{0, maxStoredOffsets}}} {
		if err := checkRuns(bad); err == nil {
			t.Errorf("checkRuns(%v) accepted", bad)
		}
	}
}

// keyedState is a map checkpointed entry by entry.
type keyedState struct {
	M       map[string]string `json:"-"`
	Own     string            `json:"own"`
	changed map[string]bool
}

func (s *keyedState) TakeChanges() ([]store.ProcessorStateEntry, error) {
	var out []store.ProcessorStateEntry
	for k := range s.changed {
		e := store.ProcessorStateEntry{Key: k}
		if v, ok := s.M[k]; ok {
			e.Value = []byte(v)
		}
		out = append(out, e)
	}
	clear(s.changed)
	return out, nil
}

func (s *keyedState) RestoreEntry(k string, v []byte) error { s.M[k] = string(v); return nil }

type keyedHandler struct{}

func (keyedHandler) NewState() *keyedState {
	return &keyedState{M: map[string]string{}, changed: map[string]bool{}}
}

func (keyedHandler) Handle(_ context.Context, st *keyedState, m *stream.Message, _ *Emitter) error {
	if string(m.Value) == "" {
		delete(st.M, m.Key)
	} else {
		st.M[m.Key] = string(m.Value)
	}
	st.changed[m.Key] = true
	return nil
}

// memStore keeps one partition's checkpoint as the store does and records
// the commits.
type memStore struct {
	cp      *store.ProcessorCheckpoint
	commits []store.ProcessorCommit
}

func (s *memStore) ProcessorCheckpoint(context.Context, string, int32) (*store.ProcessorCheckpoint, error) {
	return s.cp, nil
}

func (s *memStore) ProcessorCommit(_ context.Context, c store.ProcessorCommit) error {
	s.commits = append(s.commits, c)
	u := c.Partitions[0]
	if s.cp == nil {
		s.cp = &store.ProcessorCheckpoint{}
	}
	s.cp.Version, s.cp.Offset, s.cp.State = s.cp.Version+1, u.Offset, u.State
	for _, e := range u.Entries {
		s.cp.Entries = slices.DeleteFunc(s.cp.Entries, func(x store.ProcessorStateEntry) bool { return x.Key == e.Key })
		if e.Value != nil {
			s.cp.Entries = append(s.cp.Entries, e)
		}
	}
	return nil
}

func newTestRunner(st Store) *Runner[*keyedState] {
	return &Runner[*keyedState]{cfg: Config{Name: "keyed", Store: st, DedupWindow: 1024, EventIDWindow: 1024}, h: keyedHandler{},
		log: slog.New(slog.DiscardHandler), parts: map[int32]*partition[*keyedState]{}}
}

// A keyed state's commit carries only the entries its batch changed, its
// applied offsets as runs; a new runner restores the entries.
func TestKeyedStateCommitsChangesOnly(t *testing.T) {
	ms := &memStore{}
	r := newTestRunner(ms)
	msg := func(off int64, key, v string) *stream.Message {
		return &stream.Message{Topic: "t", Offset: off, Key: key, Value: []byte(v), EventID: key + string(rune('a'+off))}
	}
	ctx := context.Background()
	if err := r.process(ctx, []*stream.Message{msg(0, "a", "1"), msg(1, "b", "2"), msg(2, "c", "3")}); err != nil {
		t.Fatal(err)
	}
	if err := r.process(ctx, []*stream.Message{msg(3, "b", "20"), msg(4, "c", "")}); err != nil {
		t.Fatal(err)
	}
	if n := len(ms.commits); n != 2 {
		t.Fatalf("%d commits", n)
	}
	second := ms.commits[1].Partitions[0]
	slices.SortFunc(second.Entries, func(a, b store.ProcessorStateEntry) int { return strings.Compare(a.Key, b.Key) })
	if len(second.Entries) != 2 || second.Entries[0].Key != "b" || string(second.Entries[0].Value) != "20" || second.Entries[1].Key != "c" || second.Entries[1].Value != nil {
		t.Fatalf("second commit's entries %+v, want b=20 and c deleted", second.Entries)
	}
	var env envelope[json.RawMessage]
	if err := json.Unmarshal(second.State, &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Applied) != 0 || !slices.Equal(env.Runs, [][2]int64{{0, 4}}) || string(env.State) != `{"own":""}` {
		t.Fatalf("stored envelope %s", second.State)
	}
	fresh := newTestRunner(ms)
	ps, err := fresh.load(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.state.M) != 2 || ps.state.M["a"] != "1" || ps.state.M["b"] != "20" || !ps.done(4) || ps.done(5) {
		t.Fatalf("restored state %v, applied %v", ps.state.M, ps.applied)
	}
}

// A checkpoint written before runs (every applied offset listed) loads.
func TestLegacyAppliedOffsetsLoad(t *testing.T) {
	ms := &memStore{cp: &store.ProcessorCheckpoint{Version: 3, Offset: 9, State: []byte(`{"state":{"own":"x"},"applied_offsets":[7,9]}`)}}
	ps, err := newTestRunner(ms).load(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !ps.done(7) || ps.done(8) || !ps.done(9) || ps.state.Own != "x" {
		t.Fatalf("applied %v, own %q", ps.applied, ps.state.Own)
	}
}
