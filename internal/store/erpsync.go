package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// States of an ERP record (integration.erp_records.state).
const (
	ERPPending     = "pending"     // its current content is not yet activity data
	ERPPosted      = "posted"      // turned into activity data; Posting says how
	ERPUnmapped    = "unmapped"    // no mapping applies; Note says why
	ERPSkipped     = "skipped"     // a kind that is not activity data (suppliers, materials, workers)
	ERPQuarantined = "quarantined" // the mapping or the engine refused it; Note says why
)

// ERPRecord is one normalized record of an ERP connection, kept by kind and
// the source's key. Data is the normalized record (erp.Record as JSON),
// Original what the source sent.
type ERPRecord struct {
	ID           uuid.UUID  `json:"id"` // ERPRecordID of connection, kind and key; set by the store
	ConnectionID uuid.UUID  `json:"connection_id"`
	Kind         string     `json:"kind"`
	Key          string     `json:"key"`
	Modified     *time.Time `json:"modified_at,omitempty"`
	Deleted      bool       `json:"deleted"`
	ContentHash  string     `json:"content_hash"`
	Data         JSON       `json:"data"`
	Original     JSON       `json:"original,omitempty"`
	FirstJob     uuid.UUID  `json:"first_job"`
	LastJob      uuid.UUID  `json:"last_job"`
	State        string     `json:"state"`
	Note         string     `json:"note,omitempty"`
	Posting      JSON       `json:"posting,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// SyncState is where a connection's entity stands: the watermark the next
// incremental sync starts from and, while a sync is unfinished (it failed
// or the process died), the page it resumes at.
type SyncState struct {
	ConnectionID uuid.UUID  `json:"connection_id"`
	Entity       string     `json:"entity"`
	Watermark    string     `json:"watermark"`
	ResumeCursor string     `json:"resume_cursor,omitempty"`
	ResumeSince  string     `json:"resume_since,omitempty"`
	ResumeJob    *uuid.UUID `json:"resume_job,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// SyncError is a record a sync job quarantined, or a page it could not read.
type SyncError struct {
	ID           uuid.UUID `json:"id"`
	JobID        uuid.UUID `json:"job_id"`
	ConnectionID uuid.UUID `json:"connection_id"`
	Entity       string    `json:"entity"`
	Key          string    `json:"record_key,omitempty"`
	Reason       string    `json:"reason"`
	Raw          string    `json:"raw,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// SyncPage is what one page of a sync commits, in one transaction: its
// records (upserted by kind and key), its quarantined records, the job's
// counts, and the entity's resume point, so that a sync that stops after
// the commit resumes after this page and one that stops before it
// re-reads the page.
type SyncPage struct {
	Job     *SyncJob // updated as given (counts, status)
	Records []ERPRecord
	Errors  []SyncError
	State   SyncState
	// Events, when set, returns the outbox events announcing the records
	// the page inserted or changed; they commit with the page.
	Events func(changed []ERPRecord) []OutboxEvent
}

// SyncPageResult counts what a page changed.
type SyncPageResult struct {
	Inserted  int
	Updated   int // content changed: back to pending
	Unchanged int
}

// ERPRecordID is the id of a connection's record of kind and key: a UUIDv5
// in the connection's id as namespace, so the store finds a page's records
// by primary key.
func ERPRecordID(conn uuid.UUID, kind, key string) uuid.UUID {
	return uuid.NewSHA1(conn, []byte(kind+"\x00"+key))
}

var erpRecordsTable = driver.Table{Name: "integration.erp_records", Columns: []string{"id", "org_id", "connection_id", "kind", "record_key",
	"modified_at", "deleted", "content_hash", "data", "original", "first_job", "last_job", "state", "note", "created_at", "updated_at"}}

var syncErrorsTable = driver.Table{Name: "integration.sync_errors", Columns: []string{"id", "org_id", "job_id", "connection_id",
	"entity", "record_key", "reason", "raw", "created_at"}}

// CommitSyncPage stores one page of a sync (see SyncPage). A record whose
// content hash is unchanged is left alone; a changed one is updated and
// set pending again (its activity data is re-posted).
func (s *Store) CommitSyncPage(ctx context.Context, org uuid.UUID, p SyncPage) (SyncPageResult, error) {
	const op = "store: committing a page of an ERP sync"
	var res SyncPageResult
	if p.Job == nil {
		return res, errorf(CodeInvalidArgument, op, "the page's job is required")
	}
	now := s.nowUTC()
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		res = SyncPageResult{}
		for i := range p.Records {
			r := &p.Records[i]
			r.ID = ERPRecordID(r.ConnectionID, r.Kind, r.Key)
		}
		have, err := s.erpHashes(ctx, q, org, p.Records)
		if err != nil {
			return err
		}
		var fresh [][]any
		var changed []ERPRecord
		seen := make(map[uuid.UUID]bool, len(p.Records))
		for i := range p.Records {
			r := &p.Records[i]
			if seen[r.ID] {
				return errorf(CodeInvalidArgument, op, "record %s %s appears twice in the page", r.Kind, r.Key)
			}
			seen[r.ID] = true
			old, exists := have[r.ID]
			switch {
			case !exists:
				fresh = append(fresh, []any{r.ID, org, r.ConnectionID, r.Kind, r.Key, utcPtr(r.Modified), r.Deleted, r.ContentHash,
					r.Data, nullJSON(r.Original), p.Job.ID, p.Job.ID, ERPPending, "", now, now})
				changed = append(changed, *r)
				res.Inserted++
			case old == r.ContentHash:
				res.Unchanged++
			default:
				if _, err := q.Exec(ctx, `UPDATE integration.erp_records SET modified_at = $3, deleted = $4, content_hash = $5,
					data = $6, original = $7, last_job = $8, state = 'pending', note = '', updated_at = $9
					WHERE org_id = $1 AND id = $2`,
					org, r.ID, utcPtr(r.Modified), r.Deleted, r.ContentHash, r.Data, nullJSON(r.Original), p.Job.ID, now); err != nil {
					return err
				}
				changed = append(changed, *r)
				res.Updated++
			}
		}
		if len(fresh) > 0 {
			if _, err := s.d.BulkInsert(ctx, q, erpRecordsTable, fresh); err != nil {
				return err
			}
		}
		// A deleted document (a purchase order whose source reports only
		// the order gone, not its lines) deletes each of its lines.
		for _, r := range p.Records {
			if !r.Deleted || r.Kind != "purchase_order_line" || strings.Contains(r.Key, "/") {
				continue
			}
			n, err := q.Exec(ctx, `UPDATE integration.erp_records SET deleted = true, content_hash = content_hash || '+deleted',
				last_job = $5, state = 'pending', note = '', updated_at = $6
				WHERE org_id = $1 AND connection_id = $2 AND kind = $3 AND record_key LIKE $4 ESCAPE '\' AND NOT deleted`,
				org, r.ConnectionID, r.Kind, likePrefix(r.Key)+"/%", p.Job.ID, now)
			if err != nil {
				return err
			}
			res.Updated += int(n)
		}
		if len(p.Errors) > 0 {
			rows := make([][]any, len(p.Errors))
			for i, e := range p.Errors {
				if e.ID == uuid.Nil {
					e.ID = uuid.New()
				}
				rows[i] = []any{e.ID, org, p.Job.ID, p.Job.ConnectionID, e.Entity, e.Key, e.Reason, e.Raw, now}
			}
			if _, err := s.d.BulkInsert(ctx, q, syncErrorsTable, rows); err != nil {
				return err
			}
		}
		if p.Events != nil && len(changed) > 0 {
			if err := s.appendOutbox(ctx, q, org, p.Events(changed)); err != nil {
				return err
			}
		}
		if err := putSyncState(ctx, q, org, p.State, now); err != nil {
			return err
		}
		return s.saveJob(ctx, q, org, p.Job, now)
	})
	return res, err
}

