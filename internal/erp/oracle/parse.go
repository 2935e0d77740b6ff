package oracle

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

// Fusion REST payloads, with the vendor's property names. Numbers that are
// amounts or quantities are kept raw and read as decimals; ids are
// json.Number so that large ids keep every digit.

type poHeader struct {
	POHeaderId     json.Number
	OrderNumber    string
	Supplier       string
	SupplierId     json.Number
	CurrencyCode   string
	Status         string
	StatusCode     string
	ProcurementBU  string
	CreationDate   string
	LastUpdateDate string
	Lines          json.RawMessage `json:"lines"`
}

type poLine struct {
	POLineId       json.Number
	LineNumber     json.Number
	Item           string
	Description    string
	CategoryCode   string
	CategoryName   string
	Quantity       json.RawMessage
	UOM            string
	UOMCode        string
	Price          json.RawMessage
	Amount         json.RawMessage
	CurrencyCode   string
	Status         string
	StatusCode     string
	ShipToLocation string
	LastUpdateDate string
}

type supplier struct {
	SupplierId            json.Number
	SupplierNumber        string
	Supplier              string
	AlternateName         string
	TaxpayerId            string
	TaxRegistrationNumber string
	DUNSNumber            string
	TaxpayerCountry       string
	Status                string
	InactiveDate          string
	LastUpdateDate        string
}

type invoice struct {
	InvoiceId       json.Number
	InvoiceNumber   string
	InvoiceCurrency string
	InvoiceDate     string
	AccountingDate  string
	BusinessUnit    string
	Supplier        string
	Description     string
	CanceledFlag    bool
	LastUpdateDate  string
	InvoiceLines    json.RawMessage `json:"invoiceLines"`
}

type invoiceLine struct {
	LineNumber           json.Number
	LineType             string
	Description          string
	Quantity             json.RawMessage
	UOM                  string
	InvoiceDistributions json.RawMessage `json:"invoiceDistributions"`
}

type invoiceDistribution struct {
	InvoiceDistributionId   json.Number
	DistributionLineNumber  json.Number
	DistributionLineType    string
	Amount                  json.RawMessage
	AccountingDate          string
	DistributionCombination string
	Description             string
}

type ledgerBalance struct {
	LedgerName               string
	PeriodName               string
	Currency                 string
	AccountCombination       string
	DetailAccountCombination string
	AccountName              string
	BeginningBalance         json.RawMessage
	PeriodActivity           json.RawMessage
	EndingBalance            json.RawMessage
}

// reject adds a rejected record to p.
func reject(p *erp.Page, key string, err error, raw json.RawMessage) {
	p.Rejected = append(p.Rejected, erp.Rejected{Key: key, Reason: err.Error(), Raw: raw})
}

// keep validates rec and adds it to p, or rejects it.
func keep(p *erp.Page, rec erp.Record) {
	if err := rec.Validate(); err != nil {
		reject(p, rec.Key, err, rec.Original)
		return
	}
	p.Records = append(p.Records, rec)
}

// children reads an expanded child collection: a JSON array of items or a
// collection object {"items": [...], "hasMore": …}. A collection with more
// items than were expanded is an error: the parent is rejected rather
// than synced with lines missing.
func children(field string, raw json.RawMessage) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, &erp.FieldError{Field: field, Reason: err.Error()}
		}
		return items, nil
	}
	var c collection
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, &erp.FieldError{Field: field, Reason: err.Error()}
	}
	if c.HasMore {
		return nil, &erp.FieldError{Field: field, Reason: fmt.Sprintf("expanded child collection is truncated at %d items (hasMore)", len(c.Items))}
	}
	return c.Items, nil
}

