package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Limits bound what Parse accepts from one payload. A zero field takes its
// default; a negative one is an error.
type Limits struct {
	// MaxBytes is the largest payload accepted, in bytes. Default 64 KiB.
	MaxBytes int
	// MaxReadings is the most readings (native metrics, or SenML records)
	// one payload may carry. Default 1000.
	MaxReadings int
	// MaxFuture is how far after now a reading's time may be (device clocks
	// drift). Default 5 minutes.
	MaxFuture time.Duration
	// MaxAge is how far before now a reading's time may be (devices buffer
	// while offline). Default 30 days.
	MaxAge time.Duration
}

// The defaults of Limits.
const (
	DefaultMaxBytes    = 64 << 10
	DefaultMaxReadings = 1000
	DefaultMaxFuture   = 5 * time.Minute
	DefaultMaxAge      = 30 * 24 * time.Hour
)

// WithDefaults returns l with each zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxReadings == 0 {
		l.MaxReadings = DefaultMaxReadings
	}
	if l.MaxFuture == 0 {
		l.MaxFuture = DefaultMaxFuture
	}
	if l.MaxAge == 0 {
		l.MaxAge = DefaultMaxAge
	}
	return l
}

// Validate checks that no limit is negative.
func (l Limits) Validate() error {
	switch {
	case l.MaxBytes < 0:
		return fmt.Errorf("telemetry: limits: MaxBytes %d is negative", l.MaxBytes)
	case l.MaxReadings < 0:
		return fmt.Errorf("telemetry: limits: MaxReadings %d is negative", l.MaxReadings)
	case l.MaxFuture < 0:
		return fmt.Errorf("telemetry: limits: MaxFuture %s is negative", l.MaxFuture)
	case l.MaxAge < 0:
		return fmt.Errorf("telemetry: limits: MaxAge %s is negative", l.MaxAge)
	}
	return nil
}

// Reading is one accepted value of one metric.
type Reading struct {
	// Metric is the catalogue metric's name.
	Metric string
	// Value is the exact value in Unit, converted from the unit the payload
	// gave where that differs.
	Value decimal.Decimal
	// Unit is the metric's canonical unit (Metric.Unit).
	Unit string
	// Time is when the value was measured, in UTC.
	Time time.Time
}

// Rejection is one reading of a payload that was refused; the rest of the
// payload is still used.
type Rejection struct {
	// Index is the reading's position in the payload, from 0: its place in
	// the native "metrics" object, or its record's place in the SenML array.
	Index int
	// Metric is the metric name the reading gave (resolved, for SenML), or
	// "" when it gave none.
	Metric string
	// Field is the payload field at fault: "metric", "value" or "time" for
	// native payloads; "n", "v", "s", "u", "t", "record" (the record as a
	// whole) or the offending field's name ("vs", "foo_") for SenML.
	Field string
	// Reason says what is wrong, naming the field, e.g. "value 1e9 is
	// outside 0..1000 µg/m³".
	Reason string
}

// String formats the rejection for logs and API answers, e.g.
// "reading 3 (pm25): value 1e9 is outside 0..1000 µg/m³".
func (r Rejection) String() string {
	if r.Metric == "" {
		return fmt.Sprintf("reading %d: %s", r.Index, r.Reason)
	}
	return fmt.Sprintf("reading %d (%s): %s", r.Index, r.Metric, r.Reason)
}

// Batch is what Parse makes of a usable payload: the accepted readings in
// payload order, and the refused ones.
type Batch struct {
	Readings []Reading
	Rejected []Rejection
}

// Errors Parse wraps; test with errors.Is. Every payload-level error is also
// a *PayloadError.
var (
	// ErrUnknownDeviceType: the device type is not in the catalogue.
	ErrUnknownDeviceType = errors.New("unknown device type")
	// ErrTooLarge: the payload is larger than Limits.MaxBytes.
	ErrTooLarge = errors.New("payload too large")
	// ErrTooManyReadings: the payload has more than Limits.MaxReadings
	// readings.
	ErrTooManyReadings = errors.New("too many readings")
)

// Payload formats, as named in PayloadError.Format.
const (
	FormatNative = "native"
	FormatSenML  = "senml"
)

// PayloadError says why a whole payload was refused and where.
type PayloadError struct {
	// Format is FormatNative, FormatSenML, or "" when the format could not
	// be told.
	Format string
	// Offset is the byte offset in the payload at or just after the fault.
	Offset int64
	// Field is the JSON path of the field at fault ("metrics", "[3].bt"),
	// or "" when the fault is not in one field.
	Field string
	// Reason says what is wrong.
	Reason string
	err    error
}