// likePrefix escapes LIKE's wildcards in s (the store's dialect uses
// backslash as the escape character on both engines).
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

func utcPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC()
}

func nullJSON(j JSON) any {
	if len(j) == 0 {
		return nil
	}
	return j
}

// erpHashes returns the stored content hash of each of recs that exists,
// by id.
func (s *Store) erpHashes(ctx context.Context, q driver.Querier, org uuid.UUID, recs []ERPRecord) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(recs))
	for start := 0; start < len(recs); start += 500 {
		chunk := recs[start:min(start+500, len(recs))]
		args := make([]any, 0, len(chunk))
		for _, r := range chunk {
			args = append(args, r.ID)
		}
		// By id alone: with "org_id = $1" in the WHERE clause SQLite's
		// planner walks the (org_id, …) unique index over every record of
		// the organization for each page. Ids embed the connection, so
		// they never collide across organizations; org is checked here.
		rows, err := q.Query(ctx, `SELECT id, org_id, content_hash FROM integration.erp_records
			WHERE id IN (`+placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, o uuid.UUID
			var h string
			if err := rows.Scan(&id, &o, &h); err != nil {
				rows.Close()
				return nil, err
			}
			if o == org {
				out[id] = h
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// saveJob writes a sync job's progress columns without an audit record:
// the job is created and finished through SyncJobs (audited); its counts
// move with every page.
func (s *Store) saveJob(ctx context.Context, q driver.Querier, org uuid.UUID, j *SyncJob, now time.Time) error {
	j.UpdatedAt = now
	n, err := q.Exec(ctx, `UPDATE integration.sync_jobs SET status = $3, records_read = $4, records_written = $5,
		records_failed = $6, watermark = $7, error = $8, updated_at = $9 WHERE org_id = $1 AND id = $2`,
		org, j.ID, j.Status, j.RecordsRead, j.RecordsWritten, j.RecordsFailed, j.Watermark, j.Error, now)
	if err != nil {
		return err
	}
	if n != 1 {
		return errorf(CodeNotFound, "store: saving a sync job", "no sync job %s in this organization", j.ID)
	}
	return nil
}

func putSyncState(ctx context.Context, q driver.Querier, org uuid.UUID, st SyncState, now time.Time) error {
	if st.Entity == "" || st.ConnectionID == uuid.Nil {
		return errorf(CodeInvalidArgument, "store: saving a sync state", "connection and entity are required")
	}
	_, err := q.Exec(ctx, `INSERT INTO integration.sync_state (org_id, connection_id, entity, watermark, resume_cursor, resume_since, resume_job, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (org_id, connection_id, entity) DO UPDATE SET watermark = excluded.watermark, resume_cursor = excluded.resume_cursor,
			resume_since = excluded.resume_since, resume_job = excluded.resume_job, updated_at = excluded.updated_at`,
		org, st.ConnectionID, st.Entity, st.Watermark, st.ResumeCursor, st.ResumeSince, st.ResumeJob, now)
	return err
}

// PutSyncState stores a connection entity's state.
func (s *Store) PutSyncState(ctx context.Context, org uuid.UUID, st SyncState) error {
	return s.tenantTx(ctx, "store: saving a sync state", org, false, func(q driver.Querier) error {
		return putSyncState(ctx, q, org, st, s.nowUTC())
	})
}

// SyncStates returns the states of a connection's entities, by entity.
func (s *Store) SyncStates(ctx context.Context, org, conn uuid.UUID) (map[string]SyncState, error) {
	out := map[string]SyncState{}
	err := s.tenantTx(ctx, "store: reading sync states", org, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, `SELECT connection_id, entity, watermark, resume_cursor, resume_since, resume_job, updated_at
			FROM integration.sync_state WHERE org_id = $1 AND connection_id = $2`, org, conn)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st SyncState
			if err := rows.Scan(&st.ConnectionID, &st.Entity, &st.Watermark, &st.ResumeCursor, &st.ResumeSince, &st.ResumeJob, &st.UpdatedAt); err != nil {
				return err
			}
			out[st.Entity] = st
		}
		return rows.Err()
	})
	return out, err
}

