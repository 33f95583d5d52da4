"""Open a FITS file for a loader: one rule for checksums, compression and damage.

Every reader (TESS SPOC, RBH-1, catalogs, radio images and catalogs) opens its
files through :func:`open_fits`, which

* reads plain, gzip- and bzip2-compressed files alike (by their first bytes, not
  their names) and tile-compressed images (``.fits.fz``) as astropy does;
* verifies ``CHECKSUM`` and ``DATASUM`` the way the FITS standard defines them
  (Appendix J of FITS 4.0, the checksum convention): ``DATASUM`` is the 32-bit
  ones' complement sum of an HDU's data blocks, ``CHECKSUM`` makes the sum of
  the whole HDU -- header and data blocks, as stored -- equal to negative zero.
  Either keyword may be present without the other (SPOC and Kepler products
  carry ``CHECKSUM`` alone); an HDU with neither is not checked;
* refuses what astropy warns about while reading the headers (a file shorter
  than its headers promise, unreadable structure);
* and returns the SHA-256 of the uncompressed bytes (:class:`FitsContent`), so
  the same data gzipped or not is recognised as the same file.

astropy's own ``checksum=True`` is not used: it checks ``CHECKSUM`` as if
``DATASUM`` were zero when that card is absent, and so refuses every intact
SPOC file, and it checks a header re-serialised by astropy rather than the
bytes in the file.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import pathlib
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from lightcurvedb.loaders.report import LoaderError, refuse_if_fits_warned

__all__ = [
    "FitsContent",
    "checksum_problems",
    "content_sha256",
    "encode_checksum",
    "ones_complement_sum",
    "open_fits",
    "read_fits",
]

#: Bytes in a FITS block; headers and data areas are whole blocks.
BLOCK = 2880
#: Bytes read at a time while hashing and summing (a whole number of blocks).
_CHUNK = BLOCK * 4096
_MAGIC = {b"\x1f\x8b": "gzip", b"BZ": "bzip2"}
_NEGATIVE_ZERO = 0xFFFFFFFF
_T = TypeVar("_T")


@dataclass(frozen=True)
class FitsContent:
    """What :func:`open_fits` learnt about a file's bytes.

    Attributes
    ----------
    path : pathlib.Path
        The file as given.
    sha256 : str
        SHA-256 (hex) of the uncompressed FITS bytes: equal for a file and its
        gzipped copy.
    compression : str or None
        ``"gzip"`` or ``"bzip2"`` for a compressed file, None for plain FITS
        (tile-compressed images inside a plain file count as plain).
    size_bytes : int
        Size of the file on disk.
    """

    path: pathlib.Path
    sha256: str
    compression: str | None
    size_bytes: int


def _compression(path: pathlib.Path) -> str | None:
    with path.open("rb") as stream:
        return _MAGIC.get(stream.read(2))


def _stream(path: pathlib.Path, compression: str | None) -> IO[bytes]:
    if compression == "gzip":
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]
    if compression == "bzip2":
        return bz2.open(path, "rb")
    return path.open("rb")


def _fold(total: int) -> int:
    while total >> 32:
        total = (total & _NEGATIVE_ZERO) + (total >> 32)
    return total


def ones_complement_sum(data: bytes | memoryview, start: int = 0) -> int:
    """Return the 32-bit ones' complement sum of big-endian words, as FITS checksums use.

    Parameters
    ----------
    data : bytes
        The bytes; a length that is not a multiple of 4 is padded with zeros.
    start : int, optional
        A sum to continue (the result of an earlier call).

    Returns
    -------
    int
        The folded sum, 0 to ``2**32 - 1``.

    Examples
    --------
    >>> ones_complement_sum(bytes([255, 255, 255, 255, 0, 0, 0, 2]))
    2
    """
    if len(data) % 4:
        data = bytes(data) + b"\0" * (4 - len(data) % 4)
    words = np.frombuffer(data, dtype=">u4")
    # 2**22 words of at most 2**32 - 1 each stay far below 2**64 per block.
    total = start
    for first in range(0, len(words), 1 << 22):
        total += int(words[first:first + (1 << 22)].sum(dtype=np.uint64))
    return _fold(total)


_EXCLUDED = frozenset(b":;<=>?@[\\]^_`")


def encode_checksum(value: int) -> str:
    """Encode a 32-bit value as the 16 characters of a FITS ``CHECKSUM`` card.

    This is the ASCII encoding of the FITS checksum convention: each byte is
    spread over four characters from ``0-9A-Za-z`` (punctuation between
    them avoided), then the string is rotated right by one. A writer stores
    ``encode_checksum(~sum & 0xFFFFFFFF)`` where ``sum`` is the ones'
    complement sum of the HDU with ``CHECKSUM = '0000000000000000'``.

    Parameters
    ----------
    value : int
        The complemented sum, 0 to ``2**32 - 1``.

    Returns
    -------
    str
    """
    chars = [0] * 16
    for i in range(4):
        byte = (value >> (24 - 8 * i)) & 0xFF
        quarter = [byte // 4 + 0x30] * 4
        quarter[0] += byte % 4
        changed = True
        while changed:
            changed = False
            for j in (0, 2):
                while quarter[j] in _EXCLUDED or quarter[j + 1] in _EXCLUDED:
                    quarter[j] += 1
                    quarter[j + 1] -= 1
                    changed = True
        for j in range(4):
            chars[4 * j + i] = quarter[j]
    return bytes(chars[15:] + chars[:15]).decode("ascii")


def _raw_cards(header_bytes: bytes) -> dict[str, str]:
    """``{keyword: value text}`` of the CHECKSUM, DATASUM and EXTNAME cards of a raw header."""
    cards = {}
    for offset in range(0, len(header_bytes), 80):
        card = header_bytes[offset:offset + 80].decode("ascii", "replace")
        keyword = card[:8].strip()
        if keyword == "END":
            break
        if keyword in ("CHECKSUM", "DATASUM", "EXTNAME") and card[8:10] == "= ":
            cards[keyword] = card[10:].split("/", 1)[0].strip().strip("'").strip()
    return cards


@dataclass
class _Span:
    index: int
    header: tuple[int, int]
    data: tuple[int, int]
    header_bytes: bytes = b""
    header_sum: int = 0
    data_sum: int = 0


def _spans(hdul: fits.HDUList) -> list[_Span]:
    # Where each HDU lies only: its cards are read from the raw bytes later, so
    # astropy parses (and judges) none of them here.
    # (HDU.fileinfo, not HDUList.fileinfo: the latter re-serialises every header.)
    spans = []
    for index, hdu in enumerate(hdul):
        info = hdu.fileinfo()
        if info is None:
            continue
        start, data, span = int(info["hdrLoc"]), int(info["datLoc"]), int(info["datSpan"])
        spans.append(_Span(index, (start, data), (data, data + span)))
    return spans


def _overlap(chunk: memoryview, offset: int, region: tuple[int, int]) -> memoryview:
    low, high = max(region[0], offset), min(region[1], offset + len(chunk))
    return chunk[low - offset:high - offset] if low < high else chunk[0:0]


def _hash_and_sum(stream: IO[bytes], spans: Sequence[_Span]) -> str:
    digest = hashlib.sha256()
    offset = 0
    while True:
        block = stream.read(_CHUNK)
        if not block:
            break
        digest.update(block)
        view = memoryview(block)
        for span in spans:
            head = _overlap(view, offset, span.header)
            if len(head):
                span.header_bytes += bytes(head)
                span.header_sum = ones_complement_sum(head, span.header_sum)
            body = _overlap(view, offset, span.data)
            if len(body):
                span.data_sum = ones_complement_sum(body, span.data_sum)
        offset += len(block)
    return digest.hexdigest()


def checksum_problems(spans: Sequence[Any]) -> list[str]:
    """Return one sentence per HDU whose ``CHECKSUM`` or ``DATASUM`` does not match its bytes.

    ``spans`` are the per-HDU sums :func:`open_fits` collects; the function is
    public so its rule can be read in one place: ``DATASUM`` must equal the
    data blocks' ones' complement sum (as an unsigned decimal), and the sum
    of the header and data blocks must be negative zero when ``CHECKSUM`` is
    present. An HDU with neither card passes.
    """
    problems = []
    for span in spans:
        cards = _raw_cards(span.header_bytes)
        name = cards.get("EXTNAME") or ("PRIMARY" if span.index == 0 else "")
        where = f"HDU {span.index} ({name!r})" if name else f"HDU {span.index}"
        if "DATASUM" in cards:
            text = cards["DATASUM"]
            if not text.isdigit():
                problems.append(f"{where}: DATASUM = {text!r} is not a number")
            elif int(text) != span.data_sum:
                problems.append(f"{where}: DATASUM = {text} but its data sum to "
                                f"{span.data_sum}: the data were changed after it was written")
        if "CHECKSUM" in cards:
            total = _fold(span.header_sum + span.data_sum)
            if total != _NEGATIVE_ZERO:
                problems.append(f"{where}: CHECKSUM = {cards['CHECKSUM']!r} does not match "
                                "its header and data: the HDU was changed after it was "
                                "written")
    return problems


def content_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 (hex) of a FITS file's uncompressed bytes.

    A gzip- or bzip2-compressed file hashes to the same value as the plain
    file it holds.
    """
    path = pathlib.Path(path)
    with _stream(path, _compression(path)) as stream:
        return _hash_and_sum(stream, ())


