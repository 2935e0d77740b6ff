package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// Audit entity types of the records in this file.
const (
	EntityFactorOverride = "factor_override"
	EntityFactorPin      = "factor_pin"
	// ActionRetire is the audit action of retiring a factor override.
	ActionRetire = "retire"
)

// FactorOverride is a tenant's own documented factor for one activity type
// and region ("" is global), used instead of the library's in every
// calculation of the organization while it is active. TableRow is the
// factor as one row of the project's factor table (internal/factors/table);
// the store keeps it as given and does not parse it. An override is never
// changed or deleted: it is retired, once, with a reason.
type FactorOverride struct {
	ID           uuid.UUID  `json:"id"`
	OrgID        uuid.UUID  `json:"org_id"`
	ActivityType string     `json:"activity_type"`
	Region       string     `json:"region"`
	TableRow     string     `json:"table_row"`
	Reason       string     `json:"reason"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	RetiredAt    *time.Time `json:"retired_at,omitempty"`
	RetiredBy    string     `json:"retired_by,omitempty"`
	RetireReason string     `json:"retire_reason,omitempty"`
}

// Active reports whether the override is in force (not retired).
func (o *FactorOverride) Active() bool { return o.RetiredAt == nil }

const factorOverrideCols = "id, org_id, activity_type, region, table_row, reason, created_by, created_at, retired_at, retired_by, retire_reason"

type overrideRow struct {
	FactorOverride
	retiredBy, retireReason *string
}

func (r *overrideRow) dest() []any {
	o := &r.FactorOverride
	return []any{&o.ID, &o.OrgID, &o.ActivityType, &o.Region, &o.TableRow, &o.Reason, &o.CreatedBy, &o.CreatedAt,
		&o.RetiredAt, &r.retiredBy, &r.retireReason}
}

func (r *overrideRow) done() FactorOverride {
	o := r.FactorOverride
	if r.retiredBy != nil {
		o.RetiredBy = *r.retiredBy
	}
	if r.retireReason != nil {
		o.RetireReason = *r.retireReason
	}
	return o
}

// ActorFrom returns who a context's store writes are attributed to (see
// WithActor): the system when nobody is named.
func ActorFrom(ctx context.Context) Actor { return actorFrom(ctx) }

// String is the actor as the store records it in created_by columns:
// "user:ana", "system:greenlang".
func (a Actor) String() string { return a.Type + ":" + a.ID }

func regionName(r string) string {
	if r == "" {
		return "the global region"
	}
	return "region " + r
}

// FactorOverrideAdd stores a new active override for org. ID may be set by
// the caller (the calculation service names the factor after it) and is
// generated otherwise; OrgID, CreatedBy (the context's actor) and CreatedAt
// are set by the store. An active override for the same activity type and
// region is not replaced: adding is refused with CodeAlreadyExists naming
// it, so each change is a retirement with its own reason followed by an
// addition with its own, both in the audit trail.
func (s *Store) FactorOverrideAdd(ctx context.Context, org uuid.UUID, o *FactorOverride) error {
	const op = "store: adding a factor override"
	o.ActivityType = strings.TrimSpace(o.ActivityType)
	o.Region = strings.TrimSpace(o.Region)
	switch {
	case o.ActivityType == "":
		return errorf(CodeInvalidArgument, op, "an activity type is required")
	case strings.TrimSpace(o.TableRow) == "":
		return errorf(CodeInvalidArgument, op, "the factor (a factor table row) is required")
	case strings.TrimSpace(o.Reason) == "":
		return errorf(CodeInvalidArgument, op, "a reason is required: it documents why the library's factor is not used")
	}
	if o.ID == uuid.Nil {
		o.ID = newID()
	}
	o.OrgID = org
	o.CreatedBy = actorFrom(ctx).String()
	o.CreatedAt = s.nowUTC()
	o.RetiredAt, o.RetiredBy, o.RetireReason = nil, "", ""
	exists := func(id uuid.UUID) error {
		return &Error{Code: CodeAlreadyExists, Op: op, Msg: fmt.Sprintf(
			"override %s is already active for activity type %q in %s: retire it first (greenlang factors override retire %s --reason …)",
			id, o.ActivityType, regionName(o.Region), id)}
	}
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		var cur uuid.UUID
		err := q.QueryRow(ctx, `SELECT id FROM master_data.factor_overrides
			WHERE org_id = $1 AND activity_type = $2 AND region = $3 AND retired_at IS NULL`, org, o.ActivityType, o.Region).Scan(&cur)
		switch {
		case err == nil:
			return exists(cur)
		case !s.d.IsNoRows(err):
			return err
		}
		if _, err := q.Exec(ctx, "INSERT INTO master_data.factor_overrides ("+factorOverrideCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL)`,
			o.ID, org, o.ActivityType, o.Region, o.TableRow, o.Reason, o.CreatedBy, o.CreatedAt); err != nil {
			return err
		}
		return s.appendAudit(ctx, q, org, audit.ActionCreate, EntityFactorOverride, o.ID.String(), nil, o)
	})
	var e *Error
	if errors.As(err, &e) && e.Code == CodeAlreadyExists && e.Msg == "" { // a concurrent add won the race
		return &Error{Code: CodeAlreadyExists, Op: op, Msg: fmt.Sprintf(
			"an override is already active for activity type %q in %s: retire it first", o.ActivityType, regionName(o.Region)), Err: e.Err}
	}
	return err
}

