package oracle

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"
)

// The simulator's data set: Go structs whose JSON is what Fusion's REST API
// returns (property names, number and date formats).

// oraTime is a Fusion date-time: 2025-03-04T10:11:12.345+00:00.
type oraTime time.Time

func (t oraTime) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000-07:00") + `"`), nil
}

// oraDate is a Fusion date: 2025-03-04.
type oraDate time.Time

func (t oraDate) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + time.Time(t).Format(time.DateOnly) + `"`), nil
}

// num is a JSON number written as is; a value that is not a number (a bad
// value injected by a test) is written as a string, "" as null.
type num string

func (n num) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	if json.Valid([]byte(n)) && n[0] != '"' {
		return []byte(n), nil
	}
	return json.Marshal(string(n))
}

func dnum(d decimal.Decimal) num { return num(d.String()) }

type simSupplier struct {
	SupplierId            int64   `json:"SupplierId"`
	SupplierPartyId       int64   `json:"SupplierPartyId"`
	Supplier              string  `json:"Supplier"`
	SupplierNumber        string  `json:"SupplierNumber"`
	AlternateName         string  `json:"AlternateName"`
	TaxOrganizationType   string  `json:"TaxOrganizationType"`
	SupplierType          string  `json:"SupplierType"`
	InactiveDate          oraDate `json:"InactiveDate"`
	Status                string  `json:"Status"`
	BusinessRelationship  string  `json:"BusinessRelationship"`
	DUNSNumber            string  `json:"DUNSNumber"`
	TaxpayerCountry       string  `json:"TaxpayerCountry"`
	TaxpayerId            string  `json:"TaxpayerId"`
	TaxRegistrationNumber string  `json:"TaxRegistrationNumber"`
	CreationDate          oraTime `json:"CreationDate"`
	LastUpdateDate        oraTime `json:"LastUpdateDate"`

	currency string
}

type simPOLine struct {
	POLineId       int64   `json:"POLineId"`
	LineNumber     int     `json:"LineNumber"`
	LineType       string  `json:"LineType"`
	Item           string  `json:"Item"`
	Description    string  `json:"Description"`
	CategoryCode   string  `json:"CategoryCode"`
	CategoryName   string  `json:"CategoryName"`
	Quantity       num     `json:"Quantity"`
	UOMCode        string  `json:"UOMCode"`
	UOM            string  `json:"UOM"`
	Price          num     `json:"Price"`
	Amount         num     `json:"Amount"`
	CurrencyCode   string  `json:"CurrencyCode"`
	Status         string  `json:"Status"`
	StatusCode     string  `json:"StatusCode"`
	ShipToLocation string  `json:"ShipToLocation"`
	CreationDate   oraTime `json:"CreationDate"`
	LastUpdateDate oraTime `json:"LastUpdateDate"`

	qty, price decimal.Decimal
}

type simPO struct {
	POHeaderId     int64   `json:"POHeaderId"`
	OrderNumber    string  `json:"OrderNumber"`
	Description    string  `json:"Description"`
	ProcurementBU  string  `json:"ProcurementBU"`
	Supplier       string  `json:"Supplier"`
	SupplierId     int64   `json:"SupplierId"`
	SupplierSite   string  `json:"SupplierSite"`
	Buyer          string  `json:"Buyer"`
	CurrencyCode   string  `json:"CurrencyCode"`
	Status         string  `json:"Status"`
	StatusCode     string  `json:"StatusCode"`
	Total          num     `json:"Total"`
	CreationDate   oraTime `json:"CreationDate"`
	LastUpdateDate oraTime `json:"LastUpdateDate"`

	lines []*simPOLine
}

type simDistribution struct {
	InvoiceDistributionId   int64   `json:"InvoiceDistributionId"`
	LineNumber              int     `json:"LineNumber"`
	DistributionLineNumber  int     `json:"DistributionLineNumber"`
	DistributionLineType    string  `json:"DistributionLineType"`
	Amount                  num     `json:"Amount"`
	AccountingDate          oraDate `json:"AccountingDate"`
	DistributionCombination string  `json:"DistributionCombination"`
	Description             string  `json:"Description"`
}

