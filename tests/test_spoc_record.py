"""A :class:`SpocLightCurve` crosses processes in the file's own dtypes and arrives unchanged.

Worker processes hand records to the writer through a pipe (pickle): arrays the
file stored in 32 bits (SPOC's ``E`` fluxes, ``J`` flags and cadence numbers)
travel as such and are widened back, so every array arrives with the same
dtype and bits -- NaN payloads included, signalling NaNs too -- in some 57 %
of the bytes.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from astropy.io import fits

from array_support import same_bits
from lightcurvedb.loaders.spoc import SpocLightCurve, read_spoc_lightcurve
from lightcurvedb.testing.fits import write_spoc_lightcurve
from realdata.manifest import SPOC_LIGHT_CURVES

ARRAYS = ("time", "cadence_numbers", "sap_flux", "sap_flux_err", "pdcsap_flux",
          "pdcsap_flux_err", "quality", "aperture")


def round_trip(lc: SpocLightCurve) -> tuple[SpocLightCurve, int]:
    data = pickle.dumps(lc, protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.loads(data), len(data)


def assert_same(a: SpocLightCurve, b: SpocLightCurve) -> None:
    for name in ARRAYS:
        assert same_bits(getattr(a, name), getattr(b, name)), name
    for name in ("path", "tic_id", "sector", "camera", "ccd", "cadence_seconds",
                 "bjd_reference", "pdc_method", "position", "sha256", "size_bytes",
                 "stored_dtypes"):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("key", SPOC_LIGHT_CURVES)
def test_a_real_record_is_pickled_narrow_and_unpickled_unchanged(real_file, key):
    lc = read_spoc_lightcurve(real_file(key))
    with fits.open(real_file(key)) as hdul:
        forms = {c.name: c.format for c in hdul["LIGHTCURVE"].columns}
    assert (forms["SAP_FLUX"], forms["QUALITY"], forms["TIME"]) == ("E", "J", "D")
    assert lc.stored_dtypes == {"sap_flux": "<f4", "sap_flux_err": "<f4", "pdcsap_flux": "<f4",
                                "pdcsap_flux_err": "<f4", "quality": "<i4",
                                "cadence_numbers": "<i4"}
    back, size = round_trip(lc)
    assert_same(back, lc)
    assert back.sap_flux.dtype == np.float64 and back.quality.dtype == np.int64
    full = sum(getattr(lc, name).nbytes for name in ARRAYS)
    assert size < 0.65 * full                       # 4 + 4 of every 8 bytes, time as is


def test_nan_payloads_and_signalling_nans_survive(tmp_path):
    made = write_spoc_lightcurve(tmp_path, tic_id=7, sector=3, camera=1, ccd=2, n_cadences=50)
    bits = np.array([0x7F800001, 0xFFC00123, 0x7FC00000, 0x80000000], dtype=np.uint32)
    with fits.open(made) as hdul:
        flux = hdul["LIGHTCURVE"].data["SAP_FLUX"]
        flux[:4] = bits.view(np.float32)            # signalling NaN, payload NaN, NaN, -0.0
        edited = tmp_path / "edited_lc.fits"
        hdul.writeto(edited, checksum=True)
    lc = read_spoc_lightcurve(edited)
    with fits.open(edited) as hdul:
        assert np.array(hdul["LIGHTCURVE"].data["SAP_FLUX"][:4]).view(">u4").tolist() == \
            bits.tolist()
    back, _ = round_trip(lc)
    assert_same(back, lc)


def test_a_record_built_by_hand_pickles_as_it_is():
    lc = SpocLightCurve(path=None, tic_id=1, sector=1, camera=1, ccd=1, cadence_seconds=120,
                        bjd_reference=(2457000, 0.0), time=np.arange(3.0),
                        cadence_numbers=np.arange(3), sap_flux=np.full(3, 0.1),
                        sap_flux_err=np.ones(3), pdcsap_flux=np.ones(3),
                        pdcsap_flux_err=np.ones(3), quality=np.zeros(3, np.int64),
                        aperture=np.ones((2, 2), np.int32))
    back, _ = round_trip(lc)
    assert back.stored_dtypes == {} and same_bits(back.sap_flux, lc.sap_flux)  # 0.1 kept
