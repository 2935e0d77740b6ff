package quality

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"
)

//go:embed suites/*.yaml
var builtin embed.FS

// Builtin returns the suites shipped with GreenLang (internal/quality/suites),
// sorted by name.
func Builtin() ([]Suite, error) {
	return loadFS(builtin, "suites", "suites")
}

// Load reads every *.yaml and *.yml file of dir as a suite, sorted by name.
// Errors name the file and line.
func Load(dir string) ([]Suite, error) {
	return loadFS(os.DirFS(dir), ".", dir)
}

func loadFS(fsys fs.FS, dir, shown string) ([]Suite, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading suites in %s: %w", shown, err)
	}
	var out []Suite
	seen := map[string]string{}
	for _, ent := range entries {
		ext := path.Ext(ent.Name())
		if ent.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		name := filepath.Join(shown, ent.Name())
		b, err := fs.ReadFile(fsys, path.Join(dir, ent.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading suite %s: %w", name, err)
		}
		s, err := Parse(name, b)
		if err != nil {
			return nil, err
		}
		if other, dup := seen[s.Name]; dup {
			return nil, fmt.Errorf("%s: suite %q is also defined in %s", name, s.Name, other)
		}
		seen[s.Name] = name
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Parse reads one suite from a YAML document; name is the file name used
// in errors ("suites/activity.yaml:12: expectation 3 (between): "min" is
// not a number"). Unknown keys are errors.
func Parse(name string, data []byte) (Suite, error) {
	p := parser{file: name}
	s, err := p.suite(data)
	if err != nil {
		return Suite{}, err
	}
	if err := s.check(); err != nil {
		return Suite{}, err
	}
	return s, nil
}

type parser struct {
	file string
	ctx  string // "expectation 3 (between)" while reading one
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if p.ctx != "" {
		msg = p.ctx + ": " + msg
	}
	if n == nil || n.Line == 0 {
		return fmt.Errorf("%s: %s", p.file, msg)
	}
	return fmt.Errorf("%s:%d: %s", p.file, n.Line, msg)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) suite(data []byte) (Suite, error) {
	s := Suite{Source: p.file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			return s, fmt.Errorf("%s:%s: invalid YAML: %s", p.file, m[1], m[2])
		}
		return s, fmt.Errorf("%s: invalid YAML: %s", p.file, strings.TrimPrefix(msg, "yaml: "))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return s, fmt.Errorf("%s: empty suite file", p.file)
	}
	root := doc.Content[0]
	fields, err := p.mapping(root, "the suite", "suite", "dataset", "description", "expectations")
	if err != nil {
		return s, err
	}
	if s.Name, err = p.requiredString(root, fields, "suite"); err != nil {
		return s, err
	}
	if !suiteRE.MatchString(s.Name) {
		return s, p.errf(fields["suite"], "suite name %q: lower case letters, digits, '-' and '_'", s.Name)
	}
	if s.Dataset, err = p.requiredString(root, fields, "dataset"); err != nil {
		return s, err
	}
	if !validTable(s.Dataset) {
		return s, p.errf(fields["dataset"], "dataset %q is not a schema-qualified table name (schema.table, lower case)", s.Dataset)
	}
	if n := fields["description"]; n != nil {
		if s.Description, err = p.str(n, "description"); err != nil {
			return s, err
		}
	}
	list := fields["expectations"]
	if list == nil {
		return s, p.errf(root, "\"expectations\" is required")
	}
	if list.Kind != yaml.SequenceNode {
		return s, p.errf(list, "\"expectations\" must be a list")
	}
	if len(list.Content) == 0 {
		return s, p.errf(list, "\"expectations\" is empty")
	}
	for i, n := range list.Content {
		e, err := p.expectation(i, n)
		if err != nil {
			return s, err
		}
		s.Expectations = append(s.Expectations, e)
	}
	return s, nil
}

// keys each kind accepts besides kind, name and severity.
var kindKeys = map[Kind][]string{
	NotNull:     {"column"},
	Unique:      {"column", "columns"},
	Between:     {"column", "min", "max"},
	InSet:       {"column", "values"},
	Regex:       {"column", "pattern"},
	Referential: {"column", "ref_table", "ref_column"},
	Freshness:   {"column", "max_age"},
	RowCount:    {"min", "max"},
	Drift:       {"column", "metric", "max_change"},
	CustomSQL:   {"sql", "columns", "kpi"},
}

func (p *parser) expectation(i int, n *yaml.Node) (Expectation, error) {
	e := Expectation{Line: n.Line, Severity: Fail}
	p.ctx = fmt.Sprintf("expectation %d", i+1)
	defer func() { p.ctx = "" }()
	if n.Kind != yaml.MappingNode {
		return e, p.errf(n, "must be a mapping with a \"kind\"")
	}
	kn := mapGet(n, "kind")
	if kn == nil {
		return e, p.errf(n, "\"kind\" is required (one of %s)", kindList())
	}
	k, err := p.str(kn, "kind")
	if err != nil {
		return e, err
	}
	e.Kind = Kind(k)
	if _, ok := kindKeys[e.Kind]; !ok {
		return e, p.errf(kn, "unknown kind %q (one of %s)", k, kindList())
	}
	p.ctx = fmt.Sprintf("expectation %d (%s)", i+1, e.Kind)
	f, err := p.mapping(n, "", append([]string{"kind", "name", "severity"}, kindKeys[e.Kind]...)...)
	if err != nil {
		return e, err
	}
	if v := f["name"]; v != nil {
		if e.Name, err = p.str(v, "name"); err != nil {
			return e, err
		}
		if strings.TrimSpace(e.Name) == "" {
			return e, p.errf(v, "\"name\" is empty")
		}
	}
	if v := f["severity"]; v != nil {
		sev, err := p.str(v, "severity")
		if err != nil {
			return e, err
		}
		if sev != string(Fail) && sev != string(Warn) {
			return e, p.errf(v, "\"severity\" %q: warn or fail", sev)
		}
		e.Severity = Severity(sev)
	}
	if v := f["column"]; v != nil {
		c, err := p.column(v, "column")
		if err != nil {
			return e, err
		}
		e.Columns = []string{c}
	}
	if v := f["columns"]; v != nil {
		if f["column"] != nil {
			return e, p.errf(v, "give \"column\" or \"columns\", not both")
		}
		if e.Columns, err = p.columns(v); err != nil {
			return e, err
		}
	}
	for _, key := range []string{"min", "max"} {
		v := f[key]
		if v == nil {
			continue
		}
		d, err := p.number(v, key)
		if err != nil {
			return e, err
		}
		if key == "min" {
			e.Min = &d
		} else {
			e.Max = &d
		}
	}
	if v := f["values"]; v != nil {
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			return e, p.errf(v, "\"values\" must be a non-empty list")
		}
		for _, x := range v.Content {
			s, err := p.str(x, "values")
			if err != nil {
				return e, err
			}
			e.Values = append(e.Values, s)
		}
	}
	if v := f["pattern"]; v != nil {
		s, err := p.str(v, "pattern")
		if err != nil {
			return e, err
		}
		if e.Pattern, err = regexp.Compile(s); err != nil {
			return e, p.errf(v, "\"pattern\" is not a valid regular expression: %v", err)
		}
	}
	if v := f["ref_table"]; v != nil {
		if e.RefTable, err = p.str(v, "ref_table"); err != nil {
			return e, err
		}
		if !validTable(e.RefTable) {
			return e, p.errf(v, "\"ref_table\" %q is not a schema-qualified table name", e.RefTable)
		}
	}
	if e.Kind == Referential {
		e.RefColumn = "id"
		if v := f["ref_column"]; v != nil {
			if e.RefColumn, err = p.column(v, "ref_column"); err != nil {
				return e, err
			}
		}
	}
	if v := f["max_age"]; v != nil {
		s, err := p.str(v, "max_age")
		if err != nil {
			return e, err
		}
		if e.MaxAge, err = parseAge(s); err != nil {
			return e, p.errf(v, "\"max_age\" %q is not a duration like 36h, 90m or 7d", s)
		}
		if e.MaxAge <= 0 {
			return e, p.errf(v, "\"max_age\" must be positive")
		}
	}
	if v := f["metric"]; v != nil {
		if e.Metric, err = p.str(v, "metric"); err != nil {
			return e, err
		}
	}
	if v := f["max_change"]; v != nil {
		if e.MaxChange, err = p.number(v, "max_change"); err != nil {
			return e, err
		}
		if !e.MaxChange.IsPositive() {
			return e, p.errf(v, "\"max_change\" must be positive (0.5 allows ±50%%)")
		}
	}
	if v := f["sql"]; v != nil {
		s, err := p.str(v, "sql")
		if err != nil {
			return e, err
		}
		s = strings.TrimSpace(s)
		e.SQL = strings.TrimSpace(strings.TrimSuffix(s, ";"))
		if err := checkCustomSQL(e.SQL); err != nil {
			return e, p.errf(v, "%v", err)
		}
	}
	if v := f["kpi"]; v != nil {
		if e.KPI, err = p.str(v, "kpi"); err != nil {
			return e, err
		}
		if e.KPI != KPIAccuracy && e.KPI != KPIValidity && e.KPI != KPIConsistency {
			return e, p.errf(v, "\"kpi\" %q: accuracy, validity or consistency", e.KPI)
		}
	}

	// Required fields, per kind.
	need := func(key string) error {
		if f[key] == nil {
			return p.errf(n, "%q is required", key)
		}
		return nil
	}
	var req []string
	switch e.Kind {
	case NotNull, Between, InSet, Regex, Referential, Freshness:
		req = append(req, "column")
	case Unique:
		if f["column"] == nil && f["columns"] == nil {
			return e, p.errf(n, "\"column\" or \"columns\" is required")
		}
	case Drift:
		req = append(req, "metric", "max_change")
	case CustomSQL:
		req = append(req, "sql")
	}
	switch e.Kind {
	case InSet:
		req = append(req, "values")
	case Regex:
		req = append(req, "pattern")
	case Referential:
		req = append(req, "ref_table")
	case Freshness:
		req = append(req, "max_age")
	}
	for _, key := range req {
		if err := need(key); err != nil {
			return e, err
		}
	}
	if (e.Kind == Between || e.Kind == RowCount) && e.Min == nil && e.Max == nil {
		return e, p.errf(n, "\"min\", \"max\" or both are required")
	}
	if e.Min != nil && e.Max != nil && e.Min.GreaterThan(*e.Max) {
		return e, p.errf(f["min"], "\"min\" %s is greater than \"max\" %s", e.Min, e.Max)
	}
	if e.Kind == RowCount {
		for _, key := range []string{"min", "max"} {
			if v := f[key]; v != nil {
				if d, _ := p.number(v, key); !d.IsInteger() || d.IsNegative() {
					return e, p.errf(v, "%q must be a whole number of rows", key)
				}
			}
		}
	}
	if e.Kind == Drift {
		switch e.Metric {
		case MetricMean:
			if len(e.Columns) != 1 {
				return e, p.errf(n, "metric mean needs \"column\"")
			}
		case MetricRowCount:
			if len(e.Columns) != 0 {
				return e, p.errf(f["column"], "metric row_count takes no \"column\"")
			}
		default:
			return e, p.errf(f["metric"], "\"metric\" %q: mean or row_count", e.Metric)
		}
	}
	if e.Name == "" {
		e.Name = defaultName(i, &e)
	}
	return e, nil
}

