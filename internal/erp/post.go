package erp

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/store"
)

// Poster turns a connection's pending records into activity data with the
// organization's latest mapping, calculating them with the GHG engine, and
// supplier master data into supply_chain.suppliers.
//
// Each posting is deterministic in its record's content and the job that
// last changed it: the activity's origin reference is
// erp:<connection>:<kind>:<key>:<content>.<job>. A record that changes is
// reversed (a correction row cancelling what was posted) and posted anew; a
// deleted one is reversed. Before storing activities, a posting records its
// intent (the references it is about to store) on the records; a crash
// between storing the activities and marking the records posted is then
// harmless: the next posting looks up those references and stores only
// the missing ones.
type Poster struct {
	st   *store.Store
	calc *calculation.Service
	log  *slog.Logger
	// Batch is how many records one calculation run takes (default 5000).
	Batch int
	// GWPSet is the GWP set of the runs; empty means the engine's default.
	GWPSet string
}

// NewPoster returns a poster.
func NewPoster(st *store.Store, calc *calculation.Service, log *slog.Logger) *Poster {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poster{st: st, calc: calc, log: log, Batch: 5000}
}

// PostReport counts what a posting did.
type PostReport struct {
	MappingVersion int         `json:"mapping_version"`
	Records        int         `json:"records"`
	Posted         int         `json:"posted"`
	Reversed       int         `json:"reversed"`
	Unmapped       int         `json:"unmapped"`
	Quarantined    int         `json:"quarantined"`
	Suppliers      int         `json:"suppliers"`
	Activities     int64       `json:"activities_stored"`
	Runs           []uuid.UUID `json:"runs,omitempty"`
	// Notes are why records were unmapped or quarantined: the most
	// frequent reasons, each with how many records it held back.
	Notes []string `json:"notes,omitempty"`

	reasons map[string]int
}

// add adds the counts of another posting (of the same sync) to r.
func (r *PostReport) add(o PostReport) {
	if o.MappingVersion != 0 {
		r.MappingVersion = o.MappingVersion
	}
	r.Records += o.Records
	r.Posted += o.Posted
	r.Reversed += o.Reversed
	r.Unmapped += o.Unmapped
	r.Quarantined += o.Quarantined
	r.Suppliers += o.Suppliers
	r.Activities += o.Activities
	r.Runs = append(r.Runs, o.Runs...)
	for k, n := range o.reasons {
		if r.reasons == nil {
			r.reasons = map[string]int{}
		}
		r.reasons[k] += n
	}
}

// note counts a reason a record was held back.
func (r *PostReport) note(reason string) {
	if r.reasons == nil {
		r.reasons = map[string]int{}
	}
	r.reasons[reason]++
}

// finishNotes turns the counted reasons into Notes.
func (r *PostReport) finishNotes() {
	type rc struct {
		reason string
		n      int
	}
	var all []rc
	for k, n := range r.reasons {
		all = append(all, rc{k, n})
	}
	slices.SortFunc(all, func(a, b rc) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.reason, b.reason)
	})
	r.Notes = nil
	for i, x := range all {
		if i == maxNotes {
			r.Notes = append(r.Notes, fmt.Sprintf("… and %d other reasons", len(all)-maxNotes))
			break
		}
		if x.n == 1 {
			r.Notes = append(r.Notes, x.reason)
		} else {
			r.Notes = append(r.Notes, fmt.Sprintf("%s (%d records)", x.reason, x.n))
		}
	}
}

// posting is what integration.erp_records.posting keeps of a record's
// current contribution.
type posting struct {
	Ref            string     `json:"ref,omitempty"` // origin_ref of the activity now counted
	Activity       *Activity  `json:"activity,omitempty"`
	MappingVersion int        `json:"mapping_version,omitempty"`
	SupplierID     *uuid.UUID `json:"supplier_id,omitempty"`
	Reversed       []string   `json:"reversed,omitempty"` // refs this record has reversed, newest last
	// Intent lists the refs a posting is storing: written before the
	// activities, cleared after. A record found pending with an intent was
	// interrupted; only its refs are looked up in the activity data.
	Intent []string `json:"intent,omitempty"`
}

const maxNotes = 20

// Post posts every pending record of connection c.
func (p *Poster) Post(ctx context.Context, org uuid.UUID, c *store.ERPConnection) (rep PostReport, err error) {
	defer rep.finishNotes()
	var m *Mapping
	var stored store.ActivityMapping
	stored, err = p.st.ActivityMappingLatest(ctx, org)
	switch {
	case store.CodeOf(err) == store.CodeNotFound:
	case err != nil:
		return rep, err
	default:
		if m, err = ParseMapping(stored.Rules); err != nil {
			return rep, fmt.Errorf("erp: stored mapping version %d: %w", stored.Version, err)
		}
		rep.MappingVersion = stored.Version
	}
	batch := p.Batch
	if batch <= 0 {
		batch = 5000
	}
	for {
		recs, err := p.st.ERPRecordsPending(ctx, org, c.ID, batch)
		if err != nil {
			return rep, err
		}
		if len(recs) == 0 {
			return rep, nil
		}
		n, err := p.postBatch(ctx, org, c, m, rep.MappingVersion, recs, &rep)
		if err != nil {
			return rep, err
		}
		if n == 0 {
			// Every record changed under us: the next sync posts them.
			return rep, nil
		}
	}
}

