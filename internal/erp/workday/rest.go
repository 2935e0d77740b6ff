package workday

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// maxBody bounds a response body read into memory.
const maxBody = 64 << 20

// collection is a page of a Workday REST collection.
type collection struct {
	Total int               `json:"total"`
	Data  []json.RawMessage `json:"data"`
}

// restError is Workday's REST error body.
type restError struct {
	Error  string `json:"error"`
	Errors []struct {
		Error    string `json:"error"`
		Field    string `json:"field"`
		Location string `json:"location"`
	} `json:"errors"`
}

// describe renders a REST error body in one line ("" if it is not one).
func (e restError) describe() string {
	parts := []string{}
	if e.Error != "" {
		parts = append(parts, e.Error)
	}
	for _, s := range e.Errors {
		p := s.Error
		if s.Field != "" {
			p += " (field " + s.Field + ")"
		}
		if p != "" && p != e.Error {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "; ")
}

// statusError describes a non-2xx answer with the vendor's message.
func statusError(resp *http.Response, body []byte) string {
	msg := ""
	var re restError
	if json.Unmarshal(body, &re) == nil {
		msg = re.describe()
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
	}
	if msg == "" {
		return "HTTP " + resp.Status
	}
	return "HTTP " + resp.Status + ": " + msg
}

// fetchREST reads one page of a REST collection with limit and offset;
// purchase orders are filtered with updatedFrom when the read is
// incremental.
func (c *Connector) fetchREST(ctx context.Context, e entityDef, req erp.PageRequest) (erp.Page, error) {
	k, err := readCursor(req)
	if err != nil {
		return erp.Page{}, c.errorf("%s: %v", e.Name, err)
	}
	limit := req.PageSize
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	path := e.path(c.settings.Tenant)
	q := url.Values{}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(k.Offset))
	if e.Incremental && k.Since != "" {
		q.Set("updatedFrom", k.Since)
	}
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return erp.Page{}, c.errorf("%s: %v", e.Name, err)
	}
	hreq.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(hreq)
	if err != nil {
		return erp.Page{}, c.errorf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return erp.Page{}, c.errorf("GET %s: reading the body: %v", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return erp.Page{}, c.errorf("GET %s: %s", path, statusError(resp, body))
	}
	var col collection
	if err := json.Unmarshal(body, &col); err != nil {
		return erp.Page{}, c.errorf("GET %s?%s: malformed JSON page: %v", path, q.Encode(), err)
	}
	if k.Start == "" && k.Offset == 0 {
		k.Start = serverTime(resp)
	}
	page := erp.Page{}
	for _, raw := range col.Data {
		recs, rej := e.parse(raw)
		page.Rejected = append(page.Rejected, rej...)
		for _, r := range recs {
			k.noteModified(r.Modified)
		}
		page.Records = append(page.Records, recs...)
	}
	next := k.Offset + len(col.Data)
	if len(col.Data) == 0 || next >= col.Total {
		page.Watermark = k.watermark(col.Total)
		return page, nil
	}
	k.Offset = next
	page.Next = k.encode()
	return page, nil
}

// redactedURL is s without credential-like parts, for errors.
func redactedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return erphttp.RedactURL(u)
}

// ---- wire types ----

// ref is a Workday instance reference.
type ref struct {
	ID         string `json:"id"`
	Descriptor string `json:"descriptor"`
}

// flexNum is a number Workday sends as a JSON number or a string; it is kept
// as text and parsed where it is used, so a bad value rejects one record.
type flexNum string

// UnmarshalJSON accepts a number, a string or null.
func (n *flexNum) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*n = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = flexNum(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*n = flexNum(b)
	default:
		return fmt.Errorf("not a number: %.40s", b)
	}
	return nil
}

// money is a Workday currency amount.
type money struct {
	Value    flexNum `json:"value"`
	Currency string  `json:"currency"`
}

// fieldErr is a record refused for field.
func fieldErr(field, value, reason string) error {
	return &erp.FieldError{Field: field, Value: value, Reason: reason}
}

