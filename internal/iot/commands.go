package iot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/store"
)

// Publisher is what the Commander sends commands through: the MQTT
// transport (mqtt.Transport has this method).
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error
}

// CommanderConfig tunes the Commander. Zero values take the defaults.
type CommanderConfig struct {
	// PollInterval is how often the store is scanned for commands to send
	// and commands to expire (default 2 s). Commands are queued by other
	// processes (the CLI), so the store is the only way to learn of them.
	PollInterval time.Duration
	// ResendAfter is how long a sent command may stay unacknowledged before
	// it is published again with the same id (default 15 minutes; negative
	// never resends). A device that was offline without a session never
	// got it.
	ResendAfter time.Duration
	// BatchSize is the most commands sent per organization per scan
	// (default 100).
	BatchSize int
}

func (c CommanderConfig) withDefaults() CommanderConfig {
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.ResendAfter == 0 {
		c.ResendAfter = 15 * time.Minute
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	return c
}

// Commander sends devices their queued commands over MQTT and applies the
// results they report (docs/iot-commands.md). It is safe for concurrent
// use: Run sends, HandleResult may be called from any goroutine.
type Commander struct {
	st  *store.Store
	pub Publisher
	log *slog.Logger
	cfg CommanderConfig
}

// NewCommander returns a Commander over st publishing through pub. It
// starts nothing: Run does.
func NewCommander(st *store.Store, pub Publisher, log *slog.Logger, cfg CommanderConfig) (*Commander, error) {
	if st == nil || pub == nil {
		return nil, errors.New("iot: the commander needs a store and a publisher")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Commander{st: st, pub: pub, log: log, cfg: cfg.withDefaults()}, nil
}

// CommandMessage is the JSON a device receives on its commands topic.
type CommandMessage struct {
	ID       uuid.UUID       `json:"id"`
	Kind     string          `json:"kind"`
	Payload  json.RawMessage `json:"payload"`
	IssuedAt time.Time       `json:"issued_at"`
}

// Run sends due commands and expires overdue ones every PollInterval until
// ctx ends; then it returns nil. Failures (a store or broker that is down)
// are logged and retried on the next scan.
func (c *Commander) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		if n, err := c.SendDue(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("iot: sending device commands", "sent", n, "err", err)
		} else if n > 0 {
			c.log.Debug("iot: device commands sent", "sent", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SendDue runs one scan: in every organization with unfinished commands,
// it expires the overdue ones, then publishes the due ones (queued, or
// sent and unacknowledged for ResendAfter) to their devices' commands
// topics at QoS 1 and marks them sent. It returns how many it sent; a
// command it could not publish stays due and is tried again next scan.
func (c *Commander) SendDue(ctx context.Context) (int, error) {
	orgs, err := c.st.DeviceCommandOrgs(ctx)
	if err != nil {
		return 0, fmt.Errorf("iot: finding organizations with device commands: %w", err)
	}
	sent := 0
	var errs []error
	for _, org := range orgs {
		if ctx.Err() != nil {
			break
		}
		n, err := c.sendOrg(ctx, org)
		sent += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return sent, errors.Join(errs...)
}

func (c *Commander) sendOrg(ctx context.Context, org uuid.UUID) (int, error) {
	if n, err := c.st.DeviceCommandsExpire(ctx, org); err != nil {
		return 0, fmt.Errorf("iot: expiring commands of organization %s: %w", org, err)
	} else if n > 0 {
		c.log.Info("iot: device commands expired", "org", org, "expired", n)
	}
	resend := c.cfg.ResendAfter
	if resend < 0 {
		resend = 0
	}
	due, err := c.st.DeviceCommandsDue(ctx, org, resend, c.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("iot: reading due commands of organization %s: %w", org, err)
	}
	sent := 0
	var errs []error
	for i := range due {
		if err := c.send(ctx, &due[i]); err != nil {
			errs = append(errs, err)
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// send publishes one command and marks it sent.
func (c *Commander) send(ctx context.Context, cmd *store.DeviceCommand) error {
	topic, err := mqtt.BuildTopic(cmd.OrgID.String(), cmd.DeviceID.String(), mqtt.KindCommands)
	if err != nil {
		return fmt.Errorf("iot: command %s: %w", cmd.ID, err)
	}
	payload := json.RawMessage(cmd.Payload)
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = json.RawMessage("{}")
	}
	body, err := json.Marshal(CommandMessage{ID: cmd.ID, Kind: cmd.Kind, Payload: payload, IssuedAt: cmd.CreatedAt.UTC()})
	if err != nil {
		return fmt.Errorf("iot: encoding command %s: %w", cmd.ID, err)
	}
	if err := c.pub.Publish(ctx, topic, body, 1, false); err != nil {
		return fmt.Errorf("iot: publishing command %s to %s: %w", cmd.ID, topic, err)
	}
	if _, err := c.st.DeviceCommandSent(ctx, cmd.OrgID, cmd.ID); err != nil {
		// Published but not marked: it is sent again next scan, and the
		// device acts on an id once.
		return fmt.Errorf("iot: recording command %s sent: %w", cmd.ID, err)
	}
	c.log.Debug("iot: device command sent", "org", cmd.OrgID, "device", cmd.DeviceID, "command", cmd.ID, "kind", cmd.Kind,
		"attempt", cmd.Attempts+1)
	return nil
}

// ErrResultRejected marks a command result that can never be applied (it
// is malformed, or names a command that is not the device's). Such a
// message should be acknowledged and dead-lettered, not redelivered.
// Match it with errors.Is; the error's text gives the reason.
var ErrResultRejected = errors.New("command result rejected")

// MaxResultSize is the largest command-results payload accepted, in bytes.
const MaxResultSize = 8 << 10

// resultMessage is the JSON a device publishes on its command-results
// topic.
type resultMessage struct {
	ID          *string      `json:"id"`
	Status      *string      `json:"status"`
	ProgressPct *json.Number `json:"progress_pct"`
	Message     string       `json:"message"`
}

// HandleResult applies a device's command-results message, received on
// greenlang/v1/{org}/{device}/command-results:
//
//	{"id": "<command id>", "status": "acknowledged|in_progress|succeeded|failed",
//	 "progress_pct": 0..100, "message": "..."}
//
// A result for a finished command, or one that would move a command back,
// changes nothing and returns nil, so a redelivered message is harmless.
// A result that can never be applied returns an error matching
// ErrResultRejected whose text names the organization, device and reason;
// any other error is transient (the store is down) and the message should
// be delivered again.
func (c *Commander) HandleResult(ctx context.Context, org, device string, payload []byte) error {
	reject := func(format string, args ...any) error {
		return fmt.Errorf("%w: organization %s, device %s: %s", ErrResultRejected, org, device, fmt.Sprintf(format, args...))
	}
	orgID, err1 := uuid.Parse(org)
	devID, err2 := uuid.Parse(device)
	if err1 != nil || err2 != nil {
		return reject("the topic does not name an organization and a device by id")
	}
	r, reason := ParseCommandResult(payload)
	if reason != "" {
		return reject("%s", reason)
	}
	cmd, applied, err := c.st.DeviceCommandApplyResult(ctx, orgID, devID, r)
	switch store.CodeOf(err) {
	case store.CodeNotFound, store.CodeInvalidArgument:
		return reject("%v", err)
	}
	if err != nil {
		return fmt.Errorf("iot: applying a result of device %s to command %s: %w", devID, r.ID, err)
	}
	if applied {
		c.log.Info("iot: device command updated", "org", orgID, "device", devID, "command", cmd.ID, "kind", cmd.Kind,
			"status", cmd.Status, "progress_pct", cmd.ProgressPct)
	} else {
		c.log.Debug("iot: device command result changed nothing", "org", orgID, "device", devID, "command", cmd.ID,
			"status", cmd.Status, "reported", r.Status)
	}
	return nil
}

// ParseCommandResult reads a command-results payload. It returns the
// result, or a reason saying what is wrong with it.
func ParseCommandResult(payload []byte) (store.DeviceCommandResult, string) {
	var r store.DeviceCommandResult
	if len(payload) > MaxResultSize {
		return r, fmt.Sprintf("payload is %d bytes, more than %d", len(payload), MaxResultSize)
	}
	var m resultMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return r, "payload is not a JSON object: " + err.Error()
	}
	if dec.More() {
		return r, "payload has data after its JSON object"
	}
	switch {
	case m.ID == nil || *m.ID == "":
		return r, `"id" is required`
	case m.Status == nil || *m.Status == "":
		return r, `"status" is required`
	}
	id, err := uuid.Parse(*m.ID)
	if err != nil || id == uuid.Nil {
		return r, fmt.Sprintf(`"id" %q is not a command id`, *m.ID)
	}
	r.ID, r.Status, r.Message = id, *m.Status, m.Message
	if statuses := store.CommandResultStatuses(); !slices.Contains(statuses, r.Status) {
		return r, fmt.Sprintf(`"status" %q is not one of %s`, r.Status, strings.Join(statuses, ", "))
	}
	if m.ProgressPct != nil {
		n, err := m.ProgressPct.Int64()
		if err != nil || n < 0 || n > 100 {
			return r, fmt.Sprintf(`"progress_pct" %s is not a whole number from 0 to 100`, m.ProgressPct.String())
		}
		r.ProgressPct = int(n)
	}
	if len(r.Message) > store.MaxCommandMessage {
		return r, fmt.Sprintf(`"message" is %d bytes, more than %d`, len(r.Message), store.MaxCommandMessage)
	}
	if strings.ContainsRune(r.Message, 0) {
		return r, `"message" contains a NUL character`
	}
	return r, ""
}
