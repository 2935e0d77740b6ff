// Package backup writes a consistent logical backup of the whole relational
// store (every table of every schema, every tenant) and restores it into an
// empty database: the store room's backup and restore. The engine reads
// and writes tables through its driver.Dumper capability; this package owns
// the portable file format (format.go, docs/backup.md), foreign-key order
// and the checks: row counts and a SHA-256 per table, verified when a
// backup is read and again against the restored database.
package backup

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// Options tune Write, ToFile and Restore.
type Options struct {
	// Logger receives progress, one record per table; nil discards it.
	Logger *slog.Logger
	// Keep is how many backup files ToFile keeps in its directory, the
	// newest; zero or less keeps every one.
	Keep int
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Write writes a backup of st to w: one gzip stream holding the header and
// every table's rows, all read in one snapshot. now is the backup's time.
func Write(ctx context.Context, st *store.Store, w io.Writer, now time.Time, opts Options) (Manifest, error) {
	log := opts.logger()
	d, err := st.Dumper()
	if err != nil {
		return Manifest{}, err
	}
	m := Manifest{Format: Format, FormatVersion: FormatVersion, Engine: st.Driver(), CreatedAt: now.UTC()}
	start := time.Now()
	// The snapshot opens first: it checks the role can see every row.
	err = d.Snapshot(ctx, func(s driver.DumpReader) error {
		version, _, err := schemaVersions(ctx, st)
		if err != nil {
			return err
		}
		if version == 0 {
			return errors.New("backup: the store has no schema yet (run greenlang migrate up)")
		}
		m.SchemaVersion = version
		tables, err := s.Tables(ctx)
		if err != nil {
			return err
		}
		if tables, err = foreignKeyOrder(tables); err != nil {
			return err
		}
		// First pass: count and hash each table for the header. The
		// snapshot makes the second pass read the same rows.
		for _, t := range tables {
			n, sum, err := hashTable(ctx, s, t, nil)
			if err != nil {
				return err
			}
			m.Tables = append(m.Tables, manifestTable(t, n, sum))
		}
		gz := gzip.NewWriter(w)
		bw := bufio.NewWriterSize(gz, 1<<16)
		hdr, err := json.Marshal(m)
		if err != nil {
			return err
		}
		bw.Write(hdr)
		bw.WriteByte('\n')
		for i, t := range tables {
			writeMarker(bw, marker{Table: t.Name})
			n, sum, err := hashTable(ctx, s, t, bw)
			if err != nil {
				return err
			}
			if n != m.Tables[i].Rows || sum != m.Tables[i].SHA256 {
				return fmt.Errorf("backup: table %s changed between two reads of one snapshot", t.Name)
			}
			log.Debug("backup: table written", slog.String("table", t.Name), slog.Int64("rows", n))
		}
		writeMarker(bw, marker{End: true})
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("backup: writing: %w", err)
		}
		if err := gz.Close(); err != nil {
			return fmt.Errorf("backup: writing: %w", err)
		}
		return nil
	})
	if err != nil {
		return Manifest{}, err
	}
	log.Info("backup written", slog.String("engine", m.Engine), slog.Int64("schema_version", m.SchemaVersion),
		slog.Int("tables", len(m.Tables)), slog.Int64("rows", m.Rows()), slog.Duration("took", time.Since(start)))
	return m, nil
}

func writeMarker(w *bufio.Writer, mk marker) {
	b, _ := json.Marshal(mk) // two plain fields: cannot fail
	w.Write(b)
	w.WriteByte('\n')
}

func manifestTable(t driver.DumpTable, rows int64, sum string) Table {
	mt := Table{Name: t.Name, Key: t.Key, References: t.References, Rows: rows, SHA256: sum}
	for _, c := range t.Columns {
		mt.Columns = append(mt.Columns, Column{Name: c.Name, Type: string(c.Type)})
	}
	return mt
}

