package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/iot/telemetry"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/store"
)

// startIoT starts the IoT ingest and the MQTT transport feeding it
// (docs/iot.md, docs/mqtt.md), unless mqtt.url is off.
func (a *App) startIoT(ctx context.Context) error {
	if a.cfg.MQTT.URL == config.MQTTOff {
		a.log.Info("mqtt is off: no IoT ingest")
		return nil
	}
	cat, err := telemetry.LoadCatalogue()
	if err != nil {
		return fmt.Errorf("app: device-type catalogue: %w", err)
	}
	var rules *iot.EdgeRules
	if f := a.cfg.MQTT.EdgeRulesFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("app: mqtt.edge_rules_file: %w", err)
		}
		if rules, err = iot.ParseEdgeRules(b, cat); err != nil {
			return fmt.Errorf("app: mqtt.edge_rules_file %s: %w", f, err)
		}
	}
	in, err := iot.New(a.st, a.stream, cat, a.log, a.reg, iot.Config{BatchSize: a.cfg.MQTT.BatchSize,
		FlushInterval: a.cfg.MQTT.FlushInterval, QueueDepth: a.cfg.MQTT.QueueDepth, EdgeRules: rules, Writers: a.cfg.MQTT.Writers})
	if err != nil {
		return err
	}
	ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopIngest, a.ingestDone = cancel, make(chan struct{})
	go func() {
		defer close(a.ingestDone)
		if err := in.Run(ictx); err != nil {
			a.log.Error("iot ingest stopped", slog.Any("err", err))
		}
	}()
	// The handler has its own context, ended first at stop, so that no
	// message waits in it (for a full queue, or to retry) while the
	// transport closes.
	hctx, hcancel := context.WithCancel(ictx)
	a.stopHandler = hcancel
	var cmdr *iot.Commander // set before the transport starts
	t, err := mqtt.Open(ctx, a.cfg.MQTT.URL, mqtt.Options{
		Handler:       ingestHandler(hctx, in, func() *iot.Commander { return cmdr }, a.log),
		Logger:        a.log,
		Authenticator: deviceAuthenticator(a.st),
		TLSCertFile:   a.cfg.MQTT.TLSCertFile,
		TLSKeyFile:    a.cfg.MQTT.TLSKeyFile,
		TLSAddr:       a.cfg.MQTT.TLSAddr,
		ClientID:      a.cfg.MQTT.ClientID,
		ShareGroup:    a.cfg.MQTT.ShareGroup,
	})
	if err != nil {
		return err
	}
	// Device commands (docs/iot-commands.md) go out through the transport.
	if cmdr, err = iot.NewCommander(a.st, t, a.log, iot.CommanderConfig{}); err != nil {
		return err
	}
	if err := t.Start(ctx); err != nil {
		hint := ""
		if errors.Is(err, syscall.EADDRINUSE) {
			hint = " (another broker holds the port: set mqtt.url to a free one, e.g. mqtt+embedded://127.0.0.1:1884, or to that broker, e.g. tcp://127.0.0.1:1883)"
		}
		return fmt.Errorf("app: starting MQTT (%s): %w%s", config.RedactURL(a.cfg.MQTT.URL), err, hint)
	}
	a.mqtt = t
	svc, err := a.calculation(ctx)
	if err != nil {
		return err
	}
	rollup := iot.NewRollup(a.st, svc, cat, a.log)
	a.rollup = rollup
	a.cmdDone = make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { _ = cmdr.Run(hctx) })
	wg.Go(func() { a.rollupLoop(hctx, rollup) })
	go func() {
		wg.Wait()
		close(a.cmdDone)
	}()
	a.log.Info("mqtt ready", slog.String("url", config.RedactURL(a.cfg.MQTT.URL)))
	return nil
}

// rollupGrace is how long after an hour ends its readings are rolled up
// into activity data: readings arriving later are not counted.
const rollupGrace = 5 * time.Minute