// FinishSyncJob writes a job's final counts and status, the entity's state
// and the connection's last sync time in one transaction.
func (s *Store) FinishSyncJob(ctx context.Context, org uuid.UUID, j *SyncJob, st SyncState) error {
	now := s.nowUTC()
	return s.tenantTx(ctx, "store: finishing a sync job", org, false, func(q driver.Querier) error {
		old := new(SyncJob)
		if err := q.QueryRow(ctx, s.c.syncJobs.selectSQL+" WHERE org_id = $1 AND id = $2 FOR UPDATE", org, j.ID).Scan(s.c.syncJobs.dest(old)...); err != nil {
			return err
		}
		j.FinishedAt = &now
		if err := s.c.syncJobs.replaceIn(ctx, q, org, old, j); err != nil {
			return err
		}
		if err := putSyncState(ctx, q, org, st, now); err != nil {
			return err
		}
		if j.Status == "succeeded" {
			_, err := q.Exec(ctx, `UPDATE integration.erp_connections SET last_sync_at = $3 WHERE org_id = $1 AND id = $2`, org, j.ConnectionID, now)
			return err
		}
		return nil
	})
}

// SyncJobsOf lists a connection's sync jobs, newest first (all
// connections' with conn uuid.Nil).
func (s *Store) SyncJobsOf(ctx context.Context, org, conn uuid.UUID, limit int) ([]*SyncJob, error) {
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	var out []*SyncJob
	err := s.tenantTx(ctx, "store: listing sync jobs", org, true, func(q driver.Querier) error {
		out = nil
		where, args := " WHERE org_id = $1", []any{org, limit}
		if conn != uuid.Nil {
			where, args = " WHERE org_id = $1 AND connection_id = $3", append(args, conn)
		}
		rows, err := q.Query(ctx, s.c.syncJobs.selectSQL+where+" ORDER BY created_at DESC, id LIMIT $2", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j := new(SyncJob)
			if err := rows.Scan(s.c.syncJobs.dest(j)...); err != nil {
				return err
			}
			out = append(out, j)
		}
		return rows.Err()
	})
	return out, err
}

