package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// apiEnv is an API server over a fresh store with two organizations.
type apiEnv struct {
	t          *testing.T
	st         *store.Store
	url        string
	orgA, orgB uuid.UUID
}

func newAPIEnv(t *testing.T, open processortest.StoreOpener) *apiEnv {
	t.Helper()
	st := open(t)
	e := &apiEnv{t: t, st: st, orgA: uuid.New(), orgB: uuid.New()}
	for _, id := range []uuid.UUID{e.orgA, e.orgB} {
		if err := st.OrganizationCreate(context.Background(), &store.Organization{ID: id, Name: "Org " + id.String()[:8],
			Slug: "o" + id.String()[:8]}); err != nil {
			t.Fatal(err)
		}
	}
	// The tests send many requests and failed authentications from one
	// address: the limits are TestRateLimits' to check.
	srv := httptest.NewServer(httpapi.NewHandler(httpapi.HandlerOptions{Store: st, RateLimit: testLimits}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// token issues a token of org with scopes.
func (e *apiEnv) token(org uuid.UUID, scopes ...string) string {
	e.t.Helper()
	secret, _, err := e.st.APITokenIssue(context.Background(), org, store.APITokenIssueParams{Name: "test " + strings.Join(scopes, ","), Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

var testLimits = httpapi.RateLimit{PerSecond: -1, FailedPerMinute: 1e9}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request: body is sent as is when a string, as JSON otherwise;
// token "" sends no Authorization header.
func (e *apiEnv) do(method, path, token string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

func (e *apiEnv) send(req *http.Request) reply {
	e.t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: b}
}

// must checks the status and decodes the JSON body into v (when not nil).
func (r reply) must(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decoding %s: %v", r.body, err)
		}
	}
}

// problem decodes a problem response strictly.
func (r reply) problem(t *testing.T) httpapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != httpapi.ProblemContentType {
		t.Fatalf("Content-Type %q of a %d: %s", ct, r.status, r.body)
	}
	var p httpapi.Problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem %s: %v", r.body, err)
	}
	if p.Status != r.status || p.Title != http.StatusText(r.status) || p.Type == "" || p.Detail == "" {
		t.Fatalf("problem %+v of a %d", p, r.status)
	}
	return p
}

// wantProblem checks a problem's status, type and field.
func (r reply) wantProblem(t *testing.T, status int, typ, field string) httpapi.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	p := r.problem(t)
	if p.Type != typ || p.Field != field {
		t.Fatalf("problem %+v, want type %s field %q", p, typ, field)
	}
	return p
}

type registered struct {
	Device      store.Device `json:"device"`
	Credentials struct {
		CredentialID   uuid.UUID `json:"credential_id"`
		MQTTUser       string    `json:"mqtt_user"`
		MQTTSecret     string    `json:"mqtt_secret"`
		TelemetryTopic string    `json:"telemetry_topic"`
		CommandsTopic  string    `json:"commands_topic"`
	} `json:"credentials"`
}

type list[T any] struct {
	Items     []T    `json:"items"`
	NextAfter string `json:"next_after"`
}

// Every route's happy path, on both engines: register (credentials the
// MQTT side accepts), list with filters and pages, show, rotate, configure
// and its commands, a firmware campaign and its progress, readings and
// hourly aggregates, alerts and their acknowledgement, decommission
// (credentials refused after).
func TestDeviceAPI(t *testing.T) {
	processortest.Engines(t, "httpapi", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		all := e.token(e.orgA, store.ScopeAll)
		site := &store.Site{Name: "Plant", Code: "PLANT", Active: true}
		if err := e.st.Sites().Create(ctx, e.orgA, site); err != nil {
			t.Fatal(err)
		}

		var me struct {
			ID     uuid.UUID `json:"id"`
			OrgID  uuid.UUID `json:"org_id"`
			Scopes []string  `json:"scopes"`
		}
		e.do("GET", "/api/v1/token", all, nil).must(t, 200, &me)
		if me.OrgID != e.orgA || len(me.Scopes) != 1 || me.Scopes[0] != "*" {
			t.Fatalf("GET /token: %+v", me)
		}

		// Register.
		r := e.do("POST", "/api/v1/devices", all, map[string]any{"device_type": "energy_meter", "serial": " EM-1 ", "name": "Main meter",
			"site": "PLANT", "calibration_due_at": "2027-06-30", "metadata": map[string]any{"floor": 2}})
		var em registered
		r.must(t, 201, &em)
		dev := em.Device.ID
		if r.header.Get("Location") != "/api/v1/devices/"+dev.String() || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", r.header)
		}
		if em.Device.Serial != "EM-1" || em.Device.Status != store.DeviceRegistered || em.Device.SiteID == nil || *em.Device.SiteID != site.ID ||
			em.Device.CalibrationDueAt == nil || em.Device.CalibrationDueAt.Format(time.DateOnly) != "2027-06-30" ||
			string(em.Device.Metadata) != `{"floor":2}` {
			t.Errorf("registered %+v", em.Device)
		}
		c := em.Credentials
		if c.MQTTUser != e.orgA.String()+"/"+dev.String() || !strings.HasPrefix(c.MQTTSecret, store.DeviceSecretPrefix) ||
			c.TelemetryTopic != "greenlang/v1/"+e.orgA.String()+"/"+dev.String()+"/telemetry" ||
			c.CommandsTopic != "greenlang/v1/"+e.orgA.String()+"/"+dev.String()+"/commands" {
			t.Errorf("credentials %+v", c)
		}
		if _, err := e.st.DeviceAuthenticate(ctx, e.orgA, dev, c.MQTTSecret); err != nil {
			t.Fatalf("the registered secret is refused: %v", err)
		}
		var aq registered
		e.do("POST", "/api/v1/devices", all, map[string]any{"device_type": "air_quality", "serial": "AQ-1"}).must(t, 201, &aq)
		e.do("POST", "/api/v1/devices", all, map[string]any{"device_type": "air_quality", "serial": "AQ-1"}).
			wantProblem(t, 409, httpapi.ProblemConflict, "serial")
		if p := e.do("POST", "/api/v1/devices", all, map[string]any{"device_type": "toaster", "serial": "T-1"}).
			wantProblem(t, 422, httpapi.ProblemValidation, ""); !strings.Contains(p.Detail, "toaster") || strings.Contains(p.Detail, "store:") {
			t.Errorf("unknown type: %+v", p)
		}
		e.do("POST", "/api/v1/devices", all, map[string]any{"device_type": "air_quality", "serial": "AQ-2", "site": "NOWHERE"}).
			wantProblem(t, 422, httpapi.ProblemValidation, "site")
		// Metadata is checked as PATCH checks it.
		e.do("POST", "/api/v1/devices", all, map[string]any{"device_type": "solar_panel", "serial": "PV-9", "metadata": map[string]any{"rated_kw": "-1"}}).
			wantProblem(t, 422, httpapi.ProblemValidation, "metadata")

		// List, filter, page.
		for q, want := range map[string]string{
			"":                                    "EM-1,AQ-1",
			"?type=air_quality":                   "AQ-1",
			"?site=PLANT":                         "EM-1",
			"?site=" + site.ID.String():           "EM-1",
			"?status=registered":                  "EM-1,AQ-1",
			"?status=decommissioned":              "",
			"?type=energy_meter&limit=1":          "EM-1",
			"?after=" + dev.String():              "AQ-1",
			"?limit=1&after=" + uuid.Nil.String(): "EM-1",
		} {
			var l list[store.Device]
			e.do("GET", "/api/v1/devices"+q, all, nil).must(t, 200, &l)
			var got []string
			for _, d := range l.Items {
				got = append(got, d.Serial)
			}
			if strings.Join(got, ",") != want {
				t.Errorf("GET /devices%s = %v, want %s", q, got, want)
			}
		}
		var page list[store.Device]
		e.do("GET", "/api/v1/devices?limit=1", all, nil).must(t, 200, &page)
		if len(page.Items) != 1 || page.NextAfter != dev.String() {
			t.Errorf("first page %+v", page)
		}
		after := page.NextAfter
		page = list[store.Device]{}
		e.do("GET", "/api/v1/devices?limit=1&after="+after, all, nil).must(t, 200, &page)
		if len(page.Items) != 1 || page.Items[0].ID != aq.Device.ID || page.NextAfter != "" {
			t.Errorf("second page %+v", page)
		}

		// Show: credentials' history, never a secret.
		r = e.do("GET", "/api/v1/devices/"+dev.String(), all, nil)
		var shown struct {
			store.Device
			MQTTUser    string                   `json:"mqtt_user"`
			Credentials []store.DeviceCredential `json:"credentials"`
		}
		r.must(t, 200, &shown)
		if shown.ID != dev || shown.MQTTUser != c.MQTTUser || len(shown.Credentials) != 1 || bytes.Contains(r.body, []byte(c.MQTTSecret)) {
			t.Errorf("show %s", r.body)
		}

		// Rotate: the new secret works, the old one no longer.
		var rot registered
		e.do("POST", "/api/v1/devices/"+dev.String()+"/rotate-secret", all, nil).must(t, 200, &rot)
		if rot.Credentials.MQTTSecret == c.MQTTSecret || rot.Device.ID != dev {
			t.Fatalf("rotate %+v", rot)
		}
		if _, err := e.st.DeviceAuthenticate(ctx, e.orgA, dev, c.MQTTSecret); err == nil {
			t.Error("the old secret still works after rotate-secret")
		}
		if _, err := e.st.DeviceAuthenticate(ctx, e.orgA, dev, rot.Credentials.MQTTSecret); err != nil {
			t.Errorf("the rotated secret is refused: %v", err)
		}

		// Configure, and the device's commands.
		r = e.do("POST", "/api/v1/devices/"+dev.String()+"/configure", all, map[string]any{"settings": map[string]any{"unit": "kWh", "interval_s": 30}, "ttl": "2h"})
		var cmd store.DeviceCommand
		r.must(t, 202, &cmd)
		if cmd.Kind != store.CommandConfigure || cmd.Status != store.CommandQueued || string(cmd.Payload) != `{"interval_s":30,"unit":"kWh"}` ||
			cmd.ExpiresAt.Sub(cmd.CreatedAt) != 2*time.Hour || cmd.CreatedBy != "token:"+me.ID.String() ||
			r.header.Get("Location") != "/api/v1/commands/"+cmd.ID.String() {
			t.Errorf("configure %+v %v", cmd, r.header)
		}
		e.do("POST", "/api/v1/devices/"+dev.String()+"/configure", all, map[string]any{"settings": map[string]any{}}).
			wantProblem(t, 422, httpapi.ProblemValidation, "")
		for q, n := range map[string]int{"": 1, "?status=queued": 1, "?status=failed": 0, "?limit=1": 1} {
			var l list[store.DeviceCommand]
			e.do("GET", "/api/v1/devices/"+dev.String()+"/commands"+q, all, nil).must(t, 200, &l)
			if len(l.Items) != n || (n == 1 && l.Items[0].ID != cmd.ID) {
				t.Errorf("commands%s: %+v", q, l.Items)
			}
		}
		var got store.DeviceCommand
		e.do("GET", "/api/v1/commands/"+cmd.ID.String(), all, nil).must(t, 200, &got)
		if got.ID != cmd.ID || got.DeviceID != dev {
			t.Errorf("GET /commands/{id}: %+v", got)
		}

		// A firmware campaign and its progress.
		r = e.do("POST", "/api/v1/firmware-campaigns", all, map[string]any{"device_type": "energy_meter", "firmware_version": "2.1.0",
			"url": "https://fw.example/em.bin", "sha256": strings.Repeat("ab", 32), "ttl": "72h"})
		type campaign struct {
			store.FirmwareCampaign
			Counts   map[string]int        `json:"counts"`
			Total    int                   `json:"total"`
			Commands []store.DeviceCommand `json:"commands"`
		}
		var camp campaign
		r.must(t, 201, &camp)
		if camp.Name != "energy_meter 2.1.0" || camp.Total != 1 || camp.Counts[store.CommandQueued] != 1 ||
			r.header.Get("Location") != "/api/v1/firmware-campaigns/"+camp.ID.String() {
			t.Fatalf("campaign %+v", camp)
		}
		e.do("POST", "/api/v1/firmware-campaigns", all, map[string]any{"device_type": "solar_panel", "firmware_version": "1",
			"url": "u", "sha256": strings.Repeat("ab", 32)}).wantProblem(t, 409, httpapi.ProblemConflict, "")
		e.do("POST", "/api/v1/firmware-campaigns", all, map[string]any{"device_type": "energy_meter", "firmware_version": "1",
			"url": "u", "sha256": "abc"}).wantProblem(t, 422, httpapi.ProblemValidation, "")
		var camps list[campaign]
		e.do("GET", "/api/v1/firmware-campaigns", all, nil).must(t, 200, &camps)
		if len(camps.Items) != 1 || camps.Items[0].ID != camp.ID || camps.Items[0].Total != 1 {
			t.Errorf("campaigns %+v", camps)
		}
		fw, err := e.st.DeviceCommandsList(ctx, e.orgA, store.DeviceCommandFilter{CampaignID: camp.ID})
		if err != nil || len(fw) != 1 {
			t.Fatal(fw, err)
		}
		if _, _, err := e.st.DeviceCommandApplyResult(ctx, e.orgA, dev, store.DeviceCommandResult{ID: fw[0].ID, Status: store.CommandInProgress,
			ProgressPct: 40, Message: "downloading"}); err != nil {
			t.Fatal(err)
		}
		campID := camp.ID
		camp = campaign{}
		e.do("GET", "/api/v1/firmware-campaigns/"+campID.String(), all, nil).must(t, 200, &camp)
		if camp.Counts[store.CommandInProgress] != 1 || len(camp.Commands) != 1 || camp.Commands[0].ProgressPct != 40 ||
			camp.Commands[0].Message != "downloading" || camp.Commands[0].DeviceID != dev {
			t.Errorf("campaign progress %+v", camp)
		}

		// Readings and hourly aggregates; decimals stay strings.
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		var rs []store.SensorReading
		for i, v := range []string{"10.5", "11", "12.25", "20", "21.5"} {
			rs = append(rs, store.SensorReading{OrgID: e.orgA, DeviceID: dev, Metric: "energy_kwh_total", Time: t0.Add(time.Duration(i) * 20 * time.Minute),
				Value: decimal.RequireFromString(v), Unit: "kWh", ReceivedAt: t0})
		}
		if _, err := e.st.SensorReadingsInsert(ctx, e.orgA, rs); err != nil {
			t.Fatal(err)
		}
		type readings struct {
			Items     []map[string]any `json:"items"`
			Truncated bool             `json:"truncated"`
			NextFrom  *time.Time       `json:"next_from"`
			Limit     int              `json:"limit"`
		}
		base := "/api/v1/devices/" + dev.String() + "/readings?metric=energy_kwh_total&from=2026-12-01&to=2026-12-02"
		var rd readings
		r = e.do("GET", base, all, nil)
		r.must(t, 200, &rd)
		if len(rd.Items) != 5 || rd.Truncated || rd.Limit != 1000 || rd.Items[0]["value"] != "10.5" || rd.Items[4]["unit"] != "kWh" {
			t.Errorf("readings %s", r.body)
		}
		rd = readings{}
		e.do("GET", base+"&limit=2", all, nil).must(t, 200, &rd)
		if len(rd.Items) != 2 || !rd.Truncated || rd.NextFrom == nil || !rd.NextFrom.Equal(t0.Add(40*time.Minute)) {
			t.Errorf("limited readings %+v", rd)
		}
		next := rd.NextFrom.Format(time.RFC3339)
		rd = readings{}
		e.do("GET", "/api/v1/devices/"+dev.String()+"/readings?metric=energy_kwh_total&from="+next+
			"&to=2026-12-02&limit=2", all, nil).must(t, 200, &rd)
		if len(rd.Items) != 2 || rd.Items[0]["value"] != "12.25" || !rd.Truncated {
			t.Errorf("next page %+v", rd)
		}
		rd = readings{}
		e.do("GET", base+"&hourly=true", all, nil).must(t, 200, &rd)
		want := []map[string]any{
			{"hour": "2026-12-01T10:00:00Z", "count": 3.0, "min": "10.5", "max": "12.25", "mean": "11.25"},
			{"hour": "2026-12-01T11:00:00Z", "count": 2.0, "min": "20", "max": "21.5", "mean": "20.75"},
		}
		if fmt.Sprint(rd.Items) != fmt.Sprint(want) || rd.Truncated {
			t.Errorf("hourly %v\nwant %v", rd.Items, want)
		}
		e.do("GET", "/api/v1/devices/"+dev.String()+"/readings?metric=energy_kwh_total&from=2026-01-01&to=2026-12-02&hourly=true", all, nil).
			wantProblem(t, 400, httpapi.ProblemInvalidRequest, "to")

		// The device summary: the register's increase over the day.
		var sum struct {
			DeviceType string `json:"device_type"`
			Readings   int    `json:"readings"`
			Section    struct {
				Energy struct {
					Increase string `json:"increase"`
				} `json:"energy"`
			} `json:"section"`
		}
		e.do("GET", "/api/v1/devices/"+dev.String()+"/summary?from=2026-12-01&to=2026-12-02", all, nil).must(t, 200, &sum)
		if sum.DeviceType != "energy_meter" || sum.Readings != 5 || sum.Section.Energy.Increase != "11" {
			t.Errorf("summary %+v", sum)
		}
		e.do("GET", "/api/v1/devices/"+dev.String()+"/summary?from=2026-01-01&to=2026-12-02", all, nil).
			wantProblem(t, 400, httpapi.ProblemInvalidRequest, "to")
		e.do("GET", "/api/v1/devices/"+dev.String()+"/summary?from=2026-12-01", all, nil).
			wantProblem(t, 400, httpapi.ProblemInvalidRequest, "to")

		// Alerts and their acknowledgement.
		alert, err := e.st.AlertRaise(ctx, &store.AlertRaiseParams{OrgID: e.orgA, ID: uuid.New(), EventID: "e1", DedupKey: dev.String() + "|power_kw|threshold|peak",
			DeviceRef: dev.String(), Severity: "warning", Kind: "threshold", Rule: "peak", Metric: "power_kw", Message: "peak demand",
			Value: decimal.RequireFromString("512.5"), RangeMax: decimal.NewNullDecimal(decimal.RequireFromString("500")), RaisedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		for q, n := range map[string]int{"": 1, "?device=" + dev.String(): 1, "?device=" + aq.Device.ID.String(): 0, "?status=resolved": 0, "?status=all&limit=5": 1} {
			var l list[store.AlertDetail]
			e.do("GET", "/api/v1/alerts"+q, all, nil).must(t, 200, &l)
			if len(l.Items) != n || (n == 1 && (l.Items[0].ID != alert.ID || l.Items[0].Value.Decimal.String() != "512.5")) {
				t.Errorf("alerts%s: %+v", q, l.Items)
			}
		}
		if r := e.do("GET", "/api/v1/alerts?device="+dev.String(), all, nil); !bytes.Contains(r.body, []byte(`"value":"512.5"`)) {
			t.Errorf("alert value is not a JSON string: %s", r.body)
		}
		e.do("GET", "/api/v1/alerts?status=bogus", all, nil).wantProblem(t, 422, httpapi.ProblemValidation, "")
		var al store.AlertDetail
		e.do("GET", "/api/v1/alerts/"+alert.ID.String(), all, nil).must(t, 200, &al)
		if al.ID != alert.ID || al.Status != store.AlertOpen {
			t.Errorf("GET /alerts/{id}: %+v", al)
		}
		al = store.AlertDetail{}
		e.do("POST", "/api/v1/alerts/"+alert.ID.String()+"/acknowledge", all, nil).must(t, 200, &al)
		if al.Status != store.AlertAcknowledged || al.AcknowledgedBy != "token:"+me.ID.String() || al.AcknowledgedAt == nil {
			t.Errorf("acknowledged %+v", al)
		}
		var openAlerts list[store.AlertDetail]
		e.do("GET", "/api/v1/alerts", all, nil).must(t, 200, &openAlerts)
		if len(openAlerts.Items) != 0 {
			t.Errorf("an acknowledged alert is listed as open: %+v", openAlerts.Items)
		}
		if _, err := e.st.AlertResolve(ctx, e.orgA, alert.ID, time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.do("POST", "/api/v1/alerts/"+alert.ID.String()+"/acknowledge", all, nil).wantProblem(t, 409, httpapi.ProblemConflict, "")

		// Update: a recalibration, set aside and off its site, then back.
		var up store.Device
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"calibrated_at": "2026-11-30", "calibration_due_at": "2027-11-30",
			"status": "inactive", "site": "", "name": "main meter", "metadata": map[string]any{"rated_kw": "6"}}).must(t, 200, &up)
		if up.Status != store.DeviceInactive || up.SiteID != nil || up.Name != "main meter" || up.CalibrationDueAt == nil ||
			!up.CalibrationDueAt.Equal(time.Date(2027, 11, 30, 0, 0, 0, 0, time.UTC)) || !strings.Contains(string(up.Metadata), "rated_kw") {
			t.Errorf("updated %+v", up)
		}
		if _, err := e.st.DeviceAuthenticate(ctx, e.orgA, dev, rot.Credentials.MQTTSecret); store.CodeOf(err) != store.CodeNotFound {
			t.Errorf("an inactive device's secret: %v", err)
		}
		up = store.Device{}
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"status": "active", "site": "PLANT"}).must(t, 200, &up)
		if up.Status != store.DeviceActive || up.SiteID == nil || *up.SiteID != site.ID || up.Name != "main meter" {
			t.Errorf("updated back %+v", up)
		}
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"calibration_due_at": "2020-01-01"}).
			wantProblem(t, 422, httpapi.ProblemValidation, "")
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"status": "decommissioned"}).
			wantProblem(t, 422, httpapi.ProblemValidation, "")
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"metadata": map[string]any{"rated_kw": "-1"}}).
			wantProblem(t, 422, httpapi.ProblemValidation, "metadata")
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"metadata": []int{1}}).
			wantProblem(t, 400, httpapi.ProblemInvalidRequest, "metadata")
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"site": "NOWHERE"}).
			wantProblem(t, 422, httpapi.ProblemValidation, "site")
		e.do("PATCH", "/api/v1/devices/"+dev.String(), all, map[string]any{"calibrated_at": "soon"}).
			wantProblem(t, 400, httpapi.ProblemInvalidRequest, "calibrated_at")

		// Decommission: the credential stops working, commands are refused.
		var dd store.Device
		e.do("POST", "/api/v1/devices/"+dev.String()+"/decommission", all, nil).must(t, 200, &dd)
		if dd.Status != store.DeviceDecommissioned {
			t.Errorf("decommissioned %+v", dd)
		}
		if _, err := e.st.DeviceAuthenticate(ctx, e.orgA, dev, rot.Credentials.MQTTSecret); store.CodeOf(err) != store.CodeNotFound {
			t.Errorf("a decommissioned device's secret: %v", err)
		}
		e.do("POST", "/api/v1/devices/"+dev.String()+"/configure", all, map[string]any{"settings": map[string]any{"a": 1}}).
			wantProblem(t, 409, httpapi.ProblemConflict, "")
		e.do("POST", "/api/v1/devices/"+dev.String()+"/rotate-secret", all, nil).wantProblem(t, 409, httpapi.ProblemConflict, "")
		e.do("POST", "/api/v1/devices/"+dev.String()+"/decommission", all, nil).must(t, 200, nil)
		e.do("GET", "/api/v1/devices/"+uuid.NewString(), all, nil).wantProblem(t, 404, httpapi.ProblemNotFound, "")
	})
}

