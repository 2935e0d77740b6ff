package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

// Device commands (docs/iot-commands.md): an operator queues a command for
// a device, the platform's Commander publishes it on the device's commands
// topic and marks it sent, and the device's results move it along until it
// is finished. A firmware campaign queues one firmware_update command per
// targeted device.

// Command kinds (DeviceCommand.Kind).
const (
	CommandConfigure      = "configure"       // payload: the configuration, a JSON object
	CommandFirmwareUpdate = "firmware_update" // payload: FirmwarePayload
	CommandReboot         = "reboot"          // payload: {}
)

// Command statuses (DeviceCommand.Status), in the order a command moves
// through them. Succeeded, failed and expired are final.
const (
	CommandQueued       = "queued"       // waiting for the Commander
	CommandSent         = "sent"         // published on the device's commands topic
	CommandAcknowledged = "acknowledged" // the device has it
	CommandInProgress   = "in_progress"  // the device is working on it (progress_pct)
	CommandSucceeded    = "succeeded"    // done
	CommandFailed       = "failed"       // the device gave up (message says why)
	CommandExpired      = "expired"      // not finished by expires_at
)

// CommandStatuses lists the command statuses in the order a command moves
// through them.
func CommandStatuses() []string {
	return []string{CommandQueued, CommandSent, CommandAcknowledged, CommandInProgress, CommandSucceeded, CommandFailed, CommandExpired}
}

// Firmware campaign statuses (FirmwareCampaign.Status).
const (
	CampaignRunning   = "running"   // some of its commands are unfinished
	CampaignCompleted = "completed" // every command is finished
)

// Audit entities and actions of device commands.
const (
	EntityDeviceCommand    = "device_command"
	EntityFirmwareCampaign = "firmware_campaign"
	ActionSend             = "send"
	ActionExpire           = "expire"
)

// Defaults and limits of device commands.
const (
	// DefaultCommandTTL is how long a command may take to finish when its
	// creator sets no expiry.
	DefaultCommandTTL = 24 * time.Hour
	// DefaultCampaignTTL is the same for the commands of a firmware campaign.
	DefaultCampaignTTL = 7 * 24 * time.Hour
	// MaxCommandPayload is the largest command payload, in bytes of JSON.
	MaxCommandPayload = 64 << 10
	// MaxCommandMessage is the longest result message a device may report, in bytes.
	MaxCommandMessage = 1024
)

var (
	commandKinds    = []string{CommandConfigure, CommandFirmwareUpdate, CommandReboot}
	resultStatuses  = []string{CommandAcknowledged, CommandInProgress, CommandSucceeded, CommandFailed}
	sha256HexRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	commandStatusRk = map[string]int{CommandQueued: 0, CommandSent: 1, CommandAcknowledged: 2, CommandInProgress: 3,
		CommandSucceeded: 4, CommandFailed: 4, CommandExpired: 4}
)

// CommandKinds lists the command kinds the store accepts.
func CommandKinds() []string { return slices.Clone(commandKinds) }

// CommandResultStatuses lists the statuses a device may report for a
// command (DeviceCommandResult.Status).
func CommandResultStatuses() []string { return slices.Clone(resultStatuses) }

// CommandFinished reports whether a command in status will never change
// again: succeeded, failed or expired.
func CommandFinished(status string) bool {
	return status == CommandSucceeded || status == CommandFailed || status == CommandExpired
}

// DeviceCommand is one command to one device and how far it got.
type DeviceCommand struct {
	ID          uuid.UUID  `json:"id"`
	OrgID       uuid.UUID  `json:"org_id"`
	DeviceID    uuid.UUID  `json:"device_id"`
	CampaignID  *uuid.UUID `json:"campaign_id,omitempty"`
	Kind        string     `json:"kind"`
	Payload     JSON       `json:"payload"`
	Status      string     `json:"status"`
	ProgressPct int        `json:"progress_pct"`
	Message     string     `json:"message"`
	Attempts    int        `json:"attempts"` // times published
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"` // last published
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	ExpiresAt   time.Time  `json:"expires_at"`
}