// SyncErrors lists a job's quarantined records and unread pages, oldest first.
func (s *Store) SyncErrors(ctx context.Context, org, job uuid.UUID, limit int) ([]SyncError, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	var out []SyncError
	err := s.tenantTx(ctx, "store: listing sync errors", org, true, func(q driver.Querier) error {
		out = nil
		rows, err := q.Query(ctx, `SELECT id, job_id, connection_id, entity, record_key, reason, raw, created_at
			FROM integration.sync_errors WHERE org_id = $1 AND job_id = $2 ORDER BY created_at, id LIMIT $3`, org, job, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e SyncError
			if err := rows.Scan(&e.ID, &e.JobID, &e.ConnectionID, &e.Entity, &e.Key, &e.Reason, &e.Raw, &e.CreatedAt); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// AddSyncErrors records errors of a job outside a page commit (a record
// the posting step quarantined, a page that could not be read).
func (s *Store) AddSyncErrors(ctx context.Context, org uuid.UUID, errs []SyncError) error {
	if len(errs) == 0 {
		return nil
	}
	now := s.nowUTC()
	return s.tenantTx(ctx, "store: recording sync errors", org, false, func(q driver.Querier) error {
		rows := make([][]any, len(errs))
		for i, e := range errs {
			if e.ID == uuid.Nil {
				e.ID = uuid.New()
			}
			rows[i] = []any{e.ID, org, e.JobID, e.ConnectionID, e.Entity, e.Key, e.Reason, e.Raw, now}
		}
		_, err := s.d.BulkInsert(ctx, q, syncErrorsTable, rows)
		return err
	})
}

const erpRecordColumns = `id, connection_id, kind, record_key, modified_at, deleted, content_hash, data, original, first_job, last_job,
	state, note, posting, created_at, updated_at`

func scanERPRecord(rows driver.Rows) (ERPRecord, error) {
	var r ERPRecord
	err := rows.Scan(&r.ID, &r.ConnectionID, &r.Kind, &r.Key, &r.Modified, &r.Deleted, &r.ContentHash, &r.Data, &r.Original,
		&r.FirstJob, &r.LastJob, &r.State, &r.Note, &r.Posting, &r.CreatedAt, &r.UpdatedAt)
	return r, err
}

// ERPRecordsPending returns up to limit records of a connection whose
// current content is not yet posted, in key order.
func (s *Store) ERPRecordsPending(ctx context.Context, org, conn uuid.UUID, limit int) ([]ERPRecord, error) {
	var out []ERPRecord
	err := s.tenantTx(ctx, "store: reading pending ERP records", org, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, `SELECT `+erpRecordColumns+` FROM integration.erp_records
			WHERE org_id = $1 AND connection_id = $2 AND state = 'pending' ORDER BY kind, record_key LIMIT $3`, org, conn, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanERPRecord(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// ERPRecordGet returns one record of a connection.
func (s *Store) ERPRecordGet(ctx context.Context, org, conn uuid.UUID, kind, key string) (ERPRecord, error) {
	const op = "store: reading an ERP record"
	var r ERPRecord
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, `SELECT `+erpRecordColumns+` FROM integration.erp_records
			WHERE org_id = $1 AND id = $2`, org, ERPRecordID(conn, kind, key))
		if err != nil {
			return err
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return errorf(CodeNotFound, op, "no %s %q in connection %s", kind, key, conn)
		}
		r, err = scanERPRecord(rows)
		return err
	})
	return r, err
}

// ERPPosting is the outcome of posting one record: its new state, the note
// (why unmapped or quarantined) and what was posted. ContentHash must be the
// hash the posting read: a record that changed meanwhile stays pending.
type ERPPosting struct {
	Kind        string
	Key         string
	ContentHash string
	State       string
	Note        string
	Posting     JSON
}

// SetERPPostings records postings of a connection's records; it returns how
// many records were still at the hash the posting read.
func (s *Store) SetERPPostings(ctx context.Context, org, conn uuid.UUID, ps []ERPPosting) (int, error) {
	n := 0
	now := s.nowUTC()
	err := s.tenantTx(ctx, "store: recording ERP postings", org, false, func(q driver.Querier) error {
		n = 0
		if s.d.Name() == "postgres" {
			// One statement for the batch: a posting covers thousands of
			// records, and a round trip each cost more than the posting.
			ids, hashes, states, notes := make([]string, len(ps)), make([]string, len(ps)), make([]string, len(ps)), make([]string, len(ps))
			postings := make([]*string, len(ps))
			for i, p := range ps {
				ids[i], hashes[i], states[i], notes[i] = ERPRecordID(conn, p.Kind, p.Key).String(), p.ContentHash, p.State, p.Note
				if len(p.Posting) > 0 {
					v := string(p.Posting)
					postings[i] = &v
				}
			}
			c, err := q.Exec(ctx, `UPDATE integration.erp_records AS r SET state = v.state, note = v.note,
					posting = coalesce(v.posting::jsonb, r.posting), updated_at = $7
				FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) AS v(id, hash, state, note, posting)
				WHERE r.org_id = $1 AND r.id = v.id AND r.content_hash = v.hash`, org, ids, hashes, states, notes, postings, now)
			n = int(c)
			return err
		}
		for _, p := range ps {
			var posting any
			if len(p.Posting) > 0 {
				posting = p.Posting
			}
			c, err := q.Exec(ctx, `UPDATE integration.erp_records SET state = $4, note = $5, posting = coalesce($6, posting), updated_at = $7
				WHERE org_id = $1 AND id = $2 AND content_hash = $3`,
				org, ERPRecordID(conn, p.Kind, p.Key), p.ContentHash, p.State, p.Note, posting, now)
			if err != nil {
				return err
			}
			n += int(c)
		}
		return nil
	})
	return n, err
}

// RequeueUnmappedERPRecords sets every unmapped record of org back to
// pending (after the mapping changed) and returns how many.
func (s *Store) RequeueUnmappedERPRecords(ctx context.Context, org uuid.UUID) (int64, error) {
	var n int64
	err := s.tenantTx(ctx, "store: re-queueing unmapped ERP records", org, false, func(q driver.Querier) error {
		var err error
		n, err = q.Exec(ctx, `UPDATE integration.erp_records SET state = 'pending', note = '', updated_at = $2
			WHERE org_id = $1 AND state IN ('unmapped', 'quarantined')`, org, s.nowUTC())
		return err
	})
	return n, err
}

// ERPRecordCounts returns how many records of a connection are in each
// kind and state: counts[kind][state].
func (s *Store) ERPRecordCounts(ctx context.Context, org, conn uuid.UUID) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	err := s.tenantTx(ctx, "store: counting ERP records", org, true, func(q driver.Querier) error {
		rows, err := q.Query(ctx, `SELECT kind, state, count(*) FROM integration.erp_records
			WHERE org_id = $1 AND connection_id = $2 GROUP BY kind, state`, org, conn)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, st string
			var c int64
			if err := rows.Scan(&k, &st, &c); err != nil {
				return err
			}
			if out[k] == nil {
				out[k] = map[string]int64{}
			}
			out[k][st] = c
		}
		return rows.Err()
	})
	return out, err
}

// ActivityMapping is one version of an organization's mapping from ERP
// records to activity data.
type ActivityMapping struct {
	Version   int       `json:"version"`
	Rules     JSON      `json:"rules"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// PutActivityMapping stores rules as the organization's next mapping
// version, with an audit record, and returns it.
func (s *Store) PutActivityMapping(ctx context.Context, org uuid.UUID, rules JSON, by string) (ActivityMapping, error) {
	m := ActivityMapping{Rules: rules, CreatedBy: by, CreatedAt: s.nowUTC()}
	err := s.tenantTx(ctx, "store: saving an activity mapping", org, false, func(q driver.Querier) error {
		if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM integration.activity_mappings WHERE org_id = $1`, org).Scan(&m.Version); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO integration.activity_mappings (org_id, version, rules, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
			org, m.Version, rules, by, m.CreatedAt); err != nil {
			return err
		}
		return s.appendAudit(ctx, q, org, audit.ActionCreate, "activity_mapping", fmt.Sprint(m.Version), nil, m)
	})
	return m, err
}

