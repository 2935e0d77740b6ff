package drivertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// Device credentials: a secret issued once and kept as a hash, one active
// per device (a new one revokes the old), refused when wrong, revoked on
// decommissioning, invisible to other tenants; last-seen moves forward
// only and makes a registered device active.
func testDeviceCredentials(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	a, b := NewOrg(t, s), NewOrg(t, s)
	dev := &store.Device{DeviceType: "energy_meter", Serial: "EM-" + uuid.NewString()[:8], Name: "main meter"}
	must(t, s.Devices().Create(ctx, a.ID, dev))

	secret, cred, err := s.DeviceCredentialIssue(ctx, a.ID, dev.ID)
	must(t, err)
	if !strings.HasPrefix(secret, store.DeviceSecretPrefix) || len(secret) < 40 || cred.DeviceID != dev.ID || cred.RevokedAt != nil {
		t.Fatalf("issued %q %+v", secret, cred)
	}
	got, err := s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret)
	must(t, err)
	if got.ID != dev.ID || got.DeviceType != "energy_meter" {
		t.Fatalf("authenticated as %+v", got)
	}
	for name, try := range map[string]func() error{
		"wrong secret": func() error { _, err := s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret+"x"); return err },
		"other tenant": func() error { _, err := s.DeviceAuthenticate(ctx, b.ID, dev.ID, secret); return err },
		"unknown device": func() error {
			_, err := s.DeviceAuthenticate(ctx, a.ID, uuid.New(), secret)
			return err
		},
	} {
		wantCode(t, try(), store.CodeNotFound, name)
	}
	if _, _, err := s.DeviceCredentialIssue(ctx, b.ID, dev.ID); store.CodeOf(err) != store.CodeNotFound {
		t.Errorf("another tenant issued a credential for a's device: %v", err)
	}

	// A new secret revokes the old one.
	secret2, _, err := s.DeviceCredentialIssue(ctx, a.ID, dev.ID)
	must(t, err)
	_, err = s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret)
	wantCode(t, err, store.CodeNotFound, "the replaced secret")
	if _, err := s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret2); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	creds, err := s.DeviceCredentials(ctx, a.ID, dev.ID)
	must(t, err)
	if len(creds) != 2 || creds[0].RevokedAt != nil || creds[1].RevokedAt == nil {
		t.Fatalf("credentials %+v", creds)
	}

	// Last seen moves forward only; the first sighting makes it active.
	t1 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	must(t, s.DevicesSeen(ctx, a.ID, map[uuid.UUID]time.Time{dev.ID: t1}))
	must(t, s.DevicesSeen(ctx, a.ID, map[uuid.UUID]time.Time{dev.ID: t1.Add(-time.Hour)}))
	got, err = s.Devices().Get(ctx, a.ID, dev.ID)
	must(t, err)
	if got.LastSeenAt == nil || !got.LastSeenAt.Equal(t1) || got.Status != store.DeviceActive {
		t.Fatalf("after sightings: last seen %v, status %s", got.LastSeenAt, got.Status)
	}

	// Decommissioning revokes the credential and is final; it returns the
	// device as stored.
	retired, err := s.DeviceDecommission(ctx, a.ID, dev.ID)
	must(t, err)
	_, err = s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret2)
	wantCode(t, err, store.CodeNotFound, "a decommissioned device")
	_, _, err = s.DeviceCredentialIssue(ctx, a.ID, dev.ID)
	wantCode(t, err, store.CodeFailedPrecondition, "a credential for a decommissioned device")
	got, err = s.Devices().Get(ctx, a.ID, dev.ID)
	must(t, err)
	if got.Status != store.DeviceDecommissioned || retired.Status != got.Status || !retired.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("status %s, returned %s updated %v, stored updated %v", got.Status, retired.Status, retired.UpdatedAt, got.UpdatedAt)
	}
	_, err = s.DeviceDecommission(ctx, b.ID, dev.ID)
	wantCode(t, err, store.CodeNotFound, "decommissioning another tenant's device")
}

