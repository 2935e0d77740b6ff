// Package demo loads a realistic demonstration organization (docs/demo.md)
// into a store, so a newcomer sees a full dashboard on the first run: a
// manufacturer with sites in five countries, twelve months of fuel,
// electricity, fleet, travel, freight, waste and purchase data calculated
// by the GHG engine with the built-in factors, suppliers with products and
// purchase orders, energy-meter devices, and users of three roles.
//
// The data is generated from a fixed seed: the same month of two loads is
// the same. Quantities follow each site's size and the season (heating in
// winter, cooling in summer) with some noise.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/store"
)

// Slug is the demo organization's slug, what the login form asks for.
const Slug = "demo"

// Users of the demo organization.
const (
	AdminEmail   = "admin@demo.greenlang.example"
	AnalystEmail = "analyst@demo.greenlang.example"
	AuditorEmail = "auditor@demo.greenlang.example"
)

// Options of Load.
type Options struct {
	// Password is the demo users' password; empty generates one.
	Password string
	// Now is the end of the year of data (its month is the last); zero is
	// the current time.
	Now time.Time
	// Hashing is the cost of the password hashes; zero is password.Default.
	Hashing password.Params
}

// Loaded says what Load made.
type Loaded struct {
	OrgID      uuid.UUID
	Password   string
	Users      []string
	Activities int64
	Emissions  int64
	Refused    int
	CO2eKg     decimal.Decimal
}

// ErrLoaded is returned when the store already has the demo organization.
var ErrLoaded = fmt.Errorf("demo: the store already has the organization %q", Slug)

type site struct {
	code, name, kind, country, region string
	size                              float64 // relative to the Berlin plant
	gasSCF                            float64 // monthly natural gas at size 1, winter peak
}

var sites = []site{
	{"BER", "Berlin plant", "plant", "DE", "DE", 1.0, 900_000},
	{"WAW", "Warsaw plant", "plant", "PL", "PL", 0.8, 700_000},
	{"LYS", "Lyon distribution centre", "warehouse", "FR", "FR", 0.4, 150_000},
	{"MAN", "Manchester warehouse", "warehouse", "GB", "UK", 0.3, 0},
	{"SFO", "San Francisco office", "office", "US", "US-CAMX", 0.15, 60_000},
}

type supplier struct {
	name, country, naics, taxID string
}

var suppliers = []supplier{
	{"Stahlwerk Brandenburg GmbH", "DE", "331110", "DE811234567"},
	{"Polimer Chemia S.A.", "PL", "325211", "PL5260001234"},
	{"Aluminium Rhône SAS", "FR", "331313", "FR40123456789"},
	{"Pacific Logic Software Inc.", "US", "541511", "94-1234567"},
	{"Northern Packaging Ltd", "GB", "322211", "GB123456789"},
	{"Electro Komponenten AG", "DE", "334413", "DE298765432"},
}

