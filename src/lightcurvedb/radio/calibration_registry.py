"""The DSA-110 calibration registry: K, BP and G tables and the MJDs they are valid for.

Each calibration table (delay ``K``, bandpass ``BP``, gain ``G``) is valid
over a window of MJD, ``valid_start_mjd <= mjd < valid_end_mjd`` (half-open,
so one window may end exactly where the next begins). At any MJD at most one
active table of each type may be valid, so :func:`active_caltables` has a
single answer: the tables to apply, in apply order (K=0, BP=1, G=2,
:data:`~lightcurvedb.radio.calibration.APPLY_ORDER`). Registering a table
whose window is inverted, empty or overlaps an active table of the same type
raises a :class:`CalibrationError` and writes nothing; retire the old set first
(:func:`retire_calibration_set`) to replace it.

Like the other services these flush and leave committing to the caller.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lightcurvedb.radio._types import stored_path
from lightcurvedb.radio.calibration import APPLY_ORDER, CalTable

__all__ = [
    "TABLE_TYPES",
    "CalibrationError",
    "DuplicateCalTableError",
    "MissingCalibrationError",
    "OverlappingWindowError",
    "ValidityWindowError",
    "active_caltables",
    "register_caltable",
    "register_calibration_set",
    "retire_calibration_set",
]

#: Calibration table types, in apply order.
TABLE_TYPES = tuple(sorted(APPLY_ORDER, key=APPLY_ORDER.__getitem__))


class CalibrationError(ValueError):
    """A calibration table was refused; nothing was written."""


class ValidityWindowError(CalibrationError):
    """A validity window is inverted, empty or not finite."""


class OverlappingWindowError(CalibrationError):
    """Two active tables of the same type would be valid at the same MJD.

    Attributes
    ----------
    conflicts : list of str
        Paths of the registered tables in the way.
    """

    def __init__(self, message: str, conflicts: list[str]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


class DuplicateCalTableError(CalibrationError):
    """A table with this path is already registered."""


class MissingCalibrationError(CalibrationError, LookupError):
    """No active table of a required type is valid at the MJD asked for."""


def _is_active() -> Any:
    # ``active = 1`` as the pipeline stores it (NULL is not active); IntegerBool binds True as 1.
    return CalTable.active == True  # noqa: E712


def _mjd(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)):
        raise ValidityWindowError(f"{what} must be a finite MJD, got {value!r}")
    return float(value)


def _window(start: Any, end: Any) -> tuple[float, float]:
    low, high = _mjd(start, "valid_start_mjd"), _mjd(end, "valid_end_mjd")
    if not low < high:
        kind = "empty" if low == high else "inverted"
        raise ValidityWindowError(f"validity window [{low}, {high}) is {kind}: the start must "
                                  "come before the end")
    return low, high


def _table_type(table_type: Any) -> str:
    if table_type not in APPLY_ORDER:
        raise CalibrationError(f"table type must be one of {', '.join(TABLE_TYPES)}, "
                               f"got {table_type!r}")
    return str(table_type)


def _check_free(session: Session, paths: list[str], types: list[str],
                window: tuple[float, float]) -> None:
    taken = session.execute(select(CalTable.path).where(CalTable.path.in_(paths))).scalars().all()
    if taken:
        raise DuplicateCalTableError(f"already registered: {', '.join(sorted(taken))}")
    overlapping = session.execute(select(CalTable).where(
        _is_active(), CalTable.table_type.in_(types),
        CalTable.valid_start_mjd < window[1], CalTable.valid_end_mjd > window[0],
    ).order_by(CalTable.order_index, CalTable.valid_start_mjd)).scalars().all()
    if overlapping:
        described = "; ".join(f"{row.table_type} {row.path} (set {row.set_name}, "
                              f"[{row.valid_start_mjd}, {row.valid_end_mjd}))"
                              for row in overlapping)
        raise OverlappingWindowError(
            f"validity window [{window[0]}, {window[1]}) overlaps active table(s): {described}",
            [row.path for row in overlapping])


def register_calibration_set(session: Session, set_name: str,
                             tables: Mapping[str, str | os.PathLike[str]], *,
                             valid_start_mjd: float, valid_end_mjd: float,
                             created_at: dt.datetime | None = None) -> list[CalTable]:
    """Register the tables of one calibration set, all valid over the same window.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    set_name : str
        The set, e.g. ``bp_3c286_60238``.
    tables : mapping of str to path-like
        Table type (``K``, ``BP``, ``G``) to the table's path, stored resolved
        (absolute, ``..`` and symbolic links resolved).
    valid_start_mjd, valid_end_mjd : float
        The validity window, ``start <= mjd < end``.
    created_at : datetime.datetime, optional
        Registration time (aware); default now.

    Returns
    -------
    list of CalTable
        The new rows (flushed), in apply order.

    Raises
    ------
    CalibrationError
        An unknown type, an empty set name or path, a path already registered
        (:class:`DuplicateCalTableError`), a bad window
        (:class:`ValidityWindowError`) or an overlap with an active table of
        the same type (:class:`OverlappingWindowError`). Nothing is written.
    """
    if not isinstance(set_name, str) or not set_name.strip():
        raise CalibrationError("a calibration set needs a name")
    if not tables:
        raise CalibrationError(f"calibration set {set_name!r} has no tables")
    window = _window(valid_start_mjd, valid_end_mjd)
    types = [_table_type(table_type) for table_type in tables]
    try:
        paths = [stored_path(path, CalibrationError) for path in tables.values()]
    except CalibrationError as exc:
        raise CalibrationError(f"calibration set {set_name!r}: {exc}") from None
    if len(set(paths)) != len(paths):
        raise CalibrationError(f"calibration set {set_name!r}: paths must be distinct, got "
                               f"{paths!r}")
    if created_at is None:
        created_at = dt.datetime.now(dt.UTC)
    elif created_at.tzinfo is None:
        raise CalibrationError(f"naive datetime {created_at!r}: give a timezone")
    rows = [CalTable(set_name=set_name, path=path, table_type=table_type,
                     order_index=APPLY_ORDER[table_type], valid_start_mjd=window[0],
                     valid_end_mjd=window[1], created_at=created_at, active=True)
            for table_type, path in sorted(zip(types, paths, strict=True),
                                           key=lambda item: APPLY_ORDER[item[0]])]
    with session.begin_nested():
        _check_free(session, paths, types, window)
        session.add_all(rows)
        session.flush()
    return rows


def register_caltable(session: Session, path: str | os.PathLike[str], table_type: str, *,
                      set_name: str, valid_start_mjd: float, valid_end_mjd: float,
                      created_at: dt.datetime | None = None) -> CalTable:
    """Register one calibration table; see :func:`register_calibration_set`.

    Returns
    -------
    CalTable
        The new row (flushed); ``order_index`` follows its type.
    """
    return register_calibration_set(session, set_name, {table_type: path},
                                    valid_start_mjd=valid_start_mjd,
                                    valid_end_mjd=valid_end_mjd, created_at=created_at)[0]


def active_caltables(session: Session, mjd: float, *, require_all: bool = False
                     ) -> list[CalTable]:
    """Return the active tables valid at ``mjd``, in apply order (K, BP, G).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    mjd : float
        The observation's MJD.
    require_all : bool, optional
        Raise :class:`MissingCalibrationError` unless a K, a BP and a G table
        are all valid.

    Returns
    -------
    list of CalTable
        At most one table per type.

    Raises
    ------
    OverlappingWindowError
        If the database (written by other means) holds two active tables of
        one type valid at ``mjd``: which to apply would be a guess.
    """
    when = _mjd(mjd, "mjd")
    rows = session.execute(select(CalTable).where(
        _is_active(), CalTable.valid_start_mjd <= when,
        CalTable.valid_end_mjd > when,
    ).order_by(CalTable.order_index, CalTable.table_type, CalTable.path)).scalars().all()
    by_type: dict[str, list[CalTable]] = {}
    for row in rows:
        by_type.setdefault(row.table_type, []).append(row)
    for table_type, candidates in by_type.items():
        if len(candidates) > 1:
            paths = [row.path for row in candidates]
            raise OverlappingWindowError(f"{len(candidates)} active {table_type} tables are valid "
                                         f"at MJD {when}: {', '.join(paths)}", paths)
    missing = [table_type for table_type in TABLE_TYPES if table_type not in by_type]
    if require_all and missing:
        raise MissingCalibrationError(f"no active {'/'.join(missing)} table valid at MJD {when}")
    return list(rows)


def retire_calibration_set(session: Session, set_name: str) -> int:
    """Mark every table of a set inactive (kept, but never applied again).

    Returns
    -------
    int
        Tables retired; 0 if the set has none active.
    """
    result = session.execute(update(CalTable).where(
        CalTable.set_name == set_name, _is_active(),
    ).values(active=False).execution_options(synchronize_session="fetch"))
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