const commandCols = `id, org_id, device_id, campaign_id, kind, payload, status, progress_pct, message, attempts,
	created_by, created_at, sent_at, updated_at, completed_at, expires_at`

func (c *DeviceCommand) dest() []any {
	return []any{&c.ID, &c.OrgID, &c.DeviceID, &c.CampaignID, &c.Kind, &c.Payload, &c.Status, &c.ProgressPct, &c.Message,
		&c.Attempts, &c.CreatedBy, &c.CreatedAt, &c.SentAt, &c.UpdatedAt, &c.CompletedAt, &c.ExpiresAt}
}

// FirmwarePayload is the payload of a firmware_update command.
type FirmwarePayload struct {
	Version    string     `json:"version"`
	URL        string     `json:"url"`
	SHA256     string     `json:"sha256"` // of the image, lowercase hex
	CampaignID *uuid.UUID `json:"campaign_id,omitempty"`
}

func (p FirmwarePayload) validate() error {
	switch {
	case strings.TrimSpace(p.Version) == "":
		return errors.New("firmware version is required")
	case strings.TrimSpace(p.URL) == "":
		return errors.New("firmware url is required")
	case !sha256HexRE.MatchString(p.SHA256):
		return errors.New("firmware sha256 must be 64 lowercase hex digits")
	}
	return nil
}

