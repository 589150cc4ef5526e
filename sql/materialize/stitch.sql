-- Stitching: the light curves of one target, pipeline and exposure time (a unit; $units maps each
-- batch light curve to its unit) become one series sorted by time; ties keep the light-curve order.
SELECT *
FROM result
ORDER BY list_extract($units, ord + 1), time, ord
