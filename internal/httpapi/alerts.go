package httpapi

import (
	"net/http"

	"github.com/greenlang/greenlang/internal/store"
)

// Alerts of the alert sink (docs/iot-alerts.md).

// alertsList answers GET /api/v1/alerts?status=&device=&limit=: the
// organization's alerts, the most recently raised first. status is open
// (the default), acknowledged, resolved or all.
func (a *api) alertsList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	q := r.URL.Query()
	f := store.AlertFilter{Status: store.AlertOpen}
	if q.Has("status") {
		f.Status = q.Get("status")
	}
	if s := q.Get("device"); s != "" {
		id, err := parseID("device", s)
		if err != nil {
			return err
		}
		f.DeviceID = &id
	}
	var err error
	if f.Limit, err = queryLimit(r, 100, MaxListLimit); err != nil {
		return err
	}
	as, err := a.st.AlertsList(r.Context(), tok.OrgID, f)
	if err != nil {
		return err
	}
	if as == nil {
		as = []store.AlertDetail{}
	}
	writeJSON(w, http.StatusOK, listResponse[store.AlertDetail]{Items: as})
	return nil
}

// alertShow answers GET /api/v1/alerts/{id}.
func (a *api) alertShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	al, err := a.st.AlertGet(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, al)
	return nil
}

// alertAcknowledge answers POST /api/v1/alerts/{id}/acknowledge: the alert,
// acknowledged by the token. Acknowledging it again changes nothing; a
// resolved alert is a conflict (409).
func (a *api) alertAcknowledge(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	al, err := a.st.AlertAcknowledge(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, al)
	return nil
}
