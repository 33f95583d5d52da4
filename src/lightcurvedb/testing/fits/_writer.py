"""Write generated FITS files as the NASA Ames pipelines do: ``CHECKSUM`` alone on every HDU.

SPOC (TESS) and the Kepler SOC stamp each HDU with a ``CHECKSUM`` card
computed over its header and data blocks and write no ``DATASUM`` card;
astropy's ``checksum=True`` writes both, with the time of writing in the
comments. :func:`write_checksummed` writes the HDUs once with a zero
placeholder, sums each HDU's bytes with
:func:`~lightcurvedb.loaders.fitsfile.ones_complement_sum` and patches in
:func:`~lightcurvedb.loaders.fitsfile.encode_checksum` of the complement, so
equal inputs give equal bytes. It can gzip or bzip2 the result, as archives
ship files.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import pathlib

from astropy.io import fits

from lightcurvedb.loaders.fitschecksum import encode_checksum, ones_complement_sum

__all__ = ["COMPRESSION_SUFFIXES", "checksummed_bytes", "write_checksummed"]

#: File-name suffix of each compression :func:`write_checksummed` can apply.
COMPRESSION_SUFFIXES = {None: "", "gzip": ".gz", "bzip2": ".bz2"}
_PLACEHOLDER = b"CHECKSUM= '" + b"0" * 16 + b"'"


def checksummed_bytes(hdul: fits.HDUList, *, when: str) -> bytes:
    """Return the bytes of ``hdul`` with a standard ``CHECKSUM`` (and no ``DATASUM``) per HDU.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The HDUs; their ``CHECKSUM``/``DATASUM`` cards, if any, are replaced.
    when : str
        Time written into the card comments (``HDU checksum updated <when>``),
        as SPOC does, e.g. ``"2018-08-09T15:15:39Z"``.

    Returns
    -------
    bytes
    """
    for hdu in hdul:
        hdu.header.remove("DATASUM", ignore_missing=True, remove_all=True)
        hdu.header.remove("CHECKSUM", ignore_missing=True, remove_all=True)
        hdu.header.append(("CHECKSUM", "0" * 16, f"HDU checksum updated {when}"))
    buffer = io.BytesIO()
    hdul.writeto(buffer, checksum=False)
    raw = bytearray(buffer.getvalue())
    with fits.open(io.BytesIO(bytes(raw)), lazy_load_hdus=False) as written:
        spans = [(int(info["hdrLoc"]), int(info["datLoc"]),
                  int(info["datLoc"]) + int(info["datSpan"]))
                 for info in (hdu.fileinfo() for hdu in written)]
    for start, data_start, end in spans:
        at = raw.index(_PLACEHOLDER, start, data_start) + len("CHECKSUM= '")
        value = encode_checksum(~ones_complement_sum(bytes(raw[start:end])) & 0xFFFFFFFF)
        raw[at:at + 16] = value.encode("ascii")
    return bytes(raw)


def write_checksummed(hdul: fits.HDUList, path: str | os.PathLike[str], *, when: str,
                      compression: str | None = None, datasum: bool = False) -> pathlib.Path:
    """Write :func:`checksummed_bytes` of ``hdul`` to ``path``, optionally compressed.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The HDUs.
    path : path-like
        The file to write (its name is used as given).
    when : str
        See :func:`checksummed_bytes`.
    compression : {None, "gzip", "bzip2"}, optional
        Compress the whole file (deterministically: no time stamp in the gzip
        header).
    datasum : bool, optional
        Write ``DATASUM`` too, as astropy-based writers (astrocut) do.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if compression not in COMPRESSION_SUFFIXES:
        raise ValueError(f"compression must be None, 'gzip' or 'bzip2', not {compression!r}")
    if datasum:
        for hdu in hdul:
            hdu.add_checksum(when=when)
        buffer = io.BytesIO()
        hdul.writeto(buffer)
        data = buffer.getvalue()
    else:
        data = checksummed_bytes(hdul, when=when)
    if compression == "gzip":
        data = gzip.compress(data, mtime=0)
    elif compression == "bzip2":
        data = bz2.compress(data)
    target = pathlib.Path(path)
    target.write_bytes(data)
    return target
