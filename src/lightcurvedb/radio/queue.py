"""The DSA-110 ingest queue: subband files in, one observation group per worker out.

An observation group is one timestamp (``YYYY-MM-DDTHH:MM:SS``) observed in 16
frequency subbands, each written as its own file
(``2025-10-24T12:00:00_sb03.hdf5``). A group moves through the states of
:data:`~lightcurvedb.radio.ingest.GROUP_STATES`::

    collecting --(all expected subbands registered)--> pending
    pending --claim_next--> in_progress --complete_group--> completed
                                        --fail_group-----> failed --retry_group--> pending

Every other move is refused with :class:`TransitionError`. Each state change
is one guarded ``UPDATE ... WHERE state = <expected>``, so two workers can
never move the same group twice; :func:`claim_next` picks the oldest pending
group with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, and with a
single ``UPDATE ... RETURNING`` (which takes SQLite's one write lock) on SQLite.

Unlike the other services, queue operations commit by default
(``commit=True``): a claim means nothing until other workers can see it, and
on SQLite an open write transaction would stall every other worker. On
SQLite, call them with no transaction of your own open (right after a commit),
so that their first statement is the write. Bad input raises a
:class:`QueueError` before anything is written; a failure part-way rolls back
the operation's SAVEPOINT, so the queue is never left half-changed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lightcurvedb.radio._types import aware_or_now, stored_path
from lightcurvedb.radio.ingest import GROUP_STATES, IngestGroup, PerformanceMetrics, SubbandFile

__all__ = [
    "DEFAULT_EXPECTED_SUBBANDS", "DEFAULT_MAX_RETRIES", "N_SUBBANDS", "WRITER_TYPES",
    "ClaimedGroup", "QueueError", "RetryLimitError", "SubbandError", "SubbandRegistration",
    "TransitionError", "UnknownGroupError", "claim_next", "complete_group", "fail_group",
    "parse_subband_filename", "queue_counts", "record_performance", "register_subband",
    "register_subband_file", "retry_group", "set_calibrators",
]

#: Subbands a group needs before it is processed, unless told otherwise.
DEFAULT_EXPECTED_SUBBANDS = 16
#: Subband indices run from 0 to ``N_SUBBANDS - 1``.
N_SUBBANDS = 16
#: Retries :func:`retry_group` allows by default.
DEFAULT_MAX_RETRIES = 3
#: Accepted ``performance_metrics.writer_type`` values.
WRITER_TYPES = ("direct-subband", "pyuvdata", "auto")
#: Processing-time columns of ``performance_metrics`` (seconds).
_TIMES = ("conversion_time", "concat_time", "k_solve_time", "bp_solve_time", "g_solve_time",
          "imaging_time", "photometry_time", "total_time")
_GROUP_FORMAT = "%Y-%m-%dT%H:%M:%S"
_SUBBAND_NAME = re.compile(
    r"(?P<group>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})_sb(?P<index>\d{2})\.\w+")


class QueueError(ValueError):
    """A queue operation was refused; nothing was written."""



def _now(value: dt.datetime | None) -> dt.datetime:
    return aware_or_now(value, QueueError)

class UnknownGroupError(QueueError):
    """No observation group has this id."""


class SubbandError(QueueError):
    """A subband file cannot be registered (bad index, conflicting file, group closed)."""


class TransitionError(QueueError):
    """The group is not in a state this operation may move it from."""


class RetryLimitError(TransitionError):
    """A failed group has used up its retries."""


@dataclass(frozen=True)
class SubbandRegistration:
    """What :func:`register_subband` did."""

    group_id: str          #: The group.
    subband_idx: int       #: The subband registered.
    created: bool          #: False if this very file was already registered (no change).
    n_present: int         #: Subbands now registered for the group.
    expected: int          #: Subbands that make the group complete.
    state: str             #: The group's state afterwards (``pending`` once complete).


@dataclass(frozen=True)
class ClaimedGroup:
    """A group :func:`claim_next` moved to ``in_progress`` for this worker."""

    group_id: str            #: The group.
    received_at: dt.datetime  #: When its first subband was seen (UTC).
    retry_count: int         #: Earlier attempts that failed and were retried.
    files: tuple[str, ...]   #: Its subband files, by subband index.




def _check_group_id(group_id: str) -> str:
    try:
        dt.datetime.strptime(group_id, _GROUP_FORMAT)
    except (TypeError, ValueError):
        raise QueueError(f"group id {group_id!r} is not a YYYY-MM-DDTHH:MM:SS timestamp") from None
    return group_id


def _check_int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SubbandError(f"{what} must be an integer from {low} to {high}, got {value!r}")
    return value


def parse_subband_filename(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Return ``(group_id, subband_idx)`` from a ``<YYYY-MM-DDTHH:MM:SS>_sb<NN>.<ext>`` name.

    Raises :class:`SubbandError` for any other name.

    Examples
    --------
    >>> parse_subband_filename("/data/incoming/2025-10-24T12:00:00_sb07.hdf5")
    ('2025-10-24T12:00:00', 7)
    """
    match = _SUBBAND_NAME.fullmatch(os.path.basename(os.fspath(path)))
    if match is None:
        raise SubbandError(f"{os.fspath(path)}: not a subband file name "
                           "(<YYYY-MM-DDTHH:MM:SS>_sb<NN>.<ext>)")
    return _check_group_id(match["group"]), int(match["index"])


