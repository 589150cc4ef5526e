-- `larun-lake status`: current light curves per mission and pipeline, with the bytes they occupy.
SELECT l.mission, l.author,
       count(*)                                   AS n_lightcurves,
       count(DISTINCT coalesce(CAST(l.target_id AS VARCHAR), l.target_name)) AS n_targets,
       count(DISTINCT l.period)                   AS n_periods,
       min(l.period)                              AS first_period,
       max(l.period)                              AS last_period,
       sum(l.n_cadences)                          AS n_cadences,
       round(100.0 * sum(l.n_good) / nullif(sum(l.n_cadences), 0), 1) AS pct_good,
       sum(l.file_size)                           AS fits_bytes
FROM lightcurves l
GROUP BY l.mission, l.author
ORDER BY l.mission, l.author;
