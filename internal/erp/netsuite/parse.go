package netsuite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
)

// Layouts of the date-times the connector asks SuiteQL for (TO_CHAR) and
// sends back in filters (TO_DATE).
const (
	sqlDateTimeLayout = "2006-01-02 15:04:05" // 'YYYY-MM-DD HH24:MI:SS'
	sqlDateLayout     = "2006-01-02"          // 'YYYY-MM-DD'
)

// collection is a SuiteQL result page or a REST record API list.
type collection struct {
	Links        []link            `json:"links"`
	Count        int               `json:"count"`
	HasMore      bool              `json:"hasMore"`
	Items        []json.RawMessage `json:"items"`
	Offset       int               `json:"offset"`
	TotalResults int               `json:"totalResults"`
}

type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// decodeCollection decodes a page; a body that is not a JSON object of that
// shape is an error.
func decodeCollection(b []byte) (*collection, error) {
	var c collection
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if c.Items == nil && !bytes.Contains(b, []byte(`"items"`)) {
		return nil, errors.New(`the response has no "items"`)
	}
	if c.Count < 0 || c.Offset < 0 {
		return nil, fmt.Errorf("the response has count %d, offset %d", c.Count, c.Offset)
	}
	return &c, nil
}

// value is one field of a NetSuite response as text. SuiteQL sends every
// value as a JSON string and leaves out nulls; the record API sends
// numbers, booleans and references ({"id": …, "refName": …}, of which the
// refName is kept). Set tells a present value from an absent or null one.
type value struct {
	S   string
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*v = value{}
	case b[0] == '"':
		if len(b) >= 2 && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 && isASCIIPrintable(b[1:len(b)-1]) {
			*v = value{S: string(b[1 : len(b)-1]), Set: true} // fast path: nothing to unescape
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = value{S: s, Set: true}
	case b[0] == '{':
		var ref struct {
			ID      *string `json:"id"`
			RefName *string `json:"refName"`
		}
		if err := json.Unmarshal(b, &ref); err != nil {
			return err
		}
		switch {
		case ref.RefName != nil:
			*v = value{S: *ref.RefName, Set: true}
		case ref.ID != nil:
			*v = value{S: *ref.ID, Set: true}
		default:
			*v = value{}
		}
	case b[0] == '[':
		return errors.New("a list where a single value was expected")
	default: // number or boolean, kept as written
		*v = value{S: string(b), Set: true}
	}
	return nil
}

// isASCIIPrintable reports whether b has only printable ASCII, which a JSON
// string holds as is.
func isASCIIPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e || c == '"' {
			return false
		}
	}
	return true
}

func (v value) trim() string { return strings.TrimSpace(v.S) }

// decimalOf parses a number field; absent is zero.
func decimalOf(field string, v value) (decimal.Decimal, error) {
	if !v.Set || v.trim() == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(v.trim())
	if err != nil {
		return decimal.Zero, &erp.FieldError{Field: field, Value: v.S, Reason: "is not a number"}
	}
	return d, nil
}

// requiredDecimal parses a number field that must be present.
func requiredDecimal(field string, v value) (decimal.Decimal, error) {
	if !v.Set || v.trim() == "" {
		return decimal.Zero, &erp.FieldError{Field: field, Reason: "is missing"}
	}
	return decimalOf(field, v)
}

// dateOf parses a 'YYYY-MM-DD' date (or an ISO 8601 date-time, whose date
// is kept) as midnight UTC of that calendar day.
func dateOf(field string, v value) (time.Time, error) {
	s := v.trim()
	if s == "" {
		return time.Time{}, &erp.FieldError{Field: field, Reason: "is missing"}
	}
	if len(s) > len(sqlDateLayout) && s[len(sqlDateLayout)] == 'T' {
		s = s[:len(sqlDateLayout)]
	}
	t, err := time.Parse(sqlDateLayout, s)
	if err != nil {
		return time.Time{}, &erp.FieldError{Field: field, Value: v.S, Reason: "is not a date (YYYY-MM-DD)"}
	}
	return t, nil
}

