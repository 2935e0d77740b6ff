package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// encodingJSON is the digest line as the bulk digest defines it.
func encodingJSON(t testing.TB, v any) []byte {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// digestCases are values chosen to reach every branch: omitted and present
// pointers, strings and documents that need escaping or compacting, times
// in other zones, at nanosecond precision and outside RFC 3339's years,
// invalid null decimals, negative and huge numbers.
func digestStrings() []string {
	return []string{"", "natural_gas", "US gal", "with \"quotes\"", `back\slash`, "<b>&", "tab\there", "line\nbreak",
		"naïve", "€", "\u2028", "\xff\xfe", "file"}
}

func digestDocs() []JSON {
	return []JSON{nil, JSON(""), JSON("  "), JSON(`{}`), JSON(`{"line":3,"region":"US"}`), JSON(`{ "a": 1 }`),
		JSON(`{"x":"<tag>"}`), JSON(`{"x":"a\u2028b"}`), JSON("{\"x\":\"\u2028\"}"), JSON(`{"x":"€"}`), JSON(`[1,2]`), JSON(`"s"`)}
}

func digestTimes() []time.Time {
	paris := time.FixedZone("CET", 3600)
	odd := time.FixedZone("odd", 5*3600+30*60+15)
	return []time.Time{{}, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC),
		time.Date(2025, 6, 1, 0, 0, 0, 1000, paris), time.Date(2025, 6, 1, 0, 0, 0, 0, odd),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func digestDecimals() []decimal.Decimal {
	return []decimal.Decimal{decimal.Zero, decimal.RequireFromString("50000.123"), decimal.RequireFromString("-0.000001"),
		decimal.RequireFromString("123456789012345678901234567890.5"), decimal.New(5, 3), decimal.New(-7, -12)}
}

func randomActivity(r *rand.Rand) *ActivityRecord {
	pick := func(n int) int { return r.IntN(n) }
	ss, ds, ts, ns := digestStrings(), digestDocs(), digestTimes(), digestDecimals()
	a := &ActivityRecord{Meta: Meta{ID: uuid.New(), OrgID: uuid.New(), CreatedAt: ts[pick(len(ts))], UpdatedAt: ts[pick(len(ts))]},
		SourceID: uuid.New(), ActivityType: ss[pick(len(ss))], Quantity: ns[pick(len(ns))], Unit: ss[pick(len(ss))],
		PeriodStart: ts[pick(len(ts))], PeriodEnd: ts[pick(len(ts))], DataQuality: pick(7) - 1, Origin: ss[pick(len(ss))],
		OriginRef: ss[pick(len(ss))], Attributes: ds[pick(len(ds))]}
	if pick(2) == 0 {
		id := uuid.New()
		a.SiteID = &id
	}
	if pick(2) == 0 {
		id := uuid.New()
		a.BatchID = &id
	}
	return a
}

func randomEmission(r *rand.Rand) *CalculatedEmission {
	pick := func(n int) int { return r.IntN(n) }
	ss, ds, ts, ns := digestStrings(), digestDocs(), digestTimes(), digestDecimals()
	nd := func() decimal.NullDecimal {
		if pick(3) == 0 {
			return decimal.NullDecimal{}
		}
		return decimal.NewNullDecimal(ns[pick(len(ns))])
	}
	e := &CalculatedEmission{Meta: Meta{ID: uuid.New(), OrgID: uuid.New(), CreatedAt: ts[pick(len(ts))], UpdatedAt: ts[pick(len(ts))]},
		RunID: uuid.New(), ActivityID: uuid.New(), ActivityPeriodStart: ts[pick(len(ts))], SourceID: uuid.New(), Scope: pick(4),
		Scope2Basis: ss[pick(len(ss))], Method: ss[pick(len(ss))], GWPSet: ss[pick(len(ss))], CO2Kg: ns[pick(len(ns))],
		CH4Kg: ns[pick(len(ns))], N2OKg: ns[pick(len(ns))], OtherGases: ds[pick(len(ds))], CO2eKg: ns[pick(len(ns))],
		BiogenicCO2Kg: ns[pick(len(ns))], UncertaintyPct: nd(), DataQuality: nd(), PeriodStart: ts[pick(len(ts))],
		PeriodEnd: ts[pick(len(ts))], Lineage: ds[pick(len(ds))]}
	if pick(2) == 0 {
		id := uuid.New()
		e.SiteID = &id
	}
	if pick(2) == 0 {
		c := pick(16)
		e.Category = &c
	}
	if pick(2) == 0 {
		id := uuid.New()
		e.FactorID = &id
	}
	if pick(2) == 0 {
		id, at := uuid.New(), ts[pick(len(ts))]
		e.SupersededBy, e.SupersededAt = &id, &at
	}
	return e
}

// TestDigestMatchesEncodingJSON holds the hand-written digest lines to the
// bytes encoding/json writes, where it writes any (times outside RFC 3339
// are its error, and stay an error).
func TestDigestMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for i := range 20000 {
		var v any = randomActivity(r)
		if i%2 == 1 {
			v = randomEmission(r)
		}
		want, werr := json.Marshal(v)
		got, err := digestLine(nil, v)
		if werr != nil {
			if err == nil {
				t.Fatalf("case %d: encoding/json refuses (%v), the digest wrote %s", i, werr, got)
			}
			continue
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if want = append(want, '\n'); !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
		if _, ok := v.(digestAppender).appendDigest(nil); ok {
			fast++
		}
	}
	if fast == 0 { // most cases mix in a value that needs encoding/json
		t.Fatal("no case took the hand-written path")
	}
	// The rows a calculation run writes take it.
	a := &ActivityRecord{Meta: Meta{ID: uuid.New(), OrgID: uuid.New(), CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()},
		SourceID: uuid.New(), ActivityType: "natural_gas", Quantity: decimal.RequireFromString("50000.5"), Unit: "scf",
		PeriodStart: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC),
		DataQuality: 3, Origin: "file", OriginRef: "r-1", Attributes: JSON(`{"line":2,"region":"US","uncertainty_pct":"0","correction":false}`)}
	if _, ok := a.appendDigest(nil); !ok {
		t.Fatal("a plain activity record fell back to encoding/json")
	}
	if got, want := must(digestLine(nil, a)), encodingJSON(t, a); !bytes.Equal(got, want) {
		t.Fatalf("got %s want %s", got, want)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDigestMatchesEncodingJSON compares the two encodings on strings and
// documents the fuzzer makes up.
func FuzzDigestMatchesEncodingJSON(f *testing.F) {
	for _, s := range digestStrings() {
		f.Add(s, `{"a":1}`, int64(0), int32(0))
	}
	for _, d := range digestDocs() {
		f.Add("x", string(d), int64(1700000000), int32(-2))
	}
	f.Fuzz(func(t *testing.T, s, doc string, unix int64, exp int32) {
		if !json.Valid([]byte(doc)) {
			doc = `{}` // an invalid document is refused by the store before its digest matters
		}
		ts := time.Unix(unix%(400*365*86400), unix%1e9).UTC()
		d := decimal.New(unix, exp%40)
		a := &ActivityRecord{Meta: Meta{ID: uuid.New(), CreatedAt: ts, UpdatedAt: ts}, ActivityType: s, Unit: s, Origin: s, OriginRef: s,
			Quantity: d, PeriodStart: ts, PeriodEnd: ts, Attributes: JSON(doc)}
		e := &CalculatedEmission{Meta: a.Meta, Method: s, GWPSet: s, Scope2Basis: s, CO2eKg: d, OtherGases: JSON(doc), Lineage: JSON(doc),
			UncertaintyPct: decimal.NewNullDecimal(d), PeriodStart: ts, PeriodEnd: ts, ActivityPeriodStart: ts}
		for _, v := range []any{a, e} {
			want, werr := json.Marshal(v)
			got, err := digestLine(nil, v)
			if (werr != nil) != (err != nil) {
				t.Fatalf("encoding/json error %v, digest error %v", werr, err)
			}
			if werr == nil && !bytes.Equal(got, append(want, '\n')) {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		}
	})
}