// apiRoutes are every /api/v1 route with the scope it needs ("" any token).
var apiRoutes = []struct{ method, path, scope string }{
	{"GET", "/api/v1/token", ""},
	{"GET", "/api/v1/devices", store.ScopeDevicesRead},
	{"POST", "/api/v1/devices", store.ScopeDevicesWrite},
	{"GET", "/api/v1/devices/{id}", store.ScopeDevicesRead},
	{"PATCH", "/api/v1/devices/{id}", store.ScopeDevicesWrite},
	{"POST", "/api/v1/devices/{id}/rotate-secret", store.ScopeDevicesWrite},
	{"POST", "/api/v1/devices/{id}/decommission", store.ScopeDevicesWrite},
	{"POST", "/api/v1/devices/{id}/configure", store.ScopeDevicesWrite},
	{"GET", "/api/v1/devices/{id}/commands", store.ScopeDevicesRead},
	{"GET", "/api/v1/devices/{id}/readings", store.ScopeDevicesRead},
	{"GET", "/api/v1/devices/{id}/summary", store.ScopeDevicesRead},
	{"GET", "/api/v1/commands/{id}", store.ScopeDevicesRead},
	{"POST", "/api/v1/firmware-campaigns", store.ScopeDevicesWrite},
	{"GET", "/api/v1/firmware-campaigns", store.ScopeDevicesRead},
	{"GET", "/api/v1/firmware-campaigns/{id}", store.ScopeDevicesRead},
	{"GET", "/api/v1/alerts", store.ScopeAlertsRead},
	{"GET", "/api/v1/alerts/{id}", store.ScopeAlertsRead},
	{"POST", "/api/v1/alerts/{id}/acknowledge", store.ScopeAlertsWrite},
}

