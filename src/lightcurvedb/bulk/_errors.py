"""The errors of the bulk writers: where a write failed, and what was kept."""

from __future__ import annotations

from typing import Any

from lightcurvedb.core.db_errors import DB_ERRORS, describe_db_error

__all__ = ["BulkLoadError", "BulkValueError", "refusal"]


class BulkLoadError(ValueError):
    """A bulk write failed; the error says where and what was kept.

    Parameters
    ----------
    chunk_index : int or None
        0-based index of the failing chunk within the call (counted from
        ``start`` on a resumed load), or None when the failure is not tied to
        one chunk (e.g. the final ``INSERT`` of :func:`~lightcurvedb.bulk.upsert_rows`).
    row_index : int or None
        0-based index of the offending row in the whole input (``start``
        included), if known.
    column : str or None
        Name of the offending column, if known.
    message : str
        What went wrong.
    resume_from : int or None, optional
        The input row index to pass back as ``start=`` to
        :func:`~lightcurvedb.bulk.copy_rows`: where the committed rows end
        (with ``commit_each_chunk``), else the call's own ``start`` (nothing
        was kept). None from :func:`~lightcurvedb.bulk.upsert_rows`, which is
        idempotent: rerun it whole.
    note : str, optional
        Added to the text of the error (what was kept), not to ``message``.

    Attributes
    ----------
    chunk_index, row_index, column, message, resume_from
        As given.
    """

    def __init__(self, chunk_index: int | None, row_index: int | None, column: str | None,
                 message: str, *, resume_from: int | None = None, note: str = "") -> None:
        self.chunk_index = chunk_index
        self.row_index = row_index
        self.column = column
        self.message = message
        self.resume_from = resume_from
        where = []
        if chunk_index is not None:
            where.append(f"chunk {chunk_index}")
        if row_index is not None:
            where.append(f"row {row_index}")
        if column is not None:
            where.append(f"column {column!r}")
        at = f" at {', '.join(where)}" if where else ""
        super().__init__(f"bulk load failed{at}: {message}" + (f"; {note}" if note else ""))


class BulkValueError(BulkLoadError):
    """A value its column does not accept, found before anything of its chunk was sent.

    Raised alike on SQLite and PostgreSQL, from the rules of
    :mod:`lightcurvedb.core.column_rules` (integer ranges, text lengths, NOT
    NULL, CHECK and enum values, NaN in float columns, array dtypes).

    Parameters
    ----------
    chunk_index, row_index, column, message, resume_from, note
        As for :class:`BulkLoadError`.
    value : object, optional
        The offending value.

    Attributes
    ----------
    value : object
        The offending value.
    """

    def __init__(self, chunk_index: int | None, row_index: int | None, column: str | None,
                 message: str, *, value: Any = None, resume_from: int | None = None,
                 note: str = "") -> None:
        self.value = value
        super().__init__(chunk_index, row_index, column, message, resume_from=resume_from,
                         note=note)


def refusal(exc: BaseException) -> str:
    """Return why the database (or its driver) refused a chunk, in one line.

    Database errors go through :func:`~lightcurvedb.core.db_errors.describe_db_error`
    (constraint, table, column named; no SQL); others are ``Type: message``.
    """
    if isinstance(exc, DB_ERRORS):
        return describe_db_error(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"
