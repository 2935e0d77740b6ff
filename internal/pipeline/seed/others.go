package seed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/iot/analytics"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/store"
)

var thousand = decimal.NewFromInt(1000)

// csrd is the seed's CSRD Reporting Pipeline: the ESRS E1-6 data points
// the inventory answers, for the month, into csrd.data_points.
func csrd(d Deps) pipeline.Pipeline {
	return pipeline.Pipeline{
		Name:        CSRD,
		Description: "Monthly: compute the ESRS E1-6 data points the inventory answers (gross scope 1, scope 2 location- and market-based, scope 3 by category, totals, intensity per net revenue) for the month into csrd.data_points as drafts; approved or published figures are never overwritten.",
		Schedule:    "@monthly",
		Tasks: []pipeline.Task{
			{ID: "aggregate", Group: "collect", Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return scopeTotals(ctx, d, tc.OrgID, tc.LogicalDate, tc.IntervalEnd)
			}},
			{ID: "data_points", Group: "load", Deps: []string{"aggregate"}, Retries: 2, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				var t ScopeTotals
				if err := tc.Output("aggregate", &t); err != nil {
					return nil, err
				}
				org, err := d.Store.OrganizationGet(ctx, tc.OrgID)
				if err != nil {
					return nil, err
				}
				dps := DataPoints(t, org, tc.RunID)
				res, err := d.Store.UpsertDataPoints(ctx, tc.OrgID, dps)
				if err != nil {
					return nil, err
				}
				tc.Log.Info("ESRS data points", "computed", len(dps), "created", res.Created, "updated", res.Updated, "unchanged", res.Unchanged, "locked", res.Locked)
				return res, nil
			}},
		},
	}
}

// DataPoints are the ESRS E1-6 data points of t (paragraph numbers of ESRS
// E1: 44 gross scopes 1, 2, 3 and total; 49 scope 2 location- and
// market-based; 51 scope 3 by category; 53 intensity per net revenue), in
// t CO2e.
func DataPoints(t ScopeTotals, org *store.Organization, run uuid.UUID) []store.DataPoint {
	lineage, _ := json.Marshal(map[string]any{"pipeline": CSRD, "run_id": run, "results": t.Results, "source": "emissions.calculated_emissions (current results)"})
	dp := func(code, name string, kg decimal.Decimal) store.DataPoint {
		return store.DataPoint{StandardCode: "E1", DatapointCode: code, Name: name, PeriodStart: t.From, PeriodEnd: t.To,
			ValueNumeric: decimal.NewNullDecimal(kg.Div(thousand).Round(3)), Unit: "tCO2e", Source: CSRD, Lineage: lineage}
	}
	out := []store.DataPoint{
		dp("E1-6_44a", "Gross Scope 1 GHG emissions", t.Scope1),
		dp("E1-6_49a", "Gross location-based Scope 2 GHG emissions", t.Scope2Loc),
		dp("E1-6_49b", "Gross market-based Scope 2 GHG emissions", t.Scope2Mkt),
		dp("E1-6_44c", "Gross Scope 3 GHG emissions", t.Scope3),
		dp("E1-6_52a", "Total GHG emissions (location-based)", t.TotalLocation),
		dp("E1-6_52b", "Total GHG emissions (market-based)", t.TotalMarket),
	}
	cats := slices.Sorted(maps.Keys(t.Scope3ByCat))
	for _, c := range cats {
		out = append(out, dp("E1-6_51_cat"+c, "Gross Scope 3 GHG emissions, category "+c, t.Scope3ByCat[c]))
	}
	var settings struct {
		Revenue *decimal.Decimal `json:"annual_revenue"`
	}
	if org != nil && len(org.Settings) > 0 {
		_ = json.Unmarshal(org.Settings, &settings)
	}
	if settings.Revenue != nil && settings.Revenue.IsPositive() {
		cur := org.ReportingCurrency
		if cur == "" {
			cur = "EUR"
		}
		// The period's share of annual net revenue.
		rev := settings.Revenue.Mul(decimal.NewFromFloat(t.To.Sub(t.From).Hours() / 24 / 365.25))
		for _, x := range []struct {
			code, name string
			kg         decimal.Decimal
		}{{"E1-6_53a", "GHG intensity per net revenue (location-based)", t.TotalLocation}, {"E1-6_53b", "GHG intensity per net revenue (market-based)", t.TotalMarket}} {
			p := dp(x.code, x.name, decimal.Zero)
			p.ValueNumeric = decimal.NewNullDecimal(x.kg.Div(thousand).Div(rev).Mul(decimal.NewFromInt(1_000_000)).Round(4))
			p.Unit = "tCO2e per million " + cur
			out = append(out, p)
		}
	}
	return out
}

