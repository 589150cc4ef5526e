-- Pixel files the lake keeps for one target (the current versions), optionally narrowed by period,
-- author and cutout size; oldest period first.
SELECT raw_path, file_name, file_size, file_sha256, mission, author, period, product_type, cutout_size
FROM pixel_files
WHERE (mission = $mission AND target_id = $target_id OR ($mission = 'TESS' AND tic_id = $target_id))
  AND ($period IS NULL OR period = $period)
  AND ($author IS NULL OR lower(author) = lower($author))
  AND ($cutout_size IS NULL OR cutout_size = $cutout_size)
ORDER BY period, author, cutout_size, file_name
