package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/calculation"
	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// upload sends an activity file with its media type.
func (e *apiEnv) upload(path, token, contentType, body string) reply {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.send(req)
}

const activityCSV = "activity_type,quantity,unit,period_start,region,scope,site\n" +
	"natural_gas,10,mmBtu,2025-01-01,US,1,BER\n" +
	"natural_gas,10,ton,2025-01-01,US,1,BER\n" + // a mass for a fuel given by energy: refused
	"natural_gas,20,mmBtu,2025-02-01,US,1,\n"

func TestInventoryAPI(t *testing.T) {
	processortest.Engines(t, "httpapiinv", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		tok := e.token(e.orgA, store.ScopeInventoryRead, store.ScopeInventoryWrite)

		// Sites: create, refuse bad ones naming the field, list, filter, change.
		var site store.Site
		e.do("POST", "/api/v1/sites", tok, map[string]any{"code": "BER", "name": "Berlin plant", "country": "de",
			"latitude": "52.52", "floor_area_m2": "1200.5"}).must(t, 201, &site)
		if site.Country != "DE" || !site.Active || site.Latitude.Decimal.String() != "52.52" {
			t.Fatalf("site %+v", site)
		}
		e.do("POST", "/api/v1/sites", tok, map[string]any{"code": "BER", "name": "again"}).wantProblem(t, 409, httpapi.ProblemConflict, "code")
		e.do("POST", "/api/v1/sites", tok, map[string]any{"name": "no code"}).wantProblem(t, 422, httpapi.ProblemValidation, "code")
		e.do("POST", "/api/v1/sites", tok, map[string]any{"code": "X", "name": "x", "country": "Germany"}).wantProblem(t, 422, httpapi.ProblemValidation, "country")
		e.do("POST", "/api/v1/sites", tok, map[string]any{"code": "X", "name": "x", "latitude": "91"}).wantProblem(t, 422, httpapi.ProblemValidation, "latitude")
		e.do("POST", "/api/v1/sites", tok, map[string]any{"code": "X", "name": "x", "colour": "red"}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "colour")
		e.do("POST", "/api/v1/sites", tok, map[string]any{"code": "LYS", "name": "Lyon office", "country": "FR"}).must(t, 201, nil)
		var sites list[store.Site]
		sites = list[store.Site]{}
		e.do("GET", "/api/v1/sites?country=fr", tok, nil).must(t, 200, &sites)
		if len(sites.Items) != 1 || sites.Items[0].Code != "LYS" {
			t.Fatalf("sites in FR: %+v", sites.Items)
		}
		sites = list[store.Site]{}
		e.do("GET", "/api/v1/sites?limit=1", tok, nil).must(t, 200, &sites)
		if len(sites.Items) != 1 || sites.Items[0].Code != "BER" || sites.NextAfter != site.ID.String() {
			t.Fatalf("first page: %+v next %q", sites.Items, sites.NextAfter)
		}
		next := sites.NextAfter
		sites = list[store.Site]{}
		e.do("GET", "/api/v1/sites?limit=1&after="+next, tok, nil).must(t, 200, &sites)
		if len(sites.Items) != 1 || sites.Items[0].Code != "LYS" || sites.NextAfter != "" {
			t.Fatalf("second page: %+v next %q", sites.Items, sites.NextAfter)
		}
		sites = list[store.Site]{}
		e.do("GET", "/api/v1/sites?order=desc", tok, nil).must(t, 200, &sites)
		if len(sites.Items) != 2 || sites.Items[0].Code != "LYS" {
			t.Fatalf("newest first: %+v", sites.Items)
		}
		// Sorted by name (Berlin < Lyon), descending, a page at a time.
		sites = list[store.Site]{}
		e.do("GET", "/api/v1/sites?sort=name&order=desc&limit=1", tok, nil).must(t, 200, &sites)
		if len(sites.Items) != 1 || sites.Items[0].Code != "LYS" || sites.NextAfter == "" {
			t.Fatalf("by name, descending, first page: %+v next %q", sites.Items, sites.NextAfter)
		}
		next = sites.NextAfter
		sites = list[store.Site]{}
		e.do("GET", "/api/v1/sites?sort=name&order=desc&limit=1&after="+next, tok, nil).must(t, 200, &sites)
		if len(sites.Items) != 1 || sites.Items[0].Code != "BER" {
			t.Fatalf("by name, descending, second page: %+v", sites.Items)
		}
		e.do("GET", "/api/v1/sites?sort=latitude", tok, nil).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "sort")
		e.do("GET", "/api/v1/sites?sort=name&after="+uuid.NewString(), tok, nil).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "after")
		var changed store.Site
		e.do("PATCH", "/api/v1/sites/"+site.ID.String(), tok, map[string]any{"region": "DE-GRID", "active": false}).must(t, 200, &changed)
		if changed.Region != "DE-GRID" || changed.Active || changed.Name != "Berlin plant" {
			t.Fatalf("changed site %+v", changed)
		}
		e.do("PATCH", "/api/v1/sites/"+site.ID.String(), tok, map[string]any{"code": "LYS"}).wantProblem(t, 409, httpapi.ProblemConflict, "code")

		// Emission sources.
		var src store.EmissionSource
		e.do("POST", "/api/v1/emission-sources", tok, map[string]any{"name": "Boiler 1", "scope": 1, "site": "BER",
			"source_type": "stationary_combustion"}).must(t, 201, &src)
		if src.SiteID == nil || *src.SiteID != site.ID {
			t.Fatalf("source %+v", src)
		}
		e.do("POST", "/api/v1/emission-sources", tok, map[string]any{"name": "Travel", "scope": 3}).wantProblem(t, 422, httpapi.ProblemValidation, "category")
		e.do("POST", "/api/v1/emission-sources", tok, map[string]any{"name": "x", "scope": 1, "site": "NOPE"}).wantProblem(t, 422, httpapi.ProblemValidation, "site")
		var srcs list[store.EmissionSource]
		e.do("GET", "/api/v1/emission-sources?scope=1&site=BER", tok, nil).must(t, 200, &srcs)
		if len(srcs.Items) != 1 || srcs.Items[0].ID != src.ID {
			t.Fatalf("sources %+v", srcs.Items)
		}

		// An activity file: stored as one run, the bad row listed.
		var tot0 calculation.Totals
		e.do("GET", "/api/v1/emissions/totals", tok, nil).must(t, 200, &tot0)
		if !tot0.LocationBased.CO2eKg.IsZero() {
			t.Fatalf("totals before any activity: %+v", tot0.LocationBased)
		}
		var up struct {
			RunID      *uuid.UUID `json:"run_id"`
			Rows       int        `json:"rows"`
			Calculated int        `json:"calculated"`
			Refused    int        `json:"refused"`
			Activities int64      `json:"activities"`
			Errors     []struct {
				Line   int    `json:"line"`
				Column string `json:"column"`
				Reason string `json:"reason"`
			} `json:"errors"`
		}
		e.upload("/api/v1/activity-files", tok, "text/csv", activityCSV).must(t, 201, &up)
		if up.RunID == nil || up.Rows != 3 || up.Calculated != 2 || up.Refused != 1 || up.Activities != 2 ||
			len(up.Errors) != 1 || up.Errors[0].Line != 3 || up.Errors[0].Reason == "" {
			t.Fatalf("upload answer %+v", up)
		}
		e.upload("/api/v1/activity-files", tok, "text/csv", activityCSV).wantProblem(t, 409, httpapi.ProblemConflict, "")
		e.upload("/api/v1/activity-files", tok, "application/json", activityCSV).wantProblem(t, 415, "about:blank", "Content-Type")
		e.upload("/api/v1/activity-files", tok, "text/csv", "colour,size\nred,1\n").wantProblem(t, 422, httpapi.ProblemValidation, "")
		bad := e.upload("/api/v1/activity-files", tok, "text/csv", "activity_type,quantity,unit,period_start,region\nnatural_gas,ten,mmBtu,2025-01-01,US\n")
		if p := bad.wantProblem(t, 422, httpapi.ProblemValidation, ""); p.Errors == nil {
			t.Fatalf("a file with no good row: problem without its rows' errors: %s", bad.body)
		}
		e.upload("/api/v1/activity-files?gwp=AR9", tok, "text/csv", activityCSV).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "gwp")

		var tot calculation.Totals
		e.do("GET", "/api/v1/emissions/totals?by=site,month", tok, nil).must(t, 200, &tot)
		if !tot.LocationBased.CO2eKg.IsPositive() || len(tot.Rows) != 2 {
			t.Fatalf("totals after the upload: %+v rows %+v", tot.LocationBased, tot.Rows)
		}
		e.do("GET", "/api/v1/emissions/totals?by=colour", tok, nil).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "by")

		var acts list[store.ActivityRecord]
		acts = list[store.ActivityRecord]{}
		e.do("GET", "/api/v1/activity-records?type=natural_gas&site=BER", tok, nil).must(t, 200, &acts)
		if len(acts.Items) != 1 || acts.Items[0].Quantity.String() != "10" {
			t.Fatalf("BER activity: %+v", acts.Items)
		}
		acts = list[store.ActivityRecord]{}
		e.do("GET", "/api/v1/activity-records?from=2025-02-01&to=2025-03-01", tok, nil).must(t, 200, &acts)
		if len(acts.Items) != 1 || acts.Items[0].Quantity.String() != "20" {
			t.Fatalf("February activity: %+v", acts.Items)
		}
		e.do("GET", "/api/v1/activity-records?from=2025-03-01&to=2025-02-01", tok, nil).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "to")
		e.do("GET", "/api/v1/activity-records?origin=fax", tok, nil).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "origin")

		var runs list[store.CalculationRun]
		e.do("GET", "/api/v1/calculation-runs?status=succeeded", tok, nil).must(t, 200, &runs)
		if len(runs.Items) != 1 || runs.Items[0].ID != *up.RunID || string(runs.Items[0].Parameters) != "{}" {
			t.Fatalf("runs %+v", runs.Items)
		}
		var ems list[store.CalculatedEmission]
		e.do("GET", "/api/v1/emissions?run="+up.RunID.String()+"&scope=1", tok, nil).must(t, 200, &ems)
		if len(ems.Items) != 2 {
			t.Fatalf("emissions of the run: %d", len(ems.Items))
		}
		var ex struct {
			store.CalculatedEmission
			Explanation json.RawMessage `json:"explanation"`
			Selection   []string        `json:"selection"`
		}
		e.do("GET", "/api/v1/emissions/"+ems.Items[0].ID.String(), tok, nil).must(t, 200, &ex)
		if ex.ID != ems.Items[0].ID || !strings.Contains(string(ex.Explanation), "natural_gas") || !ex.CO2eKg.IsPositive() {
			t.Fatalf("explained emission %+v: %s", ex.CalculatedEmission, ex.Explanation)
		}

		// ETags: the same answer is 304, a changed one is new.
		first := e.do("GET", "/api/v1/sites/"+site.ID.String(), tok, nil)
		tag := first.header.Get("ETag")
		if first.status != 200 || tag == "" {
			t.Fatalf("GET: status %d ETag %q", first.status, tag)
		}
		req, _ := http.NewRequest("GET", e.url+"/api/v1/sites/"+site.ID.String(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("If-None-Match", tag)
		if r := e.send(req); r.status != 304 || len(r.body) != 0 {
			t.Fatalf("If-None-Match with the current tag: %d %s", r.status, r.body)
		}
		e.do("PATCH", "/api/v1/sites/"+site.ID.String(), tok, map[string]any{"name": "Berlin works"}).must(t, 200, nil)
		if r := e.send(req); r.status != 200 || r.header.Get("ETag") == tag {
			t.Fatalf("after a change: %d, ETag %q (was %q)", r.status, r.header.Get("ETag"), tag)
		}

		// Tenant isolation: another organization sees none of it.
		tokB := e.token(e.orgB, store.ScopeAll)
		for _, p := range []string{"/api/v1/sites/" + site.ID.String(), "/api/v1/emission-sources/" + src.ID.String(),
			"/api/v1/activity-records/" + acts.Items[0].ID.String(), "/api/v1/calculation-runs/" + up.RunID.String(),
			"/api/v1/emissions/" + ems.Items[0].ID.String()} {
			e.do("GET", p, tokB, nil).wantProblem(t, 404, httpapi.ProblemNotFound, "")
		}
		e.do("PATCH", "/api/v1/sites/"+site.ID.String(), tokB, map[string]any{"name": "mine"}).wantProblem(t, 404, httpapi.ProblemNotFound, "")
		sites = list[store.Site]{}
		e.do("GET", "/api/v1/sites", tokB, nil).must(t, 200, &sites)
		acts = list[store.ActivityRecord]{}
		e.do("GET", "/api/v1/activity-records", tokB, nil).must(t, 200, &acts)
		if len(sites.Items) != 0 || len(acts.Items) != 0 {
			t.Fatalf("organization B lists A's records: %d sites, %d activities", len(sites.Items), len(acts.Items))
		}
		var totB calculation.Totals
		e.do("GET", "/api/v1/emissions/totals", tokB, nil).must(t, 200, &totB)
		if !totB.LocationBased.CO2eKg.IsZero() {
			t.Fatalf("organization B's totals hold A's emissions: %+v", totB.LocationBased)
		}
	})
}

