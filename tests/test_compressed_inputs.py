"""Compressed inputs: found by every directory scan and loaded exactly like the plain file.

SPOC, RBH-1 and catalog files arrive as ``.fits.gz`` (MAST), ``.fits.bz2``
(SDSS-style archives) or, for images, tile-compressed ``.fits.fz``. Each is
found where the plain name would be, loads to the same stored values, and is
recognised as the file it holds: a compressed copy of a loaded file is
skipped, different data under the same name still refused.
"""

from __future__ import annotations

import bz2
import gzip
import inspect
import pathlib
import shutil

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb.loaders.catalog_targets import load_catalog_targets
from lightcurvedb.loaders.rbh1 import RBH1_PATTERNS, find_rbh1_files, load_rbh1_directory
from lightcurvedb.loaders.rbh1.introspect import file_type_from_name
from lightcurvedb.loaders.report import find_files, uncompressed_name, with_compressed
from lightcurvedb.loaders.tess import (
    SPOC_PATTERNS,
    find_spoc_files,
    load_lightcurves,
    read_spoc_lightcurve,
)
from lightcurvedb.missions.hst import HSTFLCFrame
from lightcurvedb.missions.tess import TESSObservation
from lightcurvedb.models import DataSet, QualityFlagArray, Target, TargetSpecificTime
from lightcurvedb.rbh1 import RBH1Observation, WCSSolution
from lightcurvedb.testing.fits import spoc_filename, write_spoc_lightcurve
from lightcurvedb.testing.fits.catalog import write_fastspec_catalog
from lightcurvedb.testing.fits.rbh1 import write_wfc3_drc, write_wfc3_flc

TIC = 261136679
COMPRESS = {"gzip": (gzip.compress, ".gz"), "bzip2": (bz2.compress, ".bz2")}


def _compressed_copy(source: pathlib.Path, directory: pathlib.Path, compression: str
                     ) -> pathlib.Path:
    compress, suffix = COMPRESS[compression]
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (source.name + suffix)
    target.write_bytes(compress(source.read_bytes()))
    return target