// decimalField parses a required decimal.
func decimalField(field string, v flexNum) (decimal.Decimal, error) {
	if strings.TrimSpace(string(v)) == "" {
		return decimal.Decimal{}, fieldErr(field, "", "is required")
	}
	d, err := decimal.NewFromString(strings.TrimSpace(string(v)))
	if err != nil {
		return decimal.Decimal{}, fieldErr(field, string(v), "is not a number")
	}
	return d, nil
}

// optDecimal parses an optional decimal.
func optDecimal(field string, v flexNum) (decimal.NullDecimal, error) {
	if strings.TrimSpace(string(v)) == "" {
		return decimal.NullDecimal{}, nil
	}
	d, err := decimalField(field, v)
	if err != nil {
		return decimal.NullDecimal{}, err
	}
	return decimal.NewNullDecimal(d), nil
}

// dateField parses a Workday date ("2025-03-04", with or without a time
// and offset); "" is the zero time.
func dateField(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339Nano, "2006-01-02-07:00", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldErr(field, s, "is not a date")
}

// reject builds a Rejected record.
func reject(key string, err error, raw []byte) erp.Rejected {
	return erp.Rejected{Key: key, Reason: err.Error(), Raw: json.RawMessage(bytes.Clone(raw))}
}

// keep validates r and returns it, or rejects it.
func keep(recs []erp.Record, rejs []erp.Rejected, r erp.Record, raw []byte) ([]erp.Record, []erp.Rejected) {
	if err := r.Validate(); err != nil {
		return recs, append(rejs, reject(r.Key, err, raw))
	}
	return append(recs, r), rejs
}

// ---- workers ----

// restWorker is a worker of GET /ccx/api/v1/{tenant}/workers.
type restWorker struct {
	ID                    string `json:"id"`
	Descriptor            string `json:"descriptor"`
	WorkerID              string `json:"workerId"`
	PrimaryWorkEmail      string `json:"primaryWorkEmail"`
	BusinessTitle         string `json:"businessTitle"`
	Location              *ref   `json:"location"`
	PrimaryWorkAddressTxt string `json:"primaryWorkAddressText"`
}

// parseWorker maps a REST worker. The collection lists active workers only.
func parseWorker(raw []byte) ([]erp.Record, []erp.Rejected) {
	var w restWorker
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, []erp.Rejected{reject(keyOf(raw, "workerId"), fmt.Errorf("worker: %v", err), raw)}
	}
	id := w.WorkerID
	if id == "" {
		return nil, []erp.Rejected{reject(w.ID, fieldErr("workerId", "", "is required"), raw)}
	}
	wk := &erp.Worker{ID: id, Name: w.Descriptor, Active: true}
	if w.Location != nil {
		wk.Location = w.Location.Descriptor
	}
	return keep(nil, nil, erp.Record{Kind: erp.KindWorker, Key: id, Worker: wk, Original: json.RawMessage(bytes.Clone(raw))}, raw)
}

// keyOf digs field out of a JSON object that did not decode, for the key of
// its rejection ("" if absent).
func keyOf(raw []byte, field string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m[field], &s) != nil {
		return ""
	}
	return s
}

// ---- suppliers ----

// restSupplier is a supplier of GET /ccx/api/procurement/v5/{tenant}/suppliers.
type restSupplier struct {
	ID               string `json:"id"`
	Descriptor       string `json:"descriptor"`
	SupplierID       string `json:"supplierId"`
	LegalName        string `json:"legalName"`
	SupplierCategory *ref   `json:"supplierCategory"`
	TaxID            string `json:"taxId"`
	DUNS             string `json:"dunsNumber"`
	Country          *struct {
		ref
		Alpha2Code string `json:"alpha2Code"`
	} `json:"country"`
	Industry *struct {
		ref
		NAICS string `json:"naicsCode"`
	} `json:"industryClassification"`
	PrimaryEmail string `json:"primaryEmail"`
	Website      string `json:"website"`
	Status       *ref   `json:"supplierStatus"`
	LastUpdated  string `json:"lastUpdated"`
}

