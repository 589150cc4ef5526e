-- Everyday filters. Created as TEMP macros on every connection.

-- The bitmask a quality preset means for a product kind ('none', 'default', 'hard', 'hardest'),
-- exactly as lightkurve applies it (QLP's low-precision bit depends on the sector).
CREATE OR REPLACE TEMP MACRO quality_bitmask(m, a, preset_name, sec) AS (
    SELECT coalesce(max(q.bitmask), 0)
    FROM lake.quality_masks q
    WHERE q.mission = m AND q.author = a AND q.preset = preset_name
      AND (q.sector_min IS NULL OR (sec BETWEEN q.sector_min AND coalesce(q.sector_max, 2147483647)))
);

-- True when a QUALITY value has none of the bits of a bitmask set.
CREATE OR REPLACE TEMP MACRO quality_ok(quality, bitmask) AS (quality & bitmask) = 0;

-- The default-preset test of a cadence, for the common case.
CREATE OR REPLACE TEMP MACRO is_good(flux, quality, bitmask) AS
    isfinite(flux) AND (quality & bitmask) = 0;

-- Names of the QUALITY bits set in a value, for one product kind.
CREATE OR REPLACE TEMP MACRO quality_flags(q, m, a) AS (
    SELECT list(b.name ORDER BY b.bit)
    FROM lake.quality_bits b
    WHERE b.mission = m AND b.author = a AND (q & b.value) <> 0
);

-- Barycentric Julian Date of a cadence time.
CREATE OR REPLACE TEMP MACRO bjd(time, bjdrefi, bjdreff) AS time + bjdrefi + bjdreff;

-- Great-circle distance in degrees (haversine, stable at small separations).
CREATE OR REPLACE TEMP MACRO angular_distance_deg(ra1, dec1, ra2, dec2) AS
    degrees(2 * asin(sqrt(
        pow(sin(radians(dec2 - dec1) / 2), 2)
        + cos(radians(dec1)) * cos(radians(dec2)) * pow(sin(radians(ra2 - ra1) / 2), 2))));

-- TIC stars within `radius` degrees of (ra0, dec0), nearest first: a declination band
-- (which row-group statistics prune) and then the exact angular distance.
CREATE OR REPLACE TEMP MACRO tic_cone(ra0, dec0, radius) AS TABLE
SELECT *, angular_distance_deg(ra, dec, ra0, dec0) AS distance_deg
FROM tic
WHERE dec BETWEEN dec0 - radius AND dec0 + radius
  AND angular_distance_deg(ra, dec, ra0, dec0) <= radius
ORDER BY distance_deg;

-- Images whose footprint may reach within `radius` degrees of (ra0, dec0): the distance from the
-- position to the image centre is at most the cone's radius plus the image's own (centre to corner).
CREATE OR REPLACE TEMP MACRO images_cone(ra0, dec0, radius) AS TABLE
SELECT *, angular_distance_deg(ra, dec, ra0, dec0) AS distance_deg
FROM images
WHERE dec BETWEEN dec0 - radius - coalesce(radius_deg, 0) AND dec0 + radius + coalesce(radius_deg, 0)
  AND angular_distance_deg(ra, dec, ra0, dec0) <= radius + coalesce(radius_deg, 0)
ORDER BY distance_deg;
