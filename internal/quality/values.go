package quality

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Values scanned from either engine: PostgreSQL (pgx) gives typed values
// (decimal.Decimal for numeric, uuid.UUID, time.Time, int16/32/64, bool);
// SQLite gives int64, float64, string (numerics are stored as text),
// []byte and time.Time for TIMESTAMP columns. These functions read both
// the same way.

// jsonValue turns a scanned value into what a sample shows.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return x
	case []byte:
		return string(x)
	case int:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case decimal.Decimal:
		return x.String()
	case uuid.UUID:
		return x.String()
	case [16]byte:
		return uuid.UUID(x).String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case map[string]any, []any:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// asString is a value as in_set and regex compare it.
func asString(v any) string {
	switch x := jsonValue(v).(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// maxExponent bounds the decimals compared: scaling far-apart exponents
// would take unbounded memory.
const maxExponent = 1000

// asDecimal reads a numeric value exactly.
func asDecimal(v any) (decimal.Decimal, error) {
	var d decimal.Decimal
	switch x := v.(type) {
	case decimal.Decimal:
		d = x
	case int64:
		d = decimal.NewFromInt(x)
	case int32:
		d = decimal.NewFromInt(int64(x))
	case int16:
		d = decimal.NewFromInt(int64(x))
	case int:
		d = decimal.NewFromInt(int64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return d, fmt.Errorf("%v is not a number", x)
		}
		d = decimal.NewFromFloat(x)
	case string, []byte:
		s := strings.TrimSpace(asString(x))
		var err error
		if d, err = decimal.NewFromString(s); err != nil {
			return d, fmt.Errorf("%q is not a number", s)
		}
	default:
		return d, fmt.Errorf("%v (%T) is not a number", v, v)
	}
	if e := d.Exponent(); e > maxExponent || e < -maxExponent {
		return decimal.Decimal{}, fmt.Errorf("%s is out of range", d.String())
	}
	return d, nil
}

// timeLayouts are the text forms a timestamp may come back in from SQLite
// (the store writes the first) or from an expression.
var timeLayouts = []string{
	"2006-01-02T15:04:05.000000Z",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// asTime reads a timestamp.
func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string, []byte:
		s := asString(x)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a timestamp", s)
	}
	return time.Time{}, fmt.Errorf("%v (%T) is not a timestamp", v, v)
}