// ActivityMappingLatest returns the organization's newest mapping version;
// CodeNotFound when it has none.
func (s *Store) ActivityMappingLatest(ctx context.Context, org uuid.UUID) (ActivityMapping, error) {
	return s.activityMapping(ctx, org, 0)
}

// ActivityMappingVersion returns one version of the organization's mapping.
func (s *Store) ActivityMappingVersion(ctx context.Context, org uuid.UUID, version int) (ActivityMapping, error) {
	return s.activityMapping(ctx, org, version)
}

func (s *Store) activityMapping(ctx context.Context, org uuid.UUID, version int) (ActivityMapping, error) {
	const op = "store: reading an activity mapping"
	var m ActivityMapping
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		err := q.QueryRow(ctx, `SELECT version, rules, created_by, created_at FROM integration.activity_mappings
			WHERE org_id = $1 AND (version = $2 OR $3) ORDER BY version DESC LIMIT 1`, org, version, version == 0).Scan(&m.Version, &m.Rules, &m.CreatedBy, &m.CreatedAt)
		if s.d.IsNoRows(err) {
			if version == 0 {
				return errorf(CodeNotFound, op, "the organization has no activity mapping (greenlang erp mapping set)")
			}
			return errorf(CodeNotFound, op, "the organization has no activity mapping version %d", version)
		}
		return err
	})
	return m, err
}

