package netsuite

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// The simulator's data set: vendors, purchase orders with item lines,
// sustainability custom records (customrecord_ghg_fuel) and the
// DeletedRecord table, generated deterministically from SimOptions.

type simVendor struct {
	ID                                                 int
	EntityID, Company, Legal, VAT, Email, URL, Country string
	Inactive                                           bool
	Modified, Created                                  time.Time
	deleted                                            bool
	bad                                                string // InjectBad field
}

type simPO struct {
	ID       int
	TranID   string
	Date     time.Time
	Vendor   int // index into vendors
	Currency string
	Status   string
	Modified time.Time
	Lines    []int // indices into lines
	deleted  bool
}

type simLine struct {
	UK        int64
	PO        int // index into pos
	Seq       int
	Item      int // index into simItems
	Memo      string
	Qty, Rate decimal.Decimal
	Dept, Loc string
	Closed    bool
	bad       string
}

type simCustom struct {
	ID                  int
	Name                string
	Date                time.Time
	Account             int // index into simAccounts
	Qty, Amount         decimal.Decimal
	Currency, Loc, Dept string
	Created, Modified   time.Time
	Inactive, deleted   bool
	bad                 string
}

type simDeleted struct {
	Type string
	ID   string
	When time.Time
}

// simItem is an item of the simulated item master.
type simItem struct {
	ID                 int
	Name, Class, Units string
	Memo               string
	MinPrice, MaxPrice int64 // cents
	MinQty, MaxQty     int64
}

var simItems = []simItem{
	{201, "DIESEL-B7", "Fuels", "L", "Diesel B7 for fleet depot", 120, 190, 500, 20000},
	{202, "NATGAS-HCV", "Fuels", "m3", "Natural gas delivery", 40, 90, 1000, 50000},
	{203, "ELEC-GRID", "Utilities", "kWh", "Grid electricity, monthly", 12, 35, 5000, 400000},
	{204, "STEEL-S235-2MM", "Raw materials - Metals", "kg", "Steel sheet S235 2 mm", 90, 160, 200, 25000},
	{205, "ALU-6061-BAR", "Raw materials - Metals", "kg", "Aluminium bar 6061", 250, 420, 100, 8000},
	{206, "PP-GRANULATE", "Raw materials - Plastics", "kg", "Polypropylene granulate", 110, 180, 500, 20000},
	{207, "CARTON-600x400", "Packaging", "ea", "Corrugated carton 600x400", 60, 140, 500, 20000},
	{208, "PALLET-EUR", "Packaging", "ea", "EUR pallet, heat treated", 900, 1600, 20, 800},
	{209, "PAPER-A4-80G", "Office supplies", "ream", "Office paper A4 80 g", 350, 650, 10, 400},
	{210, "LAPTOP-14", "IT hardware", "ea", "Laptop 14 inch, 16 GB", 85000, 160000, 1, 40},
	{211, "MONITOR-27", "IT hardware", "ea", "Monitor 27 inch", 18000, 42000, 1, 60},
	{212, "FREIGHT-ROAD", "Logistics services", "t-km", "Road freight, full truck load", 8, 20, 1000, 90000},
	{213, "FREIGHT-SEA", "Logistics services", "t-km", "Sea freight, container", 1, 4, 10000, 900000},
	{214, "CLEAN-SVC", "Facility services", "h", "Office cleaning service", 2500, 4500, 10, 300},
	{215, "SOLVENT-IPA", "Chemicals", "L", "Isopropyl alcohol 99%", 300, 700, 20, 2000},
	{216, "CEMENT-CEMII", "Construction materials", "t", "Cement CEM II/A", 9000, 15000, 5, 300},
}

// simAccount is a GL account the custom records book to.
type simAccount struct {
	Number, Name, Unit string
	MinQty, MaxQty     int64
	MinPrice, MaxPrice int64 // cents per unit
}

