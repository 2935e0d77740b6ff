// Package calculation is the service that turns an activity file into
// emissions: it reads rows, selects a factor for each, applies the row's
// method with the GHG engine (package ghg) and reports per-row results and
// per-row errors. The CLI's `greenlang calc` uses it now, the API later.
package calculation

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/activityfile"
	"github.com/greenlang/greenlang/internal/factors/builtin"
	"github.com/greenlang/greenlang/internal/factors/table"
)

// Service calculates with one factor library and the GWP table. It is
// read-only after construction and safe for concurrent use.
type Service struct {
	units   *ghg.Units
	lib     *ghg.Library
	gwps    *ghg.GWPTable
	factors []ghg.Factor
}

// DefaultRegions is the region hierarchy of the built-in library.
func DefaultRegions() map[string]string {
	return map[string]string{"GB": "UK"}
}

// NewBuiltin returns a service over the built-in factor library and any
// extra factor tables (the project's table format, e.g. written by
// `greenlang factors import`), which must not repeat a built-in factor.
func NewBuiltin(extra ...io.Reader) (*Service, error) {
	return newBuiltinWith(ghg.NewUnits(), nil, extra)
}

// newBuiltinWith returns a service over the built-in library, further
// factors (published in the store) and factor tables, none of which may
// repeat a factor already in it.
func newBuiltinWith(units *ghg.Units, more []ghg.Factor, tables []io.Reader) (*Service, error) {
	fs, err := builtin.Factors(units)
	if err != nil {
		return nil, fmt.Errorf("loading the built-in factors: %w", err)
	}
	ids := make(map[string]bool, len(fs))
	for _, f := range fs {
		ids[f.ID] = true
	}
	add := func(what string, group []ghg.Factor) error {
		for _, f := range group {
			if ids[f.ID] {
				return fmt.Errorf("%s: factor %q is already in the library", what, f.ID)
			}
			ids[f.ID] = true
		}
		fs = append(fs, group...)
		return nil
	}
	if err := add("published factor sets", more); err != nil {
		return nil, err
	}
	for i, r := range tables {
		group, err := table.Read(r, units)
		if err != nil {
			return nil, fmt.Errorf("factor table %d: %w", i+1, err)
		}
		if err := add(fmt.Sprintf("factor table %d", i+1), group); err != nil {
			return nil, err
		}
	}
	return New(units, fs, DefaultRegions())
}

// New returns a service over factors.
func New(units *ghg.Units, factors []ghg.Factor, regions map[string]string) (*Service, error) {
	reg, err := ghg.NewRegions(regions)
	if err != nil {
		return nil, err
	}
	lib, err := ghg.NewLibrary(reg, factors, nil)
	if err != nil {
		return nil, err
	}
	gwps, err := ghg.LoadGWPSets()
	if err != nil {
		return nil, err
	}
	return &Service{units: units, lib: lib, gwps: gwps, factors: factors}, nil
}

// Units is the unit catalogue.
func (s *Service) Units() *ghg.Units { return s.units }

