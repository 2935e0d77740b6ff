package httpapi

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/store"
)

// The inventory (docs/api.md, "Inventory"): sites, emission sources,
// activity records and activity files, calculation runs, calculated
// emissions with their explanation, and emission totals.

// MaxActivityFileBytes is the largest activity file POST
// /api/v1/activity-files reads (HandlerOptions.MaxUploadBytes overrides it).
const MaxActivityFileBytes = 32 << 20

// listFilter is what a list keeps: equality on columns and a time range,
// and the fields it may be sorted by (?sort=).
type listFilter struct {
	where        map[string]any
	timeCol      string
	since, until time.Time
	sorts        []string
}

// The fields each list may be sorted by (?sort=); every one is a column
// that sorts alike on every store engine (store.Collection.SortColumns).
var (
	userSorts     = []string{"email", "display_name", "role", "created_at"}
	siteSorts     = []string{"name", "code", "country", "created_at"}
	sourceSorts   = []string{"name", "scope", "created_at"}
	activitySorts = []string{"period_start", "activity_type", "created_at"}
	runSorts      = []string{"started_at", "status", "created_at"}
	emissionSorts = []string{"period_start", "scope", "created_at"}
	supplierSorts = []string{"name", "country", "created_at"}
	productSorts  = []string{"sku", "name", "created_at"}
	poSorts       = []string{"order_date", "po_number", "created_at"}
)

// queryList reads the paging of a list request: ?limit=, ?after=,
// ?sort= (one of sorts; default creation order) and ?order=asc|desc.
func queryList(r *http.Request, sorts []string) (store.ListOptions, error) {
	var o store.ListOptions
	var err error
	if o.Limit, err = queryLimit(r, 100, MaxListLimit); err != nil {
		return o, err
	}
	q := r.URL.Query()
	if s := q.Get("after"); s != "" {
		if o.After, err = parseID("after", s); err != nil {
			return o, err
		}
	}
	if s := q.Get("sort"); s != "" {
		if !slices.Contains(sorts, s) {
			if len(sorts) == 0 {
				return o, badRequest("sort", "this list is only in creation order; leave sort out")
			}
			return o, badRequest("sort", "sort %q: want one of %s", s, strings.Join(sorts, ", "))
		}
		if s != "created_at" { // creation order is id order, no cursor lookup
			o.Sort = s
		}
	}
	switch s := q.Get("order"); s {
	case "", "asc":
	case "desc":
		o.Desc = true
	default:
		return o, badRequest("order", "order %q: want asc (oldest first, the default) or desc", s)
	}
	return o, nil
}

