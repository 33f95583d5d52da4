"""The reading half of the catalog loader: open a FITS table memory-mapped, in row chunks.

:func:`open_catalog_table` opens the file with ``memmap=True`` and refuses
what cannot be read whole (a missing HDU, an HDU that is not a binary table,
a file shorter than its headers promise); :func:`row_chunks` and
:func:`native_column` then slice ``hdu.data[start:stop]`` into plain numpy
arrays, so only the chunk being checked or written is in memory.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.io import fits

from lightcurvedb.loaders.report import LoaderError, refuse_if_fits_warned

__all__ = ["dtype_label", "file_sha256", "native_column", "open_catalog_table", "read_column",
           "row_chunks"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 of a file's bytes (hex), read in blocks."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


@contextmanager
def open_catalog_table(path: pathlib.Path, hdu: int | str) -> Iterator[tuple[Any, str]]:
    """Open ``path`` memory-mapped and yield its table HDU and the HDU's label.

    Parameters
    ----------
    path : pathlib.Path
        The FITS file.
    hdu : int or str
        The HDU's index or EXTNAME.

    Yields
    ------
    tuple of (astropy.io.fits.BinTableHDU, str)
        The HDU (its ``data`` memory-mapped) and its EXTNAME, or its index if it has none.

    Raises
    ------
    LoaderError
        If the file is not FITS, has no such HDU, the HDU is not a binary
        table, or the file ends before the table does (truncated).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(path, memmap=True, lazy_load_hdus=False)
        except (OSError, ValueError, TypeError) as exc:
            raise LoaderError(path, f"not a readable FITS file ({exc})") from None
    try:
        names = ", ".join(f"{i}: {h.name or '-'}" for i, h in enumerate(hdul))
        try:
            table = hdul[hdu]
        except (KeyError, IndexError):
            raise LoaderError(path, f"no HDU {hdu!r} (the file has {names})") from None
        label = table.name or str(hdul.index(table))
        if not isinstance(table, fits.BinTableHDU):
            raise LoaderError(path, f"HDU {label} is a {type(table).__name__}, not a binary "
                                    "table")
        header = table.header
        needed = table.fileinfo()["datLoc"] + header["NAXIS1"] * header["NAXIS2"] \
            + header.get("PCOUNT", 0)
        size = path.stat().st_size
        if size < needed:
            raise LoaderError(path, f"truncated: the {label} table ends at byte {needed:,}, "
                                    f"the file has {size:,} bytes")
        refuse_if_fits_warned(path, caught)
        yield table, label
    finally:
        hdul.close()


def native_column(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return one column of a chunk as a plain numpy array in native byte order.

    astropy hands out big-endian views into the memory map; text comes back
    as ``str`` with FITS's trailing blanks removed.
    """
    values = np.asarray(values)
    if values.dtype.kind in "US":
        return np.char.rstrip(values.astype(str))
    return values.astype(values.dtype.newbyteorder("="), copy=False)


def read_column(path: pathlib.Path, chunk: Any, name: str, first_row: int = 0
                ) -> npt.NDArray[Any]:
    """Return :func:`native_column` of column ``name`` of a chunk; refuse non-ASCII text.

    Parameters
    ----------
    path : pathlib.Path
        The file, for the message.
    chunk : astropy.io.fits.FITS_rec
        Rows ``first_row`` onwards of the table.
    name : str
        The column.
    first_row : int, optional
        The chunk's first row in the table (0-based), for the message.

    Raises
    ------
    LoaderError
        Naming the file, the column and the first row whose text holds a byte
        that is not ASCII (FITS text columns are ASCII by the standard).
    """
    values = chunk[name]
    try:
        return native_column(values)
    except UnicodeDecodeError:
        pass
    for row, cells in enumerate(np.asarray(values).reshape(len(values), -1)):
        for cell in cells:
            try:
                cell.decode("ascii")
            except UnicodeDecodeError as exc:
                raise LoaderError(path, f"column {name}, row {first_row + row}: byte "
                                        f"0x{cell[exc.start]:02x} of {bytes(cell)!r} is not "
                                        "ASCII (FITS text columns hold ASCII only)") from None
    raise LoaderError(path, f"column {name}: text that is not ASCII")  # pragma: no cover


def row_chunks(n_rows: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    """Yield ``(start, stop)`` of consecutive chunks of at most ``chunk_rows`` rows."""
    for start in range(0, n_rows, chunk_rows):
        yield start, min(start + chunk_rows, n_rows)


def dtype_label(values: Any) -> str:
    """Return a column's dtype as text, with the per-row shape of array columns (``>f4[168]``)."""
    values = np.asarray(values)
    shape = f"[{','.join(map(str, values.shape[1:]))}]" if values.ndim > 1 else ""
    return values.dtype.str + shape
