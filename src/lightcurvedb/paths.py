"""Stored paths when a data tree moves: :func:`repoint` rewrites a prefix everywhere.

Every path lightcurvedb stores is absolute (:mod:`lightcurvedb.core.pathtype`
for the ``pathlib.Path`` columns, the services for the DSA-110 pipeline's
``TEXT`` columns), so moving the files breaks the database until the paths
are rewritten::

    from lightcurvedb import paths

    with lightcurvedb.session(url) as session:
        paths.repoint(session, "/data/rbh1", "/archive/rbh1", dry_run=True)
        # {'fits_frame.file_path': 194, 'rbh1.observations.file_path': 194, ...}
        paths.repoint(session, "/data/rbh1", "/archive/rbh1")

or ``lcdb db repoint /data/rbh1 /archive/rbh1 [--dry-run]``.

The columns are found, not listed: every :class:`~lightcurvedb.core.pathtype.PathType`
column of the metadata (core, mission and plugin tables alike) plus the
pipeline's path columns (:data:`RADIO_PATH_COLUMNS`). Only whole path
components match: ``/data/a`` rewrites ``/data/a`` and ``/data/a/x.fits``,
never ``/data/ab/x.fits``.

Foreign keys between path columns (``photometry.image_path`` ->
``images.path``, ``images.ms_path`` -> ``ms_index.path``) have no ``ON UPDATE
CASCADE`` in the pipeline's DDL, so parent and child must change together.
On PostgreSQL the tables linked by such keys are rewritten by one statement
(data-modifying ``WITH`` queries), and a key that is not deferrable is
checked at the end of the statement, when both sides are new. On SQLite the
checks are deferred to the commit (``PRAGMA defer_foreign_keys``), and
:func:`repoint` verifies with ``PRAGMA foreign_key_check`` that it left no
new violation behind. A referencing row under the old prefix that already
points at nothing (the pipeline writes without foreign keys enforced) is
refused up front: it could not be re-pointed without writing a violation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, UnboundExecutionError
from sqlalchemy.orm import Session

from lightcurvedb.core.pathtype import PathType, resolved_path

__all__ = ["RADIO_PATH_COLUMNS", "RepointError", "path_columns", "repoint"]

#: The DSA-110 pipeline's path columns (plain ``TEXT`` in its DDL), by table.
RADIO_PATH_COLUMNS: dict[str, tuple[str, ...]] = {
    "ms_index": ("path", "imagename"),
    "images": ("path", "ms_path"),
    "photometry": ("image_path",),
    "mosaics": ("path", "thumbnail_path"),
    "qa_artifacts": ("path",),
    "caltables": ("path",),
    "subband_files": ("file_path",),
}


class RepointError(ValueError):
    """A re-pointing was refused or failed; nothing was changed."""


@dataclass(frozen=True)
class _Prefix:
    old: str
    new: str

    def matches(self, column: Any) -> Any:
        return sa.or_(column == sa.literal(self.old, sa.Text),
                      sa.func.substr(column, 1, len(self.old) + 1)
                      == sa.literal(self.old + "/", sa.Text))

    def rewritten(self, column: Any) -> Any:
        rest = sa.func.substr(column, len(self.old) + 1, type_=sa.Text)
        return sa.case((column == sa.literal(self.old, sa.Text), sa.literal(self.new, sa.Text)),
                       else_=sa.literal(self.new, sa.Text) + rest)


def _prefix(old: str | os.PathLike[str], new: str | os.PathLike[str]) -> _Prefix:
    old_text, new_text = os.fspath(old), os.fspath(new)
    if not old_text or not os.path.isabs(old_text):
        raise RepointError(f"OLD must be an absolute path (stored paths are), got {old_text!r}")
    # OLD is compared with stored text (its tree may be gone): normalised as text only.
    old_text = os.path.normpath(old_text)
    try:
        new_text = str(resolved_path(new_text))
    except ValueError as exc:
        raise RepointError(f"NEW: {exc}") from None
    if old_text == new_text:
        raise RepointError(f"OLD and NEW are the same path ({old_text})")
    for inner, outer in ((new_text, old_text), (old_text, new_text)):
        if os.path.commonpath([inner, outer]) == outer:
            raise RepointError(f"{inner} is inside {outer}: a second run would rewrite the "
                               "paths again; repoint in two steps, through a temporary prefix")
    return _Prefix(old_text, new_text)


def path_columns(metadata: sa.MetaData | None = None) -> list[sa.Column[Any]]:
    """Return every column that stores a filesystem path.

    Parameters
    ----------
    metadata : sqlalchemy.MetaData, optional
        Default: :func:`lightcurvedb.migrations.target_metadata` (core,
        shipped missions, RBH-1, DSA-110 and the registered plugins' tables).

    Returns
    -------
    list of sqlalchemy.Column
        The :class:`~lightcurvedb.core.pathtype.PathType` columns, then the
        columns of :data:`RADIO_PATH_COLUMNS` present in ``metadata``, in
        table order.
    """
    if metadata is None:
        from lightcurvedb.migrations import target_metadata

        metadata = target_metadata()
    found: list[sa.Column[Any]] = []
    for table in metadata.sorted_tables:
        radio = RADIO_PATH_COLUMNS.get(table.name, ()) if table.schema == "radio" else ()
        found.extend(column for column in table.columns
                     if isinstance(column.type, PathType) or column.name in radio)
    return found


def _clusters(columns: list[sa.Column[Any]]) -> list[list[sa.Table]]:
    """Tables whose path columns are linked by foreign keys, together; others alone."""
    group: dict[sa.Table, set[sa.Table]] = {}
    for column in columns:
        group.setdefault(column.table, {column.table})
    chosen = set(columns)
    for column in columns:
        for key in column.foreign_keys:
            if key.column in chosen:
                merged = group[column.table] | group[key.column.table]
                for table in merged:
                    group[table] = merged
    clusters: list[list[sa.Table]] = []
    for table in group:        # insertion order: the metadata's
        members = [t for t in group if t in group[table]]
        if members not in clusters:
            clusters.append(members)
    return clusters


def _connection(session: Session, table: sa.Table) -> Connection | None:
    """Return the session's connection for ``table`` if it is bound and exists there."""
    try:
        connection = session.connection(bind_arguments={"clause": table})
    except UnboundExecutionError:
        return None
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    return connection if sa.inspect(connection).has_table(table.name, schema=schema) else None


def _update(table: sa.Table, columns: Iterable[sa.Column[Any]], prefix: _Prefix) -> Any:
    texts = {column.name: sa.type_coerce(column, sa.Text) for column in columns}
    return sa.update(table).where(sa.or_(*(prefix.matches(t) for t in texts.values()))).values(
        {name: sa.case((prefix.matches(text), prefix.rewritten(text)), else_=text)
         for name, text in texts.items()})


def _check_no_orphans(session: Session, prefix: _Prefix, columns: list[sa.Column[Any]],
                      reachable: dict[sa.Table, Connection]) -> None:
    """Refuse when a referencing path under the prefix points at no stored row already.

    Such a row (the pipeline writes without foreign keys enforced) cannot be
    re-pointed while the database enforces them: its new value would be a
    violation too.
    """
    chosen = set(columns)
    for column in columns:
        for key in column.foreign_keys:
            parent = key.column
            if parent not in chosen or reachable[parent.table] is not reachable[column.table]:
                continue
            child = sa.type_coerce(column, sa.Text)
            orphans = sa.select(child).where(prefix.matches(child), ~sa.exists().where(
                sa.type_coerce(parent, sa.Text) == child)).order_by(child)
            values = session.execute(orphans.limit(2)).scalars().all()
            if values:
                where = f"{column.table.fullname}.{column.name}"
                raise RepointError(
                    f"{where}: rows under {prefix.old} point at no stored "
                    f"{parent.table.fullname}.{parent.name} (e.g. {values[0]!r}); fix or delete "
                    "them first (a foreign key cannot be re-pointed to a path that is not "
                    "stored); nothing was changed")


def _violations(connection: Connection, tables: Iterable[sa.Table]) -> set[tuple[Any, ...]]:
    rows: set[tuple[Any, ...]] = set()
    for table in tables:
        rows.update(tuple(row) for row in connection.exec_driver_sql(
            f'PRAGMA foreign_key_check("{table.name}")'))
    return rows


def _forget_moved_keys(session: Session, prefix: _Prefix, columns: set[sa.Column[Any]]) -> None:
    """Expunge instances whose primary key was a rewritten path; expire the others."""
    for instance in list(session.identity_map.values()):
        state = sa.inspect(instance)
        keys = zip(state.mapper.primary_key, state.identity or (), strict=False)
        if any(column in columns and isinstance(value, str) and
               (value == prefix.old or value.startswith(prefix.old + "/"))
               for column, value in keys):
            session.expunge(instance)
    session.expire_all()


def repoint(session: Session, old_prefix: str | os.PathLike[str],
            new_prefix: str | os.PathLike[str], *, dry_run: bool = False,
            metadata: sa.MetaData | None = None) -> dict[str, int]:
    """Rewrite the prefix ``old_prefix`` of every stored path to ``new_prefix``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on one database, or a
        :func:`~lightcurvedb.radio.binding.radio_session` over the pipeline's
        separate files (tables it cannot reach, or that do not exist in their
        database, are left out).
    old_prefix : path-like
        Where the files were: an absolute path, compared as text with the
        stored paths (after :func:`os.path.normpath`).
    new_prefix : path-like
        Where they are now; made absolute and resolved like any path the
        library stores (:func:`~lightcurvedb.core.pathtype.resolved_path`).
    dry_run : bool, optional
        Only count the paths that would be rewritten.
    metadata : sqlalchemy.MetaData, optional
        Where to find the path columns (see :func:`path_columns`).

    Returns
    -------
    dict of str to int
        For each path column found (``"radio.images.path"``,
        ``"fits_frame.file_path"``, ...), the rows whose value was (or, in a
        dry run, would be) rewritten. A second run with the same prefixes
        counts zeros.

    Raises
    ------
    RepointError
        For a relative ``old_prefix``, equal prefixes, one inside the other
        (a second run would move the paths again), a referencing path under
        ``old_prefix`` that already points at no stored row (the pipeline
        writes without foreign keys enforced; such rows cannot be re-pointed
        while they are), or a rewrite the database refuses (a new path
        already stored in a unique column). Nothing is changed then.

    Notes
    -----
    Pending changes are flushed first; the rewrite happens in a SAVEPOINT of
    each database involved and is committed with the session by the caller.
    With the pipeline's separate SQLite files a commit is one per file (see
    :func:`~lightcurvedb.radio.binding.radio_session`): should one fail, run
    :func:`repoint` again -- the paths already rewritten no longer match.
    Objects in the session are expired; those whose primary key was a
    rewritten path (``ms_index`` rows) are expunged. On SQLite the foreign-key
    checks of the transaction stay deferred until it commits.
    """
    prefix = _prefix(old_prefix, new_prefix)
    columns = path_columns(metadata)
    session.flush()
    reachable = {}
    for table in dict.fromkeys(column.table for column in columns):
        connection = _connection(session, table)
        if connection is not None:
            reachable[table] = connection
    columns = [column for column in columns if column.table in reachable]
    counts = {f"{column.table.fullname}.{column.name}": int(session.execute(
        sa.select(sa.func.count()).select_from(column.table).where(
            prefix.matches(sa.type_coerce(column, sa.Text)))).scalar_one())
        for column in columns}
    if not any(counts.values()):
        return counts
    _check_no_orphans(session, prefix, columns, reachable)   # a dry run tells too
    if dry_run:
        return counts
    by_table: dict[sa.Table, list[sa.Column[Any]]] = {}
    for column in columns:
        by_table.setdefault(column.table, []).append(column)
    try:
        with session.begin_nested():
            for cluster in _clusters(columns):
                _rewrite(session, cluster, by_table, prefix, reachable)
    except IntegrityError as exc:
        detail = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise RepointError(f"the database refused the rewrite ({detail}); nothing was "
                           "changed") from None
    _forget_moved_keys(session, prefix, set(columns))
    return counts


def _rewrite(session: Session, cluster: list[sa.Table],
             by_table: dict[sa.Table, list[sa.Column[Any]]], prefix: _Prefix,
             reachable: dict[sa.Table, Connection]) -> None:
    statements = [_update(table, by_table[table], prefix) for table in cluster]
    connection = reachable[cluster[0]]
    if connection.dialect.name == "postgresql" and len(statements) > 1:
        # One statement: the non-deferrable keys are checked when both sides are new.
        main = statements[-1]
        for index, statement in enumerate(statements[:-1]):
            main = main.add_cte(statement.cte(f"repoint_{index}"))
        session.execute(main, execution_options={"synchronize_session": False})
        return
    if connection.dialect.name == "sqlite" and len(statements) > 1:
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        before = _violations(connection, cluster)
    for statement in statements:
        session.execute(statement, execution_options={"synchronize_session": False})
    if connection.dialect.name == "sqlite" and len(statements) > 1:
        dangling = _violations(connection, cluster) - before
        if dangling:
            table = dangling.pop()[0]
            raise RepointError(f"rewriting would leave {table} rows pointing at paths that "
                               "are not stored; nothing was changed")
