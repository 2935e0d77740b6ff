package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// The transactional outbox (docs/outbox.md): a store write that emits an
// event inserts it into integration.outbox in its own transaction, so the
// row and its event commit or roll back together; the relay
// (internal/outbox) claims unpublished events in order, publishes them and
// marks them published.

// TopicEmissionsCalculated is the topic of the run summaries that
// SaveCalculationStream emits (stream.TopicEmissionsCalculated; the store
// does not import the stream port).
const TopicEmissionsCalculated = "emissions.calculated"

// Outbox header names the store sets on the events it emits itself. They
// are the stream port's own (stream.HeaderContentType,
// stream.HeaderSchemaVersion); other names starting with "gl-" are refused.
const (
	outboxHeaderContentType   = "gl-content-type"
	outboxHeaderSchemaVersion = "gl-schema-version"
)

// OutboxEvent is one event in the outbox.
type OutboxEvent struct {
	// ID is the event id, the id consumers and engines de-duplicate by. A
	// UUIDv7 is generated when it is nil.
	ID uuid.UUID `json:"id"`
	// Seq orders the outbox: insertion order. Set by the store.
	Seq int64 `json:"seq"`
	// OrgID is the organization whose write emitted the event. Set by the store.
	OrgID uuid.UUID `json:"org_id"`
	// Topic, Key, Headers and Payload are what the relay publishes. Header
	// names must not start with "gl-" except gl-content-type and
	// gl-schema-version (the stream port reserves the prefix).
	Topic   string            `json:"topic"`
	Key     string            `json:"key"`
	Headers map[string]string `json:"headers,omitempty"`
	Payload []byte            `json:"payload"`

	// Set by the store.
	CreatedAt   time.Time  `json:"created_at"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
	Attempts    int64      `json:"attempts"`
	LastError   string     `json:"last_error,omitempty"`
}

const outboxCols = "id, seq, org_id, topic, key, headers, payload, created_at, published_at, attempts, last_error"

func (e *OutboxEvent) dest(headers *string) []any {
	return []any{&e.ID, &e.Seq, &e.OrgID, &e.Topic, &e.Key, headers, &e.Payload, &e.CreatedAt, &e.PublishedAt, &e.Attempts, &e.LastError}
}

func scanOutbox(rows driver.Rows) ([]OutboxEvent, error) {
	defer rows.Close()
	var out []OutboxEvent
	for rows.Next() {
		var e OutboxEvent
		var h string
		if err := rows.Scan(e.dest(&h)...); err != nil {
			return nil, fmt.Errorf("scanning an outbox event: %w", err)
		}
		if h != "" && h != "{}" {
			if err := json.Unmarshal([]byte(h), &e.Headers); err != nil {
				return nil, fmt.Errorf("outbox event %s: headers: %w", e.ID, err)
			}
		}
		if e.Payload == nil {
			e.Payload = []byte{}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

func validateOutboxEvent(op string, i int, e *OutboxEvent) error {
	if strings.TrimSpace(e.Topic) == "" {
		return errorf(CodeInvalidArgument, op, "event %d: topic is required", i)
	}
	for k := range e.Headers {
		if k == "" {
			return errorf(CodeInvalidArgument, op, "event %d: a header name is empty", i)
		}
		if strings.HasPrefix(k, "gl-") && k != outboxHeaderContentType && k != outboxHeaderSchemaVersion {
			return errorf(CodeInvalidArgument, op, "event %d: header %q: the gl- prefix is reserved for the stream port", i, k)
		}
	}
	return nil
}

// appendOutbox inserts events into org's outbox inside the caller's
// transaction, filling in ID, OrgID and CreatedAt.
func (s *Store) appendOutbox(ctx context.Context, q driver.Querier, org uuid.UUID, events []OutboxEvent) error {
	const op = "store: appending to the outbox"
	now := s.nowUTC()
	for i := range events {
		e := &events[i]
		if err := validateOutboxEvent(op, i, e); err != nil {
			return err
		}
		if e.ID == uuid.Nil {
			e.ID = newID()
		}
		e.OrgID, e.CreatedAt, e.PublishedAt, e.Attempts, e.LastError = org, now, nil, 0, ""
		h := "{}"
		if len(e.Headers) > 0 {
			b, err := json.Marshal(e.Headers)
			if err != nil {
				return &Error{Code: CodeInvalidArgument, Op: op, Err: err}
			}
			h = string(b)
		}
		payload := e.Payload
		if payload == nil {
			payload = []byte{}
		}
		if err := q.QueryRow(ctx, `INSERT INTO integration.outbox (id, org_id, topic, key, headers, payload, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`, e.ID, org, e.Topic, e.Key, h, payload, now).Scan(&e.Seq); err != nil {
			return fmt.Errorf("appending outbox event %d: %w", i, err)
		}
	}
	return nil
}

// OutboxAppend writes events to org's outbox in a transaction of its own
// and returns them as stored (ids, sequence numbers, times). Writes that
// change records and emit events should carry the events in their own
// transaction instead (CalculationStream.Events), so that both commit or
// neither does.
func (s *Store) OutboxAppend(ctx context.Context, org uuid.UUID, events ...OutboxEvent) ([]OutboxEvent, error) {
	const op = "store: appending to the outbox"
	out := append([]OutboxEvent(nil), events...)
	for i := range out {
		if err := validateOutboxEvent(op, i, &out[i]); err != nil {
			return nil, err
		}
	}
	ids := make([]uuid.UUID, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		for i := range out {
			out[i].ID = ids[i] // a retried transaction keeps the caller's ids, or generates new ones
		}
		return s.appendOutbox(ctx, q, org, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OutboxEvents reads a page of org's outbox in order, after seq: published
// and unpublished events still retained.
func (s *Store) OutboxEvents(ctx context.Context, org uuid.UUID, afterSeq int64, limit int) ([]OutboxEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []OutboxEvent
	err := s.tenantTx(ctx, "store: reading the outbox", org, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, "SELECT "+outboxCols+" FROM integration.outbox WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", org, afterSeq, limit)
		if err != nil {
			return err
		}
		out, err = scanOutbox(rows)
		return err
	})
	return out, err
}

// outboxViaFunctions reports whether the relay side goes through the
// engine's SECURITY DEFINER functions (an engine with row security, where
// the application role may neither see other tenants' rows nor update
// any) rather than plain statements (SQLite, which has neither roles nor
// row security).
func (s *Store) outboxViaFunctions() bool {
	_, ok := s.d.(driver.RowSecurity)
	return ok
}

// OutboxClaim leases up to limit of the oldest unpublished events of every
// organization to relay claimer for lease, and returns them in order. While
// another relay holds a live lease on an unpublished event it returns none:
// one relay publishes at a time, so order holds with several relays
// running; a relay that dies loses its lease when it expires. A relay may
// claim again what it already holds (after a failed publish).
func (s *Store) OutboxClaim(ctx context.Context, claimer uuid.UUID, limit int, lease time.Duration) ([]OutboxEvent, error) {
	const op = "store: claiming outbox events"
	if claimer == uuid.Nil {
		return nil, errorf(CodeInvalidArgument, op, "a claimer id is required")
	}
	if limit <= 0 || limit > 10000 {
		return nil, errorf(CodeInvalidArgument, op, "limit %d is outside 1..10000", limit)
	}
	if lease <= 0 {
		return nil, errorf(CodeInvalidArgument, op, "lease must be positive")
	}
	var out []OutboxEvent
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		now := s.nowUTC()
		until := now.Add(lease)
		if s.outboxViaFunctions() {
			rows, err := q.Query(ctx, "SELECT "+outboxCols+" FROM integration.outbox_claim($1, $2, $3, $4)", limit, claimer, now, until)
			if err != nil {
				return err
			}
			out, err = scanOutbox(rows)
			return err
		}
		var held int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM integration.outbox
			WHERE published_at IS NULL AND claimed_until > $1 AND claimed_by <> $2`, now, claimer).Scan(&held); err != nil {
			return err
		}
		if held > 0 {
			out = nil
			return nil
		}
		rows, err := q.Query(ctx, `UPDATE integration.outbox SET claimed_by = $1, claimed_until = $2
			WHERE id IN (SELECT id FROM integration.outbox WHERE published_at IS NULL ORDER BY seq LIMIT $3)
			RETURNING `+outboxCols, claimer, until, limit)
		if err != nil {
			return err
		}
		out, err = scanOutbox(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func idStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// outboxUpdate runs the relay-side update fn (PostgreSQL function name and
// SQLite statement with the id list appended) over ids in chunks.
func (s *Store) outboxUpdate(ctx context.Context, op, pgFunc, sqliteSQL string, ids []uuid.UUID, arg any) (int64, error) {
	const chunk = 500
	var total int64
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		total = 0
		for start := 0; start < len(ids); start += chunk {
			part := ids[start:min(start+chunk, len(ids))]
			var n int64
			if s.outboxViaFunctions() {
				if err := q.QueryRow(ctx, "SELECT integration."+pgFunc+"($1, $2)", idStrings(part), arg).Scan(&n); err != nil {
					return err
				}
			} else {
				args := []any{arg}
				for _, id := range part {
					args = append(args, id)
				}
				var err error
				if n, err = q.Exec(ctx, fmt.Sprintf(sqliteSQL, placeholders(2, len(part))), args...); err != nil {
					return err
				}
			}
			total += n
		}
		return nil
	})
	return total, err
}

