package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// Bulk loads encode their rows in PostgreSQL's binary COPY format
// themselves rather than through pgx's CopyFrom, which encodes while it
// sends: inside the transaction, so the server waited for the encoding of
// every part of a calculation run (about half of each COPY's time). Here
// PrepareBulk encodes with the same pgx type map (the codecs the
// connections register) wherever the caller likes, and LoadPrepared only
// sends the bytes. The format is the one pgx writes: the signature, flags
// and extension length, then per row the field count and each field's
// length (-1 for NULL) and binary value, then the trailer.

var copySignature = []byte("PGCOPY\n\377\r\n\000")

// preparedCopy is a bulk load's rows as one binary COPY stream.
type preparedCopy struct {
	table driver.Table
	data  []byte
	rows  int
}

var _ driver.BulkPreparer = (*Driver)(nil)

// newTypeMap is a type map with the codecs every connection registers
// (AfterConnect). A pgtype.Map caches encode plans and is not safe for
// concurrent use: the driver keeps a pool of them.
func newTypeMap() *pgtype.Map {
	m := pgtype.NewMap()
	pgxdecimal.Register(m)
	pgxuuid.Register(m)
	return m
}

// PrepareBulk implements driver.BulkPreparer. The column types are read
// from the catalog on a table's first load and kept.
func (d *Driver) PrepareBulk(ctx context.Context, t driver.Table, rows [][]any) (driver.PreparedBulk, error) {
	oids, err := d.columnOIDs(ctx, t)
	if err != nil {
		return nil, err
	}
	m := d.typeMaps.Get().(*pgtype.Map)
	defer d.typeMaps.Put(m)
	data, err := encodeCopy(m, oids, t, rows)
	if err != nil {
		return nil, err
	}
	return &preparedCopy{table: t, data: data, rows: len(rows)}, nil
}

// encodeCopy encodes rows for the columns of oids as one binary COPY
// stream. A value its column's codec cannot take in binary is tried as
// text when it is a string, as pgx's CopyFrom does.
func encodeCopy(m *pgtype.Map, oids []uint32, t driver.Table, rows [][]any) ([]byte, error) {
	size := 32
	if len(rows) > 0 {
		size += len(rows) * (2 + len(oids)*20) // a first guess; append grows it
	}
	buf := make([]byte, 0, size)
	buf = append(buf, copySignature...)
	buf = binary.BigEndian.AppendUint32(buf, 0) // flags
	buf = binary.BigEndian.AppendUint32(buf, 0) // header extension length
	for r, row := range rows {
		if len(row) != len(oids) {
			return nil, fmt.Errorf("postgres: bulk load of %s: row %d has %d values for %d columns", t.Name, r+1, len(row), len(oids))
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(oids)))
		for i, v := range row {
			at := len(buf)
			buf = binary.BigEndian.AppendUint32(buf, 0xFFFFFFFF) // NULL unless the codec writes a value
			out, err := m.Encode(oids[i], pgtype.BinaryFormatCode, v, buf)
			if s, ok := v.(string); err != nil && ok {
				var parsed any
				if m.Scan(oids[i], pgtype.TextFormatCode, []byte(s), &parsed) == nil {
					out, err = m.Encode(oids[i], pgtype.BinaryFormatCode, parsed, buf)
				}
			}
			if err != nil {
				return nil, fmt.Errorf("postgres: bulk load of %s: row %d, column %s: %w", t.Name, r+1, t.Columns[i], err)
			}
			if out != nil {
				buf = out
				binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
			}
		}
	}
	return binary.BigEndian.AppendUint16(buf, 0xFFFF), nil
}

