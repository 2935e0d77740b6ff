package dynamics

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// This file generates the simulator's data set: a Business Central company
// with vendors, items, purchase orders with lines and general ledger
// entries, spread over 2025, from SimOptions.Seed.

// num is an Edm.Decimal rendered as a bare JSON number, as Business Central
// does. bad, when set, is rendered instead (raw JSON), for InjectBad.
type num struct {
	d   decimal.Decimal
	bad string
}

func (n num) MarshalJSON() ([]byte, error) {
	if n.bad != "" {
		return []byte(n.bad), nil
	}
	return []byte(n.d.String()), nil
}

// meta is what the simulator tracks of every entity besides its properties.
type meta struct {
	version  uint64    // change sequence of the last change
	modified time.Time // lastModifiedDateTime
	deleted  bool
	// cache is the entity's full rendering (orders: with their lines), set
	// by readers and dropped by every change.
	cache atomic.Pointer[[]byte]
}

// simVendor is a Business Central API v2.0 vendor.
type simVendor struct {
	meta                  `json:"-"`
	ETag                  string `json:"@odata.etag"`
	ID                    string `json:"id"`
	Number                string `json:"number"`
	DisplayName           string `json:"displayName"`
	AddressLine1          string `json:"addressLine1"`
	AddressLine2          string `json:"addressLine2"`
	City                  string `json:"city"`
	State                 string `json:"state"`
	Country               string `json:"country"`
	PostalCode            string `json:"postalCode"`
	PhoneNumber           string `json:"phoneNumber"`
	Email                 string `json:"email"`
	Website               string `json:"website"`
	TaxRegistrationNumber string `json:"taxRegistrationNumber"`
	CurrencyID            string `json:"currencyId"`
	CurrencyCode          string `json:"currencyCode"`
	IRS1099Code           string `json:"irs1099Code"`
	PaymentTermsID        string `json:"paymentTermsId"`
	PaymentMethodID       string `json:"paymentMethodId"`
	TaxLiable             bool   `json:"taxLiable"`
	Blocked               string `json:"blocked"`
	Balance               num    `json:"balance"`
	LastModifiedDateTime  string `json:"lastModifiedDateTime"`
}

// simItem is a Business Central API v2.0 item.
type simItem struct {
	meta                  `json:"-"`
	ETag                  string `json:"@odata.etag"`
	ID                    string `json:"id"`
	Number                string `json:"number"`
	DisplayName           string `json:"displayName"`
	DisplayName2          string `json:"displayName2"`
	Type                  string `json:"type"`
	ItemCategoryID        string `json:"itemCategoryId"`
	ItemCategoryCode      string `json:"itemCategoryCode"`
	Blocked               bool   `json:"blocked"`
	GTIN                  string `json:"gtin"`
	Inventory             num    `json:"inventory"`
	UnitPrice             num    `json:"unitPrice"`
	PriceIncludesTax      bool   `json:"priceIncludesTax"`
	UnitCost              num    `json:"unitCost"`
	TaxGroupID            string `json:"taxGroupId"`
	TaxGroupCode          string `json:"taxGroupCode"`
	BaseUnitOfMeasureID   string `json:"baseUnitOfMeasureId"`
	BaseUnitOfMeasureCode string `json:"baseUnitOfMeasureCode"`
	GenProdPostingGroup   string `json:"generalProductPostingGroupCode"`
	InventoryPostingGroup string `json:"inventoryPostingGroupCode"`
	LastModifiedDateTime  string `json:"lastModifiedDateTime"`
}

