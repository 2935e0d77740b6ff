package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// IoT devices with their latest readings and open alerts; the page
// updates itself from /devices/events (server-sent events) without a
// reload.

// maxLiveMetrics is how many metrics of a device the page shows.
const maxLiveMetrics = 4

// liveReading is a device metric's latest reading.
type liveReading struct {
	Device string `json:"device"`
	Metric string `json:"metric"`
	Value  string `json:"value"`
	Unit   string `json:"unit"`
	Time   string `json:"time"`
}

// liveAlert is an open alert.
type liveAlert struct {
	ID       string `json:"id"`
	Device   string `json:"device"`
	Severity string `json:"severity"`
	Metric   string `json:"metric"`
	Message  string `json:"message"`
	Raised   string `json:"raised"`
}

// liveState is what the page shows and each event carries.
type liveState struct {
	Readings []liveReading `json:"readings"`
	Alerts   []liveAlert   `json:"alerts"`
}

type deviceRow struct {
	D       *store.Device
	Site    string
	Metrics []string
}

// devicesOf lists org's devices (not decommissioned) with the metrics the
// page shows for each.
func (s *Site) devicesOf(ctx context.Context, org uuid.UUID) ([]deviceRow, error) {
	sites := map[uuid.UUID]string{}
	if err := s.st.Sites().Each(ctx, org, func(st *store.Site) error { sites[st.ID] = st.Code; return nil }); err != nil {
		return nil, err
	}
	var rows []deviceRow
	err := s.st.Devices().Each(ctx, org, func(d *store.Device) error {
		if d.Status == "decommissioned" {
			return nil
		}
		row := deviceRow{D: d}
		if d.SiteID != nil {
			row.Site = sites[*d.SiteID]
		}
		if t, ok := s.catalogue.Type(d.DeviceType); ok {
			for _, m := range t.Metrics() {
				if len(row.Metrics) < maxLiveMetrics {
					row.Metrics = append(row.Metrics, m.Name)
				}
			}
		}
		rows = append(rows, row)
		return nil
	})
	return rows, err
}

// live reads each device metric's latest reading and the open alerts.
func (s *Site) live(ctx context.Context, org uuid.UUID, rows []deviceRow) (liveState, error) {
	st := liveState{Readings: []liveReading{}, Alerts: []liveAlert{}}
	now := time.Now().Add(time.Minute) // readings stamped slightly ahead of this clock count too
	for _, row := range rows {
		for _, m := range row.Metrics {
			r, err := s.st.SensorReadingLast(ctx, org, row.D.ID, m, now)
			if store.CodeOf(err) == store.CodeNotFound {
				continue
			}
			if err != nil {
				return st, err
			}
			st.Readings = append(st.Readings, liveReading{Device: row.D.ID.String(), Metric: m, Value: r.Value.String(), Unit: r.Unit,
				Time: r.Time.UTC().Format(time.RFC3339)})
		}
	}
	as, err := s.st.AlertsList(ctx, org, store.AlertFilter{Status: store.AlertOpen, Limit: 50})
	if err != nil {
		return st, err
	}
	for _, a := range as {
		la := liveAlert{ID: a.ID.String(), Severity: a.Severity, Metric: a.Metric, Message: a.Message, Raised: a.RaisedAt.UTC().Format(time.RFC3339)}
		if a.DeviceID != nil {
			la.Device = a.DeviceID.String()
		}
		st.Alerts = append(st.Alerts, la)
	}
	return st, nil
}

// devices answers GET /devices.
func (s *Site) devices(w http.ResponseWriter, r *http.Request, sess *session) error {
	rows, err := s.devicesOf(r.Context(), sess.org.ID)
	if err != nil {
		return err
	}
	st, err := s.live(r.Context(), sess.org.ID, rows)
	if err != nil {
		return err
	}
	latest := map[string]liveReading{}
	for _, rd := range st.Readings {
		latest[rd.Device+"/"+rd.Metric] = rd
	}
	s.render(w, http.StatusOK, "devices.html", map[string]any{
		"Layout": s.frame(sess, "IoT devices", "devices"), "Rows": rows, "Latest": latest, "Alerts": st.Alerts,
	})
	return nil
}

// devicesEvents answers GET /devices/events: a server-sent event stream
// whose "live" events carry the latest readings and open alerts (as
// liveState JSON) whenever they change, checked every LiveInterval, with
// a comment every 15 s to keep proxies from closing the stream. It runs
// until the client goes.
func (s *Site) devicesEvents(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && err != http.ErrNotSupported {
		return err
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var last []byte
	tick := time.NewTicker(s.liveEvery)
	defer tick.Stop()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	var rows []deviceRow
	refreshed := time.Time{}
	for {
		if time.Since(refreshed) > time.Minute { // devices registered meanwhile appear within a minute
			var err error
			if rows, err = s.devicesOf(ctx, sess.org.ID); err != nil {
				return nil // the page keeps its last state; the browser reconnects
			}
			refreshed = time.Now()
		}
		st, err := s.live(ctx, sess.org.ID, rows)
		if err != nil {
			return nil
		}
		b, _ := json.Marshal(st)
		if !slices.Equal(b, last) {
			if _, err := fmt.Fprintf(w, "event: live\ndata: %s\n\n", b); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			last = b
		}
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			_ = rc.Flush()
		case <-tick.C:
		}
	}
}
