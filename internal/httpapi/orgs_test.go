package httpapi_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/httpapi"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// TestOrganizationCreate creates an organization over the API: the
// token's user becomes its first admin with the same e-mail and password.
func TestOrganizationCreate(t *testing.T) {
	processortest.Engines(t, "httpapiorgs", func(t *testing.T, open processortest.StoreOpener) {
		e := newAPIEnv(t, open)
		ctx := context.Background()
		hash, err := password.Hash("correct horse battery", password.Default)
		if err != nil {
			t.Fatal(err)
		}
		email := "founder-" + uuid.NewString()[:8] + "@example.com"
		me := &store.User{Email: email, DisplayName: "Founder", Role: store.RoleAdmin, PasswordHash: hash}
		if err := e.st.Users().Create(ctx, e.orgA, me); err != nil {
			t.Fatal(err)
		}
		tok, _, err := e.st.APITokenIssue(ctx, e.orgA, store.APITokenIssueParams{Name: "founder", Scopes: []string{store.ScopeAll}, UserID: &me.ID})
		if err != nil {
			t.Fatal(err)
		}
		slug := "subsidiary-" + uuid.NewString()[:8]
		var out struct {
			Organization store.Organization `json:"organization"`
			Admin        store.User         `json:"admin"`
		}
		e.do("POST", "/api/v1/organizations", tok, map[string]any{"name": "Subsidiary GmbH", "slug": slug, "country": "de", "reporting_currency": "eur"}).must(t, 201, &out)
		if out.Organization.Slug != slug || out.Organization.Country != "DE" || out.Admin.Role != store.RoleAdmin || out.Admin.Email != email {
			t.Fatalf("created %+v", out)
		}
		admin, err := e.st.Users().Get(ctx, out.Organization.ID, out.Admin.ID)
		if err != nil || password.Verify("correct horse battery", admin.PasswordHash) != nil {
			t.Fatalf("the new organization's admin cannot log in with the founder's password: %+v (%v)", admin, err)
		}
		accounts, err := e.st.AccountsByEmail(ctx, email)
		if err != nil || len(accounts) != 2 {
			t.Fatalf("the founder's accounts: %+v (%v)", accounts, err)
		}

		e.do("POST", "/api/v1/organizations", tok, map[string]any{"name": "Again", "slug": slug}).wantProblem(t, 409, httpapi.ProblemConflict, "slug")
		e.do("POST", "/api/v1/organizations", tok, map[string]any{"slug": "x-" + slug}).wantProblem(t, 422, httpapi.ProblemValidation, "name")
		e.do("POST", "/api/v1/organizations", tok, map[string]any{"name": "Bad slug", "slug": "Not A Slug"}).wantProblem(t, 422, httpapi.ProblemValidation, "")
		e.do("POST", "/api/v1/organizations", tok, map[string]any{"name": "x", "slug": "y", "owner": "me"}).wantProblem(t, 400, httpapi.ProblemInvalidRequest, "owner")
		machine := e.token(e.orgA, store.ScopeAll)
		e.do("POST", "/api/v1/organizations", machine, map[string]any{"name": "Machine's", "slug": "m-" + slug}).wantProblem(t, 409, httpapi.ProblemConflict, "")
		if _, err := e.st.OrganizationIDBySlug(ctx, "m-"+slug); store.CodeOf(err) != store.CodeNotFound {
			t.Fatalf("a refused organization exists: %v", err)
		}
	})
}
