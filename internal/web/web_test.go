package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/spreadsheet"
	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/web"
	"github.com/greenlang/greenlang/internal/xlsx"
)

type env struct {
	t   *testing.T
	st  *store.Store
	url string
	org *store.Organization
}

func newEnv(t *testing.T, open processortest.StoreOpener) *env { return newEnvWith(t, open, nil) }

// newEnvWith is newEnv with the dashboard's options changed by edit, which
// is given the options (their Store set) and the server's URL.
func newEnvWith(t *testing.T, open processortest.StoreOpener, edit func(o *web.Options, url string)) *env {
	t.Helper()
	st := open(t)
	org := &store.Organization{ID: uuid.New(), Name: "Acme Industrie", Slug: "acme", ReportingCurrency: "EUR",
		Settings: store.JSON(`{"annual_revenue": "250000000", "employees": "1200"}`)}
	if err := st.OrganizationCreate(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	var h http.Handler // set below: the options may need the server's URL
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	o := web.Options{Store: st, Version: "test"}
	if edit != nil {
		edit(&o, srv.URL)
	}
	site, err := web.New(o)
	if err != nil {
		t.Fatal(err)
	}
	h = httpapi.NewHandler(httpapi.HandlerOptions{Store: st, Pages: site.Mount})
	return &env{t: t, st: st, url: srv.URL, org: org}
}

// user creates a user with a password.
func (e *env) user(email, role, pw string) *store.User {
	e.t.Helper()
	h, err := password.Hash(pw, password.Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	u := &store.User{Email: email, Role: role, PasswordHash: h}
	if err := e.st.Users().Create(context.Background(), e.org.ID, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(body)}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest("GET", b.e.url+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest("POST", b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.url)
	return b.do(req)
}

// upload sends an activity file through the dashboard's upload form, with
// the form's other fields as name, value pairs.
func (b *browser) upload(csrf, name, content string, fields ...string) page {
	b.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", csrf)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.e.url+"/activity/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.e.url)
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field in the page: %.300s", p.body)
	}
	return m[1]
}

// login logs in and returns the overview page.
func (b *browser) login(org, email, pw string) page {
	b.e.t.Helper()
	form := b.get("/login")
	r := b.post("/login", url.Values{"csrf": {csrfOf(b.e.t, form)}, "organization": {org}, "email": {email}, "password": {pw}, "next": {"/"}})
	if r.status != http.StatusSeeOther {
		return r
	}
	return b.get(r.header.Get("Location"))
}

func TestDashboard(t *testing.T) {
	processortest.Engines(t, "webdash", func(t *testing.T, open processortest.StoreOpener) {
		e := newEnv(t, open)
		e.user("ana@example.com", store.RoleAnalyst, "correct horse battery")
		e.user("vic@example.com", store.RoleViewer, "viewer passphrase 1")
		e.user("aud@example.com", store.RoleAuditor, "auditor passphrase 1")

		// Not logged in: sent to the login page.
		b := e.browser()
		if r := b.get("/activity"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Factivity" {
			t.Fatalf("anonymous /activity: %d %s", r.status, r.header.Get("Location"))
		}
		// Wrong password, unknown user, unknown organization: the same refusal.
		for _, c := range [][3]string{{"acme", "ana@example.com", "wrong horse battery"}, {"acme", "nobody@example.com", "x"}, {"nope", "ana@example.com", "correct horse battery"}} {
			r := b.login(c[0], c[1], c[2])
			if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong organization, e-mail or password.") {
				t.Fatalf("login %v: %d %.200s", c, r.status, r.body)
			}
		}
		// A login form sent without its CSRF token is refused.
		if r := b.post("/login", url.Values{"organization": {"acme"}, "email": {"ana@example.com"}, "password": {"correct horse battery"}}); r.status != http.StatusForbidden {
			t.Fatalf("login without CSRF: %d", r.status)
		}

		ov := b.login("acme", "ana@example.com", "correct horse battery")
		if ov.status != 200 || !strings.Contains(ov.body, "<h1>Overview</h1>") || !strings.Contains(ov.body, "Acme Industrie") {
			t.Fatalf("overview after login: %d %.300s", ov.status, ov.body)
		}
		if csp := ov.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
		csrf := csrfOf(t, ov)

		// Upload an activity file through the form.
		up := b.upload(csrf, "q1.csv", "activity_type,quantity,unit,period_start,region,scope\nnatural_gas,1000,mmBtu,2026-01-01,US,1\nnatural_gas,5,ton,2026-01-01,US,1\n", "gwp", "AR6")
		if up.status != http.StatusCreated || !strings.Contains(up.body, "Stored as calculation run") || !strings.Contains(up.body, "<td>3</td>") {
			t.Fatalf("upload: %d %.2000s", up.status, up.body)
		}
		act := b.get("/activity?type=natural_gas")
		if act.status != 200 || !strings.Contains(act.body, ">1000<") {
			t.Fatalf("activity list: %d", act.status)
		}
		csvPage := b.get("/activity?format=csv")
		if !strings.HasPrefix(csvPage.body, "id,activity_type") || strings.Count(csvPage.body, "\n") != 2 {
			t.Fatalf("CSV export: %q", csvPage.body)
		}
		// The same as XLSX: a workbook with the quantity as a number.
		xl := b.get("/activity?format=xlsx&type=natural_gas")
		if xl.header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" ||
			!strings.Contains(xl.header.Get("Content-Disposition"), `filename="activity.xlsx"`) {
			t.Fatalf("XLSX export: %d %v", xl.status, xl.header)
		}
		rows, err := xlsx.Rows(strings.NewReader(xl.body), "activity")
		if err != nil || len(rows) != 2 || rows[0][2] != "quantity" || rows[1][2] != "1000" || rows[1][1] != "natural_gas" {
			t.Fatalf("XLSX export rows: %q (%v)", rows, err)
		}
		if r := b.get("/activity?format=pdf"); r.status != http.StatusBadRequest {
			t.Fatalf("export as pdf: %d", r.status)
		}
		months := b.get("/?from=2026-01-01&to=2026-03-31&format=csv&table=months")
		if !strings.HasPrefix(months.body, "month,scope1_kg_co2e,") || !strings.Contains(months.body, "\n2026-01,5") || strings.Count(months.body, "\n") != 4 {
			t.Fatalf("months export: %q", months.body)
		}
		srcs := b.get("/?from=2026-01-01&to=2026-03-31&format=xlsx&table=sources")
		if rows, err := xlsx.Rows(strings.NewReader(srcs.body), "emissions-by-source"); err != nil || len(rows) != 2 || rows[1][1] != "1" || rows[1][4] != "100" {
			t.Fatalf("sources export: %q (%v)", rows, err)
		}
		if r := b.get("/?format=csv&table=secrets"); r.status != http.StatusBadRequest {
			t.Fatalf("export of an unknown table: %d", r.status)
		}
		ov = b.get("/?from=2026-01-01&to=2026-12-31")
		if !strings.Contains(ov.body, `href="/?format=xlsx&amp;from=2026-01-01&amp;table=months&amp;to=2026-12-31"`) {
			t.Fatalf("overview without its export links: %.4000s", ov.body)
		}
		// 1,000 mmBtu of natural gas is about 53 t CO2e: 0.04 t for each of 1,200 employees.
		if !strings.Contains(ov.body, "<svg class=\"chart\"") || !strings.Contains(ov.body, "<th scope=\"row\">2026-01</th>") ||
			!strings.Contains(ov.body, "<dt>per employee</dt><dd>0.04 t CO2e</dd>") {
			t.Fatalf("overview with data: %.3000s", ov.body)
		}
		// The library, a factor, and the upload's result explained step by step.
		lib := b.get("/factors?q=natural_gas")
		m := regexp.MustCompile(`href="/factors/([^"]+)"`).FindStringSubmatch(lib.body)
		if lib.status != 200 || m == nil {
			t.Fatalf("factor library: %d %.500s", lib.status, lib.body)
		}
		if f := b.get("/factors/" + m[1]); f.status != 200 || !strings.Contains(f.body, "kg per unit") {
			t.Fatalf("factor %s: %d", m[1], f.status)
		}
		if f := b.get("/factors/no-such-factor"); f.status != 404 {
			t.Fatalf("unknown factor: %d", f.status)
		}
		ex := regexp.MustCompile(`href="(/activity/[^"]+/explain)"`).FindStringSubmatch(act.body)
		if ex == nil {
			t.Fatal("no explain link on the activity page")
		}
		xp := b.get(ex[1])
		if xp.status != 200 || !strings.Contains(xp.body, "1000 mmBtu of <code>natural_gas</code>") || !strings.Contains(xp.body, "GWP set AR6") {
			t.Fatalf("explanation: %d %.2000s", xp.status, xp.body)
		}
		if sp := b.get("/suppliers"); sp.status != 200 || !strings.Contains(sp.body, "No suppliers yet") {
			t.Fatalf("suppliers: %d", sp.status)
		}
		// A form without the CSRF token, or from another site, is refused.
		if r := b.post("/logout", url.Values{}); r.status != http.StatusForbidden {
			t.Fatalf("logout without CSRF: %d", r.status)
		}
		req, _ := http.NewRequest("POST", e.url+"/logout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		if r := b.do(req); r.status != http.StatusForbidden {
			t.Fatalf("logout from another origin: %d", r.status)
		}
		// The analyst may not read the audit log.
		if r := b.get("/audit"); r.status != http.StatusForbidden {
			t.Fatalf("analyst /audit: %d", r.status)
		}
		// Logging out revokes the session.
		if r := b.post("/logout", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		if r := b.get("/"); r.status != http.StatusSeeOther {
			t.Fatalf("after logout: %d", r.status)
		}

		// A viewer reads but cannot upload; an auditor reads the verified trail.
		v := e.browser()
		vo := v.login("acme", "vic@example.com", "viewer passphrase 1")
		if vo.status != 200 || strings.Contains(v.get("/activity").body, "Upload an activity file") {
			t.Fatalf("viewer: %d", vo.status)
		}
		a := e.browser()
		a.login("acme", "aud@example.com", "auditor passphrase 1")
		au := a.get("/audit")
		if au.status != 200 || !strings.Contains(au.body, "Verified: all") || !strings.Contains(au.body, "calculation_run") {
			t.Fatalf("auditor /audit: %d %.1500s", au.status, au.body)
		}
		// The whole trail with its hash links, as an auditor's workpaper.
		trail := a.get("/audit?format=csv")
		lines := strings.Split(strings.TrimSpace(trail.body), "\n")
		if len(lines) < 3 || lines[0] != "seq,occurred_at,actor_type,actor_id,action,entity_type,entity_id,prev_hash,hash" || !strings.HasPrefix(lines[1], "1,") {
			t.Fatalf("audit export: %q", trail.body)
		}
		prev := strings.Split(lines[1], ",")
		next := strings.Split(lines[2], ",")
		if next[7] != prev[8] || len(prev[8]) != 64 {
			t.Fatalf("the export's hashes do not link: %q then %q", lines[1], lines[2])
		}
		sup := a.get("/suppliers?format=xlsx")
		if rows, err := xlsx.Rows(strings.NewReader(sup.body), "suppliers"); err != nil || len(rows) != 1 || rows[0][1] != "name" {
			t.Fatalf("suppliers export: %q (%v)", rows, err)
		}
	})
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	processortest.Engines(t, "webnext", func(t *testing.T, open processortest.StoreOpener) {
		e := newEnv(t, open)
		e.user("ana@example.com", store.RoleAnalyst, "correct horse battery")
		for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
			b := e.browser()
			form := b.get("/login?next=" + url.QueryEscape(next))
			r := b.post("/login", url.Values{"csrf": {csrfOf(t, form)}, "organization": {"acme"}, "email": {"ana@example.com"},
				"password": {"correct horse battery"}, "next": {next}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
				t.Fatalf("next %q: %d to %q", next, r.status, r.header.Get("Location"))
			}
		}
	})
}

func TestUploadTooLarge(t *testing.T) {
	processortest.Engines(t, "webbig", func(t *testing.T, open processortest.StoreOpener) {
		e := newEnvWith(t, open, func(o *web.Options, _ string) { o.MaxUploadBytes = 1 << 20 })
		e.user("ana@example.com", store.RoleAnalyst, "correct horse battery")
		b := e.browser()
		csrf := csrfOf(t, b.login("acme", "ana@example.com", "correct horse battery"))
		if r := b.upload(csrf, "big.csv", "activity_type,quantity,unit,period_start,region,scope\n"+strings.Repeat("natural_gas,1,mmBtu,2026-01-01,US,1\n", 80000)); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a 2.8 MB upload with a 1 MiB limit: %d %.300s", r.status, r.body)
		}
		if r := b.get("/activity"); !strings.Contains(r.body, "No activity records match.") {
			t.Fatal("a refused upload stored records")
		}
	})
}

