package workday

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The simulator's wire types: marshalled as they are, they are the JSON
// Workday's REST APIs send. Unexported fields feed the SOAP rendering and
// the simulator's bookkeeping.

type simRef struct {
	ID         string `json:"id"`
	Descriptor string `json:"descriptor"`
}

// simNum is a decimal sent as a JSON number; a value that is not one (a
// value injected by InjectBad) is sent as a string.
type simNum string

// MarshalJSON implements json.Marshaler.
func (n simNum) MarshalJSON() ([]byte, error) {
	if isNumber(string(n)) {
		return []byte(n), nil
	}
	return []byte(strconv.Quote(string(n))), nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && (s[0] != '0' || len(s) == 1 || s[1] == '.')
}

type simMoney struct {
	Value    simNum `json:"value"`
	Currency string `json:"currency"`
}

type simWorker struct {
	ID                     string `json:"id"`
	Descriptor             string `json:"descriptor"`
	WorkerID               string `json:"workerId"`
	PrimaryWorkEmail       string `json:"primaryWorkEmail"`
	BusinessTitle          string `json:"businessTitle"`
	IsManager              bool   `json:"isManager"`
	Location               simRef `json:"location"`
	PrimarySupervisoryOrg  simRef `json:"primarySupervisoryOrganization"`
	PrimaryWorkAddressText string `json:"primaryWorkAddressText"`

	first, last, userID, siteID, country, hireDate string
	active                                         bool
}

type simCountry struct {
	ID         string `json:"id"`
	Descriptor string `json:"descriptor"`
	Alpha2Code string `json:"alpha2Code"`
}

type simIndustry struct {
	ID         string `json:"id"`
	Descriptor string `json:"descriptor"`
	NAICSCode  string `json:"naicsCode"`
}

type simSupplier struct {
	ID               string      `json:"id"`
	Descriptor       string      `json:"descriptor"`
	SupplierID       string      `json:"supplierId"`
	LegalName        string      `json:"legalName"`
	SupplierCategory simRef      `json:"supplierCategory"`
	TaxID            string      `json:"taxId"`
	DUNSNumber       string      `json:"dunsNumber,omitempty"`
	Country          simCountry  `json:"country"`
	Industry         simIndustry `json:"industryClassification"`
	PrimaryEmail     string      `json:"primaryEmail"`
	Website          string      `json:"website"`
	SupplierStatus   simRef      `json:"supplierStatus"`
	LastUpdated      string      `json:"lastUpdated"`

	currency string
}

type simPOLine struct {
	ID                string   `json:"id"`
	LineNumber        int      `json:"lineNumber"`
	ItemDescription   string   `json:"itemDescription"`
	ItemIdentifier    string   `json:"itemIdentifier"`
	PurchaseItem      simRef   `json:"purchaseItem"`
	PurchaseItemGroup simRef   `json:"purchaseItemGroup"`
	SpendCategory     simRef   `json:"spendCategory"`
	Quantity          simNum   `json:"quantity"`
	UnitOfMeasure     simRef   `json:"unitOfMeasure"`
	UnitCost          simMoney `json:"unitCost"`
	ExtendedAmount    simMoney `json:"extendedAmount"`
	ShipTo            simRef   `json:"shipTo"`
	Status            simRef   `json:"status"`
}

type simPO struct {
	ID          string      `json:"id"`
	Descriptor  string      `json:"descriptor"`
	Number      string      `json:"number"`
	OrderDate   string      `json:"orderDate,omitempty"`
	Supplier    simRef      `json:"supplier"`
	SupplierID  string      `json:"supplierId"`
	Currency    simRef      `json:"currency"`
	Company     simRef      `json:"company"`
	Status      simRef      `json:"status"`
	TotalAmount simMoney    `json:"totalAmount"`
	LastUpdated string      `json:"lastUpdated"`
	Lines       []simPOLine `json:"lines"`

	modified time.Time
}

type simDetail struct {
	Attribute simRef `json:"attribute"`
	Value     string `json:"value"`
}

