-- For materialize: SPOC 2-minute light curves of stars brighter than Tmag 11 in sectors 1-13,
-- from the light-curve headers alone (no TIC rows needed).
--   larun-lake materialize --example materialize_bright_spoc --normalize --out msets/bright.parquet
SELECT lc_id, target_id, sector, tmag
FROM lightcurves
WHERE author = 'SPOC'
  AND exptime_s = 120
  AND sector BETWEEN 1 AND 13
  AND tmag < 11
ORDER BY target_id, sector;