// dateTimeOf parses a SuiteQL 'YYYY-MM-DD HH24:MI:SS' date-time in loc, or
// an RFC 3339 one (record API), returning UTC; absent is zero.
func dateTimeOf(field string, v value, loc *time.Location) (time.Time, error) {
	s := v.trim()
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(sqlDateTimeLayout, s, loc); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, &erp.FieldError{Field: field, Value: v.S, Reason: "is not a date-time (YYYY-MM-DD HH24:MI:SS or RFC 3339)"}
}

// currencyOf checks an ISO 4217 code; the record's Validate checks it
// again, this names the NetSuite field.
func currencyOf(field string, v value) (string, error) {
	s := v.trim()
	if s == "" {
		return "", &erp.FieldError{Field: field, Reason: "is missing"}
	}
	if err := (&erp.Record{Kind: erp.KindGLEntry, Key: "x", GLEntry: &erp.GLEntry{DocumentID: "x", Account: "x", PostingDate: time.Unix(1, 0), Currency: s}}).Validate(); err != nil {
		return "", &erp.FieldError{Field: field, Value: s, Reason: "is not an ISO 4217 currency code"}
	}
	return s, nil
}

// poRow is one row of the purchase order line query (queries.go).
type poRow struct {
	ID                 value `json:"id"`
	TranID             value `json:"tranid"`
	TranDate           value `json:"trandate"`
	Entity             value `json:"entity"`
	EntityName         value `json:"entityname"`
	Currency           value `json:"currency"`
	Status             value `json:"status"`
	UniqueKey          value `json:"uniquekey"`
	LineSequenceNumber value `json:"linesequencenumber"`
	Item               value `json:"item"`
	ItemName           value `json:"itemname"`
	Class              value `json:"class"`
	Memo               value `json:"memo"`
	Quantity           value `json:"quantity"`
	Units              value `json:"units"`
	Rate               value `json:"rate"`
	NetAmount          value `json:"netamount"`
	ForeignAmount      value `json:"foreignamount"`
	Department         value `json:"department"`
	Location           value `json:"location"`
	IsClosed           value `json:"isclosed"`
	LastModifiedDate   value `json:"lastmodifieddate"`
}

// poStatus names the purchase order status codes SuiteQL returns for
// transaction.status.
var poStatus = map[string]string{
	"A": "Pending Supervisor Approval",
	"B": "Pending Receipt",
	"C": "Rejected by Supervisor",
	"D": "Partially Received",
	"E": "Pending Billing/Partially Received",
	"F": "Pending Bill",
	"G": "Fully Billed",
	"H": "Closed",
}

// parsed is one item of a page: the record, or why it was refused, and the
// row's key for keyset paging (-1 if unreadable).
type parsed struct {
	rec    erp.Record
	seqKey int64
	err    error
}

