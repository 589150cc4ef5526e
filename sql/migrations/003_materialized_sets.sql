-- Migration 3: named materialized sets and their members.
-- A named set: the selecting statement, the normalised options and the content hash over the
-- sorted (lc_id, file_sha256) pairs + options + SQL text; members record each light curve's
-- version, so `sets show` can say what changed in the lake since.
CREATE TABLE materialized_sets (
    name           VARCHAR PRIMARY KEY,
    content_hash   VARCHAR NOT NULL,
    sql_text       VARCHAR NOT NULL,
    options        JSON NOT NULL,
    key_kind       VARCHAR NOT NULL,       -- lc_id | tic_id | mission_target_id
    n_lightcurves  INTEGER NOT NULL,
    n_rows         BIGINT,
    output_path    VARCHAR,
    output_format  VARCHAR,
    manifest_path  VARCHAR,
    created_at     TIMESTAMPTZ NOT NULL,
    larun_lake_version VARCHAR
);

CREATE TABLE materialized_set_members (
    name        VARCHAR NOT NULL,
    lc_id       VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    data_rel    INTEGER,
    n_rows      BIGINT,
    PRIMARY KEY (name, lc_id)
);
