-- Targets a selection names (by tic_id, or by mission and target_id) that have no current light
-- curve in the lake: what --fetch-missing asks the harvester for. A tic_id is a TESS target.
SELECT DISTINCT
    coalesce(k.mission, 'TESS') AS mission,
    coalesce(k.target_id, k.tic_id) AS target_id
FROM materialize_keys k
WHERE k.lc_id IS NULL
  AND coalesce(k.target_id, k.tic_id) IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM lightcurves lc
      WHERE lc.tic_id = k.tic_id OR (lc.mission = k.mission AND lc.target_id = k.target_id)
  )
ORDER BY ALL;
