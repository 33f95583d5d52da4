"""DSA-110 products: MS stages, images measured from generated FITS files, bulk photometry."""

from __future__ import annotations

import argparse
import datetime as dt
import math

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits

from lightcurvedb.radio import Image, MSIndex, Photometry
from lightcurvedb.radio import products_service as ps
from lightcurvedb.radio.cli import add_radio_commands, radio_subcommands
from lightcurvedb.testing.fits.radio import sky_to_pixel, write_radio_image

T0 = dt.datetime(2025, 10, 24, 12, 0, 0, tzinfo=dt.UTC)
MS = "/ms/2025-10-24T12:00:00.ms"
RA0, DEC0 = 188.73, 42.05
BEAM = {"bmaj_deg": 0.0042, "bmin_deg": 0.0031, "bpa_deg": -12.5}
SOURCES = [(RA0, DEC0, 0.120), (RA0 + 0.05, DEC0 - 0.03, 0.045), (RA0 - 0.04, DEC0 + 0.05, 0.02)]


@pytest.fixture
def image_path(tmp_path):
    return write_radio_image(tmp_path / "2025-10-24T12:00:00.img-image.fits", ra=RA0, dec=DEC0,
                             noise_jy=4e-4, nx=200, ny=160, cell_arcsec=3.0, sources=SOURCES,
                             **BEAM)


@pytest.fixture
def registered(session, image_path):
    ps.record_ms_stage(session, MS, "imaged", start_mjd=60972.49, end_mjd=60972.51,
                       field_name="J1234+42", pointing_ra_deg=RA0, pointing_dec_deg=DEC0)
    return ps.register_image(session, image_path, ms_path=MS, created_at=T0)


def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# -- FITS ---------------------------------------------------------------------------------------

def test_generated_image_has_the_radio_layout(image_path):
    with fits.open(image_path) as hdus:
        assert len(hdus) == 1
        header, data = hdus[0].header, hdus[0].data
    assert data.shape == (1, 1, 160, 200) and data.dtype == np.dtype(">f4")
    assert [header[f"CTYPE{i}"] for i in range(1, 5)] == ["RA---SIN", "DEC--SIN", "FREQ",
                                                           "STOKES"]
    assert (header["BUNIT"], header["TELESCOP"], header["OBJECT"]) == \
        ("JY/BEAM", "DSA-110", "J1234+42")
    assert (header["CRVAL3"], header["CDELT3"]) == (1.405e9, 187.5e6)
    assert header["DATE-OBS"] == "2025-10-24T12:00:00.0"
    # The bright source sits, beam-shaped, where the projection puts it.
    x, y = sky_to_pixel(RA0 + 0.05, DEC0 - 0.03, ra0=RA0, dec0=DEC0,
                        crpix=(header["CRPIX1"], header["CRPIX2"]), cell_deg=3.0 / 3600)
    assert data[0, 0, round(y), round(x)] == pytest.approx(0.045, abs=0.01)
    assert x < header["CRPIX1"] - 1                    # east (larger RA) is to the left


def test_image_properties_from_the_header(image_path):
    props = ps.read_image_properties(image_path)
    assert props.beam_major_arcsec == pytest.approx(0.0042 * 3600)
    assert props.beam_minor_arcsec == pytest.approx(0.0031 * 3600)
    assert props.beam_pa_deg == -12.5
    assert (props.freq_ghz, props.bandwidth_mhz) == (pytest.approx(1.405), pytest.approx(187.5))
    assert (props.imsize_x, props.imsize_y) == (200, 160)
    assert props.cellsize_arcsec == pytest.approx(3.0)
    assert (props.center_ra_deg, props.center_dec_deg) == (RA0, DEC0)
    assert props.noise_jy == pytest.approx(4e-4, rel=0.05)   # MAD is not fooled by the sources
    assert props.dynamic_range == pytest.approx(0.120 / props.noise_jy, rel=0.05)
    assert props.field_name == "J1234+42"
    assert props.mjd_obs == pytest.approx(60972.5)


def test_register_image(session, registered, image_path):
    image = session.scalars(sa.select(Image).execution_options(populate_existing=True)).one()
    assert image is registered
    assert (image.path, image.ms_path, image.type, image.format, image.pbcor) == \
        (str(image_path), MS, "image", "fits", False)
    assert (image.beam_major_arcsec, image.beam_minor_arcsec, image.beam_pa_deg) == \
        (pytest.approx(15.12), pytest.approx(11.16), -12.5)
    assert (image.freq_ghz, image.bandwidth_mhz, image.cellsize_arcsec) == \
        (pytest.approx(1.405), pytest.approx(187.5), pytest.approx(3.0))
    assert (image.imsize_x, image.imsize_y, image.field_name, image.created_at) == \
        (200, 160, "J1234+42", T0)
    assert image.noise_jy == pytest.approx(4e-4, rel=0.05)
    with pytest.raises(ps.ProductsError, match="already registered"):
        ps.register_image(session, image_path, ms_path=MS)
    pbcor = ps.register_image(session, _copy(image_path, "pbcor"), ms_path=MS,
                              image_type="pbcor")
    assert pbcor.pbcor is True
    assert _count(session, Image) == 2


