package web

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/activityfile"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/store"
)

var funcs = template.FuncMap{
	"tonnes": func(kg decimal.Decimal) string {
		return groupThousands(kg.Div(decimal.NewFromInt(1000)).StringFixed(1))
	},
	"dec":   func(d decimal.Decimal, places int32) string { return groupThousands(d.StringFixed(places)) },
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	// gwp is the GWP applied to gas, or "" when none was (a factor given in CO2e).
	"gwp": func(gwps map[string]decimal.Decimal, gas string) string {
		if v, ok := gwps[gas]; ok {
			return v.String()
		}
		return ""
	},
}

// Colours of the scopes, distinguishable in grey too (light to dark).
const (
	colourScope1   = "#1b4332"
	colourScope2   = "#52b788"
	colourScope2M  = "#95d5b2"
	colourScope3   = "#74a0c9"
	monthLayout    = "2006-01"
	maxExportRows  = 100000
	pageActivities = 100
)

// ---- overview -------------------------------------------------------------------------

// monthRow is one month of the overview's table.
type monthRow struct {
	Month                                            string
	Scope1, Scope2Loc, Scope2Mkt, Scope3, TotalLoc   decimal.Decimal
	HasScope1, HasScope2Loc, HasScope2Mkt, HasScope3 bool
}

type sourceRow struct {
	Source   string
	Scope    int
	Category int
	CO2eKg   decimal.Decimal
	Share    decimal.Decimal
}

type intensity struct {
	Label, Value, Unit string
}

