package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/sap"
	"github.com/greenlang/greenlang/internal/erp/spreadsheet"
	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/secretbox"
	"github.com/greenlang/greenlang/internal/store"
)

func TestERPRoutes(t *testing.T) {
	processortest.Engines(t, "greenlang_api_erp", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "suppliers.csv"), []byte("Id,Name,Country\nV1,Acme Steel,DE\nV2,,FR\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		settings, _ := json.Marshal(spreadsheet.Settings{Entities: map[string]spreadsheet.EntityConfig{
			"suppliers": {Kind: erp.KindSupplier, Files: "*.csv", Columns: map[string]string{"id": "Id", "name": "Name", "country": "Country"}}}})
		if err := e.st.ERPConnections().Create(ctx, e.orgA, &store.ERPConnection{Name: "uploads", System: "spreadsheet", BaseURL: dir,
			Settings: settings, Active: true}); err != nil {
			t.Fatal(err)
		}
		calc, err := calculation.NewBuiltin()
		if err != nil {
			t.Fatal(err)
		}
		syncer := erp.NewSyncer(e.st, erp.NewRegistry(spreadsheet.Factory()), erp.NewPoster(e.st, calc, nil), nil)
		srv := httptest.NewServer(httpapi.NewHandler(httpapi.HandlerOptions{Store: e.st, ERP: syncer, Background: ctx, RateLimit: testLimits}))
		t.Cleanup(srv.Close)
		e.url = srv.URL

		read, write := e.token(e.orgA, store.ScopeERPRead), e.token(e.orgA, store.ScopeERPWrite)
		var list struct{ Items []map[string]any }
		e.do("GET", "/api/v1/erp/connections", read, nil).must(t, http.StatusOK, &list)
		if len(list.Items) != 1 || list.Items[0]["name"] != "uploads" || list.Items[0]["credentials"] != nil {
			t.Fatalf("connections: %+v", list)
		}
		if r := e.do("GET", "/api/v1/erp/connections", e.token(e.orgA, store.ScopeDevicesRead), nil); r.status != http.StatusForbidden {
			t.Fatalf("without erp:read: %d", r.status)
		}
		if r := e.do("GET", "/api/v1/erp/connections/uploads", e.token(e.orgB, store.ScopeERPRead), nil); r.status != http.StatusNotFound {
			t.Fatalf("another organization's connection: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/erp/connections/uploads/sync", read, nil); r.status != http.StatusForbidden {
			t.Fatalf("sync with erp:read only: %d", r.status)
		}

		var test struct {
			OK    bool
			Steps []erp.Step
		}
		e.do("POST", "/api/v1/erp/connections/uploads/test", write, nil).must(t, http.StatusOK, &test)
		if !test.OK || len(test.Steps) != 2 {
			t.Fatalf("test: %+v", test)
		}
		if r := e.do("POST", "/api/v1/erp/connections/uploads/sync", write, map[string]any{"entities": []string{"nope"}}); r.status != http.StatusUnprocessableEntity ||
			!strings.Contains(string(r.body), `entities[0]`) {
			t.Fatalf("unknown entity: %d %s", r.status, r.body)
		}
		e.do("POST", "/api/v1/erp/connections/uploads/sync", write, map[string]any{"full": true}).must(t, http.StatusAccepted, nil)

		var jobs struct{ Items []store.SyncJob }
		deadline := time.Now().Add(10 * time.Second)
		for {
			e.do("GET", "/api/v1/erp/connections/uploads/jobs", read, nil).must(t, http.StatusOK, &jobs)
			if len(jobs.Items) == 1 && jobs.Items[0].Status != "running" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sync did not finish: %+v", jobs)
			}
			time.Sleep(50 * time.Millisecond)
		}
		j := jobs.Items[0]
		if j.Status != "succeeded" || j.RecordsRead != 2 || j.RecordsWritten != 1 || j.RecordsFailed != 1 {
			t.Fatalf("job: %+v", j)
		}
		var job struct {
			store.SyncJob
			Errors []store.SyncError
		}
		e.do("GET", "/api/v1/erp/jobs/"+j.ID.String(), read, nil).must(t, http.StatusOK, &job)
		if len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Reason, "suppliers.csv line 3: supplier.name: is required") {
			t.Fatalf("job errors: %+v", job.Errors)
		}
		var conn struct {
			Records  map[string]map[string]int64
			Entities map[string]store.SyncState
		}
		// Posting follows the jobs: the record leaves pending when the
		// sync's poster is through.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			e.do("GET", "/api/v1/erp/connections/uploads", read, nil).must(t, http.StatusOK, &conn)
			if conn.Records["supplier"]["pending"] == 0 || time.Now().After(deadline) {
				break
			}
		}
		if conn.Records["supplier"]["skipped"] != 1 || conn.Entities["suppliers"].Watermark == "" {
			t.Fatalf("connection: %+v", conn)
		}

		// Uploads: checked, stored, read by the next sync.
		if r := e.do("PUT", "/api/v1/erp/connections/uploads/files/more.csv", read, "Id,Name\nV3,Beta\n"); r.status != http.StatusForbidden {
			t.Fatalf("upload with erp:read: %d", r.status)
		}
		var up erp.UploadResult
		e.do("PUT", "/api/v1/erp/connections/uploads/files/more.csv", write, "Id,Name,Country\nV3,Beta Metals,SE\nV4,,NO\n").must(t, http.StatusCreated, &up)
		if up.Records != 1 || up.RejectedRows != 1 || len(up.Rejected) != 1 || up.Replaced || up.Entities[0] != "suppliers" {
			t.Fatalf("upload: %+v", up)
		}
		e.do("PUT", "/api/v1/erp/connections/uploads/files/more.csv", write, "Id,Name,Country\nV3,Beta Metals AB,SE\n").must(t, http.StatusOK, &up)
		if !up.Replaced {
			t.Fatalf("second upload: %+v", up)
		}
		for path, want := range map[string]string{
			"/api/v1/erp/connections/uploads/files/more.txt":   "is not a .csv or .xlsx file",
			"/api/v1/erp/connections/uploads/files/..%2Fx.csv": "is not a plain file name",
			"/api/v1/erp/connections/uploads/files/broken.csv": `no column \"Name\"`,
		} {
			body := "Id,Nom\nV9,x\n"
			r := e.do("PUT", path, write, body)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), want) || !strings.Contains(string(r.body), `"field":"file"`) {
				t.Errorf("PUT %s: %d %s, want 422 with %q", path, r.status, r.body, want)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "broken.csv")); !os.IsNotExist(err) {
			t.Fatalf("a refused upload was stored: %v", err)
		}
		e.do("POST", "/api/v1/erp/connections/uploads/sync", write, nil).must(t, http.StatusAccepted, nil)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			e.do("GET", "/api/v1/erp/connections/uploads", read, nil).must(t, http.StatusOK, &conn)
			if conn.Records["supplier"]["skipped"] == 2 || time.Now().After(deadline) {
				break
			}
		}
		if conn.Records["supplier"]["skipped"] != 2 {
			t.Fatalf("the uploaded supplier was not synced: %+v", conn.Records)
		}
	})
}

