-- The catalog schema of version 3 as released (sql/schema.sql at commit 0fea321), plus a few rows of the
-- kind such a lake holds (its meta, a run, a quality mask): tests/test_migrations.py opens such a lake.

-- Catalog schema, version 1. Applied to <lake>/catalog.duckdb, attached as `lake`.
-- Column meanings are documented in README.md ("The SQL surface").

CREATE TABLE IF NOT EXISTS lake_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

-- One row per import or harvest run.
CREATE TABLE IF NOT EXISTS runs (
    run_id             VARCHAR PRIMARY KEY,
    command            VARCHAR NOT NULL,
    parameters         JSON,
    started_at         TIMESTAMPTZ NOT NULL,
    ended_at           TIMESTAMPTZ,
    status             VARCHAR,            -- running | ok | partial | interrupted | error
    n_files            INTEGER DEFAULT 0,
    n_ingested         INTEGER DEFAULT 0,
    n_unchanged        INTEGER DEFAULT 0,
    n_superseded       INTEGER DEFAULT 0,
    n_skipped          INTEGER DEFAULT 0,
    n_failed           INTEGER DEFAULT 0,
    n_quarantined      INTEGER DEFAULT 0,
    n_cadences         BIGINT DEFAULT 0,
    bytes_read         BIGINT DEFAULT 0,
    mast_url           VARCHAR,
    host               VARCHAR,
    pid                INTEGER,
    larun_lake_version VARCHAR,
    python_version     VARCHAR,
    astropy_version    VARCHAR,
    lightkurve_version VARCHAR,
    astroquery_version VARCHAR,
    duckdb_version     VARCHAR,
    pyarrow_version    VARCHAR,
    fitsio_version     VARCHAR
);

