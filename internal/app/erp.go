package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/dynamics"
	"github.com/greenlang/greenlang/internal/erp/netsuite"
	"github.com/greenlang/greenlang/internal/erp/oracle"
	"github.com/greenlang/greenlang/internal/erp/sap"
	"github.com/greenlang/greenlang/internal/erp/spreadsheet"
	"github.com/greenlang/greenlang/internal/erp/workday"
	"github.com/greenlang/greenlang/internal/store"
)

// ERPRegistry returns the ERP connectors the binary carries.
func ERPRegistry() *erp.Registry {
	return erp.NewRegistry(
		sap.Factory(),
		oracle.Factory(),
		workday.Factory(),
		dynamics.Factory(),
		netsuite.Factory(),
		spreadsheet.Factory(),
	)
}

// erpTick is how often the ERP scheduler looks for due connections.
const erpTick = 30 * time.Second

// startERP starts the in-process scheduler that syncs each connection on
// its cron schedule (docs/erp.md, "Scheduling"), beside the pipelines that
// also sync every connection daily (docs/design.md, "Pipelines and data
// quality"); with several processes on one store each runs it, and the
// store's sync lease lets one sync a connection.
func (a *App) startERP(ctx context.Context) error {
	svc, err := a.calculation(ctx)
	if err != nil {
		return err
	}
	log := a.log.With("component", "erp")
	s := erp.NewSyncer(a.st, ERPRegistry(), erp.NewPoster(a.st, svc, log), log)
	s.HTTP.Logger, s.HTTP.Registerer = log, a.reg
	a.erp = s
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopERP, a.erpDone, a.erpCtx = cancel, make(chan struct{}), ectx
	go func() {
		defer close(a.erpDone)
		a.erpScheduleLoop(ectx, s, log)
	}()
	return nil
}

func (a *App) stopERPScheduler() {
	if a.stopERP != nil {
		a.stopERP()
		<-a.erpDone
	}
}

// erpScheduleLoop syncs due connections, one at a time, until ctx ends.
func (a *App) erpScheduleLoop(ctx context.Context, s *erp.Syncer, log *slog.Logger) {
	z := newERPScheduler(a.st, s, log, time.Now)
	t := time.NewTicker(erpTick)
	defer t.Stop()
	for {
		z.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// erpScheduler decides which connections are due. A connection's next run
// is worked out from its cron schedule when the scheduler first sees it
// (or sees its schedule changed), and again after each run; it is kept in
// memory, so a restart waits for the next scheduled time rather than
// running everything at once.
type erpScheduler struct {
	st  *store.Store
	s   *erp.Syncer
	log *slog.Logger
	now func() time.Time
	due map[uuid.UUID]*erpDue
}

type erpDue struct {
	spec  string
	sched cron.Schedule
	next  time.Time
}

func newERPScheduler(st *store.Store, s *erp.Syncer, log *slog.Logger, now func() time.Time) *erpScheduler {
	return &erpScheduler{st: st, s: s, log: log, now: now, due: map[uuid.UUID]*erpDue{}}
}

// tick syncs every active connection whose time has come and returns how
// many syncs it ran.
func (z *erpScheduler) tick(ctx context.Context) int {
	ran := 0
	orgs, err := z.st.OrganizationIDs(ctx)
	if err != nil && ctx.Err() == nil {
		z.log.Warn("erp: scheduler: listing organizations", "error", err)
	}
	for _, org := range orgs {
		var conns []*store.ERPConnection
		err := z.st.ERPConnections().Each(ctx, org, func(c *store.ERPConnection) error {
			if c.Active && c.Schedule != "" {
				conns = append(conns, c)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				z.log.Warn("erp: scheduler: listing connections", "org", org, "error", err)
			}
			continue
		}
		for _, c := range conns {
			e := z.due[c.ID]
			if e == nil || e.spec != c.Schedule {
				sched, err := cron.ParseStandard(c.Schedule)
				if err != nil {
					z.log.Warn("erp: connection has a bad schedule; not synced", "connection", c.Name, "schedule", c.Schedule, "error", err)
					z.due[c.ID] = &erpDue{spec: c.Schedule} // no schedule: warned once, skipped until it changes
					continue
				}
				e = &erpDue{spec: c.Schedule, sched: sched, next: sched.Next(z.now())}
				z.due[c.ID] = e
			}
			if e.sched == nil || z.now().Before(e.next) || ctx.Err() != nil {
				continue
			}
			rep, err := z.s.Sync(ctx, org, c.Name, erp.SyncOptions{})
			ran++
			if err != nil || rep.Failed() {
				z.log.Warn("erp: scheduled sync failed; the next one resumes it", "connection", c.Name, "error", err)
			}
			e.next = e.sched.Next(z.now())
		}
	}
	return ran
}
