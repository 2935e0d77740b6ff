package sap

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// This file generates the simulator's data set: suppliers, products,
// purchase orders with items, and journal entry items, deterministically
// from a seed.

// simSupplier is an A_Supplier.
type simSupplier struct {
	ID, Name, FullName    string
	Country, Currency     string
	VAT, Tax1             string
	PostingBlocked        bool
	PurchBlocked, Deleted bool
	Created               time.Time
	bad                   string // property InjectBad spoiled
}

// simProduct is an A_Product with its descriptions.
type simProduct struct {
	ID, Group, Type     string
	Desc, DescDE        string
	Unit, WeightUnit    string
	NetWeight           decimal.Decimal
	HasWeight           bool
	Created, Modified   time.Time
	Deleted             bool
	tmpl                int
	bad                 string
	priceMin, priceSpan int64 // cents in EUR
}

// simPO is an A_PurchaseOrder with its items.
type simPO struct {
	ID, CompanyCode string
	Date            time.Time
	Supplier        int // index in suppliers
	Currency        string
	Created         time.Time
	Modified        time.Time
	DeletionCode    string
	PurchasingOrg   string
	PurchasingGroup string
	Items           []simItem
	badHeader       string // header property InjectBad spoiled
}

// simItem is an A_PurchaseOrderItem.
type simItem struct {
	Item         string
	Product      int // index in products
	Text         string
	Qty          decimal.Decimal
	Unit         string
	Price        decimal.Decimal // per 1 unit
	Plant        string
	Group        string
	DeletionCode string
	bad          string
}

// simGL is an A_JournalEntryItemBasic of the leading ledger.
type simGL struct {
	CompanyCode, FiscalYear, Doc, Line string
	Account, CostCenter, Plant, Text   string
	Currency, Unit                     string
	Amount, Qty                        decimal.Decimal
	Posting, Modified                  time.Time
	bad                                string
}

func (g *simGL) key() string {
	return lineKey(journalDocumentID(g.CompanyCode, g.FiscalYear, g.Doc), g.Line)
}

// materialTemplate is a kind of product the simulated company buys.
type materialTemplate struct {
	code, group, typ string
	desc, descDE     string
	unit             string
	weightKg         string // per unit, "" for none
	priceMin         int64  // EUR cents per unit
	priceMax         int64
	qtyMin, qtyMax   int64
}

// materialTemplates is a constant table.
var materialTemplates = []materialTemplate{
	{"FUEL-DIESEL", "F001", "ROH", "Diesel fuel EN 590", "Dieselkraftstoff EN 590", "L", "0.835", 120, 190, 500, 20000},
	{"FUEL-PETROL", "F001", "ROH", "Petrol E10", "Ottokraftstoff E10", "L", "0.745", 140, 210, 200, 8000},
	{"ENERGY-ELEC", "E001", "NLAG", "Electricity grid supply", "Strom Netzbezug", "KWH", "", 15, 40, 1000, 250000},
	{"ENERGY-GAS", "E001", "NLAG", "Natural gas H", "Erdgas H", "M3", "0.8", 60, 120, 500, 60000},
	{"RM-STEEL", "P001", "ROH", "Steel sheet S235 2 mm", "Stahlblech S235 2 mm", "KG", "1", 80, 150, 100, 20000},
	{"RM-ALU", "P002", "ROH", "Aluminium profile 6060", "Aluminiumprofil 6060", "KG", "1", 250, 400, 50, 5000},
	{"RM-PP", "P003", "ROH", "Polypropylene granulate", "Polypropylen-Granulat", "KG", "1", 110, 190, 200, 25000},
	{"PK-CARTON", "P004", "VERP", "Corrugated carton box 60x40", "Wellpappkarton 60x40", "ST", "0.45", 80, 160, 100, 10000},
	{"PK-PALLET", "P004", "VERP", "EUR pallet 1200x800", "Europalette 1200x800", "ST", "25", 900, 1500, 10, 600},
	{"CH-SOLVENT", "P005", "ROH", "Industrial solvent (acetone)", "Industrielösemittel (Aceton)", "L", "0.79", 300, 600, 20, 2000},
	{"EL-PCB", "P006", "HALB", "Printed circuit board assembly", "Leiterplattenbaugruppe", "ST", "0.12", 1500, 9000, 10, 2000},
	{"SV-FREIGHT", "S001", "DIEN", "Road freight, full truck load", "Straßentransport Komplettladung", "KM", "", 120, 250, 100, 3000},
	{"SV-IT", "S002", "DIEN", "IT consulting services", "IT-Beratungsleistungen", "H", "", 9000, 16000, 8, 400},
	{"OF-PAPER", "O001", "HAWA", "Copy paper A4 80 g", "Kopierpapier A4 80 g", "PAK", "2.5", 350, 600, 5, 500},
}

