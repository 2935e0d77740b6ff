package store

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/audit"
	"github.com/greenlang/greenlang/internal/store/driver"
)

const orgColumns = `id, name, slug, country, industry_naics, reporting_currency, fiscal_year_start_month, settings, created_at, updated_at`

func (o *Organization) dest() []any {
	return []any{&o.ID, &o.Name, &o.Slug, &o.Country, &o.IndustryNAICS, &o.ReportingCurrency,
		&o.FiscalYearStartMonth, &o.Settings, &o.CreatedAt, &o.UpdatedAt}
}

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (o *Organization) validate() error {
	switch {
	case o.Name == "":
		return errors.New("name is required")
	case !slugRE.MatchString(o.Slug):
		return errors.New("slug must be 1-63 lowercase letters, digits or dashes")
	case o.FiscalYearStartMonth < 1 || o.FiscalYearStartMonth > 12:
		return errors.New("fiscal_year_start_month must be 1-12")
	case len(o.ReportingCurrency) != 3:
		return errors.New("reporting_currency must be an ISO 4217 code")
	}
	return nil
}

func (o *Organization) withDefaults() {
	if o.ReportingCurrency == "" {
		o.ReportingCurrency = "EUR"
	}
	if o.FiscalYearStartMonth == 0 {
		o.FiscalYearStartMonth = 1
	}
}

// OrganizationCreate stores a new tenant and starts its audit trail.
func (s *Store) OrganizationCreate(ctx context.Context, o *Organization) error {
	return s.OrganizationCreateWithAdmin(ctx, o, nil)
}

// OrganizationCreateWithAdmin creates a tenant and, when admin is not nil,
// its first user with the admin role, in one transaction: both exist or
// neither.
func (s *Store) OrganizationCreateWithAdmin(ctx context.Context, o *Organization, admin *User) error {
	const op = "store: creating organization"
	if o.ID == uuid.Nil {
		o.ID = newID()
	}
	o.withDefaults()
	if err := o.validate(); err != nil {
		return &Error{Code: CodeInvalidArgument, Op: op, Msg: err.Error()}
	}
	now := s.nowUTC()
	o.CreatedAt, o.UpdatedAt = now, now
	return s.tenantTx(ctx, op, o.ID, false, func(q driver.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO core.organizations (`+orgColumns+`, audit_seq, audit_head)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)`,
			o.ID, o.Name, o.Slug, o.Country, o.IndustryNAICS, o.ReportingCurrency, o.FiscalYearStartMonth,
			o.Settings, o.CreatedAt, o.UpdatedAt, []byte{}); err != nil {
			return err
		}
		if err := s.appendAudit(ctx, q, o.ID, audit.ActionCreate, "organization", o.ID.String(), nil, o); err != nil {
			return err
		}
		if admin == nil {
			return nil
		}
		admin.Role = RoleAdmin
		return s.Users().createIn(ctx, q, o.ID, admin)
	})
}

// OrganizationGet reads a tenant.
func (s *Store) OrganizationGet(ctx context.Context, id uuid.UUID) (*Organization, error) {
	o := new(Organization)
	err := s.tenantTx(ctx, "store: reading organization", id, true, func(q driver.Querier) error {
		return q.QueryRow(ctx, "SELECT "+orgColumns+" FROM core.organizations WHERE id = $1", id).Scan(o.dest()...)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// OrganizationUpdate changes a tenant's name, slug and settings.
func (s *Store) OrganizationUpdate(ctx context.Context, o *Organization) error {
	const op = "store: updating organization"
	o.withDefaults()
	if err := o.validate(); err != nil {
		return &Error{Code: CodeInvalidArgument, Op: op, Msg: err.Error()}
	}
	o.UpdatedAt = s.nowUTC()
	return s.tenantTx(ctx, op, o.ID, false, func(q driver.Querier) error {
		old := new(Organization)
		if err := q.QueryRow(ctx, "SELECT "+orgColumns+" FROM core.organizations WHERE id = $1 FOR UPDATE", o.ID).Scan(old.dest()...); err != nil {
			return err
		}
		o.CreatedAt = old.CreatedAt
		if _, err := q.Exec(ctx, `UPDATE core.organizations SET name = $2, slug = $3, country = $4, industry_naics = $5,
			reporting_currency = $6, fiscal_year_start_month = $7, settings = $8, updated_at = $9 WHERE id = $1`,
			o.ID, o.Name, o.Slug, o.Country, o.IndustryNAICS, o.ReportingCurrency, o.FiscalYearStartMonth, o.Settings, o.UpdatedAt); err != nil {
			return err
		}
		return s.appendAudit(ctx, q, o.ID, audit.ActionUpdate, "organization", o.ID.String(), old, o)
	})
}

// OrganizationIDs lists every tenant, for platform work that visits each one
// (audit verification, scheduled pipelines). It reveals ids only.
func (s *Store) OrganizationIDs(ctx context.Context) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.systemTx(ctx, "store: listing organizations", true, func(q driver.Querier) error {
		ids = ids[:0]
		rows, err := q.Query(ctx, "SELECT id FROM core.organization_directory ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// OrganizationIDBySlug finds the organization with slug, for a login that
// names it; CodeNotFound when there is none.
func (s *Store) OrganizationIDBySlug(ctx context.Context, slug string) (uuid.UUID, error) {
	const op = "store: finding an organization by slug"
	var id uuid.UUID
	err := s.systemTx(ctx, op, true, func(q driver.Querier) error {
		return q.QueryRow(ctx, "SELECT id FROM core.organization_directory WHERE slug = $1", slug).Scan(&id)
	})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// Account is an enabled user account of a person (an e-mail address) in
// one organization.
type Account struct {
	OrgID   uuid.UUID `json:"organization_id"`
	OrgSlug string    `json:"organization_slug"`
	OrgName string    `json:"organization_name"`
	UserID  uuid.UUID `json:"user_id"`
}

// MaxAccounts bounds the accounts AccountsByEmail returns.
const MaxAccounts = 20

// AccountsByEmail lists the organizations where email has an enabled
// account that is not a device's, by organization name (at most
// MaxAccounts), for the dashboard's organization switcher. It reads the
// user directory across tenants: ids, slugs and names only; whoever acts
// on an account must still prove it (a password checked in the tenant, or
// an identity provider's verified e-mail).
func (s *Store) AccountsByEmail(ctx context.Context, email string) ([]Account, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var out []Account
	err := s.systemTx(ctx, "store: finding the accounts of an e-mail address", true, func(q driver.Querier) error {
		out = out[:0]
		rows, err := q.Query(ctx, "SELECT org_id, slug, name, user_id FROM core.user_directory WHERE email = $1 ORDER BY name, slug LIMIT $2", email, MaxAccounts)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a Account
			if err := rows.Scan(&a.OrgID, &a.OrgSlug, &a.OrgName, &a.UserID); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	return out, err
}
