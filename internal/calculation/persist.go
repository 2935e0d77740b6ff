package calculation

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/store"
)

// Stored says what Persist wrote.
type Stored struct {
	RunID      uuid.UUID `json:"run_id"`
	Sources    int       `json:"sources_created"`
	Activities int64     `json:"activity_records"`
	Emissions  int64     `json:"calculated_emissions"`
}

func sourceName(r ghg.Result, activityType string) string {
	if r.Category != 0 {
		return fmt.Sprintf("%s (scope %d, category %d)", activityType, r.Scope, r.Category)
	}
	return fmt.Sprintf("%s (scope %d)", activityType, r.Scope)
}

// activityAttrs is what an activity record keeps of the file row beyond its
// columns, so a recalculation can rebuild the activity exactly.
type activityAttrs struct {
	Line           int             `json:"line"`
	Region         string          `json:"region"`
	UncertaintyPct decimal.Decimal `json:"uncertainty_pct"`
	Correction     bool            `json:"correction"`
	PriceYear      int             `json:"price_year,omitempty"`
	HeatBasis      ghg.HeatBasis   `json:"heat_basis,omitempty"`
}

// lineage is what a stored result keeps of its explanation: a reference
// to the explanation template its run's parameters hold (the part every
// result calculated with the same factor, units, method and GWP set shares,
// with the selection trail) and what is its own. A run of many thousand
// rows stores each factor's explanation once, not once per row, so results
// stay small and quick to write; StoredExplanation puts them together.
// Results stored before templates existed hold the whole explanation.
type lineage struct {
	Ref      string          `json:"explanation_ref,omitempty"`
	FactorID string          `json:"factor_id"`
	Quantity decimal.Decimal `json:"quantity"`
	Amount   decimal.Decimal `json:"amount"`

	Explanation *ghg.Explanation `json:"explanation,omitempty"`
	Selection   []string         `json:"selection,omitempty"`
}

// template is the shared part of results' explanations: the explanation
// with a zero quantity and amount, which each result's lineage supplies.
type template struct {
	Explanation ghg.Explanation `json:"explanation"`
	Selection   []string        `json:"selection"`
}

// runParams are a calculation run's parameters.
type runParams struct {
	InputHash    string              `json:"input_hash,omitempty"`
	RowsRefused  *int                `json:"rows_refused,omitempty"`
	Explanations map[string]template `json:"explanations,omitempty"`
}

// templates collects a run's explanation templates, naming them e1, e2, …
// in the order results first use them, so the same input stores the same
// parameters.
type templates struct {
	refs  map[string]string
	byRef map[string]template
	key   []byte            // keyOf's buffer, reused: looking a key up copies nothing
	heads map[string][]byte // lineageJSON's encoded reference and factor id by reference
}

func newTemplates() *templates {
	return &templates{refs: map[string]string{}, byRef: map[string]template{}, heads: map[string][]byte{}}
}

// lineage returns a result's lineage, adding its template when new.
func (t *templates) lineage(e ghg.Explanation, selection []string) lineage {
	k := t.keyOf(e, selection)
	ref, ok := t.refs[string(k)]
	if !ok {
		ref = "e" + strconv.Itoa(len(t.refs)+1)
		t.refs[string(k)] = ref
		shared := e
		shared.Quantity, shared.Amount = decimal.Decimal{}, decimal.Decimal{}
		t.byRef[ref] = template{Explanation: shared, Selection: selection}
	}
	return lineage{Ref: ref, FactorID: e.FactorID, Quantity: e.Quantity, Amount: e.Amount}
}

// lineageJSON is the JSON of lineage(e, selection), as encoding/json
// writes it, built from the template's part (reference and factor id,
// encoded once per template) and the result's quantity and amount: one
// allocation per result instead of a reflective encoding.
func (t *templates) lineageJSON(e ghg.Explanation, selection []string) []byte {
	l := t.lineage(e, selection)
	head, ok := t.heads[l.Ref]
	if !ok {
		b, _ := json.Marshal(struct {
			Ref      string `json:"explanation_ref,omitempty"`
			FactorID string `json:"factor_id"`
		}{l.Ref, l.FactorID})
		head = b[:len(b)-1] // without its closing brace
		t.heads[l.Ref] = head
	}
	q, a := l.Quantity.String(), l.Amount.String()
	out := make([]byte, 0, len(head)+len(q)+len(a)+30)
	out = append(out, head...)
	out = append(out, `,"quantity":"`...)
	out = append(out, q...)
	out = append(out, `","amount":"`...)
	out = append(out, a...)
	return append(out, `"}`...)
}