// FirmwareCampaign updates the firmware of devices of one type: one
// firmware_update command per device.
type FirmwareCampaign struct {
	ID              uuid.UUID  `json:"id"`
	OrgID           uuid.UUID  `json:"org_id"`
	Name            string     `json:"name"`
	FirmwareVersion string     `json:"firmware_version"`
	URL             string     `json:"url"`
	SHA256          string     `json:"sha256"`
	DeviceType      string     `json:"device_type"`
	Status          string     `json:"status"` // running, completed
	CreatedBy       string     `json:"created_by"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	CompletedAt     *time.Time `json:"completed_at,omitempty"`
	// Counts is the number of the campaign's commands in each status,
	// filled in when the campaign is read.
	Counts map[string]int `json:"counts,omitempty"`
}

const campaignCols = `id, org_id, name, firmware_version, url, sha256, device_type, status, created_by, created_at, updated_at, completed_at`

func (c *FirmwareCampaign) dest() []any {
	return []any{&c.ID, &c.OrgID, &c.Name, &c.FirmwareVersion, &c.URL, &c.SHA256, &c.DeviceType, &c.Status,
		&c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.CompletedAt}
}

// Total is the number of the campaign's commands.
func (c *FirmwareCampaign) Total() int {
	n := 0
	for _, v := range c.Counts {
		n += v
	}
	return n
}

// DeviceCommandCreateParams is what DeviceCommandCreate needs.
type DeviceCommandCreateParams struct {
	DeviceID uuid.UUID
	Kind     string // one of CommandKinds
	// Payload is a JSON object: the configuration for configure (at least
	// one key), a FirmwarePayload for firmware_update. Empty means {}.
	Payload JSON
	// TTL is how long the command may take to finish; 0 means DefaultCommandTTL.
	TTL time.Duration
}

// validateCommand checks kind and payload and returns the payload compacted.
func validateCommand(op, kind string, payload JSON) (JSON, error) {
	if !slices.Contains(commandKinds, kind) {
		return nil, errorf(CodeInvalidArgument, op, "command kind %q is not one of %v", kind, commandKinds)
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = JSON("{}")
	}
	if len(payload) > MaxCommandPayload {
		return nil, errorf(CodeInvalidArgument, op, "command payload is %d bytes, more than %d", len(payload), MaxCommandPayload)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil || obj == nil {
		return nil, errorf(CodeInvalidArgument, op, "command payload must be a JSON object")
	}
	switch kind {
	case CommandConfigure:
		if len(obj) == 0 {
			return nil, errorf(CodeInvalidArgument, op, "a configure command needs at least one setting")
		}
	case CommandFirmwareUpdate:
		var p FirmwarePayload
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, errorf(CodeInvalidArgument, op, "firmware_update payload: %v", err)
		}
		if err := p.validate(); err != nil {
			return nil, errorf(CodeInvalidArgument, op, "firmware_update payload: %v", err)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, payload); err != nil {
		return nil, errorf(CodeInvalidArgument, op, "command payload: %v", err)
	}
	return JSON(buf.Bytes()), nil
}

// DeviceCommandCreate queues a command for a device of org and returns it.
// The device must be registered in org and not decommissioned.
func (s *Store) DeviceCommandCreate(ctx context.Context, org uuid.UUID, p DeviceCommandCreateParams) (*DeviceCommand, error) {
	const op = "store: queuing a device command"
	payload, err := validateCommand(op, p.Kind, p.Payload)
	if err != nil {
		return nil, err
	}
	if p.TTL < 0 {
		return nil, errorf(CodeInvalidArgument, op, "command ttl %s is negative", p.TTL)
	}
	if p.TTL == 0 {
		p.TTL = DefaultCommandTTL
	}
	var c *DeviceCommand
	err = s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		if _, err := s.commandTarget(ctx, q, op, org, p.DeviceID); err != nil {
			return err
		}
		c = s.newCommand(ctx, org, p.DeviceID, nil, p.Kind, payload, p.TTL)
		return s.insertCommand(ctx, q, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// commandTarget locks and returns a device of org that may be sent commands.
func (s *Store) commandTarget(ctx context.Context, q driver.Querier, op string, org, device uuid.UUID) (*Device, error) {
	d, err := s.lockDevice(ctx, q, op, org, device)
	if err != nil {
		return nil, err
	}
	if d.Status == DeviceDecommissioned {
		return nil, errorf(CodeFailedPrecondition, op, "device %s is decommissioned: it takes no commands", device)
	}
	return d, nil
}

func (s *Store) newCommand(ctx context.Context, org, device uuid.UUID, campaign *uuid.UUID, kind string, payload JSON, ttl time.Duration) *DeviceCommand {
	now := s.nowUTC()
	return &DeviceCommand{ID: newID(), OrgID: org, DeviceID: device, CampaignID: campaign, Kind: kind, Payload: payload,
		Status: CommandQueued, CreatedBy: actorFrom(ctx).String(), CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(ttl)}
}

func (s *Store) insertCommand(ctx context.Context, q driver.Querier, c *DeviceCommand) error {
	if _, err := q.Exec(ctx, `INSERT INTO iot.device_commands (id, org_id, device_id, campaign_id, kind, payload, status,
		progress_pct, message, attempts, created_by, created_at, updated_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, '', 0, $8, $9, $10, $11)`,
		c.ID, c.OrgID, c.DeviceID, c.CampaignID, c.Kind, c.Payload, c.Status, c.CreatedBy, c.CreatedAt, c.UpdatedAt, c.ExpiresAt); err != nil {
		return err
	}
	return s.appendAudit(ctx, q, c.OrgID, audit.ActionCreate, EntityDeviceCommand, c.ID.String(), nil, c)
}

// FirmwareCampaignCreateParams is what FirmwareCampaignCreate needs.
type FirmwareCampaignCreateParams struct {
	Name            string // free text; defaults to "<device type> <version>"
	DeviceType      string // one of DeviceTypes
	FirmwareVersion string
	URL             string
	SHA256          string // of the image, 64 lowercase hex digits
	// Devices are the targets; each must be of DeviceType and neither
	// decommissioned nor inactive. Empty means every registered or active
	// device of DeviceType.
	Devices []uuid.UUID
	// TTL is how long each command may take; 0 means DefaultCampaignTTL.
	TTL time.Duration
}

// FirmwareCampaignCreate creates a firmware campaign and one queued
// firmware_update command per targeted device, in one transaction, and
// returns the campaign (with its counts) and the commands.
func (s *Store) FirmwareCampaignCreate(ctx context.Context, org uuid.UUID, p FirmwareCampaignCreateParams) (*FirmwareCampaign, []DeviceCommand, error) {
	const op = "store: creating a firmware campaign"
	if !slices.Contains(deviceTypes, p.DeviceType) {
		return nil, nil, errorf(CodeInvalidArgument, op, "device type %q is not one of %v", p.DeviceType, deviceTypes)
	}
	fw := FirmwarePayload{Version: strings.TrimSpace(p.FirmwareVersion), URL: strings.TrimSpace(p.URL), SHA256: p.SHA256}
	if err := fw.validate(); err != nil {
		return nil, nil, errorf(CodeInvalidArgument, op, "%v", err)
	}
	if p.TTL < 0 {
		return nil, nil, errorf(CodeInvalidArgument, op, "command ttl %s is negative", p.TTL)
	}
	if p.TTL == 0 {
		p.TTL = DefaultCampaignTTL
	}
	if p.Name == "" {
		p.Name = p.DeviceType + " " + fw.Version
	}
	var (
		camp *FirmwareCampaign
		cmds []DeviceCommand
	)
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		cmds = cmds[:0]
		targets, err := s.campaignTargets(ctx, q, op, org, p.DeviceType, p.Devices)
		if err != nil {
			return err
		}
		now := s.nowUTC()
		camp = &FirmwareCampaign{ID: newID(), OrgID: org, Name: p.Name, FirmwareVersion: fw.Version, URL: fw.URL, SHA256: fw.SHA256,
			DeviceType: p.DeviceType, Status: CampaignRunning, CreatedBy: actorFrom(ctx).String(), CreatedAt: now, UpdatedAt: now}
		if _, err := q.Exec(ctx, `INSERT INTO iot.firmware_campaigns (id, org_id, name, firmware_version, url, sha256, device_type,
			status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			camp.ID, org, camp.Name, camp.FirmwareVersion, camp.URL, camp.SHA256, camp.DeviceType, camp.Status,
			camp.CreatedBy, camp.CreatedAt, camp.UpdatedAt); err != nil {
			return err
		}
		if err := s.appendAudit(ctx, q, org, audit.ActionCreate, EntityFirmwareCampaign, camp.ID.String(), nil,
			map[string]any{"campaign": camp, "devices": targets}); err != nil {
			return err
		}
		fw.CampaignID = &camp.ID
		payload, err := json.Marshal(fw)
		if err != nil {
			return err
		}
		for _, dev := range targets {
			c := s.newCommand(ctx, org, dev, &camp.ID, CommandFirmwareUpdate, payload, p.TTL)
			if err := s.insertCommand(ctx, q, c); err != nil {
				return err
			}
			cmds = append(cmds, *c)
		}
		camp.Counts = map[string]int{CommandQueued: len(cmds)}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return camp, cmds, nil
}