// overview answers GET /?from=&to=: the last twelve months unless given.
func (s *Site) overview(w http.ResponseWriter, r *http.Request, sess *session) error {
	from, to, err := period(r)
	if err != nil {
		s.errorPage(w, r, sess, http.StatusBadRequest, err.Error())
		return nil
	}
	format, ok := s.exportFormat(w, r, sess)
	if !ok {
		return nil
	}
	ctx := r.Context()
	org := sess.org.ID
	f := store.ResultFilter{From: from, To: to}
	byMonth, err := s.totals.EmissionTotals(ctx, s.st, org, calculation.TotalsQuery{Filter: f, By: []string{calculation.ByMonth}})
	if err != nil {
		return err
	}
	bySource, err := s.totals.EmissionTotals(ctx, s.st, org, calculation.TotalsQuery{Filter: f, By: []string{calculation.BySource}})
	if err != nil {
		return err
	}
	// One row per month of the period, in order.
	var months []*monthRow
	index := map[string]*monthRow{}
	for m := from; m.Before(to); m = m.AddDate(0, 1, 0) {
		row := &monthRow{Month: m.Format(monthLayout)}
		months = append(months, row)
		index[row.Month] = row
	}
	var scope1, scope2, scope2m, scope3 decimal.Decimal
	for _, t := range byMonth.Rows {
		row := index[t.Month]
		if row == nil {
			continue
		}
		switch {
		case t.Scope == 1:
			row.Scope1, row.HasScope1 = row.Scope1.Add(t.CO2eKg), true
			scope1 = scope1.Add(t.CO2eKg)
		case t.Scope == 2 && t.Scope2Basis == "market":
			row.Scope2Mkt, row.HasScope2Mkt = row.Scope2Mkt.Add(t.CO2eKg), true
			scope2m = scope2m.Add(t.CO2eKg)
		case t.Scope == 2:
			row.Scope2Loc, row.HasScope2Loc = row.Scope2Loc.Add(t.CO2eKg), true
			scope2 = scope2.Add(t.CO2eKg)
		case t.Scope == 3:
			row.Scope3, row.HasScope3 = row.Scope3.Add(t.CO2eKg), true
			scope3 = scope3.Add(t.CO2eKg)
		}
	}
	cats := make([]string, len(months))
	tonnes := func(get func(*monthRow) decimal.Decimal) []float64 {
		out := make([]float64, len(months))
		for i, m := range months {
			out[i] = get(m).Div(decimal.NewFromInt(1000)).InexactFloat64()
		}
		return out
	}
	for i, m := range months {
		cats[i] = m.Month
		m.TotalLoc = m.Scope1.Add(m.Scope2Loc).Add(m.Scope3)
	}
	chart := stackedBars("Emissions by scope and month, location-based", "t CO2e", cats, []series{
		{"Scope 1", colourScope1, tonnes(func(m *monthRow) decimal.Decimal { return m.Scope1 })},
		{"Scope 2 (location)", colourScope2, tonnes(func(m *monthRow) decimal.Decimal { return m.Scope2Loc })},
		{"Scope 3", colourScope3, tonnes(func(m *monthRow) decimal.Decimal { return m.Scope3 })},
	})
	kt := func(d decimal.Decimal) float64 { return d.Div(decimal.NewFromInt(1000)).InexactFloat64() }
	scope2Chart := horizontalBars("Scope 2, location- and market-based", "t CO2e", []hbar{
		{"Scope 2 location-based", kt(scope2)}, {"Scope 2 market-based", kt(scope2m)},
	})
	// Top sources on the location basis.
	var sources []sourceRow
	total := byMonth.LocationBased.CO2eKg
	for _, t := range bySource.Rows {
		if t.Scope2Basis == "market" {
			continue
		}
		sr := sourceRow{Source: t.Source, Scope: t.Scope, Category: t.Category, CO2eKg: t.CO2eKg}
		if total.IsPositive() {
			sr.Share = t.CO2eKg.Div(total).Mul(decimal.NewFromInt(100))
		}
		sources = append(sources, sr)
	}
	slices.SortFunc(sources, func(a, b sourceRow) int { return b.CO2eKg.Cmp(a.CO2eKg) })
	if format != "" {
		return s.overviewExport(w, r, sess, format, months, sources)
	}
	if len(sources) > 10 {
		sources = sources[:10]
	}
	bars := make([]hbar, len(sources))
	for i, sr := range sources {
		bars[i] = hbar{sr.Source, kt(sr.CO2eKg)}
	}
	s.render(w, http.StatusOK, "overview.html", map[string]any{
		"Layout": s.frame(sess, "Overview", "overview"),
		"From":   from.Format(time.DateOnly), "To": to.AddDate(0, 0, -1).Format(time.DateOnly),
		"Location": byMonth.LocationBased, "Market": byMonth.MarketBased,
		"Scope1": scope1, "Scope2": scope2, "Scope2Market": scope2m, "Scope3": scope3,
		"Chart": chart, "Scope2Chart": scope2Chart, "SourcesChart": horizontalBars("Top sources, location-based", "t CO2e", bars),
		"Months": months, "Sources": sources, "Intensity": intensities(sess.org, byMonth.LocationBased, from, to),
		"MonthsExport": exportsOf(r, "table", "months"), "SourcesExport": exportsOf(r, "table", "sources"),
	})
	return nil
}

// overviewExport answers /?format=&table=months|sources: the overview's
// tables in kilograms (exact), every source rather than the top ten.
func (s *Site) overviewExport(w http.ResponseWriter, r *http.Request, sess *session, format string, months []*monthRow, sources []sourceRow) error {
	opt := func(has bool, d decimal.Decimal) string {
		if !has {
			return ""
		}
		return d.String()
	}
	switch table := r.URL.Query().Get("table"); table {
	case "months":
		t := exportTable{Name: "emissions-by-month", Header: []string{"month", "scope1_kg_co2e", "scope2_location_kg_co2e", "scope2_market_kg_co2e",
			"scope3_kg_co2e", "total_location_kg_co2e"}, Numeric: []bool{false, true, true, true, true, true}}
		return s.export(w, format, t, func(emit func([]string) error) error {
			for _, m := range months {
				if err := emit([]string{m.Month, opt(m.HasScope1, m.Scope1), opt(m.HasScope2Loc, m.Scope2Loc), opt(m.HasScope2Mkt, m.Scope2Mkt),
					opt(m.HasScope3, m.Scope3), m.TotalLoc.String()}); err != nil {
					return err
				}
			}
			return nil
		})
	case "sources":
		t := exportTable{Name: "emissions-by-source", Header: []string{"source", "scope", "category", "kg_co2e_location", "share_pct"},
			Numeric: []bool{false, true, true, true, true}}
		return s.export(w, format, t, func(emit func([]string) error) error {
			for _, sr := range sources {
				cat := ""
				if sr.Category != 0 {
					cat = strconv.Itoa(sr.Category)
				}
				if err := emit([]string{sr.Source, strconv.Itoa(sr.Scope), cat, sr.CO2eKg.String(), sr.Share.StringFixed(2)}); err != nil {
					return err
				}
			}
			return nil
		})
	default:
		s.errorPage(w, r, sess, http.StatusBadRequest, fmt.Sprintf("table %q: export months or sources.", table))
		return nil
	}
}

