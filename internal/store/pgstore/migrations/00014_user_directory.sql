-- A person may hold an account (a user) in several organizations under one
-- e-mail address: the dashboard's organization switcher and a login that
-- names no organization find them before they are in a tenant. The view is
-- readable by the application role across tenants and shows only which
-- organizations an enabled, non-device e-mail address belongs to; the
-- password is still checked inside each tenant.

-- +goose Up
CREATE VIEW core.user_directory AS
    SELECT u.email, u.id AS user_id, u.org_id, o.slug, o.name
    FROM core.users u JOIN core.organizations o ON o.id = u.org_id
    WHERE NOT u.disabled AND u.role <> 'device';
GRANT SELECT ON core.user_directory TO greenlang_app;

-- +goose Down
DROP VIEW core.user_directory;