@contextmanager
def open_fits(path: str | os.PathLike[str], *, error: type[LoaderError] = LoaderError,
              memmap: bool = False, check: Callable[[fits.HDUList], None] | None = None
              ) -> Iterator[tuple[fits.HDUList, FitsContent]]:
    """Open a FITS file, verify it, and yield it with its :class:`FitsContent`.

    Parameters
    ----------
    path : path-like
        A FITS file: plain, gzip or bzip2 (detected from its first bytes).
    error : LoaderError subclass, optional
        The class of error to raise (default :class:`LoaderError`).
    memmap : bool, optional
        Memory-map the data (plain files only; compressed files are read).
    check : callable, optional
        Called with the open file as soon as its headers are read, before
        its bytes are hashed and its checksums compared: a reader refuses a
        file of the wrong kind here (raising ``error``), cheaply and before
        any other judgement (the SPOC reader names Kepler files this way).

    Yields
    ------
    tuple of (astropy.io.fits.HDUList, FitsContent)
        The open file (every header read) and its digest.

    Raises
    ------
    LoaderError
        (of class ``error``) ``"no such file"``; ``"not a FITS file"``;
        ``"truncated or corrupt FITS file (...)"`` with astropy's message;
        ``"checksum mismatch: HDU 1 ('LIGHTCURVE'): ..."`` naming each HDU
        whose ``CHECKSUM``/``DATASUM`` disagree with its bytes.

    Notes
    -----
    Warnings astropy raises while the caller reads the data (inside the
    ``with`` block) are the caller's to judge; the SPOC and RBH-1 readers
    pass them to :func:`~lightcurvedb.loaders.report.refuse_if_fits_warned`.
    """
    path = pathlib.Path(path)
    try:
        compression = _compression(path)
        size = path.stat().st_size
    except FileNotFoundError:
        raise error(path, "no such file") from None
    except IsADirectoryError:
        raise error(path, "a directory, not a FITS file") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(path, memmap=memmap and compression is None,
                             lazy_load_hdus=False, checksum=False)
        except (OSError, EOFError, ValueError, TypeError, KeyError, IndexError,
                VerifyError) as exc:
            refuse_if_fits_warned(path, caught, error)
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "Empty or corrupt FITS file" in text or "No SIMPLE card" in text:
                raise error(path, f"not a FITS file ({text})") from None
            raise error(path, f"truncated or corrupt FITS file ({text})") from None
        try:
            refuse_if_fits_warned(path, caught, error)
        except LoaderError:
            hdul.close()
            raise
    try:
        if check is not None:
            check(hdul)
        spans = _spans(hdul)
        try:
            with _stream(path, compression) as stream:
                digest = _hash_and_sum(stream, spans)
        except (EOFError, OSError, zlib.error) as exc:     # a damaged gzip/bzip2 stream
            raise error(path, f"truncated or corrupt FITS file ({compression} stream: "
                              f"{exc})") from None
        problems = checksum_problems(spans)
        if problems:
            raise error(path, "checksum mismatch: " + "; ".join(problems))
        yield hdul, FitsContent(path, digest, compression, size)
    finally:
        hdul.close()
    for other in caught:  # not about the file (e.g. deprecations): let them through
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)


