"""Damaged copies of real-layout FITS files, for the bad-input tests.

Writers of files astropy itself would refuse to write: a header card whose
value is no FITS number (``BJDREFF = NAN``, ``TIMEDEL = INF``) or holds bytes
outside ASCII. Such files exist -- written by hand-made pipelines, or edited
-- and carry no checksums (an edit breaks them, and such writers rarely add
any), so the copies here drop ``CHECKSUM`` and ``DATASUM`` and otherwise keep
every byte of the original.
"""

from __future__ import annotations

import io
import os
import pathlib

from astropy.io import fits

__all__ = ["write_with_empty_table", "write_with_raw_card", "write_without_checksums"]

PathLike = str | os.PathLike[str]
_CARD = 80


def _without_checksums(source: PathLike) -> bytes:
    with fits.open(source) as hdul:
        for hdu in hdul:
            for key in ("CHECKSUM", "DATASUM"):
                hdu.header.remove(key, ignore_missing=True, remove_all=True)
        buffer = io.BytesIO()
        hdul.writeto(buffer, checksum=False)
    return buffer.getvalue()


def write_without_checksums(source: PathLike, dest: PathLike) -> pathlib.Path:
    """Copy a FITS file without its ``CHECKSUM``/``DATASUM`` cards; return ``dest``."""
    dest = pathlib.Path(dest)
    dest.write_bytes(_without_checksums(source))
    return dest


def write_with_raw_card(source: PathLike, dest: PathLike, key: str, value: str | bytes, *,
                        hdu: int = 0) -> pathlib.Path:
    r"""Copy a FITS file with one card's value replaced by raw text (no checksums).

    Parameters
    ----------
    source : path-like
        A FITS file (uncompressed).
    dest : path-like
        The copy to write.
    key : str
        The keyword whose card is rewritten; it must exist in HDU ``hdu``.
    value : str or bytes
        The value field as it will stand in the file, right-aligned to column
        30 as fixed-format numbers are, e.g. ``"NAN"``, ``"INF"`` or
        ``"'caf\xc3\xa9'"`` (bytes are written as they are: non-ASCII too).
    hdu : int, optional
        Index of the HDU whose header holds the card.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    KeyError
        If the HDU has no such card.
    """
    data = bytearray(_without_checksums(source))
    with fits.open(io.BytesIO(bytes(data))) as hdul:
        info = hdul[hdu].fileinfo()
        start, stop = info["hdrLoc"], info["datLoc"]
    raw = value.encode("latin-1") if isinstance(value, str) else value
    prefix = f"{key.upper():<8}= ".encode("ascii")
    for offset in range(start, stop, _CARD):
        if data[offset:offset + len(prefix)] == prefix:
            card = prefix + raw.rjust(20) + b" / edited"
            data[offset:offset + _CARD] = card[:_CARD].ljust(_CARD)
            break
    else:
        raise KeyError(f"no {key} card in HDU {hdu} of {source}")
    dest = pathlib.Path(dest)
    dest.write_bytes(bytes(data))
    return dest


def write_with_empty_table(source: PathLike, dest: PathLike, extname: str) -> pathlib.Path:
    """Copy a FITS file with binary table ``extname`` emptied (its columns kept, 0 rows).

    Parameters
    ----------
    source : path-like
        A FITS file holding the table.
    dest : path-like
        The copy to write (no checksums).
    extname : str
        ``EXTNAME`` of the table, e.g. ``"LIGHTCURVE"``.

    Returns
    -------
    pathlib.Path
        ``dest``.
    """
    with fits.open(source) as hdul:
        table = hdul[extname]
        empty = fits.BinTableHDU(data=table.data[:0], header=table.header, name=extname)
        hdus = [hdu.copy() if hdu is not table else empty for hdu in hdul]
        for hdu in hdus:
            for key in ("CHECKSUM", "DATASUM"):
                hdu.header.remove(key, ignore_missing=True, remove_all=True)
        dest = pathlib.Path(dest)
        fits.HDUList(hdus).writeto(dest, overwrite=True, checksum=False)
    return dest
