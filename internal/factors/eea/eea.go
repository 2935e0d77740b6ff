// Package eea imports the European Environment Agency's "CO2 intensity of
// electricity generation" CSV as published (header
// "date:number,ugeo:text,index:number", one row per country and year, in
// g CO2 per kWh generated) as location-based scope 2 grid factors:
// activity type "electricity", per kWh, region the country's ISO 3166-1
// alpha-2 code (Greece is "GR", not Eurostat's "EL"; the United Kingdom is
// "GB"), the EU-27 aggregate region "EU".
//
// The values are CO2 only, not CO2e: the EEA series has no CH4 or N2O, so a
// factor carries gas "CO2" alone and a location-based result from it is the
// CO2 of generation as published, GWP 1, without the other gases. They are
// averages of generation in the country (not of consumption: imports and
// grid losses are not in them), rounded by the EEA to whole grams.
//
// Each data year is its own edition, valid from 1 January of that year and
// open-ended: the library takes the latest year not after the activity's,
// so an activity after the last published year gets the last published
// value (its edition in the selection trail says which year), and each new
// year supersedes the one before.
//
// Rows the EEA publishes without a value ("None", or empty: Norway and
// Turkey in the release to 2019) are skipped and counted, as are the
// "EU-27 + UK" aggregate, which has no region, and the published values
// listed in knownErrors. Every other problem refuses the whole file, naming
// the line and column: a header that is not the published one, a country
// name not mapped here, a year that is not 1900-2100, a value that is not a
// number or is negative, a country and year given twice, a file without
// values.
package eea

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
)

// SetName is the publication's name in factor references.
const SetName = "EEA CO2 intensity of electricity generation"

// SourceTable names the published series in factor references.
const SourceTable = "CO2 intensity of electricity generation (g CO2/kWh)"

// ActivityType is the activity type of every factor: purchased grid
// electricity, the location-based scope 2 factor.
const ActivityType = "electricity"

// Gas is the only gas the series gives.
const Gas = "CO2"

// maxBytes bounds the file: the release to 2019 is 20 kB.
const maxBytes = 16 << 20

var header = []string{"date:number", "ugeo:text", "index:number"}

// regions maps the EEA's names to ISO 3166-1 alpha-2 codes, and the EU-27
// aggregate to "EU". Every name the file uses must be here or in
// notRegions: an unknown one refuses the file rather than being guessed.
var regions = map[string]string{
	"Austria": "AT", "Belgium": "BE", "Bulgaria": "BG", "Croatia": "HR", "Cyprus": "CY",
	"Czechia": "CZ", "Denmark": "DK", "Estonia": "EE", "Finland": "FI", "France": "FR",
	"Germany": "DE", "Greece": "GR", "Hungary": "HU", "Ireland": "IE", "Italy": "IT",
	"Latvia": "LV", "Lithuania": "LT", "Luxembourg": "LU", "Malta": "MT", "Netherlands": "NL",
	"Poland": "PL", "Portugal": "PT", "Romania": "RO", "Slovakia": "SK", "Slovenia": "SI",
	"Spain": "ES", "Sweden": "SE",
	// Published beside the member states.
	"Iceland": "IS", "Norway": "NO", "Turkey": "TR", "United Kingdom": "GB",
	"EU-27": "EU",
}

// notRegions are names the file uses that are deliberately not imported,
// with the reason recorded in Release.Skipped.
var notRegions = map[string]string{
	"EU-27 + UK": "EU-27 + UK aggregate: no region code (the EU-27 aggregate is imported as EU)",
}

// knownErrors are published values that cannot be right and are left out,
// keyed by "<name> <year> <value as published>", so a release that corrects
// one imports the corrected value and any other such value still refuses
// the file. The year left out falls back to the year before it.
var knownErrors = map[string]string{
	// A CO2 intensity of generation cannot be below zero; the years around
	// it are 178 (2003) and 228 (2005).
	"Belgium 2004 -17.0": "negative, an error in the publication",
}

var (
	yearRE  = regexp.MustCompile(`^[0-9]{4}$`)
	valueRE = regexp.MustCompile(`^-?[0-9]{1,7}(\.[0-9]{1,9})?$`)
)

// Release is one imported release of the series.
type Release struct {
	// Version is the latest data year in the file.
	Version string
	Factors []ghg.Factor
	// Skipped counts rows not imported, by reason.
	Skipped map[string]int
}

// Read imports the CSV: one factor per country and year with a value.
func Read(r io.Reader, units *ghg.Units) ([]ghg.Factor, error) {
	rel, err := ReadRelease(r, units)
	if err != nil {
		return nil, err
	}
	return rel.Factors, nil
}

