-- Migration 5: observations and products of any MAST collection (HST, JWST, ...), spectra,
-- spectral time series and images.

-- One row per CAOM observation, with the fields MAST returns (obsid as MAST gives it).
CREATE TABLE observations (
    obsid                 VARCHAR PRIMARY KEY,
    obs_collection        VARCHAR,
    obs_id                VARCHAR,
    intentType            VARCHAR,
    provenance_name       VARCHAR,
    instrument_name       VARCHAR,
    project               VARCHAR,
    filters               VARCHAR,
    wavelength_region     VARCHAR,
    target_name           VARCHAR,
    target_classification VARCHAR,
    s_ra                  DOUBLE,
    s_dec                 DOUBLE,
    s_region              VARCHAR,
    dataproduct_type      VARCHAR,
    calib_level           INTEGER,
    t_min                 DOUBLE,              -- MJD
    t_max                 DOUBLE,
    t_exptime             DOUBLE,              -- seconds
    em_min                DOUBLE,              -- nm
    em_max                DOUBLE,
    t_obs_release         DOUBLE,
    proposal_id           VARCHAR,
    proposal_pi           VARCHAR,
    proposal_type         VARCHAR,
    obs_title             VARCHAR,
    sequence_number       INTEGER,
    dataRights            VARCHAR,
    mtFlag                BOOLEAN,
    jpegURL               VARCHAR,
    dataURL               VARCHAR,
    srcDen                DOUBLE,
    objID                 VARCHAR,
    fetched_at            TIMESTAMPTZ NOT NULL,
    run_id                VARCHAR
);

-- Observation searches, remembered so that a later harvest within --max-age, or --offline, needs no query.
-- `criteria` is the search in a canonical text form; `obsids` what MAST returned for it.
CREATE TABLE observation_searches (
    criteria       VARCHAR PRIMARY KEY,
    obsids         VARCHAR[] NOT NULL,
    fetched_at     TIMESTAMPTZ NOT NULL,
    n_observations INTEGER NOT NULL,
    n_products     INTEGER NOT NULL,
    mast_url       VARCHAR,
    run_id         VARCHAR
);

-- What MAST says of each product of those observations (products.product_type is set from the suffix:
-- spectrum | spectral_timeseries | lightcurve | image | other).
ALTER TABLE products ADD COLUMN suffix VARCHAR;             -- lower case, e.g. x1dints
ALTER TABLE products ADD COLUMN obsid VARCHAR;
ALTER TABLE products ADD COLUMN product_category VARCHAR;   -- SCIENCE | CALIBRATION | AUXILIARY | PREVIEW | ...
ALTER TABLE products ADD COLUMN mrp BOOLEAN;                -- among MAST's minimum recommended products
ALTER TABLE products ADD COLUMN calib_level INTEGER;
ALTER TABLE products ADD COLUMN description VARCHAR;
ALTER TABLE products ADD COLUMN proposal_id VARCHAR;

-- Light curves of observatories whose targets are named, not numbered (JWST white-light curves, ...).
ALTER TABLE lightcurve_versions ADD COLUMN target_name VARCHAR;
ALTER TABLE lightcurve_versions ADD COLUMN obs_id VARCHAR;
ALTER TABLE lightcurve_versions ADD COLUMN instrument VARCHAR;
ALTER TABLE lightcurve_versions ADD COLUMN spectral_order INTEGER;
ALTER TABLE lightcurve_versions ADD COLUMN time_scale VARCHAR;  -- NULL: the mission's own (BTJD, BKJD); else e.g. BJD_TDB
-- A file holding several light curves (one per spectral order): its own hash. Each light curve's
-- file_sha256 is then the hash of the file's hash and the order, so that each is a version of its own.
ALTER TABLE lightcurve_versions ADD COLUMN source_sha256 VARCHAR;

