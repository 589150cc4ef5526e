-- Spectrum and image versions by file hash: which of a batch's files the lake holds, and whether current.
SELECT file_sha256, spec_id AS id, is_current, 'spectrum' AS kind FROM lake.spectrum_versions
WHERE file_sha256 IN (SELECT unnest($shas))
UNION ALL
SELECT file_sha256, image_id, is_current, 'image' FROM lake.image_versions
WHERE file_sha256 IN (SELECT unnest($shas));