// ERPConnectionByName returns the organization's connection called name.
func (s *Store) ERPConnectionByName(ctx context.Context, org uuid.UUID, name string) (*ERPConnection, error) {
	const op = "store: reading an ERP connection"
	c := s.c.erpConnections
	v := new(ERPConnection)
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		err := q.QueryRow(ctx, c.selectSQL+" WHERE org_id = $1 AND name = $2", org, name).Scan(c.dest(v)...)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "no ERP connection %q in this organization (greenlang erp connection list)", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.openCredentials(v); err != nil {
		return nil, err
	}
	return v, nil
}

// ErrSyncLeaseHeld is returned (wrapped) by AcquireERPSyncLease when
// another holder's lease on the connection has not expired.
var ErrSyncLeaseHeld = errors.New("the connection is being synced by another process")

// AcquireERPSyncLease takes or renews holder's lease on syncing a
// connection until until. It fails with ErrSyncLeaseHeld while another
// holder's lease runs.
func (s *Store) AcquireERPSyncLease(ctx context.Context, org, conn, holder uuid.UUID, until time.Time) error {
	const op = "store: taking an ERP sync lease"
	now := s.nowUTC()
	return s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		n, err := q.Exec(ctx, `UPDATE integration.erp_connections SET sync_holder = $3, sync_lease_until = $4
			WHERE org_id = $1 AND id = $2 AND (sync_holder IS NULL OR sync_holder = $3 OR sync_lease_until < $5)`,
			org, conn, holder, until.UTC(), now)
		if err != nil || n == 1 {
			return err
		}
		var other *time.Time
		if err := q.QueryRow(ctx, `SELECT sync_lease_until FROM integration.erp_connections WHERE org_id = $1 AND id = $2`, org, conn).Scan(&other); err != nil {
			if s.d.IsNoRows(err) {
				return errorf(CodeNotFound, op, "no ERP connection %s in this organization", conn)
			}
			return err
		}
		until := "?"
		if other != nil {
			until = other.UTC().Format(time.RFC3339)
		}
		return &Error{Code: CodeFailedPrecondition, Op: op, Err: fmt.Errorf("%w (its lease runs until %s)", ErrSyncLeaseHeld, until)}
	})
}

