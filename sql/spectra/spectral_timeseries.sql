-- Spectral time series with what the catalog says of their file,
-- filtered by the optional parameters (NULL: any).
SELECT d.*, f.target_name, f.instrument, f.detector, f.filter, f.grating, f.exp_type, f.wavelength_unit,
       f.flux_unit, f.suffix, f.file_name
FROM spectral_timeseries d
JOIN spectrum_files f USING (spec_id)
WHERE ($obs_id IS NULL OR d.obs_id = $obs_id)
  AND ($spec_id IS NULL OR d.spec_id = $spec_id)
  AND ($target_name IS NULL OR f.target_name ILIKE $target_name)
  AND ($mission IS NULL OR d.mission = $mission)
  AND ($instrument IS NULL OR f.instrument ILIKE $instrument)
  AND ($spectral_order IS NULL OR d.spectral_order = $spectral_order)
ORDER BY d.spec_id, d.spectral_order, d.integration, d.wavelength;
