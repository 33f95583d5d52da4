"""Stage-1 validation of a catalog table, one chunk at a time: nulls, ranges, keys, types.

:func:`~lightcurvedb.loaders.catalog.load_fits_catalog` feeds every chunk of
the FITS table to a :class:`ColumnStats` per loaded column and the key values
to a :class:`KeyCheck`, then asks :func:`storage_problem` and
:func:`value_problem` whether the destination columns can hold what it saw.
Nothing here touches the database; the report these numbers end up in is
:class:`~lightcurvedb.loaders.catalog_report.CatalogLoadReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.recfunctions import repack_fields
from sqlalchemy import Boolean, Column, Float, Integer, Numeric, String
from sqlalchemy.types import BigInteger, SmallInteger

from lightcurvedb.core.types import NumpyArray

__all__ = ["ColumnStats", "KeyCheck", "key_value", "null_mask", "physical_null",
           "storage_problem", "table_nulls", "value_problem"]

#: Bits of the declared integer types: what an integer column can hold.
_INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))


def physical_null(column: Any, dtype: npt.DTypeLike) -> int | float | None:
    """Return the value a FITS integer column's ``TNULL`` reads as, scaled like the data.

    ``TNULL`` is in stored units, but astropy applies ``TSCAL`` and ``TZERO``
    to what it reads (a ``J`` column with ``TZERO = 2**31`` comes back as
    ``uint32``; one with ``TSCAL = 0.5`` as ``float64``), so the marker is
    scaled the same way before it is compared with the values.

    Parameters
    ----------
    column : astropy.io.fits.Column
        The column (``null``, ``bscale``, ``bzero`` and ``format`` are read).
    dtype : numpy.dtype
        The dtype astropy reads the column as.

    Returns
    -------
    int, float or None
        The physical null marker: an exact ``int`` when the column reads as
        integers, the ``float64`` astropy computes (``TNULL * TSCAL + TZERO``)
        when it reads as floats; None when the column has no ``TNULL`` or is
        not an integer column (``TNULL`` applies to integer columns only).
    """
    null = column.null
    if null is None or isinstance(null, str) or column.format.format not in ("B", "I", "J", "K"):
        return None
    bscale = 1 if column.bscale in ("", None) else column.bscale
    bzero = 0 if column.bzero in ("", None) else column.bzero
    if np.dtype(dtype).kind in "iu":  # unscaled, or astropy's unsigned-integer convention
        return int(null) * int(bscale) + int(bzero)
    return float(np.float64(int(null)) * bscale + bzero)


def table_nulls(table_hdu: Any, names: list[str]) -> dict[str, int | float | None]:
    """Return :func:`physical_null` of each named column of a binary table HDU."""
    sample = table_hdu.data[0:0]
    return {name: physical_null(table_hdu.columns[name], sample[name].dtype) for name in names}


def null_mask(values: npt.NDArray[Any], tnull: Any = None) -> npt.NDArray[np.bool_] | None:
    """Return which rows of one column are null, or None if none can be.

    Parameters
    ----------
    values : numpy.ndarray
        One chunk of one column as astropy reads it (strings already decoded).
    tnull : int or float, optional
        The column's ``TNULL`` in the units of ``values``, i.e. scaled by
        ``TSCAL``/``TZERO`` as :func:`physical_null` returns it.

    Returns
    -------
    numpy.ndarray of bool or None
        NaN in float columns, ``TNULL`` in integer columns (also when scaled
        to floats), empty (or blank) strings in text columns. Array-valued
        columns and logicals have no nulls (None).
    """
    if values.ndim != 1:
        return None
    kind = values.dtype.kind
    if kind == "f":
        nan = np.isnan(values)
        return nan if tnull is None else nan | np.asarray(values == tnull)
    if kind in "iu" and tnull is not None:
        return np.asarray(values == tnull)
    if kind in "US":
        return np.asarray(np.char.str_len(np.char.strip(values)) == 0)
    return None


def _plain(value: Any) -> Any:
    """Return a JSON-friendly Python scalar: numpy scalars unwrapped, infinities as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


