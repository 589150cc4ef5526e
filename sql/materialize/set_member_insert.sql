-- A named set's members, from the registered table new_set_members (its old members are deleted first).
INSERT INTO lake.materialized_set_members
SELECT $name, lc_id, file_sha256, data_rel, n_rows FROM new_set_members;
