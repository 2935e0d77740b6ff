package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/store"
)

// The device registry (docs/iot.md, docs/api.md): list, register, show,
// rotate a secret, decommission.

// errEnough stops an iteration once a page is full.
var errEnough = errors.New("page full")

// devicesList answers GET /api/v1/devices?type=&site=&status=&limit=&after=:
// the organization's devices in registration order, a page at a time.
func (a *api) devicesList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	q := r.URL.Query()
	typ, status := q.Get("type"), q.Get("status")
	if typ != "" && !slices.Contains(store.DeviceTypes(), typ) {
		return badRequest("type", "type %q: want one of %s", typ, strings.Join(store.DeviceTypes(), ", "))
	}
	if status != "" && !slices.Contains(store.DeviceStatuses(), status) {
		return badRequest("status", "status %q: want one of %s", status, strings.Join(store.DeviceStatuses(), ", "))
	}
	limit, err := queryLimit(r, 100, MaxListLimit)
	if err != nil {
		return err
	}
	var after uuid.UUID
	if s := q.Get("after"); s != "" {
		if after, err = parseID("after", s); err != nil {
			return err
		}
	}
	var site *uuid.UUID
	if s := q.Get("site"); s != "" {
		if site, err = a.siteRef(r.Context(), tok.OrgID, "site", s); err != nil {
			return err
		}
	}
	out := listResponse[*store.Device]{Items: []*store.Device{}}
	const page = 1000
	for {
		ds, err := a.st.Devices().List(r.Context(), tok.OrgID, store.ListOptions{After: after, Limit: page})
		if err != nil {
			return err
		}
		for _, d := range ds {
			if (typ != "" && d.DeviceType != typ) || (status != "" && d.Status != status) ||
				(site != nil && (d.SiteID == nil || *d.SiteID != *site)) {
				continue
			}
			if len(out.Items) == limit {
				out.NextAfter = out.Items[limit-1].ID.String()
				writeJSON(w, http.StatusOK, out)
				return nil
			}
			out.Items = append(out.Items, d)
		}
		if len(ds) < page {
			break
		}
		after = ds[len(ds)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// siteRef finds a site of org by id or, when s is not a UUID, by code.
func (a *api) siteRef(ctx context.Context, org uuid.UUID, field, s string) (*uuid.UUID, error) {
	if id, err := uuid.Parse(s); err == nil {
		if _, err := a.st.Sites().Get(ctx, org, id); err != nil {
			if store.CodeOf(err) == store.CodeNotFound {
				return nil, invalid(field, "%s: the organization has no site %s", field, id)
			}
			return nil, err
		}
		return &id, nil
	}
	site, err := a.st.SiteByCode(ctx, org, s)
	if store.CodeOf(err) == store.CodeNotFound {
		return nil, invalid(field, "%s: the organization has no site with code %q", field, s)
	}
	if err != nil {
		return nil, err
	}
	return &site.ID, nil
}

// deviceRegisterRequest is the body of POST /api/v1/devices. Times and
// ids are strings so that a malformed one is reported by its field.
type deviceRegisterRequest struct {
	DeviceType       string          `json:"device_type"`
	Serial           string          `json:"serial"`
	Name             string          `json:"name"`
	Site             string          `json:"site"` // a site id or code
	FirmwareVersion  string          `json:"firmware_version"`
	CalibratedAt     string          `json:"calibrated_at"`
	CalibrationDueAt string          `json:"calibration_due_at"`
	Metadata         json.RawMessage `json:"metadata"`
}

// deviceCredentials is what a device needs to connect; the secret is
// shown once.
type deviceCredentials struct {
	CredentialID        uuid.UUID `json:"credential_id"`
	MQTTUser            string    `json:"mqtt_user"`
	MQTTSecret          string    `json:"mqtt_secret"`
	TelemetryTopic      string    `json:"telemetry_topic"`
	CommandsTopic       string    `json:"commands_topic"`
	CommandResultsTopic string    `json:"command_results_topic"`
}

func newDeviceCredentials(org, device uuid.UUID, secret string, c store.DeviceCredential) deviceCredentials {
	topic := func(k mqtt.Kind) string {
		return mqtt.Topic{Org: org.String(), Device: device.String(), Kind: k}.String()
	}
	return deviceCredentials{CredentialID: c.ID, MQTTUser: mqtt.DeviceUser(org.String(), device.String()), MQTTSecret: secret,
		TelemetryTopic: topic(mqtt.KindTelemetry), CommandsTopic: topic(mqtt.KindCommands), CommandResultsTopic: topic(mqtt.KindCommandResults)}
}

// deviceWithCredentials answers register and rotate-secret.
type deviceWithCredentials struct {
	Device      *store.Device     `json:"device"`
	Credentials deviceCredentials `json:"credentials"`
}

// deviceRegister answers POST /api/v1/devices: it registers a device and
// issues its MQTT credentials, returned this once (201).
func (a *api) deviceRegister(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req deviceRegisterRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	d := &store.Device{DeviceType: req.DeviceType, Serial: strings.TrimSpace(req.Serial), Name: req.Name,
		Status: store.DeviceRegistered, FirmwareVersion: req.FirmwareVersion}
	var err error
	if d.CalibratedAt, err = optInstant("calibrated_at", req.CalibratedAt); err != nil {
		return err
	}
	if d.CalibrationDueAt, err = optInstant("calibration_due_at", req.CalibrationDueAt); err != nil {
		return err
	}
	if d.Metadata, err = deviceMetadata(req.Metadata); err != nil {
		return err
	}
	ctx := r.Context()
	if req.Site != "" {
		if d.SiteID, err = a.siteRef(ctx, tok.OrgID, "site", req.Site); err != nil {
			return err
		}
	}
	if err := a.st.Devices().Create(ctx, tok.OrgID, d); err != nil {
		if store.CodeOf(err) == store.CodeAlreadyExists {
			return &requestError{typ: ProblemConflict, status: http.StatusConflict, field: "serial",
				detail: fmt.Sprintf("the organization already has a device with serial %q", d.Serial)}
		}
		return err
	}
	secret, cred, err := a.st.DeviceCredentialIssue(ctx, tok.OrgID, d.ID)
	if err != nil {
		// Two transactions, as in the CLI: the device stays registered and
		// the client is told how to finish.
		a.log.LogAttrs(ctx, slog.LevelError, "api: device registered without a secret",
			slog.String("org_id", tok.OrgID.String()), slog.String("device_id", d.ID.String()), slog.Any("err", err))
		re := &requestError{status: http.StatusInternalServerError, detail: fmt.Sprintf(
			"device %s is registered, but issuing its secret failed: POST /api/v1/devices/%s/rotate-secret issues one", d.ID, d.ID)}
		if store.CodeOf(err) == store.CodeUnavailable {
			re.typ, re.status = ProblemUnavailable, http.StatusServiceUnavailable
		}
		return re
	}
	w.Header().Set("Location", "/api/v1/devices/"+d.ID.String())
	writeJSON(w, http.StatusCreated, deviceWithCredentials{d, newDeviceCredentials(tok.OrgID, d.ID, secret, cred)})
	return nil
}

// deviceDetail is a device with its MQTT user name and the history of its
// credentials (never a secret).
type deviceDetail struct {
	*store.Device
	MQTTUser    string                   `json:"mqtt_user"`
	Credentials []store.DeviceCredential `json:"credentials"`
}

// deviceShow answers GET /api/v1/devices/{id}.
func (a *api) deviceShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := a.device(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	creds, err := a.st.DeviceCredentials(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	if creds == nil {
		creds = []store.DeviceCredential{}
	}
	writeJSON(w, http.StatusOK, deviceDetail{d, mqtt.DeviceUser(tok.OrgID.String(), id.String()), creds})
	return nil
}

// device reads a device of org; one that is not there (or another
// organization's) is CodeNotFound with a message naming it.
func (a *api) device(ctx context.Context, org, id uuid.UUID) (*store.Device, error) {
	d, err := a.st.Devices().Get(ctx, org, id)
	if store.CodeOf(err) == store.CodeNotFound {
		return nil, &store.Error{Code: store.CodeNotFound, Op: "store: reading device",
			Msg: fmt.Sprintf("device %s is not registered in this organization", id)}
	}
	return d, err
}

// deviceMetadata reads a request's metadata: absent or null is none
// (nil), anything else must be a JSON object holding valid device-summary
// settings (iot.ParseDeviceSettings).
func deviceMetadata(raw json.RawMessage) (store.JSON, error) {
	m := bytes.TrimSpace(raw)
	if len(m) == 0 || bytes.Equal(m, []byte("null")) {
		return nil, nil
	}
	if m[0] != '{' {
		return nil, badRequest("metadata", "metadata: want a JSON object")
	}
	if _, err := iot.ParseDeviceSettings(store.JSON(m)); err != nil {
		return nil, invalid("metadata", "%v", err)
	}
	return store.JSON(m), nil
}

// deviceUpdateRequest is the body of PATCH /api/v1/devices/{id}: the
// fields given change, the others stay. site is a site id or code, ""
// takes the device off its site; status is active or inactive; metadata
// replaces the device's metadata.
type deviceUpdateRequest struct {
	Name             *string         `json:"name"`
	Site             *string         `json:"site"`
	Status           *string         `json:"status"`
	CalibratedAt     string          `json:"calibrated_at"`
	CalibrationDueAt string          `json:"calibration_due_at"`
	Metadata         json.RawMessage `json:"metadata"`
}

// deviceUpdate answers PATCH /api/v1/devices/{id}: it changes a device
// as `greenlang iot device update` does (store.DeviceUpdate) and returns
// it.
func (a *api) deviceUpdate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req deviceUpdateRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	ch := store.DeviceChanges{Name: req.Name, Status: req.Status}
	if ch.CalibratedAt, err = optInstant("calibrated_at", req.CalibratedAt); err != nil {
		return err
	}
	if ch.CalibrationDueAt, err = optInstant("calibration_due_at", req.CalibrationDueAt); err != nil {
		return err
	}
	if ch.Metadata, err = deviceMetadata(req.Metadata); err != nil {
		return err
	}
	if req.Site != nil {
		if *req.Site == "" {
			ch.ClearSite = true
		} else if ch.SiteID, err = a.siteRef(r.Context(), tok.OrgID, "site", *req.Site); err != nil {
			return err
		}
	}
	d, err := a.st.DeviceUpdate(r.Context(), tok.OrgID, id, ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// deviceRotateSecret answers POST /api/v1/devices/{id}/rotate-secret: a
// new secret, returned this once; the old one stops working at once.
func (a *api) deviceRotateSecret(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	secret, cred, err := a.st.DeviceCredentialIssue(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	d, err := a.device(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deviceWithCredentials{d, newDeviceCredentials(tok.OrgID, id, secret, cred)})
	return nil
}

// deviceDecommission answers POST /api/v1/devices/{id}/decommission: the
// device is retired for good and its credential revoked; it returns the
// device. Decommissioning it again changes nothing.
func (a *api) deviceDecommission(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := a.st.DeviceDecommission(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