// listPage answers a list request with one page of c's records of org that
// f keeps, in creation order, with next_after when there may be more.
func listPage[T any, P interface {
	*T
	store.Record
}](w http.ResponseWriter, r *http.Request, c *store.Collection[T, P], org uuid.UUID, f listFilter, shape func(P)) error {
	o, err := queryList(r, f.sorts)
	if err != nil {
		return err
	}
	o.Where, o.TimeColumn, o.Since, o.Until = f.where, f.timeCol, f.since, f.until
	limit := o.Limit
	o.Limit = limit + 1 // one more tells whether there is a next page
	vs, err := c.List(r.Context(), org, o)
	if store.CodeOf(err) == store.CodeNotFound { // a sorted list's cursor
		return badRequest("after", "after %s: no record to continue from; start again without after", o.After)
	}
	if err != nil {
		return err
	}
	out := listResponse[P]{Items: vs}
	if len(vs) > limit {
		out.Items = vs[:limit]
		out.NextAfter = vs[limit-1].RecordMeta().ID.String()
	}
	if out.Items == nil {
		out.Items = []P{}
	}
	if shape != nil {
		for _, v := range out.Items {
			shape(v)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// showRecord answers GET …/{id} with c's record of org.
func showRecord[T any, P interface {
	*T
	store.Record
}](w http.ResponseWriter, r *http.Request, c *store.Collection[T, P], org uuid.UUID) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := c.Get(r.Context(), org, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// queryRef reads an optional id query parameter into where[col].
func queryRef(r *http.Request, name, col string, where map[string]any) error {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil
	}
	id, err := parseID(name, s)
	if err != nil {
		return err
	}
	where[col] = id
	return nil
}

// queryRange reads ?from= and ?to= (dates or RFC 3339 times) into f's range.
func queryRange(r *http.Request, col string, f *listFilter) error {
	q := r.URL.Query()
	var err error
	f.timeCol = col
	if s := q.Get("from"); s != "" {
		if f.since, err = parseInstant("from", s); err != nil {
			return err
		}
	}
	if s := q.Get("to"); s != "" {
		if f.until, err = parseInstant("to", s); err != nil {
			return err
		}
	}
	if !f.since.IsZero() && !f.until.IsZero() && !f.until.After(f.since) {
		return badRequest("to", "to %s is not after from %s", q.Get("to"), q.Get("from"))
	}
	return nil
}

// queryBool reads an optional true/false query parameter into where[col].
func queryBool(r *http.Request, name, col string, where map[string]any) error {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return badRequest(name, "%s %q: want true or false", name, s)
	}
	where[col] = b
	return nil
}

// queryScope reads an optional scope (1, 2 or 3) into where["scope"].
func queryScope(r *http.Request, where map[string]any) error {
	s := r.URL.Query().Get("scope")
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 3 {
		return badRequest("scope", "scope %q: want 1, 2 or 3", s)
	}
	where["scope"] = n
	return nil
}

// querySite reads an optional ?site= (a site's id or code) into
// where["site_id"].
func (a *api) querySite(r *http.Request, org uuid.UUID, where map[string]any) error {
	s := r.URL.Query().Get("site")
	if s == "" {
		return nil
	}
	site, err := a.siteRef(r.Context(), org, "site", s)
	if err != nil {
		return err
	}
	where["site_id"] = *site
	return nil
}

// countryActive is the filter of ?country= (ISO alpha-2, any case) and
// ?active= that sites and suppliers share.
func countryActive(r *http.Request) (listFilter, error) {
	f := listFilter{where: map[string]any{}}
	if s := r.URL.Query().Get("country"); s != "" {
		f.where["country"] = strings.ToUpper(s)
	}
	return f, queryBool(r, "active", "active", f.where)
}

// conflictOn turns a store's already-exists into a 409 naming field.
func conflictOn(err error, field, detail string) error {
	if store.CodeOf(err) == store.CodeAlreadyExists {
		return &requestError{typ: ProblemConflict, status: http.StatusConflict, field: field, detail: detail}
	}
	return err
}

// ---- sites ------------------------------------------------------------------

// siteRequest is the body of POST /api/v1/sites and PATCH
// /api/v1/sites/{id}; on a PATCH, absent fields are left as they are.
type siteRequest struct {
	Code        *string          `json:"code"`
	Name        *string          `json:"name"`
	SiteType    *string          `json:"site_type"`
	Address     *string          `json:"address"`
	Country     *string          `json:"country"` // ISO 3166-1 alpha-2
	Region      *string          `json:"region"`  // grid region, e.g. US-CAMX
	Latitude    *decimal.Decimal `json:"latitude"`
	Longitude   *decimal.Decimal `json:"longitude"`
	FloorAreaM2 *decimal.Decimal `json:"floor_area_m2"`
	Active      *bool            `json:"active"`
}

// apply sets s's fields from the request and checks them, naming the field.
func (q *siteRequest) apply(s *store.Site) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&s.Code, q.Code)
	set(&s.Name, q.Name)
	set(&s.SiteType, q.SiteType)
	set(&s.Address, q.Address)
	set(&s.Country, q.Country)
	set(&s.Region, q.Region)
	s.Country = strings.ToUpper(s.Country)
	for _, d := range []struct {
		v   *decimal.Decimal
		dst *decimal.NullDecimal
	}{{q.Latitude, &s.Latitude}, {q.Longitude, &s.Longitude}, {q.FloorAreaM2, &s.FloorAreaM2}} {
		if d.v != nil {
			*d.dst = decimal.NewNullDecimal(*d.v)
		}
	}
	if q.Active != nil {
		s.Active = *q.Active
	}
	switch {
	case s.Code == "":
		return invalid("code", "code is required: activity files name the site by it")
	case strings.ContainsAny(s.Code, ",\"\n\r"):
		return invalid("code", "code %q: a code cannot hold commas, quotes or line breaks (files name the site by it)", s.Code)
	case s.Name == "":
		return invalid("name", "name is required")
	case s.Country != "" && !isAlpha2(s.Country):
		return invalid("country", "country %q: want an ISO 3166-1 alpha-2 code such as DE", s.Country)
	case s.Latitude.Valid && s.Latitude.Decimal.Abs().GreaterThan(decimal.NewFromInt(90)):
		return invalid("latitude", "latitude %s is not between -90 and 90", s.Latitude.Decimal)
	case s.Longitude.Valid && s.Longitude.Decimal.Abs().GreaterThan(decimal.NewFromInt(180)):
		return invalid("longitude", "longitude %s is not between -180 and 180", s.Longitude.Decimal)
	case s.FloorAreaM2.Valid && s.FloorAreaM2.Decimal.IsNegative():
		return invalid("floor_area_m2", "floor_area_m2 %s is negative", s.FloorAreaM2.Decimal)
	}
	return nil
}

