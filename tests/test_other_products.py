"""Files of other missions and products are refused by the TESS loader, named, writing nothing.

The generated files copy the real layouts (Kepler Archive Manual, TESS SDPDD,
astrocut); without the product check each of them fails on some later rule
("lacks keyword TICID", "no 'LIGHTCURVE' HDU", "lacks column(s)") that does
not say what the file is.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb.loaders import LoaderError
from lightcurvedb.loaders.products import NOT_SPOC, Product, header_facts, identify
from lightcurvedb.loaders.tess import load_lightcurves, read_spoc_lightcurve
from lightcurvedb.models import DataSet, Mission, Observation, Target
from lightcurvedb.testing.fits import (
    kepler_filename,
    write_k2_lightcurve,
    write_kepler_lightcurve,
    write_qlp_lightcurve,
    write_spoc_lightcurve,
    write_tess_ffi,
    write_tess_target_pixel_file,
    write_tesscut_cutout,
    write_without_column,
)
from lightcurvedb.testing.fits.rbh1 import write_nirspec_x1d, write_wfc3_flc

NOT_SPOC_TAIL = ", not a TESS SPOC light curve"
#: writer -> the reason the loader gives (the whole of it).
CASES = {
    "kepler_long": (write_kepler_lightcurve, "a Kepler long-cadence light curve (TELESCOP = "
                                             "'Kepler', KEPLERID = 11446443)"),
    "kepler_short": (lambda d: write_kepler_lightcurve(d, cadence="short", quarter=9),
                     "a Kepler short-cadence light curve (TELESCOP = 'Kepler', KEPLERID = "
                     "11446443)"),
    "k2": (write_k2_lightcurve, "a K2 long-cadence light curve (TELESCOP = 'Kepler', MISSION = "
                                "'K2', CAMPAIGN = 4, KEPLERID = 211089792)"),
    "k2_gzip": (lambda d: write_k2_lightcurve(d, compression="gzip"),
                "a K2 long-cadence light curve (TELESCOP = 'Kepler', MISSION = 'K2', "
                "CAMPAIGN = 4, KEPLERID = 211089792)"),
    "tess_tpf": (write_tess_target_pixel_file, "a TESS target pixel file (TICID = 307210830, "
                                               "SECTOR = 5; PIXELS HDU)"),
    "tesscut": (write_tesscut_cutout, "a TESScut full-frame-image cutout (CREATOR = "
                                      "'astrocut', SECTOR = 5, CAMERA = 4, CCD = 4)"),
    "ffi": (write_tess_ffi, "a TESS full-frame image (SECTOR = 1, CAMERA = 1, CCD = 1; images "
                            "in HDUs 1, 2, no table)"),
    "qlp": (write_qlp_lightcurve, "a QLP light curve, a high-level science product of the MIT "
                                  "Quick-Look Pipeline (ORIGIN = 'MIT/QLP', TICID = 261136679)"),
    "hst": (write_wfc3_flc, "a file from another telescope (TELESCOP = 'HST', INSTRUME = "
                            "'WFC3')"),
    "jwst": (write_nirspec_x1d, "a file from another telescope (TELESCOP = 'JWST', INSTRUME = "
                                "'NIRSPEC')"),
}


def _counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Mission, Target, Observation, DataSet)}


@pytest.fixture(scope="module")
def spoc(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return write_spoc_lightcurve(tmp_path_factory.mktemp("spoc"), tic_id=25155310, sector=1,
                                 camera=1, ccd=1, n_cadences=100)


@pytest.mark.parametrize("kind", CASES)
def test_another_product_is_refused_by_name_and_writes_nothing(session, tmp_path, spoc, kind):
    write, reason = CASES[kind]
    other = write(tmp_path)
    with pytest.raises(LoaderError) as raised:
        read_spoc_lightcurve(other)
    assert str(raised.value) == f"{other}: {reason}{NOT_SPOC_TAIL}"
    before = _counts(session)
    report = load_lightcurves(session, [other], progress=False)
    assert report.failures == [(other, reason + NOT_SPOC_TAIL)] and report.loaded == []
    assert _counts(session) == before
    both = load_lightcurves(session, [other, spoc], progress=False)   # the next file loads
    assert both.loaded == [spoc] and both.failed == [other]
    assert _counts(session)["target"] == before["target"] + 1


def test_the_product_is_named_before_the_checksum_is_judged(tmp_path):
    kepler = write_kepler_lightcurve(tmp_path)
    with fits.open(kepler) as hdul:
        start = hdul["LIGHTCURVE"].fileinfo()["datLoc"]
    raw = bytearray(kepler.read_bytes())
    raw[start + 40] ^= 0x10
    damaged = tmp_path / "damaged_lc.fits"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(LoaderError, match="^.*: a Kepler long-cadence light curve "):
        read_spoc_lightcurve(damaged)


def test_spoc_files_and_damaged_spoc_files_are_not_other_products(spoc, tmp_path):
    with fits.open(spoc) as hdul:
        assert identify(header_facts(hdul), NOT_SPOC) is None
    without = write_without_column(spoc, tmp_path / "x_lc.fits", "PDCSAP_FLUX")
    with pytest.raises(LoaderError, match="the LIGHTCURVE table lacks column\\(s\\) PDCSAP"):
        read_spoc_lightcurve(without)            # SPOC's own file, damaged: not "another"
    hdul = fits.HDUList([fits.PrimaryHDU()])     # no TELESCOP: nothing to say
    assert identify(header_facts(hdul), NOT_SPOC) is None


def _facts(primary: dict, *extensions: tuple[str, list[str]]) -> object:
    hdus: list = [fits.PrimaryHDU()]
    hdus[0].header.update(primary)
    for name, columns in extensions:
        hdus.append(fits.BinTableHDU.from_columns(
            [fits.Column(c, "E", array=np.zeros(2, np.float32)) for c in columns], name=name))
    return header_facts(fits.HDUList(hdus))


@pytest.mark.parametrize(("primary", "extensions", "expected"), [
    ({"TELESCOP": "Kepler", "KEPLERID": 8462852, "QUARTER": 8}, [("TARGETTABLES", ["FLUX"])],
     "a Kepler target pixel file (TELESCOP = 'Kepler', KEPLERID = 8462852, QUARTER = 8; "
     "TARGETTABLES HDU)"),
    ({"TELESCOP": "Kepler", "MISSION": "K2", "CAMPAIGN": 5, "KEPLERID": 211},
     [("TARGETTABLES", ["FLUX"])], "a K2 target pixel file (TELESCOP = 'Kepler', MISSION = "
                                   "'K2', CAMPAIGN = 5, KEPLERID = 211; TARGETTABLES HDU)"),
    ({"TELESCOP": "TESS", "ORIGIN": "TASOC/Aarhus", "TICID": 7}, [("LIGHTCURVE", ["FLUX_RAW"])],
     "a TASOC light curve, a TESS high-level science product (ORIGIN = 'TASOC/Aarhus', "
     "TICID = 7)"),
    ({"TELESCOP": "TESS", "ORIGIN": "UCSB/TGLC", "TICID": 7}, [("LIGHTCURVE", ["cal_psf_flux"])],
     "a TGLC light curve, a TESS high-level science product (ORIGIN = 'UCSB/TGLC', "
     "TICID = 7)"),
    ({"TELESCOP": "TESS", "ORIGIN": "GSFC", "TICID": 7}, [("LIGHTCURVE", ["TIME", "FLUX"])],
     "a TESS light curve of another pipeline (ORIGIN = 'GSFC', TICID = 7; no CADENCENO, "
     "SAP_FLUX, SAP_FLUX_ERR, PDCSAP_FLUX, PDCSAP_FLUX_ERR, QUALITY columns)"),
    ({"TELESCOP": "TESS", "ORIGIN": "STScI/MAST", "SECTOR": 2}, [("PIXELS", ["FLUX"])],
     "a TESScut full-frame-image cutout (ORIGIN = 'STScI/MAST', SECTOR = 2; PIXELS HDU)"),
    ({"TELESCOP": "JWST", "INSTRUME": "NIRCAM"}, [], "a file from another telescope "
                                                     "(TELESCOP = 'JWST', INSTRUME = 'NIRCAM')"),
])
def test_header_facts_name_the_product(primary, extensions, expected):
    assert identify(_facts(primary, *extensions), NOT_SPOC) == expected


def test_products_are_data():
    rule = Product("a {cadence} thing", {"TELESCOP": "!TESS", "OBSMODE": "*"}, quote=("OBSMODE",))
    facts = _facts({"TELESCOP": "HST", "OBSMODE": "short cadence"})
    assert identify(facts, [rule]) == "a short-cadence thing (OBSMODE = 'short cadence')"
    assert identify(_facts({"TELESCOP": "TESS", "OBSMODE": "x"}), [rule]) is None
    assert identify(_facts({"TELESCOP": "HST"}), [rule]) is None          # OBSMODE absent


def test_generated_products_have_the_real_layouts(tmp_path):
    kepler = write_kepler_lightcurve(tmp_path)
    assert kepler.name == kepler_filename(11446443, 1) == "kplr011446443-2009166043257_llc.fits"
    with fits.open(kepler) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "LIGHTCURVE", "APERTURE"]
        assert (hdul[0].header["OBSMODE"], hdul[0].header["MISSION"]) == ("long cadence",
                                                                           "Kepler")
        table = hdul["LIGHTCURVE"]
        assert "SAP_QUALITY" in table.columns.names and "QUALITY" not in table.columns.names
        assert (table.header["BJDREFI"], table.columns["TIME"].unit) == (2454833,
                                                                         "BJD - 2454833")
        assert table.header["TIMEDEL"] == pytest.approx(0.0204338, rel=1e-4)
        assert all("CHECKSUM" in h.header and "DATASUM" not in h.header for h in hdul)
    assert write_k2_lightcurve(tmp_path).name == "ktwo211089792-c04_llc.fits"
    tpf = write_tess_target_pixel_file(tmp_path)
    assert tpf.name.endswith("-0000000307210830-0124-s_tp.fits")
    with fits.open(tpf) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "PIXELS", "APERTURE", "TARGET COSMIC RAY"]
        assert hdul["PIXELS"].data["FLUX"].shape == (50, 11, 11)
        assert hdul["PIXELS"].header["TDIM5"] == "(11,11)"
        assert "TargetPixelExporterPipelineModule" in hdul[0].header["CREATOR"]
    cut = write_tesscut_cutout(tmp_path)
    assert cut.name == "tess-s0005-4-4_124.531900_-68.313000_5x5_astrocut.fits"
    with fits.open(cut) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "PIXELS", "APERTURE"]
        assert "TICID" in hdul[0].header and hdul[0].header["TICID"] is None   # undefined
        assert hdul["PIXELS"].columns.names[-1] == "FFI_FILE"
        assert all("DATASUM" in h.header for h in hdul)        # astrocut writes both
    again = tmp_path / "again"
    again.mkdir()
    for path, write in ((kepler, write_kepler_lightcurve), (tpf, write_tess_target_pixel_file),
                        (cut, write_tesscut_cutout)):     # byte for byte deterministic
        assert write(again).read_bytes() == path.read_bytes()
