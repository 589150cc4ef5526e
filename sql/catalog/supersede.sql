-- Retire the versions a newer one replaces, one statement for a whole batch.
-- _retired_versions (registered by the caller): lc_id, file_sha256, superseded_by.
UPDATE lake.lightcurve_versions AS v
SET is_current = false, superseded_at = $at, superseded_by = r.superseded_by
FROM _retired_versions AS r
WHERE v.lc_id = r.lc_id AND v.file_sha256 = r.file_sha256;
