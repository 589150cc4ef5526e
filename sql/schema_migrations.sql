-- Which numbered migrations of sql/migrations/ a catalog has had (created before the first one runs).
-- applied_at is NULL for migrations a lake had before they were recorded here (its lake_meta
-- schema_version said so); lake_meta.schema_version is kept equal to the highest version applied.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ
);
