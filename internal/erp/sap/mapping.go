package sap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/erp"
)

// Service paths of the APIs read (relative to the connection's base URL).
const (
	PathPurchaseOrders = "/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/A_PurchaseOrder"
	PathSuppliers      = "/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_Supplier"
	PathProducts       = "/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product"
	PathJournalItems   = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic"
)

// entity is one entity set the connector reads and how it maps.
type entity struct {
	name    string
	kind    erp.Kind
	path    string
	orderBy string // the key: offset paging is stable
	expand  string
	selects string
	// modifiedField is the Edm.DateTimeOffset filtered with "ge" for
	// incremental reads; "" when the entity set has none (full reads).
	modifiedField string
	filter        string // a fixed filter ANDed to the incremental one
	defaultTop    int
	// parse maps one element of d.results into out (the tolerant path).
	parse func(raw json.RawMessage, out *pageOut)
	// fast decodes and maps a whole page at once; ok is false when the
	// page needs the tolerant path.
	fast func(body []byte, out *pageOut) (c collection, ok bool, err error)
	// props names the SAP property of a unified field, for reasons.
	props map[string]string
}

func findEntity(list []*entity, name string) *entity {
	for _, e := range list {
		if e.name == name {
			return e
		}
	}
	return nil
}

// entities returns the entity sets with their settings applied.
func entities(s Settings) []*entity {
	lang := s.Language
	return []*entity{
		{
			name: "purchase_orders", kind: erp.KindPOLine, path: PathPurchaseOrders,
			orderBy: "PurchaseOrder", expand: "to_PurchaseOrderItem",
			selects: "PurchaseOrder,CompanyCode,PurchaseOrderDate,Supplier,DocumentCurrency,LastChangeDateTime,PurchasingDocumentDeletionCode," +
				"to_PurchaseOrderItem/PurchaseOrder,to_PurchaseOrderItem/PurchaseOrderItem,to_PurchaseOrderItem/Material," +
				"to_PurchaseOrderItem/MaterialGroup,to_PurchaseOrderItem/PurchaseOrderItemText,to_PurchaseOrderItem/OrderQuantity," +
				"to_PurchaseOrderItem/PurchaseOrderQuantityUnit,to_PurchaseOrderItem/NetPriceAmount,to_PurchaseOrderItem/NetPriceQuantity," +
				"to_PurchaseOrderItem/DocumentCurrency,to_PurchaseOrderItem/Plant,to_PurchaseOrderItem/PurchasingDocumentDeletionCode",
			modifiedField: "LastChangeDateTime", defaultTop: DefaultPOPageSize,
			parse: parsePurchaseOrder, fast: fastParser(mapPurchaseOrder),
			props: map[string]string{"po_line.po_number": "PurchaseOrder", "po_line.line": "PurchaseOrderItem",
				"po_line.order_date": "PurchaseOrderDate", "po_line.currency": "DocumentCurrency"},
		},
		{
			name: "suppliers", kind: erp.KindSupplier, path: PathSuppliers, orderBy: "Supplier",
			selects:    "Supplier,SupplierName,SupplierFullName,VATRegistration,TaxNumber1,PostingIsBlocked,PurchasingIsBlocked,DeletionIndicator",
			defaultTop: DefaultPageSize, parse: parseSupplier,
			fast:  fastParser(func(v *supplier, out *pageOut) { mapSupplier(v, marshalRaw(v), out) }),
			props: map[string]string{"supplier.id": "Supplier", "supplier.name": "SupplierName"},
		},
		{
			name: "materials", kind: erp.KindMaterial, path: PathProducts, orderBy: "Product", expand: "to_Description",
			selects: "Product,ProductGroup,BaseUnit,NetWeight,WeightUnit,LastChangeDateTime,IsMarkedForDeletion," +
				"to_Description/Product,to_Description/Language,to_Description/ProductDescription",
			modifiedField: "LastChangeDateTime", defaultTop: DefaultPageSize,
			parse: func(raw json.RawMessage, out *pageOut) { parseProduct(raw, lang, out) },
			fast:  fastParser(func(v *product, out *pageOut) { mapProduct(v, marshalRaw(v), lang, out) }),
			props: map[string]string{"material.id": "Product"},
		},
		{
			name: "gl_entries", kind: erp.KindGLEntry, path: PathJournalItems,
			orderBy: "CompanyCode,FiscalYear,AccountingDocument,LedgerGLLineItem",
			selects: "CompanyCode,FiscalYear,AccountingDocument,LedgerGLLineItem,Ledger,GLAccount,PostingDate," +
				"AmountInCompanyCodeCurrency,CompanyCodeCurrency,Quantity,BaseUnit,CostCenter,Plant,DocumentItemText,LastChangeDateTime",
			modifiedField: "LastChangeDateTime", filter: "Ledger eq '" + strings.ReplaceAll(s.Ledger, "'", "''") + "'",
			defaultTop: DefaultPageSize, parse: parseJournalItem,
			fast: fastParser(func(v *journalItem, out *pageOut) { mapJournalItem(v, marshalRaw(v), out) }),
			props: map[string]string{"gl_entry.document_id": "AccountingDocument", "gl_entry.account": "GLAccount",
				"gl_entry.posting_date": "PostingDate", "gl_entry.currency": "CompanyCodeCurrency"},
		},
	}
}