// row is one activity row of a batch and the record it belongs to.
type row struct {
	rec      int
	ref      string
	act      Activity
	reversal bool
}

func (p *Poster) postBatch(ctx context.Context, org uuid.UUID, c *store.ERPConnection, m *Mapping, version int, recs []store.ERPRecord, rep *PostReport) (int, error) {
	rep.Records += len(recs)
	out := make([]store.ERPPosting, len(recs))
	docs := make([]posting, len(recs))
	prevs := make([]posting, len(recs))
	maybe := map[string]bool{} // refs an interrupted posting may have stored
	var rows []row
	note := rep.note
	for i := range recs {
		sr := &recs[i]
		out[i] = store.ERPPosting{Kind: sr.Kind, Key: sr.Key, ContentHash: sr.ContentHash}
		var prev posting
		if len(sr.Posting) > 0 {
			if err := json.Unmarshal(sr.Posting, &prev); err != nil {
				return 0, fmt.Errorf("erp: record %s %s: stored posting: %w", sr.Kind, sr.Key, err)
			}
		}
		prevs[i] = prev
		for _, ref := range prev.Intent {
			maybe[ref] = true
		}
		prev.Intent = nil
		docs[i] = prev
		var r Record
		if err := json.Unmarshal(sr.Data, &r); err != nil {
			return 0, fmt.Errorf("erp: record %s %s: stored data: %w", sr.Kind, sr.Key, err)
		}
		// A line of a deleted document is deleted by the store, not by its data.
		r.Deleted = r.Deleted || sr.Deleted
		// What the record counted until now is reversed whenever its
		// content changed (the record is pending because it did).
		if prev.Ref != "" && prev.Activity != nil {
			rows = append(rows, row{rec: i, ref: prev.Ref + ":reversal", act: prev.Activity.Reversed(), reversal: true})
			docs[i].Reversed = append(docs[i].Reversed, prev.Ref)
			docs[i].Ref, docs[i].Activity = "", nil
		}
		if r.Kind == KindSupplier {
			id, err := p.supplier(ctx, org, &r, prev.SupplierID)
			if err != nil {
				return 0, err
			}
			docs[i].SupplierID = id
			out[i].State = store.ERPSkipped
			rep.Suppliers++
			continue
		}
		if r.Deleted {
			out[i].State = store.ERPSkipped
			out[i].Note = "deleted in the source"
			continue
		}
		if m == nil {
			if r.Kind == KindPOLine || r.Kind == KindGLEntry || r.Kind == KindExpenseLine {
				out[i].State, out[i].Note = store.ERPUnmapped, "the organization has no activity mapping (greenlang erp mapping set)"
				rep.Unmapped++
				note(out[i].Note)
			} else {
				out[i].State = store.ERPSkipped
			}
			continue
		}
		act, err := m.Map(&r)
		var um *Unmapped
		switch {
		case errors.As(err, &um):
			out[i].State, out[i].Note = store.ERPUnmapped, um.Reason
			rep.Unmapped++
			note(um.Reason)
		case err != nil:
			out[i].State, out[i].Note = store.ERPQuarantined, err.Error()
			rep.Quarantined++
			note(err.Error())
		case act == nil:
			out[i].State = store.ERPSkipped
		default:
			ref := fmt.Sprintf("erp:%s:%s:%s:%s.%s", c.ID, sr.Kind, sr.Key, sr.ContentHash[:8], sr.LastJob.String()[:8])
			rows = append(rows, row{rec: i, ref: ref, act: *act})
			out[i].State = store.ERPPosted
			docs[i].Ref, docs[i].Activity, docs[i].MappingVersion = ref, act, version
		}
	}
	if err := p.intend(ctx, org, c, recs, prevs, rows); err != nil {
		return 0, err
	}
	if err := p.ingest(ctx, org, m, rows, maybe, out, docs, rep, note); err != nil {
		return 0, err
	}
	for i := range out {
		b, err := json.Marshal(docs[i])
		if err != nil {
			return 0, err
		}
		out[i].Posting = b
	}
	return p.st.SetERPPostings(ctx, org, c.ID, out)
}

