package calculation

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

// ReadExchangeRates reads annual average exchange rates as CSV with the
// header "year,from,to,rate": one unit of from bought rate units of to in
// that year (e.g. 2023,EUR,USD,1.0813). A bad row refuses the file, naming
// line and column.
func ReadExchangeRates(r io.Reader) (*ghg.ExchangeRates, error) {
	fx := ghg.NewExchangeRates()
	err := readTable(r, []string{"year", "from", "to", "rate"}, func(line int, rec []string) error {
		year, err := year(rec[0])
		if err != nil {
			return fmt.Errorf("line %d, column year: %w", line, err)
		}
		for i, c := range rec[1:3] {
			if len(c) != 3 || strings.ToUpper(c) != c {
				return fmt.Errorf("line %d, column %s: %q is not an ISO 4217 code", line, []string{"from", "to"}[i], c)
			}
		}
		rate, err := positive(rec[3])
		if err != nil {
			return fmt.Errorf("line %d, column rate: %w", line, err)
		}
		return fx.Set(year, rec[1], rec[2], rate)
	})
	if err != nil {
		return nil, fmt.Errorf("exchange rates: %w", err)
	}
	return fx, nil
}

// ReadPriceIndex reads a price index as CSV with the header
// "currency,name,year,value" (one currency and index per file).
func ReadPriceIndex(r io.Reader) (ghg.PriceIndex, error) {
	idx := ghg.PriceIndex{ByYear: map[int]decimal.Decimal{}}
	err := readTable(r, []string{"currency", "name", "year", "value"}, func(line int, rec []string) error {
		if idx.Currency == "" {
			idx.Currency, idx.Name = rec[0], rec[1]
		}
		if rec[0] != idx.Currency || rec[1] != idx.Name {
			return fmt.Errorf("line %d: one currency and index per file (%s %s)", line, idx.Currency, idx.Name)
		}
		y, err := year(rec[2])
		if err != nil {
			return fmt.Errorf("line %d, column year: %w", line, err)
		}
		if _, dup := idx.ByYear[y]; dup {
			return fmt.Errorf("line %d: year %d twice", line, y)
		}
		if idx.ByYear[y], err = positive(rec[3]); err != nil {
			return fmt.Errorf("line %d, column value: %w", line, err)
		}
		return nil
	})
	if err == nil && len(idx.ByYear) == 0 {
		err = errors.New("no rows")
	}
	if err != nil {
		return ghg.PriceIndex{}, fmt.Errorf("price index: %w", err)
	}
	return idx, nil
}

func readTable(r io.Reader, header []string, row func(line int, rec []string) error) error {
	cr := csv.NewReader(io.LimitReader(r, 16<<20))
	cr.FieldsPerRecord = len(header)
	got, err := cr.Read()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	for i, h := range header {
		if strings.ToLower(strings.TrimSpace(got[i])) != h {
			return fmt.Errorf("header column %d is %q, want %q", i+1, got[i], h)
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		line, _ := cr.FieldPos(0)
		if err := row(line, rec); err != nil {
			return err
		}
	}
}

func year(s string) (int, error) {
	y, err := strconv.Atoi(s)
	if err != nil || y < 1900 || y > 2200 {
		return 0, fmt.Errorf("%q is not a year", s)
	}
	return y, nil
}

func positive(s string) (decimal.Decimal, error) {
	d, err := number(s)
	if err != nil || !d.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("%q is not a positive number", s)
	}
	return d, nil
}

func nonNegative(s string) (decimal.Decimal, error) {
	d, err := number(s)
	if err != nil || d.IsNegative() {
		return decimal.Decimal{}, fmt.Errorf("%q is not a number of zero or more", s)
	}
	return d, nil
}

// number reads a plain decimal of bounded size.
func number(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil || len(s) > 40 || d.Exponent() < -30 || d.Exponent() > 30 {
		return decimal.Decimal{}, fmt.Errorf("%q is not a number", s)
	}
	return d, nil
}
