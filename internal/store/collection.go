package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// Record is a tenant record: Meta plus its own columns. Only this package's
// types implement it; other packages use it as a constraint.
type Record interface {
	RecordMeta() *Meta
	fields() []field
}

// Collection is the store's API for one kind of tenant Record. Every method
// takes the organization it acts for; a Record of another organization is
// never read, changed or deleted (ErrNotFound), on any driver.
type Collection[T any, P interface {
	*T
	Record
}] struct {
	s     *Store
	table string // schema-qualified table name
	kind  string // entity type in the audit trail
	cols  []string
	// sortable are the columns that sort the same on every engine (text,
	// integers, booleans, times, ids); decimals are stored as text on
	// SQLite and would sort as text there.
	sortable []string
	// validate checks a Record before it is written.
	validate func(P) error
	// beforeWrite runs after validation, inside the write (sealing secrets).
	beforeWrite func(P) error
	// afterRead runs on every Record read (opening secrets).
	afterRead func(P) error

	insertSQL, selectSQL, updateSQL string
}

func newCollection[T any, P interface {
	*T
	Record
}](s *Store, table, kind string) *Collection[T, P] {
	c := &Collection[T, P]{s: s, table: table, kind: kind}
	for _, f := range P(new(T)).fields() {
		c.cols = append(c.cols, f.col)
		if sortsEverywhere(reflect.TypeOf(f.ptr).Elem()) {
			c.sortable = append(c.sortable, f.col)
		}
	}
	c.sortable = append(c.sortable, "created_at", "updated_at")
	all := append([]string{"id", "org_id", "created_at", "updated_at"}, c.cols...)
	c.insertSQL = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(all, ", "), placeholders(1, len(all)))
	c.selectSQL = fmt.Sprintf("SELECT %s FROM %s", strings.Join(all, ", "), table)
	set := make([]string, 0, len(c.cols)+1)
	set = append(set, "updated_at = $3")
	for i, col := range c.cols {
		set = append(set, fmt.Sprintf("%s = $%d", col, i+4))
	}
	c.updateSQL = fmt.Sprintf("UPDATE %s SET %s WHERE org_id = $1 AND id = $2", table, strings.Join(set, ", "))
	return c
}

// sortsEverywhere reports whether a field of type t sorts in the same
// order on every engine.
func sortsEverywhere(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time](), reflect.TypeFor[uuid.UUID]():
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// SortColumns lists the columns ListOptions.Sort may name.
func (c *Collection[T, P]) SortColumns() []string { return slices.Clone(c.sortable) }

func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

func (c *Collection[T, P]) values(v P) []any { return valuesOf(v.RecordMeta(), v.fields()) }

// valuesOf is a record's values in column order: its Meta's, then its fields'.
func valuesOf(m *Meta, fs []field) []any {
	out := make([]any, 0, 4+len(fs))
	out = append(out, m.ID, m.OrgID, m.CreatedAt, m.UpdatedAt)
	for _, f := range fs {
		out = append(out, f.ptr)
	}
	return derefAll(out)
}

func (c *Collection[T, P]) dest(v P) []any {
	m := v.RecordMeta()
	fs := v.fields()
	out := make([]any, 0, 4+len(fs))
	out = append(out, &m.ID, &m.OrgID, &m.CreatedAt, &m.UpdatedAt)
	for _, f := range fs {
		out = append(out, f.ptr)
	}
	return out
}

func (c *Collection[T, P]) prepare(v P) error { return c.prepareFields(v, v.fields()) }

// prepareFields is prepare with v's fields already listed.
func (c *Collection[T, P]) prepareFields(v P, fs []field) error {
	if c.validate != nil {
		if err := c.validate(v); err != nil {
			return &Error{Code: CodeInvalidArgument, Op: fmtOp("validating", c.kind), Msg: err.Error()}
		}
	}
	normalizeTimes(fs)
	if c.beforeWrite != nil {
		return c.beforeWrite(v)
	}
	return nil
}

