-- Named materialized sets, newest first.
SELECT name, n_lightcurves, n_rows, output_format, output_path, created_at, content_hash
FROM lake.materialized_sets
ORDER BY created_at DESC, name;
