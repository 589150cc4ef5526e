-- lc_ids a selection names that are not current light curves of the lake.
SELECT count(*) AS n
FROM materialize_keys k
WHERE k.lc_id IS NOT NULL
  AND k.lc_id NOT IN (SELECT lc_id FROM lightcurves);