def _tile_compressed_copy(source: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    """``fpack``-style copy: every image extension losslessly tile-compressed."""
    with fits.open(source) as hdul:
        hdus = [fits.PrimaryHDU(header=hdul[0].header)]
        hdus += [fits.CompImageHDU(hdu.data, header=hdu.header, compression_type="GZIP_2",
                                   quantize_level=0) for hdu in hdul[1:]]
        fits.HDUList(hdus).writeto(target, checksum=True)
    return target


# -- patterns -----------------------------------------------------------------------------------

def test_patterns_gain_the_compressed_names():
    assert with_compressed(["*_lc.fits", "*.txt"]) == (
        "*_lc.fits", "*_lc.fits.gz", "*_lc.fits.bz2", "*.txt")
    assert SPOC_PATTERNS == ("*_lc.fits", "*_lc.fits.gz", "*_lc.fits.bz2", "*_fast-lc.fits",
                             "*_fast-lc.fits.gz", "*_fast-lc.fits.bz2")
    assert RBH1_PATTERNS == ("*.fits", "*.fits.gz", "*.fits.bz2", "*.fits.fz")
    assert [uncompressed_name(n) for n in ("a_flc.fits.gz", "a_flc.fits.BZ2", "a_flc.fits.fz",
                                           "a_flc.fits", "notes.gz")] == [
        "a_flc.fits", "a_flc.fits", "a_flc.fits.fz", "a_flc.fits", "notes.gz"]
    assert [file_type_from_name(n) for n in ("iexo01abq_flc.fits.gz", "x_drc.fits.bz2",
                                             "jw1_nrs1_s3d.fits.fz", "x_flc.fits.zip")] == [
        "flc", "drc", "s3d", None]


def test_scans_find_compressed_files_and_only_image_readers_take_fz(tmp_path):
    for sub in "abc":
        (tmp_path / sub).mkdir()
    plain = write_spoc_lightcurve(tmp_path / "a", tic_id=TIC, sector=1, camera=1, ccd=1,
                                  n_cadences=50)
    packed = write_spoc_lightcurve(tmp_path / "b", tic_id=TIC, sector=2, camera=1, ccd=1,
                                   n_cadences=50, compression="gzip")
    squeezed = write_spoc_lightcurve(tmp_path / "b", tic_id=TIC, sector=3, camera=1, ccd=1,
                                     n_cadences=50, compression="bzip2")
    (tmp_path / "b" / "x_lc.fits.fz").write_bytes(plain.read_bytes())
    assert find_spoc_files(tmp_path) == [plain, packed, squeezed]
    assert (packed.name, squeezed.name) == (spoc_filename(TIC, 2) + ".gz",
                                            spoc_filename(TIC, 3) + ".bz2")
    flc = write_wfc3_flc(tmp_path / "c")
    fz = _tile_compressed_copy(flc, tmp_path / "c" / "iexo01abr_flc.fits.fz")
    gz = _compressed_copy(flc, tmp_path / "c" / "gz", "gzip")
    assert find_rbh1_files(tmp_path / "c") == [gz, flc, fz]


# -- TESS SPOC ----------------------------------------------------------------------------------

def _tess_rows(session: Session) -> dict[str, object]:
    """Every stored value of the (one) loaded light curve."""
    target = session.scalars(select(Target)).one()
    observation = session.scalars(select(TESSObservation)).one()
    keys = {"target_id": target.id, "observation_id": observation.id}
    times = session.scalars(select(TargetSpecificTime).filter_by(**keys)).one()
    sap, pdcsap = session.scalars(select(DataSet).filter_by(**keys).order_by(
        DataSet.processing_method_id.is_not(None))).all()
    flags = session.scalars(select(QualityFlagArray).filter_by(**keys)).one()
    return {"tic": target.name, "observation": (observation.sector, observation.camera,
                                                observation.ccd, observation.cadence_seconds),
            "cadences": observation.cadence_reference, "bjd": times.barycentric_julian_dates,
            "sap": (sap.values, sap.errors, sap.unit), "pdcsap": (pdcsap.values, pdcsap.errors),
            "quality": flags.quality_flags}


def _same(a: object, b: object, what: str) -> None:
    """Equal values, arrays bit for bit (NaNs where they were), tuples item by item."""
    if isinstance(a, tuple | list) and not isinstance(a, np.ndarray):
        assert isinstance(b, tuple | list) and len(a) == len(b), what
        for x, y in zip(a, b, strict=True):
            _same(x, y, what)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, what
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        assert a == b, what


def _same_rows(a: dict[str, object], b: dict[str, object]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        _same(a[key], b[key], key)


@pytest.mark.parametrize("compression", ["gzip", "bzip2"])
def test_a_compressed_spoc_file_loads_exactly_like_the_plain_one(session, tmp_path, compression):
    (tmp_path / "plain").mkdir()
    plain = write_spoc_lightcurve(tmp_path / "plain", tic_id=TIC, sector=4, camera=2, ccd=3,
                                  n_cadences=300)
    packed = _compressed_copy(plain, tmp_path / "packed", compression)
    stored = {}
    for path in (plain, packed):
        with session.begin_nested() as savepoint:
            report = load_lightcurves(session, [path.parent], progress=False)
            assert report.loaded == [path] and report.ok
            stored[path] = _tess_rows(session)
            savepoint.rollback()
    _same_rows(stored[plain], stored[packed])
    assert np.isnan(stored[packed]["bjd"]).sum() == 30          # the data gap survived
    with fits.open(plain) as hdul:
        np.testing.assert_array_equal(stored[packed]["quality"], hdul[1].data["QUALITY"])
        np.testing.assert_array_equal(stored[packed]["sap"][0], hdul[1].data["SAP_FLUX"])


def test_a_gzipped_copy_of_a_loaded_spoc_file_is_skipped(session, tmp_path):
    plain = write_spoc_lightcurve(tmp_path, tic_id=TIC, sector=4, camera=2, ccd=3,
                                  n_cadences=300)
    assert load_lightcurves(session, [plain], progress=False).loaded == [plain]
    before = _tess_rows(session)
    rows = session.scalar(select(func.count()).select_from(DataSet))
    packed = _compressed_copy(plain, tmp_path / "later", "gzip")
    again = load_lightcurves(session, [packed], progress=False)
    assert (again.loaded, again.skipped, again.failures) == ([], [packed], [])
    assert session.scalar(select(func.count()).select_from(DataSet)) == rows == 2
    _same_rows(before, _tess_rows(session))
    # other data under the same name, gzipped, is still refused (by its content hash)
    (tmp_path / "other").mkdir()
    other = write_spoc_lightcurve(tmp_path / "other", tic_id=TIC, sector=4, camera=2, ccd=3,
                                  n_cadences=300, seed=5, compression="gzip")
    refused = load_lightcurves(session, [other], progress=False)
    assert refused.failed == [other]
    assert refused.failures[0][1].startswith("changed since it was loaded (sha256 ")
    _same_rows(before, _tess_rows(session))


def test_the_reader_sees_the_same_record_in_a_compressed_file(tmp_path):
    plain = write_spoc_lightcurve(tmp_path, tic_id=TIC, sector=1, camera=1, ccd=1,
                                  n_cadences=100)
    packed = write_spoc_lightcurve(tmp_path, tic_id=TIC, sector=1, camera=1, ccd=1,
                                   n_cadences=100, compression="gzip")
    a, b = read_spoc_lightcurve(plain), read_spoc_lightcurve(packed)
    assert (a.tic_id, a.sector, a.cadence_seconds) == (b.tic_id, b.sector, b.cadence_seconds)
    np.testing.assert_array_equal(a.pdcsap_flux, b.pdcsap_flux)
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()


# -- RBH-1 --------------------------------------------------------------------------------------

def _rbh1_rows(session: Session) -> dict[str, object]:
    row = session.scalars(select(RBH1Observation)).one()
    wcs = session.scalars(select(WCSSolution)).one()
    frame = session.scalars(select(HSTFLCFrame)).one()
    skip = {"obs_id", "file_name", "file_path", "file_size_bytes", "run_id", "loaded_at",
            "frame_id", "wcs_id"}
    values = {f"obs.{c.key}": getattr(row, c.key) for c in RBH1Observation.__table__.columns
              if c.key not in skip}
    values.update({f"wcs.{c.key}": getattr(wcs, c.key) for c in WCSSolution.__table__.columns
                   if c.key not in skip})
    values.update({"frame": (frame.cadence, frame.rootname, frame.naxis,
                             list(frame.naxis_values), frame.exposure_time)})
    values["wcs.footprint"] = wcs.footprint.vertices
    return values


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "tile"])
def test_a_compressed_rbh1_file_loads_exactly_like_the_plain_one(session, tmp_path, kind):
    (tmp_path / "plain").mkdir()
    plain = write_wfc3_flc(tmp_path / "plain")
    if kind == "tile":
        (tmp_path / "packed").mkdir()
        packed = _tile_compressed_copy(plain, tmp_path / "packed" / (plain.name + ".fz"))
    else:
        packed = _compressed_copy(plain, tmp_path / "packed", kind)
    stored = {}
    for path in (plain, packed):
        with session.begin_nested() as savepoint:
            report = load_rbh1_directory(session, path.parent, progress=False)
            assert report.loaded == [path], report.render()
            assert report.notes == []             # the name says flc, like the headers
            stored[path] = _rbh1_rows(session)
            savepoint.rollback()
    a, b = stored[plain], stored[packed]
    if kind == "tile":   # other bytes inside (compressed tiles), so another SHA-256
        assert a.pop("obs.sha256") != b.pop("obs.sha256")
    _same_rows(a, b)
    assert a["wcs.crval1"] != 0.0 and len(a["wcs.footprint"]) >= 4