// TestERPJournalRoute posts carbon-accounting journal entries to the SAP
// simulator through the API: once per reference, with field-named
// validation, 409 on a second post or a connector that cannot post, and
// 502 when the ERP does not answer.
func TestERPJournalRoute(t *testing.T) {
	keys, err := secretbox.NewKeyring("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	processortest.EnginesWith(t, "greenlang_api_erp_journal", store.Options{Keys: keys}, func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		sim := sap.NewSimulator(erp.SimOptions{Records: 10, Seed: 2})
		simSrv := httptest.NewServer(sim)
		t.Cleanup(simSrv.Close)
		auth, creds, settings := sim.Connection(simSrv.URL)
		if err := e.st.ERPConnections().Create(ctx, e.orgA, &store.ERPConnection{Name: "s4", System: "sap", BaseURL: simSrv.URL,
			AuthType: auth, Credentials: creds, Settings: store.JSON(settings), Active: true}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.ERPConnections().Create(ctx, e.orgA, &store.ERPConnection{Name: "uploads", System: "spreadsheet", BaseURL: t.TempDir(),
			Settings: store.JSON(`{"entities":{"suppliers":{"kind":"supplier","files":"*.csv","columns":{"id":"Id","name":"Name"}}}}`), Active: true}); err != nil {
			t.Fatal(err)
		}
		syncer := erp.NewSyncer(e.st, erp.NewRegistry(sap.Factory(), spreadsheet.Factory()), nil, nil)
		syncer.HTTP.RatePerSecond = -1
		syncer.HTTP.MaxAttempts = 1
		srv := httptest.NewServer(httpapi.NewHandler(httpapi.HandlerOptions{Store: e.st, ERP: syncer, Background: ctx, RateLimit: testLimits}))
		t.Cleanup(srv.Close)
		e.url = srv.URL
		read, write := e.token(e.orgA, store.ScopeERPRead), e.token(e.orgA, store.ScopeERPWrite)

		entry := map[string]any{"company_code": "1010", "posting_date": "2026-11-30", "reference": "CO2E-2026-11",
			"lines": []map[string]any{
				{"account": "61000000", "cost_center": "10101101", "amount": "1000.00", "currency": "EUR", "quantity_kg_co2e": "12500"},
				{"account": "29000000", "amount": "-1000.00", "currency": "EUR"}}}
		const path = "/api/v1/erp/connections/s4/journal-entries"
		if r := e.do("POST", path, read, entry); r.status != http.StatusForbidden {
			t.Fatalf("with erp:read: %d", r.status)
		}
		var res erp.JournalResult
		e.do("POST", path, write, entry).must(t, http.StatusCreated, &res)
		if res.DocumentID == "" || res.Reference != "CO2E-2026-11" || sim.Journals() != 1 {
			t.Fatalf("posted: %+v (simulator holds %d)", res, sim.Journals())
		}
		if r := e.do("POST", path, write, entry); r.status != http.StatusConflict || !strings.Contains(string(r.body), res.DocumentID) {
			t.Fatalf("second post: %d %s", r.status, r.body)
		}
		e.do("POST", path+"?repost=true", write, entry).must(t, http.StatusCreated, &res)
		if sim.Journals() != 2 {
			t.Fatalf("repost: simulator holds %d", sim.Journals())
		}
		if r := e.do("POST", path+"?repost=maybe", write, entry); r.status != http.StatusBadRequest {
			t.Fatalf("repost=maybe: %d %s", r.status, r.body)
		}
		entry["reference"] = "CO2E-2026-12"
		entry["lines"].([]map[string]any)[1]["amount"] = "-900"
		r := e.do("POST", path, write, entry)
		var p httpapi.Problem
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != http.StatusUnprocessableEntity || p.Field != "lines" ||
			!strings.Contains(p.Detail, "do not balance") {
			t.Fatalf("unbalanced: %d %s", r.status, r.body)
		}
		entry["lines"].([]map[string]any)[1]["amount"] = "-1000"
		if r := e.do("POST", "/api/v1/erp/connections/uploads/journal-entries", write, entry); r.status != http.StatusConflict ||
			!strings.Contains(string(r.body), "cannot post journal entries") {
			t.Fatalf("spreadsheet: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/api/v1/erp/connections/nope/journal-entries", write, entry); r.status != http.StatusNotFound {
			t.Fatalf("unknown connection: %d %s", r.status, r.body)
		}
		simSrv.Close()
		if r := e.do("POST", path, write, entry); r.status != http.StatusBadGateway || !strings.Contains(string(r.body), "upstream") {
			t.Fatalf("ERP down: %d %s", r.status, r.body)
		}
		if r := e.do("POST", path, e.token(e.orgB, store.ScopeERPWrite), entry); r.status != http.StatusNotFound {
			t.Fatalf("another organization: %d %s", r.status, r.body)
		}

		// Connections and the mapping are managed through the API too.
		simSrv2 := httptest.NewServer(sim)
		t.Cleanup(simSrv2.Close)
		auth2, creds2, settings2 := sim.Connection(simSrv2.URL)
		spec := map[string]any{"name": "s4-api", "system": "sap", "base_url": simSrv2.URL, "auth_type": auth2,
			"credentials": creds2, "settings": settings2, "schedule": "@daily"}
		for field, bad := range map[string]map[string]any{
			"name":        {"name": "sap/prod"},
			"system":      {"system": "sapp"},
			"schedule":    {"schedule": "sometimes"},
			"credentials": {"credentials": map[string]string{}},
		} {
			body := maps.Clone(spec)
			maps.Copy(body, bad)
			r := e.do("POST", "/api/v1/erp/connections", write, body)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"field":"`+field+`"`) {
				t.Errorf("create with a bad %s: %d %s", field, r.status, r.body)
			}
		}
		if r := e.do("POST", "/api/v1/erp/connections", read, spec); r.status != http.StatusForbidden {
			t.Fatalf("create with erp:read: %d", r.status)
		}
		var created map[string]any
		e.do("POST", "/api/v1/erp/connections", write, spec).must(t, http.StatusCreated, &created)
		if created["name"] != "s4-api" || created["schedule"] != "@daily" || created["active"] != true || created["credentials"] != nil ||
			strings.Contains(fmt.Sprint(created), creds2["client_secret"]) {
			t.Fatalf("created: %v", created)
		}
		if r := e.do("POST", "/api/v1/erp/connections", write, spec); r.status != http.StatusConflict {
			t.Fatalf("a second connection of that name: %d %s", r.status, r.body)
		}
		var test struct{ OK bool }
		e.do("POST", "/api/v1/erp/connections/s4-api/test", write, nil).must(t, http.StatusOK, &test)
		if !test.OK {
			t.Fatal("the created connection does not test clean")
		}
		var patched map[string]any
		e.do("PATCH", "/api/v1/erp/connections/s4-api", write, map[string]any{"schedule": "", "active": false,
			"credentials": map[string]string{"client_secret": "wrong"}}).must(t, http.StatusOK, &patched)
		if patched["schedule"] != "" || patched["active"] != false {
			t.Fatalf("patched: %v", patched)
		}
		e.do("POST", "/api/v1/erp/connections/s4-api/test", write, nil).must(t, http.StatusOK, &test)
		if test.OK {
			t.Fatal("the wrong secret was not stored (or the others were lost)")
		}
		if r := e.do("PATCH", "/api/v1/erp/connections/s4-api", write, map[string]any{"schedule": "never"}); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("patch with a bad schedule: %d %s", r.status, r.body)
		}

		if r := e.do("GET", "/api/v1/erp/mapping", read, nil); r.status != http.StatusNotFound {
			t.Fatalf("mapping before any: %d %s", r.status, r.body)
		}
		if r := e.do("PUT", "/api/v1/erp/mapping", write, `{"purchase_orders": {"spend_based_by_naics": "yes"}}`); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad mapping: %d %s", r.status, r.body)
		}
		var m store.ActivityMapping
		e.do("PUT", "/api/v1/erp/mapping", write, `{"purchase_orders": {"spend_based_by_naics": true, "default_naics": "423110"}}`).must(t, http.StatusCreated, &m)
		if m.Version != 1 {
			t.Fatalf("mapping: %+v", m)
		}
		e.do("GET", "/api/v1/erp/mapping", read, nil).must(t, http.StatusOK, &m)
		if m.Version != 1 || !strings.Contains(string(m.Rules), "423110") {
			t.Fatalf("mapping read back: %+v", m)
		}
	})
}
