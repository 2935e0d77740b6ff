-- Indexes and keys that made bulk loads slow.
--
-- The foreign keys into the partitioned tables (a result's activity record,
-- a purchase-order line's order) are checked per row by a cached query,
-- WHERE org_id = $1 AND id = $2 AND period_start = $3, and bulk loads run
-- it as a generic plan (plan_cache_mode, see pgstore's copy.go). Planned
-- while a partition is small or not yet analyzed, the planner rated the
-- (org_id, source_id, period_start) index as good as the unique
-- (org_id, id, period_start) one and took it, filtering on id: every check
-- then read every row of the organization and period, and the plan stayed
-- cached for the connection. A run of 20,000 rows whose first chunk was
-- 500 took 26 s instead of 1.2 s, growing with each run. The secondary
-- indexes now lead with the source (supplier) id, which is unique across
-- organizations anyway, so the key's own index is the only one that fits.
--
-- The GIN indexes on activity records' attributes and calculated
-- emissions' lineage served no query: nothing searches either document by
-- containment, and every row a calculation run writes paid for them
-- (lineage holds each result's own quantity and amount, so nearly every
-- entry was new). A query that needs one gets an index made for it.
-- Supplier search keeps its GIN indexes (the seed's text search).
--
-- Activity records, results and ERP records each had a foreign key to
-- core.organizations beside a composite one through a parent of the same
-- organization, (org_id, source_id), (org_id, run_id) and
-- (org_id, connection_id), all NOT NULL: the organization exists because
-- the parent's own org_id references it. The direct key was checked again
-- for every row (one lookup and share-lock of the organization's row,
-- about 7 µs each: 0.3 s of a 20,000-row run) and proved nothing more.

-- +goose Up
DROP INDEX emissions.activity_records_source;
CREATE INDEX activity_records_source ON emissions.activity_records (source_id, period_start);
DROP INDEX supply_chain.purchase_orders_supplier;
CREATE INDEX purchase_orders_supplier ON supply_chain.purchase_orders (supplier_id, order_date);
DROP INDEX emissions.activity_records_attributes;
DROP INDEX emissions.calculated_emissions_lineage;
ALTER TABLE emissions.activity_records DROP CONSTRAINT activity_records_org_id_fkey;
ALTER TABLE emissions.calculated_emissions DROP CONSTRAINT calculated_emissions_org_id_fkey;
ALTER TABLE integration.erp_records DROP CONSTRAINT erp_records_org_id_fkey;

-- +goose Down
ALTER TABLE emissions.activity_records ADD CONSTRAINT activity_records_org_id_fkey FOREIGN KEY (org_id) REFERENCES core.organizations (id);
ALTER TABLE emissions.calculated_emissions ADD CONSTRAINT calculated_emissions_org_id_fkey FOREIGN KEY (org_id) REFERENCES core.organizations (id);
ALTER TABLE integration.erp_records ADD CONSTRAINT erp_records_org_id_fkey FOREIGN KEY (org_id) REFERENCES core.organizations (id);
DROP INDEX emissions.activity_records_source;
CREATE INDEX activity_records_source ON emissions.activity_records (org_id, source_id, period_start);
DROP INDEX supply_chain.purchase_orders_supplier;
CREATE INDEX purchase_orders_supplier ON supply_chain.purchase_orders (org_id, supplier_id, order_date);
CREATE INDEX activity_records_attributes ON emissions.activity_records USING gin (attributes jsonb_path_ops);
CREATE INDEX calculated_emissions_lineage ON emissions.calculated_emissions USING gin (lineage jsonb_path_ops);
