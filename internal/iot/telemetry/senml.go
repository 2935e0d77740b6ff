package telemetry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// senmlVersion is the SenML version understood (RFC 8428's default bver).
const senmlVersion = 10

// relativeTimeLimit: resolved SenML times below 2^28 seconds are relative
// to now (RFC 8428 section 4.5.3).
var relativeTimeLimit = decimal.New(1<<28, 0)

// maxRelativeSeconds keeps now+relative time within time.Duration.
var maxRelativeSeconds = decimal.New(9, 9)

// senmlBase holds the base values in force (RFC 8428 section 4.1): set by a
// record, they apply to it and to every following record until changed.
type senmlBase struct {
	name, unit        string
	time, value, sum  decimal.Decimal
	hasValue, hasSum  bool
	valueText, sumTxt string
}

// senmlBaseFields are the SenML base field names (RFC 8428 section 4.1).
var senmlBaseFields = []string{"bn", "bt", "bu", "bv", "bs", "bver"}

// parseSenML reads a SenML JSON pack: an array of records.
func (b *builder) parseSenML(payload []byte) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '[', checked by Parse
		return payloadError(FormatSenML, dec, len(payload), "", err)
	}
	var base senmlBase
	for i := 0; dec.More(); i++ {
		off := valueStart(payload, dec.InputOffset())
		if i == b.lim.MaxReadings {
			return &PayloadError{Format: FormatSenML, Offset: off, Field: fmt.Sprintf("[%d]", i), err: ErrTooManyReadings,
				Reason: fmt.Sprintf("more than %d records", b.lim.MaxReadings)}
		}
		raw, err := decodeRaw(dec)
		if err != nil {
			return payloadError(FormatSenML, dec, len(payload), fmt.Sprintf("[%d]", i), err)
		}
		if err := b.senmlRecord(i, off, raw, &base); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return payloadError(FormatSenML, dec, len(payload), "", err)
	}
	return expectEnd(FormatSenML, dec, payload)
}

