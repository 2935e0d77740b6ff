package quality

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// maxSamples is how many failing rows a result keeps.
const maxSamples = 10

// Result is a suite's run as stored (store.QualityRun): whether it passed,
// the KPIs and every expectation's outcome.
type Result struct {
	store.QualityRun
}

// Err is nil when the run passed, and otherwise names the expectations of
// severity fail that were not met: what a pipeline's quality gate returns.
func (r Result) Err() error {
	if r.Passed {
		return nil
	}
	var failed []string
	for _, e := range r.Results {
		if !e.Passed && e.Severity == store.QualityFail {
			failed = append(failed, fmt.Sprintf("%d %s", e.Index, e.Name))
		}
	}
	return fmt.Errorf("quality: suite %s failed on %s: %d expectation(s) of severity fail not met (%s)",
		r.Suite, r.Dataset, len(failed), strings.Join(failed, ", "))
}

// Run checks s against org's rows of its dataset in one read-only
// transaction, computes the KPIs, stores the run (store.QualityRunSave)
// and returns it. now is the run's start and the reference time of
// freshness. The error is for a run that could not be made (a column that
// does not exist, a broken custom query, the store unavailable); unmet
// expectations are in the Result (see Result.Err).
func Run(ctx context.Context, st *store.Store, org uuid.UUID, s Suite, now time.Time) (Result, error) {
	t0 := time.Now()
	if err := s.check(); err != nil {
		return Result{}, fmt.Errorf("quality: %w", err)
	}
	prev, err := previousValues(ctx, st, org, &s)
	if err != nil {
		return Result{}, fmt.Errorf("quality: suite %s: reading the previous run: %w", s.Name, err)
	}
	eng := st.Engine()
	var r *runner
	err = eng.TenantTx(ctx, org, driver.TxOptions{ReadOnly: true}, func(q driver.Querier) error {
		r = &runner{ctx: ctx, q: q, engine: eng.Name(), org: org, s: &s, now: now.UTC(), prev: prev, kpis: map[string]*ratio{}}
		return r.run()
	})
	if err != nil {
		return Result{}, fmt.Errorf("quality: suite %s: %w", s.Name, err)
	}
	run := store.QualityRun{Suite: s.Name, Dataset: s.Dataset, StartedAt: now.UTC(), EndedAt: now.UTC().Add(time.Since(t0)),
		Rows: r.rows, Results: r.results}
	k := &run.KPIs
	k.Completeness, k.Validity, k.Uniqueness = r.kpi(kpiCompleteness), r.kpi(KPIValidity), r.kpi(kpiUniqueness)
	k.Timeliness, k.Consistency, k.Accuracy = r.kpi(kpiTimeliness), r.kpi(KPIConsistency), r.kpi(KPIAccuracy)
	if err := st.QualityRunSave(ctx, org, &run); err != nil {
		return Result{}, fmt.Errorf("quality: suite %s: %w", s.Name, err)
	}
	return Result{run}, nil
}

// previousValues returns the drift expectations' values of the suite's
// latest stored run, by expectation name.
func previousValues(ctx context.Context, st *store.Store, org uuid.UUID, s *Suite) (map[string]decimal.Decimal, error) {
	out := map[string]decimal.Decimal{}
	if !slices.ContainsFunc(s.Expectations, func(e Expectation) bool { return e.Kind == Drift }) {
		return out, nil
	}
	runs, err := st.QualityRuns(ctx, org, s.Name, 1)
	if err != nil || len(runs) == 0 {
		return out, err
	}
	run, err := st.QualityRunGet(ctx, org, runs[0].ID)
	if err != nil {
		return out, err
	}
	for _, e := range run.Results {
		if e.Kind != string(Drift) {
			continue
		}
		var o struct {
			Value *decimal.Decimal `json:"value"`
		}
		if json.Unmarshal(e.Observed, &o) == nil && o.Value != nil {
			out[e.Name] = *o.Value
		}
	}
	return out, nil
}