// TestListFiltersRefuseInjection sends filter and sort values made to
// break out of a query: each is a clean 4xx or an empty list, never a
// 500, and the store is unchanged.
func TestListFiltersRefuseInjection(t *testing.T) {
	processortest.Engines(t, "httpapiinj", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		tok := e.token(e.orgA, store.ScopeAll)
		e.do("POST", "/api/v1/sites", tok, map[string]any{"code": "BER", "name": "Berlin"}).must(t, 201, nil)
		for _, q := range []string{
			"country=" + url.QueryEscape("DE' OR '1'='1"),
			"country=" + url.QueryEscape("DE; DROP TABLE core.sites; --"),
			"active=" + url.QueryEscape("true OR 1=1"),
			"order=" + url.QueryEscape("id; DROP TABLE core.sites"),
			"sort=" + url.QueryEscape("name; DROP TABLE core.sites"),
			"sort=" + url.QueryEscape("(SELECT 1)"),
			"sort=password_hash",
			"after=" + url.QueryEscape("' OR 1=1 --"),
			"limit=" + url.QueryEscape("1; DELETE FROM core.sites"),
		} {
			r := e.do("GET", "/api/v1/sites?"+q, tok, nil)
			switch r.status {
			case 200:
				var l list[store.Site]
				r.must(t, 200, &l)
				if len(l.Items) != 0 {
					t.Errorf("?%s: %d sites, want none", q, len(l.Items))
				}
			case 400:
				r.problem(t)
			default:
				t.Errorf("?%s: status %d: %s", q, r.status, r.body)
			}
		}
		for _, q := range []string{"type=" + url.QueryEscape("x' OR 'a'='a"), "source=" + url.QueryEscape("1 OR 1=1")} {
			if r := e.do("GET", "/api/v1/activity-records?"+q, tok, nil); r.status != 200 && r.status != 400 {
				t.Errorf("activity ?%s: status %d: %s", q, r.status, r.body)
			}
		}
		var l list[store.Site]
		e.do("GET", "/api/v1/sites", tok, nil).must(t, 200, &l)
		if len(l.Items) != 1 {
			t.Fatalf("after the attempts: %d sites, want 1", len(l.Items))
		}
	})
}