// Every route refuses a request without a token, with a bad, expired or
// revoked one (401) and with one lacking its scope (403); a token with the
// scope, or "*", gets past authentication.
func TestAPIAuthentication(t *testing.T) {
	processortest.Engines(t, "httpapiauth", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		scoped := map[string]string{}
		for _, sc := range store.APIScopes() {
			scoped[sc] = e.token(e.orgA, sc)
		}
		revoked := e.token(e.orgA, store.ScopeAll)
		rt, err := e.st.APITokenAuthenticate(ctx, revoked)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.APITokenRevoke(ctx, e.orgA, rt.ID); err != nil {
			t.Fatal(err)
		}
		expired := e.token(e.orgA, store.ScopeAll)
		et, err := e.st.APITokenAuthenticate(ctx, expired)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := e.st.APITokens().Get(ctx, e.orgA, et.ID)
		if err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-time.Minute)
		stored.ExpiresAt = &past
		if err := e.st.APITokens().Update(ctx, e.orgA, stored); err != nil {
			t.Fatal(err)
		}
		forged := []byte(scoped[store.ScopeAll])
		forged[10] = map[bool]byte{true: 'B', false: 'A'}[forged[10] == 'A']

		for _, route := range apiRoutes {
			path := strings.ReplaceAll(route.path, "{id}", uuid.NewString())
			name := route.method + " " + route.path
			t.Run(name, func(t *testing.T) {
				r := e.do(route.method, path, "", nil)
				r.wantProblem(t, 401, httpapi.ProblemUnauthorized, "")
				if r.header.Get("WWW-Authenticate") != `Bearer realm="greenlang"` {
					t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
				req, _ := http.NewRequest(route.method, e.url+path, nil)
				req.Header.Set("Authorization", "Basic "+scoped[store.ScopeAll])
				e.send(req).wantProblem(t, 401, httpapi.ProblemUnauthorized, "")
				for tok, why := range map[string]string{"garbage": "unknown", string(forged): "unknown", revoked: "revoked", expired: "expired"} {
					r := e.do(route.method, path, tok, nil)
					if p := r.wantProblem(t, 401, httpapi.ProblemUnauthorized, ""); !strings.Contains(p.Detail, why) {
						t.Errorf("token %.12s: detail %q, want %q", tok, p.Detail, why)
					}
					if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
						t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
					}
				}
				for sc, tok := range scoped {
					r := e.do(route.method, path, tok, nil)
					if route.scope == "" || sc == route.scope || sc == store.ScopeAll {
						if r.status == 401 || r.status == 403 {
							t.Errorf("scope %s: %d %s", sc, r.status, r.body)
						}
						continue
					}
					r.wantProblem(t, 403, httpapi.ProblemForbidden, "")
					if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, route.scope) {
						t.Errorf("scope %s: WWW-Authenticate %q", sc, h)
					}
				}
			})
		}

		// last_used_at is recorded.
		ts, err := e.st.APITokensList(ctx, e.orgA)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range ts {
			if tk.LastUsedAt == nil {
				t.Errorf("token %s (%s) has no last_used_at", tk.ID, tk.Name)
			}
		}
	})
}

