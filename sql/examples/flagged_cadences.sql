-- Which QUALITY flags remove cadences, per pipeline (one row per bit that is set somewhere).
SELECT c.mission, c.author, b.name, b.in_default, count(*) AS n_cadences
FROM cadences c
JOIN quality_bits b
  ON b.mission = c.mission AND b.author = c.author AND (c.quality & b.value) <> 0
 AND (b.sector_min IS NULL OR c.sector BETWEEN b.sector_min AND coalesce(b.sector_max, 100000))
GROUP BY ALL
ORDER BY c.mission, c.author, n_cadences DESC;
