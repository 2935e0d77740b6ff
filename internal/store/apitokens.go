package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store/driver"
)

// API tokens (docs/api.md): the machine credentials of the HTTP API. A
// token is shown once, when issued; the store keeps its SHA-256 and its
// first characters (Prefix). The token carries its organization's id, so
// authenticating one runs under that tenant like every other read (on
// PostgreSQL, row-level security limits the lookup to that organization's
// tokens): no query ever looks across organizations.

// API token scopes: what a token may do. ScopeAll allows everything.
const (
	ScopeDevicesRead  = "devices:read"  // devices, their commands, firmware campaigns, readings
	ScopeDevicesWrite = "devices:write" // register, rotate secrets, decommission, configure, campaigns
	ScopeAlertsRead   = "alerts:read"   // list alerts
	ScopeAlertsWrite  = "alerts:write"  // acknowledge alerts
	ScopeERPRead      = "erp:read"      // ERP connections, their sync jobs and quarantined records
	ScopeERPWrite     = "erp:write"     // create, change, test and sync ERP connections; the mapping; uploads and journal entries
	// ScopeInventoryRead: sites, emission sources, activity records,
	// calculation runs, calculated emissions (with their explanation) and
	// emission totals.
	ScopeInventoryRead = "inventory:read"
	// ScopeInventoryWrite: create and change sites and emission sources;
	// upload activity files (calculated and stored as a run).
	ScopeInventoryWrite = "inventory:write"
	ScopeFactorsRead    = "factors:read"   // factor sets and their factors
	ScopeSuppliersRead  = "suppliers:read" // suppliers, products, purchase orders
	ScopeAuditRead      = "audit:read"     // the audit trail and its verification
	ScopeUsersRead      = "users:read"     // users, their roles, API tokens (never secrets)
	ScopeUsersWrite     = "users:write"    // create and change users and roles; issue and revoke API tokens
	// ScopeOrganizationsWrite: create organizations; the token's user
	// becomes the new organization's first admin.
	ScopeOrganizationsWrite = "organizations:write"
	// ScopePipelinesRead: pipelines, the organization's runs, task logs
	// and quality results; ScopePipelinesWrite: trigger, backfill and
	// clear runs.
	ScopePipelinesRead  = "pipelines:read"
	ScopePipelinesWrite = "pipelines:write"
	ScopeAll            = "*" // every scope, present and future
)

var apiScopes = []string{ScopeDevicesRead, ScopeDevicesWrite, ScopeAlertsRead, ScopeAlertsWrite, ScopeERPRead, ScopeERPWrite,
	ScopeInventoryRead, ScopeInventoryWrite, ScopeFactorsRead, ScopeSuppliersRead, ScopeAuditRead, ScopeUsersRead, ScopeUsersWrite, ScopeOrganizationsWrite,
	ScopePipelinesRead, ScopePipelinesWrite, ScopeAll}

// APIScopes lists the scopes a token may be given.
func APIScopes() []string { return slices.Clone(apiScopes) }

// APITokenPrefix starts every API token, so that one found in a log or a
// repository is recognisable (and secret scanners can match it).
const APITokenPrefix = "glt_"

// Layout of a token after APITokenPrefix: base64url (no padding) of 32
// random bytes followed by the organization id's 16 bytes.
const (
	apiTokenSecretLen = 32
	apiTokenEncLen    = (apiTokenSecretLen*8 + 16*8 + 5) / 6 // 64 characters
	// apiTokenPrefixLen is how much of the token is stored in the clear as
	// APIToken.Prefix: "glt_" and 8 characters (48 of the secret's 256 bits).
	apiTokenPrefixLen = len(APITokenPrefix) + 8
	// apiTokenTouchEvery is how often at most last_used_at is written.
	apiTokenTouchEvery = time.Minute
)

// Audit entity of API tokens (the collection's kind).
const EntityAPIToken = "api_token"

// Allows reports whether the token's own scopes grant scope: it lists it,
// or "*". A token issued for a user is further limited by the user's role
// (RoleAllows).
func (t *APIToken) Allows(scope string) bool {
	return slices.Contains(t.Scopes, scope) || slices.Contains(t.Scopes, ScopeAll)
}

// APITokenIssueParams is what APITokenIssue needs.
type APITokenIssueParams struct {
	// Name says what the token is for ("building-management sync").
	Name string
	// Scopes are among APIScopes(); at least one.
	Scopes []string
	// ExpiresAt is when the token stops working; nil never.
	ExpiresAt *time.Time
	// UserID is the user the token acts for, if any.
	UserID *uuid.UUID
}