// A token of organization B sees nothing of organization A: every route
// naming one of A's records answers 404, lists are empty.
func TestAPITenantIsolation(t *testing.T) {
	processortest.Engines(t, "httpapitenant", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		tokA, tokB := e.token(e.orgA, store.ScopeAll), e.token(e.orgB, store.ScopeAll)
		siteA := &store.Site{Name: "Plant", Code: "PLANT-A", Active: true}
		if err := e.st.Sites().Create(ctx, e.orgA, siteA); err != nil {
			t.Fatal(err)
		}
		var dev registered
		e.do("POST", "/api/v1/devices", tokA, map[string]any{"device_type": "energy_meter", "serial": "EM-1", "site": "PLANT-A"}).must(t, 201, &dev)
		id := dev.Device.ID.String()
		var cmd store.DeviceCommand
		e.do("POST", "/api/v1/devices/"+id+"/configure", tokA, map[string]any{"settings": map[string]any{"a": 1}}).must(t, 202, &cmd)
		var camp store.FirmwareCampaign
		e.do("POST", "/api/v1/firmware-campaigns", tokA, map[string]any{"device_type": "energy_meter", "firmware_version": "2",
			"url": "https://fw.example/x", "sha256": strings.Repeat("0", 64)}).must(t, 201, &camp)
		alert, err := e.st.AlertRaise(ctx, &store.AlertRaiseParams{OrgID: e.orgA, ID: uuid.New(), EventID: "e1", DedupKey: "k",
			DeviceRef: id, Severity: "critical", Kind: "statistical", Rule: "zscore", Metric: "power_kw", Message: "odd",
			Value: decimal.NewFromInt(1), RaisedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		for _, rq := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/devices/" + id, nil},
			{"PATCH", "/api/v1/devices/" + id, map[string]any{"name": "x"}},
			{"POST", "/api/v1/devices/" + id + "/rotate-secret", nil},
			{"POST", "/api/v1/devices/" + id + "/decommission", nil},
			{"POST", "/api/v1/devices/" + id + "/configure", map[string]any{"settings": map[string]any{"a": 1}}},
			{"GET", "/api/v1/devices/" + id + "/commands", nil},
			{"GET", "/api/v1/devices/" + id + "/readings?metric=power_kw&from=2026-01-01&to=2026-01-02", nil},
			{"GET", "/api/v1/devices/" + id + "/summary?from=2026-01-01&to=2026-01-02", nil},
			{"GET", "/api/v1/commands/" + cmd.ID.String(), nil},
			{"GET", "/api/v1/firmware-campaigns/" + camp.ID.String(), nil},
			{"GET", "/api/v1/alerts/" + alert.ID.String(), nil},
			{"POST", "/api/v1/alerts/" + alert.ID.String() + "/acknowledge", nil},
		} {
			e.do(rq.method, rq.path, tokB, rq.body).wantProblem(t, 404, httpapi.ProblemNotFound, "")
		}
		// A's site, by id and by code, is not B's: refused, not listed.
		for _, path := range []string{"/api/v1/devices", "/api/v1/firmware-campaigns", "/api/v1/alerts?status=all",
			"/api/v1/devices?site=" + siteA.ID.String(), "/api/v1/devices?site=PLANT-A"} {
			r := e.do("GET", path, tokB, nil)
			if strings.Contains(path, "site=") {
				r.wantProblem(t, 422, httpapi.ProblemValidation, "site")
				continue
			}
			var l list[json.RawMessage]
			r.must(t, 200, &l)
			if len(l.Items) != 0 {
				t.Errorf("%s for organization B: %s", path, r.body)
			}
		}
		// Nothing of A changed.
		d, err := e.st.Devices().Get(ctx, e.orgA, dev.Device.ID)
		if err != nil || d.Status != store.DeviceRegistered {
			t.Errorf("A's device after B's attempts: %+v %v", d, err)
		}
		if _, err := e.st.DeviceAuthenticate(ctx, e.orgA, dev.Device.ID, dev.Credentials.MQTTSecret); err != nil {
			t.Errorf("A's device credential after B's attempts: %v", err)
		}
	})
}