func TestActivityFileTooLarge(t *testing.T) {
	processortest.Engines(t, "httpapibig", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		srv := httptest.NewServer(httpapi.NewHandler(httpapi.HandlerOptions{Store: e.st, MaxUploadBytes: 100, RateLimit: testLimits}))
		t.Cleanup(srv.Close)
		e.url = srv.URL
		tok := e.token(e.orgA, store.ScopeAll)
		e.upload("/api/v1/activity-files", tok, "text/csv", activityCSV).wantProblem(t, 413, "about:blank", "")
		var acts list[store.ActivityRecord]
		e.do("GET", "/api/v1/activity-records", tok, nil).must(t, 200, &acts)
		if len(acts.Items) != 0 {
			t.Fatalf("a refused file stored %d activities", len(acts.Items))
		}
	})
}

func TestUsersTokensAudit(t *testing.T) {
	processortest.Engines(t, "httpapiusers", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		admin := &store.User{Email: "admin@example.com", Role: store.RoleAdmin}
		if err := e.st.Users().Create(ctx, e.orgA, admin); err != nil {
			t.Fatal(err)
		}
		secret, _, err := e.st.APITokenIssue(ctx, e.orgA, store.APITokenIssueParams{Name: "admin", Scopes: []string{store.ScopeAll}, UserID: &admin.ID})
		if err != nil {
			t.Fatal(err)
		}
		adm := secret

		var u store.User
		r := e.do("POST", "/api/v1/users", adm, map[string]any{"email": "Ana@Example.com", "display_name": "Ana", "role": "analyst",
			"password": "a long enough passphrase"})
		r.must(t, 201, &u)
		if u.Email != "ana@example.com" || u.Role != store.RoleAnalyst || strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "password") {
			t.Fatalf("created user %s", r.body)
		}
		stored, err := e.st.Users().Get(ctx, e.orgA, u.ID)
		if err != nil || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
			t.Fatalf("stored password hash %q (%v)", stored.PasswordHash, err)
		}
		e.do("POST", "/api/v1/users", adm, map[string]any{"email": "ana@example.com", "role": "viewer"}).wantProblem(t, 409, httpapi.ProblemConflict, "email")
		e.do("POST", "/api/v1/users", adm, map[string]any{"email": "bo@example.com", "role": "owner"}).wantProblem(t, 422, httpapi.ProblemValidation, "role")
		e.do("POST", "/api/v1/users", adm, map[string]any{"email": "bo@example.com", "role": "viewer", "password": "short"}).wantProblem(t, 422, httpapi.ProblemValidation, "password")
		e.do("PATCH", "/api/v1/users/"+admin.ID.String(), adm, map[string]any{"role": "viewer"}).wantProblem(t, 409, httpapi.ProblemConflict, "role")

		// A token for the analyst acts as the analyst's role allows, whatever its own scopes.
		var issued struct {
			store.APIToken
			Token string `json:"token"`
		}
		e.do("POST", "/api/v1/tokens", adm, map[string]any{"name": "ana's laptop", "scopes": []string{"*"}, "user_id": u.ID, "expires_in": "30d"}).must(t, 201, &issued)
		if !strings.HasPrefix(issued.Token, store.APITokenPrefix) || issued.ExpiresAt == nil {
			t.Fatalf("issued %+v", issued)
		}
		ana := issued.Token
		e.do("GET", "/api/v1/sites", ana, nil).must(t, 200, nil)
		e.do("GET", "/api/v1/users", ana, nil).wantProblem(t, 403, httpapi.ProblemForbidden, "")
		e.do("GET", "/api/v1/audit", ana, nil).wantProblem(t, 403, httpapi.ProblemForbidden, "")
		e.do("POST", "/api/v1/tokens", adm, map[string]any{"name": "too much", "scopes": []string{"users:write"}, "user_id": u.ID}).
			wantProblem(t, 422, httpapi.ProblemValidation, "")
		e.do("POST", "/api/v1/tokens", adm, map[string]any{"name": "x", "scopes": []string{"*"}, "expires_in": "soon"}).
			wantProblem(t, 400, httpapi.ProblemInvalidRequest, "expires_in")

		// A narrower issuer cannot mint a wider token.
		narrow := e.token(e.orgA, store.ScopeUsersWrite)
		e.do("POST", "/api/v1/tokens", narrow, map[string]any{"name": "wider", "scopes": []string{"*"}}).wantProblem(t, 403, httpapi.ProblemForbidden, "scopes")

		// Role changes apply to the user's tokens at once; disabling stops them.
		e.do("PATCH", "/api/v1/users/"+u.ID.String(), adm, map[string]any{"role": "auditor"}).must(t, 200, nil)
		e.do("GET", "/api/v1/audit", ana, nil).must(t, 200, nil)
		e.do("POST", "/api/v1/sites", ana, map[string]any{"code": "X", "name": "x"}).wantProblem(t, 403, httpapi.ProblemForbidden, "")
		e.do("PATCH", "/api/v1/users/"+u.ID.String(), adm, map[string]any{"disabled": true}).must(t, 200, nil)
		e.do("GET", "/api/v1/sites", ana, nil).wantProblem(t, 401, httpapi.ProblemUnauthorized, "")

		var toks list[store.APIToken]
		e.do("GET", "/api/v1/tokens", adm, nil).must(t, 200, &toks)
		if len(toks.Items) != 3 {
			t.Fatalf("%d tokens, want 3", len(toks.Items))
		}
		var revoked store.APIToken
		e.do("POST", "/api/v1/tokens/"+issued.ID.String()+"/revoke", adm, nil).must(t, 200, &revoked)
		if revoked.RevokedAt == nil {
			t.Fatalf("revoked %+v", revoked)
		}

		// The audit trail holds all of it and verifies.
		var page struct {
			Items []struct {
				Seq        int64  `json:"seq"`
				EntityType string `json:"entity_type"`
				NewValues  string `json:"new_values"`
			} `json:"items"`
			NextAfter string `json:"next_after"`
		}
		e.do("GET", "/api/v1/audit?limit=1000", adm, nil).must(t, 200, &page)
		kinds := map[string]int{}
		for _, it := range page.Items {
			kinds[it.EntityType]++
			if strings.Contains(it.NewValues, "argon2") {
				t.Fatalf("the audit trail holds a password hash: %s", it.NewValues)
			}
		}
		if kinds["user"] < 4 || kinds["api_token"] < 3 {
			t.Fatalf("audit entries by kind: %v", kinds)
		}
		e.do("GET", "/api/v1/audit?limit=2", adm, nil).must(t, 200, &page)
		if len(page.Items) != 2 || page.NextAfter != "2" {
			t.Fatalf("first audit page: %d items, next %q", len(page.Items), page.NextAfter)
		}
		e.do("GET", "/api/v1/audit?after=-1", adm, nil).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "after")
		var ver struct {
			OK      bool  `json:"ok"`
			Entries int64 `json:"entries"`
		}
		e.do("GET", "/api/v1/audit/verify", adm, nil).must(t, 200, &ver)
		if !ver.OK || ver.Entries < 7 {
			t.Fatalf("verification %+v", ver)
		}
		var org store.Organization
		e.do("GET", "/api/v1/organization", adm, nil).must(t, 200, &org)
		if org.ID != e.orgA {
			t.Fatalf("organization %s, want %s", org.ID, e.orgA)
		}
	})
}

