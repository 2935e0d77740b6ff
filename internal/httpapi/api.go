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

	"github.com/greenlang/greenlang/internal/erp"
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
}

// route is one /api/v1 route: its ServeMux pattern, the scope it needs
// (none: any valid token) and its handler.
type route struct {
	pattern string
	scope   string
	h       apiHandler
}

// routes lists every /api/v1 route (docs/api.md).
func (a *api) routes() []route {
	const (
		dr, dw = store.ScopeDevicesRead, store.ScopeDevicesWrite
		ar, aw = store.ScopeAlertsRead, store.ScopeAlertsWrite
		er, ew = store.ScopeERPRead, store.ScopeERPWrite
	)
	return []route{
		{"GET /api/v1/token", "", a.tokenShow},
		{"GET /api/v1/devices", dr, a.devicesList},
		{"POST /api/v1/devices", dw, a.deviceRegister},
		{"GET /api/v1/devices/{id}", dr, a.deviceShow},
		{"PATCH /api/v1/devices/{id}", dw, a.deviceUpdate},
		{"POST /api/v1/devices/{id}/rotate-secret", dw, a.deviceRotateSecret},
		{"POST /api/v1/devices/{id}/decommission", dw, a.deviceDecommission},
		{"POST /api/v1/devices/{id}/configure", dw, a.deviceConfigure},
		{"GET /api/v1/devices/{id}/commands", dr, a.deviceCommands},
		{"GET /api/v1/devices/{id}/readings", dr, a.deviceReadings},
		{"GET /api/v1/devices/{id}/summary", dr, a.deviceSummary},
		{"GET /api/v1/commands/{id}", dr, a.commandShow},
		{"POST /api/v1/firmware-campaigns", dw, a.campaignCreate},
		{"GET /api/v1/firmware-campaigns", dr, a.campaignsList},
		{"GET /api/v1/firmware-campaigns/{id}", dr, a.campaignShow},
		{"GET /api/v1/alerts", ar, a.alertsList},
		{"GET /api/v1/alerts/{id}", ar, a.alertShow},
		{"POST /api/v1/alerts/{id}/acknowledge", aw, a.alertAcknowledge},
		{"GET /api/v1/erp/connections", er, a.erpConnectionsList},
		{"POST /api/v1/erp/connections", ew, a.erpConnectionCreate},
		{"GET /api/v1/erp/connections/{name}", er, a.erpConnectionShow},
		{"PATCH /api/v1/erp/connections/{name}", ew, a.erpConnectionUpdate},
		{"GET /api/v1/erp/mapping", er, a.erpMappingShow},
		{"PUT /api/v1/erp/mapping", ew, a.erpMappingPut},
		{"GET /api/v1/erp/connections/{name}/jobs", er, a.erpConnectionJobs},
		{"POST /api/v1/erp/connections/{name}/test", ew, a.erpConnectionTest},
		{"POST /api/v1/erp/connections/{name}/sync", ew, a.erpConnectionSync},
		{"POST /api/v1/erp/connections/{name}/journal-entries", ew, a.erpJournalPost},
		{"PUT /api/v1/erp/connections/{name}/files/{file}", ew, a.erpFileUpload},
		{"GET /api/v1/erp/jobs/{id}", er, a.erpJobShow},
	}
}

// mount adds every /api/v1 route to mux.
func (a *api) mount(mux *http.ServeMux) {
	for _, rt := range a.routes() {
		mux.Handle(rt.pattern, a.authenticate(rt.scope, rt.h))
	}
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
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &requestError{status: http.StatusUnsupportedMediaType, detail: fmt.Sprintf("Content-Type %q: send application/json", ct)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
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
