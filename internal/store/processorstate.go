package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// Stream-processor checkpoints (docs/processors.md): a processor
// (internal/processor) keeps, per input partition, its state and the offset
// of the last input message whose effect is committed, in
// integration.processor_state. ProcessorCommit writes new states, offsets
// and the processor's output events (into the transactional outbox) in one
// transaction, so a crash never leaves outputs without the state that
// produced them or the reverse.

// ProcessorCheckpoint is one processor's committed position and state on
// one input partition.
type ProcessorCheckpoint struct {
	Processor string
	Partition int32
	// Offset is the offset of the last input message whose effect is in
	// State (and whose outputs are in the outbox).
	Offset int64
	// Version counts commits of this row, from 1. A commit names the
	// version it started from, so two instances that both believe they own
	// a partition cannot both commit (see ProcessorCommit).
	Version int64
	// State is the processor's own encoding of its partition state.
	State     []byte
	UpdatedAt time.Time
	// Entries are the partition's keyed state entries, by key (read by
	// ProcessorCheckpoint only; ProcessorCheckpoints leaves them out).
	Entries []ProcessorStateEntry
}

// ProcessorStateEntry is one entry of a partition's keyed state
// (integration.processor_state_entries): a processor whose state is a map
// checkpoints each entry on its own, so a commit writes only the entries
// its batch changed.
type ProcessorStateEntry struct {
	Key string
	// Value is the processor's encoding of the entry; in an update, nil
	// deletes the entry.
	Value []byte
}

// ProcessorPartitionUpdate is the new checkpoint of one partition in a
// ProcessorCommit.
type ProcessorPartitionUpdate struct {
	Partition int32
	// PrevVersion is the Version of the checkpoint the processor started
	// from: 0 when it had none.
	PrevVersion int64
	Offset      int64
	State       []byte
	// Entries are the keyed state entries the batch changed (a nil Value
	// deletes one), written with the checkpoint; entries not named are
	// kept as they are.
	Entries []ProcessorStateEntry
}

// ProcessorEvent is an output event of a processor: an outbox event of
// the organization the event is about.
type ProcessorEvent struct {
	OrgID uuid.UUID
	// Event is what the relay publishes. Its ID must be set and
	// deterministic (derived from the processor, the input event or
	// window), so that a replay produces the same id.
	Event OutboxEvent
}

// ProcessorCommit is one processed batch.
type ProcessorCommit struct {
	Processor  string
	Partitions []ProcessorPartitionUpdate
	Events     []ProcessorEvent
	// Alerts are alert writes applied in the same transaction, in order,
	// each under its organization: the alert sink's outputs
	// (internal/processor/alertsink), so an input's alert writes happen
	// exactly once.
	Alerts []AlertOp
}

var processorNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

const processorCols = "processor, partition_n, input_offset, version, state, updated_at"

// ProcessorCheckpoint returns processor's checkpoint on partition, or
// (nil, nil) when it has committed nothing there yet.
func (s *Store) ProcessorCheckpoint(ctx context.Context, processor string, partition int32) (*ProcessorCheckpoint, error) {
	const op = "store: reading a processor checkpoint"
	if !processorNameRE.MatchString(processor) || partition < 0 {
		return nil, errorf(CodeInvalidArgument, op, "processor %q partition %d: want a lowercase name and a partition >= 0", processor, partition)
	}
	var out *ProcessorCheckpoint
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, "SELECT "+processorCols+" FROM integration.processor_state WHERE processor = $1 AND partition_n = $2",
			processor, int64(partition))
		if err != nil {
			return err
		}
		cps, err := scanProcessorState(rows)
		if err != nil {
			return err
		}
		out = nil
		if len(cps) != 1 {
			return nil
		}
		out = &cps[0]
		rows, err = q.Query(ctx, "SELECT entry_key, value FROM integration.processor_state_entries WHERE processor = $1 AND partition_n = $2 ORDER BY entry_key",
			processor, int64(partition))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e ProcessorStateEntry
			if err := rows.Scan(&e.Key, &e.Value); err != nil {
				return fmt.Errorf("scanning a processor state entry: %w", err)
			}
			out.Entries = append(out.Entries, e)
		}
		return rows.Err()
	})
	return out, err
}

// ProcessorCheckpoints returns every checkpoint of processor, by partition.
func (s *Store) ProcessorCheckpoints(ctx context.Context, processor string) ([]ProcessorCheckpoint, error) {
	const op = "store: reading processor checkpoints"
	if !processorNameRE.MatchString(processor) {
		return nil, errorf(CodeInvalidArgument, op, "processor %q: want a lowercase name", processor)
	}
	var out []ProcessorCheckpoint
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, "SELECT "+processorCols+" FROM integration.processor_state WHERE processor = $1 ORDER BY partition_n", processor)
		if err != nil {
			return err
		}
		out, err = scanProcessorState(rows)
		return err
	})
	return out, err
}

