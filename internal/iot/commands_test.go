package iot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/iot"
	"github.com/greenlang/greenlang/internal/mqtt"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// cmdDevice is a paho client standing in for a device: it subscribes to
// its commands topic and publishes results.
type cmdDevice struct {
	c        *paho.Client
	org, id  string
	commands chan iot.CommandMessage
}

func dialCmdDevice(t *testing.T, addr, org, id string) *cmdDevice {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := &cmdDevice{org: org, id: id, commands: make(chan iot.CommandMessage, 16)}
	d.c = paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "dev-" + id,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			var m iot.CommandMessage
			if err := json.Unmarshal(pr.Packet.Payload, &m); err != nil {
				t.Errorf("device %s: command %q: %v", id, pr.Packet.Payload, err)
				return true, nil
			}
			d.commands <- m
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := d.c.Connect(ctx, &paho.Connect{ClientID: "dev-" + id, CleanStart: true, KeepAlive: 30,
		Username: org + "/" + id, UsernameFlag: true, Password: []byte("pw-" + id), PasswordFlag: true}); err != nil {
		t.Fatalf("device %s connecting: %v", id, err)
	}
	t.Cleanup(func() { _ = d.c.Disconnect(&paho.Disconnect{}) })
	topic, _ := mqtt.BuildTopic(org, id, mqtt.KindCommands)
	sa, err := d.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if err != nil || len(sa.Reasons) != 1 || sa.Reasons[0] > 2 {
		t.Fatalf("device %s subscribing to %s: %v %+v", id, topic, err, sa)
	}
	return d
}

// result publishes a command result at QoS 1; it returns after the PUBACK,
// which the embedded broker sends once the handler has acked.
func (d *cmdDevice) result(t *testing.T, payload string) {
	t.Helper()
	topic, _ := mqtt.BuildTopic(d.org, d.id, mqtt.KindCommandResults)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := d.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
		t.Fatalf("device %s publishing %s: %v", d.id, payload, err)
	}
}

func (d *cmdDevice) next(t *testing.T) iot.CommandMessage {
	t.Helper()
	select {
	case m := <-d.commands:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("device %s received no command", d.id)
		return iot.CommandMessage{}
	}
}

