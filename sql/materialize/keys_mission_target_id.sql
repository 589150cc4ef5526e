-- The keys of a selection that returns the pair mission, target_id (the other key columns NULL).
SELECT DISTINCT NULL::VARCHAR AS lc_id, CAST(mission AS VARCHAR) AS mission, CAST(target_id AS BIGINT) AS target_id,
       NULL::BIGINT AS tic_id
FROM materialize_selection