// OutboxMarkPublished marks events published and releases their claim. It
// returns how many it marked; events already published are left as they
// are (a second relay's mark after a lease expired is harmless).
func (s *Store) OutboxMarkPublished(ctx context.Context, ids []uuid.UUID) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	return s.outboxUpdate(ctx, "store: marking outbox events published", "outbox_mark",
		`UPDATE integration.outbox SET published_at = $1, claimed_by = NULL, claimed_until = NULL
			WHERE published_at IS NULL AND id IN (%s)`, ids, s.nowUTC())
}

// OutboxRecordFailure counts a failed publish attempt of unpublished events
// and keeps cause as their last error. Their claim stays until it expires.
func (s *Store) OutboxRecordFailure(ctx context.Context, ids []uuid.UUID, cause error) error {
	if len(ids) == 0 {
		return nil
	}
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	_, err := s.outboxUpdate(ctx, "store: recording an outbox failure", "outbox_fail",
		`UPDATE integration.outbox SET attempts = attempts + 1, last_error = $1
			WHERE published_at IS NULL AND id IN (%s)`, ids, msg)
	return err
}

// OutboxPrune deletes events published before publishedBefore and returns
// how many. Unpublished events are never deleted. Published events are kept
// until then so that an operator can trace what was sent (docs/outbox.md).
func (s *Store) OutboxPrune(ctx context.Context, publishedBefore time.Time) (int64, error) {
	const op = "store: pruning the outbox"
	var n int64
	err := s.systemTx(ctx, op, false, func(q driver.Querier) error {
		before := publishedBefore.UTC()
		if s.outboxViaFunctions() {
			return q.QueryRow(ctx, "SELECT integration.outbox_prune($1)", before).Scan(&n)
		}
		var err error
		n, err = q.Exec(ctx, "DELETE FROM integration.outbox WHERE published_at IS NOT NULL AND published_at < $1", before)
		return err
	})
	return n, err
}