// defaultName names an expectation by its kind and columns: not_null(unit),
// unique(org_id,serial), drift(mean:quantity), custom_sql#4.
func defaultName(i int, e *Expectation) string {
	switch e.Kind {
	case CustomSQL:
		return fmt.Sprintf("custom_sql#%d", i+1)
	case RowCount:
		return "row_count"
	case Drift:
		if e.Metric == MetricRowCount {
			return "drift(row_count)"
		}
		return "drift(mean:" + strings.Join(e.Columns, ",") + ")"
	}
	return string(e.Kind) + "(" + strings.Join(e.Columns, ",") + ")"
}

func kindList() string {
	var s []string
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

// parseAge is time.ParseDuration that also takes whole days ("7d").
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 36500 {
			return 0, errors.New("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mapping reads n as a mapping of known keys to their value nodes; what
// names the node in messages when p.ctx does not.
func (p *parser) mapping(n *yaml.Node, what string, known ...string) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s must be a mapping", what)
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errf(k, "keys must be plain strings")
		}
		if !slices.Contains(known, k.Value) {
			return nil, p.errf(k, "unknown key %q (known: %s)", k.Value, strings.Join(known, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, p.errf(k, "key %q given twice", k.Value)
		}
		out[k.Value] = n.Content[i+1]
	}
	return out, nil
}

func (p *parser) requiredString(parent *yaml.Node, f map[string]*yaml.Node, key string) (string, error) {
	n := f[key]
	if n == nil {
		return "", p.errf(parent, "%q is required", key)
	}
	s, err := p.str(n, key)
	if err == nil && s == "" {
		err = p.errf(n, "%q is empty", key)
	}
	return s, err
}

func (p *parser) str(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%q must be a single value", key)
	}
	return n.Value, nil
}

func (p *parser) column(n *yaml.Node, key string) (string, error) {
	s, err := p.str(n, key)
	if err != nil {
		return "", err
	}
	if !validColumn(s) {
		return "", p.errf(n, "%q %q is not a column name (lower case letters, digits and '_')", key, s)
	}
	return s, nil
}

func (p *parser) columns(n *yaml.Node) ([]string, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, p.errf(n, "\"columns\" must be a non-empty list")
	}
	var out []string
	for _, x := range n.Content {
		c, err := p.column(x, "columns")
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, c) {
			return nil, p.errf(x, "column %q is listed twice", c)
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parser) number(n *yaml.Node, key string) (decimal.Decimal, error) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return decimal.Decimal{}, p.errf(n, "%q is not a number", key)
	}
	d, err := decimal.NewFromString(strings.ReplaceAll(n.Value, "_", ""))
	if err != nil {
		return decimal.Decimal{}, p.errf(n, "%q is not a number", key)
	}
	// Comparing decimals of far-apart exponents scales one by a power of
	// ten: keep numbers to a sane range.
	if e := d.Exponent(); e > 40 || e < -40 {
		return decimal.Decimal{}, p.errf(n, "%q is out of range", key)
	}
	return d, nil
}
