package backup

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// The stream, after gzip, is JSON lines:
//
//	{header: Manifest}
//	{"table":"core.organizations"}
//	[row values…]            × the table's row count
//	{"table":"core.users"}
//	…
//	{"end":true}
//
// A table's SHA-256 is over its row lines exactly as written, newline
// included.

// Format names the file format in the header.
const Format = "greenlang-backup"

// FormatVersion is the version of the format this package writes and reads.
const FormatVersion = 1

// maxLine bounds one line of the stream (the header or one row).
const maxLine = 256 << 20

// timeLayout writes times in UTC with nanoseconds, fixed width.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Manifest is a backup's header: what it holds and how to check it.
type Manifest struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"format_version"`
	Engine        string    `json:"engine"`
	SchemaVersion int64     `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	// Tables are in foreign-key order: a table comes after those it references.
	Tables []Table `json:"tables"`
}

// Rows is the number of rows of every table together.
func (m Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// Table is one table of a backup.
type Table struct {
	Name       string   `json:"name"` // schema-qualified: core.sites
	Columns    []Column `json:"columns"`
	Key        []string `json:"key,omitempty"`
	References []string `json:"references,omitempty"`
	Rows       int64    `json:"rows"`
	SHA256     string   `json:"sha256"` // hex, over the table's row lines
}

// Column is one column of a table and the portable type of its values:
// text, uuid, decimal (a string, exact), int, float (a string), bool, time
// (RFC 3339 UTC with nanoseconds), bytes (base64) or json (the value itself).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func knownType(t driver.ColumnType) bool {
	switch t {
	case driver.ColText, driver.ColUUID, driver.ColDecimal, driver.ColInt, driver.ColFloat,
		driver.ColBool, driver.ColTime, driver.ColBytes, driver.ColJSON:
		return true
	}
	return false
}

// marker is a line between tables.
type marker struct {
	Table string `json:"table,omitempty"`
	End   bool   `json:"end,omitempty"`
}

// appendRow appends row as one JSON line.
func appendRow(b []byte, cols []driver.DumpColumn, row []any) ([]byte, error) {
	b = append(b, '[')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(b, c.Type, row[i]); err != nil {
			return b, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return append(b, ']', '\n'), nil
}

func appendValue(b []byte, typ driver.ColumnType, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	switch typ {
	case driver.ColText, driver.ColUUID, driver.ColDecimal:
		if s, ok := v.(string); ok {
			return appendString(b, s)
		}
	case driver.ColInt:
		if x, ok := v.(int64); ok {
			return strconv.AppendInt(b, x, 10), nil
		}
	case driver.ColFloat:
		if x, ok := v.(float64); ok {
			return appendString(b, strconv.FormatFloat(x, 'g', -1, 64))
		}
	case driver.ColBool:
		if x, ok := v.(bool); ok {
			return strconv.AppendBool(b, x), nil
		}
	case driver.ColTime:
		if x, ok := v.(time.Time); ok {
			return appendString(b, x.UTC().Format(timeLayout))
		}
	case driver.ColBytes:
		if x, ok := v.([]byte); ok {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, x)
			return append(b, '"'), nil
		}
	case driver.ColJSON:
		var raw []byte
		switch x := v.(type) {
		case json.RawMessage:
			raw = x
		case string:
			raw = []byte(x)
		}
		if raw != nil {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return b, fmt.Errorf("invalid JSON: %w", err)
			}
			return append(b, buf.Bytes()...), nil
		}
	}
	return b, fmt.Errorf("a %T where a %s value belongs", v, typ)
}

// appendString appends s as a JSON string; s must be valid UTF-8, or the
// backup could not give it back byte for byte.
func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return b, errors.New("text is not valid UTF-8")
	}
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"'), nil
}