// pageOut collects a page's records, rejects and latest change time.
type pageOut struct {
	ent      *entity
	records  []erp.Record
	rejected []erp.Rejected
	max      time.Time
}

func (o *pageOut) reject(key, reason string, raw json.RawMessage) {
	o.rejected = append(o.rejected, erp.Rejected{Key: key, Reason: reason, Raw: raw})
}

// add validates rec and keeps or rejects it.
func (o *pageOut) add(rec erp.Record) {
	if err := rec.Validate(); err != nil {
		reason := err.Error()
		if fe, ok := err.(*erp.FieldError); ok {
			if p := o.ent.props[fe.Field]; p != "" {
				reason += " (SAP property " + p + ")"
			}
		}
		o.reject(rec.Key, reason, rec.Original)
		return
	}
	if rec.Modified.After(o.max) {
		o.max = rec.Modified
	}
	o.records = append(o.records, rec)
}

// fieldErr is the reason of a record refused for one SAP property.
func fieldErr(prop string, value string, err error) string {
	if value == "" {
		return fmt.Sprintf("%s: %v", prop, err)
	}
	return fmt.Sprintf("%s %q: %v", prop, value, err)
}

// poHeaderFields are the properties of an A_PurchaseOrder the connector
// selects; they are the "header" of a line's Original.
type poHeaderFields struct {
	Metadata                       *odataMeta `json:"__metadata,omitempty"`
	PurchaseOrder                  string     `json:"PurchaseOrder"`
	CompanyCode                    string     `json:"CompanyCode"`
	PurchaseOrderDate              string     `json:"PurchaseOrderDate"`
	Supplier                       string     `json:"Supplier"`
	DocumentCurrency               string     `json:"DocumentCurrency"`
	LastChangeDateTime             string     `json:"LastChangeDateTime"`
	PurchasingDocumentDeletionCode string     `json:"PurchasingDocumentDeletionCode"`
}

// poHeader is an A_PurchaseOrder with its expanded items.
type poHeader struct {
	poHeaderFields
	Items struct {
		Results []json.RawMessage `json:"results"`
	} `json:"to_PurchaseOrderItem"`
}

// poWire is an A_PurchaseOrder with its expanded items, decoded at once.
type poWire struct {
	poHeaderFields
	Items struct {
		Results []poItem `json:"results"`
	} `json:"to_PurchaseOrderItem"`
}

// odataMeta is the __metadata of an entry.
type odataMeta struct {
	ID   string `json:"id,omitempty"`
	URI  string `json:"uri,omitempty"`
	Type string `json:"type,omitempty"`
}

// poItem is an A_PurchaseOrderItem.
type poItem struct {
	Metadata                       *odataMeta `json:"__metadata,omitempty"`
	PurchaseOrder                  string     `json:"PurchaseOrder"`
	PurchaseOrderItem              string     `json:"PurchaseOrderItem"`
	Material                       string     `json:"Material"`
	MaterialGroup                  string     `json:"MaterialGroup"`
	PurchaseOrderItemText          string     `json:"PurchaseOrderItemText"`
	OrderQuantity                  edmValue   `json:"OrderQuantity"`
	PurchaseOrderQuantityUnit      string     `json:"PurchaseOrderQuantityUnit"`
	NetPriceAmount                 edmValue   `json:"NetPriceAmount"`
	NetPriceQuantity               edmValue   `json:"NetPriceQuantity"`
	DocumentCurrency               string     `json:"DocumentCurrency"`
	Plant                          string     `json:"Plant"`
	PurchasingDocumentDeletionCode string     `json:"PurchasingDocumentDeletionCode"`
}

// Deletion codes of purchasing documents (EKPO-LOEKZ).
const (
	deletionCodeDeleted = "L"
	deletionCodeBlocked = "S"
)

