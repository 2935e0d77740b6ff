package driver

import "context"

// Dumper is the optional capability of an engine that copies its whole
// database out, as of one instant, and into a new database: the logical
// backup of internal/backup. A driver declares it by implementing the
// interface; the store port hands it out (store.Store.Dumper).
//
// Both directions see every row of every tenant: on an engine with
// row-level security they run as a role that bypasses it, and fail (naming
// the role) rather than silently see fewer rows.
type Dumper interface {
	// Snapshot runs fn with a read-only view of every table as of one
	// instant (one transaction), and ends the transaction when fn returns.
	Snapshot(ctx context.Context, fn func(DumpReader) error) error
	// Load runs fn in one transaction that may write every table. It
	// commits when fn returns nil, after bringing the engine's derived
	// state in line with the rows loaded (identity sequences, materialized
	// aggregates), and rolls back otherwise.
	Load(ctx context.Context, fn func(DumpWriter) error) error
}

// ColumnType is the portable type of a column's values in a dump.
type ColumnType string

// Column types. Each names the Go type a value has in DumpReader.Rows.
const (
	ColText    ColumnType = "text"    // string
	ColUUID    ColumnType = "uuid"    // string, canonical lowercase form
	ColDecimal ColumnType = "decimal" // string, the engine's exact text
	ColInt     ColumnType = "int"     // int64
	ColFloat   ColumnType = "float"   // float64
	ColBool    ColumnType = "bool"    // bool
	ColTime    ColumnType = "time"    // time.Time in UTC
	ColBytes   ColumnType = "bytes"   // []byte
	ColJSON    ColumnType = "json"    // json.RawMessage
)

// DumpColumn is one column of a dumped table.
type DumpColumn struct {
	Name string
	Type ColumnType
}

// DumpTable describes a table as the engine holds it. Partitioned tables
// are described (and read) through their parent only.
type DumpTable struct {
	// Name is schema-qualified in the store's dialect: "core.sites".
	Name string
	// Columns are the stored columns in the engine's order; generated
	// columns are left out (the engine computes them again).
	Columns []DumpColumn
	// Key is the columns rows are ordered by: the primary key, or every
	// column when there is none.
	Key []string
	// References are the other tables this one's foreign keys point at.
	References []string
}

// DumpReader reads tables in a Snapshot or Load transaction.
type DumpReader interface {
	// Tables lists every table the migrations made (not the migrations'
	// own bookkeeping), ordered by name.
	Tables(ctx context.Context) ([]DumpTable, error)
	// Count is the number of rows in table t.
	Count(ctx context.Context, t DumpTable) (int64, error)
	// Rows calls fn with each row of t in Key order: the values in Columns
	// order, each nil or of its column type's Go type. row is reused from
	// one call to the next.
	Rows(ctx context.Context, t DumpTable, fn func(row []any) error) error
}

// DumpWriter writes tables in a Load transaction.
type DumpWriter interface {
	DumpReader
	// Clear deletes every row of t (reference rows the migrations inserted).
	Clear(ctx context.Context, t DumpTable) error
	// Insert writes rows into t. columns name the values of each row, a
	// subset of t.Columns; the values have their column's Go type.
	Insert(ctx context.Context, t DumpTable, columns []string, rows [][]any) error
}

// RowError is what Insert returns when the engine refused one row of the
// batch: Index is the row's position in rows. Engines that load a batch in
// one statement return the engine's error as it is.
type RowError struct {
	Index int
	Err   error
}

func (e *RowError) Error() string { return e.Err.Error() }

// Unwrap returns the engine's error.
func (e *RowError) Unwrap() error { return e.Err }
