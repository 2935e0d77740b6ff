package drivertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/greenlang/greenlang/internal/store"
)

// testListFilters checks ListOptions on the engine: equality on columns
// (NULL included), a time range, newest first with paging, and a column
// the collection does not have refused before any SQL is sent.
func testListFilters(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	org := NewOrg(t, s).ID
	other := NewOrg(t, s).ID
	site := &store.Site{Name: "Plant", Code: "P1", Active: true}
	must(t, s.Sites().Create(ctx, org, site))
	src := &store.EmissionSource{Name: "Boiler", Scope: 1, Active: true}
	must(t, s.EmissionSources().Create(ctx, org, src))
	month := func(m time.Month) time.Time { return time.Date(2025, m, 1, 0, 0, 0, 0, time.UTC) }
	var acts []*store.ActivityRecord
	units := []string{"l", "kg", "l", "gal"}
	for i, m := range []time.Month{time.January, time.February, time.March, time.April} {
		a := &store.ActivityRecord{SourceID: src.ID, ActivityType: "diesel", Quantity: decimal.NewFromInt(int64(i + 1)), Unit: units[i],
			PeriodStart: month(m), PeriodEnd: month(m + 1), DataQuality: 2, Origin: "manual"}
		if i%2 == 0 {
			a.SiteID = &site.ID
			a.ActivityType = "natural_gas"
		}
		must(t, s.ActivityRecords().Create(ctx, org, a))
		acts = append(acts, a)
	}
	// The other organization's records never show.
	must(t, s.Sites().Create(ctx, other, &store.Site{Name: "Plant", Code: "P1", Active: true}))

	ids := func(vs []*store.ActivityRecord) []uuid.UUID {
		out := make([]uuid.UUID, len(vs))
		for i, v := range vs {
			out[i] = v.ID
		}
		return out
	}
	check := func(name string, o store.ListOptions, want ...*store.ActivityRecord) {
		t.Helper()
		got, err := s.ActivityRecords().List(ctx, org, o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g, w := ids(got), ids(want); len(g) != len(w) || (len(g) > 0 && !equalIDs(g, w)) {
			t.Fatalf("%s: got %v, want %v", name, g, w)
		}
	}
	check("site", store.ListOptions{Where: map[string]any{"site_id": site.ID}}, acts[0], acts[2])
	check("no site", store.ListOptions{Where: map[string]any{"site_id": nil}}, acts[1], acts[3])
	check("type and site", store.ListOptions{Where: map[string]any{"activity_type": "natural_gas", "site_id": site.ID}}, acts[0], acts[2])
	check("type matches none", store.ListOptions{Where: map[string]any{"activity_type": "natural_gas' OR '1'='1"}})
	check("range", store.ListOptions{TimeColumn: "period_start", Since: month(time.February), Until: month(time.April)}, acts[1], acts[2])
	check("since", store.ListOptions{TimeColumn: "period_start", Since: month(time.March)}, acts[2], acts[3])
	check("desc", store.ListOptions{Desc: true}, acts[3], acts[2], acts[1], acts[0])
	check("desc after", store.ListOptions{Desc: true, After: acts[2].ID, Limit: 1}, acts[1])
	check("asc after", store.ListOptions{After: acts[1].ID}, acts[2], acts[3])
	check("desc filtered", store.ListOptions{Desc: true, Where: map[string]any{"site_id": site.ID}}, acts[2], acts[0])

	// Sorted lists, whole and a record at a time from each cursor: ties
	// break by id, NULLs come last (first when descending).
	sorted := func(name string, o store.ListOptions, want ...*store.ActivityRecord) {
		t.Helper()
		check(name, o, want...)
		o.Limit = 1
		var got []*store.ActivityRecord
		for i := 0; i <= len(want); i++ {
			page, err := s.ActivityRecords().List(ctx, org, o)
			if err != nil {
				t.Fatalf("%s page %d: %v", name, i, err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			o.After = page[0].ID
		}
		if g, w := ids(got), ids(want); len(g) != len(w) || !equalIDs(g, w) {
			t.Fatalf("%s a page at a time: got %v, want %v", name, g, w)
		}
	}
	sorted("by unit", store.ListOptions{Sort: "unit"}, acts[3], acts[1], acts[0], acts[2])
	sorted("by unit desc", store.ListOptions{Sort: "unit", Desc: true}, acts[2], acts[0], acts[1], acts[3])
	sorted("by site, NULLs last", store.ListOptions{Sort: "site_id"}, acts[0], acts[2], acts[1], acts[3])
	sorted("by site desc, NULLs first", store.ListOptions{Sort: "site_id", Desc: true}, acts[3], acts[1], acts[2], acts[0])
	sorted("by period, newest first", store.ListOptions{Sort: "period_start", Desc: true}, acts[3], acts[2], acts[1], acts[0])
	sorted("by unit, filtered", store.ListOptions{Sort: "unit", Where: map[string]any{"site_id": nil}}, acts[3], acts[1])
	sorted("by creation time", store.ListOptions{Sort: "created_at"}, acts...)

	for _, o := range []store.ListOptions{
		{Sort: "quantity"}, // a decimal: text on SQLite, so not sortable
		{Sort: "unit; DROP TABLE x"},
		{Where: map[string]any{"1=1 OR site_id": nil}},
		{Where: map[string]any{"org_id": other}},
		{TimeColumn: "period_start; DROP TABLE x", Since: month(time.January)},
	} {
		if _, err := s.ActivityRecords().List(ctx, org, o); store.CodeOf(err) != store.CodeInvalidArgument {
			t.Fatalf("ListOptions %+v: %v, want CodeInvalidArgument", o, err)
		}
	}
	if _, err := s.ActivityRecords().List(ctx, org, store.ListOptions{Sort: "unit", After: uuid.New()}); store.CodeOf(err) != store.CodeNotFound {
		t.Fatalf("sorted after an unknown record: %v, want CodeNotFound", err)
	}
	sites, err := s.Sites().List(ctx, org, store.ListOptions{Where: map[string]any{"code": "P1"}})
	if err != nil || len(sites) != 1 || sites[0].ID != site.ID {
		t.Fatalf("sites with code P1: %v (%v)", sites, err)
	}
}

func equalIDs(a, b []uuid.UUID) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testOrganizationBySlug finds a tenant by slug from outside any tenant.
func testOrganizationBySlug(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	o := NewOrg(t, s)
	id, err := s.OrganizationIDBySlug(ctx, o.Slug)
	if err != nil || id != o.ID {
		t.Fatalf("by slug %q: %s (%v), want %s", o.Slug, id, err, o.ID)
	}
	if _, err := s.OrganizationIDBySlug(ctx, "no-such-org"); store.CodeOf(err) != store.CodeNotFound {
		t.Fatalf("unknown slug: %v, want CodeNotFound", err)
	}
}

// testAccountsByEmail finds a person's enabled accounts across tenants,
// and creates an organization with its first admin atomically.
func testAccountsByEmail(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	email := "person-" + uuid.NewString()[:8] + "@example.com"
	a, b, c, d := NewOrg(t, s), NewOrg(t, s), NewOrg(t, s), NewOrg(t, s)
	ua := &store.User{Email: strings.ToUpper(email), Role: store.RoleAnalyst}
	must(t, s.Users().Create(ctx, a.ID, ua))
	ub := &store.User{Email: email, Role: store.RoleViewer}
	must(t, s.Users().Create(ctx, b.ID, ub))
	must(t, s.Users().Create(ctx, c.ID, &store.User{Email: email, Role: store.RoleAdmin, Disabled: true}))
	must(t, s.Users().Create(ctx, d.ID, &store.User{Email: email, Role: store.RoleDevice}))
	must(t, s.Users().Create(ctx, d.ID, &store.User{Email: "other-" + email, Role: store.RoleAdmin}))
	got, err := s.AccountsByEmail(ctx, " "+strings.ToUpper(email))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Account{{OrgID: a.ID, OrgSlug: a.Slug, OrgName: a.Name, UserID: ua.ID}, {OrgID: b.ID, OrgSlug: b.Slug, OrgName: b.Name, UserID: ub.ID}}
	if a.Name > b.Name {
		want[0], want[1] = want[1], want[0]
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("accounts of %s: %+v, want %+v", email, got, want)
	}
	if got, err := s.AccountsByEmail(ctx, "nobody-"+email); err != nil || len(got) != 0 {
		t.Fatalf("accounts of nobody: %+v (%v)", got, err)
	}

	// A new organization with its first admin: both, or neither.
	id := uuid.Must(uuid.NewV7())
	o := &store.Organization{ID: id, Name: "New " + id.String()[:8], Slug: "new-" + strings.ReplaceAll(id.String(), "-", "")[:20]}
	admin := &store.User{Email: email, DisplayName: "Person", Role: store.RoleViewer, PasswordHash: ua.PasswordHash}
	must(t, s.OrganizationCreateWithAdmin(ctx, o, admin))
	if u, err := s.Users().Get(ctx, o.ID, admin.ID); err != nil || u.Role != store.RoleAdmin || u.Email != email {
		t.Fatalf("the first admin: %+v (%v)", u, err)
	}
	if got, _ := s.AccountsByEmail(ctx, email); len(got) != 3 {
		t.Fatalf("accounts after the new organization: %+v", got)
	}
	id = uuid.Must(uuid.NewV7())
	bad := &store.Organization{ID: id, Name: "Bad", Slug: "bad-" + strings.ReplaceAll(id.String(), "-", "")[:20]}
	if err := s.OrganizationCreateWithAdmin(ctx, bad, &store.User{Email: "not an address"}); store.CodeOf(err) != store.CodeInvalidArgument {
		t.Fatalf("an admin with a bad e-mail: %v, want CodeInvalidArgument", err)
	}
	if _, err := s.OrganizationIDBySlug(ctx, bad.Slug); store.CodeOf(err) != store.CodeNotFound {
		t.Fatalf("the organization of a refused admin exists: %v", err)
	}
}
