// Package audit defines GreenLang's tamper-evident audit trail: entries, their
// canonical encoding, the SHA-256 chain that links them and the check that
// finds the first broken link. It is pure: the store (internal/store) appends
// and reads entries; this package only computes and checks.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Actions recorded in the trail.
const (
	ActionCreate     = "create"
	ActionUpdate     = "update"
	ActionDelete     = "delete"
	ActionBulkInsert = "bulk_insert"
)

// Entry is one link of an organization's chain. Seq counts from 1 per
// organization; PrevHash is the Hash of entry Seq-1 (empty for the first).
type Entry struct {
	OrgID      uuid.UUID `json:"org_id"`
	Seq        int64     `json:"seq"`
	OccurredAt time.Time `json:"occurred_at"`
	ActorType  string    `json:"actor_type"`
	ActorID    string    `json:"actor_id"`
	Action     string    `json:"action"`
	EntityType string    `json:"entity_type"`
	EntityID   string    `json:"entity_id"`
	OldValues  string    `json:"old_values,omitempty"` // canonical JSON of the record before, or empty
	NewValues  string    `json:"new_values,omitempty"` // canonical JSON of the record after, or empty
	PrevHash   []byte    `json:"prev_hash"`
	Hash       []byte    `json:"hash"`
}

const domain = "greenlang-audit-v1"

// Canonical returns the bytes the entry's hash covers, apart from the
// previous hash: every field, length-prefixed, in a fixed order. Times are
// UTC with microsecond precision, the finest both engines keep.
func (e *Entry) Canonical() []byte {
	var b bytes.Buffer
	put := func(s string) {
		var n [binary.MaxVarintLen64]byte
		b.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		b.WriteString(s)
	}
	put(domain)
	put(e.OrgID.String())
	put(strconv.FormatInt(e.Seq, 10))
	put(e.OccurredAt.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z"))
	put(e.ActorType)
	put(e.ActorID)
	put(e.Action)
	put(e.EntityType)
	put(e.EntityID)
	put(e.OldValues)
	put(e.NewValues)
	return b.Bytes()
}

// ComputeHash returns SHA-256(prev || canonical(e)).
func ComputeHash(prev []byte, e *Entry) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(e.Canonical())
	return h.Sum(nil)
}

// Seal sets e.PrevHash and e.Hash given the previous link's hash.
func (e *Entry) Seal(prev []byte) {
	e.PrevHash = append([]byte{}, prev...)
	e.Hash = ComputeHash(prev, e)
}

// Break describes the first broken link found in a chain.
type Break struct {
	OrgID  uuid.UUID `json:"org_id"`
	Seq    int64     `json:"seq"`
	Reason string    `json:"reason"`
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit chain of organization %s broken at entry %d: %s", b.OrgID, b.Seq, b.Reason)
}

// Verifier checks one organization's chain, entry by entry in sequence order.
type Verifier struct {
	org     uuid.UUID
	next    int64
	prev    []byte
	checked int64
	broken  *Break
}

// NewVerifier starts checking org's chain from its first entry.
func NewVerifier(org uuid.UUID) *Verifier { return &Verifier{org: org, next: 1} }

// Add checks the next entry read in ascending Seq order. After the first
// break it ignores further entries.
func (v *Verifier) Add(e *Entry) {
	if v.broken != nil {
		return
	}
	switch {
	case e.OrgID != v.org:
		v.fail(e.Seq, fmt.Sprintf("entry belongs to organization %s", e.OrgID))
	case e.Seq != v.next:
		v.fail(v.next, fmt.Sprintf("expected entry %d, found %d: entries missing or renumbered", v.next, e.Seq))
	case !bytes.Equal(e.PrevHash, v.prev):
		v.fail(e.Seq, "previous-hash link does not match the entry before it: entries removed or reordered")
	case !bytes.Equal(ComputeHash(e.PrevHash, e), e.Hash):
		v.fail(e.Seq, "hash does not match the entry's contents: entry altered")
	default:
		v.prev = e.Hash
		v.next++
		v.checked++
	}
}

// Finish compares the end of the chain with the head the store recorded
// (sequence and hash of the last entry written) and returns the first
// break, or nil when the chain is whole.
func (v *Verifier) Finish(headSeq int64, headHash []byte) *Break {
	if v.broken != nil {
		return v.broken
	}
	if v.next-1 != headSeq {
		if v.next-1 < headSeq {
			v.fail(v.next, fmt.Sprintf("chain ends at entry %d but %d were written: entries removed from the end", v.next-1, headSeq))
		} else {
			v.fail(headSeq+1, fmt.Sprintf("chain has entries past the recorded head %d", headSeq))
		}
		return v.broken
	}
	if !bytes.Equal(v.prev, headHash) {
		v.fail(headSeq, "last entry's hash differs from the recorded head "+hex.EncodeToString(headHash))
	}
	return v.broken
}

// Checked is the number of entries verified so far.
func (v *Verifier) Checked() int64 { return v.checked }

func (v *Verifier) fail(seq int64, reason string) {
	v.broken = &Break{OrgID: v.org, Seq: seq, Reason: reason}
}