// campaignTargets checks the requested devices, or finds every registered
// or active device of the type.
func (s *Store) campaignTargets(ctx context.Context, q driver.Querier, op string, org uuid.UUID, typ string, want []uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	if len(want) == 0 {
		rows, err := q.Query(ctx, `SELECT id FROM iot.devices WHERE org_id = $1 AND device_type = $2
			AND status IN ('registered', 'active') ORDER BY id`, org, typ)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(out) == 0 {
			return nil, errorf(CodeFailedPrecondition, op, "no registered or active %s devices in this organization", typ)
		}
		return out, nil
	}
	for _, id := range want {
		if slices.Contains(out, id) {
			continue
		}
		d, err := s.commandTarget(ctx, q, op, org, id)
		if err != nil {
			return nil, err
		}
		if d.DeviceType != typ {
			return nil, errorf(CodeInvalidArgument, op, "device %s is a %s device, not %s", id, d.DeviceType, typ)
		}
		if d.Status == DeviceInactive {
			return nil, errorf(CodeFailedPrecondition, op, "device %s is inactive: it cannot connect to take the update", id)
		}
		out = append(out, id)
	}
	return out, nil
}

// DeviceCommandGet reads one command of org.
func (s *Store) DeviceCommandGet(ctx context.Context, org, id uuid.UUID) (*DeviceCommand, error) {
	const op = "store: reading a device command"
	c := &DeviceCommand{}
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		err := q.QueryRow(ctx, "SELECT "+commandCols+" FROM iot.device_commands WHERE org_id = $1 AND id = $2", org, id).Scan(c.dest()...)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "command %s does not exist in this organization", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DeviceCommandFilter selects the commands DeviceCommandsList returns; zero
// fields select everything.
type DeviceCommandFilter struct {
	DeviceID   uuid.UUID
	CampaignID uuid.UUID
	Status     string
	// Limit caps the list; 0 means 1000, and at most 10,000 are returned.
	Limit int
}

// DeviceCommandsList lists org's commands, newest first.
func (s *Store) DeviceCommandsList(ctx context.Context, org uuid.UUID, f DeviceCommandFilter) ([]DeviceCommand, error) {
	const op = "store: listing device commands"
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	sql := "SELECT " + commandCols + " FROM iot.device_commands WHERE org_id = $1"
	args := []any{org}
	if f.DeviceID != uuid.Nil {
		args = append(args, f.DeviceID)
		sql += " AND device_id = $2"
	}
	if f.CampaignID != uuid.Nil {
		args = append(args, f.CampaignID)
		sql += " AND campaign_id = $" + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		sql += " AND status = $" + strconv.Itoa(len(args))
	}
	args = append(args, limit)
	sql += " ORDER BY created_at DESC, id DESC LIMIT $" + strconv.Itoa(len(args))
	var out []DeviceCommand
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		var err error
		out, err = queryCommands(ctx, q, sql, args...)
		return err
	})
	return out, err
}

