-- Normalisation medians computed at query time (flux columns other than the lake's `flux`, or
-- integer bitmasks): np.nanmedian of the flux that passes the mask, as lightkurve's normalize().
-- Runs over one Arrow batch: `ord` numbers the batch's light curves from 0; $bitmasks has one
-- bitmask per light curve.
SELECT ord, median(value) AS median_flux
FROM batch
WHERE NOT isnan(time)
  AND (quality & list_extract($bitmasks, ord + 1)) = 0
  AND NOT isnan(coalesce(value, 'NaN'::FLOAT))
GROUP BY ord;
