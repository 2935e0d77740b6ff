package dynamics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
)

// parsed is one decoded OData page.
type parsed struct {
	records  []erp.Record
	rejected []erp.Rejected
	next     string // @odata.nextLink
	delta    string // @odata.deltaLink
}

// odataPage is an OData v4 collection (or delta) response.
type odataPage struct {
	Value     *[]json.RawMessage `json:"value"`
	NextLink  string             `json:"@odata.nextLink"`
	DeltaLink string             `json:"@odata.deltaLink"`
}

// removal recognizes a deleted entity in a delta response, in the OData
// 4.01 form ({"@removed":{"reason":"deleted"},…}) or the 4.0 form Business
// Central documents ({"@odata.context":"…/$deletedEntity","id":…}).
type removal struct {
	Removed json.RawMessage `json:"@removed"`
	Context string          `json:"@odata.context"`
}

func (r removal) removed() bool {
	return (len(r.Removed) > 0 && string(r.Removed) != "null") || strings.HasSuffix(r.Context, "$deletedEntity")
}

// parsePage decodes a page of entity e. Only a body that is not an OData
// collection is an error; records that cannot be normalized are rejected.
func parsePage(e entity, body []byte, lcy string) (parsed, error) {
	var p odataPage
	if err := json.Unmarshal(body, &p); err != nil {
		return parsed{}, err
	}
	if p.Value == nil {
		return parsed{}, errors.New(`the response has no "value" array`)
	}
	out := parsed{next: p.NextLink, delta: p.DeltaLink}
	for _, raw := range *p.Value {
		switch e.Kind {
		case erp.KindSupplier:
			out.add(vendorRecord(raw))
		case erp.KindMaterial:
			out.add(itemRecord(raw))
		case erp.KindGLEntry:
			out.add(glRecord(raw, lcy))
		case erp.KindPOLine:
			orderRecords(&out, raw, lcy)
		}
	}
	return out, nil
}

// add keeps rec if it validates, else rejects it.
func (p *parsed) add(rec erp.Record, err error) {
	if err == nil {
		err = rec.Validate()
	}
	if err != nil {
		p.rejected = append(p.rejected, erp.Rejected{Key: rec.Key, Reason: err.Error(), Raw: rec.Original})
		return
	}
	p.records = append(p.records, rec)
}

// Field readers. Their errors are *erp.FieldError naming the API property.

func decimalField(field string, raw json.RawMessage, required bool) (decimal.Decimal, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		if required {
			return decimal.Decimal{}, &erp.FieldError{Field: field, Reason: "is required"}
		}
		return decimal.Decimal{}, nil
	}
	if len(s) > 64 || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return decimal.Decimal{}, &erp.FieldError{Field: field, Value: clip(s), Reason: "is not a number"}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, &erp.FieldError{Field: field, Value: clip(s), Reason: "is not a number"}
	}
	if d.Exponent() < -30 || d.Exponent() > 30 {
		return decimal.Decimal{}, &erp.FieldError{Field: field, Value: clip(s), Reason: "is out of range"}
	}
	return d, nil
}

func intField(field string, raw json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		return 0, &erp.FieldError{Field: field, Reason: "is required"}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &erp.FieldError{Field: field, Value: clip(s), Reason: "is not an integer"}
	}
	return n, nil
}

// dateField reads an Edm.Date; Business Central's blank date 0001-01-01
// counts as missing.
func dateField(field, s string, required bool) (time.Time, error) {
	if s == "" || s == "0001-01-01" {
		if required {
			return time.Time{}, &erp.FieldError{Field: field, Reason: "is required"}
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, &erp.FieldError{Field: field, Value: clip(s), Reason: "is not a date (YYYY-MM-DD)"}
	}
	return t, nil
}

// modifiedField reads lastModifiedDateTime (Edm.DateTimeOffset); optional.
func modifiedField(s string) (time.Time, error) {
	if s == "" || strings.HasPrefix(s, "0001-01-01") {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &erp.FieldError{Field: "lastModifiedDateTime", Value: clip(s), Reason: "is not a DateTimeOffset"}
	}
	return t.UTC(), nil
}

// currencyOf maps currencyCode, empty for the local currency (LCY).
func currencyOf(code, lcy string) string {
	if strings.TrimSpace(code) == "" {
		return lcy
	}
	return code
}

// clip shortens a value quoted in a reason.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func isZeroGUID(s string) bool { return s == "" || s == zeroGUID }

// decodeErr turns a JSON type error into a reason naming the property.
func decodeErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &erp.FieldError{Field: te.Field, Value: te.Value, Reason: "has the wrong JSON type (want " + te.Type.String() + ")"}
	}
	return fmt.Errorf("cannot read the record: %w", err)
}