// simOrder is a Business Central API v2.0 purchaseOrder; its lines are
// rendered as the expanded purchaseOrderLines.
type simOrder struct {
	meta                     `json:"-"`
	ETag                     string `json:"@odata.etag"`
	ID                       string `json:"id"`
	Number                   string `json:"number"`
	OrderDate                string `json:"orderDate"`
	PostingDate              string `json:"postingDate"`
	VendorID                 string `json:"vendorId"`
	VendorNumber             string `json:"vendorNumber"`
	VendorName               string `json:"vendorName"`
	PayToName                string `json:"payToName"`
	PayToVendorID            string `json:"payToVendorId"`
	PayToVendorNumber        string `json:"payToVendorNumber"`
	ShipToName               string `json:"shipToName"`
	BuyFromCountry           string `json:"buyFromCountry"`
	CurrencyID               string `json:"currencyId"`
	CurrencyCode             string `json:"currencyCode"`
	PricesIncludeTax         bool   `json:"pricesIncludeTax"`
	PaymentTermsID           string `json:"paymentTermsId"`
	ShipmentMethodID         string `json:"shipmentMethodId"`
	Purchaser                string `json:"purchaser"`
	RequestedReceiptDate     string `json:"requestedReceiptDate"`
	DiscountAmount           num    `json:"discountAmount"`
	DiscountAppliedBeforeTax bool   `json:"discountAppliedBeforeTax"`
	TotalAmountExcludingTax  num    `json:"totalAmountExcludingTax"`
	TotalTaxAmount           num    `json:"totalTaxAmount"`
	TotalAmountIncludingTax  num    `json:"totalAmountIncludingTax"`
	FullyReceived            bool   `json:"fullyReceived"`
	Status                   string `json:"status"`
	LastModifiedDateTime     string `json:"lastModifiedDateTime"`

	lines []*simLine
}

// simLine is a Business Central API v2.0 purchaseOrderLine.
type simLine struct {
	meta                     `json:"-"`
	ETag                     string `json:"@odata.etag"`
	ID                       string `json:"id"`
	DocumentID               string `json:"documentId"`
	Sequence                 int    `json:"sequence"`
	ItemID                   string `json:"itemId"`
	AccountID                string `json:"accountId"`
	LineType                 string `json:"lineType"`
	LineObjectNumber         string `json:"lineObjectNumber"`
	Description              string `json:"description"`
	Description2             string `json:"description2"`
	UnitOfMeasureID          string `json:"unitOfMeasureId"`
	UnitOfMeasureCode        string `json:"unitOfMeasureCode"`
	Quantity                 num    `json:"quantity"`
	DirectUnitCost           num    `json:"directUnitCost"`
	DiscountAmount           num    `json:"discountAmount"`
	DiscountPercent          num    `json:"discountPercent"`
	DiscountAppliedBeforeTax bool   `json:"discountAppliedBeforeTax"`
	AmountExcludingTax       num    `json:"amountExcludingTax"`
	TaxCode                  string `json:"taxCode"`
	TaxPercent               num    `json:"taxPercent"`
	TotalTaxAmount           num    `json:"totalTaxAmount"`
	AmountIncludingTax       num    `json:"amountIncludingTax"`
	InvoiceDiscountAlloc     num    `json:"invoiceDiscountAllocation"`
	NetAmount                num    `json:"netAmount"`
	NetTaxAmount             num    `json:"netTaxAmount"`
	NetAmountIncludingTax    num    `json:"netAmountIncludingTax"`
	ExpectedReceiptDate      string `json:"expectedReceiptDate"`
	ReceivedQuantity         num    `json:"receivedQuantity"`
	InvoicedQuantity         num    `json:"invoicedQuantity"`
	InvoiceQuantity          num    `json:"invoiceQuantity"`
	ReceiveQuantity          num    `json:"receiveQuantity"`
	ItemVariantID            string `json:"itemVariantId"`
	LocationID               string `json:"locationId"`
}

// simGLEntry is a Business Central API v2.0 generalLedgerEntry.
type simGLEntry struct {
	meta                           `json:"-"`
	ETag                           string `json:"@odata.etag"`
	ID                             string `json:"id"`
	EntryNumber                    int    `json:"entryNumber"`
	PostingDate                    string `json:"postingDate"`
	DocumentNumber                 string `json:"documentNumber"`
	DocumentType                   string `json:"documentType"`
	AccountID                      string `json:"accountId"`
	AccountNumber                  string `json:"accountNumber"`
	Description                    string `json:"description"`
	DebitAmount                    num    `json:"debitAmount"`
	CreditAmount                   num    `json:"creditAmount"`
	AdditionalCurrencyDebitAmount  num    `json:"additionalCurrencyDebitAmount"`
	AdditionalCurrencyCreditAmount num    `json:"additionalCurrencyCreditAmount"`
	LastModifiedDateTime           string `json:"lastModifiedDateTime"`
}

const zeroGUID = "00000000-0000-0000-0000-000000000000"

