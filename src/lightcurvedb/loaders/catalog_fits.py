"""The reading half of the catalog loader: open a FITS table, read it in row chunks.

:func:`open_catalog_table` opens the file through
:func:`~lightcurvedb.loaders.fitsfile.open_fits`, the one FITS-opening rule of
every reader: ``CHECKSUM``/``DATASUM`` verified as the FITS standard defines
them, gzip and bzip2 files read (recognised by their first bytes), the
SHA-256 of the uncompressed bytes returned. A plain file stays memory-mapped;
a compressed one is decompressed into memory. It then refuses what cannot be
read whole (a missing HDU, an HDU that is not a binary table, a file shorter
than its headers promise); :func:`row_chunks` and :func:`native_column` slice
``hdu.data[start:stop]`` into plain numpy arrays, so only the chunk being
checked or written is converted.
"""

from __future__ import annotations

import pathlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.io import fits

from lightcurvedb.loaders.fitsfile import FitsContent, open_fits
from lightcurvedb.loaders.report import LoaderError, refuse_if_fits_warned

__all__ = ["dtype_label", "native_column", "open_catalog_table", "read_column", "row_chunks"]


@contextmanager
def open_catalog_table(path: pathlib.Path, hdu: int | str
                       ) -> Iterator[tuple[Any, str, FitsContent]]:
    """Open ``path`` with :func:`~lightcurvedb.loaders.fitsfile.open_fits`; yield its table HDU.

    Parameters
    ----------
    path : pathlib.Path
        The FITS file: plain (memory-mapped), gzip- or bzip2-compressed.
    hdu : int or str
        The HDU's index or EXTNAME.

    Yields
    ------
    tuple of (astropy.io.fits.BinTableHDU, str, FitsContent)
        The HDU (its ``data`` memory-mapped for a plain file), its EXTNAME (or
        its index if it has none), and the file's
        :class:`~lightcurvedb.loaders.fitsfile.FitsContent` (SHA-256 of the
        uncompressed bytes).

    Raises
    ------
    LoaderError
        If the file is missing or not FITS, a ``CHECKSUM``/``DATASUM`` does
        not match its HDU (``checksum mismatch: HDU 1 ('FIBERMAP'): ...``),
        the file has no such HDU, the HDU is not a binary table, or the file
        ends before the table does (truncated).
    """
    with open_fits(path, memmap=True) as (hdul, content):
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
        if content.compression is None and size < needed:
            raise LoaderError(path, f"truncated: the {label} table ends at byte {needed:,}, "
                                    f"the file has {size:,} bytes")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                table.data  # noqa: B018 -- maps (or, compressed, reads) the table here
            except (TypeError, ValueError, OSError, EOFError):
                # Only a compressed file gets here: its length is known once it is read.
                held = table.fileinfo()["file"].tell()
                raise LoaderError(path, f"truncated: the {label} table ends at byte "
                                        f"{needed:,} of the uncompressed data, the "
                                        f"{content.compression} stream holds {held:,} "
                                        "bytes") from None
            refuse_if_fits_warned(path, caught)
        yield table, label, content


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
