package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/ratelimit"
	"github.com/greenlang/greenlang/internal/store"
)

// Limits of the /api/v1 routes (docs/api.md, "Limits").
const (
	// MaxBodyBytes is the largest request body the API reads.
	MaxBodyBytes = 1 << 20
	// MaxListLimit is the most records a list returns in one response.
	MaxListLimit = 1000
	// MaxReadings is the most readings one readings response holds.
	MaxReadings = 10000
	// MaxHourlySpan is the longest span hourly aggregates are computed over
	// in one request: they are computed from every reading of the span.
	MaxHourlySpan = 31 * 24 * time.Hour
	// MaxSummarySpan is the longest range a device summary covers in one
	// request: it reads every reading of the range.
	MaxSummarySpan = 92 * 24 * time.Hour
)

// api serves the /api/v1 routes over a store.
type api struct {
	st  *store.Store
	log *slog.Logger
	erp *erp.Syncer     // nil: the ERP test and sync routes answer 503
	bg  context.Context // lifetime of background work (syncs); nil: none
	// maxUpload bounds an uploaded activity file.
	maxUpload int64
	// hashing is the cost of users' password hashes.
	hashing password.Params
	// totals caches emission totals while an organization's data is
	// unchanged.
	totals *calculation.TotalsCache
	// services caches organizations' calculation services for uploads.
	services *calculation.Services
	// tokenLimit buckets requests per API token (nil: unlimited);
	// failLimit failed authentications per client address.
	tokenLimit, failLimit *ratelimit.Limiters
	// pipelines runs the pipeline routes; nil makes them answer 503.
	pipelines *pipeline.Engine
}

// route is one /api/v1 route: its ServeMux pattern, the scope it needs
// (none: any valid token), its handler and what the OpenAPI document says
// of it.
type route struct {
	pattern string
	scope   string
	h       apiHandler
	doc     opDoc
}

// opDoc documents a route in the OpenAPI document (openapi.go): the
// schemas are reflected from the Go types the handler reads and writes.
type opDoc struct {
	summary string
	query   []param
	// body is a value of the JSON request body's type; nil: no JSON body.
	body any
	// upload names the media types of a non-JSON body (a file).
	upload []string
	// resp is a value of the success response's type.
	resp any
	// status is the success status; 0 is 200.
	status int
	// secret marks an answer holding a secret shown once (a token, a
	// device's credentials): it is never stored for an idempotent replay.
	secret bool
}

// showsSecret returns d marked as answering with a secret shown once.
func (d opDoc) showsSecret() opDoc {
	d.secret = true
	return d
}

// param is a query parameter: its name and what it means.
type param struct{ name, desc string }

// doc builds an opDoc: a summary, the response, then query parameters as
// name/description pairs.
func doc(summary string, resp any, query ...string) opDoc {
	d := opDoc{summary: summary, resp: resp}
	for i := 0; i+1 < len(query); i += 2 {
		d.query = append(d.query, param{query[i], query[i+1]})
	}
	return d
}

// with returns d with a JSON request body of body's type and success status.
func (d opDoc) with(body any, status int) opDoc {
	d.body, d.status = body, status
	return d
}

// Query parameters shared by the paged lists.
var pageParams = []string{
	"limit", "page size, 1 to 1000 (default 100)",
	"after", "the next_after of the previous page",
	"order", "asc (the default) or desc",
}

// paged is a list's query parameters: q, then paging, then sort when the
// list has sort fields.
func paged(sorts []string, q ...string) []string {
	q = append(q, pageParams...)
	if len(sorts) > 0 {
		q = append(q, "sort", "order by one of: "+strings.Join(sorts, ", ")+" (default: creation order); ties in creation order")
	}
	return q
}

