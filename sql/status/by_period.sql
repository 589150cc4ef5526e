-- `larun-lake status --by-period`: light curves, cadences and Parquet bytes per partition.
WITH f AS (
    SELECT mission, author, period, count(*) AS n_files, sum(size_bytes) AS parquet_bytes
    FROM lake.data_files WHERE area = 'cadences' GROUP BY ALL
)
SELECT l.mission, l.author, l.period, count(*) AS n_lightcurves, sum(l.n_cadences) AS n_cadences,
       any_value(f.n_files) AS n_files, any_value(f.parquet_bytes) AS parquet_bytes
FROM lightcurves l
LEFT JOIN f USING (mission, author, period)
GROUP BY ALL
ORDER BY l.mission, l.author, l.period;