// senmlRecord applies record i's base fields to base, then accepts or
// rejects its reading. Only a bad base field, which would spoil every
// following record, fails the payload.
func (b *builder) senmlRecord(i int, off int64, raw json.RawMessage, base *senmlBase) error {
	refuse := func(field, reason string) error {
		return &PayloadError{Format: FormatSenML, Offset: off, Field: fmt.Sprintf("[%d].%s", i, field), Reason: reason}
	}
	if k := rawKind(raw); k != "object" {
		b.reject(i, "", "record", fmt.Sprintf("record is %s, not an object", kindPhrase(k)))
		return nil
	}
	fields, dup, err := recordFields(raw)
	if err != nil {
		return refuse("", "record is not a valid JSON object: "+err.Error())
	}
	if dup != "" && slices.Contains(senmlBaseFields, dup) {
		return refuse(clip(dup), fmt.Sprintf("base field %s is given twice", dup))
	}

	// Base fields.
	hasBase := false
	if r, ok := fields["bver"]; ok {
		hasBase = true
		v, _, reason := numberValue("bver", r)
		if reason == "" && (!v.IsInteger() || v.Sign() <= 0) {
			reason = fmt.Sprintf("bver %s is not a positive integer", v)
		}
		if reason == "" && v.GreaterThan(decimal.NewFromInt(senmlVersion)) {
			reason = fmt.Sprintf("SenML version %s is newer than version %d, the one understood", v, senmlVersion)
		}
		if reason != "" {
			return refuse("bver", reason)
		}
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"bn", &base.name}, {"bu", &base.unit}} {
		if r, ok := fields[f.key]; ok {
			hasBase = true
			s, reason := stringField(f.key, r)
			if reason != "" {
				return refuse(f.key, reason)
			}
			*f.dst = s
		}
	}
	for _, f := range []struct {
		key  string
		dst  *decimal.Decimal
		has  *bool
		text *string
	}{{"bt", &base.time, nil, nil}, {"bv", &base.value, &base.hasValue, &base.valueText}, {"bs", &base.sum, &base.hasSum, &base.sumTxt}} {
		if r, ok := fields[f.key]; ok {
			hasBase = true
			v, text, reason := numberValue(f.key, r)
			if reason != "" {
				return refuse(f.key, reason)
			}
			*f.dst = v
			if f.has != nil {
				*f.has, *f.text = !v.IsZero(), text
			}
		}
	}

	// The record proper.
	hasRecord := false
	for k := range fields {
		if !slices.Contains(senmlBaseFields, k) {
			hasRecord = true
			break
		}
	}
	if !hasRecord {
		if !hasBase {
			b.reject(i, "", "record", "record is empty")
		}
		return nil // a record of base fields only sets them
	}

	name := base.name
	if r, ok := fields["n"]; ok {
		s, reason := stringField("n", r)
		if reason != "" {
			b.reject(i, "", "n", reason)
			return nil
		}
		name += s
	}
	metric := name[strings.LastIndexAny(name, ":/")+1:]
	switch {
	case name == "":
		b.reject(i, "", "n", "n: record has no name (neither n nor bn)")
		return nil
	case metric == "":
		b.reject(i, "", "n", fmt.Sprintf("n: name %q has no metric after its last ':' or '/'", clip(name)))
		return nil
	case dup != "":
		b.reject(i, metric, clip(dup), fmt.Sprintf("field %s is given twice", clip(dup)))
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if strings.HasSuffix(k, "_") {
			b.reject(i, metric, clip(k), fmt.Sprintf("field %s must be understood (it ends in '_') but is not supported", clip(k)))
			return nil
		}
	}
	m, ok := b.typ.Metric(metric)
	if !ok {
		b.reject(i, metric, "n", fmt.Sprintf("metric %q is not a metric of %s", clip(metric), b.typ.Name))
		return nil
	}

	// Value: v (plus bv), or for a counter s (plus bs).
	var given []string
	for _, k := range []string{"v", "vs", "vb", "vd"} {
		if _, ok := fields[k]; ok {
			given = append(given, k)
		}
	}
	var (
		v     decimal.Decimal
		shown string
		field string
	)
	switch {
	case len(given) > 1:
		b.reject(i, m.Name, given[1], fmt.Sprintf("%s: record has more than one value field (%s)", given[1], strings.Join(given, ", ")))
		return nil
	case len(given) == 1 && given[0] != "v":
		b.reject(i, m.Name, given[0], fmt.Sprintf("%s: %s is numeric; a %s value is not accepted", given[0], m.Name, map[string]string{"vs": "string", "vb": "boolean", "vd": "data"}[given[0]]))
		return nil
	case len(given) == 1:
		field = "v"
		x, text, reason := numberValue("v", fields["v"])
		if reason != "" {
			b.reject(i, m.Name, "v", reason)
			return nil
		}
		v, shown = x, text
		if base.hasValue {
			v = v.Add(base.value)
			shown = fmt.Sprintf("%s (v %s + bv %s)", v, text, base.valueText)
		}
	default:
		r, ok := fields["s"]
		if !ok {
			b.reject(i, m.Name, "v", "v: record has no value (v, or s for a counter)")
			return nil
		}
		field = "s"
		if m.Kind != KindCounter {
			b.reject(i, m.Name, "s", fmt.Sprintf("s: %s is a gauge; send its value in v, not as a sum", m.Name))
			return nil
		}
		x, text, reason := numberValue("s", r)
		if reason != "" {
			b.reject(i, m.Name, "s", reason)
			return nil
		}
		v, shown = x, text
		if base.hasSum {
			v = v.Add(base.sum)
			shown = fmt.Sprintf("%s (s %s + bs %s)", v, text, base.sumTxt)
		}
	}

	// Unit: u, else bu, else the canonical unit.
	unit := base.unit
	if r, ok := fields["u"]; ok {
		s, reason := stringField("u", r)
		if reason != "" {
			b.reject(i, m.Name, "u", reason)
			return nil
		}
		unit = s
	}
	if unit != "" {
		cv, err := m.Convert(v, unit)
		if err != nil {
			b.reject(i, m.Name, "u", "u: "+err.Error())
			return nil
		}
		if !m.units[unit].identity {
			shown = fmt.Sprintf("%s (sent as %s %s)", cv, shown, clip(unit))
		}
		v = cv
	}
	if reason := rangeReason(m, v, shown); reason != "" {
		b.reject(i, m.Name, field, field+": "+reason)
		return nil
	}

	// Time: bt + t, relative to now below 2^28 s; none means now.
	secs := base.time
	if r, ok := fields["t"]; ok {
		x, _, reason := numberValue("t", r)
		if reason != "" {
			b.reject(i, m.Name, "t", reason)
			return nil
		}
		secs = secs.Add(x)
	}
	var t time.Time
	if secs.LessThan(relativeTimeLimit) {
		if secs.Abs().GreaterThan(maxRelativeSeconds) {
			b.reject(i, m.Name, "t", fmt.Sprintf("t: time %s s relative to now is out of range", secs))
			return nil
		}
		t = b.now.Add(time.Duration(secs.Shift(9).Round(0).IntPart()))
	} else {
		var ok bool
		if t, ok = timeFromSeconds(secs); !ok {
			b.reject(i, m.Name, "t", fmt.Sprintf("t: time %s epoch seconds is out of range", secs))
			return nil
		}
	}
	b.accept(i, m, v, t, "t")
	return nil
}

// recordFields reads a record's members; dup is the first key given twice
// (its later values are dropped).
func recordFields(raw []byte) (fields map[string]json.RawMessage, dup string, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, "", err
	}
	fields = make(map[string]json.RawMessage, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", err
		}
		key, _ := tok.(string)
		v, err := decodeRaw(dec)
		if err != nil {
			return nil, "", err
		}
		if _, ok := fields[key]; ok {
			if dup == "" {
				dup = key
			}
			continue
		}
		fields[key] = v
	}
	return fields, dup, nil
}

// stringField reads a JSON value that must be a string.
func stringField(what string, raw json.RawMessage) (string, string) {
	if k := rawKind(raw); k != "string" {
		return "", fmt.Sprintf("%s is %s, not a string", what, kindPhrase(k))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Sprintf("%s is not a valid JSON string", what)
	}
	return s, ""
}
