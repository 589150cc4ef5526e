-- Binning of the masked, normalised cadences of one batch (`masked`: mask.sql's rows) to $width_d
-- days on a grid aligned to the mission's time zero, separately for each light curve: time is the
-- bin centre, flux the mean of the finite fluxes, flux_err sqrt(sum err^2) / n over the same
-- cadences, quality the OR of the bits, cadenceno the bin's first cadence. Bins without a finite
-- flux are kept (as NaN) only when NaNs are kept.
SELECT
    ord,
    (floor(time / $width_d) + 0.5) * $width_d AS time,
    coalesce(CAST(avg(flux) FILTER (WHERE NOT isnan(flux)) AS FLOAT), 'NaN'::FLOAT) AS flux,
    coalesce(CAST(sqrt(sum(CAST(flux_err AS DOUBLE) ^ 2) FILTER (WHERE NOT isnan(flux)))
                  / count(*) FILTER (WHERE NOT isnan(flux)) AS FLOAT), 'NaN'::FLOAT) AS flux_err,
    bit_or(quality) AS quality,
    min(cadenceno) AS cadenceno
FROM masked
GROUP BY ord, floor(time / $width_d)
HAVING NOT $remove_nans OR count(*) FILTER (WHERE NOT isnan(flux)) > 0
ORDER BY ord, time
