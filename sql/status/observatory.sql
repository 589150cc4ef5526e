-- `larun-lake status`: what the lake holds beyond light curves (HST, JWST and other collections).
SELECT
    (SELECT count(*) FROM lake.observations)                                             AS observations,
    (SELECT count(*) FROM lake.spectrum_versions WHERE is_current AND area = 'spectra') AS spectra,
    (SELECT count(*) FROM lake.spectrum_versions WHERE is_current AND area = 'spectral_timeseries')
                                                                                         AS spectral_timeseries,
    (SELECT count(*) FROM lake.image_versions WHERE is_current)                          AS images;