// keyOf encodes every part of an explanation but its quantity and amount,
// each length-prefixed, so that two explanations share a template exactly
// when those parts are equal. The key is valid until the next call.
func (t *templates) keyOf(e ghg.Explanation, selection []string) []byte {
	b := t.key[:0]
	put := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	putMap := func(m map[string]decimal.Decimal) {
		put(strconv.Itoa(len(m)))
		for _, g := range slices.Sorted(maps.Keys(m)) {
			put(g)
			put(m[g].String())
		}
	}
	put(e.ActivityType)
	put(e.Unit)
	put(e.Note)
	put(strconv.Itoa(len(e.Conversions)))
	for _, c := range e.Conversions {
		put(c.From)
		put(c.To)
		put(c.Factor.String())
		put(c.Note)
	}
	put(e.Factor.Set)
	put(e.Factor.Version)
	put(e.Factor.SourceTable)
	put(e.Factor.SourceRow)
	put(strconv.Itoa(e.Factor.Edition))
	put(e.FactorID)
	putMap(e.FactorValues)
	put(e.GWPSet)
	putMap(e.GWPs)
	put(e.Method)
	put(e.EngineVersion)
	put(strconv.Itoa(len(selection)))
	for _, s := range selection {
		put(s)
	}
	t.key = b
	return b
}

// StoredExplanation is a stored result's explanation and factor-selection
// trail, from its lineage and the parameters of the run that stored it.
func StoredExplanation(run *store.CalculationRun, e store.CalculatedEmission) (ghg.Explanation, []string, error) {
	var lin lineage
	if err := json.Unmarshal(e.Lineage, &lin); err != nil {
		return ghg.Explanation{}, nil, fmt.Errorf("result %s: reading its lineage: %w", e.ID, err)
	}
	if lin.Explanation != nil {
		return *lin.Explanation, lin.Selection, nil
	}
	if run == nil || run.ID != e.RunID {
		return ghg.Explanation{}, nil, fmt.Errorf("result %s: its explanation is in run %s", e.ID, e.RunID)
	}
	var p runParams
	if err := json.Unmarshal(run.Parameters, &p); err != nil {
		return ghg.Explanation{}, nil, fmt.Errorf("run %s: reading its parameters: %w", run.ID, err)
	}
	t, ok := p.Explanations[lin.Ref]
	if !ok {
		return ghg.Explanation{}, nil, fmt.Errorf("result %s: run %s has no explanation %q", e.ID, run.ID, lin.Ref)
	}
	x := t.Explanation
	x.Quantity, x.Amount = lin.Quantity, lin.Amount
	return x, t.Selection, nil
}

// ErrUnreadable is returned (wrapped, with the reason) by Ingest for a
// file that cannot be read at all: no header, a missing required column,
// an unknown column, not a spreadsheet.
var ErrUnreadable = errors.New("the activity file cannot be read")

// ErrNothingToStore is returned by Ingest for a file of at most one chunk
// (2,500 rows) none of whose rows can be calculated: nothing is stored,
// and the report lists every row's error.
var ErrNothingToStore = errors.New("no row of the file can be calculated; nothing was stored")

// ErrAlreadyStored is returned (wrapped) by Persist for a report whose
// input hash a stored run already has.
var ErrAlreadyStored = errors.New("these activities are already stored")

// Persist stores a report for org as one calculation run, in one
// transaction: an emission source per activity type and scope (created when
// missing), the activity records, and each result as a calculated emission
// whose lineage refers to the explanation templates the run keeps. The run
// records the report's input hash, GWP set and engine version. A report
// whose input hash is already stored is refused (ErrAlreadyStored): storing
// the same activities twice would count them twice; recalculate instead.
// Ingest does the same from a file, calculating beside the writing.
func Persist(ctx context.Context, st *store.Store, org uuid.UUID, rep Report, now time.Time) (Stored, error) {
	w, err := newRunWriter(ctx, st, org, now)
	if err != nil {
		return Stored{}, err
	}
	for _, l := range rep.Lines {
		if _, ok := w.sites[l.Activity.Site]; l.Activity.Site != "" && !ok {
			return Stored{}, fmt.Errorf("line %d: the organization has no site %q (greenlang site list)", l.Line, l.Activity.Site)
		}
	}
	chunk := w.chunk(rep.Lines)
	w.complete(w.run, rep, now)
	saved, err := st.SaveCalculation(ctx, org, store.CalculationBatch{Run: w.run, Sources: chunk.Sources, Activities: chunk.Activities, Emissions: chunk.Emissions})
	return stored(ctx, st, org, rep, saved, err)
}