// ReleaseERPSyncLease gives holder's lease on a connection up.
func (s *Store) ReleaseERPSyncLease(ctx context.Context, org, conn, holder uuid.UUID) error {
	return s.tenantTx(ctx, "store: releasing an ERP sync lease", org, false, func(q driver.Querier) error {
		_, err := q.Exec(ctx, `UPDATE integration.erp_connections SET sync_holder = NULL, sync_lease_until = NULL
			WHERE org_id = $1 AND id = $2 AND sync_holder = $3`, org, conn, holder)
		return err
	})
}

// UpdateERPCredentials merges changes into a connection's sealed
// credentials (a connector's rotated refresh token) without touching its
// other columns, and records the change, key names only, in the audit
// trail. An empty value removes its key.
func (s *Store) UpdateERPCredentials(ctx context.Context, org, conn uuid.UUID, changes map[string]string) error {
	const op = "store: updating ERP credentials"
	if len(changes) == 0 {
		return nil
	}
	c := s.c.erpConnections
	return s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		v := new(ERPConnection)
		err := q.QueryRow(ctx, c.selectSQL+" WHERE org_id = $1 AND id = $2 FOR UPDATE", org, conn).Scan(c.dest(v)...)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "no ERP connection %s in this organization", conn)
		}
		if err != nil {
			return err
		}
		if err := s.openCredentials(v); err != nil {
			return err
		}
		v.Credentials = MergeCredentials(v.Credentials, changes)
		keys := slices.Sorted(maps.Keys(changes))
		if err := s.sealCredentials(v); err != nil {
			return err
		}
		now := s.nowUTC()
		if _, err := q.Exec(ctx, `UPDATE integration.erp_connections SET credentials_enc = $3, credentials_key_id = $4, updated_at = $5
			WHERE org_id = $1 AND id = $2`, org, conn, v.sealed, v.keyID, now); err != nil {
			return err
		}
		return s.appendAudit(ctx, q, org, audit.ActionUpdate, "erp_connection", conn.String(), nil,
			map[string]any{"name": v.Name, "credentials_changed": keys})
	})
}