func seqKeyOf(v value) int64 {
	n, err := strconv.ParseInt(v.trim(), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// parsePOLine maps one purchase order line row.
func parsePOLine(raw json.RawMessage, loc *time.Location) parsed {
	var r poRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return parsed{seqKey: -1, err: fmt.Errorf("row: %w", err)}
	}
	out := parsed{seqKey: seqKeyOf(r.UniqueKey)}
	id, seq := r.ID.trim(), r.LineSequenceNumber.trim()
	key := ""
	if id != "" && seq != "" {
		key = id + "/" + seq
	}
	out.rec = erp.Record{Kind: erp.KindPOLine, Key: key, Original: raw}
	fail := func(err error) parsed { out.err = err; return out }
	switch {
	case id == "":
		return fail(&erp.FieldError{Field: "id", Reason: "is missing"})
	case seq == "":
		return fail(&erp.FieldError{Field: "linesequencenumber", Reason: "is missing"})
	case r.TranID.trim() == "":
		return fail(&erp.FieldError{Field: "tranid", Reason: "is missing"})
	}
	date, err := dateOf("trandate", r.TranDate)
	if err != nil {
		return fail(err)
	}
	cur, err := currencyOf("currency", r.Currency)
	if err != nil {
		return fail(err)
	}
	qty, err := decimalOf("quantity", r.Quantity)
	if err != nil {
		return fail(err)
	}
	rate, err := decimalOf("rate", r.Rate)
	if err != nil {
		return fail(err)
	}
	// foreignamount is in the transaction's currency (netamount in the
	// subsidiary's base currency); purchase lines carry it negative.
	amt, err := requiredDecimal("foreignamount", r.ForeignAmount)
	if err != nil {
		return fail(err)
	}
	if _, err := decimalOf("netamount", r.NetAmount); err != nil {
		return fail(err)
	}
	mod, err := dateTimeOf("lastmodifieddate", r.LastModifiedDate, loc)
	if err != nil {
		return fail(err)
	}
	closed := r.IsClosed.trim() == "T"
	status := poStatus[r.Status.trim()]
	if status == "" {
		status = r.Status.trim()
	}
	if closed {
		status = "Closed"
	}
	out.rec.Modified = mod
	out.rec.Deleted = closed
	out.rec.POLine = &erp.POLine{
		PONumber:      r.TranID.trim(),
		Line:          seq,
		OrderDate:     date,
		SupplierID:    r.Entity.trim(),
		SupplierName:  r.EntityName.trim(),
		Material:      r.ItemName.trim(),
		MaterialGroup: r.Class.trim(),
		Description:   r.Memo.trim(),
		Quantity:      qty,
		Unit:          r.Units.trim(),
		UnitPrice:     rate,
		Amount:        amt.Neg(),
		Currency:      cur,
		Site:          r.Location.trim(),
		Status:        status,
	}
	return out
}

// vendorRow is one row of the vendor query.
type vendorRow struct {
	ID               value `json:"id"`
	EntityID         value `json:"entityid"`
	CompanyName      value `json:"companyname"`
	LegalName        value `json:"legalname"`
	VATRegNumber     value `json:"vatregnumber"`
	Email            value `json:"email"`
	URL              value `json:"url"`
	Country          value `json:"country"`
	IsInactive       value `json:"isinactive"`
	LastModifiedDate value `json:"lastmodifieddate"`
}

// parseVendor maps one vendor row.
func parseVendor(raw json.RawMessage, loc *time.Location) parsed {
	var r vendorRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return parsed{seqKey: -1, err: fmt.Errorf("row: %w", err)}
	}
	out := parsed{seqKey: seqKeyOf(r.ID)}
	id := r.ID.trim()
	out.rec = erp.Record{Kind: erp.KindSupplier, Key: id, Original: raw}
	if id == "" {
		out.err = &erp.FieldError{Field: "id", Reason: "is missing"}
		return out
	}
	name := r.CompanyName.trim()
	if name == "" {
		name = r.EntityID.trim()
	}
	if name == "" {
		out.err = &erp.FieldError{Field: "companyname", Reason: "is missing (and so is entityid)"}
		return out
	}
	country := strings.ToUpper(r.Country.trim())
	if country != "" && (len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z') {
		out.err = &erp.FieldError{Field: "country", Value: r.Country.S, Reason: "is not an ISO 3166-1 alpha-2 code"}
		return out
	}
	mod, err := dateTimeOf("lastmodifieddate", r.LastModifiedDate, loc)
	if err != nil {
		out.err = err
		return out
	}
	out.rec.Modified = mod
	out.rec.Supplier = &erp.Supplier{
		ID:        id,
		Name:      name,
		LegalName: r.LegalName.trim(),
		TaxID:     r.VATRegNumber.trim(),
		Country:   country,
		Email:     r.Email.trim(),
		Website:   r.URL.trim(),
		Blocked:   r.IsInactive.trim() == "T",
	}
	return out
}

