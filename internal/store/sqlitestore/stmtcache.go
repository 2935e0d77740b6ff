package sqlitestore

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"

	"modernc.org/sqlite"
)

// maxCachedStmts bounds each connection's statement cache. The store's
// statements are a fixed set of texts (a few hundred); list filters make
// more, so a full cache drops an entry at random for a new one.
const maxCachedStmts = 512

// cachingConnector opens modernc.org/sqlite connections that keep their
// prepared statements between calls. database/sql prepares a statement for
// every Exec and Query it hands a driver without one of its own (and
// finalizes it after), and modernc.org/sqlite has no cache: parsing and
// planning the SQL was about a sixth of the CPU of storing a ten-row
// activity batch. pgx caches its statements itself, so the PostgreSQL
// driver needs nothing like it.
type cachingConnector struct{ base driver.Connector }

func newCachingConnector(dsn string) (driver.Connector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{base}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn), nil
}

func (c cachingConnector) Driver() driver.Driver { return c.base.Driver() }

// The interfaces modernc.org/sqlite's connection implements that
// database/sql uses; cachingConn passes each on.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachedStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// cachingConn runs Exec and Query through prepared statements it keeps by
// SQL text. database/sql uses a connection from one goroutine at a time
// (closing rows included), so the cache needs no lock. A statement is taken
// out of the cache while it runs (an open result set holds it), so the
// same SQL run again meanwhile prepares a second statement: at most one per
// text goes back. A statement that failed is closed rather than kept.
type cachingConn struct {
	sqliteConn
	idle map[string]cachedStmt
}

func newCachingConn(c driver.Conn) driver.Conn {
	sc, ok := c.(sqliteConn)
	if !ok {
		return c // a driver without them: nothing to cache through
	}
	return &cachingConn{sqliteConn: sc, idle: map[string]cachedStmt{}}
}

// cacheable reports whether q is one statement worth keeping: scripts
// (migrations, the schema) run once and modernc.org/sqlite re-parses them
// statement by statement anyway.
func cacheable(q string) bool {
	return !strings.Contains(strings.TrimRight(q, "; \t\n"), ";")
}

func (c *cachingConn) take(ctx context.Context, q string) (cachedStmt, error) {
	if s, ok := c.idle[q]; ok {
		delete(c.idle, q)
		return s, nil
	}
	s, err := c.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	cs, ok := s.(cachedStmt)
	if !ok {
		s.Close()
		return nil, driver.ErrSkip
	}
	return cs, nil
}

// put returns s to the cache after a use that ended with err.
func (c *cachingConn) put(q string, s cachedStmt, err error) {
	if _, dup := c.idle[q]; dup || err != nil {
		s.Close()
		return
	}
	if len(c.idle) >= maxCachedStmts {
		for k, old := range c.idle { // a random one
			old.Close()
			delete(c.idle, k)
			break
		}
	}
	c.idle[q] = s
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if !cacheable(q) {
		return c.sqliteConn.ExecContext(ctx, q, args)
	}
	s, err := c.take(ctx, q)
	if err != nil {
		return nil, err
	}
	res, err := s.ExecContext(ctx, args)
	c.put(q, s, err)
	return res, err
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if !cacheable(q) {
		return c.sqliteConn.QueryContext(ctx, q, args)
	}
	s, err := c.take(ctx, q)
	if err != nil {
		return nil, err
	}
	r, err := s.QueryContext(ctx, args)
	if err != nil {
		c.put(q, s, err)
		return nil, err
	}
	return &cachedRows{Rows: r, c: c, q: q, s: s}, nil
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	for q, s := range c.idle {
		s.Close()
		delete(c.idle, q)
	}
	return c.sqliteConn.Close()
}

// cachedRows gives its statement back to the cache when closed. Rows of
// modernc.org/sqlite also describe their columns; database/sql asks for
// those through the interfaces below.
type cachedRows struct {
	driver.Rows
	c    *cachingConn
	q    string
	s    cachedStmt
	done bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close() // resets the statement
	if !r.done {
		r.done = true
		r.c.put(r.q, r.s, err)
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