// normalizeTimes stores every time in UTC at microsecond precision, the
// finest both engines keep, so what is written is what is read back.
func normalizeTimes(fs []field) {
	for _, f := range fs {
		switch p := f.ptr.(type) {
		case *time.Time:
			*p = p.UTC().Truncate(time.Microsecond)
		case **time.Time:
			if *p != nil {
				t := (*p).UTC().Truncate(time.Microsecond)
				*p = &t
			}
		}
	}
}

// Create stores v as a new Record of org. It sets v's id (unless set),
// organization and timestamps.
func (c *Collection[T, P]) Create(ctx context.Context, org uuid.UUID, v P) error {
	op := fmtOp("creating", c.kind)
	return c.s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		return c.createIn(ctx, q, org, v)
	})
}

// createIn is Create inside a transaction the caller holds.
func (c *Collection[T, P]) createIn(ctx context.Context, q driver.Querier, org uuid.UUID, v P) error {
	m := v.RecordMeta()
	if m.ID == uuid.Nil {
		m.ID = newID()
	}
	m.OrgID = org
	now := c.s.nowUTC()
	m.CreatedAt, m.UpdatedAt = now, now
	if err := c.prepare(v); err != nil {
		return err
	}
	if _, err := q.Exec(ctx, c.insertSQL, c.values(v)...); err != nil {
		return err
	}
	return c.s.appendAudit(ctx, q, org, audit.ActionCreate, c.kind, m.ID.String(), nil, v)
}