var simAccounts = []simAccount{
	{"6110", "Fuel - Diesel", "L", 200, 20000, 120, 190},
	{"6115", "Fuel - Gasoline", "L", 100, 8000, 140, 210},
	{"6120", "Fuel - Natural gas", "m3", 1000, 60000, 40, 90},
	{"6130", "Electricity", "kWh", 5000, 500000, 12, 35},
	{"6140", "District heating", "kWh", 2000, 200000, 8, 20},
	{"6150", "Refrigerant top-up", "kg", 1, 40, 4000, 9000},
}

type simCountry struct {
	Code, Currency, VATPrefix, City string
	Names, Suffixes                 []string
}

var simCountries = []simCountry{
	{"US", "USD", "", "Chicago", []string{"Acme", "Great Lakes", "Prairie", "Summit", "Liberty", "Keystone"}, []string{"Inc.", "LLC", "Corp."}},
	{"DE", "EUR", "DE", "Munich", []string{"Müller", "Schmidt", "Rheinland", "Nordstahl", "Bayern"}, []string{"GmbH", "AG", "GmbH & Co. KG"}},
	{"FR", "EUR", "FR", "Lyon", []string{"Dupont", "Lumière", "Rhône", "Atlantique"}, []string{"SA", "SARL", "SAS"}},
	{"NL", "EUR", "NL", "Rotterdam", []string{"Van Dijk", "Maasvlakte", "Holland", "Delta"}, []string{"B.V.", "N.V."}},
	{"GB", "GBP", "GB", "Leeds", []string{"Pennine", "Thames", "Albion", "Yorkshire"}, []string{"Ltd", "plc"}},
	{"CA", "CAD", "", "Toronto", []string{"Maple", "Laurentian", "Northern"}, []string{"Inc.", "Ltd."}},
	{"CH", "CHF", "CHE-", "Basel", []string{"Alpen", "Helvetia", "Jura"}, []string{"AG", "SA"}},
	{"SE", "SEK", "SE", "Gothenburg", []string{"Nordic", "Göta", "Vänern"}, []string{"AB"}},
	{"JP", "JPY", "", "Osaka", []string{"Kansai", "Fuji", "Sakura"}, []string{"K.K.", "Co., Ltd."}},
}

var simTrades = []string{"Steel", "Logistics", "Energy", "Packaging", "Chemicals", "Office Supply", "Plastics", "Facility Services", "IT Solutions", "Building Materials"}

var simDepartments = []string{"Operations", "Logistics", "Facilities", "IT", "Manufacturing", "Procurement"}

var simLocations = []string{"Chicago Plant", "Rotterdam DC", "Leeds Warehouse", "Munich Office", "Lyon Plant", "Toronto DC"}

// simFX is the rate to USD, the simulated base currency.
var simFX = map[string]string{"USD": "1", "EUR": "1.08", "GBP": "1.27", "CAD": "0.74", "CHF": "1.12", "SEK": "0.095", "JPY": "0.0066"}

// simCurrencyDecimals are the minor units of the simulated currencies.
var simCurrencyDecimals = map[string]int32{"JPY": 0}

const customFuelType = "customrecord_ghg_fuel"