def read_fits(path: str | os.PathLike[str], parse: Callable[[fits.HDUList, FitsContent], _T],
              *, error: type[LoaderError] = LoaderError,
              check: Callable[[fits.HDUList], None] | None = None) -> _T:
    """Open ``path`` with :func:`open_fits` and return ``parse(hdul, content)``.

    While ``parse`` reads the data, an astropy warning (a short data area, a
    bad scaling card) refuses the file as :func:`open_fits` refuses one while
    reading headers, and an ``OSError``/``ValueError``/... from astropy
    becomes ``"truncated or corrupt FITS file (...)"``; ``parse`` raises
    ``error`` itself for what it finds wrong. Other warnings are passed on.

    Parameters
    ----------
    path : path-like
        The file.
    parse : callable
        ``parse(hdul, content)``, returning the reader's record.
    error : LoaderError subclass, optional
        The class of error to raise.
    check : callable, optional
        As for :func:`open_fits`: judges the headers before the checksums.

    Returns
    -------
    object
        What ``parse`` returned.
    """
    path = pathlib.Path(path)
    with open_fits(path, error=error, check=check) as (hdul, content):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                record = parse(hdul, content)
            except LoaderError:
                raise
            except (OSError, ValueError, TypeError, KeyError, IndexError, VerifyError) as exc:
                refuse_if_fits_warned(path, caught, error)
                raise error(path, f"truncated or corrupt FITS file ({exc})") from None
            refuse_if_fits_warned(path, caught, error)
    for other in caught:
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return record
