package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/demo"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/pipeline"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/quality"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/web"
)

// ChromiumEnv names the Chromium binary the browser tests drive. .ci/run
// installs Debian's chromium and sets it; without it the tests skip, and
// with it set to a browser that does not start they fail.
const ChromiumEnv = "GREENLANG_TEST_CHROMIUM"

// ScreenshotsEnv names a directory for the key pages' screenshots (the
// test's artefacts); default the test's temporary directory.
const ScreenshotsEnv = "GREENLANG_TEST_SCREENSHOTS"

// chromium is the browser binary the tests drive; the test skips without it.
func chromium(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(ChromiumEnv)
	if bin == "" {
		t.Skip(ChromiumEnv + " is not set: no browser to drive (.ci/run installs chromium and sets it)")
	}
	return bin
}

// startBrowser starts headless Chromium (bin) with a 1280×height window
// for at most timeout, closed when t ends, and returns its context and an
// action saving a screenshot named after the store engine of t (the
// subtest) into GREENLANG_TEST_SCREENSHOTS, or t's temporary directory.
func startBrowser(t *testing.T, bin string, height int, timeout time.Duration) (context.Context, func(name string) chromedp.Action[chromedp.Void]) {
	t.Helper()
	shots := os.Getenv(ScreenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	engine := filepath.Base(filepath.Dir(t.Name() + "/x"))
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1280, height),
		chromedp.Flag("headless", "new"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancel(); cancelBrowser(); cancelAlloc() })
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(shots, engine+"-"+name+".png"), png, 0o644)
		}
	}
	return ctx, shot
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// TestBrowser drives real headless Chromium through the dashboard over
// the demo data: log in, see the overview's charts, upload an activity
// file and see the totals change, read the audit log as an auditor.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	processortest.Engines(t, "webe2e", func(t *testing.T, open processortest.StoreOpener) {
		e := newEnv(t, open)
		const pw = "demo passphrase 1"
		d, err := demo.Load(context.Background(), e.st, demo.Options{Password: pw, Hashing: password.Params{MemoryKiB: 64, Time: 1, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, shot := startBrowser(t, bin, 1000, 90*time.Second)
		login := func(email string) chromedp.Action[chromedp.Void] {
			return chromedp.Steps(
				chromedp.Navigate(e.url+"/login"),
				chromedp.WaitVisible(css(`#organization`)),
				chromedp.SendKeys(css(`#organization`), demo.Slug),
				chromedp.SendKeys(css(`#email`), email),
				chromedp.SendKeys(css(`#password`), pw),
				chromedp.Submit(css(`#password`)),
				chromedp.WaitVisible(css(`svg.chart`)),
			)
		}
		total := chromedp.Evaluate[string](`document.querySelector(".card .big").textContent`)
		if err := chromedp.Do(ctx, login(demo.AnalystEmail), shot("overview")); err != nil {
			t.Fatalf("logging in: %v", err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		before, err := chromedp.Run(ctx, total)
		if err != nil {
			t.Fatal(err)
		}
		if title != "Overview · GreenLang" || !strings.Contains(before, "t CO2e") {
			t.Fatalf("overview: title %q total %q", title, before)
		}

		// Upload an activity file of this month through the form (with the
		// script's progress bar) and see the total grow.
		file := filepath.Join(t.TempDir(), "extra.csv")
		month := time.Now().UTC().Format("2006-01") + "-01"
		if err := os.WriteFile(file, []byte("activity_type,quantity,unit,period_start,region,scope\n"+
			"natural_gas,5000000,scf,"+month+",US,1\nnatural_gas,5,ton,"+month+",US,1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx,
			chromedp.Navigate(e.url+"/activity"),
			chromedp.WaitVisible(css(`#file`)),
			chromedp.SetUploadFiles(css(`#file`), []string{file}),
			shot("activity"),
			chromedp.Click(css(`#upload button[type=submit]`)),
			chromedp.WaitVisible(css(`p.ok`)),
			shot("upload-result"),
		); err != nil {
			t.Fatalf("uploading: %v", err)
		}
		result, err := chromedp.Run(ctx, chromedp.Text(css(`main`)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(result, "Stored as calculation run") || !strings.Contains(result, "Rows refused") {
			t.Fatalf("upload result: %s", result)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(css(`svg.chart`))); err != nil {
			t.Fatal(err)
		}
		after, err := chromedp.Run(ctx, total)
		if err != nil {
			t.Fatal(err)
		}
		if after == before {
			t.Fatalf("the total did not change after the upload: %s", after)
		}

		// The newest activity (the upload's) explained step by step, and the
		// factor library.
		if err := chromedp.Do(ctx,
			chromedp.Navigate(e.url+"/activity"),
			chromedp.Click(css(`a[href$="/explain"]`)),
			chromedp.WaitVisible(css(`ol.steps`)),
			shot("explain"),
			chromedp.Navigate(e.url+"/factors?q=natural_gas"),
			chromedp.WaitVisible(css(`table`)),
			shot("factors"),
		); err != nil {
			t.Fatalf("explanation and library: %v", err)
		}
		path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil || path != "/factors" {
			t.Fatalf("at %q (%v)", path, err)
		}

		// A live reading arrives on the devices page without a reload.
		devs, err := e.st.Devices().List(context.Background(), d.OrgID, store.ListOptions{Limit: 1})
		if err != nil || len(devs) != 1 {
			t.Fatalf("demo devices: %v %v", devs, err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(e.url+"/devices"), chromedp.WaitVisible(css(`#devices`))); err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC()
		if _, err := e.st.SensorReadingsInsert(context.Background(), d.OrgID, []store.SensorReading{{DeviceID: devs[0].ID,
			Metric: "energy_kwh_total", Time: at, Value: decimal.RequireFromString("777.5"), Unit: "kWh", ReceivedAt: at}}); err != nil {
			t.Fatal(err)
		}
		sel := `document.querySelector('li[data-key="` + devs[0].ID.String() + `/energy_kwh_total"] .val').textContent`
		var shown string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if shown, err = chromedp.Run(ctx, chromedp.Evaluate[string](sel)); err != nil {
				t.Fatal(err)
			}
			if shown == "777.5 kWh" {
				break
			}
		}
		if shown != "777.5 kWh" {
			t.Fatalf("the devices page shows %q, not the new reading", shown)
		}
		if err := chromedp.Do(ctx, shot("devices")); err != nil {
			t.Fatal(err)
		}

		// An auditor reads the verified audit log.
		if err := chromedp.Do(ctx,
			chromedp.Click(css(`.logout button`)),
			chromedp.WaitVisible(css(`#organization`)),
			login(demo.AuditorEmail),
			chromedp.Navigate(e.url+"/audit"),
			chromedp.WaitVisible(css(`p.ok`)),
			shot("audit"),
		); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		audit, err := chromedp.Run(ctx, chromedp.Text(css(`p.ok`)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(audit, "Verified: all") {
			t.Fatalf("audit verification: %q", audit)
		}
	})
}

// TestBrowserSingleSignOn signs in with single sign-on in real Chromium
// (against the in-process test identity provider), lands on the page
// asked for, and switches organization with the header's switcher.
func TestBrowserSingleSignOn(t *testing.T) {
	bin := chromium(t)
	processortest.Engines(t, "webe2esso", func(t *testing.T, open processortest.StoreOpener) {
		e := newSSOEnv(t, open)
		e.user("ada@example.com", store.RoleAnalyst, "password of ada 1")
		e.orgWith("Beta Werke", "beta", "ada@example.com", store.RoleAuditor, "another passphrase 1")
		ctx, shot := startBrowser(t, bin, 900, 60*time.Second)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(e.url+"/suppliers"), // not logged in: to the login page, then back here
			chromedp.WaitVisible(css(`.sso a`)),
			shot("login"),
			chromedp.Click(css(`.sso a`)),
			chromedp.WaitVisible(css(`#switch-org`)),
			shot("sso-suppliers"),
		); err != nil {
			t.Fatalf("single sign-on: %v", err)
		}
		where, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + " " + document.querySelector(".logout span").textContent`))
		if err != nil || where != "/suppliers ada@example.com (analyst)" {
			t.Fatalf("after single sign-on: %q (%v)", where, err)
		}
		if err := chromedp.Do(ctx,
			chromedp.SetValue(css(`#switch-org`), e.other.ID.String()),
			chromedp.Click(css(`.switcher button`)),
		); err != nil {
			t.Fatalf("switching organization: %v", err)
		}
		var now string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && now != "Beta Werke ada@example.com (auditor)"; time.Sleep(200 * time.Millisecond) {
			now, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#switch-org option:checked")?.textContent ?? "") + " " + (document.querySelector(".logout span")?.textContent ?? "")`))
		}
		if now != "Beta Werke ada@example.com (auditor)" {
			t.Fatalf("after switching: %q", now)
		}
		if err := chromedp.Do(ctx, shot("switched")); err != nil {
			t.Fatal(err)
		}
	})
}

// AxeEnv names axe-core's axe.min.js, the accessibility checker
// TestBrowserAccessibility runs in every page (.ci/run installs it with
// npm ci in .ci/axe and sets it); without it the test skips.
const AxeEnv = "GREENLANG_TEST_AXE"

// axeViolation is one rule a page breaks, as axe-core reports it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// TestBrowserAccessibility checks every dashboard page against WCAG 2.1
// A and AA with axe-core in real Chromium, over the demo data as an admin
// (every page): labels, names, contrast, landmarks, headings, tables, the
// charts' text alternatives. Any violation fails the test with its rule,
// impact and elements.
func TestBrowserAccessibility(t *testing.T) {
	bin, axePath := chromium(t), os.Getenv(AxeEnv)
	if axePath == "" {
		t.Skip(AxeEnv + " is not set: no axe-core to run (.ci/run installs it and sets it)")
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	processortest.Engines(t, "webaxe", func(t *testing.T, open processortest.StoreOpener) {
		if strings.HasSuffix(t.Name(), "/postgres") {
			t.Skip("the pages' markup does not depend on the store engine; checked on SQLite")
		}
		var eng *pipeline.Engine
		e := newEnvWith(t, open, func(o *web.Options, _ string) {
			var err error
			eng, err = pipeline.New(o.Store, []pipeline.Pipeline{{Name: "nightly", Schedule: "@daily", Description: "Nightly load.", Tasks: []pipeline.Task{
				{ID: "extract", Group: "extract", Run: func(context.Context, *pipeline.TaskContext) (any, error) { return map[string]int{"records": 42}, nil }},
				{ID: "gate", Group: "validate", Deps: []string{"extract"}, Run: func(context.Context, *pipeline.TaskContext) (any, error) {
					return nil, errors.New("2 rows with a negative quantity")
				}},
				{ID: "load", Group: "load", Deps: []string{"gate"}, Run: func(context.Context, *pipeline.TaskContext) (any, error) { return nil, nil }},
			}}}, pipeline.Options{Poll: 20 * time.Millisecond, NoScheduler: true})
			if err != nil {
				t.Fatal(err)
			}
			o.Pipelines = eng
		})
		const pw = "demo passphrase 1"
		d, err := demo.Load(context.Background(), e.st, demo.Options{Password: pw, Hashing: password.Params{MemoryKiB: 64, Time: 1, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		acts, err := e.st.ActivityRecords().List(context.Background(), d.OrgID, store.ListOptions{Limit: 1})
		if err != nil || len(acts) != 1 {
			t.Fatalf("demo activity: %v", err)
		}
		// A failed pipeline run and a quality run, for the pipelines page.
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = eng.Stop(context.Background()) })
		run, err := eng.Trigger(context.Background(), "nightly", d.OrgID, time.Now(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			r, err := e.st.PipelineRunByID(context.Background(), run.ID)
			if err != nil || r.State == store.RunFailed || time.Now().After(deadline) {
				break
			}
		}
		suites, err := quality.Builtin()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range suites {
			if _, err := quality.Run(context.Background(), e.st, d.OrgID, s, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		ctx, shot := startBrowser(t, bin, 900, 120*time.Second)
		check := func(path string) {
			t.Helper()
			if err := chromedp.Do(ctx, chromedp.Navigate(e.url+path), chromedp.WaitVisible(css(`main`))); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(axe)+";true")); err != nil {
				t.Fatalf("%s: loading axe-core: %v", path, err)
			}
			out, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => JSON.stringify(r.violations))`,
				chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("%s: running axe-core: %v", path, err)
			}
			var vs []axeViolation
			if err := json.Unmarshal([]byte(out), &vs); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, v := range vs {
				var where []string
				for _, n := range v.Nodes {
					where = append(where, fmt.Sprint(n.Target...))
				}
				t.Errorf("%s: %s (%s): %s, at %s", path, v.ID, v.Impact, v.Help, strings.Join(where, "; "))
			}
		}
		check("/login")
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(css(`#email`), demo.AdminEmail),
			chromedp.SendKeys(css(`#password`), pw),
			chromedp.Submit(css(`#password`)),
			chromedp.WaitVisible(css(`svg.chart`)),
		); err != nil {
			t.Fatalf("logging in: %v", err)
		}
		for _, path := range []string{"/", "/activity", "/activity/" + acts[0].ID.String() + "/explain", "/factors?q=natural_gas",
			"/suppliers", "/erp", "/devices", "/audit", "/pipelines", "/pipelines/runs/" + run.ID.String() + "/tasks/gate"} {
			check(path)
			if path == "/pipelines" {
				if _, err := chromedp.Run(ctx, shot("pipelines")); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
