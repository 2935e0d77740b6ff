-- The organizations an e-mail address holds an enabled account in, for
-- the dashboard's organization switcher (see the PostgreSQL migration).

-- +goose Up
CREATE VIEW core_user_directory AS
    SELECT u.email, u.id AS user_id, u.org_id, o.slug, o.name
    FROM core_users u JOIN core_organizations o ON o.id = u.org_id
    WHERE NOT u.disabled AND u.role <> 'device';

-- +goose Down
DROP VIEW core_user_directory;