// customRow is a sustainability custom record as the REST record API
// returns it; the custrecord_* fields are GreenLang's convention (README).
type customRow struct {
	ID           value `json:"id"`
	Name         value `json:"name"`
	LastModified value `json:"lastModified"`
	IsInactive   value `json:"isInactive"`
	Date         value `json:"custrecord_date"`
	Account      value `json:"custrecord_account"`
	AccountName  value `json:"custrecord_account_name"`
	Quantity     value `json:"custrecord_quantity"`
	Unit         value `json:"custrecord_unit"`
	Amount       value `json:"custrecord_amount"`
	Currency     value `json:"custrecord_currency"`
	Location     value `json:"custrecord_location"`
	Department   value `json:"custrecord_department"`
	Memo         value `json:"custrecord_memo"`
}

// parseCustom maps one custom record of type typ to a GL entry.
func parseCustom(typ string, raw json.RawMessage, loc *time.Location) parsed {
	var r customRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return parsed{seqKey: -1, err: fmt.Errorf("record: %w", err)}
	}
	out := parsed{seqKey: seqKeyOf(r.ID)}
	id := r.ID.trim()
	if id != "" {
		out.rec.Key = typ + "/" + id
	}
	out.rec.Kind, out.rec.Original = erp.KindGLEntry, raw
	fail := func(err error) parsed { out.err = err; return out }
	if id == "" {
		return fail(&erp.FieldError{Field: "id", Reason: "is missing"})
	}
	date, err := dateOf("custrecord_date", r.Date)
	if err != nil {
		return fail(err)
	}
	if r.Account.trim() == "" {
		return fail(&erp.FieldError{Field: "custrecord_account", Reason: "is missing"})
	}
	amt, err := decimalOf("custrecord_amount", r.Amount)
	if err != nil {
		return fail(err)
	}
	cur, err := currencyOf("custrecord_currency", r.Currency)
	if err != nil {
		return fail(err)
	}
	var qty decimal.NullDecimal
	if r.Quantity.Set && r.Quantity.trim() != "" {
		q, err := decimalOf("custrecord_quantity", r.Quantity)
		if err != nil {
			return fail(err)
		}
		qty = decimal.NewNullDecimal(q)
	}
	mod, err := dateTimeOf("lastModified", r.LastModified, loc)
	if err != nil {
		return fail(err)
	}
	desc := r.Memo.trim()
	if desc == "" {
		desc = r.Name.trim()
	}
	out.rec.Modified = mod
	out.rec.Deleted = r.IsInactive.trim() == "true" || r.IsInactive.trim() == "T"
	out.rec.GLEntry = &erp.GLEntry{
		DocumentID:  id,
		PostingDate: date,
		Account:     r.Account.trim(),
		AccountName: r.AccountName.trim(),
		Amount:      amt,
		Currency:    cur,
		Quantity:    qty,
		Unit:        r.Unit.trim(),
		CostCenter:  r.Department.trim(),
		Site:        r.Location.trim(),
		Description: desc,
	}
	return out
}

// deletedRow is one row of the DeletedRecord query.
type deletedRow struct {
	RecordType  value `json:"recordtype"`
	RecordID    value `json:"recordid"`
	DeletedDate value `json:"deleteddate"`
}

// parseDeleted maps a DeletedRecord row to a tombstone of kind; keyPrefix
// is put before the record id ("customrecord_x/" for custom records).
// A deleted purchase order yields one tombstone keyed by the transaction's
// internal id alone: its lines are gone and NetSuite does not say which
// there were (README: "Deletions").
func parseDeleted(kind erp.Kind, keyPrefix string, raw json.RawMessage, loc *time.Location) (parsed, time.Time) {
	var r deletedRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return parsed{seqKey: -1, err: fmt.Errorf("row: %w", err)}, time.Time{}
	}
	out := parsed{seqKey: seqKeyOf(r.RecordID)}
	id := r.RecordID.trim()
	if id == "" {
		out.err = &erp.FieldError{Field: "recordid", Reason: "is missing"}
		return out, time.Time{}
	}
	out.rec = erp.Record{Kind: kind, Key: keyPrefix + id, Deleted: true, Original: raw}
	when, err := dateTimeOf("deleteddate", r.DeletedDate, loc)
	if err != nil {
		out.err = err
		return out, time.Time{}
	}
	out.rec.Modified = when
	return out, when
}
