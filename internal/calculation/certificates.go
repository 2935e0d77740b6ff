package calculation

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/greenlang/greenlang/ghg"
)

// ReadCertificates reads energy attribute certificates and other
// contractual instruments (RECs, GOs, I-RECs, PPAs, supplier contracts with
// their own rate) as CSV with the header
// "id,kwh,period_start,period_end,market,kg_co2e_per_kwh": the volume, the
// period the generation may be claimed in ([start, end), dates YYYY-MM-DD),
// the market (country code, e.g. US or UK) and the instrument's emission rate
// (0 for renewable generation). A bad row refuses the file, naming line and
// column.
func ReadCertificates(r io.Reader) ([]ghg.Certificate, error) {
	var out []ghg.Certificate
	seen := map[string]int{}
	err := readTable(r, []string{"id", "kwh", "period_start", "period_end", "market", "kg_co2e_per_kwh"}, func(line int, rec []string) error {
		c := ghg.Certificate{ID: rec[0], Market: rec[4]}
		if c.ID == "" {
			return fmt.Errorf("line %d, column id: is empty", line)
		}
		if prev, dup := seen[c.ID]; dup {
			return fmt.Errorf("line %d, column id: %q is also on line %d", line, c.ID, prev)
		}
		seen[c.ID] = line
		var err error
		if c.KWh, err = positive(rec[1]); err != nil {
			return fmt.Errorf("line %d, column kwh: %w", line, err)
		}
		for i, dst := range []*time.Time{&c.PeriodStart, &c.PeriodEnd} {
			if *dst, err = time.Parse(time.DateOnly, rec[2+i]); err != nil {
				return fmt.Errorf("line %d, column %s: %q is not a date (YYYY-MM-DD)", line, []string{"period_start", "period_end"}[i], rec[2+i])
			}
		}
		if !c.PeriodEnd.After(c.PeriodStart) {
			return fmt.Errorf("line %d, column period_end: %s is not after period_start %s", line, rec[3], rec[2])
		}
		if c.Market == "" || len(c.Market) > 16 {
			return fmt.Errorf("line %d, column market: %q is not a market (a country code such as US or UK)", line, c.Market)
		}
		if c.KgCO2ePerKWh, err = nonNegative(rec[5]); err != nil {
			return fmt.Errorf("line %d, column kg_co2e_per_kwh: %w", line, err)
		}
		out = append(out, c)
		return nil
	})
	if err == nil && len(out) == 0 {
		err = errors.New("no rows")
	}
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	return out, nil
}
