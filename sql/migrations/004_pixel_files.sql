-- Migration 4: target pixel files and TESScut cutouts.
-- A pixel file is a product like any other (products.product_type 'target_pixel' or 'ffi_cutout'); its
-- FITS file is kept in the raw area and described here, one row per file version. The light curves made
-- from it are ordinary light-curve versions, with the aperture that made them.

-- Which pixels were summed: ap-pipeline | ap-threshold | ap-all | ap-<first 8 hex of the mask's sha256>.
ALTER TABLE lightcurve_versions ADD COLUMN aperture VARCHAR;
ALTER TABLE lightcurve_versions ADD COLUMN n_aperture_pixels INTEGER;
-- The pixel file a light curve was made from. Its own file_sha256 is then the hash of that file's hash
-- and the aperture, since one file gives one light curve per aperture and each is a version of its own.
ALTER TABLE lightcurve_versions ADD COLUMN pixel_sha256 VARCHAR;
-- A cutout of a position that is not a known TIC star has no target id.
ALTER TABLE lightcurve_versions ALTER COLUMN target_id DROP NOT NULL;

-- What MAST lists now includes pipeline target pixel files beside light curves (NULL: a light curve).
ALTER TABLE mast_products ADD COLUMN product_type VARCHAR;

CREATE TABLE pixel_file_versions (
    file_sha256     VARCHAR PRIMARY KEY,
    pixel_id        VARCHAR NOT NULL,      -- the product's identity, e.g. TESS:SPOC:25155310:s0001:120
    product_type    VARCHAR NOT NULL,      -- target_pixel | ffi_cutout
    mission         VARCHAR NOT NULL,
    author          VARCHAR NOT NULL,      -- the pipeline (SPOC, Kepler, K2) or TESScut
    target_id       BIGINT,
    tic_id          BIGINT,
    sector          INTEGER,
    quarter         INTEGER,
    campaign        INTEGER,
    period          VARCHAR NOT NULL,
    camera          INTEGER,
    ccd             INTEGER,
    n_rows          INTEGER NOT NULL,      -- stamp (cutout) shape in pixels
    n_cols          INTEGER NOT NULL,
    cutout_size     VARCHAR,               -- '<cols>x<rows>' of a TESScut request
    exptime_s       INTEGER,
    cadence_s       DOUBLE,
    n_cadences      INTEGER NOT NULL,
    time_start      DOUBLE,
    time_stop       DOUBLE,
    bjdrefi         INTEGER,
    bjdreff         DOUBLE,
    ra              DOUBLE,                -- RA_OBJ / DEC_OBJ: the target, or the requested position
    dec             DOUBLE,
    wcs_ra          DOUBLE,                -- the sky position of the stamp's centre, from its WCS
    wcs_dec         DOUBLE,
    corner_column   INTEGER,               -- detector column and row of the stamp's first pixel
    corner_row      INTEGER,
    pipeline_pixels INTEGER,               -- pixels of the pipeline's optimal aperture (0 for cutouts)
    default_aperture VARCHAR,              -- the aperture of the light curve made at ingest
    default_aperture_pixels INTEGER,
    procver         VARCHAR,
    data_rel        INTEGER,
    file_date       VARCHAR,
    checksum_ok     BOOLEAN,
    raw_path        VARCHAR NOT NULL,      -- the kept FITS file, relative to the lake root
    file_name       VARCHAR NOT NULL,
    file_size       BIGINT NOT NULL,
    source_path     VARCHAR,
    data_uri        VARCHAR,
    ingested_at     TIMESTAMPTZ NOT NULL,
    run_id          VARCHAR
);