// Factors lists the library's factors whose set, activity type or id
// contains filter (case-insensitive), sorted by id.
func (s *Service) Factors(filter string) []ghg.Factor {
	f := strings.ToLower(filter)
	var out []ghg.Factor
	for _, x := range s.factors {
		if f == "" || strings.Contains(strings.ToLower(x.ID+" "+x.ActivityType+" "+x.Ref.Set), f) {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ResolveFactorSet reads what a user names to pin a calculation to: a
// publication's full name ("EPA GHG Emission Factors Hub", any case), or a
// short name made of the first word of its factor ids and an edition
// ("epa-2025", "desnz-2024", "eea-2019") or a version ("useeio-v1.2"). It
// returns the publication and, when the short name gave one, the edition.
func (s *Service) ResolveFactorSet(name string) (set string, edition int, err error) {
	want := strings.ToLower(strings.TrimSpace(name))
	short := map[string]bool{}
	for _, f := range s.factors {
		prefix, _, _ := strings.Cut(f.ID, "-")
		switch want {
		case strings.ToLower(f.Ref.Set):
			return f.Ref.Set, 0, nil
		case fmt.Sprintf("%s-%d", prefix, f.Ref.Edition):
			return f.Ref.Set, f.Ref.Edition, nil
		case strings.ToLower(prefix + "-" + f.Ref.Version):
			set = f.Ref.Set
		}
		short[fmt.Sprintf("%s-%d", prefix, f.Ref.Edition)] = true
	}
	if set != "" {
		return set, 0, nil
	}
	names := slices.Sorted(maps.Keys(short))
	return "", 0, fmt.Errorf("no factor set %q (a publication's name, or one of %s)", name, strings.Join(names, ", "))
}

// Factor finds one factor by id.
func (s *Service) Factor(id string) (ghg.Factor, bool) {
	for _, x := range s.factors {
		if x.ID == id {
			return x, true
		}
	}
	return ghg.Factor{}, false
}

// Options tune a calculation.
type Options struct {
	GWPSet    string          // AR4, AR5, AR6, AR6-combined; default AR6
	PinnedSet string          // restrict factors to one publication
	Edition   int             // with PinnedSet: one edition of it
	RFUplift  decimal.Decimal // radiative-forcing uplift for air travel; 0 for none
	Format    string          // FormatCSV (default) or FormatXLSX
	// FX and Index convert spend to a factor's currency and price year; without
	// them spend must already be in the factor's currency and price year.
	FX    *ghg.ExchangeRates
	Index *ghg.PriceIndex
	// Certificates are the energy attribute certificates and contractual
	// instruments the market-based scope 2 method may claim, each kWh once,
	// in the order of the file's rows.
	Certificates []ghg.Certificate
	// Progress, when set, is called after each row.
	Progress func(done int)
	// Sites are the organization's sites by code. When set, a row's site
	// must be one of them, and a row without a region takes its site's
	// (grid region, else country). Ingest sets them from the store.
	Sites map[string]Site
}

// Site is an organization's facility as a calculation sees it.
type Site struct {
	ID     uuid.UUID
	Code   string
	Region string // the grid region, else the country; "" when neither is known
}

// Line is one calculated row.
type Line struct {
	Line      int          `json:"line"`
	Activity  ghg.Activity `json:"-"`
	Result    ghg.Result   `json:"result"`
	Selection []string     `json:"factor_selection"`
	// Market is the market-based result of a scope 2 line in energy units,
	// reported beside the location-based Result; nil otherwise.
	Market          *ghg.Result      `json:"market_result,omitempty"`
	MarketSelection []string         `json:"market_selection,omitempty"`
	Allocations     []ghg.Allocation `json:"certificates_claimed,omitempty"`
}

// Report is the outcome of a calculation.
type Report struct {
	InputHash string                  `json:"input_hash"`
	GWPSet    string                  `json:"gwp_set"`
	Lines     []Line                  `json:"results"`
	Errors    []activityfile.RowError `json:"errors"`
	Total     ghg.Total               `json:"total"`
	// ByScope totals by scope and, for scope 3, category ("scope 3 category 6").
	// Scope 2 there is location-based.
	ByScope map[string]ghg.Total `json:"by_scope"`
	// Scope2Market is scope 2 on the market basis, beside ByScope["scope 2"].
	Scope2Market ghg.Total `json:"scope2_market"`
}

// ResidualMixType is the activity type of residual-mix factors (per kWh, by
// region) the market-based method uses for electricity no certificate
// covers. The built-in publications have none; load them with --library.
const ResidualMixType = "electricity_residual_mix"

// Formats of activity files.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// CalculateFile reads an activity file (CSV unless o.Format says xlsx) and
// calculates every good row. Rows the file or the engine refuses are
// reported with line, column and reason; err is only for a file that cannot
// be read at all or bad options.
func (s *Service) CalculateFile(r io.Reader, o Options) (Report, error) {
	f, err := s.newFileRun(o)
	if err != nil {
		return Report{}, err
	}
	rows, err := f.read(r)
	if err != nil {
		return Report{}, err
	}
	for _, row := range rows {
		f.add(row)
	}
	return f.finish(), nil
}

// fileRun calculates a file's rows one by one into a report.
type fileRun struct {
	s       *Service
	o       Options
	calc    *ghg.Calculator
	pool    *ghg.CertificatePool
	memo    selections
	rep     Report
	acts    []ghg.Activity
	sets    map[string]bool
	results []ghg.Result
	market  []ghg.Result
	done    int
}

func (s *Service) newFileRun(o Options) (*fileRun, error) {
	calc, err := s.calculator(o.GWPSet)
	if err != nil {
		return nil, err
	}
	switch o.Format {
	case "", FormatCSV, FormatXLSX:
	default:
		return nil, fmt.Errorf("unknown activity file format %q (csv or xlsx)", o.Format)
	}
	pool, err := ghg.NewCertificatePool(o.Certificates)
	if err != nil {
		return nil, err
	}
	return &fileRun{s: s, o: o, calc: calc, pool: pool, memo: selections{}, rep: Report{GWPSet: calc.GWPSet()}, sets: map[string]bool{}}, nil
}

// read parses the file, keeping the rows it refuses as errors.
func (f *fileRun) read(r io.Reader) ([]activityfile.Row, error) {
	read := activityfile.Read
	if f.o.Format == FormatXLSX {
		read = activityfile.ReadXLSX
	}
	rows, bad, err := read(r, f.s.units)
	if err != nil {
		return nil, err
	}
	f.rep.Errors = bad
	f.rep.Lines = make([]Line, 0, len(rows))
	f.acts = make([]ghg.Activity, 0, len(rows))
	f.results = make([]ghg.Result, 0, len(rows))
	return rows, nil
}

// add calculates a row: its line, or false when the engine refused it (the
// report keeps the reason).
func (f *fileRun) add(row activityfile.Row) (Line, bool) {
	line, rerr := f.s.calculateRow(f.calc, row, f.o, f.pool, f.memo)
	f.done++
	if f.o.Progress != nil {
		f.o.Progress(f.done)
	}
	if rerr != nil {
		f.rep.Errors = append(f.rep.Errors, *rerr)
		return Line{}, false
	}
	f.acts = append(f.acts, line.Activity)
	f.sets[fmt.Sprintf("%s %s", line.Result.Explanation.Factor.Set, line.Result.Explanation.Factor.Version)] = true
	f.rep.Lines = append(f.rep.Lines, line)
	f.results = append(f.results, line.Result)
	if line.Market != nil {
		f.market = append(f.market, *line.Market)
	}
	return line, true
}

// finish totals the report and gives it its input hash.
func (f *fileRun) finish() Report {
	rep := f.rep
	sort.Slice(rep.Errors, func(i, j int) bool { return rep.Errors[i].Line < rep.Errors[j].Line })
	names := make([]string, 0, len(f.sets))
	for n := range f.sets {
		names = append(names, n)
	}
	rep.InputHash = ghg.InputHash(ghg.RunInput{Activities: f.acts, FactorSets: names, GWPSet: f.calc.GWPSet()})
	rep.Total = ghg.Sum(f.results)
	rep.ByScope = ghg.TotalsBy(f.results, ghg.ScopeKey)
	rep.Scope2Market = ghg.Sum(f.market)
	return rep
}

// Explain calculates one activity and returns its result with the
// factor-selection trail: what `greenlang factors explain` shows.
func (s *Service) Explain(row activityfile.Row, o Options) (Line, error) {
	calc, err := s.calculator(o.GWPSet)
	if err != nil {
		return Line{}, err
	}
	pool, err := ghg.NewCertificatePool(o.Certificates)
	if err != nil {
		return Line{}, err
	}
	l, rerr := s.calculateRow(calc, row, o, pool, nil)
	if rerr != nil {
		return Line{}, rerr
	}
	return l, nil
}

// calculator returns a calculator for a GWP set id, AR6 when empty.
func (s *Service) calculator(gwpSet string) (*ghg.Calculator, error) {
	if gwpSet == "" {
		gwpSet = ghg.AR6
	}
	set, err := s.gwps.Set(gwpSet)
	if err != nil {
		return nil, err
	}
	return ghg.NewCalculator(set.ID(), set), nil
}

// selections remembers, within one run, the factor chosen for each query:
// the rows of a file mostly repeat a few activity types, regions and dates,
// and selection is the same for the same query. Trails are clipped, so a
// line appending to its trail copies it. A nil map remembers nothing.
type selections map[ghg.Query]selected

type selected struct {
	sel ghg.Selection
	err error
}

// maxSelections bounds what a run remembers.
const maxSelections = 1 << 16

func (m selections) choose(lib *ghg.Library, q ghg.Query) (ghg.Selection, error) {
	if r, ok := m[q]; ok {
		return r.sel, r.err
	}
	sel, err := lib.Select(q)
	sel.Trail = slices.Clip(sel.Trail)
	if m != nil && len(m) < maxSelections {
		m[q] = selected{sel, err}
	}
	return sel, err
}

func (s *Service) calculateRow(calc *ghg.Calculator, row activityfile.Row, o Options, pool *ghg.CertificatePool, memo selections) (Line, *activityfile.RowError) {
	a := row.Activity
	fail := func(col string, err error) (Line, *activityfile.RowError) {
		value := map[string]string{activityfile.ColActivityType: a.Type, activityfile.ColUnit: a.Quantity.Unit.Symbol,
			activityfile.ColQuantity: a.Quantity.Value.String(), activityfile.ColRegion: a.Region, activityfile.ColSite: a.Site}[col]
		return Line{}, &activityfile.RowError{Line: row.Line, Column: col, Value: value, Reason: err.Error()}
	}
	if a.Site != "" && o.Sites != nil {
		site, ok := o.Sites[a.Site]
		if !ok {
			return fail(activityfile.ColSite, fmt.Errorf("the organization has no site with this code (greenlang site list)"))
		}
		if a.Region == "" {
			a.Region = site.Region
		}
	}
	if row.Method == ghg.MethodDirectMeasurement {
		// A measured mass of gas: there is no factor to select.
		res, err := calc.DirectMeasurement(a)
		if err != nil {
			return fail(inputErrorColumn(err), err)
		}
		return Line{Line: row.Line, Activity: a, Result: res, Selection: []string{"measured at the source: no emission factor selected"}}, nil
	}
	sel, err := memo.choose(s.lib, ghg.Query{ActivityType: a.Type, Region: a.Region, Date: a.PeriodStart,
		PinnedSet: o.PinnedSet, PinnedEdition: o.Edition, Dim: a.Quantity.Unit.Dim, Unit: a.Quantity.Unit.Symbol, Basis: a.HeatBasis})
	if err != nil {
		return fail(activityfile.ColActivityType, err)
	}
	method := row.Method
	scope := row.Scope
	var res ghg.Result
	switch {
	case method == ghg.MethodAirTravel:
		res, err = calc.AirTravel(a, sel.Factor, o.RFUplift)
	case method == ghg.MethodSpendBased:
		// Without configured exchange rates and a price index, spend must be
		// in the factor's own currency and price year.
		fx, idx := o.FX, ghg.PriceIndex{Currency: sel.Factor.Per.Symbol, Name: "none configured", ByYear: map[int]decimal.Decimal{sel.Factor.PriceYear: decimal.NewFromInt(1)}}
		if fx == nil {
			fx = ghg.NewExchangeRates()
		}
		if o.Index != nil {
			idx = *o.Index
		}
		res, err = calc.SpendBased(a, sel.Factor, max(row.Category, 1), fx, idx)
	case method != "":
		res, err = calc.Apply(method, a, sel.Factor, row.Category)
	case scope != 0:
		res, err = calc.ActivityFactor(a, sel.Factor, scope, row.Category, ghg.MethodActivityFactor)
	default:
		return fail(activityfile.ColMethod, fmt.Errorf("give a method or a scope for this row"))
	}
	if err != nil {
		return fail(inputErrorColumn(err), err)
	}
	line := Line{Line: row.Line, Activity: a, Result: res, Selection: sel.Trail}
	if res.Scope == 2 && a.Quantity.Unit.Dim == ghg.Energy {
		if err := s.market(calc, &line, sel.Factor, pool, memo); err != nil {
			return fail(activityfile.ColQuantity, err)
		}
	}
	return line, nil
}

// inputErrorColumn is the activity-file column an engine error names, the
// method column when it names none.
func inputErrorColumn(err error) string {
	var ie *ghg.InputError
	if errors.As(err, &ie) {
		return ie.Field
	}
	return activityfile.ColMethod
}

// market adds the market-based result of a scope 2 line, in the order of
// the GHG Protocol Scope 2 Guidance's quality criteria: certificates and
// contracts first (matched by volume, period and market), then the residual
// mix of the region for electricity, and where no residual mix is
// available the location-based factor, which the report must disclose.
func (s *Service) market(calc *ghg.Calculator, l *Line, grid ghg.Factor, pool *ghg.CertificatePool, memo selections) error {
	a := l.Activity
	resid := grid
	var trail []string
	if strings.Contains(a.Type, "electricity") {
		if sel, err := memo.choose(s.lib, ghg.Query{ActivityType: ResidualMixType, Region: a.Region, Date: a.PeriodStart, Dim: ghg.Energy}); err == nil {
			resid, trail = sel.Factor, sel.Trail
		}
	}
	if resid.ID == grid.ID {
		trail = append(trail, fmt.Sprintf("no residual mix for %q: the location-based factor %q stands in for the uncovered remainder (disclose it)", a.Region, grid.ID))
	}
	market, _, _ := strings.Cut(a.Region, "-")
	r, err := calc.Scope2(a, grid, ghg.MarketInputs{Market: market, Certificates: pool, ResidualMix: resid})
	if err != nil {
		return err
	}
	l.Market, l.MarketSelection, l.Allocations = &r.Market, trail, r.Allocations
	return nil
}
