// Package quality is GreenLang's data-quality room: expectation suites,
// written in YAML one per dataset (a store table such as
// emissions.activity_records), are run against one organization's rows;
// each run measures its expectations (not null, unique, between, in set,
// regex, referential, freshness, row count, drift, custom SQL) and the
// data-quality KPIs (completeness, validity, uniqueness, timeliness,
// consistency, accuracy) and is stored so trends can be read back. A
// pipeline uses Run as a quality gate. docs/quality.md describes the
// format.
package quality

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Kind is an expectation kind.
type Kind string

// The expectation kinds.
const (
	NotNull     Kind = "not_null"
	Unique      Kind = "unique"
	Between     Kind = "between"
	InSet       Kind = "in_set"
	Regex       Kind = "regex"
	Referential Kind = "referential"
	Freshness   Kind = "freshness"
	RowCount    Kind = "row_count"
	Drift       Kind = "drift"
	CustomSQL   Kind = "custom_sql"
)

// Kinds lists every expectation kind.
func Kinds() []Kind {
	return []Kind{NotNull, Unique, Between, InSet, Regex, Referential, Freshness, RowCount, Drift, CustomSQL}
}

// Severity says what an unmet expectation does: fail fails the suite, warn
// is only reported.
type Severity string

// The severities.
const (
	Fail Severity = "fail"
	Warn Severity = "warn"
)

// Drift metrics (Expectation.Metric).
const (
	MetricMean     = "mean"
	MetricRowCount = "row_count"
)

// KPI names a custom_sql expectation may count towards (Expectation.KPI).
const (
	KPIAccuracy    = "accuracy"
	KPIValidity    = "validity"
	KPIConsistency = "consistency"
)

// Suite is a set of expectations about one dataset.
type Suite struct {
	// Name identifies the suite: lower case letters, digits, '-' and '_'.
	Name string
	// Dataset is the schema-qualified store table the suite checks; it
	// must have an org_id column.
	Dataset     string
	Description string
	// Source is where the suite was read from (a file name), for messages.
	Source       string
	Expectations []Expectation
}

// Expectation is one check of a suite. Which fields are used depends on
// Kind; Parse sets them and checks them.
type Expectation struct {
	Kind Kind
	// Name identifies the expectation in its suite across runs; Parse
	// derives it from the kind and columns when the file gives none.
	Name     string
	Severity Severity
	// Columns are the checked column(s); for custom_sql the columns of its
	// result shown in samples.
	Columns []string
	// Min and Max bound between (values) and row_count (rows), inclusive;
	// either may be absent.
	Min, Max *decimal.Decimal
	// Values are the allowed values of in_set.
	Values []string
	// Pattern is the regex values must match (RE2 syntax).
	Pattern *regexp.Regexp
	// RefTable and RefColumn are what referential's column references.
	RefTable, RefColumn string
	// MaxAge is how old freshness's newest timestamp may be.
	MaxAge time.Duration
	// Metric (mean or row_count) and MaxChange (relative, e.g. 0.5 for
	// ±50%) configure drift.
	Metric    string
	MaxChange decimal.Decimal
	// SQL is custom_sql's query: it returns the failing rows and filters
	// the organization with $1.
	SQL string
	// KPI is the KPI a custom_sql expectation counts towards, if any.
	KPI string
	// Line is the expectation's line in its source file.
	Line int
}

// where names the expectation in messages: "suites/a.yaml:12: expectation 3 (between)".
func (s *Suite) where(i int) string {
	e := &s.Expectations[i]
	return fmt.Sprintf("%s:%d: expectation %d (%s)", s.Source, e.Line, i+1, e.Kind)
}