def _dialect(session: Session) -> str:
    return session.get_bind(IngestGroup).dialect.name


def _insert(session: Session) -> Any:
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


def _group_state(session: Session, group_id: str, *, lock: bool = False) -> tuple[str, int, int]:
    query = select(IngestGroup.state, IngestGroup.expected_subbands, IngestGroup.retry_count
                   ).where(IngestGroup.group_id == group_id)
    row = session.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise UnknownGroupError(f"no observation group {group_id!r} in the ingest queue")
    expected = DEFAULT_EXPECTED_SUBBANDS if row.expected_subbands is None else row.expected_subbands
    return row.state, expected, row.retry_count or 0


def _finish(session: Session, commit: bool) -> None:
    if commit:
        session.commit()
    else:
        session.flush()


def register_subband(session: Session, group_id: str, subband_idx: int,
                     file_path: str | os.PathLike[str], *, file_size: int | None = None,
                     discovered_at: dt.datetime | None = None,
                     expected_subbands: int = DEFAULT_EXPECTED_SUBBANDS,
                     commit: bool = True) -> SubbandRegistration:
    """Register one subband file; a group becomes ``pending`` when its last subband arrives.

    The group is created (``collecting``, received now) with its first
    subband. Registering the same file again changes nothing; a different file
    for a subband already registered is refused. Two watchers registering
    subbands of one group at once are serialised on the group's row.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    group_id : str
        ``YYYY-MM-DDTHH:MM:SS``.
    subband_idx : int
        0 to 15.
    file_path : path-like
        Where the file is; stored resolved (absolute, ``..`` and symbolic
        links resolved), so the same file named two ways is one registration.
    file_size : int, optional
        Bytes.
    discovered_at : datetime.datetime, optional
        When the file appeared (aware); default now.
    expected_subbands : int, optional
        Subbands that complete a new group (1-16, default 16).
    commit : bool, optional
        Commit at the end (default); otherwise only flush.

    Returns
    -------
    SubbandRegistration

    Raises
    ------
    QueueError
        A malformed group id, or (:class:`SubbandError`) an index outside
        0-15, a negative size, a conflicting file or a group no longer collecting.
    """
    _check_group_id(group_id)
    _check_int(subband_idx, "subband index", 0, N_SUBBANDS - 1)
    _check_int(expected_subbands, "expected_subbands", 1, N_SUBBANDS)
    if file_size is not None:
        _check_int(file_size, "file size", 0, 2**63 - 1)
    if not isinstance(file_path, (str, os.PathLike)) or not os.fspath(file_path):
        raise SubbandError("empty file path")
    path = stored_path(file_path, SubbandError)
    when = _now(discovered_at)
    with session.begin_nested():
        session.execute(_insert(session)(IngestGroup.__table__).values(
            group_id=group_id, state="collecting", received_at=when, last_update=when,
            expected_subbands=expected_subbands, retry_count=0,
        ).on_conflict_do_nothing(index_elements=["group_id"]))
        state, expected, _ = _group_state(session, group_id, lock=True)
        existing = session.execute(select(SubbandFile.file_path).where(
            SubbandFile.group_id == group_id, SubbandFile.subband_idx == subband_idx)
        ).scalar_one_or_none()
        if existing is not None and existing != path:
            raise SubbandError(f"group {group_id} subband {subband_idx} is already {existing!r}, "
                               f"not {path!r}")
        if existing is None and state != "collecting":
            raise SubbandError(f"group {group_id} is {state}: it takes no more subbands")
        if existing is None:
            session.execute(_insert(session)(SubbandFile.__table__).values(
                group_id=group_id, subband_idx=subband_idx, file_path=path, file_size=file_size,
                discovered_at=when))
        n_present = session.execute(select(func.count()).select_from(SubbandFile).where(
            SubbandFile.group_id == group_id)).scalar_one()
        if state == "collecting" and n_present >= expected:
            session.execute(update(IngestGroup).where(
                IngestGroup.group_id == group_id, IngestGroup.state == "collecting",
            ).values(state="pending", last_update=when).execution_options(
                synchronize_session="fetch"))
            state = "pending"
    _finish(session, commit)
    return SubbandRegistration(group_id, subband_idx, existing is None, n_present, expected, state)


