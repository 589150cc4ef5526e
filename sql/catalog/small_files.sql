-- A partition's cadence files below a row count (candidates for merging), smallest first.
SELECT path, n_rows, run_id
FROM lake.data_files
WHERE area = 'cadences' AND mission = $mission AND author = $author AND period = $period AND n_rows < $below
ORDER BY n_rows, path;
