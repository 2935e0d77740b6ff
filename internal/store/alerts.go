package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// Alerts of the alert sink (docs/iot-alerts.md): the stream processors'
// alerts stored in iot.alerts, de-duplicated (at most one alert that is
// not resolved per organization and dedup key: a repeat updates it) and
// resolved when their condition clears. Every write goes through the
// audit trail, entity type "alert" like the Alerts collection.

// Alert statuses (Alert.Status).
const (
	AlertOpen         = "open"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
)

// AlertStatuses are the statuses an alert can have, in lifecycle order.
func AlertStatuses() []string { return []string{AlertOpen, AlertAcknowledged, AlertResolved} }

// AlertDetail is an alert with the alert sink's columns (migration
// 00008_alerts.sql).
type AlertDetail struct {
	Alert
	// Rule names the rule that fired (e.g. "pm25-unhealthy", "zscore").
	Rule string `json:"rule"`
	// DeviceRef is the device id as the event named it; DeviceID is set
	// when it is a device registered in the organization.
	DeviceRef string `json:"device_ref,omitempty"`
	// DedupKey identifies the condition (device, metric, kind, rule); empty
	// for alerts the sink does not manage.
	DedupKey string `json:"dedup_key,omitempty"`
	// Occurrences counts the events de-duplicated into this alert, from 1.
	Occurrences int64 `json:"occurrences"`
	// LastRaisedAt is the event time of the latest occurrence (RaisedAt is
	// the first's); Value is that occurrence's value.
	LastRaisedAt time.Time `json:"last_raised_at"`
	// LastEventID is the event id of the latest occurrence applied.
	LastEventID string `json:"last_event_id,omitempty"`
	// RangeMin and RangeMax are a threshold rule's normal range
	// (inclusive); an alert with either resolves by ClearStreak.
	RangeMin decimal.NullDecimal `json:"range_min"`
	RangeMax decimal.NullDecimal `json:"range_max"`
	// ClearStreak counts the consecutive readings back inside the range
	// since the latest occurrence.
	ClearStreak    int        `json:"clear_streak"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
}

// HasRange reports whether the alert resolves by readings back in range
// (it has a normal range) rather than by a quiet period.
func (a *AlertDetail) HasRange() bool { return a.RangeMin.Valid || a.RangeMax.Valid }

// inRange reports whether v is inside the alert's normal range.
func (a *AlertDetail) inRange(v decimal.Decimal) bool {
	if a.RangeMin.Valid && v.LessThan(a.RangeMin.Decimal) {
		return false
	}
	return !a.RangeMax.Valid || !v.GreaterThan(a.RangeMax.Decimal)
}

// AlertRaiseParams is one occurrence of an alert condition.
type AlertRaiseParams struct {
	OrgID uuid.UUID `json:"org_id"`
	// ID is the id of the alert when this occurrence opens a new one; it
	// should be derived from the event (a replay then finds it).
	ID uuid.UUID `json:"id"`
	// EventID is the occurrence's event id: an occurrence equal to the
	// alert's last one is not counted twice.
	EventID string `json:"event_id"`
	// DedupKey identifies the condition: an alert of the organization with
	// this key that is not resolved absorbs the occurrence.
	DedupKey string `json:"dedup_key"`
	// DeviceRef is the device id as the event names it.
	DeviceRef string              `json:"device_ref"`
	Severity  string              `json:"severity"` // info, warning, critical
	Kind      string              `json:"kind"`
	Rule      string              `json:"rule"`
	Metric    string              `json:"metric"`
	Message   string              `json:"message"`
	Value     decimal.Decimal     `json:"value"`
	Threshold decimal.NullDecimal `json:"threshold"`
	RangeMin  decimal.NullDecimal `json:"range_min"`
	RangeMax  decimal.NullDecimal `json:"range_max"`
	// RaisedAt is the occurrence's event time.
	RaisedAt time.Time `json:"raised_at"`
}

// AlertObserveParams is one reading of a device's metric, which may clear
// the open alerts of that series.
type AlertObserveParams struct {
	OrgID     uuid.UUID       `json:"org_id"`
	DeviceRef string          `json:"device_ref"`
	Metric    string          `json:"metric"`
	Value     decimal.Decimal `json:"value"`
	// At is the reading's event time; readings at or before an alert's
	// latest occurrence do not count for it.
	At time.Time `json:"at"`
	// ClearAfter is how many consecutive readings inside its range resolve
	// a threshold alert (at least 1).
	ClearAfter int `json:"clear_after"`
	// QuietPeriod is how long after its latest occurrence (event time) a
	// reading resolves an alert without a range (positive).
	QuietPeriod time.Duration `json:"quiet_period"`
}

// AlertOp is one alert write of a processor commit: exactly one of Raise
// and Observe is set.
type AlertOp struct {
	Raise   *AlertRaiseParams
	Observe *AlertObserveParams
}

func (o *AlertOp) org() uuid.UUID {
	if o.Raise != nil {
		return o.Raise.OrgID
	}
	if o.Observe != nil {
		return o.Observe.OrgID
	}
	return uuid.Nil
}

// AlertFilter selects alerts for AlertsList.
type AlertFilter struct {
	// Status is one of AlertStatuses(); empty or "all" selects every one.
	Status string
	// DeviceID selects one registered device's alerts.
	DeviceID *uuid.UUID
	// Limit caps the result; 0 means 100, at most 1000.
	Limit int
}

const alertDetailCols = `id, org_id, created_at, updated_at, device_id, site_id, severity, kind, message, metric, value, threshold,
	status, raised_at, resolved_at, rule, device_ref, COALESCE(dedup_key, ''), occurrences, last_raised_at, last_event_id,
	range_min, range_max, clear_streak, acknowledged_at, acknowledged_by`

const alertInsertSQL = `INSERT INTO iot.alerts (id, org_id, created_at, updated_at, device_id, site_id, severity, kind, message, metric,
	value, threshold, status, raised_at, resolved_at, rule, device_ref, dedup_key, occurrences, last_raised_at, last_event_id,
	range_min, range_max, clear_streak, acknowledged_at, acknowledged_by)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`

const alertUpdateSQL = `UPDATE iot.alerts SET updated_at = $3, severity = $4, message = $5, value = $6, threshold = $7, status = $8,
	resolved_at = $9, occurrences = $10, last_raised_at = $11, last_event_id = $12, range_min = $13, range_max = $14,
	clear_streak = $15, acknowledged_at = $16, acknowledged_by = $17
	WHERE org_id = $1 AND id = $2`

func scanAlerts(rows driver.Rows) ([]AlertDetail, error) {
	defer rows.Close()
	var out []AlertDetail
	for rows.Next() {
		var a AlertDetail
		var last *time.Time
		var streak int64
		if err := rows.Scan(&a.ID, &a.OrgID, &a.CreatedAt, &a.UpdatedAt, &a.DeviceID, &a.SiteID, &a.Severity, &a.Kind,
			&a.Message, &a.Metric, &a.Value, &a.Threshold, &a.Status, &a.RaisedAt, &a.ResolvedAt, &a.Rule, &a.DeviceRef,
			&a.DedupKey, &a.Occurrences, &last, &a.LastEventID, &a.RangeMin, &a.RangeMax, &streak, &a.AcknowledgedAt,
			&a.AcknowledgedBy); err != nil {
			return nil, fmt.Errorf("scanning an alert: %w", err)
		}
		a.LastRaisedAt = a.RaisedAt
		if last != nil {
			a.LastRaisedAt = *last
		}
		a.ClearStreak = int(streak)
		out = append(out, a)
	}
	return out, rows.Err()
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

func optUUID(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return *id
}

// alertsWhere reads the alerts of org matching cond (SQL after "AND",
// arguments from $2).
func alertsWhere(ctx context.Context, q driver.Querier, org uuid.UUID, cond string, args ...any) ([]AlertDetail, error) {
	sql := "SELECT " + alertDetailCols + " FROM iot.alerts WHERE org_id = $1"
	if cond != "" {
		sql += " AND " + cond
	}
	rows, err := q.Query(ctx, sql, append([]any{org}, args...)...)
	if err != nil {
		return nil, err
	}
	return scanAlerts(rows)
}

// AlertGet reads one alert of org.
func (s *Store) AlertGet(ctx context.Context, org, id uuid.UUID) (*AlertDetail, error) {
	return s.alertOne(ctx, "store: reading an alert", org, "id = $2", id, fmt.Sprintf("alert %s is not in this organization", id))
}

// AlertOpenByKey returns org's alert with dedup key that is not resolved
// (open or acknowledged); CodeNotFound when there is none.
func (s *Store) AlertOpenByKey(ctx context.Context, org uuid.UUID, key string) (*AlertDetail, error) {
	return s.alertOne(ctx, "store: reading an open alert", org, "dedup_key = $2 AND status <> 'resolved'", key,
		fmt.Sprintf("no open alert with key %q in this organization", key))
}

// alertOne reads the first of org's alerts matching where (with arg as
// $2); CodeNotFound with notFound when none does.
func (s *Store) alertOne(ctx context.Context, op string, org uuid.UUID, where string, arg any, notFound string) (*AlertDetail, error) {
	var out *AlertDetail
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		as, err := alertsWhere(ctx, q, org, where, arg)
		if err != nil {
			return err
		}
		if len(as) == 0 {
			return errorf(CodeNotFound, op, "%s", notFound)
		}
		out = &as[0]
		return nil
	})
	return out, err
}

// AlertsList returns org's alerts matching f, the most recently raised
// (latest occurrence) first.
func (s *Store) AlertsList(ctx context.Context, org uuid.UUID, f AlertFilter) ([]AlertDetail, error) {
	const op = "store: listing alerts"
	if f.Status != "" && f.Status != "all" && !slices.Contains(AlertStatuses(), f.Status) {
		return nil, errorf(CodeInvalidArgument, op, "status %q: want one of %s or all", f.Status, strings.Join(AlertStatuses(), ", "))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var conds []string
	var args []any
	if f.Status != "" && f.Status != "all" {
		args = append(args, f.Status)
		conds = append(conds, fmt.Sprintf("status = $%d", len(args)+1))
	}
	if f.DeviceID != nil {
		args = append(args, *f.DeviceID)
		conds = append(conds, fmt.Sprintf("device_id = $%d", len(args)+1))
	}
	args = append(args, limit)
	cond := strings.Join(append(conds, "1 = 1"), " AND ") +
		fmt.Sprintf(" ORDER BY COALESCE(last_raised_at, raised_at) DESC, id DESC LIMIT $%d", len(args)+1)
	var out []AlertDetail
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		var err error
		out, err = alertsWhere(ctx, q, org, cond, args...)
		return err
	})
	return out, err
}

// AlertAcknowledge marks an open alert of org acknowledged by the
// context's actor. It stays unresolved (a repeat still counts in it, and
// it still resolves when its condition clears). Acknowledging an
// acknowledged alert changes nothing; a resolved one is
// CodeFailedPrecondition.
func (s *Store) AlertAcknowledge(ctx context.Context, org, id uuid.UUID) (*AlertDetail, error) {
	const op = "store: acknowledging an alert"
	var out *AlertDetail
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		as, err := alertsWhere(ctx, q, org, "id = $2 FOR UPDATE", id)
		if err != nil {
			return err
		}
		if len(as) == 0 {
			return errorf(CodeNotFound, op, "alert %s is not in this organization", id)
		}
		old := as[0]
		switch old.Status {
		case AlertAcknowledged:
			out = &old
			return nil
		case AlertResolved:
			return errorf(CodeFailedPrecondition, op, "alert %s was resolved at %s", id, old.ResolvedAt.Format(time.RFC3339))
		}
		a := old
		now := s.nowUTC()
		a.Status, a.AcknowledgedAt, a.AcknowledgedBy = AlertAcknowledged, &now, actorFrom(ctx).String()
		if err := s.alertUpdateIn(ctx, q, &old, &a); err != nil {
			return err
		}
		out = &a
		return nil
	})
	return out, err
}

// AlertResolve resolves an alert of org at the given time (its
// condition's clearing, or now when zero). Resolving a resolved alert
// changes nothing.
func (s *Store) AlertResolve(ctx context.Context, org, id uuid.UUID, at time.Time) (*AlertDetail, error) {
	const op = "store: resolving an alert"
	if at.IsZero() {
		at = s.nowUTC()
	}
	var out *AlertDetail
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		as, err := alertsWhere(ctx, q, org, "id = $2 FOR UPDATE", id)
		if err != nil {
			return err
		}
		if len(as) == 0 {
			return errorf(CodeNotFound, op, "alert %s is not in this organization", id)
		}
		old := as[0]
		out = &old
		if old.Status == AlertResolved {
			return nil
		}
		a := old
		t := at.UTC().Truncate(time.Microsecond)
		a.Status, a.ResolvedAt = AlertResolved, &t
		out = &a
		return s.alertUpdateIn(ctx, q, &old, &a)
	})
	return out, err
}

// AlertRaise applies one occurrence of an alert condition: the alert of
// org with the same dedup key that is not resolved absorbs it (one more
// occurrence; the latest one's value, time, severity and message), or a
// new open alert is created with p.ID. An occurrence whose event id is the
// alert's last one, or whose p.ID is an existing alert's, changes
// nothing (a replay). It returns the alert as it now is.
func (s *Store) AlertRaise(ctx context.Context, p *AlertRaiseParams) (*AlertDetail, error) {
	const op = "store: raising an alert"
	if err := validateAlertRaise(op, p); err != nil {
		return nil, err
	}
	var out *AlertDetail
	err := s.tenantTx(ctx, op, p.OrgID, false, func(q driver.Querier) error {
		var err error
		out, err = s.alertRaiseIn(ctx, q, p)
		return err
	})
	return out, err
}

// AlertObserve applies one reading to the alerts of its series (org,
// device, metric) that are not resolved: a threshold alert (one with a
// range) counts a reading inside its range after its latest occurrence
// towards p.ClearAfter and resolves at the reading that reaches it (one
// outside resets the count); another alert resolves at the first reading
// at least p.QuietPeriod after its latest occurrence. It returns the
// alerts it changed.
func (s *Store) AlertObserve(ctx context.Context, p *AlertObserveParams) ([]AlertDetail, error) {
	const op = "store: applying a reading to alerts"
	if err := validateAlertObserve(op, p); err != nil {
		return nil, err
	}
	var out []AlertDetail
	err := s.tenantTx(ctx, op, p.OrgID, false, func(q driver.Querier) error {
		var err error
		out, err = s.alertObserveIn(ctx, q, p)
		return err
	})
	return out, err
}

func validateAlertRaise(op string, p *AlertRaiseParams) error {
	switch {
	case p == nil:
		return errorf(CodeInvalidArgument, op, "no occurrence given")
	case p.OrgID == uuid.Nil || p.ID == uuid.Nil:
		return errorf(CodeInvalidArgument, op, "an organization and an alert id are required")
	case p.DedupKey == "" || p.Kind == "" || p.Metric == "":
		return errorf(CodeInvalidArgument, op, "alert %s: a dedup key, a kind and a metric are required", p.ID)
	case !slices.Contains([]string{"info", "warning", "critical"}, p.Severity):
		return errorf(CodeInvalidArgument, op, "alert %s: severity %q is not one of info, warning, critical", p.ID, p.Severity)
	case p.RaisedAt.IsZero():
		return errorf(CodeInvalidArgument, op, "alert %s: the occurrence's time is required", p.ID)
	}
	return nil
}

func validateAlertObserve(op string, p *AlertObserveParams) error {
	switch {
	case p == nil:
		return errorf(CodeInvalidArgument, op, "no reading given")
	case p.OrgID == uuid.Nil || p.DeviceRef == "" || p.Metric == "" || p.At.IsZero():
		return errorf(CodeInvalidArgument, op, "a reading needs an organization, a device, a metric and a time")
	case p.ClearAfter < 1 || p.QuietPeriod <= 0:
		return errorf(CodeInvalidArgument, op, "clear after %d readings, quiet period %s: want at least 1 and a positive period", p.ClearAfter, p.QuietPeriod)
	}
	return nil
}

// alertRaiseIn is AlertRaise in a transaction the caller holds, scoped to
// p.OrgID.
func (s *Store) alertRaiseIn(ctx context.Context, q driver.Querier, p *AlertRaiseParams) (*AlertDetail, error) {
	at := p.RaisedAt.UTC().Truncate(time.Microsecond)
	open, err := alertsWhere(ctx, q, p.OrgID, "dedup_key = $2 AND status <> 'resolved' FOR UPDATE", p.DedupKey)
	if err != nil {
		return nil, err
	}
	if len(open) > 0 {
		old := open[0]
		a := old
		if p.EventID != "" && p.EventID == old.LastEventID {
			return &old, nil // the same occurrence again
		}
		a.Occurrences++
		a.LastEventID = p.EventID
		if !at.Before(old.LastRaisedAt) {
			// The latest occurrence: its value, severity and message, and
			// the readings back in range count again from here.
			a.LastRaisedAt, a.Value, a.Severity, a.Message = at, decimal.NewNullDecimal(p.Value), p.Severity, p.Message
			a.Threshold, a.RangeMin, a.RangeMax, a.ClearStreak = p.Threshold, p.RangeMin, p.RangeMax, 0
		}
		if err := s.alertUpdateIn(ctx, q, &old, &a); err != nil {
			return nil, err
		}
		return &a, nil
	}
	if ex, err := alertsWhere(ctx, q, p.OrgID, "id = $2", p.ID); err != nil {
		return nil, err
	} else if len(ex) > 0 {
		return &ex[0], nil // created by this occurrence before (a replay)
	}
	a := AlertDetail{Alert: Alert{Severity: p.Severity, Kind: p.Kind, Message: p.Message, Metric: p.Metric,
		Value: decimal.NewNullDecimal(p.Value), Threshold: p.Threshold, Status: AlertOpen, RaisedAt: at},
		Rule: p.Rule, DeviceRef: p.DeviceRef, DedupKey: p.DedupKey, Occurrences: 1, LastRaisedAt: at, LastEventID: p.EventID,
		RangeMin: p.RangeMin, RangeMax: p.RangeMax}
	a.ID, a.OrgID = p.ID, p.OrgID
	a.CreatedAt = s.nowUTC()
	a.UpdatedAt = a.CreatedAt
	if dev, err := uuid.Parse(p.DeviceRef); err == nil {
		// Only a device registered in the organization is referenced (the
		// foreign key); another device id stays in device_ref.
		var n int64
		if err := q.QueryRow(ctx, "SELECT count(*) FROM iot.devices WHERE org_id = $1 AND id = $2", p.OrgID, dev).Scan(&n); err != nil {
			return nil, fmt.Errorf("looking up device %s: %w", dev, err)
		}
		if n == 1 {
			a.DeviceID = &dev
		}
	}
	if _, err := q.Exec(ctx, alertInsertSQL, a.ID, a.OrgID, a.CreatedAt, a.UpdatedAt, optUUID(a.DeviceID), nil, a.Severity, a.Kind,
		a.Message, a.Metric, a.Value, a.Threshold, a.Status, a.RaisedAt, nil, a.Rule, a.DeviceRef, a.DedupKey, a.Occurrences,
		a.LastRaisedAt, a.LastEventID, a.RangeMin, a.RangeMax, int64(a.ClearStreak), nil, ""); err != nil {
		return nil, fmt.Errorf("inserting alert %s: %w", a.ID, err)
	}
	if err := s.appendAudit(ctx, q, a.OrgID, audit.ActionCreate, "alert", a.ID.String(), nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// alertObserveIn is AlertObserve in a transaction the caller holds, scoped
// to p.OrgID.
func (s *Store) alertObserveIn(ctx context.Context, q driver.Querier, p *AlertObserveParams) ([]AlertDetail, error) {
	open, err := alertsWhere(ctx, q, p.OrgID, "device_ref = $2 AND metric = $3 AND status <> 'resolved' AND dedup_key IS NOT NULL FOR UPDATE",
		p.DeviceRef, p.Metric)
	if err != nil {
		return nil, err
	}
	at := p.At.UTC().Truncate(time.Microsecond)
	var out []AlertDetail
	for _, old := range open {
		if !at.After(old.LastRaisedAt) {
			continue // not after the latest occurrence
		}
		a := old
		if a.HasRange() {
			if a.inRange(p.Value) {
				a.ClearStreak++
			} else {
				a.ClearStreak = 0
			}
			if a.ClearStreak >= p.ClearAfter {
				a.Status, a.ResolvedAt = AlertResolved, &at
			}
		} else if !at.Before(a.LastRaisedAt.Add(p.QuietPeriod)) {
			a.Status, a.ResolvedAt = AlertResolved, &at
		}
		if a.ClearStreak == old.ClearStreak && a.Status == old.Status {
			continue
		}
		if err := s.alertUpdateIn(ctx, q, &old, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// alertUpdateIn writes a's changeable columns over old's row and audits
// the change.
func (s *Store) alertUpdateIn(ctx context.Context, q driver.Querier, old, a *AlertDetail) error {
	a.UpdatedAt = s.nowUTC()
	n, err := q.Exec(ctx, alertUpdateSQL, a.OrgID, a.ID, a.UpdatedAt, a.Severity, a.Message, a.Value, a.Threshold, a.Status,
		optTime(a.ResolvedAt), a.Occurrences, a.LastRaisedAt.UTC().Truncate(time.Microsecond), a.LastEventID, a.RangeMin, a.RangeMax,
		int64(a.ClearStreak), optTime(a.AcknowledgedAt), a.AcknowledgedBy)
	if err != nil {
		return fmt.Errorf("updating alert %s: %w", a.ID, err)
	}
	if n != 1 {
		return fmt.Errorf("updating alert %s: %d rows changed", a.ID, n)
	}
	return s.appendAudit(ctx, q, a.OrgID, audit.ActionUpdate, "alert", a.ID.String(), old, a)
}

// openAlertKeys are the (device, metric) pairs of org's alerts that are
// not resolved.
func openAlertKeys(ctx context.Context, q driver.Querier, org uuid.UUID) (map[[2]string]bool, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT device_ref, metric FROM iot.alerts
		WHERE org_id = $1 AND status <> 'resolved' AND dedup_key IS NOT NULL`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := map[[2]string]bool{}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, err
		}
		keys[k] = true
	}
	return keys, rows.Err()
}
