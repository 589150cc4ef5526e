-- The partitions a run has written cadence files to.
SELECT DISTINCT mission, author, period
FROM lake.data_files
WHERE area = 'cadences' AND run_id = $run_id
ORDER BY ALL;
