package erp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

const testMapping = `
purchase_orders:
  material_groups:
    DIESEL: {activity_type: distillate_fuel_oil_no_2, scope: 1, method: stationary_combustion}
  spend_categories:
    "Office Supplies": {activity_type: "naics:322230", basis: amount, scope: 3, category: 1}
  spend_based_by_naics: true
gl_accounts:
  "610000": {activity_type: electricity, scope: 2, region: DE}
  "61*": {activity_type: natural_gas, scope: 1}
  "6110*": {activity_type: heat, scope: 2}
expense_types:
  airfare: {activity_type: "desnz:business_travel_air/flights/long_haul_to_from_uk/economy_class/without_rf", basis: quantity, scope: 3, category: 6}
  hotel: {activity_type: hotel_stay, basis: quantity, unit: room-night, scope: 3, category: 6}
units:
  LTR: L
`

func mustMapping(t *testing.T) *Mapping {
	t.Helper()
	m, err := ParseMapping([]byte(testMapping))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapPurchaseOrderLines(t *testing.T) {
	m := mustMapping(t)
	date := time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)
	line := func(group, cat, naics string) *Record {
		return &Record{Kind: KindPOLine, Key: "1/10", POLine: &POLine{PONumber: "1", Line: "10", OrderDate: date, MaterialGroup: group,
			SpendCategory: cat, NAICS: naics, Quantity: decimal.RequireFromString("1000"), Unit: "LTR",
			Amount: decimal.RequireFromString("1500"), Currency: "EUR"}}
	}
	for _, tc := range []struct {
		name                     string
		rec                      *Record
		typ, qty, unit, method   string
		scope, category, priceYr int
	}{
		{"material group, quantity, unit translated", line("DIESEL", "Office Supplies", "331110"), "distillate_fuel_oil_no_2", "1000", "L", "stationary_combustion", 1, 0, 0},
		{"spend category before NAICS", line("", "Office Supplies", "331110"), "naics:322230", "1500", "EUR", "spend_based", 3, 1, 2025},
		{"NAICS spend-based", line("STEEL", "", "331110"), "naics:331110", "1500", "EUR", "spend_based", 3, 1, 2025},
	} {
		a, err := m.Map(tc.rec)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if a.ActivityType != tc.typ || a.Quantity.String() != tc.qty || a.Unit != tc.unit || a.Method != tc.method || a.Scope != tc.scope ||
			a.Category != tc.category || a.PriceYear != tc.priceYr {
			t.Errorf("%s: %+v", tc.name, a)
		}
	}
	_, err := m.Map(line("STEEL", "Travel", ""))
	var um *Unmapped
	if !errors.As(err, &um) || !strings.Contains(um.Reason, `purchase order line 1/10: no rule for material group "STEEL" or spend category "Travel"`) {
		t.Errorf("unmapped line: %v", err)
	}
	m.PurchaseOrders.DefaultNAICS = "423000"
	if a, err := m.Map(line("STEEL", "Travel", "")); err != nil || a.ActivityType != "naics:423000" || a.Region != "US" {
		t.Errorf("default NAICS: %+v %v", a, err)
	}
	credit := line("STEEL", "", "331110")
	credit.POLine.Amount = decimal.RequireFromString("-200")
	if a, err := m.Map(credit); err != nil || !a.Correction {
		t.Errorf("a credit is a correction: %+v %v", a, err)
	}
}