// columnOIDs are the type OIDs of t's columns, in t.Columns' order.
func (d *Driver) columnOIDs(ctx context.Context, t driver.Table) ([]uint32, error) {
	var types map[string]uint32
	if v, ok := d.columnTypes.Load(t.Name); ok {
		types = v.(map[string]uint32)
	} else {
		types = map[string]uint32{}
		rows, err := d.pool.Query(ctx, `SELECT attname, atttypid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, t.Name)
		if err != nil {
			return nil, fmt.Errorf("postgres: reading the columns of %s: %w", t.Name, err)
		}
		for rows.Next() {
			var name string
			var oid uint32
			if err := rows.Scan(&name, &oid); err != nil {
				rows.Close()
				return nil, fmt.Errorf("postgres: reading the columns of %s: %w", t.Name, err)
			}
			types[name] = oid
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("postgres: reading the columns of %s: %w", t.Name, err)
		}
		d.columnTypes.Store(t.Name, types)
	}
	oids := make([]uint32, len(t.Columns))
	for i, c := range t.Columns {
		oid, ok := types[c]
		if !ok {
			return nil, fmt.Errorf("postgres: bulk load of %s: the table has no column %q", t.Name, c)
		}
		oids[i] = oid
	}
	return oids, nil
}

// stageDeadRows bounds the rows deleted from a staging table since it was
// last truncated.
const stageDeadRows = 5000

// stage is a transaction's staging table for one table.
type stage struct {
	name string
	dead int // rows deleted since the table was created or truncated
}

// BulkInsert implements driver.Driver. PostgreSQL refuses COPY into a table
// with row-level security, so rows are copied into a temporary table and
// moved with one INSERT … SELECT, which the policies check. A transaction
// loading a table in several parts creates its staging table once and
// empties it as each part is moved. Staging tables are named after their table
// (temporary tables are the session's own), so a connection reuses its
// prepared statements from one load to the next.
//
// The first bulk load of a transaction also sets plan_cache_mode to
// force_generic_plan for the rest of it. Each row's foreign-key check is a
// cached query; against a partitioned table (a result's activity record)
// PostgreSQL's cost model prefers a custom plan, planned again for every
// row over every partition, because it does not count the partitions that
// run-time pruning skips. The generic plan prunes to one partition at
// execution and checks the same keys at a fraction of the cost.
func (d *Driver) BulkInsert(ctx context.Context, q driver.Querier, t driver.Table, rows [][]any) (int64, error) {
	p, err := d.PrepareBulk(ctx, t, rows)
	if err != nil {
		return 0, err
	}
	return d.LoadPrepared(ctx, q, p)
}

// LoadPrepared implements driver.BulkPreparer: BulkInsert's load, of rows
// PrepareBulk encoded.
func (d *Driver) LoadPrepared(ctx context.Context, dq driver.Querier, pb driver.PreparedBulk) (int64, error) {
	p, ok := pb.(*preparedCopy)
	if !ok {
		return 0, fmt.Errorf("postgres: LoadPrepared was given %T, not rows this driver prepared", pb)
	}
	if p.rows == 0 {
		return 0, nil
	}
	q := dq.(*querier)
	tx := q.tx
	if q.staged == nil {
		if _, err := tx.Exec(ctx, "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"); err != nil {
			return 0, err
		}
		q.staged = map[string]*stage{}
	}
	t := p.table
	st, ok := q.staged[t.Name]
	if !ok {
		st = &stage{name: "bulk_" + strings.ReplaceAll(t.Name, ".", "_")}
		// IF NOT EXISTS: after a rollback to a savepoint (RolledBack) the
		// table may or may not have survived.
		if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP", st.name, t.Name)); err != nil {
			return 0, err
		}
		q.staged[t.Name] = st
	}
	cols := strings.Join(t.Columns, ", ")
	copySQL := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", pgx.Identifier{st.name}.Sanitize(), cols)
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(p.data), copySQL); err != nil {
		return 0, err
	}
	conflict := ""
	if t.IgnoreConflicts {
		conflict = " ON CONFLICT DO NOTHING"
	}
	// The rows are moved out of the staging table, which is left empty for
	// the next part. While few rows have been moved they are deleted as
	// they are moved, in the same statement; past stageDeadRows the table
	// is truncated instead, so that no load scans many dead rows (nothing
	// vacuums a temporary table). TRUNCATE costs half a millisecond
	// whatever the size, more than a ten-row group-committed save's INSERT.
	if st.dead+p.rows <= stageDeadRows {
		tag, err := tx.Exec(ctx, fmt.Sprintf("WITH moved AS (DELETE FROM %s RETURNING %s) INSERT INTO %s (%s) SELECT %s FROM moved%s", st.name, cols, t.Name, cols, cols, conflict))
		if err != nil {
			return 0, err
		}
		st.dead += p.rows
		return tag.RowsAffected(), nil
	}
	tag, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s%s", t.Name, cols, cols, st.name, conflict))
	if err != nil {
		return 0, err
	}
	// Created in this transaction, the table is emptied in place.
	if _, err := tx.Exec(ctx, "TRUNCATE "+st.name); err != nil {
		return 0, err
	}
	st.dead = 0
	return tag.RowsAffected(), nil
}