func queryCommands(ctx context.Context, q driver.Querier, sql string, args ...any) ([]DeviceCommand, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeviceCommand
	for rows.Next() {
		var c DeviceCommand
		if err := rows.Scan(c.dest()...); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FirmwareCampaignGet reads one campaign of org with its counts by status.
func (s *Store) FirmwareCampaignGet(ctx context.Context, org, id uuid.UUID) (*FirmwareCampaign, error) {
	const op = "store: reading a firmware campaign"
	c := &FirmwareCampaign{}
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		err := q.QueryRow(ctx, "SELECT "+campaignCols+" FROM iot.firmware_campaigns WHERE org_id = $1 AND id = $2", org, id).Scan(c.dest()...)
		if s.d.IsNoRows(err) {
			return errorf(CodeNotFound, op, "firmware campaign %s does not exist in this organization", id)
		}
		if err != nil {
			return err
		}
		counts, err := campaignCounts(ctx, q, org, &id)
		c.Counts = counts[id]
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FirmwareCampaignsList lists org's campaigns, newest first, with their counts.
func (s *Store) FirmwareCampaignsList(ctx context.Context, org uuid.UUID) ([]FirmwareCampaign, error) {
	const op = "store: listing firmware campaigns"
	var out []FirmwareCampaign
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, "SELECT "+campaignCols+" FROM iot.firmware_campaigns WHERE org_id = $1 ORDER BY created_at DESC, id DESC", org)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c FirmwareCampaign
			if err := rows.Scan(c.dest()...); err != nil {
				return err
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		counts, err := campaignCounts(ctx, q, org, nil)
		for i := range out {
			out[i].Counts = counts[out[i].ID]
		}
		return err
	})
	return out, err
}

// campaignCounts counts commands by campaign and status: one campaign's,
// or every campaign's of org when id is nil.
func campaignCounts(ctx context.Context, q driver.Querier, org uuid.UUID, id *uuid.UUID) (map[uuid.UUID]map[string]int, error) {
	sql := "SELECT campaign_id, status, count(*) FROM iot.device_commands WHERE org_id = $1 AND campaign_id IS NOT NULL"
	args := []any{org}
	if id != nil {
		sql += " AND campaign_id = $2"
		args = append(args, *id)
	}
	rows, err := q.Query(ctx, sql+" GROUP BY campaign_id, status", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uuid.UUID]map[string]int{}
	for rows.Next() {
		var (
			cid    uuid.UUID
			status string
			n      int
		)
		if err := rows.Scan(&cid, &status, &n); err != nil {
			return nil, err
		}
		if out[cid] == nil {
			out[cid] = map[string]int{}
		}
		out[cid][status] = n
	}
	return out, rows.Err()
}

// DeviceCommandOrgs lists the organizations with unfinished commands, for
// the Commander's scan. It reveals organization ids only.
func (s *Store) DeviceCommandOrgs(ctx context.Context) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.systemTx(ctx, "store: finding organizations with device commands", true, func(q driver.Querier) error {
		ids = ids[:0]
		sql := "SELECT org_id FROM iot.device_command_orgs() AS t(org_id) ORDER BY org_id"
		if _, ok := s.d.(driver.RowSecurity); !ok {
			sql = `SELECT DISTINCT org_id FROM iot.device_commands
				WHERE status IN ('queued', 'sent', 'acknowledged', 'in_progress') ORDER BY org_id`
		}
		rows, err := q.Query(ctx, sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// DeviceCommandsDue returns up to limit of org's commands to publish, oldest
// first: queued ones, and, when resendAfter is positive, sent ones not
// acknowledged within resendAfter of being sent (a device that was offline
// without a session never got them). Expired commands are not returned.
func (s *Store) DeviceCommandsDue(ctx context.Context, org uuid.UUID, resendAfter time.Duration, limit int) ([]DeviceCommand, error) {
	const op = "store: finding device commands to send"
	if limit <= 0 || limit > 10000 {
		return nil, errorf(CodeInvalidArgument, op, "limit %d is outside 1..10000", limit)
	}
	now := s.nowUTC()
	sql := "SELECT " + commandCols + " FROM iot.device_commands WHERE org_id = $1 AND expires_at > $2 AND (status = 'queued'"
	args := []any{org, now}
	if resendAfter > 0 {
		sql += " OR (status = 'sent' AND sent_at <= $4)"
	}
	sql += ") ORDER BY created_at, id LIMIT $3"
	args = append(args, limit)
	if resendAfter > 0 {
		args = append(args, now.Add(-resendAfter))
	}
	var out []DeviceCommand
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		var err error
		out, err = queryCommands(ctx, q, sql, args...)
		return err
	})
	return out, err
}

// DeviceCommandSent records that a command was published: status sent,
// sent_at now, attempts one more. A command that has moved on meanwhile
// (the device answered already, or it expired) is left as it is and false
// is returned.
func (s *Store) DeviceCommandSent(ctx context.Context, org, id uuid.UUID) (bool, error) {
	const op = "store: recording a device command sent"
	var marked bool
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		marked = false
		c, err := s.lockCommand(ctx, q, op, org, id)
		if err != nil {
			return err
		}
		if c.Status != CommandQueued && c.Status != CommandSent {
			return nil
		}
		old := *c
		now := s.nowUTC()
		c.Status, c.SentAt, c.UpdatedAt, c.Attempts = CommandSent, &now, now, c.Attempts+1
		if _, err := q.Exec(ctx, `UPDATE iot.device_commands SET status = $3, sent_at = $4, updated_at = $4, attempts = $5
			WHERE org_id = $1 AND id = $2`, org, id, c.Status, now, c.Attempts); err != nil {
			return err
		}
		marked = true
		return s.appendAudit(ctx, q, org, ActionSend, EntityDeviceCommand, id.String(), commandState(&old), commandState(c))
	})
	return marked, err
}

