package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/store"
)

// reading is one stored reading in a readings response.
type reading struct {
	Time    time.Time       `json:"time"`
	Value   decimal.Decimal `json:"value"`
	Unit    string          `json:"unit"`
	Quality int             `json:"quality"`
}

// hourlyAggregate is one hour of a metric in an hourly readings response.
type hourlyAggregate struct {
	Hour  time.Time       `json:"hour"`
	Count int64           `json:"count"`
	Min   decimal.Decimal `json:"min"`
	Max   decimal.Decimal `json:"max"`
	Mean  decimal.Decimal `json:"mean"`
}

// readingsResponse answers GET /api/v1/devices/{id}/readings. Items are
// readings, or hourly aggregates when Hourly.
type readingsResponse struct {
	DeviceID string    `json:"device_id"`
	Metric   string    `json:"metric"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Hourly   bool      `json:"hourly"`
	Items    any       `json:"items"`
	// Limit is the most readings the response could hold; Truncated says
	// there were more, and NextFrom is the time of the first one left out:
	// ask again with from=NextFrom for the next page.
	Limit     int        `json:"limit,omitempty"`
	Truncated bool       `json:"truncated"`
	NextFrom  *time.Time `json:"next_from,omitempty"`
}

// deviceReadings answers GET /api/v1/devices/{id}/readings?metric=&from=&to=
// [&hourly=true][&limit=]: a device's stored readings of one metric in
// [from, to), oldest first, at most limit (default 1000, at most
// MaxReadings); or each hour's minimum, maximum, mean and count, over at
// most MaxHourlySpan.
func (a *api) deviceReadings(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	metric := q.Get("metric")
	if metric == "" {
		return badRequest("metric", "metric is required (e.g. energy_kwh_total)")
	}
	span, err := querySpan(r)
	if err != nil {
		return err
	}
	hourly := false
	if s := q.Get("hourly"); s != "" {
		if hourly, err = strconv.ParseBool(s); err != nil {
			return badRequest("hourly", "hourly %q: want true or false", s)
		}
	}
	if hourly && span[1].Sub(span[0]) > MaxHourlySpan {
		return badRequest("to", "hourly aggregates span at most %d days: narrow from and to", int(MaxHourlySpan.Hours()/24))
	}
	limit, err := queryLimit(r, 1000, MaxReadings)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := a.device(ctx, tok.OrgID, id); err != nil {
		return err
	}
	out := readingsResponse{DeviceID: id.String(), Metric: metric, From: span[0], To: span[1], Hourly: hourly}
	if hourly {
		aggs, err := iot.HourlyAggregates(ctx, a.st, tok.OrgID, id, metric, span[0], span[1])
		if err != nil {
			return err
		}
		items := make([]hourlyAggregate, 0, len(aggs))
		for _, h := range aggs {
			items = append(items, hourlyAggregate{Hour: h.Hour, Count: h.Count, Min: h.Min, Max: h.Max, Mean: h.Mean()})
		}
		out.Items = items
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	items := make([]reading, 0, min(limit, 1000))
	err = iot.EachReading(ctx, a.st, tok.OrgID, id, metric, span[0], span[1], func(sr store.SensorReading) error {
		if len(items) == limit {
			t := sr.Time.UTC()
			out.Truncated, out.NextFrom = true, &t
			return errEnough
		}
		items = append(items, reading{Time: sr.Time.UTC(), Value: sr.Value, Unit: sr.Unit, Quality: sr.Quality})
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return err
	}
	out.Items, out.Limit = items, limit
	writeJSON(w, http.StatusOK, out)
	return nil
}

// querySpan reads the required from and to query parameters, from before
// to.
func querySpan(r *http.Request) ([2]time.Time, error) {
	q := r.URL.Query()
	var span [2]time.Time
	for i, field := range []string{"from", "to"} {
		if q.Get(field) == "" {
			return span, badRequest(field, "%s is required: an RFC 3339 time or a date", field)
		}
		t, err := parseInstant(field, q.Get(field))
		if err != nil {
			return span, err
		}
		span[i] = t
	}
	if !span[0].Before(span[1]) {
		return span, badRequest("to", "to must be after from")
	}
	return span, nil
}

// deviceSummary answers GET /api/v1/devices/{id}/summary?from=&to=: the
// device's readings over [from, to) summarized as iot.Summarize does
// (docs/iot-analytics.md, "Device summary"), over at most MaxSummarySpan.
func (a *api) deviceSummary(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	span, err := querySpan(r)
	if err != nil {
		return err
	}
	if span[1].Sub(span[0]) > MaxSummarySpan {
		return badRequest("to", "a summary spans at most %d days: narrow from and to", int(MaxSummarySpan.Hours()/24))
	}
	sum, err := iot.Summarize(r.Context(), a.st, tok.OrgID, id, span[0], span[1])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}