// wrapLine is the Original of a line: {"header":…,"item":…}.
func wrapLine(header, item []byte) json.RawMessage {
	var b bytes.Buffer
	b.Grow(len(header) + len(item) + 21)
	b.WriteString(`{"header":`)
	b.Write(header)
	b.WriteString(`,"item":`)
	b.Write(item)
	b.WriteByte('}')
	return b.Bytes()
}

// poHeaderInfo is what the lines of an order take from its header.
type poHeaderInfo struct {
	h         *poHeaderFields
	json      []byte // the header's Original
	orderDate time.Time
	modified  time.Time
	err       string // a bad header field refuses all the lines
}

func newPOHeaderInfo(h *poHeaderFields) poHeaderInfo {
	hi := poHeaderInfo{h: h}
	var err error
	if hi.json, err = json.Marshal(h); err != nil {
		hi.json = []byte("null")
	}
	if hi.orderDate, err = parseEdmDate(h.PurchaseOrderDate); err != nil {
		hi.err = fieldErr("PurchaseOrderDate", h.PurchaseOrderDate, err)
	}
	if hi.modified, err = parseEdmDate(h.LastChangeDateTime); err != nil {
		hi.err = fieldErr("LastChangeDateTime", h.LastChangeDateTime, err)
	}
	return hi
}

// parsePurchaseOrder maps one purchase order (raw) into a record per item,
// decoding each item on its own so that one bad item refuses only itself.
func parsePurchaseOrder(raw json.RawMessage, out *pageOut) {
	var h poHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		out.reject(h.PurchaseOrder, "purchase order: "+err.Error(), raw)
		return
	}
	hi := newPOHeaderInfo(&h.poHeaderFields)
	for _, itemRaw := range h.Items.Results {
		orig := wrapLine(hi.json, itemRaw)
		var it poItem
		if err := json.Unmarshal(itemRaw, &it); err != nil {
			out.reject(lineKey(h.PurchaseOrder, it.PurchaseOrderItem), "purchase order item: "+err.Error(), orig)
			continue
		}
		mapPOItem(&hi, &it, orig, out)
	}
}

// mapPurchaseOrder maps an order decoded with its items (the fast path).
func mapPurchaseOrder(w *poWire, out *pageOut) {
	hi := newPOHeaderInfo(&w.poHeaderFields)
	for i := range w.Items.Results {
		it := &w.Items.Results[i]
		itemJSON, err := json.Marshal(it)
		if err != nil {
			itemJSON = []byte("null")
		}
		mapPOItem(&hi, it, wrapLine(hi.json, itemJSON), out)
	}
}

func mapPOItem(hi *poHeaderInfo, it *poItem, orig json.RawMessage, out *pageOut) {
	h := hi.h
	po := it.PurchaseOrder
	if po == "" {
		po = h.PurchaseOrder
	}
	key := lineKey(po, it.PurchaseOrderItem)
	deleted := it.PurchasingDocumentDeletionCode == deletionCodeDeleted || h.PurchasingDocumentDeletionCode == deletionCodeDeleted
	rec := erp.Record{Kind: erp.KindPOLine, Key: key, Modified: hi.modified, Deleted: deleted, Original: orig}
	line, reason := mapPOLine(h, it, po, hi.orderDate)
	if reason == "" {
		reason = hi.err
	}
	if reason != "" {
		if deleted && po != "" && it.PurchaseOrderItem != "" {
			// A deleted line needs only its key to be reversed.
			out.add(rec)
			return
		}
		out.reject(key, reason, orig)
		return
	}
	rec.POLine = line
	out.add(rec)
}

func lineKey(doc, line string) string {
	if doc == "" && line == "" {
		return ""
	}
	return doc + "/" + line
}

func mapPOLine(h *poHeaderFields, it *poItem, po string, orderDate time.Time) (*erp.POLine, string) {
	qty, err := parseDecimal(it.OrderQuantity)
	if err != nil {
		return nil, fieldErr("OrderQuantity", string(it.OrderQuantity), err)
	}
	price, err := parseDecimal(it.NetPriceAmount)
	if err != nil {
		return nil, fieldErr("NetPriceAmount", string(it.NetPriceAmount), err)
	}
	per := decimal.NewFromInt(1)
	if it.NetPriceQuantity != "" {
		per, err = parseDecimal(it.NetPriceQuantity)
		if err != nil {
			return nil, fieldErr("NetPriceQuantity", string(it.NetPriceQuantity), err)
		}
		if per.IsZero() {
			per = decimal.NewFromInt(1)
		}
	}
	cur := it.DocumentCurrency
	if cur == "" {
		cur = h.DocumentCurrency
	}
	status := "active"
	switch {
	case it.PurchasingDocumentDeletionCode == deletionCodeDeleted || h.PurchasingDocumentDeletionCode == deletionCodeDeleted:
		status = "deleted"
	case it.PurchasingDocumentDeletionCode == deletionCodeBlocked || h.PurchasingDocumentDeletionCode == deletionCodeBlocked:
		status = "blocked"
	}
	unitPrice := price.Div(per)
	return &erp.POLine{
		PONumber:      po,
		Line:          it.PurchaseOrderItem,
		OrderDate:     orderDate,
		SupplierID:    h.Supplier,
		Material:      it.Material,
		MaterialGroup: it.MaterialGroup,
		Description:   it.PurchaseOrderItemText,
		Quantity:      qty,
		Unit:          it.PurchaseOrderQuantityUnit,
		UnitPrice:     unitPrice,
		Amount:        qty.Mul(price).Div(per).Round(2),
		Currency:      cur,
		Site:          it.Plant,
		Status:        status,
	}, ""
}