@dataclass
class ColumnStats:
    """Null count, extremes and range violations of one loaded column.

    Attributes
    ----------
    fits_column : str
        The column's name in the FITS table.
    column : str
        The destination table column it is loaded into.
    dtype : str
        The numpy dtype astropy reads it as (``>f4``, ``>i8``, ``<U6``), with
        the per-row shape of array columns (``>f4[168]``).
    rows : int
        Rows seen so far.
    null_count : int
        Null entries (see :func:`null_mask`).
    min, max : int, float or None
        Smallest and largest non-null value (numeric columns only).
    max_length : int or None
        Longest string (text columns only).
    range : tuple of float or None
        The bounds ``(lo, hi)`` checked, if any; both inclusive.
    range_violations : int
        Non-null values outside ``range``.
    """

    fits_column: str
    column: str
    dtype: str
    rows: int = 0
    null_count: int = 0
    min: Any = None
    max: Any = None
    max_length: int | None = None
    range: tuple[float, float] | None = None
    range_violations: int = 0

    @property
    def null_rate(self) -> float:
        """float: ``null_count / rows`` (0 for an empty table)."""
        return self.null_count / self.rows if self.rows else 0.0

    def update(self, values: npt.NDArray[Any], nulls: npt.NDArray[np.bool_] | None) -> None:
        """Add one chunk of the column (``nulls`` from :func:`null_mask`)."""
        self.rows += len(values)
        if nulls is not None:
            self.null_count += int(np.count_nonzero(nulls))
            present = values[~nulls]
        else:
            present = values
        if present.size == 0:
            return
        kind = present.dtype.kind
        if kind in "US":
            longest = int(np.char.str_len(present).max())
            self.max_length = max(self.max_length or 0, longest)
            return
        if kind not in "iufb":
            return
        low, high = present.min(), present.max()
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)
        if self.range is not None and kind in "iuf":
            lo, hi = self.range
            self.range_violations += int(np.count_nonzero((present < lo) | (present > hi)))

    def as_dict(self) -> dict[str, Any]:
        """Return the statistics as JSON-ready values (stored in ``column_stats``)."""
        return {"fits_column": self.fits_column, "dtype": self.dtype, "rows": self.rows,
                "null_count": self.null_count, "null_rate": self.null_rate,
                "min": _plain(self.min), "max": _plain(self.max),
                "max_length": self.max_length,
                "range": list(self.range) if self.range is not None else None,
                "range_violations": self.range_violations}

    @classmethod
    def from_dict(cls, column: str, stored: dict[str, Any]) -> ColumnStats:
        """Rebuild statistics stored by :meth:`as_dict` under the destination ``column``."""
        bounds = stored.get("range")
        return cls(fits_column=stored["fits_column"], column=column, dtype=stored["dtype"],
                   rows=stored["rows"], null_count=stored["null_count"], min=stored["min"],
                   max=stored["max"], max_length=stored.get("max_length"),
                   range=(bounds[0], bounds[1]) if bounds else None,
                   range_violations=stored["range_violations"])


@dataclass
class KeyCheck:
    """Whether the key column(s) of a table are unique within the file.

    The key values of every row are kept (8 bytes a row for an int64 key) and
    sorted once at the end, so memory grows with the row count, not with the
    width of the table.

    Parameters
    ----------
    columns : list of str
        The key columns (FITS names).
    rows : int
        Rows in the table.
    """

    columns: list[str]
    rows: int
    _keys: npt.NDArray[Any] | None = field(default=None, repr=False)
    _filled: int = field(default=0, repr=False)

    def update(self, values: list[npt.NDArray[Any]]) -> None:
        """Add one chunk of key values (one array per key column, native byte order)."""
        if self._keys is None:
            dtype = np.dtype([(f"k{i}", v.dtype) for i, v in enumerate(values)])
            self._keys = np.empty(self.rows, dtype=dtype)
        n = len(values[0])
        for i, v in enumerate(values):
            self._keys[f"k{i}"][self._filled:self._filled + n] = v
        self._filled += n

    def values(self, fields: int | None = None) -> npt.NDArray[Any]:
        """Return the key values seen so far: of the first ``fields`` key columns (default all).

        One key column gives a plain array, several a packed structured array
        (which sorts and compares row by row).
        """
        if self._keys is None:
            return np.empty(0, dtype=np.int64)
        keys = self._keys[:self._filled]
        names = list(keys.dtype.names or ())[:fields]
        if len(names) == 1:
            return keys[names[0]]
        return repack_fields(keys[names])

    def duplicates(self, examples: int = 5) -> tuple[int, list[Any]]:
        """Return how many rows repeat an earlier row's key, and a few repeated keys."""
        if self._keys is None or self._filled < 2:
            return 0, []
        ordered = np.sort(self.values())
        repeated = ordered[1:] == ordered[:-1]
        count = int(np.count_nonzero(repeated))
        shown = np.unique(ordered[1:][repeated])[:examples]
        return count, [key_value(v) for v in shown]

    def first_rows(self, fields: int | None = None) -> npt.NDArray[np.bool_]:
        """Return which rows hold the first occurrence of their key (first ``fields`` columns).

        Every row is a first occurrence when the key is unique; in a table
        that lists a target once per exposure, only the target's first row is.
        """
        keys = self.values(fields)
        first = np.zeros(len(keys), dtype=bool)
        first[np.unique(keys, return_index=True)[1]] = True
        return first


