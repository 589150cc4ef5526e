-- Observations MAST returned (registered as _new_observations): a newer answer replaces the row.
INSERT OR REPLACE INTO lake.observations BY NAME SELECT * FROM _new_observations;