// States of a journal entry posted back to an ERP (ERPJournal.Status).
const (
	JournalStarted = "started" // sent, outcome not yet recorded
	JournalPosted  = "posted"  // the ERP created DocumentID
	JournalFailed  = "failed"  // the ERP or the way to it refused it: Error
)

// ERPJournal is the audit record of a journal entry posted back to an ERP.
// The trail is its only store: entity erp_journal_entry, id
// "<connection id>:<reference>", one entry per state change.
type ERPJournal struct {
	Connection     uuid.UUID         `json:"connection_id"`
	ConnectionName string            `json:"connection"`
	Reference      string            `json:"reference"`
	CompanyCode    string            `json:"company_code"`
	PostingDate    string            `json:"posting_date"`
	Lines          int               `json:"lines"`
	Totals         map[string]string `json:"debit_totals"` // per currency, and kg_co2e
	Status         string            `json:"status"`
	DocumentID     string            `json:"document_id,omitempty"`
	Error          string            `json:"error,omitempty"`
	At             time.Time         `json:"-"` // when the state was recorded (the audit entry's time)
}

const erpJournalEntity = "erp_journal_entry"

func erpJournalID(conn uuid.UUID, reference string) string { return conn.String() + ":" + reference }

// RecordERPJournal appends j in state status to the audit trail.
func (s *Store) RecordERPJournal(ctx context.Context, org uuid.UUID, j ERPJournal, status string) error {
	j.Status = status
	action := audit.ActionUpdate
	if status == JournalStarted {
		action = audit.ActionCreate
	}
	return s.auditOnly(ctx, "store: recording an ERP journal entry", org, action, erpJournalEntity, erpJournalID(j.Connection, j.Reference), j)
}

// auditOnly appends one audit entry, in its own transaction, for an event
// whose only record is the trail (a journal posting, an upload).
func (s *Store) auditOnly(ctx context.Context, op string, org uuid.UUID, action, kind, id string, v any) error {
	return s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		return s.appendAudit(ctx, q, org, action, kind, id, nil, v)
	})
}

// ERPJournalLatest returns the last recorded state of the journal entry
// with reference posted to conn, or nil if there is none.
func (s *Store) ERPJournalLatest(ctx context.Context, org, conn uuid.UUID, reference string) (*ERPJournal, error) {
	var (
		j    *ERPJournal
		body string
		at   time.Time
	)
	err := s.tenantTx(ctx, "store: reading an ERP journal entry", org, true, func(q driver.Querier) error {
		err := q.QueryRow(ctx, `SELECT new_values, occurred_at FROM audit.log
			WHERE org_id = $1 AND entity_type = $2 AND entity_id = $3 ORDER BY seq DESC LIMIT 1`,
			org, erpJournalEntity, erpJournalID(conn, reference)).Scan(&body, &at)
		if s.d.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		j = new(ERPJournal)
		if err := json.Unmarshal([]byte(body), j); err != nil {
			return fmt.Errorf("decoding the audit record of journal entry %s: %w", reference, err)
		}
		j.At = at.UTC()
		return nil
	})
	return j, err
}

// RecordERPUpload appends a file handed to a connection (a spreadsheet
// upload) to the audit trail: entity erp_upload, id "<connection id>:<file>",
// with what it held (v: erp.UploadResult).
func (s *Store) RecordERPUpload(ctx context.Context, org, conn uuid.UUID, file string, v any) error {
	return s.auditOnly(ctx, "store: recording an ERP upload", org, audit.ActionCreate, "erp_upload", conn.String()+":"+file, v)
}