def _copy(path, kind):
    target = path.with_name(path.name.replace("image.fits", f"{kind}.fits"))
    target.write_bytes(path.read_bytes())
    return target


def test_bad_images_write_nothing(session, registered, tmp_path, image_path):
    text = tmp_path / "notes.fits"
    text.write_text("not a FITS file at all\n")
    with pytest.raises(ps.ImageFileError, match="notes.fits: not a readable FITS image"):
        ps.register_image(session, text, ms_path=MS)
    with pytest.raises(ps.ImageFileError, match="not a readable FITS image"):
        ps.register_image(session, tmp_path / "missing.fits", ms_path=MS)
    table_only = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column(name="a", format="E", array=np.ones(3))])]).writeto(table_only)
    with pytest.raises(ps.ImageFileError, match="no image data"):
        ps.register_image(session, table_only, ms_path=MS)
    wrong_unit = _copy(image_path, "model")
    with fits.open(wrong_unit, mode="update") as hdus:
        hdus[0].header["BUNIT"] = "JY/PIXEL"
    with pytest.raises(ps.ImageFileError, match="BUNIT is 'JY/PIXEL', not JY/BEAM"):
        ps.register_image(session, wrong_unit, ms_path=MS)
    with pytest.raises(ps.UnknownProductError, match="not in ms_index"):
        ps.register_image(session, _copy(image_path, "residual"), ms_path="/ms/other.ms")
    with pytest.raises(ps.ProductsError, match="image type must be one of"):
        ps.register_image(session, image_path, ms_path=MS, image_type="dirty")
    assert _count(session, Image) == 1


# -- MS stages ----------------------------------------------------------------------------------

def test_ms_stages(session):
    ms = ps.record_ms_stage(session, MS, "converted", start_mjd=60972.49, end_mjd=60972.51,
                            when=T0)
    assert (ms.stage, ms.status, ms.cal_applied, ms.stage_updated_at) == \
        ("converted", "ok", False, T0)
    assert ms.mid_mjd == pytest.approx(60972.5)
    later = T0 + dt.timedelta(minutes=10)
    ms = ps.record_ms_stage(session, MS, "calibrated", cal_applied=True, when=later)
    assert (ms.stage, ms.cal_applied, ms.start_mjd, ms.stage_updated_at) == \
        ("calibrated", True, 60972.49, later)
    with pytest.raises(ps.ProductsError, match="already calibrated; refusing to go back"):
        ps.record_ms_stage(session, MS, "converted")
    assert ps.record_ms_stage(session, MS, "converted", allow_regress=True).stage == "converted"
    for kwargs, message in [({"stage": "done"}, "stage must be one of"),
                            ({"status": "great"}, "status must be one of"),
                            ({"start_mjd": 2.0, "end_mjd": 1.0}, "is before start_mjd"),
                            ({"pointing_dec_deg": 91.0}, "outside"),
                            ({"start_mjd": math.nan}, "start_mjd must be a finite number")]:
        with pytest.raises(ps.ProductsError, match=message):
            ps.record_ms_stage(session, **{"path": "/ms/b.ms", "stage": "imaged", **kwargs})
    assert _count(session, MSIndex) == 1


# -- forced photometry --------------------------------------------------------------------------

def _rows(image, n=500):
    rng = np.random.default_rng(1)
    return [{"image_path": image.path, "source_id": f"NVSS J{i:06d}.0+420000",
             "ra_deg": RA0 + rng.uniform(-0.1, 0.1), "dec_deg": DEC0 + rng.uniform(-0.1, 0.1),
             "nvss_flux_mjy": 50.0, "peak_jyb": rng.normal(0.05, 0.01), "peak_err_jyb": 4e-4,
             "mjd": 60972.5} for i in range(n)]


def test_bulk_photometry(session, registered, backend):
    rows = _rows(registered)
    rows[0].update(ra_deg=RA0 + 0.1, dec_deg=DEC0, snr=99.0, flags=3,
                   measured_at=T0 + dt.timedelta(seconds=1))
    assert ps.record_photometry(session, rows, measured_at=T0) == 500
    assert _count(session, Photometry) == 500
    first = session.scalars(sa.select(Photometry).where(
        Photometry.source_id == "NVSS J000000.0+420000")).one()
    assert (first.snr, first.flags, first.measured_at) == (99.0, 3, T0 + dt.timedelta(seconds=1))
    expected_sep = math.degrees(math.acos(math.sin(math.radians(DEC0)) ** 2 + math.cos(
        math.radians(DEC0)) ** 2 * math.cos(math.radians(0.1))))
    assert first.sep_from_center_deg == pytest.approx(expected_sep, rel=1e-9)
    second = session.scalars(sa.select(Photometry).where(
        Photometry.source_id == "NVSS J000001.0+420000")).one()
    assert second.snr == pytest.approx(rows[1]["peak_jyb"] / 4e-4)
    assert (second.flags, second.measured_at) == (0, T0)
    table = "radio.photometry" if backend == "postgresql" else "photometry"
    stored = session.execute(sa.text(f"SELECT DISTINCT measured_at FROM {table} "
                                     "WHERE flags = 0")).scalars().all()
    assert stored == [T0.timestamp()]
    assert ps.record_photometry(session, []) == 0


