-- Record (or replace) a named set; its members follow with set_member_insert.sql.
INSERT OR REPLACE INTO lake.materialized_sets
    (name, content_hash, sql_text, options, key_kind, n_lightcurves, n_rows, output_path,
     output_format, manifest_path, created_at, larun_lake_version)
VALUES ($name, $content_hash, $sql_text, $options, $key_kind, $n_lightcurves, $n_rows, $output_path,
        $output_format, $manifest_path, $created_at, $version);
