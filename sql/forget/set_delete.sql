-- Remove a materialized set and its members from the catalog.
DELETE FROM lake.materialized_set_members WHERE name = $name;
DELETE FROM lake.materialized_sets WHERE name = $name;
