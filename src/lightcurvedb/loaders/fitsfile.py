"""Open a FITS file for a loader: one rule for checksums, compression and damage.

Every reader (TESS SPOC, RBH-1, catalogs, radio images and catalogs) opens its
files through :func:`open_fits`, which

* reads plain, gzip-, bzip2- and zip-compressed files alike (by their first
  bytes, not their names) and tile-compressed images (``.fits.fz``) as astropy
  does;
* verifies ``CHECKSUM`` and ``DATASUM`` the way the FITS standard defines them
  (:mod:`lightcurvedb.loaders.fitschecksum`)
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
import os
import pathlib
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from lightcurvedb.loaders.fitscards import card_value
from lightcurvedb.loaders.fitschecksum import (
    checksum_problems,
    encode_checksum,
    hash_and_sum,
    hdu_spans,
    ones_complement_sum,
)
from lightcurvedb.loaders.report import LoaderError, refuse_if_fits_warned

__all__ = [
    "FitsContent",
    "checksum_problems",
    "content_sha256",
    "encode_checksum",
    "header_value",
    "ones_complement_sum",
    "open_fits",
    "read_fits",
    "verify_reason",
]

#: First bytes of the compressed files astropy opens: gzip, bzip2 and zip (one member).
_MAGIC = {b"\x1f\x8b": "gzip", b"BZ": "bzip2", b"PK": "zip"}
_T = TypeVar("_T")
_UNPARSABLE = re.compile(r"Unparsable card \((?P<key>[^)]*)\)")
_ABSENT = object()


def verify_reason(exc: Exception) -> str:
    """Turn astropy's ``VerifyError`` into a reason (``unparsable value for KEY``).

    Parameters
    ----------
    exc : Exception
        The ``astropy.io.fits.verify.VerifyError``.

    Returns
    -------
    str
        ``"unparsable value for KEY"`` when astropy names the card, else
        ``"truncated or corrupt FITS file (...)"`` with its first line.
    """
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    found = _UNPARSABLE.search(text)
    if found:
        return f"unparsable value for {found.group('key').strip()}"
    return f"truncated or corrupt FITS file ({text})"


def header_value(path: str | os.PathLike[str], header: fits.Header, key: str,
                 where: str = "the header", default: Any = _ABSENT) -> Any:
    """Return ``header[key]``, refusing a card astropy cannot parse by name.

    A card such as ``BJDREFF = NAN`` (no FITS number: the standard has no NaN
    or infinity) makes astropy raise ``VerifyError: Unparsable card`` when
    the value is read. Loaders read every header value through this function
    (or :func:`read_fits`, which translates the same error), so such a file
    is refused the same way every time, whether or not it carries checksums.

    Parameters
    ----------
    path : path-like
        The file, named in the error.
    header : astropy.io.fits.Header
        The header.
    key : str
        The keyword.
    where : str, optional
        Which header, for the message (e.g. ``"the primary header"``).
    default : object, optional
        Returned when the keyword is absent (default: raise ``KeyError``).

    Returns
    -------
    object
        The card's value.

    Raises
    ------
    LoaderError
        ``"unparsable value for KEY in the primary header"``.
    KeyError
        If the keyword is absent and no ``default`` is given.
    """
    try:
        if default is not _ABSENT:
            return card_value(header, key, default)
        return card_value(header, key)
    except VerifyError:
        raise LoaderError(path, f"unparsable value for {key} in {where}") from None


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
        ``"gzip"``, ``"bzip2"`` or ``"zip"`` for a compressed file, None for
        plain FITS (tile-compressed images inside a plain file count as plain).
    size_bytes : int
        Size of the file on disk.
    data : dict of str to bytes-like
        The data blocks, as stored, of the HDUs named in ``open_fits(...,
        keep_data=...)`` (by ``EXTNAME``, upper case); the bytes that were
        hashed and checksummed.
    """

    path: pathlib.Path
    sha256: str
    compression: str | None
    size_bytes: int
    data: Mapping[str, bytearray] = field(default_factory=dict)


def _compression(path: pathlib.Path) -> str | None:
    with path.open("rb") as stream:
        return _MAGIC.get(stream.read(2))