// period reads ?from= and ?to= (dates; to inclusive), or the twelve whole
// months up to and including this one.
func period(r *http.Request) (time.Time, time.Time, error) {
	now := time.Now().UTC()
	to := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	from := to.AddDate(-1, 0, 0)
	q := r.URL.Query()
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return from, to, fmt.Errorf("from %q is not a date (YYYY-MM-DD)", v)
		}
		from = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return from, to, fmt.Errorf("to %q is not a date (YYYY-MM-DD)", v)
		}
		to = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	}
	if !to.After(from) || to.Sub(from) > 5*366*24*time.Hour {
		return from, to, errors.New("the period must run forwards and span at most five years")
	}
	return from, to, nil
}

// intensities are the period's location-based emissions per revenue and
// per employee, from the organization's settings (annual_revenue in its
// reporting currency, employees), scaled to the period's length.
func intensities(o *store.Organization, t ghg.Total, from, to time.Time) []intensity {
	var settings struct {
		Revenue   *decimal.Decimal `json:"annual_revenue"`
		Employees *decimal.Decimal `json:"employees"`
	}
	if len(o.Settings) > 0 {
		_ = json.Unmarshal(o.Settings, &settings) // settings without these keys show "not set"
	}
	years := decimal.NewFromFloat(to.Sub(from).Hours() / 24 / 365.25)
	tco2e := t.CO2eKg.Div(decimal.NewFromInt(1000))
	cur := o.ReportingCurrency
	if cur == "" {
		cur = "EUR"
	}
	out := []intensity{{Label: "per million " + cur + " revenue", Value: "not set", Unit: "(organization setting annual_revenue)"},
		{Label: "per employee", Value: "not set", Unit: "(organization setting employees)"}}
	if settings.Revenue != nil && settings.Revenue.IsPositive() && years.IsPositive() {
		per := tco2e.Div(settings.Revenue.Mul(years).Div(decimal.NewFromInt(1_000_000)))
		out[0].Value, out[0].Unit = groupThousands(per.StringFixed(2)), "t CO2e"
	}
	if settings.Employees != nil && settings.Employees.IsPositive() {
		per := tco2e.Div(*settings.Employees)
		out[1].Value, out[1].Unit = groupThousands(per.StringFixed(2)), "t CO2e"
	}
	return out
}

// ---- activity -------------------------------------------------------------------------

type activityRow struct {
	*store.ActivityRecord
	Site string
}