// rollupLoop rolls every organization's meter readings up into activity
// data (iot.Rollup): at start the last 24 completed hours (a device's hour
// is stored once, so hours rolled up before are skipped), then each hour
// the one that ended rollupGrace ago, with any hour that failed before.
func (a *App) rollupLoop(ctx context.Context, r *iot.Rollup) {
	failed := map[time.Time]bool{}
	roll := func(hour time.Time) {
		orgs, err := a.st.OrganizationIDs(ctx)
		if err != nil {
			a.log.Warn("iot: roll-up: listing organizations; retried next hour", slog.Any("err", err))
			failed[hour] = true
			return
		}
		delete(failed, hour)
		for _, org := range orgs {
			if _, err := r.Hour(ctx, org, hour); err != nil && ctx.Err() == nil {
				a.log.Warn("iot: roll-up failed; retried next hour", slog.Any("org", org), slog.Time("hour", hour), slog.Any("err", err))
				failed[hour] = true
			}
		}
	}
	last := time.Now().Add(-rollupGrace).UTC().Truncate(time.Hour).Add(-time.Hour) // the latest hour past its grace
	for h := last.Add(-23 * time.Hour); !h.After(last) && ctx.Err() == nil; h = h.Add(time.Hour) {
		roll(h)
	}
	for {
		next := last.Add(2*time.Hour + rollupGrace)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		last = last.Add(time.Hour)
		for _, h := range slices.SortedFunc(maps.Keys(failed), time.Time.Compare) {
			if last.Sub(h) > 24*time.Hour {
				delete(failed, h) // a day late: left to greenlang iot rollup
				continue
			}
			roll(h)
		}
		roll(last)
	}
}

// stopIoT stops taking messages, closes the MQTT transport, then lets the
// ingest store what it accepted. What was not taken stays unacknowledged,
// so devices (or the external broker) deliver it again.
func (a *App) stopIoT(ctx context.Context) error {
	var errs []error
	if a.stopHandler != nil {
		a.stopHandler()
	}
	if a.cmdDone != nil {
		<-a.cmdDone
	}
	if a.mqtt != nil {
		if err := a.mqtt.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("app: closing MQTT: %w", err))
		}
	}
	if a.stopIngest != nil {
		a.stopIngest()
		<-a.ingestDone
	}
	return errors.Join(errs...)
}

// ingestHandler hands MQTT messages to the ingest, and command results to
// the Commander. A message that cannot be taken yet (the store cannot say
// whether its device exists, or is down) is offered again with backoff
// until it is taken or the platform stops; it is never acknowledged
// untaken. A command result that can never be applied is dead-lettered
// and acknowledged.
func ingestHandler(ctx context.Context, in *iot.Ingest, cmdr func() *iot.Commander, log *slog.Logger) mqtt.Handler {
	return mqtt.HandlerFunc(func(m mqtt.Message, ack func()) {
		take := func() error { return in.Submit(ctx, m, ack) }
		if m.Kind == mqtt.KindCommandResults {
			take = func() error {
				err := cmdr().HandleResult(ctx, m.Org, m.Device, m.Payload)
				if errors.Is(err, iot.ErrResultRejected) {
					if err := in.Refuse(ctx, m, "command_result", err.Error()); err != nil {
						return err
					}
					err = nil
				}
				if err == nil {
					ack()
				}
				return err
			}
		}
		for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
			err := take()
			if err == nil || ctx.Err() != nil {
				return
			}
			log.Warn("iot: message not taken yet; retrying", "topic", m.Topic, "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
		}
	})
}

// deviceAuthenticator checks a device's CONNECT: the user name is
// "<org_id>/<device_id>", the password the secret it was issued.
func deviceAuthenticator(st *store.Store) mqtt.Authenticator {
	return mqtt.AuthenticatorFunc(func(ctx context.Context, _, username string, password []byte) (mqtt.Identity, error) {
		orgS, devS, ok := mqtt.ParseDeviceUser(username)
		org, err1 := uuid.Parse(orgS)
		dev, err2 := uuid.Parse(devS)
		if !ok || err1 != nil || err2 != nil {
			return mqtt.Identity{}, fmt.Errorf("user name %q is not <org_id>/<device_id>", username)
		}
		d, err := st.DeviceAuthenticate(ctx, org, dev, string(password))
		if err != nil {
			return mqtt.Identity{}, err
		}
		return mqtt.Identity{Org: org.String(), Device: d.ID.String()}, nil
	})
}
