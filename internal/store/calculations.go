package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// ActionSupersede is the audit action of a recalculation marking earlier
// results as replaced.
const ActionSupersede = "supersede"

// CalculationBatch is everything one calculation run writes. SaveCalculation
// stores it in one transaction: all of it, or nothing.
type CalculationBatch struct {
	Run *CalculationRun
	// Sources are new emission sources the activities refer to.
	Sources []*EmissionSource
	// Activities are new activity records; a recalculation has none (it
	// recalculates records already stored).
	Activities []ActivityRecord
	Emissions  []CalculatedEmission
	// Supersede are current results this run replaces. They are marked with
	// the run's id, never deleted; each must exist in the organization and
	// still be current, or nothing is saved.
	Supersede []uuid.UUID
	// Events are written to the outbox in the same transaction, beside the
	// run's own emissions.calculated summary (see CalculationStream.Events).
	Events []OutboxEvent
}

// SavedCalculation says what SaveCalculation wrote.
type SavedCalculation struct {
	RunID      uuid.UUID  `json:"run_id"`
	Sources    int        `json:"sources_created"`
	Activities BulkResult `json:"activity_records"`
	Emissions  BulkResult `json:"calculated_emissions"`
	Superseded int64      `json:"superseded"`
}

// SaveCalculation stores a calculation run with its new sources, activity
// records and results, and marks the results it supersedes, in one
// transaction with one audit entry per part.
func (s *Store) SaveCalculation(ctx context.Context, org uuid.UUID, b CalculationBatch) (SavedCalculation, error) {
	sent := false
	return s.SaveCalculationStream(ctx, org, CalculationStream{Run: b.Run, Supersede: b.Supersede, Events: b.Events,
		Next: func() (CalculationChunk, bool, error) {
			if sent {
				return CalculationChunk{}, false, nil
			}
			sent = true
			return CalculationChunk{Sources: b.Sources, Activities: b.Activities, Emissions: b.Emissions}, true, nil
		}})
}

// CalculationChunk is part of a run's records.
type CalculationChunk struct {
	// Sources are new emission sources this chunk's activities refer to.
	Sources    []*EmissionSource
	Activities []ActivityRecord
	// Emissions may refer to activities of this chunk or an earlier one.
	Emissions []CalculatedEmission
}

// CalculationStream is a run whose records come in chunks, so that the
// caller calculates the next chunk while the store writes the last one.
type CalculationStream struct {
	// Run is written first, as it is when the stream starts.
	Run *CalculationRun
	// Supersede are current results this run replaces. They are marked with
	// the run's id, never deleted; each must exist in the organization and
	// still be current, or nothing is saved.
	Supersede []uuid.UUID
	// Next returns the next chunk, or false when there are no more; an
	// error abandons the run. It must not use the store. The store asks
	// for the first chunk before it takes the transaction and for the
	// others on a goroutine of its own, one call at a time, reading ahead
	// of the writes (the chunk after next is asked for while one is
	// written), never after SaveCalculationStream has returned.
	Next func() (CalculationChunk, bool, error)
	// Complete, when set, is called after the last chunk: the run as it
	// leaves it (status, parameters, counts) replaces the one written first,
	// with an audit entry of the change.
	Complete func(*CalculationRun)
	// Events are written to the transactional outbox in the same
	// transaction, after the store's own emissions.calculated summary of
	// the run (run id, input hash, counts, GWP set, totals by scope): the
	// caller adds events that need data only it has. Their ids are filled
	// in when nil.
	Events []OutboxEvent
}