type simInvoiceLine struct {
	LineNumber     int     `json:"LineNumber"`
	LineType       string  `json:"LineType"`
	LineAmount     num     `json:"LineAmount"`
	Description    string  `json:"Description"`
	Quantity       num     `json:"Quantity"`
	UOM            string  `json:"UOM"`
	UnitPrice      num     `json:"UnitPrice"`
	AccountingDate oraDate `json:"AccountingDate"`

	dists []*simDistribution
}

type simInvoice struct {
	InvoiceId        int64   `json:"InvoiceId"`
	InvoiceNumber    string  `json:"InvoiceNumber"`
	InvoiceType      string  `json:"InvoiceType"`
	BusinessUnit     string  `json:"BusinessUnit"`
	Supplier         string  `json:"Supplier"`
	SupplierNumber   string  `json:"SupplierNumber"`
	InvoiceCurrency  string  `json:"InvoiceCurrency"`
	InvoiceAmount    num     `json:"InvoiceAmount"`
	InvoiceDate      oraDate `json:"InvoiceDate"`
	AccountingDate   oraDate `json:"AccountingDate"`
	Description      string  `json:"Description"`
	CanceledFlag     bool    `json:"CanceledFlag"`
	ValidationStatus string  `json:"ValidationStatus"`
	CreationDate     oraTime `json:"CreationDate"`
	LastUpdateDate   oraTime `json:"LastUpdateDate"`

	lines []*simInvoiceLine
}

type simBalance struct {
	LedgerName               string `json:"LedgerName"`
	PeriodName               string `json:"PeriodName"`
	Currency                 string `json:"Currency"`
	AccountCombination       string `json:"AccountCombination"`
	DetailAccountCombination string `json:"DetailAccountCombination"`
	AccountName              string `json:"AccountName"`
	AmountType               string `json:"AmountType"`
	CurrencyType             string `json:"CurrencyType"`
	BeginningBalance         num    `json:"BeginningBalance"`
	PeriodActivity           num    `json:"PeriodActivity"`
	EndingBalance            num    `json:"EndingBalance"`
}

// catalogItem is a purchasable item of the simulated item master.
type catalogItem struct {
	item, desc, catCode, catName, uom, uomCode string
	minQty, maxQty, minPrice, maxPrice         int // price in cents
}

var catalog = [...]catalogItem{
	{"DSL-EN590", "Diesel fuel EN 590, bulk delivery", "FUEL.DIESEL", "Fuels and Lubricants", "Liter", "L", 500, 20000, 95, 180},
	{"GAS-NAT", "Natural gas supply, pipeline", "ENERGY.GAS", "Utilities - Natural Gas", "Cubic Meter", "M3", 1000, 50000, 40, 120},
	{"ELEC-GRID", "Grid electricity supply", "ENERGY.ELECTRICITY", "Utilities - Electricity", "Kilowatt Hour", "KWH", 5000, 200000, 12, 35},
	{"STL-HRC-2MM", "Hot rolled steel coil 2 mm", "RAW.STEEL", "Metals - Steel", "Kilogram", "KG", 1000, 40000, 60, 110},
	{"ALU-SHT-1MM", "Aluminium sheet 1 mm", "RAW.ALUMINIUM", "Metals - Aluminium", "Kilogram", "KG", 200, 10000, 220, 400},
	{"PP-GRAN-H", "Polypropylene granulate homopolymer", "RAW.PLASTICS", "Plastics and Resins", "Kilogram", "KG", 500, 25000, 110, 190},
	{"CMT-CEM1", "Portland cement CEM I 42.5", "RAW.CEMENT", "Construction Materials", "Metric Ton", "T", 5, 200, 9000, 16000},
	{"PAP-A4-80", "Copy paper A4 80 g, box of 5 reams", "OFFICE.PAPER", "Office Supplies", "Box", "BOX", 5, 200, 2200, 3500},
	{"LAP-14-STD", "Laptop 14 inch, standard configuration", "IT.HARDWARE", "IT Hardware", "Each", "EA", 1, 50, 80000, 160000},
	{"SRV-FRT-RD", "Road freight services, full truck load", "SERV.FREIGHT", "Logistics - Road Freight", "Each", "EA", 1, 20, 60000, 250000},
	{"SRV-CLEAN", "Facility cleaning services, monthly", "SERV.FACILITY", "Facility Services", "Each", "EA", 1, 3, 150000, 600000},
	{"CHEM-NAOH", "Sodium hydroxide solution 50%", "RAW.CHEMICALS", "Chemicals", "Kilogram", "KG", 100, 8000, 30, 90},
}