// IngestForOrganization calculates an activity file with org's factors
// (its pinned set applies unless o names one, and its overrides) and
// stores it as one run, as the API's and the dashboard's uploads do. The
// organization's service comes from svcs (nil: built for this call).
func IngestForOrganization(ctx context.Context, st *store.Store, svcs *Services, org uuid.UUID, r io.Reader, o Options, now time.Time) (Report, Stored, error) {
	svc, of, err := svcs.ForOrganization(ctx, st, org)
	if err != nil {
		return Report{}, Stored{}, err
	}
	of.ApplyPin(&o)
	return svc.Ingest(ctx, st, org, r, o, now)
}

// ingestChunk is how many rows Ingest calculates ahead of the store;
// firstChunk is the size of the first: small, so that the store starts
// writing soon after the file is read.
const (
	ingestChunk = 2500
	firstChunk  = 500
)

// Ingest reads and calculates an activity file and stores it for org as one
// run, as CalculateFile and Persist do together, but in chunks: the next
// chunk is calculated while the store writes the last one, in the one
// transaction of the run. It returns the report whatever happens to the
// store, so the caller can show the results and the rows refused; with an
// error nothing was stored. The report's Lines are nil only when the file
// (or o) could not be read at all.
func (s *Service) Ingest(ctx context.Context, st *store.Store, org uuid.UUID, r io.Reader, o Options, now time.Time) (Report, Stored, error) {
	w, err := newRunWriter(ctx, st, org, now)
	if err != nil {
		return Report{}, Stored{}, err
	}
	if o.Sites == nil {
		o.Sites = w.sites
	}
	f, err := s.newFileRun(o)
	if err != nil {
		return Report{}, Stored{}, err
	}
	rows, err := f.read(r)
	if err != nil {
		return Report{}, Stored{}, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	// The first chunk is calculated before the store is written, and runs
	// on until it has a row to store: a file with none stores nothing.
	var first []Line
	next := 0 // the first row not calculated yet
	for len(first) == 0 && next < len(rows) {
		end := min(next+firstChunk, len(rows))
		if first == nil {
			first = make([]Line, 0, end-next) // a small file allocates for its rows, not a chunk
		}
		for _, row := range rows[next:end] {
			if l, ok := f.add(row); ok {
				first = append(first, l)
			}
		}
		next = end
	}
	if len(first) == 0 {
		rep := f.finish()
		if rep.Lines == nil {
			rep.Lines = []Line{}
		}
		return rep, Stored{}, ErrNothingToStore
	}
	began := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan store.CalculationChunk, 2)
	var failed atomic.Bool // the store refused the run: calculate on for the report, build no more records
	// rep is the finished report. The goroutine totals it after sending the
	// last chunk, while the store writes that chunk, and closes chunks
	// after: whoever sees chunks closed may read it.
	var rep Report
	go func() {
		defer close(chunks)
		defer func() { rep = f.finish() }()
		send := func(lines []Line) bool {
			if failed.Load() {
				return true
			}
			select {
			case chunks <- w.chunk(lines):
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !send(first) {
			return
		}
		var lines []Line // not first's array: first may still be being written
		for start := next; start < len(rows); start += ingestChunk {
			if lines == nil {
				lines = make([]Line, 0, min(ingestChunk, len(rows)-start))
			}
			lines = lines[:0]
			for _, row := range rows[start:min(start+ingestChunk, len(rows))] {
				if l, ok := f.add(row); ok {
					lines = append(lines, l)
				}
			}
			if !send(lines) {
				return
			}
		}
	}()
	saved, err := st.SaveCalculationStream(ctx, org, store.CalculationStream{Run: w.run,
		Next: func() (store.CalculationChunk, bool, error) {
			c, ok := <-chunks
			if !ok && ctx.Err() != nil {
				return c, false, ctx.Err() // the caller left: the chunks stopped early, store nothing
			}
			return c, ok, nil
		},
		Complete: func(run *store.CalculationRun) {
			w.complete(run, rep, now.Add(time.Since(began)))
		}})
	if err != nil {
		failed.Store(true)
		for range chunks { // the calculation goes on to the end, for the report
		}
	}
	out, err := stored(ctx, st, org, rep, saved, err)
	return rep, out, err
}

// runWriter turns calculated lines into a run's records: the emission
// sources they need (created when missing), activity records, and results
// with lineage referring to the run's explanation templates.
type runWriter struct {
	run     *store.CalculationRun
	sources map[string]uuid.UUID
	sites   map[string]Site
	tpl     *templates
}

func newRunWriter(ctx context.Context, st *store.Store, org uuid.UUID, now time.Time) (*runWriter, error) {
	if _, err := st.OrganizationGet(ctx, org); err != nil {
		return nil, err
	}
	sources, err := sourcesByName(ctx, st, org)
	if err != nil {
		return nil, err
	}
	sites, err := Sites(ctx, st, org)
	if err != nil {
		return nil, err
	}
	run := &store.CalculationRun{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, Status: "running", EngineVersion: ghg.EngineVersion,
		Parameters: store.JSON("{}"), StartedAt: now}
	return &runWriter{run: run, sources: sources, sites: sites, tpl: newTemplates()}, nil
}

// Sites are org's sites by code, for Options.Sites.
func Sites(ctx context.Context, st *store.Store, org uuid.UUID) (map[string]Site, error) {
	out := map[string]Site{}
	err := st.Sites().Each(ctx, org, func(s *store.Site) error {
		if s.Code != "" { // a file names a site by its code
			out[s.Code] = Site{ID: s.ID, Code: s.Code, Region: cmp.Or(s.Region, s.Country)}
		}
		return nil
	})
	return out, err
}

// chunk makes the records of lines, with the sources they need that are
// not stored yet.
func (w *runWriter) chunk(lines []Line) store.CalculationChunk {
	var c store.CalculationChunk
	c.Activities = make([]store.ActivityRecord, len(lines))
	c.Emissions = make([]store.CalculatedEmission, 0, len(lines))
	for i, l := range lines {
		a := l.Activity
		n := sourceName(l.Result, a.Type)
		src, ok := w.sources[n]
		if !ok {
			s := &store.EmissionSource{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, Name: n, Scope: l.Result.Scope, SourceType: a.Type,
				Active: true, Description: "created by greenlang calc"}
			if l.Result.Category != 0 {
				s.Category = &l.Result.Category
			}
			c.Sources = append(c.Sources, s)
			src, w.sources[n] = s.ID, s.ID
		}
		dq := a.DataQuality
		if dq == 0 {
			dq = 3
		}
		attrs, _ := json.Marshal(activityAttrs{Line: l.Line, Region: a.Region, UncertaintyPct: a.UncertaintyPct,
			Correction: a.Correction, PriceYear: a.Quantity.PriceYear, HeatBasis: a.HeatBasis})
		var site *uuid.UUID
		if s, ok := w.sites[a.Site]; ok && a.Site != "" {
			site = &s.ID
		}
		c.Activities[i] = store.ActivityRecord{Meta: store.Meta{ID: uuid.Must(uuid.NewV7())}, SourceID: src, SiteID: site, ActivityType: a.Type,
			Quantity: a.Quantity.Value, Unit: a.Quantity.Unit.Symbol, PeriodStart: a.PeriodStart, PeriodEnd: periodEnd(a),
			DataQuality: dq, Origin: "file", OriginRef: a.ID, Attributes: attrs}
		c.Emissions = append(c.Emissions, emissionRows(l, c.Activities[i].ID, src, site, w.tpl)...)
	}
	return c
}

// complete gives the run what only the whole report knows.
func (w *runWriter) complete(run *store.CalculationRun, rep Report, finished time.Time) {
	refused := len(rep.Errors)
	params, _ := json.Marshal(runParams{InputHash: rep.InputHash, RowsRefused: &refused, Explanations: w.tpl.byRef})
	run.Status, run.GWPSet, run.Parameters, run.FinishedAt = "succeeded", rep.GWPSet, params, &finished
	run.RecordsIn, run.RecordsOut = int64(len(rep.Lines)+len(rep.Errors)), int64(len(rep.Lines))
}

// stored reads what the store said about a run.
func stored(ctx context.Context, st *store.Store, org uuid.UUID, rep Report, saved store.SavedCalculation, err error) (Stored, error) {
	if store.CodeOf(err) == store.CodeAlreadyExists && rep.InputHash != "" {
		// The engine keeps one run per input hash and organization.
		if run, rerr := st.RunByInputHash(ctx, org, rep.InputHash); rerr == nil {
			return Stored{}, fmt.Errorf("%w as run %s (input hash %s); use `greenlang recalc` to recalculate them", ErrAlreadyStored, run.ID, rep.InputHash)
		}
	}
	if err != nil {
		return Stored{}, err
	}
	return Stored{RunID: saved.RunID, Sources: saved.Sources, Activities: saved.Activities.Inserted, Emissions: saved.Emissions.Inserted}, nil
}

func periodEnd(a ghg.Activity) time.Time {
	if a.PeriodEnd.Before(a.PeriodStart) {
		return a.PeriodStart
	}
	return a.PeriodEnd
}

func sourcesByName(ctx context.Context, st *store.Store, org uuid.UUID) (map[string]uuid.UUID, error) {
	sources := map[string]uuid.UUID{}
	err := st.EmissionSources().Each(ctx, org, func(s *store.EmissionSource) error {
		sources[s.Name] = s.ID
		return nil
	})
	return sources, err
}

// emissionRows are the stored results of one line: one row, or for scope 2
// with a market-based result, one row per basis.
func emissionRows(l Line, activity, source uuid.UUID, site *uuid.UUID, tpl *templates) []store.CalculatedEmission {
	out := []store.CalculatedEmission{emissionRow(l.Activity, l.Result, l.Selection, activity, source, tpl)}
	out[0].SiteID = site
	if l.Result.Scope == 2 {
		out[0].Scope2Basis = "location"
		if l.Market != nil {
			m := emissionRow(l.Activity, *l.Market, l.MarketSelection, activity, source, tpl)
			m.Scope2Basis, m.SiteID = "market", site
			out = append(out, m)
		}
	}
	return out
}

func emissionRow(a ghg.Activity, r ghg.Result, selection []string, activity, source uuid.UUID, tpl *templates) store.CalculatedEmission {
	others := map[string]decimal.Decimal{}
	for g, kg := range r.KgByGas {
		if g != "CO2" && g != "CH4" && g != "N2O" {
			others[g] = kg
		}
	}
	otherJSON := store.JSON("{}")
	if len(others) > 0 {
		otherJSON, _ = json.Marshal(others)
	}
	lin := tpl.lineageJSON(r.Explanation, selection)
	e := store.CalculatedEmission{ActivityID: activity, ActivityPeriodStart: a.PeriodStart, SourceID: source,
		Scope: r.Scope, Method: r.Explanation.Method, GWPSet: r.Explanation.GWPSet,
		CO2Kg: r.KgByGas["CO2"], CH4Kg: r.KgByGas["CH4"], N2OKg: r.KgByGas["N2O"], OtherGases: otherJSON,
		CO2eKg: r.CO2eKg, BiogenicCO2Kg: r.BiogenicCO2Kg, UncertaintyPct: decimal.NewNullDecimal(r.UncertaintyPct),
		DataQuality: decimal.NewNullDecimal(r.DataQuality), PeriodStart: a.PeriodStart, PeriodEnd: periodEnd(a), Lineage: lin}
	if r.Category != 0 {
		e.Category = &r.Category
	}
	return e
}

// storedResult rebuilds the engine result a stored emission holds, enough
// to total and restate it.
func storedResult(e store.CalculatedEmission) ghg.Result {
	r := ghg.Result{ActivityID: e.ActivityID.String(), Scope: e.Scope, KgByGas: map[string]decimal.Decimal{},
		CO2eKg: e.CO2eKg, BiogenicCO2Kg: e.BiogenicCO2Kg, UncertaintyPct: e.UncertaintyPct.Decimal, DataQuality: e.DataQuality.Decimal}
	if e.Category != nil {
		r.Category = *e.Category
	}
	for g, kg := range map[string]decimal.Decimal{"CO2": e.CO2Kg, "CH4": e.CH4Kg, "N2O": e.N2OKg} {
		if !kg.IsZero() {
			r.KgByGas[g] = kg
		}
	}
	var others map[string]decimal.Decimal
	if json.Unmarshal(e.OtherGases, &others) == nil {
		for g, kg := range others {
			r.KgByGas[g] = kg
		}
	}
	return r
}