// Requests the API cannot read are refused with a problem naming the
// field: bad JSON, an unknown field, a wrong type, a bad UUID, time,
// duration or limit; too large a body; another media type.
func TestAPIBadRequests(t *testing.T) {
	processortest.Engines(t, "httpapibad", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		tok := e.token(e.orgA, store.ScopeAll)
		var dev registered
		e.do("POST", "/api/v1/devices", tok, map[string]any{"device_type": "energy_meter", "serial": "EM-1"}).must(t, 201, &dev)
		id := dev.Device.ID.String()
		const bad = httpapi.ProblemInvalidRequest
		for _, c := range []struct {
			method, path, body string
			status             int
			typ, field         string
		}{
			{"POST", "/api/v1/devices", `{"device_type":`, 400, bad, ""},
			{"POST", "/api/v1/devices", `{"device_type": "energy_meter",}`, 400, bad, ""},
			{"POST", "/api/v1/devices", `{"device_type":"energy_meter","serial":"X","colour":"red"}`, 400, bad, "colour"},
			{"POST", "/api/v1/devices", `{"device_type":"energy_meter","serial":5}`, 400, bad, "serial"},
			{"POST", "/api/v1/devices", `[1,2]`, 400, bad, ""},
			{"POST", "/api/v1/devices", ``, 400, bad, ""},
			{"POST", "/api/v1/devices", `{} {}`, 400, bad, ""},
			{"POST", "/api/v1/devices", `{"device_type":"energy_meter","serial":"X","calibrated_at":"yesterday"}`, 400, bad, "calibrated_at"},
			{"POST", "/api/v1/devices", `{"device_type":"energy_meter","serial":"X","metadata":[1]}`, 400, bad, "metadata"},
			{"POST", "/api/v1/devices/" + id + "/configure", `{"settings":{"a":1},"ttl":"forever"}`, 400, bad, "ttl"},
			{"POST", "/api/v1/devices/" + id + "/configure", `{"settings":{"a":1},"ttl":30}`, 400, bad, "ttl"},
			{"POST", "/api/v1/devices/not-a-uuid/configure", `{"settings":{"a":1}}`, 400, bad, "id"},
			{"POST", "/api/v1/firmware-campaigns", `{"device_type":"energy_meter","devices":["x"]}`, 400, bad, "devices"},
			{"GET", "/api/v1/devices/not-a-uuid", "", 400, bad, "id"},
			{"GET", "/api/v1/commands/123", "", 400, bad, "id"},
			{"POST", "/api/v1/alerts/zzz/acknowledge", "", 400, bad, "id"},
			{"GET", "/api/v1/devices?limit=0", "", 400, bad, "limit"},
			{"GET", "/api/v1/devices?limit=1001", "", 400, bad, "limit"},
			{"GET", "/api/v1/devices?after=x", "", 400, bad, "after"},
			{"GET", "/api/v1/devices?type=toaster", "", 400, bad, "type"},
			{"GET", "/api/v1/devices?status=lost", "", 400, bad, "status"},
			{"GET", "/api/v1/devices/" + id + "/commands?status=lost", "", 400, bad, "status"},
			{"GET", "/api/v1/devices/" + id + "/readings?from=2026-12-01&to=2026-12-02", "", 400, bad, "metric"},
			{"GET", "/api/v1/devices/" + id + "/readings?metric=m&from=yesterday&to=2026-12-02", "", 400, bad, "from"},
			{"GET", "/api/v1/devices/" + id + "/readings?metric=m&from=2026-12-01", "", 400, bad, "to"},
			{"GET", "/api/v1/devices/" + id + "/readings?metric=m&from=2026-12-02&to=2026-12-01", "", 400, bad, "to"},
			{"GET", "/api/v1/devices/" + id + "/readings?metric=m&from=2026-12-01&to=2026-12-02&hourly=maybe", "", 400, bad, "hourly"},
			{"GET", "/api/v1/devices/" + id + "/readings?metric=m&from=2026-12-01&to=2026-12-02&limit=10001", "", 400, bad, "limit"},
			{"GET", "/api/v1/alerts?device=x", "", 400, bad, "device"},
			{"GET", "/api/v1/alerts?limit=-1", "", 400, bad, "limit"},
			{"POST", "/api/v1/devices", `{"device_type":"energy_meter","serial":"` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`, 413, "about:blank", ""},
		} {
			var body any
			if c.body != "" || c.method == "POST" {
				body = c.body
			}
			r := e.do(c.method, c.path, tok, body)
			if r.status != c.status {
				t.Errorf("%s %s %.60s: %d %s, want %d", c.method, c.path, c.body, r.status, r.body, c.status)
				continue
			}
			if p := r.problem(t); p.Type != c.typ || p.Field != c.field {
				t.Errorf("%s %s %.60s: %+v, want type %s field %q", c.method, c.path, c.body, p, c.typ, c.field)
			}
		}

		req, _ := http.NewRequest("POST", e.url+"/api/v1/devices", strings.NewReader(`device_type=energy_meter`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		e.send(req).wantProblem(t, 415, "about:blank", "")
		e.do("GET", "/api/v1/nope", tok, nil).wantProblem(t, 404, "about:blank", "")
		r := e.do("DELETE", "/api/v1/devices", tok, nil)
		r.wantProblem(t, 405, "about:blank", "")
		if r.header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("Allow %q", r.header.Get("Allow"))
		}
	})
}

// A store that fails answers 503 (or 500) with a problem that says nothing
// of the engine.
func TestAPIStoreDown(t *testing.T) {
	processortest.Engines(t, "httpapidown", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		tok := e.token(e.orgA, store.ScopeAll)
		e.st.Close()
		r := e.do("GET", "/api/v1/devices", tok, nil)
		if r.status < 500 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if p := r.problem(t); strings.Contains(p.Detail, "sql") || strings.Contains(p.Detail, "closed") {
			t.Errorf("problem shows the engine's error: %+v", p)
		}
	})
}
