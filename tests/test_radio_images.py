"""Radio images as CASA writes them: degenerate axes, velocity axes, cubes refused, damage.

The readers of radio images and catalogs open files with the one FITS rule of
:mod:`lightcurvedb.loaders.fitsfile`: checksums verified, gzip read.
"""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from astropy.table import Table

from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.radio import Image
from lightcurvedb.radio import products_service as ps
from lightcurvedb.radio.catalog import load_master_sources, read_master_sources
from lightcurvedb.testing.fits.radio import SPEED_OF_LIGHT, write_casa_image

MS = "/ms/2025-10-24T12:00:00.ms"
C = SPEED_OF_LIGHT
HI = 1.420405752e9
SKY = {"ra": 188.73, "dec": 42.05, "bmaj_deg": 0.0042, "bmin_deg": 0.0031, "bpa_deg": -12.5,
       "noise_jy": 4e-4, "nx": 96, "ny": 80}


def _edit(path, **cards):
    """Set (or, with None, delete) primary-header cards in place."""
    with fits.open(path, mode="update") as hdus:
        for key, value in cards.items():
            if value is None:
                del hdus[0].header[key]
            else:
                hdus[0].header[key] = value
    return path


@pytest.fixture
def ms(session):
    ps.record_ms_stage(session, MS, "imaged")
    return MS


def _images(session):
    return session.scalar(sa.select(sa.func.count()).select_from(Image))


# -- CASA continuum images: four axes, two of length 1 ------------------------------------------

@pytest.mark.parametrize("stokes_last", [True, False])
def test_casa_continuum_image_with_freq_and_stokes_axes(tmp_path, stokes_last):
    path = write_casa_image(tmp_path / "cont.fits", stokes_last=stokes_last, **SKY)
    with fits.open(path) as hdus:
        header = hdus[0].header
        assert hdus[0].data.shape == (1, 1, 80, 96)
        spectral = 3 if stokes_last else 4
        assert (header["NAXIS"], header[f"CTYPE{spectral}"], header[f"CUNIT{spectral}"]) == \
            (4, "FREQ", "Hz")
        assert header[f"CTYPE{7 - spectral}"] == "STOKES" and header["BUNIT"] == "Jy/beam"
    props = ps.read_image_properties(path)
    assert (props.freq_ghz, props.bandwidth_mhz) == (pytest.approx(1.405), pytest.approx(187.5))
    assert (props.imsize_x, props.imsize_y) == (96, 80)
    assert props.noise_jy == pytest.approx(4e-4, rel=0.06)
    assert props.beam_major_arcsec == pytest.approx(15.12)


def test_frequency_is_that_of_the_plane_not_of_the_reference_pixel(tmp_path):
    path = _edit(write_casa_image(tmp_path / "off.fits", **SKY), CRPIX3=3.0)
    # Pixel 1 lies two channels below the reference value.
    assert ps.read_image_properties(path).freq_ghz == pytest.approx(1.405 - 2 * 0.1875)
    _edit(path, CUNIT3="MHz", CRVAL3=1405.0, CDELT3=187.5, CRPIX3=1.0)
    assert ps.read_image_properties(path).freq_ghz == pytest.approx(1.405)


def test_velocity_axis_with_restfrq(tmp_path, session, ms):
    path = write_casa_image(tmp_path / "vel.fits", velocity=True, rest_freq_ghz=HI / 1e9, **SKY)
    with fits.open(path) as hdus:
        header = hdus[0].header
        assert (header["CTYPE3"], header["CUNIT3"], header["RESTFRQ"]) == ("VRAD", "m/s", HI)
        assert header["CRVAL3"] == pytest.approx(C * (1 - 1.405e9 / HI))   # ~3272 km/s
    props = ps.read_image_properties(path)
    assert (props.freq_ghz, props.bandwidth_mhz) == (pytest.approx(1.405), pytest.approx(187.5))
    image = ps.register_image(session, path, ms_path=ms)
    assert (image.freq_ghz, image.bandwidth_mhz) == (pytest.approx(1.405), pytest.approx(187.5))


