-- Targets observed in more than one period, with the periods listed.
SELECT mission, target_id, count(*) AS n_periods, list(period ORDER BY period) AS periods
FROM lightcurves
GROUP BY mission, target_id
HAVING count(*) > 1
ORDER BY n_periods DESC, target_id;
