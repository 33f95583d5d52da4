"""Real SPOC light curves through the light-curve API, compared with astropy and lightkurve.

Each file is read three ways: loaded and returned by ``lightcurvedb.lightcurves``;
read with astropy (TIME, PDCSAP_FLUX, QUALITY, the primary header); and read by
lightkurve itself (``lightkurve.read`` with a quality bitmask, which drops the
flagged cadences that lightcurvedb masks).
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

import lightcurvedb
from lightcurvedb.lc.extras import require
from lightcurvedb.loaders.tess import load_lightcurves
from realdata.manifest import SPOC_LIGHT_CURVES


@pytest.fixture
def loaded(session, real_file):
    paths = [real_file(key) for key in SPOC_LIGHT_CURVES]
    load_lightcurves(session, paths, progress=False)
    session.expunge_all()
    return paths


def test_real_files_through_the_api(session, loaded):
    lk = require("lightkurve", "lightkurve", "test")
    for path in loaded:
        with fits.open(path) as hdul:
            header, data = hdul[0].header, hdul["LIGHTCURVE"].data
            time, flux = np.array(data["TIME"], dtype=np.float64), np.array(data["PDCSAP_FLUX"])
            quality = np.array(data["QUALITY"], dtype=np.int64)
        (lc,) = lightcurvedb.lightcurves(session, tic=header["TICID"], processing="PDC")
        (sap,) = lightcurvedb.lightcurves(session, tic=header["TICID"], processing="raw")
        meta = lc.meta
        assert (meta["TICID"], meta["SECTOR"], meta["CAMERA"], meta["CCD"]) == \
            (header["TICID"], header["SECTOR"], header["CAMERA"], header["CCD"])
        assert meta["OBJECT"] == header["OBJECT"] and meta["TELESCOP"] == header["TELESCOP"]
        assert lc.source_ids == (sap.id,) and sap.derived_ids == (lc.id,)
        # BTJD as in the file (BJD is stored as one float64: within 1e-9 d, 86 us)
        np.testing.assert_allclose(lc.times, time, rtol=0, atol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(lc.values, flux.astype(np.float64))
        np.testing.assert_array_equal(lc.quality, quality)
        for level in ("hard", "hardest"):
            theirs = lk.read(path, quality_bitmask=level)          # drops flagged cadences
            ours = lc.to_lightkurve(level)
            kept = ~lc.quality_mask(level) & np.isfinite(lc.times)
            hardest_bits = lk.utils.TessQualityFlags.HARDEST_BITMASK
            if level == "hardest":   # lightkurve's "hardest" is the 16 named bits only
                assert ((quality & ~hardest_bits) == 0).all()
            assert len(theirs) == kept.sum() < len(ours) == len(flux)
            np.testing.assert_allclose(ours.time.value[kept], theirs.time.value, rtol=0,
                                       atol=1e-9)
            np.testing.assert_array_equal(ours.flux.unmasked.value[kept],
                                          np.asarray(theirs.flux.unmasked.value))
            np.testing.assert_array_equal(ours.flux.mask[kept], np.isnan(flux[kept]))
            assert theirs.sector == ours.sector and theirs.targetid == ours.targetid