// TestCommanderEmbedded: a firmware campaign and a configure command go out
// over the embedded broker to a real MQTT client, whose results move the
// commands to succeeded and set the device's firmware version; a result
// for another device's command and malformed results are rejected with
// their reasons.
func TestCommanderEmbedded(t *testing.T) {
	processortest.Engines(t, "greenlang_iot_cmd", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		st := open(t)
		org := uuid.New()
		must(t, st.OrganizationCreate(ctx, &store.Organization{ID: org, Name: "Cmd org", Slug: "cmd-" + org.String()[:8], Country: "DE"}))
		d1 := &store.Device{DeviceType: "energy_meter", Serial: "EM-1", FirmwareVersion: "1.0.0"}
		d2 := &store.Device{DeviceType: "energy_meter", Serial: "EM-2", FirmwareVersion: "1.0.0"}
		must(t, st.Devices().Create(ctx, org, d1))
		must(t, st.Devices().Create(ctx, org, d2))

		auth := mqtt.AuthenticatorFunc(func(_ context.Context, _, user string, pw []byte) (mqtt.Identity, error) {
			o, d, _ := strings.Cut(user, "/")
			if o != org.String() || string(pw) != "pw-"+d || (d != d1.ID.String() && d != d2.ID.String()) {
				return mqtt.Identity{}, errors.New("bad user name or password")
			}
			return mqtt.Identity{Org: o, Device: d}, nil
		})
		var cmdr *iot.Commander
		rejected := make(chan error, 16)
		handler := mqtt.HandlerFunc(func(m mqtt.Message, ack func()) {
			defer ack()
			if m.Kind != mqtt.KindCommandResults {
				return
			}
			if err := cmdr.HandleResult(ctx, m.Org, m.Device, m.Payload); err != nil {
				rejected <- err
			}
		})
		tr, err := mqtt.Open(ctx, "mqtt+embedded://127.0.0.1:0", mqtt.Options{Handler: handler, Authenticator: auth,
			Logger: processortest.Logger(t)})
		must(t, err)
		broker := tr.(*mqtt.Embedded)
		cmdr, err = iot.NewCommander(st, broker, processortest.Logger(t), iot.CommanderConfig{PollInterval: 20 * time.Millisecond})
		must(t, err)
		must(t, broker.Start(ctx))
		t.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = broker.Close(cctx)
		})
		dev1 := dialCmdDevice(t, broker.Addr(), org.String(), d1.ID.String())
		dev2 := dialCmdDevice(t, broker.Addr(), org.String(), d2.ID.String())

		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- cmdr.Run(rctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})

		hash := strings.Repeat("0f", 32)
		camp, cmds, err := st.FirmwareCampaignCreate(ctx, org, store.FirmwareCampaignCreateParams{DeviceType: "energy_meter",
			FirmwareVersion: "2.0.0", URL: "https://fw.example/em-2.0.0.bin", SHA256: hash})
		must(t, err)
		if len(cmds) != 2 {
			t.Fatalf("campaign has %d commands", len(cmds))
		}
		got1, got2 := dev1.next(t), dev2.next(t)
		var fw store.FirmwarePayload
		must(t, json.Unmarshal(got1.Payload, &fw))
		if got1.Kind != store.CommandFirmwareUpdate || fw.Version != "2.0.0" || fw.SHA256 != hash || fw.CampaignID == nil ||
			*fw.CampaignID != camp.ID || got1.IssuedAt.IsZero() {
			t.Fatalf("device 1 received %+v (payload %s)", got1, got1.Payload)
		}
		waitStatus(t, st, org, got1.ID, store.CommandSent)
		waitStatus(t, st, org, got2.ID, store.CommandSent)

		status := func(id uuid.UUID) *store.DeviceCommand {
			c, err := st.DeviceCommandGet(ctx, org, id)
			must(t, err)
			return c
		}
		dev1.result(t, fmt.Sprintf(`{"id":%q,"status":"acknowledged"}`, got1.ID))
		if c := status(got1.ID); c.Status != store.CommandAcknowledged {
			t.Fatalf("after acknowledged: %s", c.Status)
		}
		dev1.result(t, fmt.Sprintf(`{"id":%q,"status":"in_progress","progress_pct":60,"message":"downloading"}`, got1.ID))
		if c := status(got1.ID); c.Status != store.CommandInProgress || c.ProgressPct != 60 || c.Message != "downloading" {
			t.Fatalf("after progress: %+v", c)
		}
		dev1.result(t, fmt.Sprintf(`{"id":%q,"status":"succeeded","message":"running 2.0.0"}`, got1.ID))
		if c := status(got1.ID); c.Status != store.CommandSucceeded || c.ProgressPct != 100 || c.CompletedAt == nil {
			t.Fatalf("after success: %+v", c)
		}
		dev, err := st.Devices().Get(ctx, org, d1.ID)
		must(t, err)
		if dev.FirmwareVersion != "2.0.0" {
			t.Fatalf("device 1 firmware %q after the update", dev.FirmwareVersion)
		}

		// Device 1 reports on device 2's command: refused, nothing changes.
		dev1.result(t, fmt.Sprintf(`{"id":%q,"status":"succeeded"}`, got2.ID))
		wantRejected(t, rejected, "is not a command of device "+d1.ID.String())
		if c := status(got2.ID); c.Status != store.CommandSent {
			t.Fatalf("device 2's command became %s through device 1", c.Status)
		}
		for payload, reason := range map[string]string{
			`{"id":"nope","status":"succeeded"}`:                                         `"id" "nope" is not a command id`,
			fmt.Sprintf(`{"id":%q,"status":"done"}`, got2.ID):                            `"status" "done" is not one of`,
			fmt.Sprintf(`{"id":%q,"status":"in_progress","progress_pct":50.5}`, got2.ID): `"progress_pct" 50.5 is not a whole number`,
			`not json`:            "payload is not a JSON object",
			`{"status":"failed"}`: `"id" is required`,
		} {
			dev2.result(t, payload)
			wantRejected(t, rejected, reason)
		}
		dev2.result(t, fmt.Sprintf(`{"id":%q,"status":"failed","progress_pct":20,"message":"checksum mismatch"}`, got2.ID))
		c, err := st.FirmwareCampaignGet(ctx, org, camp.ID)
		must(t, err)
		if c.Status != store.CampaignCompleted || c.Counts[store.CommandSucceeded] != 1 || c.Counts[store.CommandFailed] != 1 {
			t.Fatalf("campaign at the end %+v", c)
		}

		// A configure command pushes its settings.
		cfg, err := st.DeviceCommandCreate(ctx, org, store.DeviceCommandCreateParams{DeviceID: d2.ID, Kind: store.CommandConfigure,
			Payload: store.JSON(`{"interval_s":15,"unit":"kWh"}`)})
		must(t, err)
		got := dev2.next(t)
		var settings map[string]any
		must(t, json.Unmarshal(got.Payload, &settings))
		if got.ID != cfg.ID || got.Kind != store.CommandConfigure || settings["interval_s"] != float64(15) || settings["unit"] != "kWh" {
			t.Fatalf("configure received %+v", got)
		}
		dev2.result(t, fmt.Sprintf(`{"id":%q,"status":"succeeded"}`, got.ID))
		if c := status(cfg.ID); c.Status != store.CommandSucceeded {
			t.Fatalf("configure ended %s", c.Status)
		}
		select {
		case err := <-rejected:
			t.Fatalf("unexpected rejection: %v", err)
		default:
		}
	})
}