def register_subband_file(session: Session, path: str | os.PathLike[str], *,
                          discovered_at: dt.datetime | None = None,
                          expected_subbands: int = DEFAULT_EXPECTED_SUBBANDS,
                          commit: bool = True) -> SubbandRegistration:
    """Register a subband file found on disk: group and index from its name, size from disk.

    See :func:`register_subband` and :func:`parse_subband_filename`; the
    resolved path is stored. A missing file raises :class:`FileNotFoundError`.
    """
    group_id, index = parse_subband_filename(path)
    size = os.stat(path).st_size
    return register_subband(session, group_id, index, path, file_size=size,
                            discovered_at=discovered_at, expected_subbands=expected_subbands,
                            commit=commit)


def claim_next(session: Session, *, now: dt.datetime | None = None,
               commit: bool = True) -> ClaimedGroup | None:
    """Move the oldest ``pending`` group to ``in_progress`` and return it, or None.

    Safe with any number of concurrent workers: each pending group is claimed
    by exactly one of them (PostgreSQL skips rows another worker has locked;
    SQLite runs one writer at a time). Groups are taken in ``received_at``
    order, then by id.

    ``now`` (default: now) is stored in ``last_update``. With
    ``commit=False`` the caller must commit soon: until then PostgreSQL keeps
    the row locked and SQLite the whole file.
    """
    when = _now(now)
    queued = IngestGroup.__table__.alias("queued")
    oldest = select(queued.c.group_id).where(queued.c.state == "pending").order_by(
        queued.c.received_at, queued.c.group_id).limit(1)
    if _dialect(session) == "postgresql":
        oldest = oldest.with_for_update(skip_locked=True)
    claimed = session.execute(update(IngestGroup).where(
        IngestGroup.group_id == oldest.scalar_subquery(), IngestGroup.state == "pending",
    ).values(state="in_progress", last_update=when).returning(
        IngestGroup.group_id, IngestGroup.received_at, IngestGroup.retry_count,
    ).execution_options(synchronize_session="fetch")).one_or_none()
    result = None
    if claimed is not None:
        files = session.execute(select(SubbandFile.file_path).where(
            SubbandFile.group_id == claimed.group_id).order_by(SubbandFile.subband_idx)).scalars()
        result = ClaimedGroup(claimed.group_id, claimed.received_at, claimed.retry_count or 0,
                              tuple(files))
    _finish(session, commit)
    return result


def _transition(session: Session, group_id: str, source: str, values: dict[str, Any],
                commit: bool, *, max_retries: int | None = None) -> None:
    guard = [IngestGroup.group_id == group_id, IngestGroup.state == source]
    if max_retries is not None:
        guard.append(func.coalesce(IngestGroup.retry_count, 0) < max_retries)
    moved = session.execute(update(IngestGroup).where(*guard).values(**values).returning(
        IngestGroup.group_id).execution_options(synchronize_session="fetch")).one_or_none()
    if moved is None:
        state, _, retries = _group_state(session, group_id)
        if state != source:
            raise TransitionError(f"group {group_id} is {state}, not {source}: it cannot become "
                                  f"{values['state']}")
        raise RetryLimitError(f"group {group_id} has been retried {retries} times "
                              f"(limit {max_retries})")
    _finish(session, commit)