// routes lists every /api/v1 route (docs/api.md).
func (a *api) routes() []route {
	const (
		dr, dw = store.ScopeDevicesRead, store.ScopeDevicesWrite
		ar, aw = store.ScopeAlertsRead, store.ScopeAlertsWrite
		er, ew = store.ScopeERPRead, store.ScopeERPWrite
		pr, pw = store.ScopePipelinesRead, store.ScopePipelinesWrite
		ir, iw = store.ScopeInventoryRead, store.ScopeInventoryWrite
		fr, sr = store.ScopeFactorsRead, store.ScopeSuppliersRead
		ur, uw = store.ScopeUsersRead, store.ScopeUsersWrite
		adr    = store.ScopeAuditRead
	)
	const (
		created  = http.StatusCreated
		accepted = http.StatusAccepted
		ok       = http.StatusOK
	)
	return []route{
		{"GET /api/v1/token", "", a.tokenShow, doc("The API token of the request: organization, scopes, expiry", &store.APIToken{})},
		{"GET /api/v1/organization", "", a.organizationShow, doc("The organization the request acts in", &store.Organization{})},
		{"POST /api/v1/organizations", store.ScopeOrganizationsWrite, a.organizationCreate, doc("Create an organization whose first admin is the token's user",
			organizationCreated{}).with(organizationRequest{}, created)},

		{"GET /api/v1/users", ur, a.usersList, doc("Users of the organization and their roles", listResponse[*store.User]{},
			paged(userSorts, "role", "only users of this role", "disabled", "true or false")...)},
		{"POST /api/v1/users", uw, a.userCreate, doc("Create a user with a role (and a password for the dashboard)", &store.User{}).with(userRequest{}, created)},
		{"GET /api/v1/users/{id}", ur, a.userShow, doc("One user", &store.User{})},
		{"PATCH /api/v1/users/{id}", uw, a.userUpdate, doc("Change a user: e-mail, name, role, password, disabled", &store.User{}).with(userRequest{}, ok)},
		{"GET /api/v1/tokens", ur, a.tokensList, doc("API tokens of the organization (never a secret)", listResponse[*store.APIToken]{})},
		{"POST /api/v1/tokens", uw, a.tokenCreate, doc("Issue an API token, shown this once", tokenIssued{}).with(tokenRequest{}, created).showsSecret()},
		{"POST /api/v1/tokens/{id}/revoke", uw, a.tokenRevoke, doc("Revoke an API token: it stops working at once", &store.APIToken{})},
		{"GET /api/v1/audit", adr, a.auditList, doc("The audit trail, oldest first", auditPage{},
			"after", "sequence number to start after (0: the beginning)", "limit", "page size, 1 to 1000 (default 100)")},
		{"GET /api/v1/audit/verify", adr, a.auditVerify, doc("Verify the audit trail's hash chain end to end", auditVerification{})},

		{"GET /api/v1/sites", ir, a.sitesList, doc("Sites (facilities)", listResponse[*store.Site]{},
			paged(siteSorts, "country", "ISO 3166-1 alpha-2 code", "active", "true or false")...)},
		{"POST /api/v1/sites", iw, a.siteCreate, doc("Create a site", &store.Site{}).with(siteRequest{}, created)},
		{"GET /api/v1/sites/{id}", ir, a.siteShow, doc("One site", &store.Site{})},
		{"PATCH /api/v1/sites/{id}", iw, a.siteUpdate, doc("Change a site", &store.Site{}).with(siteRequest{}, ok)},
		{"GET /api/v1/emission-sources", ir, a.sourcesList, doc("Emission sources", listResponse[*store.EmissionSource]{},
			paged(sourceSorts, "scope", "1, 2 or 3", "site", "a site's id or code")...)},
		{"POST /api/v1/emission-sources", iw, a.sourceCreate, doc("Create an emission source", &store.EmissionSource{}).with(sourceRequest{}, created)},
		{"GET /api/v1/emission-sources/{id}", ir, a.sourceShow, doc("One emission source", &store.EmissionSource{})},
		{"GET /api/v1/activity-records", ir, a.activityList, doc("Activity records", listResponse[*store.ActivityRecord]{},
			paged(activitySorts, "source", "an emission source's id", "site", "a site's id or code", "type", "activity type (diesel, electricity, …)",
				"origin", "manual, erp, iot or file", "batch", "a batch id", "from", "period start at or after (date or RFC 3339)",
				"to", "period start before (date or RFC 3339)")...)},
		{"POST /api/v1/activity-records", iw, a.activityRecordsCreate, doc("Create activity records (one or a batch of up to 10,000, with the activity file's columns): calculated and stored as one calculation run; refused records listed by index and field",
			activityFileResponse{}).with(activityRecordsRequest{}, created)},
		{"GET /api/v1/activity-records/{id}", ir, a.activityShow, doc("One activity record", &store.ActivityRecord{})},
		{"POST /api/v1/activity-files", iw, a.activityFileUpload, opDoc{
			summary: "Upload an activity file (CSV or XLSX): calculated and stored as one calculation run; refused rows listed",
			query:   []param{{"gwp", "GWP set (default AR6)"}},
			upload:  []string{"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
			resp:    activityFileResponse{}, status: created}},
		{"GET /api/v1/calculation-runs", ir, a.runsList, doc("Calculation runs (without parameters)", listResponse[*store.CalculationRun]{},
			paged(runSorts, "status", "running, succeeded or failed")...)},
		{"POST /api/v1/calculation-runs", iw, a.runCreate, doc("Start a recalculation of the stored results (GWP set, period, reason): changed results superseded by a new run (201), or a dry run's restatement (200)",
			calculation.Recalculation{}).with(recalcRequest{}, created)},
		{"GET /api/v1/calculation-runs/{id}", ir, a.runShow, doc("One calculation run with its parameters", &store.CalculationRun{})},
		{"GET /api/v1/emissions", ir, a.emissionsList, doc("Calculated emissions (current ones unless superseded=true)", listResponse[*store.CalculatedEmission]{},
			paged(emissionSorts, "run", "a calculation run's id", "activity", "an activity record's id", "source", "an emission source's id",
				"site", "a site's id or code", "scope", "1, 2 or 3", "superseded", "true to include superseded results",
				"from", "period start at or after", "to", "period start before")...)},
		{"GET /api/v1/emissions/totals", ir, a.totalsShow, doc("Emission totals by scope, location- and market-based", calculation.Totals{},
			"by", "any of category, site, source, month (comma-separated)", "from", "period start at or after", "to", "period start before")},
		{"GET /api/v1/emissions/{id}", ir, a.emissionShow, doc("One calculated emission, explained step by step", emissionExplained{})},
		{"GET /api/v1/factor-sets", fr, a.factorSetsList, doc("Official factor sets published in the store", listResponse[store.FactorSet]{})},
		{"GET /api/v1/factor-sets/{id}/factors", fr, a.factorSetFactors, doc("A factor set's values, each citing its source", listResponse[store.EmissionFactor]{},
			"activity", "only factors of this activity type")},
		{"GET /api/v1/suppliers", sr, a.suppliersList, doc("Suppliers", listResponse[*store.Supplier]{},
			paged(supplierSorts, "country", "ISO 3166-1 alpha-2 code", "active", "true or false")...)},
		{"GET /api/v1/suppliers/{id}", sr, a.supplierShow, doc("One supplier", &store.Supplier{})},
		{"GET /api/v1/products", sr, a.productsList, doc("Products", listResponse[*store.Product]{}, paged(productSorts, "supplier", "a supplier's id")...)},
		{"GET /api/v1/purchase-orders", sr, a.purchaseOrdersList, doc("Purchase orders", listResponse[*store.PurchaseOrder]{},
			paged(poSorts, "supplier", "a supplier's id", "from", "order date at or after", "to", "order date before")...)},
		{"GET /api/v1/purchase-orders/{id}", sr, a.purchaseOrderShow, doc("One purchase order with its lines", purchaseOrderDetail{})},

		{"GET /api/v1/devices", dr, a.devicesList, doc("Devices, in registration order", listResponse[*store.Device]{},
			"type", "device type", "site", "a site's id or code", "status", "device status", "limit", "page size", "after", "the next_after of the previous page")},
		{"POST /api/v1/devices", dw, a.deviceRegister, doc("Register a device; its MQTT credentials are shown once", deviceWithCredentials{}).with(deviceRegisterRequest{}, created).showsSecret()},
		{"GET /api/v1/devices/{id}", dr, a.deviceShow, doc("One device and its credentials' history", deviceDetail{})},
		{"PATCH /api/v1/devices/{id}", dw, a.deviceUpdate, doc("Change a device", &store.Device{}).with(deviceUpdateRequest{}, ok)},
		{"POST /api/v1/devices/{id}/rotate-secret", dw, a.deviceRotateSecret, doc("Issue a device new credentials, shown once", deviceWithCredentials{}).showsSecret()},
		{"POST /api/v1/devices/{id}/decommission", dw, a.deviceDecommission, doc("Decommission a device: its credentials stop working", &store.Device{})},
		{"POST /api/v1/devices/{id}/configure", dw, a.deviceConfigure, doc("Queue a configure command for a device", store.DeviceCommand{}).with(configureRequest{}, accepted)},
		{"GET /api/v1/devices/{id}/commands", dr, a.deviceCommands, doc("A device's commands, newest first", listResponse[store.DeviceCommand]{},
			"status", "command status", "limit", "page size")},
		{"GET /api/v1/devices/{id}/readings", dr, a.deviceReadings, doc("Readings of one metric, or hourly aggregates", readingsResponse{},
			"metric", "the metric", "from", "start (date or RFC 3339)", "to", "end", "hourly", "true for hourly aggregates", "limit", "most readings")},
		{"GET /api/v1/devices/{id}/summary", dr, a.deviceSummary, doc("A device's summary over a range", iot.Summary{}, "from", "start", "to", "end")},
		{"GET /api/v1/commands/{id}", dr, a.commandShow, doc("One device command", store.DeviceCommand{})},
		{"POST /api/v1/firmware-campaigns", dw, a.campaignCreate, doc("Start a firmware update campaign", campaignJSON{}).with(campaignCreateRequest{}, created)},
		{"GET /api/v1/firmware-campaigns", dr, a.campaignsList, doc("Firmware campaigns, newest first, with counts", listResponse[campaignJSON]{})},
		{"GET /api/v1/firmware-campaigns/{id}", dr, a.campaignShow, doc("One campaign and each device's command", campaignDetail{})},
		{"GET /api/v1/alerts", ar, a.alertsList, doc("Alerts, latest first", listResponse[store.AlertDetail]{},
			"status", "open (default), acknowledged, resolved or all", "device", "a device's id", "limit", "page size")},
		{"GET /api/v1/alerts/{id}", ar, a.alertShow, doc("One alert", store.AlertDetail{})},
		{"POST /api/v1/alerts/{id}/acknowledge", aw, a.alertAcknowledge, doc("Acknowledge an alert", store.AlertDetail{})},
		{"GET /api/v1/pipelines", pr, a.pipelinesList, doc("The pipelines, their schedules and tasks", listResponse[pipeline.Info]{})},
		{"GET /api/v1/pipelines/{name}/runs", pr, a.pipelineRuns, doc("The organization's runs of a pipeline, newest logical date first", listResponse[store.PipelineRun]{},
			"limit", "page size (default 50)", "before", "runs with an earlier logical date (paging)")},
		{"POST /api/v1/pipelines/{name}/runs", pw, a.pipelineTrigger, doc("Trigger a run for the organization (409 when its logical date has one)", store.PipelineRun{}).with(pipelineRunRequest{}, created)},
		{"POST /api/v1/pipelines/{name}/backfill", pw, a.pipelineBackfill, doc("Create a run for every scheduled logical date in [from, to) that has none", pipelineBackfilled{}).with(pipelineBackfillRequest{}, created)},
		{"GET /api/v1/pipeline-runs/{id}", pr, a.pipelineRunShow, doc("One run and its task instances", pipelineRunDetail{})},
		{"GET /api/v1/pipeline-runs/{id}/tasks/{task}", pr, a.pipelineTaskShow, doc("One task instance with its log and output", store.TaskInstance{})},
		{"POST /api/v1/pipeline-runs/{id}/clear", pw, a.pipelineRunClear, doc("Run a run's failed tasks again, or one task and what follows it", pipelineCleared{}).with(pipelineClearRequest{}, ok)},
		{"GET /api/v1/erp/connections", er, a.erpConnectionsList, doc("ERP connections (never their credentials)", listResponse[*store.ERPConnection]{})},
		{"POST /api/v1/erp/connections", ew, a.erpConnectionCreate, doc("Create an ERP connection", erpConnection{}).with(erp.ConnectionSpec{}, created)},
		{"GET /api/v1/erp/connections/{name}", er, a.erpConnectionShow, doc("One ERP connection, its watermarks and record counts", erpConnection{})},
		{"PATCH /api/v1/erp/connections/{name}", ew, a.erpConnectionUpdate, doc("Change an ERP connection", erpConnection{}).with(erp.ConnectionPatch{}, ok)},
		{"GET /api/v1/erp/mapping", er, a.erpMappingShow, doc("The mapping from ERP records to activity data", store.ActivityMapping{}, "version", "a version (default the latest)")},
		{"PUT /api/v1/erp/mapping", ew, a.erpMappingPut, doc("Store the next version of the mapping", store.ActivityMapping{}).with(erp.Mapping{}, created)},
		{"GET /api/v1/erp/connections/{name}/jobs", er, a.erpConnectionJobs, doc("A connection's sync jobs, newest first", listResponse[*store.SyncJob]{}, "limit", "page size")},
		{"POST /api/v1/erp/connections/{name}/test", ew, a.erpConnectionTest, doc("Test a connection step by step", erpTestResponse{})},
		{"POST /api/v1/erp/connections/{name}/sync", ew, a.erpConnectionSync, doc("Start a sync in the background", erpSyncAccepted{}).with(erpSyncRequest{}, accepted)},
		{"POST /api/v1/erp/connections/{name}/journal-entries", ew, a.erpJournalPost, doc("Post a carbon-accounting journal entry to the ERP", erp.JournalResult{},
			"repost", "true to post a reference again").with(erp.JournalFile{}, created)},
		{"PUT /api/v1/erp/connections/{name}/files/{file}", ew, a.erpFileUpload, opDoc{
			summary: "Store a CSV or XLSX file for a spreadsheet connection",
			upload:  []string{"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
			resp:    erp.UploadResult{}, status: created}},
		{"GET /api/v1/erp/jobs/{id}", er, a.erpJobShow, doc("One sync job and the records it quarantined", erpJob{})},
	}
}

// mount adds every /api/v1 route to mux.
func (a *api) mount(mux *http.ServeMux, version string) {
	routes := a.routes()
	for _, rt := range routes {
		mux.Handle(rt.pattern, a.authenticate(rt.scope, rt.h, rt.doc.secret))
	}
	doc, err := openAPI(routes, version)
	if err != nil {
		// A route without its documentation is a programming error the
		// tests catch; the API itself still serves.
		a.log.Error("building the OpenAPI document", slog.Any("err", err))
	}
	mux.HandleFunc("GET /api/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		if doc == nil {
			writeProblem(w, http.StatusInternalServerError, "the OpenAPI document could not be built; it is logged")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(doc)
	})
	page := referencePage(routes, version)
	mux.HandleFunc("GET /api/docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", referenceCSP)
		_, _ = w.Write(page)
	})
	mux.HandleFunc("GET /api/docs.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(referenceScript)
	})
}

