-- Point light-curve versions at the new place of their rows, one statement for a whole batch.
-- _moved_rows (registered by the caller): lc_id, file_sha256, data_file, row_offset, row_count.
UPDATE lake.lightcurve_versions AS v
SET data_file = m.data_file, row_offset = m.row_offset, row_count = m.row_count
FROM _moved_rows AS m
WHERE v.lc_id = m.lc_id AND v.file_sha256 = m.file_sha256;