func TestRateLimits(t *testing.T) {
	processortest.Engines(t, "httpapirate", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		srv := httptest.NewServer(httpapi.NewHandler(httpapi.HandlerOptions{Store: e.st,
			RateLimit: httpapi.RateLimit{PerSecond: 0.001, Burst: 3, FailedPerMinute: 0.001}}))
		t.Cleanup(srv.Close)
		e.url = srv.URL
		tok, other := e.token(e.orgA, store.ScopeAll), e.token(e.orgA, store.ScopeAll)
		for range 3 {
			e.do("GET", "/api/v1/token", tok, nil).must(t, 200, nil)
		}
		r := e.do("GET", "/api/v1/token", tok, nil)
		r.wantProblem(t, 429, httpapi.ProblemRateLimited, "")
		if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
		// Another token has its own bucket.
		e.do("GET", "/api/v1/token", other, nil).must(t, 200, nil)

		// Failed authentications from one address: a burst of 10, then 429;
		// a good token from the same address is not a failure and passes.
		for range 10 {
			e.do("GET", "/api/v1/token", "glt_wrong", nil).wantProblem(t, 401, httpapi.ProblemUnauthorized, "")
		}
		e.do("GET", "/api/v1/token", "glt_wrong", nil).wantProblem(t, 429, httpapi.ProblemRateLimited, "")
		e.do("GET", "/api/v1/token", "", nil).wantProblem(t, 429, httpapi.ProblemRateLimited, "")
		e.do("GET", "/api/v1/token", other, nil).must(t, 200, nil)
	})
}