// simCountry is a supplier country with its currency and legal form.
type simCountry struct {
	code, currency, legal string
	rate                  string // units of currency per EUR
}

var simCountries = []simCountry{
	{"DE", "EUR", "GmbH", "1"}, {"FR", "EUR", "SAS", "1"}, {"NL", "EUR", "B.V.", "1"}, {"IT", "EUR", "S.p.A.", "1"},
	{"US", "USD", "Inc.", "1.08"}, {"GB", "GBP", "Ltd", "0.85"}, {"CH", "CHF", "AG", "0.95"}, {"PL", "PLN", "Sp. z o.o.", "4.3"},
	{"SE", "SEK", "AB", "11.2"}, {"JP", "JPY", "K.K.", "160"}, {"CN", "CNY", "Co., Ltd.", "7.8"},
}

var simSupplierNames = []string{
	"Nordstahl", "Rhein Logistik", "Alpen Energie", "Atlas Packaging", "Blue River Chemicals", "Cedar Office Supply",
	"Delta Freight", "Evergreen Plastics", "Falcon Electronics", "Granite Metals", "Harbor Fuels", "Iberia Components",
	"Juniper IT Services", "Kestrel Aluminium", "Lumen Power", "Meridian Solvents", "Northwind Traders", "Orion Pallets",
	"Pioneer Steelworks", "Quantum Circuits", "Redwood Paper", "Summit Gas", "Titan Transport", "Unity Utilities",
}

var simNameSuffixes = []string{"", " Nord", " Süd", " West", " International", " Services", " Trading", " Europe", " Holding"}

// simCompanies are the company codes with their currency and plants.
var simCompanies = []struct {
	code, currency string
	plants         []string
	costCenters    []string
}{
	{"1010", "EUR", []string{"1010", "1020"}, []string{"10101101", "10101201", "10101301"}},
	{"1710", "USD", []string{"1710", "1720"}, []string{"17101101", "17101201"}},
}

// glAccounts are the expense accounts of the energy and fuel bills; the
// offsetting line goes to the payables account.
var glAccounts = []struct {
	account, text, unit string
	qtyMin, qtyMax      int64
	priceMin, priceMax  int64 // cents per unit
}{
	{"65010000", "Diesel fuel cards", "L", 200, 6000, 130, 185},
	{"65020000", "Petrol fuel cards", "L", 100, 3000, 150, 205},
	{"65100000", "Electricity", "KWH", 5000, 400000, 18, 38},
	{"65110000", "Natural gas", "M3", 500, 50000, 60, 120},
	{"65120000", "District heating", "KWH", 2000, 120000, 8, 16},
	{"65300000", "Business travel", "", 0, 0, 20000, 250000},
}

const glPayablesAccount = "21100000"

