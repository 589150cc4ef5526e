-- Migration 2: remembered MAST searches and the TIC index (harvest).
-- MAST searches, remembered so that a later harvest within --max-age, or --offline, needs no query.
-- One row per (mission, target_name) that was searched; its observations' products are below.
CREATE TABLE mast_searches (
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
CREATE TABLE mast_products (
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
CREATE TABLE tic_index (
    id           BIGINT PRIMARY KEY,
    hpx          INTEGER NOT NULL,         -- HEALPix pixel (nested, order 5) of (ra, dec)
    data_file    VARCHAR NOT NULL,
    harvested_at TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR
);
