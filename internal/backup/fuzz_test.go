package backup

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// sampleStream is an uncompressed backup with one table holding a value
// of every column type, nulls and awkward text.
func sampleStream(t testing.TB) []byte {
	t.Helper()
	cols := []driver.DumpColumn{
		{Name: "id", Type: driver.ColUUID}, {Name: "name", Type: driver.ColText}, {Name: "amount", Type: driver.ColDecimal},
		{Name: "n", Type: driver.ColInt}, {Name: "f", Type: driver.ColFloat}, {Name: "ok", Type: driver.ColBool},
		{Name: "at", Type: driver.ColTime}, {Name: "raw", Type: driver.ColBytes}, {Name: "doc", Type: driver.ColJSON},
	}
	rows := [][]any{
		{"0190a8f6-4f5e-7c3a-9d2b-1e2f3a4b5c6d", "Zürich \"HQ\"\n\t\x01", "-12.50", int64(-9007199254740993), 2.5, true,
			time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), []byte{0, 255}, json.RawMessage(`{"a": [1, "x"]}`)},
		{"0190a8f6-4f5e-7c3a-9d2b-1e2f3a4b5c6e", "", "0", int64(0), 0.0, false, time.Unix(0, 0).UTC(), []byte{}, json.RawMessage(`null`)},
		{"0190a8f6-4f5e-7c3a-9d2b-1e2f3a4b5c6f", nil, nil, nil, nil, nil, nil, nil, nil},
	}
	var body []byte
	h := sha256.New()
	for _, r := range rows {
		line, err := appendRow(nil, cols, r)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(line)
		body = append(body, line...)
	}
	m := Manifest{Format: Format, FormatVersion: FormatVersion, Engine: "sqlite", SchemaVersion: 14, CreatedAt: time.Unix(1, 0).UTC(),
		Tables: []Table{manifestTable(driver.DumpTable{Name: "core.sample", Columns: cols, Key: []string{"id"}}, int64(len(rows)), hex.EncodeToString(h.Sum(nil)))}}
	hdr, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(hdr)
	b.WriteString("\n{\"table\":\"core.sample\"}\n")
	b.Write(body)
	b.WriteString("{\"end\":true}\n")
	return b.Bytes()
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestSampleRoundTrip(t *testing.T) {
	plain := sampleStream(t)
	m, err := Verify(bytes.NewReader(gzipped(plain)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows() != 3 || m.Tables[0].Name != "core.sample" {
		t.Fatalf("manifest %+v", m)
	}
	// Each value decodes to what encodes to the same line again.
	rd, err := newPlainReader(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]driver.DumpColumn, len(m.Tables[0].Columns))
	for i, c := range m.Tables[0].Columns {
		cols[i] = driver.DumpColumn{Name: c.Name, Type: driver.ColumnType(c.Type)}
	}
	var again []byte
	if _, err := rd.table(func(_ int64, row []any) error {
		again, err = appendRow(again, cols, row)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plain), string(again)) {
		t.Fatalf("rows encode differently after decoding:\n%s", again)
	}
}

func TestInvalidUTF8IsRefused(t *testing.T) {
	_, err := appendRow(nil, []driver.DumpColumn{{Name: "name", Type: driver.ColText}}, []any{"a\xffb"})
	if err == nil || err.Error() != "column name: text is not valid UTF-8" {
		t.Fatalf("invalid UTF-8: %v", err)
	}
}

// FuzzReadBackup feeds arbitrary bytes to the reader, compressed or not:
// it must return an error or a manifest, never panic.
func FuzzReadBackup(f *testing.F) {
	plain := sampleStream(f)
	f.Add(plain)
	f.Add(gzipped(plain))
	f.Add(plain[:len(plain)/2])
	f.Add(gzipped(plain)[:40])
	f.Add([]byte(`{"format":"greenlang-backup","format_version":1,"engine":"x","schema_version":1,"created_at":"2026-01-01T00:00:00Z","tables":[]}` + "\n" + `{"end":true}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Manifest
		var err error
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
			m, err = Verify(bytes.NewReader(data))
		} else {
			m, err = verifyPlain(bytes.NewReader(data))
		}
		if err == nil && m.Format != Format {
			t.Fatalf("accepted a stream of format %q", m.Format)
		}
	})
}
