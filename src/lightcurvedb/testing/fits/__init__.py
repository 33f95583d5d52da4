"""Small, realistic FITS files for tests, generated with astropy.

The files copy the HDU layout and keyword sets of the real data products, so
loaders are tested against what pipelines write, never against checked-in
binaries::

    from lightcurvedb.testing.fits import write_spoc_lightcurve

    path = write_spoc_lightcurve(tmp_path, tic_id=261136679, sector=1, camera=1, ccd=1)

:mod:`~lightcurvedb.testing.fits.tess` writes SPOC light curves (plain or
compressed) and broken copies; :mod:`~lightcurvedb.testing.fits.other_products`
the Kepler, K2, target-pixel, TESScut, full-frame-image and QLP files a SPOC
loader must refuse.
"""

from lightcurvedb.testing.fits.other_products import (
    kepler_filename,
    write_k2_lightcurve,
    write_kepler_lightcurve,
    write_qlp_lightcurve,
    write_tess_ffi,
    write_tess_target_pixel_file,
    write_tesscut_cutout,
)
from lightcurvedb.testing.fits.tess import (
    spoc_filename,
    write_spoc_lightcurve,
    write_truncated_copy,
    write_with_ticid_mismatch,
    write_without_column,
    write_without_hdu,
)

__all__ = [
    "kepler_filename",
    "spoc_filename",
    "write_k2_lightcurve",
    "write_kepler_lightcurve",
    "write_qlp_lightcurve",
    "write_spoc_lightcurve",
    "write_tess_ffi",
    "write_tess_target_pixel_file",
    "write_tesscut_cutout",
    "write_truncated_copy",
    "write_with_ticid_mismatch",
    "write_without_column",
    "write_without_hdu",
]
