-- Registered cadence and history files whose rows the catalog's light-curve versions do not
-- account for: the catalog lost rows (truncated, or an older copy), so nothing may be deleted.
SELECT d.path, d.n_rows, coalesce(sum(v.row_count), 0) AS rows_known
FROM lake.data_files d
LEFT JOIN lake.lightcurve_versions v ON v.data_file = d.path
WHERE d.area <> 'tic'
GROUP BY d.path, d.n_rows
HAVING d.n_rows <> coalesce(sum(v.row_count), 0)
ORDER BY d.path;