// decodeValue reads one value of a row line.
func decodeValue(typ driver.ColumnType, raw json.RawMessage) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	str := func() (string, error) {
		var s string
		if len(raw) == 0 || raw[0] != '"' {
			return "", fmt.Errorf("want a string for a %s value, got %s", typ, clip(raw))
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("bad string %s: %w", clip(raw), err)
		}
		return s, nil
	}
	switch typ {
	case driver.ColText:
		return str()
	case driver.ColUUID:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if _, err := uuid.Parse(s); err != nil {
			return nil, fmt.Errorf("%q is not a UUID", clip([]byte(s)))
		}
		return s, nil
	case driver.ColDecimal:
		s, err := str()
		if err != nil {
			return nil, err
		}
		switch s {
		case "NaN", "Infinity", "-Infinity":
		default:
			if _, err := decimal.NewFromString(s); err != nil {
				return nil, fmt.Errorf("%q is not a decimal", clip([]byte(s)))
			}
		}
		return s, nil
	case driver.ColInt:
		x, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %s", clip(raw))
		}
		return x, nil
	case driver.ColFloat:
		s, err := str()
		if err != nil {
			return nil, err
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil && !math.IsInf(x, 0) {
			return nil, fmt.Errorf("%q is not a number", clip([]byte(s)))
		}
		return x, nil
	case driver.ColBool:
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("want true or false, got %s", clip(raw))
	case driver.ColTime:
		s, err := str()
		if err != nil {
			return nil, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an RFC 3339 time", clip([]byte(s)))
		}
		return t.UTC(), nil
	case driver.ColBytes:
		s, err := str()
		if err != nil {
			return nil, err
		}
		x, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, errors.New("bytes are not valid base64")
		}
		return x, nil
	case driver.ColJSON:
		if !json.Valid(raw) {
			return nil, fmt.Errorf("invalid JSON %s", clip(raw))
		}
		return json.RawMessage(bytes.Clone(raw)), nil
	}
	return nil, fmt.Errorf("unknown column type %q", typ)
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// reader reads a backup stream: the header, then each table in turn.
type reader struct {
	gz   *gzip.Reader // nil for a stream that is not compressed
	br   *bufio.Reader
	line int64
	m    Manifest
	next int // index of the next table to read
}

// newReader decompresses r and reads and checks the header.
func newReader(r io.Reader) (*reader, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("backup: the file is empty")
		}
		return nil, fmt.Errorf("backup: not a gzip-compressed GreenLang backup: %w", err)
	}
	rd, err := newPlainReader(gz)
	if err != nil {
		return nil, err
	}
	rd.gz = gz
	return rd, nil
}

// newPlainReader reads an uncompressed stream.
func newPlainReader(r io.Reader) (*reader, error) {
	rd := &reader{br: bufio.NewReaderSize(r, 1<<16)}
	line, err := rd.readLine()
	if err != nil {
		return nil, fmt.Errorf("backup: reading the header: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rd.m); err != nil {
		return nil, fmt.Errorf("backup: the header is not a GreenLang backup header: %w", err)
	}
	if err := rd.m.check(); err != nil {
		return nil, fmt.Errorf("backup: header: %w", err)
	}
	return rd, nil
}

func (m *Manifest) check() error {
	if m.Format != Format {
		return fmt.Errorf("format %q is not %q", m.Format, Format)
	}
	if m.FormatVersion != FormatVersion {
		return fmt.Errorf("format version %d: this greenlang reads version %d", m.FormatVersion, FormatVersion)
	}
	if m.Engine == "" {
		return errors.New("no engine")
	}
	if m.SchemaVersion <= 0 {
		return fmt.Errorf("schema version %d", m.SchemaVersion)
	}
	seen := map[string]bool{}
	for i, t := range m.Tables {
		if t.Name == "" {
			return fmt.Errorf("table %d has no name", i+1)
		}
		if seen[t.Name] {
			return fmt.Errorf("table %s is listed twice", t.Name)
		}
		seen[t.Name] = true
		if len(t.Columns) == 0 {
			return fmt.Errorf("table %s has no columns", t.Name)
		}
		cols := map[string]bool{}
		for _, c := range t.Columns {
			if c.Name == "" || cols[c.Name] {
				return fmt.Errorf("table %s: column %q is empty or listed twice", t.Name, c.Name)
			}
			cols[c.Name] = true
			if !knownType(driver.ColumnType(c.Type)) {
				return fmt.Errorf("table %s column %s: unknown type %q", t.Name, c.Name, c.Type)
			}
		}
		if t.Rows < 0 {
			return fmt.Errorf("table %s: %d rows", t.Name, t.Rows)
		}
		if h, err := hex.DecodeString(t.SHA256); err != nil || len(h) != sha256.Size {
			return fmt.Errorf("table %s: SHA-256 %q is not 64 hex digits", t.Name, clip([]byte(t.SHA256)))
		}
	}
	return nil
}

// readLine returns the next line without its newline. The slice is valid
// until the next call.
func (rd *reader) readLine() ([]byte, error) {
	rd.line++
	line, err := rd.br.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		buf := bytes.Clone(line)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > maxLine {
				return nil, fmt.Errorf("line longer than %d bytes", maxLine)
			}
			line, err = rd.br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		if err == nil {
			return buf[:len(buf)-1], nil
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w (the backup is truncated)", io.ErrUnexpectedEOF)
	}
	return nil, err
}

func (rd *reader) readMarker() (marker, error) {
	line, err := rd.readLine()
	if err != nil {
		return marker{}, fmt.Errorf("line %d: %w", rd.line, err)
	}
	var mk marker
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &mk) != nil {
		return marker{}, fmt.Errorf("line %d: want a table marker, got %s", rd.line, clip(line))
	}
	return mk, nil
}

