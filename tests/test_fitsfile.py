"""The one FITS-opening rule of every reader: checksums as the standard defines them."""

from __future__ import annotations

import bz2
import gzip
import io
import pathlib
import warnings
import zipfile

import numpy as np
import pytest
from astropy.io import fits

from lightcurvedb.loaders.fitsfile import (
    content_sha256,
    encode_checksum,
    ones_complement_sum,
    open_fits,
)
from lightcurvedb.loaders.report import LoaderError


def _hdus() -> fits.HDUList:
    rng = np.random.default_rng(7)
    table = fits.BinTableHDU.from_columns(
        [fits.Column("TIME", "D", array=np.linspace(1325.3, 1353.2, 500)),
         fits.Column("QUALITY", "J", array=rng.integers(0, 4096, 500))], name="LIGHTCURVE")
    image = fits.ImageHDU(rng.integers(0, 300, (11, 11)).astype(np.int32), name="APERTURE")
    return fits.HDUList([fits.PrimaryHDU(), table, image])


def _hdu_bytes(path: pathlib.Path) -> list[tuple[int, int]]:
    """(start, end) of every HDU, header and data blocks."""
    with fits.open(path) as hdul:
        return [(h.fileinfo()["hdrLoc"], h.fileinfo()["datLoc"] + h.fileinfo()["datSpan"])
                for h in hdul]


def write_checksum_only(path: pathlib.Path) -> pathlib.Path:
    """Write the file as SPOC does: CHECKSUM over header and data, no DATASUM card.

    The CHECKSUM values are computed here from the raw bytes with the
    standard's algorithm, independently of astropy's writer.
    """
    hdul = _hdus()
    for hdu in hdul:
        hdu.header["CHECKSUM"] = "0" * 16
    hdul.writeto(path)
    raw = bytearray(path.read_bytes())
    for start, end in _hdu_bytes(path):
        value = encode_checksum(~ones_complement_sum(bytes(raw[start:end])) & 0xFFFFFFFF)
        at = raw.index(b"'" + b"0" * 16 + b"'", start)
        raw[at + 1:at + 17] = value.encode()
    path.write_bytes(bytes(raw))
    return path


def _card(path: pathlib.Path, ext: int, key: str) -> str | None:
    with fits.open(path) as hdul:
        return hdul[ext].header.get(key)


def test_checksum_encoding_matches_what_astropy_writes(tmp_path):
    # astropy's writer is right when it writes both cards: recompute its CHECKSUM
    # values from the raw bytes (with the card zeroed) and compare.
    path = tmp_path / "both.fits"
    _hdus().writeto(path, checksum=True)
    raw = path.read_bytes()
    for ext, (start, end) in enumerate(_hdu_bytes(path)):
        written = _card(path, ext, "CHECKSUM")
        hdu = bytearray(raw[start:end])
        at = hdu.index(f"'{written}'".encode())
        hdu[at + 1:at + 17] = b"0" * 16
        assert encode_checksum(~ones_complement_sum(bytes(hdu)) & 0xFFFFFFFF) == written
        # and the whole HDU sums to negative zero
        assert ones_complement_sum(raw[start:end]) == 0xFFFFFFFF


def test_ones_complement_sum_wraps_the_carry():
    assert ones_complement_sum(b"\xff\xff\xff\xff\x00\x00\x00\x02") == 2
    assert ones_complement_sum(b"\x80\x00\x00\x00" * 2) == 1
    assert ones_complement_sum(b"\x01") == 0x01000000      # padded with zeros


def test_checksum_without_datasum_loads_though_astropy_refuses_it(tmp_path):
    path = write_checksum_only(tmp_path / "spoc_like.fits")
    assert _card(path, 1, "DATASUM") is None and _card(path, 1, "CHECKSUM")
    # astropy's own checksum=True check treats the missing DATASUM as 0 and warns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(path, checksum=True) as hdul:
            hdul.info(output=False)
    assert any("Checksum verification failed" in str(w.message) for w in caught)
    with open_fits(path) as (hdul, content):
        assert hdul["LIGHTCURVE"].data["TIME"][0] == pytest.approx(1325.3)
        assert content.compression is None and content.size_bytes == path.stat().st_size


@pytest.mark.parametrize("cards", ["both", "datasum_only", "neither"])
def test_files_with_either_card_or_none_load(tmp_path, cards):
    path = tmp_path / f"{cards}.fits"
    hdul = _hdus()
    if cards != "neither":
        hdul.writeto(path, checksum=True)
        if cards == "datasum_only":
            with fits.open(path) as written:
                copy = fits.HDUList([h.copy() for h in written])
            for hdu in copy:
                hdu.header.remove("CHECKSUM")
            copy.writeto(path, overwrite=True)   # DATASUM kept as written
            assert _card(path, 1, "DATASUM") is not None
            assert _card(path, 1, "CHECKSUM") is None
    else:
        hdul.writeto(path)
    with open_fits(path) as (opened, _):
        assert len(opened) == 3


def _flip(path: pathlib.Path, dest: pathlib.Path, offset: int) -> pathlib.Path:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    dest.write_bytes(bytes(raw))
    return dest