// KPI keys besides the ones a custom_sql expectation may name.
const (
	kpiCompleteness = "completeness"
	kpiUniqueness   = "uniqueness"
	kpiTimeliness   = "timeliness"
)

// ratio is a KPI's good and measured counts.
type ratio struct{ good, total int64 }

// runner evaluates one suite inside one transaction.
type runner struct {
	ctx    context.Context
	q      driver.Querier
	engine string
	org    uuid.UUID
	s      *Suite
	now    time.Time
	prev   map[string]decimal.Decimal

	table   string
	hasID   bool
	rows    int64
	results []store.QualityExpectationResult
	kpis    map[string]*ratio
}

func (r *runner) kpi(name string) decimal.NullDecimal {
	k := r.kpis[name]
	if k == nil || k.total <= 0 {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(decimal.NewFromInt(k.good).DivRound(decimal.NewFromInt(k.total), 6))
}

func (r *runner) count(kpi string, good, total int64) {
	k := r.kpis[kpi]
	if k == nil {
		k = &ratio{}
		r.kpis[kpi] = k
	}
	k.good += good
	k.total += total
}

// outcome is what evaluating one expectation found.
type outcome struct {
	passed   bool
	observed map[string]any
	failing  int64
	samples  []map[string]any
	message  string
}

func (r *runner) run() error {
	s := r.s
	r.table = s.Dataset
	cols, err := r.columns(s.Dataset)
	if err != nil {
		return err
	}
	if len(cols) == 0 {
		return fmt.Errorf("%s: dataset %s does not exist", s.Source, s.Dataset)
	}
	if !cols["org_id"] {
		return fmt.Errorf("%s: dataset %s has no org_id column: only an organization's tables can be checked", s.Source, s.Dataset)
	}
	r.hasID = cols["id"]
	refCols := map[string]map[string]bool{}
	for i, e := range s.Expectations {
		if e.Kind == CustomSQL {
			continue
		}
		for _, c := range e.Columns {
			if !cols[c] {
				return fmt.Errorf("%s: dataset %s has no column %q", s.where(i), s.Dataset, c)
			}
		}
		if e.Kind == Referential {
			rc, ok := refCols[e.RefTable]
			if !ok {
				if rc, err = r.columns(e.RefTable); err != nil {
					return fmt.Errorf("%s: %w", s.where(i), err)
				}
				refCols[e.RefTable] = rc
			}
			if len(rc) == 0 {
				return fmt.Errorf("%s: referenced table %s does not exist", s.where(i), e.RefTable)
			}
			if !rc[e.RefColumn] {
				return fmt.Errorf("%s: referenced table %s has no column %q", s.where(i), e.RefTable, e.RefColumn)
			}
		}
	}
	if err := r.q.QueryRow(r.ctx, `SELECT count(*) FROM `+r.table+` WHERE org_id = $1`, r.org).Scan(&r.rows); err != nil {
		return fmt.Errorf("%s: counting the rows of %s: %w", s.Source, s.Dataset, err)
	}
	for i := range s.Expectations {
		e := &s.Expectations[i]
		o, err := r.evaluate(e, refCols[e.RefTable])
		if err != nil {
			return fmt.Errorf("%s: %w", s.where(i), err)
		}
		res := store.QualityExpectationResult{Index: i + 1, Name: e.Name, Kind: string(e.Kind), Columns: e.Columns,
			Severity: string(e.Severity), Passed: o.passed, FailingCount: o.failing, Message: o.message}
		if res.Columns == nil {
			res.Columns = store.StringList{}
		}
		if o.observed == nil {
			o.observed = map[string]any{}
		}
		if o.samples == nil {
			o.samples = []map[string]any{}
		}
		if res.Observed, err = json.Marshal(o.observed); err != nil {
			return fmt.Errorf("%s: encoding what was observed: %w", s.where(i), err)
		}
		if res.Samples, err = json.Marshal(o.samples); err != nil {
			return fmt.Errorf("%s: encoding samples: %w", s.where(i), err)
		}
		r.results = append(r.results, res)
	}
	return nil
}

// columns lists a table's columns; none when it does not exist.
func (r *runner) columns(table string) (map[string]bool, error) {
	schema, name, _ := strings.Cut(table, ".")
	var rows driver.Rows
	var err error
	switch r.engine {
	case "postgres":
		rows, err = r.q.Query(r.ctx, `SELECT CAST(column_name AS text) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, schema, name)
	case "sqlite":
		rows, err = r.q.Query(r.ctx, `SELECT name FROM pragma_table_info($1)`, schema+"_"+name)
	default:
		return nil, fmt.Errorf("reading the columns of %s: engine %q is not supported", table, r.engine)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("reading the columns of %s: %w", table, err)
		}
		out[c] = true
	}
	return out, rows.Err()
}

func (r *runner) evaluate(e *Expectation, refCols map[string]bool) (outcome, error) {
	switch e.Kind {
	case NotNull:
		return r.notNull(e)
	case Unique:
		return r.unique(e)
	case Between, InSet, Regex:
		return r.values(e)
	case Referential:
		return r.referential(e, refCols["org_id"])
	case Freshness:
		return r.freshness(e)
	case RowCount:
		return r.rowCount(e), nil
	case Drift:
		return r.drift(e)
	case CustomSQL:
		return r.customSQL(e)
	}
	return outcome{}, fmt.Errorf("unknown kind %q", e.Kind)
}

// ident quotes a column name (already checked against identRE).
func ident(c string) string { return `"` + c + `"` }

func idents(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + ident(c)
	}
	return strings.Join(out, ", ")
}

// sampleCols are the columns a sample shows: the row's id when the
// dataset has one, then cols.
func (r *runner) sampleCols(cols []string) []string {
	if r.hasID && !slices.Contains(cols, "id") {
		return append([]string{"id"}, cols...)
	}
	return cols
}

func (r *runner) orderByID(prefix string) string {
	if r.hasID {
		return " ORDER BY " + prefix + `"id"`
	}
	return ""
}

func (r *runner) scalar(sql string, args ...any) (int64, error) {
	var n int64
	err := r.q.QueryRow(r.ctx, sql, append([]any{r.org}, args...)...).Scan(&n)
	return n, err
}

// fetch runs sql (the organization is $1) and calls fn with each row's
// values, n columns wide; fn returns false to stop.
func (r *runner) fetch(sql string, n int, fn func(vals []any) bool) error {
	rows, err := r.q.Query(r.ctx, sql, r.org)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if !fn(vals) {
			break
		}
	}
	return rows.Err()
}

// sample fetches up to maxSamples rows of sql as objects of cols.
func (r *runner) sample(sql string, cols []string) ([]map[string]any, error) {
	var out []map[string]any
	err := r.fetch(sql+fmt.Sprintf(" LIMIT %d", maxSamples), len(cols), func(vals []any) bool {
		out = append(out, object(cols, vals))
		return true
	})
	return out, err
}

func object(cols []string, vals []any) map[string]any {
	m := make(map[string]any, len(cols))
	for i, c := range cols {
		m[c] = jsonValue(vals[i])
	}
	return m
}

func (r *runner) notNull(e *Expectation) (outcome, error) {
	c := ident(e.Columns[0])
	nulls, err := r.scalar(`SELECT count(*) FROM ` + r.table + ` WHERE org_id = $1 AND ` + c + ` IS NULL`)
	if err != nil {
		return outcome{}, err
	}
	r.count(kpiCompleteness, r.rows-nulls, r.rows)
	o := outcome{passed: nulls == 0, failing: nulls, observed: map[string]any{"rows": r.rows, "nulls": nulls}}
	if nulls > 0 && r.hasID {
		cols := r.sampleCols(e.Columns)
		o.samples, err = r.sample(`SELECT `+idents("", cols)+` FROM `+r.table+` WHERE org_id = $1 AND `+c+` IS NULL`+r.orderByID(""), cols)
	}
	if nulls > 0 {
		o.message = fmt.Sprintf("%d of %d rows have no %s", nulls, r.rows, e.Columns[0])
	}
	return o, err
}

func (r *runner) unique(e *Expectation) (outcome, error) {
	var nn []string
	for _, c := range e.Columns {
		nn = append(nn, ident(c)+" IS NOT NULL")
	}
	notNull := strings.Join(nn, " AND ")
	groups := `SELECT ` + idents("", e.Columns) + `, count(*) AS n FROM ` + r.table + ` WHERE org_id = $1 AND ` + notNull +
		` GROUP BY ` + idents("", e.Columns) + ` HAVING count(*) > 1`
	considered, err := r.scalar(`SELECT count(*) FROM ` + r.table + ` WHERE org_id = $1 AND ` + notNull)
	if err != nil {
		return outcome{}, err
	}
	var keys, dupRows int64
	if err := r.q.QueryRow(r.ctx, `SELECT count(*), CAST(coalesce(sum(d.n), 0) AS bigint) FROM (`+groups+`) d`, r.org).Scan(&keys, &dupRows); err != nil {
		return outcome{}, err
	}
	r.count(kpiUniqueness, considered-dupRows, considered)
	o := outcome{passed: dupRows == 0, failing: dupRows,
		observed: map[string]any{"rows": considered, "duplicate_rows": dupRows, "duplicate_keys": keys}}
	if dupRows > 0 {
		o.message = fmt.Sprintf("%d rows share %d values of (%s)", dupRows, keys, strings.Join(e.Columns, ", "))
		var on []string
		for _, c := range e.Columns {
			on = append(on, "a."+ident(c)+" = d."+ident(c))
		}
		cols := r.sampleCols(e.Columns)
		order := idents("a.", e.Columns)
		if r.hasID {
			order += `, a."id"`
		}
		o.samples, err = r.sample(`SELECT `+idents("a.", cols)+` FROM `+r.table+` a JOIN (`+groups+`) d ON `+strings.Join(on, " AND ")+
			` WHERE a.org_id = $1 ORDER BY `+order, cols)
	}
	return o, err
}

// values checks between, in_set and regex on every non-null value, in Go:
// numbers as decimals, patterns with RE2, the same on every engine.
func (r *runner) values(e *Expectation) (outcome, error) {
	c := e.Columns[0]
	cols := r.sampleCols(e.Columns)
	var (
		checked, failing, notNumbers int64
		lo, hi                       *decimal.Decimal
		unexpected                   []string
		samples                      []map[string]any
	)
	err := r.fetch(`SELECT `+idents("", cols)+` FROM `+r.table+` WHERE org_id = $1 AND `+ident(c)+` IS NOT NULL`, len(cols), func(vals []any) bool {
		v := vals[len(vals)-1]
		checked++
		ok := true
		switch e.Kind {
		case Between:
			d, err := asDecimal(v)
			if err != nil {
				notNumbers++
				ok = false
				break
			}
			if lo == nil || d.LessThan(*lo) {
				lo = &d
			}
			if hi == nil || d.GreaterThan(*hi) {
				hi = &d
			}
			ok = (e.Min == nil || !d.LessThan(*e.Min)) && (e.Max == nil || !d.GreaterThan(*e.Max))
		case InSet:
			s := asString(v)
			ok = slices.Contains(e.Values, s)
			if !ok && len(unexpected) < maxSamples && !slices.Contains(unexpected, s) {
				unexpected = append(unexpected, s)
			}
		case Regex:
			ok = e.Pattern.MatchString(asString(v))
		}
		if !ok {
			failing++
			if len(samples) < maxSamples {
				samples = append(samples, object(cols, vals))
			}
		}
		return true
	})
	if err != nil {
		return outcome{}, err
	}
	r.count(KPIValidity, checked-failing, checked)
	o := outcome{passed: failing == 0, failing: failing, samples: samples, observed: map[string]any{"rows": checked}}
	switch e.Kind {
	case Between:
		o.observed["min"], o.observed["max"] = decString(lo), decString(hi)
		o.observed["not_numbers"] = notNumbers
		if failing > 0 {
			o.message = fmt.Sprintf("%d of %d values of %s are outside [%s, %s]", failing, checked, c, bound(e.Min), bound(e.Max))
			if notNumbers > 0 {
				o.message += fmt.Sprintf(" (%d not numbers)", notNumbers)
			}
		}
	case InSet:
		if unexpected == nil {
			unexpected = []string{}
		}
		o.observed["unexpected_values"] = unexpected
		if failing > 0 {
			o.message = fmt.Sprintf("%d of %d values of %s are not in the set, e.g. %q", failing, checked, c, unexpected[0])
		}
	case Regex:
		o.observed["pattern"] = e.Pattern.String()
		if failing > 0 {
			o.message = fmt.Sprintf("%d of %d values of %s do not match %s", failing, checked, c, e.Pattern)
		}
	}
	return o, nil
}

func bound(d *decimal.Decimal) string {
	if d == nil {
		return "…"
	}
	return d.String()
}

func decString(d *decimal.Decimal) any {
	if d == nil {
		return nil
	}
	return d.String()
}

func (r *runner) referential(e *Expectation, refTenant bool) (outcome, error) {
	c := "a." + ident(e.Columns[0])
	cond := c + ` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ` + e.RefTable + ` r WHERE r.` + ident(e.RefColumn) + ` = ` + c
	if refTenant {
		cond += ` AND r.org_id = $1`
	}
	cond += `)`
	nonNull, err := r.scalar(`SELECT count(*) FROM ` + r.table + ` a WHERE a.org_id = $1 AND ` + c + ` IS NOT NULL`)
	if err != nil {
		return outcome{}, err
	}
	orphans, err := r.scalar(`SELECT count(*) FROM ` + r.table + ` a WHERE a.org_id = $1 AND ` + cond)
	if err != nil {
		return outcome{}, err
	}
	r.count(KPIConsistency, nonNull-orphans, nonNull)
	o := outcome{passed: orphans == 0, failing: orphans, observed: map[string]any{"rows": nonNull, "orphans": orphans,
		"references": e.RefTable + "." + e.RefColumn}}
	if orphans > 0 {
		o.message = fmt.Sprintf("%d of %d values of %s have no %s.%s", orphans, nonNull, e.Columns[0], e.RefTable, e.RefColumn)
		cols := r.sampleCols(e.Columns)
		o.samples, err = r.sample(`SELECT `+idents("a.", cols)+` FROM `+r.table+` a WHERE a.org_id = $1 AND `+cond+r.orderByID("a."), cols)
	}
	return o, err
}

func (r *runner) freshness(e *Expectation) (outcome, error) {
	c := ident(e.Columns[0])
	var latest any
	found := false
	err := r.fetch(`SELECT `+c+` FROM `+r.table+` WHERE org_id = $1 AND `+c+` IS NOT NULL ORDER BY `+c+` DESC LIMIT 1`, 1, func(vals []any) bool {
		latest, found = vals[0], true
		return false
	})
	if err != nil {
		return outcome{}, err
	}
	o := outcome{observed: map[string]any{"max_age": e.MaxAge.String(), "latest": nil}}
	if !found {
		r.count(kpiTimeliness, 0, 1)
		o.message = fmt.Sprintf("no row has a %s", e.Columns[0])
		return o, nil
	}
	t, err := asTime(latest)
	if err != nil {
		return outcome{}, fmt.Errorf("reading the latest %s: %w", e.Columns[0], err)
	}
	age := r.now.Sub(t).Truncate(time.Second)
	o.observed["latest"] = t.UTC().Format(time.RFC3339Nano)
	o.observed["age"] = age.String()
	o.passed = age <= e.MaxAge
	if o.passed {
		r.count(kpiTimeliness, 1, 1)
	} else {
		r.count(kpiTimeliness, 0, 1)
		o.message = fmt.Sprintf("the latest %s is %s old, more than %s", e.Columns[0], age, e.MaxAge)
	}
	return o, nil
}

func (r *runner) rowCount(e *Expectation) outcome {
	n := decimal.NewFromInt(r.rows)
	o := outcome{passed: (e.Min == nil || !n.LessThan(*e.Min)) && (e.Max == nil || !n.GreaterThan(*e.Max)),
		observed: map[string]any{"rows": r.rows}}
	if !o.passed {
		o.message = fmt.Sprintf("%d rows, expected [%s, %s]", r.rows, bound(e.Min), bound(e.Max))
	}
	return o
}

func (r *runner) drift(e *Expectation) (outcome, error) {
	var value *decimal.Decimal
	o := outcome{passed: true, observed: map[string]any{"metric": e.Metric, "max_change": e.MaxChange.String()}}
	switch e.Metric {
	case MetricRowCount:
		v := decimal.NewFromInt(r.rows)
		value = &v
	case MetricMean:
		var sum decimal.Decimal
		var n, notNumbers int64
		err := r.fetch(`SELECT `+ident(e.Columns[0])+` FROM `+r.table+` WHERE org_id = $1 AND `+ident(e.Columns[0])+` IS NOT NULL`, 1, func(vals []any) bool {
			d, err := asDecimal(vals[0])
			if err != nil {
				notNumbers++
				return true
			}
			sum = sum.Add(d)
			n++
			return true
		})
		if err != nil {
			return outcome{}, err
		}
		o.observed["rows"], o.observed["not_numbers"] = n, notNumbers
		if n > 0 {
			v := sum.DivRound(decimal.NewFromInt(n), 8)
			value = &v
		}
	}
	o.observed["value"] = decString(value)
	prev, ok := r.prev[e.Name]
	if ok {
		o.observed["previous"] = prev.String()
	} else {
		o.observed["previous"] = nil
	}
	switch {
	case value == nil:
		o.message = fmt.Sprintf("no numeric values of %s: nothing to compare", e.Columns[0])
	case !ok:
		o.message = "no previous run: this value is the baseline"
	case prev.IsZero():
		if !value.IsZero() {
			o.passed = false
			o.message = fmt.Sprintf("%s moved from 0 to %s", e.Metric, value)
		}
		o.observed["change"] = nil
	default:
		change := value.Sub(prev).Abs().DivRound(prev.Abs(), 6)
		o.observed["change"] = change.String()
		if change.GreaterThan(e.MaxChange) {
			o.passed = false
			o.message = fmt.Sprintf("%s moved from %s to %s, a change of %s (more than %s)", e.Metric, prev, value, change, e.MaxChange)
		}
	}
	return o, nil
}

func (r *runner) customSQL(e *Expectation) (outcome, error) {
	n, err := r.scalar("SELECT count(*) FROM (\n" + e.SQL + "\n) q")
	if err != nil {
		return outcome{}, err
	}
	if e.KPI != "" && r.rows > 0 {
		r.count(e.KPI, max(0, r.rows-n), r.rows)
	}
	o := outcome{passed: n == 0, failing: n, observed: map[string]any{"failing_rows": n}}
	if n > 0 {
		o.message = fmt.Sprintf("the query returned %d failing rows", n)
		if len(e.Columns) > 0 {
			o.samples, err = r.sample("SELECT "+idents("q.", e.Columns)+" FROM (\n"+e.SQL+"\n) q", e.Columns)
		}
	}
	return o, err
}
