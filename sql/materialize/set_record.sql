-- One named set's record.
SELECT name, content_hash, sql_text, options, key_kind, n_lightcurves, n_rows, output_path,
       output_format, manifest_path, created_at, larun_lake_version
FROM lake.materialized_sets
WHERE name = $name;
