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
// its cron schedule (docs/erp.md, "Scheduling"). It is the simple cron the
// pipeline scheduler will replace; with several processes on one store
// each runs it, and the store's sync lease lets one sync a connection.
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
	type entry struct {
		spec string
		next time.Time
	}
	due := map[uuid.UUID]*entry{}
	t := time.NewTicker(erpTick)
	defer t.Stop()
	for {
		now := time.Now()
		orgs, err := a.st.OrganizationIDs(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("erp: scheduler: listing organizations", "error", err)
		}
		for _, org := range orgs {
			var conns []*store.ERPConnection
			err := a.st.ERPConnections().Each(ctx, org, func(c *store.ERPConnection) error {
				if c.Active && c.Schedule != "" {
					conns = append(conns, c)
				}
				return nil
			})
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("erp: scheduler: listing connections", "org", org, "error", err)
				}
				continue
			}
			for _, c := range conns {
				e := due[c.ID]
				if e == nil || e.spec != c.Schedule {
					sched, err := cron.ParseStandard(c.Schedule)
					if err != nil {
						log.Warn("erp: connection has a bad schedule; not synced", "connection", c.Name, "schedule", c.Schedule, "error", err)
						continue
					}
					e = &entry{spec: c.Schedule, next: sched.Next(now)}
					due[c.ID] = e
				}
				if now.Before(e.next) || ctx.Err() != nil {
					continue
				}
				rep, err := s.Sync(ctx, org, c.Name, erp.SyncOptions{})
				if err != nil || rep.Failed() {
					log.Warn("erp: scheduled sync failed; the next one resumes it", "connection", c.Name, "error", err)
				}
				if sched, err := cron.ParseStandard(c.Schedule); err == nil {
					e.next = sched.Next(time.Now())
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
