-- The default-quality cadences of one star, in BJD, using the quality macros.
SELECT c.lc_id, bjd(c.time, l.bjdrefi, l.bjdreff) AS bjd, c.flux / l.median_flux_default AS norm_flux
FROM cadences c
JOIN lightcurves l USING (lc_id)
WHERE c.target_id = 25155310
  AND is_good(c.flux, c.quality, quality_bitmask(l.mission, l.author, 'default', l.sector))
ORDER BY bjd
LIMIT 100;