// bcVendor holds the vendor properties the connector maps.
type bcVendor struct {
	removal
	ID                    string `json:"id"`
	Number                string `json:"number"`
	DisplayName           string `json:"displayName"`
	Country               string `json:"country"`
	Email                 string `json:"email"`
	Website               string `json:"website"`
	TaxRegistrationNumber string `json:"taxRegistrationNumber"`
	Blocked               string `json:"blocked"`
	LastModifiedDateTime  string `json:"lastModifiedDateTime"`
}

// vendorRecord maps a vendor; its key is the vendor's id, which is also
// all a removed entry carries.
func vendorRecord(raw json.RawMessage) (erp.Record, error) {
	rec := erp.Record{Kind: erp.KindSupplier, Original: raw}
	var v bcVendor
	if err := json.Unmarshal(raw, &v); err != nil {
		return rec, decodeErr(err)
	}
	rec.Key = v.ID
	if v.ID == "" {
		return rec, &erp.FieldError{Field: "id", Reason: "is required"}
	}
	if v.removed() {
		rec.Deleted = true
		return rec, nil
	}
	var err error
	if rec.Modified, err = modifiedField(v.LastModifiedDateTime); err != nil {
		return rec, err
	}
	if strings.TrimSpace(v.Number) == "" {
		return rec, &erp.FieldError{Field: "number", Reason: "is required"}
	}
	if strings.TrimSpace(v.DisplayName) == "" {
		return rec, &erp.FieldError{Field: "displayName", Reason: "is required"}
	}
	rec.Supplier = &erp.Supplier{
		ID: v.Number, Name: v.DisplayName, TaxID: v.TaxRegistrationNumber, Country: strings.ToUpper(strings.TrimSpace(v.Country)),
		Email: v.Email, Website: v.Website, Blocked: strings.TrimSpace(v.Blocked) != "",
	}
	return rec, nil
}

// bcItem holds the item properties the connector maps.
type bcItem struct {
	removal
	ID                    string `json:"id"`
	Number                string `json:"number"`
	DisplayName           string `json:"displayName"`
	ItemCategoryCode      string `json:"itemCategoryCode"`
	BaseUnitOfMeasureCode string `json:"baseUnitOfMeasureCode"`
	LastModifiedDateTime  string `json:"lastModifiedDateTime"`
}

// itemRecord maps an item; its key is the item's id.
func itemRecord(raw json.RawMessage) (erp.Record, error) {
	rec := erp.Record{Kind: erp.KindMaterial, Original: raw}
	var it bcItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return rec, decodeErr(err)
	}
	rec.Key = it.ID
	if it.ID == "" {
		return rec, &erp.FieldError{Field: "id", Reason: "is required"}
	}
	if it.removed() {
		rec.Deleted = true
		return rec, nil
	}
	var err error
	if rec.Modified, err = modifiedField(it.LastModifiedDateTime); err != nil {
		return rec, err
	}
	if strings.TrimSpace(it.Number) == "" {
		return rec, &erp.FieldError{Field: "number", Reason: "is required"}
	}
	rec.Material = &erp.Material{ID: it.Number, Description: it.DisplayName, MaterialGroup: it.ItemCategoryCode, BaseUnit: it.BaseUnitOfMeasureCode}
	return rec, nil
}

// bcGLEntry holds the generalLedgerEntry properties the connector maps.
type bcGLEntry struct {
	removal
	ID                   string          `json:"id"`
	EntryNumber          json.RawMessage `json:"entryNumber"`
	PostingDate          string          `json:"postingDate"`
	DocumentNumber       string          `json:"documentNumber"`
	AccountNumber        string          `json:"accountNumber"`
	Description          string          `json:"description"`
	DebitAmount          json.RawMessage `json:"debitAmount"`
	CreditAmount         json.RawMessage `json:"creditAmount"`
	LastModifiedDateTime string          `json:"lastModifiedDateTime"`
}