// Error formats the error, e.g. `telemetry: senml payload, byte 57, field
// [2].bt: bt is a string, not a number`.
func (e *PayloadError) Error() string {
	var b strings.Builder
	b.WriteString("telemetry: ")
	if e.Format != "" {
		b.WriteString(e.Format)
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "payload, byte %d", e.Offset)
	if e.Field != "" {
		b.WriteString(", field ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns ErrTooLarge or ErrTooManyReadings where one applies.
func (e *PayloadError) Unwrap() error { return e.err }

// Parse reads one telemetry payload from a device of the given type.
//
// The payload is a native JSON object or a SenML JSON (RFC 8428) array,
// told apart by its first non-space byte ('{' or '['); docs/iot-payloads.md
// describes both. now is the receive time: readings without a time are
// taken at now, relative SenML times count from it, and times too far from
// it are refused (lim.MaxFuture, lim.MaxAge).
//
// Parse returns an error only when the payload as a whole cannot be used:
// unknown device type, not JSON, wrong shape, larger than lim.MaxBytes or
// with more than lim.MaxReadings readings. Otherwise each reading is either
// accepted into Batch.Readings or refused into Batch.Rejected with its
// reason, so one bad value does not lose its neighbours.
func (c *Catalogue) Parse(deviceType string, payload []byte, now time.Time, lim Limits) (Batch, error) {
	lim = lim.WithDefaults()
	if err := lim.Validate(); err != nil {
		return Batch{}, err
	}
	typ, ok := c.Type(deviceType)
	if !ok {
		return Batch{}, fmt.Errorf("telemetry: device type %q: %w", clip(deviceType), ErrUnknownDeviceType)
	}
	if len(payload) > lim.MaxBytes {
		return Batch{}, &PayloadError{Offset: int64(lim.MaxBytes), err: ErrTooLarge,
			Reason: fmt.Sprintf("payload is %d bytes, more than the limit of %d", len(payload), lim.MaxBytes)}
	}
	b := &builder{typ: typ, now: now.UTC(), lim: lim, seen: make(map[readingKey]struct{})}
	i := 0
	for i < len(payload) && isSpace(payload[i]) {
		i++
	}
	var err error
	switch {
	case i == len(payload):
		err = &PayloadError{Offset: int64(i), Reason: "payload is empty"}
	case payload[i] == '{':
		err = b.parseNative(payload)
	case payload[i] == '[':
		err = b.parseSenML(payload)
	default:
		err = &PayloadError{Offset: int64(i),
			Reason: fmt.Sprintf("payload starts with %q: expected '{' (native JSON) or '[' (SenML JSON)", payload[i:i+1])}
	}
	if err != nil {
		return Batch{}, err
	}
	return b.batch, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// builder accumulates one payload's batch.
type builder struct {
	typ   DeviceType
	now   time.Time
	lim   Limits
	seen  map[readingKey]struct{}
	batch Batch
}

type readingKey struct {
	metric string
	nanos  int64
}

func (b *builder) reject(index int, metric, field, reason string) {
	b.batch.Rejected = append(b.batch.Rejected, Rejection{Index: index, Metric: clip(metric), Field: field, Reason: reason})
}

// accept checks the time window and duplicates of a reading whose metric,
// value and unit are already good, and keeps or rejects it.
func (b *builder) accept(index int, m Metric, v decimal.Decimal, t time.Time, timeField string) {
	if reason := b.timeReason(t); reason != "" {
		b.reject(index, m.Name, timeField, reason)
		return
	}
	k := readingKey{m.Name, t.UnixNano()}
	if _, dup := b.seen[k]; dup {
		b.reject(index, m.Name, timeField, fmt.Sprintf("time %s repeats an earlier %s reading of this payload (the first is kept)", t.Format(time.RFC3339Nano), m.Name))
		return
	}
	b.seen[k] = struct{}{}
	b.batch.Readings = append(b.batch.Readings, Reading{Metric: m.Name, Value: v, Unit: m.Unit, Time: t})
}

// timeReason says why t is outside the accepted window around now, or "".
func (b *builder) timeReason(t time.Time) string {
	if d := t.Sub(b.now); t.After(b.now.Add(b.lim.MaxFuture)) {
		return fmt.Sprintf("time %s is %s after now, more than the %s allowed", t.Format(time.RFC3339Nano), d, b.lim.MaxFuture)
	}
	if d := b.now.Sub(t); t.Before(b.now.Add(-b.lim.MaxAge)) {
		return fmt.Sprintf("time %s is %s before now, more than the %s allowed", t.Format(time.RFC3339Nano), d, b.lim.MaxAge)
	}
	return ""
}

// rangeReason says why v (in m's unit) is out of m's range, or "". shown is
// how to print the value.
func rangeReason(m Metric, v decimal.Decimal, shown string) string {
	if m.InRange(v) {
		return ""
	}
	if m.Unit == "1" { // dimensionless
		return fmt.Sprintf("value %s is outside %s..%s", shown, m.Min, m.Max)
	}
	return fmt.Sprintf("value %s is outside %s..%s %s", shown, m.Min, m.Max, m.Unit)
}

// Number guards: JSON allows numbers like 1e1000000 whose exact decimal
// would take megabytes; sensors never need more than this.
const (
	maxNumberDigits   = 40
	maxNumberExponent = 40
)

// parseNumber reads a JSON number exactly, refusing ones too long or with
// too large an exponent. The reason names the value as what.
func parseNumber(what, text string) (decimal.Decimal, string) {
	s := strings.TrimPrefix(text, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	digits := len(mant)
	if strings.Contains(mant, ".") {
		digits--
	}
	if digits > maxNumberDigits {
		return decimal.Decimal{}, fmt.Sprintf("%s %s has more than %d digits", what, clip(text), maxNumberDigits)
	}
	if hasExp {
		exp = strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(exp, "+"), "-"), "0")
		if n, err := strconv.Atoi(exp); len(exp) > 4 || err == nil && n > maxNumberExponent {
			return decimal.Decimal{}, fmt.Sprintf("%s %s has an exponent beyond ±%d", what, clip(text), maxNumberExponent)
		}
	}
	d, err := decimal.NewFromString(text)
	if err != nil {
		return decimal.Decimal{}, fmt.Sprintf("%s %s is not a number", what, clip(text))
	}
	return d, ""
}

// rawKind classifies a JSON value by its first byte.
func rawKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "number"
}

// numberValue reads a JSON value that should be a number. It returns the
// number and its text, or the reason it is not one (naming the value as
// what).
func numberValue(what string, raw []byte) (decimal.Decimal, string, string) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	switch k := rawKind(raw); k {
	case "number":
		text := string(raw)
		d, reason := parseNumber(what, text)
		return d, text, reason
	case "string":
		var s string
		if json.Unmarshal(raw, &s) == nil && nonFinite(s) {
			return decimal.Decimal{}, "", fmt.Sprintf("%s %q is not finite", what, clip(s))
		}
		return decimal.Decimal{}, "", fmt.Sprintf("%s is a string, not a number", what)
	case "null":
		return decimal.Decimal{}, "", fmt.Sprintf("%s is null, not a number", what)
	default:
		return decimal.Decimal{}, "", fmt.Sprintf("%s is %s, not a number", what, kindPhrase(k))
	}
}

// kindPhrase names a rawKind for a message: "an object", "null".
func kindPhrase(kind string) string {
	switch kind {
	case "null", "empty":
		return kind
	case "object", "array":
		return "an " + kind
	}
	return "a " + kind
}

// nonFinite reports whether s spells NaN or an infinity.
func nonFinite(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimLeft(s, "+-")
	return s == "nan" || s == "inf" || s == "infinity"
}

// Epoch-second bounds for payload times: about ±3000 years around 1970.
var maxEpochSeconds = decimal.New(1, 11)

// timeFromSeconds turns exact epoch seconds into a UTC time, rounded to the
// nanosecond; false if out of bounds.
func timeFromSeconds(sec decimal.Decimal) (time.Time, bool) {
	if sec.Abs().GreaterThan(maxEpochSeconds) {
		return time.Time{}, false
	}
	whole := sec.Floor()
	nanos := sec.Sub(whole).Shift(9).Round(0).IntPart()
	return time.Unix(whole.IntPart(), nanos).UTC(), true
}

// payloadError builds the PayloadError for a decoding failure.
func payloadError(format string, dec *json.Decoder, size int, field string, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &PayloadError{Format: format, Offset: se.Offset, Field: field, Reason: "not valid JSON: " + se.Error()}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &PayloadError{Format: format, Offset: int64(size), Field: field, Reason: "payload ends before its JSON value does"}
	}
	return &PayloadError{Format: format, Offset: dec.InputOffset(), Field: field, Reason: err.Error()}
}

// expectEnd checks that nothing but white space follows the top-level
// value.
func expectEnd(format string, dec *json.Decoder, payload []byte) error {
	off := dec.InputOffset()
	if len(bytes.TrimLeft(payload[off:], " \t\r\n")) != 0 {
		return &PayloadError{Format: format, Offset: off, Reason: "data after the end of the JSON value"}
	}
	return nil
}

// valueStart returns where the next value starts at or after off: past
// white space and the ':' or ',' before it.
func valueStart(payload []byte, off int64) int64 {
	for off < int64(len(payload)) && (isSpace(payload[off]) || payload[off] == ':' || payload[off] == ',') {
		off++
	}
	return off
}

// decodeRaw reads the next JSON value whole.
func decodeRaw(dec *json.Decoder) (json.RawMessage, error) {
	var raw json.RawMessage
	err := dec.Decode(&raw)
	return raw, err
}

// clip shortens text from a payload for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