// table reads the next table's rows, calling fn with each one decoded (the
// row is reused), and checks their count and hash against the header.
func (rd *reader) table(fn func(rowNo int64, row []any) error) (Table, error) {
	if rd.next >= len(rd.m.Tables) {
		return Table{}, errors.New("backup: no more tables")
	}
	t := rd.m.Tables[rd.next]
	rd.next++
	mk, err := rd.readMarker()
	if err != nil {
		return t, fmt.Errorf("backup: table %s: %w", t.Name, err)
	}
	if mk.Table != t.Name {
		return t, fmt.Errorf("backup: line %d: want the rows of table %s, found %q", rd.line, t.Name, mk.Table)
	}
	h := sha256.New()
	row := make([]any, len(t.Columns))
	var raws []json.RawMessage
	for n := int64(1); n <= t.Rows; n++ {
		if err := rd.readRow(h, t.Columns, &raws, row); err != nil {
			return t, fmt.Errorf("backup: table %s row %d (line %d): %w", t.Name, n, rd.line, err)
		}
		if fn != nil {
			if err := fn(n, row); err != nil {
				return t, err
			}
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != t.SHA256 {
		return t, fmt.Errorf("backup: table %s: its rows do not match the header's SHA-256 (the backup is corrupted)", t.Name)
	}
	return t, nil
}

func (rd *reader) readRow(h hash.Hash, cols []Column, raws *[]json.RawMessage, row []any) error {
	line, err := rd.readLine()
	if err != nil {
		return err
	}
	h.Write(line)
	h.Write([]byte{'\n'})
	if len(line) == 0 || line[0] != '[' {
		return fmt.Errorf("want a row, got %s (fewer rows than the header says?)", clip(line))
	}
	*raws = (*raws)[:0]
	if err := json.Unmarshal(line, raws); err != nil {
		return fmt.Errorf("malformed row: %w", err)
	}
	if len(*raws) != len(cols) {
		return fmt.Errorf("%d values for %d columns", len(*raws), len(cols))
	}
	for i, raw := range *raws {
		v, err := decodeValue(driver.ColumnType(cols[i].Type), raw)
		if err != nil {
			return fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
		row[i] = v
	}
	return nil
}

// end reads the end marker and checks that nothing follows it (reading to
// the end also makes gzip check its checksum).
func (rd *reader) end() error {
	mk, err := rd.readMarker()
	if err != nil {
		return fmt.Errorf("backup: after the last table: %w", err)
	}
	if !mk.End {
		if mk.Table != "" {
			return fmt.Errorf("backup: line %d: table %q is not in the header", rd.line, mk.Table)
		}
		return fmt.Errorf("backup: line %d: want the end marker", rd.line)
	}
	n, err := io.Copy(io.Discard, rd.br)
	if err != nil {
		return fmt.Errorf("backup: after the end marker: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("backup: %d unexpected bytes after the end marker", n)
	}
	return nil
}

// columnNames names the header's columns, for messages.
func columnNames(cols []Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = c.Name + " " + c.Type
	}
	return strings.Join(s, ", ")
}
