-- Migration 1: the catalog as first released (runs, products, data files, light-curve versions, quality tables).
-- Applied to <lake>/catalog.duckdb, attached as `lake`. Column meanings are documented in README.md ("The SQL surface").
-- Migrations run once each, in order, recorded in schema_migrations; never edit one that has shipped: add the next.

CREATE TABLE lake_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);

-- One row per import or harvest run.
CREATE TABLE runs (
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
CREATE TABLE products (
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
CREATE TABLE data_files (
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
CREATE TABLE lightcurve_versions (
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
CREATE TABLE quality_bits (
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

CREATE TABLE quality_masks (
    mission    VARCHAR NOT NULL,
    author     VARCHAR NOT NULL,
    preset     VARCHAR NOT NULL,
    sector_min INTEGER,
    sector_max INTEGER,
    bitmask    BIGINT NOT NULL
);
