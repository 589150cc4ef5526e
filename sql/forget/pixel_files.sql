-- Kept pixel files whose light curves all go ($hashes: the forgotten versions' pixel_sha256).
SELECT p.file_sha256, p.raw_path
FROM lake.pixel_file_versions p
WHERE p.file_sha256 IN (SELECT unnest($hashes))
  AND NOT EXISTS (SELECT 1 FROM lake.lightcurve_versions v
                  WHERE v.pixel_sha256 = p.file_sha256
                    AND NOT EXISTS (SELECT 1 FROM _forget_keys k
                                    WHERE k.lc_id = v.lc_id AND k.file_sha256 = v.file_sha256))
ORDER BY p.raw_path;