func parseSupplier(raw []byte) ([]erp.Record, []erp.Rejected) {
	var s restSupplier
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, []erp.Rejected{reject(keyOf(raw, "supplierId"), fmt.Errorf("supplier: %v", err), raw)}
	}
	if s.SupplierID == "" {
		return nil, []erp.Rejected{reject(s.ID, fieldErr("supplierId", "", "is required"), raw)}
	}
	sup := &erp.Supplier{ID: s.SupplierID, Name: s.Descriptor, LegalName: s.LegalName, TaxID: s.TaxID,
		DUNS: s.DUNS, Email: s.PrimaryEmail, Website: s.Website}
	if s.Country != nil {
		sup.Country = s.Country.Alpha2Code
	}
	if s.Industry != nil {
		sup.NAICS = s.Industry.NAICS
	}
	if s.Status != nil {
		sup.Blocked = !strings.EqualFold(s.Status.Descriptor, "Active")
	}
	mod, err := dateField("lastUpdated", s.LastUpdated)
	if err != nil {
		return nil, []erp.Rejected{reject(s.SupplierID, err, raw)}
	}
	return keep(nil, nil, erp.Record{Kind: erp.KindSupplier, Key: s.SupplierID, Modified: mod, Supplier: sup,
		Original: json.RawMessage(bytes.Clone(raw))}, raw)
}

// ---- purchase orders ----

// restPO is a purchase order of GET
// /ccx/api/procurement/v5/{tenant}/purchaseOrders, with its lines.
type restPO struct {
	ID          string            `json:"id"`
	Descriptor  string            `json:"descriptor"`
	Number      string            `json:"number"`
	OrderDate   string            `json:"orderDate"`
	Supplier    *ref              `json:"supplier"`
	SupplierID  string            `json:"supplierId"`
	Currency    *ref              `json:"currency"`
	Status      *ref              `json:"status"`
	LastUpdated string            `json:"lastUpdated"`
	Lines       []json.RawMessage `json:"lines"`
}

// restPOLine is a line of a purchase order.
type restPOLine struct {
	ID                string  `json:"id"`
	LineNumber        flexNum `json:"lineNumber"`
	ItemDescription   string  `json:"itemDescription"`
	ItemIdentifier    string  `json:"itemIdentifier"`
	PurchaseItem      *ref    `json:"purchaseItem"`
	PurchaseItemGroup *ref    `json:"purchaseItemGroup"`
	SpendCategory     *ref    `json:"spendCategory"`
	Quantity          flexNum `json:"quantity"`
	UnitOfMeasure     *ref    `json:"unitOfMeasure"`
	UnitCost          *money  `json:"unitCost"`
	ExtendedAmount    *money  `json:"extendedAmount"`
	ShipTo            *ref    `json:"shipTo"`
	Status            *ref    `json:"status"`
}

func descr(r *ref) string {
	if r == nil {
		return ""
	}
	return r.Descriptor
}

// parsePurchaseOrder maps each line of a purchase order to a POLine record
// keyed "<PO number>/<line number>"; Original is {"header":…,"item":…}. A
// cancelled order or line is Deleted.
func parsePurchaseOrder(raw []byte) ([]erp.Record, []erp.Rejected) {
	var po restPO
	header, lines, err := splitLines(raw, &po)
	if err != nil {
		return nil, []erp.Rejected{reject(keyOf(raw, "number"), fmt.Errorf("purchase order: %v", err), raw)}
	}
	po.Lines = lines
	if po.Number == "" {
		return nil, []erp.Rejected{reject(po.ID, fieldErr("number", "", "is required"), raw)}
	}
	var (
		recs []erp.Record
		rejs []erp.Rejected
	)
	orderDate, dateErr := dateField("orderDate", po.OrderDate)
	modified, modErr := dateField("lastUpdated", po.LastUpdated)
	for i, item := range po.Lines {
		orig := wrapLine(header, item)
		key := fmt.Sprintf("%s/%d", po.Number, i+1)
		var l restPOLine
		if err := json.Unmarshal(item, &l); err != nil {
			rejs = append(rejs, reject(key, fmt.Errorf("purchase order line: %v", err), orig))
			continue
		}
		if n := strings.TrimSpace(string(l.LineNumber)); n != "" {
			key = po.Number + "/" + n
		}
		rec, err := poLine(po, l, key, orderDate, modified)
		for _, e := range []error{dateErr, modErr} {
			if err == nil && e != nil {
				err = e
			}
		}
		if err != nil {
			rejs = append(rejs, reject(key, err, orig))
			continue
		}
		rec.Original = orig
		recs, rejs = keep(recs, rejs, rec, orig)
	}
	return recs, rejs
}

