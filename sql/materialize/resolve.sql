-- The current light curves a materialize selection names, in the set's canonical order, with where
-- their rows sit (data_file, row_offset, row_count), the precomputed medians and the quality bitmask.
-- `materialize_keys` (lc_id, mission, target_id, tic_id; NULL where the selection did not give it)
-- is a TEMP table built from the user's statement. $preset is a preset name, or NULL when
-- $bitmask gives an integer mask. With $stitch, the light curves of one target, pipeline and
-- exposure time are adjacent (each such group is stitched into one series).
WITH picked AS (
    SELECT lc_id FROM lightcurves WHERE lc_id IN (SELECT lc_id FROM materialize_keys)
    UNION
    SELECT lc_id FROM lightcurves WHERE tic_id IN (SELECT tic_id FROM materialize_keys)
    UNION
    SELECT lc.lc_id
    FROM lightcurves lc
    SEMI JOIN materialize_keys k ON lc.mission = k.mission AND lc.target_id = k.target_id
)
SELECT
    lc.lc_id,
    lc.mission,
    lc.author,
    lc.target_id,
    lc.tic_id,
    lc.sector,
    lc.quarter,
    lc.campaign,
    lc.period,
    lc.exptime_s,
    lc.cadence_s,
    lc.exposure_d,
    lc.cdpp_0_5h,
    lc.cdpp_1h,
    lc.cdpp_2h,
    lc.bjdrefi,
    lc.bjdreff,
    lc.flux_column,
    lc.flux_err_column,
    lc.flux_unit,
    lc.file_sha256,
    lc.file_name,
    lc.data_rel,
    lc.procver,
    lc.data_file,
    (SELECT d.size_bytes FROM lake.data_files d WHERE d.path = lc.data_file) AS data_file_size,
    lc.row_offset,
    lc.row_count,
    lc.median_flux_none,
    lc.median_flux_default,
    lc.median_flux_hard,
    lc.median_flux_hardest,
    coalesce(CAST($bitmask AS BIGINT), quality_bitmask(lc.mission, lc.author, $preset, lc.sector)) AS bitmask,
    lc.ra,
    lc.dec,
    lc.tmag,
    lc.kepmag,
    lc.teff,
    lc.logg,
    lc.radius,
    lc.camera,
    lc.ccd,
    lc.target_name,
    lc.time_scale,
    lc.instrument
FROM lightcurves lc
SEMI JOIN picked p ON p.lc_id = lc.lc_id
ORDER BY
    lc.mission,
    lc.target_id,
    CASE WHEN CAST($stitch AS BOOLEAN) THEN lc.author END,
    CASE WHEN CAST($stitch AS BOOLEAN) THEN lc.exptime_s END,
    lc.period,
    lc.author,
    lc.exptime_s,
    lc.lc_id;
