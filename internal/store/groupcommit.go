package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// Group commit (docs/design.md, "Group commit"). Concurrent writes of one
// organization that opt in (calculation runs from uploads and API
// batches) share one engine transaction: each runs inside its own
// SAVEPOINT, so one that fails is rolled back alone and its caller gets
// its error, while the others commit together. Every write of an
// organization already waits for the one before it (the audit chain's
// head is one row per organization, and SQLite has one writer), so
// sharing the commit — its WAL frames or fsync, its round trips — costs a
// caller no isolation and saves most of the per-transaction work under
// load. A caller waits for its own group's commit; the first caller of a
// group leads it and hands the lead to the next waiting caller when done.

// maxGroup bounds the writes committed together.
const maxGroup = 32

type groupCommit struct {
	mu     sync.Mutex
	queues map[uuid.UUID]*commitQueue
}

// commitQueue is one organization's writes waiting for a group; running
// says a leader is committing one.
type commitQueue struct {
	jobs    []*commitJob
	running bool
}

type commitJob struct {
	ctx  context.Context
	fn   func(driver.Querier) error
	err  error
	done chan struct{}
	// lead is closed when this job is to lead the next group.
	lead chan struct{}
}

// groupTx runs fn as a write transaction of org, possibly sharing the
// engine transaction with other groupTx writes of org. fn must not depend
// on the context's cancellation to stop (it shares the transaction; give
// it a context without cancellation), and must not assume it is the
// transaction's only work (no transaction-wide statements).
func (s *Store) groupTx(ctx context.Context, op string, org uuid.UUID, fn func(driver.Querier) error) error {
	if org == uuid.Nil {
		return errorf(CodeInvalidArgument, op, "organization id is required")
	}
	start := time.Now()
	job := &commitJob{ctx: ctx, fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	if g.queues == nil {
		g.queues = map[uuid.UUID]*commitQueue{}
	}
	q := g.queues[org]
	if q == nil {
		q = &commitQueue{}
		g.queues[org] = q
	}
	q.jobs = append(q.jobs, job)
	leader := !q.running
	q.running = true
	g.mu.Unlock()
	if !leader {
		select {
		case <-job.done:
		case <-job.lead:
			leader = true
		}
	}
	if leader {
		s.commitGroup(org, q)
		<-job.done
	}
	s.m.observe(op, start, job.err)
	return s.wrap(op, job.err)
}

// commitGroup takes up to maxGroup waiting jobs of q (the leader's among
// them), commits them in one transaction, and hands the lead to the next
// waiting job, or ends q's run when none waits.
func (s *Store) commitGroup(org uuid.UUID, q *commitQueue) {
	g := &s.group
	g.mu.Lock()
	n := min(len(q.jobs), maxGroup)
	batch := append([]*commitJob(nil), q.jobs[:n]...)
	q.jobs = append(q.jobs[:0:0], q.jobs[n:]...)
	g.mu.Unlock()

	s.runGroup(org, batch)
	for _, j := range batch {
		close(j.done)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if len(q.jobs) == 0 {
		q.running = false
		delete(g.queues, org)
		return
	}
	close(q.jobs[0].lead)
}

// runGroup commits batch in one transaction, each job in its savepoint;
// a job's error is its own, a transaction's is every job's.
func (s *Store) runGroup(org uuid.UUID, batch []*commitJob) {
	ctx := context.WithoutCancel(batch[0].ctx)
	if len(batch) == 1 {
		j := batch[0]
		if j.err = j.ctx.Err(); j.err == nil {
			j.err = s.d.TenantTx(ctx, org, driver.TxOptions{}, j.fn)
		}
		return
	}
	err := s.d.TenantTx(ctx, org, driver.TxOptions{}, func(q driver.Querier) error {
		for i, j := range batch {
			j.err = nil
			if err := j.ctx.Err(); err != nil {
				j.err = err // the caller left before its turn: nothing of it runs
				continue
			}
			sp := fmt.Sprintf("group_%d", i)
			if _, err := q.Exec(ctx, "SAVEPOINT "+sp); err != nil {
				return err
			}
			if j.err = j.fn(q); j.err != nil {
				if _, err := q.Exec(ctx, "ROLLBACK TO SAVEPOINT "+sp); err != nil {
					return fmt.Errorf("rolling back a failed write of the group (%v): %w", j.err, err)
				}
				if ro, ok := q.(driver.RollbackObserver); ok {
					ro.RolledBack()
				}
			}
			if _, err := q.Exec(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, j := range batch {
			if j.err == nil {
				j.err = err // nothing of the group was committed
			}
		}
	}
}