// withoutChild returns the object raw without its child member name whose
// value is value, for the header part of a line's Original. It cuts the
// member out of the bytes (cheap, order kept) and falls back to decoding
// and re-encoding the object when the bytes are not as expected.
func withoutChild(raw, value json.RawMessage, name string) json.RawMessage {
	if len(value) == 0 {
		return raw
	}
	if out, ok := cutMember(raw, value, name); ok && json.Valid(out) {
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	delete(m, name)
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// cutMember removes `"name": value` and one adjacent comma from raw.
func cutMember(raw, value []byte, name string) ([]byte, bool) {
	i := bytes.Index(raw, value)
	if i < 0 {
		return nil, false
	}
	j := i
	for j > 0 && isSpace(raw[j-1]) {
		j--
	}
	if j == 0 || raw[j-1] != ':' {
		return nil, false
	}
	j--
	for j > 0 && isSpace(raw[j-1]) {
		j--
	}
	key := `"` + name + `"`
	if j < len(key) || string(raw[j-len(key):j]) != key {
		return nil, false
	}
	start, end := j-len(key), i+len(value)
	k := start
	for k > 0 && isSpace(raw[k-1]) {
		k--
	}
	if k > 0 && raw[k-1] == ',' {
		start = k - 1
	} else {
		m := end
		for m < len(raw) && isSpace(raw[m]) {
			m++
		}
		if m < len(raw) && raw[m] == ',' {
			end = m + 1
		}
	}
	out := make([]byte, 0, len(raw)-(end-start))
	out = append(out, raw[:start]...)
	return append(out, raw[end:]...), true
}

// lineOriginal is the Original of a line record, {"header": …, "item": …}:
// its document's header and the line item (both valid JSON already).
func lineOriginal(header, item json.RawMessage) json.RawMessage {
	out := make([]byte, 0, len(header)+len(item)+20)
	out = append(out, `{"header":`...)
	out = append(out, header...)
	out = append(out, `,"item":`...)
	out = append(out, item...)
	return append(out, '}')
}

func (c *Connector) parsePurchaseOrders(items []json.RawMessage, p *erp.Page) {
	for _, raw := range items {
		var h poHeader
		if err := json.Unmarshal(raw, &h); err != nil {
			reject(p, idOf(raw, "POHeaderId"), fmt.Errorf("purchase order: %w", err), raw)
			continue
		}
		doc := h.POHeaderId.String()
		lines, err := children("lines", h.Lines)
		if err != nil {
			reject(p, doc, err, raw)
			continue
		}
		header := withoutChild(raw, h.Lines, "lines")
		hdrErr := func() error {
			if doc == "" {
				return &erp.FieldError{Field: "POHeaderId", Reason: "is required"}
			}
			return nil
		}()
		created, cerr := parseTimeField("CreationDate", h.CreationDate, true)
		hModified, merr := parseTimeField("LastUpdateDate", h.LastUpdateDate, false)
		hdrErr = errors.Join(hdrErr, cerr, merr)
		for _, lraw := range lines {
			orig := lineOriginal(header, lraw)
			var l poLine
			if err := json.Unmarshal(lraw, &l); err != nil {
				reject(p, lineKey(doc, idOf(lraw, "LineNumber")), fmt.Errorf("purchase order line: %w", err), orig)
				continue
			}
			key := lineKey(doc, l.LineNumber.String())
			if hdrErr != nil {
				reject(p, key, hdrErr, orig)
				continue
			}
			rec, err := c.poLineRecord(&h, &l, created, hModified)
			if err != nil {
				reject(p, key, err, orig)
				continue
			}
			rec.Key = key
			rec.Original = orig
			keep(p, rec)
		}
	}
}

func lineKey(doc, line string) string {
	if doc == "" || line == "" {
		return ""
	}
	return doc + "/" + line
}

func (c *Connector) poLineRecord(h *poHeader, l *poLine, created, hModified time.Time) (erp.Record, error) {
	qty, err1 := parseDecimal("Quantity", l.Quantity)
	price, err2 := parseDecimal("Price", l.Price)
	amount, err3 := parseDecimal("Amount", l.Amount)
	lModified, err4 := parseTimeField("LastUpdateDate", l.LastUpdateDate, false)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return erp.Record{}, err
	}
	currency := l.CurrencyCode
	if currency == "" {
		currency = h.CurrencyCode
	}
	unit := l.UOMCode
	if unit == "" {
		unit = l.UOM
	}
	status := l.Status
	if status == "" {
		status = h.Status
	}
	modified := hModified
	if lModified.After(modified) {
		modified = lModified
	}
	return erp.Record{
		Kind:     erp.KindPOLine,
		Modified: modified,
		Deleted:  strings.EqualFold(h.StatusCode, "CANCELED") || strings.EqualFold(l.StatusCode, "CANCELED"),
		POLine: &erp.POLine{
			PONumber:      h.OrderNumber,
			Line:          l.LineNumber.String(),
			OrderDate:     created,
			SupplierID:    h.SupplierId.String(),
			SupplierName:  h.Supplier,
			Material:      l.Item,
			MaterialGroup: l.CategoryCode,
			SpendCategory: l.CategoryName,
			Description:   l.Description,
			Quantity:      qty,
			Unit:          unit,
			UnitPrice:     price,
			Amount:        amount,
			Currency:      currency,
			Site:          l.ShipToLocation,
			Status:        status,
		},
	}, nil
}

func (c *Connector) parseSuppliers(items []json.RawMessage, p *erp.Page) {
	for _, raw := range items {
		var s supplier
		if err := json.Unmarshal(raw, &s); err != nil {
			reject(p, idOf(raw, "SupplierId"), fmt.Errorf("supplier: %w", err), raw)
			continue
		}
		key := s.SupplierId.String()
		modified, err1 := parseTimeField("LastUpdateDate", s.LastUpdateDate, false)
		inactive, err2 := parseTimeField("InactiveDate", s.InactiveDate, false)
		if err := errors.Join(err1, err2); err != nil {
			reject(p, key, err, raw)
			continue
		}
		tax := s.TaxRegistrationNumber
		if tax == "" {
			tax = s.TaxpayerId
		}
		blocked := strings.EqualFold(s.Status, "INACTIVE") || (!inactive.IsZero() && !inactive.After(c.now()))
		keep(p, erp.Record{
			Kind:     erp.KindSupplier,
			Key:      key,
			Modified: modified,
			Supplier: &erp.Supplier{
				ID:        key,
				Name:      s.Supplier,
				LegalName: s.AlternateName,
				TaxID:     tax,
				DUNS:      s.DUNSNumber,
				Country:   countryCode(s.TaxpayerCountry),
				Blocked:   blocked,
			},
			Original: raw,
		})
	}
}

func (c *Connector) parseInvoices(items []json.RawMessage, p *erp.Page) {
	for _, raw := range items {
		var inv invoice
		if err := json.Unmarshal(raw, &inv); err != nil {
			reject(p, idOf(raw, "InvoiceId"), fmt.Errorf("invoice: %w", err), raw)
			continue
		}
		doc := inv.InvoiceId.String()
		lines, err := children("invoiceLines", inv.InvoiceLines)
		if err != nil {
			reject(p, doc, err, raw)
			continue
		}
		header := withoutChild(raw, inv.InvoiceLines, "invoiceLines")
		modified, merr := parseTimeField("LastUpdateDate", inv.LastUpdateDate, false)
		for _, lraw := range lines {
			var l invoiceLine
			if err := json.Unmarshal(lraw, &l); err != nil {
				reject(p, lineKey(doc, idOf(lraw, "LineNumber")), fmt.Errorf("invoice line: %w", err), lineOriginal(header, lraw))
				continue
			}
			dists, err := children("invoiceDistributions", l.InvoiceDistributions)
			if err != nil {
				reject(p, lineKey(doc, l.LineNumber.String()), err, lineOriginal(header, lraw))
				continue
			}
			lineHdr := withoutChild(lraw, l.InvoiceDistributions, "invoiceDistributions")
			for _, draw := range dists {
				orig := distOriginal(header, lineHdr, draw)
				var d invoiceDistribution
				if err := json.Unmarshal(draw, &d); err != nil {
					reject(p, "", fmt.Errorf("invoice distribution: %w", err), orig)
					continue
				}
				line := l.LineNumber.String() + "." + d.DistributionLineNumber.String()
				key := lineKey(doc, line)
				if merr != nil {
					reject(p, key, merr, orig)
					continue
				}
				rec, err := c.distributionRecord(&inv, &l, &d, len(dists) == 1)
				if err != nil {
					reject(p, key, err, orig)
					continue
				}
				rec.Key, rec.Original, rec.Modified = key, orig, modified
				rec.GLEntry.Line = line
				keep(p, rec)
			}
		}
	}
}

// distOriginal is the Original of an invoice distribution:
// {"header": invoice, "line": invoice line, "item": distribution}.
func distOriginal(header, line, item json.RawMessage) json.RawMessage {
	out := make([]byte, 0, len(header)+len(line)+len(item)+30)
	out = append(out, `{"header":`...)
	out = append(out, header...)
	out = append(out, `,"line":`...)
	out = append(out, line...)
	out = append(out, `,"item":`...)
	out = append(out, item...)
	return append(out, '}')
}

func (c *Connector) distributionRecord(inv *invoice, l *invoiceLine, d *invoiceDistribution, only bool) (erp.Record, error) {
	amount, err1 := parseDecimal("Amount", d.Amount)
	date, err2 := parseTimeField("AccountingDate", d.AccountingDate, true)
	account, err3 := c.segment("DistributionCombination", d.DistributionCombination, c.s.NaturalAccountSegment)
	var qty decimal.NullDecimal
	var err4 error
	if only && len(bytes.TrimSpace(l.Quantity)) > 0 && string(bytes.TrimSpace(l.Quantity)) != "null" {
		qty.Decimal, err4 = parseDecimal("Quantity", l.Quantity)
		qty.Valid = err4 == nil
	}
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return erp.Record{}, err
	}
	cc, _ := c.segment("DistributionCombination", d.DistributionCombination, c.s.CostCenterSegment)
	desc := d.Description
	if desc == "" {
		desc = l.Description
	}
	unit := ""
	if qty.Valid {
		unit = l.UOM
	}
	return erp.Record{
		Kind:    erp.KindGLEntry,
		Deleted: inv.CanceledFlag,
		GLEntry: &erp.GLEntry{
			DocumentID:  inv.InvoiceNumber,
			PostingDate: date,
			Account:     account,
			Amount:      amount,
			Currency:    inv.InvoiceCurrency,
			Quantity:    qty,
			Unit:        unit,
			CostCenter:  cc,
			Site:        inv.BusinessUnit,
			Description: desc,
		},
	}, nil
}