// tokenShow answers GET /api/v1/token: the token the request carries (its
// organization, scopes and expiry), never its secret or hash.
func (a *api) tokenShow(w http.ResponseWriter, _ *http.Request, tok *store.APIToken) error {
	writeJSON(w, http.StatusOK, tok)
	return nil
}

// requestError is a request the API refuses before the store sees it: a
// problem naming the part of the request that is wrong.
type requestError struct {
	typ    string // empty: about:blank
	status int
	field  string
	detail string
}

func (e *requestError) Error() string { return e.detail }

// badRequest is a 400 about field: the request cannot be read.
func badRequest(field, format string, args ...any) error {
	return &requestError{typ: ProblemInvalidRequest, status: http.StatusBadRequest, field: field, detail: fmt.Sprintf(format, args...)}
}

// invalid is a 422 about field: it was read, but names something that does
// not exist in the organization (a site code, say).
func invalid(field, format string, args ...any) error {
	return &requestError{typ: ProblemValidation, status: http.StatusUnprocessableEntity, field: field, detail: fmt.Sprintf(format, args...)}
}

// fail answers a request whose handler failed: the one place store error
// codes become HTTP statuses. Errors the client cannot fix are logged;
// their detail says nothing of the engine.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeProblemOf(w, Problem{Type: re.typ, Status: re.status, Detail: re.detail, Field: re.field})
		return
	}
	p := Problem{Detail: storeMessage(err)}
	switch store.CodeOf(err) {
	case store.CodeNotFound:
		p.Type, p.Status = ProblemNotFound, http.StatusNotFound
	case store.CodeInvalidArgument:
		p.Type, p.Status = ProblemValidation, http.StatusUnprocessableEntity
	case store.CodeFailedPrecondition, store.CodeAlreadyExists:
		p.Type, p.Status = ProblemConflict, http.StatusConflict
	case store.CodeUnavailable:
		a.log.LogAttrs(r.Context(), slog.LevelError, "api request failed", slog.String("route", r.Pattern), slog.Any("err", err))
		w.Header().Set("Retry-After", "5")
		p = Problem{Type: ProblemUnavailable, Status: http.StatusServiceUnavailable, Detail: "the store is unavailable; try again"}
	default:
		a.log.LogAttrs(r.Context(), slog.LevelError, "api request failed", slog.String("route", r.Pattern), slog.Any("err", err))
		p = Problem{Status: http.StatusInternalServerError, Detail: "internal error; it is logged"}
	}
	writeProblemOf(w, p)
}

