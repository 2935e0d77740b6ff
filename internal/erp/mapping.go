package erp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/store"
)

// Mapping is an organization's configuration for turning ERP records into
// activity data (docs/erp.md, "Mapping"). It is stored versioned; each
// posting names the version it used.
type Mapping struct {
	// PurchaseOrders maps purchase-order lines.
	PurchaseOrders POMapping `json:"purchase_orders" yaml:"purchase_orders"`
	// GLAccounts maps general-ledger lines by account: an exact account
	// number, or a prefix ending in "*" ("61*"); the longest match wins.
	GLAccounts map[string]Rule `json:"gl_accounts,omitempty" yaml:"gl_accounts"`
	// ExpenseTypes maps expense lines by the source's expense type
	// (case-insensitive).
	ExpenseTypes map[string]Rule `json:"expense_types,omitempty" yaml:"expense_types"`
	// Units translates the ERP's unit codes into GreenLang units
	// ("LTR": "L", "KWH": "kWh", "TO": "tonne"). Codes not listed are used
	// as they are, and refused by the engine when it does not know them.
	Units map[string]string `json:"units,omitempty" yaml:"units"`
	// Sites translates the ERP's plant or location codes into the
	// organization's site codes. Codes not listed are attributed to no site.
	Sites map[string]string `json:"sites,omitempty" yaml:"sites"`
	// ExchangeRates and PriceIndex convert spend to a spend-based factor's
	// currency and price year (as `greenlang calc --fx --price-index`).
	ExchangeRates []ExchangeRate `json:"exchange_rates,omitempty" yaml:"exchange_rates"`
	PriceIndex    *PriceIndex    `json:"price_index,omitempty" yaml:"price_index"`
}

// POMapping maps purchase-order lines: by material group first, then by
// spend category, then spend-based by the line's NAICS code, then by
// DefaultNAICS; a line none of these reaches is unmapped.
type POMapping struct {
	MaterialGroups  map[string]Rule `json:"material_groups,omitempty" yaml:"material_groups"`
	SpendCategories map[string]Rule `json:"spend_categories,omitempty" yaml:"spend_categories"`
	// SpendBasedByNAICS maps a line carrying a NAICS code as spend-based
	// scope 3 category 1 (USEEIO naics:<code>).
	SpendBasedByNAICS bool `json:"spend_based_by_naics,omitempty" yaml:"spend_based_by_naics"`
	// DefaultNAICS, when set, maps every other line spend-based with it.
	DefaultNAICS string `json:"default_naics,omitempty" yaml:"default_naics"`
	// Category is the scope 3 category of spend-based lines: 1 (purchased
	// goods and services, the default) or 2 (capital goods).
	Category int `json:"category,omitempty" yaml:"category"`
	// Region is the region of spend-based factors; default US, the region
	// of USEEIO, the NAICS-based publication.
	Region string `json:"region,omitempty" yaml:"region"`
}

// Rule says which activity a record becomes.
type Rule struct {
	// ActivityType is the engine's activity type: "diesel",
	// "naics:331110", "desnz:business_travel_air/…".
	ActivityType string `json:"activity_type" yaml:"activity_type"`
	// Basis is what the activity's quantity is: "quantity" (the record's
	// quantity and unit) or "amount" (its money amount, spend-based).
	// Default: quantity when the record has one, else amount.
	Basis string `json:"basis,omitempty" yaml:"basis"`
	// Unit overrides the record's unit (for quantity basis).
	Unit        string `json:"unit,omitempty" yaml:"unit"`
	Scope       int    `json:"scope,omitempty" yaml:"scope"`
	Category    int    `json:"category,omitempty" yaml:"category"`
	Method      string `json:"method,omitempty" yaml:"method"`
	Region      string `json:"region,omitempty" yaml:"region"`
	DataQuality int    `json:"data_quality,omitempty" yaml:"data_quality"`
}

// ExchangeRate is one annual average rate: one unit of From bought Rate
// units of To in Year.
type ExchangeRate struct {
	Year int             `json:"year" yaml:"year"`
	From string          `json:"from" yaml:"from"`
	To   string          `json:"to" yaml:"to"`
	Rate decimal.Decimal `json:"rate" yaml:"rate"`
}

// PriceIndex is a price index by year in one currency.
type PriceIndex struct {
	Currency string                  `json:"currency" yaml:"currency"`
	Name     string                  `json:"name" yaml:"name"`
	ByYear   map[int]decimal.Decimal `json:"by_year" yaml:"by_year"`
}

