-- The light-curve versions one run ingested.
SELECT lc_id, file_sha256
FROM lake.lightcurve_versions
WHERE run_id = $run_id;
