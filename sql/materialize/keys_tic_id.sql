-- The keys of a selection that returns tic_id (the other key columns NULL).
SELECT DISTINCT NULL::VARCHAR AS lc_id, NULL::VARCHAR AS mission, NULL::BIGINT AS target_id,
       CAST(tic_id AS BIGINT) AS tic_id
FROM materialize_selection