// supplier is an A_Supplier.
type supplier struct {
	Metadata            *odataMeta `json:"__metadata,omitempty"`
	Supplier            string     `json:"Supplier"`
	SupplierName        string     `json:"SupplierName"`
	SupplierFullName    string     `json:"SupplierFullName"`
	VATRegistration     string     `json:"VATRegistration"`
	TaxNumber1          string     `json:"TaxNumber1"`
	PostingIsBlocked    bool       `json:"PostingIsBlocked"`
	PurchasingIsBlocked bool       `json:"PurchasingIsBlocked"`
	DeletionIndicator   bool       `json:"DeletionIndicator"`
}

func parseSupplier(raw json.RawMessage, out *pageOut) {
	var s supplier
	if err := json.Unmarshal(raw, &s); err != nil {
		out.reject(s.Supplier, "supplier: "+err.Error(), raw)
		return
	}
	mapSupplier(&s, raw, out)
}

func mapSupplier(s *supplier, raw json.RawMessage, out *pageOut) {
	name := s.SupplierName
	if name == "" {
		name = s.SupplierFullName
	}
	tax := s.VATRegistration
	if tax == "" {
		tax = s.TaxNumber1
	}
	rec := erp.Record{Kind: erp.KindSupplier, Key: s.Supplier, Deleted: s.DeletionIndicator, Original: raw}
	if s.DeletionIndicator && name == "" && s.Supplier != "" {
		out.add(rec)
		return
	}
	rec.Supplier = &erp.Supplier{
		ID:        s.Supplier,
		Name:      name,
		LegalName: s.SupplierFullName,
		TaxID:     tax,
		Country:   vatCountry(s.VATRegistration),
		Blocked:   s.PostingIsBlocked || s.PurchasingIsBlocked,
	}
	out.add(rec)
}

// vatCountry derives the ISO country from an EU-style VAT registration
// number's prefix ("DE123456789" → "DE"; Greece's "EL" → "GR"). A_Supplier
// has no country; the address (A_BusinessPartnerAddress) is not read.
func vatCountry(vat string) string {
	if len(vat) < 4 {
		return ""
	}
	p := vat[:2]
	for _, r := range p {
		if r < 'A' || r > 'Z' {
			return ""
		}
	}
	switch p {
	case "EL":
		return "GR"
	case "EU": // non-Union OSS scheme
		return ""
	}
	return p
}

// product is an A_Product with its expanded descriptions.
type product struct {
	Metadata            *odataMeta `json:"__metadata,omitempty"`
	Product             string     `json:"Product"`
	ProductGroup        string     `json:"ProductGroup"`
	BaseUnit            string     `json:"BaseUnit"`
	NetWeight           edmValue   `json:"NetWeight"`
	WeightUnit          string     `json:"WeightUnit"`
	LastChangeDateTime  string     `json:"LastChangeDateTime"`
	IsMarkedForDeletion bool       `json:"IsMarkedForDeletion"`
	Description         struct {
		Results []struct {
			Language           string `json:"Language"`
			ProductDescription string `json:"ProductDescription"`
		} `json:"results"`
	} `json:"to_Description"`
}

func parseProduct(raw json.RawMessage, lang string, out *pageOut) {
	var p product
	if err := json.Unmarshal(raw, &p); err != nil {
		out.reject(p.Product, "product: "+err.Error(), raw)
		return
	}
	mapProduct(&p, raw, lang, out)
}