func (c *Connector) parseBalances(items []json.RawMessage, p *erp.Page) {
	for _, raw := range items {
		var b ledgerBalance
		if err := json.Unmarshal(raw, &b); err != nil {
			reject(p, "", fmt.Errorf("ledger balance: %w", err), raw)
			continue
		}
		combo := b.DetailAccountCombination
		if combo == "" {
			combo = b.AccountCombination
		}
		key := ""
		if b.LedgerName != "" && b.PeriodName != "" && combo != "" {
			key = b.LedgerName + "/" + b.PeriodName + "/" + combo
		}
		activity, err1 := parseDecimal("PeriodActivity", b.PeriodActivity)
		end, err2 := periodEnd(b.PeriodName)
		account, err3 := c.segment("DetailAccountCombination", combo, c.s.NaturalAccountSegment)
		if err := errors.Join(err1, err2, err3); err != nil {
			reject(p, key, err, raw)
			continue
		}
		cc, _ := c.segment("DetailAccountCombination", combo, c.s.CostCenterSegment)
		doc := ""
		if b.LedgerName != "" && b.PeriodName != "" {
			doc = b.LedgerName + "/" + b.PeriodName
		}
		keep(p, erp.Record{
			Kind: erp.KindGLEntry,
			Key:  key,
			GLEntry: &erp.GLEntry{
				DocumentID:  doc,
				Line:        combo,
				PostingDate: end,
				Account:     account,
				AccountName: b.AccountName,
				Amount:      activity,
				Currency:    b.Currency,
				CostCenter:  cc,
				Description: "period activity " + b.PeriodName,
			},
			Original: raw,
		})
	}
}

