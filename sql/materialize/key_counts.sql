-- How many distinct keys a selection returned, and how many of its lc_ids are not current light
-- curves of the lake.
SELECT
    count(*) AS n_selected,
    count(*) FILTER (WHERE k.lc_id IS NOT NULL AND k.lc_id NOT IN (SELECT lc_id FROM lightcurves)) AS n_unmatched
FROM materialize_keys k;