// iotStream is the seed's IoT Stream Processing: the hourly roll-up into
// activity data, an anomaly sweep over the interval's readings and alerts
// for devices that fell silent.
func iotStream(d Deps) pipeline.Pipeline {
	return pipeline.Pipeline{
		Name:        IoTStream,
		Description: "Every 15 minutes: roll completed hours of meter readings up into activity data, sweep the interval's readings for anomalies against each series' previous 24 hours (modified z-score > 3.5), and alert on active devices silent for over an hour.",
		Schedule:    "*/15 * * * *",
		Tasks: []pipeline.Task{
			{ID: "hourly_aggregates", Group: "process", Retries: 2, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				// The hours that ended (with their grace) by the interval's end.
				end := tc.IntervalEnd.Add(-rollupGrace).Truncate(time.Hour)
				return rollUp(ctx, d, tc, end.Add(-2*time.Hour), end)
			}},
			{ID: "anomaly_sweep", Group: "process", Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return anomalySweep(ctx, d, tc)
			}},
			{ID: "silent_devices", Group: "alert", Deps: []string{"hourly_aggregates", "anomaly_sweep"}, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				return silentDevices(ctx, d, tc, time.Hour)
			}},
		},
	}
}

var sweepThreshold = decimal.RequireFromString("3.5")