func TestMapGLAndExpenses(t *testing.T) {
	m := mustMapping(t)
	date := time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)
	gl := func(account string, qty string) *Record {
		g := &GLEntry{DocumentID: "9", Line: "1", PostingDate: date, Account: account, Amount: decimal.NewFromInt(100), Currency: "EUR", Unit: "kWh"}
		if qty != "" {
			g.Quantity = decimal.NewNullDecimal(decimal.RequireFromString(qty))
		}
		return &Record{Kind: KindGLEntry, Key: "9/1", GLEntry: g}
	}
	for account, want := range map[string]string{"610000": "electricity", "611000": "heat", "619999": "natural_gas"} {
		a, err := m.Map(gl(account, "5"))
		if err != nil || a.ActivityType != want || a.Unit != "kWh" || a.Quantity.String() != "5" {
			t.Errorf("account %s: %+v %v, want %s", account, a, err, want)
		}
	}
	var um *Unmapped
	if _, err := m.Map(gl("700000", "5")); !errors.As(err, &um) || um.Reason != "GL account 700000 is not mapped (gl_accounts)" {
		t.Errorf("unmapped account: %v", err)
	}
	// Without a quantity, a rule with no basis falls back to the amount.
	if a, err := m.Map(gl("610000", "")); err != nil || a.Unit != "EUR" || a.Quantity.String() != "100" {
		t.Errorf("amount fallback: %+v %v", a, err)
	}

	exp := &Record{Kind: KindExpenseLine, Key: "R1/1", Expense: &ExpenseLine{ReportID: "R1", Line: "1", Date: date, ExpenseType: "AIRFARE",
		Amount: decimal.NewFromInt(800), Currency: "GBP", Quantity: decimal.NewNullDecimal(decimal.NewFromInt(5540)), Unit: "passenger-km"}}
	if a, err := m.Map(exp); err != nil || a.Scope != 3 || a.Category != 6 || a.Quantity.String() != "5540" || a.Unit != "passenger-km" {
		t.Errorf("airfare: %+v %v", a, err)
	}
	exp.Expense.Quantity = decimal.NullDecimal{}
	if _, err := m.Map(exp); err == nil || !strings.Contains(err.Error(), "expense line R1/1: the rule for desnz:business_travel_air") {
		t.Errorf("airfare without distance: %v", err)
	}
	if a, err := m.Map(&Record{Kind: KindSupplier, Key: "S", Supplier: &Supplier{ID: "S", Name: "n"}}); a != nil || err != nil {
		t.Errorf("a supplier is no activity: %+v %v", a, err)
	}
}

func TestParseMappingErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"gl_accounts:\n  '6100': {scope: 1}\n", "gl_accounts.6100: activity_type is required"},
		{"gl_accounts:\n  '6100': {activity_type: x, basis: weight}\n", `basis "weight" is not quantity or amount`},
		{"gl_accounts:\n  '6100': {activity_type: x, scope: 2, category: 4}\n", "category 4 needs scope 3"},
		{"gl_accounts:\n  '6*1*': {activity_type: x}\n", `"6*1*" is not an account or a prefix`},
		{"purchase_orders:\n  default_naics: steel\n", `default_naics "steel" is not a NAICS code`},
		{"purchase_order:\n  default_naics: '3311'\n", "field purchase_order not found"},
		{`{"gl_accounts": {"1": {"activity_type": "x"}}, "colour": 1}`, `unknown field "colour"`},
		{"exchange_rates:\n  - {year: 2025, from: EUR, to: USD, rate: 0}\n", "exchange_rates[0]"},
	} {
		if _, err := ParseMapping([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	date := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{Kind: KindPOLine, Key: "1/1", POLine: &POLine{PONumber: "1", Line: "1", OrderDate: date, Currency: "EURO"}}, `po_line.currency "EURO": is not an ISO 4217`},
		{Record{Kind: KindPOLine, Key: "1/1", POLine: &POLine{PONumber: "1", Line: "1", Currency: "EUR"}}, "po_line.order_date: is required"},
		{Record{Kind: KindGLEntry, Key: "1/1", POLine: &POLine{}}, "does not match the part"},
		{Record{Kind: KindSupplier, Key: "", Supplier: &Supplier{ID: "1", Name: "x"}}, "key: is empty"},
		{Record{Kind: "invoice", Key: "1", Supplier: &Supplier{ID: "1", Name: "x"}}, `kind "invoice": is not a kind`},
	} {
		if err := tc.r.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.r, err, tc.want)
		}
	}
	if err := (&Record{Kind: KindPOLine, Key: "1/1", Deleted: true}).Validate(); err != nil {
		t.Errorf("a deletion needs only its key: %v", err)
	}
}

// FuzzParseMapping: any input is refused with an error or yields a mapping
// that validates and maps a record without panicking.
func FuzzParseMapping(f *testing.F) {
	f.Add(testMapping)
	f.Add(`{"gl_accounts": {"6*": {"activity_type": "x", "scope": 1}}}`)
	f.Add("price_index: {currency: USD, by_year: {2021: 100}}")
	rec := &Record{Kind: KindGLEntry, Key: "1/1", GLEntry: &GLEntry{DocumentID: "1", Line: "1", PostingDate: time.Now(), Account: "610000",
		Amount: decimal.NewFromInt(1), Currency: "EUR"}}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseMapping([]byte(in))
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed mapping does not validate: %v", err)
		}
		_, _ = m.Map(rec)
		_, _, _ = m.Economics()
	})
}