func scanProcessorState(rows driver.Rows) ([]ProcessorCheckpoint, error) {
	defer rows.Close()
	var out []ProcessorCheckpoint
	for rows.Next() {
		var c ProcessorCheckpoint
		var p int64
		if err := rows.Scan(&c.Processor, &p, &c.Offset, &c.Version, &c.State, &c.UpdatedAt); err != nil {
			return nil, fmt.Errorf("scanning a processor checkpoint: %w", err)
		}
		c.Partition = int32(p)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out, nil
}

// ProcessorCommit writes, in one transaction, the new checkpoint of every
// partition in c and c's output events into the outbox (each under its own
// organization, as the outbox's tenancy requires). Every update names the
// version it started from; when a partition's stored version differs
// (another instance committed since, or the row appeared), nothing is
// written and the error is CodeFailedPrecondition: the caller reloads its
// checkpoint and processes the batch again. An event whose id is already
// in the outbox is skipped (a replayed output), not an error.
func (s *Store) ProcessorCommit(ctx context.Context, c ProcessorCommit) error {
	const op = "store: committing processor state"
	ops := c.Alerts
	for i := range ops {
		o := &ops[i]
		var err error
		switch {
		case (o.Raise == nil) == (o.Observe == nil):
			err = errorf(CodeInvalidArgument, op, "alert write %d: want exactly one of raise and observe", i)
		case o.Raise != nil:
			err = validateAlertRaise(op, o.Raise)
		default:
			err = validateAlertObserve(op, o.Observe)
		}
		if err != nil {
			return err
		}
	}
	if !processorNameRE.MatchString(c.Processor) {
		return errorf(CodeInvalidArgument, op, "processor %q: want a lowercase name", c.Processor)
	}
	seen := map[int32]bool{}
	for _, p := range c.Partitions {
		if p.Partition < 0 || p.Offset < 0 || p.PrevVersion < 0 {
			return errorf(CodeInvalidArgument, op, "partition %d offset %d version %d: negative", p.Partition, p.Offset, p.PrevVersion)
		}
		if seen[p.Partition] {
			return errorf(CodeInvalidArgument, op, "partition %d given twice", p.Partition)
		}
		seen[p.Partition] = true
		keys := make(map[string]bool, len(p.Entries))
		for _, e := range p.Entries {
			if e.Key == "" || keys[e.Key] {
				return errorf(CodeInvalidArgument, op, "partition %d: state entry key %q is empty or given twice", p.Partition, e.Key)
			}
			keys[e.Key] = true
		}
	}
	for i, e := range c.Events {
		if e.OrgID == uuid.Nil {
			return errorf(CodeInvalidArgument, op, "event %d: an organization is required", i)
		}
		if e.Event.ID == uuid.Nil {
			return errorf(CodeInvalidArgument, op, "event %d: a (deterministic) event id is required", i)
		}
		if err := validateOutboxEvent(op, i, &c.Events[i].Event); err != nil {
			return err
		}
	}
	rs, _ := s.d.(driver.RowSecurity)
	return s.systemTx(ctx, op, false, func(q driver.Querier) error {
		now := s.nowUTC()
		// Checkpoints first, while no organization is set (the table's
		// policy admits platform transactions only).
		for _, p := range c.Partitions {
			st := p.State
			if st == nil {
				st = []byte{}
			}
			var n int64
			var err error
			if p.PrevVersion == 0 {
				n, err = q.Exec(ctx, `INSERT INTO integration.processor_state (processor, partition_n, input_offset, version, state, updated_at)
					VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (processor, partition_n) DO NOTHING`,
					c.Processor, int64(p.Partition), p.Offset, st, now)
			} else {
				n, err = q.Exec(ctx, `UPDATE integration.processor_state SET input_offset = $1, version = version + 1, state = $2, updated_at = $3
					WHERE processor = $4 AND partition_n = $5 AND version = $6`,
					p.Offset, st, now, c.Processor, int64(p.Partition), p.PrevVersion)
			}
			if err != nil {
				return err
			}
			if n != 1 {
				return errorf(CodeFailedPrecondition, op, "processor %s partition %d: the checkpoint moved since version %d (another instance committed); reload it",
					c.Processor, p.Partition, p.PrevVersion)
			}
			if err := writeStateEntries(ctx, q, c.Processor, p.Partition, p.Entries); err != nil {
				return err
			}
		}
		// The outbox's and the alerts' tenant policies check every row
		// against the transaction's organization: each organization's
		// events and alert writes go together, in their order, under one
		// SetTenant.
		var orgs []uuid.UUID
		events := map[uuid.UUID][]*OutboxEvent{}
		alertOps := map[uuid.UUID][]*AlertOp{}
		add := func(org uuid.UUID) {
			if _, ok := events[org]; !ok {
				if _, ok := alertOps[org]; !ok {
					orgs = append(orgs, org)
				}
			}
		}
		for i := range c.Events {
			org := c.Events[i].OrgID
			add(org)
			events[org] = append(events[org], &c.Events[i].Event)
		}
		for i := range ops {
			org := ops[i].org()
			add(org)
			alertOps[org] = append(alertOps[org], &ops[i])
		}
		for _, org := range orgs {
			if rs != nil {
				if err := rs.SetTenant(ctx, q, org); err != nil {
					return err
				}
			}
			for _, e := range events[org] {
				if err := s.insertProcessorEvent(ctx, q, org, e, now); err != nil {
					return err
				}
			}
			if err := s.applyAlertOps(ctx, q, org, alertOps[org]); err != nil {
				return err
			}
		}
		if rs != nil && len(orgs) > 0 {
			return rs.SetTenant(ctx, q, uuid.Nil)
		}
		return nil
	})
}

// stateEntryChunk is how many state entries one statement writes or
// deletes (4 parameters each, well under SQLite's 32,766).
const stateEntryChunk = 250

// writeStateEntries upserts and deletes a partition's changed state
// entries, a chunk of rows per statement: a batch of readings touches
// hundreds of devices, and a statement per entry would cost a round trip
// each on PostgreSQL.
func writeStateEntries(ctx context.Context, q driver.Querier, processor string, partition int32, entries []ProcessorStateEntry) error {
	var upserts []ProcessorStateEntry
	var deletes []string
	for _, e := range entries {
		if e.Value == nil {
			deletes = append(deletes, e.Key)
		} else {
			upserts = append(upserts, e)
		}
	}
	for chunk := range slices.Chunk(upserts, stateEntryChunk) {
		var b strings.Builder
		b.WriteString("INSERT INTO integration.processor_state_entries (processor, partition_n, entry_key, value) VALUES ")
		args := make([]any, 0, 4*len(chunk))
		for i, e := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + placeholders(4*i+1, 4) + ")")
			args = append(args, processor, int64(partition), e.Key, e.Value)
		}
		b.WriteString(" ON CONFLICT (processor, partition_n, entry_key) DO UPDATE SET value = excluded.value")
		if _, err := q.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("writing processor %s partition %d state entries: %w", processor, partition, err)
		}
	}
	for chunk := range slices.Chunk(deletes, stateEntryChunk) {
		args := make([]any, 0, 2+len(chunk))
		args = append(args, processor, int64(partition))
		for _, k := range chunk {
			args = append(args, k)
		}
		if _, err := q.Exec(ctx, "DELETE FROM integration.processor_state_entries WHERE processor = $1 AND partition_n = $2 AND entry_key IN ("+
			placeholders(3, len(chunk))+")", args...); err != nil {
			return fmt.Errorf("deleting processor %s partition %d state entries: %w", processor, partition, err)
		}
	}
	return nil
}

