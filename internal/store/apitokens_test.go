package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/processor/processortest"
	"github.com/greenlang/greenlang/internal/store"
)

// API tokens on both engines: issue, authenticate under the token's own
// organization, refuse what is wrong, revoked or expired, record use at
// most once a minute, list and revoke within the organization only.
func TestAPITokens(t *testing.T) {
	processortest.Engines(t, "apitokens", func(t *testing.T, open processortest.StoreOpener) {
		ctx := context.Background()
		st := open(t)
		orgA, orgB := uuid.New(), uuid.New()
		for _, id := range []uuid.UUID{orgA, orgB} {
			if err := st.OrganizationCreate(ctx, &store.Organization{ID: id, Name: "Org " + id.String()[:8], Slug: "o" + id.String()[:8]}); err != nil {
				t.Fatal(err)
			}
		}
		actx := store.WithActor(ctx, store.Actor{Type: "user", ID: "ops"})

		// Refused parameters.
		for _, p := range []store.APITokenIssueParams{
			{Name: "x"},
			{Name: "x", Scopes: []string{"devices:delete"}},
			{Name: "", Scopes: []string{store.ScopeDevicesRead}},
			{Name: "x", Scopes: []string{store.ScopeDevicesRead}, ExpiresAt: ptr(time.Now().Add(-time.Hour))},
		} {
			if _, _, err := st.APITokenIssue(actx, orgA, p); store.CodeOf(err) != store.CodeInvalidArgument {
				t.Errorf("issue %+v: %v, want invalid argument", p, err)
			}
		}

		secret, tok, err := st.APITokenIssue(actx, orgA, store.APITokenIssueParams{Name: "bms sync",
			Scopes: []string{store.ScopeDevicesRead, store.ScopeAlertsRead, store.ScopeDevicesRead}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, store.APITokenPrefix) || len(secret) != 68 || tok.Prefix != secret[:12] {
			t.Fatalf("token %q, prefix %q", secret, tok.Prefix)
		}
		if h := sha256.Sum256([]byte(secret)); string(tok.TokenHash) != string(h[:]) {
			t.Error("the stored hash is not the token's SHA-256")
		}
		if got := strings.Join(tok.Scopes, ","); got != "devices:read,alerts:read" {
			t.Errorf("scopes %q, want the duplicate dropped", got)
		}
		if org, ok := store.APITokenOrg(secret); !ok || org != orgA {
			t.Errorf("APITokenOrg = %s %v", org, ok)
		}

		got, err := st.APITokenAuthenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != tok.ID || got.OrgID != orgA || got.LastUsedAt == nil {
			t.Fatalf("authenticated %+v", got)
		}
		if !got.Allows(store.ScopeDevicesRead) || got.Allows(store.ScopeDevicesWrite) || got.Allows(store.ScopeAlertsWrite) {
			t.Errorf("scopes of %v", got.Scopes)
		}
		first := *got.LastUsedAt
		again, err := st.APITokenAuthenticate(ctx, secret)
		if err != nil || !again.LastUsedAt.Equal(first) {
			t.Errorf("second use within a minute rewrote last_used_at: %v %v", again.LastUsedAt, err)
		}

		// Wrong, malformed, or naming another organization: not found, saying nothing more.
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, store.APITokenPrefix))
		if err != nil {
			t.Fatal(err)
		}
		forge := func(secret []byte, org uuid.UUID) string {
			return store.APITokenPrefix + base64.RawURLEncoding.EncodeToString(append(append([]byte{}, secret...), org[:]...))
		}
		wrong := append([]byte{}, raw[:32]...)
		wrong[31] ^= 1 // the same prefix, another secret
		for _, bad := range []string{"", "glt_", "gld_" + secret[4:], secret + "x", strings.ToUpper(secret),
			forge(wrong, orgA), forge(raw[:32], orgB), forge(raw[:32], uuid.Nil)} {
			if _, err := st.APITokenAuthenticate(ctx, bad); store.CodeOf(err) != store.CodeNotFound {
				t.Errorf("authenticate %q: %v, want not found", bad, err)
			}
		}

		// Expired: refused with the reason.
		_, short, err := st.APITokenIssue(actx, orgA, store.APITokenIssueParams{Name: "short", Scopes: []string{store.ScopeAll},
			ExpiresAt: ptr(time.Now().Add(time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		if !short.Allows(store.ScopeAlertsWrite) {
			t.Error("* does not allow alerts:write")
		}
		shortSecret, _, _ := st.APITokenIssue(actx, orgA, store.APITokenIssueParams{Name: "short2", Scopes: []string{store.ScopeAll},
			ExpiresAt: ptr(time.Now().Add(time.Hour))})
		t2, err := st.APITokenAuthenticate(ctx, shortSecret)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.APITokens().Get(ctx, orgA, t2.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored.ExpiresAt = ptr(time.Now().Add(-time.Second))
		if err := st.APITokens().Update(ctx, orgA, stored); err != nil {
			t.Fatal(err)
		}
		if _, err := st.APITokenAuthenticate(ctx, shortSecret); store.CodeOf(err) != store.CodeFailedPrecondition || !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired token: %v", err)
		}

		// Revoked: refused at once; revoking again changes nothing; another
		// organization cannot revoke it.
		if _, err := st.APITokenRevoke(actx, orgB, tok.ID); store.CodeOf(err) != store.CodeNotFound {
			t.Errorf("revoke from another organization: %v", err)
		}
		rev, err := st.APITokenRevoke(actx, orgA, tok.ID)
		if err != nil || rev.RevokedAt == nil || rev.TokenHash != nil {
			t.Fatalf("revoke: %+v %v", rev, err)
		}
		if _, err := st.APITokenAuthenticate(ctx, secret); store.CodeOf(err) != store.CodeFailedPrecondition || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("revoked token: %v", err)
		}
		rev2, err := st.APITokenRevoke(actx, orgA, tok.ID)
		if err != nil || !rev2.RevokedAt.Equal(*rev.RevokedAt) {
			t.Errorf("second revoke: %v %v", rev2, err)
		}
		if _, err := st.APITokenRevoke(actx, orgA, uuid.New()); store.CodeOf(err) != store.CodeNotFound {
			t.Errorf("revoke unknown: %v", err)
		}

		// Lists are per organization and never carry a hash.
		la, err := st.APITokensList(ctx, orgA)
		if err != nil || len(la) != 3 {
			t.Fatalf("list A: %d %v", len(la), err)
		}
		for _, x := range la {
			if x.TokenHash != nil || x.OrgID != orgA {
				t.Errorf("listed %+v", x)
			}
		}
		if lb, err := st.APITokensList(ctx, orgB); err != nil || len(lb) != 0 {
			t.Errorf("list B: %d %v", len(lb), err)
		}

		// Issuing and revoking are in the audit trail, attributed, without the hash.
		es, err := st.AuditEntries(ctx, orgA, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var creates, revokes int
		for _, e := range es {
			if e.EntityType != store.EntityAPIToken {
				continue
			}
			h := sha256.Sum256([]byte(secret))
			for _, leak := range []string{secret, hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:])} {
				if strings.Contains(e.OldValues+e.NewValues, leak) {
					t.Errorf("audit entry carries the token or its hash: %s %s", e.OldValues, e.NewValues)
				}
			}
			switch e.Action {
			case audit.ActionCreate:
				creates++
			case store.ActionRevoke:
				revokes++
				if e.ActorID != "ops" {
					t.Errorf("revoke attributed to %s", e.ActorID)
				}
			}
		}
		if creates != 3 || revokes != 1 {
			t.Errorf("audit: %d creates, %d revokes", creates, revokes)
		}
	})
}

func ptr[T any](v T) *T { return &v }
