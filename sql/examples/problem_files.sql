-- Files that were not ingested, and why.
SELECT state, file_name, last_error, attempts, updated_at
FROM products
WHERE state IN ('failed', 'quarantined', 'skipped')
ORDER BY state, file_name;