// activity answers GET /activity?type=&site=&from=&to=&after=[&format=csv]:
// activity records newest first, a page at a time, or all of the filter
// as CSV.
func (s *Site) activity(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	org := sess.org.ID
	q := r.URL.Query()
	o := store.ListOptions{Desc: true, Limit: pageActivities + 1, Where: map[string]any{}, TimeColumn: "period_start"}
	sites := map[uuid.UUID]string{}
	var siteCodes []string
	if err := s.st.Sites().Each(ctx, org, func(st *store.Site) error {
		sites[st.ID] = st.Code
		siteCodes = append(siteCodes, st.Code)
		return nil
	}); err != nil {
		return err
	}
	slices.Sort(siteCodes)
	var problems []string
	if v := q.Get("type"); v != "" {
		o.Where["activity_type"] = v
	}
	if v := q.Get("site"); v != "" {
		found := false
		for id, code := range sites {
			if code == v {
				o.Where["site_id"], found = id, true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("There is no site %q.", v))
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"from", &o.Since}, {"to", &o.Until}} {
		if v := q.Get(d.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s %q is not a date (YYYY-MM-DD).", d.name, v))
				continue
			}
			*d.dst = t
		}
	}
	if v := q.Get("after"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("after %q is not a record id.", v))
		}
		o.After = id
	}
	if len(problems) > 0 {
		s.errorPage(w, r, sess, http.StatusBadRequest, strings.Join(problems, " "))
		return nil
	}
	format, ok := s.exportFormat(w, r, sess)
	if !ok {
		return nil
	}
	if format != "" {
		return s.activityExport(w, r, format, org, o, sites)
	}
	recs, err := s.st.ActivityRecords().List(ctx, org, o)
	if err != nil {
		return err
	}
	next := ""
	if len(recs) > pageActivities {
		recs = recs[:pageActivities]
		nq := r.URL.Query()
		nq.Set("after", recs[len(recs)-1].ID.String())
		next = "/activity?" + nq.Encode()
	}
	rows := make([]activityRow, len(recs))
	for i, a := range recs {
		rows[i] = activityRow{ActivityRecord: a}
		if a.SiteID != nil {
			rows[i].Site = sites[*a.SiteID]
		}
	}
	s.render(w, http.StatusOK, "activity.html", map[string]any{
		"Layout": s.frame(sess, "Activity data", "activity"), "Rows": rows, "Next": next, "Sites": siteCodes,
		"Type": q.Get("type"), "Site": q.Get("site"), "From": q.Get("from"), "To": q.Get("to"),
		"Export": exportsOf(r, "after", ""), "CanUpload": sess.may(store.ScopeInventoryWrite),
		"GWPSets": ghg.GWPSetIDs(), "MaxMiB": s.maxUpload >> 20,
	})
	return nil
}

// activityExport writes every record of the filter, newest first (at
// most maxExportRows).
func (s *Site) activityExport(w http.ResponseWriter, r *http.Request, format string, org uuid.UUID, o store.ListOptions, sites map[uuid.UUID]string) error {
	t := exportTable{Name: "activity", Header: []string{"id", "activity_type", "quantity", "unit", "period_start", "period_end", "site", "data_quality", "origin", "origin_ref"},
		Numeric: []bool{2: true, 7: true}}
	return s.export(w, format, t, func(emit func([]string) error) error {
		o.Limit, o.After = 1000, uuid.Nil
		for n := 0; n < maxExportRows; {
			recs, err := s.st.ActivityRecords().List(r.Context(), org, o)
			if err != nil {
				return err
			}
			for _, a := range recs {
				site := ""
				if a.SiteID != nil {
					site = sites[*a.SiteID]
				}
				if err := emit([]string{a.ID.String(), a.ActivityType, a.Quantity.String(), a.Unit, a.PeriodStart.Format(time.DateOnly),
					a.PeriodEnd.Format(time.DateOnly), site, strconv.Itoa(a.DataQuality), a.Origin, a.OriginRef}); err != nil {
					return err
				}
			}
			n += len(recs)
			if len(recs) < o.Limit {
				return nil
			}
			o.After = recs[len(recs)-1].ID
		}
		return nil
	})
}

