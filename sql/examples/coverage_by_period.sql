-- How many light curves and cadences the lake holds per mission, pipeline and period.
SELECT mission, author, period, count(*) AS n_lightcurves, sum(n_cadences) AS n_cadences,
       round(100.0 * sum(n_good) / sum(n_cadences), 1) AS pct_good
FROM lightcurves
GROUP BY ALL
ORDER BY mission, author, period;
