-- Remove the forgotten versions, their products and kept pixel files from the catalog, and make the
-- chosen successors current again (_forget_keys, _successors: lc_id, file_sha256; $products, $pixel_files).
DELETE FROM lake.products WHERE product_uri IN (SELECT unnest($products));
DELETE FROM lake.pixel_file_versions WHERE file_sha256 IN (SELECT unnest($pixel_files));
DELETE FROM lake.lightcurve_versions v USING _forget_keys k WHERE v.lc_id = k.lc_id AND v.file_sha256 = k.file_sha256;
UPDATE lake.lightcurve_versions v SET is_current = true, superseded_at = NULL, superseded_by = NULL
FROM _successors s WHERE v.lc_id = s.lc_id AND v.file_sha256 = s.file_sha256;
UPDATE lake.products SET state = 'ingested', updated_at = $at
WHERE state = 'superseded' AND sha256 IN (SELECT file_sha256 FROM _successors);