func poLine(po restPO, l restPOLine, key string, orderDate, modified time.Time) (erp.Record, error) {
	p := &erp.POLine{
		PONumber:      po.Number,
		Line:          strings.TrimSpace(string(l.LineNumber)),
		OrderDate:     orderDate,
		SupplierID:    po.SupplierID,
		SupplierName:  descr(po.Supplier),
		Material:      l.ItemIdentifier,
		MaterialGroup: descr(l.PurchaseItemGroup),
		SpendCategory: descr(l.SpendCategory),
		Description:   l.ItemDescription,
		Unit:          descr(l.UnitOfMeasure),
		Site:          descr(l.ShipTo),
		Status:        descr(l.Status),
	}
	if p.Description == "" {
		p.Description = descr(l.PurchaseItem)
	}
	if p.Status == "" {
		p.Status = descr(po.Status)
	}
	var err error
	if p.Quantity, err = decimalField("quantity", l.Quantity); err != nil {
		return erp.Record{}, err
	}
	if l.ExtendedAmount == nil {
		return erp.Record{}, fieldErr("extendedAmount", "", "is required")
	}
	if p.Amount, err = decimalField("extendedAmount.value", l.ExtendedAmount.Value); err != nil {
		return erp.Record{}, err
	}
	p.Currency = l.ExtendedAmount.Currency
	if p.Currency == "" {
		p.Currency = descr(po.Currency)
	}
	if l.UnitCost != nil {
		up, err := optDecimal("unitCost.value", l.UnitCost.Value)
		if err != nil {
			return erp.Record{}, err
		}
		p.UnitPrice = up.Decimal
	}
	deleted := strings.EqualFold(descr(po.Status), "Canceled") || strings.EqualFold(descr(l.Status), "Canceled")
	return erp.Record{Kind: erp.KindPOLine, Key: key, Modified: modified, Deleted: deleted, POLine: p}, nil
}

// splitLines decodes a document with a "lines" array in one pass: its
// header fields into dst, the header without its lines as compact JSON, and
// the raw lines.
func splitLines(raw []byte, dst any) (json.RawMessage, []json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, err
	}
	var lines []json.RawMessage
	if l, ok := m["lines"]; ok {
		if err := json.Unmarshal(l, &lines); err != nil {
			return nil, nil, fmt.Errorf("lines: %v", err)
		}
		delete(m, "lines")
	}
	header, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(header, dst); err != nil {
		return nil, nil, err
	}
	return header, lines, nil
}

// wrapLine builds the Original of a line: {"header":…,"item":…}. Both parts
// are valid JSON already (from json.Marshal and json.Unmarshal).
func wrapLine(header, item json.RawMessage) json.RawMessage {
	b := make([]byte, 0, len(header)+len(item)+20)
	b = append(b, `{"header":`...)
	b = append(b, header...)
	b = append(b, `,"item":`...)
	b = append(b, item...)
	return append(b, '}')
}

// ---- expense reports ----

// restExpenseReport is an expense report of GET
// /ccx/api/expense/v1/{tenant}/reports, with its lines.
type restExpenseReport struct {
	ID                  string            `json:"id"`
	Descriptor          string            `json:"descriptor"`
	ReportNumber        string            `json:"reportNumber"`
	CreationDate        string            `json:"creationDate"`
	ExpenseReportMemo   string            `json:"expenseReportMemo"`
	ExpenseReportStatus *ref              `json:"expenseReportStatus"`
	Payee               *ref              `json:"payee"`
	TotalAmount         *money            `json:"totalAmount"`
	LastUpdated         string            `json:"lastUpdated"`
	Lines               []json.RawMessage `json:"lines"`
}

// restExpenseLine is a line of an expense report.
type restExpenseLine struct {
	ID            string  `json:"id"`
	LineNumber    flexNum `json:"lineNumber"`
	Date          string  `json:"date"`
	ExpenseItem   *ref    `json:"expenseItem"`
	Memo          string  `json:"memo"`
	TotalAmount   *money  `json:"totalAmount"`
	Quantity      flexNum `json:"quantity"`
	UnitOfMeasure *ref    `json:"unitOfMeasure"`
	ItemDetails   []struct {
		Attribute ref    `json:"attribute"`
		Value     string `json:"value"`
	} `json:"itemDetails"`
}