// hashTable reads t's rows in order, encodes each as a line, writes it to
// w unless w is nil, and returns the count and the lines' SHA-256.
func hashTable(ctx context.Context, s driver.DumpReader, t driver.DumpTable, w *bufio.Writer) (int64, string, error) {
	h := sha256.New()
	var n int64
	var line []byte
	err := s.Rows(ctx, t, func(row []any) error {
		n++
		var err error
		if line, err = appendRow(line[:0], t.Columns, row); err != nil {
			return fmt.Errorf("backup: table %s row %d: %w", t.Name, n, err)
		}
		h.Write(line)
		if w != nil {
			if _, err := w.Write(line); err != nil {
				return fmt.Errorf("backup: writing: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// schemaVersions returns the highest applied migration of st and the
// highest migration this binary carries.
func schemaVersions(ctx context.Context, st *store.Store) (applied, latest int64, err error) {
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range status {
		latest = max(latest, m.Version)
		if m.Applied {
			applied = max(applied, m.Version)
		}
	}
	return applied, latest, nil
}

// foreignKeyOrder sorts tables so that each comes after the tables it
// references, by name among equals.
func foreignKeyOrder(tables []driver.DumpTable) ([]driver.DumpTable, error) {
	byName := make(map[string]int, len(tables))
	for i, t := range tables {
		byName[t.Name] = i
	}
	pending := make([]int, len(tables)) // references not yet placed
	users := make(map[string][]int)     // referenced table -> referencing tables
	for i, t := range tables {
		for _, r := range t.References {
			if _, ok := byName[r]; ok && r != t.Name {
				pending[i]++
				users[r] = append(users[r], i)
			}
		}
	}
	var ready []int
	for i := range tables {
		if pending[i] == 0 {
			ready = append(ready, i)
		}
	}
	out := make([]driver.DumpTable, 0, len(tables))
	for len(ready) > 0 {
		sort.Slice(ready, func(a, b int) bool { return tables[ready[a]].Name < tables[ready[b]].Name })
		i := ready[0]
		ready = ready[1:]
		out = append(out, tables[i])
		for _, u := range users[tables[i].Name] {
			if pending[u]--; pending[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(out) < len(tables) {
		var cycle []string
		for i, t := range tables {
			if pending[i] > 0 {
				cycle = append(cycle, t.Name)
			}
		}
		return nil, fmt.Errorf("backup: the foreign keys of %s form a cycle; no load order exists", strings.Join(cycle, ", "))
	}
	return out, nil
}

// FilePrefix and FileSuffix frame the names ToFile gives backups:
// greenlang-20260102T030405Z.backup.gz.
const (
	FilePrefix = "greenlang-"
	FileSuffix = ".backup.gz"
	fileTime   = "20060102T150405Z"
)

// FileName is the name ToFile gives a backup made at now.
func FileName(now time.Time) string {
	return FilePrefix + now.UTC().Format(fileTime) + FileSuffix
}

// ToFile writes a backup of st into dir (created if missing) as
// FileName(now), atomically: a temporary file renamed once complete and
// synced. It then removes the oldest backups beyond opts.Keep. The error of
// that clean-up comes back with the path of the backup, which is complete.
func ToFile(ctx context.Context, st *store.Store, dir string, now time.Time, opts Options) (string, Manifest, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", Manifest{}, fmt.Errorf("backup: creating directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName(now))
	m, err := WriteFile(ctx, st, path, now, opts)
	if err != nil {
		return "", m, err
	}
	if opts.Keep > 0 {
		if err := prune(dir, opts.Keep, opts.logger()); err != nil {
			return path, m, err
		}
	}
	return path, m, nil
}

// WriteFile writes a backup of st to path atomically (a temporary file in
// the same directory, synced, then renamed). The file is readable by its
// owner only: it holds password hashes and sealed credentials.
func WriteFile(ctx context.Context, st *store.Store, path string, now time.Time, opts Options) (Manifest, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	m, err := Write(ctx, st, f, now, opts)
	if err != nil {
		return m, err
	}
	if err := f.Sync(); err != nil {
		return m, fmt.Errorf("backup: writing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return m, fmt.Errorf("backup: writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	done = true
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		d.Close()
	}
	return m, nil
}

// Files lists the backups ToFile wrote in dir, oldest first.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: listing %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, FilePrefix) || !strings.HasSuffix(n, FileSuffix) {
			continue
		}
		if _, err := time.Parse(fileTime, strings.TrimSuffix(strings.TrimPrefix(n, FilePrefix), FileSuffix)); err != nil {
			continue
		}
		names = append(names, filepath.Join(dir, n))
	}
	slices.Sort(names) // the time in the name sorts as text
	return names, nil
}

func prune(dir string, keep int, log *slog.Logger) error {
	files, err := Files(dir)
	if err != nil {
		return err
	}
	var errs []error
	for len(files) > keep {
		if err := os.Remove(files[0]); err != nil {
			errs = append(errs, err)
		} else {
			log.Info("backup: removed old backup", slog.String("path", files[0]))
		}
		files = files[1:]
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backup: removing old backups: %w", err)
	}
	return nil
}
