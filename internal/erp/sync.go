package erp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/erp/erphttp"
	"github.com/greenlang/greenlang/internal/store"
)

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:16])
}

// Syncer runs connectors against stored connections: it reads pages,
// upserts the records, quarantines bad ones, keeps watermarks and resume
// points, and posts mapped records as activity data (docs/erp.md). It is
// safe for concurrent use; syncs of one connection run one at a time.
type Syncer struct {
	st   *store.Store
	post *Poster
	reg  *Registry
	log  *slog.Logger
	// HTTP is the template of each connector's HTTP settings (Logger and
	// Registerer are shared; the rest may be tuned per deployment).
	HTTP erphttp.Config
	// Transport sends connectors' requests; nil means http.DefaultTransport.
	Transport http.RoundTripper

	mu    sync.Mutex
	locks map[uuid.UUID]*sync.Mutex
}

// NewSyncer returns a syncer over st that posts through post.
func NewSyncer(st *store.Store, reg *Registry, post *Poster, log *slog.Logger) *Syncer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{st: st, post: post, reg: reg, log: log, locks: map[uuid.UUID]*sync.Mutex{}}
}

// SyncOptions choose what a sync does.
type SyncOptions struct {
	// Entities to sync; empty means every entity of the connector.
	Entities []string
	// Full ignores the watermarks (and any interrupted sync) and reads
	// everything; records that did not change are not rewritten.
	Full bool
	// PageSize asks the connector for pages of this many records; 0 lets
	// it choose.
	PageSize int
	// NoPost leaves the records pending instead of posting them as
	// activity data (a later sync or `greenlang erp post` posts them).
	NoPost bool
}

// JobReport is what one entity's sync did.
type JobReport struct {
	JobID       uuid.UUID     `json:"job_id"`
	Entity      string        `json:"entity"`
	Mode        string        `json:"mode"`
	Status      string        `json:"status"`
	Resumed     bool          `json:"resumed,omitempty"`
	Pages       int           `json:"pages"`
	Read        int64         `json:"records_read"`
	Written     int64         `json:"records_written"`
	Unchanged   int64         `json:"records_unchanged"`
	Quarantined int64         `json:"records_quarantined"`
	Watermark   string        `json:"watermark"`
	Error       string        `json:"error,omitempty"`
	Elapsed     time.Duration `json:"elapsed"`
}

// SyncReport is what a sync of one connection did.
type SyncReport struct {
	Connection string      `json:"connection"`
	System     string      `json:"system"`
	Jobs       []JobReport `json:"jobs"`
	Posting    PostReport  `json:"posting"`
}

// Failed reports whether any job failed.
func (r SyncReport) Failed() bool {
	return slices.ContainsFunc(r.Jobs, func(j JobReport) bool { return j.Status == "failed" })
}

// Registry returns the connectors the syncer builds from.
func (s *Syncer) Registry() *Registry { return s.reg }

// Connector builds the connector of a stored connection.
func (s *Syncer) Connector(c *store.ERPConnection) (Connector, error) {
	f, err := s.reg.Get(c.System)
	if err != nil {
		return nil, err
	}
	cfg := Config{Name: c.Name, BaseURL: c.BaseURL, AuthType: c.AuthType, Credentials: c.Credentials,
		Settings: json.RawMessage(c.Settings), HTTP: s.HTTP, Transport: s.Transport, Log: s.log.With("connection", c.Name),
		SaveCredentials: func(ctx context.Context, changes map[string]string) error {
			return s.st.UpdateERPCredentials(ctx, c.OrgID, c.ID, changes)
		}}
	if len(cfg.Settings) == 0 {
		cfg.Settings = nil
	}
	return f.New(cfg)
}

// storedConnector reads the connection called name and builds its
// connector.
func (s *Syncer) storedConnector(ctx context.Context, org uuid.UUID, name string) (*store.ERPConnection, Connector, error) {
	c, err := s.st.ERPConnectionByName(ctx, org, name)
	if err != nil {
		return nil, nil, err
	}
	conn, err := s.Connector(c)
	return c, conn, err
}

// Test checks a connection step by step (Connector.Check).
func (s *Syncer) Test(ctx context.Context, org uuid.UUID, name string) ([]Step, error) {
	c, err := s.st.ERPConnectionByName(ctx, org, name)
	if err != nil {
		return nil, err
	}
	conn, err := s.Connector(c)
	if err != nil {
		return []Step{{Name: "configure connector", Detail: err.Error()}}, nil
	}
	return conn.Check(ctx), nil
}

// LeaseFor is how long a sync's lease on its connection runs without
// renewal; the syncing process renews it every third of that.
const LeaseFor = 2 * time.Minute

