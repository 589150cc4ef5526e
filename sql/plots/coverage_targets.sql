-- One row per target of each mission (a named target where the mission has no ids: JWST, HST), for the
-- sky map of `plot coverage`: its position and how many periods (sectors, quarters, campaigns, proposals)
-- and light curves the lake holds of it.
SELECT mission,
       coalesce(CAST(target_id AS VARCHAR), target_name) AS target,
       any_value(ra) FILTER (WHERE ra IS NOT NULL) AS ra,
       any_value(dec) FILTER (WHERE dec IS NOT NULL) AS dec,
       count(DISTINCT period) AS n_periods,
       count(*) AS n_lightcurves
FROM lightcurves
GROUP BY mission, target_id, target_name
ORDER BY n_periods, mission, target;