// expenseType normalizes an expense item ("Car Rental" → "CAR_RENTAL").
func expenseType(item string) string {
	f := strings.Fields(strings.ToUpper(item))
	return strings.Join(f, "_")
}

// unitCodes maps Workday units of measure to short unit codes.
var unitCodes = map[string]string{
	"kilometers": "km", "kilometer": "km", "km": "km",
	"miles": "mi", "mile": "mi", "mi": "mi",
	"nights": "night", "night": "night",
	"days": "day", "day": "day",
}

func unitCode(s string) string {
	if u, ok := unitCodes[strings.ToLower(strings.TrimSpace(s))]; ok {
		return u
	}
	return s
}

// parseExpenseReport maps each line of an expense report to an ExpenseLine
// keyed "<report number>/<line number>". Reports whose status is Canceled
// yield Deleted lines.
func parseExpenseReport(raw []byte) ([]erp.Record, []erp.Rejected) {
	var er restExpenseReport
	header, lines, err := splitLines(raw, &er)
	if err != nil {
		return nil, []erp.Rejected{reject(keyOf(raw, "reportNumber"), fmt.Errorf("expense report: %v", err), raw)}
	}
	er.Lines = lines
	if er.ReportNumber == "" {
		return nil, []erp.Rejected{reject(er.ID, fieldErr("reportNumber", "", "is required"), raw)}
	}
	modified, modErr := dateField("lastUpdated", er.LastUpdated)
	deleted := strings.EqualFold(descr(er.ExpenseReportStatus), "Canceled")
	var (
		recs []erp.Record
		rejs []erp.Rejected
	)
	for i, item := range er.Lines {
		orig := wrapLine(header, item)
		key := fmt.Sprintf("%s/%d", er.ReportNumber, i+1)
		var l restExpenseLine
		if err := json.Unmarshal(item, &l); err != nil {
			rejs = append(rejs, reject(key, fmt.Errorf("expense line: %v", err), orig))
			continue
		}
		if n := strings.TrimSpace(string(l.LineNumber)); n != "" {
			key = er.ReportNumber + "/" + n
		}
		rec, err := expenseLine(er, l, key)
		if err == nil && modErr != nil {
			err = modErr
		}
		if err != nil {
			rejs = append(rejs, reject(key, err, orig))
			continue
		}
		rec.Modified, rec.Deleted, rec.Original = modified, deleted, orig
		recs, rejs = keep(recs, rejs, rec, orig)
	}
	return recs, rejs
}

func expenseLine(er restExpenseReport, l restExpenseLine, key string) (erp.Record, error) {
	e := &erp.ExpenseLine{
		ReportID:    er.ReportNumber,
		Line:        key[len(er.ReportNumber)+1:],
		Employee:    descr(er.Payee),
		ExpenseType: expenseType(descr(l.ExpenseItem)),
		Description: l.Memo,
	}
	var err error
	if e.Date, err = dateField("date", l.Date); err != nil {
		return erp.Record{}, err
	}
	if l.TotalAmount == nil {
		return erp.Record{}, fieldErr("totalAmount", "", "is required")
	}
	if e.Amount, err = decimalField("totalAmount.value", l.TotalAmount.Value); err != nil {
		return erp.Record{}, err
	}
	e.Currency = l.TotalAmount.Currency
	if e.Quantity, err = optDecimal("quantity", l.Quantity); err != nil {
		return erp.Record{}, err
	}
	if e.Quantity.Valid {
		e.Unit = unitCode(descr(l.UnitOfMeasure))
	}
	for _, d := range l.ItemDetails {
		switch strings.ToLower(d.Attribute.Descriptor) {
		case "origin", "origin airport", "departure city":
			e.Origin = d.Value
		case "destination", "destination airport", "arrival city":
			e.Destination = d.Value
		case "class of service", "travel class", "fare class":
			e.TravelClass = d.Value
		}
	}
	return erp.Record{Kind: erp.KindExpenseLine, Key: key, Expense: e}, nil
}