func (s *Store) lockCommand(ctx context.Context, q driver.Querier, op string, org, id uuid.UUID) (*DeviceCommand, error) {
	c := &DeviceCommand{}
	err := q.QueryRow(ctx, "SELECT "+commandCols+" FROM iot.device_commands WHERE org_id = $1 AND id = $2 FOR UPDATE", org, id).Scan(c.dest()...)
	if s.d.IsNoRows(err) {
		return nil, errorf(CodeNotFound, op, "command %s does not exist in this organization", id)
	}
	return c, err
}

// commandState is the part of a command that changes, for the audit trail.
func commandState(c *DeviceCommand) map[string]any {
	return map[string]any{"status": c.Status, "progress_pct": c.ProgressPct, "message": c.Message, "attempts": c.Attempts,
		"sent_at": c.SentAt, "completed_at": c.CompletedAt}
}

// DeviceCommandsExpire expires org's unfinished commands whose expires_at
// has passed and returns how many.
func (s *Store) DeviceCommandsExpire(ctx context.Context, org uuid.UUID) (int, error) {
	const op = "store: expiring device commands"
	var n int
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		n = 0
		now := s.nowUTC()
		due, err := queryCommands(ctx, q, "SELECT "+commandCols+` FROM iot.device_commands WHERE org_id = $1 AND expires_at <= $2
			AND status IN ('queued', 'sent', 'acknowledged', 'in_progress') ORDER BY created_at, id LIMIT 1000 FOR UPDATE`, org, now)
		if err != nil {
			return err
		}
		campaigns := map[uuid.UUID]bool{}
		for i := range due {
			c := &due[i]
			old := *c
			c.Status, c.UpdatedAt, c.CompletedAt = CommandExpired, now, &now
			if c.Message == "" {
				c.Message = "not finished by " + c.ExpiresAt.Format(time.RFC3339)
			}
			if _, err := q.Exec(ctx, `UPDATE iot.device_commands SET status = $3, message = $4, updated_at = $5, completed_at = $5
				WHERE org_id = $1 AND id = $2`, org, c.ID, c.Status, c.Message, now); err != nil {
				return err
			}
			if err := s.appendAudit(ctx, q, org, ActionExpire, EntityDeviceCommand, c.ID.String(), commandState(&old), commandState(c)); err != nil {
				return err
			}
			if c.CampaignID != nil {
				campaigns[*c.CampaignID] = true
			}
			n++
		}
		for id := range campaigns {
			if err := s.completeCampaign(ctx, q, org, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// completeCampaign marks a running campaign completed when none of its
// commands is unfinished.
func (s *Store) completeCampaign(ctx context.Context, q driver.Querier, org, id uuid.UUID, now time.Time) error {
	var open int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM iot.device_commands WHERE org_id = $1 AND campaign_id = $2
		AND status IN ('queued', 'sent', 'acknowledged', 'in_progress')`, org, id).Scan(&open); err != nil {
		return err
	}
	if open > 0 {
		return nil
	}
	n, err := q.Exec(ctx, `UPDATE iot.firmware_campaigns SET status = $3, completed_at = $4, updated_at = $4
		WHERE org_id = $1 AND id = $2 AND status = $5`, org, id, CampaignCompleted, now, CampaignRunning)
	if err != nil || n == 0 {
		return err
	}
	return s.appendAudit(ctx, q, org, audit.ActionUpdate, EntityFirmwareCampaign, id.String(),
		map[string]any{"status": CampaignRunning}, map[string]any{"status": CampaignCompleted, "completed_at": now})
}

// DeviceCommandResult is what a device reports about one of its commands.
type DeviceCommandResult struct {
	ID          uuid.UUID
	Status      string // acknowledged, in_progress, succeeded, failed
	ProgressPct int    // 0..100
	Message     string // at most MaxCommandMessage bytes
}

// Validate checks a result on its own, before any command is looked up.
func (r DeviceCommandResult) Validate() error {
	const op = "store: checking a command result"
	switch {
	case r.ID == uuid.Nil:
		return errorf(CodeInvalidArgument, op, "command id is required")
	case !slices.Contains(resultStatuses, r.Status):
		return errorf(CodeInvalidArgument, op, "status %q is not one of %v", r.Status, resultStatuses)
	case r.ProgressPct < 0 || r.ProgressPct > 100:
		return errorf(CodeInvalidArgument, op, "progress_pct %d is outside 0..100", r.ProgressPct)
	case len(r.Message) > MaxCommandMessage:
		return errorf(CodeInvalidArgument, op, "message is %d bytes, more than %d", len(r.Message), MaxCommandMessage)
	}
	return nil
}

// DeviceCommandApplyResult applies device's result to one of its commands
// and returns the command as it now stands and whether anything changed.
//
// It is idempotent and order-tolerant: a result for a finished command is
// ignored; the status never moves back (an acknowledgement arriving after
// progress changes nothing); progress only moves forward; a repeated result
// changes nothing. A succeeded firmware_update also sets the device's
// firmware_version. A command of another device, or none, is CodeNotFound.
func (s *Store) DeviceCommandApplyResult(ctx context.Context, org, device uuid.UUID, r DeviceCommandResult) (*DeviceCommand, bool, error) {
	const op = "store: applying a device command result"
	if err := r.Validate(); err != nil {
		return nil, false, err
	}
	var (
		c       *DeviceCommand
		applied bool
	)
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		applied = false
		var err error
		c, err = s.lockCommand(ctx, q, op, org, r.ID)
		if err != nil || c.DeviceID != device {
			if err == nil || CodeOf(err) == CodeNotFound {
				return errorf(CodeNotFound, op, "command %s is not a command of device %s", r.ID, device)
			}
			return err
		}
		if CommandFinished(c.Status) {
			return nil
		}
		old := *c
		if commandStatusRk[r.Status] >= commandStatusRk[c.Status] {
			c.Status = r.Status
			if r.Message != "" {
				c.Message = r.Message
			}
		}
		c.ProgressPct = max(c.ProgressPct, r.ProgressPct)
		if c.Status == CommandSucceeded {
			c.ProgressPct = 100
		}
		if c.Status == old.Status && c.ProgressPct == old.ProgressPct && c.Message == old.Message {
			return nil
		}
		now := s.nowUTC()
		c.UpdatedAt = now
		if CommandFinished(c.Status) {
			c.CompletedAt = &now
		}
		if _, err := q.Exec(ctx, `UPDATE iot.device_commands SET status = $3, progress_pct = $4, message = $5, updated_at = $6,
			completed_at = $7 WHERE org_id = $1 AND id = $2`, org, c.ID, c.Status, c.ProgressPct, c.Message, now, c.CompletedAt); err != nil {
			return err
		}
		if err := s.appendAudit(ctx, q, org, audit.ActionUpdate, EntityDeviceCommand, c.ID.String(), commandState(&old), commandState(c)); err != nil {
			return err
		}
		applied = true
		if c.Status == CommandSucceeded && c.Kind == CommandFirmwareUpdate {
			if err := s.setFirmware(ctx, q, op, org, device, c); err != nil {
				return err
			}
		}
		if c.CampaignID != nil && CommandFinished(c.Status) {
			return s.completeCampaign(ctx, q, org, *c.CampaignID, now)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return c, applied, nil
}

// setFirmware records the version a succeeded firmware_update installed.
func (s *Store) setFirmware(ctx context.Context, q driver.Querier, op string, org, device uuid.UUID, c *DeviceCommand) error {
	var p FirmwarePayload
	if err := json.Unmarshal(c.Payload, &p); err != nil || p.Version == "" {
		return errorf(CodeFailedPrecondition, op, "command %s: firmware_update payload has no version", c.ID)
	}
	d, err := s.lockDevice(ctx, q, op, org, device)
	if err != nil {
		return err
	}
	if d.FirmwareVersion == p.Version {
		return nil
	}
	old := *d
	d.FirmwareVersion, d.UpdatedAt = p.Version, s.nowUTC()
	if _, err := q.Exec(ctx, "UPDATE iot.devices SET firmware_version = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
		org, device, d.FirmwareVersion, d.UpdatedAt); err != nil {
		return err
	}
	return s.appendAudit(ctx, q, org, audit.ActionUpdate, "device", device.String(), &old, d)
}
