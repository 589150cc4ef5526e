SELECT image_id, file_sha256, cal_ver, checksum_ok
FROM lake.image_versions
WHERE is_current AND image_id IN (SELECT unnest($ids));
