package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// ReadManifest reads only the header of a backup.
func ReadManifest(r io.Reader) (Manifest, error) {
	rd, err := newReader(r)
	if err != nil {
		return Manifest{}, err
	}
	return rd.m, nil
}

// Verify reads a whole backup without a store and checks every value, row
// count and table hash against the header.
func Verify(r io.Reader) (Manifest, error) {
	rd, err := newReader(r)
	if err != nil {
		return Manifest{}, err
	}
	return rd.m, rd.verify()
}

// verifyPlain is Verify on a stream that is not compressed.
func verifyPlain(r io.Reader) (Manifest, error) {
	rd, err := newPlainReader(r)
	if err != nil {
		return Manifest{}, err
	}
	return rd.m, rd.verify()
}

func (rd *reader) verify() error {
	for range rd.m.Tables {
		if _, err := rd.table(nil); err != nil {
			return err
		}
	}
	return rd.end()
}

// seededByMigrations reports whether the migrations themselves fill table
// with reference rows, so that a newly migrated database holds them.
// Restore replaces them with the backup's.
func seededByMigrations(table string) bool {
	return table == "csrd.esrs_standards"
}

// batchRows and batchBytes bound the rows handed to the engine at once.
const (
	batchRows  = 1000
	batchBytes = 4 << 20
)

// Restore loads the backup r into st, which must be empty: a database with
// no tables, migrated first to the backup's schema version, or one that only
// holds the schema at that version and the migrations' own reference rows.
// Every row goes in in one transaction, parents before children; before it
// commits, each table's row count and (same engine) SHA-256 are checked
// against the header. Any error rolls the whole load back.
func Restore(ctx context.Context, st *store.Store, r io.Reader, opts Options) (Manifest, error) {
	log := opts.logger()
	rd, err := newReader(r)
	if err != nil {
		return Manifest{}, err
	}
	m := rd.m
	d, err := st.Dumper()
	if err != nil {
		return m, err
	}
	sameEngine := m.Engine == st.Driver()
	if !sameEngine {
		log.Warn("backup: restoring across engines; values are converted where the types allow and checked by row count only",
			slog.String("backup_engine", m.Engine), slog.String("store_engine", st.Driver()))
	}
	migrateFirst, err := checkTarget(ctx, st, d, m)
	if err != nil {
		return m, err
	}
	if migrateFirst {
		if _, err := st.Migrate(ctx); err != nil {
			return m, fmt.Errorf("backup: migrating the new database: %w", err)
		}
	}
	start := time.Now()
	err = d.Load(ctx, func(w driver.DumpWriter) error {
		return load(ctx, w, rd, sameEngine, log)
	})
	if err != nil {
		return m, err
	}
	log.Info("backup restored", slog.String("engine", m.Engine), slog.Int64("schema_version", m.SchemaVersion),
		slog.Int("tables", len(m.Tables)), slog.Int64("rows", m.Rows()), slog.Duration("took", time.Since(start)))
	return m, nil
}

// checkTarget refuses a database that is not empty or whose schema version
// differs from the backup's, and says whether it must be migrated first.
func checkTarget(ctx context.Context, st *store.Store, d driver.Dumper, m Manifest) (bool, error) {
	// A role that cannot see every row fails here, by name.
	if err := d.Snapshot(ctx, func(driver.DumpReader) error { return nil }); err != nil {
		return false, err
	}
	// Empty before the status: reading the status may create goose's table.
	empty, err := st.Empty(ctx)
	if err != nil {
		return false, err
	}
	applied, latest, err := schemaVersions(ctx, st)
	if err != nil {
		return false, err
	}
	if latest != m.SchemaVersion {
		return false, fmt.Errorf("backup: the backup is at schema version %d but this greenlang's migrations end at %d: restore with the greenlang release that made the backup, then upgrade", m.SchemaVersion, latest)
	}
	if !empty && applied == 0 {
		// Nothing but goose's bookkeeping (made by a status check)?
		err := d.Snapshot(ctx, func(s driver.DumpReader) error {
			tables, err := s.Tables(ctx)
			empty = len(tables) == 0
			return err
		})
		if err != nil {
			return false, err
		}
	}
	if empty {
		return true, nil
	}
	if applied != latest {
		return false, fmt.Errorf("backup: the target database is not empty (it holds tables but its GreenLang schema is at version %d, not %d); restore needs a new, empty database", applied, latest)
	}
	return false, d.Snapshot(ctx, func(s driver.DumpReader) error {
		tables, err := s.Tables(ctx)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if seededByMigrations(t.Name) {
				continue
			}
			n, err := s.Count(ctx, t)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("backup: the target database is not empty: table %s holds %d rows; restore needs a new, empty database", t.Name, n)
			}
		}
		return nil
	})
}

