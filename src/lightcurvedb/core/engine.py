"""Engines and sessions: :func:`connect` and :func:`session`.

Nothing here runs at import time; an engine is made when asked for.
"""

from __future__ import annotations

import os
import pathlib
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from lightcurvedb.core.base import SCHEMAS
from lightcurvedb.core.config import resolve_url
from lightcurvedb.core.extensions import read_in_use, remember
from lightcurvedb.core.geometry import SQLITE_FUNCTIONS

__all__ = ["connect", "session"]

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def connect(url: str | URL | None = None, **engine_options: Any) -> Engine:
    """Create an :class:`~sqlalchemy.engine.Engine` for a lightcurvedb database.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL, optional
        Database URL. When omitted, ``LIGHTCURVEDB_URL``, then
        ``~/.config/lightcurvedb/db.conf``, then the default SQLite file are
        used (see :mod:`lightcurvedb.core.config`).
    **engine_options
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    sqlalchemy.engine.Engine
        On SQLite, foreign keys are enforced, file databases use WAL,
        transactions (DDL included) begin explicitly so SAVEPOINTs work, the
        ``rbh1``/``radio`` schemas are translated to the main database, and
        the footprint functions of :mod:`lightcurvedb.core.geometry` exist. On
        PostgreSQL, every new connection reads which optional extensions the
        database uses (:mod:`lightcurvedb.core.extensions`), so footprint
        and cone-search SQL fit the database. The engine survives
        :func:`os.fork`: a child process opens its own connections instead of
        sharing the parent's sockets.
    """
    resolved = resolve_url(url)
    if resolved.get_backend_name() == "sqlite":
        database = resolved.database
        if database and database != ":memory:" and not database.startswith("file:"):
            pathlib.Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if resolved.get_backend_name() == "sqlite":
        # SQLite has no schemas: rbh1.* and radio.* tables live in the one file.
        options = engine_options.setdefault("execution_options", {})
        options.setdefault("schema_translate_map", dict.fromkeys(SCHEMAS))
    engine = create_engine(resolved, **engine_options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _read_extensions_on_connect(engine)
    _make_fork_safe(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    file_backed = engine.url.database not in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for name, (n_args, function) in SQLITE_FUNCTIONS.items():
            dbapi_connection.create_function(name, n_args, function, deterministic=True)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if file_backed:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def _read_extensions_on_connect(engine: Engine) -> None:
    ref = weakref.ref(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        state = read_in_use(dbapi_connection)
        if not getattr(dbapi_connection, "autocommit", False):
            dbapi_connection.rollback()
        current = ref()
        if current is not None and remember(current.dialect, state):
            # Statements compiled for the other footprint form must not be reused.
            current.clear_compiled_cache()


def _make_fork_safe(engine: Engine) -> None:
    ref = weakref.ref(engine)

    def _after_fork_in_child() -> None:
        child_engine = ref()
        if child_engine is not None:
            # Drop the parent's pooled connections without closing them: the
            # parent still owns those sockets.
            child_engine.dispose(close=False)

    os.register_at_fork(after_in_child=_after_fork_in_child)


def _shared_engine(url: str | URL | None) -> Engine:
    key = resolve_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = connect(key)
        return _engines[key]


@contextmanager
def session(bind: str | URL | Engine | None = None, **session_options: Any) -> Iterator[Session]:
    """Open a :class:`~sqlalchemy.orm.Session` that commits on success and rolls back on error.

    Calling ``commit()`` inside the block is allowed too (the seed examples do);
    whatever is pending at the end is committed.

    Parameters
    ----------
    bind : str, sqlalchemy.engine.URL or sqlalchemy.engine.Engine, optional
        An engine, or a URL resolved like :func:`connect` does; engines made
        from URLs are shared between calls.
    **session_options
        Passed to :class:`~sqlalchemy.orm.Session`.

    Yields
    ------
    sqlalchemy.orm.Session

    Examples
    --------
    >>> import lightcurvedb
    >>> from lightcurvedb.models import Target
    >>> with lightcurvedb.session("sqlite://") as s:  # doctest: +SKIP
    ...     s.query(Target).count()
    """
    engine = bind if isinstance(bind, Engine) else _shared_engine(bind)
    with Session(engine, **session_options) as db_session:
        try:
            yield db_session
        except BaseException:
            db_session.rollback()
            raise
        db_session.commit()
