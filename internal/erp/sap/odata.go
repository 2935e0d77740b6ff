package sap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// This file holds the OData v2 (JSON "verbose" format) details the connector
// and the simulator share: the /Date(…)/ wire format of Edm.DateTime and
// Edm.DateTimeOffset, the datetimeoffset'…' filter literal, Edm.Decimal
// values and the error body.

// edmValue is a primitive value as OData v2 JSON sends it: Edm.Decimal and
// Edm.Int64 as strings ("12.500"), some gateways as bare numbers; null is "".
type edmValue string

// UnmarshalJSON accepts a JSON string, number, boolean or null.
func (v *edmValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*v = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = edmValue(s)
	case b[0] == '{' || b[0] == '[':
		return errors.New("not a primitive value")
	default:
		*v = edmValue(b)
	}
	return nil
}

// parseEdmDate reads "/Date(1735689600000)/" (Edm.DateTime) or
// "/Date(1735689600000+0060)/" (Edm.DateTimeOffset: milliseconds since the
// epoch in UTC and an offset in minutes). "" is the zero time. The result is
// in UTC.
func parseEdmDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	inner, ok := strings.CutPrefix(s, "/Date(")
	if ok {
		inner, ok = strings.CutSuffix(inner, ")/")
	}
	if !ok || inner == "" {
		// Some gateways (and OData v4 habits) send ISO 8601.
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
			return t.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("is not an OData /Date(ms)/ value")
	}
	ms := inner
	if i := strings.IndexAny(inner[1:], "+-"); i >= 0 {
		off := inner[i+1:]
		ms = inner[:i+1]
		if len(off) != 5 {
			return time.Time{}, fmt.Errorf("has a bad offset %q", off)
		}
		if _, err := strconv.ParseUint(off[1:], 10, 16); err != nil {
			return time.Time{}, fmt.Errorf("has a bad offset %q", off)
		}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("has a bad millisecond count %q", ms)
	}
	const maxMS = 253402300799999 // 9999-12-31T23:59:59.999Z
	if n > maxMS || n < -maxMS {
		return time.Time{}, fmt.Errorf("is out of range")
	}
	return time.UnixMilli(n).UTC(), nil
}

// formatEdmDateTime renders t as an Edm.DateTime JSON value.
func formatEdmDateTime(t time.Time) string {
	return "/Date(" + strconv.FormatInt(t.UnixMilli(), 10) + ")/"
}

// formatEdmDateTimeOffset renders t as an Edm.DateTimeOffset JSON value (UTC).
func formatEdmDateTimeOffset(t time.Time) string {
	return "/Date(" + strconv.FormatInt(t.UnixMilli(), 10) + "+0000)/"
}

// datetimeOffsetLiteral is t as an OData v2 URI literal for $filter, to the
// second (truncating, so that "ge" never misses a change).
func datetimeOffsetLiteral(t time.Time) string {
	return "datetimeoffset'" + t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z") + "'"
}

// parseDatetimeOffsetLiteral reads what datetimeOffsetLiteral writes (and
// fractions of a second, and numeric offsets).
func parseDatetimeOffsetLiteral(s string) (time.Time, error) {
	inner, ok := strings.CutPrefix(s, "datetimeoffset'")
	if ok {
		inner, ok = strings.CutSuffix(inner, "'")
	}
	if !ok {
		return time.Time{}, fmt.Errorf("%q is not a datetimeoffset'…' literal", s)
	}
	t, err := time.Parse(time.RFC3339Nano, inner)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a datetimeoffset'…' literal", s)
	}
	return t.UTC(), nil
}

// parseDecimal reads an Edm.Decimal; "" is an error naming nothing (the
// caller names the field).
func parseDecimal(v edmValue) (decimal.Decimal, error) {
	s := strings.TrimSpace(string(v))
	if s == "" {
		return decimal.Decimal{}, errors.New("is required")
	}
	// decimal.NewFromString accepts exponents; an ERP never sends them and
	// a huge exponent would cost a lot to print, so refuse them.
	if strings.ContainsAny(s, "eE") {
		return decimal.Decimal{}, errors.New("is not a decimal number")
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, errors.New("is not a decimal number")
	}
	return d, nil
}

// odataError is the body SAP Gateway sends with a 4xx or 5xx.
type odataError struct {
	Error struct {
		Code    string `json:"code"`
		Message struct {
			Lang  string `json:"lang"`
			Value string `json:"value"`
		} `json:"message"`
		InnerError json.RawMessage `json:"innererror,omitempty"`
	} `json:"error"`
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// vendorMessage extracts the vendor's message from an error body: the
// OData error (code and message), an OAuth error (error and
// error_description), an SAP API Management fault, or else the start of
// the text with HTML tags removed.
func vendorMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "(empty body)"
	}
	if body[0] == '{' {
		var oe odataError
		if json.Unmarshal(body, &oe) == nil && (oe.Error.Code != "" || oe.Error.Message.Value != "") {
			if oe.Error.Code == "" {
				return oe.Error.Message.Value
			}
			return oe.Error.Code + ": " + oe.Error.Message.Value
		}
		var te struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
			Fault       struct {
				FaultString string `json:"faultstring"`
			} `json:"fault"`
		}
		if json.Unmarshal(body, &te) == nil {
			switch {
			case te.Error != "" && te.Description != "":
				return te.Error + ": " + te.Description
			case te.Error != "":
				return te.Error
			case te.Fault.FaultString != "":
				return te.Fault.FaultString
			}
		}
	}
	s := tagRE.ReplaceAllString(string(body), " ")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// pathOf returns the path of a URL string, for error messages (the query
// may be long; it never holds credentials, but the path is what a reader
// needs).
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Path
}

// encodeQuery renders OData system query options in the given order,
// escaping spaces as %20 (SAP Gateway does not read "+" as a space in every
// release) and keeping "$", ",", "/" and "'" readable.
func encodeQuery(kv [][2]string) string {
	var b strings.Builder
	for i, p := range kv {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(queryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(queryEscape(p[1]))
	}
	return b.String()
}

func queryEscape(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	r := strings.NewReplacer("%24", "$", "%2C", ",", "%2F", "/", "%27", "'", "%3A", ":")
	return r.Replace(e)
}