// Constant tables the generator draws from.
var (
	simCountries = []struct {
		code, currency, legal, city, prefix string
		rate                                string // units of the currency per EUR
	}{
		{"DE", "", "GmbH", "Hamburg", "DE", "1"},
		{"FR", "", "SAS", "Lyon", "FR", "1"},
		{"NL", "", "B.V.", "Rotterdam", "NL", "1"},
		{"GB", "GBP", "Ltd", "Manchester", "GB", "0.85"},
		{"US", "USD", "Inc.", "Chicago", "", "1.08"},
		{"SE", "SEK", "AB", "Gothenburg", "SE", "11.4"},
		{"PL", "PLN", "Sp. z o.o.", "Poznan", "PL", "4.3"},
		{"CH", "CHF", "AG", "Basel", "CHE-", "0.95"},
		{"DK", "DKK", "A/S", "Aarhus", "DK", "7.46"},
		{"JP", "JPY", "K.K.", "Osaka", "T", "160"},
	}
	simVendorWords1 = []string{"Nordic", "Atlas", "Rhein", "Thames", "Iberia", "Alpine", "Baltic", "Pacific", "Summit", "Meridian", "Crown", "Harbor"}
	simVendorWords2 = []string{"Energy", "Logistics", "Steel", "Packaging", "Chemicals", "Office Supplies", "Fuels", "Freight", "IT Services", "Paper", "Utilities", "Metals"}
	simCategories   = []struct {
		code, unit string
		names      []string
		price      [2]int // EUR cents per unit, range
		qty        [2]int // quantity range
	}{
		{"FUEL", "L", []string{"Diesel fuel EN 590", "Heating oil EL", "Petrol E10", "HVO100 renewable diesel"}, [2]int{120, 210}, [2]int{200, 20000}},
		{"GAS", "KWH", []string{"Natural gas supply", "Biomethane supply"}, [2]int{4, 12}, [2]int{5000, 200000}},
		{"ELEC", "KWH", []string{"Electricity grid supply", "Electricity green tariff", "Electricity night tariff"}, [2]int{15, 40}, [2]int{2000, 150000}},
		{"STEEL", "KG", []string{"Steel sheet S235 2mm", "Rebar B500B 12mm", "Steel beam HEA 200", "Stainless coil 304"}, [2]int{80, 450}, [2]int{50, 20000}},
		{"ALU", "KG", []string{"Aluminium profile 6060", "Aluminium sheet 5754 3mm"}, [2]int{280, 650}, [2]int{20, 5000}},
		{"PACK", "PCS", []string{"Cardboard box 600x400", "Euro pallet EPAL", "Pallet wrap film 23my", "Paper void fill"}, [2]int{30, 1800}, [2]int{10, 5000}},
		{"PAPER", "PCS", []string{"Copy paper A4 80g (ream)", "Recycled paper A4 (ream)"}, [2]int{350, 700}, [2]int{5, 400}},
		{"CHEM", "KG", []string{"Sodium hydroxide 50%", "Isopropanol 99%", "Hydrochloric acid 33%"}, [2]int{60, 900}, [2]int{25, 3000}},
		{"IT", "PCS", []string{"Laptop 14in", "Monitor 27in", "Docking station", "Rack server 1U"}, [2]int{15000, 450000}, [2]int{1, 40}},
		{"FURN", "PCS", []string{"Office chair ergonomic", "Desk 160x80", "Filing cabinet"}, [2]int{9000, 65000}, [2]int{1, 30}},
		{"WATER", "M3", []string{"Mains water supply"}, [2]int{180, 450}, [2]int{20, 3000}},
	}
	simAccountLines = []struct{ number, name string }{
		{"6110", "Freight inbound"}, {"6400", "Consulting services"}, {"6210", "Maintenance services"}, {"6320", "Waste disposal"},
	}
	simGLAccounts = []struct{ number, name, what string }{
		{"8110", "Electricity", "Electricity"}, {"8120", "Natural gas", "Natural gas"}, {"8130", "Heating oil", "Heating oil delivery"},
		{"8140", "Vehicle fuel", "Fleet fuel cards"}, {"8150", "Water", "Water and sewage"}, {"8310", "Air travel", "Flights"},
		{"8320", "Hotel", "Hotel accommodation"}, {"8330", "Rail travel", "Rail tickets"}, {"6110", "Freight inbound", "Freight"},
	}
	simStatuses   = []string{"Draft", "In Review", "Open", "Released", "Released", "Released", "Released", "Open"}
	simPurchasers = []string{"AH", "JR", "MS", "PK", "LW"}
)

