-- Targets observed in more than one period, with the periods listed. A period can hold several
-- light curves of one target (SPOC 2-min, TESS-SPOC and QLP 30-min, ...), so count distinct periods.
SELECT mission, target_id, count(DISTINCT period) AS n_periods, list(DISTINCT period ORDER BY period) AS periods,
       count(*) AS n_lightcurves
FROM lightcurves
GROUP BY mission, target_id
HAVING count(DISTINCT period) > 1
ORDER BY n_periods DESC, target_id;
