// Package useeio imports the US EPA Supply Chain GHG Emission Factors
// (USEEIO) CSV as published: kg CO2e per US dollar of purchaser price, by
// 2017 NAICS-6 code, for spend-based scope 3 categories 1 and 2. The factor
// used is the one with margins (purchaser price, what a company pays); the
// price year is read from the unit column. A bad row refuses the whole file.
package useeio

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

// SetName is the publication's name in factor references.
const SetName = "USEEIO Supply Chain GHG Emission Factors"

// ActivityPrefix makes a NAICS code an activity type: "naics:331110".
const ActivityPrefix = "naics:"

var header = []string{"2017 NAICS Code", "2017 NAICS Title", "GHG", "Unit",
	"Supply Chain Emission Factors without Margins", "Margins of Supply Chain Emission Factors",
	"Supply Chain Emission Factors with Margins", "Reference USEEIO Code"}

var unitRE = regexp.MustCompile(`^kg CO2e/(\d{4}) USD, purchaser price$`)
var naicsRE = regexp.MustCompile(`^\d{6}$`)

// Read imports the CSV. version names the release ("v1.2").
func Read(r io.Reader, version string) ([]ghg.Factor, error) {
	cr := csv.NewReader(io.LimitReader(r, 64<<20))
	cr.FieldsPerRecord = len(header)
	got, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("useeio: header: %w", err)
	}
	for i, h := range header {
		if strings.TrimSpace(strings.TrimPrefix(got[i], "\ufeff")) != h {
			return nil, fmt.Errorf("useeio: header column %d is %q, want %q: not the published layout", i+1, got[i], h)
		}
	}
	usd := ghg.CurrencyUnit("USD")
	var out []ghg.Factor
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("useeio: %w", err)
		}
		line, _ := cr.FieldPos(0)
		code := strings.TrimSpace(rec[0])
		if !naicsRE.MatchString(code) {
			return nil, fmt.Errorf("useeio: line %d, column %s: %q is not a 6-digit NAICS code", line, header[0], rec[0])
		}
		if prev, dup := seen[code]; dup {
			return nil, fmt.Errorf("useeio: lines %d and %d both give NAICS %s", prev, line, code)
		}
		seen[code] = line
		if strings.TrimSpace(rec[2]) != "All GHGs" {
			return nil, fmt.Errorf("useeio: line %d, column GHG: %q, want \"All GHGs\"", line, rec[2])
		}
		m := unitRE.FindStringSubmatch(strings.TrimSpace(rec[3]))
		if m == nil {
			return nil, fmt.Errorf("useeio: line %d, column Unit: %q is not \"kg CO2e/YYYY USD, purchaser price\"", line, rec[3])
		}
		year, _ := strconv.Atoi(m[1])
		v, err := decimal.NewFromString(strings.TrimSpace(rec[6]))
		if err != nil || v.IsNegative() || v.Exponent() < -20 || v.Exponent() > 20 {
			return nil, fmt.Errorf("useeio: line %d, column %s: %q is not a factor value", line, header[6], rec[6])
		}
		out = append(out, ghg.Factor{
			ID:           fmt.Sprintf("useeio-%s-%s", version, code),
			ActivityType: ActivityPrefix + code, Region: "US", Per: usd, PriceYear: year,
			KgPerUnit: map[string]decimal.Decimal{"CO2e": v},
			Ref: ghg.FactorRef{Set: SetName, Version: version, Edition: year, SourceTable: "NAICS-6, with margins",
				SourceRow: fmt.Sprintf("%s %s (line %d)", code, strings.TrimSpace(rec[1]), line)},
			ValidFrom: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	if len(out) == 0 {
		return nil, errors.New("useeio: no factor rows")
	}
	return out, nil
}