// glAccount is an expense account of the simulated chart of accounts.
type glAccount struct {
	account, name, desc, uom           string
	minQty, maxQty, minPrice, maxPrice int
}

var glAccounts = [...]glAccount{
	{"60510", "Fuel - Vehicles", "Diesel for fleet vehicles", "Liter", 200, 8000, 95, 180},
	{"60520", "Utilities - Electricity", "Electricity consumption", "Kilowatt Hour", 2000, 150000, 12, 35},
	{"60530", "Utilities - Natural Gas", "Natural gas for heating", "Cubic Meter", 500, 30000, 40, 120},
	{"60540", "Fuel - Heating Oil", "Heating oil delivery", "Liter", 500, 10000, 80, 140},
	{"61000", "Office Supplies", "Office supplies", "", 0, 0, 5000, 90000},
	{"62100", "Travel - Airfare", "Airfare", "", 0, 0, 20000, 250000},
	{"63000", "Maintenance and Repairs", "Maintenance services", "", 0, 0, 30000, 500000},
}

var (
	simSites     = [...]string{"Seattle Plant", "Austin DC", "Berlin Werk", "Leeds DC", "Lyon Site", "Rotterdam Hub", "Osaka Office", "Toronto Plant"}
	simBUs       = [...]string{"US1 Business Unit", "DE1 Business Unit", "UK1 Business Unit"}
	simBuyers    = [...]string{"Smith, Jane", "Okafor, Daniel", "Müller, Anna", "Tanaka, Hiro", "Dubois, Claire"}
	simNameA     = [...]string{"Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Acme", "Tailspin", "Litware", "Proseware", "Adatum", "Alpine", "Blue Yonder", "Coho", "Wingtip", "Lucerne"}
	simNameB     = [...]string{"Energy", "Steel", "Logistics", "Chemicals", "Supplies", "Plastics", "Utilities", "Industrial", "Materials", "Services"}
	simNameC     = [...]string{"Inc.", "GmbH", "Ltd", "SA", "BV", "KK", "AG", "Corp."}
	simCompanies = [...]string{"101", "102"}
	simCCs       = [...]string{"110", "120", "310"}
)

// simLedger and simPeriods are the ledger the simulator keeps balances for.
const simLedger = "US Primary Ledger"
const simLedgerCurrency = "USD"

var simPeriods = [...]string{"Jan-25", "Feb-25", "Mar-25", "Apr-25", "May-25", "Jun-25", "Jul-25", "Aug-25", "Sep-25", "Oct-25", "Nov-25", "Dec-25"}

// simData is the generated data set, kept sorted by id.
type simData struct {
	suppliers []*simSupplier
	pos       []*simPO
	invoices  []*simInvoice
	balances  map[string][]*simBalance // by period name
	lineCount int
	distCount int
}

var year2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// randTime returns a time in 2025, before now.
func randTime(r *rand.Rand, now time.Time) time.Time {
	t := year2025.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
	if t.After(now) {
		t = now
	}
	return t.Truncate(time.Millisecond)
}

