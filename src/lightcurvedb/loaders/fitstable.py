"""Columns of a FITS binary table read straight from its data bytes, without astropy's tables.

Opening a table with astropy builds a ``Column`` object per column, with its
validation and configuration look-ups, before a single value is read: for a
SPOC light curve (20 columns, 18,000 rows) that costs more than reading the
arrays. A loader that already holds the table's data bytes --
:func:`~lightcurvedb.loaders.fitsfile.open_fits` keeps them while it hashes
the file (``keep_data``) -- can instead read the columns it needs as numpy
views of those bytes, laid out by the header's ``TFORMn`` cards (FITS 4.0,
section 7.3: rows of ``NAXIS1`` bytes, fields in order, big-endian).

:func:`table_columns` does that for plain numeric columns of one value per
row (``B``, ``I``, ``J``, ``K``, ``E``, ``D``) without scaling. For anything
else -- ``TSCALn``/``TZEROn`` other than 1 and 0 (unsigned integers are stored
that way), a vector column, a ``TFORMn`` it does not know, fewer data bytes
than ``NAXIS1 x NAXIS2`` (a truncated file), row widths that do not add up to
``NAXIS1`` -- it returns None, and the caller reads the table through astropy,
which judges the file as before. Values are the stored ones, as
``numpy.asarray(hdu.data[name])`` gives them (``TNULLn`` is not applied, NaN
stays NaN), converted to native byte order by the caller's ``astype``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.io import fits

from lightcurvedb.loaders.fitscards import value_or_none

__all__ = ["column_names", "table_columns"]

#: ``TFORMn`` letters of one fixed-size field, and the numpy type of one element.
_NUMERIC = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
#: Bytes per element of the other letters (``X``: bits, rounded up per field below).
_OTHER = {"L": 1, "A": 1, "C": 8, "M": 16, "P": 8, "Q": 16}
_TFORM = re.compile(r"^\s*(\d*)\s*([A-Z])")


def _field(form: str) -> tuple[int, str] | None:
    """``(bytes, numpy type or '')`` of one ``TFORMn`` value, or None if unknown."""
    match = _TFORM.match(form.upper())
    if match is None:
        return None
    repeat = int(match.group(1)) if match.group(1) else 1
    code = match.group(2)
    if code in _NUMERIC:
        width = np.dtype(_NUMERIC[code]).itemsize * repeat
        return width, _NUMERIC[code] if repeat == 1 else ""
    if code == "X":
        return (repeat + 7) // 8, ""
    if code in _OTHER:
        return _OTHER[code] * repeat, ""
    return None


def _count(header: fits.Header, key: str) -> int | None:
    """Return a card that must hold a count (``NAXIS1``, ``TFIELDS``, ...); None if it does not."""
    value = value_or_none(header, key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def column_names(header: fits.Header) -> list[str]:
    """Return the ``TTYPEn`` of a binary table's columns, in order (``""`` for an unnamed one).

    What ``hdu.columns.names`` gives, from the header alone.

    Parameters
    ----------
    header : astropy.io.fits.Header

    Returns
    -------
    list of str
    """
    fields = _count(header, "TFIELDS")
    if fields is None:
        return []
    names = (value_or_none(header, f"TTYPE{index}") for index in range(1, fields + 1))
    return [name.strip() if isinstance(name, str) else "" for name in names]


def table_columns(header: fits.Header, data: bytes | bytearray | memoryview | None,
                  names: Sequence[str]) -> dict[str, npt.NDArray[Any]] | None:
    """Return the columns ``names`` of a binary table as arrays over ``data``, or None.

    Parameters
    ----------
    header : astropy.io.fits.Header
        The table's header (``NAXIS1``, ``NAXIS2``, ``TFIELDS``, ``TTYPEn``,
        ``TFORMn``, ``TSCALn``, ``TZEROn`` are read).
    data : bytes-like or None
        The table's data area as stored (at least ``NAXIS1 x NAXIS2`` bytes;
        the heap after it is not read).
    names : sequence of str
        Column names, matched to ``TTYPEn`` without regard to case (as astropy
        does); each must be a numeric column of one value per row.

    Returns
    -------
    dict of str to numpy.ndarray, or None
        Read-only big-endian views of ``data``, one per name, of ``NAXIS2``
        values each; None when the table is not one this reader takes (see
        the module description): read it with astropy then.
    """
    if data is None:
        return None
    width, rows, fields = (_count(header, key) for key in ("NAXIS1", "NAXIS2", "TFIELDS"))
    if width is None or rows is None or fields is None or len(data) < width * rows:
        return None
    offsets: dict[str, tuple[int, str]] = {}
    offset = 0
    for index in range(1, fields + 1):
        form, name = value_or_none(header, f"TFORM{index}"), value_or_none(header, f"TTYPE{index}")
        layout = _field(form) if isinstance(form, str) else None
        if layout is None:
            return None
        size, kind = layout
        if isinstance(name, str):
            key = name.strip().upper()
            scale = value_or_none(header, f"TSCAL{index}")
            zero = value_or_none(header, f"TZERO{index}")
            plain = scale in (None, 1) and zero in (None, 0)
            offsets[key] = (offset, kind if plain else "") if key not in offsets else (0, "")
        offset += size
    if offset != width:
        return None
    columns = {}
    for name in names:
        start, kind = offsets.get(name.upper(), (0, ""))
        if not kind:
            return None
        record = np.dtype({"names": ["v"], "formats": [kind], "offsets": [start],
                           "itemsize": width})
        columns[name] = np.frombuffer(data, dtype=record, count=rows)["v"]
    return columns