func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// sitesList answers GET /api/v1/sites?country=&active=.
func (a *api) sitesList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f, err := countryActive(r)
	if err != nil {
		return err
	}
	f.sorts = siteSorts
	return listPage(w, r, a.st.Sites(), tok.OrgID, f, nil)
}

// siteCreate answers POST /api/v1/sites: 201 and the site.
func (a *api) siteCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req siteRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	s := &store.Site{Active: true}
	if err := req.apply(s); err != nil {
		return err
	}
	if err := a.st.Sites().Create(r.Context(), tok.OrgID, s); err != nil {
		return conflictOn(err, "code", "the organization already has a site with code "+strconv.Quote(s.Code))
	}
	writeJSON(w, http.StatusCreated, s)
	return nil
}

// siteShow answers GET /api/v1/sites/{id}.
func (a *api) siteShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	return showRecord(w, r, a.st.Sites(), tok.OrgID)
}

// siteUpdate answers PATCH /api/v1/sites/{id}: the changed site.
func (a *api) siteUpdate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req siteRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	s, err := a.st.Sites().Get(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	if err := req.apply(s); err != nil {
		return err
	}
	if err := a.st.Sites().Update(r.Context(), tok.OrgID, s); err != nil {
		return conflictOn(err, "code", "the organization already has a site with code "+strconv.Quote(s.Code))
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// ---- emission sources ---------------------------------------------------------

// sourceRequest is the body of POST /api/v1/emission-sources.
type sourceRequest struct {
	Name        string `json:"name"`
	Site        string `json:"site"` // a site id or code; empty: none
	Scope       int    `json:"scope"`
	Category    *int   `json:"category"` // scope 3 category 1–15
	SourceType  string `json:"source_type"`
	Description string `json:"description"`
}

// sourcesList answers GET /api/v1/emission-sources?scope=&site=.
func (a *api) sourcesList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f := listFilter{where: map[string]any{}}
	if err := queryScope(r, f.where); err != nil {
		return err
	}
	if err := a.querySite(r, tok.OrgID, f.where); err != nil {
		return err
	}
	f.sorts = sourceSorts
	return listPage(w, r, a.st.EmissionSources(), tok.OrgID, f, nil)
}

// sourceCreate answers POST /api/v1/emission-sources: 201 and the source.
func (a *api) sourceCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req sourceRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	e := &store.EmissionSource{Name: strings.TrimSpace(req.Name), Scope: req.Scope, Category: req.Category,
		SourceType: strings.TrimSpace(req.SourceType), Description: req.Description, Active: true}
	switch {
	case e.Name == "":
		return invalid("name", "name is required")
	case e.Scope < 1 || e.Scope > 3:
		return invalid("scope", "scope %d: want 1, 2 or 3", e.Scope)
	case e.Scope == 3 && (e.Category == nil || *e.Category < 1 || *e.Category > 15):
		return invalid("category", "a scope 3 source needs its category, 1 to 15")
	case e.Scope != 3 && e.Category != nil:
		return invalid("category", "only scope 3 sources have a category")
	}
	if req.Site != "" {
		site, err := a.siteRef(r.Context(), tok.OrgID, "site", req.Site)
		if err != nil {
			return err
		}
		e.SiteID = site
	}
	if err := a.st.EmissionSources().Create(r.Context(), tok.OrgID, e); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// sourceShow answers GET /api/v1/emission-sources/{id}.
func (a *api) sourceShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	return showRecord(w, r, a.st.EmissionSources(), tok.OrgID)
}