func TestDevicesLive(t *testing.T) {
	processortest.Engines(t, "weblive", func(t *testing.T, open processortest.StoreOpener) {
		e := newEnvWith(t, open, func(o *web.Options, _ string) { o.LiveInterval = 50 * time.Millisecond })
		e.user("vic@example.com", store.RoleViewer, "viewer passphrase 1")
		ctx := context.Background()
		dev := &store.Device{DeviceType: "energy_meter", Serial: "EM-1", Name: "Main meter", Status: "active"}
		if err := e.st.Devices().Create(ctx, e.org.ID, dev); err != nil {
			t.Fatal(err)
		}
		read := func(v string, at time.Time) {
			t.Helper()
			if _, err := e.st.SensorReadingsInsert(ctx, e.org.ID, []store.SensorReading{{DeviceID: dev.ID, Metric: "energy_kwh_total",
				Time: at, Value: decimal.RequireFromString(v), Unit: "kWh", ReceivedAt: at}}); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().UTC().Truncate(time.Second)
		read("1520.5", now.Add(-time.Minute))
		b := e.browser()
		p := b.login("acme", "vic@example.com", "viewer passphrase 1")
		if p.status != 200 {
			t.Fatalf("login: %d", p.status)
		}
		pg := b.get("/devices")
		if pg.status != 200 || !strings.Contains(pg.body, "Main meter") || !strings.Contains(pg.body, "1520.5 kWh") {
			t.Fatalf("devices page: %d %.1500s", pg.status, pg.body)
		}
		// The event stream: the current state first, then each change.
		req, _ := http.NewRequest("GET", e.url+"/devices/events", nil)
		reqCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		res, err := b.c.Do(req.WithContext(reqCtx))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("Content-Type %q", ct)
		}
		events := bufio.NewScanner(res.Body)
		next := func() string {
			t.Helper()
			for events.Scan() {
				if data, ok := strings.CutPrefix(events.Text(), "data: "); ok {
					return data
				}
			}
			t.Fatalf("the stream ended: %v", events.Err())
			return ""
		}
		if first := next(); !strings.Contains(first, `"value":"1520.5"`) {
			t.Fatalf("first event %s", first)
		}
		read("1521.75", now)
		if second := next(); !strings.Contains(second, `"value":"1521.75"`) {
			t.Fatalf("event after a new reading: %s", second)
		}
	})
}

