-- The quietest stars: light curves with the lowest 1-hour CDPP and most good cadences.
SELECT target_id, mission, author, period, n_good, cdpp_1h, tmag
FROM lightcurves
WHERE cdpp_1h IS NOT NULL AND n_good > 0.8 * n_cadences
ORDER BY cdpp_1h
LIMIT 20;