type simExpenseLine struct {
	ID            string      `json:"id"`
	LineNumber    int         `json:"lineNumber"`
	Date          string      `json:"date,omitempty"`
	ExpenseItem   simRef      `json:"expenseItem"`
	Memo          string      `json:"memo,omitempty"`
	TotalAmount   simMoney    `json:"totalAmount"`
	Quantity      simNum      `json:"quantity,omitempty"`
	PerUnitAmount *simMoney   `json:"perUnitAmount,omitempty"`
	UnitOfMeasure *simRef     `json:"unitOfMeasure,omitempty"`
	ItemDetails   []simDetail `json:"itemDetails,omitempty"`
}

type simReport struct {
	ID                  string           `json:"id"`
	Descriptor          string           `json:"descriptor"`
	ReportNumber        string           `json:"reportNumber"`
	CreationDate        string           `json:"creationDate"`
	ExpenseReportMemo   string           `json:"expenseReportMemo"`
	ExpenseReportStatus simRef           `json:"expenseReportStatus"`
	Payee               simRef           `json:"payee"`
	TotalAmount         simMoney         `json:"totalAmount"`
	LastUpdated         string           `json:"lastUpdated"`
	Lines               []simExpenseLine `json:"lines"`
}

// simData is the generated data set.
type simData struct {
	workers   []simWorker
	suppliers []simSupplier
	pos       []simPO
	reports   []simReport
	lineRefs  [][2]int32 // (po, line) of every PO line, for Mutate
}

