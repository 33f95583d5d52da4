"""Small, realistic FITS files for tests, generated with astropy.

The files copy the HDU layout and keyword sets of the real data products, so
loaders are tested against what pipelines write, never against checked-in
binaries::

    from lightcurvedb.testing.fits import write_spoc_lightcurve

    path = write_spoc_lightcurve(tmp_path, tic_id=261136679, sector=1, camera=1, ccd=1)
"""

from lightcurvedb.testing.fits.tess import (
    spoc_filename,
    write_spoc_lightcurve,
    write_truncated_copy,
    write_with_ticid_mismatch,
    write_without_column,
    write_without_hdu,
)

__all__ = [
    "spoc_filename",
    "write_spoc_lightcurve",
    "write_truncated_copy",
    "write_with_ticid_mismatch",
    "write_without_column",
    "write_without_hdu",
]