// Load creates the demo organization in st. It refuses (ErrLoaded) when
// the slug is taken.
func Load(ctx context.Context, st *store.Store, o Options) (Loaded, error) {
	var out Loaded
	if _, err := st.OrganizationIDBySlug(ctx, Slug); err == nil {
		return out, ErrLoaded
	} else if store.CodeOf(err) != store.CodeNotFound {
		return out, err
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	if o.Password == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		o.Password = base64.RawURLEncoding.EncodeToString(b)
	}
	if o.Hashing == (password.Params{}) {
		o.Hashing = password.Default
	}
	hash, err := password.Hash(o.Password, o.Hashing)
	if err != nil {
		return out, fmt.Errorf("demo: --password: %w", err)
	}
	ctx = store.WithActor(ctx, store.Actor{Type: "system", ID: "demo"})
	org := &store.Organization{ID: uuid.Must(uuid.NewV7()), Name: "Nordwind Components", Slug: Slug, Country: "DE",
		IndustryNAICS: "332710", ReportingCurrency: "EUR", FiscalYearStartMonth: 1,
		Settings: store.JSON(`{"annual_revenue": "480000000", "employees": "2300"}`)}
	if err := st.OrganizationCreate(ctx, org); err != nil {
		return out, err
	}
	out.OrgID, out.Password = org.ID, o.Password
	for _, u := range []struct{ email, name, role string }{
		{AdminEmail, "Demo Admin", store.RoleAdmin}, {AnalystEmail, "Ana Lyst", store.RoleAnalyst}, {AuditorEmail, "Otto Prüfer", store.RoleAuditor},
	} {
		if err := st.Users().Create(ctx, org.ID, &store.User{Email: u.email, DisplayName: u.name, Role: u.role, PasswordHash: hash}); err != nil {
			return out, err
		}
		out.Users = append(out.Users, u.email+" ("+u.role+")")
	}
	siteIDs := map[string]uuid.UUID{}
	for _, s := range sites {
		rec := &store.Site{Code: s.code, Name: s.name, SiteType: s.kind, Country: s.country, Region: s.region, Active: true,
			FloorAreaM2: decimal.NewNullDecimal(decimal.NewFromFloat(s.size * 42_000).Round(0))}
		if err := st.Sites().Create(ctx, org.ID, rec); err != nil {
			return out, err
		}
		siteIDs[s.code] = rec.ID
		dev := &store.Device{DeviceType: "energy_meter", Serial: "EM-" + s.code + "-01", Name: s.name + " main meter",
			SiteID: &rec.ID, Status: "active", FirmwareVersion: "2.4.1"}
		if err := st.Devices().Create(ctx, org.ID, dev); err != nil {
			return out, err
		}
	}
	if err := loadSupplyChain(ctx, st, org.ID, now); err != nil {
		return out, err
	}
	csv := activityFile(now)
	rep, stored, err := calculation.IngestForOrganization(ctx, st, nil, org.ID, bytes.NewReader(csv), calculation.Options{GWPSet: ghg.AR6}, now)
	if err != nil {
		return out, fmt.Errorf("demo: storing the activity data: %w", err)
	}
	out.Activities, out.Emissions, out.Refused, out.CO2eKg = stored.Activities, stored.Emissions, len(rep.Errors), rep.Total.CO2eKg
	if len(rep.Errors) > 0 {
		return out, fmt.Errorf("demo: %d generated rows refused, first: %s", len(rep.Errors), rep.Errors[0].Error())
	}
	return out, nil
}

// months lists the first day of the twelve months ending with now's.
func months(now time.Time) []time.Time {
	last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]time.Time, 12)
	for i := range out {
		out[i] = last.AddDate(0, i-11, 0)
	}
	return out
}

// season is 1 in the coldest month (January) and 0 in the warmest (July).
func season(m time.Month) float64 {
	return 0.5 + 0.5*math.Cos(2*math.Pi*float64(m-1)/12)
}