func anomalySweep(ctx context.Context, d Deps, tc *pipeline.TaskContext) (any, error) {
	checked, anomalies := 0, 0
	err := d.Store.Devices().Each(ctx, tc.OrgID, func(dev *store.Device) error {
		if dev.Status != "active" {
			return nil
		}
		rs, err := d.Store.SensorReadings(ctx, tc.OrgID, store.SensorReadingsQuery{DeviceID: dev.ID, From: tc.LogicalDate, To: tc.IntervalEnd, Limit: 10000})
		if err != nil {
			return err
		}
		series := map[string][]store.SensorReading{}
		for _, r := range rs {
			// Cumulative registers grow by design; their increase is the
			// roll-up's business, not an anomaly.
			if strings.HasSuffix(r.Metric, "_total") {
				continue
			}
			series[r.Metric] = append(series[r.Metric], r)
		}
		for metric, cur := range series {
			hist, err := d.Store.SensorReadings(ctx, tc.OrgID, store.SensorReadingsQuery{DeviceID: dev.ID, Metric: metric, From: tc.LogicalDate.Add(-24 * time.Hour), To: tc.LogicalDate, Limit: 10000})
			if err != nil {
				return err
			}
			if len(hist) < 10 {
				continue // too little history to judge
			}
			window := make([]decimal.Decimal, len(hist))
			for i, h := range hist {
				window[i] = h.Value
			}
			for _, r := range cur {
				checked++
				res := analytics.RobustScore(window, r.Value, sweepThreshold)
				if !res.Anomalous {
					continue
				}
				anomalies++
				key := "sweep:" + dev.ID.String() + ":" + metric
				if _, err := d.Store.AlertRaise(ctx, &store.AlertRaiseParams{
					OrgID: tc.OrgID, ID: uuid.NewSHA1(dev.ID, []byte(key+r.Time.String())), EventID: fmt.Sprintf("%s:%s", key, r.Time.Format(time.RFC3339Nano)), DedupKey: key,
					DeviceRef: dev.ID.String(), Severity: "warning", Kind: "anomaly", Rule: "batch-mad", Metric: metric, Value: r.Value,
					Message:  fmt.Sprintf("%s of %s is %s %s, far from its previous 24 h (median %s, robust z %s)", metric, dev.Name, r.Value, r.Unit, res.Median, res.Score),
					RaisedAt: r.Time,
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	tc.Log.Info("anomaly sweep", "readings_checked", checked, "anomalies", anomalies)
	return map[string]int{"readings_checked": checked, "anomalies": anomalies}, nil
}

func silentDevices(ctx context.Context, d Deps, tc *pipeline.TaskContext, after time.Duration) (any, error) {
	var silent []string
	err := d.Store.Devices().Each(ctx, tc.OrgID, func(dev *store.Device) error {
		if dev.Status != "active" || dev.LastSeenAt == nil || !dev.LastSeenAt.Before(tc.IntervalEnd.Add(-after)) {
			return nil
		}
		silent = append(silent, dev.Name)
		key := "silent:" + dev.ID.String()
		gone := tc.IntervalEnd.Sub(*dev.LastSeenAt).Round(time.Minute)
		_, err := d.Store.AlertRaise(ctx, &store.AlertRaiseParams{
			OrgID: tc.OrgID, ID: uuid.NewSHA1(dev.ID, []byte(key+dev.LastSeenAt.String())), EventID: tc.RunID.String() + ":" + key, DedupKey: key,
			DeviceRef: dev.ID.String(), Severity: "warning", Kind: "device_silent", Rule: "silent-1h", Metric: "last_seen",
			Value:    decimal.NewFromFloat(gone.Minutes()).Round(0),
			Message:  fmt.Sprintf("device %s has sent nothing for %s (last seen %s)", dev.Name, gone, dev.LastSeenAt.UTC().Format(time.RFC3339)),
			RaisedAt: tc.IntervalEnd,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	tc.Log.Info("silent devices", "count", len(silent), "devices", silent)
	return map[string]any{"silent": len(silent), "devices": silent}, nil
}

// qualityMonitoring is the seed's Data Quality Monitoring: every dataset's
// suites (freshness, completeness, volume and the rest), results stored,
// alerts on breaches.
func qualityMonitoring(d Deps) pipeline.Pipeline {
	p := pipeline.Pipeline{
		Name:        QualityMonitoring,
		Description: "Hourly: run every dataset's expectation suites (freshness, completeness, volume, validity, uniqueness, consistency), store the results and KPIs, and raise an alert for each failing suite.",
		Schedule:    "@hourly",
	}
	var datasets []string
	if d.Datasets != nil {
		datasets = d.Datasets()
	}
	for _, ds := range datasets {
		p.Tasks = append(p.Tasks, pipeline.Task{ID: "check." + ds, Group: "check", Run: monitor(d, ds)})
	}
	if len(p.Tasks) == 0 {
		p.Tasks = []pipeline.Task{{ID: "check", Run: func(context.Context, *pipeline.TaskContext) (any, error) {
			return nil, errors.New("no expectation suites are configured in this process")
		}}}
	}
	return p
}

// mlTraining is the seed's ML Model Training: until the forecasting
// capability lands, it fits the seasonal-naive baseline to each scope's
// monthly emissions and records its backtest error.
func mlTraining(d Deps) pipeline.Pipeline {
	return pipeline.Pipeline{
		Name:        MLTraining,
		Description: "Weekly: train the emissions forecasting baseline (seasonal naive: a month is forecast as the same month a year before, else the month before) on the monthly totals and record its backtest error (MAPE over the last 6 months) as a KPI.",
		Schedule:    "@weekly",
		Tasks: []pipeline.Task{
			{ID: "train_baseline", Group: "train", Timeout: 30 * time.Minute, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				end := time.Date(tc.IntervalEnd.Year(), tc.IntervalEnd.Month(), 1, 0, 0, 0, 0, time.UTC)
				t, err := calculation.EmissionTotals(ctx, d.Store, tc.OrgID, calculation.TotalsQuery{
					Filter: store.ResultFilter{From: end.AddDate(-3, 0, 0), To: end}, By: []string{calculation.ByMonth}})
				if err != nil {
					return nil, err
				}
				series := map[time.Time]decimal.Decimal{}
				for _, r := range t.Rows {
					if r.Scope2Basis == "market" {
						continue // the location-based inventory
					}
					m, err := time.Parse("2006-01", r.Month)
					if err != nil {
						return nil, fmt.Errorf("month %q of the totals: %w", r.Month, err)
					}
					series[m] = series[m].Add(r.CO2eKg)
				}
				b := Backtest(series, end, 6)
				tc.Log.Info("seasonal baseline", "months", len(series), "backtested", b.Months, "mape_pct", b.MAPE.StringFixed(2), "next_month_kg", b.Forecast.StringFixed(0))
				if b.Months == 0 {
					return b, nil
				}
				if _, err := d.Store.UpsertKPIValues(ctx, tc.OrgID, []store.KPIPoint{
					{Code: "ml.baseline.backtest_mape", Name: "Forecast baseline backtest error (MAPE)", Unit: "%", PeriodStart: tc.LogicalDate, PeriodEnd: tc.IntervalEnd, Value: b.MAPE.Round(2),
						Description: "Mean absolute percentage error of the seasonal-naive forecast of monthly location-based emissions over the last 6 complete months."},
					{Code: "ml.baseline.next_month_kg", Name: "Forecast of next month's emissions (seasonal naive)", Unit: "kg CO2e", PeriodStart: tc.LogicalDate, PeriodEnd: tc.IntervalEnd, Value: b.Forecast.Round(0)},
				}); err != nil {
					return nil, err
				}
				return b, nil
			}},
		},
	}
}

// BacktestResult is the baseline's fit.
type BacktestResult struct {
	Model    string          `json:"model"`
	Months   int             `json:"months_backtested"`
	MAPE     decimal.Decimal `json:"mape_pct"`
	Forecast decimal.Decimal `json:"next_month_forecast_kg"`
}

// Backtest forecasts each of the n months before end from the months
// before it (seasonal naive) and returns the mean absolute percentage
// error over months with a forecast and non-zero actuals, and the
// forecast of the month starting at end.
func Backtest(series map[time.Time]decimal.Decimal, end time.Time, n int) BacktestResult {
	forecast := func(m time.Time) (decimal.Decimal, bool) {
		if v, ok := series[m.AddDate(-1, 0, 0)]; ok {
			return v, true
		}
		v, ok := series[m.AddDate(0, -1, 0)]
		return v, ok
	}
	out := BacktestResult{Model: "seasonal_naive"}
	sum := decimal.Zero
	for i := n; i >= 1; i-- {
		m := end.AddDate(0, -i, 0)
		actual, ok := series[m]
		f, fok := forecast(m)
		if !ok || !fok || actual.IsZero() {
			continue
		}
		sum = sum.Add(actual.Sub(f).Abs().Div(actual.Abs()))
		out.Months++
	}
	if out.Months > 0 {
		out.MAPE = sum.Div(decimal.NewFromInt(int64(out.Months))).Mul(decimal.NewFromInt(100))
	}
	out.Forecast, _ = forecast(end)
	return out
}

// upstream are the pipelines master_orchestration waits for.
var upstream = []string{Emissions, SupplyChain, QualityMonitoring}

// master is the seed's Master Orchestration: it waits for the day's runs
// of the upstream pipelines for every organization, then publishes the
// day's status.
func master(d Deps) pipeline.Pipeline {
	return pipeline.Pipeline{
		Name:        MasterOrchestation,
		Description: "Daily: wait (up to 6 hours) for the same logical date's runs of emissions_data_pipeline and supply_chain_integration, and the day's data_quality_monitoring runs, of every organization that ran them before; then publish the day's status.",
		Schedule:    "30 0 * * *",
		Scope:       pipeline.Platform,
		// poll is how often the wait looks at the upstream runs.
		Params: map[string]string{"poll": "30s"},
		Tasks: []pipeline.Task{
			{ID: "wait_upstream", Group: "wait", Timeout: 6 * time.Hour, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				poll, err := time.ParseDuration(tc.Param("poll"))
				if err != nil || poll <= 0 {
					return nil, fmt.Errorf("parameter poll %q: want a positive duration such as 30s", tc.Param("poll"))
				}
				day := tc.LogicalDate.UTC().Truncate(24 * time.Hour)
				for {
					st, pending, err := dayStatus(ctx, d, day)
					if err != nil {
						return nil, err
					}
					if pending == 0 {
						return st, nil
					}
					tc.Log.Info("waiting for upstream runs", "pending", pending)
					select {
					case <-ctx.Done():
						return st, fmt.Errorf("upstream runs still pending: %w", ctx.Err())
					case <-time.After(poll):
					}
				}
			}},
			{ID: "publish_status", Group: "publish", Deps: []string{"wait_upstream"}, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				var st DayStatus
				if err := tc.Output("wait_upstream", &st); err != nil {
					return nil, err
				}
				tc.Log.Info("day status", "date", st.Date, "succeeded", st.Succeeded, "failed", st.Failed, "missing", st.Missing)
				if st.Failed > 0 {
					return st, fmt.Errorf("%d upstream run(s) of %s failed: %v", st.Failed, st.Date, st.Failures)
				}
				return st, nil
			}},
		},
	}
}

// DayStatus is a day's pipeline outcome.
type DayStatus struct {
	Date      string `json:"date"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	Missing   int    `json:"missing"`
	// NotScheduled counts pipelines an organization had never run before
	// the day (a new organization or installation): not waited for.
	NotScheduled int      `json:"not_scheduled"`
	Failures     []string `json:"failures,omitempty"`
}

// dayStatus counts the upstream runs of day, per organization: pending is
// how many are neither successful nor failed yet. A run is expected only
// from an organization that had an earlier run of that pipeline: a new
// organization, or a pipeline new to the installation, is not waited for
// (NotScheduled).
func dayStatus(ctx context.Context, d Deps, day time.Time) (DayStatus, int, error) {
	st := DayStatus{Date: day.Format(time.DateOnly)}
	orgs, err := d.Store.OrganizationIDs(ctx)
	if err != nil {
		return st, 0, err
	}
	pending := 0
	for _, name := range upstream {
		for _, org := range orgs {
			runs, err := d.Store.PipelineRuns(ctx, store.PipelineRunFilter{Pipeline: name, OrgID: org, Before: day.Add(24 * time.Hour), Limit: 100})
			if err != nil {
				return st, 0, err
			}
			var mine []store.PipelineRun
			earlier := false
			for _, r := range runs {
				if r.LogicalDate.Before(day) {
					earlier = true
				} else {
					mine = append(mine, r)
				}
			}
			if len(mine) == 0 {
				if earlier {
					st.Missing++
					pending++
				} else {
					st.NotScheduled++
				}
				continue
			}
			for _, r := range mine {
				switch r.State {
				case store.RunSuccess:
					st.Succeeded++
				case store.RunFailed:
					st.Failed++
					st.Failures = append(st.Failures, fmt.Sprintf("%s/%s %s", name, org, r.LogicalDate.Format(time.RFC3339)))
				default:
					pending++
				}
			}
		}
	}
	return st, pending, nil
}

// backup is the seed's Disaster Recovery Backup.
func backup(d Deps) pipeline.Pipeline {
	return pipeline.Pipeline{
		Name:        Backup,
		Description: "Daily: a consistent logical backup of the whole store (every table, every tenant) to the backup directory, keeping the newest; restore with `greenlang backup restore`.",
		Schedule:    "0 2 * * *",
		Scope:       pipeline.Platform,
		Tasks: []pipeline.Task{
			{ID: "backup_store", Group: "backup", Retries: 2, RetryDelay: time.Minute, Timeout: 4 * time.Hour, Run: func(ctx context.Context, tc *pipeline.TaskContext) (any, error) {
				if d.Backup == nil {
					return nil, errors.New("no backup target is configured in this process")
				}
				path, err := d.Backup(ctx, d.Now())
				if err != nil {
					return nil, err
				}
				tc.Log.Info("backup written", "path", path)
				return map[string]string{"path": path}, nil
			}},
		},
	}
}