// Constant tables of the generator.
var (
	simFirstNames = []string{"Logan", "Maria", "Jonas", "Aisha", "Wei", "Sofia", "Lukas", "Emma", "Noah", "Chloé",
		"Hiroshi", "Priya", "Oliver", "Ingrid", "Mateo", "Fatima", "Erik", "Grace", "Samuel", "Leonie"}
	simLastNames = []string{"McNeil", "Schmidt", "Garcia", "Okafor", "Chen", "Rossi", "Müller", "Dubois", "Andersson",
		"Smith", "Tanaka", "Patel", "Johnson", "Larsen", "Fernández", "Khan", "Nilsson", "O'Brien", "Weber", "Brown"}
	simTitles = []string{"Accountant", "Buyer", "Plant Manager", "Software Engineer", "Sustainability Analyst",
		"Sales Representative", "HR Partner", "Logistics Coordinator", "Maintenance Technician", "Controller"}
	// site id, name, country, currency, address
	simSites = [][5]string{
		{"BER", "Berlin Office", "DE", "EUR", "Friedrichstraße 68, 10117 Berlin, Germany"},
		{"HAM", "Hamburg Plant", "DE", "EUR", "Am Sandtorkai 1, 20457 Hamburg, Germany"},
		{"LYO", "Lyon Plant", "FR", "EUR", "12 Rue de la République, 69002 Lyon, France"},
		{"SFO", "San Francisco HQ", "US", "USD", "6110 Stoneridge Mall Rd, Pleasanton, CA 94588, United States of America"},
		{"CHI", "Chicago Warehouse", "US", "USD", "233 S Wacker Dr, Chicago, IL 60606, United States of America"},
		{"LON", "London Office", "GB", "GBP", "1 Canada Square, London E14 5AB, United Kingdom"},
		{"ZRH", "Zurich Office", "CH", "CHF", "Bahnhofstrasse 10, 8001 Zürich, Switzerland"},
		{"STO", "Stockholm Office", "SE", "SEK", "Kungsgatan 8, 111 43 Stockholm, Sweden"},
		{"TOR", "Toronto Office", "CA", "CAD", "100 King St W, Toronto, ON M5X 1A9, Canada"},
	}
	// country, name, currency, legal form
	simCountries = [][4]string{
		{"DE", "Germany", "EUR", "GmbH"}, {"FR", "France", "EUR", "SAS"}, {"NL", "Netherlands", "EUR", "B.V."},
		{"US", "United States of America", "USD", "Inc."}, {"GB", "United Kingdom", "GBP", "Ltd"},
		{"CH", "Switzerland", "CHF", "AG"}, {"SE", "Sweden", "SEK", "AB"}, {"CA", "Canada", "CAD", "Ltd."},
	}
	simSupplierStems = []string{"Nordwind Energie", "Atlas Freight", "Helios Power", "Blue Ridge Fuels", "Papyrus Office",
		"Stahlwerk Rhein", "Cartonnerie Alpine", "Granite Cement", "Vector IT Consulting", "Polar Logistics",
		"Brightline Cleaning", "Keystone Hardware", "Evergreen Utilities", "Orion Air Cargo", "Meridian Packaging"}
	// supplier category, NAICS, industry name
	simCategories = [][3]string{
		{"Energy & Utilities", "221122", "Electric Power Distribution"}, {"Fuels", "424720", "Petroleum Products Merchant Wholesalers"},
		{"Freight & Logistics", "484121", "General Freight Trucking, Long-Distance"}, {"Office Supplies", "424120", "Stationery and Office Supplies Merchant Wholesalers"},
		{"Raw Materials", "331110", "Iron and Steel Mills"}, {"Professional Services", "541512", "Computer Systems Design Services"},
		{"Facilities", "561720", "Janitorial Services"}, {"Packaging", "322211", "Corrugated and Solid Fiber Box Manufacturing"},
	}
	// description, item id, item group, spend category, unit, min price cents, max price cents, min qty, max qty
	simItems = []struct {
		desc, id, group, spend, unit string
		minCents, maxCents           int
		minQty, maxQty               int
	}{
		{"Diesel fuel", "ITM-1001", "Fuels", "Fuel", "L", 120, 190, 500, 20000},
		{"Natural gas supply", "ITM-1002", "Energy", "Utilities - Gas", "kWh", 4, 9, 10000, 500000},
		{"Electricity supply (grid)", "ITM-1003", "Energy", "Utilities - Electricity", "kWh", 12, 30, 5000, 400000},
		{"Office paper A4 (ream)", "ITM-2001", "Office Supplies", "Office Supplies", "EA", 300, 600, 10, 500},
		{"Laptop 14in", "ITM-2002", "IT Hardware", "Computer Equipment", "EA", 80000, 160000, 1, 40},
		{"Hot-rolled steel coil", "ITM-3001", "Metals", "Raw Materials", "KG", 60, 110, 1000, 50000},
		{"Corrugated cartons", "ITM-3002", "Packaging", "Packaging", "EA", 30, 120, 500, 20000},
		{"Portland cement", "ITM-3003", "Construction Materials", "Raw Materials", "t", 9000, 14000, 5, 400},
		{"Road freight services", "ITM-4001", "Logistics", "Freight", "km", 120, 250, 100, 5000},
		{"Air freight", "ITM-4002", "Logistics", "Freight", "KG", 300, 800, 50, 3000},
		{"IT consulting", "ITM-5001", "Services", "Professional Services", "h", 9000, 18000, 8, 400},
		{"Cleaning services", "ITM-5002", "Facilities", "Facilities Services", "h", 2500, 4500, 20, 600},
	}
	simAirports = []string{"FRA", "LHR", "JFK", "CDG", "AMS", "ORD", "SFO", "ZRH", "ARN", "YYZ", "MUC", "BOS"}
	simStations = []string{"Berlin Hbf", "Hamburg Hbf", "Paris Gare de Lyon", "Lyon Part-Dieu", "London St Pancras",
		"Zürich HB", "Stockholm C", "Frankfurt (Main) Hbf"}
	simExpenseItems = []string{"Airfare", "Hotel", "Car Rental", "Rail", "Mileage", "Meals", "Taxi"}
	simFareClasses  = []string{"Economy", "Economy", "Economy", "Premium Economy", "Business"}
)

// simGen generates data with one random stream.
type simGen struct{ r *rand.Rand }

func (g simGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// wid is a 32-hex-digit Workday ID.
func (g simGen) wid() string {
	return fmt.Sprintf("%016x%016x", g.r.Uint64(), g.r.Uint64())
}

func (g simGen) digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + g.r.IntN(10)))
	}
	return b.String()
}

func (g simGen) cents(lo, hi int) decimal.Decimal {
	return decimal.New(int64(lo+g.r.IntN(hi-lo+1)), -2)
}