func TestERPPages(t *testing.T) {
	processortest.Engines(t, "weberp", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		e := newEnvWith(t, open, func(o *web.Options, _ string) {
			calc, err := calculation.NewBuiltin()
			if err != nil {
				t.Fatal(err)
			}
			o.ERP = erp.NewSyncer(o.Store, erp.NewRegistry(spreadsheet.Factory()), erp.NewPoster(o.Store, calc, nil), nil)
			o.Background = ctx
		})
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "suppliers.csv"), []byte("Id,Name,Country\nV1,Acme Steel,DE\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		settings, _ := json.Marshal(spreadsheet.Settings{Entities: map[string]spreadsheet.EntityConfig{
			"suppliers": {Kind: erp.KindSupplier, Files: "*.csv", Columns: map[string]string{"id": "Id", "name": "Name", "country": "Country"}}}})
		if err := e.st.ERPConnections().Create(ctx, e.org.ID, &store.ERPConnection{Name: "uploads", System: "spreadsheet", BaseURL: dir,
			Settings: settings, Active: true}); err != nil {
			t.Fatal(err)
		}
		e.user("ds@example.com", store.RoleDataSteward, "steward passphrase 1")
		e.user("ana@example.com", store.RoleAnalyst, "correct horse battery")

		b := e.browser()
		csrf := csrfOf(t, b.login("acme", "ds@example.com", "steward passphrase 1"))
		p := b.get("/erp")
		if p.status != 200 || !strings.Contains(p.body, "uploads") || !strings.Contains(p.body, "Sync now") || !strings.Contains(p.body, "No sync jobs yet.") {
			t.Fatalf("connections: %d %.1500s", p.status, p.body)
		}
		if r := b.post("/erp/uploads/test", url.Values{"csrf": {csrf}}); r.status != 200 || !strings.Contains(r.body, "Every step passed.") {
			t.Fatalf("test: %d %.1500s", r.status, r.body)
		}
		if r := b.post("/erp/uploads/sync", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
			t.Fatalf("sync: %d", r.status)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if strings.Contains(b.get("/erp/uploads").body, "<td>succeeded</td>") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no succeeded job: %.2000s", b.get("/erp/uploads").body)
			}
		}
		// An analyst reads connections but has no buttons, and cannot post them.
		a := e.browser()
		acsrf := csrfOf(t, a.login("acme", "ana@example.com", "correct horse battery"))
		if p := a.get("/erp"); p.status != 200 || strings.Contains(p.body, "Sync now") {
			t.Fatalf("analyst's connections page: %d", p.status)
		}
		if r := a.post("/erp/uploads/sync", url.Values{"csrf": {acsrf}}); r.status != http.StatusForbidden {
			t.Fatalf("analyst's sync: %d", r.status)
		}
	})
}
