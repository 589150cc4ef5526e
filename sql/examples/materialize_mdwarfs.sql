-- For materialize: SPOC 2-minute light curves of M dwarfs (TIC Teff < 3900 K) brighter than
-- Tmag 11 in sectors 1-13. Needs TIC rows (larun-lake harvest tic ...); joins on tic_id.
--   larun-lake materialize --example materialize_mdwarfs --normalize --out msets/mdwarfs.parquet
SELECT lc.lc_id, t.teff, t.tmag
FROM lightcurves lc
JOIN tic t ON t.id = lc.tic_id
WHERE lc.author = 'SPOC'
  AND lc.exptime_s = 120
  AND lc.sector BETWEEN 1 AND 13
  AND t.teff < 3900
  AND t.tmag < 11;
