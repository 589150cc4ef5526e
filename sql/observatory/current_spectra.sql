-- The current version of each of these spectra: what a new version is ranked against.
SELECT spec_id, file_sha256, cal_ver, file_date, checksum_ok, data_file, area, mission, author, period
FROM lake.spectrum_versions
WHERE is_current AND spec_id IN (SELECT unnest($ids));