func waitStatus(t *testing.T, st *store.Store, org, id uuid.UUID, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := st.DeviceCommandGet(context.Background(), org, id)
		must(t, err)
		if c.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("command %s is %s, want %s", id, c.Status, want)
		}
	}
}

func wantRejected(t *testing.T, ch chan error, reason string) {
	t.Helper()
	select {
	case err := <-ch:
		if !errors.Is(err, iot.ErrResultRejected) || !strings.Contains(err.Error(), reason) {
			t.Fatalf("rejection %v: want ErrResultRejected saying %q", err, reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no rejection; want one saying %q", reason)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseCommandResult(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	for _, tc := range []struct {
		payload, reason string
		want            store.DeviceCommandResult
	}{
		{payload: fmt.Sprintf(`{"id":%q,"status":"in_progress","progress_pct":42,"message":"m","extra":1}`, id),
			want: store.DeviceCommandResult{ID: id, Status: "in_progress", ProgressPct: 42, Message: "m"}},
		{payload: fmt.Sprintf(`{"id":%q,"status":"failed"}`, id), want: store.DeviceCommandResult{ID: id, Status: "failed"}},
		{payload: `{"id":"00000000-0000-0000-0000-000000000000","status":"failed"}`, reason: "is not a command id"},
		{payload: `[]`, reason: "payload is not a JSON object"},
		{payload: `{"id":1,"status":"failed"}`, reason: "payload is not a JSON object"},
		{payload: fmt.Sprintf(`{"id":%q}`, id), reason: `"status" is required`},
		{payload: fmt.Sprintf(`{"id":%q,"status":"queued"}`, id), reason: `"status" "queued" is not one of`},
		{payload: fmt.Sprintf(`{"id":%q,"status":"in_progress","progress_pct":-1}`, id), reason: `"progress_pct" -1 is not`},
		{payload: fmt.Sprintf(`{"id":%q,"status":"in_progress","progress_pct":101}`, id), reason: `"progress_pct" 101 is not`},
		{payload: fmt.Sprintf(`{"id":%q,"status":"failed","message":%q}`, id, strings.Repeat("x", 1025)), reason: `"message" is 1025 bytes`},
		{payload: fmt.Sprintf(`{"id":%q,"status":"failed"} {}`, id), reason: "data after its JSON object"},
		{payload: strings.Repeat(" ", iot.MaxResultSize+1), reason: "more than 8192"},
	} {
		got, reason := iot.ParseCommandResult([]byte(tc.payload))
		if tc.reason != "" {
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("%.60s: reason %q, want %q", tc.payload, reason, tc.reason)
			}
			continue
		}
		if reason != "" || got != tc.want {
			t.Errorf("%s: got %+v %q, want %+v", tc.payload, got, reason, tc.want)
		}
	}
}

// FuzzParseCommandResult: whatever parses is a valid result for the store.
func FuzzParseCommandResult(f *testing.F) {
	f.Add([]byte(`{"id":"0193a000-0000-7000-8000-000000000000","status":"in_progress","progress_pct":5}`))
	f.Add([]byte(`{"id":"x","status":"succeeded","message":"\u0000"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, reason := iot.ParseCommandResult(b)
		if reason == "" {
			if err := r.Validate(); err != nil {
				t.Fatalf("%q parsed to %+v, which the store refuses: %v", b, r, err)
			}
		}
	})
}
