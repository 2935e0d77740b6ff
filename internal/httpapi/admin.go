package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/password"
	"github.com/greenlang/greenlang/internal/store"
)

// The organization, its users and roles, API tokens and the audit trail
// (docs/api.md, "Users, tokens and the audit trail").

// organizationShow answers GET /api/v1/organization: the organization the
// request acts in.
func (a *api) organizationShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	o, err := a.st.OrganizationGet(r.Context(), tok.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// organizationRequest is the body of POST /api/v1/organizations.
type organizationRequest struct {
	Name string `json:"name"`
	// Slug is the short unique name the dashboard's login and switcher use
	// (lower-case letters, digits, dashes).
	Slug                 string `json:"slug"`
	Country              string `json:"country,omitempty"`
	IndustryNAICS        string `json:"industry_naics,omitempty"`
	ReportingCurrency    string `json:"reporting_currency,omitempty"`
	FiscalYearStartMonth int    `json:"fiscal_year_start_month,omitempty"`
}

// organizationCreated answers POST /api/v1/organizations.
type organizationCreated struct {
	Organization *store.Organization `json:"organization"`
	// Admin is the new organization's first admin: the token's user, with
	// the same e-mail address, name and password.
	Admin *store.User `json:"admin"`
}

// organizationCreate answers POST /api/v1/organizations: a new tenant
// whose first admin is the token's user (same e-mail, name and password,
// so the dashboard's organization switcher offers it), created together
// in one transaction. A machine's token (no user) cannot create one: the
// organization would have no one to run it.
func (a *api) organizationCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req organizationRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if tok.UserID == nil {
		return &requestError{typ: ProblemConflict, status: http.StatusConflict,
			detail: "this token is not a user's: an organization is created by a person, who becomes its first admin"}
	}
	me, err := a.st.Users().Get(r.Context(), tok.OrgID, *tok.UserID)
	if err != nil {
		return err
	}
	for _, f := range []struct{ field, v string }{{"name", req.Name}, {"slug", req.Slug}} {
		if strings.TrimSpace(f.v) == "" {
			return invalid(f.field, "%s is required", f.field)
		}
	}
	o := &store.Organization{Name: strings.TrimSpace(req.Name), Slug: req.Slug, Country: strings.ToUpper(req.Country),
		IndustryNAICS: req.IndustryNAICS, ReportingCurrency: strings.ToUpper(req.ReportingCurrency), FiscalYearStartMonth: req.FiscalYearStartMonth}
	admin := &store.User{Email: me.Email, DisplayName: me.DisplayName, PasswordHash: me.PasswordHash}
	if err := a.st.OrganizationCreateWithAdmin(r.Context(), o, admin); err != nil {
		return conflictOn(err, "slug", "an organization with slug "+strconv.Quote(req.Slug)+" already exists")
	}
	writeJSON(w, http.StatusCreated, organizationCreated{Organization: o, Admin: admin})
	return nil
}

// userRequest is the body of POST /api/v1/users and PATCH
// /api/v1/users/{id}; on a PATCH, absent fields are left as they are.
type userRequest struct {
	Email       *string `json:"email"`
	DisplayName *string `json:"display_name"`
	// Role is one of admin, analyst, auditor, data_steward, viewer, device.
	Role *string `json:"role"`
	// Password sets the password the user logs in to the dashboard with:
	// at least 12 characters. It is stored as an argon2id hash only.
	Password *string `json:"password"`
	Disabled *bool   `json:"disabled"`
}

// apply sets u's fields from the request and checks them.
func (q *userRequest) apply(u *store.User, hashing password.Params) error {
	if q.Email != nil {
		u.Email = strings.ToLower(strings.TrimSpace(*q.Email))
	}
	if q.DisplayName != nil {
		u.DisplayName = strings.TrimSpace(*q.DisplayName)
	}
	if q.Role != nil {
		u.Role = *q.Role
	}
	if q.Disabled != nil {
		u.Disabled = *q.Disabled
	}
	switch {
	case u.Email == "":
		return invalid("email", "email is required")
	case !strings.Contains(u.Email, "@"):
		return invalid("email", "email %q is not an address", u.Email)
	case !slices.Contains(store.Roles(), u.Role):
		return invalid("role", "role %q: want one of %s", u.Role, strings.Join(store.Roles(), ", "))
	}
	if q.Password != nil {
		h, err := password.Hash(*q.Password, hashing)
		if err != nil {
			return invalid("password", "%v", err)
		}
		u.PasswordHash = h
	}
	return nil
}

// usersList answers GET /api/v1/users?role=&disabled=.
func (a *api) usersList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	f := listFilter{where: map[string]any{}}
	q := r.URL.Query()
	if s := q.Get("role"); s != "" {
		if !slices.Contains(store.Roles(), s) {
			return badRequest("role", "role %q: want one of %s", s, strings.Join(store.Roles(), ", "))
		}
		f.where["role"] = s
	}
	if err := queryBool(r, "disabled", "disabled", f.where); err != nil {
		return err
	}
	f.sorts = userSorts
	return listPage(w, r, a.st.Users(), tok.OrgID, f, nil)
}