// activityFile generates the year's activity rows as an activity file.
func activityFile(now time.Time) []byte {
	rng := mrand.New(mrand.NewPCG(2026, 11))
	noise := func(v float64) string {
		return decimal.NewFromFloat(v * (0.92 + 0.16*rng.Float64())).Round(0).String()
	}
	var b strings.Builder
	b.WriteString("id,activity_type,quantity,unit,period_start,period_end,region,site,data_quality,uncertainty_pct,scope,category,method,price_year\n")
	row := func(id, typ, qty, unit string, start, end time.Time, region, site string, dq, unc, scope, cat int, method, priceYear string) {
		endS := ""
		if !end.IsZero() {
			endS = end.Format(time.DateOnly)
		}
		catS := ""
		if cat > 0 {
			catS = fmt.Sprint(cat)
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%d,%s,%s,%s\n", id, typ, qty, unit, start.Format(time.DateOnly), endS,
			region, site, dq, unc, scope, catS, method, priceYear)
	}
	for _, m := range months(now) {
		end := m.AddDate(0, 1, -1)
		ym := m.Format("2006-01")
		cold := season(m.Month())
		for _, s := range sites {
			if s.gasSCF > 0 {
				row("gas-"+s.code+"-"+ym, "natural_gas", noise(s.gasSCF*s.size*(0.35+0.65*cold)), "scf", m, end, "US", s.code, 2, 5, 1, 0, ghg.MethodStationaryCombustion, "")
			}
			kwh := 1_100_000 * s.size * (0.85 + 0.3*(1-cold))
			if s.code == "MAN" {
				row("elec-"+s.code+"-"+ym, "desnz:uk_electricity/electricity_generated/electricity_uk/kwh", noise(kwh), "kWh", m, end, "UK", s.code, 1, 2, 2, 0, "", "")
			} else {
				row("elec-"+s.code+"-"+ym, "electricity", noise(kwh), "kWh", m, end, s.region, s.code, 1, 2, 2, 0, "", "")
			}
		}
		// The UK delivery fleet's diesel, the US backup generators' fuel oil.
		row("fleet-MAN-"+ym, "desnz:fuels/liquid_fuels/diesel_average_biofuel_blend", noise(14_000), "l", m, end, "UK", "MAN", 2, 5, 1, 0, ghg.MethodMobileFuel, "")
		row("gen-SFO-"+ym, "distillate_fuel_oil_no_2", noise(120), "US gal", m, end, "US", "SFO", 2, 5, 1, 0, ghg.MethodStationaryCombustion, "")
		// Business travel.
		mid := m.AddDate(0, 0, 14)
		row("air-long-"+ym, "desnz:business_travel_air/flights/long_haul_to_from_uk/economy_class/without_rf", noise(60_000), "passenger-km", mid, time.Time{}, "UK", "", 3, 10, 3, 6, ghg.MethodAirTravel, "")
		row("air-short-"+ym, "desnz:business_travel_air/flights/short_haul_to_from_uk/economy_class/without_rf", noise(35_000), "passenger-km", mid, time.Time{}, "UK", "", 3, 10, 3, 6, ghg.MethodAirTravel, "")
		row("rail-"+ym, "desnz:business_travel_land/rail/national_rail", noise(18_000), "passenger-km", mid, time.Time{}, "UK", "", 3, 10, 3, 6, "", "")
		row("hotel-"+ym, "desnz:hotel_stay/hotel_stay/uk", noise(220), "room-night", mid, time.Time{}, "UK", "", 3, 10, 3, 6, "", "")
		row("car-"+ym, "desnz:business_travel_land/cars_by_size/average_car/diesel", noise(40_000), "vehicle-km", mid, time.Time{}, "UK", "", 3, 15, 3, 6, "", "")
		// Inbound freight and waste.
		row("hgv-"+ym, "desnz:freighting_goods/hgv_all_diesel/all_hgvs/average_laden", noise(900_000), "tonne-km", mid, time.Time{}, "UK", "", 3, 15, 3, 4, ghg.MethodFreight, "")
		row("waste-"+ym, "desnz:waste_disposal/refuse/commercial_and_industrial_waste/landfill", noise(35), "tonne", mid, time.Time{}, "UK", "", 3, 20, 3, 5, ghg.MethodWaste, "")
		// Purchased goods and services, spend-based (USEEIO, in 2021 US dollars).
		for i, sp := range suppliers {
			cat := 1
			if sp.naics == "541511" {
				cat = 2
			}
			spend := []float64{1_400_000, 650_000, 900_000, 120_000, 180_000, 450_000}[i]
			row(fmt.Sprintf("spend-%d-%s", i, ym), "naics:"+sp.naics, noise(spend), "USD", mid, time.Time{}, "US", "", 4, 50, 3, cat, ghg.MethodSpendBased, "2021")
		}
	}
	return []byte(b.String())
}

// loadSupplyChain creates the suppliers, a product each and a purchase
// order per supplier and quarter.
func loadSupplyChain(ctx context.Context, st *store.Store, org uuid.UUID, now time.Time) error {
	ms := months(now)
	for i, sp := range suppliers {
		s := &store.Supplier{Name: sp.name, LegalName: sp.name, TaxID: sp.taxID, Country: sp.country, NAICS: sp.naics, Active: true,
			RiskScore: decimal.NewNullDecimal(decimal.NewFromInt(int64(25 + 9*i)))}
		if err := st.Suppliers().Create(ctx, org, s); err != nil {
			return err
		}
		p := &store.Product{SupplierID: &s.ID, SKU: fmt.Sprintf("SKU-%03d", i+1), Name: strings.Fields(sp.name)[0] + " stock", Unit: "kg"}
		if err := st.Products().Create(ctx, org, p); err != nil {
			return err
		}
		for q := 0; q < 4; q++ {
			date := ms[q*3].AddDate(0, 0, 4)
			price := decimal.NewFromFloat(1.5 + float64(i)*0.7)
			qty := decimal.NewFromInt(int64(20_000 + 5_000*q))
			po := &store.PurchaseOrder{SupplierID: &s.ID, PONumber: fmt.Sprintf("PO-%d-%02d%d", date.Year(), i+1, q+1), OrderDate: date,
				Currency: "EUR", TotalAmount: price.Mul(qty), Status: "closed", SourceSystem: "demo", ExternalID: fmt.Sprintf("D%02d%d", i+1, q+1)}
			if err := st.PurchaseOrders().Create(ctx, org, po); err != nil {
				return err
			}
			line := &store.PurchaseOrderLine{POID: po.ID, OrderDate: date, LineNo: 10, ProductID: &p.ID, Description: p.Name,
				Quantity: qty, Unit: "kg", UnitPrice: price, Amount: price.Mul(qty), NAICS: sp.naics, SpendCategory: "direct materials"}
			if err := st.PurchaseOrderLines().Create(ctx, org, line); err != nil {
				return err
			}
		}
	}
	return nil
}