def _stream(path: pathlib.Path, compression: str | None) -> IO[bytes]:
    if compression == "gzip":
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]
    if compression == "bzip2":
        return bz2.open(path, "rb")
    if compression == "zip":
        # astropy reads a zip of one member (and refuses others before this runs)
        archive = zipfile.ZipFile(path)
        (member,) = archive.namelist()
        return archive.open(member)
    return path.open("rb")


def content_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 (hex) of a FITS file's uncompressed bytes.

    A gzip-, bzip2- or zip-compressed file hashes to the same value as the
    plain file it holds.
    """
    path = pathlib.Path(path)
    with _stream(path, _compression(path)) as stream:
        return hash_and_sum(stream, ())


@contextmanager
def open_fits(path: str | os.PathLike[str], *, error: type[LoaderError] = LoaderError,
              memmap: bool = False, check: Callable[[fits.HDUList], None] | None = None,
              keep_data: Sequence[str] = ()) -> Iterator[tuple[fits.HDUList, FitsContent]]:
    """Open a FITS file, verify it, and yield it with its :class:`FitsContent`.

    Parameters
    ----------
    path : path-like
        A FITS file: plain, gzip, bzip2 or a zip of one member (detected from
        its first bytes).
    error : LoaderError subclass, optional
        The class of error to raise (default :class:`LoaderError`).
    memmap : bool, optional
        Memory-map the data (plain files only; compressed files are read).
    check : callable, optional
        Called with the open file as soon as its headers are read, before
        its bytes are hashed and its checksums compared: a reader refuses a
        file of the wrong kind here (raising ``error``), cheaply and before
        any other judgement (the SPOC reader names Kepler files this way).
    keep_data : sequence of str, optional
        ``EXTNAME`` of HDUs whose data blocks to keep in
        :attr:`FitsContent.data` as they are read for the hash (so a reader
        can take a table's columns from them without astropy reading the
        file again: :mod:`~lightcurvedb.loaders.fitstable`).

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
            if isinstance(exc, VerifyError):
                raise error(path, verify_reason(exc)) from None
            raise error(path, f"truncated or corrupt FITS file ({text})") from None
        try:
            refuse_if_fits_warned(path, caught, error)
        except LoaderError:
            hdul.close()
            raise
    try:
        try:
            if check is not None:
                check(hdul)
            spans = hdu_spans(hdul)
            kept: dict[str, bytearray] = {}
            for span in spans if keep_data else ():
                name = str(hdul[span.index].name).upper()
                if name in keep_data:
                    span.data_bytes = kept[name] = bytearray()
        except VerifyError as exc:
            raise error(path, verify_reason(exc)) from None
        try:
            with _stream(path, compression) as stream:
                digest = hash_and_sum(stream, spans)
        except (EOFError, OSError, zlib.error, zipfile.BadZipFile) as exc:  # damaged stream
            raise error(path, f"truncated or corrupt FITS file ({compression} stream: "
                              f"{exc})") from None
        problems = checksum_problems(spans)
        if problems:
            raise error(path, "checksum mismatch: " + "; ".join(problems))
        yield hdul, FitsContent(path, digest, compression, size, kept)
    finally:
        hdul.close()
    for other in caught:  # not about the file (e.g. deprecations): let them through
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)


def read_fits(path: str | os.PathLike[str], parse: Callable[[fits.HDUList, FitsContent], _T],
              *, error: type[LoaderError] = LoaderError,
              check: Callable[[fits.HDUList], None] | None = None,
              keep_data: Sequence[str] = ()) -> _T:
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
    keep_data : sequence of str, optional
        As for :func:`open_fits`.

    Returns
    -------
    object
        What ``parse`` returned.
    """
    path = pathlib.Path(path)
    with open_fits(path, error=error, check=check, keep_data=keep_data) as (hdul, content):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                record = parse(hdul, content)
            except LoaderError as exc:
                if type(exc) is LoaderError and error is not LoaderError \
                        and exc.reason.startswith("unparsable value for "):
                    raise error(path, exc.reason) from None  # from header_value
                raise
            except VerifyError as exc:
                raise error(path, verify_reason(exc)) from None
            except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
                refuse_if_fits_warned(path, caught, error)
                raise error(path, f"truncated or corrupt FITS file ({exc})") from None
            refuse_if_fits_warned(path, caught, error)
    for other in caught:
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return record
