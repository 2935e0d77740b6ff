package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/store"
)

// ERP connections and their sync jobs (docs/erp.md, docs/api.md).

// erpConnection is a connection as the API shows it: never its credentials
// (ERPConnection does not marshal them), with its entities' states.
type erpConnection struct {
	*store.ERPConnection
	Entities map[string]store.SyncState  `json:"entities"`
	Records  map[string]map[string]int64 `json:"records"`
}

// erpConnectionsList answers GET /api/v1/erp/connections.
func (a *api) erpConnectionsList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	out := listResponse[*store.ERPConnection]{Items: []*store.ERPConnection{}}
	err := a.st.ERPConnections().Each(r.Context(), tok.OrgID, func(c *store.ERPConnection) error {
		out.Items = append(out.Items, c)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// erpConnectionShow answers GET /api/v1/erp/connections/{name}: the
// connection, its entities' watermarks and resume points, and its records
// by kind and state.
func (a *api) erpConnectionShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	c, err := a.st.ERPConnectionByName(r.Context(), tok.OrgID, r.PathValue("name"))
	if err != nil {
		return err
	}
	states, err := a.st.SyncStates(r.Context(), tok.OrgID, c.ID)
	if err != nil {
		return err
	}
	counts, err := a.st.ERPRecordCounts(r.Context(), tok.OrgID, c.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, erpConnection{ERPConnection: c, Entities: states, Records: counts})
	return nil
}

// erpConnectionJobs answers GET /api/v1/erp/connections/{name}/jobs?limit=:
// the connection's sync jobs, newest first.
func (a *api) erpConnectionJobs(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	limit, err := queryLimit(r, 50, MaxListLimit)
	if err != nil {
		return err
	}
	c, err := a.st.ERPConnectionByName(r.Context(), tok.OrgID, r.PathValue("name"))
	if err != nil {
		return err
	}
	jobs, err := a.st.SyncJobsOf(r.Context(), tok.OrgID, c.ID, limit)
	if err != nil {
		return err
	}
	if jobs == nil {
		jobs = []*store.SyncJob{}
	}
	writeJSON(w, http.StatusOK, listResponse[*store.SyncJob]{Items: jobs})
	return nil
}

// erpJob is a sync job with its quarantined records.
type erpJob struct {
	*store.SyncJob
	Errors []store.SyncError `json:"errors"`
}

// erpJobShow answers GET /api/v1/erp/jobs/{id}: the job and the records it
// quarantined.
func (a *api) erpJobShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	j, err := a.st.SyncJobs().Get(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	errs, err := a.st.SyncErrors(r.Context(), tok.OrgID, id, 0)
	if err != nil {
		return err
	}
	if errs == nil {
		errs = []store.SyncError{}
	}
	writeJSON(w, http.StatusOK, erpJob{SyncJob: j, Errors: errs})
	return nil
}

// erpConnectionTest answers POST /api/v1/erp/connections/{name}/test: the
// connection test's steps; 200 whether or not a step failed (ok says).
func (a *api) erpConnectionTest(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.erp == nil {
		return &requestError{status: http.StatusServiceUnavailable, detail: "ERP syncing is not running in this process"}
	}
	steps, err := a.erp.Test(r.Context(), tok.OrgID, r.PathValue("name"))
	if err != nil {
		return err
	}
	ok := true
	for _, s := range steps {
		ok = ok && s.OK
	}
	writeJSON(w, http.StatusOK, erpTestResponse{OK: ok, Steps: steps})
	return nil
}

// erpSyncRequest is the body of POST /api/v1/erp/connections/{name}/sync.
type erpSyncRequest struct {
	Entities []string `json:"entities"`
	Full     bool     `json:"full"`
}

// erpConnectionSync answers POST /api/v1/erp/connections/{name}/sync: 202,
// the sync runs in the background (its jobs appear under …/jobs).
func (a *api) erpConnectionSync(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.erp == nil {
		return &requestError{status: http.StatusServiceUnavailable, detail: "ERP syncing is not running in this process"}
	}
	var req erpSyncRequest
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, &req); err != nil {
			return err
		}
	}
	c, err := a.st.ERPConnectionByName(r.Context(), tok.OrgID, r.PathValue("name"))
	if err != nil {
		return err
	}
	if !c.Active {
		return invalid("name", "connection %s is inactive", c.Name)
	}
	conn, err := a.erp.Connector(c)
	if err != nil {
		return invalid("name", "connection %s: %v", c.Name, err)
	}
	for i, e := range req.Entities {
		known := false
		for _, x := range conn.Entities() {
			known = known || x.Name == e
		}
		if !known {
			return invalid(fmt.Sprintf("entities[%d]", i), "connection %s has no entity %q", c.Name, e)
		}
	}
	ctx := a.bg
	if ctx == nil {
		ctx = context.WithoutCancel(r.Context())
	}
	a.erp.SyncInBackground(ctx, tok.OrgID, c.Name, erp.SyncOptions{Entities: req.Entities, Full: req.Full})
	writeJSON(w, http.StatusAccepted, erpSyncAccepted{Connection: c.Name, Status: "accepted",
		Jobs: "/api/v1/erp/connections/" + c.Name + "/jobs"})
	return nil
}