def key_value(value: Any) -> Any:
    """Return one key as Python: a scalar, or a tuple of scalars for a key of several columns."""
    if np.ndim(value) == 0 and not isinstance(value, np.void):
        return _plain(value)
    return tuple(_plain(x) for x in value)


def _integer_bits(column: Column[Any]) -> int | None:
    for kind, bits in _INTEGER_BITS:
        if isinstance(column.type, kind):
            return bits
    return None


def storage_problem(fits_column: str, values: npt.NDArray[Any], column: Column[Any]
                    ) -> str | None:
    """Say why a FITS column cannot be stored in ``column``, judging by its dtype alone.

    Parameters
    ----------
    fits_column : str
        The FITS column's name, for the message.
    values : numpy.ndarray
        Any slice of the column (possibly empty): its dtype and per-row shape count.
    column : sqlalchemy.Column
        The destination column.

    Returns
    -------
    str or None
        A sentence naming both columns, or None if the types fit. Types this
        function does not know are left to the bulk writer.
    """
    kind = values.dtype.kind
    where = f"column {fits_column} ({values.dtype.str}) cannot be stored in " \
            f"{column.table.name}.{column.name} ({column.type!r})"
    if isinstance(column.type, NumpyArray):
        if values.ndim != 2 or kind not in "biuf":
            return f"{where}: that column holds one numeric array per row"
        return None
    if values.ndim != 1:
        return f"{where}: the FITS column holds {values.shape[1]} values per row"
    if isinstance(column.type, Boolean):
        return None if kind in "biu" else f"{where}: not a logical or integer column"
    if _integer_bits(column) is not None:
        return None if kind in "biu" else f"{where}: only integers fit an integer column"
    if isinstance(column.type, (Float, Numeric)):
        return None if kind in "biuf" else f"{where}: not a numeric column"
    if isinstance(column.type, String):
        return None if kind in "US" else f"{where}: not a text column"
    return None


def value_problem(stats: ColumnStats, column: Column[Any]) -> str | None:
    """Say why the values seen cannot be stored in ``column``: overflow, length, NULLs.

    Returns
    -------
    str or None
        A sentence naming both columns, or None.
    """
    where = f"column {stats.fits_column} cannot be stored in {column.table.name}.{column.name}"
    if stats.null_count and not column.nullable:
        return f"{where}: {stats.null_count} null value(s) in a NOT NULL column"
    bits = _integer_bits(column)
    if bits is not None and stats.min is not None:
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        if not (low <= stats.min and stats.max <= high):
            return f"{where}: values from {stats.min} to {stats.max} exceed its " \
                   f"{bits}-bit range"
    if isinstance(column.type, Boolean) and stats.min is not None \
            and not (0 <= stats.min and stats.max <= 1):
        return f"{where}: values from {stats.min} to {stats.max} are not 0/1"
    length = getattr(column.type, "length", None)
    if isinstance(column.type, String) and length and (stats.max_length or 0) > length:
        return f"{where}: strings of up to {stats.max_length} characters exceed " \
               f"its length {length}"
    return None