// userCreate answers POST /api/v1/users: 201 and the user.
func (a *api) userCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req userRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	u := &store.User{}
	if err := req.apply(u, a.hashing); err != nil {
		return err
	}
	if err := a.st.Users().Create(r.Context(), tok.OrgID, u); err != nil {
		return conflictOn(err, "email", "the organization already has a user "+u.Email)
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// userShow answers GET /api/v1/users/{id}.
func (a *api) userShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	return showRecord(w, r, a.st.Users(), tok.OrgID)
}

// userUpdate answers PATCH /api/v1/users/{id}: the changed user. A token
// cannot take away its own user's admin role or disable its own user, so
// an organization is never left without the admin who made the change.
func (a *api) userUpdate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req userRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	u, err := a.st.Users().Get(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	if tok.UserID != nil && *tok.UserID == id {
		if req.Role != nil && *req.Role != u.Role {
			return &requestError{typ: ProblemConflict, status: http.StatusConflict, field: "role", detail: "a user cannot change their own role"}
		}
		if req.Disabled != nil && *req.Disabled {
			return &requestError{typ: ProblemConflict, status: http.StatusConflict, field: "disabled", detail: "a user cannot disable themselves"}
		}
	}
	if err := req.apply(u, a.hashing); err != nil {
		return err
	}
	if err := a.st.Users().Update(r.Context(), tok.OrgID, u); err != nil {
		return conflictOn(err, "email", "the organization already has a user "+u.Email)
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// UserID makes the token act for that user: it then never does more
	// than the user's role allows, and stops with the user.
	UserID *uuid.UUID `json:"user_id"`
	// ExpiresIn is a duration (2160h) or days (90d); empty: never.
	ExpiresIn string `json:"expires_in"`
}

// tokenIssued is the answer to POST /api/v1/tokens: the token's record
// and, this once, the token itself.
type tokenIssued struct {
	*store.APIToken
	Token string `json:"token"`
}

// tokensList answers GET /api/v1/tokens: every token of the organization,
// never a secret or a hash.
func (a *api) tokensList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	ts, err := a.st.APITokensList(r.Context(), tok.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listResponse[*store.APIToken]{Items: ts})
	return nil
}

// tokenCreate answers POST /api/v1/tokens: 201, the token (shown this
// once) and its record.
func (a *api) tokenCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req tokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return invalid("name", "name is required: say what the token is for")
	}
	p := store.APITokenIssueParams{Name: req.Name, Scopes: req.Scopes, UserID: req.UserID}
	if req.ExpiresIn != "" {
		d, err := store.ParseTokenLifetime(req.ExpiresIn)
		if err != nil {
			return badRequest("expires_in", "expires_in %q: %v", req.ExpiresIn, err)
		}
		t := time.Now().Add(d).UTC().Truncate(time.Second)
		p.ExpiresAt = &t
	}
	// A token never grants more than the one issuing it.
	for _, sc := range req.Scopes {
		if !tok.Allows(sc) {
			return &requestError{typ: ProblemForbidden, status: http.StatusForbidden, field: "scopes",
				detail: "scope " + strconv.Quote(sc) + " is more than the issuing token has"}
		}
	}
	raw, t, err := a.st.APITokenIssue(r.Context(), tok.OrgID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, tokenIssued{APIToken: t, Token: raw})
	return nil
}

// tokenRevoke answers POST /api/v1/tokens/{id}/revoke: the revoked token.
func (a *api) tokenRevoke(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := a.st.APITokenRevoke(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// auditPage is a page of the audit trail: entries in sequence order and,
// when there may be more, the sequence number to pass as ?after=.
type auditPage struct {
	Items     []audit.Entry `json:"items"`
	NextAfter string        `json:"next_after,omitempty"`
}

// auditList answers GET /api/v1/audit?after=&limit=: the organization's
// audit trail after sequence number after, oldest first.
func (a *api) auditList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	limit, err := queryLimit(r, 100, MaxListLimit)
	if err != nil {
		return err
	}
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return badRequest("after", "after %q: want a sequence number (0 or more)", s)
		}
	}
	es, err := a.st.AuditEntries(r.Context(), tok.OrgID, after, limit)
	if err != nil {
		return err
	}
	out := auditPage{Items: es}
	if out.Items == nil {
		out.Items = []audit.Entry{}
	}
	if len(es) == limit {
		out.NextAfter = strconv.FormatInt(es[len(es)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// auditVerification is the answer to GET /api/v1/audit/verify.
type auditVerification struct {
	store.AuditReport
	OK bool `json:"ok"`
}

// auditVerify answers GET /api/v1/audit/verify: the whole trail re-read and
// every link recomputed; ok false names the first broken link.
func (a *api) auditVerify(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	rep, err := a.st.VerifyAudit(r.Context(), tok.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditVerification{AuditReport: rep, OK: rep.OK()})
	return nil
}
