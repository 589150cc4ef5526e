-- Light curves with more than one version, newest first (data release, processing version).
SELECT lc_id, data_rel, procver, is_current, file_sha256, ingested_at, superseded_at
FROM lightcurve_versions
WHERE lc_id IN (SELECT lc_id FROM lightcurve_versions GROUP BY lc_id HAVING count(*) > 1)
ORDER BY lc_id, is_current DESC, data_rel DESC;