// glRecord maps a G/L entry: key "<documentNumber>/<entryNumber>", amount
// debit − credit in the local currency.
func glRecord(raw json.RawMessage, lcy string) (erp.Record, error) {
	rec := erp.Record{Kind: erp.KindGLEntry, Original: raw}
	var g bcGLEntry
	if err := json.Unmarshal(raw, &g); err != nil {
		return rec, decodeErr(err)
	}
	if g.removed() {
		// Posted ledger entries cannot be deleted in Business Central; a
		// removed entry names only its id, not the key.
		rec.Key = g.ID
		return rec, fmt.Errorf("id %q: a removed general ledger entry cannot be matched to its key (document/entry number), and posted entries are not deleted in Business Central; review it in the ERP", g.ID)
	}
	entry, err := intField("entryNumber", g.EntryNumber)
	if err != nil {
		return rec, err
	}
	if strings.TrimSpace(g.DocumentNumber) == "" {
		return rec, &erp.FieldError{Field: "documentNumber", Reason: "is required"}
	}
	rec.Key = g.DocumentNumber + "/" + strconv.FormatInt(entry, 10)
	if rec.Modified, err = modifiedField(g.LastModifiedDateTime); err != nil {
		return rec, err
	}
	posting, err := dateField("postingDate", g.PostingDate, true)
	if err != nil {
		return rec, err
	}
	if strings.TrimSpace(g.AccountNumber) == "" {
		return rec, &erp.FieldError{Field: "accountNumber", Reason: "is required"}
	}
	debit, err := decimalField("debitAmount", g.DebitAmount, true)
	if err != nil {
		return rec, err
	}
	credit, err := decimalField("creditAmount", g.CreditAmount, true)
	if err != nil {
		return rec, err
	}
	rec.GLEntry = &erp.GLEntry{
		DocumentID: g.DocumentNumber, Line: strconv.FormatInt(entry, 10), PostingDate: posting, Account: g.AccountNumber,
		Amount: debit.Sub(credit), Currency: lcy, Description: g.Description,
	}
	return rec, nil
}

// bcOrder holds the purchaseOrder properties the connector maps.
type bcOrder struct {
	removal
	ID                   string `json:"id"`
	Number               string `json:"number"`
	OrderDate            string `json:"orderDate"`
	VendorNumber         string `json:"vendorNumber"`
	VendorName           string `json:"vendorName"`
	CurrencyCode         string `json:"currencyCode"`
	Status               string `json:"status"`
	LastModifiedDateTime string `json:"lastModifiedDateTime"`
}

// The properties that hold an order's expanded lines.
const (
	linesProp      = "purchaseOrderLines"
	linesDeltaProp = "purchaseOrderLines@delta"
)

// splitOrder decodes an order object once into its header fields, the
// header's JSON without the lines (keys sorted) and the lines.
func splitOrder(raw json.RawMessage) (o bcOrder, header json.RawMessage, lines []json.RawMessage, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return o, nil, nil, err
	}
	for _, p := range []string{linesProp, linesDeltaProp} {
		if v, ok := m[p]; ok {
			var ls []json.RawMessage
			if err := json.Unmarshal(v, &ls); err != nil {
				return o, nil, nil, decodeErr(fmt.Errorf("%s: %w", p, err))
			}
			lines = append(lines, ls...)
			delete(m, p)
		}
	}
	str := func(field string, dst *string) {
		if v, ok := m[field]; ok && err == nil && string(v) != "null" {
			if e := json.Unmarshal(v, dst); e != nil {
				err = &erp.FieldError{Field: field, Value: clip(string(v)), Reason: "is not a string"}
			}
		}
	}
	str("id", &o.ID)
	str("number", &o.Number)
	str("orderDate", &o.OrderDate)
	str("vendorNumber", &o.VendorNumber)
	str("vendorName", &o.VendorName)
	str("currencyCode", &o.CurrencyCode)
	str("status", &o.Status)
	str("lastModifiedDateTime", &o.LastModifiedDateTime)
	str("@odata.context", &o.Context)
	o.Removed = m["@removed"]
	if len(lines) == 0 {
		return o, raw, nil, err
	}
	// The header is re-assembled from the decoded (valid) values.
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 4
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		b = append(b, m[k]...)
	}
	return o, append(b, '}'), lines, err
}

// bcLine holds the purchaseOrderLine properties the connector maps.
type bcLine struct {
	removal
	ID                string          `json:"id"`
	Sequence          json.RawMessage `json:"sequence"`
	LineType          string          `json:"lineType"`
	LineObjectNumber  string          `json:"lineObjectNumber"`
	Description       string          `json:"description"`
	UnitOfMeasureCode string          `json:"unitOfMeasureCode"`
	Quantity          json.RawMessage `json:"quantity"`
	DirectUnitCost    json.RawMessage `json:"directUnitCost"`
	NetAmount         json.RawMessage `json:"netAmount"`
	LocationID        string          `json:"locationId"`
}

