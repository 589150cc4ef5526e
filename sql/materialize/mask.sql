-- Quality mask, NaN removal and normalisation of one Arrow batch of cadences, in the batch's order.
-- `ord` numbers the batch's light curves from 0; $bitmasks and $norms hold one value per light
-- curve (norm 1 when not normalising). FLOAT / FLOAT stays FLOAT: the same float32 arithmetic as
-- lightkurve's normalize(). Cadences with a NaN time are always dropped (lightkurve drops them).
SELECT
    ord,
    time,
    CAST(coalesce(value, 'NaN'::FLOAT) / CAST(list_extract($norms, ord + 1) AS FLOAT) AS FLOAT) AS flux,
    CAST(coalesce(err, 'NaN'::FLOAT) / CAST(list_extract($norms, ord + 1) AS FLOAT) AS FLOAT) AS flux_err,
    quality,
    cadenceno
FROM batch
WHERE NOT isnan(time)
  AND (quality & list_extract($bitmasks, ord + 1)) = 0
  AND (NOT $remove_nans OR NOT isnan(coalesce(value, 'NaN'::FLOAT)));
