package httpapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// Roles, in the matrix's columns.
const (
	rAdmin   = "admin"
	rAnalyst = "analyst"
	rAuditor = "auditor"
	rSteward = "data_steward"
	rViewer  = "viewer"
	rDevice  = "device"
)

// Who may call each route, written out by hand: the specification the
// roles table in store/roles.go must meet. A route missing here, or here
// and not served, fails the test.
var authzMatrix = map[string][]string{
	"GET /api/v1/token":        {rAdmin, rAnalyst, rAuditor, rSteward, rViewer, rDevice},
	"GET /api/v1/organization": {rAdmin, rAnalyst, rAuditor, rSteward, rViewer, rDevice},

	"GET /api/v1/users":               {rAdmin, rAuditor},
	"POST /api/v1/users":              {rAdmin},
	"GET /api/v1/users/{id}":          {rAdmin, rAuditor},
	"PATCH /api/v1/users/{id}":        {rAdmin},
	"GET /api/v1/tokens":              {rAdmin, rAuditor},
	"POST /api/v1/tokens":             {rAdmin},
	"POST /api/v1/organizations":      {rAdmin},
	"POST /api/v1/tokens/{id}/revoke": {rAdmin},
	"GET /api/v1/audit":               {rAdmin, rAuditor},
	"GET /api/v1/audit/verify":        {rAdmin, rAuditor},

	"GET /api/v1/sites":                    {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"POST /api/v1/sites":                   {rAdmin, rAnalyst, rSteward},
	"GET /api/v1/sites/{id}":               {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"PATCH /api/v1/sites/{id}":             {rAdmin, rAnalyst, rSteward},
	"GET /api/v1/emission-sources":         {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"POST /api/v1/emission-sources":        {rAdmin, rAnalyst, rSteward},
	"GET /api/v1/emission-sources/{id}":    {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/activity-records":         {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/activity-records/{id}":    {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"POST /api/v1/activity-files":          {rAdmin, rAnalyst, rSteward},
	"POST /api/v1/activity-records":        {rAdmin, rAnalyst, rSteward},
	"POST /api/v1/calculation-runs":        {rAdmin, rAnalyst, rSteward},
	"GET /api/v1/calculation-runs":         {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/calculation-runs/{id}":    {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/emissions":                {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/emissions/totals":         {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/emissions/{id}":           {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/factor-sets":              {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/factor-sets/{id}/factors": {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/suppliers":                {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/suppliers/{id}":           {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/products":                 {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/purchase-orders":          {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/purchase-orders/{id}":     {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},

	"GET /api/v1/pipelines":                       {rAdmin, rAnalyst, rAuditor, rSteward},
	"GET /api/v1/pipelines/{name}/runs":           {rAdmin, rAnalyst, rAuditor, rSteward},
	"POST /api/v1/pipelines/{name}/runs":          {rAdmin, rSteward},
	"POST /api/v1/pipelines/{name}/backfill":      {rAdmin, rSteward},
	"GET /api/v1/pipeline-runs/{id}":              {rAdmin, rAnalyst, rAuditor, rSteward},
	"GET /api/v1/pipeline-runs/{id}/tasks/{task}": {rAdmin, rAnalyst, rAuditor, rSteward},
	"POST /api/v1/pipeline-runs/{id}/clear":       {rAdmin, rSteward},

	"GET /api/v1/devices":                                 {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"POST /api/v1/devices":                                {rAdmin, rSteward},
	"GET /api/v1/devices/{id}":                            {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"PATCH /api/v1/devices/{id}":                          {rAdmin, rSteward},
	"POST /api/v1/devices/{id}/rotate-secret":             {rAdmin, rSteward},
	"POST /api/v1/devices/{id}/decommission":              {rAdmin, rSteward},
	"POST /api/v1/devices/{id}/configure":                 {rAdmin, rSteward},
	"GET /api/v1/devices/{id}/commands":                   {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/devices/{id}/readings":                   {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/devices/{id}/summary":                    {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/commands/{id}":                           {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"POST /api/v1/firmware-campaigns":                     {rAdmin, rSteward},
	"GET /api/v1/firmware-campaigns":                      {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/firmware-campaigns/{id}":                 {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/alerts":                                  {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"GET /api/v1/alerts/{id}":                             {rAdmin, rAnalyst, rAuditor, rSteward, rViewer},
	"POST /api/v1/alerts/{id}/acknowledge":                {rAdmin, rAnalyst, rSteward},
	"GET /api/v1/erp/connections":                         {rAdmin, rAnalyst, rAuditor, rSteward},
	"POST /api/v1/erp/connections":                        {rAdmin, rSteward},
	"GET /api/v1/erp/connections/{name}":                  {rAdmin, rAnalyst, rAuditor, rSteward},
	"PATCH /api/v1/erp/connections/{name}":                {rAdmin, rSteward},
	"GET /api/v1/erp/mapping":                             {rAdmin, rAnalyst, rAuditor, rSteward},
	"PUT /api/v1/erp/mapping":                             {rAdmin, rSteward},
	"GET /api/v1/erp/connections/{name}/jobs":             {rAdmin, rAnalyst, rAuditor, rSteward},
	"POST /api/v1/erp/connections/{name}/test":            {rAdmin, rSteward},
	"POST /api/v1/erp/connections/{name}/sync":            {rAdmin, rSteward},
	"GET /api/v1/erp/jobs/{id}":                           {rAdmin, rAnalyst, rAuditor, rSteward},
	"PUT /api/v1/erp/connections/{name}/files/{file}":     {rAdmin, rSteward},
	"POST /api/v1/erp/connections/{name}/journal-entries": {rAdmin, rSteward},
}

// openAPIPaths reads the served OpenAPI document's operations as
// "METHOD path", checking it is an OpenAPI 3.1 document whose every
// operation has a summary, a documented success answer and problem
// answers, and whose every reference resolves.
func openAPIPaths(t *testing.T, e *apiEnv) []string {
	t.Helper()
	r := e.do("GET", "/api/openapi.json", "", nil)
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Summary   string                     `json:"summary"`
			Scope     *string                    `json:"x-required-scope"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	r.must(t, 200, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	var ops []string
	for path, methods := range doc.Paths {
		for m, op := range methods {
			name := strings.ToUpper(m) + " " + path
			ops = append(ops, name)
			ok := false
			for code := range op.Responses {
				ok = ok || strings.HasPrefix(code, "2")
			}
			if op.Summary == "" || op.Scope == nil || !ok || op.Responses["default"] == nil {
				t.Errorf("%s: summary %q, scope %v, responses %v", name, op.Summary, op.Scope, op.Responses)
			}
		}
	}
	for _, ref := range strings.Split(string(r.body), `"$ref": "`)[1:] {
		target, _, _ := strings.Cut(ref, `"`)
		name, ok := strings.CutPrefix(target, "#/components/schemas/")
		if !ok || doc.Components.Schemas[name] == nil {
			t.Errorf("reference %q does not resolve", target)
		}
	}
	sort.Strings(ops)
	return ops
}

// TestAuthorizationMatrix walks every route with a token of a user of
// every role and checks allow (anything but 401 and 403) or deny (403,
// naming the role), against authzMatrix; and that the OpenAPI document
// and the matrix list the same routes.
func TestAuthorizationMatrix(t *testing.T) {
	processortest.Engines(t, "httpapiauthz", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		ops := openAPIPaths(t, e)
		for _, op := range ops {
			if _, ok := authzMatrix[op]; !ok {
				t.Errorf("route %s is served but not in the authorization matrix", op)
			}
		}
		for op := range authzMatrix {
			if !slices.Contains(ops, op) {
				t.Errorf("route %s is in the matrix but not in the OpenAPI document", op)
			}
		}
		tokens := map[string]string{}
		for _, role := range store.Roles() {
			u := &store.User{Email: role + "@example.com", Role: role}
			if err := e.st.Users().Create(ctx, e.orgA, u); err != nil {
				t.Fatal(err)
			}
			secret, _, err := e.st.APITokenIssue(ctx, e.orgA, store.APITokenIssueParams{Name: role, Scopes: []string{store.ScopeAll}, UserID: &u.ID})
			if err != nil {
				t.Fatal(err)
			}
			tokens[role] = secret
		}
		if len(tokens) != 6 {
			t.Fatalf("roles %v", store.Roles())
		}
		path := func(pattern string) string {
			p := strings.ReplaceAll(pattern, "{id}", uuid.NewString())
			p = strings.ReplaceAll(p, "{name}", "no-such-connection")
			return strings.ReplaceAll(p, "{file}", "f.csv")
		}
		for _, op := range ops {
			method, pattern, _ := strings.Cut(op, " ")
			for _, role := range store.Roles() {
				var body any
				if method != "GET" {
					body = map[string]any{}
				}
				r := e.do(method, path(pattern), tokens[role], body)
				allowed := slices.Contains(authzMatrix[op], role)
				switch {
				case allowed && (r.status == 401 || r.status == 403):
					t.Errorf("%s as %s: %d, want allowed: %s", op, role, r.status, r.body)
				case allowed && r.status >= 500 && r.status != 503:
					t.Errorf("%s as %s: %d: %s", op, role, r.status, r.body)
				case !allowed && r.status != 403:
					t.Errorf("%s as %s: %d, want 403: %s", op, role, r.status, r.body)
				case !allowed:
					if p := r.problem(t); p.Type != httpapi.ProblemForbidden || !strings.Contains(p.Detail, role) {
						t.Errorf("%s as %s: problem %+v", op, role, p)
					}
				}
			}
		}
		// The same routes without a token, or with another organization's
		// token on this one's records (TestAPITenantIsolation and
		// TestInventoryAPI cover the records), are refused.
		for _, op := range ops {
			method, pattern, _ := strings.Cut(op, " ")
			if r := e.do(method, path(pattern), "", nil); r.status != 401 {
				t.Errorf("%s without a token: %d", op, r.status)
			}
		}
	})
}

// TestAPIReference checks the interactive reference page lists every
// route and refuses to run any script but its own.
func TestAPIReference(t *testing.T) {
	processortest.Engines(t, "httpapiref", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		page := e.do("GET", "/api/docs", "", nil)
		if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(page.header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Fatalf("reference: %d %v", page.status, page.header)
		}
		for op := range authzMatrix {
			method, path, _ := strings.Cut(op, " ")
			if !strings.Contains(string(page.body), `data-method="`+method+`" data-path="`+path+`"`) {
				t.Errorf("the reference has no form for %s", op)
			}
		}
		if js := e.do("GET", "/api/docs.js", "", nil); js.status != 200 || !strings.Contains(string(js.body), "fetch(") {
			t.Fatalf("reference script: %d", js.status)
		}
	})
}
