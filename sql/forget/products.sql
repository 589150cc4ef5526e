-- Products whose file only the forgotten versions came from ($hashes: their file, pixel-file and source
-- hashes, none of which a version that stays still has), and, for a target, every other product of it.
SELECT product_uri
FROM lake.products p
WHERE (p.sha256 IN (SELECT unnest($hashes))
       AND NOT EXISTS (SELECT 1 FROM lake.lightcurve_versions v
                       WHERE p.sha256 IN (v.file_sha256, v.pixel_sha256, v.source_sha256)
                         AND NOT EXISTS (SELECT 1 FROM _forget_keys k
                                         WHERE k.lc_id = v.lc_id AND k.file_sha256 = v.file_sha256)))
   OR ($mission IS NOT NULL AND p.mission = $mission AND p.target_id = $target_id)
ORDER BY product_uri;