// guid returns a random, version-4-shaped GUID.
func guid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}

// etag renders a Business Central-style weak ETag for a version.
func etag(version uint64) string {
	s := strconv.FormatUint(version, 10)
	return `W/"` + base64.StdEncoding.EncodeToString([]byte("JzE5OzE"+s+";00;'")) + `"`
}

// bcTime renders a lastModifiedDateTime as Business Central does.
func bcTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func bcDate(t time.Time) string { return t.UTC().Format("2006-01-02") }

func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// simData is the generated company.
type simData struct {
	tenant, companyID, companyName string
	vendors                        []*simVendor
	items                          []*simItem
	orders                         []*simOrder
	gl                             []*simGLEntry
	lines                          int
}

// generate builds the data set for opts (Records PO lines, default 5000).
func generate(records int, seed uint64) *simData {
	if records <= 0 {
		records = 5000
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	d := &simData{tenant: guid(r), companyID: guid(r), companyName: "CRONUS Sustainability GmbH"}
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	yearEnd := time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC)
	randTime := func() time.Time { return year.Add(time.Duration(r.Int64N(int64(364 * 24 * time.Hour)))) }
	currencyIDs := map[string]string{}
	for _, c := range simCountries {
		if c.currency != "" {
			currencyIDs[c.currency] = guid(r)
		}
	}
	paymentTerms := []string{guid(r), guid(r), guid(r)}
	locations := []string{guid(r), guid(r), guid(r)}
	uoms := map[string]string{}
	for _, u := range []string{"L", "KWH", "KG", "PCS", "M3"} {
		uoms[u] = guid(r)
	}

	nVendors := min(max(records/50, 12), 2000)
	for i := range nVendors {
		c := simCountries[r.IntN(len(simCountries))]
		name := simVendorWords1[r.IntN(len(simVendorWords1))] + " " + simVendorWords2[r.IntN(len(simVendorWords2))] + " " + c.legal
		tax := ""
		switch c.code {
		case "US":
			tax = fmt.Sprintf("%02d-%07d", between(r, 10, 99), r.IntN(10000000))
		case "CH":
			tax = fmt.Sprintf("CHE-%03d.%03d.%03d MWST", r.IntN(1000), r.IntN(1000), r.IntN(1000))
		case "JP":
			tax = fmt.Sprintf("T%013d", r.Int64N(1e13))
		default:
			tax = fmt.Sprintf("%s%09d", c.prefix, r.IntN(1000000000))
		}
		blocked := " "
		if r.IntN(25) == 0 {
			blocked = []string{"Payment", "All"}[r.IntN(2)]
		}
		mod := randTime()
		slug := fmt.Sprintf("vendor%d", i+1)
		v := &simVendor{
			meta: meta{modified: mod}, ID: guid(r), Number: fmt.Sprintf("V%05d", (i+1)*10), DisplayName: name,
			AddressLine1: fmt.Sprintf("%d Industrial Road", between(r, 1, 250)), City: c.city, Country: c.code,
			PostalCode:  fmt.Sprintf("%05d", r.IntN(100000)),
			PhoneNumber: fmt.Sprintf("+%d %d", between(r, 1, 49), r.Int64N(1e9)), Email: "ap@" + slug + ".example",
			Website: "www." + slug + ".example", TaxRegistrationNumber: tax, CurrencyID: zeroGUID, CurrencyCode: c.currency,
			PaymentTermsID: paymentTerms[r.IntN(len(paymentTerms))], PaymentMethodID: zeroGUID, TaxLiable: c.code == "US",
			Blocked: blocked, Balance: num{d: decimal.New(r.Int64N(5_000_000), -2)}, LastModifiedDateTime: bcTime(mod),
		}
		if c.currency != "" {
			v.CurrencyID = currencyIDs[c.currency]
		}
		d.vendors = append(d.vendors, v)
	}

	nItems := min(max(records/25, 40), 4000)
	categoryIDs := map[string]string{}
	for _, c := range simCategories {
		categoryIDs[c.code] = guid(r)
	}
	itemCat := make([]int, nItems)
	for i := range nItems {
		ci := r.IntN(len(simCategories))
		c := simCategories[ci]
		itemCat[i] = ci
		mod := randTime()
		cost := decimal.New(int64(between(r, c.price[0], c.price[1])), -2)
		d.items = append(d.items, &simItem{
			meta: meta{modified: mod}, ID: guid(r), Number: fmt.Sprintf("I%05d", i+1),
			DisplayName: c.names[r.IntN(len(c.names))], Type: "Inventory", ItemCategoryID: categoryIDs[c.code], ItemCategoryCode: c.code,
			GTIN: fmt.Sprintf("%013d", r.Int64N(1e13)), Inventory: num{d: decimal.NewFromInt(int64(r.IntN(5000)))},
			UnitPrice: num{d: cost.Mul(decimal.RequireFromString("1.3")).Round(2)}, UnitCost: num{d: cost},
			TaxGroupID: zeroGUID, BaseUnitOfMeasureID: uoms[c.unit], BaseUnitOfMeasureCode: c.unit,
			GenProdPostingGroup: "RETAIL", InventoryPostingGroup: "RESALE", LastModifiedDateTime: bcTime(mod),
		})
	}

	accountIDs := map[string]string{}
	for _, a := range simAccountLines {
		accountIDs[a.number] = guid(r)
	}
	for _, a := range simGLAccounts {
		if accountIDs[a.number] == "" {
			accountIDs[a.number] = guid(r)
		}
	}
	accountIDs["5410"] = guid(r)

	for o := 0; d.lines < records; o++ {
		v := d.vendors[r.IntN(len(d.vendors))]
		var rate decimal.Decimal
		for _, c := range simCountries {
			if c.code == v.Country {
				rate = decimal.RequireFromString(c.rate)
			}
		}
		places := int32(2)
		if v.CurrencyCode == "JPY" {
			places = 0
		}
		date := randTime()
		mod := date.Add(time.Duration(r.Int64N(int64(72 * time.Hour))))
		if mod.After(yearEnd) {
			mod = yearEnd
		}
		po := &simOrder{
			meta: meta{modified: mod}, ID: guid(r), Number: fmt.Sprintf("PO%06d", 100001+o), OrderDate: bcDate(date), PostingDate: bcDate(date),
			VendorID: v.ID, VendorNumber: v.Number, VendorName: v.DisplayName, PayToName: v.DisplayName, PayToVendorID: v.ID,
			PayToVendorNumber: v.Number, ShipToName: d.companyName, BuyFromCountry: v.Country, CurrencyID: v.CurrencyID,
			CurrencyCode: v.CurrencyCode, PaymentTermsID: v.PaymentTermsID, ShipmentMethodID: zeroGUID,
			Purchaser: simPurchasers[r.IntN(len(simPurchasers))], RequestedReceiptDate: bcDate(date.AddDate(0, 0, between(r, 3, 30))),
			DiscountAmount: num{d: decimal.Zero}, Status: simStatuses[r.IntN(len(simStatuses))], LastModifiedDateTime: bcTime(mod),
		}
		n := min(between(r, 1, 6), records-d.lines)
		for l := range n {
			ln := &simLine{
				meta: meta{modified: mod}, ID: guid(r), DocumentID: po.ID, Sequence: (l + 1) * 10000,
				ItemID: zeroGUID, AccountID: zeroGUID, DiscountAmount: num{d: decimal.Zero}, DiscountPercent: num{d: decimal.Zero},
				TaxCode: "STANDARD", TaxPercent: num{d: decimal.NewFromInt(19)}, InvoiceDiscountAlloc: num{d: decimal.Zero},
				ExpectedReceiptDate: po.RequestedReceiptDate, ItemVariantID: zeroGUID, LocationID: locations[r.IntN(len(locations))],
			}
			var qty, price decimal.Decimal
			if r.IntN(8) == 0 {
				a := simAccountLines[r.IntN(len(simAccountLines))]
				ln.LineType, ln.LineObjectNumber, ln.AccountID, ln.Description = "Account", a.number, accountIDs[a.number], a.name
				qty = decimal.NewFromInt(1)
				price = decimal.New(int64(between(r, 15000, 900000)), -2)
			} else {
				ii := r.IntN(len(d.items))
				it, c := d.items[ii], simCategories[itemCat[ii]]
				ln.LineType, ln.LineObjectNumber, ln.ItemID, ln.Description = "Item", it.Number, it.ID, it.DisplayName
				ln.UnitOfMeasureID, ln.UnitOfMeasureCode = it.BaseUnitOfMeasureID, it.BaseUnitOfMeasureCode
				qty = decimal.NewFromInt(int64(between(r, c.qty[0], c.qty[1])))
				if c.unit == "L" || c.unit == "KG" || c.unit == "M3" {
					qty = qty.Add(decimal.New(int64(r.IntN(100)), -2))
				}
				price = it.UnitCost.d
			}
			price = price.Mul(rate).Round(places)
			setLineAmounts(ln, qty, price, places)
			po.lines = append(po.lines, ln)
		}
		setOrderTotals(po)
		d.orders = append(d.orders, po)
		d.lines += n
	}

	nGL := max(records/2, 100)
	var docs []*simGLEntry
	for doc := 1; len(docs) < nGL; doc++ {
		date := randTime()
		nDebit := between(r, 1, 3)
		total := decimal.Zero
		docNo := fmt.Sprintf("G%06d", doc)
		kind := "Invoice"
		for range nDebit {
			a := simGLAccounts[r.IntN(len(simGLAccounts))]
			amt := decimal.New(int64(between(r, 2000, 2_500_000)), -2)
			total = total.Add(amt)
			docs = append(docs, &simGLEntry{
				meta: meta{modified: date}, PostingDate: bcDate(date), DocumentNumber: docNo, DocumentType: kind,
				AccountID: accountIDs[a.number], AccountNumber: a.number, Description: a.what + " " + date.Format("January 2006"),
				DebitAmount: num{d: amt}, CreditAmount: num{d: decimal.Zero},
			})
		}
		docs = append(docs, &simGLEntry{
			meta: meta{modified: date}, PostingDate: bcDate(date), DocumentNumber: docNo, DocumentType: kind,
			AccountID: accountIDs["5410"], AccountNumber: "5410", Description: "Vendors, domestic",
			DebitAmount: num{d: decimal.Zero}, CreditAmount: num{d: total},
		})
	}
	// Entry numbers follow posting order, as a ledger's do.
	slices.SortStableFunc(docs, func(a, b *simGLEntry) int { return a.modified.Compare(b.modified) })
	for i, e := range docs {
		e.ID = guid(r)
		e.EntryNumber = i + 1
		e.modified = e.modified.Add(time.Duration(between(r, 60, 7200)) * time.Second)
		e.LastModifiedDateTime = bcTime(e.modified)
		e.AdditionalCurrencyDebitAmount, e.AdditionalCurrencyCreditAmount = num{d: decimal.Zero}, num{d: decimal.Zero}
	}
	d.gl = docs
	return d
}

