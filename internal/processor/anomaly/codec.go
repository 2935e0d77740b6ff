package anomaly

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// A device's baselines are checkpointed as one state entry at every
// commit that touches the device (State.TakeChanges), so their encoding
// is on the hot path of the IoT pipeline. Device.MarshalJSON writes them
// by hand, compactly:
//
//	{"series":{"<metric>":{"w":[["<at>","<value>"],…],"la":"<last at>","li":"<last id>",
//	  "ma":"<max at>","ref":{<reading>},"p":[["<event id>","<at>","<value>"],…]}}}
//
// Times are RFC 3339 with nanoseconds (as encoding/json writes them, so a
// restored state produces byte-identical outputs), values decimal strings.
// A pending reading is stored as its event id, time and value when its
// other fields (organization, device, type, metric, unit, site) are those
// of the series' ref, the first pending reading's; otherwise whole,
// {"event_id":…,"reading":{…}}. Device.UnmarshalJSON reads both this and
// the field-by-field form of whole-state checkpoints (Series' own JSON
// tags), which State.UnmarshalJSON still meets.

// MarshalJSON implements json.Marshaler with the compact form.
func (d *Device) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64+len(d.Series)*(96+capHint(d)*48))
	b = append(b, `{"series":{`...)
	for i, metric := range slices.Sorted(maps.Keys(d.Series)) {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendString(b, metric); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = d.Series[metric].appendCompact(b); err != nil {
			return nil, fmt.Errorf("series %s: %w", metric, err)
		}
	}
	return append(b, "}}"...), nil
}

// capHint is the most points and pending readings of a series of d: a
// capacity hint for the encoding.
func capHint(d *Device) int {
	n := 0
	for _, s := range d.Series {
		n = max(n, len(s.Window)+len(s.Pending))
	}
	return n
}

func (s *Series) appendCompact(b []byte) ([]byte, error) {
	b = append(b, '{')
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	var err error
	if len(s.Window) > 0 {
		field("w")
		b = append(b, '[')
		for i, p := range s.Window {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			if b, err = appendTime(b, p.At); err != nil {
				return nil, err
			}
			b = append(b, ',')
			b = appendDecimal(b, p.Value)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	if !s.LastAt.IsZero() {
		field("la")
		if b, err = appendTime(b, s.LastAt); err != nil {
			return nil, err
		}
	}
	if s.LastID != "" {
		field("li")
		if b, err = appendString(b, s.LastID); err != nil {
			return nil, err
		}
	}
	if !s.MaxAt.IsZero() {
		field("ma")
		if b, err = appendTime(b, s.MaxAt); err != nil {
			return nil, err
		}
	}
	if len(s.Pending) > 0 {
		ref := s.Pending[0].Reading
		field("ref")
		rb, err := json.Marshal(ref)
		if err != nil {
			return nil, err
		}
		b = append(b, rb...)
		field("p")
		b = append(b, '[')
		for i, p := range s.Pending {
			if i > 0 {
				b = append(b, ',')
			}
			if !sameSeries(p.Reading, ref) || !p.Reading.Value.Valid {
				pb, err := json.Marshal(p)
				if err != nil {
					return nil, err
				}
				b = append(b, pb...)
				continue
			}
			b = append(b, '[')
			if b, err = appendString(b, p.EventID); err != nil {
				return nil, err
			}
			b = append(b, ',')
			if b, err = appendTime(b, p.Reading.OccurredAt); err != nil {
				return nil, err
			}
			b = append(b, ',')
			b = appendDecimal(b, p.Reading.Value.Decimal)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// sameSeries reports whether a and b differ in value and time only.
func sameSeries(a, b Reading) bool {
	return a.OrgID == b.OrgID && a.DeviceID == b.DeviceID && a.DeviceType == b.DeviceType && a.Metric == b.Metric &&
		a.Unit == b.Unit && a.Site == b.Site
}

// appendTime appends t as encoding/json does (RFC 3339 with nanoseconds,
// quoted), refusing the years it refuses.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("time %s: year outside [0, 9999]", t)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendDecimal appends d as a JSON string, as decimal.Decimal marshals.
func appendDecimal(b []byte, d decimal.Decimal) []byte {
	b = append(b, '"')
	b = append(b, d.String()...)
	return append(b, '"')
}

// appendString appends s as a JSON string: as it is when it needs no
// escaping (ids and metric names, always in practice), else through
// encoding/json.
func appendString(b []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(s)
			if err != nil {
				return nil, err
			}
			return append(b, q...), nil
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler: the compact form, or the
// field-by-field form of whole-state checkpoints.
func (d *Device) UnmarshalJSON(data []byte) error {
	var raw struct {
		Series map[string]json.RawMessage `json:"series"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	d.Series = make(map[string]*Series, len(raw.Series))
	for metric, sb := range raw.Series {
		s, err := decodeSeries(sb)
		if err != nil {
			return fmt.Errorf("series %s: %w", metric, err)
		}
		d.Series[metric] = s
	}
	return nil
}

// compactSeries is the compact form's series object.
type compactSeries struct {
	W   [][2]string       `json:"w"`
	LA  time.Time         `json:"la"`
	LI  string            `json:"li"`
	MA  time.Time         `json:"ma"`
	Ref *Reading          `json:"ref"`
	P   []json.RawMessage `json:"p"`
	// The whole-state form's fields, to tell the forms apart.
	Window  json.RawMessage `json:"window"`
	Pending json.RawMessage `json:"pending"`
	LastAt  json.RawMessage `json:"last_at"`
	LastID  json.RawMessage `json:"last_id"`
	MaxAt   json.RawMessage `json:"max_at"`
}

func decodeSeries(data []byte) (*Series, error) {
	var c compactSeries
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if c.Window != nil || c.Pending != nil || c.LastAt != nil || c.LastID != nil || c.MaxAt != nil {
		// The whole-state form: Series' own field names.
		type plain Series
		var s plain
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		out := Series(s)
		return &out, nil
	}
	s := &Series{LastAt: c.LA, LastID: c.LI, MaxAt: c.MA}
	for i, w := range c.W {
		at, err := time.Parse(time.RFC3339Nano, w[0])
		if err != nil {
			return nil, fmt.Errorf("window point %d: %w", i, err)
		}
		v, err := decimal.NewFromString(w[1])
		if err != nil {
			return nil, fmt.Errorf("window point %d: %w", i, err)
		}
		s.Window = append(s.Window, Point{At: at, Value: v})
	}
	for i, pb := range c.P {
		pb = bytes.TrimSpace(pb)
		if len(pb) > 0 && pb[0] == '{' {
			var p Pending
			if err := json.Unmarshal(pb, &p); err != nil {
				return nil, fmt.Errorf("pending reading %d: %w", i, err)
			}
			s.Pending = append(s.Pending, p)
			continue
		}
		var f [3]string
		if err := json.Unmarshal(pb, &f); err != nil {
			return nil, fmt.Errorf("pending reading %d: %w", i, err)
		}
		if c.Ref == nil {
			return nil, fmt.Errorf("pending reading %d: no ref to complete it", i)
		}
		at, err := time.Parse(time.RFC3339Nano, f[1])
		if err != nil {
			return nil, fmt.Errorf("pending reading %d: %w", i, err)
		}
		v, err := decimal.NewFromString(f[2])
		if err != nil {
			return nil, fmt.Errorf("pending reading %d: %w", i, err)
		}
		r := *c.Ref
		r.OccurredAt, r.Value = at, decimal.NewNullDecimal(v)
		s.Pending = append(s.Pending, Pending{EventID: f[0], Reading: r})
	}
	return s, nil
}