// SaveCalculationStream stores a run and its records chunk by chunk in one
// transaction: all of it, or nothing. Each kind of record is one batch (one
// batch id, one audit entry with the digest of all its rows) however many
// chunks carry it. The transaction cannot be retried (its chunks are gone):
// on SQLite, a database locked by another process fails the save with
// CodeUnavailable, and nothing is stored. Concurrent saves of org share a
// transaction (group commit, each in its savepoint); once a save has
// started, cancelling ctx does not stop it: Next must report an error to
// abandon it (nothing of it is then stored).
func (s *Store) SaveCalculationStream(ctx context.Context, org uuid.UUID, cs CalculationStream) (SavedCalculation, error) {
	const op = "store: saving a calculation"
	var out SavedCalculation
	if cs.Run == nil || cs.Next == nil {
		return out, errorf(CodeInvalidArgument, op, "a run and its records are required")
	}
	if cs.Run.ID == uuid.Nil {
		cs.Run.ID = newID()
	}
	c := s.c
	acts, ems := c.activityRecords.newBulk(org), c.calculatedEmissions.newBulk(org)
	defer acts.stop()
	defer ems.stop()
	// The chunks are read and made ready to load (ids, rows, the engine's
	// encoding) ahead of the transaction: the first here, before the
	// transaction is taken (a group's transaction is not held while it is
	// encoded), and the rest on a goroutine of their own, so that the
	// engine loads one chunk while the next is prepared.
	var first preparedChunk
	chunk, ok, err := cs.Next()
	if err == nil && ok {
		first, err = prepareChunk(ctx, acts, ems, cs.Run.ID, chunk)
	}
	if err != nil {
		return out, err
	}
	var prepared chan preparedChunk
	if ok {
		pctx := ctx // ctx is replaced below
		prepared = make(chan preparedChunk, 1)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(prepared)
			for {
				chunk, ok, err := cs.Next()
				if err == nil && !ok {
					return
				}
				var pc preparedChunk
				if err == nil {
					pc, err = prepareChunk(pctx, acts, ems, cs.Run.ID, chunk)
				}
				pc.err = err
				select {
				case prepared <- pc:
				case <-stop:
					return
				}
				if err != nil {
					return
				}
			}
		}()
		defer func() {
			close(stop)
			wg.Wait() // Next is not called once the save has returned
		}()
	}
	attempts := 0
	// The save shares its transaction with concurrent saves of org (group
	// commit): a cancelled caller must not interrupt the others' work, so
	// once it runs the save finishes whatever the caller does.
	caller := ctx
	ctx = context.WithoutCancel(ctx)
	err = s.groupTx(caller, op, org, func(q driver.Querier) error {
		if attempts++; attempts > 1 {
			return errorf(CodeUnavailable, op, "the database was busy while the run was written; nothing was saved: run it again")
		}
		out = SavedCalculation{RunID: cs.Run.ID}
		totals := map[string]decimal.Decimal{}
		if err := c.calculationRuns.createIn(ctx, q, org, cs.Run); err != nil {
			return err
		}
		if len(cs.Supersede) > 0 {
			n, err := s.supersede(ctx, q, org, cs.Run.ID, cs.Supersede)
			if err != nil {
				return err
			}
			out.Superseded = n
		}
		load := func(pc preparedChunk) error {
			if pc.err != nil {
				return pc.err
			}
			for _, src := range pc.sources {
				if err := c.emissionSources.createIn(ctx, q, org, src); err != nil {
					return err
				}
				out.Sources++
			}
			if err := acts.load(ctx, q, pc.acts); err != nil {
				return err
			}
			for k, v := range pc.totals {
				totals[k] = totals[k].Add(v)
			}
			return ems.load(ctx, q, pc.ems)
		}
		if ok {
			if err := load(first); err != nil {
				return err
			}
		}
		if prepared != nil { // nil without a first chunk
			for pc := range prepared {
				if err := load(pc); err != nil {
					return err
				}
			}
		}
		if err := acts.finish(ctx, q); err != nil {
			return err
		}
		if err := ems.finish(ctx, q); err != nil {
			return err
		}
		out.Activities, out.Emissions = acts.res, ems.res
		if cs.Complete != nil {
			cs.Complete(cs.Run)
			if err := c.calculationRuns.updateIn(ctx, q, org, cs.Run); err != nil {
				return err
			}
		}
		summary, err := s.calculatedEvent(org, cs.Run, out, totals)
		if err != nil {
			return err
		}
		return s.appendOutbox(ctx, q, org, append([]OutboxEvent{summary}, cs.Events...))
	})
	return out, err
}

// preparedChunk is a chunk of a run made ready to load, with its results'
// CO2e by scope key.
type preparedChunk struct {
	sources []*EmissionSource
	acts    bulkPart[ActivityRecord]
	ems     bulkPart[CalculatedEmission]
	totals  map[string]decimal.Decimal
	err     error
}

func prepareChunk(ctx context.Context, acts *bulk[ActivityRecord, *ActivityRecord], ems *bulk[CalculatedEmission, *CalculatedEmission],
	run uuid.UUID, chunk CalculationChunk) (preparedChunk, error) {
	pc := preparedChunk{sources: chunk.Sources, totals: map[string]decimal.Decimal{}}
	var err error
	if pc.acts, err = acts.prepare(ctx, chunk.Activities); err != nil {
		return pc, err
	}
	for i := range chunk.Emissions {
		e := &chunk.Emissions[i]
		e.RunID = run
		pc.totals[scopeKey(e)] = pc.totals[scopeKey(e)].Add(e.CO2eKg)
	}
	pc.ems, err = ems.prepare(ctx, chunk.Emissions)
	return pc, err
}