// Device updates: name, site, calibration, status and metadata change
// with an audit entry; an inactive device cannot authenticate until set
// active again; another organization's site, a calibration due before the
// calibration, a status other than active or inactive, metadata that is
// not an object, another tenant's device and a decommissioned device are
// refused, and a refused update changes nothing.
func testDeviceUpdate(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	a, b := NewOrg(t, s), NewOrg(t, s)
	siteA := &store.Site{Code: "A-" + uuid.NewString()[:6], Name: "plant", Country: "US", Active: true}
	siteB := &store.Site{Code: "B-" + uuid.NewString()[:6], Name: "other", Country: "US", Active: true}
	must(t, s.Sites().Create(ctx, a.ID, siteA))
	must(t, s.Sites().Create(ctx, b.ID, siteB))
	dev := &store.Device{DeviceType: "energy_meter", Serial: "EM-" + uuid.NewString()[:8]}
	must(t, s.Devices().Create(ctx, a.ID, dev))
	secret, _, err := s.DeviceCredentialIssue(ctx, a.ID, dev.ID)
	must(t, err)

	name, inactive, active := "  boiler meter ", store.DeviceInactive, store.DeviceActive
	cal, due := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC)
	got, err := s.DeviceUpdate(ctx, a.ID, dev.ID, store.DeviceChanges{Name: &name, SiteID: &siteA.ID, Status: &inactive,
		CalibratedAt: &cal, CalibrationDueAt: &due, Metadata: store.JSON(`{"rated_kw": "6"}`)})
	must(t, err)
	if got.Name != "boiler meter" || got.SiteID == nil || *got.SiteID != siteA.ID || got.Status != inactive ||
		!got.CalibratedAt.Equal(cal) || !got.CalibrationDueAt.Equal(due) || !strings.Contains(string(got.Metadata), "rated_kw") {
		t.Fatalf("updated %+v", got)
	}
	stored, err := s.Devices().Get(ctx, a.ID, dev.ID)
	must(t, err)
	if stored.Status != inactive || stored.Name != "boiler meter" {
		t.Fatalf("stored %+v", stored)
	}
	_, err = s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret)
	wantCode(t, err, store.CodeNotFound, "an inactive device connecting")
	if _, err := s.DeviceUpdate(ctx, a.ID, dev.ID, store.DeviceChanges{Status: &active, ClearSite: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret); err != nil {
		t.Fatalf("active again, refused: %v", err)
	}
	entries, err := s.AuditEntries(ctx, a.ID, 0, 1000)
	must(t, err)
	updates := 0
	for _, e := range entries {
		if e.EntityType == "device" && e.EntityID == dev.ID.String() && e.Action == "update" {
			updates++
		}
	}
	if updates != 2 {
		t.Fatalf("%d audit updates of the device, want 2", updates)
	}

	early := due.AddDate(-2, 0, 0)
	decommissioned := store.DeviceDecommissioned
	for what, try := range map[string]struct {
		org  uuid.UUID
		ch   store.DeviceChanges
		code store.Code
	}{
		"another organization's site": {a.ID, store.DeviceChanges{SiteID: &siteB.ID}, store.CodeInvalidArgument},
		"due before calibrated":       {a.ID, store.DeviceChanges{CalibrationDueAt: &early}, store.CodeInvalidArgument},
		"decommissioned as a status":  {a.ID, store.DeviceChanges{Status: &decommissioned}, store.CodeInvalidArgument},
		"metadata not an object":      {a.ID, store.DeviceChanges{Metadata: store.JSON(`[1]`)}, store.CodeInvalidArgument},
		"site and clear":              {a.ID, store.DeviceChanges{SiteID: &siteA.ID, ClearSite: true}, store.CodeInvalidArgument},
		"another tenant's device":     {b.ID, store.DeviceChanges{Name: &name}, store.CodeNotFound},
	} {
		_, err := s.DeviceUpdate(ctx, try.org, dev.ID, try.ch)
		wantCode(t, err, try.code, what)
	}
	after, err := s.Devices().Get(ctx, a.ID, dev.ID)
	must(t, err)
	if after.SiteID != nil || !after.CalibrationDueAt.Equal(due) || after.Status != active {
		t.Fatalf("a refused update changed the device: %+v", after)
	}
	_, err = s.DeviceDecommission(ctx, a.ID, dev.ID)
	must(t, err)
	_, err = s.DeviceUpdate(ctx, a.ID, dev.ID, store.DeviceChanges{Name: &name})
	wantCode(t, err, store.CodeFailedPrecondition, "a decommissioned device")
}
