package drivertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store"
)

func testValidation(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	org := NewOrg(t, s).ID
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"bad role", s.Users().Create(ctx, org, &store.User{Email: "a@b.c", Role: "root"}), "role"},
		{"bad email", s.Users().Create(ctx, org, &store.User{Email: "nope", Role: store.RoleViewer}), "email"},
		{"bad scope", s.EmissionSources().Create(ctx, org, &store.EmissionSource{Name: "x", Scope: 4}), "scope"},
		{"category outside scope 3", s.EmissionSources().Create(ctx, org, &store.EmissionSource{Name: "x", Scope: 1, Category: ptr(1)}), "category"},
		{"activity without unit", s.ActivityRecords().Create(ctx, org, &store.ActivityRecord{SourceID: uuid.New(), ActivityType: "x", PeriodStart: march, PeriodEnd: april, DataQuality: 1}), "unit"},
		{"period backwards", s.ActivityRecords().Create(ctx, org, &store.ActivityRecord{SourceID: uuid.New(), ActivityType: "x", Unit: "l", PeriodStart: april, PeriodEnd: march, DataQuality: 1}), "period"},
		{"bad device type", s.Devices().Create(ctx, org, &store.Device{DeviceType: "toaster", Serial: "1"}), "device_type"},
		{"bad ERP system", s.ERPConnections().Create(ctx, org, &store.ERPConnection{Name: "x", System: "sage"}), "system"},
		{"no organization", s.Sites().Create(ctx, uuid.Nil, &store.Site{Name: "x"}), "organization"},
		{"bad slug", s.OrganizationCreate(ctx, &store.Organization{Name: "x", Slug: "Not A Slug"}), "slug"},
	}
	for _, c := range cases {
		wantCode(t, c.err, store.CodeInvalidArgument, c.name)
		if !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %q does not name %q", c.name, c.err, c.want)
		}
	}
	rep, err := s.VerifyAudit(ctx, org)
	must(t, err)
	if rep.Entries != 1 {
		t.Errorf("rejected writes left %d audit entries, want 1", rep.Entries)
	}
}

func testAuditTrail(t *testing.T, s *store.Store, _ Admin) {
	ctx := store.WithActor(context.Background(), store.Actor{Type: "user", ID: "ana"})
	org := NewOrg(t, s).ID
	site := &store.Site{Name: "Before", Active: true}
	must(t, s.Sites().Create(ctx, org, site))
	site.Name = "After"
	must(t, s.Sites().Update(ctx, org, site))
	must(t, s.Sites().Delete(ctx, org, site.ID))
	es, err := s.AuditEntries(ctx, org, 0, 100)
	must(t, err)
	if len(es) != 4 {
		t.Fatalf("got %d entries, want 4", len(es))
	}
	want := []struct{ action, oldHas, newHas string }{
		{audit.ActionCreate, "", org.String()},
		{audit.ActionCreate, "", `"name":"Before"`},
		{audit.ActionUpdate, `"name":"Before"`, `"name":"After"`},
		{audit.ActionDelete, `"name":"After"`, ""},
	}
	var prev []byte
	for i, w := range want {
		e := es[i]
		if e.Seq != int64(i+1) || e.Action != w.action {
			t.Errorf("entry %d: seq %d action %s, want %d %s", i, e.Seq, e.Action, i+1, w.action)
		}
		if (w.oldHas == "") != (e.OldValues == "") || !strings.Contains(e.OldValues, w.oldHas) {
			t.Errorf("entry %d old values %q, want containing %q", i, e.OldValues, w.oldHas)
		}
		if (w.newHas == "") != (e.NewValues == "") || !strings.Contains(e.NewValues, w.newHas) {
			t.Errorf("entry %d new values %q, want containing %q", i, e.NewValues, w.newHas)
		}
		if i > 0 && (e.ActorType != "user" || e.ActorID != "ana") {
			t.Errorf("entry %d actor %s/%s", i, e.ActorType, e.ActorID)
		}
		if string(e.PrevHash) != string(prev) || len(e.Hash) != 32 {
			t.Errorf("entry %d is not linked to the one before", i)
		}
		if time.Since(e.OccurredAt) > time.Hour {
			t.Errorf("entry %d occurred_at %v", i, e.OccurredAt)
		}
		prev = e.Hash
	}
	rep, err := s.VerifyAudit(ctx, org)
	must(t, err)
	if !rep.OK() || rep.Entries != 4 || rep.HeadSeq != 4 {
		t.Errorf("verify = %+v", rep)
	}
}

// testAuditTamper edits, deletes, reorders and truncates entries directly in
// the database, as someone with access to the engine would, and expects the
// verifier to name the first broken entry each time.
func testAuditTamper(t *testing.T, s *store.Store, admin Admin) {
	ctx := context.Background()
	cases := []struct {
		name   string
		tamper string
		args   func(org uuid.UUID) []any
		seq    int64
		reason string
	}{
		{"edit", `UPDATE audit.log SET new_values = replace(new_values, 'Site 2', 'Site X') WHERE org_id = $1 AND seq = 3`, nil, 3, "altered"},
		{"edit actor", `UPDATE audit.log SET actor_id = 'mallory' WHERE org_id = $1 AND seq = 2`, nil, 2, "altered"},
		{"delete", `DELETE FROM audit.log WHERE org_id = $1 AND seq = 3`, nil, 3, "missing"},
		{"reorder", `UPDATE audit.log SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE org_id = $1 AND seq IN (2, 3)`, nil, 2, "reordered"},
		{"truncate tail", `DELETE FROM audit.log WHERE org_id = $1 AND seq >= 4`, nil, 4, "end"},
		{"rewrite and rehash is still caught by the next link", `UPDATE audit.log SET prev_hash = hash WHERE org_id = $1 AND seq = 3`, nil, 3, "reordered"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			org := NewOrg(t, s).ID
			for i := 1; i <= 4; i++ {
				must(t, s.Sites().Create(ctx, org, &store.Site{Name: fmt.Sprintf("Site %d", i)}))
			}
			rep, err := s.VerifyAudit(ctx, org)
			must(t, err)
			if !rep.OK() {
				t.Fatalf("untouched chain broken: %v", rep.Broken)
			}
			n, err := admin.Exec(ctx, c.tamper, org)
			must(t, err)
			if n == 0 {
				t.Fatal("tampering changed no row")
			}
			rep, err = s.VerifyAudit(ctx, org)
			must(t, err)
			if rep.OK() {
				t.Fatal("tampering not detected")
			}
			if rep.Broken.Seq != c.seq || !strings.Contains(rep.Broken.Reason, c.reason) {
				t.Errorf("broken at %d (%s), want %d (%s)", rep.Broken.Seq, rep.Broken.Reason, c.seq, c.reason)
			}
		})
	}
}

func testConcurrentWrites(t *testing.T, s *store.Store, _ Admin) {
	ctx := context.Background()
	org := NewOrg(t, s).ID
	const workers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- s.Sites().Create(ctx, org, &store.Site{Name: fmt.Sprintf("w%d-%d", w, i)})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	rep, err := s.VerifyAudit(ctx, org)
	must(t, err)
	if !rep.OK() || rep.Entries != 1+workers*each {
		t.Fatalf("after concurrent writes: %+v", rep)
	}
}