// activityUpload answers POST /activity/upload: a CSV or XLSX activity
// file calculated and stored as one run; the page shows the run and every
// refused row.
func (s *Site) activityUpload(w http.ResponseWriter, r *http.Request, sess *session) error {
	file, hdr, err := r.FormFile("file") // the form was read, bounded, by page
	if err != nil {
		s.errorPage(w, r, sess, http.StatusBadRequest, "Choose a CSV or XLSX file to upload.")
		return nil
	}
	defer file.Close()
	if hdr.Size > s.maxUpload {
		s.errorPage(w, r, sess, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d MiB.", s.maxUpload>>20))
		return nil
	}
	opts := calculation.Options{GWPSet: ghg.AR6}
	if v := r.PostFormValue("gwp"); v != "" {
		if !slices.Contains(ghg.GWPSetIDs(), v) {
			s.errorPage(w, r, sess, http.StatusBadRequest, fmt.Sprintf("GWP set %q is not one of %s.", v, strings.Join(ghg.GWPSetIDs(), ", ")))
			return nil
		}
		opts.GWPSet = v
	}
	switch strings.ToLower(filepath.Ext(hdr.Filename)) {
	case ".csv":
		opts.Format = calculation.FormatCSV
	case ".xlsx":
		opts.Format = calculation.FormatXLSX
	default:
		s.errorPage(w, r, sess, http.StatusUnsupportedMediaType, fmt.Sprintf("%q: upload a .csv or .xlsx file.", filepath.Base(hdr.Filename)))
		return nil
	}
	body, err := io.ReadAll(file)
	if err != nil {
		return err
	}
	ctx := store.WithActor(r.Context(), store.Actor{Type: "user", ID: sess.user.ID.String()})
	rep, stored, err := calculation.IngestForOrganization(ctx, s.st, s.services, sess.org.ID, bytes.NewReader(body), opts, time.Now())
	data := map[string]any{"Layout": s.frame(sess, "Upload result", "activity"), "File": filepath.Base(hdr.Filename), "Report": rep,
		"Rows": len(rep.Lines) + len(rep.Errors)}
	status := http.StatusCreated
	switch {
	case errors.Is(err, calculation.ErrNothingToStore):
		status, data["Problem"] = http.StatusUnprocessableEntity, "No row of the file can be calculated; nothing was stored."
	case errors.Is(err, calculation.ErrAlreadyStored):
		status, data["Problem"] = http.StatusConflict, "These activities are already stored (the same file was uploaded before)."
	case errors.Is(err, calculation.ErrUnreadable):
		status, data["Problem"] = http.StatusUnprocessableEntity, err.Error()
	case err != nil:
		return err
	default:
		data["Stored"] = stored
	}
	errs := slices.Clone(rep.Errors)
	slices.SortFunc(errs, func(a, b calcRowError) int { return cmp.Compare(a.Line, b.Line) })
	data["Errors"] = errs
	s.render(w, status, "upload.html", data)
	return nil
}

// ---- audit --------------------------------------------------------------------------------

// auditLog answers GET /audit?before=: the trail's newest entries, a
// hundred at a time, and the whole chain's verification.
func (s *Site) auditLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	format, ok := s.exportFormat(w, r, sess)
	if !ok {
		return nil
	}
	if format != "" {
		return s.auditExport(w, r, sess, format)
	}
	rep, err := s.st.VerifyAudit(ctx, sess.org.ID)
	if err != nil {
		return err
	}
	before := rep.HeadSeq + 1
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.errorPage(w, r, sess, http.StatusBadRequest, fmt.Sprintf("before %q is not a sequence number.", v))
			return nil
		}
		before = min(n, before)
	}
	after := max(0, before-1-100)
	es, err := s.st.AuditEntries(ctx, sess.org.ID, after, int(before-1-after))
	if err != nil {
		return err
	}
	slices.Reverse(es)
	older := ""
	if after > 0 {
		older = "/audit?before=" + strconv.FormatInt(after+1, 10)
	}
	s.render(w, http.StatusOK, "audit.html", map[string]any{
		"Layout": s.frame(sess, "Audit log", "audit"), "Report": rep, "OK": rep.OK(), "Entries": es, "Older": older,
		"Export": exportsOf(r, "before", ""),
	})
	return nil
}

// auditExport writes the whole trail, oldest first (at most
// maxExportRows entries), with each entry's hash and the one it links to.
func (s *Site) auditExport(w http.ResponseWriter, r *http.Request, sess *session, format string) error {
	t := exportTable{Name: "audit-log", Header: []string{"seq", "occurred_at", "actor_type", "actor_id", "action", "entity_type", "entity_id",
		"prev_hash", "hash"}, Numeric: []bool{true}}
	return s.export(w, format, t, func(emit func([]string) error) error {
		for after := int64(0); after < maxExportRows; {
			es, err := s.st.AuditEntries(r.Context(), sess.org.ID, after, 1000)
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := emit([]string{strconv.FormatInt(e.Seq, 10), e.OccurredAt.UTC().Format(time.RFC3339Nano), e.ActorType, e.ActorID,
					e.Action, e.EntityType, e.EntityID, hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash)}); err != nil {
					return err
				}
				after = e.Seq
			}
			if len(es) < 1000 {
				return nil
			}
		}
		return nil
	})
}

// calcRowError is a refused row of an activity file.
type calcRowError = activityfile.RowError
