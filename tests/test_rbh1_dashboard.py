"""The RBH-1 validation dashboard (``lightcurvedb.rbh1.dashboard``) and the ``rbh1`` CLI group."""

from __future__ import annotations

import argparse
import pathlib

import numpy as np
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.loaders.rbh1 import load_rbh1_directory
from lightcurvedb.rbh1.cli import add_rbh1_commands
from lightcurvedb.rbh1.dashboard import dashboard_data, render_dashboard
from lightcurvedb.testing.fits.rbh1 import write_rbh1_set

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Channel spacing of the generated G140M grid: 0.970-1.890 um in 1447 channels, in nm.
DELTA_LAMBDA_NM = (1.890 - 0.970) / 1446 * 1000


@pytest.fixture(scope="module")
def rbh1_set(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The full default generated set: 194 files, 160 of them with a WCS solution."""
    directory = tmp_path_factory.mktemp("rbh1_full")
    write_rbh1_set(directory)
    return directory


def assert_png(path: pathlib.Path, min_kb: int) -> None:
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > min_kb * 1024


def test_dashboard_of_the_full_set(session: Session, rbh1_set: pathlib.Path,
                                   tmp_path: pathlib.Path) -> None:
    report = load_rbh1_directory(session, rbh1_set, progress=False)
    assert report.ok, report.render()
    data = dashboard_data(session)
    assert len(data.footprints) == 160
    assert data.counts == {"flc": 72, "drc": 68, "skycell": 2, "s3d": 18}
    scales = data.pixel_scales
    np.testing.assert_allclose(scales["flc"], 0.04, rtol=1e-6)
    np.testing.assert_allclose(scales["drc"], 0.04, rtol=1e-6)
    np.testing.assert_allclose(scales["s3d"], 0.10, rtol=1e-6)
    assert sorted(scales["skycell"]) == pytest.approx([4.5, 5.5])
    # Panel 2: three span regimes, IFU << HST << skycell.
    spans = {c: [max(f.ra_span_arcsec, f.dec_span_arcsec) for f in data.footprints
                 if f.category == c] for c in data.counts}
    assert max(spans["s3d"]) < min(spans["flc"] + spans["drc"])
    assert max(spans["flc"] + spans["drc"]) < min(spans["skycell"])
    assert min(spans["skycell"]) > 600
    # Panel 3: science within +-12" dithers (+ chip offsets); both skycells 6000" out.
    assert sorted(data.outliers) == sorted(f.file_name for f in data.footprints
                                           if f.category == "skycell")
    science = np.array([f.category != "skycell" for f in data.footprints])
    assert np.abs(data.crval_offsets_arcsec[science]).max() < 40.0
    assert np.sort(data.crval_offsets_arcsec[~science, 0]) == pytest.approx([-6000, 6000],
                                                                             rel=0.01)
    assert data.reference_pointing == pytest.approx((40.45, -8.35), abs=10 / 3600)
    # Panels 5 and 6: 18 identical linear grids.
    assert len(data.sampling) == 18 and data.delta_lambda_nm.size == 18 * 1446
    assert data.delta_lambda_nm == pytest.approx(np.full(18 * 1446, DELTA_LAMBDA_NM), rel=1e-9)
    assert DELTA_LAMBDA_NM == pytest.approx(0.636, abs=1e-3)
    assert data.mean_resolution == pytest.approx(2249, rel=2e-3)
    assert data.stored_mean_resolution == pytest.approx(data.mean_resolution, rel=1e-3)
    wavelength, resolution = data.sampling[0]
    assert resolution[0] == pytest.approx(1525, rel=2e-3)
    assert resolution[-1] == pytest.approx(2970, rel=2e-3)
    assert wavelength[0] > 0.970 and wavelength[-1] < 1.890
    out = render_dashboard(session, tmp_path / "plots" / "dashboard.png", dpi=60, data=data)
    assert out == tmp_path / "plots" / "dashboard.png"
    assert_png(out, min_kb=40)


def test_dashboard_of_an_empty_database(session: Session, tmp_path: pathlib.Path) -> None:
    data = dashboard_data(session)
    assert (data.footprints, data.outliers, data.sampling) == ([], [], [])
    assert data.reference_pointing is None and data.mean_resolution is None
    assert data.delta_lambda_nm.size == 0 and data.counts == {} and data.pixel_scales == {}
    assert_png(render_dashboard(session, tmp_path / "empty.png", dpi=50), min_kb=10)


def test_dashboard_without_cubes(session: Session, tmp_path: pathlib.Path) -> None:
    directory = tmp_path / "hst_only"
    write_rbh1_set(directory, counts={"flc": 3, "drc": 4, "cal": 0, "x1d": 0, "s3d": 0})
    assert load_rbh1_directory(session, directory, progress=False).ok
    data = dashboard_data(session)
    assert data.counts == {"flc": 3, "drc": 2, "skycell": 2}
    assert data.sampling == [] and data.mean_resolution is None
    assert_png(render_dashboard(session, tmp_path / "hst.png", dpi=50), min_kb=20)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="lcdb")
    top.add_argument("--url")
    add_rbh1_commands(top.add_subparsers(required=True))
    return top


def test_cli_dashboard_and_extract_spaxels(tmp_path: pathlib.Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    url = str(URL.create("sqlite", database=str(tmp_path / "cli.sqlite3")))
    directory = tmp_path / "small"
    write_rbh1_set(directory, counts={"flc": 2, "drc": 2, "cal": 1, "x1d": 1, "s3d": 2})
    engine = connect(url)
    migrations.upgrade(engine)
    with Session(engine) as db:
        assert load_rbh1_directory(db, directory, progress=False).ok
        db.commit()
    engine.dispose()
    args = parser().parse_args(["--url", url, "rbh1", "extract-spaxels", "--no-progress"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "2 loaded, 0 skipped, 0 failed" in out and "288 spaxels written" in out
    args = parser().parse_args(["--url", url, "rbh1", "extract-spaxels", "--no-progress"])
    assert args.func(args) == 0
    assert "0 loaded, 2 skipped" in capsys.readouterr().out
    png = tmp_path / "dash.png"
    args = parser().parse_args(["--url", url, "rbh1", "dashboard", str(png), "--dpi", "40"])
    assert args.func(args) == 0
    assert f"wrote {png}: 6 WCS solutions" in capsys.readouterr().out
    assert_png(png, min_kb=10)