// storeMessage is what a client is told of a store error: its message
// without the operation, or the code's name when it has none (an engine
// error, which is not shown).
func storeMessage(err error) string {
	var se *store.Error
	if errors.As(err, &se) && se.Msg != "" {
		return se.Msg
	}
	return store.CodeOf(err).String()
}

// decodeBody reads r's JSON body into dst: at most MaxBodyBytes, one JSON
// object, no unknown fields. Its errors name the field when there is one.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	return decodeBodyMax(w, r, dst, MaxBodyBytes)
}

// decodeBodyMax is decodeBody reading at most limit bytes.
func decodeBodyMax(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &requestError{status: http.StatusUnsupportedMediaType, detail: fmt.Sprintf("Content-Type %q: send application/json", ct)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, err = dec.Token(); !errors.Is(err, io.EOF) {
			return badRequest("", "the body holds more than one JSON value")
		}
		return nil
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		big *http.MaxBytesError
	)
	switch {
	case errors.As(err, &big):
		return &requestError{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the body is larger than %d bytes", big.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("", "the body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return badRequest("", "the body is not valid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("", "the body must be a JSON object, not %s", typ.Value)
		}
		return badRequest(typ.Field, "field %s: want %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return badRequest(name, "unknown field %q", name)
	}
	return badRequest("", "the body cannot be read: %v", err)
}

// jsonKind names a Go kind as a JSON type, for decoding errors.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	default:
		return "a number"
	}
}

