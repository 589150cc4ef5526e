-- The current light curves of one target (Lake.lightcurve, Lake.lightcurves), oldest period first.
-- The target is named by its lc_id ($text), by a TIC id ($tic_id: the star's light curves of every
-- mission, since Kepler and K2 light curves carry the TIC of their star where it is known), by a
-- mission's own id ($mission, $target_id), or by the target_name of a JWST/HST light curve ($text,
-- case-insensitive). Parameters that do not apply are NULL.
SELECT lc_id, mission, author, target_id, tic_id, target_name, period, sector, quarter, campaign, exptime_s
FROM lightcurves
WHERE lc_id = $text
   OR tic_id = $tic_id
   OR (mission = $mission AND target_id = $target_id)
   OR lower(target_name) = lower($text)
ORDER BY mission, period, author, exptime_s, lc_id
