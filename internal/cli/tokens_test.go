package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlang/greenlang/internal/config"
	"github.com/greenlang/greenlang/internal/store"
	"github.com/greenlang/greenlang/internal/store/sqlitestore"
)

// token create prints a token once that the store accepts with its
// scopes; token list shows it without the secret; token revoke stops it;
// bad flags are usage errors and unknown scopes are refused by the store.
func TestTokenCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append(args, "--data-dir", data)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	mustRun("migrate", "up")
	org := strings.TrimSpace(mustRun("org", "create", "--name", "Acme", "--slug", "acme"))

	created := fieldsOf(mustRun("token", "create", "--org", org, "--name", "bms sync", "--scopes", "devices:read, alerts:write", "--expires", "90d"))
	secret := created["token"]
	if !strings.HasPrefix(secret, store.APITokenPrefix) || created["scopes"] != "devices:read,alerts:write" || created["name"] != "bms sync" {
		t.Fatalf("token create printed %v", created)
	}
	exp, err := time.Parse(time.RFC3339, created["expires_at"])
	if err != nil || time.Until(exp) < 89*24*time.Hour || time.Until(exp) > 91*24*time.Hour {
		t.Errorf("expires_at %q: %v", created["expires_at"], err)
	}
	forever := fieldsOf(mustRun("token", "create", "--org", org, "--name", "ops", "--scopes", "*"))
	if forever["expires_at"] != "-" {
		t.Errorf("a token without --expires expires at %q", forever["expires_at"])
	}

	ctx := context.Background()
	reg := store.NewRegistry()
	sqlitestore.Register(reg)
	st, err := reg.Open(ctx, config.SQLiteURL(filepath.Join(data, "greenlang.db")), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.APITokenAuthenticate(ctx, secret)
	if err != nil || tok.ID.String() != created["token_id"] || !tok.Allows(store.ScopeAlertsWrite) || tok.Allows(store.ScopeDevicesWrite) {
		t.Fatalf("the printed token: %+v %v", tok, err)
	}

	list := mustRun("token", "list", "--org", org)
	if strings.Contains(list, secret) || !strings.Contains(list, created["token_id"]+"\tbms sync\t"+secret[:12]+"…\tdevices:read,alerts:write\t") ||
		!strings.Contains(list, "\tactive\n") {
		t.Errorf("token list:\n%s", list)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(mustRun("token", "list", "--org", org, "--format", "json")), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("token list json: %v %v", listed, err)
	}
	// Neither form shows the token's hash, in any encoding.
	h := sha256.Sum256([]byte(secret))
	for _, out := range []string{list, mustRun("token", "list", "--org", org, "--format", "json")} {
		for _, enc := range []string{hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:])} {
			if strings.Contains(out, enc) {
				t.Errorf("token list shows the token's hash: %s", out)
			}
		}
	}

	if out := mustRun("token", "revoke", "--org", org, created["token_id"]); !strings.Contains(out, "revoked at") {
		t.Errorf("token revoke printed %q", out)
	}
	if _, err := st.APITokenAuthenticate(ctx, secret); store.CodeOf(err) != store.CodeFailedPrecondition {
		t.Errorf("a revoked token: %v", err)
	}
	if list := mustRun("token", "list", "--org", org); !strings.Contains(list, "\trevoked\n") {
		t.Errorf("token list after revoke:\n%s", list)
	}

	for _, args := range [][]string{
		{"token", "create", "--org", org, "--scopes", "*"},
		{"token", "create", "--org", org, "--name", "x"},
		{"token", "create", "--org", org, "--name", "x", "--scopes", "*", "--expires", "soon"},
		{"token", "create", "--org", org, "--name", "x", "--scopes", "*", "--expires", "-3d"},
		{"token", "create", "--org", org, "--name", "x", "--scopes", "*", "--expires", "0h"},
		{"token", "revoke", "--org", org, "not-a-uuid"},
		{"token", "list", "--org", org, "--format", "xml"},
		{"token"},
	} {
		_, err := runCLI(t, append(args, "--data-dir", data)...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	_, err = runCLI(t, "token", "create", "--data-dir", data, "--org", org, "--name", "x", "--scopes", "devices:read,devices:delete")
	if err == nil || !strings.Contains(err.Error(), `"devices:delete" is not one of`) {
		t.Errorf("unknown scope: %v", err)
	}
	_, err = runCLI(t, "token", "revoke", "--data-dir", data, "--org", org, tok.OrgID.String())
	if store.CodeOf(err) != store.CodeNotFound {
		t.Errorf("revoking an unknown token: %v", err)
	}
}
