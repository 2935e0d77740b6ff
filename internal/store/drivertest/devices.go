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

	// Decommissioning revokes the credential and is final.
	must(t, s.DeviceDecommission(ctx, a.ID, dev.ID))
	_, err = s.DeviceAuthenticate(ctx, a.ID, dev.ID, secret2)
	wantCode(t, err, store.CodeNotFound, "a decommissioned device")
	_, _, err = s.DeviceCredentialIssue(ctx, a.ID, dev.ID)
	wantCode(t, err, store.CodeFailedPrecondition, "a credential for a decommissioned device")
	got, err = s.Devices().Get(ctx, a.ID, dev.ID)
	must(t, err)
	if got.Status != store.DeviceDecommissioned {
		t.Fatalf("status %s", got.Status)
	}
	wantCode(t, s.DeviceDecommission(ctx, b.ID, dev.ID), store.CodeNotFound, "decommissioning another tenant's device")
}