def complete_group(session: Session, group_id: str, *, now: dt.datetime | None = None,
                   commit: bool = True) -> None:
    """Mark an ``in_progress`` group ``completed``, clearing its error message.

    Raises :class:`UnknownGroupError` or :class:`TransitionError` (not ``in_progress``).
    """
    _transition(session, group_id, "in_progress",
                {"state": "completed", "last_update": _now(now), "error_message": None}, commit)


def fail_group(session: Session, group_id: str, error_message: str, *,
               now: dt.datetime | None = None, commit: bool = True) -> None:
    """Mark an ``in_progress`` group ``failed``, storing why (a non-empty message).

    Raises :class:`UnknownGroupError` or :class:`TransitionError` (not ``in_progress``).
    """
    if not isinstance(error_message, str) or not error_message.strip():
        raise QueueError("a failed group needs an error message")
    _transition(session, group_id, "in_progress",
                {"state": "failed", "last_update": _now(now), "error_message": error_message},
                commit)


def retry_group(session: Session, group_id: str, *, max_retries: int = DEFAULT_MAX_RETRIES,
                now: dt.datetime | None = None, commit: bool = True) -> None:
    """Put a ``failed`` group back to ``pending``, adding one to ``retry_count``.

    The last error message is kept until the group completes. Raises
    :class:`UnknownGroupError`, :class:`TransitionError` (not ``failed``) or
    :class:`RetryLimitError` (already retried ``max_retries`` times).
    """
    _transition(session, group_id, "failed",
                {"state": "pending", "last_update": _now(now),
                 "retry_count": func.coalesce(IngestGroup.retry_count, 0) + 1},
                commit, max_retries=max_retries)


def set_calibrators(session: Session, group_id: str, calibrators: Sequence[str], *,
                    commit: bool = True) -> None:
    """Record which calibrators are in a group's field (none: ``has_calibrator`` false)."""
    names = list(calibrators)
    if not all(isinstance(name, str) and name for name in names):
        raise QueueError(f"calibrator names must be non-empty strings, got {names!r}")
    updated = session.execute(update(IngestGroup).where(IngestGroup.group_id == group_id).values(
        has_calibrator=bool(names), calibrators=json.dumps(names),
    ).returning(IngestGroup.group_id).execution_options(synchronize_session="fetch")).first()
    if updated is None:
        _group_state(session, group_id)   # raises UnknownGroupError
    _finish(session, commit)


def record_performance(session: Session, group_id: str, *, writer_type: str | None = None,
                       recorded_at: dt.datetime | None = None, commit: bool = True,
                       **times: float | None) -> None:
    """Store a group's processing times (seconds), replacing any earlier record.

    ``times`` are any of ``conversion_time``, ``concat_time``,
    ``k_solve_time``, ``bp_solve_time``, ``g_solve_time``, ``imaging_time``,
    ``photometry_time``, ``total_time``, finite and not negative;
    ``writer_type`` one of :data:`WRITER_TYPES`. Raises :class:`QueueError`
    otherwise, :class:`UnknownGroupError` for an unknown group.
    """
    unknown = sorted(set(times) - set(_TIMES))
    if unknown:
        raise QueueError(f"unknown processing time(s) {', '.join(unknown)}; "
                         f"expected some of {', '.join(_TIMES)}")
    for name, value in times.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value < 0):
            raise QueueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    if writer_type is not None and writer_type not in WRITER_TYPES:
        raise QueueError(f"writer_type must be one of {', '.join(WRITER_TYPES)}, "
                         f"got {writer_type!r}")
    values = {"group_id": group_id, "writer_type": writer_type,
              "recorded_at": _now(recorded_at), **dict.fromkeys(_TIMES), **times}
    statement = _insert(session)(PerformanceMetrics.__table__).values(**values)
    try:
        with session.begin_nested():   # the write comes first (SQLite), the FK checks the group
            session.execute(statement.on_conflict_do_update(
                index_elements=["group_id"],
                set_={name: statement.excluded[name] for name in values if name != "group_id"}))
    except IntegrityError:
        _group_state(session, group_id)   # raises UnknownGroupError
        raise
    _finish(session, commit)


def queue_counts(session: Session) -> dict[str, int]:
    """Return the number of groups in each state (every state of GROUP_STATES, zeros included)."""
    counts = dict.fromkeys(GROUP_STATES, 0)
    rows = session.execute(select(IngestGroup.state, func.count()).group_by(IngestGroup.state))
    counts.update({state: n for state, n in rows})
    return counts
