-- The versions to forget (_forget_keys: lc_id, file_sha256) and where their rows are.
SELECT v.lc_id, v.file_sha256, v.is_current, v.target_id, v.data_file, v.row_count, v.pixel_sha256, v.source_sha256
FROM lake.lightcurve_versions v
SEMI JOIN _forget_keys k ON k.lc_id = v.lc_id AND k.file_sha256 = v.file_sha256
ORDER BY v.lc_id, v.file_sha256;