@pytest.mark.parametrize("first", ["plain", "gzip"])
def test_the_same_rbh1_data_gzipped_or_not_is_the_same_file(session, tmp_path, first):
    for sub in ("plain", "other"):
        (tmp_path / sub).mkdir()
    plain = write_wfc3_flc(tmp_path / "plain")
    packed = _compressed_copy(plain, tmp_path / "packed", "gzip")
    squeezed = _compressed_copy(plain, tmp_path / "squeezed", "bzip2")
    order = [plain, packed] if first == "plain" else [packed, plain]
    assert load_rbh1_directory(session, order[0], progress=False).loaded == [order[0]]
    for later in (order[1], squeezed):
        report = load_rbh1_directory(session, later, progress=False)
        assert (report.loaded, report.skipped, report.failures) == ([], [later], [])
    row = session.scalars(select(RBH1Observation)).one()        # one file, loaded once
    assert (row.file_name, row.file_path) == (order[0].name, order[0])
    assert session.scalar(select(func.count()).select_from(HSTFLCFrame)) == 1
    # different content under the same (compression-stripped) name is still refused
    other = _compressed_copy(write_wfc3_flc(tmp_path / "other", seed=9), tmp_path / "o", "gzip")
    assert other.name == packed.name
    refused = load_rbh1_directory(session, other, progress=False)
    assert refused.failed == [other]
    assert refused.failures[0][1].startswith(
        f"already loaded with different content (obs_id {row.obs_id} from {order[0]}")
    assert session.scalar(select(func.count()).select_from(RBH1Observation)) == 1


def test_a_differently_named_compressed_rbh1_file_is_not_the_same_file(session, tmp_path):
    drc = write_wfc3_drc(tmp_path, rootname="iexo01010")
    copy = _compressed_copy(drc, tmp_path / "renamed", "gzip")
    renamed = copy.rename(copy.with_name("iexo01011_drc.fits.gz"))
    assert load_rbh1_directory(session, drc, progress=False).loaded == [drc]
    report = load_rbh1_directory(session, renamed, progress=False)
    assert report.failed == [renamed]          # another name, same exposure: a clash
    assert "another drc file of detector UVIS starts at the same time" in report.failures[0][1]


# -- catalogs -----------------------------------------------------------------------------------

def test_a_catalog_directory_scan_finds_gzip_and_bzip2(tmp_path):
    plain = write_fastspec_catalog(tmp_path / "fastspec-a.fits", 40, seed=1)
    packed = _compressed_copy(plain, tmp_path / "vac", "gzip")
    squeezed = _compressed_copy(plain, tmp_path / "vac", "bzip2")
    shutil.copy(plain, tmp_path / "vac" / "notes.txt")
    default = inspect.signature(load_catalog_targets).parameters["patterns"].default
    assert default == ("*.fits", "*.fits.gz", "*.fits.bz2")
    assert find_files(tmp_path / "vac", default) == [squeezed, packed]
