"""The radio services store the paths they are given resolved: absolute, links followed."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest
import sqlalchemy as sa

from lightcurvedb.radio import CalTable, Image, MSIndex, Photometry, SubbandFile
from lightcurvedb.radio import calibration_registry as cal
from lightcurvedb.radio import products_service as ps
from lightcurvedb.radio import queue as q
from lightcurvedb.testing.fits.radio import write_radio_image

T0 = dt.datetime(2025, 10, 24, 12, 0, 0, tzinfo=dt.UTC)
GROUP = "2025-10-24T12:00:00"
BEAM = {"bmaj_deg": 0.0042, "bmin_deg": 0.0031, "bpa_deg": -12.5}


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """``data/`` with an image and an MS directory, reached through the link ``current``."""
    data = tmp_path / "data"
    (data / "ms" / f"{GROUP}.ms").mkdir(parents=True)
    (data / "img").mkdir()
    write_radio_image(data / "img" / f"{GROUP}.img-image.fits", ra=188.73, dec=42.05,
                      noise_jy=4e-4, nx=64, ny=64, **BEAM)
    (tmp_path / "current").symlink_to(data)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    return data


def _text(session, column):
    return session.execute(sa.select(column)).scalars().all()


def test_images_and_ms_registered_from_relative_paths(session, tree, monkeypatch):
    ms = ps.record_ms_stage(session, f"current/ms/{GROUP}.ms", "imaged",
                            imagename=f"current/img/../img/{GROUP}.img-image.fits")
    image = ps.register_image(session, f"current/img/{GROUP}.img-image.fits",
                              ms_path=f"./data/ms/{GROUP}.ms", created_at=T0)
    ps.record_photometry(session, [
        {"image_path": f"current/img/{GROUP}.img-image.fits", "source_id": "NVSS J1",
         "ra_deg": 188.73, "dec_deg": 42.05, "peak_jyb": 0.1},
        {"image_path": str(tree / "img" / f"{GROUP}.img-image.fits"), "source_id": "NVSS J2",
         "ra_deg": 188.74, "dec_deg": 42.05, "peak_jyb": 0.2}], measured_at=T0)
    real_ms, real_image = str(tree / "ms" / f"{GROUP}.ms"), \
        str(tree / "img" / f"{GROUP}.img-image.fits")
    assert (ms.path, ms.imagename) == (real_ms, real_image)
    assert _text(session, MSIndex.path) == [real_ms]
    assert _text(session, MSIndex.imagename) == [real_image]
    assert (image.path, image.ms_path) == (real_image, real_ms)
    assert _text(session, Image.path) == [real_image]
    assert _text(session, Photometry.image_path) == [real_image, real_image]
    # The same file under another name is the same registration.
    with pytest.raises(ps.ProductsError, match="already registered"):
        ps.register_image(session, real_image, ms_path=real_ms)
    assert ps.record_ms_stage(session, real_ms, "photometry_complete").path == real_ms
    monkeypatch.chdir(tree.parent / "elsewhere")
    assert session.get(MSIndex, real_ms) is not None
    for stored in (real_ms, real_image):
        assert stored.startswith("/") and pathlib.Path(stored).exists()


def test_calibration_tables_registered_from_relative_paths(session, tree):
    (tree / "cal").mkdir()
    rows = cal.register_calibration_set(
        session, "bp_60972", {"K": "current/cal/60972.K", "BP": "data/cal/../cal/60972.B"},
        valid_start_mjd=60972.0, valid_end_mjd=60973.0, created_at=T0)
    assert [row.path for row in rows] == [str(tree / "cal" / "60972.K"),
                                          str(tree / "cal" / "60972.B")]
    assert sorted(_text(session, CalTable.path)) == [str(tree / "cal" / "60972.B"),
                                                     str(tree / "cal" / "60972.K")]
    with pytest.raises(cal.DuplicateCalTableError, match="already registered"):
        cal.register_caltable(session, str(tree / "cal" / "60972.K"), "K", set_name="again",
                              valid_start_mjd=60980.0, valid_end_mjd=60981.0)
    with pytest.raises(cal.CalibrationError, match="paths must be distinct"):
        cal.register_calibration_set(session, "twice", {"K": "data/cal/x", "G": "current/cal/x"},
                                     valid_start_mjd=60990.0, valid_end_mjd=60991.0)
    with pytest.raises(cal.CalibrationError, match="'empty': empty path"):
        cal.register_calibration_set(session, "empty", {"K": ""},
                                     valid_start_mjd=60990.0, valid_end_mjd=60991.0)
    assert len(_text(session, CalTable.path)) == 2


def test_subband_files_registered_from_relative_paths(session, tree):
    incoming = tree / "incoming"
    incoming.mkdir()
    for index in (0, 1):
        (incoming / f"{GROUP}_sb{index:02d}.hdf5").write_bytes(b"x" * (10 + index))
    first = q.register_subband_file(session, f"current/incoming/{GROUP}_sb00.hdf5")
    second = q.register_subband(session, GROUP, 1, f"data/incoming/{GROUP}_sb01.hdf5")
    # The same file named through the link: already registered, nothing new.
    again = q.register_subband(session, GROUP, 1, f"current/incoming/{GROUP}_sb01.hdf5")
    assert (first.created, second.created, again.created) == (True, True, False)
    assert sorted(_text(session, SubbandFile.file_path)) == [
        str(incoming / f"{GROUP}_sb00.hdf5"), str(incoming / f"{GROUP}_sb01.hdf5")]
