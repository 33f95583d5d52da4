"""A real HST WFC3/UVIS ``flc`` through the RBH-1 loader, on SQLite and PostgreSQL.

The file (drizzlepac's test copy of ``ib4606c5q_flc.fits``, pixels cut to 10x10,
every header and extension kept) has 24 HDUs, among them eight ``HDRLET``
extensions of a non-standard XTENSION type, and no checksum cards. What is
stored is compared with astropy's reading of the file: the primary header's
keywords, the HDU count, the SHA-256, and the footprint of each SCI chip
computed with astropy's WCS (distortion tables included).
"""

from __future__ import annotations

import hashlib

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from sqlalchemy import select

from lightcurvedb.loaders.rbh1 import load_rbh1_directory
from lightcurvedb.rbh1 import RBH1Observation, WCSSolution


def chip_corners(path) -> np.ndarray:
    """Sky corners (deg) of every SCI chip, by astropy alone."""
    corners = []
    with fits.open(path) as hdul:
        for hdu in hdul:
            if hdu.name != "SCI":
                continue
            wcs = WCS(hdu.header, fobj=hdul)
            nx, ny = hdu.header["NAXIS1"], hdu.header["NAXIS2"]
            pixels = np.array([[1, 1], [1, ny], [nx, ny], [nx, 1]], dtype=float)
            corners.append(wcs.all_pix2world(pixels, 1))
    return np.array(corners)


def test_real_wfc3_flc_loads_with_the_values_of_its_headers(session, real_file):
    path = real_file("hst_wfc3_uvis_flc")
    report = load_rbh1_directory(session, [path], progress=False)
    assert (report.loaded, report.failures) == ([path], [])
    with fits.open(path) as hdul:
        primary, n_hdus = hdul[0].header, len(hdul)
        kinds = [type(hdu).__name__ for hdu in hdul]
    assert kinds.count("NonstandardExtHDU") == 8 and n_hdus == 24
    row = session.scalars(select(RBH1Observation).where(
        RBH1Observation.file_name == path.name)).one()
    assert (row.file_type, row.program_id, row.filter_name, row.target_name) == \
        ("flc", primary["PROPOSID"], primary["FILTER"], primary["TARGNAME"])
    assert (row.exposure_time, row.exposure_start_mjd) == (primary["EXPTIME"],
                                                           primary["EXPSTART"])
    assert row.n_extensions == n_hdus
    assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row.file_size_bytes == path.stat().st_size
    assert (row.date_obs.date().isoformat(), row.date_obs.strftime("%H:%M:%S")) == \
        (primary["DATE-OBS"], primary["TIME-OBS"])
    solution = session.scalars(select(WCSSolution).where(
        WCSSolution.obs_id == row.obs_id)).one()
    corners = chip_corners(path)
    assert solution.n_chips == len(corners) == 2
    ra, dec = corners[..., 0], corners[..., 1]
    np.testing.assert_allclose([solution.ra_min, solution.ra_max, solution.dec_min,
                                solution.dec_max], [ra.min(), ra.max(), dec.min(), dec.max()],
                               rtol=0, atol=1e-9)


def test_real_wfc3_flc_loaded_twice_is_skipped(session, real_file):
    path = real_file("hst_wfc3_uvis_flc")
    load_rbh1_directory(session, [path], progress=False)
    again = load_rbh1_directory(session, [path], progress=False)
    assert (again.loaded, again.skipped, again.failures) == ([], [path], [])
    assert len(session.scalars(select(RBH1Observation).where(
        RBH1Observation.file_name == path.name)).all()) == 1


def _nothing_written(session):
    from lightcurvedb.models import FITSFrame, Instrument

    assert session.scalars(select(RBH1Observation)).all() == []
    assert session.scalars(select(FITSFrame)).all() == []
    assert session.scalars(select(Instrument)).all() == []


def test_real_nirspec_msa_slit_is_refused_by_its_exp_type(session, real_file):
    path = real_file("jwst_nirspec_msa_slit")
    with fits.open(path) as hdul:
        assert (hdul[0].header["EXP_TYPE"], hdul[0].header["DETECTOR"]) == \
            ("NRS_MSASPEC", "NRS2")
    report = load_rbh1_directory(session, [path], progress=False)
    assert report.failures == [(path, (
        "not an RBH-1 product: EXP_TYPE = 'NRS_MSASPEC' (multi-object spectroscopy with the "
        "micro-shutter assembly); RBH-1 takes NIRSpec IFU files (EXP_TYPE = 'NRS_IFU')"))]
    _nothing_written(session)


def test_real_wfc3_ir_flt_is_refused_by_its_detector(session, real_file):
    path = real_file("hst_wfc3_ir_flt")
    report = load_rbh1_directory(session, [path], progress=False)
    assert report.failures == [(path, "not an RBH-1 product: DETECTOR = 'IR' (RBH-1 takes "
                                      "WFC3/UVIS flc and drc files)")]
    _nothing_written(session)


def test_real_acs_cutout_is_refused_naming_what_its_extensions_say(session, real_file):
    path = real_file("hst_acs_drz_cutout")
    with fits.open(path) as hdul:
        telescope, instrument = hdul[1].header["TELESCOP"], hdul[1].header["INSTRUME"]
        origin = hdul[0].header["ORIGIN"]
    report = load_rbh1_directory(session, [path], progress=False)
    ((failed, reason),) = report.failures
    assert failed == path and reason == (
        f"not an RBH-1 product: TELESCOP = '(none)', INSTRUME = '(none)' in the primary header; "
        f"HDU 1 (CUTOUT) says {telescope} {instrument}, made by {origin!r} (expected HST WFC3 "
        "or JWST NIRSPEC)")
    _nothing_written(session)


def test_real_headers_map_onto_the_instrument_tree(session, real_file):
    from lightcurvedb.missions.hst import hst_detector
    from lightcurvedb.missions.jwst import jwst_instrument

    with fits.open(real_file("jwst_nirspec_msa_slit")) as hdul:
        h = hdul[0].header
        mode, detector = jwst_instrument(session, h["INSTRUME"], h["EXP_TYPE"], h["DETECTOR"])
    assert (mode.path, detector.path) == ("JWST > NIRSpec > MOS", "JWST > NIRSpec > MOS > NRS2")
    for key, path in (("hst_wfc3_ir_flt", "HST > WFC3 > IR"),
                      ("hst_wfc3_uvis_flc", "HST > WFC3 > UVIS")):
        with fits.open(real_file(key)) as hdul:
            h = hdul[0].header
            assert hst_detector(session, h["INSTRUME"], h["DETECTOR"]).path == path
