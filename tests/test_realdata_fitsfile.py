"""Real mission files through ``open_fits``: intact ones open, damaged copies are refused.

The files come from pinned PyPI distributions (``tests/realdata``). What each
file carries is checked against astropy's reading of its headers, and the
digest against an independent hash of its uncompressed bytes. Most real
TESS and Kepler products carry ``CHECKSUM`` without ``DATASUM``; astropy's own
``checksum=True`` refuses every such HDU, so a return to that rule fails
``test_intact_real_file_opens`` for them.
"""

from __future__ import annotations

import gzip
import hashlib
import pathlib
import re

import pytest
from astropy.io import fits

from lightcurvedb.loaders.fitsfile import open_fits
from lightcurvedb.loaders.report import LoaderError
from realdata.manifest import MANIFEST, RealFile

#: Real files whose bytes no longer match their checksum cards (changed by whoever shipped them).
STALE = {"tess_tpf_trimmed"}
INTACT = sorted(set(MANIFEST) - STALE)
WITH_CARDS = sorted(key for key in INTACT if any(MANIFEST[key].checksum_cards))


def _cards(hdu: fits.hdu.base._BaseHDU) -> str:
    return ("C" if "CHECKSUM" in hdu.header else "") + ("D" if "DATASUM" in hdu.header else "")


def _plain_bytes(path: pathlib.Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _write_like(source: pathlib.Path, data: bytes, dest: pathlib.Path) -> pathlib.Path:
    """Write ``data`` (plain FITS bytes) to ``dest``, gzipped when ``source`` is."""
    dest.write_bytes(gzip.compress(data) if source.read_bytes()[:2] == b"\x1f\x8b" else data)
    return dest


def _label(index: int, hdu: fits.hdu.base._BaseHDU) -> str:
    if "EXTNAME" in hdu.header:
        return f"HDU {index} ('{str(hdu.header['EXTNAME']).strip()}')"
    return f"HDU {index} ('PRIMARY')" if index == 0 else f"HDU {index}"


def _comment_byte(header: bytes) -> int | None:
    """Offset of a blank last column of a comment (COMMENT/HISTORY, or after ' / ')."""
    for start in range(80, len(header), 80):       # never the first (SIMPLE/XTENSION) card
        card = header[start:start + 80].decode("ascii")
        if card.startswith("END "):
            return None
        if card[79] != " " or card[:8].strip() in ("CHECKSUM", "DATASUM"):
            continue
        if card[:8] in ("COMMENT ", "HISTORY ") or (
                card[8:10] == "= " and card[10:].lstrip()[:1] != "'" and " / " in card[10:]):
            return start + 79
    return None


@pytest.mark.parametrize("key", sorted(MANIFEST))
def test_manifest_records_the_checksum_cards_of_every_hdu(real_file, key):
    entry: RealFile = MANIFEST[key]
    with fits.open(real_file(key)) as hdul:
        assert tuple(_cards(hdu) for hdu in hdul) == entry.checksum_cards


@pytest.mark.parametrize("key", INTACT)
def test_intact_real_file_opens(real_file, key):
    path = real_file(key)
    plain = _plain_bytes(path)
    with open_fits(path) as (hdul, content):
        assert len(hdul) == len(MANIFEST[key].checksum_cards)
        assert content.sha256 == hashlib.sha256(plain).hexdigest()
        assert content.compression == ("gzip" if path.name.endswith(".gz") else None)
        assert content.size_bytes == path.stat().st_size
        with fits.open(path) as reference:
            assert [hdu.name for hdu in hdul] == [hdu.name for hdu in reference]


def test_checksum_only_files_are_among_the_intact_ones():
    # The point of the standard's rule: these HDUs carry CHECKSUM and no DATASUM.
    checksum_only = {key for key in INTACT if "C" in MANIFEST[key].checksum_cards}
    assert {"tess_spoc_lc", "tess_spoc_lc_alerts_s01", "kepler_llc", "k2_llc"} <= checksum_only


def test_trimmed_tpf_is_refused_naming_only_the_changed_hdu(real_file):
    # lightkurve kept SPOC's CHECKSUM when it cut PIXELS to 5 rows; the primary
    # header and APERTURE are untouched and must not be blamed.
    path = real_file("tess_tpf_trimmed")
    with fits.open(path) as hdul:
        assert hdul[1].name == "PIXELS" and hdul[1].header["NAXIS2"] == 5
    with pytest.raises(LoaderError) as caught:
        with open_fits(path):
            pass
    reason = caught.value.reason
    assert reason.startswith("checksum mismatch: HDU 1 ('PIXELS'): CHECKSUM")
    assert re.findall(r"HDU \d+", reason) == ["HDU 1"]


@pytest.mark.parametrize("key", WITH_CARDS)
def test_flipped_data_byte_is_refused_naming_the_hdu(real_file, tmp_path, key):
    path = real_file(key)
    plain = _plain_bytes(path)
    checked = 0
    with fits.open(path) as hdul:
        spans = [(index, hdu, hdu.fileinfo()) for index, hdu in enumerate(hdul)]
        for index, hdu, info in spans:
            if not _cards(hdu) or info["datSpan"] == 0:
                continue
            damaged = bytearray(plain)
            damaged[info["datLoc"]] ^= 0x01
            copy = _write_like(path, bytes(damaged), tmp_path / f"data{index}-{path.name}")
            with pytest.raises(LoaderError) as caught:
                with open_fits(copy):
                    pass
            reason = caught.value.reason
            assert reason.startswith(f"checksum mismatch: {_label(index, hdu)}: "), reason
            assert set(re.findall(r"HDU (\d+)", reason)) == {str(index)}, reason
            for card in ("CHECKSUM", "DATASUM"):
                assert (f"{card} = " in reason) == (card in hdu.header), reason
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("key", WITH_CARDS)
def test_flipped_header_byte_is_refused_naming_the_hdu(real_file, tmp_path, key):
    path = real_file(key)
    plain = _plain_bytes(path)
    checked = 0
    with fits.open(path) as hdul:
        spans = [(index, hdu, hdu.fileinfo()) for index, hdu in enumerate(hdul)]
        for index, hdu, info in spans:
            if "CHECKSUM" not in hdu.header:
                continue
            offset = _comment_byte(plain[info["hdrLoc"]:info["datLoc"]])
            assert offset is not None, f"no comment to change in HDU {index}"
            damaged = bytearray(plain)
            damaged[info["hdrLoc"] + offset] = ord("!")
            copy = _write_like(path, bytes(damaged), tmp_path / f"head{index}-{path.name}")
            with fits.open(copy) as changed:     # still valid FITS, same values
                assert changed[index].header.tostring() != hdu.header.tostring()
            with pytest.raises(LoaderError) as caught:
                with open_fits(copy):
                    pass
            reason = caught.value.reason
            assert reason == (f"checksum mismatch: {_label(index, hdu)}: CHECKSUM = "
                              f"'{hdu.header['CHECKSUM']}' does not match its header and data: "
                              "the HDU was changed after it was written")
            checked += 1
    assert checked > 0
