package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// Idempotency keys of the HTTP API (docs/api.md, "Idempotency keys";
// table core.idempotency_keys): a creating request sent with a key is
// claimed before it is served and completed with its answer after, so a
// retry replays the answer, in any process sharing the store.

// IdempotencyTTL is how long a key's answer is kept.
const IdempotencyTTL = 24 * time.Hour

// IdempotentAnswer is a completed request's answer, replayed for a retry.
type IdempotentAnswer struct {
	Status      int
	ContentType string
	Body        []byte
}

// IdempotencyClaim claims key for a request of token whose method, path
// and body hash to requestHash. It returns nil when the request is new
// (serve it, then IdempotencyComplete or IdempotencyRelease); the stored
// answer when the same request was completed; CodeFailedPrecondition when
// the same request is being served right now; CodeInvalidArgument when the
// key was used for another request. Keys older than IdempotencyTTL are
// forgotten.
func (s *Store) IdempotencyClaim(ctx context.Context, org, token uuid.UUID, key, requestHash string) (*IdempotentAnswer, error) {
	const op = "store: claiming an idempotency key"
	now := s.nowUTC()
	var (
		answer   *IdempotentAnswer
		conflict error
	)
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		answer, conflict = nil, nil
		if _, err := q.Exec(ctx, `DELETE FROM core.idempotency_keys WHERE org_id = $1 AND token_id = $2 AND created_at < $3`,
			org, token, now.Add(-IdempotencyTTL)); err != nil {
			return err
		}
		n, err := q.Exec(ctx, `INSERT INTO core.idempotency_keys (org_id, token_id, key, request_hash, status, created_at)
			VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (org_id, token_id, key) DO NOTHING`, org, token, key, requestHash, now)
		if err != nil || n == 1 {
			return err
		}
		var (
			hash, ct string
			status   int
			body     []byte
		)
		if err := q.QueryRow(ctx, `SELECT request_hash, status, content_type, body FROM core.idempotency_keys
			WHERE org_id = $1 AND token_id = $2 AND key = $3`, org, token, key).Scan(&hash, &status, &ct, &body); err != nil {
			return err
		}
		switch {
		case hash != requestHash:
			conflict = errorf(CodeInvalidArgument, op, "Idempotency-Key %q was used for another request (method, path or body differ)", key)
		case status == 0:
			conflict = errorf(CodeFailedPrecondition, op, "the request with Idempotency-Key %q is being served; retry when it is done", key)
		default:
			answer = &IdempotentAnswer{Status: status, ContentType: ct, Body: body}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return answer, conflict
}

// IdempotencyComplete stores the answer of a claimed request.
func (s *Store) IdempotencyComplete(ctx context.Context, org, token uuid.UUID, key string, a IdempotentAnswer) error {
	return s.tenantTx(ctx, "store: completing an idempotency key", org, false, func(q driver.Querier) error {
		_, err := q.Exec(ctx, `UPDATE core.idempotency_keys SET status = $4, content_type = $5, body = $6
			WHERE org_id = $1 AND token_id = $2 AND key = $3`, org, token, key, a.Status, a.ContentType, a.Body)
		return err
	})
}

// IdempotencyRelease forgets a claimed request that failed in a way a
// retry may fix (the store was down), so the retry is served afresh.
func (s *Store) IdempotencyRelease(ctx context.Context, org, token uuid.UUID, key string) error {
	return s.tenantTx(ctx, "store: releasing an idempotency key", org, false, func(q driver.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM core.idempotency_keys WHERE org_id = $1 AND token_id = $2 AND key = $3 AND status = 0`, org, token, key)
		return err
	})
}
