-- Superseded versions, those replaced before $before only when it is given.
SELECT lc_id, file_sha256
FROM lake.lightcurve_versions
WHERE NOT is_current AND ($before IS NULL OR superseded_at < $before);
