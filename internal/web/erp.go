package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/store"
)

// ERP connections: their state and sync jobs; test and sync buttons for
// those whose role may change them (erp:write).

type erpRow struct {
	C    *store.ERPConnection
	Jobs []*store.SyncJob
}

// erpConnections answers GET /erp: every connection with its five latest
// sync jobs.
func (s *Site) erpConnections(w http.ResponseWriter, r *http.Request, sess *session) error {
	cs, err := s.st.ERPConnections().List(r.Context(), sess.org.ID, store.ListOptions{Limit: 1000})
	if err != nil {
		return err
	}
	rows := make([]erpRow, 0, len(cs))
	for _, c := range cs {
		jobs, err := s.st.SyncJobsOf(r.Context(), sess.org.ID, c.ID, 5)
		if err != nil {
			return err
		}
		rows = append(rows, erpRow{C: c, Jobs: jobs})
	}
	s.render(w, http.StatusOK, "erp.html", map[string]any{
		"Layout": s.frame(sess, "ERP connections", "erp"), "Rows": rows, "CanWrite": sess.may(store.ScopeERPWrite),
		"Running": s.erp != nil, "Notice": r.URL.Query().Get("notice"),
	})
	return nil
}

// erpConnection answers GET /erp/{name}: one connection's sync jobs, the
// latest fifty.
func (s *Site) erpConnection(w http.ResponseWriter, r *http.Request, sess *session) error {
	c, err := s.st.ERPConnectionByName(r.Context(), sess.org.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	jobs, err := s.st.SyncJobsOf(r.Context(), sess.org.ID, c.ID, 50)
	if err != nil {
		return err
	}
	s.render(w, http.StatusOK, "erp_connection.html", map[string]any{
		"Layout": s.frame(sess, c.Name, "erp"), "C": c, "Jobs": jobs, "CanWrite": sess.may(store.ScopeERPWrite), "Running": s.erp != nil,
	})
	return nil
}

// erpTest answers POST /erp/{name}/test: the connection test's steps.
func (s *Site) erpTest(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.erp == nil {
		s.errorPage(w, r, sess, http.StatusServiceUnavailable, "ERP syncing is not running in this process.")
		return nil
	}
	steps, err := s.erp.Test(r.Context(), sess.org.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	ok := true
	for _, st := range steps {
		ok = ok && st.OK
	}
	s.render(w, http.StatusOK, "erp_test.html", map[string]any{
		"Layout": s.frame(sess, "Connection test", "erp"), "Name": r.PathValue("name"), "Steps": steps, "OK": ok,
	})
	return nil
}

// erpSync answers POST /erp/{name}/sync: a sync of every entity started in
// the background, then back to the connection's jobs.
func (s *Site) erpSync(w http.ResponseWriter, r *http.Request, sess *session) error {
	if s.erp == nil {
		s.errorPage(w, r, sess, http.StatusServiceUnavailable, "ERP syncing is not running in this process.")
		return nil
	}
	c, err := s.st.ERPConnectionByName(r.Context(), sess.org.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	if !c.Active {
		s.errorPage(w, r, sess, http.StatusConflict, "Connection "+c.Name+" is inactive.")
		return nil
	}
	ctx := s.bg
	if ctx == nil {
		ctx = context.WithoutCancel(r.Context())
	}
	ctx = store.WithActor(ctx, store.Actor{Type: "user", ID: sess.user.ID.String()})
	s.erp.SyncInBackground(ctx, sess.org.ID, c.Name, erp.SyncOptions{})
	http.Redirect(w, r, "/erp?notice="+url.QueryEscape("Sync of "+c.Name+" started: its jobs appear below as they run."), http.StatusSeeOther)
	return nil
}