-- Cache state of every product (file) the lake knows of, for any MAST product type.
CREATE TABLE IF NOT EXISTS products (
    product_uri    VARCHAR PRIMARY KEY,    -- mast:... data URI, or file:///absolute/path for imports
    product_type   VARCHAR,                -- lightcurve | target_pixel | derived | unknown
    state          VARCHAR NOT NULL CHECK (state IN
                   ('known', 'downloaded', 'ingested', 'skipped', 'failed', 'quarantined', 'superseded')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     VARCHAR,
    mission        VARCHAR,
    author         VARCHAR,
    target_id      BIGINT,
    obs_collection VARCHAR,
    obs_id         VARCHAR,
    file_name      VARCHAR,
    local_path     VARCHAR,
    size_bytes     BIGINT,                 -- size of the local file
    expected_size  BIGINT,                 -- size MAST lists
    sha256         VARCHAR,
    lc_id          VARCHAR,
    first_seen     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    run_id         VARCHAR
);

-- Every Parquet file the lake has written; views read only these.
CREATE TABLE IF NOT EXISTS data_files (
    path          VARCHAR PRIMARY KEY,     -- relative to the lake root, forward slashes
    area          VARCHAR NOT NULL,        -- cadences | history | tic
    mission       VARCHAR,
    author        VARCHAR,
    period        VARCHAR,
    n_rows        BIGINT NOT NULL,
    n_lightcurves INTEGER NOT NULL,
    size_bytes    BIGINT NOT NULL,
    sha256        VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR
);

-- Every version (file) of every light curve; `lightcurves` shows the current ones.
CREATE TABLE IF NOT EXISTS lightcurve_versions (
    lc_id               VARCHAR NOT NULL,
    file_sha256         VARCHAR NOT NULL,
    is_current          BOOLEAN NOT NULL,
    mission             VARCHAR NOT NULL,
    author              VARCHAR NOT NULL,
    target_id           BIGINT NOT NULL,
    tic_id              BIGINT,
    sector              INTEGER,
    quarter             INTEGER,
    campaign            INTEGER,
    period              VARCHAR NOT NULL,
    segment             VARCHAR,
    exptime_s           INTEGER NOT NULL,
    cadence_s           DOUBLE,
    n_cadences          INTEGER NOT NULL,
    n_good              INTEGER NOT NULL,
    time_start          DOUBLE,
    time_stop           DOUBLE,
    bjdrefi             INTEGER,
    bjdreff             DOUBLE,
    ra                  DOUBLE,
    dec                 DOUBLE,
    tmag                DOUBLE,
    kepmag              DOUBLE,
    teff                DOUBLE,
    logg                DOUBLE,
    radius              DOUBLE,
    camera              INTEGER,
    ccd                 INTEGER,
    procver             VARCHAR,
    data_rel            INTEGER,
    filever             VARCHAR,
    file_date           VARCHAR,
    cdpp_0_5h           DOUBLE,
    cdpp_1h             DOUBLE,
    cdpp_2h             DOUBLE,
    flux_column         VARCHAR,           -- the file column that became `flux`
    flux_err_column     VARCHAR,
    flux_unit           VARCHAR,
    median_flux_none    DOUBLE,            -- nanmedian of flux after each preset's mask (normalisation)
    median_flux_default DOUBLE,
    median_flux_hard    DOUBLE,
    median_flux_hardest DOUBLE,
    dropped_columns     VARCHAR,           -- non-standard columns a tool added to the file
    checksum_ok         BOOLEAN,           -- NULL when the file carries no CHECKSUM
    file_name           VARCHAR NOT NULL,
    file_size           BIGINT NOT NULL,
    source_path         VARCHAR,
    data_uri            VARCHAR,
    data_file           VARCHAR NOT NULL,  -- data_files.path holding the rows
    row_offset          BIGINT NOT NULL,
    row_count           BIGINT NOT NULL,
    ingested_at         TIMESTAMPTZ NOT NULL,
    superseded_at       TIMESTAMPTZ,
    superseded_by       VARCHAR,           -- file_sha256 of the newer version
    run_id              VARCHAR,
    PRIMARY KEY (lc_id, file_sha256)
);

-- QUALITY bits and preset bitmasks, generated from lightkurve's flag classes.
CREATE TABLE IF NOT EXISTS quality_bits (
    mission     VARCHAR NOT NULL,
    author      VARCHAR NOT NULL,
    bit         INTEGER NOT NULL,
    value       BIGINT NOT NULL,
    name        VARCHAR NOT NULL,
    description VARCHAR,
    in_default  BOOLEAN NOT NULL,
    in_hard     BOOLEAN NOT NULL,
    in_hardest  BOOLEAN NOT NULL,
    sector_min  INTEGER,
    sector_max  INTEGER
);

CREATE TABLE IF NOT EXISTS quality_masks (
    mission    VARCHAR NOT NULL,
    author     VARCHAR NOT NULL,
    preset     VARCHAR NOT NULL,
    sector_min INTEGER,
    sector_max INTEGER,
    bitmask    BIGINT NOT NULL
);

-- MAST searches, remembered so that a later harvest within --max-age, or --offline, needs no query.
-- One row per (mission, target_name) that was searched; its observations' products are below.
CREATE TABLE IF NOT EXISTS mast_searches (
    mission        VARCHAR NOT NULL,
    target_name    VARCHAR NOT NULL,       -- MAST target_name: TIC digits, kplr%09d, ktwo%09d
    fetched_at     TIMESTAMPTZ NOT NULL,
    n_observations INTEGER NOT NULL,
    n_products     INTEGER NOT NULL,
    mast_url       VARCHAR,
    run_id         VARCHAR,
    PRIMARY KEY (mission, target_name)
);

-- Light-curve products MAST listed for the searched targets.
CREATE TABLE IF NOT EXISTS mast_products (
    data_uri         VARCHAR PRIMARY KEY,
    mission          VARCHAR NOT NULL,
    author           VARCHAR,
    target_name      VARCHAR NOT NULL,
    target_id        BIGINT,
    obsid            VARCHAR,
    obs_id           VARCHAR,
    obs_collection   VARCHAR,
    period_number    INTEGER,              -- sector, quarter or campaign where MAST says
    exptime_s        DOUBLE,
    product_filename VARCHAR NOT NULL,
    size_bytes       BIGINT,
    description      VARCHAR,
    fetched_at       TIMESTAMPTZ NOT NULL
);

-- Where each TIC row lives; the `tic` view reads the registered tic/ files.
CREATE TABLE IF NOT EXISTS tic_index (
    id           BIGINT PRIMARY KEY,
    hpx          INTEGER NOT NULL,         -- HEALPix pixel (nested, order 5) of (ra, dec)
    data_file    VARCHAR NOT NULL,
    harvested_at TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR
);

-- Materialized sets
-- A named set: the selecting statement, the normalised options and the content hash over the
-- sorted (lc_id, file_sha256) pairs + options + SQL text; members record each light curve's
-- version, so `sets show` can say what changed in the lake since.
CREATE TABLE IF NOT EXISTS materialized_sets (
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

CREATE TABLE IF NOT EXISTS materialized_set_members (
    name        VARCHAR NOT NULL,
    lc_id       VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    data_rel    INTEGER,
    n_rows      BIGINT,
    PRIMARY KEY (name, lc_id)
);

INSERT INTO lake_meta VALUES ('schema_version', '3'), ('created_at', '2026-11-25T00:02:42.000000+00:00');
INSERT INTO runs (run_id, command, parameters, started_at, ended_at, status, n_files, n_ingested)
    VALUES ('20261125T000242-165e25', 'import', '{"paths": ["samples"]}', '2026-11-25 00:02:42+00', '2026-11-25 00:02:43+00', 'ok', 5, 5);
INSERT INTO quality_masks VALUES ('TESS', 'SPOC', 'default', NULL, NULL, 175);