func between(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

func cents(c int) decimal.Decimal { return decimal.New(int64(c), -2) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func generate(records int, r *rand.Rand, now time.Time) *simData {
	d := &simData{balances: map[string][]*simBalance{}}

	nSup := min(max(12, records/200), 5000)
	for i := range nSup {
		c := countries[r.IntN(len(countries))]
		name := fmt.Sprintf("%s %s %s", simNameA[r.IntN(len(simNameA))], simNameB[r.IntN(len(simNameB))], simNameC[r.IntN(len(simNameC))])
		if i >= len(simNameA)*len(simNameB) {
			name = fmt.Sprintf("%s %d", name, i)
		}
		created := time.Date(2019+r.IntN(6), time.Month(1+r.IntN(12)), 1+r.IntN(28), 9, r.IntN(60), 0, 0, time.UTC)
		s := &simSupplier{
			SupplierId:           300000010000000 + int64(i)*11,
			SupplierPartyId:      300000020000000 + int64(i)*11,
			Supplier:             name,
			SupplierNumber:       fmt.Sprintf("%d", 1000+i),
			AlternateName:        name,
			TaxOrganizationType:  "Corporation",
			SupplierType:         "Supplier",
			Status:               "ACTIVE",
			BusinessRelationship: "SPEND_AUTHORIZED",
			DUNSNumber:           fmt.Sprintf("%09d", r.IntN(1_000_000_000)),
			TaxpayerCountry:      c.name,
			TaxpayerId:           fmt.Sprintf("%02d-%07d", r.IntN(100), r.IntN(10_000_000)),
			CreationDate:         oraTime(created),
			LastUpdateDate:       oraTime(randTime(r, now)),
			currency:             c.currency,
		}
		if c.vatPrefix != "" {
			s.TaxRegistrationNumber = fmt.Sprintf("%s%09d", c.vatPrefix, r.IntN(1_000_000_000))
		}
		if r.IntN(20) == 0 {
			s.InactiveDate = oraDate(randTime(r, now).Truncate(24 * time.Hour))
			s.Status = "INACTIVE"
		}
		d.suppliers = append(d.suppliers, s)
	}

	lineID := int64(300000200000000)
	for i := 0; d.lineCount < records; i++ {
		s := d.suppliers[r.IntN(len(d.suppliers))]
		created := randTime(r, now)
		updated := minTime(created.Add(time.Duration(r.Int64N(int64(30*24*time.Hour)))), now).Truncate(time.Millisecond)
		status, code := "Open", "OPEN"
		switch x := r.IntN(100); {
		case x < 2:
			status, code = "Canceled", "CANCELED"
		case x < 25:
			status, code = "Closed", "CLOSED"
		}
		currency := s.currency
		if r.IntN(10) == 0 {
			currency = "USD"
		}
		po := &simPO{
			POHeaderId:     300000100000000 + int64(i)*7,
			OrderNumber:    fmt.Sprintf("%d", 100000+i),
			ProcurementBU:  simBUs[r.IntN(len(simBUs))],
			Supplier:       s.Supplier,
			SupplierId:     s.SupplierId,
			SupplierSite:   "MAIN",
			Buyer:          simBuyers[r.IntN(len(simBuyers))],
			CurrencyCode:   currency,
			Status:         status,
			StatusCode:     code,
			CreationDate:   oraTime(created),
			LastUpdateDate: oraTime(updated),
		}
		n := min(between(r, 1, 8), records-d.lineCount)
		site := simSites[r.IntN(len(simSites))]
		for ln := 1; ln <= n; ln++ {
			it := catalog[r.IntN(len(catalog))]
			qty := decimal.NewFromInt(int64(between(r, it.minQty, it.maxQty)))
			price := cents(between(r, it.minPrice, it.maxPrice))
			l := &simPOLine{
				POLineId:       lineID,
				LineNumber:     ln,
				LineType:       "Goods",
				Item:           it.item,
				Description:    it.desc,
				CategoryCode:   it.catCode,
				CategoryName:   it.catName,
				UOMCode:        it.uomCode,
				UOM:            it.uom,
				CurrencyCode:   currency,
				Status:         status,
				StatusCode:     code,
				ShipToLocation: site,
				CreationDate:   oraTime(created),
				LastUpdateDate: oraTime(updated),
				qty:            qty,
				price:          price,
			}
			if it.item[:3] == "SRV" {
				l.LineType = "Services"
			}
			l.setAmounts()
			lineID++
			po.lines = append(po.lines, l)
		}
		po.Description = po.lines[0].Description
		if len(po.lines) > 1 {
			po.Description = fmt.Sprintf("%s and %d more", po.lines[0].Description, len(po.lines)-1)
		}
		po.total()
		d.lineCount += n
		d.pos = append(d.pos, po)
	}

	distID := int64(300000400000000)
	nInv := max(10, records/10)
	for i := range nInv {
		s := d.suppliers[r.IntN(len(d.suppliers))]
		date := randTime(r, now).Truncate(24 * time.Hour)
		updated := minTime(date.Add(time.Duration(r.Int64N(int64(10*24*time.Hour)))), now).Truncate(time.Millisecond)
		bu := simBUs[r.IntN(len(simBUs))]
		inv := &simInvoice{
			InvoiceId:        300000300000000 + int64(i)*5,
			InvoiceNumber:    fmt.Sprintf("INV-%s-%05d", s.SupplierNumber, i),
			InvoiceType:      "Standard",
			BusinessUnit:     bu,
			Supplier:         s.Supplier,
			SupplierNumber:   s.SupplierNumber,
			InvoiceCurrency:  s.currency,
			InvoiceDate:      oraDate(date),
			AccountingDate:   oraDate(date),
			CanceledFlag:     r.IntN(50) == 0,
			ValidationStatus: "Validated",
			CreationDate:     oraTime(date.Add(9 * time.Hour)),
			LastUpdateDate:   oraTime(updated),
		}
		total := decimal.Zero
		for ln := 1; ln <= between(r, 1, 3); ln++ {
			a := glAccounts[r.IntN(len(glAccounts))]
			l := &simInvoiceLine{LineNumber: ln, LineType: "Item", Description: a.desc + " " + date.Format("Jan 2006"), AccountingDate: oraDate(date)}
			var amount decimal.Decimal
			if a.uom != "" {
				qty := decimal.NewFromInt(int64(between(r, a.minQty, a.maxQty)))
				price := cents(between(r, a.minPrice, a.maxPrice))
				amount = qty.Mul(price).Round(2)
				l.Quantity, l.UOM, l.UnitPrice = dnum(qty), a.uom, dnum(price)
			} else {
				amount = cents(between(r, a.minPrice, a.maxPrice))
			}
			l.LineAmount = dnum(amount)
			company := simCompanies[r.IntN(len(simCompanies))]
			nd := 1
			if r.IntN(5) == 0 {
				nd = 2
			}
			rest := amount
			for dn := 1; dn <= nd; dn++ {
				part := rest
				if dn < nd {
					part = amount.Div(decimal.NewFromInt(int64(nd))).Round(2)
				}
				rest = rest.Sub(part)
				cc := simCCs[r.IntN(len(simCCs))]
				l.dists = append(l.dists, &simDistribution{
					InvoiceDistributionId:   distID,
					LineNumber:              ln,
					DistributionLineNumber:  dn,
					DistributionLineType:    "Item",
					Amount:                  dnum(part),
					AccountingDate:          oraDate(date),
					DistributionCombination: fmt.Sprintf("%s-10-%s-%s-000", company, a.account, cc),
					Description:             a.name,
				})
				distID++
				d.distCount++
			}
			total = total.Add(amount)
			inv.lines = append(inv.lines, l)
		}
		inv.InvoiceAmount = dnum(total)
		inv.Description = inv.lines[0].Description
		d.invoices = append(d.invoices, inv)
	}

	for pi, period := range simPeriods {
		for _, co := range simCompanies {
			for _, a := range glAccounts {
				for _, cc := range simCCs {
					activity := cents(between(r, a.minPrice*10, a.maxPrice*40))
					begin := activity.Mul(decimal.NewFromInt(int64(pi))).Round(2)
					combo := fmt.Sprintf("%s-10-%s-%s-000", co, a.account, cc)
					d.balances[period] = append(d.balances[period], &simBalance{
						LedgerName:               simLedger,
						PeriodName:               period,
						Currency:                 simLedgerCurrency,
						DetailAccountCombination: combo,
						AccountName:              a.name,
						AmountType:               "PTD",
						CurrencyType:             "Total",
						BeginningBalance:         dnum(begin),
						PeriodActivity:           dnum(activity),
						EndingBalance:            dnum(begin.Add(activity)),
					})
				}
			}
		}
	}
	return d
}

func (l *simPOLine) setAmounts() {
	l.Quantity = dnum(l.qty)
	l.Price = dnum(l.price)
	l.Amount = dnum(l.qty.Mul(l.price).Round(2))
}

func (po *simPO) total() {
	t := decimal.Zero
	for _, l := range po.lines {
		if l.StatusCode != "CANCELED" {
			t = t.Add(l.qty.Mul(l.price).Round(2))
		}
	}
	po.Total = dnum(t)
}

func decimalInt(n int64) decimal.Decimal { return decimal.NewFromInt(n) }
