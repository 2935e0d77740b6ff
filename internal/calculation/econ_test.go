package calculation

import (
	"strings"
	"testing"

	"github.com/greenlang/greenlang/ghg"
)

func TestSpendWithExchangeRatesAndIndex(t *testing.T) {
	fx, err := ReadExchangeRates(strings.NewReader("year,from,to,rate\n2024,EUR,USD,1.08\n"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ReadPriceIndex(strings.NewReader("currency,name,year,value\nUSD,test deflator,2021,100\nUSD,test deflator,2024,120\n"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	in := "activity_type,quantity,unit,period_start,region,price_year,category,method\nnaics:331110,12000,EUR,2024-05-01,US,2024,1,spend_based\n"
	rep, err := svc.CalculateFile(strings.NewReader(in), Options{FX: fx, Index: &idx})
	if err != nil || len(rep.Lines) != 1 {
		t.Fatalf("%v %v", rep.Errors, err)
	}
	// 12 000 EUR × 1.08 = 12 960 USD(2024) × 100/120 = 10 800 USD(2021) × 0.979 kg (USEEIO 331110).
	if got := rep.Lines[0].Result.CO2eKg.Round(12); !got.Equal(dec("10573.2")) {
		t.Errorf("CO2e %s, want 10573.2", got)
	}
	// Without them the row is refused, naming what is missing.
	rep, _ = svc.CalculateFile(strings.NewReader(in), Options{})
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), "no 2024 exchange rate from EUR to USD") {
		t.Errorf("errors %v", rep.Errors)
	}
}

func TestEconFilesRefuseBadRows(t *testing.T) {
	for in, want := range map[string]string{
		"year,from,to,rate\n20x4,EUR,USD,1\n":  "line 2, column year",
		"year,from,to,rate\n2024,eur,USD,1\n":  "column from",
		"year,from,to,rate\n2024,EUR,USD,-1\n": "column rate",
		"yr,from,to,rate\n":                    "header column 1",
	} {
		if _, err := ReadExchangeRates(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	for in, want := range map[string]string{
		"currency,name,year,value\nUSD,a,2021,100\nEUR,a,2022,1\n": "one currency",
		"currency,name,year,value\nUSD,a,2021,100\nUSD,a,2021,1\n": "twice",
		"currency,name,year,value\n":                               "no rows",
	} {
		if _, err := ReadPriceIndex(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func FuzzEconFiles(f *testing.F) {
	f.Add("year,from,to,rate\n2024,EUR,USD,1.08\n")
	f.Add("currency,name,year,value\nUSD,x,2021,100\n")
	f.Fuzz(func(t *testing.T, in string) {
		if fx, err := ReadExchangeRates(strings.NewReader(in)); err == nil && fx == nil {
			t.Fatal("nil table without error")
		}
		if idx, err := ReadPriceIndex(strings.NewReader(in)); err == nil && len(idx.ByYear) == 0 {
			t.Fatal("empty index without error")
		}
	})
}

func TestReadCertificates(t *testing.T) {
	good := "id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nREC-1,5000,2025-01-01,2026-01-01,US,0\nPPA-7,1000.5,2025-01-01,2025-07-01,US,0.012\nGO-3,10,2025-01-01,2026-01-01,DE,0.000\n"
	cs, err := ReadCertificates(strings.NewReader(good))
	if err != nil || len(cs) != 3 || !cs[2].KgCO2ePerKWh.IsZero() || !cs[1].KWh.Equal(dec("1000.5")) || !cs[1].KgCO2ePerKWh.Equal(dec("0.012")) {
		t.Fatalf("%+v %v", cs, err)
	}
	for in, want := range map[string]string{
		"id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nA,-1,2025-01-01,2026-01-01,US,0\n":                                "line 2, column kwh",
		"id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nA,1,2025-13-01,2026-01-01,US,0\n":                                 "line 2, column period_start",
		"id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nA,1,2025-01-01,2025-01-01,US,0\n":                                 "line 2, column period_end",
		"id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nA,1,2025-01-01,2026-01-01,,0\n":                                   "line 2, column market",
		"id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nA,1,2025-01-01,2026-01-01,US,x\n":                                 "line 2, column kg_co2e_per_kwh",
		"id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nA,1,2025-01-01,2026-01-01,US,0\nA,1,2025-01-01,2026-01-01,US,0\n": "line 3, column id",
		"id,kwh,start,period_end,market,kg_co2e_per_kwh\n":                                                                        "header column 3",
		"id,kwh,period_start,period_end,market,kg_co2e_per_kwh\n":                                                                 "no rows",
	} {
		if _, err := ReadCertificates(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

func FuzzReadCertificates(f *testing.F) {
	f.Add("id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nREC-1,5000,2025-01-01,2026-01-01,US,0\n")
	f.Add("id,kwh,period_start,period_end,market,kg_co2e_per_kwh\nA,1e400,2025-01-01,2026-01-01,US,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := ReadCertificates(strings.NewReader(in))
		if err != nil {
			return
		}
		if _, err := ghg.NewCertificatePool(cs); err != nil {
			t.Fatalf("accepted certificates the engine refuses: %v", err)
		}
	})
}
