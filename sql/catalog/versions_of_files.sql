-- The versions with some file hashes: their lc_id, state and data file (a batch's files already in
-- the lake, or versions a batch retires).
SELECT file_sha256, lc_id, is_current, data_file
FROM lake.lightcurve_versions
WHERE file_sha256 IN (SELECT unnest($shas));