// load runs inside the engine's load transaction.
func load(ctx context.Context, w driver.DumpWriter, rd *reader, sameEngine bool, log *slog.Logger) error {
	m := rd.m
	tables, err := w.Tables(ctx)
	if err != nil {
		return err
	}
	target := make(map[string]driver.DumpTable, len(tables))
	for _, t := range tables {
		target[t.Name] = t
	}
	pos := make(map[string]int, len(m.Tables))
	for i, t := range m.Tables {
		pos[t.Name] = i
	}
	for i, bt := range m.Tables {
		tt, ok := target[bt.Name]
		if !ok {
			if sameEngine {
				return fmt.Errorf("backup: table %s is in the backup but not in the database", bt.Name)
			}
			continue
		}
		if sameEngine && columnNames(bt.Columns) != columnNames(manifestTable(tt, 0, "").Columns) {
			return fmt.Errorf("backup: table %s: the backup's columns (%s) differ from the database's (%s)",
				bt.Name, columnNames(bt.Columns), columnNames(manifestTable(tt, 0, "").Columns))
		}
		for _, ref := range tt.References {
			if j, ok := pos[ref]; ok && j > i {
				return fmt.Errorf("backup: table %s comes before %s, which it references: no load order", bt.Name, ref)
			}
		}
	}
	if sameEngine {
		for _, t := range tables {
			if _, ok := pos[t.Name]; !ok {
				return fmt.Errorf("backup: table %s is in the database but not in the backup", t.Name)
			}
		}
	}
	// Empty the tables the migrations filled, children first.
	ordered, err := foreignKeyOrder(tables)
	if err != nil {
		return err
	}
	for i := len(ordered) - 1; i >= 0; i-- {
		n, err := w.Count(ctx, ordered[i])
		if err != nil {
			return err
		}
		if n > 0 {
			if err := w.Clear(ctx, ordered[i]); err != nil {
				return err
			}
		}
	}
	for range m.Tables {
		if err := loadTable(ctx, w, rd, target, log); err != nil {
			return err
		}
	}
	if err := rd.end(); err != nil {
		return err
	}
	// Check what the transaction now holds against the header.
	for _, bt := range m.Tables {
		tt, ok := target[bt.Name]
		if !ok {
			continue
		}
		n, err := w.Count(ctx, tt)
		if err != nil {
			return err
		}
		if n != bt.Rows {
			return fmt.Errorf("backup: table %s holds %d rows after loading, the backup %d", bt.Name, n, bt.Rows)
		}
		if !sameEngine {
			continue
		}
		_, sum, err := hashTable(ctx, w, tt, nil)
		if err != nil {
			return err
		}
		if sum != bt.SHA256 {
			return fmt.Errorf("backup: table %s reads back differently from the backup (SHA-256 mismatch after loading)", bt.Name)
		}
	}
	return nil
}