var (
	// identRE is what a table or column name must look like to be
	// interpolated into SQL: a column, or schema.table.
	identRE  = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$`)
	suiteRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	maxIdent = 63 // PostgreSQL's identifier length
)

func validTable(s string) bool {
	return len(s) <= 2*maxIdent+1 && identRE.MatchString(s) && strings.Contains(s, ".")
}

func validColumn(s string) bool {
	return len(s) <= maxIdent && identRE.MatchString(s) && !strings.Contains(s, ".")
}

// check verifies what Run relies on, so that a Suite built in Go is held
// to the rules a parsed one is: every identifier is safe to put in SQL.
func (s *Suite) check() error {
	if !suiteRE.MatchString(s.Name) {
		return fmt.Errorf("%s: suite name %q: lower case letters, digits, '-' and '_'", s.Source, s.Name)
	}
	if !validTable(s.Dataset) {
		return fmt.Errorf("%s: dataset %q is not a schema-qualified table name", s.Source, s.Dataset)
	}
	names := map[string]int{}
	for i := range s.Expectations {
		e := &s.Expectations[i]
		if e.Name == "" {
			return fmt.Errorf("%s: name is required", s.where(i))
		}
		if j, dup := names[e.Name]; dup {
			return fmt.Errorf("%s: name %q is already used by expectation %d: give one a distinct \"name\"", s.where(i), e.Name, j+1)
		}
		names[e.Name] = i
		if e.Severity != Fail && e.Severity != Warn {
			return fmt.Errorf("%s: severity %q: warn or fail", s.where(i), e.Severity)
		}
		for _, c := range e.Columns {
			if !validColumn(c) {
				return fmt.Errorf("%s: column %q is not a valid column name", s.where(i), c)
			}
		}
		need := 1
		switch e.Kind {
		case Unique:
			need = -1
		case RowCount:
			need = 0
		case Drift:
			if e.Metric == MetricRowCount {
				need = 0
			}
		case CustomSQL:
			need = -2
		case NotNull, Between, InSet, Regex, Referential, Freshness:
		default:
			return fmt.Errorf("%s: unknown kind %q", s.where(i), e.Kind)
		}
		switch {
		case need >= 0 && len(e.Columns) != need:
			return fmt.Errorf("%s: needs %d column(s), has %d", s.where(i), need, len(e.Columns))
		case need == -1 && len(e.Columns) == 0:
			return fmt.Errorf("%s: needs at least one column", s.where(i))
		}
		switch e.Kind {
		case Between, RowCount:
			if e.Min == nil && e.Max == nil {
				return fmt.Errorf("%s: needs \"min\", \"max\" or both", s.where(i))
			}
			if e.Min != nil && e.Max != nil && e.Min.GreaterThan(*e.Max) {
				return fmt.Errorf("%s: \"min\" %s is greater than \"max\" %s", s.where(i), e.Min, e.Max)
			}
		case InSet:
			if len(e.Values) == 0 {
				return fmt.Errorf("%s: \"values\" is empty", s.where(i))
			}
		case Regex:
			if e.Pattern == nil {
				return fmt.Errorf("%s: \"pattern\" is required", s.where(i))
			}
		case Referential:
			if !validTable(e.RefTable) || !validColumn(e.RefColumn) {
				return fmt.Errorf("%s: references %q.%q: need a schema-qualified table and a column", s.where(i), e.RefTable, e.RefColumn)
			}
		case Freshness:
			if e.MaxAge <= 0 {
				return fmt.Errorf("%s: \"max_age\" must be positive", s.where(i))
			}
		case Drift:
			if e.Metric != MetricMean && e.Metric != MetricRowCount {
				return fmt.Errorf("%s: metric %q: mean or row_count", s.where(i), e.Metric)
			}
			if !e.MaxChange.IsPositive() {
				return fmt.Errorf("%s: \"max_change\" must be positive", s.where(i))
			}
		case CustomSQL:
			if err := checkCustomSQL(e.SQL); err != nil {
				return fmt.Errorf("%s: %v", s.where(i), err)
			}
			if e.KPI != "" && e.KPI != KPIAccuracy && e.KPI != KPIValidity && e.KPI != KPIConsistency {
				return fmt.Errorf("%s: kpi %q: accuracy, validity or consistency", s.where(i), e.KPI)
			}
		}
	}
	return nil
}

var (
	selectRE   = regexp.MustCompile(`(?is)^\s*(select|with)\b`)
	orgParamRE = regexp.MustCompile(`\$1\b`)
	otherParam = regexp.MustCompile(`\$([2-9]|[1-9][0-9]+)\b`)
)

// checkCustomSQL accepts one SELECT (or WITH ... SELECT) that filters the
// organization with $1 and uses no other parameter. It runs in a read-only
// transaction; this check is for clear errors, not for safety.
func checkCustomSQL(q string) error {
	switch {
	case strings.TrimSpace(q) == "":
		return fmt.Errorf("\"sql\" is required")
	case !selectRE.MatchString(q):
		return fmt.Errorf("\"sql\" must be one SELECT statement")
	case strings.Contains(q, ";"):
		return fmt.Errorf("\"sql\" must be one statement, without ';'")
	case !orgParamRE.MatchString(q):
		return fmt.Errorf("\"sql\" must filter the organization with org_id = $1")
	case otherParam.MatchString(q):
		return fmt.Errorf("\"sql\" may use only the parameter $1 (the organization)")
	}
	return nil
}
