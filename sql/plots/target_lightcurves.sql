-- The current light curves of one target, for `plot lc`: a mission's own id ($mission, $target_id) or a
-- named target ($target_name: JWST and HST light curves have no mission id), optionally narrowed to one
-- period and one author (matched case-insensitively); oldest period first.
SELECT lc_id, mission, author, target_id, target_name, period, spectral_order, exptime_s, cadence_s, cdpp_1h,
       flux_unit, bjdrefi, bjdreff
FROM lightcurves
WHERE (CASE WHEN CAST($target_id AS BIGINT) IS NOT NULL
            THEN mission = $mission AND target_id = CAST($target_id AS BIGINT)
            ELSE lower(target_name) = lower(CAST($target_name AS VARCHAR)) END)
  AND (CAST($period AS VARCHAR) IS NULL OR period = $period)
  AND (CAST($author AS VARCHAR) IS NULL OR lower(author) = lower($author))
ORDER BY period, author, exptime_s, lc_id;