// segment returns the 1-based segment n of an account combination.
func (c *Connector) segment(field, combo string, n int) (string, error) {
	segs := strings.Split(combo, c.s.SegmentDelimiter)
	if combo == "" || n > len(segs) || strings.TrimSpace(segs[n-1]) == "" {
		return "", &erp.FieldError{Field: field, Value: combo, Reason: fmt.Sprintf("has no segment %d (delimiter %q)", n, c.s.SegmentDelimiter)}
	}
	return segs[n-1], nil
}

// periodEnd returns the last day of a monthly accounting period named
// "Mon-YY" or "Mon-YYYY" (Jan-25, Dec-2025).
func periodEnd(name string) (time.Time, error) {
	for _, layout := range []string{"Jan-06", "Jan-2006"} {
		if t, err := time.Parse(layout, name); err == nil {
			return t.AddDate(0, 1, -1), nil
		}
	}
	return time.Time{}, &erp.FieldError{Field: "PeriodName", Value: name, Reason: "is not a monthly period name like Jan-25"}
}

// parseDecimal reads a JSON number as a decimal; null or absent is zero.
func parseDecimal(field string, raw json.RawMessage) (decimal.Decimal, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		return decimal.Zero, nil
	}
	if s[0] == '"' {
		return decimal.Zero, &erp.FieldError{Field: field, Value: s, Reason: "is not a number"}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, &erp.FieldError{Field: field, Value: s, Reason: "is not a number"}
	}
	return d, nil
}

