-- Registered data files (cadences, spectra and their history) whose rows the catalog's versions do not
-- account for: the catalog lost rows (truncated, or an older copy), so nothing may be deleted.
SELECT d.path, d.n_rows, coalesce(sum(v.row_count), 0) AS rows_known
FROM lake.data_files d
LEFT JOIN (
    SELECT data_file, row_count FROM lake.lightcurve_versions
    UNION ALL
    SELECT data_file, row_count FROM lake.spectrum_versions
) v ON v.data_file = d.path
WHERE d.area <> 'tic'
GROUP BY d.path, d.n_rows
HAVING d.n_rows <> coalesce(sum(v.row_count), 0)
ORDER BY d.path;