// intend records on each record with rows the refs the posting is about to
// store (the record stays pending; its posting keeps what it counted).
func (p *Poster) intend(ctx context.Context, org uuid.UUID, c *store.ERPConnection, recs []store.ERPRecord, prevs []posting, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	refs := map[int][]string{}
	for _, r := range rows {
		refs[r.rec] = append(refs[r.rec], r.ref)
	}
	ps := make([]store.ERPPosting, 0, len(refs))
	for i, rs := range refs {
		doc := prevs[i]
		doc.Intent = rs
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		ps = append(ps, store.ERPPosting{Kind: recs[i].Kind, Key: recs[i].Key, ContentHash: recs[i].ContentHash, State: store.ERPPending, Posting: b})
	}
	_, err := p.st.SetERPPostings(ctx, org, c.ID, ps)
	return err
}

// ingest stores rows not stored yet as one calculation run; a row the
// engine refuses quarantines its record with the engine's reason. Rows
// whose ref is in maybe (an interrupted posting's intent) are looked up
// first and skipped when stored.
func (p *Poster) ingest(ctx context.Context, org uuid.UUID, m *Mapping, rows []row, maybe map[string]bool, out []store.ERPPosting, docs []posting, rep *PostReport, note func(string)) error {
	if len(rows) == 0 {
		return nil
	}
	var refs []string
	var from, to time.Time
	for _, r := range rows {
		if !maybe[r.ref] {
			continue
		}
		if len(refs) == 0 {
			from, to = r.act.PeriodStart, r.act.PeriodStart
		}
		refs = append(refs, r.ref)
		from, to = minTime(from, r.act.PeriodStart), maxTime(to, r.act.PeriodStart)
	}
	done := map[string]bool{}
	if len(refs) > 0 {
		var err error
		if done, err = p.st.ActivityOriginRefsStored(ctx, org, from.Truncate(24*time.Hour), to.Add(24*time.Hour), refs); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(ActivityColumns())
	line := 1
	byLine := map[int]row{}
	for _, r := range rows {
		if r.reversal {
			rep.Reversed++
		}
		if done[r.ref] {
			continue
		}
		line++
		byLine[line] = r
		_ = w.Write(r.act.Row(r.ref))
	}
	w.Flush()
	for _, r := range rows {
		if !r.reversal && out[r.rec].State == store.ERPPosted {
			rep.Posted++
		}
	}
	if line == 1 {
		return nil
	}
	o := calculation.Options{GWPSet: p.GWPSet}
	if m != nil {
		var err error
		if o.FX, o.Index, err = m.Economics(); err != nil {
			return err
		}
	}
	report, stored, err := p.calc.Ingest(ctx, p.st, org, &buf, o, time.Now())
	switch {
	case errors.Is(err, calculation.ErrAlreadyStored):
		// The same rows were stored by a posting that did not get to mark
		// its records (refs make a batch's rows unique otherwise).
	case err != nil:
		return fmt.Errorf("erp: storing activity data: %w", err)
	default:
		rep.Activities += stored.Activities
		rep.Runs = append(rep.Runs, stored.RunID)
	}
	for _, e := range report.Errors {
		r, ok := byLine[e.Line]
		if !ok {
			return fmt.Errorf("erp: the engine refused line %d, which no record wrote: %v", e.Line, e)
		}
		reason := fmt.Sprintf("the engine refused the activity: %s", e.Error())
		if r.reversal {
			reason = "the engine refused the reversal of the earlier posting: " + e.Error()
		}
		if out[r.rec].State == store.ERPPosted {
			rep.Posted--
		}
		out[r.rec].State, out[r.rec].Note = store.ERPQuarantined, reason
		docs[r.rec].Ref, docs[r.rec].Activity = "", nil
		rep.Quarantined++
		note(reason)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// supplier creates or updates the supply-chain supplier a supplier record
// stands for, returning its id.
func (p *Poster) supplier(ctx context.Context, org uuid.UUID, r *Record, id *uuid.UUID) (*uuid.UUID, error) {
	var cur *store.Supplier
	if id != nil {
		s, err := p.st.Suppliers().Get(ctx, org, *id)
		switch {
		case store.CodeOf(err) == store.CodeNotFound:
		case err != nil:
			return nil, err
		default:
			cur = s
		}
	}
	if r.Deleted || r.Supplier == nil {
		if cur != nil && cur.Active {
			cur.Active = false
			return id, p.st.Suppliers().Update(ctx, org, cur)
		}
		return id, nil
	}
	s := r.Supplier
	next := store.Supplier{Name: s.Name, LegalName: s.LegalName, TaxID: s.TaxID, DUNS: s.DUNS, Country: s.Country,
		NAICS: s.NAICS, Website: s.Website, Active: !s.Blocked}
	if cur == nil {
		if err := p.st.Suppliers().Create(ctx, org, &next); err != nil {
			return nil, err
		}
		return &next.ID, nil
	}
	next.Meta, next.RiskScore, next.ESG = cur.Meta, cur.RiskScore, cur.ESG
	return id, p.st.Suppliers().Update(ctx, org, &next)
}