// FactorOverrides lists org's overrides, oldest first: only the active ones
// unless includeRetired.
func (s *Store) FactorOverrides(ctx context.Context, org uuid.UUID, includeRetired bool) ([]FactorOverride, error) {
	sql := "SELECT " + factorOverrideCols + " FROM master_data.factor_overrides WHERE org_id = $1"
	if !includeRetired {
		sql += " AND retired_at IS NULL"
	}
	sql += " ORDER BY created_at, id"
	var out []FactorOverride
	err := s.tenantTx(ctx, "store: listing factor overrides", org, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, sql, org)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r overrideRow
			if err := rows.Scan(r.dest()...); err != nil {
				return err
			}
			out = append(out, r.done())
		}
		return rows.Err()
	})
	return out, err
}

// FactorOverrideRetire retires one of org's active overrides with a reason,
// attributed to the context's actor, and returns it as retired. From then
// on calculations use the library's factor again. An override of another
// organization is not found; one already retired stays as it was
// (CodeFailedPrecondition).
func (s *Store) FactorOverrideRetire(ctx context.Context, org, id uuid.UUID, reason string) (*FactorOverride, error) {
	const op = "store: retiring a factor override"
	if strings.TrimSpace(reason) == "" {
		return nil, errorf(CodeInvalidArgument, op, "a reason is required: it is recorded with the retirement")
	}
	var out FactorOverride
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		var r overrideRow
		err := q.QueryRow(ctx, "SELECT "+factorOverrideCols+" FROM master_data.factor_overrides WHERE org_id = $1 AND id = $2 FOR UPDATE", org, id).Scan(r.dest()...)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "no factor override %s in this organization", id)
		}
		if err != nil {
			return err
		}
		old := r.done()
		if !old.Active() {
			return errorf(CodeFailedPrecondition, op, "factor override %s was already retired on %s by %s (%s)",
				id, old.RetiredAt.Format(time.DateOnly), old.RetiredBy, old.RetireReason)
		}
		out = old
		at := s.nowUTC()
		out.RetiredAt, out.RetiredBy, out.RetireReason = &at, actorFrom(ctx).String(), reason
		n, err := q.Exec(ctx, `UPDATE master_data.factor_overrides SET retired_at = $3, retired_by = $4, retire_reason = $5
			WHERE org_id = $1 AND id = $2 AND retired_at IS NULL`, org, id, at, out.RetiredBy, reason)
		if err != nil {
			return err
		}
		if n != 1 {
			return errorf(CodeFailedPrecondition, op, "factor override %s was retired meanwhile", id)
		}
		return s.appendAudit(ctx, q, org, ActionRetire, EntityFactorOverride, id.String(), old, out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// FactorPin is the factor set an organization's calculations are pinned to
// when the user names none: a publication (as the factor library names it)
// and optionally one edition. Name is how the user gave it ("epa-2025").
// It is kept in the organization's settings under "factors".
type FactorPin struct {
	Name    string `json:"name,omitempty"`
	Set     string `json:"pinned_set"`
	Edition int    `json:"pinned_edition,omitempty"`
}

// IsZero reports that no set is pinned.
func (p FactorPin) IsZero() bool { return p.Set == "" }

const pinSettingsKey = "factors"

// FactorPin reads the pin from o's settings: zero when none is set.
func (o *Organization) FactorPin() (FactorPin, error) {
	var settings map[string]json.RawMessage
	if len(strings.TrimSpace(string(o.Settings))) > 0 {
		if err := json.Unmarshal(o.Settings, &settings); err != nil {
			return FactorPin{}, fmt.Errorf("organization %s: settings are not a JSON object: %w", o.ID, err)
		}
	}
	var p FactorPin
	raw, ok := settings[pinSettingsKey]
	if !ok || string(raw) == "null" {
		return p, nil
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return FactorPin{}, fmt.Errorf("organization %s: settings.%s is not a factor pin: %w", o.ID, pinSettingsKey, err)
	}
	return p, nil
}

// OrganizationPinFactors sets org's factor pin, or clears it when pin is
// zero, in its settings, with an audit entry holding the old and new pin.
// The store does not check that the set exists: the caller resolves the
// user's name against its factor library first.
func (s *Store) OrganizationPinFactors(ctx context.Context, org uuid.UUID, pin FactorPin) error {
	const op = "store: pinning an organization's factor set"
	if pin.IsZero() && (pin.Edition != 0 || pin.Name != "") {
		return errorf(CodeInvalidArgument, op, "a pin needs the factor set's name")
	}
	if pin.Edition < 0 {
		return errorf(CodeInvalidArgument, op, "edition %d is not a year", pin.Edition)
	}
	return s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		o := new(Organization)
		if err := q.QueryRow(ctx, "SELECT "+orgColumns+" FROM core.organizations WHERE id = $1 FOR UPDATE", org).Scan(o.dest()...); err != nil {
			return err
		}
		old, err := o.FactorPin()
		if err != nil {
			return &Error{Code: CodeFailedPrecondition, Op: op, Msg: err.Error()}
		}
		settings := map[string]json.RawMessage{}
		if len(strings.TrimSpace(string(o.Settings))) > 0 {
			if err := json.Unmarshal(o.Settings, &settings); err != nil {
				return &Error{Code: CodeFailedPrecondition, Op: op, Msg: "the organization's settings are not a JSON object"}
			}
		}
		if pin.IsZero() {
			delete(settings, pinSettingsKey)
		} else {
			b, err := json.Marshal(pin)
			if err != nil {
				return err
			}
			settings[pinSettingsKey] = b
		}
		doc, err := json.Marshal(settings)
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, "UPDATE core.organizations SET settings = $2, updated_at = $3 WHERE id = $1", org, JSON(doc), s.nowUTC()); err != nil {
			return err
		}
		type pinValues struct {
			Factors *FactorPin `json:"factors"`
		}
		var oldV, newV pinValues
		if !old.IsZero() {
			oldV.Factors = &old
		}
		if !pin.IsZero() {
			newV.Factors = &pin
		}
		return s.appendAudit(ctx, q, org, audit.ActionUpdate, EntityFactorPin, org.String(), oldV, newV)
	})
}
