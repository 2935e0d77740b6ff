-- The dashboard's login names the organization by its slug: the directory
-- view (readable by the application role across tenants, ids only until
-- now) also shows each organization's slug, so a login can find its
-- tenant before it is in one. Nothing else of an organization is shown.

-- +goose Up
CREATE OR REPLACE VIEW core.organization_directory AS SELECT id, slug FROM core.organizations;

-- +goose Down
DROP VIEW core.organization_directory;
CREATE VIEW core.organization_directory AS SELECT id FROM core.organizations;
GRANT SELECT ON core.organization_directory TO greenlang_app;