-- Every version of every extracted spectrum (area 'spectra') and spectral time series
-- (area 'spectral_timeseries'); the views `spectrum_files` and `spectral_timeseries_files` show the current ones.
CREATE TABLE spectrum_versions (
    spec_id         VARCHAR NOT NULL,      -- <mission>:<author>:<file name without suffix>:<suffix>
    file_sha256     VARCHAR NOT NULL,
    is_current      BOOLEAN NOT NULL,
    area            VARCHAR NOT NULL,      -- spectra | spectral_timeseries
    suffix          VARCHAR NOT NULL,      -- x1d, x1dints, x1dsum, sx1, ...
    mission         VARCHAR NOT NULL,      -- the collection: JWST, HST
    author          VARCHAR NOT NULL,
    period          VARCHAR NOT NULL,      -- p<proposal id>
    proposal_id     VARCHAR,
    obs_id          VARCHAR,
    target_name     VARCHAR,
    tic_id          BIGINT,
    instrument      VARCHAR,
    detector        VARCHAR,
    filter          VARCHAR,
    grating         VARCHAR,
    exp_type        VARCHAR,
    ra              DOUBLE,
    dec             DOUBLE,
    date_obs        VARCHAR,
    exptime_s       DOUBLE,
    n_orders        INTEGER NOT NULL,      -- spectral orders or segments
    n_integrations  INTEGER,               -- spectral time series only
    n_wavelengths   INTEGER NOT NULL,      -- per order (the largest)
    wavelength_min  DOUBLE,
    wavelength_max  DOUBLE,
    wavelength_unit VARCHAR,
    flux_unit       VARCHAR,
    time_start      DOUBLE,                -- integration mid-times, time + bjdrefi + bjdreff = BJD_TDB
    time_stop       DOUBLE,
    bjdrefi         INTEGER,
    bjdreff         DOUBLE,
    layout          VARCHAR,               -- how the file stores them (e.g. per-integration or per-order tables)
    cal_ver         VARCHAR,               -- pipeline version (CAL_VER)
    file_date       VARCHAR,
    checksum_ok     BOOLEAN,
    file_name       VARCHAR NOT NULL,
    file_size       BIGINT NOT NULL,
    source_path     VARCHAR,
    data_uri        VARCHAR,
    data_file       VARCHAR NOT NULL,
    row_offset      BIGINT NOT NULL,
    row_count       BIGINT NOT NULL,
    ingested_at     TIMESTAMPTZ NOT NULL,
    superseded_at   TIMESTAMPTZ,
    superseded_by   VARCHAR,
    run_id          VARCHAR,
    PRIMARY KEY (spec_id, file_sha256)
);

-- Images are not converted: the FITS file stays in the raw area and its header facts are here.
CREATE TABLE image_versions (
    image_id      VARCHAR NOT NULL,        -- <mission>:<file name without suffix>:<suffix>
    file_sha256   VARCHAR NOT NULL,
    is_current    BOOLEAN NOT NULL,
    suffix        VARCHAR NOT NULL,        -- cal, i2d, flt, drz, ...
    mission       VARCHAR NOT NULL,
    proposal_id   VARCHAR,
    obs_id        VARCHAR,
    target_name   VARCHAR,
    instrument    VARCHAR,
    detector      VARCHAR,
    filters       VARCHAR,                 -- filter and pupil/second element, ';'-joined as MAST does
    exptime_s     DOUBLE,
    date_obs      VARCHAR,                 -- ISO start of the exposure
    t_mid         DOUBLE,                  -- MJD
    n_x           INTEGER,
    n_y           INTEGER,
    ra            DOUBLE,                  -- WCS centre of the science array
    dec           DOUBLE,
    s_region      VARCHAR,                 -- footprint: 'POLYGON ICRS ra1 dec1 ...' of the four corners
    radius_deg    DOUBLE,                  -- centre to farthest corner
    bunit         VARCHAR,
    cal_ver       VARCHAR,
    checksum_ok   BOOLEAN,
    raw_path      VARCHAR NOT NULL,        -- the kept FITS file, relative to the lake root
    file_name     VARCHAR NOT NULL,
    file_size     BIGINT NOT NULL,
    source_path   VARCHAR,
    data_uri      VARCHAR,
    ingested_at   TIMESTAMPTZ NOT NULL,
    superseded_at TIMESTAMPTZ,
    run_id        VARCHAR,
    PRIMARY KEY (image_id, file_sha256)
);
