package iot

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/ghg"
	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/store"
)

// meterActivity says what one register of a device type becomes in the
// inventory (docs/iot.md, "Readings become activity data").
type meterActivity struct {
	deviceType, metric string
	activityType, unit string
	scope, method      string
}

// emissionsSensor is the device type whose readings are measured masses.
const emissionsSensor = "emissions_sensor"

// meterActivities are the registers the hourly roll-up turns into
// activity data: energy meters' kWh as scope 2 electricity (location-based
// by the site's grid region, market-based beside it), vehicle trackers'
// fuel as scope 1 mobile combustion of diesel (EPA Hub Table 2).
func meterActivities() []meterActivity {
	return []meterActivity{
		{deviceType: "energy_meter", metric: "energy_kwh_total", activityType: "electricity", unit: "kWh", scope: "2"},
		{deviceType: "vehicle_tracker", metric: "fuel_l_total", activityType: "mobile/diesel_fuel", unit: "L", scope: "1", method: "mobile_combustion_fuel"},
	}
}

// RollupResult is what one hour's roll-up did.
type RollupResult struct {
	Hour       time.Time
	Activities int // activity records stored (0 when the hour had none or was stored before)
	// AlreadyStored: some or all of the hour's devices were rolled up
	// before; they were not stored again.
	AlreadyStored bool
	// Skipped names devices left out, with why (no site, no baseline).
	Skipped []string
	// Notes name activities stored from less than the whole hour (an
	// emissions sensor with gaps in its samples, register readings left
	// out).
	Notes []string
	RunID uuid.UUID
}

// Rollup turns an hour of stored register readings into activity records
// and calculated emissions, one calculation run per organization and
// hour, so the inventory follows live data.
type Rollup struct {
	st   *store.Store
	calc *calculation.Service
	cat  *telemetry.Catalogue
	log  *slog.Logger
}

// NewRollup returns a roll-up storing through st, calculating with calc
// and reading device types from cat.
func NewRollup(st *store.Store, calc *calculation.Service, cat *telemetry.Catalogue, log *slog.Logger) *Rollup {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Rollup{st: st, calc: calc, cat: cat, log: log}
}

