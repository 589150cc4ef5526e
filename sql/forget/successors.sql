-- Versions that stay of the light curves whose current version goes (_forget_keys): one of them becomes
-- current again, so that forgetting the newest version of a light curve brings back the one before it.
SELECT v.lc_id, v.file_sha256, v.data_rel, v.procver, v.filever, v.file_date, v.checksum_ok, v.data_file
FROM lake.lightcurve_versions v
WHERE v.lc_id IN (SELECT k.lc_id FROM _forget_keys k JOIN lake.lightcurve_versions c
                  ON c.lc_id = k.lc_id AND c.file_sha256 = k.file_sha256 WHERE c.is_current)
  AND NOT EXISTS (SELECT 1 FROM _forget_keys k WHERE k.lc_id = v.lc_id AND k.file_sha256 = v.file_sha256)
ORDER BY v.lc_id, v.file_sha256;