// pathID reads the {id} path segment of r.
func pathID(r *http.Request) (uuid.UUID, error) {
	return parseID("id", r.PathValue("id"))
}

// parseID reads a UUID named field.
func parseID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, badRequest(field, "%s %q is not a UUID", field, s)
	}
	return id, nil
}

// parseInstant reads an RFC 3339 time, or a date (midnight UTC), named field.
func parseInstant(field, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, badRequest(field, "%s %q: want an RFC 3339 time (2026-12-01T10:00:00Z) or a date (2026-12-01)", field, s)
}

// optInstant is parseInstant for an optional field: "" is nil.
func optInstant(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := parseInstant(field, s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// parseTTL reads an optional Go duration ("2h", "90m") named field; "" is 0.
func parseTTL(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, badRequest(field, "%s %q: want a duration such as 2h or 90m", field, s)
	}
	return d, nil
}

// queryLimit reads the limit query parameter: def when absent, 1..max.
func queryLimit(r *http.Request, def, maxN int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxN {
		return 0, badRequest("limit", "limit %q: want a whole number from 1 to %d", s, maxN)
	}
	return n, nil
}

// listResponse is the body of every list: its items and, when there may
// be more, the cursor to pass as ?after= for the next page.
type listResponse[T any] struct {
	Items     []T    `json:"items"`
	NextAfter string `json:"next_after,omitempty"`
}
