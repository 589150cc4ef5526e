-- Migration 6: the exposure of a light curve as its file's header states it.
-- EXPOSURE is the time the detector collected light over the whole file, in days (dead time out), a header
-- value lightkurve users read from `lc.meta`; it cannot be derived from the cadences. Light curves ingested
-- before this migration keep NULL until their files are imported again.
ALTER TABLE lightcurve_versions ADD COLUMN exposure_d DOUBLE;