def test_a_flipped_data_byte_is_refused_naming_the_hdu(tmp_path):
    good = write_checksum_only(tmp_path / "good.fits")
    (_, _), (_, _), (image_start, _) = _hdu_bytes(good)
    bad = _flip(good, tmp_path / "bad.fits", image_start + 2880 + 3)   # APERTURE's data
    with pytest.raises(LoaderError) as raised:
        with open_fits(bad):
            pass
    assert str(raised.value) == (
        f"{bad}: checksum mismatch: HDU 2 ('APERTURE'): CHECKSUM = "
        f"'{_card(bad, 2, 'CHECKSUM')}' does not match its header and data: the HDU was "
        "changed after it was written")


def test_a_flipped_data_byte_breaks_datasum_too(tmp_path):
    good = tmp_path / "both.fits"
    _hdus().writeto(good, checksum=True)
    (_, _), (table_start, _), _ = _hdu_bytes(good)
    bad = _flip(good, tmp_path / "bad.fits", table_start + 2880 + 17)
    with pytest.raises(LoaderError, match=r"HDU 1 \('LIGHTCURVE'\): DATASUM = \d+ but its data "
                                          r"sum to \d+: the data were changed") as raised:
        with open_fits(bad):
            pass
    assert "CHECKSUM" in str(raised.value)   # both cards disagree, both named


def test_a_changed_header_card_is_refused(tmp_path):
    good = write_checksum_only(tmp_path / "good.fits")
    raw = good.read_bytes()
    at = raw.index(b"EXTNAME = 'LIGHTCURVE'")
    bad = tmp_path / "bad.fits"
    bad.write_bytes(raw[:at] + b"EXTNAME = 'LIGHTCURVF'" + raw[at + 22:])
    with pytest.raises(LoaderError, match=r"HDU 1 \('LIGHTCURVF'\): CHECKSUM"):
        with open_fits(bad):
            pass


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.fits", data)
    return buffer.getvalue()


@pytest.mark.parametrize(("compress", "kind"), [(gzip.compress, "gzip"), (bz2.compress, "bzip2"),
                                                (_zip, "zip")])
def test_compressed_files_read_like_the_plain_file_and_hash_the_same(tmp_path, compress, kind):
    plain = write_checksum_only(tmp_path / "x.fits")
    packed = tmp_path / "x.fits.gz"   # the name does not decide; the first bytes do
    packed.write_bytes(compress(plain.read_bytes()))
    with open_fits(plain) as (a, plain_content), open_fits(packed) as (b, packed_content):
        np.testing.assert_array_equal(a[1].data["QUALITY"], b[1].data["QUALITY"])
        assert plain_content.sha256 == packed_content.sha256 == content_sha256(packed)
        assert packed_content.compression == kind
        assert packed_content.size_bytes == packed.stat().st_size < plain.stat().st_size


def test_a_flipped_byte_inside_a_zip_member_is_refused(tmp_path):
    plain = write_checksum_only(tmp_path / "x.fits")
    raw = bytearray(plain.read_bytes())
    (_, _), (_, _), (image_start, _) = _hdu_bytes(plain)
    raw[image_start + 2880 + 3] ^= 0x01
    packed = tmp_path / "x.fits.zip"
    packed.write_bytes(_zip(bytes(raw)))
    with pytest.raises(LoaderError, match=r"checksum mismatch: HDU 2 \('APERTURE'\)"):
        with open_fits(packed):
            pass


def test_a_corrupted_gzip_member_is_refused(tmp_path):
    plain = write_checksum_only(tmp_path / "x.fits")
    packed = bytearray(gzip.compress(plain.read_bytes()))
    bad = tmp_path / "bad.fits.gz"
    bad.write_bytes(bytes(packed[:len(packed) // 2]))
    with pytest.raises(LoaderError, match="truncated or corrupt FITS file"):
        with open_fits(bad):
            pass


def test_tile_compressed_image_is_checked_on_its_stored_bytes(tmp_path):
    data = np.arange(64 * 64, dtype=np.int32).reshape(64, 64)
    path = tmp_path / "x.fits.fz"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, name="SCI")]).writeto(
        path, checksum=True)
    with open_fits(path) as (hdul, content):
        np.testing.assert_array_equal(hdul["SCI"].data, data)
        assert content.compression is None
    (_, _), (start, end) = _hdu_bytes(path)
    bad = _flip(path, tmp_path / "bad.fits.fz", end - 2880 - 1 if end - start > 5760 else
                start + 2880 + 5)
    with pytest.raises(LoaderError, match=r"checksum mismatch: HDU 1 \('(SCI|COMPRESSED_IMAGE)'"):
        with open_fits(bad):
            pass


def test_missing_and_non_fits_files(tmp_path):
    with pytest.raises(LoaderError, match="no such file"):
        with open_fits(tmp_path / "absent.fits"):
            pass
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"not fits at all" * 300)
    with pytest.raises(LoaderError, match="not a FITS file"):
        with open_fits(junk):
            pass