def test_legacy_restfreq_and_km_per_s(tmp_path):
    path = write_casa_image(tmp_path / "vel.fits", velocity=True, rest_freq_ghz=HI / 1e9, **SKY)
    with fits.open(path) as hdus:
        v, dv = hdus[0].header["CRVAL3"], hdus[0].header["CDELT3"]
    _edit(path, RESTFRQ=None, RESTFREQ=HI, CUNIT3="km/s", CRVAL3=v / 1e3, CDELT3=dv / 1e3)
    props = ps.read_image_properties(path)
    assert (props.freq_ghz, props.bandwidth_mhz) == (pytest.approx(1.405), pytest.approx(187.5))


def _optical(v):
    return HI / (1 + v / C)


@pytest.mark.parametrize(("ctype", "velref", "to_freq"), [
    ("VOPT", None, _optical),
    ("FELO-HEL", None, _optical),
    ("VELO-LSR", 1, _optical),                       # AIPS: VELREF <= 256 is optical
    ("VELO-LSR", 257, lambda v: HI * (1 - v / C)),   # +256: radio
    ("VELO-LSR", None, lambda v: HI * (1 - v / C)),  # Miriad: radio
    ("VELO", None, lambda v: HI * math.sqrt((C - v) / (C + v))),   # the standard's VELO
])
def test_velocity_conventions(tmp_path, ctype, velref, to_freq):
    v, dv = 3.0e6, -4.0e4    # 3000 km/s, channels of -40 km/s
    path = write_casa_image(tmp_path / "vel.fits", velocity=True, rest_freq_ghz=HI / 1e9, **SKY)
    _edit(path, CTYPE3=ctype, CRVAL3=v, CDELT3=dv, VELREF=velref)
    props = ps.read_image_properties(path)
    assert props.freq_ghz == pytest.approx(to_freq(v) / 1e9, rel=1e-12)
    width = abs(to_freq(v - dv / 2) - to_freq(v + dv / 2))
    assert props.bandwidth_mhz == pytest.approx(width / 1e6, rel=1e-9)


def test_velocity_axis_without_rest_frequency_has_no_frequency(tmp_path):
    path = _edit(write_casa_image(tmp_path / "vel.fits", velocity=True, **SKY), RESTFRQ=None)
    props = ps.read_image_properties(path)
    assert (props.freq_ghz, props.bandwidth_mhz) == (None, None)
    assert props.noise_jy == pytest.approx(4e-4, rel=0.06)


def test_unknown_spectral_units_are_refused(tmp_path):
    path = _edit(write_casa_image(tmp_path / "vel.fits", velocity=True, **SKY),
                 CUNIT3="furlong/s")
    with pytest.raises(ps.ImageFileError,
                       match=r"vel\.fits: CUNIT3 = 'furlong/s' is not a unit of velocity "
                             r"\(m/s, km/s\)$"):
        ps.read_image_properties(path)


# -- cubes ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"velocity": True, "n_channels": 7},
     "a spectral cube: 7 channels on axis 3 (CTYPE3 = 'VRAD'); register continuum images only"),
    ({"n_channels": 5, "stokes_last": False},
     "a spectral cube: 5 channels on axis 4 (CTYPE4 = 'FREQ'); register continuum images only"),
    ({"n_stokes": 4},
     "4 Stokes planes on axis 4 (CTYPE4 = 'STOKES'); register single-Stokes images only"),
])
def test_cubes_are_refused_and_nothing_is_written(tmp_path, session, ms, kwargs, reason):
    path = write_casa_image(tmp_path / "cube.fits", **kwargs, **SKY)
    with pytest.raises(ps.ImageFileError) as caught:
        ps.register_image(session, path, ms_path=ms)
    assert str(caught.value) == f"{path}: {reason}"
    assert _images(session) == 0