// post sends a JSON POST with an Idempotency-Key.
func (e *apiEnv) postKey(path, token, key string, body any) reply {
	e.t.Helper()
	js, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.url+path, strings.NewReader(string(js)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	return e.send(req)
}

func TestIdempotencyKeys(t *testing.T) {
	processortest.Engines(t, "httpapiidem", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		tok, other := e.token(e.orgA, store.ScopeAll), e.token(e.orgA, store.ScopeAll)
		site := map[string]any{"code": "BER", "name": "Berlin"}
		first := e.postKey("/api/v1/sites", tok, "k-1", site)
		var s1, s2 store.Site
		first.must(t, 201, &s1)
		again := e.postKey("/api/v1/sites", tok, "k-1", site)
		again.must(t, 201, &s2)
		if s1.ID != s2.ID || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: site %s then %s, replayed %q", s1.ID, s2.ID, again.header.Get("Idempotent-Replayed"))
		}
		var l list[store.Site]
		e.do("GET", "/api/v1/sites", tok, nil).must(t, 200, &l)
		if len(l.Items) != 1 {
			t.Fatalf("%d sites after a retried create", len(l.Items))
		}
		// The key with another body, and a bad key.
		e.postKey("/api/v1/sites", tok, "k-1", map[string]any{"code": "LYS", "name": "Lyon"}).wantProblem(t, 422, httpapi.ProblemValidation, "Idempotency-Key")
		e.postKey("/api/v1/sites", tok, strings.Repeat("k", 256), site).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "Idempotency-Key")
		// Keys are per token: another token's k-1 is its own (and here a conflict on the code).
		e.postKey("/api/v1/sites", other, "k-1", site).wantProblem(t, 409, httpapi.ProblemConflict, "code")
		// A refusal is an answer too: replayed, not re-served.
		e.postKey("/api/v1/sites", other, "k-1", site).wantProblem(t, 409, httpapi.ProblemConflict, "code")

		// An answer with a secret shown once is not kept.
		var issued struct {
			Token string `json:"token"`
		}
		e.postKey("/api/v1/tokens", tok, "t-1", map[string]any{"name": "ci", "scopes": []string{"inventory:read"}}).must(t, 201, &issued)
		if issued.Token == "" {
			t.Fatal("no token issued")
		}
		r := e.postKey("/api/v1/tokens", tok, "t-1", map[string]any{"name": "ci", "scopes": []string{"inventory:read"}})
		r.wantProblem(t, 409, httpapi.ProblemConflict, "Idempotency-Key")
		if strings.Contains(string(r.body), issued.Token) {
			t.Fatal("the replay shows the secret")
		}
		var toks list[store.APIToken]
		e.do("GET", "/api/v1/tokens", tok, nil).must(t, 200, &toks)
		if len(toks.Items) != 3 {
			t.Fatalf("%d tokens after a retried issue, want 3", len(toks.Items))
		}
	})
}