// erpJournalPost answers POST
// /api/v1/erp/connections/{name}/journal-entries[?repost=true]: posts the
// body (erp.JournalFile) to the connection's ERP, once per reference;
// 201 with the ERP's document id, 409 when the reference was posted
// before (or its posting never finished), 502 when the ERP refused it.
func (a *api) erpJournalPost(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.erp == nil {
		return &requestError{status: http.StatusServiceUnavailable, detail: "ERP connectors are not running in this process"}
	}
	repost := false
	if v := r.URL.Query().Get("repost"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badRequest("repost", "%q is not true or false", v)
		}
		repost = b
	}
	var f erp.JournalFile
	if err := decodeBody(w, r, &f); err != nil {
		return err
	}
	e, err := f.Entry()
	if err != nil {
		return fieldProblem(err)
	}
	res, err := a.erp.PostJournal(r.Context(), tok.OrgID, r.PathValue("name"), e, repost)
	if err != nil {
		var se *store.Error
		if errors.As(err, &se) {
			return err
		}
		return &requestError{typ: ProblemUpstream, status: http.StatusBadGateway, detail: err.Error()}
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// erpFileUpload answers PUT /api/v1/erp/connections/{name}/files/{file}:
// the body is a CSV or XLSX file for a spreadsheet connection, checked and
// stored where its next sync reads it; 201 (200 when it replaced a file of
// that name) with what it holds, 422 naming what is wrong with it.
func (a *api) erpFileUpload(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.erp == nil {
		return &requestError{status: http.StatusServiceUnavailable, detail: "ERP connectors are not running in this process"}
	}
	body := http.MaxBytesReader(w, r.Body, erp.MaxUploadBytes+1)
	res, err := a.erp.Upload(r.Context(), tok.OrgID, r.PathValue("name"), r.PathValue("file"), body)
	if err != nil {
		if errors.As(err, new(*erp.FieldError)) {
			return fieldProblem(err)
		}
		return err
	}
	code := http.StatusCreated
	if res.Replaced {
		code = http.StatusOK
	}
	writeJSON(w, code, res)
	return nil
}

// erpConnectionCreate answers POST /api/v1/erp/connections: the body is a
// connection as `greenlang erp connection add --file` takes it
// (erp.ConnectionSpec); it is checked (the connector is built, nothing is
// contacted) and stored with its credentials sealed. 201 with the
// connection, never its credentials.
func (a *api) erpConnectionCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.erp == nil {
		return &requestError{status: http.StatusServiceUnavailable, detail: "ERP connectors are not running in this process"}
	}
	var spec erp.ConnectionSpec
	if err := decodeBody(w, r, &spec); err != nil {
		return err
	}
	if err := a.erp.Registry().Check(spec); err != nil {
		return fieldProblem(err)
	}
	c := new(store.ERPConnection)
	spec.Apply(c)
	if err := a.st.ERPConnections().Create(r.Context(), tok.OrgID, c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, erpConnection{ERPConnection: c, Entities: map[string]store.SyncState{}, Records: map[string]map[string]int64{}})
	return nil
}

// erpConnectionUpdate answers PATCH /api/v1/erp/connections/{name}: the
// body is an erp.ConnectionPatch; the changed connection is checked like a
// new one before it is stored.
func (a *api) erpConnectionUpdate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	if a.erp == nil {
		return &requestError{status: http.StatusServiceUnavailable, detail: "ERP connectors are not running in this process"}
	}
	var p erp.ConnectionPatch
	if err := decodeBody(w, r, &p); err != nil {
		return err
	}
	c, err := a.st.ERPConnectionByName(r.Context(), tok.OrgID, r.PathValue("name"))
	if err != nil {
		return err
	}
	spec := erp.Spec(c)
	p.Apply(&spec)
	if err := a.erp.Registry().Check(spec); err != nil {
		return fieldProblem(err)
	}
	spec.Apply(c)
	if err := a.st.ERPConnections().Update(r.Context(), tok.OrgID, c); err != nil {
		return err
	}
	return a.erpConnectionShow(w, r, tok)
}

// fieldProblem is a 422 about the field an *erp.FieldError names.
func fieldProblem(err error) error {
	var fe *erp.FieldError
	if errors.As(err, &fe) {
		return invalid(fe.Field, "%s", fe.Error())
	}
	return invalid("", "%v", err)
}

// erpMappingShow answers GET /api/v1/erp/mapping[?version=N]: the
// organization's mapping from ERP records to activity data.
func (a *api) erpMappingShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var (
		m   store.ActivityMapping
		err error
	)
	if v := r.URL.Query().Get("version"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 {
			return badRequest("version", "%q is not a version number", v)
		}
		m, err = a.st.ActivityMappingVersion(r.Context(), tok.OrgID, n)
	} else {
		m, err = a.st.ActivityMappingLatest(r.Context(), tok.OrgID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// erpMappingPut answers PUT /api/v1/erp/mapping: the body (the mapping as
// JSON, docs/erp.md "Mapping") becomes the next version; records left
// unmapped or quarantined by the earlier version are posted again at the
// next sync. 201 with the stored version.
func (a *api) erpMappingPut(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return badRequest("", "reading the body: %v", err)
	}
	m, err := erp.ParseMapping(b)
	if err != nil {
		return invalid("", "%s", err.Error())
	}
	v, _, err := erp.PutMapping(r.Context(), a.st, tok.OrgID, m, "token:"+tok.ID.String())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// erpTestResponse is the answer to a connection test: ok false when a
// step failed.
type erpTestResponse struct {
	OK    bool       `json:"ok"`
	Steps []erp.Step `json:"steps"`
}

// erpSyncAccepted is the answer to a sync request: the sync runs in the
// background; its job appears under jobs.
type erpSyncAccepted struct {
	Connection string `json:"connection"`
	Status     string `json:"status"`
	Jobs       string `json:"jobs"`
}
