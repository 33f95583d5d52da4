"""Binary-table columns read from the hashed bytes (``loaders.fitstable``) equal astropy's.

Real light curves (TESS SPOC, Kepler, K2, fetched from PyPI) and tables written
here with astropy are read both ways; every value must have the same bits as
``numpy.asarray(hdu.data[name])``. Tables the reader does not take (scaled or
unsigned columns, vectors, truncated data, repeated names) give None, and the
SPOC loader then reads them with astropy.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from astropy.io import fits

from array_support import same_bits
from lightcurvedb.loaders.fitsfile import open_fits
from lightcurvedb.loaders.fitstable import column_names, table_columns
from lightcurvedb.loaders.spoc import REQUIRED_COLUMNS, read_spoc_lightcurve
from lightcurvedb.testing.fits import write_spoc_lightcurve
from realdata.manifest import SPOC_LIGHT_CURVES

REAL_TABLES = (*SPOC_LIGHT_CURVES, "kepler_llc", "k2_llc")


def plain_numeric(hdu: fits.BinTableHDU) -> list[str]:
    """Columns of one unscaled B/I/J/K/E/D value per row, as astropy describes them."""
    return [col.name for col in hdu.columns
            if col.format in ("B", "I", "J", "K", "E", "D", "1B", "1I", "1J", "1K", "1E", "1D")
            and col.bscale in (None, 1) and col.bzero in (None, 0)]


@pytest.mark.parametrize("key", REAL_TABLES)
def test_real_light_curve_columns_have_astropys_bits(real_file, key):
    path = real_file(key)
    with open_fits(path, keep_data=("LIGHTCURVE",)) as (hdul, content):
        hdu = hdul["LIGHTCURVE"]
        names = plain_numeric(hdu)
        if key in SPOC_LIGHT_CURVES:
            assert set(REQUIRED_COLUMNS) <= set(names)
        assert {"TIME", "SAP_FLUX", "PDCSAP_FLUX", "CADENCENO"} <= set(names)
        info = hdu.fileinfo()
        stored = path.read_bytes()[info["datLoc"]:info["datLoc"] + info["datSpan"]]
        assert bytes(content.data["LIGHTCURVE"]) == stored      # the bytes that were hashed
        columns = table_columns(hdu.header, content.data["LIGHTCURVE"], names)
        assert columns is not None and list(columns) == names
        assert column_names(hdu.header) == list(hdu.columns.names)
        for name in names:
            assert same_bits(np.asarray(columns[name]), np.asarray(hdu.data[name])), name
            assert len(columns[name]) == hdu.header["NAXIS2"]


def _table(tmp_path: pathlib.Path, columns: list[fits.Column], **cards: float
           ) -> pathlib.Path:
    path = tmp_path / "table.fits"
    hdu = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
    hdu.header.update(cards)
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
    return path


def _read(path: pathlib.Path, names: list[str]):
    with open_fits(path, keep_data=("LIGHTCURVE",)) as (hdul, content):
        header = hdul["LIGHTCURVE"].header
        found = table_columns(header, content.data["LIGHTCURVE"], names)
        expected = {name: np.asarray(hdul["LIGHTCURVE"].data[name]) for name in names}
    return found, expected


def test_fields_of_every_kind_before_a_column_keep_its_offset(tmp_path):
    rng = np.random.default_rng(5)
    n = 37
    path = _table(tmp_path, [
        fits.Column(name="FLAG", format="L", array=rng.random(n) > 0.5),
        fits.Column(name="LABEL", format="7A", array=[f"s{i}" for i in range(n)]),
        fits.Column(name="BITS", format="11X", array=np.zeros((n, 11), dtype=bool)),
        fits.Column(name="VEC", format="3E", array=rng.random((n, 3)).astype(np.float32)),
        fits.Column(name="Z", format="C", array=rng.random(n) + 1j),
        fits.Column(name="BYTE", format="B", array=rng.integers(0, 255, n).astype(np.uint8)),
        fits.Column(name="SHORT", format="I", array=rng.integers(-99, 99, n).astype(np.int16)),
        fits.Column(name="Time", format="D", array=rng.random(n) * 1e3),
        fits.Column(name="COUNT", format="K", array=rng.integers(-2**40, 2**40, n)),
    ])
    names = ["BYTE", "SHORT", "Time", "COUNT"]
    found, expected = _read(path, names)
    assert found is not None
    for name in names:
        assert same_bits(np.asarray(found[name]), expected[name]), name
    found, _ = _read(path, ["TIME"])          # names match as astropy's do: any case
    assert found is not None and same_bits(np.asarray(found["TIME"]), expected["Time"])


@pytest.mark.parametrize("case", ["unsigned", "scaled", "vector", "logical", "missing",
                                  "repeated"])
def test_tables_it_does_not_take_give_none(tmp_path, case):
    n = 20
    values = np.arange(n, dtype=np.int32)
    columns = {
        "unsigned": [fits.Column(name="Q", format="J", bzero=2**31,
                                 array=values.astype(np.uint32) + np.uint32(3_000_000_000))],
        "scaled": [fits.Column(name="Q", format="I", array=values.astype(np.int16))],
        "vector": [fits.Column(name="Q", format="2J", array=np.stack([values, values], 1))],
        "logical": [fits.Column(name="Q", format="L", array=values > 3)],
        "missing": [fits.Column(name="OTHER", format="J", array=values)],
        "repeated": [fits.Column(name="Q", format="J", array=values),
                     fits.Column(name="q", format="E", array=values.astype(np.float32))],
    }[case]
    path = _table(tmp_path, columns, **({"TSCAL1": 0.5} if case == "scaled" else {}))
    with open_fits(path, keep_data=("LIGHTCURVE",)) as (hdul, content):
        assert table_columns(hdul["LIGHTCURVE"].header, content.data["LIGHTCURVE"],
                             ["Q"]) is None


def test_short_data_gives_none(tmp_path):
    path = _table(tmp_path, [fits.Column(name="Q", format="D", array=np.arange(1000.0))])
    with open_fits(path, keep_data=("LIGHTCURVE",)) as (hdul, content):
        header, data = hdul["LIGHTCURVE"].header, content.data["LIGHTCURVE"]
        assert table_columns(header, data, ["Q"]) is not None
        assert table_columns(header, data[:8 * 999], ["Q"]) is None
        assert table_columns(header, None, ["Q"]) is None


def test_spoc_file_with_an_unsigned_quality_column_is_read_through_astropy(tmp_path):
    # QUALITY stored as unsigned 32-bit integers (TZERO = 2**31): the raw bytes
    # are not the values, so the loader must take astropy's scaled reading.
    path = write_spoc_lightcurve(tmp_path, tic_id=261136679, sector=1, camera=1, ccd=1,
                                 n_cadences=50)
    with fits.open(path) as hdul:
        table = hdul["LIGHTCURVE"]
        quality = np.asarray(table.data["QUALITY"]).astype(np.uint32) + np.uint32(2**31)
        columns = [fits.Column(name="QUALITY", format="J", bzero=2**31, array=quality)
                   if col.name == "QUALITY" else col for col in table.columns]
        rebuilt = fits.BinTableHDU.from_columns(columns, header=table.header, name="LIGHTCURVE")
        assert rebuilt.header["TZERO" + str(table.columns.names.index("QUALITY") + 1)] == 2**31
        hdus = fits.HDUList([hdul[0].copy(), rebuilt, *[h.copy() for h in hdul[2:]]])
        hdus.writeto(tmp_path / "unsigned.fits", checksum=True)
    lc = read_spoc_lightcurve(tmp_path / "unsigned.fits")
    np.testing.assert_array_equal(lc.quality, quality.astype(np.int64))
    assert lc.quality.min() >= 2**31
