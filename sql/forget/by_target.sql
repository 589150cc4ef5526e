-- Every version (current or superseded) of the light curves of one target: by the mission's own id,
-- or, for observatories whose targets are named (JWST, HST), by target_name (any case).
SELECT lc_id, file_sha256
FROM lake.lightcurve_versions
WHERE ($mission IS NULL OR mission = $mission)
  AND (target_id = $target_id OR ($name IS NOT NULL AND lower(target_name) = lower($name)));
