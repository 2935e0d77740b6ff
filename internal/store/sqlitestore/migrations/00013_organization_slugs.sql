-- The dashboard's login names the organization by its slug: the directory
-- view also shows each organization's slug.

-- +goose Up
DROP VIEW core_organization_directory;
CREATE VIEW core_organization_directory AS SELECT id, slug FROM core_organizations;

-- +goose Down
DROP VIEW core_organization_directory;
CREATE VIEW core_organization_directory AS SELECT id FROM core_organizations;
