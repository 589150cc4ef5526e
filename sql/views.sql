-- Views every connection gets (created as TEMP views on top of the attached catalog).
-- `cadence_rows` is provided by the code: the registered Parquet files only.

CREATE OR REPLACE TEMP VIEW lightcurves AS
SELECT * EXCLUDE (is_current, superseded_at, superseded_by)
FROM lake.lightcurve_versions
WHERE is_current;

-- The PDCSAP pair is stored once, as flux/flux_err; it is re-exposed under its own name here.
-- Its authors are filled in when the views are installed: the product kinds whose default flux is PDCSAP.
CREATE OR REPLACE TEMP VIEW cadences AS
SELECT
    lc_id,
    mission,
    author,
    target_id,
    period,
    CASE WHEN mission = 'TESS'   THEN CAST(substr(period, 2) AS INTEGER) END AS sector,
    CASE WHEN mission = 'Kepler' THEN CAST(substr(period, 2) AS INTEGER) END AS quarter,
    CASE WHEN mission = 'K2'     THEN CAST(substr(period, 2) AS INTEGER) END AS campaign,
    time,
    cadenceno,
    flux,
    flux_err,
    quality,
    CASE WHEN author IN ({{pdcsap_authors}}) THEN flux END AS pdcsap_flux,
    CASE WHEN author IN ({{pdcsap_authors}}) THEN flux_err END AS pdcsap_flux_err,
    * EXCLUDE (lc_id, mission, author, target_id, period, time, cadenceno, flux, flux_err, quality)
FROM cadence_rows;

CREATE OR REPLACE TEMP VIEW superseded_lightcurves AS
SELECT * FROM lake.lightcurve_versions WHERE NOT is_current;

-- TIC rows harvested from MAST (column names as MAST gives them; SQL names are case-insensitive,
-- so tic.id, tic.tmag, tic.teff work). Join light curves on lightcurves.tic_id = tic.id.
CREATE OR REPLACE TEMP VIEW tic AS
SELECT * FROM tic_rows;

-- Target pixel files and TESScut cutouts kept in the lake: the versions whose light curves are current
-- (every version stays in pixel_file_versions).
CREATE OR REPLACE TEMP VIEW pixel_files AS
SELECT * FROM lake.pixel_file_versions p
WHERE EXISTS (SELECT 1 FROM lake.lightcurve_versions v WHERE v.pixel_sha256 = p.file_sha256 AND v.is_current);

-- Extracted spectra (x1d of JWST and HST): one row per wavelength bin of each order or segment, current
-- versions only (the area holds registered files of current versions; superseded ones are in _history).
CREATE OR REPLACE TEMP VIEW spectra AS
SELECT spec_id, mission, period, obs_id, spectral_order, segment, wavelength, flux, flux_error, dq,
       * EXCLUDE (spec_id, mission, period, obs_id, spectral_order, segment, wavelength, flux, flux_error, dq)
FROM spectrum_rows;

-- JWST spectral time series (x1dints): one row per wavelength bin of each integration and order.
CREATE OR REPLACE TEMP VIEW spectral_timeseries AS
SELECT spec_id, mission, period, obs_id, integration, time, spectral_order, wavelength, flux, flux_error, dq,
       * EXCLUDE (spec_id, mission, period, obs_id, integration, time, spectral_order, wavelength, flux,
                  flux_error, dq)
FROM spectral_timeseries_rows;

-- One row per current spectrum or spectral time series file: instrument, target, orders, wavelength range.
CREATE OR REPLACE TEMP VIEW spectrum_files AS
SELECT * EXCLUDE (is_current, superseded_at, superseded_by)
FROM lake.spectrum_versions
WHERE is_current;

-- Images (JWST cal/i2d, HST flt/drz, ...): header facts of the current version of each; the FITS file is at raw_path.
CREATE OR REPLACE TEMP VIEW images AS
SELECT * EXCLUDE (is_current, superseded_at)
FROM lake.image_versions
WHERE is_current;