// Hour rolls up org's readings of [hour, hour+1h) (hour is truncated to
// the hour, UTC). For each energy meter and vehicle tracker at a site, the
// register's increase over the hour (from its last reading before the
// hour, through rollovers and resets, with the device's register
// settings: the same register as the device summary's) becomes one
// activity of the site; a reading the register refuses is left out and
// named in Notes, dated to the hour's day and identified as
// iot:<device>:<metric>:<hour>. For each emissions sensor at a site, the
// mass of each gas it measured over the hour (EmittedMass) becomes a scope
// 1 activity by direct measurement, measured/<gas> in kg, identified as
// iot:<device>:measured/<gas>:<hour>; an hour only partly measured is
// stored as measured and named in Notes. The hour's activities are calculated and
// stored as one run. A device's hour is stored once: rolling the hour up
// again stores nothing for the devices already rolled up (readings that
// arrived later are not counted; restating them is a recalculation's
// job) and says so.
func (r *Rollup) Hour(ctx context.Context, org uuid.UUID, hour time.Time) (RollupResult, error) {
	hour = hour.UTC().Truncate(time.Hour)
	res := RollupResult{Hour: hour}
	sites := map[uuid.UUID]string{}
	if err := r.st.Sites().Each(ctx, org, func(s *store.Site) error { sites[s.ID] = s.Code; return nil }); err != nil {
		return res, err
	}
	var devices []*store.Device
	if err := r.st.Devices().Each(ctx, org, func(d *store.Device) error { devices = append(devices, d); return nil }); err != nil {
		return res, err
	}
	type row struct{ id, activityType, amount, unit, site, scope, method string }
	var rows []row
	siteOf := func(d *store.Device) (string, bool) {
		if d.SiteID != nil && sites[*d.SiteID] != "" {
			return sites[*d.SiteID], true
		}
		res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s: not at a site with a code (its readings cannot be attributed)", d.DeviceType, d.ID))
		return "", false
	}
	hourID := hour.Format("2006-01-02T15Z")
	for _, ma := range meterActivities() {
		for _, d := range devices {
			if d.DeviceType != ma.deviceType {
				continue
			}
			in, err := newSectionInput(r.st, r.cat, org, d, hour, hour.Add(time.Hour))
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s: %v", d.DeviceType, d.ID, err))
				continue
			}
			reg, err := in.increase(ctx, ma.metric)
			if err != nil {
				return res, err
			}
			res.Notes = append(res.Notes, in.notes...)
			amount := reg.Increase
			if reg.Intervals == 0 || !amount.IsPositive() {
				continue
			}
			code, ok := siteOf(d)
			if !ok {
				continue
			}
			rows = append(rows, row{id: fmt.Sprintf("iot:%s:%s:%s", d.ID, ma.metric, hourID),
				activityType: ma.activityType, amount: amount.String(), unit: ma.unit, site: code, scope: ma.scope, method: ma.method})
		}
	}
	// Emissions sensors measure the mass itself: scope 1 by direct
	// measurement, one activity per gas.
	for _, d := range devices {
		if d.DeviceType != emissionsSensor {
			continue
		}
		em, err := EmittedMass(ctx, r.st, org, d.ID, hour, hour.Add(time.Hour))
		if err != nil {
			return res, err
		}
		if len(em.KgByGas) == 0 {
			continue
		}
		code, ok := siteOf(d)
		if !ok {
			continue
		}
		for _, g := range flueGases {
			kg, ok := em.KgByGas[g.gas]
			if !ok || !kg.IsPositive() {
				continue
			}
			typ := ghg.MeasuredActivityType(string(g.gas))
			rows = append(rows, row{id: fmt.Sprintf("iot:%s:%s:%s", d.ID, typ, hourID),
				activityType: typ, amount: kg.String(), unit: "kg", site: code, scope: "1", method: ghg.MethodDirectMeasurement})
			if c := em.Covered[g.gas]; c < time.Hour {
				res.Notes = append(res.Notes, fmt.Sprintf("%s %s: %s measured over %s of the hour (gaps over %s are not filled)", d.DeviceType, d.ID, g.gas, c, FlueMaxHold))
			}
		}
	}
	if len(rows) == 0 {
		return res, nil
	}
	// A device's hour is rolled up once: readings that arrive after it was
	// (late, or a re-run) do not store a second activity for it.
	ids := make([]string, len(rows))
	for i, x := range rows {
		ids[i] = x.id
	}
	day := hour.Truncate(24 * time.Hour)
	done, err := r.st.ActivityOriginRefsStored(ctx, org, day, day.Add(24*time.Hour), ids)
	if err != nil {
		return res, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"id", "activity_type", "quantity", "unit", "period_start", "site", "scope", "method", "data_quality"})
	n := 0
	for _, x := range rows {
		if done[x.id] {
			res.AlreadyStored = true
			continue
		}
		// Data quality 1: metered, the best the GHG Protocol's scale has.
		_ = w.Write([]string{x.id, x.activityType, x.amount, x.unit, hour.Format(time.DateOnly), x.site, x.scope, x.method, "1"})
		n++
	}
	w.Flush()
	if n == 0 {
		return res, nil
	}
	rep, stored, err := r.calc.Ingest(ctx, r.st, org, &buf, calculation.Options{}, time.Now())
	switch {
	case errors.Is(err, calculation.ErrAlreadyStored):
		res.AlreadyStored = true
		return res, nil
	case err != nil:
		return res, fmt.Errorf("iot: rolling up %s: %w", hour.Format(time.RFC3339), err)
	}
	for _, e := range rep.Errors {
		res.Skipped = append(res.Skipped, e.Error())
	}
	res.Activities, res.RunID = int(stored.Activities), stored.RunID
	r.log.Info("iot: hour rolled up into activity data", "org", org, "hour", hour, "activities", res.Activities, "run", stored.RunID,
		"skipped", res.Skipped, "notes", res.Notes)
	return res, nil
}