// ParseMapping reads a mapping file, YAML or JSON, refusing unknown keys
// and checking every rule; errors name the rule.
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	if err := decodeStrict(b, &m); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

var naicsCode = regexp.MustCompile(`^[0-9]{2,6}$`)

// Validate checks every rule, naming the first bad one.
func (m *Mapping) Validate() error {
	check := func(where string, r Rule) error {
		switch {
		case strings.TrimSpace(r.ActivityType) == "":
			return fmt.Errorf("mapping: %s: activity_type is required", where)
		case r.Basis != "" && r.Basis != "quantity" && r.Basis != "amount":
			return fmt.Errorf("mapping: %s: basis %q is not quantity or amount", where, r.Basis)
		case r.Scope < 0 || r.Scope > 3:
			return fmt.Errorf("mapping: %s: scope %d is not 1-3", where, r.Scope)
		case r.Category != 0 && (r.Scope != 3 || r.Category < 1 || r.Category > 15):
			return fmt.Errorf("mapping: %s: category %d needs scope 3 and 1-15", where, r.Category)
		case r.DataQuality < 0 || r.DataQuality > 5:
			return fmt.Errorf("mapping: %s: data_quality %d is not 1-5", where, r.DataQuality)
		}
		return nil
	}
	for _, g := range sortedKeys(m.PurchaseOrders.MaterialGroups) {
		if err := check("purchase_orders.material_groups."+g, m.PurchaseOrders.MaterialGroups[g]); err != nil {
			return err
		}
	}
	for _, g := range sortedKeys(m.PurchaseOrders.SpendCategories) {
		if err := check("purchase_orders.spend_categories."+g, m.PurchaseOrders.SpendCategories[g]); err != nil {
			return err
		}
	}
	if c := m.PurchaseOrders.DefaultNAICS; c != "" && !naicsCode.MatchString(c) {
		return fmt.Errorf("mapping: purchase_orders.default_naics %q is not a NAICS code", c)
	}
	if c := m.PurchaseOrders.Category; c != 0 && c != 1 && c != 2 {
		return fmt.Errorf("mapping: purchase_orders.category %d is not 1 or 2", c)
	}
	for _, a := range sortedKeys(m.GLAccounts) {
		if strings.Contains(strings.TrimSuffix(a, "*"), "*") || a == "" {
			return fmt.Errorf("mapping: gl_accounts: %q is not an account or a prefix ending in *", a)
		}
		if err := check("gl_accounts."+a, m.GLAccounts[a]); err != nil {
			return err
		}
	}
	for _, t := range sortedKeys(m.ExpenseTypes) {
		if err := check("expense_types."+t, m.ExpenseTypes[t]); err != nil {
			return err
		}
	}
	for i, x := range m.ExchangeRates {
		if x.Year < 1900 || len(x.From) != 3 || len(x.To) != 3 || !x.Rate.IsPositive() {
			return fmt.Errorf("mapping: exchange_rates[%d]: needs a year, ISO 4217 from and to, and a positive rate", i)
		}
	}
	if p := m.PriceIndex; p != nil && (len(p.Currency) != 3 || len(p.ByYear) == 0) {
		return errors.New("mapping: price_index needs a currency and values by year")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Economics returns the mapping's exchange rates and price index for the
// engine (nil when it has none).
func (m *Mapping) Economics() (*ghg.ExchangeRates, *ghg.PriceIndex, error) {
	var fx *ghg.ExchangeRates
	if len(m.ExchangeRates) > 0 {
		fx = ghg.NewExchangeRates()
		for _, x := range m.ExchangeRates {
			if err := fx.Set(x.Year, x.From, x.To, x.Rate); err != nil {
				return nil, nil, fmt.Errorf("mapping: %w", err)
			}
		}
	}
	var idx *ghg.PriceIndex
	if m.PriceIndex != nil {
		idx = &ghg.PriceIndex{Currency: m.PriceIndex.Currency, Name: m.PriceIndex.Name, ByYear: m.PriceIndex.ByYear}
	}
	return fx, idx, nil
}

// Activity is one activity row a record becomes, in the activity file's
// terms (docs/activity-file.md).
type Activity struct {
	ActivityType string          `json:"activity_type"`
	Quantity     decimal.Decimal `json:"quantity"`
	Unit         string          `json:"unit"`
	PeriodStart  time.Time       `json:"period_start"`
	Region       string          `json:"region,omitempty"`
	Site         string          `json:"site,omitempty"`
	Scope        int             `json:"scope,omitempty"`
	Category     int             `json:"category,omitempty"`
	Method       string          `json:"method,omitempty"`
	DataQuality  int             `json:"data_quality,omitempty"`
	PriceYear    int             `json:"price_year,omitempty"`
	Correction   bool            `json:"correction,omitempty"`
}

// Row returns the activity as a row of the activity file with id, in the
// column order of ActivityColumns.
func (a Activity) Row(id string) []string {
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	corr := ""
	if a.Correction {
		corr = "true"
	}
	return []string{id, a.ActivityType, a.Quantity.String(), a.Unit, a.PeriodStart.Format(time.DateOnly), a.Region, a.Site,
		itoa(a.Scope), itoa(a.Category), a.Method, itoa(a.DataQuality), itoa(a.PriceYear), corr}
}

// ActivityColumns is the header of the rows Activity.Row writes.
func ActivityColumns() []string {
	return []string{"id", "activity_type", "quantity", "unit", "period_start", "region", "site", "scope", "category", "method",
		"data_quality", "price_year", "correction"}
}

// Reversed returns the activity that cancels a: the same with its quantity
// negated, marked a correction.
func (a Activity) Reversed() Activity {
	a.Quantity = a.Quantity.Neg()
	a.Correction = true
	return a
}

// Unmapped is the error of a record no rule of the mapping reaches.
type Unmapped struct{ Reason string }

func (e *Unmapped) Error() string { return e.Reason }

// Map returns the activity r becomes under m. It returns (nil, nil) for a
// kind that is not activity data (supplier, material, worker) and an
// *Unmapped error when no rule applies; any other error is a record the
// rule cannot use (no quantity for a quantity rule, …).
func (m *Mapping) Map(r *Record) (*Activity, error) {
	switch r.Kind {
	case KindPOLine:
		return m.mapPO(r.POLine)
	case KindGLEntry:
		return m.mapGL(r.GLEntry)
	case KindExpenseLine:
		return m.mapExpense(r.Expense)
	}
	return nil, nil
}

func (m *Mapping) mapPO(l *POLine) (*Activity, error) {
	po := m.PurchaseOrders
	cat := po.Category
	if cat == 0 {
		cat = 1
	}
	region := po.Region
	if region == "" {
		region = "US"
	}
	spend := func(code string) Rule {
		return Rule{ActivityType: "naics:" + code, Basis: "amount", Scope: 3, Category: cat, Method: "spend_based", Region: region, DataQuality: 4}
	}
	var rule Rule
	switch {
	case l.MaterialGroup != "" && hasRule(po.MaterialGroups, l.MaterialGroup):
		rule = po.MaterialGroups[l.MaterialGroup]
	case l.SpendCategory != "" && hasRule(po.SpendCategories, l.SpendCategory):
		rule = po.SpendCategories[l.SpendCategory]
	case po.SpendBasedByNAICS && naicsCode.MatchString(l.NAICS):
		rule = spend(l.NAICS)
	case po.DefaultNAICS != "":
		rule = spend(po.DefaultNAICS)
	default:
		return nil, &Unmapped{Reason: fmt.Sprintf("purchase order line %s/%s: no rule for material group %q or spend category %q, and no NAICS code",
			l.PONumber, l.Line, l.MaterialGroup, l.SpendCategory)}
	}
	qty := decimal.NullDecimal{Decimal: l.Quantity, Valid: l.Unit != ""}
	return m.apply(rule, qty, l.Unit, l.Amount, l.Currency, l.OrderDate, l.Site, fmt.Sprintf("purchase order line %s/%s", l.PONumber, l.Line))
}

func hasRule(m map[string]Rule, k string) bool {
	_, ok := m[k]
	return ok
}

func (m *Mapping) mapGL(g *GLEntry) (*Activity, error) {
	rule, ok := m.glRule(g.Account)
	if !ok {
		return nil, &Unmapped{Reason: fmt.Sprintf("GL account %s is not mapped (gl_accounts)", g.Account)}
	}
	return m.apply(rule, g.Quantity, g.Unit, g.Amount, g.Currency, g.PostingDate, g.Site, fmt.Sprintf("GL entry %s/%s", g.DocumentID, g.Line))
}

// glRule finds the rule of an account: exact, else the longest prefix.
func (m *Mapping) glRule(account string) (Rule, bool) {
	if r, ok := m.GLAccounts[account]; ok {
		return r, true
	}
	best, found := "", false
	for k := range m.GLAccounts {
		p, ok := strings.CutSuffix(k, "*")
		if ok && strings.HasPrefix(account, p) && (len(p) > len(best) || !found) {
			best, found = p, true
		}
	}
	if !found {
		return Rule{}, false
	}
	return m.GLAccounts[best+"*"], true
}

func (m *Mapping) mapExpense(e *ExpenseLine) (*Activity, error) {
	var rule Rule
	found := false
	for _, k := range sortedKeys(m.ExpenseTypes) {
		if strings.EqualFold(k, e.ExpenseType) {
			rule, found = m.ExpenseTypes[k], true
			break
		}
	}
	if !found {
		return nil, &Unmapped{Reason: fmt.Sprintf("expense type %q is not mapped (expense_types)", e.ExpenseType)}
	}
	return m.apply(rule, e.Quantity, e.Unit, e.Amount, e.Currency, e.Date, "", fmt.Sprintf("expense line %s/%s", e.ReportID, e.Line))
}

// apply builds the activity of a rule from a record's quantity or amount.
func (m *Mapping) apply(rule Rule, qty decimal.NullDecimal, unit string, amount decimal.Decimal, cur string, date time.Time, plant, what string) (*Activity, error) {
	a := &Activity{ActivityType: rule.ActivityType, PeriodStart: date.UTC(), Region: rule.Region, Scope: rule.Scope,
		Category: rule.Category, Method: rule.Method, DataQuality: rule.DataQuality}
	if plant != "" {
		a.Site = m.Sites[plant]
	}
	basis := rule.Basis
	if basis == "" {
		basis = "amount"
		if qty.Valid && (unit != "" || rule.Unit != "") {
			basis = "quantity"
		}
	}
	switch basis {
	case "quantity":
		if !qty.Valid {
			return nil, fmt.Errorf("%s: the rule for %s needs a quantity and the record has none", what, rule.ActivityType)
		}
		a.Quantity, a.Unit = qty.Decimal, unit
		if rule.Unit != "" {
			a.Unit = rule.Unit
		} else if u, ok := m.Units[unit]; ok {
			a.Unit = u
		}
		if a.Unit == "" {
			return nil, fmt.Errorf("%s: quantity %s has no unit", what, qty.Decimal)
		}
	default:
		a.Quantity, a.Unit, a.PriceYear = amount, cur, date.Year()
		if strings.HasPrefix(a.ActivityType, "naics:") {
			// USEEIO, the NAICS-based publication, is for the US.
			if a.Method == "" {
				a.Method = "spend_based"
			}
			if a.Region == "" {
				a.Region = "US"
			}
		}
	}
	if a.Quantity.IsNegative() {
		// A credit (a returned good, a credit note) reduces the activity:
		// the engine takes a negative quantity only as a correction.
		a.Correction = true
	}
	return a, nil
}

// ContentHash is a stable digest of a record's normalized content (not its
// original form): two reads of an unchanged record hash equal.
func ContentHash(r *Record) (string, []byte, error) {
	c := *r
	c.Original = nil
	b, err := json.Marshal(&c)
	if err != nil {
		return "", nil, err
	}
	return hashHex(b), b, nil
}

// SortRecords orders records by kind and key, the order a page is stored in.
func SortRecords(rs []Record) {
	slices.SortFunc(rs, func(a, b Record) int {
		if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// decodeStrict decodes a user's file into v: JSON when it starts with "{",
// YAML otherwise, refusing unknown keys either way.
func decodeStrict(b []byte, v any) error {
	if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		return dec.Decode(v)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// PutMapping stores m as the organization's next mapping version and
// queues the records the earlier version left unmapped or quarantined to
// be posted again at the next sync; it returns the version and how many
// records it queued.
func PutMapping(ctx context.Context, st *store.Store, org uuid.UUID, m *Mapping, by string) (store.ActivityMapping, int64, error) {
	rules, err := json.Marshal(m)
	if err != nil {
		return store.ActivityMapping{}, 0, err
	}
	v, err := st.PutActivityMapping(ctx, org, rules, by)
	if err != nil {
		return v, 0, err
	}
	n, err := st.RequeueUnmappedERPRecords(ctx, org)
	return v, n, err
}
