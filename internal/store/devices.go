package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// Device lifecycle states (Device.Status).
const (
	DeviceRegistered     = "registered"     // registered, never heard from
	DeviceActive         = "active"         // has sent readings
	DeviceInactive       = "inactive"       // set aside by an operator
	DeviceDecommissioned = "decommissioned" // retired for good: its credential is revoked
)

// DeviceStatuses lists the device lifecycle states.
func DeviceStatuses() []string {
	return []string{DeviceRegistered, DeviceActive, DeviceInactive, DeviceDecommissioned}
}

// Audit entity and actions of device credentials.
const (
	EntityDeviceCredential = "device_credential"
	ActionRevoke           = "revoke"
)

// DeviceSecretPrefix starts every device secret, so that one found in a
// log or a repository is recognisable.
const DeviceSecretPrefix = "gld_"

// DeviceCredential is the credential a device connects to MQTT with. The
// secret itself is shown once, when issued; the store keeps its SHA-256.
type DeviceCredential struct {
	ID        uuid.UUID  `json:"id"`
	OrgID     uuid.UUID  `json:"org_id"`
	DeviceID  uuid.UUID  `json:"device_id"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// DeviceCredentialIssue issues device a new secret and returns it: the only
// time it can be read. The device's active credential, if any, is revoked
// in the same transaction, so a device has at most one. A decommissioned
// device gets none.
func (s *Store) DeviceCredentialIssue(ctx context.Context, org, device uuid.UUID) (string, DeviceCredential, error) {
	const op = "store: issuing a device credential"
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", DeviceCredential{}, &Error{Code: CodeUnavailable, Op: op, Err: err}
	}
	secret := DeviceSecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	c := DeviceCredential{ID: newID(), OrgID: org, DeviceID: device, CreatedBy: actorFrom(ctx).String(), CreatedAt: s.nowUTC()}
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		d, err := s.lockDevice(ctx, q, op, org, device)
		if err != nil {
			return err
		}
		if d.Status == DeviceDecommissioned {
			return errorf(CodeFailedPrecondition, op, "device %s is decommissioned: register a new device instead", device)
		}
		if err := s.revokeDeviceCredentials(ctx, q, org, device, c.CreatedAt); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO iot.device_credentials (id, org_id, device_id, secret_sha256, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, org, device, secretHash(secret), c.CreatedBy, c.CreatedAt); err != nil {
			return err
		}
		return s.appendAudit(ctx, q, org, audit.ActionCreate, EntityDeviceCredential, c.ID.String(), nil, c)
	})
	if err != nil {
		return "", DeviceCredential{}, err
	}
	return secret, c, nil
}

// revokeDeviceCredentials revokes device's active credential, if any, with
// an audit entry.
func (s *Store) revokeDeviceCredentials(ctx context.Context, q driver.Querier, org, device uuid.UUID, at time.Time) error {
	var id uuid.UUID
	err := q.QueryRow(ctx, `SELECT id FROM iot.device_credentials WHERE org_id = $1 AND device_id = $2 AND revoked_at IS NULL`, org, device).Scan(&id)
	if s.d.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `UPDATE iot.device_credentials SET revoked_at = $3 WHERE org_id = $1 AND id = $2`, org, id, at); err != nil {
		return err
	}
	return s.appendAudit(ctx, q, org, ActionRevoke, EntityDeviceCredential, id.String(), nil, map[string]any{"device_id": device, "revoked_at": at})
}

// DeviceCredentials lists device's credentials, newest first, revoked ones
// included.
func (s *Store) DeviceCredentials(ctx context.Context, org, device uuid.UUID) ([]DeviceCredential, error) {
	var out []DeviceCredential
	err := s.tenantTx(ctx, "store: listing device credentials", org, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, `SELECT id, org_id, device_id, created_by, created_at, revoked_at FROM iot.device_credentials
			WHERE org_id = $1 AND device_id = $2 ORDER BY created_at DESC, id DESC`, org, device)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c DeviceCredential
			if err := rows.Scan(&c.ID, &c.OrgID, &c.DeviceID, &c.CreatedBy, &c.CreatedAt, &c.RevokedAt); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// DeviceAuthenticate checks a device's secret and returns the device. It
// fails with CodeNotFound, saying nothing more, when the device is not
// registered in org, has no active credential, is decommissioned or
// inactive, or the secret is wrong; with CodeUnavailable when the store
// cannot tell.
func (s *Store) DeviceAuthenticate(ctx context.Context, org, device uuid.UUID, secret string) (*Device, error) {
	const op = "store: authenticating a device"
	refused := errorf(CodeNotFound, op, "unknown device or wrong secret")
	var stored string
	d := &Device{}
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		err := q.QueryRow(ctx, `SELECT secret_sha256 FROM iot.device_credentials
			WHERE org_id = $1 AND device_id = $2 AND revoked_at IS NULL`, org, device).Scan(&stored)
		if s.d.IsNoRows(err) {
			return refused
		}
		if err != nil {
			return err
		}
		return q.QueryRow(ctx, s.c.devices.selectSQL+" WHERE org_id = $1 AND id = $2", org, device).Scan(s.c.devices.dest(d)...)
	})
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(secretHash(secret)), []byte(stored)) != 1 ||
		d.Status == DeviceDecommissioned || d.Status == DeviceInactive {
		return nil, refused
	}
	return d, nil
}

// DeviceDecommission retires a device for good: its status becomes
// decommissioned and its credential is revoked, so it can no longer
// connect. Its readings and alerts stay. It returns the device as it now
// is.
func (s *Store) DeviceDecommission(ctx context.Context, org, device uuid.UUID) (*Device, error) {
	const op = "store: decommissioning a device"
	var d *Device
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) (err error) {
		if d, err = s.lockDevice(ctx, q, op, org, device); err != nil {
			return err
		}
		now := s.nowUTC()
		if err := s.revokeDeviceCredentials(ctx, q, org, device, now); err != nil {
			return err
		}
		if d.Status == DeviceDecommissioned {
			return nil
		}
		old := *d
		d.Status, d.UpdatedAt = DeviceDecommissioned, now
		if _, err := q.Exec(ctx, "UPDATE iot.devices SET status = $3, updated_at = $4 WHERE org_id = $1 AND id = $2", org, device, d.Status, now); err != nil {
			return err
		}
		return s.appendAudit(ctx, q, org, audit.ActionUpdate, "device", device.String(), &old, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DevicesSeen records when devices of org were last heard from: each
// device's last_seen_at becomes the later of its stored value and the
// given time, and a registered device becomes active. This is telemetry,
// written on every ingest flush, so it makes no audit entry.
func (s *Store) DevicesSeen(ctx context.Context, org uuid.UUID, seen map[uuid.UUID]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	return s.tenantTx(ctx, "store: recording devices seen", org, false, func(q driver.Querier) error {
		for id, at := range seen {
			at = at.UTC().Truncate(time.Microsecond)
			if _, err := q.Exec(ctx, `UPDATE iot.devices SET last_seen_at = $3,
				status = CASE WHEN status = 'registered' THEN 'active' ELSE status END
				WHERE org_id = $1 AND id = $2 AND (last_seen_at IS NULL OR last_seen_at < $3)`, org, id, at); err != nil {
				return err
			}
		}
		return nil
	})
}

func secretHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// DeviceChanges are what an operator may change on a registered device;
// a nil field is left as it is.
type DeviceChanges struct {
	Name *string
	// SiteID moves the device to a site of the organization; ClearSite
	// takes it off any site. Its readings then count for the new site from
	// the next roll-up on.
	SiteID    *uuid.UUID
	ClearSite bool
	// Status sets a device aside (inactive: it can no longer connect to
	// the embedded broker) or back (active). Decommissioning is
	// DeviceDecommission: it also revokes the credential and is final.
	Status *string
	// CalibratedAt and CalibrationDueAt record a calibration.
	CalibratedAt, CalibrationDueAt *time.Time
	// Metadata replaces the device's metadata (a JSON object: settings such
	// as a register's wrap point, docs/iot-analytics.md).
	Metadata JSON
}

// DeviceUpdate applies changes to a device of org and returns it, with the
// old and new values in the audit trail. A decommissioned device cannot be
// changed (CodeFailedPrecondition); a site not in the organization, a
// status other than active or inactive, a calibration due before the
// calibration or metadata that is not a JSON object are refused
// (CodeInvalidArgument). Changing nothing is allowed and writes nothing.
func (s *Store) DeviceUpdate(ctx context.Context, org, device uuid.UUID, ch DeviceChanges) (*Device, error) {
	const op = "store: updating a device"
	if ch.SiteID != nil && ch.ClearSite {
		return nil, errorf(CodeInvalidArgument, op, "site: give a site or clear it, not both")
	}
	if ch.Status != nil && *ch.Status != DeviceActive && *ch.Status != DeviceInactive {
		return nil, errorf(CodeInvalidArgument, op, "status %q: a device is set %s or back %s here (decommission retires it for good)",
			*ch.Status, DeviceInactive, DeviceActive)
	}
	if ch.Metadata != nil {
		var m map[string]any
		if err := json.Unmarshal(ch.Metadata, &m); err != nil || m == nil {
			return nil, errorf(CodeInvalidArgument, op, "metadata: want a JSON object")
		}
	}
	var d *Device
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) (err error) {
		if d, err = s.lockDevice(ctx, q, op, org, device); err != nil {
			return err
		}
		if d.Status == DeviceDecommissioned {
			return errorf(CodeFailedPrecondition, op, "device %s is decommissioned: it cannot be changed", device)
		}
		old := *d
		if ch.Name != nil {
			d.Name = strings.TrimSpace(*ch.Name)
		}
		if ch.SiteID != nil {
			var n int
			if err := q.QueryRow(ctx, "SELECT count(*) FROM core.sites WHERE org_id = $1 AND id = $2", org, *ch.SiteID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return errorf(CodeInvalidArgument, op, "site %s is not a site of this organization", *ch.SiteID)
			}
			d.SiteID = ch.SiteID
		}
		if ch.ClearSite {
			d.SiteID = nil
		}
		if ch.Status != nil {
			d.Status = *ch.Status
		}
		if ch.CalibratedAt != nil {
			t := ch.CalibratedAt.UTC()
			d.CalibratedAt = &t
		}
		if ch.CalibrationDueAt != nil {
			t := ch.CalibrationDueAt.UTC()
			d.CalibrationDueAt = &t
		}
		if d.CalibratedAt != nil && d.CalibrationDueAt != nil && d.CalibrationDueAt.Before(*d.CalibratedAt) {
			return errorf(CodeInvalidArgument, op, "calibration_due_at %s is before calibrated_at %s",
				d.CalibrationDueAt.Format(time.RFC3339), d.CalibratedAt.Format(time.RFC3339))
		}
		if ch.Metadata != nil {
			d.Metadata = ch.Metadata
		}
		if reflect.DeepEqual(old, *d) {
			return nil
		}
		return s.c.devices.replaceIn(ctx, q, org, &old, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// SiteByCode returns org's site with code; CodeNotFound, naming the code,
// when the organization has none. Devices are placed at sites by code.
func (s *Store) SiteByCode(ctx context.Context, org uuid.UUID, code string) (*Site, error) {
	const op = "store: reading a site by code"
	site := &Site{}
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		err := q.QueryRow(ctx, s.c.sites.selectSQL+" WHERE org_id = $1 AND code = $2", org, code).Scan(s.c.sites.dest(site)...)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "the organization has no site with code %q (greenlang site list)", code)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return site, nil
}

// lockDevice reads a device of org in q's transaction and locks its row;
// CodeNotFound, for op, when the organization has no such device.
func (s *Store) lockDevice(ctx context.Context, q driver.Querier, op string, org, device uuid.UUID) (*Device, error) {
	d := &Device{}
	if err := q.QueryRow(ctx, s.c.devices.selectSQL+" WHERE org_id = $1 AND id = $2 FOR UPDATE", org, device).Scan(s.c.devices.dest(d)...); err != nil {
		if s.d.IsNoRows(err) {
			return nil, errorf(CodeNotFound, op, "device %s is not registered in this organization", device)
		}
		return nil, err
	}
	return d, nil
}
