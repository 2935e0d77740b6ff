package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

const auditInsertSQL = `INSERT INTO audit.log (org_id, seq, occurred_at, actor_type, actor_id, action,
	entity_type, entity_id, old_values, new_values, prev_hash, hash)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// appendAudit adds one entry to org's chain inside the caller's transaction.
// Locking the organization's row serializes appends per organization (NO KEY
// UPDATE, so it does not conflict with the KEY SHARE locks that foreign-key
// checks take on the same row); the row also keeps the chain head so removing
// entries from the end is detected.
func (s *Store) appendAudit(ctx context.Context, q driver.Querier, org uuid.UUID, action, kind, id string, oldV, newV any) error {
	var (
		seq  int64
		head []byte
	)
	if err := q.QueryRow(ctx, "SELECT audit_seq, audit_head FROM core.organizations WHERE id = $1 FOR NO KEY UPDATE", org).Scan(&seq, &head); err != nil {
		return fmt.Errorf("reading audit head: %w", err)
	}
	actor := actorFrom(ctx)
	e := audit.Entry{OrgID: org, Seq: seq + 1, OccurredAt: s.nowUTC(), ActorType: actor.Type, ActorID: actor.ID,
		Action: action, EntityType: kind, EntityID: id}
	var err error
	if e.OldValues, err = canonicalJSON(oldV); err != nil {
		return err
	}
	if e.NewValues, err = canonicalJSON(newV); err != nil {
		return err
	}
	e.Seal(head)
	if _, err := q.Exec(ctx, auditInsertSQL, e.OrgID, e.Seq, e.OccurredAt, e.ActorType, e.ActorID, e.Action,
		e.EntityType, e.EntityID, e.OldValues, e.NewValues, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("appending audit entry: %w", err)
	}
	if _, err := q.Exec(ctx, "UPDATE core.organizations SET audit_seq = $2, audit_head = $3 WHERE id = $1", org, e.Seq, e.Hash); err != nil {
		return fmt.Errorf("moving audit head: %w", err)
	}
	return nil
}

// canonicalJSON encodes a record for the trail. Struct fields encode in
// declaration order and map keys sorted, so the same record always gives the
// same bytes; the trail keeps these bytes as text, unchanged.
func canonicalJSON(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encoding audit values: %w", err)
	}
	return string(b), nil
}

// AuditEntries reads a page of org's trail in sequence order, after seq.
func (s *Store) AuditEntries(ctx context.Context, org uuid.UUID, afterSeq int64, limit int) ([]audit.Entry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []audit.Entry
	err := s.tenantTx(ctx, "store: reading audit trail", org, true, func(q driver.Querier) error {
		out = out[:0]
		return s.scanAudit(ctx, q, org, afterSeq, limit, func(e *audit.Entry) { out = append(out, *e) })
	})
	return out, err
}

func (s *Store) scanAudit(ctx context.Context, q driver.Querier, org uuid.UUID, afterSeq int64, limit int, fn func(*audit.Entry)) error {
	sql := `SELECT org_id, seq, occurred_at, actor_type, actor_id, action, entity_type, entity_id,
		old_values, new_values, prev_hash, hash FROM audit.log WHERE org_id = $1 AND seq > $2 ORDER BY seq`
	args := []any{org, afterSeq}
	if limit > 0 {
		sql += " LIMIT $3"
		args = append(args, limit)
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Entry
		if err := rows.Scan(&e.OrgID, &e.Seq, &e.OccurredAt, &e.ActorType, &e.ActorID, &e.Action, &e.EntityType,
			&e.EntityID, &e.OldValues, &e.NewValues, &e.PrevHash, &e.Hash); err != nil {
			return err
		}
		if e.PrevHash == nil {
			e.PrevHash = []byte{}
		}
		fn(&e)
	}
	return rows.Err()
}

// AuditReport is the outcome of verifying one organization's trail.
type AuditReport struct {
	OrgID    uuid.UUID    `json:"org_id"`
	Entries  int64        `json:"entries"`
	HeadSeq  int64        `json:"head_seq"`
	Broken   *audit.Break `json:"broken,omitempty"`
	Duration string       `json:"duration"`
}

// OK reports whether the chain is whole.
func (r AuditReport) OK() bool { return r.Broken == nil }

// VerifyAudit re-reads org's whole trail and recomputes every link. The
// report names the first broken link, if any.
func (s *Store) VerifyAudit(ctx context.Context, org uuid.UUID) (AuditReport, error) {
	start := time.Now()
	rep := AuditReport{OrgID: org}
	err := s.tenantTx(ctx, "store: verifying audit trail", org, true, func(q driver.Querier) error {
		var head []byte
		if err := q.QueryRow(ctx, "SELECT audit_seq, audit_head FROM core.organizations WHERE id = $1", org).Scan(&rep.HeadSeq, &head); err != nil {
			return err
		}
		v := audit.NewVerifier(org)
		if err := s.scanAudit(ctx, q, org, 0, 0, v.Add); err != nil {
			return err
		}
		rep.Broken = v.Finish(rep.HeadSeq, head)
		rep.Entries = v.Checked()
		return nil
	})
	rep.Duration = time.Since(start).Round(time.Millisecond).String()
	return rep, err
}

// AuditHead returns the sequence number of org's latest audit entry. Every
// change to the organization's records appends an entry in the same
// transaction, so a cache of something computed from them is current
// while the head has not moved (calculation.TotalsCache).
func (s *Store) AuditHead(ctx context.Context, org uuid.UUID) (int64, error) {
	var seq int64
	err := s.tenantTx(ctx, "store: reading the audit head", org, true, func(q driver.Querier) error {
		return q.QueryRow(ctx, "SELECT audit_seq FROM core.organizations WHERE id = $1", org).Scan(&seq)
	})
	return seq, err
}