// supersede marks ids as replaced by run, refusing (and so rolling back the
// whole save) when one is missing or already superseded: a concurrent
// recalculation got there first.
func (s *Store) supersede(ctx context.Context, q driver.Querier, org, run uuid.UUID, ids []uuid.UUID) (int64, error) {
	const op = "store: superseding results"
	const chunk = 500
	now := s.nowUTC()
	h := sha256.New()
	var total int64
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, 0, 3+len(part))
		args = append(args, org, run, now)
		for _, id := range part {
			args = append(args, id)
			h.Write(id[:])
		}
		n, err := q.Exec(ctx, fmt.Sprintf(`UPDATE emissions.calculated_emissions SET superseded_by = $2, superseded_at = $3
			WHERE org_id = $1 AND superseded_by IS NULL AND id IN (%s)`, placeholders(4, len(part))), args...)
		if err != nil {
			return 0, err
		}
		if n != int64(len(part)) {
			return 0, errorf(CodeFailedPrecondition, op, "%d of %d results to supersede are missing or already superseded (a concurrent recalculation?); nothing was saved", int64(len(part))-n, len(part))
		}
		total += n
	}
	summary := map[string]any{"rows": total, "superseded_by_run": run, "ids_sha256": hex.EncodeToString(h.Sum(nil))}
	return total, s.appendAudit(ctx, q, org, ActionSupersede, "calculated_emission", run.String(), nil, summary)
}

// CurrentResult is a current (not superseded) calculated emission with the
// activity record it was calculated from, the name of its source, and the
// code and name of its site ("" without one).
type CurrentResult struct {
	Emission   CalculatedEmission
	Activity   ActivityRecord
	SourceName string
	SiteCode   string
	SiteName   string
}

// ResultFilter selects current results by their period start in [From, To);
// a zero bound is open.
type ResultFilter struct {
	From, To time.Time
}

func (f ResultFilter) where(args []any) (string, []any) {
	var b strings.Builder
	b.WriteString("e.org_id = $1 AND e.superseded_by IS NULL")
	if !f.From.IsZero() {
		args = append(args, f.From.UTC())
		fmt.Fprintf(&b, " AND e.period_start >= $%d", len(args))
	}
	if !f.To.IsZero() {
		args = append(args, f.To.UTC())
		fmt.Fprintf(&b, " AND e.period_start < $%d", len(args))
	}
	return b.String(), args
}

func prefixed(alias string, cols []string) string {
	all := append([]string{"id", "org_id", "created_at", "updated_at"}, cols...)
	for i, c := range all {
		all[i] = alias + "." + c
	}
	return strings.Join(all, ", ")
}

// CurrentResults calls fn for each of org's current results in f, in period
// order, with its activity record, all read in one snapshot. fn must not
// use the store.
func (s *Store) CurrentResults(ctx context.Context, org uuid.UUID, f ResultFilter, fn func(CurrentResult) error) error {
	ce, ar := s.c.calculatedEmissions, s.c.activityRecords
	where, args := f.where([]any{org})
	sql := fmt.Sprintf(`SELECT %s, %s, src.name, COALESCE(site.code, ''), COALESCE(site.name, '') FROM emissions.calculated_emissions e
		JOIN emissions.activity_records a ON a.org_id = e.org_id AND a.id = e.activity_id AND a.period_start = e.activity_period_start
		JOIN emissions.emission_sources src ON src.org_id = e.org_id AND src.id = e.source_id
		LEFT JOIN core.sites site ON site.org_id = e.org_id AND site.id = e.site_id
		WHERE %s ORDER BY e.period_start, e.id`, prefixed("e", ce.cols), prefixed("a", ar.cols), where)
	return s.tenantTx(ctx, "store: reading current results", org, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r CurrentResult
			dest := append(ce.dest(&r.Emission), ar.dest(&r.Activity)...)
			if err := rows.Scan(append(dest, &r.SourceName, &r.SiteCode, &r.SiteName)...); err != nil {
				return fmt.Errorf("scanning a result: %w", err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// RunByInputHash finds org's calculation run whose parameters record
// inputHash (there is at most one); ErrNotFound when there is none.
func (s *Store) RunByInputHash(ctx context.Context, org uuid.UUID, inputHash string) (*CalculationRun, error) {
	c := s.c.calculationRuns
	var run CalculationRun
	err := s.tenantTx(ctx, "store: finding a run by input hash", org, true, func(q driver.Querier) error {
		return q.QueryRow(ctx, c.selectSQL+` WHERE org_id = $1 AND parameters ->> 'input_hash' = $2`, org, inputHash).Scan(c.dest(&run)...)
	})
	if err != nil {
		return nil, err
	}
	return &run, nil
}