// ReadRelease imports the CSV and says which rows were skipped and why.
func ReadRelease(r io.Reader, units *ghg.Units) (Release, error) {
	if units == nil {
		return Release{}, errors.New("eea: no unit catalogue")
	}
	kwh, err := units.Parse("kWh")
	if err != nil {
		return Release{}, fmt.Errorf("eea: %w", err)
	}
	lr := &io.LimitedReader{R: r, N: maxBytes + 1}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1
	got, err := cr.Read()
	if err == io.EOF {
		return Release{}, fmt.Errorf("eea: line 1, column %s: empty file, want the header %s", header[0], strings.Join(header, ","))
	}
	if err != nil {
		return Release{}, fmt.Errorf("eea: header: %w", err)
	}
	if len(got) != len(header) {
		return Release{}, fmt.Errorf("eea: line 1: header has %d columns, want %d (%s): not the published layout", len(got), len(header), strings.Join(header, ","))
	}
	for i, h := range header {
		if strings.TrimSpace(strings.TrimPrefix(got[i], "\ufeff")) != h {
			return Release{}, fmt.Errorf("eea: line 1, column %d: header is %q, want %q: not the published layout", i+1, got[i], h)
		}
	}

	rel := Release{Skipped: map[string]int{}}
	seen := map[string]int{} // name and year -> line
	rows, latest := 0, 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Release{}, fmt.Errorf("eea: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return Release{}, fmt.Errorf("eea: line %d: %d columns, want %d", line, len(rec), len(header))
		}
		rows++
		at := func(col int) string {
			l, _ := cr.FieldPos(col)
			return fmt.Sprintf("eea: line %d, column %s", l, header[col])
		}

		ys := strings.TrimSpace(rec[0])
		if !yearRE.MatchString(ys) {
			return Release{}, fmt.Errorf("%s: %q is not a year", at(0), rec[0])
		}
		year, _ := strconv.Atoi(ys)
		if year < 1900 || year > 2100 {
			return Release{}, fmt.Errorf("%s: year %d is outside 1900-2100", at(0), year)
		}

		name := strings.TrimSpace(rec[1])
		code, known := regions[name]
		skipWhy, aggregate := notRegions[name]
		if !known && !aggregate {
			return Release{}, fmt.Errorf("%s: %q is not a country or aggregate this importer knows", at(1), rec[1])
		}
		key := fmt.Sprintf("%s %d", name, year)
		if prev, dup := seen[key]; dup {
			return Release{}, fmt.Errorf("%s: %s is also on line %d", at(0), key, prev)
		}
		seen[key] = line
		latest = max(latest, year)

		vs := strings.TrimSpace(rec[2])
		if vs == "" || vs == "None" {
			if aggregate {
				rel.Skipped[skipWhy]++
			} else {
				rel.Skipped["no value published: "+name]++
			}
			continue
		}
		if !valueRE.MatchString(vs) {
			return Release{}, fmt.Errorf("%s: %q is not a number of g CO2/kWh", at(2), rec[2])
		}
		g := decimal.RequireFromString(vs) // valueRE admits only decimals
		if g.IsNegative() {
			why, ok := knownErrors[key+" "+vs]
			if !ok {
				return Release{}, fmt.Errorf("%s: %s g CO2/kWh for %s is negative", at(2), vs, key)
			}
			rel.Skipped[fmt.Sprintf("%s: published %s g CO2/kWh, %s", key, vs, why)]++
			continue
		}
		if aggregate {
			rel.Skipped[skipWhy]++
			continue
		}
		rel.Factors = append(rel.Factors, ghg.Factor{
			ActivityType: ActivityType, Region: code, Per: kwh,
			KgPerUnit: map[string]decimal.Decimal{Gas: g.Shift(-3)},
			Ref: ghg.FactorRef{Set: SetName, Edition: year, SourceTable: SourceTable,
				SourceRow: fmt.Sprintf("%s %d (line %d)", name, year, line)},
			ValidFrom: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	if lr.N <= 0 {
		return Release{}, fmt.Errorf("eea: the file is larger than %d MiB: not the published series", maxBytes>>20)
	}
	if rows == 0 {
		return Release{}, errors.New("eea: line 2: no data rows after the header")
	}
	if len(rel.Factors) == 0 {
		reasons := make([]string, 0, len(rel.Skipped))
		for why, n := range rel.Skipped {
			reasons = append(reasons, fmt.Sprintf("%d %s", n, why))
		}
		sort.Strings(reasons)
		return Release{}, fmt.Errorf("eea: no factor values in %d data rows (skipped: %s)", rows, strings.Join(reasons, "; "))
	}
	rel.Version = strconv.Itoa(latest)
	for i := range rel.Factors {
		f := &rel.Factors[i]
		f.Ref.Version = rel.Version
		f.ID = fmt.Sprintf("eea-%s-%s-%d", rel.Version, strings.ToLower(f.Region), f.Ref.Edition)
	}
	return rel, nil
}