// Get reads one Record of org by id.
func (c *Collection[T, P]) Get(ctx context.Context, org, id uuid.UUID) (P, error) {
	op := fmtOp("reading", c.kind)
	v := P(new(T))
	err := c.s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		return q.QueryRow(ctx, c.selectSQL+" WHERE org_id = $1 AND id = $2", org, id).Scan(c.dest(v)...)
	})
	if err != nil {
		return nil, err
	}
	if c.afterRead != nil {
		if err := c.afterRead(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ListOptions page through records in id order (ids are time-ordered UUIDv7,
// so this is creation order).
type ListOptions struct {
	// After returns records whose id follows this one (precedes it with
	// Desc); the zero id starts at the beginning (the end).
	After uuid.UUID
	// Limit caps the page; 0 means 100, and at most 1000 are returned.
	Limit int
	// Desc lists newest first.
	Desc bool
	// Where keeps the records whose column equals the value, for every
	// entry; a nil value keeps those where it is NULL. Columns must be the
	// collection's own (Columns), else the list fails with
	// CodeInvalidArgument; values are bound as parameters, of the Go type
	// of the record's field.
	Where map[string]any
	// TimeColumn, with Since and Until (zero: unbounded), keeps the
	// records with Since <= column < Until.
	TimeColumn   string
	Since, Until time.Time
	// Sort orders the list by this column (one of SortColumns), then by
	// id; "" is creation (id) order. With After, the page continues after
	// that record's place in this order, so the cursor stays a record id. Records whose column is NULL come last
	// (first with Desc).
	Sort string
}

// Columns lists the collection's own columns (besides id, org_id,
// created_at and updated_at), the ones ListOptions may filter on.
func (c *Collection[T, P]) Columns() []string { return append([]string(nil), c.cols...) }

// known reports whether col is one of the collection's columns a list may
// filter or sort on.
func (c *Collection[T, P]) known(col string) bool {
	return slices.Contains(c.cols, col) || col == "created_at" || col == "updated_at"
}

// listQuery is the SELECT of a List: org_id = $1, then o's conditions.
// With o.Sort and o.After, cursor is the After record's value of the sort
// column (nil when NULL).
func (c *Collection[T, P]) listQuery(org uuid.UUID, o ListOptions, limit int, cursor any) (string, []any, error) {
	var b strings.Builder
	args := []any{org}
	b.WriteString(c.selectSQL + " WHERE org_id = $1")
	switch {
	case o.Sort != "":
		if !slices.Contains(c.sortable, o.Sort) {
			return "", nil, fmt.Errorf("%s has no column %q to sort on", c.kind, o.Sort)
		}
		if o.After != uuid.Nil {
			// Keyset on (column IS NULL, column, id), the ORDER BY below.
			args = append(args, o.After)
			idArg := len(args)
			cmp := ">"
			if o.Desc {
				cmp = "<"
			}
			if cursor == nil {
				if o.Desc {
					fmt.Fprintf(&b, " AND (%[1]s IS NOT NULL OR id < $%[2]d)", o.Sort, idArg)
				} else {
					fmt.Fprintf(&b, " AND %[1]s IS NULL AND id > $%[2]d", o.Sort, idArg)
				}
			} else {
				args = append(args, cursor)
				fmt.Fprintf(&b, " AND (%[1]s %[2]s $%[3]d OR (%[1]s = $%[3]d AND id %[2]s $%[4]d)", o.Sort, cmp, len(args), idArg)
				if !o.Desc { // NULLs come after every value
					fmt.Fprintf(&b, " OR %s IS NULL", o.Sort)
				}
				b.WriteString(")")
			}
		}
	case o.After != uuid.Nil || !o.Desc:
		args = append(args, o.After)
		if o.Desc {
			fmt.Fprintf(&b, " AND id < $%d", len(args))
		} else {
			fmt.Fprintf(&b, " AND id > $%d", len(args))
		}
	}
	cols := make([]string, 0, len(o.Where))
	for col := range o.Where {
		cols = append(cols, col)
	}
	slices.Sort(cols) // one SQL text per set of columns
	for _, col := range cols {
		if !c.known(col) {
			return "", nil, fmt.Errorf("%s has no column %q to filter on", c.kind, col)
		}
		if v := o.Where[col]; v == nil {
			fmt.Fprintf(&b, " AND %s IS NULL", col)
		} else {
			args = append(args, v)
			fmt.Fprintf(&b, " AND %s = $%d", col, len(args))
		}
	}
	if o.TimeColumn != "" {
		if !c.known(o.TimeColumn) {
			return "", nil, fmt.Errorf("%s has no column %q to filter on", c.kind, o.TimeColumn)
		}
		if !o.Since.IsZero() {
			args = append(args, o.Since.UTC())
			fmt.Fprintf(&b, " AND %s >= $%d", o.TimeColumn, len(args))
		}
		if !o.Until.IsZero() {
			args = append(args, o.Until.UTC())
			fmt.Fprintf(&b, " AND %s < $%d", o.TimeColumn, len(args))
		}
	}
	switch {
	case o.Sort != "" && o.Desc:
		fmt.Fprintf(&b, " ORDER BY %[1]s IS NULL DESC, %[1]s DESC, id DESC", o.Sort)
	case o.Sort != "":
		fmt.Fprintf(&b, " ORDER BY %[1]s IS NULL, %[1]s, id", o.Sort)
	case o.Desc:
		b.WriteString(" ORDER BY id DESC")
	default:
		b.WriteString(" ORDER BY id")
	}
	args = append(args, limit)
	fmt.Fprintf(&b, " LIMIT $%d", len(args))
	return b.String(), args, nil
}

// Each calls fn with every record of org in id order, reading them a page
// of 1000 at a time (each page its own snapshot); fn must not use the store.
func (c *Collection[T, P]) Each(ctx context.Context, org uuid.UUID, fn func(P) error) error {
	const page = 1000
	for after := uuid.Nil; ; {
		vs, err := c.List(ctx, org, ListOptions{After: after, Limit: page})
		if err != nil {
			return err
		}
		for _, v := range vs {
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(vs) < page {
			return nil
		}
		after = vs[len(vs)-1].RecordMeta().ID
	}
}

// List reads a page of org's records.
func (c *Collection[T, P]) List(ctx context.Context, org uuid.UUID, o ListOptions) ([]P, error) {
	op := fmtOp("listing", c.kind)
	limit := o.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	if o.Sort != "" && !slices.Contains(c.sortable, o.Sort) {
		return nil, errorf(CodeInvalidArgument, op, "%s has no column %q to sort on", c.kind, o.Sort)
	}
	var out []P
	err := c.s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		out = out[:0]
		var cursor any
		if o.Sort != "" && o.After != uuid.Nil {
			// The sort column's value at the cursor, read as the engine
			// stores it so that binding it back compares like for like.
			err := q.QueryRow(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE org_id = $1 AND id = $2", o.Sort, c.table), org, o.After).Scan(&cursor)
			if c.s.d.IsNoRows(err) {
				return errorf(CodeNotFound, op, "after: no %s %s to continue from", c.kind, o.After)
			}
			if err != nil {
				return err
			}
		}
		query, args, err := c.listQuery(org, o, limit, cursor)
		if err != nil {
			return errorf(CodeInvalidArgument, op, "%v", err)
		}
		rows, err := q.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v := P(new(T))
			if err := rows.Scan(c.dest(v)...); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if c.afterRead != nil {
		for _, v := range out {
			if err := c.afterRead(v); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Update replaces every column of an existing Record of org and records the
// old and new values in the audit trail.
func (c *Collection[T, P]) Update(ctx context.Context, org uuid.UUID, v P) error {
	return c.s.tenantTx(ctx, fmtOp("updating", c.kind), org, false, func(q driver.Querier) error {
		return c.updateIn(ctx, q, org, v)
	})
}

// updateIn is Update inside a transaction the caller holds.
func (c *Collection[T, P]) updateIn(ctx context.Context, q driver.Querier, org uuid.UUID, v P) error {
	op := fmtOp("updating", c.kind)
	m := v.RecordMeta()
	if m.ID == uuid.Nil {
		return errorf(CodeInvalidArgument, op, "Record id is required")
	}
	old := P(new(T))
	if err := q.QueryRow(ctx, c.selectSQL+" WHERE org_id = $1 AND id = $2 FOR UPDATE", org, m.ID).Scan(c.dest(old)...); err != nil {
		return err
	}
	return c.replaceIn(ctx, q, org, old, v)
}

// replaceIn is updateIn for a caller that has already read (and locked)
// the record as old.
func (c *Collection[T, P]) replaceIn(ctx context.Context, q driver.Querier, org uuid.UUID, old, v P) error {
	op := fmtOp("updating", c.kind)
	m := v.RecordMeta()
	m.OrgID = org
	m.UpdatedAt = c.s.nowUTC()
	if err := c.prepare(v); err != nil {
		return err
	}
	m.CreatedAt = old.RecordMeta().CreatedAt
	args := append([]any{org, m.ID, m.UpdatedAt}, c.values(v)[4:]...)
	n, err := q.Exec(ctx, c.updateSQL, args...)
	if err != nil {
		return err
	}
	if n != 1 {
		return errorf(CodeNotFound, op, "no such Record in this organization")
	}
	return c.s.appendAudit(ctx, q, org, audit.ActionUpdate, c.kind, m.ID.String(), old, v)
}

// Delete removes a Record of org and records its last values in the audit trail.
func (c *Collection[T, P]) Delete(ctx context.Context, org, id uuid.UUID) error {
	op := fmtOp("deleting", c.kind)
	return c.s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		old := P(new(T))
		if err := q.QueryRow(ctx, c.selectSQL+" WHERE org_id = $1 AND id = $2 FOR UPDATE", org, id).Scan(c.dest(old)...); err != nil {
			return err
		}
		n, err := q.Exec(ctx, "DELETE FROM "+c.table+" WHERE org_id = $1 AND id = $2", org, id)
		if err != nil {
			return err
		}
		if n != 1 {
			return errorf(CodeNotFound, op, "no such Record in this organization")
		}
		return c.s.appendAudit(ctx, q, org, audit.ActionDelete, c.kind, id.String(), old, nil)
	})
}

// BulkResult reports a bulk insert.
type BulkResult struct {
	BatchID  uuid.UUID `json:"batch_id"`
	Inserted int64     `json:"inserted"`
	// Digest is the SHA-256 over the canonical JSON of every row, in order;
	// the audit trail records it for the batch.
	Digest string `json:"digest"`
}

// BulkInsert stores many new records of org in one transaction by the
// engine's bulk path. The audit trail gets one entry for the batch, carrying
// the row count and a digest of every row. Either all rows are stored or none.
func (c *Collection[T, P]) BulkInsert(ctx context.Context, org uuid.UUID, vs []T) (BulkResult, error) {
	op := fmtOp("bulk inserting", c.kind)
	if len(vs) == 0 {
		return BulkResult{BatchID: newID()}, nil
	}
	var res BulkResult
	err := c.s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		b := c.newBulk(org) // per attempt: a transaction may run again
		defer b.stop()
		if err := b.add(ctx, q, vs); err != nil {
			return err
		}
		err := b.finish(ctx, q)
		res = b.res
		return err
	})
	return res, err
}

// bulk loads records of one kind in one or more parts, inside a
// transaction the caller holds, as one batch: one batch id, one audit entry,
// and one digest over every row in order. The digest (SHA-256 over the
// canonical JSON of each row) is computed in a goroutine beside the load:
// only the audit entry after the last part needs it.
type bulk[T any, P interface {
	*T
	Record
}] struct {
	c     *Collection[T, P]
	org   uuid.UUID
	res   BulkResult
	first uuid.UUID
	last  uuid.UUID
	parts chan []T
	done  chan struct{}
	once  sync.Once
	sum   string
	err   error
	added bool
	// prepared counts the rows prepared so far, to name a bad row.
	prepared int64
	table    driver.Table // the collection's table and columns, as the driver loads them
}

func (c *Collection[T, P]) newBulk(org uuid.UUID) *bulk[T, P] {
	b := &bulk[T, P]{c: c, org: org, res: BulkResult{BatchID: newID()}, parts: make(chan []T, 64), done: make(chan struct{}),
		table: driver.Table{Name: c.table, Columns: append([]string{"id", "org_id", "created_at", "updated_at"}, c.cols...)}}
	go func() {
		defer close(b.done)
		h := sha256.New()
		var line []byte
		n := 0
		for part := range b.parts {
			for i := range part {
				n++
				if b.err != nil {
					continue
				}
				var err error
				if line, err = digestLine(line[:0], P(&part[i])); err != nil {
					b.err = errorf(CodeInvalidArgument, fmtOp("bulk inserting", c.kind), "row %d: %v", n, err)
				}
				h.Write(line)
			}
		}
		b.sum = hex.EncodeToString(h.Sum(nil))
	}()
	return b
}

// add prepares vs (ids, timestamps, batch) and loads them. A bulk belongs
// to one attempt of a transaction: one that runs again (SQLite retries one
// the database was locked for) needs a new bulk.
func (b *bulk[T, P]) add(ctx context.Context, q driver.Querier, vs []T) error {
	part, err := b.prepare(ctx, vs)
	if err != nil {
		return err
	}
	return b.load(ctx, q, part)
}

// bulkPart is part of a bulk made ready to load: its records with ids,
// organization, timestamps and batch set, and their rows (prepared by the
// driver when it is a BulkPreparer).
type bulkPart[T any] struct {
	vs       []T
	rows     [][]any
	prepared driver.PreparedBulk
}

// prepare readies vs for load. It needs no transaction, and parts may be
// prepared ahead of the loads (on another goroutine than load's, one part
// at a time, in load order).
func (b *bulk[T, P]) prepare(ctx context.Context, vs []T) (bulkPart[T], error) {
	c := b.c
	if len(vs) == 0 {
		return bulkPart[T]{}, nil
	}
	now := c.s.nowUTC()
	rows := make([][]any, len(vs))
	for i := range vs {
		v := P(&vs[i])
		m := v.RecordMeta()
		if m.ID == uuid.Nil {
			m.ID = newID()
		}
		m.OrgID, m.CreatedAt, m.UpdatedAt = b.org, now, now
		if s, ok := any(v).(interface{ setBatch(uuid.UUID) }); ok {
			s.setBatch(b.res.BatchID)
		}
		fs := v.fields() // once per row: the list is made anew each call
		if err := c.prepareFields(v, fs); err != nil {
			var se *Error
			if errors.As(err, &se) {
				se.Msg = fmt.Sprintf("row %d: %s", b.prepared+int64(i)+1, se.Msg)
			}
			return bulkPart[T]{}, err
		}
		rows[i] = valuesOf(m, fs)
	}
	b.prepared += int64(len(vs))
	part := bulkPart[T]{vs: vs, rows: rows}
	if p, ok := c.s.d.(driver.BulkPreparer); ok {
		pb, err := p.PrepareBulk(ctx, b.table, rows)
		if err != nil {
			return bulkPart[T]{}, err
		}
		part.prepared, part.rows = pb, nil
	}
	return part, nil
}

// load writes a prepared part inside q's transaction.
func (b *bulk[T, P]) load(ctx context.Context, q driver.Querier, part bulkPart[T]) error {
	vs := part.vs
	if len(vs) == 0 {
		return nil
	}
	var n int64
	var err error
	if part.prepared != nil {
		n, err = b.c.s.d.(driver.BulkPreparer).LoadPrepared(ctx, q, part.prepared)
	} else {
		n, err = b.c.s.d.BulkInsert(ctx, q, b.table, part.rows)
	}
	if err != nil {
		return err
	}
	if !b.added {
		b.first = P(&vs[0]).RecordMeta().ID
	}
	b.added = true
	b.last = P(&vs[len(vs)-1]).RecordMeta().ID
	b.res.Inserted += n
	b.parts <- vs
	return nil
}

// finish waits for the digest and writes the batch's audit entry.
func (b *bulk[T, P]) finish(ctx context.Context, q driver.Querier) error {
	b.stop()
	<-b.done
	if b.err != nil {
		return b.err
	}
	b.res.Digest = b.sum
	if !b.added {
		return nil
	}
	summary := map[string]any{"rows": b.res.Inserted, "sha256": b.res.Digest, "first_id": b.first, "last_id": b.last}
	return b.c.s.appendAudit(ctx, q, b.org, audit.ActionBulkInsert, b.c.kind, b.res.BatchID.String(), nil, summary)
}

// stop ends the digest goroutine; finish calls it, and every path that
// abandons a bulk must (defer it).
func (b *bulk[T, P]) stop() { b.once.Do(func() { close(b.parts) }) }

// derefAll replaces pointers by the values they point to (nil for nil), the
// form bulk loaders expect. The record fields' usual types are switched on
// directly; reflection handles the rest.
func derefAll(vals []any) []any {
	for i, v := range vals {
		var ok bool
		switch p := v.(type) {
		case *string:
			vals[i], ok = deref(p), true
		case *uuid.UUID:
			vals[i], ok = deref(p), true
		case *time.Time:
			vals[i], ok = deref(p), true
		case *decimal.Decimal:
			vals[i], ok = deref(p), true
		case *JSON:
			vals[i], ok = deref(p), true
		case *int:
			vals[i], ok = deref(p), true
		}
		if ok {
			continue
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer {
			continue
		}
		if rv.IsNil() {
			vals[i] = nil
			continue
		}
		e := rv.Elem()
		if e.Kind() == reflect.Pointer {
			if e.IsNil() {
				vals[i] = nil
				continue
			}
			e = e.Elem()
		}
		vals[i] = e.Interface()
	}
	return vals
}

// deref is *p, or nil for a nil p.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
