package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func chain(org uuid.UUID, n int) []*Entry {
	var out []*Entry
	var prev []byte
	for i := 1; i <= n; i++ {
		e := &Entry{OrgID: org, Seq: int64(i), OccurredAt: time.Date(2025, 1, 1, 0, 0, i, 123456789, time.UTC),
			ActorType: "user", ActorID: "u", Action: ActionCreate, EntityType: "site", EntityID: "s", NewValues: `{"n":1}`}
		e.Seal(prev)
		prev = e.Hash
		out = append(out, e)
	}
	return out
}

func verify(org uuid.UUID, es []*Entry, headSeq int64, head []byte) *Break {
	v := NewVerifier(org)
	for _, e := range es {
		v.Add(e)
	}
	return v.Finish(headSeq, head)
}

func TestVerify(t *testing.T) {
	org := uuid.New()
	good := chain(org, 5)
	head := good[4].Hash
	if b := verify(org, good, 5, head); b != nil {
		t.Fatalf("whole chain broken: %v", b)
	}
	if b := verify(org, nil, 0, nil); b != nil {
		t.Fatalf("empty chain broken: %v", b)
	}
	cases := []struct {
		name   string
		mutate func([]*Entry) []*Entry
		seq    int64
		reason string
	}{
		{"field edited", func(es []*Entry) []*Entry { es[2].ActorID = "x"; return es }, 3, "altered"},
		{"time edited by a microsecond", func(es []*Entry) []*Entry { es[1].OccurredAt = es[1].OccurredAt.Add(time.Microsecond); return es }, 2, "altered"},
		{"entry removed", func(es []*Entry) []*Entry { return append(es[:2:2], es[3:]...) }, 3, "missing"},
		{"entries swapped", func(es []*Entry) []*Entry { es[1], es[2] = es[2], es[1]; es[1].Seq, es[2].Seq = 2, 3; return es }, 2, "reordered"},
		{"tail removed", func(es []*Entry) []*Entry { return es[:4] }, 5, "end"},
		{"other organization", func(es []*Entry) []*Entry { es[0].OrgID = uuid.New(); return es }, 1, "organization"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := c.mutate(chain(org, 5))
			b := verify(org, es, 5, head)
			if b == nil || b.Seq != c.seq || !strings.Contains(b.Reason, c.reason) {
				t.Fatalf("got %v, want break at %d (%s)", b, c.seq, c.reason)
			}
		})
	}
}

// The canonical form is length-prefixed, so moving bytes between fields
// changes the hash.
func TestCanonicalIsUnambiguous(t *testing.T) {
	a := Entry{ActorType: "ab", ActorID: "c"}
	b := Entry{ActorType: "a", ActorID: "bc"}
	if bytes.Equal(a.Canonical(), b.Canonical()) {
		t.Fatal("field boundaries are not encoded")
	}
	// Sub-microsecond differences are below what both engines keep.
	c := Entry{OccurredAt: time.Unix(0, 1000)}
	d := Entry{OccurredAt: time.Unix(0, 1999)}
	if !bytes.Equal(c.Canonical(), d.Canonical()) {
		t.Fatal("canonical time is not truncated to microseconds")
	}
}
