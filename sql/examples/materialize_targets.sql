-- For materialize: every current light curve of a list of targets, named by (mission, target_id);
-- with --fetch-missing, targets the lake lacks are harvested first. Add --stitch for one normalized
-- series per star, pipeline and exposure time (or --stitch-prefer SPOC:120,TESS-SPOC,QLP for one per star).
--   larun-lake materialize --example materialize_targets --stitch --out msets/stars.parquet
SELECT mission, target_id
FROM (VALUES ('TESS', 25155310), ('TESS', 39903405), ('Kepler', 10002792)) AS t(mission, target_id);
