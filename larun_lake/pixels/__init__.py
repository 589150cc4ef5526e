"""Target pixel files and TESScut cutouts: read the pixels, pick an aperture, sum it into a light curve.

Pure functions of a file (no catalog, no lake), so they run in worker processes:

    pixels = read_pixel_file(path)               # PixelData: cubes, columns, header facts
    aperture = resolve_aperture(pixels, "default")  # the mask lightkurve would use, with its tag
    columns = aperture_photometry(pixels, aperture.mask)   # lake cadence columns, every cadence
"""

from .aperture import Aperture, resolve_aperture
from .photometry import aperture_photometry
from .read import PixelData, read_pixel_file

__all__ = ["Aperture", "PixelData", "aperture_photometry", "read_pixel_file", "resolve_aperture"]