func money2(d decimal.Decimal, cur string) simMoney {
	return simMoney{Value: simNum(d.StringFixed(2)), Currency: cur}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// generate builds the data set for about records PO lines.
func generate(records int, seed uint64) *simData {
	g := simGen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	d := &simData{}
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	yearEnd := time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)

	// Workers.
	nWorkers := max(50, records/20)
	orgs := []simRef{{g.wid(), "Finance"}, {g.wid(), "Operations"}, {g.wid(), "Engineering"}, {g.wid(), "Sales"}, {g.wid(), "Procurement"}}
	siteRefs := make([]simRef, len(simSites))
	for i, s := range simSites {
		siteRefs[i] = simRef{g.wid(), s[1]}
	}
	for i := range nWorkers {
		first, last := g.pick(simFirstNames), g.pick(simLastNames)
		si := g.r.IntN(len(simSites))
		user := strings.ToLower(first[:1] + strings.ReplaceAll(last, "'", ""))
		d.workers = append(d.workers, simWorker{
			ID: g.wid(), Descriptor: first + " " + last, WorkerID: strconv.Itoa(21001 + i),
			PrimaryWorkEmail: fmt.Sprintf("%s.%d@example.com", user, i), BusinessTitle: g.pick(simTitles),
			IsManager: g.r.IntN(8) == 0, Location: siteRefs[si], PrimarySupervisoryOrg: orgs[g.r.IntN(len(orgs))],
			PrimaryWorkAddressText: simSites[si][4],
			first:                  first, last: last, userID: user, siteID: simSites[si][0], country: simSites[si][2],
			hireDate: year.AddDate(-1-g.r.IntN(15), g.r.IntN(12), 0).Format(time.DateOnly),
			active:   g.r.IntN(25) != 0,
		})
	}

	// Suppliers.
	nSup := min(max(20, records/50), 2000)
	for i := range nSup {
		c := simCountries[g.r.IntN(len(simCountries))]
		cat := simCategories[g.r.IntN(len(simCategories))]
		stem := simSupplierStems[i%len(simSupplierStems)]
		if i >= len(simSupplierStems) {
			stem += " " + strconv.Itoa(i/len(simSupplierStems)+1)
		}
		name := stem + " " + c[3]
		var tax string
		switch c[0] {
		case "US":
			tax = g.digits(2) + "-" + g.digits(7)
		case "CA":
			tax = g.digits(9) + "RT0001"
		case "CH":
			tax = "CHE-" + g.digits(3) + "." + g.digits(3) + "." + g.digits(3) + " MWST"
		case "SE":
			tax = "SE" + g.digits(10) + "01"
		case "NL":
			tax = "NL" + g.digits(9) + "B01"
		case "FR":
			tax = "FR" + g.digits(11)
		default:
			tax = c[0] + g.digits(9)
		}
		status := "Active"
		if g.r.IntN(15) == 0 {
			status = "Inactive"
		}
		dom := strings.ToLower(strings.ReplaceAll(stem, " ", "")) + ".example"
		d.suppliers = append(d.suppliers, simSupplier{
			ID: g.wid(), Descriptor: name, SupplierID: fmt.Sprintf("SUP-%06d", i+1), LegalName: name,
			SupplierCategory: simRef{g.wid(), cat[0]}, TaxID: tax, DUNSNumber: g.digits(9),
			Country:      simCountry{ID: g.wid(), Descriptor: c[1], Alpha2Code: c[0]},
			Industry:     simIndustry{ID: g.wid(), Descriptor: cat[2], NAICSCode: cat[1]},
			PrimaryEmail: "orders@" + dom, Website: "https://www." + dom,
			SupplierStatus: simRef{g.wid(), status},
			LastUpdated:    stamp(year.Add(time.Duration(g.r.Int64N(int64(365 * 24 * time.Hour))))),
			currency:       c[2],
		})
	}

	// Purchase orders, numbered in order-date order.
	itemRefs := make([]simRef, len(simItems))
	groupRefs := map[string]simRef{}
	spendRefs := map[string]simRef{}
	uomRefs := map[string]simRef{}
	for i, it := range simItems {
		itemRefs[i] = simRef{g.wid(), it.desc}
		for _, m := range []struct {
			m map[string]simRef
			k string
		}{{groupRefs, it.group}, {spendRefs, it.spend}, {uomRefs, it.unit}} {
			if _, ok := m.m[m.k]; !ok {
				m.m[m.k] = simRef{g.wid(), m.k}
			}
		}
	}
	currencyRefs := map[string]simRef{}
	for _, c := range simCountries {
		currencyRefs[c[2]] = simRef{g.wid(), c[2]}
	}
	company := simRef{g.wid(), "Global Modern Services, Inc."}
	nPO := max(1, records/3)
	lines := 0
	for i := 0; lines < records; i++ {
		sup := d.suppliers[g.r.IntN(len(d.suppliers))]
		day := time.Duration(int64(i) * int64(365*24*time.Hour) / int64(nPO))
		order := year.Add(day).Truncate(24 * time.Hour)
		if order.After(yearEnd) {
			order = yearEnd.Truncate(24 * time.Hour)
		}
		mod := order.Add(time.Duration(1+g.r.IntN(240)) * time.Hour).Add(time.Duration(g.r.IntN(3600)) * time.Second)
		if mod.After(yearEnd) {
			mod = yearEnd
		}
		status := "Issued"
		if g.r.IntN(4) == 0 {
			status = "Closed"
		}
		n := 1 + g.r.IntN(5)
		if lines+n > records {
			n = records - lines
		}
		po := simPO{ID: g.wid(), Number: fmt.Sprintf("PO-%07d", i+1), OrderDate: order.Format(time.DateOnly),
			Supplier: simRef{sup.ID, sup.Descriptor}, SupplierID: sup.SupplierID, Currency: currencyRefs[sup.currency],
			Company: company, Status: simRef{"", status}, LastUpdated: stamp(mod), modified: mod}
		po.Descriptor = po.Number
		site := siteRefs[g.r.IntN(len(siteRefs))]
		for ln := 1; ln <= n; ln++ {
			ii := g.r.IntN(len(simItems))
			it := simItems[ii]
			qty := decimal.NewFromInt(int64(it.minQty + g.r.IntN(it.maxQty-it.minQty+1)))
			price := g.cents(it.minCents, it.maxCents)
			po.Lines = append(po.Lines, simPOLine{
				ID: g.wid(), LineNumber: ln, ItemDescription: it.desc, ItemIdentifier: it.id,
				PurchaseItem: itemRefs[ii], PurchaseItemGroup: groupRefs[it.group],
				SpendCategory: spendRefs[it.spend], Quantity: simNum(qty.String()), UnitOfMeasure: uomRefs[it.unit],
				UnitCost: money2(price, sup.currency), ExtendedAmount: money2(qty.Mul(price).Round(2), sup.currency),
				ShipTo: site, Status: simRef{"", status},
			})
			d.lineRefs = append(d.lineRefs, [2]int32{int32(len(d.pos)), int32(ln - 1)})
		}
		po.Status.ID = statusWID(status)
		for j := range po.Lines {
			po.Lines[j].Status.ID = statusWID(status)
		}
		po.TotalAmount = poTotal(po)
		d.pos = append(d.pos, po)
		lines += n
	}

	// Expense reports.
	nRep := max(10, records/10)
	itemRef := map[string]simRef{}
	for _, it := range simExpenseItems {
		itemRef[it] = simRef{g.wid(), it}
	}
	for i := range nRep {
		w := d.workers[g.r.IntN(len(d.workers))]
		cur := "EUR"
		for _, s := range simSites {
			if s[0] == w.siteID {
				cur = s[3]
			}
		}
		created := year.Add(time.Duration(int64(i) * int64(360*24*time.Hour) / int64(nRep))).Truncate(24 * time.Hour)
		trip := created.AddDate(0, 0, -1-g.r.IntN(10))
		status := "Approved"
		switch g.r.IntN(10) {
		case 0:
			status = "In Progress"
		case 1:
			status = "Paid"
		}
		rep := simReport{ID: g.wid(), ReportNumber: fmt.Sprintf("EXP-%07d", i+1), CreationDate: created.Format(time.DateOnly),
			ExpenseReportStatus: simRef{statusWID(status), status}, Payee: simRef{w.ID, w.Descriptor},
			LastUpdated: stamp(created.Add(time.Duration(2+g.r.IntN(72)) * time.Hour))}
		from, to := g.pick(simAirports), g.pick(simAirports)
		for to == from {
			to = g.pick(simAirports)
		}
		rep.ExpenseReportMemo = "Customer visit " + to
		rep.Descriptor = rep.ReportNumber + ": " + rep.ExpenseReportMemo
		n := 1 + g.r.IntN(4)
		total := decimal.Zero
		for ln := 1; ln <= n; ln++ {
			item := g.pick(simExpenseItems)
			l := simExpenseLine{ID: g.wid(), LineNumber: ln, Date: trip.AddDate(0, 0, ln-1).Format(time.DateOnly),
				ExpenseItem: itemRef[item]}
			var amt decimal.Decimal
			switch item {
			case "Airfare":
				amt = g.cents(12000, 180000)
				class := g.pick(simFareClasses)
				l.Memo = from + "-" + to + " return"
				l.ItemDetails = []simDetail{{simRef{"", "Origin Airport"}, from}, {simRef{"", "Destination Airport"}, to},
					{simRef{"", "Class of Service"}, class}, {simRef{"", "Airline"}, g.pick([]string{"Lufthansa", "British Airways", "United", "Air France", "SAS"})}}
			case "Hotel":
				nights := 1 + g.r.IntN(5)
				rate := g.cents(9000, 32000)
				amt = rate.Mul(decimal.NewFromInt(int64(nights)))
				l.Quantity = simNum(strconv.Itoa(nights))
				pu := money2(rate, cur)
				l.PerUnitAmount, l.UnitOfMeasure = &pu, &simRef{"", "Nights"}
				l.Memo = "Hotel " + to
			case "Car Rental":
				days := 1 + g.r.IntN(4)
				rate := g.cents(4000, 11000)
				amt = rate.Mul(decimal.NewFromInt(int64(days)))
				l.Quantity = simNum(strconv.Itoa(days))
				pu := money2(rate, cur)
				l.PerUnitAmount, l.UnitOfMeasure = &pu, &simRef{"", "Days"}
			case "Rail":
				amt = g.cents(1900, 24000)
				a, b := g.pick(simStations), g.pick(simStations)
				l.ItemDetails = []simDetail{{simRef{"", "Origin"}, a}, {simRef{"", "Destination"}, b},
					{simRef{"", "Class of Service"}, g.pick([]string{"Second", "Second", "First"})}}
			case "Mileage":
				dist := 10 + g.r.IntN(600)
				unit, rate := "Kilometers", decimal.New(30, -2)
				if cur == "USD" {
					unit, rate = "Miles", decimal.New(70, -2)
				}
				amt = rate.Mul(decimal.NewFromInt(int64(dist)))
				l.Quantity = simNum(strconv.Itoa(dist))
				pu := money2(rate, cur)
				l.PerUnitAmount, l.UnitOfMeasure = &pu, &simRef{"", unit}
				l.Memo = "Private car to customer site"
			case "Meals":
				amt = g.cents(1200, 9500)
			default:
				amt = g.cents(1500, 8000)
			}
			l.TotalAmount = money2(amt, cur)
			total = total.Add(amt)
			rep.Lines = append(rep.Lines, l)
		}
		rep.TotalAmount = money2(total, cur)
		d.reports = append(d.reports, rep)
	}
	return d
}

// statusWID is a stable WID for a status descriptor.
func statusWID(s string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return fmt.Sprintf("%016x%016x", h, h*31)
}

// poTotal sums the non-cancelled line amounts of po.
func poTotal(po simPO) simMoney {
	total := decimal.Zero
	cur := po.Currency.Descriptor
	for _, l := range po.Lines {
		if l.Status.Descriptor == "Canceled" {
			continue
		}
		if v, err := decimal.NewFromString(string(l.ExtendedAmount.Value)); err == nil {
			total = total.Add(v)
		}
	}
	return money2(total, cur)
}