// generate builds the data set.
func (s *Simulator) generate(records int, now time.Time) {
	r := s.rng
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clamp := func(t time.Time) time.Time {
		if t.After(now) {
			return now
		}
		return t
	}
	randIn := func(lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) }
	moment := func(base time.Time, maxDays int) time.Time {
		return clamp(base.Add(time.Duration(r.Int64N(int64(maxDays)*86400)) * time.Second))
	}

	nv := max(20, records/50)
	s.vendors = make([]simVendor, nv)
	id := 1000
	for i := range s.vendors {
		id += 1 + r.IntN(5)
		c := simCountries[r.IntN(len(simCountries))]
		name := fmt.Sprintf("%s %s %s", c.Names[r.IntN(len(c.Names))], simTrades[r.IntN(len(simTrades))], c.Suffixes[r.IntN(len(c.Suffixes))])
		v := simVendor{ID: id, EntityID: fmt.Sprintf("V%05d %s", id, name), Company: name, Legal: name, Country: c.Code,
			Email:   fmt.Sprintf("ap%d@vendor%d.example.com", id, id),
			URL:     fmt.Sprintf("https://vendor%d.example.com", id),
			Created: moment(year.AddDate(-3, 0, 0), 3*365), Inactive: r.IntN(25) == 0}
		if c.VATPrefix != "" {
			v.VAT = fmt.Sprintf("%s%09d", c.VATPrefix, r.IntN(1_000_000_000))
		}
		v.Modified = clamp(moment(year, 364))
		s.vendors[i] = v
	}

	s.lines = make([]simLine, 0, records)
	uk := int64(5000)
	poID := 20000
	for n := 0; len(s.lines) < records; n++ {
		poID += 1 + r.IntN(4)
		v := r.IntN(nv)
		cur := currencyOfCountry(s.vendors[v].Country)
		date := year.AddDate(0, 0, r.IntN(365))
		po := simPO{ID: poID, TranID: fmt.Sprintf("PO%06d", n+1), Date: date, Vendor: v, Currency: cur,
			Status: []string{"B", "B", "D", "E", "F", "G", "G", "G"}[r.IntN(8)], Modified: moment(date, 40)}
		nl := min(1+r.IntN(8), records-len(s.lines))
		for seq := 1; seq <= nl; seq++ {
			uk += 1 + r.Int64N(3)
			it := r.IntN(len(simItems))
			item := simItems[it]
			l := simLine{UK: uk, PO: len(s.pos), Seq: seq, Item: it, Memo: item.Memo,
				Qty:  decimal.NewFromInt(randIn(item.MinQty, item.MaxQty)),
				Rate: decimal.New(randIn(item.MinPrice, item.MaxPrice), -2),
				Dept: simDepartments[r.IntN(len(simDepartments))], Loc: simLocations[r.IntN(len(simLocations))]}
			if cur == "JPY" {
				l.Rate = l.Rate.Mul(decimal.NewFromInt(150)).Round(0)
			}
			po.Lines = append(po.Lines, len(s.lines))
			s.lines = append(s.lines, l)
		}
		s.pos = append(s.pos, po)
	}

	nc := max(30, records/20)
	s.custom = make([]simCustom, nc)
	cid := 100
	for i := range s.custom {
		cid += 1 + r.IntN(3)
		a := r.IntN(len(simAccounts))
		acc := simAccounts[a]
		loc := r.IntN(len(simLocations))
		cur := []string{"USD", "EUR", "GBP", "EUR", "CAD", "USD"}[loc]
		qty := decimal.New(randIn(acc.MinQty*10, acc.MaxQty*10), -1)
		date := year.AddDate(0, r.IntN(12), 0).AddDate(0, 1, -1) // month end
		c := simCustom{ID: cid, Account: a, Qty: qty, Currency: cur,
			Amount: qty.Mul(decimal.New(randIn(acc.MinPrice, acc.MaxPrice), -2)).Round(2),
			Loc:    simLocations[loc], Dept: simDepartments[r.IntN(len(simDepartments))],
			Date: date, Created: clamp(date.Add(36 * time.Hour))}
		c.Name = fmt.Sprintf("%s %s %s", acc.Name, c.Loc, date.Format("2006-01"))
		c.Modified = moment(c.Created, 10)
		s.custom[i] = c
	}
}

func currencyOfCountry(code string) string {
	for _, c := range simCountries {
		if c.Code == code {
			return c.Currency
		}
	}
	return "USD"
}

// amounts returns a line's foreignamount (transaction currency) and
// netamount (base currency, USD), both negative as NetSuite stores
// purchase lines.
func (l *simLine) amounts(currency string) (foreign, net decimal.Decimal) {
	places := int32(2)
	if p, ok := simCurrencyDecimals[currency]; ok {
		places = p
	}
	foreign = l.Qty.Mul(l.Rate).Round(places).Neg()
	fx := decimal.RequireFromString(simFX[currency])
	return foreign, foreign.Mul(fx).Round(2)
}
