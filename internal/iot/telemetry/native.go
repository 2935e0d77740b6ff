package telemetry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// nativeEntry is one "metrics" member of a native payload.
type nativeEntry struct {
	name string
	raw  json.RawMessage
}

// parseNative reads a native payload:
//
//	{"time": "2026-12-01T10:00:00Z", "metrics": {"pm25": 12.5, "pm10": 30}}
func (b *builder) parseNative(payload []byte) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	fail := func(field string, err error) error { return payloadError(FormatNative, dec, len(payload), field, err) }
	refuse := func(field, reason string) error {
		return &PayloadError{Format: FormatNative, Offset: dec.InputOffset(), Field: field, Reason: reason}
	}

	if _, err := dec.Token(); err != nil { // '{', checked by Parse
		return fail("", err)
	}
	var (
		timeRaw    json.RawMessage
		haveTime   bool
		entries    []nativeEntry
		haveMetric bool
		seen       = make(map[string]bool, 4)
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("", err)
		}
		key, _ := tok.(string) // object keys are always strings
		if seen[key] {
			return refuse(clip(key), fmt.Sprintf("key %q is given twice", clip(key)))
		}
		seen[key] = true
		switch key {
		case "time":
			haveTime = true
			if timeRaw, err = decodeRaw(dec); err != nil {
				return fail("time", err)
			}
		case "metrics":
			haveMetric = true
			if entries, err = b.nativeMetrics(dec, payload); err != nil {
				return err
			}
		case "seq", "device":
			if _, err := decodeRaw(dec); err != nil {
				return fail(key, err)
			}
		default:
			return refuse(clip(key), fmt.Sprintf("unknown key %q (a native payload has time, metrics, and optionally seq and device)", clip(key)))
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail("", err)
	}
	if err := expectEnd(FormatNative, dec, payload); err != nil {
		return err
	}
	if !haveMetric {
		return &PayloadError{Format: FormatNative, Offset: int64(len(payload)), Field: "metrics", Reason: `payload has no "metrics" object`}
	}

	t, timeReason := b.now, ""
	if haveTime {
		t, timeReason = nativeTime(timeRaw)
	}
	for i, e := range entries {
		m, ok := b.typ.Metric(e.name)
		if !ok {
			b.reject(i, e.name, "metric", fmt.Sprintf("metric %q is not a metric of %s", clip(e.name), b.typ.Name))
			continue
		}
		v, text, reason := numberValue("value", e.raw)
		if reason == "" {
			reason = rangeReason(m, v, text)
		}
		if reason != "" {
			b.reject(i, m.Name, "value", reason)
			continue
		}
		if timeReason != "" {
			b.reject(i, m.Name, "time", timeReason)
			continue
		}
		b.accept(i, m, v, t, "time")
	}
	return nil
}

// nativeMetrics reads the "metrics" object's members in order.
func (b *builder) nativeMetrics(dec *json.Decoder, payload []byte) ([]nativeEntry, error) {
	fail := func(field string, err error) error { return payloadError(FormatNative, dec, len(payload), field, err) }
	start := valueStart(payload, dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return nil, fail("metrics", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &PayloadError{Format: FormatNative, Offset: start, Field: "metrics",
			Reason: "metrics must be an object of metric name to number, not " + tokenKind(tok)}
	}
	var entries []nativeEntry
	for dec.More() {
		off := valueStart(payload, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("metrics", err)
		}
		name, _ := tok.(string)
		if len(entries) == b.lim.MaxReadings {
			return nil, &PayloadError{Format: FormatNative, Offset: off, Field: "metrics", err: ErrTooManyReadings,
				Reason: fmt.Sprintf("more than %d readings", b.lim.MaxReadings)}
		}
		raw, err := decodeRaw(dec)
		if err != nil {
			return nil, fail("metrics."+clip(name), err)
		}
		entries = append(entries, nativeEntry{name: name, raw: raw})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fail("metrics", err)
	}
	return entries, nil
}

// tokenKind names the kind of a JSON token for a message.
func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "a " + string(v)
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// nativeTime reads a native payload's "time": an RFC 3339 string or epoch
// milliseconds. It returns the time, or why every reading is refused.
func nativeTime(raw json.RawMessage) (time.Time, string) {
	switch rawKind(raw) {
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, "time is not a valid JSON string"
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Sprintf("time %q is not an RFC 3339 time (e.g. 2026-12-01T10:00:00Z)", clip(s))
		}
		return t.UTC(), ""
	case "number":
		ms, reason := parseNumber("time", string(bytes.TrimSpace(raw)))
		if reason != "" {
			return time.Time{}, reason
		}
		t, ok := timeFromSeconds(ms.Shift(-3))
		if !ok {
			return time.Time{}, fmt.Sprintf("time %s epoch milliseconds is out of range", ms)
		}
		return t, ""
	case "null":
		return time.Time{}, "time is null (omit it to mean the receive time)"
	}
	return time.Time{}, "time must be an RFC 3339 string or epoch milliseconds, not " + kindPhrase(rawKind(raw))
}