def test_other_axes_longer_than_one_are_refused(tmp_path):
    path = _edit(write_casa_image(tmp_path / "t.fits", n_stokes=2, **SKY), CTYPE4="TIME")
    with pytest.raises(ps.ImageFileError, match=r"2 planes on axis 4 \(CTYPE4 = 'TIME'\); "
                                                r"register single-plane images only"):
        ps.read_image_properties(path)


# -- the one FITS rule: checksums, gzip ----------------------------------------------------

def _flip_a_data_byte(path):
    with fits.open(path) as hdus:
        offset = hdus[0].fileinfo()["datLoc"] + 101        # inside the data
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def test_a_flipped_byte_is_refused_naming_the_hdu(tmp_path, session, ms):
    path = write_casa_image(tmp_path / "img.fits", checksum=True, **SKY)
    with fits.open(path) as hdus:
        assert "CHECKSUM" in hdus[0].header and "DATASUM" in hdus[0].header
    assert ps.read_image_properties(path).noise_jy > 0        # intact: accepted
    _flip_a_data_byte(path)
    with pytest.raises(ps.ImageFileError) as caught:
        ps.register_image(session, path, ms_path=ms)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a readable FITS image: checksum mismatch: "
                              "HDU 0 ('PRIMARY'): DATASUM = ")
    assert "\n" not in message
    assert _images(session) == 0


def test_gzipped_images_are_read_by_content(tmp_path):
    path = write_casa_image(tmp_path / "img.fits", **SKY)
    packed = tmp_path / "img-copy.fits"          # gzip data under a plain .fits name
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert ps.read_image_properties(packed) == ps.read_image_properties(path)


def test_missing_and_non_fits_files_keep_their_messages(tmp_path):
    with pytest.raises(ps.ImageFileError,
                       match=r"missing\.fits: not a readable FITS image: no such file$"):
        ps.read_image_properties(tmp_path / "missing.fits")
    (tmp_path / "notes.fits").write_text("not a FITS file at all\n")
    with pytest.raises(ps.ImageFileError, match=r"notes\.fits: not a readable FITS image: "
                                                r"not a FITS file"):
        ps.read_image_properties(tmp_path / "notes.fits")


def _catalog(path, *, checksum=False):
    table = Table({"SOURCE_ID": ["NVSS J1", "NVSS J2"], "RA": [10.0, 20.0], "DEC": [1.0, 2.0],
                   "S_NVSS": [0.1, 0.2]})
    fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(table)]).writeto(path, checksum=checksum)
    return path


def test_master_catalog_with_a_flipped_byte_is_refused(tmp_path, session):
    path = _catalog(tmp_path / "master.fits", checksum=True)
    assert [row["source_id"] for row in read_master_sources(path)] == ["NVSS J1", "NVSS J2"]
    raw = bytearray(path.read_bytes())
    raw[-2880 + 5] ^= 0x01           # in the table's data block (the last block)
    path.write_bytes(bytes(raw))
    with pytest.raises(LoaderError, match=r"master\.fits: checksum mismatch: HDU 1: DATASUM = "):
        load_master_sources(session, path)


def test_master_catalog_gzipped_under_a_plain_name(tmp_path, session):
    plain = _catalog(tmp_path / "plain.fits")
    packed = tmp_path / "packed.fits"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert load_master_sources(session, packed) == 2
    assert np.allclose([row["ra_deg"] for row in read_master_sources(packed)], [10.0, 20.0])


def test_master_catalog_into_the_pipeline_s_own_file(tmp_path):
    from lightcurvedb import connect
    from lightcurvedb.radio import Source
    from lightcurvedb.radio.binding import radio_session
    from lightcurvedb.testing.radio_ddl import create_pipeline_databases

    paths = create_pipeline_databases(tmp_path / "state")
    engines = {group: connect(f"sqlite:///{path}") for group, path in paths.items()}
    try:
        with radio_session(engines) as session:
            assert load_master_sources(session, _catalog(tmp_path / "master.fits")) == 2
            session.commit()
            assert sorted(session.execute(sa.select(Source.source_id)).scalars()) == [
                "NVSS J1", "NVSS J2"]
    finally:
        for engine in engines.values():
            engine.dispose()