// setLineAmounts sets a line's quantity, cost and derived amounts.
func setLineAmounts(ln *simLine, qty, price decimal.Decimal, places int32) {
	net := qty.Mul(price).Round(places)
	tax := net.Mul(ln.TaxPercent.d).Div(decimal.NewFromInt(100)).Round(places)
	ln.Quantity, ln.DirectUnitCost = num{d: qty}, num{d: price}
	ln.AmountExcludingTax, ln.NetAmount = num{d: net}, num{d: net}
	ln.TotalTaxAmount, ln.NetTaxAmount = num{d: tax}, num{d: tax}
	ln.AmountIncludingTax, ln.NetAmountIncludingTax = num{d: net.Add(tax)}, num{d: net.Add(tax)}
	ln.ReceivedQuantity, ln.InvoicedQuantity = num{d: decimal.Zero}, num{d: decimal.Zero}
	ln.InvoiceQuantity, ln.ReceiveQuantity = num{d: qty}, num{d: qty}
}

// setOrderTotals recomputes an order's totals from its live lines.
func setOrderTotals(po *simOrder) {
	net, tax := decimal.Zero, decimal.Zero
	for _, l := range po.lines {
		if !l.deleted {
			net = net.Add(l.NetAmount.d)
			tax = tax.Add(l.NetTaxAmount.d)
		}
	}
	po.TotalAmountExcludingTax, po.TotalTaxAmount, po.TotalAmountIncludingTax = num{d: net}, num{d: tax}, num{d: net.Add(tax)}
}
