"""FITS files into the lake: convert each file (pure), then commit batches atomically."""
