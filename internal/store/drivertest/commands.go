package drivertest

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// Device commands and firmware campaigns: commands are queued only for a
// tenant's live devices with a valid kind and payload; a campaign queues
// one command per targeted device in one transaction; sending and resending
// are recorded; results move a command forward only, a finished command
// ignores them, another device's result is refused; a succeeded firmware
// update sets the device's firmware version and the last finished command
// completes its campaign; overdue commands expire; every change is audited.
func testDeviceCommands(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	a, b := NewOrg(t, s), NewOrg(t, s)
	newDevice := func(org uuid.UUID, typ string) *store.Device {
		t.Helper()
		d := &store.Device{DeviceType: typ, Serial: "D-" + uuid.NewString()[:12]}
		must(t, s.Devices().Create(ctx, org, d))
		return d
	}
	m1, m2, m3 := newDevice(a.ID, "energy_meter"), newDevice(a.ID, "energy_meter"), newDevice(a.ID, "energy_meter")
	gone := newDevice(a.ID, "energy_meter")
	_, err := s.DeviceDecommission(ctx, a.ID, gone.ID)
	must(t, err)
	aq := newDevice(a.ID, "air_quality")

	// Queuing a single command.
	cfg, err := s.DeviceCommandCreate(ctx, a.ID, store.DeviceCommandCreateParams{DeviceID: aq.ID, Kind: store.CommandConfigure,
		Payload: store.JSON(`{ "interval_s": 30 }`)})
	must(t, err)
	if cfg.Status != store.CommandQueued || !jsonEqual(cfg.Payload, `{"interval_s":30}`) || cfg.ExpiresAt.Sub(cfg.CreatedAt) != store.DefaultCommandTTL {
		t.Fatalf("queued %+v", cfg)
	}
	got, err := s.DeviceCommandGet(ctx, a.ID, cfg.ID)
	must(t, err)
	if got.DeviceID != aq.ID || got.Kind != store.CommandConfigure || !jsonEqual(got.Payload, `{"interval_s":30}`) || got.SentAt != nil {
		t.Fatalf("read back %+v", got)
	}
	_, err = s.DeviceCommandGet(ctx, b.ID, cfg.ID)
	wantCode(t, err, store.CodeNotFound, "another tenant reading a command")
	for name, p := range map[string]store.DeviceCommandCreateParams{
		"unknown kind":          {DeviceID: aq.ID, Kind: "selfdestruct"},
		"empty configure":       {DeviceID: aq.ID, Kind: store.CommandConfigure, Payload: store.JSON(`{}`)},
		"payload not an object": {DeviceID: aq.ID, Kind: store.CommandConfigure, Payload: store.JSON(`[1]`)},
		"firmware without hash": {DeviceID: aq.ID, Kind: store.CommandFirmwareUpdate, Payload: store.JSON(`{"version":"2","url":"https://x"}`)},
	} {
		_, err := s.DeviceCommandCreate(ctx, a.ID, p)
		wantCode(t, err, store.CodeInvalidArgument, name)
	}
	_, err = s.DeviceCommandCreate(ctx, a.ID, store.DeviceCommandCreateParams{DeviceID: gone.ID, Kind: store.CommandReboot})
	wantCode(t, err, store.CodeFailedPrecondition, "a command for a decommissioned device")
	_, err = s.DeviceCommandCreate(ctx, b.ID, store.DeviceCommandCreateParams{DeviceID: aq.ID, Kind: store.CommandReboot})
	wantCode(t, err, store.CodeNotFound, "a command for another tenant's device")

	// A campaign over every live device of the type.
	hash := strings.Repeat("ab", 32)
	camp, cmds, err := s.FirmwareCampaignCreate(ctx, a.ID, store.FirmwareCampaignCreateParams{DeviceType: "energy_meter",
		FirmwareVersion: "2.1.0", URL: "https://fw.example/em-2.1.0.bin", SHA256: hash})
	must(t, err)
	if len(cmds) != 3 || camp.Status != store.CampaignRunning || camp.Counts[store.CommandQueued] != 3 || camp.Name != "energy_meter 2.1.0" {
		t.Fatalf("campaign %+v with %d commands", camp, len(cmds))
	}
	byDevice := map[uuid.UUID]store.DeviceCommand{}
	for _, c := range cmds {
		byDevice[c.DeviceID] = c
		if c.Kind != store.CommandFirmwareUpdate || c.CampaignID == nil || *c.CampaignID != camp.ID ||
			!jsonEqual(c.Payload, `{"version":"2.1.0","url":"https://fw.example/em-2.1.0.bin","sha256":"`+hash+`","campaign_id":"`+camp.ID.String()+`"}`) {
			t.Fatalf("campaign command %+v", c)
		}
	}
	if _, ok := byDevice[gone.ID]; ok || len(byDevice) != 3 {
		t.Fatalf("campaign targets %v", byDevice)
	}
	for name, p := range map[string]store.FirmwareCampaignCreateParams{
		"device of another type": {DeviceType: "energy_meter", FirmwareVersion: "3", URL: "u", SHA256: hash, Devices: []uuid.UUID{m1.ID, aq.ID}},
		"bad hash":               {DeviceType: "energy_meter", FirmwareVersion: "3", URL: "u", SHA256: "ABC"},
		"unknown type":           {DeviceType: "toaster", FirmwareVersion: "3", URL: "u", SHA256: hash},
	} {
		_, _, err := s.FirmwareCampaignCreate(ctx, a.ID, p)
		wantCode(t, err, store.CodeInvalidArgument, name)
	}
	_, _, err = s.FirmwareCampaignCreate(ctx, a.ID, store.FirmwareCampaignCreateParams{DeviceType: "energy_meter",
		FirmwareVersion: "3", URL: "u", SHA256: hash, Devices: []uuid.UUID{m1.ID, gone.ID}})
	wantCode(t, err, store.CodeFailedPrecondition, "a campaign naming a decommissioned device")
	_, _, err = s.FirmwareCampaignCreate(ctx, a.ID, store.FirmwareCampaignCreateParams{DeviceType: "solar_panel",
		FirmwareVersion: "3", URL: "u", SHA256: hash})
	wantCode(t, err, store.CodeFailedPrecondition, "a campaign with no devices of its type")
	list, err := s.FirmwareCampaignsList(ctx, a.ID)
	must(t, err)
	if len(list) != 1 || list[0].ID != camp.ID || list[0].Total() != 3 {
		t.Fatalf("campaigns %+v (a failed campaign must leave nothing behind)", list)
	}

	// The Commander's scan: organizations, due commands, sending.
	orgs, err := s.DeviceCommandOrgs(ctx)
	must(t, err)
	if !slices.Contains(orgs, a.ID) || slices.Contains(orgs, b.ID) {
		t.Fatalf("organizations with commands %v: want a (%s), not b", orgs, a.ID)
	}
	due, err := s.DeviceCommandsDue(ctx, a.ID, 0, 100)
	must(t, err)
	if len(due) != 4 || due[0].ID != cfg.ID {
		t.Fatalf("due %d commands, first %v; want 4, the configure first", len(due), due[0].ID)
	}
	for _, c := range due {
		ok, err := s.DeviceCommandSent(ctx, a.ID, c.ID)
		must(t, err)
		if !ok {
			t.Fatalf("command %s not marked sent", c.ID)
		}
	}
	due, err = s.DeviceCommandsDue(ctx, a.ID, 0, 100)
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("%d commands due after sending all", len(due))
	}
	time.Sleep(5 * time.Millisecond)
	due, err = s.DeviceCommandsDue(ctx, a.ID, time.Millisecond, 100)
	must(t, err)
	if len(due) != 4 {
		t.Fatalf("%d commands due for resending, want 4", len(due))
	}

	// Results: forward only, idempotent, finished is final.
	c1 := byDevice[m1.ID]
	apply := func(device uuid.UUID, r store.DeviceCommandResult, wantApplied bool, wantStatus string, wantPct int) {
		t.Helper()
		c, applied, err := s.DeviceCommandApplyResult(ctx, a.ID, device, r)
		must(t, err)
		if applied != wantApplied || c.Status != wantStatus || c.ProgressPct != wantPct {
			t.Fatalf("after %+v: applied %v, status %s, progress %d; want %v, %s, %d", r, applied, c.Status, c.ProgressPct,
				wantApplied, wantStatus, wantPct)
		}
	}
	apply(m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandAcknowledged}, true, store.CommandAcknowledged, 0)
	apply(m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandAcknowledged}, false, store.CommandAcknowledged, 0)
	apply(m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandInProgress, ProgressPct: 40}, true, store.CommandInProgress, 40)
	apply(m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandInProgress, ProgressPct: 30}, false, store.CommandInProgress, 40)
	apply(m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandAcknowledged}, false, store.CommandInProgress, 40)
	ok, err := s.DeviceCommandSent(ctx, a.ID, c1.ID)
	must(t, err)
	if ok {
		t.Fatal("a command in progress was marked sent again")
	}
	_, _, err = s.DeviceCommandApplyResult(ctx, a.ID, m2.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandSucceeded})
	wantCode(t, err, store.CodeNotFound, "a result for another device's command")
	_, _, err = s.DeviceCommandApplyResult(ctx, b.ID, m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandSucceeded})
	wantCode(t, err, store.CodeNotFound, "a result through another tenant")
	for name, r := range map[string]store.DeviceCommandResult{
		"status queued":  {ID: c1.ID, Status: store.CommandQueued},
		"progress 101":   {ID: c1.ID, Status: store.CommandInProgress, ProgressPct: 101},
		"no id":          {Status: store.CommandFailed},
		"a long message": {ID: c1.ID, Status: store.CommandFailed, Message: strings.Repeat("x", store.MaxCommandMessage+1)},
	} {
		_, _, err := s.DeviceCommandApplyResult(ctx, a.ID, m1.ID, r)
		wantCode(t, err, store.CodeInvalidArgument, name)
	}
	apply(m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandSucceeded, Message: "rebooted into 2.1.0"}, true, store.CommandSucceeded, 100)
	apply(m1.ID, store.DeviceCommandResult{ID: c1.ID, Status: store.CommandFailed, Message: "late"}, false, store.CommandSucceeded, 100)
	dev, err := s.Devices().Get(ctx, a.ID, m1.ID)
	must(t, err)
	if dev.FirmwareVersion != "2.1.0" {
		t.Fatalf("firmware version after a succeeded update %q", dev.FirmwareVersion)
	}
	done, err := s.DeviceCommandGet(ctx, a.ID, c1.ID)
	must(t, err)
	if done.CompletedAt == nil || done.Message != "rebooted into 2.1.0" || done.Attempts != 1 {
		t.Fatalf("finished command %+v", done)
	}

	// The last finished command completes the campaign.
	apply(m2.ID, store.DeviceCommandResult{ID: byDevice[m2.ID].ID, Status: store.CommandFailed, ProgressPct: 10, Message: "flash write error"},
		true, store.CommandFailed, 10)
	c, err := s.FirmwareCampaignGet(ctx, a.ID, camp.ID)
	must(t, err)
	if c.Status != store.CampaignRunning || c.Counts[store.CommandSucceeded] != 1 || c.Counts[store.CommandFailed] != 1 || c.Counts[store.CommandSent] != 1 {
		t.Fatalf("campaign midway %+v", c)
	}
	apply(m3.ID, store.DeviceCommandResult{ID: byDevice[m3.ID].ID, Status: store.CommandSucceeded}, true, store.CommandSucceeded, 100)
	c, err = s.FirmwareCampaignGet(ctx, a.ID, camp.ID)
	must(t, err)
	if c.Status != store.CampaignCompleted || c.CompletedAt == nil || c.Counts[store.CommandSucceeded] != 2 || c.Total() != 3 {
		t.Fatalf("campaign at the end %+v", c)
	}
	_, err = s.FirmwareCampaignGet(ctx, b.ID, camp.ID)
	wantCode(t, err, store.CodeNotFound, "another tenant reading a campaign")
	perCampaign, err := s.DeviceCommandsList(ctx, a.ID, store.DeviceCommandFilter{CampaignID: camp.ID})
	must(t, err)
	perDevice, err := s.DeviceCommandsList(ctx, a.ID, store.DeviceCommandFilter{DeviceID: aq.ID, Status: store.CommandSent})
	must(t, err)
	if len(perCampaign) != 3 || len(perDevice) != 1 || perDevice[0].ID != cfg.ID {
		t.Fatalf("lists: %d per campaign, %d per device", len(perCampaign), len(perDevice))
	}

	// Overdue commands expire; results for them are ignored.
	short, err := s.DeviceCommandCreate(ctx, a.ID, store.DeviceCommandCreateParams{DeviceID: aq.ID, Kind: store.CommandReboot, TTL: time.Millisecond})
	must(t, err)
	time.Sleep(5 * time.Millisecond)
	due, err = s.DeviceCommandsDue(ctx, a.ID, 0, 100)
	must(t, err)
	if len(due) != 0 {
		t.Fatalf("an overdue command is due: %+v", due)
	}
	n, err := s.DeviceCommandsExpire(ctx, a.ID)
	must(t, err)
	if n != 1 {
		t.Fatalf("expired %d commands, want 1", n)
	}
	apply(aq.ID, store.DeviceCommandResult{ID: short.ID, Status: store.CommandSucceeded}, false, store.CommandExpired, 0)

	// Every step is in the audit trail.
	entries, err := s.AuditEntries(ctx, a.ID, 0, 1000)
	must(t, err)
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.EntityType+"/"+e.Action]++
	}
	for what, want := range map[string]int{"device_command/create": 5, "device_command/send": 4, "device_command/update": 5,
		"device_command/expire": 1, "firmware_campaign/create": 1, "firmware_campaign/update": 1} {
		if seen[what] < want {
			t.Errorf("audit trail has %d %s entries, want at least %d (all: %v)", seen[what], what, want, seen)
		}
	}
	rep, err := s.VerifyAudit(ctx, a.ID)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("audit chain broken: %+v", rep.Broken)
	}
}

// jsonEqual reports whether two JSON documents are equal as values (the
// engines keep a document's bytes differently: jsonb normalises spacing).
func jsonEqual(got store.JSON, want string) bool {
	var g, w any
	return json.Unmarshal(got, &g) == nil && json.Unmarshal([]byte(want), &w) == nil && reflect.DeepEqual(g, w)
}