// ---- activity -------------------------------------------------------------------

// activityList answers GET
// /api/v1/activity-records?source=&site=&type=&origin=&batch=&from=&to=:
// from and to bound the period start.
func (a *api) activityList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f := listFilter{where: map[string]any{}}
	q := r.URL.Query()
	if err := queryRef(r, "source", "source_id", f.where); err != nil {
		return err
	}
	if err := queryRef(r, "batch", "batch_id", f.where); err != nil {
		return err
	}
	if err := a.querySite(r, tok.OrgID, f.where); err != nil {
		return err
	}
	if s := q.Get("type"); s != "" {
		f.where["activity_type"] = s
	}
	if s := q.Get("origin"); s != "" {
		switch s {
		case "manual", "erp", "iot", "file":
		default:
			return badRequest("origin", "origin %q: want manual, erp, iot or file", s)
		}
		f.where["origin"] = s
	}
	if err := queryRange(r, "period_start", &f); err != nil {
		return err
	}
	f.sorts = activitySorts
	return listPage(w, r, a.st.ActivityRecords(), tok.OrgID, f, nil)
}

// activityShow answers GET /api/v1/activity-records/{id}.
func (a *api) activityShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	return showRecord(w, r, a.st.ActivityRecords(), tok.OrgID)
}

// activityFileResponse is the answer to an activity file or a batch of
// activity records: the stored run and what it holds, the rows refused
// (with line or record index, column and reason) and the totals.
type activityFileResponse struct {
	RunID        *uuid.UUID           `json:"run_id,omitempty"`
	InputHash    string               `json:"input_hash"`
	GWPSet       string               `json:"gwp_set"`
	Rows         int                  `json:"rows"`
	Calculated   int                  `json:"calculated"`
	Refused      int                  `json:"refused"`
	Errors       []activityRowError   `json:"errors"`
	Activities   int64                `json:"activities"`
	Emissions    int64                `json:"emissions"`
	NewSources   int                  `json:"new_sources"`
	Total        ghg.Total            `json:"total"`
	ByScope      map[string]ghg.Total `json:"by_scope"`
	Scope2Market ghg.Total            `json:"scope2_market"`
}