// CalculatedEvent is the payload of the emissions.calculated event that
// SaveCalculationStream writes to the outbox for each stored run: a
// summary, not the results (consumers read those from the store by run id).
type CalculatedEvent struct {
	RunID         uuid.UUID `json:"run_id"`
	OrgID         uuid.UUID `json:"org_id"`
	Status        string    `json:"status"`
	InputHash     string    `json:"input_hash,omitempty"`
	GWPSet        string    `json:"gwp_set"`
	EngineVersion string    `json:"engine_version"`
	Sources       int       `json:"sources_created"`
	Activities    int64     `json:"activity_records"`
	Emissions     int64     `json:"calculated_emissions"`
	Superseded    int64     `json:"superseded"`
	// TotalsCO2eKg sums the run's new results by scope: "1", "3", and for
	// scope 2 "2/location" and "2/market" (never summed together).
	TotalsCO2eKg map[string]decimal.Decimal `json:"totals_co2e_kg"`
	StoredAt     time.Time                  `json:"stored_at"`
}

// scopeKey is the CalculatedEvent.TotalsCO2eKg key of a result.
func scopeKey(e *CalculatedEmission) string {
	if e.Scope == 2 && e.Scope2Basis != "" {
		return "2/" + e.Scope2Basis
	}
	return fmt.Sprint(e.Scope)
}

// calculatedEvent builds the run's summary event.
func (s *Store) calculatedEvent(org uuid.UUID, run *CalculationRun, out SavedCalculation, totals map[string]decimal.Decimal) (OutboxEvent, error) {
	ev := CalculatedEvent{RunID: run.ID, OrgID: org, Status: run.Status, GWPSet: run.GWPSet, EngineVersion: run.EngineVersion,
		Sources: out.Sources, Activities: out.Activities.Inserted, Emissions: out.Emissions.Inserted, Superseded: out.Superseded,
		TotalsCO2eKg: totals, StoredAt: s.nowUTC()}
	if len(run.Parameters) > 0 {
		var p struct {
			InputHash string `json:"input_hash"`
		}
		if json.Unmarshal(run.Parameters, &p) == nil {
			ev.InputHash = p.InputHash
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return OutboxEvent{}, err
	}
	return OutboxEvent{Topic: TopicEmissionsCalculated, Key: org.String(), Payload: b,
		Headers: map[string]string{outboxHeaderContentType: "application/json", outboxHeaderSchemaVersion: "1"}}, nil
}