// loadTable reads the next table of rd and inserts its rows in batches.
func loadTable(ctx context.Context, w driver.DumpWriter, rd *reader, target map[string]driver.DumpTable, log *slog.Logger) error {
	bt := rd.m.Tables[rd.next]
	tt, ok := target[bt.Name]
	if !ok {
		log.Warn("backup: skipping a table the database does not have", slog.String("table", bt.Name), slog.Int64("rows", bt.Rows))
		_, err := rd.table(nil)
		return err
	}
	types := make(map[string]driver.ColumnType, len(tt.Columns))
	for _, c := range tt.Columns {
		types[c.Name] = c.Type
	}
	// Backup columns the database has, and their types on both sides.
	var (
		idx     []int
		names   []string
		from    []driver.ColumnType
		to      []driver.ColumnType
		dropped []string
	)
	for i, c := range bt.Columns {
		t, ok := types[c.Name]
		if !ok {
			dropped = append(dropped, c.Name)
			continue
		}
		idx = append(idx, i)
		names = append(names, c.Name)
		from = append(from, driver.ColumnType(c.Type))
		to = append(to, t)
	}
	if len(dropped) > 0 {
		log.Warn("backup: dropping columns the database does not have", slog.String("table", bt.Name), slog.Any("columns", dropped))
	}
	var (
		batch      [][]any
		batchFirst int64
		size       int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.Insert(ctx, tt, names, batch); err != nil {
			var re *driver.RowError
			if errors.As(err, &re) {
				return fmt.Errorf("backup: table %s row %d: %w", bt.Name, batchFirst+int64(re.Index), re.Err)
			}
			return fmt.Errorf("backup: table %s rows %d–%d: %w", bt.Name, batchFirst, batchFirst+int64(len(batch))-1, err)
		}
		batch, size = batch[:0], 0
		return nil
	}
	_, err := rd.table(func(n int64, row []any) error {
		out := make([]any, len(idx))
		for j, i := range idx {
			v, err := convert(row[i], from[j], to[j])
			if err != nil {
				return fmt.Errorf("backup: table %s row %d column %s: %w", bt.Name, n, names[j], err)
			}
			out[j] = v
			size += valueSize(v)
		}
		if len(batch) == 0 {
			batchFirst = n
		}
		batch = append(batch, out)
		if len(batch) >= batchRows || size >= batchBytes {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	log.Debug("backup: table loaded", slog.String("table", bt.Name), slog.Int64("rows", bt.Rows))
	return nil
}

func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []byte:
		return len(x)
	case json.RawMessage:
		return len(x)
	}
	return 8
}

// convert turns a value of the backup's column type into the database's
// column type: the identity on the same engine, best effort across them.
func convert(v any, from, to driver.ColumnType) (any, error) {
	if v == nil || from == to {
		return v, nil
	}
	textual := func(t driver.ColumnType) bool {
		return t == driver.ColText || t == driver.ColUUID || t == driver.ColDecimal
	}
	switch x := v.(type) {
	case string:
		switch {
		case textual(to):
			return x, nil
		case to == driver.ColJSON:
			if !json.Valid([]byte(x)) {
				return nil, fmt.Errorf("%q is not JSON", clip([]byte(x)))
			}
			return json.RawMessage(x), nil
		case to == driver.ColBytes:
			return []byte(x), nil
		case to == driver.ColTime:
			t, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return nil, fmt.Errorf("%q is not an RFC 3339 time", clip([]byte(x)))
			}
			return t.UTC(), nil
		case to == driver.ColInt:
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer", clip([]byte(x)))
			}
			return n, nil
		case to == driver.ColFloat:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", clip([]byte(x)))
			}
			return f, nil
		case to == driver.ColBool:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, fmt.Errorf("%q is not a boolean", clip([]byte(x)))
			}
			return b, nil
		}
	case json.RawMessage:
		if textual(to) {
			return string(x), nil
		}
	case int64:
		switch {
		case textual(to):
			return strconv.FormatInt(x, 10), nil
		case to == driver.ColFloat:
			return float64(x), nil
		case to == driver.ColBool && (x == 0 || x == 1):
			return x == 1, nil
		}
	case bool:
		if to == driver.ColInt {
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
		if textual(to) {
			return strconv.FormatBool(x), nil
		}
	case float64:
		if textual(to) {
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	case time.Time:
		if textual(to) {
			return x.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return nil, fmt.Errorf("a %s value cannot go into a %s column", from, to)
}