func mapProduct(p *product, raw json.RawMessage, lang string, out *pageOut) {
	modified, err := parseEdmDate(p.LastChangeDateTime)
	if err != nil {
		out.reject(p.Product, fieldErr("LastChangeDateTime", p.LastChangeDateTime, err), raw)
		return
	}
	rec := erp.Record{Kind: erp.KindMaterial, Key: p.Product, Modified: modified, Deleted: p.IsMarkedForDeletion, Original: raw}
	m := &erp.Material{ID: p.Product, MaterialGroup: p.ProductGroup, BaseUnit: p.BaseUnit, WeightUnit: p.WeightUnit}
	for i, d := range p.Description.Results {
		if strings.EqualFold(d.Language, lang) || (i == 0 && m.Description == "") {
			m.Description = d.ProductDescription
		}
	}
	if p.NetWeight != "" {
		w, err := parseDecimal(p.NetWeight)
		if err != nil {
			out.reject(p.Product, fieldErr("NetWeight", string(p.NetWeight), err), raw)
			return
		}
		m.NetWeight = w
	}
	rec.Material = m
	out.add(rec)
}

// journalItem is an A_JournalEntryItemBasic.
type journalItem struct {
	Metadata                    *odataMeta `json:"__metadata,omitempty"`
	CompanyCode                 string     `json:"CompanyCode"`
	FiscalYear                  string     `json:"FiscalYear"`
	AccountingDocument          string     `json:"AccountingDocument"`
	LedgerGLLineItem            string     `json:"LedgerGLLineItem"`
	Ledger                      string     `json:"Ledger"`
	GLAccount                   string     `json:"GLAccount"`
	PostingDate                 string     `json:"PostingDate"`
	AmountInCompanyCodeCurrency edmValue   `json:"AmountInCompanyCodeCurrency"`
	CompanyCodeCurrency         string     `json:"CompanyCodeCurrency"`
	Quantity                    edmValue   `json:"Quantity"`
	BaseUnit                    string     `json:"BaseUnit"`
	CostCenter                  string     `json:"CostCenter"`
	Plant                       string     `json:"Plant"`
	DocumentItemText            string     `json:"DocumentItemText"`
	LastChangeDateTime          string     `json:"LastChangeDateTime"`
}

// journalDocumentID is the document id of a journal entry: an accounting
// document number is unique within a company code and fiscal year.
func journalDocumentID(companyCode, fiscalYear, document string) string {
	if document == "" {
		return ""
	}
	return companyCode + "-" + fiscalYear + "-" + document
}

func parseJournalItem(raw json.RawMessage, out *pageOut) {
	var j journalItem
	if err := json.Unmarshal(raw, &j); err != nil {
		out.reject(lineKey(journalDocumentID(j.CompanyCode, j.FiscalYear, j.AccountingDocument), j.LedgerGLLineItem),
			"journal entry item: "+err.Error(), raw)
		return
	}
	mapJournalItem(&j, raw, out)
}

func mapJournalItem(j *journalItem, raw json.RawMessage, out *pageOut) {
	doc := journalDocumentID(j.CompanyCode, j.FiscalYear, j.AccountingDocument)
	key := lineKey(doc, j.LedgerGLLineItem)
	if j.LedgerGLLineItem == "" {
		out.reject(key, "LedgerGLLineItem: is required", raw)
		return
	}
	posting, err := parseEdmDate(j.PostingDate)
	if err != nil {
		out.reject(key, fieldErr("PostingDate", j.PostingDate, err), raw)
		return
	}
	modified, err := parseEdmDate(j.LastChangeDateTime)
	if err != nil {
		out.reject(key, fieldErr("LastChangeDateTime", j.LastChangeDateTime, err), raw)
		return
	}
	amount, err := parseDecimal(j.AmountInCompanyCodeCurrency)
	if err != nil {
		out.reject(key, fieldErr("AmountInCompanyCodeCurrency", string(j.AmountInCompanyCodeCurrency), err), raw)
		return
	}
	g := &erp.GLEntry{
		DocumentID:  doc,
		Line:        j.LedgerGLLineItem,
		PostingDate: posting,
		Account:     j.GLAccount,
		Amount:      amount,
		Currency:    j.CompanyCodeCurrency,
		CostCenter:  j.CostCenter,
		Site:        j.Plant,
		Description: j.DocumentItemText,
	}
	if j.Quantity != "" {
		q, err := parseDecimal(j.Quantity)
		if err != nil {
			out.reject(key, fieldErr("Quantity", string(j.Quantity), err), raw)
			return
		}
		// The ledger sends 0.000 when the line carries no quantity.
		if !q.IsZero() {
			g.Quantity = decimal.NullDecimal{Decimal: q, Valid: true}
			g.Unit = j.BaseUnit
		}
	}
	out.add(erp.Record{Kind: erp.KindGLEntry, Key: key, Modified: modified, GLEntry: g, Original: raw})
}