// activityRowError is one refused row of an activity file (Line) or
// record of a batch (Index, and Field as a path into the body).
type activityRowError struct {
	Line   int    `json:"line,omitempty"`
	Index  *int   `json:"index,omitempty"`
	Field  string `json:"field,omitempty"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// gwpSet reads a GWP set named by a query parameter or body field gwp:
// AR6 when s is empty.
func gwpSet(s string) (string, error) {
	if s == "" {
		return ghg.AR6, nil
	}
	if !slices.Contains(ghg.GWPSetIDs(), s) {
		return "", badRequest("gwp", "gwp %q: want one of %s", s, strings.Join(ghg.GWPSetIDs(), ", "))
	}
	return s, nil
}

// activityFileUpload answers POST /api/v1/activity-files?gwp=: a CSV
// (text/csv) or XLSX activity file, calculated with the organization's
// factors and stored as one calculation run. Rows that cannot be read or
// calculated are listed and not stored; the others are (201). A file with
// no row to store (of at most 2,500 rows: calculation.ErrNothingToStore) is
// 422, with the rows' errors, and stores nothing; a file whose activities
// are already stored (same input hash) is 409.
func (a *api) activityFileUpload(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	gwp, err := gwpSet(r.URL.Query().Get("gwp"))
	if err != nil {
		return err
	}
	opts := calculation.Options{GWPSet: gwp}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "text/csv":
		opts.Format = calculation.FormatCSV
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		opts.Format = calculation.FormatXLSX
	default:
		return &requestError{status: http.StatusUnsupportedMediaType, field: "Content-Type",
			detail: "Content-Type " + strconv.Quote(r.Header.Get("Content-Type")) + ": send text/csv or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet (XLSX)"}
	}
	// The whole file is read first: a body cut short or too large stores nothing.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxUpload))
	if err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return &requestError{status: http.StatusRequestEntityTooLarge, detail: "the file is larger than " + strconv.FormatInt(big.Limit, 10) + " bytes"}
		}
		return badRequest("", "reading the file: %v", err)
	}
	if len(body) == 0 {
		return badRequest("", "the body is empty: send the activity file")
	}
	return a.ingest(w, r, tok, body, opts, "row of the file", func(e activityRowError) activityRowError { return e })
}

// ingest calculates and stores an activity file for the token's
// organization and answers with what was stored; what names the input in
// messages, and rowErr rewrites a refused row's error for the caller.
func (a *api) ingest(w http.ResponseWriter, r *http.Request, tok *store.APIToken, body []byte, opts calculation.Options, what string, rowErr func(activityRowError) activityRowError) error {
	rep, stored, err := calculation.IngestForOrganization(r.Context(), a.st, a.services, tok.OrgID, bytes.NewReader(body), opts, time.Now())
	if errors.Is(err, calculation.ErrUnreadable) {
		return invalid("", "%v", err)
	}
	out := activityFileResponse{InputHash: rep.InputHash, GWPSet: rep.GWPSet, Rows: len(rep.Lines) + len(rep.Errors),
		Calculated: len(rep.Lines), Refused: len(rep.Errors), Errors: []activityRowError{},
		Total: rep.Total, ByScope: rep.ByScope, Scope2Market: rep.Scope2Market}
	for _, e := range rep.Errors {
		out.Errors = append(out.Errors, rowErr(activityRowError{Line: e.Line, Column: e.Column, Value: e.Value, Reason: e.Reason}))
	}
	switch {
	case errors.Is(err, calculation.ErrAlreadyStored):
		return &requestError{typ: ProblemConflict, status: http.StatusConflict,
			detail: "these activities are already stored (input hash " + rep.InputHash + ")"}
	case errors.Is(err, calculation.ErrNothingToStore):
		writeProblemOf(w, Problem{Type: ProblemValidation, Status: http.StatusUnprocessableEntity,
			Detail: "no " + what + " can be calculated; nothing was stored", Errors: out.Errors})
		return nil
	case err != nil:
		return err
	}
	out.RunID = &stored.RunID
	out.Activities, out.Emissions, out.NewSources = stored.Activities, stored.Emissions, stored.Sources
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// ---- calculation runs and emissions ------------------------------------------

// runsList answers GET /api/v1/calculation-runs?status=: runs without
// their parameters (GET …/{id} has them).
func (a *api) runsList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f := listFilter{where: map[string]any{}}
	if s := r.URL.Query().Get("status"); s != "" {
		switch s {
		case "running", "succeeded", "failed":
		default:
			return badRequest("status", "status %q: want running, succeeded or failed", s)
		}
		f.where["status"] = s
	}
	f.sorts = runSorts
	return listPage(w, r, a.st.CalculationRuns(), tok.OrgID, f, func(run *store.CalculationRun) { run.Parameters = nil })
}

// runShow answers GET /api/v1/calculation-runs/{id}.
func (a *api) runShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	return showRecord(w, r, a.st.CalculationRuns(), tok.OrgID)
}

// emissionsList answers GET
// /api/v1/emissions?run=&activity=&source=&site=&scope=&from=&to=:
// calculated emissions without their lineage (GET …/{id} explains one).
func (a *api) emissionsList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f := listFilter{where: map[string]any{}}
	for _, p := range []struct{ name, col string }{{"run", "run_id"}, {"activity", "activity_id"}, {"source", "source_id"}} {
		if err := queryRef(r, p.name, p.col, f.where); err != nil {
			return err
		}
	}
	q := r.URL.Query()
	if err := a.querySite(r, tok.OrgID, f.where); err != nil {
		return err
	}
	if err := queryScope(r, f.where); err != nil {
		return err
	}
	if !q.Has("superseded") {
		f.where["superseded_by"] = nil
	} else if s := q.Get("superseded"); s != "true" {
		return badRequest("superseded", "superseded %q: give superseded=true to include superseded results", s)
	}
	if err := queryRange(r, "period_start", &f); err != nil {
		return err
	}
	f.sorts = emissionSorts
	return listPage(w, r, a.st.CalculatedEmissions(), tok.OrgID, f, func(e *store.CalculatedEmission) { e.Lineage = nil })
}

// emissionExplained is one calculated emission and how it was calculated:
// the activity, each unit conversion, the factor (set, version, source
// table and row), the GWP set, the method and the engine version.
type emissionExplained struct {
	*store.CalculatedEmission
	Explanation ghg.Explanation `json:"explanation"`
	// Selection says, step by step, how the factor was chosen.
	Selection []string `json:"selection"`
}

// emissionShow answers GET /api/v1/emissions/{id}: the result and its
// explanation.
func (a *api) emissionShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	e, err := a.st.CalculatedEmissions().Get(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	run, err := a.st.CalculationRuns().Get(r.Context(), tok.OrgID, e.RunID)
	if err != nil {
		return err
	}
	x, sel, err := calculation.StoredExplanation(run, *e)
	if err != nil {
		return err
	}
	e.Lineage = nil
	if sel == nil {
		sel = []string{}
	}
	writeJSON(w, http.StatusOK, emissionExplained{CalculatedEmission: e, Explanation: x, Selection: sel})
	return nil
}

// totalsShow answers GET /api/v1/emissions/totals?by=&from=&to=: current
// emissions by scope (and category, site, source, month), with the whole
// inventory location- and market-based.
func (a *api) totalsShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var f listFilter
	if err := queryRange(r, "period_start", &f); err != nil {
		return err
	}
	tq := calculation.TotalsQuery{Filter: store.ResultFilter{From: f.since, To: f.until}}
	if s := r.URL.Query().Get("by"); s != "" {
		for _, d := range strings.Split(s, ",") {
			if d = strings.TrimSpace(d); !slices.Contains(calculation.Breakdowns(), d) {
				return badRequest("by", "by %q: want any of %s, comma-separated", d, strings.Join(calculation.Breakdowns(), ", "))
			}
			tq.By = append(tq.By, d)
		}
	}
	tot, err := a.totals.EmissionTotals(r.Context(), a.st, tok.OrgID, tq)
	if err != nil {
		return err
	}
	if tot.Rows == nil {
		tot.Rows = []calculation.TotalRow{} // a copy's field: the cached totals are not changed
	}
	writeJSON(w, http.StatusOK, tot)
	return nil
}

// ---- factors ---------------------------------------------------------------------

// factorSetsList answers GET /api/v1/factor-sets: the official factor sets
// published in the store.
func (a *api) factorSetsList(w http.ResponseWriter, r *http.Request, _ *store.APIToken) error {
	sets, err := a.st.OfficialFactorSets(r.Context())
	if err != nil {
		return err
	}
	if sets == nil {
		sets = []store.FactorSet{}
	}
	writeJSON(w, http.StatusOK, listResponse[store.FactorSet]{Items: sets})
	return nil
}

// factorSetFactors answers GET /api/v1/factor-sets/{id}/factors?activity=:
// the set's factor values, each citing its source table and row.
func (a *api) factorSetFactors(w http.ResponseWriter, r *http.Request, _ *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sets, err := a.st.OfficialFactorSets(r.Context())
	if err != nil {
		return err
	}
	found := false
	for _, s := range sets {
		found = found || s.ID == id
	}
	if !found {
		return &requestError{typ: ProblemNotFound, status: http.StatusNotFound, field: "id", detail: "no factor set " + id.String()}
	}
	fs, err := a.st.FactorSetValues(r.Context(), id)
	if err != nil {
		return err
	}
	if act := r.URL.Query().Get("activity"); act != "" {
		kept := fs[:0]
		for _, f := range fs {
			if f.ActivityType == act {
				kept = append(kept, f)
			}
		}
		fs = kept
	}
	if fs == nil {
		fs = []store.EmissionFactor{}
	}
	writeJSON(w, http.StatusOK, listResponse[store.EmissionFactor]{Items: fs})
	return nil
}

// ---- supply chain -----------------------------------------------------------------

// suppliersList answers GET /api/v1/suppliers?country=&active=.
func (a *api) suppliersList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f, err := countryActive(r)
	if err != nil {
		return err
	}
	f.sorts = supplierSorts
	return listPage(w, r, a.st.Suppliers(), tok.OrgID, f, nil)
}

// supplierShow answers GET /api/v1/suppliers/{id}.
func (a *api) supplierShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	return showRecord(w, r, a.st.Suppliers(), tok.OrgID)
}

// productsList answers GET /api/v1/products?supplier=.
func (a *api) productsList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f := listFilter{where: map[string]any{}}
	if err := queryRef(r, "supplier", "supplier_id", f.where); err != nil {
		return err
	}
	f.sorts = productSorts
	return listPage(w, r, a.st.Products(), tok.OrgID, f, nil)
}

// purchaseOrdersList answers GET /api/v1/purchase-orders?supplier=&from=&to=
// (from and to bound the order date).
func (a *api) purchaseOrdersList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f := listFilter{where: map[string]any{}}
	if err := queryRef(r, "supplier", "supplier_id", f.where); err != nil {
		return err
	}
	if err := queryRange(r, "order_date", &f); err != nil {
		return err
	}
	f.sorts = poSorts
	return listPage(w, r, a.st.PurchaseOrders(), tok.OrgID, f, nil)
}

// purchaseOrderDetail is a purchase order with its lines.
type purchaseOrderDetail struct {
	*store.PurchaseOrder
	Lines []*store.PurchaseOrderLine `json:"lines"`
}

// purchaseOrderShow answers GET /api/v1/purchase-orders/{id}: the order
// and its lines, in line order.
func (a *api) purchaseOrderShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	po, err := a.st.PurchaseOrders().Get(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	out := purchaseOrderDetail{PurchaseOrder: po, Lines: []*store.PurchaseOrderLine{}}
	o := store.ListOptions{Limit: 1000, Where: map[string]any{"po_id": id}}
	for {
		ls, err := a.st.PurchaseOrderLines().List(r.Context(), tok.OrgID, o)
		if err != nil {
			return err
		}
		out.Lines = append(out.Lines, ls...)
		if len(ls) < o.Limit {
			break
		}
		o.After = ls[len(ls)-1].ID
	}
	slices.SortFunc(out.Lines, func(x, y *store.PurchaseOrderLine) int { return cmp.Compare(x.LineNo, y.LineNo) })
	writeJSON(w, http.StatusOK, out)
	return nil
}
