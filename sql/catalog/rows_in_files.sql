-- Where the versions whose rows live in some data files sit in them (to rewrite or merge those files).
SELECT lc_id, file_sha256, target_id, data_file, row_offset, row_count
FROM lake.lightcurve_versions
WHERE data_file IN (SELECT unnest($paths))
ORDER BY data_file, row_offset;
