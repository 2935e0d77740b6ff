package erp

import (
	"strings"
	"testing"
)

func TestParseJournalSample(t *testing.T) {
	e, err := ParseJournal([]byte(SampleJournal))
	if err != nil {
		t.Fatal(err)
	}
	if e.CompanyCode != "1010" || e.Reference != "CO2E-2026-11" || e.PostingDate.Format("2006-01-02") != "2026-11-30" || len(e.Lines) != 2 {
		t.Fatalf("%+v", e)
	}
	if e.Lines[0].Amount.String() != "1000" || e.Lines[1].Amount.String() != "-1000" || e.Lines[0].Quantity.String() != "12500" ||
		e.Lines[0].CostCenter != "10101101" || e.Lines[1].Currency != "EUR" {
		t.Fatalf("lines %+v", e.Lines)
	}
	tot := journalTotals(e)
	if tot["EUR"] != "1000" || tot["kg_co2e"] != "12500" || len(tot) != 2 {
		t.Fatalf("totals %v", tot)
	}
	j, err := ParseJournal([]byte(`{"company_code":"1010","posting_date":"2026-11-30","reference":"R",
		"lines":[{"account":"1","amount":"5","currency":"usd"},{"account":"2","amount":"-5","currency":"USD"}]}`))
	if err != nil || j.Lines[0].Currency != "USD" {
		t.Fatalf("json: %+v %v", j, err)
	}
}

func TestParseJournalBadInput(t *testing.T) {
	two := `lines: [{account: "1", amount: "1", currency: EUR}, {account: "2", amount: "-1", currency: EUR}]`
	for _, c := range []struct{ in, want string }{
		{"posting_date: 2026-11-30\nreference: R\n" + two, "company_code: is required"},
		{"company_code: X\nposting_date: 2026-11-30\n" + two, "reference: is required"},
		{"company_code: X\nreference: R\nposting_date: 30.11.2026\n" + two, `posting_date "30.11.2026": is not a date`},
		{"company_code: X\nreference: R\nposting_date: 2026-11-30\nlines: [{account: '1', amount: '0', currency: EUR}]", "lines: an entry needs at least two lines"},
		{"company_code: X\nreference: R\nposting_date: 2026-11-30\nlines: [{account: '1', amount: '1', currency: EUR}, {amount: '-1', currency: EUR}]", "lines[1].account: is required"},
		{"company_code: X\nreference: R\nposting_date: 2026-11-30\nlines: [{account: '1', amount: 'ten', currency: EUR}, {account: '2', amount: '-1', currency: EUR}]", `lines[0].amount "ten": is not a decimal number`},
		{"company_code: X\nreference: R\nposting_date: 2026-11-30\nlines: [{account: '1', amount: '1', currency: EURO}, {account: '2', amount: '-1', currency: EUR}]", `lines[0].currency "EURO": is not an ISO 4217 currency code`},
		{"company_code: X\nreference: R\nposting_date: 2026-11-30\nlines: [{account: '1', amount: '1', currency: EUR, quantity_kg_co2e: lots}, {account: '2', amount: '-1', currency: EUR}]", `lines[0].quantity_kg_co2e "lots": is not a decimal number`},
		{"company_code: X\nreference: R\nposting_date: 2026-11-30\ndebit: 1\n" + two, "field debit not found"},
		{`{"company_code": "X", "amount": 1}`, `unknown field "amount"`},
		{"company_code: X\nreference: R\nposting_date: 2026-11-30\nlines: [{account: '1', amount: '1', currency: EUR}, {account: '2', amount: '-1', currency: USD}]", "lines: the amounts in EUR do not balance: debits and credits sum to 1"},
		{"company_code: X\nreference: " + strings.Repeat("r", 65) + "\nposting_date: 2026-11-30\n" + two, "reference: is longer than 64"},
	} {
		_, err := ParseJournal([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzParseJournal(f *testing.F) {
	f.Add([]byte(SampleJournal))
	f.Add([]byte(`{"company_code":"1","posting_date":"2026-01-01","reference":"R","lines":[{"account":"1","amount":"1e3","currency":"EUR"},{"account":"2","amount":"-1e3","currency":"EUR"}]}`))
	f.Add([]byte("lines: [{amount: 1}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseJournal(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "journal entry: ") {
				t.Fatalf("error does not say what failed: %v", err)
			}
			return
		}
		if e.CompanyCode == "" || e.Reference == "" || e.PostingDate.IsZero() || len(e.Lines) < 2 {
			t.Fatalf("accepted an incomplete entry: %+v", e)
		}
		for i, l := range e.Lines {
			if l.Account == "" || len(l.Currency) != 3 {
				t.Fatalf("line %d accepted: %+v", i, l)
			}
		}
	})
}
