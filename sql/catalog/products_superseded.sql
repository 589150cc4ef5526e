-- Products whose light-curve version was retired by a newer one.
UPDATE lake.products
SET state = 'superseded', updated_at = $at, run_id = coalesce($run_id, run_id)
WHERE sha256 IN (SELECT unnest($shas)) AND state IN ('ingested', 'downloaded');
