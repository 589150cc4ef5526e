-- Light curves per mission, period and author, for the bar chart of `plot coverage`.
SELECT mission, period, author, count(*) AS n_lightcurves
FROM lightcurves
GROUP BY mission, period, author
ORDER BY mission, period, author;
