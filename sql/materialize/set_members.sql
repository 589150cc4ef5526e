-- The light curves (and their versions) a named set was made of.
SELECT lc_id, file_sha256, data_rel, n_rows
FROM lake.materialized_set_members
WHERE name = $name
ORDER BY lc_id;