// parseTime reads a Fusion date-time (2025-03-04T10:11:12.345+00:00) or
// date (2025-03-04).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func parseTimeField(field, s string, required bool) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, &erp.FieldError{Field: field, Reason: "is required"}
		}
		return time.Time{}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, &erp.FieldError{Field: field, Value: s, Reason: "is not a date or date-time"}
	}
	return t, nil
}

// idOf returns the value of attr in the JSON object raw, for the key of a
// record that cannot be decoded; "" if it cannot be found.
func idOf(raw json.RawMessage, attr string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	v := bytes.TrimSpace(m[attr])
	if s, err := strconv.Unquote(string(v)); err == nil {
		return s
	}
	if _, err := strconv.ParseFloat(string(v), 64); err == nil {
		return string(v)
	}
	return ""
}

// countryCode maps the TaxpayerCountry name Fusion returns (or an ISO code)
// to ISO 3166-1 alpha-2; "" when unknown.
func countryCode(name string) string {
	if len(name) == 2 && strings.ToUpper(name) == name {
		return name
	}
	for _, c := range countries {
		if strings.EqualFold(c.name, name) {
			return c.code
		}
	}
	return ""
}

// countries is a constant table of country names and codes, used by the
// connector to map TaxpayerCountry and by the simulator's data.
var countries = [...]struct{ name, code, currency, vatPrefix string }{
	{"United States", "US", "USD", ""},
	{"Germany", "DE", "EUR", "DE"},
	{"United Kingdom", "GB", "GBP", "GB"},
	{"France", "FR", "EUR", "FR"},
	{"Netherlands", "NL", "EUR", "NL"},
	{"Japan", "JP", "JPY", ""},
	{"Switzerland", "CH", "CHF", "CHE"},
	{"Canada", "CA", "CAD", ""},
	{"Sweden", "SE", "SEK", "SE"},
	{"India", "IN", "INR", ""},
	{"Mexico", "MX", "MXN", ""},
	{"Australia", "AU", "AUD", ""},
}