// APITokenIssue issues org a new API token and returns it: the only time
// the token can be read. The issuing is in the audit trail (without the
// token or its hash).
func (s *Store) APITokenIssue(ctx context.Context, org uuid.UUID, p APITokenIssueParams) (string, *APIToken, error) {
	const op = "store: issuing an API token"
	if len(p.Scopes) == 0 {
		return "", nil, errorf(CodeInvalidArgument, op, "scopes: at least one of %s", strings.Join(apiScopes, ", "))
	}
	var scopes StringList
	for _, sc := range p.Scopes {
		if !slices.Contains(apiScopes, sc) {
			return "", nil, errorf(CodeInvalidArgument, op, "scopes: %q is not one of %s", sc, strings.Join(apiScopes, ", "))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if p.UserID != nil {
		u, err := s.c.users.Get(ctx, org, *p.UserID)
		if err != nil {
			if CodeOf(err) == CodeNotFound {
				return "", nil, errorf(CodeInvalidArgument, op, "user_id: no user %s in this organization", *p.UserID)
			}
			return "", nil, err
		}
		if u.Disabled {
			return "", nil, errorf(CodeInvalidArgument, op, "user_id: user %s is disabled", u.Email)
		}
		for _, sc := range scopes {
			if sc != ScopeAll && !RoleAllows(u.Role, sc) {
				return "", nil, errorf(CodeInvalidArgument, op, "scopes: %q is more than the role %s of user %s allows (%s)",
					sc, u.Role, u.Email, strings.Join(RoleScopes(u.Role), ", "))
			}
		}
	}
	now := s.nowUTC()
	if p.ExpiresAt != nil && !p.ExpiresAt.After(now) {
		return "", nil, errorf(CodeInvalidArgument, op, "expires_at %s is not in the future", p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	raw := make([]byte, apiTokenSecretLen, apiTokenSecretLen+16)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, &Error{Code: CodeUnavailable, Op: op, Err: err}
	}
	token := APITokenPrefix + base64.RawURLEncoding.EncodeToString(append(raw, org[:]...))
	h := sha256.Sum256([]byte(token))
	t := &APIToken{UserID: p.UserID, Name: strings.TrimSpace(p.Name), Prefix: token[:apiTokenPrefixLen], TokenHash: h[:],
		Scopes: scopes, ExpiresAt: p.ExpiresAt}
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		return s.c.apiTokens.createIn(ctx, q, org, t)
	})
	if err != nil {
		return "", nil, err
	}
	return token, t, nil
}

// APITokenOrg returns the organization a token was issued in, read from
// the token itself; false when token is not shaped like an API token.
func APITokenOrg(token string) (uuid.UUID, bool) {
	enc, ok := strings.CutPrefix(token, APITokenPrefix)
	if !ok || len(enc) != apiTokenEncLen {
		return uuid.Nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(b) != apiTokenSecretLen+16 {
		return uuid.Nil, false
	}
	org, err := uuid.FromBytes(b[apiTokenSecretLen:])
	if err != nil || org == uuid.Nil {
		return uuid.Nil, false
	}
	return org, true
}

// APITokenAuthenticate checks an API token and returns it, with its
// organization in OrgID. It fails with CodeNotFound, saying nothing more,
// when the token is malformed, unknown or wrong; with
// CodeFailedPrecondition when it is right but revoked or expired (the
// caller proved it holds the token, so it may learn why); with
// CodeUnavailable when the store cannot tell.
//
// The stored hash is compared in constant time. last_used_at is written at
// most once a minute per token, without an audit entry (it is telemetry,
// like a device's last_seen_at).
func (s *Store) APITokenAuthenticate(ctx context.Context, token string) (*APIToken, error) {
	const op = "store: authenticating an API token"
	refused := errorf(CodeNotFound, op, "unknown API token")
	org, ok := APITokenOrg(token)
	if !ok {
		return nil, refused
	}
	h := sha256.Sum256([]byte(token))
	var found *APIToken
	err := s.tenantTx(ctx, op, org, true, func(q driver.Querier) error {
		found = nil
		rows, err := q.Query(ctx, s.c.apiTokens.selectSQL+" WHERE org_id = $1 AND prefix = $2", org, token[:apiTokenPrefixLen])
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t := &APIToken{}
			if err := rows.Scan(s.c.apiTokens.dest(t)...); err != nil {
				return err
			}
			if subtle.ConstantTimeCompare(t.TokenHash, h[:]) == 1 {
				found = t
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, refused
	}
	now := s.nowUTC()
	switch {
	case found.RevokedAt != nil:
		return nil, errorf(CodeFailedPrecondition, op, "API token %s was revoked at %s", found.ID, found.RevokedAt.UTC().Format(time.RFC3339))
	case found.ExpiresAt != nil && !found.ExpiresAt.After(now):
		return nil, errorf(CodeFailedPrecondition, op, "API token %s expired at %s", found.ID, found.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if found.LastUsedAt == nil || now.Sub(*found.LastUsedAt) >= apiTokenTouchEvery {
		if err := s.touchAPIToken(ctx, org, found.ID, now); err != nil {
			// The token is good; a lost last_used_at is not worth a refused request.
			s.log.LogAttrs(ctx, slog.LevelWarn, "recording an API token's use failed",
				slog.String("org_id", org.String()), slog.String("token_id", found.ID.String()), slog.Any("err", err))
		} else {
			found.LastUsedAt = &now
		}
	}
	return found, nil
}

// touchAPIToken sets a token's last_used_at to now unless another request
// did within the last minute.
func (s *Store) touchAPIToken(ctx context.Context, org, id uuid.UUID, now time.Time) error {
	return s.tenantTx(ctx, "store: recording an API token's use", org, false, func(q driver.Querier) error {
		_, err := q.Exec(ctx, `UPDATE core.api_tokens SET last_used_at = $3
			WHERE org_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at <= $4)`,
			org, id, now, now.Add(-apiTokenTouchEvery))
		return err
	})
}

// APITokensList lists org's API tokens in the order they were issued,
// revoked and expired ones included. Neither a token nor its hash is ever
// returned.
func (s *Store) APITokensList(ctx context.Context, org uuid.UUID) ([]*APIToken, error) {
	out := []*APIToken{}
	err := s.c.apiTokens.Each(ctx, org, func(t *APIToken) error {
		t.TokenHash = nil
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// APITokenRevoke revokes an API token of org: it stops working at once.
// Revoking a revoked token changes nothing. It returns the token as it now
// is.
func (s *Store) APITokenRevoke(ctx context.Context, org, id uuid.UUID) (*APIToken, error) {
	const op = "store: revoking an API token"
	t := &APIToken{}
	err := s.tenantTx(ctx, op, org, false, func(q driver.Querier) error {
		if err := q.QueryRow(ctx, s.c.apiTokens.selectSQL+" WHERE org_id = $1 AND id = $2 FOR UPDATE", org, id).Scan(s.c.apiTokens.dest(t)...); err != nil {
			if s.d.IsNoRows(err) {
				return errorf(CodeNotFound, op, "API token %s is not in this organization", id)
			}
			return err
		}
		if t.RevokedAt != nil {
			return nil
		}
		old := *t
		now := s.nowUTC()
		t.RevokedAt, t.UpdatedAt = &now, now
		if _, err := q.Exec(ctx, "UPDATE core.api_tokens SET revoked_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2", org, id, now); err != nil {
			return err
		}
		return s.appendAudit(ctx, q, org, ActionRevoke, EntityAPIToken, id.String(), &old, t)
	})
	if err != nil {
		return nil, err
	}
	t.TokenHash = nil
	return t, nil
}

// APITokenPrincipal authenticates token as APITokenAuthenticate does and,
// when it was issued for a user, reads that user: a token of a disabled or
// removed user is refused with CodeFailedPrecondition, like a revoked one.
// The user is nil for a machine's token. The API and the dashboard's
// sessions both authenticate through it.
func (s *Store) APITokenPrincipal(ctx context.Context, token string) (*APIToken, *User, error) {
	const op = "store: authenticating an API token"
	tok, err := s.APITokenAuthenticate(ctx, token)
	if err != nil || tok.UserID == nil {
		return tok, nil, err
	}
	u, err := s.c.users.Get(ctx, tok.OrgID, *tok.UserID)
	switch {
	case CodeOf(err) == CodeNotFound || (err == nil && u.Disabled):
		return nil, nil, errorf(CodeFailedPrecondition, op, "API token %s acts for a user who is disabled or removed", tok.ID)
	case err != nil:
		return nil, nil, err
	}
	return tok, u, nil
}

// ParseTokenLifetime reads a token's lifetime as users give it: a number
// of days ("90d") or a Go duration ("12h", "30m"), positive.
func ParseTokenLifetime(s string) (time.Duration, error) {
	bad := fmt.Errorf("want a number of days such as 90d, or a duration such as 12h")
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days > 100*366 {
			return 0, bad
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("the lifetime must be positive")
	}
	return d, nil
}