// simData is the generated data set.
type simData struct {
	suppliers []simSupplier
	products  []simProduct
	pos       []simPO
	gl        []simGL
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// generate builds the data set: records PO lines (about five per order),
// suppliers and products scaled from it, and records/2 journal lines.
func generate(records int, seed uint64, now time.Time) simData {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed5a9))
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	latest := now.Add(-time.Hour)
	stamp := func(from time.Time, maxHours int) time.Time {
		t := from.Add(time.Duration(1+r.IntN(maxHours))*time.Hour + time.Duration(r.IntN(3600_000))*time.Millisecond)
		if t.After(latest) {
			t = latest.Add(-time.Duration(r.IntN(3600_000)) * time.Millisecond)
		}
		return t
	}
	var d simData

	nSup := clamp(records/100, 20, 2000)
	for i := range nSup {
		c := simCountries[r.IntN(len(simCountries))]
		base := simSupplierNames[i%len(simSupplierNames)] + simNameSuffixes[(i/len(simSupplierNames))%len(simNameSuffixes)]
		if n := i / (len(simSupplierNames) * len(simNameSuffixes)); n > 0 {
			base += " " + strconv.Itoa(n+1)
		}
		s := simSupplier{
			ID:       strconv.Itoa(17300001 + i),
			Name:     base + " " + c.legal,
			FullName: base + " " + c.legal,
			Country:  c.code, Currency: c.currency,
			PostingBlocked: r.IntN(100) < 2, PurchBlocked: r.IntN(100) < 2, Deleted: r.IntN(100) < 1,
			Created: year.Add(-time.Duration(r.IntN(3*365)) * 24 * time.Hour),
		}
		digits := func(n int) string {
			b := make([]byte, n)
			for j := range b {
				b[j] = byte('0' + r.IntN(10))
			}
			return string(b)
		}
		switch c.code {
		case "US":
			s.Tax1 = digits(2) + "-" + digits(7)
		case "JP":
			s.Tax1 = "T" + digits(13)
		case "CN":
			s.Tax1 = "91" + digits(16)
		case "NL":
			s.VAT = "NL" + digits(9) + "B01"
		case "FR":
			s.VAT = "FR" + digits(11)
		case "IT":
			s.VAT = "IT" + digits(11)
		case "CH":
			s.VAT = "CHE" + digits(9) + "MWST"
		case "PL":
			s.VAT = "PL" + digits(10)
		case "SE":
			s.VAT = "SE" + digits(10) + "01"
		default:
			s.VAT = c.code + digits(9)
		}
		d.suppliers = append(d.suppliers, s)
	}

	nProd := clamp(records/20, 50, 5000)
	for i := range nProd {
		ti := i % len(materialTemplates)
		t := materialTemplates[ti]
		p := simProduct{
			ID:    fmt.Sprintf("%s-%04d", t.code, i/len(materialTemplates)+1),
			Group: t.group, Type: t.typ, Desc: t.desc, DescDE: t.descDE, Unit: t.unit,
			tmpl: ti, priceMin: t.priceMin, priceSpan: t.priceMax - t.priceMin + 1,
			Created: year.Add(-time.Duration(r.IntN(2*365)) * 24 * time.Hour),
		}
		if i >= len(materialTemplates) {
			p.Desc += fmt.Sprintf(" (variant %d)", i/len(materialTemplates)+1)
			p.DescDE += fmt.Sprintf(" (Variante %d)", i/len(materialTemplates)+1)
		}
		if t.weightKg != "" {
			p.NetWeight, p.HasWeight, p.WeightUnit = decimal.RequireFromString(t.weightKg), true, "KG"
		}
		p.Modified = stamp(year, 365*24)
		p.Deleted = r.IntN(200) == 0
		d.products = append(d.products, p)
	}
	slices.SortFunc(d.products, func(a, b simProduct) int { return cmp.Compare(a.ID, b.ID) })

	lines := 0
	for po := 0; lines < records; po++ {
		si := r.IntN(len(d.suppliers))
		sup := d.suppliers[si]
		comp := simCompanies[r.IntN(len(simCompanies))]
		date := year.Add(time.Duration(r.IntN(365)) * 24 * time.Hour)
		p := simPO{
			ID: strconv.Itoa(4500000001 + po), CompanyCode: comp.code, Date: date, Supplier: si, Currency: sup.Currency,
			PurchasingOrg: comp.code, PurchasingGroup: fmt.Sprintf("%03d", 1+r.IntN(4)),
		}
		p.Created = date.Add(time.Duration(8+r.IntN(10)) * time.Hour)
		p.Modified = stamp(p.Created, 30*24)
		rate := decimal.RequireFromString(rateOf(sup.Currency))
		places := int32(2)
		if sup.Currency == "JPY" {
			places = 0
		}
		n := min(1+r.IntN(9), records-lines)
		for j := range n {
			pi := r.IntN(len(d.products))
			prod := d.products[pi]
			t := materialTemplates[prod.tmpl]
			cents := prod.priceMin + r.Int64N(prod.priceSpan)
			it := simItem{
				Item: strconv.Itoa(10 * (j + 1)), Product: pi, Text: prod.Desc,
				Qty:   decimal.NewFromInt(t.qtyMin + r.Int64N(t.qtyMax-t.qtyMin+1)),
				Unit:  prod.Unit,
				Price: decimal.New(cents, -2).Mul(rate).Round(places),
				Plant: comp.plants[r.IntN(len(comp.plants))], Group: prod.Group,
			}
			switch x := r.IntN(100); {
			case x < 2:
				it.DeletionCode = deletionCodeDeleted
			case x < 3:
				it.DeletionCode = deletionCodeBlocked
			}
			p.Items = append(p.Items, it)
		}
		lines += n
		d.pos = append(d.pos, p)
	}

	nGL := max(records/2, 100)
	docs := make([]int, len(simCompanies))
	for len(d.gl) < nGL {
		ci := r.IntN(len(simCompanies))
		comp := simCompanies[ci]
		docs[ci]++
		acc := glAccounts[r.IntN(len(glAccounts))]
		posting := year.Add(time.Duration(r.IntN(365)) * 24 * time.Hour)
		modified := stamp(posting, 48)
		cents := acc.priceMin + r.Int64N(acc.priceMax-acc.priceMin+1)
		qty := decimal.Zero
		amount := decimal.New(cents, -2)
		if acc.unit != "" {
			qty = decimal.NewFromInt(acc.qtyMin + r.Int64N(acc.qtyMax-acc.qtyMin+1))
			amount = qty.Mul(decimal.New(cents, -2)).Round(2)
		}
		if comp.currency == "USD" {
			amount = amount.Mul(decimal.RequireFromString("1.08")).Round(2)
		}
		doc := fmt.Sprintf("%010d", 100000000+docs[ci])
		cc := comp.costCenters[r.IntN(len(comp.costCenters))]
		plant := comp.plants[r.IntN(len(comp.plants))]
		text := fmt.Sprintf("%s %s", acc.text, posting.Format("Jan 2006"))
		d.gl = append(d.gl,
			simGL{CompanyCode: comp.code, FiscalYear: "2025", Doc: doc, Line: "000001", Account: acc.account,
				CostCenter: cc, Plant: plant, Text: text, Currency: comp.currency, Unit: acc.unit,
				Amount: amount, Qty: qty, Posting: posting, Modified: modified},
			simGL{CompanyCode: comp.code, FiscalYear: "2025", Doc: doc, Line: "000002", Account: glPayablesAccount,
				Text: text, Currency: comp.currency, Amount: amount.Neg(), Qty: decimal.Zero, Posting: posting, Modified: modified},
		)
	}
	slices.SortFunc(d.gl, func(a, b simGL) int {
		return cmp.Or(cmp.Compare(a.CompanyCode, b.CompanyCode), cmp.Compare(a.FiscalYear, b.FiscalYear),
			cmp.Compare(a.Doc, b.Doc), cmp.Compare(a.Line, b.Line))
	})
	return d
}

func rateOf(cur string) string {
	for _, c := range simCountries {
		if c.currency == cur {
			return c.rate
		}
	}
	return "1"
}
