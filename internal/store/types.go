package store

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// JSON is a JSON document stored in a jsonb column (TEXT on SQLite). The
// zero value stores as an empty object.
type JSON []byte

// Value implements driver.Valuer.
func (j JSON) Value() (driver.Value, error) {
	if len(bytes.TrimSpace(j)) == 0 {
		return "{}", nil
	}
	if !json.Valid(j) {
		return nil, fmt.Errorf("invalid JSON document")
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case string:
		*j = JSON(v)
	case []byte:
		*j = append(JSON(nil), v...)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("scanning JSON from %T: %w", src, err)
		}
		*j = b
	}
	return nil
}

// MarshalJSON keeps the document as it is.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(bytes.TrimSpace(j)) == 0 {
		return []byte("{}"), nil
	}
	return j, nil
}

// UnmarshalJSON keeps the document as it is.
func (j *JSON) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

// StringList is a list of strings stored as a JSON array.
type StringList []string

// Value implements driver.Valuer.
func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

// Scan implements sql.Scanner.
func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case []any:
		out := make(StringList, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("scanning string list: element %T", e)
			}
			out = append(out, s)
		}
		*l = out
		return nil
	default:
		return fmt.Errorf("scanning string list from %T", src)
	}
	return json.Unmarshal(b, (*[]string)(l))
}