// lease takes the store's lease on syncing a connection and renews it
// until release is called.
func (s *Syncer) lease(ctx context.Context, org, conn uuid.UUID) (release func(), err error) {
	holder := uuid.New()
	if err := s.st.AcquireERPSyncLease(ctx, org, conn, holder, time.Now().Add(LeaseFor)); err != nil {
		return nil, err
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(LeaseFor / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := s.st.AcquireERPSyncLease(ctx, org, conn, holder, time.Now().Add(LeaseFor)); err != nil {
					s.log.Warn("erp: renewing the sync lease", "connection", conn, "error", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.st.ReleaseERPSyncLease(rctx, org, conn, holder); err != nil {
			s.log.Warn("erp: releasing the sync lease; it expires by itself", "connection", conn, "error", err)
		}
	}, nil
}

func (s *Syncer) lock(id uuid.UUID) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[id]
	if !ok {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	return l
}

// SyncInBackground starts Sync in its own goroutine, bounded by ctx, and
// logs a failure: what a sync asked for over HTTP (the API, the dashboard)
// does; its jobs tell the rest.
func (s *Syncer) SyncInBackground(ctx context.Context, org uuid.UUID, name string, o SyncOptions) {
	go func() {
		rep, err := s.Sync(ctx, org, name, o)
		if err != nil || rep.Failed() {
			s.log.Warn("erp: a sync started in the background failed", slog.String("connection", name), slog.Any("err", err))
		}
	}()
}

// Sync runs one sync of the organization's connection called name.
func (s *Syncer) Sync(ctx context.Context, org uuid.UUID, name string, o SyncOptions) (SyncReport, error) {
	c, err := s.st.ERPConnectionByName(ctx, org, name)
	if err != nil {
		return SyncReport{}, err
	}
	rep := SyncReport{Connection: c.Name, System: c.System}
	if !c.Active {
		return rep, fmt.Errorf("erp: connection %s is inactive", c.Name)
	}
	conn, err := s.Connector(c)
	if err != nil {
		return rep, err
	}
	l := s.lock(c.ID)
	l.Lock()
	defer l.Unlock()
	// Across processes, the store's lease: two syncs of one connection
	// could post a record twice.
	release, err := s.lease(ctx, org, c.ID)
	if err != nil {
		return rep, fmt.Errorf("erp: connection %s: %w", c.Name, err)
	}
	defer release()

	entities := conn.Entities()
	if len(o.Entities) > 0 {
		var pick []Entity
		for _, name := range o.Entities {
			i := slices.IndexFunc(entities, func(e Entity) bool { return e.Name == name })
			if i < 0 {
				names := make([]string, len(entities))
				for j, e := range entities {
					names[j] = e.Name
				}
				return rep, fmt.Errorf("erp: connection %s (%s) has no entity %q (it has: %v)", c.Name, c.System, name, names)
			}
			pick = append(pick, entities[i])
		}
		entities = pick
	}
	states, err := s.st.SyncStates(ctx, org, c.ID)
	if err != nil {
		return rep, err
	}
	// Posting runs beside the reading: each committed page wakes the
	// poster, which posts what is pending while the next pages are read.
	var post *posterRun
	if !o.NoPost && s.post != nil {
		post = s.startPoster(ctx, org, c)
	}
	for _, e := range entities {
		jr, err := s.syncEntity(ctx, org, c, conn, e, states[e.Name], o, post)
		rep.Jobs = append(rep.Jobs, jr)
		if err != nil {
			if post != nil {
				rep.Posting, _ = post.finish()
			}
			return rep, err
		}
	}
	if post != nil {
		var err error
		if rep.Posting, err = post.finish(); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// posterRun is a sync's poster goroutine.
type posterRun struct {
	wake    chan struct{} // buffered 1: wakes coalesce
	done    chan struct{}
	rep     PostReport
	err     error
	written int // records written since the last wake (the sync's goroutine only)
}

// postEvery is how many written records wake the poster: fewer would make
// many small calculation runs.
const postEvery = 2500

func (s *Syncer) startPoster(ctx context.Context, org uuid.UUID, c *store.ERPConnection) *posterRun {
	r := &posterRun{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for range r.wake {
			if r.err != nil {
				continue // drain: the sync finishes, the error is reported
			}
			pr, err := s.post.Post(ctx, org, c)
			r.rep.add(pr)
			r.err = err
		}
	}()
	return r
}

// wrote tells the poster n more records are pending, waking it every
// postEvery records (r may be nil: posting is off).
func (r *posterRun) wrote(n int) {
	if r == nil {
		return
	}
	if r.written += n; r.written < postEvery {
		return
	}
	r.written = 0
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// finish posts what is still pending and waits for the poster.
func (r *posterRun) finish() (PostReport, error) {
	r.wake <- struct{}{}
	close(r.wake)
	<-r.done
	r.rep.finishNotes()
	return r.rep, r.err
}

// syncEntity reads one entity page by page. A page's records, quarantine
// entries, job counts and resume point commit together; a failure leaves
// the resume point at the first page not committed, and the next sync
// (unless full) continues from there.
func (s *Syncer) syncEntity(ctx context.Context, org uuid.UUID, c *store.ERPConnection, conn Connector, e Entity, st store.SyncState, o SyncOptions, post *posterRun) (JobReport, error) {
	began := time.Now()
	jr := JobReport{Entity: e.Name, Mode: "incremental"}
	since, cursor := st.Watermark, ""
	switch {
	case o.Full || !e.Incremental:
		jr.Mode, since = "full", ""
	case st.ResumeJob != nil:
		// An earlier sync stopped part-way: continue it where it stopped.
		since, cursor, jr.Resumed = st.ResumeSince, st.ResumeCursor, true
	}
	if st.ResumeJob != nil {
		s.closeInterrupted(ctx, org, *st.ResumeJob)
	}
	now := time.Now().UTC()
	job := &store.SyncJob{ConnectionID: c.ID, Entity: e.Name, Mode: jr.Mode, Status: "running", StartedAt: &now, Watermark: since}
	if err := s.st.SyncJobs().Create(ctx, org, job); err != nil {
		return jr, err
	}
	jr.JobID = job.ID
	log := s.log.With("connection", c.Name, "entity", e.Name, "job", job.ID)
	log.Info("erp: sync started", "mode", jr.Mode, "since", since, "resumed", jr.Resumed)

	st = store.SyncState{ConnectionID: c.ID, Entity: e.Name, Watermark: st.Watermark}
	var latest time.Time
	for {
		page, err := conn.Fetch(ctx, e.Name, PageRequest{Since: since, Cursor: cursor, PageSize: o.PageSize})
		if err != nil {
			// Nothing of this page is stored: resume here next time.
			st.ResumeCursor, st.ResumeSince, st.ResumeJob = cursor, since, &job.ID
			return s.fail(ctx, org, job, st, jr, began, fmt.Errorf("reading %s: %w", e.Name, err), log)
		}
		jr.Pages++
		recs, errs := s.pageRecords(c, job, e, page, &latest)
		job.RecordsRead += int64(len(page.Records) + len(page.Rejected))
		job.RecordsFailed += int64(len(errs))
		jr.Quarantined += int64(len(errs))
		if page.Next == "" {
			st.Watermark = page.Watermark
			if st.Watermark == "" {
				st.Watermark = since
				if !latest.IsZero() {
					st.Watermark = latest.UTC().Format(time.RFC3339Nano)
				}
			}
			st.ResumeCursor, st.ResumeSince, st.ResumeJob = "", "", nil
			job.Watermark = st.Watermark
		} else {
			st.ResumeCursor, st.ResumeSince, st.ResumeJob = page.Next, since, &job.ID
		}
		res, err := s.st.CommitSyncPage(ctx, org, store.SyncPage{Job: job, Records: recs, Errors: errs, State: st,
			Events: func(changed []store.ERPRecord) []store.OutboxEvent { return s.pageEvents(c, job, e, changed) }})
		if err != nil {
			st.ResumeCursor, st.ResumeSince, st.ResumeJob = cursor, since, &job.ID
			return s.fail(ctx, org, job, st, jr, began, fmt.Errorf("storing a page of %s: %w", e.Name, err), log)
		}
		job.RecordsWritten += int64(res.Inserted + res.Updated)
		post.wrote(res.Inserted + res.Updated)
		jr.Unchanged += int64(res.Unchanged)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	job.Status = "succeeded"
	if err := s.st.FinishSyncJob(ctx, org, job, st); err != nil {
		return jr, err
	}
	jr.fill(job, began)
	log.Info("erp: sync finished", "pages", jr.Pages, "read", jr.Read, "written", jr.Written, "unchanged", jr.Unchanged,
		"quarantined", jr.Quarantined, "watermark", jr.Watermark, "elapsed", jr.Elapsed)
	return jr, nil
}

func (jr *JobReport) fill(j *store.SyncJob, began time.Time) {
	jr.Status, jr.Read, jr.Written, jr.Watermark, jr.Error = j.Status, j.RecordsRead, j.RecordsWritten, j.Watermark, j.Error
	jr.Elapsed = time.Since(began).Round(time.Millisecond)
}

// fail finishes a job as failed, keeping the resume point in st. The error
// is the job's; it is returned only when the store cannot record it.
func (s *Syncer) fail(ctx context.Context, org uuid.UUID, job *store.SyncJob, st store.SyncState, jr JobReport, began time.Time, cause error, log *slog.Logger) (JobReport, error) {
	job.Status, job.Error = "failed", cause.Error()
	log.Warn("erp: sync failed; the next sync resumes at the first page not stored", "error", cause)
	// The context may be what failed: record the failure regardless.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.st.FinishSyncJob(fctx, org, job, st); err != nil {
		return jr, errors.Join(cause, err)
	}
	jr.fill(job, began)
	return jr, nil
}

// closeInterrupted marks a job that never finished (its process stopped)
// failed, so status shows what happened to it.
func (s *Syncer) closeInterrupted(ctx context.Context, org, id uuid.UUID) {
	j, err := s.st.SyncJobs().Get(ctx, org, id)
	if err != nil || j.Status != "running" {
		return
	}
	now := time.Now().UTC()
	j.Status, j.Error, j.FinishedAt = "failed", "interrupted: the process stopped before the sync finished; the next sync resumed it", &now
	if err := s.st.SyncJobs().Update(ctx, org, j); err != nil {
		s.log.Warn("erp: could not close an interrupted sync job", "job", id, "error", err)
	}
}

// pageRecords turns a page into store rows: records that validate, and a
// quarantine entry for each rejected or invalid one.
func (s *Syncer) pageRecords(c *store.ERPConnection, job *store.SyncJob, e Entity, p Page, latest *time.Time) ([]store.ERPRecord, []store.SyncError) {
	recs := make([]store.ERPRecord, 0, len(p.Records))
	var errs []store.SyncError
	quarantine := func(key, reason string, raw []byte) {
		errs = append(errs, store.SyncError{JobID: job.ID, ConnectionID: c.ID, Entity: e.Name, Key: key, Reason: reason, Raw: string(raw)})
	}
	for _, r := range p.Rejected {
		quarantine(r.Key, r.Reason, r.Raw)
	}
	seen := make(map[string]int, len(p.Records))
	for i := range p.Records {
		r := &p.Records[i]
		if err := r.Validate(); err != nil {
			quarantine(r.Key, fmt.Sprintf("%s %s: %v", r.Kind, r.Key, err), r.Original)
			continue
		}
		hash, data, err := ContentHash(r)
		if err != nil {
			quarantine(r.Key, fmt.Sprintf("%s %s: %v", r.Kind, r.Key, err), r.Original)
			continue
		}
		var orig store.JSON
		if len(r.Original) > 0 && json.Valid(r.Original) {
			orig = store.JSON(r.Original)
		}
		var mod *time.Time
		if !r.Modified.IsZero() {
			m := r.Modified.UTC()
			mod = &m
			if m.After(*latest) {
				*latest = m
			}
		}
		row := store.ERPRecord{ConnectionID: c.ID, Kind: string(r.Kind), Key: r.Key, Modified: mod, Deleted: r.Deleted,
			ContentHash: hash, Data: data, Original: orig}
		// A page listing a record twice (a source changing under offset
		// paging) keeps its last version.
		if j, dup := seen[string(r.Kind)+"\x00"+r.Key]; dup {
			recs[j] = row
			continue
		}
		seen[string(r.Kind)+"\x00"+r.Key] = len(recs)
		recs = append(recs, row)
	}
	return recs, errs
}

// maxEventRecords bounds the records of one integration event, so an event
// stays far below the 1 MB message limit of NATS and Kafka's defaults.
const maxEventRecords = 100

// RecordsEvent is the payload of the integration.<system> events a sync
// emits through the outbox: the records of a page, as normalized.
type RecordsEvent struct {
	ConnectionID uuid.UUID         `json:"connection_id"`
	Connection   string            `json:"connection"`
	System       string            `json:"system"`
	Entity       string            `json:"entity"`
	JobID        uuid.UUID         `json:"job_id"`
	Records      []json.RawMessage `json:"records"`
}

// Topic returns the integration topic of a system.
func Topic(system string) string { return "integration." + system }

func (s *Syncer) pageEvents(c *store.ERPConnection, job *store.SyncJob, e Entity, recs []store.ERPRecord) []store.OutboxEvent {
	var out []store.OutboxEvent
	for start := 0; start < len(recs); start += maxEventRecords {
		ev := RecordsEvent{ConnectionID: c.ID, Connection: c.Name, System: c.System, Entity: e.Name, JobID: job.ID}
		for _, r := range recs[start:min(start+maxEventRecords, len(recs))] {
			ev.Records = append(ev.Records, json.RawMessage(r.Data))
		}
		b, err := json.Marshal(ev)
		if err != nil {
			continue // RawMessages of valid JSON always marshal
		}
		out = append(out, store.OutboxEvent{Topic: Topic(c.System), Key: c.ID.String() + "/" + e.Name, Payload: b,
			Headers: map[string]string{"gl-content-type": "application/json", "gl-schema-version": "1"}})
	}
	return out
}