// applyAlertOps applies one organization's alert writes in order. Most
// readings observed concern no open alert: the organization's open
// (device, metric) pairs are read once, and only observations of those go
// to the alerts.
func (s *Store) applyAlertOps(ctx context.Context, q driver.Querier, org uuid.UUID, ops []*AlertOp) error {
	var open map[[2]string]bool
	for i, o := range ops {
		var err error
		if o.Raise != nil {
			_, err = s.alertRaiseIn(ctx, q, o.Raise)
			if open != nil {
				open[[2]string{o.Raise.DeviceRef, o.Raise.Metric}] = true
			}
		} else {
			if open == nil {
				if open, err = openAlertKeys(ctx, q, org); err != nil {
					return err
				}
			}
			if !open[[2]string{o.Observe.DeviceRef, o.Observe.Metric}] {
				continue
			}
			_, err = s.alertObserveIn(ctx, q, o.Observe)
		}
		if err != nil {
			return fmt.Errorf("alert write %d of organization %s: %w", i, org, err)
		}
	}
	return nil
}

// insertProcessorEvent inserts one output event unless its id is already
// in the outbox (a replayed output with its deterministic id).
func (s *Store) insertProcessorEvent(ctx context.Context, q driver.Querier, org uuid.UUID, e *OutboxEvent, now time.Time) error {
	h := "{}"
	if len(e.Headers) > 0 {
		b, err := json.Marshal(e.Headers)
		if err != nil {
			return &Error{Code: CodeInvalidArgument, Op: "store: committing processor state", Err: err}
		}
		h = string(b)
	}
	payload := e.Payload
	if payload == nil {
		payload = []byte{}
	}
	_, err := q.Exec(ctx, `INSERT INTO integration.outbox (id, org_id, topic, key, headers, payload, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`, e.ID, org, e.Topic, e.Key, h, payload, now)
	if err != nil {
		return fmt.Errorf("appending processor output %s: %w", e.ID, err)
	}
	return nil
}
