-- The keys of a selection that returns lc_id (the other key columns NULL).
SELECT DISTINCT CAST(lc_id AS VARCHAR) AS lc_id, NULL::VARCHAR AS mission, NULL::BIGINT AS target_id,
       NULL::BIGINT AS tic_id
FROM materialize_selection