// lineOriginal wraps the order header (without its lines) and one line.
func lineOriginal(header, line json.RawMessage) json.RawMessage {
	b := make([]byte, 0, len(header)+len(line)+20)
	b = append(b, `{"header":`...)
	b = append(b, header...)
	b = append(b, `,"item":`...)
	if len(line) == 0 {
		line = json.RawMessage("null")
	}
	b = append(b, line...)
	return append(b, '}')
}

// orderRecords maps a purchase order with its expanded lines (in a delta
// response, the changed and removed lines of purchaseOrderLines@delta) to
// one record per line, keyed "<order id>/<line sequence>": the id, not
// the number, because a deleted order comes back naming only its id.
func orderRecords(out *parsed, raw json.RawMessage, lcy string) {
	o, header, lines, herr := splitOrder(raw)
	if herr != nil && header == nil {
		out.add(erp.Record{Kind: erp.KindPOLine, Original: raw}, decodeErr(herr))
		return
	}
	if o.removed() {
		// Business Central names only the order's id, which is the prefix
		// of its lines' keys: a record keyed by the id alone is the whole
		// document's tombstone (the engine deletes every "<id>/…" line).
		if strings.TrimSpace(o.ID) == "" || strings.Contains(o.ID, "/") {
			out.add(erp.Record{Kind: erp.KindPOLine, Original: raw},
				&erp.FieldError{Field: "id", Value: o.ID, Reason: "a removed purchase order needs its id"})
			return
		}
		out.add(erp.Record{Kind: erp.KindPOLine, Key: o.ID, Deleted: true, Original: raw}, nil)
		return
	}
	base := erp.POLine{PONumber: o.Number, SupplierID: o.VendorNumber, SupplierName: o.VendorName,
		Currency: currencyOf(o.CurrencyCode, lcy), Status: o.Status}
	var modified time.Time
	if herr == nil {
		modified, herr = modifiedField(o.LastModifiedDateTime)
	}
	if herr == nil && strings.TrimSpace(o.Number) == "" {
		herr = &erp.FieldError{Field: "number", Reason: "is required"}
	}
	if herr == nil && (strings.TrimSpace(o.ID) == "" || strings.Contains(o.ID, "/")) {
		herr = &erp.FieldError{Field: "id", Value: o.ID, Reason: "is required (and holds no \"/\")"}
	}
	if herr == nil {
		base.OrderDate, herr = dateField("orderDate", o.OrderDate, true)
	}
	if len(lines) == 0 && herr != nil {
		key := o.ID
		if key == "" {
			key = o.Number
		}
		out.add(erp.Record{Kind: erp.KindPOLine, Key: key, Original: lineOriginal(header, nil)}, herr)
	}
	for _, lraw := range lines {
		rec, err := lineRecord(base, o.ID, lraw, modified)
		rec.Original = lineOriginal(header, lraw)
		if herr != nil {
			err = herr
		}
		out.add(rec, err)
	}
}

// lineRecord maps one purchase order line onto the order's fields.
func lineRecord(base erp.POLine, orderID string, raw json.RawMessage, modified time.Time) (erp.Record, error) {
	rec := erp.Record{Kind: erp.KindPOLine, Modified: modified}
	var l bcLine
	if err := json.Unmarshal(raw, &l); err != nil {
		return rec, decodeErr(err)
	}
	seq, err := intField("purchaseOrderLines.sequence", l.Sequence)
	if orderID != "" && err == nil {
		rec.Key = orderID + "/" + strconv.FormatInt(seq, 10)
	}
	if err != nil {
		if l.ID != "" {
			rec.Key = orderID + "/" + l.ID
		}
		return rec, err
	}
	if l.removed() {
		rec.Deleted = true
		return rec, nil
	}
	line := base
	line.Line = strconv.FormatInt(seq, 10)
	line.Description = l.Description
	line.Unit = l.UnitOfMeasureCode
	switch l.LineType {
	case "Item":
		line.Material = l.LineObjectNumber
	case "Account":
		line.SpendCategory = l.LineObjectNumber // the G/L account the line posts to
	}
	if !isZeroGUID(l.LocationID) {
		line.Site = l.LocationID
	}
	if line.Quantity, err = decimalField("purchaseOrderLines.quantity", l.Quantity, true); err != nil {
		return rec, err
	}
	if line.UnitPrice, err = decimalField("purchaseOrderLines.directUnitCost", l.DirectUnitCost, false); err != nil {
		return rec, err
	}
	if line.Amount, err = decimalField("purchaseOrderLines.netAmount", l.NetAmount, true); err != nil {
		return rec, err
	}
	rec.POLine = &line
	return rec, nil
}
