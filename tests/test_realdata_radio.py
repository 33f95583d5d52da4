"""Real radio images from PyPI packages through the DSA-110 image registration, both backends.

A FIRST survey cutout (astroquery's test copy: an AIPS-made image with
``NAXIS = 2`` whose header still describes the frequency and Stokes axes, and
a ``DATE-OBS`` of the form ``YYYYMMDD``) is registered, and what is stored is
compared with astropy's reading of the file. Images the pipeline cannot take
-- galactic axes, header-only files, a velocity cube -- are refused with what
their headers say.
"""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from astropy.time import Time

from lightcurvedb.radio import Image
from lightcurvedb.radio import products_service as ps
from lightcurvedb.radio.images import ImageFileError, read_image_properties

MS = "/ms/2025-10-24T12:00:00.ms"


def test_real_first_cutout_registers_with_the_values_of_its_header(session, real_file):
    path = real_file("vla_first_cutout")
    with fits.open(path) as hdul:
        header, data = hdul[0].header, np.asarray(hdul[0].data, dtype=np.float64)
    assert header["NAXIS"] == 2 and header["CTYPE3"].startswith("FREQ")
    ps.record_ms_stage(session, MS, "imaged")
    image = ps.register_image(session, path, ms_path=MS)
    session.flush()
    stored = session.scalars(sa.select(Image).where(Image.id == image.id)).one()
    pixels = data[np.isfinite(data)]
    noise = 1.4826 * np.median(np.abs(pixels - np.median(pixels)))
    assert (stored.imsize_x, stored.imsize_y) == (header["NAXIS1"], header["NAXIS2"])
    assert (stored.center_ra_deg, stored.center_dec_deg) == (header["CRVAL1"], header["CRVAL2"])
    assert stored.cellsize_arcsec == pytest.approx(abs(header["CDELT2"]) * 3600, rel=1e-12)
    assert stored.beam_major_arcsec == pytest.approx(header["BMAJ"] * 3600, rel=1e-12)
    assert stored.beam_minor_arcsec == pytest.approx(header["BMIN"] * 3600, rel=1e-12)
    assert stored.freq_ghz == pytest.approx(header["CRVAL3"] / 1e9, rel=1e-12)
    assert stored.bandwidth_mhz == pytest.approx(abs(header["CDELT3"]) / 1e6, rel=1e-12)
    assert stored.noise_jy == pytest.approx(noise, rel=1e-12)
    assert stored.dynamic_range == pytest.approx(pixels.max() / noise, rel=1e-12)
    assert stored.field_name == header["OBJECT"].strip()
    date = header["DATE-OBS"]
    mjd = Time(f"{date[:4]}-{date[4:6]}-{date[6:]}", scale="utc").mjd
    assert read_image_properties(path).mjd_obs == pytest.approx(mjd)


@pytest.mark.parametrize(("key", "reason"), [
    ("vla_magpis_cutout", "axes 1-2 are not RA/Dec: CTYPE1/2 = 'GLON-SIN'/'GLAT-SIN'"),
    ("vla_hi_cube", "no image data in any HDU"),
    ("bima_co_moment0", "no image data in any HDU"),
    ("pdbi_cube", "a spectral cube: 7 channels on axis 3 (CTYPE3 = 'VRAD'); register "
                  "continuum images only"),
])
def test_real_images_the_pipeline_cannot_take_are_refused(session, real_file, key, reason):
    path = real_file(key)
    ps.record_ms_stage(session, MS, "imaged")
    with pytest.raises(ImageFileError) as raised:
        ps.register_image(session, path, ms_path=MS)
    assert str(raised.value) == f"{path}: {reason}"
    assert session.scalar(sa.select(sa.func.count()).select_from(Image)) == 0
