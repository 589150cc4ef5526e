-- The keys of light curves named by id in Python ($lc_ids), in the shape of the selection's keys.
SELECT DISTINCT CAST(unnest($lc_ids) AS VARCHAR) AS lc_id, NULL::VARCHAR AS mission, NULL::BIGINT AS target_id,
       NULL::BIGINT AS tic_id