@pytest.mark.parametrize("index, change, field, message", [
    (7, {"peak_jyb": float("nan")}, "peak_jyb", "must be a finite number, got nan"),
    (3, {"peak_err_jyb": -1e-4}, "peak_err_jyb", "must be positive"),
    (3, {"peak_err_jyb": 0.0}, "peak_err_jyb", "must be positive"),
    (499, {"image_path": "/img/unknown.fits"}, "image_path", "is not registered"),
    (2, {"snr": float("inf")}, "snr", "must be a finite number"),
    (4, {"dec_deg": 95.0}, "dec_deg", "outside"),
    (4, {"ra_deg": 360.0}, "ra_deg", "outside"),
    (5, {"source_id": ""}, "source_id", "must be a non-empty string"),
    (5, {"source_id": None}, "source_id", "missing"),
    (6, {"flux": 1.0}, "flux", "unknown field"),
    (6, {"flags": -1}, "flags", "must be an integer >= 0"),
    (6, {"nvss_flux_mjy": -3.0}, "nvss_flux_mjy", "must not be negative"),
    (8, {"measured_at": dt.datetime(2025, 10, 24)}, "measured_at", "aware datetime"),
    (9, {"peak_jyb": "0.1"}, "peak_jyb", "must be a finite number"),
])
def test_bad_photometry_rows_write_nothing(session, registered, index, change, field, message):
    rows = _rows(registered)
    rows[index].update(change)
    with pytest.raises(ps.PhotometryRowError, match=f"photometry row {index}, {field}: .*"
                                                    f"{message}") as excinfo:
        ps.record_photometry(session, rows, measured_at=T0)
    assert (excinfo.value.row, excinfo.value.field) == (index, field)
    assert _count(session, Photometry) == 0


def test_negative_peaks_are_measurements(session, registered):
    rows = _rows(registered, 2)
    rows[1]["peak_jyb"] = -0.0008
    assert ps.record_photometry(session, rows, measured_at=T0) == 2
    assert session.scalar(sa.select(sa.func.min(Photometry.snr))) == pytest.approx(-2.0)


# -- command line -------------------------------------------------------------------------------

def test_radio_commands(tmp_path, image_path, capsys):
    parser = argparse.ArgumentParser(prog="lcdb")
    parser.add_argument("--url")
    commands = parser.add_subparsers(required=True)
    radio = add_radio_commands(commands)
    assert radio_subcommands(commands) is radio          # another module can add to the group
    url = f"sqlite:///{tmp_path / 'radio.sqlite3'}"
    files = []
    for index in range(16):
        path = tmp_path / f"2025-10-24T12:00:00_sb{index:02d}.hdf5"
        path.write_bytes(b"x" * (index + 1))
        files.append(str(path))

    def run(*argv):
        args = parser.parse_args(["--url", url, *argv])
        status = args.func(args)
        return status, capsys.readouterr().out

    status, out = run("radio", "queue", "register", *files, str(tmp_path / "junk.hdf5"))
    assert status == 1
    assert "2025-10-24T12:00:00 sb15: 16/16 subbands, pending" in out
    assert "junk.hdf5: refused: " in out
    status, out = run("radio", "queue", "claim")
    assert (status, out.splitlines()[0]) == (0, "2025-10-24T12:00:00")
    assert len(out.splitlines()) == 17
    assert run("radio", "queue", "fail", "2025-10-24T12:00:00", "boom") == \
        (0, "2025-10-24T12:00:00: failed\n")
    assert run("radio", "queue", "retry", "2025-10-24T12:00:00")[0] == 0
    assert "pending            1" in run("radio", "queue", "status")[1]
    status, out = run("radio", "cal", "register", "bp_a", "G=/cal/g", "K=/cal/k", "BP=/cal/bp",
                      "--start", "60972", "--end", "60973")
    assert out.splitlines() == ["0 K  /cal/k", "1 BP /cal/bp", "2 G  /cal/g"]
    assert [line.split()[1] for line in run("radio", "cal", "active", "60972.5")[1]
            .splitlines()] == ["K", "BP", "G"]
    assert run("radio", "ms", "stage", MS, "imaged")[1] == f"{MS}: imaged (ok)\n"
    status, out = run("radio", "image", "register", "--ms", MS, str(image_path))
    assert status == 0 and 'beam 15.1" x 11.2"' in out and "200x160" in out
